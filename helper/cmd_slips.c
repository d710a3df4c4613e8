/* eschool slips: printable credential slips for accounts that exist.
 *
 * eschool keeps no password, only hashes: a slip can only carry a password
 * made for it. So slips makes new temporary passwords (--reset, which
 * must be said), draws them, and only then sets them: a PDF that cannot
 * be written changes nothing. An account whose password then cannot be
 * set keeps its old one, and its slip is named void. */
#include "accounts.h"
#include "cli.h"
#include "commands.h"
#include "log.h"
#include "provision.h"
#include "slips.h"
#include "ui.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "es_account.h"
#include "es_names.h"
#include "mail/deliver.h"

struct pick {
	char user[ES_NAME_MAX + 1];
	struct es_policy pol;
	char *name, *klass, *lang;
	struct cred cred;
	time_t expires;
	bool voided;
};

struct slips_run {
	struct cli *ctx;
	const char *const *classes;
	int n_classes;
	time_t since; /* --since: made that day or later (0: not given) */
	struct pick *picks;
	size_t n, cap;
	struct es_err *err;
};

static void pick_free(struct pick *p)
{
	free(p->name);
	free(p->klass);
	free(p->lang);
	cred_wipe(&p->cred);
}

/* Adds user when it may get a new password (see reset_check). */
static int add_pick(struct slips_run *run, const char *user)
{
	struct es_state st;
	struct pick *p;
	int rc = -1;

	for (size_t i = 0; i < run->n; i++)
		if (strcmp(run->picks[i].user, user) == 0)
			return 0; /* named twice, or by name and by class */
	if (run->n == run->cap) {
		size_t ncap = run->cap ? run->cap * 2 : 32;
		struct pick *v = realloc(run->picks, ncap * sizeof(*v));

		if (v == NULL)
			return es_err_set(run->err, ES_EOS, "out of memory");
		run->picks = v;
		run->cap = ncap;
	}
	p = &run->picks[run->n];
	memset(p, 0, sizeof(*p));
	es_state_init(&st, "");
	if (reset_check(run->ctx, user, &st, &p->pol, run->err) != 0)
		goto out;
	(void)es_strlcpy(p->user, user, sizeof(p->user));
	p->name = es_strdup(es_state_get(&st, ES_K_NAME) ? es_state_get(&st, ES_K_NAME) : user);
	p->klass = es_state_get(&st, ES_K_CLASS) ? es_strdup(es_state_get(&st, ES_K_CLASS)) : NULL;
	p->lang = es_strdup(es_state_get(&st, ES_K_LANG) ? es_state_get(&st, ES_K_LANG)
	                                                 : run->ctx->cfg.language);
	if (p->name == NULL || p->lang == NULL ||
	    (es_state_get(&st, ES_K_CLASS) != NULL && p->klass == NULL)) {
		pick_free(p);
		es_err_set(run->err, ES_EOS, "out of memory");
		goto out;
	}
	run->n++;
	rc = 0;
out:
	es_state_free(&st);
	return rc;
}

/* The new password of one account, set as reset sets it (the state
 * first, "creating", then the password, then "slip"); the old state goes
 * back when the password cannot be set. 0: done; -1: the password was not
 * changed (the slip is void); 1: changed, but "slip" could not be
 * recorded (the slip is good; err says what). */
