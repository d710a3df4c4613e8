/* eschool add / reset: one account, one new password, delivered now. */
#include "cli.h"
#include "commands.h"
#include "ui.h"
#include "accounts.h"
#include "provision.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "es_names.h"
#include "mail/deliver.h"


/* Sets the password of an existing account and delivers it: shown in
 * debug mode; in production mailed (kind), or shown as a fallback when the
 * mail could not go out. Then records the delivery. For add, the state was
 * saved with delivery=creating before, so that an interruption leaves a
 * trace that `add` or `import` completes. heading is for people. */
static int set_and_deliver(struct cli *ctx, const struct es_record *rec,
                           const struct es_policy *pol, const char *heading, const char *kind,
                           struct es_err *err)
{
	struct es_state *st = rec->st;
	struct cred cred;
	struct es_aging aging;
	const char *delivery = "printed";
	char how[400];
	int rc = -1;

	if (cred_make(pol, &cred, err) != 0)
		return -1;
	es_account_aging(pol, es_state_get_bool(st, ES_K_MUST_CHANGE),
	                 es_policy_exempt(pol, st->username), ctx->now, &aging);
	if (account_source_for(pol)->set_password(st->username, cred.hash, &aging, err) != 0)
		goto out;
	if (ctx->cfg.mode == ES_MODE_PRODUCTION) {
		struct es_err qerr = { 0 };
		if (drop_stale_credentials(ctx, st->username, &qerr) != 0) {
			ui_warn("%s", ui_err(&qerr));
			es_err_clear(&qerr);
		}
		if (deliver_credential(ctx, st, kind, cred.password, &delivery, &qerr) != 0) {
			/* not even queued (a full spool ...): the password is shown,
			 * as when the server is down, and import does the same */
			ui_warn("%s; the password is shown below instead: hand it over yourself",
			        ui_err(&qerr));
			delivery = "fallback";
		}
	} else {
		debug_mail(ctx, st, kind, es_state_get(st, ES_K_EMAIL), es_state_get(st, ES_K_NAME),
		              cred.password);
	}
	if (strcmp(delivery, "sent") == 0)
		(void)snprintf(how, sizeof(how), _("credentials mailed to %s"),
		               es_state_get(st, ES_K_EMAIL));
	else if (strcmp(delivery, "queued") == 0)
		(void)snprintf(how, sizeof(how),
		               _("credentials queued for %s (eschool queue run)"),
		               es_state_get(st, ES_K_EMAIL));
	else if (strcmp(delivery, "fallback") == 0)
		(void)snprintf(how, sizeof(how), "%s",
		               _("the mail could not be sent: the password is shown here"));
	else
		(void)snprintf(how, sizeof(how), "%s",
		               _("debug mode: the password is shown here"));
	if (!ctx->json && !ctx->quiet)
		printf("%s — %s\n", heading, how);
	ui_print_credential(ctx, st->username,
	                    strcmp(delivery, "printed") == 0 || strcmp(delivery, "fallback") == 0
	                            ? cred.password
	                            : NULL,
	                    delivery);
	if (es_state_set(st, ES_K_DELIVERY, delivery) != 0 ||
	    es_account_aging_written(st, &aging) != 0 || es_record_save(rec, err) != 0) {
		es_err_prefix(err, "the password was delivered but its delivery could not be recorded");
		goto out;
	}
	/* the account event, for the school's audit trail (never the password) */
	log_msg(LOG_AUTHPRIV, LOG_NOTICE, "%s: user=%s role=%s delivery=%s",
	       strcmp(kind, "reset") == 0 ? "new temporary password" : "account created",
	       st->username, es_state_get(st, ES_K_ROLE) ? es_state_get(st, ES_K_ROLE) : "-",
	       delivery);
	rc = 0;
out:
	cred_wipe(&cred);
	return rc;
}

static void print_expiry_note(const struct cli *ctx, const struct es_state *st)
{
	char when[64];
	int64_t exp = es_state_get_i64(st, ES_K_INITIAL_EXPIRES, 0);

	if (ctx->json || ctx->quiet)
		return;
	if (es_state_get_bool(st, ES_K_MUST_CHANGE))
		printf("  %s\n", _("It must be changed at the first login."));
	if (exp > 0) {
		ui_fmt_when((time_t)exp, when, sizeof(when));
		printf("  %s %s\n", _("Unused, it stops working on"),
		       when);
	}
}

