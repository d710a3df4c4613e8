/* eschool set-email USER ADDR / verify-email USER CODE (SPEC section 4):
 * an address changes only once a code mailed to the new address comes
 * back. The code is stored only as a keyed hash (lib/es_code), expires
 * after email_code_ttl_minutes, and dies after email_code_tries wrong
 * answers. The old address is told at once. The student may also answer
 * at the next login (pam_eschool's prompt). */
#include "cli.h"
#include "commands.h"
#include "ui.h"
#include "provision.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "es_account.h"
#include "es_code.h"
#include "es_compose.h"
#include "es_names.h"
#include "es_queue.h"
#include "mail/deliver.h"


/* Locks and loads a managed user's state; an exit code on failure. */
static int open_user(struct cli *ctx, const char *user, struct es_state *st,
                     struct es_record *rec)
{
	struct es_err err = { 0 };
	int rc;

	if (!es_valid_username(user)) {
		ui_warn("invalid username '%s'", user);
		return ES_EDATA;
	}
	rc = es_record_open(&ctx->store, user, ES_RECORD_WRITE, st, rec, &err);
	if (rc < 0)
		return ui_fail(&err);
	if (rc == 1) {
		ui_warn("%s is not an account managed by eschool",
		        user);
		return ES_ENOUSER;
	}
	{
		char why[600];

		/* an address for an account that is gone, or that is someone
		 * else's now, would send that person's mails astray */
		if (state_orphan(st, why, sizeof(why)) != ES_OWNER_OK) {
			ui_warn("%s", why);
			return ES_ENOUSER;
		}
	}
	return 0;
}

static void print_result(const struct cli *ctx, const char *user, const char *email,
                         time_t expires, const char *code, const char *delivery)
{
	struct es_buf b = { 0 };
	char when[64];
	int rc;

	if (ctx->json)
		ui_fmt_time(expires, true, when, sizeof(when));
	else /* inside a sentence: as the terminal's language writes it */
		ui_fmt_when(expires, when, sizeof(when));
	if (ctx->json) {
		rc = es_buf_puts(&b, "{\"username\":") | es_buf_json_str(&b, user) |
		     es_buf_puts(&b, ",\"pending_email\":") | es_buf_json_str(&b, email) |
		     es_buf_puts(&b, ",\"expires\":") | es_buf_json_str(&b, when) |
		     es_buf_puts(&b, ",\"delivery\":") | es_buf_json_str(&b, delivery);
		if (code != NULL)
			rc |= es_buf_puts(&b, ",\"code\":") | es_buf_json_str(&b, code);
		rc |= es_buf_puts(&b, "}\n");
	} else if (code != NULL) {
		rc = es_buf_printf(&b, _("Code for %s to confirm %s (until %s): %s\n"),
		                   user, email, when, code);
	} else {
		rc = es_buf_printf(&b, _("A code was mailed to %s; %s's address changes when it "
		                         "is confirmed (until %s).\n"),
		                   email, user, when);
	}
	if (rc == 0)
		ui_out_write(&b);
	es_buf_free(&b);
}

/* How many queued (or failed) mails for user go to the account's own
 * address: the next queue run (or resend) sends them to the new one. */
static size_t queued_following(const struct cli *ctx, const char *user)
{
	struct es_err err = { 0 };
	struct es_qmsg *list = NULL;
	size_t n = 0, bad = 0, count = 0;

	if (es_queue_list(ctx->cfg.spool_dir, &list, &n, &bad, &err) != 0)
		return 0; /* only a hint: queue list says what is there */
	for (size_t i = 0; i < n; i++)
		count += strcmp(list[i].user, user) == 0 &&
		         es_account_mail_follows_email(list[i].kind, list[i].secret);
	free(list);
	return count;
}

/* set-email --force: the address changes now (a typo the administrator
 * fixes); logged with both addresses, and the old one said. Nothing is
 * mailed: a mistyped address may well be a stranger's, and the
 * email-changed notice tells of a change still to be confirmed by a code,
 * which this is not. The mails still queued for the account's address go
 * to the new one when they are sent (mail_to_account_now). */
