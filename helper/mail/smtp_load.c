/* The helper's side of SMTP delivery (smtp.h): smtp.c and libcurl are
 * eschool_smtp.so, loaded when a command first opens a connection
 * (plugin.h). libcurl brings some 30 libraries (TLS, Kerberos, LDAP,
 * SSH, HTTP/2...): loaded at every start they made each eschool command
 * about 5.5 ms slower and 3.2 MB larger, mail or not. */
#include "mail/smtp.h"

#include "es_config.h"
#include "es_util.h"
#include "plugin.h"

static const struct smtp_plugin *loaded;
static struct es_err load_error; /* why it could not be (said once per run) */

static const struct smtp_plugin *sender(struct es_err *err)
{
	char dir[ES_PATH_LEN], detail[256];
	enum plugin_fail why = PLUGIN_UNSAFE;
	const struct smtp_plugin *p;

	if (loaded != NULL)
		return loaded;
	if (load_error.code != 0) { /* not tried again: the answer would not change */
		if (err != NULL)
			*err = load_error;
		return NULL;
	}
	p = plugin_load(SMTP_PLUGIN_FILE, SMTP_PLUGIN_SYMBOL, dir, sizeof(dir), &why, detail,
	                sizeof(detail));
	if (p == NULL && why == PLUGIN_UNSAFE)
		es_err_set(err, ES_EUNAVAIL,
		           "%s/%s is missing, or is not root's alone: it sends the mail (reinstall "
		           "eschool)",
		           dir, SMTP_PLUGIN_FILE);
	else if (p == NULL && why == PLUGIN_NOLOAD)
		es_err_set(err, ES_EUNAVAIL, "cannot load %s/%s: %s (reinstall eschool)", dir,
		           SMTP_PLUGIN_FILE, detail);
	else if (p == NULL)
		es_err_set(err, ES_ESOFTWARE, "%s/%s is not the mail sender of this eschool", dir,
		           SMTP_PLUGIN_FILE);
	else
		loaded = p;
	if (loaded == NULL && err != NULL)
		load_error = *err;
	return loaded;
}

int smtp_check(struct es_err *err)
{
	return sender(err) != NULL ? 0 : -1;
}

int smtp_open(struct smtp **s, const struct es_config *cfg, struct es_err *err)
{
	const struct smtp_plugin *p = sender(err);

	*s = NULL;
	if (p == NULL)
		return -1;
	return p->open(s, cfg, err);
}

/* (a connection exists only once the plugin is loaded) */
void smtp_send(struct smtp *s, const char *to, const char *msg, size_t len,
               struct smtp_result *r)
{
	loaded->send(s, to, msg, len, r);
}

void smtp_probe(struct smtp *s, struct smtp_result *r)
{
	loaded->probe(s, r);
}

void smtp_close(struct smtp *s)
{
	if (s != NULL)
		loaded->close(s);
}
