/* Composing one mail from its templates: finds <kind>.txt and <kind>.html
 * in the user's language (else the school's), renders them with the
 * variables, takes the subject from the text template and builds the
 * message bytes (es_mime). es_compose_message is the one entry: the
 * helper and, for the notices it queues, the PAM module call it; it owns
 * the template directories and the welcome fallback. No network, no
 * global state, no file read but the templates. */
#ifndef ESCHOOL_COMPOSE_H
#define ESCHOOL_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "es_err.h"
#include "es_template.h"
#include "es_util.h"

/* A date variable. The composer writes it in the language of the
 * template it finds (the user's, else the school's: es_template_load
 * decides), with es_fmt_when, so that a mail never has a date in another
 * language than its text. day_only: only the day is known, and t is its
 * start as shadow counts days (00:00 UTC): es_fmt_day of that day.
 * t <= 0: unset (its sections hide). */
struct es_tdate {
	const char *name;
	time_t t;
	bool day_only;
};
#define ES_COMPOSE_DATES_MAX 4
/* Variables in one mail, dates included. */
#define ES_COMPOSE_VARS_MAX 32

struct es_compose {
	const char *const *dirs;  /* template directories, searched in order */
	size_t ndirs;
	const char *school_lang;  /* fallback language */
	const char *from_addr;
	const char *from_name;    /* the school's name, or NULL */
	const unsigned char *logo; /* PNG or NULL */
	size_t logo_len;
	const struct es_tdate *dates; /* the mail's date variables, or NULL */
	size_t ndates;
	time_t now;
};

/* ---- the entry: what every mail of eschool goes through ---- */

/* The school's overrides: searched first, before the config's
 * template_dir (the shipped templates). */
#define ES_SITE_TEMPLATES "/etc/eschool/templates"
#define ES_TEMPLATE_DIRS_MAX 3

struct es_config;

/* The template directories, in order: ES_SITE_TEMPLATES, cfg->template_dir
 * (when set), then extra (NULL or "": none). Returns how many are in dirs
 * (pointers into cfg, extra and a constant). */
size_t es_compose_dirs(const struct es_config *cfg, const char *extra,
                       const char *dirs[ES_TEMPLATE_DIRS_MAX]);

/* A build run from its source tree (make demo, the tests: build/eschool)
 * finds the tree's conf/templates beside its build directory, through
 * /proc/self/exe: 0 and the path in buf, -1 when there is none. Only
 * the helper asks (the module runs inside sshd, login...); it passes the
 * answer as the entry's extra directory. */
int es_compose_checkout_dir(char *buf, size_t bufsz);

/* One mail to one recipient. The school's variables (school_name,
 * contact, admin_email, logo) come first, then vars. */
struct es_compose_in {
	const char *kind;
	const char *lang;             /* the user's language; NULL: the school's */
	const char *to_addr;
	const char *to_name;          /* or NULL */
	const struct es_tvar *vars;   /* the mail's own variables */
	size_t nvars;
	const struct es_tdate *dates; /* its date variables (struct es_tdate), or NULL */
	size_t ndates;
	const unsigned char *logo;    /* PNG bytes the caller read, or NULL (the module) */
	size_t logo_len;
	const char *extra_dir;        /* see es_compose_dirs, or NULL */
	time_t now;
};

/* Builds the message from the config and in, appended to out. A kind
 * "welcome-<role>" with no template of its own falls back to
 * welcome-student; *kind_used (may be NULL) says which kind was built.
 * Errors as es_compose_mail. */
int es_compose_message(const struct es_config *cfg, const struct es_compose_in *in,
                       struct es_buf *out, const char **kind_used, struct es_err *err);

/* ---- the renderer under it (the unit tests drive it directly) ---- */

/* Appends the message to out and fills msgid. The HTML template is
 * optional (text only without it); the text one is required. vars and
 * c->dates (written in the language of the text template found) are the
 * variables. Errors name the template file and line. */
int es_compose_mail(const struct es_compose *c, const char *kind, const char *lang,
                    const char *to_addr, const char *to_name, const struct es_tvar *vars,
                    size_t nvars, struct es_buf *out, char *msgid, size_t msgidsz,
                    struct es_err *err);

#endif
