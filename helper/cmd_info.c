/* eschool show / list / disable / enable / forget: reading and flipping
 * the state. A state whose Linux account is gone, or whose name is another
 * uid's now, is an orphan: shown as such, never acted on but by forget. */
#include "cli.h"
#include "commands.h"
#include "ui.h"
#include "accounts.h"
#include "provision.h"
#include "log.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "es_names.h"
#include "es_queue.h"
#include "es_text.h"


/* Columns of list's name and class: longer ones are cut with "…". */
#define LIST_NAME_COLS 30
#define LIST_CLASS_COLS 16
#define SHOW_LABEL_COLS 18

/* When the current password stops working: an unused initial password at
 * its TTL, else at the role's maximum age (0 = never). */
/* The password's situation as the module sees it (es_account_verdict);
 * without any policy to be had (cannot happen with a loaded config), an
 * unknown verdict with no dates. */
static bool verdict_of(const struct cli *ctx, const struct es_state *st,
                       struct es_verdict *v)
{
	struct es_policy pol;

	if (es_account_policy(&ctx->cfg, st, &pol, NULL) != 0) {
		memset(v, 0, sizeof(*v));
		return false;
	}
	es_account_verdict(&pol, st, ctx->now, v);
	return true;
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
	ui_fmt_time(t, true, iso, sizeof(iso));
	return es_buf_printf(b, ",\"%s\":\"%s\"", key, iso);
}

static int state_json(const struct cli *ctx, const struct es_state *st, struct es_buf *b)
{
	struct es_verdict v;
	bool known = verdict_of(ctx, st, &v);
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
	rc |= json_time(b, "expires", (time_t)v.expires);
	rc |= es_buf_printf(b, ",\"verdict\":\"%s\",\"days_left\":%ld",
	                    known ? es_verdict_name(v.kind) : "unknown", v.days_left);
	rc |= json_time(b, "last_login", (time_t)es_state_get_i64(st, ES_K_LAST_LOGIN, 0));
	rc |= es_buf_printf(b, ",\"disabled\":%s",
	                    es_state_get_bool(st, ES_K_DISABLED) ? "true" : "false");
	rc |= json_opt_str(b, "pending_email", es_state_get(st, ES_K_PENDING_EMAIL), false);
	rc |= es_buf_printf(b, ",\"orphan\":%s",
	                    state_orphan(st, NULL, 0) != ES_OWNER_OK ? "true" : "false");
	rc |= es_buf_puts(b, "}\n");
	return rc;
}

static const char *or_dash(const char *s)
{
	return (s != NULL && s[0] != '\0') ? s : "-";
}

/* "  label              value\n", the label padded by display columns
 * (French labels have accents) and the value made safe for a terminal. */
static int show_line(struct es_buf *b, const char *label, const char *value)
{
	return es_buf_puts(b, "  ") | es_text_pad(b, label, SHOW_LABEL_COLS) |
	       es_buf_puts(b, " ") | es_text_term(b, value, 0, NULL) | es_buf_puts(b, "\n");
}

/* The verdict for people: what the next login will meet. */
static void verdict_text(const struct es_verdict *v, bool known,
                         char *out, size_t outsz)
{
	static const char *const texts[] = {
		[ES_V_OK] = N_("valid"),
		[ES_V_MUST_CHANGE] = N_("temporary: to change at the next login"),
		[ES_V_TEMP_EXPIRED] =
			N_("temporary, not used in time: no longer works (eschool reset)"),
		[ES_V_EXPIRED] = N_("expired: a new one at the next login"),
		[ES_V_DISABLED] = N_("account disabled"),
	};

	if (!known)
		(void)es_strlcpy(out, "-", outsz);
	else if (v->kind == ES_V_WARN)
		(void)snprintf(out, outsz,
		               v->days_left == 1 ? _("expires in %ld day") : _("expires in %ld days"),
		               v->days_left);
	else
		(void)es_strlcpy(out, _(texts[v->kind]), outsz);
}

