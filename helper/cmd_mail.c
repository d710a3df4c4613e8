/* eschool test-email ADDR: one mail now, through the configured server,
 * and the SMTP dialogue's outcome in plain words. It is the one command
 * that uses SMTP in debug mode too: it exists to try the settings. */
#include "eschool.h"
#include "options.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "es_compose.h"
#include "es_names.h"
#include "outbox.h"
#include "smtp.h"

static const char test_usage[] = "usage: eschool test-email ADDR [--json]\n";

int es_template_dirs(char bufs[3][4096], const char *dirs[3], const struct es_ctx *ctx)
{
	char exe[PATH_MAX];
	ssize_t n;
	int k = 0;
	struct stat st;

	dirs[k++] = ES_SITE_TEMPLATES;
	if (ctx->cfg.template_dir[0] != '\0')
		dirs[k++] = ctx->cfg.template_dir;
	/* run from the source tree (make demo, tests): build/eschool finds
	 * conf/templates beside build/ */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash != NULL) {
			*slash = '\0';
			slash = strrchr(exe, '/');
			if (slash != NULL) {
				*slash = '\0';
				if ((size_t)snprintf(bufs[2], sizeof(bufs[2]), "%s/conf/templates", exe) <
				            sizeof(bufs[2]) &&
				    stat(bufs[2], &st) == 0 && S_ISDIR(st.st_mode))
					dirs[k++] = bufs[2];
			}
		}
	}
	(void)bufs;
	return k;
}

static void step(const struct es_ctx *ctx, bool ok, const char *what)
{
	if (!ctx->json && !ctx->quiet)
		printf("  %s %s\n", ok ? "✓" : "✗", what);
}

int cmd_test_email(struct es_ctx *ctx, int argc, char **argv)
{
	const struct es_opt opts[] = { { NULL, NULL, NULL } };
	struct es_args args;
	struct es_err err = { 0 };
	char line[1024];
	const char *to;
	struct es_buf msg = { 0 };
	struct es_smtp *smtp = NULL;
	struct es_smtp_result r;
	bool done;
	int rc;

	rc = es_parse_args(ctx, argc, argv, opts, test_usage, &args, &done);
	if (rc != 0 || done)
		return rc;
	if (args.n_positional != 1) {
		es_warn("%s", test_usage);
		return ES_EUSAGE;
	}
	to = args.positional[0];
	if (!es_valid_email(to)) {
		es_warn("invalid email address '%s'", to);
		return ES_EDATA;
	}
	rc = es_prepare(ctx, false);
	if (rc != 0)
		return rc;
	if (ctx->cfg.from[0] == '\0') {
		es_err_set(&err, ES_ECONFIG, "mail.from is not set (%s)",
		           ctx->cfg.path[0] ? ctx->cfg.path : ES_CONFIG_DEFAULT_PATH);
		goto fail;
	}
	if (es_compose_for(ctx, "test", NULL, to, NULL, NULL, 0, &msg, &err) != 0 ||
	    es_smtp_open(&smtp, &ctx->cfg, &err) != 0)
		goto fail;
	if (!ctx->json && !ctx->quiet)
		printf("%s %s — %s:%ld (%s)\n", tr(ctx, "Test mail to", "Message de test pour"), to,
		       ctx->cfg.host, ctx->cfg.port,
		       ctx->cfg.security == ES_SEC_TLS        ? "TLS"
		       : ctx->cfg.security == ES_SEC_STARTTLS ? "STARTTLS"
		                                              : tr(ctx, "no encryption", "sans chiffrement"));
	es_smtp_send(smtp, to, msg.data, msg.len, &r);
	es_smtp_close(smtp);
	es_buf_free(&msg);

	step(ctx, r.connected, r.connected ? tr(ctx, "connected", "connecté")
	                                   : tr(ctx, "cannot connect", "connexion impossible"));
	if (r.connected && ctx->cfg.security != ES_SEC_NONE)
		step(ctx, r.tls, r.tls ? tr(ctx, "TLS (certificate verified)", "TLS (certificat vérifié)")
		                       : tr(ctx, "TLS failed", "échec de TLS"));
	if (r.tls && ctx->cfg.username[0] != '\0') {
		(void)snprintf(line, sizeof(line), "%s %s",
		               r.authenticated ? tr(ctx, "logged in as", "connecté en tant que")
		                               : tr(ctx, "login refused for", "identifiants refusés pour"),
		               ctx->cfg.username);
		step(ctx, r.authenticated, line);
	}
	if (r.accepted) {
		(void)snprintf(line, sizeof(line), "%s: %s", tr(ctx, "accepted", "accepté"), r.reply);
		step(ctx, true, line);
	} else {
		(void)snprintf(line, sizeof(line), "%s (%s): %s%s%s",
		               tr(ctx, "failed at step", "échec à l'étape"), r.failed_step, r.detail,
		               r.reply[0] ? tr(ctx, "; the server said: ", " ; le serveur a répondu : ")
		                          : "",
		               r.reply);
		step(ctx, false, line);
	}
	{
		/* doctor asks whether the settings were tried and worked */
		char stamp[600];

		(void)snprintf(stamp, sizeof(stamp), "%lld %s %s %s\n", (long long)ctx->now,
		               r.accepted ? "ok" : "fail", to, r.accepted ? "-" : r.failed_step);
		(void)es_stamp_write(ctx, "last-test-email", stamp);
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
			es_out_write(&j);
		es_buf_free(&j);
	}
	return r.accepted ? 0 : ES_EUNAVAIL;
fail:
	es_buf_free(&msg);
	return es_fail(&err);
}
