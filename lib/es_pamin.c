#include "es_pamin.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char HEX[] = "0123456789abcdef";

/* config=PATH: absolute (the module never resolves a relative path against
 * the host program's working directory), bounded, and printable so that it
 * can be named in a log line as it is. */
static bool config_path_ok(const char *p)
{
	size_t n;

	if (p[0] != '/')
		return false;
	n = strnlen(p, ES_PAM_CONFIG_MAX + 1);
	if (n > ES_PAM_CONFIG_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

/* A decimal integer in [lo, hi]: an optional '-', 1 to 4 digits, nothing
 * else (no space, no '+', no leading zeros beyond "0"). */
static bool small_int(const char *s, long lo, long hi, long *out)
{
	bool neg = s[0] == '-';
	const char *d = s + (neg ? 1 : 0);
	long v = 0;
	size_t n = 0;

	for (; d[n] != '\0'; n++) {
		if (d[n] < '0' || d[n] > '9' || n >= 4)
			return false;
		v = v * 10 + (d[n] - '0');
	}
	if (n == 0 || (n > 1 && d[0] == '0'))
		return false;
	if (neg)
		v = -v;
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* name=N for the password rules; false when arg is not one of them or its
 * value is out of range. */
static bool rule_arg(const char *a, struct es_pam_rules *r)
{
	const struct {
		const char *name;
		long *dst;
		long lo, hi;
	} rules[] = {
		{ "minlen=", &r->minlen, 1, ES_PAM_MINLEN_MAX },
		{ "minclass=", &r->minclass, 1, 4 },
		{ "ucredit=", &r->ucredit, -ES_PAM_CREDIT_MAX, ES_PAM_CREDIT_MAX },
		{ "lcredit=", &r->lcredit, -ES_PAM_CREDIT_MAX, ES_PAM_CREDIT_MAX },
		{ "dcredit=", &r->dcredit, -ES_PAM_CREDIT_MAX, ES_PAM_CREDIT_MAX },
		{ "ocredit=", &r->ocredit, -ES_PAM_CREDIT_MAX, ES_PAM_CREDIT_MAX },
	};

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		size_t n = strlen(rules[i].name);

		if (strncmp(a, rules[i].name, n) == 0)
			return small_int(a + n, rules[i].lo, rules[i].hi, rules[i].dst);
	}
	return false;
}

int es_pam_args_parse(int argc, const char *const *argv, struct es_pam_args *out,
                      void (*bad)(const char *arg, void *ctx), void *ctx)
{
	int nbad = 0;

	out->debug = false;
	out->config_path = ES_PAM_DEFAULT_CONFIG;
	memset(&out->rules, 0, sizeof(out->rules));
	if (argv == NULL)
		argc = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (a != NULL && strcmp(a, "debug") == 0) {
			out->debug = true;
			continue;
		}
		if (a != NULL && strncmp(a, "config=", 7) == 0 && config_path_ok(a + 7)) {
			out->config_path = a + 7;
			continue;
		}
		if (a != NULL && rule_arg(a, &out->rules))
			continue;
		nbad++;
		if (bad != NULL)
			bad(a != NULL ? a : "", ctx);
	}
	return nbad;
}

static size_t put_hex(char *out, size_t o, unsigned char ch)
{
	out[o] = '\\';
	out[o + 1] = 'x';
	out[o + 2] = HEX[ch >> 4];
	out[o + 3] = HEX[ch & 0x0f];
	return o + 4;
}

size_t es_login_source_clean(const char *rhost, const char *tty, char *out, size_t outsz)
{
	const char *s = rhost != NULL && rhost[0] != '\0' ? rhost
	                : tty != NULL && tty[0] != '\0' ? tty
	                                                : "unknown";
	size_t o = 0, max;

	if (outsz == 0)
		return 0;
	max = outsz - 1 < ES_PAM_SOURCE_MAX ? outsz - 1 : ES_PAM_SOURCE_MAX;
	/* stops at max: a 1 MB PAM_RHOST costs no more than a short one */
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch > 0x20 && ch < 0x7f && ch != ',' && ch != '%' && ch != '\\') {
			if (o + 1 > max)
				break;
			out[o++] = (char)ch;
		} else {
			if (o + 4 > max)
				break;
			o = put_hex(out, o, ch);
		}
	}
	out[o] = '\0';
	return o;
}