static int force_email(struct cli *ctx, const struct es_record *rec, const char *addr)
{
	struct es_err err = { 0 };
	const char *old = es_state_get(rec->st, ES_K_EMAIL);
	char was[320];
	size_t queued;

	(void)es_strlcpy(was, old != NULL ? old : "", sizeof(was));
	if (es_account_email_set(rec->st, addr) != 0) {
		es_err_set(&err, ES_EOS, "out of memory");
		return ui_fail(&err);
	}
	if (es_record_save(rec, &err) != 0)
		return ui_fail(&err);
	log_msg(LOG_AUTHPRIV, LOG_NOTICE,
	       "set-email --force: address of %s changed from %s to %s by the administrator",
	       rec->user, was[0] != '\0' ? was : "-", addr);
	queued = queued_following(ctx, rec->user);
	if (ctx->json) {
		struct es_buf b = { 0 };

		if ((es_buf_puts(&b, "{\"username\":") | es_buf_json_str(&b, rec->user) |
		     es_buf_puts(&b, ",\"email\":") | es_buf_json_str(&b, addr) |
		     es_buf_puts(&b, ",\"previous_email\":") |
		     (was[0] != '\0' ? es_buf_json_str(&b, was) : es_buf_puts(&b, "null")) |
		     es_buf_printf(&b, ",\"forced\":true,\"queued_mails\":%zu}\n", queued)) == 0)
			ui_out_write(&b);
		es_buf_free(&b);
		return 0;
	}
	ui_info(ctx, "%s's address is now %s (forced: no code; was: %s)\n", rec->user, addr,
	        was[0] != '\0' ? was : "-");
	if (queued > 0)
		ui_info(ctx,
		        "%zu mail(s) queued for %s now go to %s ('eschool resend %s' sends the "
		        "credentials now, 'eschool queue run' the rest)\n",
		        queued, rec->user, addr, rec->user);
	return 0;
}

/* The user's policy and the code key (made when create and missing):
 * 0, or the exit code after saying why. */
static int policy_and_key(const struct cli *ctx, const struct es_state *st, bool create,
                          struct es_policy *pol, unsigned char key[ES_CODE_KEY_LEN])
{
	struct es_err err = { 0 };

	if (es_account_policy(&ctx->cfg, st, pol, &err) != 0 ||
	    es_store_code_key(&ctx->store, create, key, &err) != 0)
		return ui_fail(&err);
	return 0;
}

/* Production: the code to the new address, and a notice to the old one.
 * Returns the code mail's delivery ("fallback" when it could not go: the
 * code is then shown). */
static const char *mail_code(struct cli *ctx, const struct es_state *st, const char *addr,
                             const char *old, const char *pretty, time_t expires)
{
	const char *user = st->username, *name = es_state_get(st, ES_K_NAME);
	const char *lang = es_state_get(st, ES_K_LANG), *delivery = "printed", *notice;
	const struct es_tvar vars[] = {
		{ "name", name != NULL && name[0] ? name : user },
		{ "username", user },
		{ "code", pretty },
		{ "new_email", addr },
		{ "old_email", old != NULL ? old : "" },
	};
	const struct es_tdate dates[] = { { .name = "expires", .t = expires } };
	struct es_err err = { 0 };

	if (deliver_mail(ctx, user, "verify-email", lang, addr, name, vars, ES_ARRAY_LEN(vars),
	                 dates, ES_ARRAY_LEN(dates), true, &delivery, &err) != 0) {
		ui_warn("%s", ui_err(&err));
		es_err_clear(&err);
		delivery = "fallback";
	}
	/* the old address learns of it now: if it was not its owner's doing,
	 * they can say so before the code is used */
	if (old != NULL && old[0] != '\0' &&
	    deliver_mail(ctx, user, "email-changed", lang, old, name, vars, ES_ARRAY_LEN(vars),
	                 dates, ES_ARRAY_LEN(dates), false, &notice, &err) != 0)
		ui_warn("%s", ui_err(&err));
	return delivery;
}

int cmd_set_email(struct cli *ctx, const struct args *a)
{
	const char *user = a->positional[0], *addr = a->positional[1], *old;
	const char *delivery = "printed";
	unsigned char key[ES_CODE_KEY_LEN];
	char code[ES_CODE_LEN + 1], hex[ES_CODE_HASH_HEX], pretty[ES_CODE_LEN + 2];
	struct es_state st;
	struct es_policy pol;
	struct es_err err = { 0 };
	int64_t expires;
	bool force = arg_flag(a, "force");
	struct es_record rec = { .token = -1 };
	int rc;

	es_state_init(&st, "");
	if (!es_valid_email(addr)) {
		ui_warn("invalid email address '%s'", addr);
		return ES_EDATA;
	}
	rc = open_user(ctx, user, &st, &rec);
	if (rc != 0)
		goto out;
	old = es_state_get(&st, ES_K_EMAIL);
	if (old != NULL && strcmp(old, addr) == 0) {
		ui_info(ctx, "%s's address is already %s: nothing to do\n",
		        user, addr);
		goto out;
	}
	if (force) {
		rc = force_email(ctx, &rec, addr);
		goto out;
	}
	rc = policy_and_key(ctx, &st, true, &pol, key);
	if (rc != 0)
		goto out;
	if (es_code_new(code) != 0) {
		sodium_memzero(key, sizeof(key));
		es_err_errno(&err, ES_EOS, errno, "no random bytes for a code");
		rc = ui_fail(&err);
		goto out;
	}
	if (es_code_hash(key, user, code, hex, &err) != 0) {
		sodium_memzero(key, sizeof(key));
		rc = ui_fail(&err);
		goto out;
	}
	sodium_memzero(key, sizeof(key));
	/* a new request replaces any earlier one (and its tries) */
	if (es_account_email_request(&st, &pol, addr, hex, ctx->now, &expires) != 0 ||
	    es_record_save(&rec, &err) != 0) {
		if (err.msg[0] == '\0')
			es_err_set(&err, ES_EOS, "out of memory");
		rc = ui_fail(&err);
		goto out;
	}
	es_record_close(&rec);
	log_msg(LOG_AUTHPRIV, LOG_NOTICE, "set-email: address change of %s to %s requested", user,
	       addr);
	(void)snprintf(pretty, sizeof(pretty), "%.4s-%.4s", code, code + 4);
	if (ctx->cfg.mode == ES_MODE_PRODUCTION)
		delivery = mail_code(ctx, &st, addr, old, pretty, (time_t)expires);
	print_result(ctx, user, addr, (time_t)expires,
	             strcmp(delivery, "printed") == 0 || strcmp(delivery, "fallback") == 0 ? pretty
	                                                                                    : NULL,
	             delivery);
out:
	sodium_memzero(code, sizeof(code));
	sodium_memzero(pretty, sizeof(pretty));
	es_record_close(&rec);
	es_state_free(&st);
	return rc;
}

