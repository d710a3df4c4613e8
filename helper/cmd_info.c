/* eschool show / list / disable / enable: reading and flipping the state. */
#include "eschool.h"
#include "options.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "es_names.h"

static const char show_usage[] = "usage: eschool show USER [--json]\n";
static const char list_usage[] = "usage: eschool list [--role ROLE] [--json]\n";
static const char disable_usage[] = "usage: eschool disable USER [--json]\n";
static const char enable_usage[] = "usage: eschool enable USER [--json]\n";

/* When the current password stops working: an unused initial password at
 * its TTL, else at the role's maximum age (0 = never). */
static time_t expires_at(const struct es_ctx *ctx, const struct es_state *st)
{
	struct es_policy pol;
	const char *role = es_state_get(st, ES_K_ROLE);
	int64_t changed = es_state_get_i64(st, ES_K_PW_CHANGED, 0);

	if (es_state_get_bool(st, ES_K_MUST_CHANGE))
		return (time_t)es_state_get_i64(st, ES_K_INITIAL_EXPIRES, 0);
	if (es_config_role_policy(&ctx->cfg, role ? role : "student", &pol, NULL) != 0 ||
	    pol.max_age_days == 0 || changed <= 0)
		return 0;
	return (time_t)(changed + (int64_t)pol.max_age_days * 86400);
}

static int json_opt_str(struct es_buf *b, const char *key, const char *v, bool first)
{
	int rc = es_buf_printf(b, "%s\"%s\":", first ? "" : ",", key);

	if (v == NULL || v[0] == '\0')
		return rc | es_buf_puts(b, "null");
	return rc | es_buf_json_str(b, v);
}

static int json_time(struct es_buf *b, const char *key, time_t t)
{
	char iso[32];

	if (t <= 0)
		return es_buf_printf(b, ",\"%s\":null", key);
	es_fmt_time(t, true, iso, sizeof(iso));
	return es_buf_printf(b, ",\"%s\":\"%s\"", key, iso);
}

static int state_json(const struct es_ctx *ctx, const struct es_state *st, struct es_buf *b)
{
	int rc = es_buf_puts(b, "{");

	rc |= json_opt_str(b, "username", st->username, true);
	rc |= json_opt_str(b, "email", es_state_get(st, ES_K_EMAIL), false);
	rc |= json_opt_str(b, "name", es_state_get(st, ES_K_NAME), false);
	rc |= json_opt_str(b, "role", es_state_get(st, ES_K_ROLE), false);
	rc |= json_opt_str(b, "class", es_state_get(st, ES_K_CLASS), false);
	rc |= json_opt_str(b, "lang", es_state_get(st, ES_K_LANG), false);
	rc |= json_opt_str(b, "parent_email", es_state_get(st, ES_K_PARENT_EMAIL), false);
	rc |= json_time(b, "created", (time_t)es_state_get_i64(st, ES_K_CREATED, 0));
	rc |= json_time(b, "password_changed", (time_t)es_state_get_i64(st, ES_K_PW_CHANGED, 0));
	rc |= es_buf_printf(b, ",\"must_change\":%s",
	                    es_state_get_bool(st, ES_K_MUST_CHANGE) ? "true" : "false");
	rc |= json_time(b, "expires", expires_at(ctx, st));
	rc |= json_time(b, "last_login", (time_t)es_state_get_i64(st, ES_K_LAST_LOGIN, 0));
	rc |= es_buf_printf(b, ",\"disabled\":%s",
	                    es_state_get_bool(st, ES_K_DISABLED) ? "true" : "false");
	rc |= json_opt_str(b, "pending_email", es_state_get(st, ES_K_PENDING_EMAIL), false);
	rc |= es_buf_puts(b, "}\n");
	return rc;
}

static const char *or_dash(const char *s)
{
	return (s != NULL && s[0] != '\0') ? s : "-";
}

