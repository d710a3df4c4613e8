#include "es_names.h"

#include <stdio.h>
#include <string.h>

#include "es_util.h"

#define ES_USERNAME_MAX 32
#define ES_BASE_MAX 28

bool es_valid_username(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strnlen(s, ES_USERNAME_MAX + 1); /* never reads far into a long string */
	if (n == 0 || n > ES_USERNAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')
			continue;
		if (c == '$' && i == n - 1)
			continue; /* Samba machine accounts */
		return false;
	}
	return true;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool es_valid_groupname(const char *s)
{
	return es_valid_username(s) && s[strlen(s) - 1] != '$';
}

bool es_valid_existing_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ES_USERNAME_MAX || s[0] == '-' || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '$' && i + 1 == n && n > 1)
			continue;
		if (!(is_alnum(c) || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

bool es_valid_domain(const char *d)
{
	size_t label = 0, labels = 0, n = strlen(d);
	const char *tld = d;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = d[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || d[i - 1] == '-')
				return false;
			labels++;
			label = 0;
			if (c == '.')
				tld = d + i + 1;
			continue;
		}
		if (!is_alnum(c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		label++;
	}
	if (labels < 2)
		return false;
	for (const char *p = tld; *p != '\0'; p++)
		if (!(*p >= '0' && *p <= '9'))
			return true;
	return false; /* an all-digit top-level label is an IP address, not a domain */
}

bool es_valid_email(const char *s)
{
	static const char atext[] = "!#$%&'*+/=?^_`{|}~-";
	const char *at = strrchr(s, '@');
	size_t local;

	if (at == NULL || strlen(s) > 254)
		return false;
	local = (size_t)(at - s);
	if (local == 0 || local > 64 || s[0] == '.' || at[-1] == '.')
		return false;
	for (size_t i = 0; i < local; i++) {
		char c = s[i];
		if (c == '.') {
			if (s[i + 1] == '.')
				return false;
			continue;
		}
		if (!is_alnum(c) && (c == '\0' || strchr(atext, c) == NULL))
			return false;
	}
	return es_valid_domain(at + 1);
}

/* Decodes one UTF-8 sequence at s; returns its length (0 at end, 1 for an
 * invalid byte, which then yields cp = 0xfffd). */
static size_t utf8_next(const unsigned char *s, unsigned long *cp)
{
	size_t need, i;

	if (s[0] == '\0')
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		*cp = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		*cp = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		*cp = s[0] & 0x07u;
	} else {
		*cp = 0xfffd;
		return 1;
	}
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		*cp = (*cp << 6) | (s[i] & 0x3fu);
	}
	return need + 1;
}

/* Latin letters in U+00C0..U+017F, as lowercase ASCII; NULL for the two
 * signs (×, ÷) in that range. */
static const char *const latin1[64] = {
	"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
	"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "y",
};

static const struct {
	unsigned short first, last;
	const char *ascii;
} latin_ext_a[] = {
	{ 0x100, 0x105, "a" },  { 0x106, 0x10d, "c" }, { 0x10e, 0x111, "d" },
	{ 0x112, 0x11b, "e" },  { 0x11c, 0x123, "g" }, { 0x124, 0x127, "h" },
	{ 0x128, 0x131, "i" },  { 0x132, 0x133, "ij" }, { 0x134, 0x135, "j" },
	{ 0x136, 0x138, "k" },  { 0x139, 0x142, "l" }, { 0x143, 0x14b, "n" },
	{ 0x14c, 0x151, "o" },  { 0x152, 0x153, "oe" }, { 0x154, 0x159, "r" },
	{ 0x15a, 0x161, "s" },  { 0x162, 0x167, "t" }, { 0x168, 0x173, "u" },
	{ 0x174, 0x175, "w" },  { 0x176, 0x178, "y" }, { 0x179, 0x17e, "z" },
	{ 0x17f, 0x17f, "s" },  { 0x218, 0x219, "s" }, { 0x21a, 0x21b, "t" },
	{ 0x1e9e, 0x1e9e, "ss" },
};