/* Whether person can be added now, under the store's lock: no state, or
 * the state of a removed account (replaced), or an add interrupted before
 * the credentials went out (completed); st holds what is stored. */
static int may_add(const struct cli *ctx, const struct person *person,
                   const struct account_source *acc, struct es_state *st, struct es_err *err)
{
	int loaded = load_user_state(ctx, person->username, st, err), there;
	const char *delivery, *old_email;

	if (loaded < 0)
		return -1;
	if (loaded == 0) {
		char why[600];
		enum es_state_owner owner = state_orphan(st, why, sizeof(why));

		delivery = es_state_get(st, ES_K_DELIVERY);
		if (owner == ES_OWNER_OTHER)
			return es_err_set(err, ES_ECANTCREAT, "%s", why);
		if (owner == ES_OWNER_GONE) {
			/* what a removed account left (or an add or import killed
			 * before useradd): the new account replaces it */
			if (!ctx->json && !ctx->quiet &&
			    (delivery == NULL || strcmp(delivery, "creating") != 0))
				printf(_("%s had eschool state but no Linux account: the new "
				         "account replaces it\n"),
				       person->username);
			loaded = 1;
		}
	}
	if (loaded == 0) {
		delivery = es_state_get(st, ES_K_DELIVERY);
		old_email = es_state_get(st, ES_K_EMAIL);
		/* an add interrupted before the credentials went out is completed */
		if (delivery == NULL || strcmp(delivery, "creating") != 0 || old_email == NULL ||
		    strcmp(old_email, person->email) != 0)
			return es_err_set(err, ES_ECANTCREAT,
			                  "user %s already exists and is managed by eschool: use "
			                  "'eschool reset %s' for a new password",
			                  person->username, person->username);
		return 0;
	}
	if (acc->writes && (there = acc->exists(person->username, err)) != 0)
		return there < 0 ? -1 : es_err_set(err, ES_ECANTCREAT,
		                  "user %s already exists on this system (not created by eschool); "
		                  "choose another username",
		                  person->username);
	return 0;
}

/* The parent's notice of a new student: queued in production, shown in
 * debug mode. */
static void notify_parent(struct cli *ctx, const struct es_state *st)
{
	const char *parent_addr = es_state_get(st, ES_K_PARENT_EMAIL);
	const char *st_role = es_state_get(st, ES_K_ROLE);
	struct es_err err = { 0 };

	if (ctx->cfg.mode == ES_MODE_PRODUCTION) {
		if (deliver_parent_notice(ctx, st, &err) != 0)
			ui_warn("parent notice: %s", ui_err(&err));
	} else if (parent_addr != NULL && st_role != NULL && strcmp(st_role, "student") == 0) {
		debug_mail(ctx, st, "parent-notice", parent_addr, NULL, NULL);
	}
}

/* The state first ("creating", under the user's lock, held on in rec),
 * then the account if the source makes it: a failure undoes both. */
static int make_account(struct cli *ctx, const struct person *person,
                        const struct es_policy *pol, const struct es_role *r,
                        struct es_state *st, struct es_record *rec, struct es_err *err)
{
	const struct account_source *acc = account_source_for(pol);
	struct es_err e2;
	int there = 0;

	/* the global lock keeps other writers of new accounts out: what was
	 * read before still holds; the module is kept out from here */
	if (es_record_open(&ctx->store, person->username, ES_RECORD_WRITE, st, rec, err) < 0)
		return -1;
	if (es_account_new(st, person->username,
	                   &(struct es_account_who){ person->email, person->name, person->role,
	                                              person->klass, person->lang,
	                                              person->parent_email },
	                   pol, ctx->now) != 0)
		return es_err_set(err, ES_EOS, "out of memory");
	if (es_record_save(rec, err) != 0)
		return -1;
	if (!acc->writes || (there = acc->exists(person->username, err)) != 0)
		return there < 0 ? -1 : 0;
	if (acc->create(pol, r, person->username, person->name, err) == 0)
		return 0;
	/* useradd may fail half-way (a full disk, a file size limit): the
	 * user did not exist before and we hold the global lock, so an entry
	 * there now is ours to undo */
	if (acc->exists(person->username, &e2) != 0 && acc->remove(person->username, &e2) != 0)
		ui_warn("%s", ui_err(&e2));
	(void)es_record_remove(rec, &e2);
	return -1;
}