static void show_human(const struct es_ctx *ctx, const struct es_state *st)
{
	char t1[64], t2[64], t3[64], t4[64];
	const char *yes = tr(ctx, "yes", "oui"), *no = tr(ctx, "no", "non");

	es_fmt_time((time_t)es_state_get_i64(st, ES_K_CREATED, 0), false, t1, sizeof(t1));
	es_fmt_time((time_t)es_state_get_i64(st, ES_K_PW_CHANGED, 0), false, t2, sizeof(t2));
	es_fmt_time(expires_at(ctx, st), false, t3, sizeof(t3));
	es_fmt_time((time_t)es_state_get_i64(st, ES_K_LAST_LOGIN, 0), false, t4, sizeof(t4));
	printf("%s — %s\n", st->username, or_dash(es_state_get(st, ES_K_NAME)));
	printf("  %-18s %s\n", tr(ctx, "role", "rôle"), or_dash(es_state_get(st, ES_K_ROLE)));
	printf("  %-18s %s\n", tr(ctx, "email", "email"), or_dash(es_state_get(st, ES_K_EMAIL)));
	printf("  %-18s %s\n", tr(ctx, "class", "classe"), or_dash(es_state_get(st, ES_K_CLASS)));
	printf("  %-18s %s\n", tr(ctx, "language", "langue"), or_dash(es_state_get(st, ES_K_LANG)));
	printf("  %-18s %s\n", tr(ctx, "parent email", "email parent"),
	       or_dash(es_state_get(st, ES_K_PARENT_EMAIL)));
	printf("  %-18s %s\n", tr(ctx, "created", "créé"), t1);
	printf("  %-18s %s\n", tr(ctx, "must change", "doit changer"),
	       es_state_get_bool(st, ES_K_MUST_CHANGE) ? yes : no);
	printf("  %-18s %s\n", tr(ctx, "last change", "dernier changement"), t2);
	printf("  %-18s %s\n", tr(ctx, "expires", "expire"), t3);
	printf("  %-18s %s\n", tr(ctx, "last login", "dernière connexion"), t4);
	printf("  %-18s %s\n", tr(ctx, "disabled", "désactivé"),
	       es_state_get_bool(st, ES_K_DISABLED) ? yes : no);
	printf("  %-18s %s\n", tr(ctx, "pending email", "email en attente"),
	       or_dash(es_state_get(st, ES_K_PENDING_EMAIL)));
}

static int print_state(const struct es_ctx *ctx, const struct es_state *st)
{
	struct es_buf b = { 0 };
	int rc = 0;

	if (ctx->json) {
		if (state_json(ctx, st, &b) != 0)
			rc = -1;
		else
			(void)fwrite(b.data, 1, b.len, stdout);
	} else {
		show_human(ctx, st);
	}
	es_buf_free(&b);
	return rc;
}

/* Loads USER's state for show/disable/enable; returns 0 or an exit code. */
static int load_managed(struct es_ctx *ctx, const char *user, struct es_state *st)
{
	struct es_err err = { 0 };
	int loaded;

	if (!es_valid_username(user)) {
		es_warn("invalid username '%s'", user);
		return ES_EDATA;
	}
	loaded = es_state_load_cfg(ctx, user, st, &err);
	if (loaded < 0)
		return es_fail(&err);
	if (loaded == 1) {
		es_warn(tr(ctx, "no account %s managed by eschool (see 'eschool list')",
		           "aucun compte %s géré par eschool (voir 'eschool list')"),
		        user);
		return ES_ENOUSER;
	}
	return 0;
}

int cmd_show(struct es_ctx *ctx, int argc, char **argv)
{
	struct es_state st;
	const char *user = NULL;
	bool done;
	int rc;

	es_state_init(&st, "");
	rc = es_parse_positional(ctx, argc, argv, show_usage, 1, &user, &done);
	if (rc != 0 || done)
		return rc;
	rc = es_prepare(ctx, false);
	if (rc == 0)
		rc = load_managed(ctx, user, &st);
	if (rc == 0 && print_state(ctx, &st) != 0)
		rc = ES_EOS;
	es_state_free(&st);
	return rc;
}

struct list_ctx {
	struct es_ctx *ctx;
	const char *role;
	size_t shown;
	int rc;
};

static int list_one(const char *user, void *arg)
{
	struct list_ctx *lc = arg;
	struct es_state st;
	struct es_err err = { 0 };
	const char *role;
	char t[64];

	es_state_init(&st, "");
	if (es_state_load_cfg(lc->ctx, user, &st, &err) != 0) {
		/* one bad file must not hide the others */
		es_warn("%s", err.msg);
		lc->rc = ES_EDATA;
		es_state_free(&st);
		return 0;
	}
	role = es_state_get(&st, ES_K_ROLE);
	if (lc->role == NULL || (role != NULL && strcmp(role, lc->role) == 0)) {
		if (lc->ctx->json) {
			if (print_state(lc->ctx, &st) != 0)
				lc->rc = ES_EOS;
		} else {
			es_fmt_time((time_t)es_state_get_i64(&st, ES_K_LAST_LOGIN, 0), false, t,
			            sizeof(t));
			printf("%-20s %-9s %-8s %-5s %-5s %-16s %s\n", user, or_dash(role),
			       or_dash(es_state_get(&st, ES_K_CLASS)),
			       es_state_get_bool(&st, ES_K_MUST_CHANGE) ? "yes" : "no",
			       es_state_get_bool(&st, ES_K_DISABLED) ? "yes" : "no", t,
			       or_dash(es_state_get(&st, ES_K_EMAIL)));
		}
		lc->shown++;
	}
	es_state_free(&st);
	return 0;
}

