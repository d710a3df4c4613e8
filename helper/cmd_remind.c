/* eschool remind [--dry-run] [--json]: the daily job (SPEC sections 5, 6).
 *
 * For every managed user, under the user's lock:
 *  - a `first-change-reminder` when the temporary password is still unchanged
 *    remind_unchanged_after_days after it was set (and still works);
 *  - an `expiry-warning` at each warn_schedule step (days before the
 *    password reaches the role's max_age_days).
 * Each occasion is recorded in the state's `reminders` key before the run
 * ends, so it is mailed once; a run missed for days sends one mail for
 * every step that came due meanwhile (the nearest), not one per step.
 * Disabled and exempt users get nothing, nor orphan states (the account is
 * gone). A user whose lock another process holds for long (a stopped
 * login) is left for the next run: said on stderr and in the log, exit 75
 * once the others are done. The mails are queued: `queue run` (the
 * eschool-queue units) delivers them. */
#include "cli.h"
#include "commands.h"
#include "ui.h"
#include "provision.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "es_compose.h"
#include "es_queue.h"
#include "mail/compose.h"


struct remind_run {
	struct cli *ctx;
	bool dry_run;
	size_t checked, first, warnings, skipped, bad, busy, orphans;
	int rc;
};

static void days_text(const char *lang, long days, char *out, size_t outsz)
{
	bool fr = strcmp(lang, "fr") == 0;

	(void)snprintf(out, outsz, "%ld %s", days,
	               fr ? (days > 1 ? "jours" : "jour") : (days > 1 ? "days" : "day"));
}

/* Composes and queues the mail for d. */
static int queue_reminder(struct cli *ctx, const struct es_state *st, const struct es_due *d,
                          struct es_qmsg *m, struct es_err *err)
{
	const char *lang = es_state_get(st, ES_K_LANG);
	const char *name = es_state_get(st, ES_K_NAME);
	const char *email = es_state_get(st, ES_K_EMAIL);
	char days[32];
	struct es_buf msg = { 0 };
	int rc;

	if (lang == NULL || lang[0] == '\0')
		lang = ctx->cfg.language;
	days_text(lang, d->days_left, days, sizeof(days));
	{
		const struct es_tvar vars[] = {
			{ "name", name != NULL && name[0] != '\0' ? name : st->username },
			{ "username", st->username },
			{ "class", es_state_get(st, ES_K_CLASS) },
			{ "days", days },
		};
		/* a temporary password without an end date (0): unset, the
		 * sentence goes */
		const struct es_tdate dates[] = { { .name = "expires", .t = (time_t)d->expires } };

		if (compose_for(ctx, d->kind, lang, email, name, vars, ES_ARRAY_LEN(vars), dates,
		                ES_ARRAY_LEN(dates), &msg, NULL, err) != 0)
			return -1;
	}
	memset(m, 0, sizeof(*m));
	(void)es_strlcpy(m->to, email, sizeof(m->to));
	(void)es_strlcpy(m->kind, d->kind, sizeof(m->kind));
	(void)es_strlcpy(m->user, st->username, sizeof(m->user));
	m->priority = ES_QPRIO_REMINDER;
	rc = es_queue_add(ctx->cfg.spool_dir, m, msg.data, msg.len, ctx->now, err);
	es_buf_free(&msg);
	return rc;
}

static void report(const struct remind_run *run, const char *user, const char *to,
                   const struct es_due *d, const char *id)
{
	struct cli *ctx = run->ctx;

	if (ctx->json) {
		struct es_buf b = { 0 };
		char iso[32];

		ui_fmt_time((time_t)d->expires, true, iso, sizeof(iso));

		/* usernames, kinds, occasions and ids are plain ASCII by construction */
		if (es_buf_printf(&b, "{\"username\":\"%s\",\"kind\":\"%s\",\"to\":", user,
		                  d->kind) == 0 &&
		    es_buf_json_str(&b, to) == 0 &&
		    es_buf_printf(&b, ",\"days_left\":%ld,\"expires\":", d->days_left) == 0 &&
		    (d->expires > 0 ? es_buf_printf(&b, "\"%s\"", iso) : es_buf_puts(&b, "null")) == 0 &&
		    es_buf_printf(&b, ",\"occasion\":\"%s\",\"id\":", d->occasions[d->n - 1]) == 0 &&
		    (id != NULL ? es_buf_printf(&b, "\"%s\"}\n", id) : es_buf_puts(&b, "null}\n")) == 0)
			(void)fwrite(b.data, 1, b.len, stdout);
		es_buf_free(&b);
		return;
	}
	ui_info(ctx, "%-20s %-22s %s (%s %ld)\n", user, d->kind, to,
	        _("days left:"), d->days_left);
}