int cmd_add(struct cli *ctx, const struct args *a)
{
	const char *role = arg_value(a, "role") ? arg_value(a, "role") : "student";
	const struct person person = {
		a->positional[0],        arg_value(a, "email"), arg_value(a, "name"),
		role,                    arg_value(a, "class"), arg_value(a, "lang"),
		arg_value(a, "parent-email"),
	};
	struct es_err err = { 0 };
	struct es_state st;
	struct es_policy pol;
	const struct es_role *r;
	const struct account_source *acc;
	struct es_record rec = { .token = -1 };
	intptr_t all = -1;
	int rc;
	char heading[512], kind[80];

	es_state_init(&st, "");
	if (person_check(ctx, &person, &err) != 0 ||
	    es_config_role_policy(&ctx->cfg, role, &pol, &err) != 0)
		return ui_fail(&err);
	r = es_config_find_role(&ctx->cfg, role);
	acc = account_source_for(&pol);

	rc = -1;
	/* the global lock orders us against other add/import/reset; the user's
	 * own lock (against the PAM module) is taken once we know we create it */
	if (es_store_lock_all(&ctx->store, &all, &err) != 0)
		goto out;
	if (may_add(ctx, &person, acc, &st, &err) != 0)
		goto out;
	if (!acc->writes && !user_exists(person.username)) {
		(void)acc->create(&pol, r, person.username, person.name, &err); /* says why */
		goto out;
	}
	if (make_account(ctx, &person, &pol, r, &st, &rec, &err) != 0)
		goto out;
	{
		struct es_err e2 = { 0 };

		/* the uid tells this account from a later one of the same name */
		if (state_set_uid(&st, &e2) != 0)
			ui_warn("%s", ui_err(&e2));
	}
	(void)snprintf(heading, sizeof(heading), "%s %s (%s%s%s)",
	               _("Account created:"), person.username,
	               person.name ? person.name : "", person.name ? ", " : "", role);
	es_account_welcome_kind(&ctx->cfg, role, kind, sizeof(kind));
	if (set_and_deliver(ctx, &rec, &pol, heading, kind, &err) != 0) {
		struct es_err e2;
		/* nothing half done: no account without its password */
		if (acc->writes && es_state_get(&st, ES_K_DELIVERY) != NULL &&
		    strcmp(es_state_get(&st, ES_K_DELIVERY), "creating") == 0) {
			if (acc->remove(person.username, &e2) != 0)
				ui_warn("%s", ui_err(&e2));
			(void)es_record_remove(&rec, &e2);
		}
		goto out;
	}
	print_expiry_note(ctx, &st);
	notify_parent(ctx, &st);
	rc = 0;
out:
	es_record_close(&rec);
	es_store_unlock_all(&ctx->store, all);
	es_state_free(&st);
	return rc == 0 ? 0 : ui_fail(&err);
}

/* resend: the still-queued credentials mail goes now; without one (or
 * when it cannot go) the account gets a new temporary password, as reset. */
static int resend_queued(struct cli *ctx, const struct es_record *rec, bool *done,
                         struct es_err *err)
{
	struct es_state *st = rec->st;
	const char *delivery = NULL;

	*done = false;
	if (ctx->cfg.mode != ES_MODE_PRODUCTION)
		return 0; /* debug mode: nothing is mailed, a new password is shown */
	if (deliver_again(ctx, st, &delivery, err) != 0)
		return -1;
	if (delivery == NULL)
		return 0;
	if (!ctx->json && !ctx->quiet)
		printf("%s %s — %s %s\n", _("Credentials of"), st->username,
		       strcmp(delivery, "sent") == 0 ? _("the queued mail was sent to")
		                                     : _("the mail stays queued for"),
		       es_state_get(st, ES_K_EMAIL));
	ui_print_credential(ctx, st->username, NULL, delivery);
	*done = true;
	if (es_state_set(st, ES_K_DELIVERY, delivery) != 0 || es_record_save(rec, err) != 0)
		return es_err_prefix(err, "the mail went but its delivery could not be recorded");
	return 0;
}

/* Whether user's password may be reset (or its mail sent again): a
 * managed account, enabled, its own (not an orphan state). st and pol are
 * what is stored now, read without the lock. */