static int show_human(const struct cli *ctx, const struct es_state *st, struct es_buf *b)
{
	char t1[64], t2[64], t3[64], t4[64], why[600], acct[700], pwd[160];
	const char *yes = _("yes"), *no = _("no");
	struct es_verdict v;
	bool known = verdict_of(ctx, st, &v);
	int rc;

	verdict_text(&v, known, pwd, sizeof(pwd));
	ui_fmt_time((time_t)es_state_get_i64(st, ES_K_CREATED, 0), false, t1, sizeof(t1));
	ui_fmt_time((time_t)es_state_get_i64(st, ES_K_PW_CHANGED, 0), false, t2, sizeof(t2));
	ui_fmt_time((time_t)v.expires, false, t3, sizeof(t3));
	ui_fmt_time((time_t)es_state_get_i64(st, ES_K_LAST_LOGIN, 0), false, t4, sizeof(t4));
	if (state_orphan(st, why, sizeof(why)) != ES_OWNER_OK) {
		(void)snprintf(acct, sizeof(acct), "%s — %s", _("orphan"), why);
	} else {
		struct es_err e2 = { 0 };
		long uid;

		if (account_uid(st->username, &uid, &e2) == 1)
			(void)snprintf(acct, sizeof(acct), "uid %ld", uid);
		else
			(void)snprintf(acct, sizeof(acct), "-");
	}
	rc = es_text_term(b, st->username, 0, NULL) | es_buf_puts(b, " — ") |
	     es_text_term(b, or_dash(es_state_get(st, ES_K_NAME)), 0, NULL) | es_buf_puts(b, "\n");
	rc |= show_line(b, _("role"), or_dash(es_state_get(st, ES_K_ROLE)));
	rc |= show_line(b, _("email"), or_dash(es_state_get(st, ES_K_EMAIL)));
	rc |= show_line(b, _("class"), or_dash(es_state_get(st, ES_K_CLASS)));
	rc |= show_line(b, _("language"), or_dash(es_state_get(st, ES_K_LANG)));
	rc |= show_line(b, _("parent email"),
	                or_dash(es_state_get(st, ES_K_PARENT_EMAIL)));
	rc |= show_line(b, _("created"), t1);
	rc |= show_line(b, _("must change"),
	                es_state_get_bool(st, ES_K_MUST_CHANGE) ? yes : no);
	rc |= show_line(b, _("last change"), t2);
	rc |= show_line(b, _("expires"), t3);
	rc |= show_line(b, _("password"), pwd);
	rc |= show_line(b, _("last login"), t4);
	rc |= show_line(b, _("disabled"),
	                es_state_get_bool(st, ES_K_DISABLED) ? yes : no);
	rc |= show_line(b, _("pending email"),
	                or_dash(es_state_get(st, ES_K_PENDING_EMAIL)));
	rc |= show_line(b, _("Linux account"), acct);
	return rc;
}

static int print_state(const struct cli *ctx, const struct es_state *st)
{
	struct es_buf b = { 0 };
	int rc = 0;

	if ((ctx->json ? state_json(ctx, st, &b) : show_human(ctx, st, &b)) != 0)
		rc = -1;
	else
		(void)fwrite(b.data, 1, b.len, stdout);
	es_buf_free(&b);
	return rc;
}

/* Loads USER's state for show/disable/enable; returns 0 or an exit code. */
static int load_managed(struct cli *ctx, const char *user, struct es_state *st)
{
	struct es_err err = { 0 };
	int loaded;

	if (!es_valid_username(user)) {
		ui_warn("invalid username '%s'", user);
		return ES_EDATA;
	}
	loaded = load_user_state(ctx, user, st, &err);
	if (loaded < 0)
		return ui_fail(&err);
	if (loaded == 1) {
		ui_warn("no account %s managed by eschool (see 'eschool list')",
		        user);
		return ES_ENOUSER;
	}
	return 0;
}

static int show_one(struct cli *ctx, const char *user)
{
	struct es_state st;
	int rc;

	es_state_init(&st, "");
	rc = load_managed(ctx, user, &st);
	if (rc == 0 && print_state(ctx, &st) != 0)
		rc = ES_EOS;
	es_state_free(&st);
	return rc;
}

/* show USER... or --class CLASS...: each account in turn (a blank line
 * between them for people); the exit code is the first failure's. */
