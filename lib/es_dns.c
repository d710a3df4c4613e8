/* SPF (RFC 7208), DMARC (RFC 7489) and DKIM (RFC 6376) records judged from
 * their TXT strings: see es_dns.h. */
#include "es_dns.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "es_util.h"

#define MAX_TAGS 24

struct tag {
	char name[16];
	char value[400];
};

const char *es_provider_spf_include(enum es_provider p)
{
	switch (p) {
	case ES_PROV_GMAIL:
	case ES_PROV_WORKSPACE:
		return "_spf.google.com";
	case ES_PROV_SENDGRID:
		return "sendgrid.net";
	case ES_PROV_MAILGUN:
		return "mailgun.org";
	case ES_PROV_SES:
		return "amazonses.com";
	case ES_PROV_CUSTOM:
		break;
	}
	return NULL;
}

void es_dns_printable(const char *in, size_t len, char *out, size_t outsz)
{
	size_t o = 0;

	if (outsz == 0)
		return;
	for (size_t i = 0; i < len && o + 1 < outsz; i++) {
		unsigned char c = (unsigned char)in[i];
		char ch = in[i];

		if (c < 0x20 || c == 0x7f)
			ch = '?';
		out[o++] = ch;
	}
	out[o] = '\0';
}

static void shown(struct es_dns_verdict *v, const char *record)
{
	es_dns_printable(record, strlen(record), v->found, sizeof(v->found));
}

/* true when s starts with the version tag `version` (case-insensitive)
 * followed by the end, a space (SPF) or the separator `sep`. */
static bool starts_with_version(const char *s, const char *version, char sep)
{
	size_t n = strlen(version);

	while (*s == ' ' || *s == '\t')
		s++;
	if (strncasecmp(s, version, n) != 0)
		return false;
	s += n;
	while (sep != ' ' && (*s == ' ' || *s == '\t'))
		s++;
	return *s == '\0' || *s == ' ' || *s == sep;
}

static void set_problem(struct es_dns_verdict *v, const char *problem, const char *fix)
{
	v->ok = false;
	(void)es_strlcpy(v->problem, problem, sizeof(v->problem));
	(void)es_strlcpy(v->fix, fix, sizeof(v->fix));
}

/* ---- SPF ---- */

void es_spf_verdict(const char *domain, const char *const *txt, size_t n, const char *include,
                    struct es_dns_verdict *v)
{
	char record[512], term[256], problem[512], fix[768], want[300];
	const char *spf = NULL, *last = NULL;
	size_t count = 0;
	bool has_include = include == NULL, has_redirect = false;

	memset(v, 0, sizeof(*v));
	(void)snprintf(want, sizeof(want), "%s%s", include != NULL ? "include:" : "",
	               include != NULL ? include : "");
	for (size_t i = 0; i < n; i++)
		if (starts_with_version(txt[i], "v=spf1", ' ')) {
			if (spf == NULL)
				spf = txt[i];
			count++;
		}
	if (count == 0) {
		(void)snprintf(fix, sizeof(fix), "publish: %s TXT \"v=spf1 %s%s~all\"", domain, want,
		               include != NULL ? " " : "");
		set_problem(v, "no SPF record (v=spf1)", fix);
		return;
	}
	shown(v, spf);
	if (count > 1) {
		(void)snprintf(problem, sizeof(problem),
		               "%zu SPF records: there must be exactly one (two make every check fail)",
		               count);
		(void)snprintf(fix, sizeof(fix),
		               "merge them into one TXT record at %s, ending in ~all or -all", domain);
		set_problem(v, problem, fix);
		return;
	}
	(void)es_strlcpy(record, spf, sizeof(record));
	for (char *save = NULL, *t = strtok_r(record, " \t", &save); t != NULL;
	     t = strtok_r(NULL, " \t", &save)) {
		(void)es_strlcpy(term, t, sizeof(term));
		last = t;
		if (include != NULL && strcasecmp(term, want) == 0)
			has_include = true;
		if (strncasecmp(term, "redirect=", 9) == 0)
			has_redirect = true;
	}
	if (last == NULL) /* "v=spf1" alone is taken above: never empty */
		term[0] = '\0';
	if (!has_redirect && strcasecmp(term, "~all") != 0 && strcasecmp(term, "-all") != 0) {
		(void)snprintf(problem, sizeof(problem),
		               strcasecmp(term, "+all") == 0 || strcasecmp(term, "all") == 0
		                   ? "ends with %s: anyone may send mail as %s"
		                   : "does not end with ~all or -all (ends with '%s', %s)",
		               term, domain);
		(void)snprintf(fix, sizeof(fix), "end the record at %s with ~all (or -all)", domain);
		set_problem(v, problem, fix);
		return;
	}
	if (!has_include) {
		(void)snprintf(problem, sizeof(problem),
		               "does not include %s: the provider's servers are not allowed to send "
		               "for %s",
		               include, domain);
		(void)snprintf(fix, sizeof(fix), "add %s before the ~all/-all of the record at %s",
		               want, domain);
		set_problem(v, problem, fix);
		return;
	}
	v->ok = true;
}

