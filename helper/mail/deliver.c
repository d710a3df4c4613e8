/* Production delivery of a new credential (add, reset): the mail is built
 * from the templates and queued durably first, then tried at once with a
 * short timeout over SMTP. Accepted -> "sent" (the password is not shown);
 * anything else -> "fallback": the caller shows the password with a
 * warning, and the mail stays queued for `queue run` (or in failed/ after a
 * 5xx). If another `queue run` holds the queue, the mail is left to it:
 * "queued". */
#include "cli.h"
#include "ui.h"
#include "log.h"
#include "mail/deliver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "es_account.h"
#include "es_mime.h"
#include "es_queue.h"
#include "provision.h"
#include "mail/compose.h"
#include "mail/outbox.h"

#define QUICK_TIMEOUT 10

static int compose(struct cli *ctx, const struct es_state *st, const char *kind,
                   const char *to, const char *to_name, const char *password,
                   struct es_buf *msg, const char **kind_used, struct es_err *err)
{
	const char *name = es_state_get(st, ES_K_NAME);
	const struct es_tvar vars[] = {
		{ "name", name != NULL ? name : st->username },
		{ "username", st->username },
		{ "password", password },
		{ "class", es_state_get(st, ES_K_CLASS) },
	};
	/* no end date (initial_password_ttl_days = 0): unset */
	const struct es_tdate dates[] = {
		{ .name = "expires", .t = (time_t)es_state_get_i64(st, ES_K_INITIAL_EXPIRES, 0) },
	};

	return compose_for(ctx, kind, es_state_get(st, ES_K_LANG), to, to_name, vars,
	                   ES_ARRAY_LEN(vars), dates, ES_ARRAY_LEN(dates), msg, kind_used, err);
}

int queue_credential(struct cli *ctx, const struct es_state *st, const char *kind,
                        const char *email, const char *to_name, const char *password,
                        int priority, struct es_qmsg *m, struct es_buf *msg, struct es_err *err)
{
	if (email == NULL || email[0] == '\0')
		return es_err_set(err, ES_EDATA, "user %s has no email address", st->username);
	/* kind becomes welcome-student for a role with no welcome of its own */
	if (compose(ctx, st, kind, email, to_name, password, msg, &kind, err) != 0)
		return -1;
	memset(m, 0, sizeof(*m));
	(void)es_strlcpy(m->to, email, sizeof(m->to));
	(void)es_strlcpy(m->kind, kind, sizeof(m->kind));
	(void)es_strlcpy(m->user, st->username, sizeof(m->user));
	m->priority = priority;
	m->secret = password != NULL;
	return es_queue_add(ctx->cfg.spool_dir, m, msg->data, msg->len, ctx->now, err);
}

/* Tries a queued mail now over a short-timeout connection; *delivery:
 * "sent", "queued" (held by the quota, or a running `queue run` has the
 * queue) or "fallback" (m->last_error says why; the mail stays queued, or
 * failed on a 5xx). The mail is safe in the queue whatever happens.
 * Returns true when the quota held it back. */
static bool try_now(struct cli *ctx, struct es_qmsg *m, const struct es_buf *msg,
                    const char **delivery)
{
	bool held = false;

	struct outbox *ob = NULL;
	struct smtp_result r;
	struct es_err err = { 0 };
	enum outcome outcome = OUTCOME_HELD;

	*delivery = "fallback";
	if (ctx->hold_sending) {
		*delivery = "queued"; /* the caller's `queue run` sends it */
		return false;
	}
	if (outbox_open(ctx, QUICK_TIMEOUT, &ob, &err) != 0) {
		if (err.code == ES_ETEMP)
			*delivery = "queued"; /* a running `queue run` will take it */
		else
			ui_warn("%s", ui_err(&err)); /* queued, but not tried: show it */
		(void)es_strlcpy(m->last_error, err.msg, sizeof(m->last_error));
		return false;
	}
	if (outbox_send(ob, m, msg->data, msg->len, &outcome, &r, &err) != 0) {
		ui_warn("%s", ui_err(&err));
		if (outcome == OUTCOME_SENT)
			*delivery = "sent";
	} else if (outcome == OUTCOME_SENT) {
		*delivery = "sent";
	} else if (outcome == OUTCOME_HELD) {
		*delivery = "queued"; /* the quota is reached: the next window */
		held = true;
	}
	outbox_close(ob);
	return held;
}