static int remind_one(const char *user, void *arg)
{
	struct remind_run *run = arg;
	struct cli *ctx = run->ctx;
	struct es_state st;
	struct es_policy pol;
	struct es_err err = { 0 };
	struct es_qmsg m;
	struct es_due d;
	const char *email;
	struct es_record rec = { .token = -1 };
	int rc;

	es_state_init(&st, "");
	run->checked++;
	/* read under the lock: another run (or a login) may have written it */
	rc = es_record_open(&ctx->store, user, run->dry_run ? ES_RECORD_READ : ES_RECORD_WRITE,
	                    &st, &rec, &err);
	if (rc > 0)
		goto out; /* forgotten since the listing */
	if (rc < 0) {
		if (!rec.lock_failed || err.code != ES_ETEMP)
			goto bad;
		/* held for long (a stopped login?): this user waits for the
		 * next run, the others are not held up */
		ui_warn("%s; %s", ui_err(&err),
		        _("skipped: the next run reminds this user"));
		log_msg(LOG_MAIL, LOG_WARNING, "remind: %s skipped: %s", user, err.msg);
		run->busy++;
		goto out;
	}
	/* a removed account's state: nobody to remind (and its name may be
	 * someone else's now) */
	if (state_orphan(&st, NULL, 0) != ES_OWNER_OK) {
		run->orphans++;
		goto out;
	}
	if (es_account_policy(&ctx->cfg, &st, &pol, &err) != 0)
		goto bad;
	if (es_state_get_bool(&st, ES_K_DISABLED) || es_policy_exempt(&pol, user)) {
		run->skipped++;
		goto out;
	}
	es_account_due(&pol, &st, ctx->now, &d);
	email = es_state_get(&st, ES_K_EMAIL);
	if (d.kind == NULL || email == NULL || email[0] == '\0')
		goto out;
	if (run->dry_run) {
		report(run, user, email, &d, NULL);
	} else {
		/* queued first, then recorded: a crash in between can send it
		 * twice, never lose it */
		if (queue_reminder(ctx, &st, &d, &m, &err) != 0 || es_account_record_due(&st, &d) != 0 ||
		    es_record_save(&rec, &err) != 0) {
			if (err.msg[0] == '\0')
				es_err_set(&err, ES_EIO, "%s: cannot record the reminder", user);
			goto bad;
		}
		log_msg(LOG_MAIL, LOG_INFO, "remind: %s queued for %s as %s", d.kind, user, m.id);
		report(run, user, email, &d, m.id);
	}
	if (strcmp(d.kind, "expiry-warning") == 0)
		run->warnings++;
	else
		run->first++;
	goto out;
bad:
	/* one bad file does not stop the others */
	ui_warn("%s", ui_err(&err));
	run->bad++;
	run->rc = err.code == ES_EDATA ? ES_EDATA : ES_EIO;
out:
	es_record_close(&rec);
	es_state_free(&st);
	return 0;
}

int cmd_remind(struct cli *ctx, const struct args *a)
{
	bool dry_run = arg_flag(a, "dry-run");
	struct es_err err = { 0 };
	struct remind_run run = { 0 };

	run.ctx = ctx;
	run.dry_run = dry_run;
	if (!dry_run)
		es_store_tidy(&ctx->store); /* the daily run cleans up */
	if (es_store_foreach(&ctx->store, remind_one, &run, &err) != 0)
		return ui_fail(&err);
	if (!dry_run)
		log_msg(LOG_MAIL, run.busy > 0 ? LOG_WARNING : LOG_INFO,
		       "remind: %zu users checked, %zu first-change reminders, %zu expiry "
		       "warnings queued, %zu skipped (disabled or exempt), %zu orphan states "
		       "(no Linux account), %zu locked (left for the next run), %zu unreadable",
		       run.checked, run.first, run.warnings, run.skipped, run.orphans, run.busy,
		       run.bad);
	if (!ctx->json) {
		ui_info(ctx,
		        "%zu users checked: %zu first-change reminders, %zu expiry warnings %s; "
		        "%zu skipped (disabled or exempt)",
		        run.checked, run.first, run.warnings,
		        dry_run ? _("due") : _("queued"),
		        run.skipped);
		if (run.orphans > 0)
			ui_info(ctx, "; %zu orphan state(s) without their Linux account",
			        run.orphans);
		if (run.busy > 0)
			ui_info(ctx, "; %zu locked by another process, left for the next run",
			        run.busy);
		ui_info(ctx, "\n");
	}
	/* a user left for later is a temporary failure (75); an unreadable
	 * state file (65, 74) says more and wins */
	if (run.rc == 0 && run.busy > 0)
		return ES_ETEMP;
	return run.rc;
}
