/* eschool queue run|status|list|retry ID|drop ID: deliver and inspect the
 * mail queue (lib/es_queue). `run` holds the runner lock, opens one SMTP
 * connection (one login) for the whole run, and for each message due:
 * 250 -> removed; 5xx -> failed/ for good; 4xx, network, TLS or login
 * trouble -> kept, retried with backoff (1 min doubling to 4 h) until its
 * lifetime (5 days) ends, then failed. In debug mode nothing goes out. */
#include "eschool.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "es_queue.h"
#include "smtp.h"

#define BACKOFF_FIRST ((int64_t)60)
#define BACKOFF_MAX ((int64_t)4 * 3600)
#define LIFETIME ((int64_t)5 * 86400)

static const char queue_usage[] =
	"usage: eschool queue run|status|list [--json]\n"
	"       eschool queue retry ID | drop ID\n";

static int64_t backoff(long attempts)
{
	int64_t delay = BACKOFF_FIRST;

	for (long i = 1; i < attempts && delay < BACKOFF_MAX; i++)
		delay *= 2;
	return delay < BACKOFF_MAX ? delay : BACKOFF_MAX;
}

static const char *state_of(const struct es_qmsg *m, time_t now)
{
	if (m->failed)
		return "failed";
	return m->next_try > (int64_t)now ? "deferred" : "queued";
}

static int deliver_one(struct es_ctx *ctx, struct es_smtp *smtp, struct es_qmsg *m,
                       size_t *sent, size_t *deferred, size_t *failed, bool *stop,
                       struct es_err *err)
{
	const char *spool = ctx->cfg.spool_dir;
	struct es_smtp_result r;
	char *msg = NULL;
	size_t len = 0;
	int rc;

	if (es_queue_read(spool, m->id, false, m, &msg, &len, err) != 0)
		return -1;
	es_smtp_send(smtp, m->to, msg, len, &r);
	sodium_memzero(msg, len); /* it may hold a password */
	free(msg);
	if (r.accepted) {
		rc = es_queue_remove(spool, m->id, false, err);
		if (rc == 0) {
			(*sent)++;
			es_info(ctx, "%s %s %s: %s\n", m->id, m->to, tr(ctx, "sent", "envoyé"), r.reply);
		}
		return rc;
	}
	/* the server is unreachable or refuses us: the other messages would
	 * fail the same way, each after a timeout; they wait for the next run */
	*stop = strcmp(r.failed_step, "connect") == 0 || strcmp(r.failed_step, "tls") == 0 ||
	        strcmp(r.failed_step, "login") == 0;
	m->attempts++;
	{
		char why[1024];
		size_t wl;
		(void)snprintf(why, sizeof(why), "%s: %s%s%s", r.failed_step, r.detail,
		               r.reply[0] ? " — " : "", r.reply);
		wl = strlen(why) < sizeof(m->last_error) ? strlen(why) : sizeof(m->last_error) - 1;
		memcpy(m->last_error, why, wl); /* truncated: it is for people */
		m->last_error[wl] = '\0';
	}
	if (r.permanent || (int64_t)ctx->now - m->created >= LIFETIME) {
		rc = es_queue_fail(spool, m, err);
		if (rc == 0) {
			(*failed)++;
			es_warn("%s %s: %s (%s)", m->id, m->to, tr(ctx, "failed for good", "échec définitif"),
			        m->last_error);
		}
		return rc;
	}
	m->next_try = (int64_t)ctx->now + backoff(m->attempts);
	rc = es_queue_update(spool, m, err);
	if (rc == 0) {
		(*deferred)++;
		es_info(ctx, "%s %s %s (%s)\n", m->id, m->to, tr(ctx, "deferred", "différé"),
		        m->last_error);
	}
	return rc;
}