int cmd_show(struct cli *ctx, const struct args *a)
{
	const char *const *classes;
	int n_classes = arg_values(a, "class", &classes);
	struct es_err err = { 0 };
	char **users = NULL;
	size_t n_users = 0, n;
	int rc = 0;

	if ((a->n_positional == 0) == (n_classes == 0))
		return arg_usage_error(a, _("say which accounts: USER... or --class CLASS (not both)"));
	if (n_classes > 0 &&
	    class_accounts(ctx, classes, n_classes, true, &users, &n_users, &err) != 0)
		return ui_fail(&err);
	n = n_classes > 0 ? n_users : (size_t)a->n_positional;
	for (size_t i = 0; i < n; i++) {
		int r;

		if (i > 0 && !ctx->json)
			printf("\n");
		r = show_one(ctx, n_classes > 0 ? users[i] : a->positional[i]);
		if (rc == 0)
			rc = r;
	}
	users_free(users, n_users);
	return rc;
}

enum { C_USER, C_NAME, C_ROLE, C_CLASS, C_MUST, C_OFF, C_LOGIN, C_EMAIL, C_NOTE, N_COLS };

/* One line of list's table, each cell already made safe for a terminal,
 * with its width in display columns. */
struct list_row {
	struct es_buf cell[N_COLS];
	size_t cols[N_COLS];
};

struct list_ctx {
	struct cli *ctx;
	const char *role;
	const char *const *classes; /* --class: only these (n_classes > 0) */
	int n_classes;
	struct list_row *rows;
	size_t n_rows, cap_rows;
	size_t shown, orphans;
	int rc;
};

static int add_cell(struct list_row *r, int c, const char *text, size_t max_cols)
{
	return es_text_term(&r->cell[c], text, max_cols, &r->cols[c]);
}

static void free_rows(struct list_ctx *lc)
{
	for (size_t i = 0; i < lc->n_rows; i++)
		for (int c = 0; c < N_COLS; c++)
			es_buf_free(&lc->rows[i].cell[c]);
	free(lc->rows);
	lc->rows = NULL;
	lc->n_rows = lc->cap_rows = 0;
}

/* A new, empty row at the end of lc->rows; NULL when out of memory. */
static struct list_row *new_row(struct list_ctx *lc)
{
	struct list_row *r;

	if (lc->n_rows == lc->cap_rows) {
		size_t ncap = lc->cap_rows ? lc->cap_rows * 2 : 64;
		struct list_row *p = ncap < SIZE_MAX / sizeof(*p)
		                             ? realloc(lc->rows, ncap * sizeof(*p))
		                             : NULL;

		if (p == NULL)
			return NULL;
		lc->rows = p;
		lc->cap_rows = ncap;
	}
	r = &lc->rows[lc->n_rows++];
	memset(r, 0, sizeof(*r));
	return r;
}

static int list_header(struct list_ctx *lc)
{
	struct list_row *r = new_row(lc);

	if (r == NULL)
		return -1;
	return add_cell(r, C_USER, _("USERNAME"), 0) |
	       add_cell(r, C_NAME, _("NAME"), 0) |
	       add_cell(r, C_ROLE, _("ROLE"), 0) |
	       add_cell(r, C_CLASS, _("CLASS"), 0) |
	       add_cell(r, C_MUST, _("MUST"), 0) |
	       add_cell(r, C_OFF, _("OFF"), 0) |
	       add_cell(r, C_LOGIN, _("LAST LOGIN"), 0) |
	       add_cell(r, C_EMAIL, "EMAIL", 0) | add_cell(r, C_NOTE, "", 0);
}

