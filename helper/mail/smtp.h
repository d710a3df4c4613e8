/* SMTP delivery with libcurl (helper only: the PAM module never links it;
 * the helper loads it, smtp.c and libcurl, as a plugin, eschool_smtp.so,
 * when a command first sends: smtp_load.c and plugin.h).
 * One connection and one login serve every message of a run. TLS is never
 * optional: security = starttls requires STARTTLS (CURLUSESSL_ALL), tls is
 * implicit TLS (smtps), certificates are always verified (ca_file adds a
 * CA to the system's), and a login over a cleartext connection is refused
 * before connecting. Passwords and message bodies never reach a log: the
 * dialogue is followed only through the commands' verbs and the server's
 * replies. */
#ifndef ESCHOOL_SMTP_H
#define ESCHOOL_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "es_config.h"
#include "es_err.h"
#include "plugin.h"

struct smtp;

/* Why TLS failed (failed_step "tls"), for the advice to give. */
enum tls_why {
	TLS_FINE,        /* TLS did not fail */
	TLS_NO_STARTTLS, /* the server does not offer STARTTLS */
	TLS_UNTRUSTED,   /* the certificate's CA is not trusted: ca_file */
	TLS_BAD_CERT,    /* another certificate problem (name, dates): detail */
	TLS_HANDSHAKE,   /* no TLS handshake (wrong port or security?) */
};

struct smtp_result {
	bool accepted;      /* 250 after DATA: the message left us */
	bool permanent;     /* 5xx: retrying will not help */
	bool connected;     /* the server greeted us, or TLS was tried over TCP */
	bool tls;           /* the TLS handshake and the certificate check passed */
	bool authenticated;
	enum tls_why tls_why;
	long code;          /* the last reply code, 0 when none */
	char reply[300];    /* the last reply line, printable */
	char failed_step[32]; /* "connect", "tls", "login", "sender", "recipient", "data" */
	char detail[300];   /* libcurl's explanation, the most precise it has */
};

/* Checks the settings (host, from, no login in cleartext) and prepares a
 * connection; nothing is sent yet. ES_ECONFIG on bad settings. */
int smtp_open(struct smtp **s, const struct es_config *cfg, struct es_err *err);

/* Sends one message to one recipient (envelope sender: mail.from). */
void smtp_send(struct smtp *s, const char *to, const char *msg, size_t len,
                  struct smtp_result *r);

/* Connects, secures and logs in as a send would, then says NOOP and
 * sends nothing: r->accepted when all of it worked (doctor). */
void smtp_probe(struct smtp *s, struct smtp_result *r);

void smtp_close(struct smtp *s);

/* Loads the sender (below) if it is not yet: 0, or -1 with err (ES_EUNAVAIL,
 * ES_ESOFTWARE: reinstall) before anything is made that it would send. */
int smtp_check(struct es_err *err);

/* eschool_smtp.so's table (smtp.c), loaded by plugin_load. */
#define SMTP_PLUGIN_FILE "eschool_smtp.so"
#define SMTP_PLUGIN_SYMBOL "eschool_smtp_plugin"

struct smtp_plugin {
	struct plugin_head head; /* PLUGIN_HEAD: checked by plugin_load */
	int (*open)(struct smtp **s, const struct es_config *cfg, struct es_err *err);
	void (*send)(struct smtp *s, const char *to, const char *msg, size_t len,
	             struct smtp_result *r);
	void (*probe)(struct smtp *s, struct smtp_result *r);
	void (*close)(struct smtp *s);
};

#endif
