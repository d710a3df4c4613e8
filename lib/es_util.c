#include "es_util.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "es_bytes.h"

int es_strlcpy(char *dst, const char *src, size_t dstsz)
{
	size_t n;

	if (dstsz == 0)
		return -1;
	n = strlen(src);
	if (n >= dstsz) {
		dst[0] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

char *es_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

void es_free_secret(char **p)
{
	if (p == NULL || *p == NULL)
		return;
	explicit_bzero(*p, strlen(*p));
	free(*p);
	*p = NULL;
}

void es_free_wiped(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

int es_parse_long(const char *s, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	/* strtol accepts leading spaces and '+': a config value does not */
	if (!isdigit((unsigned char)s[0]) && !(s[0] == '-' && isdigit((unsigned char)s[1])))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int es_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < ES_ARRAY_LEN(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

bool es_has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f)
			return true;
	}
	return false;
}

bool es_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t need;
		unsigned long cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return false; /* continuation byte, overlong lead, > U+10FFFF */
		}
		if (len - i <= need)
			return false;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

char *es_trim(char *s)
{
	size_t n;
	char *start = s;

	while (*start != '\0' && isspace((unsigned char)*start))
		start++;
	n = strlen(start);
	while (n > 0 && isspace((unsigned char)start[n - 1]))
		n--;
	memmove(s, start, n);
	s[n] = '\0';
	return s;
}

static int buf_reserve(struct es_buf *b, size_t extra)
{
	size_t want, cap;
	char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return -1;
	want = b->len + extra + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	/* not realloc: the old block may hold secrets and must be wiped */
	p = malloc(cap);
	if (p == NULL)
		return -1;
	if (b->data != NULL) {
		memcpy(p, b->data, b->len + 1);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

int es_buf_append(struct es_buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) != 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int es_buf_puts(struct es_buf *b, const char *s)
{
	return es_buf_append(b, s, strlen(s));
}

int es_buf_printf(struct es_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) != 0)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int es_buf_json_str(struct es_buf *b, const char *s)
{
	if (es_buf_append(b, "\"", 1) != 0)
		return -1;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		int rc;

		if (c == '"')
			rc = es_buf_append(b, "\\\"", 2);
		else if (c == '\\')
			rc = es_buf_append(b, "\\\\", 2);
		else if (c == '\n')
			rc = es_buf_append(b, "\\n", 2);
		else if (c == '\r')
			rc = es_buf_append(b, "\\r", 2);
		else if (c == '\t')
			rc = es_buf_append(b, "\\t", 2);
		else if (c < 0x20 || c == 0x7f) {
			(void)snprintf(esc, sizeof(esc), "\\u%04x", c);
			rc = es_buf_append(b, esc, 6);
		} else
			rc = es_buf_append(b, s, 1);
		if (rc != 0)
			return -1;
	}
	return es_buf_append(b, "\"", 1);
}

void es_buf_free(struct es_buf *b)
{
	if (b->data != NULL) {
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}

int es_pct_encode(struct es_buf *out, const char *s)
{
	return es_pct_encode_also(out, s, "");
}

int es_pct_encode_also(struct es_buf *out, const char *s, const char *also)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		int rc;

		if (c == '%' || c < 0x20 || c == 0x7f || strchr(also, c) != NULL) {
			char esc[4];
			(void)snprintf(esc, sizeof(esc), "%%%02X", c);
			rc = es_buf_append(out, esc, 3);
		} else {
			rc = es_buf_append(out, s, 1);
		}
		if (rc != 0)
			return -1;
	}
	return 0;
}

int es_pct_decode(char *s)
{
	char *w = s;

	for (const char *r = s; *r != '\0'; r++) {
		if (*r == '%') {
			int hi = es_hex_digit(r[1]);
			int lo = hi < 0 ? -1 : es_hex_digit(r[2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			*w++ = (char)(hi * 16 + lo);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return 0;
}

/* Month names as each language writes them in a date, in UTF-8: tables
 * rather than strftime's %B, which follows LC_TIME (the module runs in
 * the application's locale, and the machine may have no French one). */
static const char *const months_fr[12] = {
	"janvier", "février", "mars",    "avril",   "mai",      "juin",
	"juillet", "août",    "septembre", "octobre", "novembre", "décembre",
};
static const char *const months_en[12] = {
	"January", "February", "March",     "April",   "May",      "June",
	"July",    "August",   "September", "October", "November", "December",
};

/* The shared part: the date (and the time when with_time) of t. */
static int fmt_local(time_t t, const char *lang, bool with_time, char *out, size_t outsz)
{
	bool fr = lang != NULL && strcmp(lang, "fr") == 0;
	const char *const *months = fr ? months_fr : months_en;
	struct tm tm;
	size_t used = 0;
	int n;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	if (localtime_r(&t, &tm) == NULL || tm.tm_mon < 0 || tm.tm_mon > 11)
		return -1;
	/* French writes the first of the month as an ordinal: "1er" */
	n = snprintf(out, outsz, "%d%s %s %lld", tm.tm_mday, fr && tm.tm_mday == 1 ? "er" : "",
	             months[tm.tm_mon], (long long)tm.tm_year + 1900);
	if (n >= 0 && (size_t)n < outsz && with_time) {
		used = (size_t)n;
		/* French: the hour without a leading zero, "h" between spaces */
		n = fr ? snprintf(out + used, outsz - used, " à %d h %02d", tm.tm_hour, tm.tm_min)
		       : snprintf(out + used, outsz - used, ", %02d:%02d", tm.tm_hour, tm.tm_min);
	}
	if (n < 0 || (size_t)n >= outsz - used) {
		out[0] = '\0'; /* never half a date */
		return -1;
	}
	return 0;
}

int es_fmt_when(time_t t, const char *lang, char *out, size_t outsz)
{
	return fmt_local(t, lang, true, out, outsz);
}

int es_fmt_day(time_t t, const char *lang, char *out, size_t outsz)
{
	return fmt_local(t, lang, false, out, outsz);
}

bool es_nss_not_found(int e)
{
	return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM;
}

/* NSS's files backend copies each line it reads into the caller's buffer
 * and fails with ERANGE on any longer one, even a line it reads past: a
 * role group of 10,000 members is a line of 100 KB. So the buffer grows to
 * what the largest group needs (16 MB: a group of a million members). */
#define GROUP_BUF_MAX ((size_t)16 * 1024 * 1024)

int es_group_get(const char *name, struct group *gr, char **buf)
{
	size_t cap = 16384;

	*buf = NULL;
	for (;;) {
		struct group *res = NULL;
		char *b = malloc(cap);
		int e;

		if (b == NULL) {
			errno = ENOMEM;
			return -1;
		}
		e = getgrnam_r(name, gr, b, cap, &res);
		if (e == ERANGE && cap < GROUP_BUF_MAX) {
			free(b);
			cap *= 4;
			continue;
		}
		if (res != NULL) {
			*buf = b;
			return 1;
		}
		free(b);
		if (es_nss_not_found(e))
			return 0;
		errno = e;
		return -1;
	}
}
