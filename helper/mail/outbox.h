/* The outbox (helper/mail/outbox.c): sending queued mail under the queue lock,
 * with one SMTP connection, quotas, pacing, backoff and the admin's
 * notices. Used by `queue run`, the credential deliveries and import. */
#ifndef ESCHOOL_OUTBOX_H
#define ESCHOOL_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "es_queue.h"
#include "mail/smtp.h"

/* What was sent per window (spool_dir/quota). */
struct quota {
	char day[11];    /* YYYY-MM-DD, local time */
	long day_sent;
	bool day_alerted;
	char month[8];   /* YYYY-MM */
	long month_sent;
	bool month_alerted;
};

enum outcome {
	OUTCOME_SENT,      /* accepted (250 after DATA), removed from the queue */
	OUTCOME_DEFERRED,  /* kept, next try later (4xx, network, TLS, login) */
	OUTCOME_FAILED,    /* moved to failed/ (5xx, lifetime over); admin told */
	OUTCOME_HELD,      /* not tried: quota reached, or the server is out of reach */
};

struct outbox;

/* Takes the queue lock (ES_ETEMP when another sender holds it) and the
 * quota; SMTP connects on the first send. timeout > 0 shortens
 * mail.timeout (a delivery tried while the admin waits). */
int outbox_open(struct cli *ctx, long timeout, struct outbox **ob,
                   struct es_err *err);

/* Sends queued message m (its bytes: msg, len) and settles it in the
 * queue. -1 only on a local error (settings, queue files); what the
 * server said is in r and *outcome. */
int outbox_send(struct outbox *ob, struct es_qmsg *m, const char *msg, size_t len,
                   enum outcome *outcome, struct smtp_result *r, struct es_err *err);

/* Reads queued message id (new/) through the outbox's queue handle. */
int outbox_read(struct outbox *ob, const char *id, struct es_qmsg *m, char **msg,
                   size_t *len, struct es_err *err);

/* true once nothing more can go out in this run: the server is out of
 * reach or refuses us, or a quota is reached. */
bool outbox_stopped(const struct outbox *ob);
bool outbox_over_quota(const struct outbox *ob);

void outbox_close(struct outbox *ob);

/* mail.backend = console | file: prints the mail (stdout; stderr with
 * --json) or writes it as id.eml in mail.file_dir (default
 * spool_dir/mails, 0700); where says which. */
int mail_local(const struct cli *ctx, const char *id, const char *to, const char *msg,
                  size_t len, char *where, size_t wheresz, struct es_err *err);

/* The quota's current windows (for queue status); zero when none. */
int quota_read(const struct cli *ctx, struct quota *q, struct es_err *err);

#endif
