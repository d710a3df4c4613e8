/* Display width and terminal-safe text (es_text.h). Decodes UTF-8 itself
 * (strict: no overlongs, no surrogates, nothing past U+10FFFF), so that a
 * byte that is not UTF-8 is escaped whatever the locale says. */
#include "es_text.h"

#include <langinfo.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

struct range {
	uint32_t lo, hi;
};

/* Without a UTF-8 locale (LANG=C): the usual zero-width ranges ... */
static const struct range zero_width[] = {
	{0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A},
	{0x064B, 0x065F}, {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x1AB0, 0x1AFF},
	{0x1DC0, 0x1DFF}, {0x200B, 0x200F}, {0x20D0, 0x20FF}, {0xFE00, 0xFE0F},
	{0xFE20, 0xFE2F}, {0xE0100, 0xE01EF},
};

/* ... and the East Asian wide and emoji ones. */
static const struct range wide[] = {
	{0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
	{0x25FD, 0x25FE},   {0x2614, 0x2615},   {0x2648, 0x2653},   {0x26AA, 0x26AB},
	{0x26BD, 0x26BE},   {0x26C4, 0x26C5},   {0x2705, 0x2705},   {0x270A, 0x270B},
	{0x2728, 0x2728},   {0x274C, 0x274C},   {0x2753, 0x2755},   {0x2795, 0x2797},
	{0x2B1B, 0x2B1C},   {0x2E80, 0x303E},   {0x3041, 0x33FF},   {0x3400, 0x4DBF},
	{0x4E00, 0x9FFF},   {0xA000, 0xA4CF},   {0xA960, 0xA97F},   {0xAC00, 0xD7A3},
	{0xF900, 0xFAFF},   {0xFE10, 0xFE19},   {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},
	{0xFFE0, 0xFFE6},   {0x16FE0, 0x18CFF}, {0x1B000, 0x1B2FF}, {0x1F004, 0x1F004},
	{0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F200, 0x1F2FF},
	{0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F7E0, 0x1F7EB}, {0x1F900, 0x1F9FF},
	{0x1FA70, 0x1FAFF}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
};

static bool in_ranges(uint32_t cp, const struct range *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return true;
	return false;
}

static bool utf8_locale(void)
{
	const char *cs = nl_langinfo(CODESET);

	return MB_CUR_MAX > 1 && cs != NULL && strcmp(cs, "UTF-8") == 0;
}

int es_text_cp_width(uint32_t cp)
{
	if (utf8_locale()) {
		int w = wcwidth((wchar_t)cp);

		if (w >= 0)
			return w;
	}
	if (in_ranges(cp, zero_width, ES_ARRAY_LEN(zero_width)))
		return 0;
	return in_ranges(cp, wide, ES_ARRAY_LEN(wide)) ? 2 : 1;
}

/* One UTF-8 character at s: its length (1..4) and *cp, or 0 when the
 * bytes there are not one. */
static size_t decode(const unsigned char *s, uint32_t *cp)
{
	size_t n;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
		c = s[0] & 0x1Fu;
		min = 0x80;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		c = s[0] & 0x0Fu;
		min = 0x800;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		c = s[0] & 0x07u;
		min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80) /* also stops at the NUL */
			return 0;
		c = (c << 6) | (s[i] & 0x3Fu);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

/* Characters a terminal obeys or that reorder or break what is shown. */
static bool unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200E || cp == 0x200F ||
	       (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The next piece of s as shown: *len bytes of s, *w columns, *escape when
 * it is shown as \xHH per byte. */
static void next_piece(const unsigned char *s, size_t *len, size_t *w, bool *escape)
{
	uint32_t cp = 0;
	size_t n = decode(s, &cp);

	if (n == 0) {
		*len = 1;
		*w = 4;
		*escape = true;
	} else if (unsafe(cp)) {
		*len = n;
		*w = 4 * n;
		*escape = true;
	} else {
		*len = n;
		*w = (size_t)es_text_cp_width(cp);
		*escape = false;
	}
}

size_t es_text_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t total = 0;

	while (*p != '\0') {
		size_t len, w;
		bool esc;

		next_piece(p, &len, &w, &esc);
		total += w;
		p += len;
	}
	return total;
}

static int put_piece(struct es_buf *out, const unsigned char *p, size_t len, bool escape)
{
	if (!escape)
		return es_buf_append(out, p, len);
	for (size_t i = 0; i < len; i++)
		if (es_buf_printf(out, "\\x%02x", p[i]) != 0)
			return -1;
	return 0;
}

int es_text_term(struct es_buf *out, const char *s, size_t max_cols, size_t *cols)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t full = es_text_width(s), limit = full, used = 0;
	bool cut = max_cols > 0 && full > max_cols;

	if (cut)
		limit = max_cols - 1; /* room for the "…" */
	while (*p != '\0') {
		size_t len, w;
		bool esc;

		next_piece(p, &len, &w, &esc);
		if (used + w > limit)
			break;
		if (put_piece(out, p, len, esc) != 0)
			return -1;
		used += w;
		p += len;
	}
	if (cut) {
		if (es_buf_puts(out, "…") != 0)
			return -1;
		used++;
	}
	if (cols != NULL)
		*cols = used;
	return 0;
}

int es_text_pad(struct es_buf *out, const char *s, size_t cols)
{
	size_t used = 0;

	if (es_text_term(out, s, 0, &used) != 0)
		return -1;
	for (; used < cols; used++)
		if (es_buf_append(out, " ", 1) != 0)
			return -1;
	return 0;
}