static int list_one(const char *user, void *arg)
{
	struct list_ctx *lc = arg;
	struct es_state st;
	struct es_err err = { 0 };
	const char *role;
	enum es_state_owner owner;
	char t[64];

	es_state_init(&st, "");
	if (load_user_state(lc->ctx, user, &st, &err) != 0) {
		/* one bad file must not hide the others */
		ui_warn("%s", ui_err(&err));
		lc->rc = ES_EDATA;
		es_state_free(&st);
		return 0;
	}
	role = es_state_get(&st, ES_K_ROLE);
	if ((lc->role == NULL || (role != NULL && strcmp(role, lc->role) == 0)) &&
	    (lc->n_classes == 0 ||
	     class_is_one_of(es_state_get(&st, ES_K_CLASS), lc->classes, lc->n_classes))) {
		owner = state_orphan(&st, NULL, 0);
		if (lc->ctx->json) {
			if (print_state(lc->ctx, &st) != 0)
				lc->rc = ES_EOS;
		} else {
			struct list_row *r = new_row(lc);
			const struct cli *ctx = lc->ctx;
			const char *note = owner == ES_OWNER_GONE
			                           ? _("[orphan: no Linux account]")
			                   : owner == ES_OWNER_OTHER
			                           ? _("[orphan: the name is another account's now]")
			                           : "";

			struct es_verdict v;
			/* must choose a new password at the next login: a
			 * temporary one (even if disabled now), or one too old */
			bool must = es_state_get_bool(&st, ES_K_MUST_CHANGE) ||
			            (verdict_of(ctx, &st, &v) && v.kind == ES_V_EXPIRED);

			ui_fmt_time((time_t)es_state_get_i64(&st, ES_K_LAST_LOGIN, 0), false, t,
			            sizeof(t));
			if (r == NULL ||
			    (add_cell(r, C_USER, user, 0) |
			     add_cell(r, C_NAME, or_dash(es_state_get(&st, ES_K_NAME)), LIST_NAME_COLS) |
			     add_cell(r, C_ROLE, or_dash(role), 0) |
			     add_cell(r, C_CLASS, or_dash(es_state_get(&st, ES_K_CLASS)),
			              LIST_CLASS_COLS) |
			     add_cell(r, C_MUST, must ? "yes" : "no", 0) |
			     add_cell(r, C_OFF, es_state_get_bool(&st, ES_K_DISABLED) ? "yes" : "no", 0) |
			     add_cell(r, C_LOGIN, t, 0) |
			     add_cell(r, C_EMAIL, or_dash(es_state_get(&st, ES_K_EMAIL)), 0) |
			     add_cell(r, C_NOTE, note, 0)) != 0) {
				es_state_free(&st);
				return ES_EOS; /* out of memory: stops the listing */
			}
		}
		if (owner == ES_OWNER_OK)
			lc->shown++;
		else
			lc->orphans++;
	}
	es_state_free(&st);
	return 0;
}

/* The table, each column as wide as its widest cell (in display columns,
 * not bytes: "Élodie" and "山田" line up with "Alice"). */
static int list_print(const struct list_ctx *lc)
{
	size_t width[N_COLS] = { 0 };
	struct es_buf b = { 0 };
	int rc = 0;

	for (size_t i = 0; i < lc->n_rows; i++)
		for (int c = 0; c < N_COLS; c++)
			if (lc->rows[i].cols[c] > width[c])
				width[c] = lc->rows[i].cols[c];
	for (size_t i = 0; i < lc->n_rows && rc == 0; i++) {
		const struct list_row *r = &lc->rows[i];
		int last = r->cols[C_NOTE] > 0 ? C_NOTE : C_EMAIL;

		for (int c = 0; c <= last && rc == 0; c++) {
			rc |= es_buf_append(&b, r->cell[c].data != NULL ? r->cell[c].data : "",
			                    r->cell[c].len);
			if (c < last)
				for (size_t k = r->cols[c]; k < width[c] + 2 && rc == 0; k++)
					rc |= es_buf_append(&b, " ", 1);
		}
		rc |= es_buf_puts(&b, "\n");
	}
	if (rc == 0)
		(void)fwrite(b.data != NULL ? b.data : "", 1, b.len, stdout);
	es_buf_free(&b);
	return rc;
}

int cmd_list(struct cli *ctx, const struct args *a)
{
	const char *role = arg_value(a, "role");
	struct es_err err = { 0 };
	struct list_ctx lc;
	int rc;

	memset(&lc, 0, sizeof(lc));
	if (role != NULL && es_config_find_role(&ctx->cfg, role) == NULL) {
		ui_warn("unknown role '%s'", role);
		return ES_EDATA;
	}
	lc.ctx = ctx;
	lc.role = role;
	lc.n_classes = arg_values(a, "class", &lc.classes);
	if (!ctx->json && list_header(&lc) != 0) {
		free_rows(&lc);
		ui_warn("out of memory");
		return ES_EOS;
	}
	rc = es_store_foreach(&ctx->store, list_one, &lc, &err);
	if (rc < 0) {
		free_rows(&lc);
		return ui_fail(&err);
	}
	if (rc > 0 || (!ctx->json && list_print(&lc) != 0)) {
		free_rows(&lc);
		ui_warn("out of memory");
		return ES_EOS;
	}
	free_rows(&lc);
	if (!ctx->json && !ctx->quiet) {
		printf(_("%zu account(s)"), lc.shown);
		if (lc.orphans > 0)
			printf(_("; %zu orphan state(s) without their Linux account ('eschool "
			         "show USER' says more, 'eschool forget USER' removes one)"),
			       lc.orphans);
		printf("\n");
	}
	return lc.rc;
}

