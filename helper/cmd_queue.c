/* eschool queue run|status|list|retry ID|drop ID: deliver and inspect the
 * mail queue (lib/es_queue). `run` holds the runner lock, opens one SMTP
 * connection (one login) for the whole run, and for each message due:
 * 250 -> removed; 5xx -> failed/ for good; 4xx, network, TLS or login
 * trouble -> kept, retried with backoff (1 min doubling to 4 h) until its
 * lifetime (5 days) ends, then failed. In debug mode nothing goes out. */
#include "cli.h"
#include "commands.h"
#include "ui.h"
#include "provision.h"
#include "log.h"
#include "strset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "es_queue.h"
#include "mail/deliver.h"
#include "mail/notices.h"
#include "mail/outbox.h"


/* A credentials mail (or a parent notice) goes only once its account's
 * creation (or reset) is recorded: while the state says "creating", the
 * command that queued it has not finished, or was killed between queueing
 * it and recording it. Killed, it is run again and makes a new password,
 * whose mail replaces this one (dropped before the new one is queued; a
 * parent notice still queued is kept, not doubled). Sent now, this one
 * would reach the user with a password about to stop working, followed by
 * a second mail, and the parent would be told twice. So it waits. */
static bool creating(const struct es_state *st, const struct es_qmsg *m)
{
	const char *delivery;

	if (!(m->secret || strcmp(m->kind, "parent-notice") == 0))
		return false;
	delivery = es_state_get(st, ES_K_DELIVERY);
	/* "slip-pending": made by an import whose slips are not drawn yet;
	 * the parent is told once the pupil's slip exists */
	return delivery != NULL &&
	       (strcmp(delivery, "creating") == 0 || strcmp(delivery, "slip-pending") == 0);
}

/* known: what the accounts already asked said (user -> "1" when its
 * creation is unrecorded), so that a listing reads each account's state
 * once, not once per mail (an import queues two per pupil). */
static bool held_for_its_account(struct cli *ctx, const struct es_qmsg *m, struct strset *known)
{
	struct es_state st;
	struct es_err err = { 0 };
	const char *said;
	bool held = false;

	if (m->user[0] == '\0' || !(m->secret || strcmp(m->kind, "parent-notice") == 0))
		return false;
	said = strset_get(known, m->user);
	if (said != NULL)
		return said[0] == '1';
	es_state_init(&st, "");
	if (load_user_state(ctx, m->user, &st, &err) == 0)
		held = creating(&st, m);
	es_state_free(&st);
	(void)strset_put(known, m->user, held ? "1" : "0"); /* (no memory: asked again) */
	return held;
}

enum step { STEP_SEND, STEP_WAIT, STEP_FAILED };

/* What m's account says just before m goes, from its state read now: it
 * waits while its account's creation is unrecorded (above), or when the
 * state cannot be read (the address may have changed); it fails for good
 * when the account is gone or has no address; otherwise it goes, to the
 * address the account has now when it is written to the account's own
 * (mail_to_account_now: m and *msg re-addressed, and rewritten in the
 * queue, whose lock the run holds). */
static enum step before_sending(struct cli *ctx, struct es_qmsg *m, char **msg, size_t *len)
{
	struct es_state st;
	struct es_err err = { 0 };
	enum mail_fate fate = MAIL_AS_QUEUED;
	enum step step = STEP_WAIT;
	char was[sizeof(m->to)];
	int loaded;

	if (m->user[0] == '\0')
		return STEP_SEND; /* a test mail, the admin's notices */
	es_state_init(&st, "");
	(void)es_strlcpy(was, m->to, sizeof(was));
	loaded = load_user_state(ctx, m->user, &st, &err);
	if (loaded < 0 || (loaded == 0 && creating(&st, m)))
		goto out;
	if (mail_to_account_now(ctx, loaded == 0 ? &st : NULL, m, msg, len, &fate, &err) != 0)
		goto out;
	step = STEP_SEND;
	if (fate == MAIL_READDRESSED)
		ui_info(ctx, "%s: re-addressed from %s to %s, the address of %s now\n", m->id, was,
		        m->to, m->user);
	if (fate != MAIL_NOT_SENT)
		goto out;
	/* not sent, and said: in failed/, with why, until dropped (or
	 * retried once the account has an address) */
	step = STEP_FAILED;
	(void)es_strlcpy(m->last_error, err.msg, sizeof(m->last_error));
	log_msg(LOG_MAIL, LOG_WARNING, "%s to=<%s> kind=%s result=not-sent (%s)", m->id, m->to,
	        m->kind, err.msg);
	ui_warn("%s: %s", m->id, ui_err(&err));
	es_err_clear(&err);
	if (es_queue_fail(ctx->cfg.spool_dir, m, &err) != 0)
		goto out;
out:
	if (err.msg[0] != '\0')
		ui_warn("%s", ui_err(&err));
	es_state_free(&st);
	return step;
}

