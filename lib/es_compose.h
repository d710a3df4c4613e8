/* Composing one mail from its templates: finds <kind>.txt and <kind>.html
 * in the user's language (else the school's), renders them with the
 * variables, takes the subject from the text template and builds the
 * message bytes (es_mime). Used by the helper and, for the notices it
 * queues, by the PAM module: no network, no global state. */
#ifndef ESCHOOL_COMPOSE_H
#define ESCHOOL_COMPOSE_H

#include <stddef.h>
#include <time.h>

#include "es_err.h"
#include "es_template.h"
#include "es_util.h"

struct es_compose {
	const char *const *dirs;  /* template directories, searched in order */
	size_t ndirs;
	const char *school_lang;  /* fallback language */
	const char *from_addr;
	const char *from_name;    /* the school's name, or NULL */
	const unsigned char *logo; /* PNG or NULL */
	size_t logo_len;
	time_t now;
};

/* The school's part of every mail, from the config: the sender, the
 * fallback language, and the variables school_name, contact, admin_email
 * and logo (set when comp->logo is) written to school[0..3]. */
#define ES_SCHOOL_VARS 4
struct es_config;
void es_compose_school(const struct es_config *cfg, struct es_compose *comp,
                       struct es_tvar school[ES_SCHOOL_VARS]);

/* Appends the message to out and fills msgid. The HTML template is
 * optional (text only without it); the text one is required. Errors name
 * the template file and line. */
int es_compose_mail(const struct es_compose *c, const char *kind, const char *lang,
                    const char *to_addr, const char *to_name, const struct es_tvar *vars,
                    size_t nvars, struct es_buf *out, char *msgid, size_t msgidsz,
                    struct es_err *err);

#endif