int set_disabled_one(struct cli *ctx, const char *user, bool disable)
{
	struct es_state st;
	struct es_err err = { 0 };
	struct es_policy pol;
	struct es_record rec = { .token = -1 };
	int rc;

	es_state_init(&st, "");
	rc = load_managed(ctx, user, &st); /* not managed: no lock file made */
	if (rc != 0)
		goto out;
	rc = es_record_open(&ctx->store, user, ES_RECORD_WRITE, &st, &rec, &err);
	if (rc < 0) {
		rc = ui_fail(&err);
		goto out;
	}
	if (rc == 1) { /* forgotten meanwhile */
		rc = load_managed(ctx, user, &st);
		goto out;
	}
	{
		char why[600];

		/* usermod on a name whose account is gone fails (71), and on
		 * someone else's account made since under that name would
		 * lock them out */
		if (state_orphan(&st, why, sizeof(why)) != ES_OWNER_OK) {
			ui_warn("%s", why);
			rc = ES_ENOUSER;
			goto out;
		}
	}
	if (es_account_policy(&ctx->cfg, &st, &pol, &err) != 0 ||
	    account_source_for(&pol)->lock(user, disable, &err) != 0) {
		rc = ui_fail(&err);
		goto out;
	}
	if (es_state_set(&st, ES_K_DISABLED, disable ? "1" : "0") != 0 ||
	    es_record_save(&rec, &err) != 0) {
		struct es_err e2 = { 0 };

		if (err.msg[0] == '\0')
			es_err_set(&err, ES_EOS, "out of memory");
		/* nothing half done: the account goes back as it was (a full
		 * or read-only state disk does not stop usermod on /etc) */
		if (account_source_for(&pol)->lock(user, !disable, &e2) != 0)
			ui_warn("%s", ui_err(&e2));
		rc = ui_fail(&err);
		goto out;
	}
	log_msg(LOG_AUTHPRIV, LOG_NOTICE, "account %s: user=%s", disable ? "disabled" : "enabled",
	       user);
	if (ctx->json)
		printf("{\"username\":\"%s\",\"disabled\":%s}\n", user, disable ? "true" : "false");
	else if (!ctx->quiet)
		printf("%s %s\n",
		       disable ? _("Account disabled:")
		               : _("Account enabled:"),
		       user);
out:
	es_record_close(&rec);
	es_state_free(&st);
	return rc;
}

/* USER... or --class CLASS...: each account on its own (one that cannot
 * be changed is said and the others are done); the exit code is the
 * first failure's. */
static int set_disabled(struct cli *ctx, const struct args *a, bool disable)
{
	const char *const *classes;
	int n_classes = arg_values(a, "class", &classes);
	struct es_err err = { 0 };
	char **users = NULL;
	size_t n_users = 0;
	intptr_t all = -1;
	int rc = 0;

	if ((a->n_positional == 0) == (n_classes == 0))
		return arg_usage_error(a, _("say which accounts: USER... or --class CLASS (not both)"));
	for (int i = 0; i < a->n_positional; i++)
		if (!es_valid_username(a->positional[i])) {
			ui_warn("invalid username '%s'", a->positional[i]);
			return ES_EDATA;
		}
	/* the global lock orders us against reset (which would unlock the
	 * password); the user's lock against the PAM module */
	if (es_store_lock_all(&ctx->store, &all, &err) != 0)
		return ui_fail(&err);
	if (n_classes > 0 &&
	    class_accounts(ctx, classes, n_classes, true, &users, &n_users, &err) != 0) {
		es_store_unlock_all(&ctx->store, all);
		return ui_fail(&err);
	}
	for (size_t i = 0; i < (n_classes > 0 ? n_users : (size_t)a->n_positional); i++) {
		int r = set_disabled_one(ctx, n_classes > 0 ? users[i] : a->positional[i], disable);

		if (rc == 0)
			rc = r;
	}
	users_free(users, n_users);
	es_store_unlock_all(&ctx->store, all);
	return rc;
}