/* What list and status call a message; "held": waiting for its account's
 * creation to be recorded (an interrupted command, to be run again). */
static const char *state_of(struct cli *ctx, const struct es_qmsg *m, time_t now,
                            struct strset *known)
{
	if (m->failed)
		return "failed";
	if (held_for_its_account(ctx, m, known))
		return "held";
	return m->next_try > (int64_t)now ? "deferred" : "queued";
}

struct run_counts {
	size_t sent, deferred, failed, waiting;
};

/* What queue run says of one message, and counts. */
static void say_outcome(const struct cli *ctx, const struct es_qmsg *m, enum outcome outcome,
                        const struct smtp_result *r, struct run_counts *c)
{
	switch (outcome) {
	case OUTCOME_SENT:
		c->sent++;
		ui_info(ctx, "%s %s %s: %s\n", m->id, m->to, _("sent"), r->reply);
		break;
	case OUTCOME_DEFERRED:
		c->deferred++;
		ui_info(ctx, "%s %s %s (%s)\n", m->id, m->to, _("deferred"), m->last_error);
		break;
	case OUTCOME_FAILED:
		c->failed++;
		ui_warn("%s %s: %s (%s)", m->id, m->to, _("failed for good"), m->last_error);
		break;
	case OUTCOME_HELD:
		c->waiting++;
		break;
	}
}

static int queue_run(struct cli *ctx)
{
	struct es_err err = { 0 };
	struct es_qmsg *list = NULL;
	struct outbox *ob = NULL;
	size_t n = 0, bad = 0;
	struct run_counts c = { 0, 0, 0, 0 };
	size_t owed = 0;
	int rc = -1;

	/* what the workstations owe (the directory store) joins the queue */
	if (collect_owed_notices(ctx, &owed, &err) != 0)
		ui_warn("%s", ui_err(&err));
	else if (owed > 0)
		ui_info(ctx, _("%zu notice(s) from the workstations queued\n"), owed);
	es_err_clear(&err);
	if (ctx->cfg.mode == ES_MODE_DEBUG) {
		ui_info(ctx, "%s\n", _("debug mode: nothing is sent over SMTP"));
		return 0;
	}
	if (outbox_open(ctx, 0, &ob, &err) != 0)
		return ui_fail(&err);
	if (es_queue_list(ctx->cfg.spool_dir, &list, &n, &bad, &err) != 0)
		goto out;
	if (bad > 0)
		ui_warn("%s", ui_err(&err));
	for (size_t i = 0; i < n; i++) {
		struct es_qmsg *m = &list[i];
		struct smtp_result r;
		enum outcome outcome = OUTCOME_HELD;
		char *msg = NULL;
		size_t len = 0;
		enum step step;
		int one;

		if (m->failed)
			continue;
		if (m->next_try > (int64_t)ctx->now || outbox_stopped(ob)) {
			c.waiting++;
			continue;
		}
		/* re-read: the file may have changed or gone since the listing */
		if (outbox_read(ob, m->id, m, &msg, &len, &err) != 0) {
			if (err.code != ES_ENOUSER)
				ui_warn("%s", ui_err(&err)); /* one bad file does not stop the run */
			continue;
		}
		step = before_sending(ctx, m, &msg, &len);
		if (step != STEP_SEND) {
			es_free_wiped(msg, len); /* it may hold a password */
			if (step == STEP_FAILED)
				c.failed++;
			else
				c.waiting++;
			continue;
		}
		one = outbox_send(ob, m, msg, len, &outcome, &r, &err);
		sodium_memzero(msg, len); /* it may hold a password */
		free(msg);
		if (one != 0 && outcome == OUTCOME_HELD)
			goto out; /* the settings are wrong: nothing can go out */
		if (one != 0)
			ui_warn("%s", ui_err(&err));
		say_outcome(ctx, m, outcome, &r, &c);
	}
	if (outbox_over_quota(ob))
		ui_warn("%s", _("the sending quota is reached: the rest waits for the next window "
		                "(eschool queue status)"));
	if (ctx->json)
		printf("{\"sent\":%zu,\"deferred\":%zu,\"failed\":%zu,\"waiting\":%zu}\n", c.sent,
		       c.deferred, c.failed, c.waiting);
	else
		ui_info(ctx, "%zu sent, %zu deferred, %zu failed, %zu waiting\n", c.sent, c.deferred,
		        c.failed, c.waiting);
	rc = c.deferred > 0 ? ES_ETEMP : 0;
out:
	outbox_close(ob);
	free(list);
	return rc < 0 ? ui_fail(&err) : rc;
}

