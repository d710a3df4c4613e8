/* Small string, number and encoding helpers used everywhere. */
#ifndef ESCHOOL_UTIL_H
#define ESCHOOL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <stdint.h>

#include "es_err.h"

#define ES_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Copies src into dst of size dstsz; returns -1 (and copies nothing useful)
 * when it does not fit, 0 otherwise. dst is always NUL-terminated. */
int es_strlcpy(char *dst, const char *src, size_t dstsz);

/* strdup that returns NULL on allocation failure (never aborts). */
char *es_strdup(const char *s);

/* Frees *p after wiping its contents (for secrets) and sets *p = NULL. */
void es_free_secret(char **p);

/* Wipes the len bytes at p (a buffer that may hold a secret: a state file,
 * a queued mail with a password) and frees p; nothing for NULL. */
void es_free_wiped(void *p, size_t len);

/* Parses a whole decimal integer in [min, max]; no sign tricks, no trailing
 * garbage, no empty string. Returns 0 or -1. */
int es_parse_long(const char *s, long min, long max, long *out);

/* Parses yes/no/true/false/on/off/1/0 (case-insensitive). */
int es_parse_bool(const char *s, bool *out);

/* true when s contains a byte < 0x20 or 0x7f (CR, LF, TAB and friends). */
bool es_has_control(const char *s);

/* true when s is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool es_utf8_valid(const char *s, size_t len);

/* Trims ASCII whitespace in place at both ends; returns s. */
char *es_trim(char *s);

/* How getpwnam_r/getgrnam_r (and getpwnam's errno) say "no such entry":
 * 0, ENOENT, ESRCH, EBADF or EPERM (POSIX; nss_sss without sssd: ENOENT).
 * Anything else is a lookup that failed, which says nothing. */
bool es_nss_not_found(int e);

struct group;
/* getgrnam_r with a buffer that grows until the entry fits: 1 with *gr
 * filled and *buf (free it) when found, 0 when NSS says there is no such
 * group, -1 and errno when it could not say. */
int es_group_get(const char *name, struct group *gr, char **buf);

/* t (local time) as a mail in language lang writes it, with no locale
 * (the module must not call setlocale, and none may be installed): month
 * names from a table. "fr": "17 décembre 2026 à 17 h 35", "1er décembre
 * 2026 à 0 h 05"; anything else, English: "17 December 2026, 17:35".
 * Returns 0; -1 when t has no local time or out is too small (out is
 * then ""). */
int es_fmt_when(time_t t, const char *lang, char *out, size_t outsz);
/* The date alone, the same way: "17 décembre 2026", "17 December 2026"
 * (a time known only to the day). */
int es_fmt_day(time_t t, const char *lang, char *out, size_t outsz);

/* Growable byte buffer. */
struct es_buf {
	char *data;
	size_t len;
	size_t cap;
};
int es_buf_append(struct es_buf *b, const void *p, size_t n);
int es_buf_puts(struct es_buf *b, const char *s);
int es_buf_printf(struct es_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
int es_buf_json_str(struct es_buf *b, const char *s);
/* Wipes (explicit_bzero) and frees. */
void es_buf_free(struct es_buf *b);

/* Percent-encoding used in the state file: '%' and control bytes (< 0x20,
 * 0x7f) become %XX; everything else, UTF-8 included, is kept. */
int es_pct_encode(struct es_buf *out, const char *s);
/* The same, with the bytes of also encoded too (separators of a list). */
int es_pct_encode_also(struct es_buf *out, const char *s, const char *also);
/* Decodes in place; -1 on a malformed escape. */
int es_pct_decode(char *s);

#endif