/* Case of a letter in the table's ranges (for "DUPRÉ"-style family names). */
static bool ext_is_upper(unsigned long cp)
{
	if (cp >= 0xc0 && cp <= 0xde)
		return cp != 0xd7;
	if (cp >= 0x100 && cp <= 0x137)
		return cp % 2 == 0 && cp != 0x131;
	if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e))
		return cp % 2 == 1;
	if (cp >= 0x14a && cp <= 0x177)
		return cp % 2 == 0;
	if (cp >= 0x218 && cp <= 0x21b)
		return cp % 2 == 0;
	return cp == 0x178 || cp == 0x1e9e;
}

/* ASCII folding of one code point: lowercase letters, digits and ASCII
 * punctuation; "" when it has none. */
static const char *fold_cp(unsigned long cp, char ascii[2])
{
	if (cp < 0x80) {
		if (cp < 0x20 || cp == 0x7f)
			return "";
		ascii[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp - 'A' + 'a' : cp);
		ascii[1] = '\0';
		return ascii;
	}
	if (cp >= 0xc0 && cp <= 0xff)
		return latin1[cp - 0xc0] != NULL ? latin1[cp - 0xc0] : "";
	for (size_t i = 0; i < ES_ARRAY_LEN(latin_ext_a); i++)
		if (cp >= latin_ext_a[i].first && cp <= latin_ext_a[i].last)
			return latin_ext_a[i].ascii;
	if (cp == 0x2019 || cp == 0x2018)
		return "'"; /* typographic apostrophes: O’Brien */
	return "";
}

void es_fold_ascii(const char *utf8, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)utf8;
	size_t used = 0;

	if (outsz == 0)
		return;
	for (;;) {
		unsigned long cp = 0;
		size_t n = utf8_next(s, &cp);
		char ascii[2];
		const char *f;
		size_t flen;

		if (n == 0)
			break;
		s += n;
		f = fold_cp(cp, ascii);
		flen = strlen(f);
		if (used + flen >= outsz)
			break;
		memcpy(out + used, f, flen);
		used += flen;
	}
	out[used] = '\0';
}

/* A word written in capitals: at least two letters, none lowercase. */
static bool word_is_capitals(const char *w, size_t len)
{
	const unsigned char *s = (const unsigned char *)w;
	size_t i = 0, letters = 0;

	while (i < len) {
		unsigned long cp = 0;
		size_t n = utf8_next(s + i, &cp);
		char ascii[2];

		if (n == 0)
			break;
		i += n;
		if (cp >= 'a' && cp <= 'z')
			return false;
		if (cp >= 'A' && cp <= 'Z') {
			letters++;
			continue;
		}
		if (cp >= 0x80 && fold_cp(cp, ascii)[0] >= 'a') {
			if (!ext_is_upper(cp))
				return false;
			letters++;
		}
	}
	return letters >= 2;
}

