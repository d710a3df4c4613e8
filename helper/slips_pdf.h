/* Credential slips: a printable PDF (A4, cairo + pango) with one slip per
 * pupil to cut out and hand over: the school's name and logo, the pupil's
 * name and class, the username, the temporary password in a font that
 * tells l/1/I and O/0 apart, when it stops working, and three lines on the
 * first login, in the pupil's language.
 *
 * The helper's only (ARCHITECTURE.md): cairo, pango and glib never reach
 * lib/ or the PAM module. glib aborts when an allocation fails, which a
 * command run by an admin may do and a login must never.
 *
 * MUST:
 * - the file is new: O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600 whatever the
 *   umask; an existing file or symbolic link at the path is left as it is
 *   and refused;
 * - a failure at any point removes the partial file (when the path still
 *   names the file we created): there is a whole PDF or none;
 * - user data is set as text, never as pango markup (names come from
 *   rosters and may hold '<' and '&'), and a name too long for its box is
 *   cut with an ellipsis; a username or password is never cut (wrapped);
 * - our own copies of a password are wiped (sodium_memzero). pango and
 *   cairo keep copies of the text we cannot wipe, and the PDF holds the
 *   passwords by design: it is a secret file (0600) until printed. */
#ifndef ESCHOOL_SLIPS_PDF_H
#define ESCHOOL_SLIPS_PDF_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "es_err.h"
#include "plugin.h"

/* One pupil's slip. Strings are UTF-8 without control characters (a slip
 * that has any is refused with ES_EDATA, the password never shown). */
struct slip {
	const char *display_name; /* "Zoé Martin"; ellipsized if too long */
	const char *klass;	  /* "6A"; NULL or "": the "no class" group */
	const char *username;
	const char *password; /* the temporary password */
	const char *lang;     /* "fr..." French, anything else (NULL too) English */
	time_t expires;	      /* when the password stops working; 0: not said */
};

struct slip_doc {
	const char *school_name;
	const unsigned char *logo_png; /* may be NULL; a PNG that cairo cannot
					  read, or larger than 4096 x 4096, is
					  left out without an error (see
					  slips_pdf_logo_ok to warn about it) */
	size_t logo_len;
	const char *lang; /* the class header pages' language, as slip.lang */
	const struct slip *slips;
	size_t n;   /* at least one */
	time_t now; /* the date on the class header pages; 0: the current time */
};

/* Writes the slips to a new file path (see MUST above).
 *
 * Pages: the slips grouped by class; each class opens with a header page
 * (school, class, number of slips, date, how to hand them out), then its
 * slips, 8 a page (2 columns x 4 rows) with dashed cut lines. Classes
 * come in natural order (runs of digits compare as numbers, other bytes
 * by value: "5A" < "5B" < "10A"), the "no class" group last; within a
 * class the slips keep the order they were given in (a stable sort).
 *
 * Returns 0, or -1 with err: ES_EDATA for a bad doc (no slips, a missing
 * field, text that is not UTF-8 or holds a control character),
 * ES_ECANTCREAT when the path exists (or cannot be created),
 * ES_EUNAVAIL when "DejaVu Sans Mono" is not installed (fontconfig would
 * pick a font where l and 1 may look alike), ES_EIO for a write or fsync
 * that failed, ES_ESOFTWARE for an error cairo reports, ES_EOS when
 * memory runs out (where glib does not abort first), ES_EUSAGE for an
 * empty path. */
int slips_pdf_write(const char *path, const struct slip_doc *doc, struct es_err *err);

/* true when the logo will be drawn: a PNG cairo decodes, at most 4096
 * pixels a side. For the caller to warn that a logo is left out. */
bool slips_pdf_logo_ok(const unsigned char *png, size_t len);

/* The renderer is a plugin (eschool_slips.so, its only export): cairo,
 * pango and glib are loaded by the commands that draw slips, not by every
 * eschool command (about 9 ms each here). helper/slips.c loads it. */
#define SLIPS_PLUGIN_FILE "eschool_slips.so"
#define SLIPS_PLUGIN_SYMBOL "eschool_slips_plugin"

struct slips_plugin {
	struct plugin_head head; /* PLUGIN_HEAD: checked by plugin_load */
	int (*write)(const char *path, const struct slip_doc *doc, struct es_err *err);
	bool (*logo_ok)(const unsigned char *png, size_t len);
};

#endif
