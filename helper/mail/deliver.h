/* Delivering mails (helper/mail/deliver.c): credentials (add, reset,
 * import), notices (set-email), resend, dropping stale credentials, and
 * debug mode's console/file copies. */
#ifndef ESCHOOL_MAIL_DELIVER_H
#define ESCHOOL_MAIL_DELIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "es_compose.h"
#include "es_queue.h"
#include "es_state.h"
#include "es_template.h"

/* Production: queues the credential mail of kind for st's user, tries it
 * now; *delivery is "sent", "queued" or "fallback" (show the password).
 * -1 when the mail could not even be queued (then: fallback). */
int deliver_credential(struct cli *ctx, const struct es_state *st, const char *kind,
                          const char *password, const char **delivery, struct es_err *err);

/* Composes mail `kind` (lang NULL: the school's) for user to `to`, queues
 * it and, in production, tries it now (dates: as compose_for): *delivery "sent", "queued" (debug
 * mode, the quota, a running queue run) or "fallback" (not sent: it stays
 * queued, and the caller shows what the mail held). secret: it holds a
 * code or password (0600, deleted on delivery, sent first). -1 when it
 * could not even be queued. */
int deliver_mail(struct cli *ctx, const char *user, const char *kind, const char *lang,
                    const char *to, const char *to_name, const struct es_tvar *vars,
                    size_t n_vars, const struct es_tdate *dates, size_t n_dates, bool secret,
                    const char **delivery, struct es_err *err);

/* Production: queues (and tries now) the parent-notice of a student with a
 * parent address; nothing for others. The notice never holds a password;
 * a failure to send leaves it queued. */
int deliver_parent_notice(struct cli *ctx, const struct es_state *st, struct es_err *err);

/* Removes the queued (or failed) mails holding a password for user: called
 * before a new password replaces it (a resumed add, a reset), so that a
 * stale password never goes out. */
int drop_stale_credentials(struct cli *ctx, const char *user, struct es_err *err);

/* The same over a listing of the queue already made (an import resuming
 * many rows lists it once); *has_notice (when not NULL): a parent notice
 * for user is still queued, and is kept (it holds no password). */
int drop_stale_listed(struct cli *ctx, const struct es_qmsg *list, size_t n,
                         const char *user, bool *has_notice, struct es_err *err);

/* What becomes of a queued mail about an account, decided when it is
 * sent (queue run, resend) on the account's state as it is then. */
enum mail_fate {
	MAIL_AS_QUEUED,   /* its recipient stands (or it is about no account) */
	MAIL_READDRESSED, /* the account's address changed: m->to and the To:
	                   * header are the address now */
	MAIL_NOT_SENT,    /* the account is gone, has no address, or the mail
	                   * cannot be re-addressed: err says which */
};

/* The decision for m, whose account's state is st (NULL: it has none).
 * A mail to the account's own address (es_account_mail_follows_email)
 * follows the address; a parent's, a code's or an old address's notice
 * keeps its recipient. With msg (m's bytes, malloc'd; *len their length;
 * the caller holds the queue lock), a re-addressed message replaces them
 * (the old bytes wiped), is written back to the queue and logged; without,
 * only the decision is made. MAIL_NOT_SENT fills err and returns 0; -1 when
 * out of memory or when the queue file cannot be rewritten. */
int mail_to_account_now(const struct cli *ctx, const struct es_state *st, struct es_qmsg *m,
                        char **msg, size_t *len, enum mail_fate *fate, struct es_err *err);

/* resend: tries now the user's newest queued (or failed) credentials
 * mail, to the address st (the user's state, locked) has now. *delivery: "sent", "queued" (held by the quota or a running
 * `queue run`), or NULL when there is none or it did not go (then a new
 * password is due). */
int deliver_again(struct cli *ctx, const struct es_state *st, const char **delivery,
                  struct es_err *err);

/* Debug mode with mail.backend = console | file: the mail that production
 * would send is printed or written as a .eml file (the password is shown
 * anyway); nothing with backend = smtp. */
void debug_mail(struct cli *ctx, const struct es_state *st, const char *kind,
                   const char *to, const char *to_name, const char *password);

/* Composes the credential mail `kind` (a role without its own
 * welcome template gets welcome-student) for st's user and queues it:
 * m and msg filled (msg holds the password: es_buf_free wipes it). */
int queue_credential(struct cli *ctx, const struct es_state *st, const char *kind,
                        const char *email, const char *to_name, const char *password,
                        int priority, struct es_qmsg *m, struct es_buf *msg,
                        struct es_err *err);

#endif