static int queue_run(struct es_ctx *ctx)
{
	struct es_err err = { 0 };
	struct es_qmsg *list = NULL;
	struct es_smtp *smtp = NULL;
	size_t n = 0, bad = 0, sent = 0, deferred = 0, failed = 0, waiting = 0;
	int lockfd = -1, rc = -1;
	bool stop = false;

	if (ctx->cfg.mode == ES_MODE_DEBUG) {
		es_info(ctx, "%s\n", tr(ctx, "debug mode: nothing is sent over SMTP",
		                        "mode debug : rien n'est envoyé par SMTP"));
		return 0;
	}
	if (es_queue_lock(ctx->cfg.spool_dir, false, &lockfd, &err) != 0)
		return es_fail(&err);
	if (es_queue_list(ctx->cfg.spool_dir, &list, &n, &bad, &err) != 0)
		goto out;
	if (bad > 0)
		es_warn("%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		if (list[i].failed)
			continue;
		if (list[i].next_try > (int64_t)ctx->now) {
			waiting++;
			continue;
		}
		if (smtp == NULL && es_smtp_open(&smtp, &ctx->cfg, &err) != 0)
			goto out;
		if (deliver_one(ctx, smtp, &list[i], &sent, &deferred, &failed, &stop, &err) != 0)
			es_warn("%s", err.msg); /* one bad file does not stop the run */
		if (stop) {
			waiting += n - i - 1; /* approximately: failed ones included */
			break;
		}
	}
	if (ctx->json)
		printf("{\"sent\":%zu,\"deferred\":%zu,\"failed\":%zu,\"waiting\":%zu}\n", sent,
		       deferred, failed, waiting);
	else
		es_info(ctx, tr(ctx, "%zu sent, %zu deferred, %zu failed, %zu waiting\n",
		                "%zu envoyés, %zu différés, %zu en échec, %zu en attente\n"),
		        sent, deferred, failed, waiting);
	rc = deferred > 0 ? ES_ETEMP : 0;
out:
	es_smtp_close(smtp);
	free(list);
	es_state_unlock(lockfd); /* closes: releases the flock */
	return rc < 0 ? es_fail(&err) : rc;
}

static int queue_show(struct es_ctx *ctx, bool status)
{
	struct es_err err = { 0 };
	struct es_qmsg *list = NULL;
	size_t n = 0, bad = 0, queued = 0, deferred = 0, failed = 0;
	int64_t next = 0;
	char when[64];

	if (es_queue_list(ctx->cfg.spool_dir, &list, &n, &bad, &err) != 0)
		return es_fail(&err);
	if (bad > 0)
		es_warn("%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		const char *st = state_of(&list[i], ctx->now);
		struct es_buf b = { 0 };

		queued += strcmp(st, "queued") == 0;
		failed += strcmp(st, "failed") == 0;
		if (strcmp(st, "deferred") == 0) {
			deferred++;
			if (next == 0 || list[i].next_try < next)
				next = list[i].next_try;
		}
		if (status)
			continue;
		if (ctx->json) {
			es_fmt_time((time_t)list[i].next_try, true, when, sizeof(when));
			if (es_buf_puts(&b, "{\"id\":") == 0 && es_buf_json_str(&b, list[i].id) == 0 &&
			    es_buf_puts(&b, ",\"to\":") == 0 && es_buf_json_str(&b, list[i].to) == 0 &&
			    es_buf_puts(&b, ",\"kind\":") == 0 && es_buf_json_str(&b, list[i].kind) == 0 &&
			    es_buf_printf(&b, ",\"state\":\"%s\",\"attempts\":%ld,\"next_try\":", st,
			                  list[i].attempts) == 0 &&
			    (list[i].next_try > 0 ? es_buf_json_str(&b, when) : es_buf_puts(&b, "null")) ==
			            0 &&
			    es_buf_puts(&b, ",\"last_error\":") == 0 &&
			    (list[i].last_error[0] ? es_buf_json_str(&b, list[i].last_error)
			                           : es_buf_puts(&b, "null")) == 0 &&
			    es_buf_puts(&b, "}\n") == 0)
				es_out_write(&b);
			es_buf_free(&b);
		} else {
			es_fmt_time((time_t)list[i].next_try, false, when, sizeof(when));
			printf("%-28s %-9s %-18s %-30s %3ld %s%s%s\n", list[i].id, st, list[i].kind,
			       list[i].to, list[i].attempts, list[i].next_try > 0 ? when : "-",
			       list[i].last_error[0] ? "  " : "", list[i].last_error);
		}
	}
	if (status) {
		es_fmt_time((time_t)next, ctx->json, when, sizeof(when));
		if (ctx->json)
			printf("{\"queued\":%zu,\"deferred\":%zu,\"failed\":%zu,\"corrupt\":%zu,"
			       "\"next_try\":%s%s%s}\n",
			       queued, deferred, failed, bad, next ? "\"" : "", next ? when : "null",
			       next ? "\"" : "");
		else
			printf(tr(ctx, "%zu queued, %zu deferred (next try %s), %zu failed%s\n",
			          "%zu en file, %zu différés (prochain essai %s), %zu en échec%s\n"),
			       queued, deferred, next ? when : "-", failed,
			       bad ? tr(ctx, ", some files unreadable", ", des fichiers illisibles") : "");
	}
	free(list);
	return 0;
}