/* Appends the [a-z0-9] of the folded word to out. */
static void append_folded(const char *w, size_t len, char *out, size_t outsz)
{
	char word[256], folded[512];
	size_t used = strlen(out);

	if (len >= sizeof(word))
		len = sizeof(word) - 1;
	memcpy(word, w, len);
	word[len] = '\0';
	es_fold_ascii(word, folded, sizeof(folded));
	for (const char *p = folded; *p != '\0' && used + 1 < outsz; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
			out[used++] = *p;
	out[used] = '\0';
}

struct word {
	const char *p;
	size_t len;
	bool caps;
};

#define MAX_WORDS 16

static size_t split_words(const char *s, size_t len, struct word *w, size_t nw)
{
	size_t n = 0, i = 0;

	while (i < len && n < nw) {
		size_t start;

		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		start = i;
		while (i < len && s[i] != ' ' && s[i] != '\t')
			i++;
		if (i > start) {
			w[n].p = s + start;
			w[n].len = i - start;
			w[n].caps = word_is_capitals(s + start, i - start);
			n++;
		}
	}
	return n;
}

void es_username_base(const char *fullname, char *out, size_t outsz)
{
	struct word words[MAX_WORDS];
	char given[64] = "", family[ES_BASE_MAX + 1] = "", base[ES_BASE_MAX + 1];
	const char *comma = strchr(fullname, ',');
	size_t n, caps = 0;
	char *p;

	if (outsz == 0)
		return;
	if (comma != NULL) {
		/* "Dupré, Élodie": family name first, as rosters often put it */
		struct word g[MAX_WORDS];
		size_t ng;

		n = split_words(fullname, (size_t)(comma - fullname), words, MAX_WORDS);
		ng = split_words(comma + 1, strlen(comma + 1), g, MAX_WORDS);
		for (size_t i = 0; i < n; i++)
			append_folded(words[i].p, words[i].len, family, sizeof(family));
		if (ng > 0)
			append_folded(g[0].p, g[0].len, given, sizeof(given));
	} else {
		n = split_words(fullname, strlen(fullname), words, MAX_WORDS);
		for (size_t i = 0; i < n; i++)
			caps += words[i].caps;
		if (caps > 0 && caps < n) {
			/* "DUPRÉ Élodie": the words in capitals are the family name */
			bool have_given = false;
			for (size_t i = 0; i < n; i++) {
				if (words[i].caps)
					append_folded(words[i].p, words[i].len, family, sizeof(family));
				else if (!have_given) {
					append_folded(words[i].p, words[i].len, given, sizeof(given));
					have_given = given[0] != '\0';
				}
			}
		} else if (n == 1) {
			append_folded(words[0].p, words[0].len, family, sizeof(family));
		} else if (n > 1) {
			append_folded(words[0].p, words[0].len, given, sizeof(given));
			for (size_t i = 1; i < n; i++)
				append_folded(words[i].p, words[i].len, family, sizeof(family));
		}
	}
	base[0] = '\0';
	/* the initial is the given name's first letter */
	for (p = given; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z') {
			base[0] = *p;
			base[1] = '\0';
			break;
		}
	append_folded(family, strlen(family), base, sizeof(base));
	/* a username starts with a letter */
	p = base;
	while (*p != '\0' && !(*p >= 'a' && *p <= 'z'))
		p++;
	if (*p == '\0')
		p = "user";
	(void)snprintf(out, outsz, "%s", p); /* truncates: base is [a-z0-9] */
}

/* base, then base SEP 2, base SEP 3 ... until one is not taken. */
static int unique_name(const char *base, const char *sep, bool (*taken)(const char *, void *),
                       void *arg, char *out, size_t outsz)
{
	size_t blen = strlen(base);

	if (blen == 0 || blen > ES_USERNAME_MAX || blen >= outsz)
		return -1;
	if (!taken(base, arg)) {
		memcpy(out, base, blen + 1);
		return 0;
	}
	for (unsigned long k = 2; k < 1000000; k++) {
		int n = snprintf(out, outsz, "%s%s%lu", base, sep, k);

		if (n <= 0 || (size_t)n > ES_USERNAME_MAX || (size_t)n >= outsz)
			return -1;
		if (!taken(out, arg))
			return 0;
	}
	return -1;
}

int es_username_unique(const char *base, bool (*taken)(const char *, void *), void *arg,
                       char *out, size_t outsz)
{
	return unique_name(base, "", taken, arg, out, outsz);
}

#define ALNUM "abcdefghijklmnopqrstuvwxyz0123456789"

/* French ordinals after a class's leading number: "1ère", "2nde", "6e",
 * "3ème", folded; English ones too ("1st" ... "12th"). */
static bool ordinal_suffix(const char *s, size_t n)
{
	static const char *const suffixes[] = { "ere", "re", "er", "e", "eme", "nde", "nd",
		                                "de", "st", "rd", "th" };

	for (size_t i = 0; i < ES_ARRAY_LEN(suffixes); i++)
		if (strlen(suffixes[i]) == n && strncmp(s, suffixes[i], n) == 0)
			return true;
	return false;
}

int es_class_group_base(const char *klass, char *out, size_t outsz)
{
	char folded[256];
	size_t o = 0;
	const char *p;

	if (outsz < ES_CLASS_GROUP_BASE_MAX + 1)
		return -1;
	es_fold_ascii(klass != NULL ? klass : "", folded, sizeof(folded));
	memcpy(out, "c-", 2);
	o = 2;
	p = folded;
	for (bool first = true;; first = false) {
		size_t digits = 0, len, keep;

		p += strcspn(p, ALNUM);
		len = strspn(p, ALNUM);
		if (len == 0)
			break;
		while (digits < len && p[digits] >= '0' && p[digits] <= '9')
			digits++;
		/* "1ère G1" -> c-1g1: the ordinal's letters say nothing the
		 * number does not */
		keep = first && digits > 0 && digits < len && ordinal_suffix(p + digits, len - digits)
		               ? digits
		               : len;
		for (size_t i = 0; i < keep && o < ES_CLASS_GROUP_BASE_MAX; i++)
			out[o++] = p[i];
		p += len;
	}
	out[o] = '\0';
	return o > 2 ? 0 : -1;
}

int es_class_group_unique(const char *base, bool (*taken)(const char *, void *), void *arg,
                          char *out, size_t outsz)
{
	return unique_name(base, "-", taken, arg, out, outsz);
}

/* ---- names as people write them ---- */

/* Letter case without the locale, for the scripts school names use:
 * Latin (Latin-1, Extended-A, Romanian's ș ț, Vietnamese's Extended
 * Additional) and basic Cyrillic. A letter outside them (Greek, whose
 * final sigma needs more than a table) has no other case here and is
 * kept as written. */
static bool case_is_upper(unsigned long cp)
{
	if (cp >= 'A' && cp <= 'Z')
		return true;
	if (cp >= 0x1e00 && cp <= 0x1eff)
		return cp % 2 == 0 && !(cp >= 0x1e96 && cp <= 0x1e9f);
	if (cp >= 0x400 && cp <= 0x42f)
		return true;
	return ext_is_upper(cp) && cp != 0x1e9e;
}

static unsigned long case_lower(unsigned long cp)
{
	if (!case_is_upper(cp))
		return cp;
	if (cp <= 'Z')
		return cp + ('a' - 'A');
	if (cp == 0x178)
		return 0xff;
	if (cp == 0x130)
		return 'i'; /* İ: Turkish capital i */
	if (cp >= 0xc0 && cp <= 0xde)
		return cp + 0x20;
	if (cp >= 0x400 && cp <= 0x40f)
		return cp + 0x50;
	if (cp >= 0x410 && cp <= 0x42f)
		return cp + 0x20;
	return cp + 1; /* Extended-A, ș ț, Extended Additional: pairs */
}

static bool case_is_lower(unsigned long cp)
{
	if (cp >= 'a' && cp <= 'z')
		return true;
	if (cp >= 0xdf && cp <= 0xff)
		return cp != 0xf7;
	if (cp >= 0x430 && cp <= 0x45f)
		return true;
	if (cp == 0x131)
		return true;
	return cp > 0x100 && cp != 0x138 && cp != 0x149 && cp != 0x17f && !case_is_upper(cp) &&
	       case_is_upper(cp - 1) && case_lower(cp - 1) == cp;
}

static unsigned long case_upper(unsigned long cp)
{
	if (cp == 0xdf || !case_is_lower(cp))
		return cp; /* ß has no capital in common use */
	if (cp <= 'z')
		return cp - ('a' - 'A');
	if (cp == 0xff)
		return 0x178;
	if (cp <= 0xfe)
		return cp - 0x20;
	if (cp == 0x131)
		return 'I';
	if (cp >= 0x430 && cp <= 0x44f)
		return cp - 0x20;
	if (cp >= 0x450 && cp <= 0x45f)
		return cp - 0x50;
	return cp - 1;
}

/* Appends the UTF-8 of cp to out (nothing when it does not fit). */
static void put_cp(char *out, size_t outsz, size_t *used, unsigned long cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (*used + n >= outsz)
		return;
	memcpy(out + *used, b, n);
	*used += n;
	out[*used] = '\0';
}

static bool has_lowercase(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp = 0;
	size_t n;

	while ((n = utf8_next(p, &cp)) > 0) {
		if (case_is_lower(cp))
			return true;
		p += n;
	}
	return false;
}

/* A French particle written as its own word: de, du, des. */
static bool is_particle(const char *w, size_t len)
{
	char word[8], folded[16];

	if (len >= sizeof(word))
		return false;
	memcpy(word, w, len);
	word[len] = '\0';
	es_fold_ascii(word, folded, sizeof(folded));
	return strcmp(folded, "de") == 0 || strcmp(folded, "du") == 0 ||
	       strcmp(folded, "des") == 0;
}

/* Appends the words of s (written in capitals) to out, cased; particles
 * apply to a family name. */
static void append_cased(const char *s, bool particles, char *out, size_t outsz, size_t *used)
{
	struct word words[MAX_WORDS];
	size_t n = split_words(s, strlen(s), words, MAX_WORDS);

	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = (const unsigned char *)words[i].p;
		const unsigned char *end = p + words[i].len;
		bool lower_word = particles && n > 1 && is_particle(words[i].p, words[i].len);
		bool start = true;
		unsigned long cp = 0;
		size_t k;

		if (*used > 0 && out[*used - 1] != ' ')
			put_cp(out, outsz, used, ' ');
		/* "D'ALMEIDA": the particle d' in lowercase, the name after it
		 * capitalised */
		if (particles && words[i].len > 2 && (p[0] == 'D' || p[0] == 'd') &&
		    p[1] == '\'') {
			put_cp(out, outsz, used, 'd');
			put_cp(out, outsz, used, '\'');
			p += 2;
		}
		while (p < end && (k = utf8_next(p, &cp)) > 0) {
			put_cp(out, outsz, used,
			       start && !lower_word ? (case_is_upper(cp) ? cp : case_upper(cp))
			                            : case_lower(cp));
			start = cp == '-' || cp == '\'' || cp == 0x2019;
			p += k;
		}
	}
}