int cmd_disable(struct cli *ctx, const struct args *a)
{
	return set_disabled(ctx, a, true);
}

int cmd_enable(struct cli *ctx, const struct args *a)
{
	return set_disabled(ctx, a, false);
}

/* Counts the queued (or failed) mails for user: forget leaves them, and
 * says so. -1 when the queue cannot be listed. */
static long queued_for(const struct cli *ctx, const char *user)
{
	struct es_qmsg *list = NULL;
	struct es_err err = { 0 };
	size_t n = 0, bad = 0;
	long count = 0;

	if (es_queue_list(ctx->cfg.spool_dir, &list, &n, &bad, &err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		count += strcmp(list[i].user, user) == 0;
	free(list);
	return count;
}

/* What forget says: the state is gone, and the mails still queued for
 * user (queued < 0: the queue could not be counted). */
static void print_forgotten(const struct cli *ctx, const char *user, long queued)
{
	if (ctx->json) {
		printf("{\"username\":\"%s\",\"forgotten\":true,\"queued_mails\":", user);
		if (queued >= 0)
			printf("%ld}\n", queued);
		else
			printf("null}\n");
	} else if (!ctx->quiet) {
		printf(_("Forgotten: %s (its eschool state is removed)\n"), user);
		if (queued > 0)
			printf(_("%ld mail(s) for %s are still queued: 'eschool queue list' shows "
			         "them, 'eschool queue drop ID' removes one\n"),
			       queued, user);
	}
}

int cmd_forget(struct cli *ctx, const struct args *a)
{
	struct es_state st;
	struct es_err err = { 0 };
	const char *user = NULL;
	char why[600];
	struct es_record rec = { .token = -1 };
	intptr_t all = -1;
	int rc, loaded;
	struct es_err e2 = { 0 };
	long uid;

	es_state_init(&st, "");
	user = a->positional[0];
	if (!es_valid_username(user)) {
		ui_warn("invalid username '%s'", user);
		return ES_EDATA;
	}
	/* the global lock orders us against add and import, which may be
	 * about to make that account again; the user's, against the module */
	if (es_store_lock_all(&ctx->store, &all, &err) != 0) {
		rc = ui_fail(&err);
		goto out;
	}
	/* no state: said before the user's lock would make a lock file */
	loaded = load_user_state(ctx, user, &st, &err);
	es_err_clear(&err);
	if (loaded != 1) {
		/* locked even when the file cannot be read: a corrupt state of
		 * a removed account is forgotten too */
		loaded = es_record_open(&ctx->store, user, ES_RECORD_WRITE_ANYWAY, &st, &rec, &err);
		if (loaded < 0 && !rec.writable) {
			rc = ui_fail(&err);
			goto out;
		}
	}
	if (loaded == 1) {
		ui_warn("no eschool state for %s: nothing to forget",
		        user);
		rc = ES_ENOUSER;
		goto out;
	}
	/* a corrupt or unsafe file is forgotten too when its account is gone
	 * (its uid cannot be read: the account's absence decides) */
	if (loaded < 0 && err.code != ES_EDATA) {
		rc = ui_fail(&err);
		goto out;
	}
	if (loaded < 0 ? account_uid(user, &uid, &e2) != 0
	               : state_orphan(&st, why, sizeof(why)) == ES_OWNER_OK) {
		ui_warn("%s still has its Linux account: forget only removes what a removed "
		        "account left (remove the account first: userdel -r %s)",
		        user, user);
		rc = ES_EDATA;
		goto out;
	}
	es_err_clear(&err);
	if (es_record_remove(&rec, &err) != 0) {
		rc = ui_fail(&err);
		goto out;
	}
	log_msg(LOG_AUTHPRIV, LOG_NOTICE, "state forgotten: user=%s (no such Linux account)", user);
	print_forgotten(ctx, user, queued_for(ctx, user));
	rc = 0;
out:
	es_record_close(&rec);
	es_store_unlock_all(&ctx->store, all);
	es_state_free(&st);
	return rc;
}