static int reset_one(struct cli *ctx, struct pick *p, struct es_err *err)
{
	struct es_state st;
	struct es_record rec = { .token = -1 };
	struct es_aging aging;
	char *old = NULL;
	size_t oldlen = 0;
	int rc = -1;

	es_state_init(&st, "");
	if (es_record_open(&ctx->store, p->user, ES_RECORD_WRITE, &st, &rec, err) != 0)
		goto out;
	if (es_state_format(&st, &old, &oldlen, err) != 0)
		goto out;
	if (es_account_new_password(&st, &p->pol, ctx->now) != 0) {
		es_err_set(err, ES_EOS, "out of memory");
		goto out;
	}
	if (es_record_save(&rec, err) != 0)
		goto out;
	es_account_aging(&p->pol, es_state_get_bool(&st, ES_K_MUST_CHANGE),
	                 es_policy_exempt(&p->pol, p->user), ctx->now, &aging);
	if (account_source_for(&p->pol)->set_password(p->user, p->cred.hash, &aging, err) != 0) {
		reset_put_back(&rec, old, oldlen);
		goto out;
	}
	if (es_state_set(&st, ES_K_DELIVERY, "slip") != 0 ||
	    es_account_aging_written(&st, &aging) != 0 || es_record_save(&rec, err) != 0) {
		if (err->code == 0)
			es_err_set(err, ES_EOS, "out of memory");
		es_err_prefix(err, "the password was set but its delivery could not be recorded");
		rc = 1;
		goto out;
	}
	if (ctx->cfg.mode == ES_MODE_PRODUCTION) {
		struct es_err qerr = { 0 };

		/* a queued mail with the password this one replaces must not go */
		if (drop_stale_credentials(ctx, p->user, &qerr) != 0)
			ui_warn("%s", ui_err(&qerr));
	}
	log_msg(LOG_AUTHPRIV, LOG_NOTICE, "new temporary password: user=%s role=%s delivery=slip",
	        p->user, es_state_get(&st, ES_K_ROLE) ? es_state_get(&st, ES_K_ROLE) : "-");
	rc = 0;
out:
	if (old != NULL) {
		sodium_memzero(old, oldlen);
		free(old);
	}
	es_record_close(&rec);
	es_state_free(&st);
	return rc;
}

/* "2026-09-01": that day's start, local time (when accounts made that
 * day were made). */
static int parse_day(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	const char *end = strptime(s, "%Y-%m-%d", &tm);
	int year = tm.tm_year, mon = tm.tm_mon, day = tm.tm_mday;

	if (end == NULL || *end != '\0')
		return -1;
	tm.tm_isdst = -1;
	*out = mktime(&tm);
	/* mktime normalises 2026-02-30 to March: a day that does not exist */
	if (*out == (time_t)-1 || tm.tm_year != year || tm.tm_mon != mon || tm.tm_mday != day)
		return -1;
	if (*out <= 0)
		*out = 1;
	return 0;
}

/* What the slips are made of: the accounts named and those of --class,
 * a new password each. */
static int gather(struct slips_run *run, const struct args *a)
{
	for (int i = 0; i < a->n_positional; i++) {
		if (!es_valid_username(a->positional[i]))
			return es_err_set(run->err, ES_EDATA, "invalid username '%s'",
			                  a->positional[i]);
		if (add_pick(run, a->positional[i]) != 0)
			return -1;
	}
	if (run->n_classes > 0 || run->since > 0) {
		char **users;
		size_t n_users;
		int rc = 0;

		if (pick_accounts(run->ctx, run->classes, run->n_classes, run->since, false, &users,
		                  &n_users, run->err) != 0)
			return -1;
		for (size_t i = 0; i < n_users && rc == 0; i++)
			rc = add_pick(run, users[i]);
		users_free(users, n_users);
		if (rc != 0)
			return -1;
	}
	for (size_t i = 0; i < run->n; i++) {
		struct pick *p = &run->picks[i];

		if (cred_make(&p->pol, &p->cred, run->err) != 0)
			return -1;
		/* what es_account_new_password will record, the same clock */
		p->expires = (time_t)es_account_initial_expires(&p->pol, run->ctx->now);
	}
	return 0;
}