int cmd_list(struct es_ctx *ctx, int argc, char **argv)
{
	const char *role = NULL;
	const struct es_opt opts[] = { { "role", &role, NULL }, { NULL, NULL, NULL } };
	struct es_args args;
	struct es_err err = { 0 };
	struct list_ctx lc = { ctx, NULL, 0, 0 };
	bool done;
	int rc;

	rc = es_parse_args(ctx, argc, argv, opts, list_usage, &args, &done);
	if (rc != 0 || done)
		return rc;
	if (args.n_positional != 0) {
		es_warn("%s", list_usage);
		return ES_EUSAGE;
	}
	rc = es_prepare(ctx, false);
	if (rc != 0)
		return rc;
	if (role != NULL && es_config_find_role(&ctx->cfg, role) == NULL) {
		es_warn("unknown role '%s'", role);
		return ES_EDATA;
	}
	lc.role = role;
	if (!ctx->json)
		printf("%-20s %-9s %-8s %-5s %-5s %-16s %s\n", tr(ctx, "USERNAME", "IDENTIFIANT"),
		       tr(ctx, "ROLE", "RÔLE"), tr(ctx, "CLASS", "CLASSE"),
		       tr(ctx, "MUST", "CHANG"), tr(ctx, "OFF", "DÉSAC"),
		       tr(ctx, "LAST LOGIN", "DERNIÈRE CONNEX."), "EMAIL");
	if (es_state_foreach(ctx->cfg.state_dir, list_one, &lc, &err) != 0)
		return es_fail(&err);
	if (!ctx->json && !ctx->quiet)
		printf(tr(ctx, "%zu account(s)\n", "%zu compte(s)\n"), lc.shown);
	return lc.rc;
}

static int set_disabled(struct es_ctx *ctx, int argc, char **argv, bool disable)
{
	struct es_state st;
	struct es_err err = { 0 };
	struct es_policy pol;
	const char *user = NULL, *role;
	bool done;
	int rc, lockfd = -1, alllock = -1;

	es_state_init(&st, "");
	rc = es_parse_positional(ctx, argc, argv, disable ? disable_usage : enable_usage, 1, &user,
	                         &done);
	if (rc != 0 || done)
		return rc;
	rc = es_prepare(ctx, false);
	if (rc != 0)
		return rc;
	if (!es_valid_username(user)) {
		es_warn("invalid username '%s'", user);
		return ES_EDATA;
	}
	/* the global lock orders us against reset (which would unlock the
	 * password); the user's lock against the PAM module */
	if (es_state_lock_all(ctx->cfg.state_dir, &alllock, &err) != 0)
		return es_fail(&err);
	rc = load_managed(ctx, user, &st); /* not managed: no lock file made */
	if (rc != 0)
		goto out;
	es_state_free(&st);
	es_state_init(&st, "");
	if (es_state_lock(ctx->cfg.state_dir, user, &lockfd, &err) != 0) {
		rc = es_fail(&err);
		goto out;
	}
	rc = load_managed(ctx, user, &st);
	if (rc != 0)
		goto out;
	role = es_state_get(&st, ES_K_ROLE);
	if (es_config_role_policy(&ctx->cfg, role ? role : "student", &pol, &err) != 0 ||
	    (pol.backend == ES_ACCT_SHADOW && es_account_lock(user, disable, &err) != 0)) {
		rc = es_fail(&err);
		goto out;
	}
	if (es_state_set(&st, ES_K_DISABLED, disable ? "1" : "0") != 0 ||
	    es_state_save(ctx->cfg.state_dir, &st, &err) != 0) {
		struct es_err e2 = { 0 };

		if (err.msg[0] == '\0')
			es_err_set(&err, ES_EOS, "out of memory");
		/* nothing half done: the account goes back as it was (a full
		 * or read-only state disk does not stop usermod on /etc) */
		if (pol.backend == ES_ACCT_SHADOW && es_account_lock(user, !disable, &e2) != 0)
			es_warn("%s", e2.msg);
		rc = es_fail(&err);
		goto out;
	}
	es_log(LOG_AUTHPRIV, LOG_NOTICE, "account %s: user=%s", disable ? "disabled" : "enabled",
	       user);
	if (ctx->json)
		printf("{\"username\":\"%s\",\"disabled\":%s}\n", user, disable ? "true" : "false");
	else if (!ctx->quiet)
		printf("%s %s\n",
		       disable ? tr(ctx, "Account disabled:", "Compte désactivé :")
		               : tr(ctx, "Account enabled:", "Compte réactivé :"),
		       user);
out:
	es_state_unlock(lockfd);
	es_state_unlock(alllock);
	es_state_free(&st);
	return rc;
}

int cmd_disable(struct es_ctx *ctx, int argc, char **argv)
{
	return set_disabled(ctx, argc, argv, true);
}

int cmd_enable(struct es_ctx *ctx, int argc, char **argv)
{
	return set_disabled(ctx, argc, argv, false);
}
