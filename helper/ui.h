/* What the helper says to people: messages in the terminal's language,
 * warnings and information, credentials and times as printed. */
#ifndef ESCHOOL_UI_H
#define ESCHOOL_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "cli.h"
#include "es_err.h"
#include "es_msg.h"
#include "es_util.h"

/* The terminal's language (LC_ALL, LC_MESSAGES, LANG: French when it
 * starts with "fr"), read once by main; every message below follows it. */
void ui_set_french(bool french);
bool ui_french(void);

/* text in the terminal's language (lib/es_msg: the English is the key,
 * po/fr.po has the French), as gettext's _() */
const char *ui_text(const char *text) __attribute__((format_arg(1)));
#define _(text) ui_text(text)

/* Errors and warnings on stderr, prefixed "eschool: "; fmt is translated. */
void ui_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Information for people: stdout, or stderr under --json; none under -q;
 * fmt is translated. */
void ui_info(const struct cli *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* err's message in the terminal's language. */
const char *ui_err(const struct es_err *err);
/* Reports err on stderr and returns its exit code. */
int ui_fail(const struct es_err *err);

/* Asks question (already in the terminal's language) on stderr: true when "yes" (or "oui") is
 * typed on stdin. */
bool ui_confirmed(const char *question);

/* Prints one delivered credential: JSON object or a human block. */
void ui_print_credential(const struct cli *ctx, const char *user, const char *password,
                         const char *delivery);

/* Formats a time for people (local time) or JSON (UTC, ISO 8601): the
 * form of tables and listings. */
void ui_fmt_time(time_t t, bool iso, char *out, size_t outsz);
/* A time inside a sentence, as the terminal's language writes it (as the
 * mails do: es_fmt_when): "17 December 2026, 17:35". */
void ui_fmt_when(time_t t, char *out, size_t outsz);

/* Writes b to stdout with write(2) after flushing stdio, so that secrets
 * never sit in stdio's buffer. */
void ui_out_write(const struct es_buf *b);

#endif
