#include "es_pamin.h"

#include <stdint.h>
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

int es_pam_args_parse(int argc, const char *const *argv, struct es_pam_args *out,
                      void (*bad)(const char *arg, void *ctx), void *ctx)
{
	int nbad = 0;

	out->debug = false;
	out->config_path = ES_PAM_DEFAULT_CONFIG;
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