/* Appends one part of a name: cased when written in capitals, else as
 * written (spaces collapsed). */
static void append_part(const char *part, bool family, char *out, size_t outsz, size_t *used)
{
	struct word words[MAX_WORDS];
	size_t n;

	if (part == NULL || part[0] == '\0')
		return;
	if (!has_lowercase(part)) {
		append_cased(part, family, out, outsz, used);
		return;
	}
	n = split_words(part, strlen(part), words, MAX_WORDS);
	for (size_t i = 0; i < n; i++) {
		if (*used > 0 && out[*used - 1] != ' ')
			put_cp(out, outsz, used, ' ');
		if (*used + words[i].len < outsz) {
			memcpy(out + *used, words[i].p, words[i].len);
			*used += words[i].len;
			out[*used] = '\0';
		}
	}
}

void es_name_display(const char *first, const char *last, char *out, size_t outsz)
{
	size_t used = 0;

	if (outsz == 0)
		return;
	out[0] = '\0';
	append_part(first, false, out, outsz, &used);
	append_part(last, true, out, outsz, &used);
	while (used > 0 && out[used - 1] == ' ') /* a last word that did not fit */
		out[--used] = '\0';
}

/* Copies s[0..len) into out, trimmed; false when empty or too long. */
static bool copy_part(const char *s, size_t len, char *out, size_t outsz)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= outsz)
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