static int reset_or_resend(struct cli *ctx, const char *user, bool resend)
{
	bool sent = false;
	struct es_err err = { 0 };
	struct es_state st;
	struct es_policy pol;
	struct es_record rec = { .token = -1 };
	intptr_t all = -1;
	int rc, loaded;
	char heading[512];
	char *old = NULL;
	size_t oldlen = 0;

	es_state_init(&st, "");
	if (!es_valid_username(user)) {
		ui_warn("invalid username '%s'", user);
		return ES_EDATA;
	}
	rc = -1;
	if (es_store_lock_all(&ctx->store, &all, &err) != 0)
		goto out;
	if (reset_check(ctx, user, &st, &pol, &err) != 0)
		goto out;
	if (ctx->cfg.mode == ES_MODE_PRODUCTION &&
	    (es_state_get(&st, ES_K_EMAIL) == NULL || es_state_get(&st, ES_K_EMAIL)[0] == '\0')) {
		es_err_set(&err, ES_EDATA,
		           "%s has no email address: a new password goes on a slip ('eschool slips "
		           "--reset %s -o FILE.pdf'), or give the account an address first "
		           "('eschool set-email --force %s ADDR')",
		           user, user, user);
		goto out;
	}
	/* managed: read it again under its lock (the PAM module may write it) */
	loaded = es_record_open(&ctx->store, user, ES_RECORD_WRITE, &st, &rec, &err);
	if (loaded != 0) {
		if (loaded > 0)
			es_err_set(&err, ES_ENOUSER, "the state of %s was removed meanwhile", user);
		goto out;
	}
	if (resend && resend_queued(ctx, &rec, &sent, &err) != 0)
		goto out;
	if (sent) {
		rc = 0;
		goto out;
	}
	/* the new state (must change, delivery = "creating") is written before
	 * the password changes, as add does: a full or read-only state disk
	 * stops the reset with nothing changed, and a new password is never
	 * left without its must-change. If the password then cannot be set,
	 * the old state is written back: a failed reset leaves the old
	 * password and the old state as they were. */
	if (es_state_format(&st, &old, &oldlen, &err) != 0)
		goto out;
	if (es_account_new_password(&st, &pol, ctx->now) != 0) {
		es_err_set(&err, ES_EOS, "out of memory");
		goto out;
	}
	if (es_state_get(&st, ES_K_UID) == NULL) {
		struct es_err e2 = { 0 };

		/* a state older than the uid key gets it now */
		if (state_set_uid(&st, &e2) != 0)
			ui_warn("%s", ui_err(&e2));
	}
	if (es_record_save(&rec, &err) != 0)
		goto out;
	(void)snprintf(heading, sizeof(heading), "%s %s",
	               _("New temporary password for"),
	               user);
	if (set_and_deliver(ctx, &rec, &pol, heading, "reset", &err) != 0) {
		reset_put_back(&rec, old, oldlen);
		goto out;
	}
	print_expiry_note(ctx, &st);
	rc = 0;
out:
	if (old != NULL) {
		sodium_memzero(old, oldlen);
		free(old);
	}
	es_record_close(&rec);
	es_store_unlock_all(&ctx->store, all);
	es_state_free(&st);
	return rc == 0 ? 0 : ui_fail(&err);
}

/* reset USER... or --class CLASS...: each account on its own, delivered
 * as one reset is; the exit code is the first failure's. */
int cmd_reset(struct cli *ctx, const struct args *a)
{
	const char *const *classes;
	int n_classes = arg_values(a, "class", &classes);
	struct es_err err = { 0 };
	char **users = NULL;
	size_t n_users = 0;
	int rc = 0;

	if ((a->n_positional == 0) == (n_classes == 0))
		return arg_usage_error(a, _("say which accounts: USER... or --class CLASS (not both)"));
	size_t n;

	if (n_classes > 0 &&
	    class_accounts(ctx, classes, n_classes, false, &users, &n_users, &err) != 0)
		return ui_fail(&err);
	n = n_classes > 0 ? n_users : (size_t)a->n_positional;
	/* many accounts: their mails wait for one `queue run` (one SMTP
	 * login: providers block a login per message), as a large import's */
	ctx->hold_sending = n > 1 && ctx->cfg.mode == ES_MODE_PRODUCTION;
	for (size_t i = 0; i < n; i++) {
		int r = reset_or_resend(ctx, n_classes > 0 ? users[i] : a->positional[i], false);

		if (rc == 0)
			rc = r;
	}
	if (ctx->hold_sending)
		ui_info(ctx, "the credential mails are queued: 'eschool queue run' sends them "
		             "(eschool-queue.path starts it when a mail is queued)\n");
	users_free(users, n_users);
	return rc;
}

int cmd_resend(struct cli *ctx, const struct args *a)
{
	return reset_or_resend(ctx, a->positional[0], true);
}