/* Composes kind for st's user, to `email`, queues it and tries it now. */
static int deliver(struct cli *ctx, const struct es_state *st, const char *kind,
                   const char *email, const char *to_name, const char *password, int priority,
                   const char **delivery, struct es_err *err)
{
	struct es_buf msg = { 0 };
	struct es_qmsg m;
	bool held;

	*delivery = "fallback";
	if (queue_credential(ctx, st, kind, email, to_name, password, priority, &m, &msg,
	                        err) != 0) {
		es_buf_free(&msg);
		return -1;
	}
	held = try_now(ctx, &m, &msg, delivery);
	es_buf_free(&msg); /* wiped: it holds the password */
	if (held && password != NULL)
		ui_warn("the sending quota is reached: the mail to %s waits for the next "
		        "window (eschool queue status)",
		        email);
	if (strcmp(*delivery, "fallback") != 0)
		return 0;
	if (password != NULL)
		ui_warn("the mail to %s could not be sent (%s); the password is shown below",
		        email, m.last_error);
	else
		ui_warn("the %s mail to %s could not be sent (%s); it stays queued",
		        kind, email, m.last_error);
	return 0;
}

int deliver_mail(struct cli *ctx, const char *user, const char *kind, const char *lang,
                    const char *to, const char *to_name, const struct es_tvar *vars,
                    size_t n_vars, const struct es_tdate *dates, size_t n_dates, bool secret,
                    const char **delivery, struct es_err *err)
{
	struct es_buf msg = { 0 };
	struct es_qmsg m;
	int rc = -1;

	*delivery = "fallback";
	if (compose_for(ctx, kind, lang, to, to_name, vars, n_vars, dates, n_dates, &msg, NULL,
	                err) != 0)
		goto out;
	memset(&m, 0, sizeof(m));
	(void)es_strlcpy(m.to, to, sizeof(m.to));
	(void)es_strlcpy(m.kind, kind, sizeof(m.kind));
	(void)es_strlcpy(m.user, user, sizeof(m.user));
	m.priority = secret ? ES_QPRIO_CREDENTIALS : ES_QPRIO_NOTICE;
	m.secret = secret;
	if (es_queue_add(ctx->cfg.spool_dir, &m, msg.data, msg.len, ctx->now, err) != 0)
		goto out;
	rc = 0;
	if (ctx->cfg.mode == ES_MODE_PRODUCTION)
		(void)try_now(ctx, &m, &msg, delivery);
	else
		*delivery = "queued";
	if (strcmp(*delivery, "fallback") == 0)
		ui_warn("the %s mail to %s could not be sent (%s); it stays queued",
		        kind, to, m.last_error);
out:
	es_buf_free(&msg); /* wiped: it may hold a code */
	return rc;
}

int deliver_credential(struct cli *ctx, const struct es_state *st, const char *kind,
                          const char *password, const char **delivery, struct es_err *err)
{
	return deliver(ctx, st, kind, es_state_get(st, ES_K_EMAIL), es_state_get(st, ES_K_NAME),
	               password, ES_QPRIO_CREDENTIALS, delivery, err);
}

int deliver_parent_notice(struct cli *ctx, const struct es_state *st, struct es_err *err)
{
	const char *parent = es_state_get(st, ES_K_PARENT_EMAIL), *role = es_state_get(st, ES_K_ROLE);
	const char *delivery;

	/* a student's parent is told an account exists, never its password */
	if (parent == NULL || parent[0] == '\0' || role == NULL || strcmp(role, "student") != 0)
		return 0;
	return deliver(ctx, st, "parent-notice", parent, NULL, NULL, ES_QPRIO_NOTICE, &delivery,
	               err);
}

int drop_stale_listed(struct cli *ctx, const struct es_qmsg *list, size_t n,
                         const char *user, bool *has_notice, struct es_err *err)
{
	int rc = 0;

	if (has_notice != NULL)
		*has_notice = false;
	for (size_t i = 0; i < n; i++) {
		struct es_err e = { 0 };

		if (strcmp(list[i].user, user) != 0)
			continue;
		if (!list[i].secret) {
			if (has_notice != NULL && strcmp(list[i].kind, "parent-notice") == 0)
				*has_notice = true;
			continue;
		}
		/* its password is about to be replaced: never send it (gone
		 * already: a queue run sent or dropped it since the listing) */
		if (es_queue_remove(ctx->cfg.spool_dir, list[i].id, list[i].failed, &e) != 0 &&
		    e.code != ES_ENOUSER) {
			*err = e;
			rc = -1;
		}
	}
	return rc;
}

