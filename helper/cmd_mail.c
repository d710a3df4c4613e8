/* eschool test-email ADDR: one mail now, through the configured server,
 * and the SMTP dialogue's outcome in plain words. It is the one command
 * that uses SMTP in debug mode too: it exists to try the settings. */
#include "cli.h"
#include "commands.h"
#include "ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_names.h"
#include "mail/compose.h"
#include "mail/smtp.h"


static void step(const struct cli *ctx, bool ok, const char *what)
{
	if (!ctx->json && !ctx->quiet)
		printf("  %s %s\n", ok ? "✓" : "✗", what);
}

static void fix_line(const struct cli *ctx, const char *fix)
{
	if (!ctx->json && !ctx->quiet)
		printf("    %s %s\n", _("fix:"), fix);
}

/* Why TLS failed and what to change, by its cause. */
static void tls_advice(const struct cli *ctx, enum tls_why why, const char **cause,
                       char *fix, size_t fixsz)
{
	const char *conf = ctx->cfg.path[0] ? ctx->cfg.path : ES_CONFIG_DEFAULT_PATH;

	switch (why) {
	case TLS_UNTRUSTED:
		*cause = _("the server's certificate is not trusted");
		(void)snprintf(fix, fixsz,
		               _("its CA is not among this machine's; if the server uses a private CA, "
		                 "set ca_file = /path/to/its-ca.pem in [mail] (%s)"),
		               conf);
		return;
	case TLS_NO_STARTTLS:
		*cause = _("the server does not offer STARTTLS");
		(void)snprintf(fix, fixsz, "%s",
		               _("use port 587 with security = starttls, or 465 with security = tls"));
		return;
	case TLS_BAD_CERT:
		*cause = _("the server's certificate is refused");
		(void)snprintf(fix, fixsz, "%s",
		               _("[mail] host must be a name the certificate holds, and the certificate "
		                 "must be valid (ask the mail provider)"));
		return;
	case TLS_HANDSHAKE:
	case TLS_FINE:
		break;
	}
	*cause = _("no TLS handshake");
	(void)snprintf(fix, fixsz, "%s",
	               _("check [mail] port and security: 587 with starttls, 465 with tls"));
}

/* One line per step of the dialogue, in its order, each with its own
 * outcome: what worked, then the step that failed with its cause and
 * its fix; nothing after it (a step that never ran is not "refused"). */
static void report_steps(const struct cli *ctx, const struct smtp_result *r)
{
	char line[1024], fix[600];
	const char *said = r->reply[0] ? _("; the server said: ")
	                               : "";

	if (!r->connected) {
		(void)snprintf(line, sizeof(line), "%s: %s",
		               _("cannot connect"), r->detail);
		step(ctx, false, line);
		fix_line(ctx, _("check [mail] host and port, and that this machine may reach them"));
		return;
	}
	step(ctx, true, _("connected"));
	if (ctx->cfg.security != ES_SEC_NONE) {
		if (!r->tls) {
			const char *cause;

			tls_advice(ctx, r->tls_why, &cause, fix, sizeof(fix));
			(void)snprintf(line, sizeof(line), "%s: %s (%s)",
			               _("TLS failed"), cause, r->detail);
			step(ctx, false, line);
			fix_line(ctx, fix);
			return;
		}
		step(ctx, true, _("TLS (certificate verified)"));
	}
	if (ctx->cfg.username[0] != '\0') {
		if (!r->authenticated && strcmp(r->failed_step, "login") == 0) {
			(void)snprintf(line, sizeof(line), "%s %s: %s%s%s",
			               _("login refused for"),
			               ctx->cfg.username, r->detail, said, r->reply);
			step(ctx, false, line);
			fix_line(ctx, _("check [mail] username and the password (password_file); "
			                "Gmail and Workspace need an app password"));
			return;
		}
		if (r->authenticated) {
			(void)snprintf(line, sizeof(line), "%s %s",
			               _("logged in as"), ctx->cfg.username);
			step(ctx, true, line);
		}
	}
	if (r->accepted) {
		(void)snprintf(line, sizeof(line), "%s: %s", _("accepted"), r->reply);
		step(ctx, true, line);
		return;
	}
	(void)snprintf(line, sizeof(line), "%s (%s): %s%s%s",
	               _("failed at step"), r->failed_step, r->detail, said,
	               r->reply);
	step(ctx, false, line);
}

int cmd_test_email(struct cli *ctx, const struct args *a)
{
	struct es_err err = { 0 };
	const char *to;
	struct es_buf msg = { 0 };
	struct smtp *smtp = NULL;
	struct smtp_result r;

	to = a->positional[0];
	if (!es_valid_email(to)) {
		ui_warn("invalid email address '%s'", to);
		return ES_EDATA;
	}
	if (ctx->cfg.from[0] == '\0') {
		es_err_set(&err, ES_ECONFIG, "mail.from is not set (%s)",
		           ctx->cfg.path[0] ? ctx->cfg.path : ES_CONFIG_DEFAULT_PATH);
		goto fail;
	}
	if (compose_for(ctx, "test", NULL, to, NULL, NULL, 0, NULL, 0, &msg, NULL, &err) != 0 ||
	    smtp_open(&smtp, &ctx->cfg, &err) != 0)
		goto fail;
	if (!ctx->json && !ctx->quiet)
		printf("%s %s — %s:%ld (%s)\n", _("Test mail to"), to,
		       ctx->cfg.host, ctx->cfg.port,
		       ctx->cfg.security == ES_SEC_TLS        ? "TLS"
		       : ctx->cfg.security == ES_SEC_STARTTLS ? "STARTTLS"
		                                              : _("no encryption"));
	smtp_send(smtp, to, msg.data, msg.len, &r);
	smtp_close(smtp);
	es_buf_free(&msg);

	report_steps(ctx, &r);
	{
		/* doctor asks whether the settings were tried and worked */
		char stamp[600];

		(void)snprintf(stamp, sizeof(stamp), "%lld %s %s %s\n", (long long)ctx->now,
		               r.accepted ? "ok" : "fail", to, r.accepted ? "-" : r.failed_step);
		(void)stamp_write(ctx, "last-test-email", stamp);
	}
	if (ctx->json) {
		struct es_buf j = { 0 };
		if (es_buf_puts(&j, "{\"to\":") == 0 && es_buf_json_str(&j, to) == 0 &&
		    es_buf_printf(&j,
		                  ",\"connected\":%s,\"tls\":%s,\"authenticated\":%s,\"accepted\":%s,"
		                  "\"code\":%ld,\"reply\":",
		                  r.connected ? "true" : "false", r.tls ? "true" : "false",
		                  r.authenticated ? "true" : "false", r.accepted ? "true" : "false",
		                  r.code) == 0 &&
		    es_buf_json_str(&j, r.reply) == 0 && es_buf_puts(&j, ",\"failed_step\":") == 0 &&
		    (r.accepted ? es_buf_puts(&j, "null") : es_buf_json_str(&j, r.failed_step)) == 0 &&
		    es_buf_puts(&j, "}\n") == 0)
			ui_out_write(&j);
		es_buf_free(&j);
	}
	return r.accepted ? 0 : ES_EUNAVAIL;
fail:
	es_buf_free(&msg);
	return ui_fail(&err);
}
