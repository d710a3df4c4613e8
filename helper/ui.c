/* What the helper says to people: the terminal's language, warnings,
 * information, credentials and times as printed. */
#include "ui.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "es_msg.h"

static bool french;

void ui_set_french(bool yes)
{
	french = yes;
}

bool ui_french(void)
{
	return french;
}

const char *ui_text(const char *text)
{
	return es_msg(french, text);
}

const char *ui_err(const struct es_err *err)
{
	return es_err_text(err, french);
}

void ui_warn(const char *fmt, ...)
{
	va_list ap;

	(void)fputs("eschool: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, es_msg(french, fmt), ap);
	va_end(ap);
	(void)fputc('\n', stderr);
}

void ui_info(const struct cli *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->quiet)
		return;
	va_start(ap, fmt);
	/* with --json, stdout carries only JSON: people's text goes to stderr */
	(void)vfprintf(ctx->json ? stderr : stdout, es_msg(french, fmt), ap);
	va_end(ap);
}

int ui_fail(const struct es_err *err)
{
	ui_warn("%s", ui_err(err));
	return err->code ? err->code : ES_ESOFTWARE;
}

void ui_fmt_time(time_t t, bool iso, char *out, size_t outsz)
{
	struct tm tm;

	if (t <= 0) {
		(void)es_strlcpy(out, iso ? "" : "-", outsz);
		return;
	}
	if (iso) {
		if (gmtime_r(&t, &tm) == NULL || strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			(void)es_strlcpy(out, "", outsz);
	} else {
		if (localtime_r(&t, &tm) == NULL || strftime(out, outsz, "%Y-%m-%d %H:%M", &tm) == 0)
			(void)es_strlcpy(out, "-", outsz);
	}
}

void ui_fmt_when(time_t t, char *out, size_t outsz)
{
	/* a time with no local form (out of range) as the tables show it */
	if (t <= 0 || es_fmt_when(t, french ? "fr" : "en", out, outsz) != 0)
		ui_fmt_time(t, false, out, outsz);
}

/* Writes straight to fd 1 after flushing stdio, so that the password never
 * sits in stdio's buffer; our buffer is wiped by es_buf_free. */
void ui_out_write(const struct es_buf *b)
{
	size_t off = 0;

	(void)fflush(stdout);
	while (off < b->len) {
		ssize_t w = write(STDOUT_FILENO, b->data + off, b->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* a reader that stopped reading (| head) is no error to
			 * report: stop quietly, as main does for stdio */
			if (w == 0 || errno != EPIPE)
				ui_warn("cannot write the output: %s",
				        w == 0 ? "nothing written" : strerror(errno));
			return;
		}
		off += (size_t)w;
	}
}

void ui_print_credential(const struct cli *ctx, const char *user, const char *password,
                         const char *delivery)
{
	struct es_buf b = { 0 };
	int rc;

	if (ctx->json) {
		rc = es_buf_puts(&b, "{\"username\":") | es_buf_json_str(&b, user);
		if (password != NULL)
			rc |= es_buf_puts(&b, ",\"password\":") | es_buf_json_str(&b, password);
		rc |= es_buf_puts(&b, ",\"delivery\":") | es_buf_json_str(&b, delivery) |
		      es_buf_puts(&b, "}\n");
	} else if (password != NULL) {
		rc = es_buf_printf(&b, "  %-16s %s\n  %-16s %s\n",
		                   _("Username:"), user,
		                   _("Password:"), password);
	} else {
		rc = 0;
	}
	if (rc != 0)
		ui_warn("out of memory");
	else
		ui_out_write(&b);
	es_buf_free(&b);
}

bool ui_confirmed(const char *question)
{
	char answer[16];

	(void)fprintf(stderr, "%s", question);
	(void)fflush(stderr);
	if (fgets(answer, sizeof(answer), stdin) == NULL)
		return false;
	answer[strcspn(answer, "\r\n")] = '\0';
	return strcmp(answer, "yes") == 0 || strcmp(answer, _("yes")) == 0;
}
