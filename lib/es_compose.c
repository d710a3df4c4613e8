#include "es_compose.h"

#include "es_config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "es_mime.h"

#define ES_COMPOSE_NOON ((time_t)12 * 3600)

/* The mail's variables with its dates written in lang (the language of
 * the template found): vars, then c->dates, into all (texts in text). */
static int with_dates(const struct es_compose *c, const char *lang, const struct es_tvar *vars,
                      size_t nvars, struct es_tvar all[ES_COMPOSE_VARS_MAX],
                      char text[ES_COMPOSE_DATES_MAX][64], struct es_err *err)
{
	if (c->ndates > ES_COMPOSE_DATES_MAX || nvars > ES_COMPOSE_VARS_MAX - c->ndates)
		return es_err_set(err, ES_ESOFTWARE, "too many template variables");
	if (nvars > 0) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(all, vars, nvars * sizeof(*vars));
	for (size_t i = 0; i < c->ndates; i++) {
		const struct es_tdate *d = &c->dates[i];
		int r;

		all[nvars + i] = (struct es_tvar){ d->name, NULL };
		if (d->t <= 0)
			continue; /* unset: "{{#name}}" hides */
		/* a day's noon (UTC) is the same date in every zone from
		 * UTC-12 to UTC+12; its midnight is the day before west of
		 * Greenwich */
		r = d->day_only ? es_fmt_day(d->t + ES_COMPOSE_NOON, lang, text[i], sizeof(text[i]))
		                : es_fmt_when(d->t, lang, text[i], sizeof(text[i]));
		if (r != 0)
			return es_err_set(err, ES_EDATA, "%s: no local time for %lld", d->name,
			                  (long long)d->t);
		all[nvars + i].value = text[i];
	}
	return 0;
}

int es_compose_mail(const struct es_compose *c, const char *kind, const char *lang,
                    const char *to_addr, const char *to_name, const struct es_tvar *vars,
                    size_t nvars, struct es_buf *out, char *msgid, size_t msgidsz,
                    struct es_err *err)
{
	char *txt = NULL, *html = NULL, where_txt[512], where_html[512];
	char dates[ES_COMPOSE_DATES_MAX][64];
	struct es_tvar all[ES_COMPOSE_VARS_MAX];
	size_t txt_len = 0, html_len = 0;
	struct es_buf rtxt = { 0 }, rhtml = { 0 };
	const char *subject, *body, *used_lang = NULL;
	struct es_mail m;
	int rc = -1;

	if (es_template_load(c->dirs, c->ndirs, lang, c->school_lang, kind, "txt", &txt, &txt_len,
	                     where_txt, sizeof(where_txt), &used_lang, err) != 0)
		goto out;
	/* the dates in the language of the text found, which may be the
	 * school's rather than the user's */
	if (with_dates(c, used_lang, vars, nvars, all, dates, err) != 0)
		goto out;
	vars = all;
	nvars += c->ndates;
	/* the subject line alone first: a value with a line break there would
	 * cut the subject and push text into the body */
	{
		const char *nl = memchr(txt, '\n', txt_len);
		struct es_buf line = { 0 };
		int bad;

		if (es_template_render(txt, nl != NULL ? (size_t)(nl - txt) : txt_len, where_txt, false,
		                       vars, nvars, &line, err) != 0)
			goto out;
		bad = line.data != NULL && memchr(line.data, '\n', line.len) != NULL;
		es_buf_free(&line);
		if (bad) {
			es_err_set(err, ES_EDATA, "%s:1: a variable in the subject holds a line break",
			           where_txt);
			goto out;
		}
	}
	if (es_template_render(txt, txt_len, where_txt, false, vars, nvars, &rtxt, err) != 0 ||
	    es_buf_puts(&rtxt, "") != 0 ||
	    es_template_split(rtxt.data, where_txt, &subject, &body, err) != 0)
		goto out;
	/* the HTML alternative comes from the same language as the text */
	if (es_template_load(c->dirs, c->ndirs, used_lang, NULL, kind, "html", &html, &html_len,
	                     where_html, sizeof(where_html), NULL, err) != 0) {
		if (err->code != ES_EUNAVAIL)
			goto out;
		html = NULL; /* text only */
	} else if (es_template_render(html, html_len, where_html, true, vars, nvars, &rhtml,
	                              err) != 0 ||
	           es_buf_puts(&rhtml, "") != 0) {
		goto out;
	}
	m = (struct es_mail){
		.from_addr = c->from_addr,
		.from_name = c->from_name,
		.to_addr = to_addr,
		.to_name = to_name,
		.subject = subject,
		.text = body,
		.html = html != NULL ? rhtml.data : NULL,
		.logo = c->logo,
		.logo_len = c->logo_len,
		.kind = kind,
		.date = c->now,
	};
	rc = es_mime_build(&m, out, msgid, msgidsz, err);
out:
	es_buf_free(&rtxt); /* may hold a password: wiped */
	es_buf_free(&rhtml);
	free(txt);
	free(html);
	return rc;
}