/* ---- tag lists (DMARC, DKIM) ---- */

static bool tag_name_char(int c, bool first)
{
	return isalpha(c) || (!first && (isdigit(c) || c == '_'));
}

/* "a=b; c=d" -> tags. -1 with why on a syntax error. */
static int parse_tags(const char *s, struct tag *tags, size_t max, size_t *n, char *why,
                      size_t whysz)
{
	*n = 0;
	while (*s != '\0') {
		struct tag *t;
		size_t k = 0, vl = 0;
		const char *end;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		if (*n >= max) {
			(void)snprintf(why, whysz, "more than %zu tags", max);
			return -1;
		}
		t = &tags[(*n)++];
		while (tag_name_char((unsigned char)*s, k == 0) && k + 1 < sizeof(t->name))
			t->name[k++] = (char)tolower((unsigned char)*s++);
		t->name[k] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (k == 0 || *s != '=') {
			(void)snprintf(why, whysz, "bad tag near '%.20s' (expected name=value; ...)", s);
			return -1;
		}
		s++;
		end = strchr(s, ';');
		if (end == NULL)
			end = s + strlen(s);
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		while (s < end && vl + 1 < sizeof(t->value))
			t->value[vl++] = *s++;
		while (vl > 0 && (t->value[vl - 1] == ' ' || t->value[vl - 1] == '\t'))
			vl--;
		t->value[vl] = '\0';
		s = *end == ';' ? end + 1 : end;
		for (size_t i = 0; i + 1 < *n; i++)
			if (strcmp(tags[i].name, t->name) == 0) {
				(void)snprintf(why, whysz, "tag %s given twice", t->name);
				return -1;
			}
	}
	return 0;
}

static const char *tag_value(const struct tag *tags, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(tags[i].name, name) == 0)
			return tags[i].value;
	return NULL;
}

static bool is_policy(const char *p)
{
	return p != NULL && (strcasecmp(p, "none") == 0 || strcasecmp(p, "quarantine") == 0 ||
	                     strcasecmp(p, "reject") == 0);
}

/* ---- DMARC ---- */

void es_dmarc_verdict(const char *domain, const char *const *txt, size_t n, const char *rua,
                      struct es_dns_verdict *v)
{
	struct tag tags[MAX_TAGS];
	char why[256], problem[512], fix[768];
	const char *rec = NULL, *p, *sp, *pct, *rep;
	size_t count = 0, nt = 0;

