/* Mail templates: conf/templates/<lang>/<kind>.txt and <kind>.html.
 *
 * The text template starts with a "Subject: ..." line and a blank line; the
 * rest is the text body. Both may use
 *   {{name}}             a variable (in .html, HTML-escaped: & < > " ')
 *   {{#name}}...{{/name}} a section shown only when name is set and not empty
 * An unknown variable, an unclosed "{{" or section, or a control character
 * in a value (other than a line break in text bodies) is an error naming
 * the template and its line, so that `eschool doctor` can render every
 * template once and catch a school's typo before a mail is due. */
#ifndef ESCHOOL_TEMPLATE_H
#define ESCHOOL_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "es_err.h"
#include "es_util.h"

struct es_tvar {
	const char *name;
	const char *value; /* NULL: unset (sections hide, variables render "") */
};

/* Renders tmpl (len bytes, named where for errors) into out. */
int es_template_render(const char *tmpl, size_t len, const char *where, bool html,
                       const struct es_tvar *vars, size_t nvars, struct es_buf *out,
                       struct es_err *err);

/* Splits a rendered text template into its subject (first line, after
 * "Subject:", trimmed) and body (after the blank line that follows).
 * Pointers into text, which is modified (the subject is NUL-terminated). */
int es_template_split(char *text, const char *where, const char **subject, const char **body,
                      struct es_err *err);

/* Finds <dir>/<lang>/<kind>.<ext> in dirs (in order), trying lang, then
 * fallback_lang. Reads it (at most 256 KiB, regular file, no symlink as
 * last component) into a NUL-terminated malloc'd buffer. Fills path with
 * the file used and *used_lang (if not NULL) with the language found.
 * ES_EUNAVAIL when none exists. */
int es_template_load(const char *const *dirs, size_t ndirs, const char *lang,
                     const char *fallback_lang, const char *kind, const char *ext, char **data,
                     size_t *len, char *path, size_t pathsz, const char **used_lang,
                     struct es_err *err);

#endif