int cmd_slips(struct cli *ctx, const struct args *a)
{
	struct es_err err = { 0 };
	struct slips_run run = { .ctx = ctx, .err = &err };
	struct slip_set set = { 0 };
	const char *path = arg_value(a, "output");
	char partial[ES_PATH_LEN];
	size_t n_void = 0;
	intptr_t all = -1;
	int rc = -1;

	run.n_classes = arg_values(a, "class", &run.classes);
	if (arg_value(a, "since") != NULL && parse_day(arg_value(a, "since"), &run.since) != 0)
		return arg_usage_error(a, _("--since takes a day: YYYY-MM-DD"));
	if (a->n_positional == 0 && run.n_classes == 0 && run.since == 0)
		return arg_usage_error(a, _("say whose slips: USER..., --class CLASS or --since DAY"));
	if (!arg_flag(a, "reset")) {
		ui_warn("eschool keeps no passwords, only what it needs to check them: a slip "
		        "can only carry a new temporary password. Add --reset to give these "
		        "accounts new passwords (their current ones stop working) and print them");
		return ES_EUSAGE;
	}
	/* drawn as PATH.partial, named PATH once every password is set: a
	 * run killed in between leaves no PDF that looks good and is not */
	if (snprintf(partial, sizeof(partial), "%s.partial", path) >= (int)sizeof(partial)) {
		es_err_set(&err, ES_EUSAGE, "%s: the name is too long", path);
		goto out;
	}
	if (slip_path_check(path, &err) != 0 || slip_path_check(partial, &err) != 0)
		goto out;
	if (es_store_lock_all(&ctx->store, &all, &err) != 0)
		goto out;
	if (gather(&run, a) != 0)
		goto out;
	for (size_t i = 0; i < run.n; i++) {
		const struct pick *p = &run.picks[i];

		if (slip_set_add(&set, &(struct slip){ .display_name = p->name,
		                                       .klass = p->klass,
		                                       .username = p->user,
		                                       .password = p->cred.password,
		                                       .lang = p->lang,
		                                       .expires = p->expires }) != 0) {
			es_err_set(&err, ES_EOS, "out of memory");
			goto out;
		}
	}
	/* drawn first: a PDF that cannot be written changes no password */
	if (slip_set_write(ctx, &set, partial, &err) != 0)
		goto out;
	for (size_t i = 0; i < run.n; i++) {
		struct es_err e = { 0 };
		int r = reset_one(ctx, &run.picks[i], &e);

		if (r < 0) {
			run.picks[i].voided = true;
			n_void++;
			ui_warn("the slip of %s is void (its password was not changed): %s",
			        run.picks[i].user, ui_err(&e));
		} else if (r > 0) {
			ui_warn("%s", ui_err(&e)); /* the slip is good */
		}
		cred_wipe(&run.picks[i].cred);
	}
	if (n_void == run.n) {
		(void)unlink(partial);
		es_err_set(&err, ES_ECANTCREAT, "no password could be changed: no slips written");
		goto out;
	}
	/* link, not rename: a file made at path meanwhile is not replaced */
	if (link(partial, path) != 0) {
		es_err_errno(&err, ES_ECANTCREAT, errno,
		             "the slips are in %s, but it cannot be named %s", partial, path);
		goto out; /* kept: the only copy of the new passwords */
	}
	(void)unlink(partial);
	if (ctx->json) {
		for (size_t i = 0; i < run.n; i++)
			ui_print_credential(ctx, run.picks[i].user, NULL,
			                    run.picks[i].voided ? "void" : "slip");
	} else if (!ctx->quiet) {
		ui_info(ctx, "%zu new temporary password(s) on slips: %s\n", run.n - n_void, path);
	}
	rc = n_void > 0 ? ES_ECANTCREAT : 0;
	if (n_void > 0)
		ui_warn("%zu slip(s) are void: tear them up and run 'eschool slips --reset' again "
		        "for those accounts",
		        n_void);
out:
	es_store_unlock_all(&ctx->store, all);
	for (size_t i = 0; i < run.n; i++)
		pick_free(&run.picks[i]);
	free(run.picks);
	slip_set_free(&set);
	if (rc < 0)
		rc = ui_fail(&err);
	return rc;
}