size_t es_login_source_shown(const char *rhost, const char *host, bool french, char *out,
                             size_t outsz)
{
	char name[ES_PAM_SOURCE_MAX + 1];
	int n;

	if (outsz == 0)
		return 0;
	if (rhost != NULL && rhost[0] != '\0')
		return es_login_source_clean(rhost, NULL, out, outsz);
	if (host != NULL && host[0] != '\0' && strcmp(host, "(none)") != 0 &&
	    strcmp(host, "localhost") != 0) {
		(void)es_login_source_clean(host, NULL, name, sizeof(name));
		n = snprintf(out, outsz, french ? "la console de l'ordinateur %s"
		                                : "the console of the computer %s", name);
	} else {
		n = snprintf(out, outsz, "%s",
		             french ? "la console de cet ordinateur" : "this computer's console");
	}
	if (n < 0 || (size_t)n >= outsz) {
		out[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

bool es_pam_user_lookup_ok(const char *user)
{
	size_t n;

	if (user == NULL)
		return false;
	n = strnlen(user, ES_PAM_USER_MAX + 1);
	if (n == 0 || n > ES_PAM_USER_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)user[i] < 0x20 || user[i] == 0x7f)
			return false;
	return true;
}

/* s starts with the two letters of lang, followed by its end or by what a
 * locale name puts after the language: _territory, .codeset, @modifier. */
static bool lang_is(const char *s, const char *lang)
{
	return strncmp(s, lang, 2) == 0 &&
	       (s[2] == '\0' || s[2] == '_' || s[2] == '.' || s[2] == '@');
}

enum es_pam_lang es_pam_locale_lang(const char *locale)
{
	if (locale == NULL)
		return ES_PAM_LANG_OTHER;
	if (strcmp(locale, "C") == 0 || strcmp(locale, "POSIX") == 0 ||
	    strncmp(locale, "C.", 2) == 0 || strncmp(locale, "C@", 2) == 0)
		return ES_PAM_LANG_EN;
	if (lang_is(locale, "fr"))
		return ES_PAM_LANG_FR;
	if (lang_is(locale, "en"))
		return ES_PAM_LANG_EN;
	return ES_PAM_LANG_OTHER;
}

static bool ini_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* [b, e) without the spaces around it. */
static void trim(const char **b, const char **e)
{
	while (*b < *e && ini_space(**b))
		(*b)++;
	while (*e > *b && ini_space((*e)[-1]))
		(*e)--;
}

/* Keeps [b, e) in out when it is a usable state_dir. */
static bool take_state_dir(const char *b, const char *e, char *out, size_t outsz)
{
	size_t n = (size_t)(e - b);

	if (n == 0 || b[0] != '/' || n >= outsz)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)b[i] < 0x20 || b[i] == 0x7f)
			return false;
	memcpy(out, b, n);
	out[n] = '\0';
	return true;
}

bool es_pam_conf_state_dir(const char *text, size_t len, char *out, size_t outsz)
{
	const char *p, *end;
	bool general = false, found = false, after_key = false, ours = false;

	if (outsz == 0)
		return false;
	out[0] = '\0';
	if (text == NULL)
		return false;
	p = text;
	end = text + len;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *b = p, *e = nl != NULL ? nl : end, *sep = NULL, *kb, *ke;
		bool indented;

		p = nl != NULL ? nl + 1 : end;
		if (memchr(b, '\0', (size_t)(e - b)) != NULL) {
			after_key = false; /* not a text line */
			continue;
		}
		indented = b < e && ini_space(*b);
		trim(&b, &e);
		if (b == e || *b == ';' || *b == '#')
			continue; /* the reader keeps its last key across these */
		for (const char *q = b + 1; q < e; q++)
			if (*q == ';' && ini_space(q[-1])) { /* an inline comment */
				e = q;
				trim(&b, &e);
				break;
			}
		/* the last good value wins; a bad one (the reader stops there
		 * with an error) leaves the one before it */
		if (indented && after_key) {
			/* the reader's multi-line value: the key again, this line
			 * its value */
			if (ours && take_state_dir(b, e, out, outsz))
				found = true;
			continue;
		}
		after_key = false;
		if (*b == '[') {
			const char *close = memchr(b, ']', (size_t)(e - b));

			if (close != NULL)
				general = close - b - 1 == 7 && memcmp(b + 1, "general", 7) == 0;
			continue;
		}
		for (const char *q = b; q < e && sep == NULL; q++)
			if (*q == '=' || *q == ':')
				sep = q;
		if (sep == NULL)
			continue;
		kb = b;
		ke = sep;
		trim(&kb, &ke);
		after_key = true;
		ours = general && ke - kb == 9 && memcmp(kb, "state_dir", 9) == 0;
		b = sep + 1;
		trim(&b, &e);
		if (ours && take_state_dir(b, e, out, outsz))
			found = true;
	}
	return found;
}

/* How many bytes at s may go to the log as they are: 1..4, or 0 when the
 * byte at s is to be escaped. s is NUL-terminated (a NUL is never a
 * continuation byte, so a sequence cut by the end is invalid). */
static size_t keep_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t need;
	uint32_t cp;

	if (c < 0x80)
		return c < 0x20 || c == 0x7f || c == '\\' ? 0 : 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		cp = c & 0x1fu;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		cp = c & 0x0fu;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		cp = c & 0x07u;
	} else {
		return 0; /* a continuation byte, an overlong lead, > U+10FFFF */
	}
	for (size_t k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3fu);
	}
	if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp <= 0x9f || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
		return 0; /* C1 controls; separators and bidi overrides */
	return need + 1;
}

bool es_log_escape(const char *in, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t full = 0, o = 0, limit;

	if (outsz == 0)
		return in == NULL || in[0] == '\0';
	out[0] = '\0';
	if (in == NULL)
		return true;
	/* the escaped length first: a line that fits is never cut */
	for (size_t i = 0; s[i] != '\0';) {
		size_t n = keep_len(s + i);

		full += n > 0 ? n : 4;
		i += n > 0 ? n : 1;
	}
	limit = full <= outsz - 1 ? full : (outsz - 1 >= 3 ? outsz - 1 - 3 : 0);
	for (size_t i = 0; s[i] != '\0';) {
		size_t n = keep_len(s + i);

		if (o + (n > 0 ? n : 4) > limit)
			break;
		if (n > 0) {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		} else {
			o = put_hex(out, o, s[i]);
			i++;
		}
	}
	if (full > outsz - 1) {
		if (outsz - 1 >= 3) {
			memcpy(out + o, "...", 3);
			o += 3;
		}
		out[o] = '\0';
		return false;
	}
	out[o] = '\0';
	return true;
}
