/* One message catalogue for English and French, for the helper and the
 * module alike. The English text is the key (as gettext's msgid); the
 * French comes from po/fr.po, compiled into the library by tools/po2c.py,
 * so that no locale has to be installed for the module to speak French.
 * Texts are marked for extraction (make pot) by the functions that take
 * them: tr(), ui_warn(), ui_info(), es_err_set() ... and N_() for a text
 * kept in a table. */
#ifndef ESCHOOL_MSG_H
#define ESCHOOL_MSG_H

#include <stdbool.h>
#include <stddef.h>

/* Marks a text for extraction where it is not yet translated (a table). */
#define N_(text) text

/* msgid in French when french and the catalogue has it, else msgid
 * itself. format_arg: the English's printf conversions are checked at
 * the call; msgfmt --check-format checks the French ones have the same. */
const char *es_msg(bool french, const char *msgid) __attribute__((format_arg(2)));

/* How many texts the catalogue has in French (for the tests). */
size_t es_msg_count(void);

#endif