int cmd_queue(struct es_ctx *ctx, int argc, char **argv)
{
	const struct es_opt opts[] = { { NULL, NULL, NULL } };
	struct es_args args;
	struct es_err err = { 0 };
	const char *sub;
	bool done;
	int rc;

	rc = es_parse_args(ctx, argc, argv, opts, queue_usage, &args, &done);
	if (rc != 0 || done)
		return rc;
	if (args.n_positional < 1) {
		es_warn("%s", queue_usage);
		return ES_EUSAGE;
	}
	sub = args.positional[0];
	if ((strcmp(sub, "retry") == 0 || strcmp(sub, "drop") == 0) ? args.n_positional != 2
	                                                            : args.n_positional != 1) {
		es_warn("%s", queue_usage);
		return ES_EUSAGE;
	}
	if (strcmp(sub, "run") != 0 && strcmp(sub, "status") != 0 && strcmp(sub, "list") != 0 &&
	    strcmp(sub, "retry") != 0 && strcmp(sub, "drop") != 0) {
		es_warn("unknown queue command '%s'\n%s", sub, queue_usage);
		return ES_EUSAGE;
	}
	rc = es_prepare(ctx, false);
	if (rc != 0)
		return rc;
	if (strcmp(sub, "run") == 0)
		return queue_run(ctx);
	if (strcmp(sub, "status") == 0 || strcmp(sub, "list") == 0)
		return queue_show(ctx, strcmp(sub, "status") == 0);
	if (strcmp(sub, "retry") == 0) {
		struct es_qmsg m;
		/* a failed message comes back; a deferred one is due now */
		if (es_queue_revive(ctx->cfg.spool_dir, args.positional[1], &err) != 0) {
			if (err.code != ES_ENOUSER ||
			    es_queue_read(ctx->cfg.spool_dir, args.positional[1], false, &m, NULL, NULL,
			                  &err) != 0)
				return es_fail(&err);
			m.next_try = 0;
			if (es_queue_update(ctx->cfg.spool_dir, &m, &err) != 0)
				return es_fail(&err);
		}
		es_info(ctx, "%s %s\n", args.positional[1],
		        tr(ctx, "will be sent by the next 'queue run'",
		           "sera envoyé au prochain 'queue run'"));
		return 0;
	}
	/* drop */
	if (es_queue_remove(ctx->cfg.spool_dir, args.positional[1], false, &err) != 0) {
		if (err.code != ES_ENOUSER ||
		    es_queue_remove(ctx->cfg.spool_dir, args.positional[1], true, &err) != 0)
			return es_fail(&err);
	}
	es_info(ctx, "%s %s\n", args.positional[1], tr(ctx, "dropped", "supprimé"));
	return 0;
}
