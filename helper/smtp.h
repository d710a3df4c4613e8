/* SMTP delivery with libcurl (helper only: the PAM module never links it).
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

struct es_smtp;

struct es_smtp_result {
	bool accepted;      /* 250 after DATA: the message left us */
	bool permanent;     /* 5xx: retrying will not help */
	bool connected, tls, authenticated;
	long code;          /* the last reply code, 0 when none */
	char reply[300];    /* the last reply line, printable */
	char failed_step[32]; /* "connect", "tls", "login", "sender", "recipient", "data" */
	char detail[300];   /* libcurl's explanation */
};

/* Checks the settings (host, from, no login in cleartext) and prepares a
 * connection; nothing is sent yet. ES_ECONFIG on bad settings. */
int es_smtp_open(struct es_smtp **s, const struct es_config *cfg, struct es_err *err);

/* Sends one message to one recipient (envelope sender: mail.from). */
void es_smtp_send(struct es_smtp *s, const char *to, const char *msg, size_t len,
                  struct es_smtp_result *r);

/* Connects, secures and logs in as a send would, then says NOOP and
 * sends nothing: r->accepted when all of it worked (doctor). */
void es_smtp_probe(struct es_smtp *s, struct es_smtp_result *r);

void es_smtp_close(struct es_smtp *s);

#endif
