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
	if (loaded == NULL && load_error.code == 0) { /* tried once: the answer would not change */
		loaded = plugin_load(SMTP_PLUGIN_FILE, SMTP_PLUGIN_SYMBOL, &load_error);
		if (loaded == NULL)
			es_err_prefix(&load_error, "the mail cannot be sent");
	}
	if (loaded == NULL && err != NULL)
		es_err_copy(err, &load_error);
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