/* The school's part of every mail, from the config: the sender, the
 * fallback language, and the variables school_name, contact, admin_email
 * and logo (set when comp->logo is) written to school[0..3]. */
#define SCHOOL_VARS 4
static void compose_school(const struct es_config *cfg, struct es_compose *comp,
                           struct es_tvar school[SCHOOL_VARS])
{
	comp->school_lang = cfg->language;
	/* debug mode and the module need no sender; the mails they make do */
	comp->from_addr = cfg->from[0] ? cfg->from : "noreply@eschool.invalid";
	comp->from_name = cfg->school_name[0] ? cfg->school_name : NULL;
	school[0] = (struct es_tvar){ "school_name", cfg->school_name };
	school[1] = (struct es_tvar){ "contact", cfg->contact[0] ? cfg->contact : NULL };
	school[2] = (struct es_tvar){ "admin_email", cfg->admin_email[0] ? cfg->admin_email : NULL };
	school[3] = (struct es_tvar){ "logo", comp->logo != NULL ? "logo" : NULL };
}

size_t es_compose_dirs(const struct es_config *cfg, const char *extra,
                       const char *dirs[ES_TEMPLATE_DIRS_MAX])
{
	size_t k = 0;

	dirs[k++] = ES_SITE_TEMPLATES;
	if (cfg->template_dir[0] != '\0')
		dirs[k++] = cfg->template_dir;
	if (extra != NULL && extra[0] != '\0')
		dirs[k++] = extra;
	return k;
}

int es_compose_checkout_dir(char *buf, size_t bufsz)
{
	char exe[PATH_MAX];
	struct stat st;
	char *slash;
	ssize_t n;

	/* build/eschool finds conf/templates beside build/ */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	for (int up = 0; up < 2; up++) {
		slash = strrchr(exe, '/');
		if (slash == NULL)
			return -1;
		*slash = '\0';
	}
	if ((size_t)snprintf(buf, bufsz, "%s/conf/templates", exe) >= bufsz ||
	    stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
		return -1;
	return 0;
}

int es_compose_message(const struct es_config *cfg, const struct es_compose_in *in,
                       struct es_buf *out, const char **kind_used, struct es_err *err)
{
	const char *dirs[ES_TEMPLATE_DIRS_MAX], *kind = in->kind;
	struct es_tvar vars[ES_COMPOSE_VARS_MAX];
	char msgid[128];
	struct es_compose comp = {
		.dirs = dirs,
		.logo = in->logo,
		.logo_len = in->logo_len,
		.dates = in->dates,
		.ndates = in->ndates,
		.now = in->now,
	};
	int rc;

	comp.ndirs = es_compose_dirs(cfg, in->extra_dir, dirs);
	compose_school(cfg, &comp, vars);
	if (in->nvars > ES_ARRAY_LEN(vars) - SCHOOL_VARS - ES_COMPOSE_DATES_MAX)
		return es_err_set(err, ES_ESOFTWARE, "too many template variables");
	if (in->nvars > 0) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(vars + SCHOOL_VARS, in->vars, in->nvars * sizeof(*in->vars));
	rc = es_compose_mail(&comp, kind, in->lang, in->to_addr, in->to_name, vars,
	                     SCHOOL_VARS + in->nvars, out, msgid, sizeof(msgid), err);
	/* a role of the school's with no welcome template of its own (the
	 * missing template stops it before anything is written to out) */
	if (rc != 0 && err->code == ES_EUNAVAIL && strncmp(kind, "welcome-", 8) == 0 &&
	    strcmp(kind, "welcome-student") != 0) {
		kind = "welcome-student";
		es_err_clear(err);
		rc = es_compose_mail(&comp, kind, in->lang, in->to_addr, in->to_name, vars,
		                     SCHOOL_VARS + in->nvars, out, msgid, sizeof(msgid), err);
	}
	if (kind_used != NULL)
		*kind_used = kind;
	return rc;
}
