/* Composing a mail in the helper (helper/mail/compose.c): lib's entry
 * (es_compose_message) with the school's logo and, run from a source
 * tree, its conf/templates. Used by deliveries, the outbox's admin
 * notices, remind, doctor and test-email. */
#ifndef ESCHOOL_MAIL_COMPOSE_H
#define ESCHOOL_MAIL_COMPOSE_H

#include <stddef.h>

#include "cli.h"
#include "es_compose.h"
#include "es_template.h"

/* Composes mail `kind` with the school's variables, extra ones and date
 * ones (written in the language of the template found: es_compose.h);
 * lang NULL: the school's. A welcome-<role> without its own template is
 * built from welcome-student: *kind_used (may be NULL) says which. */
int compose_for(struct cli *ctx, const char *kind, const char *lang, const char *to,
                   const char *to_name, const struct es_tvar *extra, size_t n_extra,
                   const struct es_tdate *dates, size_t n_dates, struct es_buf *msg,
                   const char **kind_used, struct es_err *err);

/* The school's logo ([general] logo), read once per run: NULL and 0 when
 * there is none or it cannot be used (warned about once). */
void school_logo(const struct cli *ctx, const unsigned char **data, size_t *len);

#endif