int drop_stale_credentials(struct cli *ctx, const char *user, struct es_err *err)
{
	struct es_qmsg *list = NULL;
	size_t n = 0, bad = 0;
	int rc;

	if (es_queue_list(ctx->cfg.spool_dir, &list, &n, &bad, err) != 0)
		return -1;
	es_err_clear(err); /* a corrupt file is queue run's to report */
	rc = drop_stale_listed(ctx, list, n, user, NULL, err);
	free(list);
	return rc;
}

/* The account's address now into m and its bytes. An address that cannot
 * be put there (a To: header es_mime_build did not make) is not sent: the
 * old one is the very address that must not get it. */
static int readdress(const char *email, struct es_qmsg *m, char **msg, size_t *len,
                     enum mail_fate *fate, struct es_err *err)
{
	struct es_buf b = { 0 };
	struct es_err e = { 0 };

	if (strlen(email) >= sizeof(m->to) ||
	    (msg != NULL && es_mime_readdress(*msg, *len, email, &b, &e) != 0)) {
		es_buf_free(&b);
		if (e.code == ES_EOS) {
			es_err_copy(err, &e);
			return -1;
		}
		*fate = MAIL_NOT_SENT;
		(void)es_err_set(err, ES_EDATA,
		                 "the mail cannot be re-addressed to %s, %s's address now; it is "
		                 "not sent to %s",
		                 email, m->user, m->to);
		return 0;
	}
	if (msg != NULL) {
		es_free_wiped(*msg, *len); /* it may hold a password */
		*msg = b.data;             /* malloc'd and NUL-terminated, as read */
		*len = b.len;
	}
	(void)es_strlcpy(m->to, email, sizeof(m->to));
	*fate = MAIL_READDRESSED;
	return 0;
}

/* A re-addressed message is written back before it is tried: deferred, it
 * stays addressed to the account's address now, in its metadata and its
 * bytes alike. The caller holds the queue lock (its outbox). */
static int record_readdressed(const struct cli *ctx, const struct es_qmsg *m, const char *was,
                              const char *msg, size_t len, struct es_err *err)
{
	if (es_queue_replace(ctx->cfg.spool_dir, m, msg, len, err) != 0)
		return es_err_prefix(err, "the mail could not be re-addressed to %s", m->to);
	log_msg(LOG_MAIL, LOG_NOTICE,
	        "%s kind=%s re-addressed from <%s> to <%s>, the address %s has now", m->id,
	        m->kind, was, m->to, m->user);
	return 0;
}

int mail_to_account_now(const struct cli *ctx, const struct es_state *st, struct es_qmsg *m,
                        char **msg, size_t *len, enum mail_fate *fate, struct es_err *err)
{
	const char *email;
	char was[sizeof(m->to)];

	*fate = MAIL_AS_QUEUED;
	if (m->user[0] == '\0')
		return 0; /* a test mail, the admin's notices */
	/* whatever its kind, a mail about an account eschool no longer keeps,
	 * or whose name is someone else's now, is about nobody that is there */
	if (st == NULL) {
		*fate = MAIL_NOT_SENT;
		(void)es_err_set(err, ES_ENOUSER,
		                  "%s is no longer an account managed by eschool: the mail to %s is "
		                  "not sent",
		                  m->user, m->to);
		return 0;
	}
	if (state_orphan(st, NULL, 0) != ES_OWNER_OK) {
		*fate = MAIL_NOT_SENT;
		(void)es_err_set(err, ES_ENOUSER,
		                  "the account %s no longer exists (or its name is another "
		                  "account's now): the mail to %s is not sent",
		                  m->user, m->to);
		return 0;
	}
	if (!es_account_mail_follows_email(m->kind, m->secret))
		return 0; /* the parent, the address being confirmed or replaced */
	email = es_state_get(st, ES_K_EMAIL);
	if (email == NULL || email[0] == '\0') {
		*fate = MAIL_NOT_SENT;
		(void)es_err_set(err, ES_EDATA,
		                  "%s has no email address now: the mail to %s is not sent", m->user,
		                  m->to);
		return 0;
	}
	if (strcmp(email, m->to) == 0)
		return 0;
	(void)es_strlcpy(was, m->to, sizeof(was));
	if (readdress(email, m, msg, len, fate, err) != 0)
		return -1;
	if (*fate == MAIL_READDRESSED && msg != NULL &&
	    record_readdressed(ctx, m, was, *msg, *len, err) != 0)
		return -1;
	return 0;
}