static void print_confirmed(const struct cli *ctx, const char *user, const char *addr)
{
	struct es_buf b = { 0 };

	if (!ctx->json) {
		ui_info(ctx, "%s's address is now %s\n", user, addr);
		return;
	}
	if ((es_buf_puts(&b, "{\"username\":") | es_buf_json_str(&b, user) |
	     es_buf_puts(&b, ",\"email\":") | es_buf_json_str(&b, addr) | es_buf_puts(&b, "}\n")) ==
	    0)
		ui_out_write(&b);
	es_buf_free(&b);
}

int cmd_verify_email(struct cli *ctx, const struct args *a)
{
	const char *user = a->positional[0], *typed = a->positional[1], *pending;
	unsigned char key[ES_CODE_KEY_LEN];
	struct es_state st;
	struct es_policy pol;
	struct es_err err = { 0 };
	char when[64];
	enum es_confirm_outcome outcome;
	char addr[320];
	long tries_left;
	struct es_record rec = { .token = -1 };
	int rc;

	es_state_init(&st, "");
	rc = open_user(ctx, user, &st, &rec);
	if (rc != 0)
		goto out;
	pending = es_state_get(&st, ES_K_PENDING_EMAIL);
	if (pending == NULL || pending[0] == '\0') {
		ui_warn("no address change is pending for %s (eschool set-email %s ADDR)",
		        user, user);
		rc = ES_EDATA;
		goto out;
	}
	rc = policy_and_key(ctx, &st, false, &pol, key);
	if (rc != 0)
		goto out;
	(void)es_strlcpy(addr, pending, sizeof(addr));
	outcome = es_account_email_confirm(&st, &pol, key, typed, NULL, ctx->now, &tries_left,
	                                   &err);
	sodium_memzero(key, sizeof(key));
	switch (outcome) {
	case ES_CONFIRM_FAILED:
		rc = ui_fail(&err);
		goto out;
	case ES_CONFIRM_NO_TRIES:
		ui_warn("too many wrong codes for %s: ask for a new one (eschool set-email %s %s)",
		        user, user, addr);
		rc = ES_EDATA;
		goto out;
	case ES_CONFIRM_EXPIRED:
		ui_fmt_when((time_t)es_state_get_i64(&st, ES_K_PENDING_EXPIRES, 0), when,
		            sizeof(when));
		ui_warn("the code for %s expired on %s: ask for a new one (eschool set-email "
		        "%s %s)",
		        user, when, user, addr);
		rc = ES_EDATA;
		goto out;
	case ES_CONFIRM_NONE: /* pending checked above: only out of memory */
		rc = ES_EOS;
		goto out;
	case ES_CONFIRM_WRONG:
		/* counted before anything is said: a crash cannot give a free try */
		if (es_record_save(&rec, &err) != 0) {
			rc = ui_fail(&err);
			goto out;
		}
		log_msg(LOG_AUTHPRIV, LOG_NOTICE, "verify-email: wrong code for %s", user);
		ui_warn("wrong code for %s (%ld tries left)",
		        user, tries_left);
		rc = ES_EDATA;
		goto out;
	case ES_CONFIRM_OK:
		break;
	}
	if (es_record_save(&rec, &err) != 0) {
		rc = ui_fail(&err);
		goto out;
	}
	log_msg(LOG_AUTHPRIV, LOG_NOTICE, "verify-email: address of %s is now %s", user, addr);
	print_confirmed(ctx, user, addr);
out:
	es_record_close(&rec);
	es_state_free(&st);
	return rc;
}