/* One line of queue list (a JSON object with --json). */
static void print_message(const struct cli *ctx, const struct es_qmsg *m, const char *st)
{
	struct es_buf b = { 0 };
	char when[64];

	if (!ctx->json) {
		ui_fmt_time((time_t)m->next_try, false, when, sizeof(when));
		printf("%-28s %-9s %-18s %-30s %3ld %s%s%s\n", m->id, st, m->kind, m->to,
		       m->attempts, m->next_try > 0 ? when : "-", m->last_error[0] ? "  " : "",
		       m->last_error);
		return;
	}
	ui_fmt_time((time_t)m->next_try, true, when, sizeof(when));
	if (es_buf_puts(&b, "{\"id\":") == 0 && es_buf_json_str(&b, m->id) == 0 &&
	    es_buf_puts(&b, ",\"to\":") == 0 && es_buf_json_str(&b, m->to) == 0 &&
	    es_buf_puts(&b, ",\"kind\":") == 0 && es_buf_json_str(&b, m->kind) == 0 &&
	    es_buf_printf(&b, ",\"state\":\"%s\",\"attempts\":%ld,\"next_try\":", st,
	                  m->attempts) == 0 &&
	    (m->next_try > 0 ? es_buf_json_str(&b, when) : es_buf_puts(&b, "null")) == 0 &&
	    es_buf_puts(&b, ",\"last_error\":") == 0 &&
	    (m->last_error[0] ? es_buf_json_str(&b, m->last_error) : es_buf_puts(&b, "null")) == 0 &&
	    es_buf_puts(&b, "}\n") == 0)
		ui_out_write(&b);
	es_buf_free(&b);
}

struct queue_counts {
	size_t queued, deferred, failed, bad, held;
	int64_t next; /* the next deferred try, 0 when none */
};

/* queue status: the counts and the quotas' use. */
static void print_status(const struct cli *ctx, const struct queue_counts *c)
{
	struct es_err err = { 0 };
	struct quota q;
	char dq[24] = "null", mq[24] = "null", when[64];

	if (quota_read(ctx, &q, &err) != 0) {
		ui_warn("%s", ui_err(&err));
		memset(&q, 0, sizeof(q));
	}
	if (ctx->cfg.daily_quota > 0)
		(void)snprintf(dq, sizeof(dq), "%ld", ctx->cfg.daily_quota);
	if (ctx->cfg.monthly_quota > 0)
		(void)snprintf(mq, sizeof(mq), "%ld", ctx->cfg.monthly_quota);
	ui_fmt_time((time_t)c->next, ctx->json, when, sizeof(when));
	if (ctx->json) {
		printf("{\"queued\":%zu,\"deferred\":%zu,\"failed\":%zu,\"corrupt\":%zu,"
		       "\"next_try\":%s%s%s,\"sent_today\":%ld,\"daily_quota\":%s,"
		       "\"sent_this_month\":%ld,\"monthly_quota\":%s,\"held\":%zu}\n",
		       c->queued, c->deferred, c->failed, c->bad, c->next ? "\"" : "",
		       c->next ? when : "null", c->next ? "\"" : "", q.day_sent, dq, q.month_sent, mq,
		       c->held);
		return;
	}
	printf(_("%zu queued, %zu deferred (next try %s), %zu failed%s\n"), c->queued,
	       c->deferred, c->next ? when : "-", c->failed,
	       c->bad ? _(", some files unreadable") : "");
	if (c->held > 0)
		printf(_("%zu held: their accounts' creation was interrupted; run the "
		         "same import (or add, reset) again\n"),
		       c->held);
	printf(_("sent today: %ld (quota %s), this month: %ld (quota %s)\n"), q.day_sent,
	       ctx->cfg.daily_quota > 0 ? dq : _("none"), q.month_sent,
	       ctx->cfg.monthly_quota > 0 ? mq : _("none"));
}

/* What queue status counts, message by message (es_queue_scan: the
 * queue is never held whole). */
struct status_scan {
	struct cli *ctx;
	struct queue_counts c;
	struct strset known; /* held_for_its_account's */
};

static void count_message(struct queue_counts *c, const struct es_qmsg *m, const char *st)
{
	c->queued += strcmp(st, "queued") == 0;
	c->failed += strcmp(st, "failed") == 0;
	c->held += strcmp(st, "held") == 0;
	if (strcmp(st, "deferred") == 0) {
		c->deferred++;
		if (c->next == 0 || m->next_try < c->next)
			c->next = m->next_try;
	}
}

static int status_visit(const struct es_qmsg *m, void *arg)
{
	struct status_scan *s = arg;

	count_message(&s->c, m, state_of(s->ctx, m, s->ctx->now, &s->known));
	return 0;
}