bool es_name_split(const char *full, char *first, size_t firstsz, char *last, size_t lastsz)
{
	struct word words[MAX_WORDS];
	const char *comma = strchr(full, ',');
	size_t n, k, len = strlen(full);
	char f[256], l[256];

	if (comma != NULL) {
		/* "Dupré, Élodie"; not '=HYPERLINK("...","x")' nor a nickname in
		 * quotes: only name characters around the comma */
		if (strcspn(full, "\"()[]{}<>;:=/\\@!?*&#%$+|~^`") != len ||
		    strchr(comma + 1, ',') != NULL)
			return false;
		if (!copy_part(full, (size_t)(comma - full), l, sizeof(l)) ||
		    !copy_part(comma + 1, strlen(comma + 1), f, sizeof(f)))
			return false;
	} else {
		n = split_words(full, len, words, MAX_WORDS);
		if (n < 2 || words[0].caps == words[n - 1].caps)
			return false;
		/* one block of words in capitals, at one end */
		for (k = 1; k < n && words[k].caps == words[0].caps; k++)
			;
		for (size_t i = k; i < n; i++)
			if (words[i].caps == words[0].caps)
				return false;
		if (words[0].caps) {
			if (!copy_part(full, (size_t)(words[k].p - full), l, sizeof(l)) ||
			    !copy_part(words[k].p, len - (size_t)(words[k].p - full), f, sizeof(f)))
				return false;
		} else if (!copy_part(full, (size_t)(words[k].p - full), f, sizeof(f)) ||
		           !copy_part(words[k].p, len - (size_t)(words[k].p - full), l, sizeof(l))) {
			return false;
		}
	}
	if (strlen(f) >= firstsz || strlen(l) >= lastsz)
		return false;
	memcpy(first, f, strlen(f) + 1);
	memcpy(last, l, strlen(l) + 1);
	return true;
}

void es_name_greeting(const char *full, char *out, size_t outsz)
{
	char first[256], last[256];

	if (es_name_split(full, first, sizeof(first), last, sizeof(last)))
		es_name_display(first, last, out, outsz);
	else
		es_name_display(full, NULL, out, outsz);
}