	memset(v, 0, sizeof(*v));
	(void)snprintf(fix, sizeof(fix), "publish: _dmarc.%s TXT \"v=DMARC1; p=quarantine%s%s\"",
	               domain, rua != NULL && rua[0] ? "; rua=mailto:" : "",
	               rua != NULL && rua[0] ? rua : "");
	for (size_t i = 0; i < n; i++)
		if (starts_with_version(txt[i], "v=DMARC1", ';')) {
			if (rec == NULL)
				rec = txt[i];
			count++;
		}
	if (count == 0) {
		set_problem(v, "no DMARC record (v=DMARC1) at _dmarc", fix);
		return;
	}
	shown(v, rec);
	if (count > 1) {
		(void)snprintf(problem, sizeof(problem),
		               "%zu DMARC records: there must be exactly one (receivers then ignore "
		               "them all)",
		               count);
		set_problem(v, problem, fix);
		return;
	}
	if (parse_tags(rec, tags, MAX_TAGS, &nt, why, sizeof(why)) != 0) {
		(void)snprintf(problem, sizeof(problem), "not a valid tag list: %s", why);
		set_problem(v, problem, fix);
		return;
	}
	p = tag_value(tags, nt, "p");
	sp = tag_value(tags, nt, "sp");
	pct = tag_value(tags, nt, "pct");
	if (!is_policy(p)) {
		(void)snprintf(problem, sizeof(problem), p == NULL ? "no policy (p=)%s"
		                                                   : "bad policy p=%s (none, "
		                                                     "quarantine or reject)",
		               p == NULL ? "" : p);
		set_problem(v, problem, fix);
		return;
	}
	if (sp != NULL && !is_policy(sp)) {
		(void)snprintf(problem, sizeof(problem), "bad subdomain policy sp=%s", sp);
		set_problem(v, problem, fix);
		return;
	}
	if (pct != NULL) {
		long x;

		if (es_parse_long(pct, 0, 100, &x) != 0) {
			(void)snprintf(problem, sizeof(problem), "bad pct=%s (0 to 100)", pct);
			set_problem(v, problem, fix);
			return;
		}
	}
	for (size_t i = 0; i < 2; i++) {
		rep = tag_value(tags, nt, i == 0 ? "rua" : "ruf");
		if (rep != NULL && strncasecmp(rep, "mailto:", 7) != 0) {
			(void)snprintf(problem, sizeof(problem), "bad %s=%s (mailto:ADDRESS)",
			               i == 0 ? "rua" : "ruf", rep);
			set_problem(v, problem, fix);
			return;
		}
	}
	v->ok = true;
	(void)snprintf(v->note, sizeof(v->note), "policy p=%.12s%s", p,
	               strcasecmp(p, "none") == 0
	                   ? " (monitoring only: quarantine or reject protects the domain)"
	                   : "");
}

/* ---- DKIM ---- */

void es_dkim_verdict(const char *domain, const char *selector, const char *const *txt, size_t n,
                     struct es_dns_verdict *v)
{
	struct tag tags[MAX_TAGS];
	char why[256], problem[512], fix[768];
	const char *key;
	size_t nt = 0;

	memset(v, 0, sizeof(*v));
	(void)snprintf(fix, sizeof(fix),
	               "publish the DKIM key your mail provider gives you as %s._domainkey.%s "
	               "TXT \"v=DKIM1; k=rsa; p=...\" (and turn signing on at the provider)",
	               selector, domain);
	for (size_t i = 0; i < n; i++) {
		if (parse_tags(txt[i], tags, MAX_TAGS, &nt, why, sizeof(why)) != 0)
			continue;
		if (tag_value(tags, nt, "p") == NULL)
			continue;
		shown(v, txt[i]);
		if (strcmp(tags[0].name, "v") == 0 && strcmp(tags[0].value, "DKIM1") != 0) {
			(void)snprintf(problem, sizeof(problem), "bad version v=%s (v=DKIM1)",
			               tags[0].value);
			set_problem(v, problem, fix);
			return;
		}
		key = tag_value(tags, nt, "p");
		if (key[0] == '\0') {
			set_problem(v, "the key is revoked (empty p=)", fix);
			return;
		}
		for (const char *c = key; *c != '\0'; c++)
			if (!isalnum((unsigned char)*c) && *c != '+' && *c != '/' && *c != '=' &&
			    *c != ' ' && *c != '\t') {
				set_problem(v, "the key (p=) is not base64", fix);
				return;
			}
		v->ok = true;
		return;
	}
	(void)snprintf(problem, sizeof(problem), "no DKIM key at %s._domainkey.%s", selector,
	               domain);
	set_problem(v, problem, fix);
}