/* mail_to_account_now for resend: 0 to send, 1 not (said: a new
 * password is made and mailed to the address now), -1 error. */
static int still_to_send(const struct cli *ctx, const struct es_state *st, struct es_qmsg *m,
                         char **msg, size_t *len, struct es_err *err)
{
	enum mail_fate fate = MAIL_AS_QUEUED;

	if (mail_to_account_now(ctx, st, m, msg, len, &fate, err) != 0)
		return -1;
	if (fate != MAIL_NOT_SENT)
		return 0;
	ui_warn("%s", ui_err(err));
	es_err_clear(err);
	return 1;
}

int deliver_again(struct cli *ctx, const struct es_state *st, const char **delivery,
                  struct es_err *err)
{
	const char *user = st->username;
	struct es_qmsg *list = NULL, m;
	struct outbox *ob = NULL;
	struct smtp_result r;
	enum outcome outcome = OUTCOME_HELD;
	size_t n = 0, bad = 0, len = 0;
	char *msg = NULL;
	int found = -1, rc = 0, to_send;

	*delivery = NULL;
	if (es_queue_list(ctx->cfg.spool_dir, &list, &n, &bad, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) /* the newest credentials mail (not a code) */
		if (es_account_mail_is_credential(list[i].kind, list[i].secret) &&
		    strcmp(list[i].user, user) == 0 &&
		    (found < 0 || list[i].created >= list[found].created))
			found = (int)i;
	if (found < 0)
		goto out;
	m = list[found];
	/* checked before a failed mail is revived, and again once read */
	if ((to_send = still_to_send(ctx, st, &m, NULL, NULL, err)) != 0) {
		rc = to_send < 0 ? -1 : 0;
		goto out;
	}
	if (m.failed && es_queue_revive(ctx->cfg.spool_dir, m.id, err) != 0) {
		rc = -1;
		goto out;
	}
	if (outbox_open(ctx, QUICK_TIMEOUT, &ob, err) != 0) {
		if (err->code != ES_ETEMP) {
			rc = -1;
			goto out;
		}
		es_err_clear(err);
		*delivery = "queued"; /* a running `queue run` is sending it */
		goto out;
	}
	if (outbox_read(ob, m.id, &m, &msg, &len, err) != 0) {
		rc = -1;
		goto out;
	}
	/* to the address the account has now, never to a stale copy's */
	if ((to_send = still_to_send(ctx, st, &m, &msg, &len, err)) != 0) {
		rc = to_send < 0 ? -1 : 0;
		goto out;
	}
	if (outbox_send(ob, &m, msg, len, &outcome, &r, err) != 0 && outcome != OUTCOME_SENT) {
		rc = -1;
		goto out;
	}
	if (outcome == OUTCOME_SENT)
		*delivery = "sent";
	else if (outcome == OUTCOME_HELD && outbox_over_quota(ob))
		*delivery = "queued";
	else
		ui_warn("the queued mail to %s could not be sent (%s); a new password is made",
		        m.to, m.last_error);
out:
	if (msg != NULL) {
		sodium_memzero(msg, len);
		free(msg);
	}
	outbox_close(ob);
	free(list);
	return rc;
}

void debug_mail(struct cli *ctx, const struct es_state *st, const char *kind,
                   const char *to, const char *to_name, const char *password)
{
	struct es_buf msg = { 0 };
	struct es_err err = { 0 };
	unsigned char rnd[8];
	char id[48], where[4200];
	int rc;

	if (ctx->cfg.mail_backend == ES_MAILB_SMTP || to == NULL || to[0] == '\0')
		return;
	randombytes_buf(rnd, sizeof(rnd));
	(void)snprintf(id, sizeof(id), "%010lld.%02x%02x%02x%02x%02x%02x%02x%02x",
	               (long long)ctx->now, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
	               rnd[7]);
	rc = compose(ctx, st, kind, to, to_name, password, &msg, NULL, &err);
	if (rc == 0)
		rc = mail_local(ctx, id, to, msg.data, msg.len, where, sizeof(where), &err);
	if (rc != 0)
		ui_warn("%s", ui_err(&err));
	else if (ctx->cfg.mail_backend == ES_MAILB_FILE)
		ui_info(ctx, "the %s mail for %s is in %s\n",
		        kind, to, where);
	es_buf_free(&msg);
}