static int queue_show(struct cli *ctx, bool status)
{
	struct es_err err = { 0 };
	struct status_scan scan = { .ctx = ctx };
	struct es_qmsg *list = NULL;
	size_t n = 0, bad = 0;
	int rc = status ? es_queue_scan(ctx->cfg.spool_dir, status_visit, &scan, &bad, &err)
	                : es_queue_list(ctx->cfg.spool_dir, &list, &n, &bad, &err);

	if (rc != 0) {
		strset_free(&scan.known);
		return ui_fail(&err);
	}
	if (bad > 0)
		ui_warn("%s", ui_err(&err));
	for (size_t i = 0; i < n; i++) {
		const char *st = state_of(ctx, &list[i], ctx->now, &scan.known);

		count_message(&scan.c, &list[i], st);
		print_message(ctx, &list[i], st);
	}
	if (status) {
		scan.c.bad = bad;
		print_status(ctx, &scan.c);
	}
	strset_free(&scan.known);
	free(list);
	return 0;
}

/* Where the next run sends m (into m->to): its account's address now when
 * it is written to the account's own (the run re-addresses it then, under
 * the queue's lock); 0, or the exit code when it would not be sent at all. */
static int retry_recipient(struct cli *ctx, struct es_qmsg *m)
{
	struct es_state st;
	struct es_err err = { 0 };
	enum mail_fate fate = MAIL_AS_QUEUED;
	int loaded, rc = 0;

	if (m->user[0] == '\0')
		return 0;
	es_state_init(&st, "");
	loaded = load_user_state(ctx, m->user, &st, &err);
	if (loaded < 0 ||
	    mail_to_account_now(ctx, loaded == 0 ? &st : NULL, m, NULL, NULL, &fate, &err) != 0) {
		rc = ui_fail(&err);
	} else if (fate == MAIL_NOT_SENT) {
		/* revived, it would only fail again: it stays as it is */
		ui_warn("%s: %s", m->id, ui_err(&err));
		ui_warn("'eschool queue drop %s' removes it", m->id);
		rc = err.code;
	}
	es_state_free(&st);
	return rc;
}

/* queue retry ID: a failed message comes back, a deferred one is due now;
 * the next run sends it (to its account's address then). */
static int queue_retry(struct cli *ctx, const char *id)
{
	struct es_err err = { 0 };
	struct es_qmsg m, now;
	int rc;

	if (es_queue_read(ctx->cfg.spool_dir, id, false, &m, NULL, NULL, &err) != 0) {
		if (err.code != ES_ENOUSER ||
		    es_queue_read(ctx->cfg.spool_dir, id, true, &m, NULL, NULL, &err) != 0)
			return ui_fail(&err);
	}
	now = m; /* m->to re-addressed in now, not in the queue: the run does it */
	rc = retry_recipient(ctx, &now);
	if (rc != 0)
		return rc;
	if (m.failed) {
		if (es_queue_revive(ctx->cfg.spool_dir, id, &err) != 0)
			return ui_fail(&err);
	} else {
		m.next_try = 0;
		if (es_queue_update(ctx->cfg.spool_dir, &m, &err) != 0)
			return ui_fail(&err);
	}
	if (strcmp(now.to, m.to) != 0)
		ui_info(ctx,
		        "%s will be sent to %s, the address of %s now (it was queued for %s), by the "
		        "next 'queue run'\n",
		        id, now.to, m.user, m.to);
	else
		ui_info(ctx, "%s %s\n", id, _("will be sent by the next 'queue run'"));
	return 0;
}

int cmd_queue(struct cli *ctx, const struct args *a)
{
	struct es_err err = { 0 };
	const char *sub = a->positional[0];

	if ((strcmp(sub, "retry") == 0 || strcmp(sub, "drop") == 0) ? a->n_positional != 2
	                                                            : a->n_positional != 1) {
		ui_warn("%s", _(a->cmd->usage));
		return ES_EUSAGE;
	}
	if (strcmp(sub, "run") != 0 && strcmp(sub, "status") != 0 && strcmp(sub, "list") != 0 &&
	    strcmp(sub, "retry") != 0 && strcmp(sub, "drop") != 0) {
		ui_warn("unknown queue command '%s'\n%s", sub, _(a->cmd->usage));
		return ES_EUSAGE;
	}
	if (strcmp(sub, "run") == 0)
		return queue_run(ctx);
	if (strcmp(sub, "status") == 0 || strcmp(sub, "list") == 0)
		return queue_show(ctx, strcmp(sub, "status") == 0);
	if (strcmp(sub, "retry") == 0)
		return queue_retry(ctx, a->positional[1]);
	/* drop */
	if (es_queue_remove(ctx->cfg.spool_dir, a->positional[1], false, &err) != 0) {
		if (err.code != ES_ENOUSER ||
		    es_queue_remove(ctx->cfg.spool_dir, a->positional[1], true, &err) != 0)
			return ui_fail(&err);
	}
	ui_info(ctx, "%s %s\n", a->positional[1], _("dropped"));
	return 0;
}
