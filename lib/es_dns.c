/* SPF (RFC 7208), DMARC (RFC 7489) and DKIM (RFC 6376) records judged from
 * their TXT strings: see es_dns.h. */
#include "es_dns.h"

#include "es_msg.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "es_names.h"
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

/* How many of the n TXT records are of this kind (version tag and sep as
 * starts_with_version wants them); *first gets the first one, or NULL. */
static size_t find_records(const char *const *txt, size_t n, const char *version, char sep,
                           const char **first)
{
	size_t count = 0;

	*first = NULL;
	for (size_t i = 0; i < n; i++)
		if (starts_with_version(txt[i], version, sep)) {
			if (*first == NULL)
				*first = txt[i];
			count++;
		}
	return count;
}

static void set_problem(struct es_dns_verdict *v, const char *problem, const char *fix)
{
	v->ok = false;
	(void)es_strlcpy(v->problem, problem, sizeof(v->problem));
	(void)es_strlcpy(v->fix, fix, sizeof(v->fix));
}

/* ---- SPF ---- */

/* Addresses the Internet never sees as a sender: loopback, private,
 * link-local, shared (CGNAT), unspecified. */
static bool local_v4(const unsigned char a[4])
{
	return a[0] == 0 || a[0] == 10 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
	       (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
	       (a[0] == 100 && (a[1] & 0xc0) == 64);
}

static bool local_v6(const unsigned char a[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	size_t zeros = 0;

	while (zeros < 15 && a[zeros] == 0)
		zeros++;
	if (zeros == 15 && a[15] <= 1) /* :: and ::1 */
		return true;
	if (memcmp(a, mapped, sizeof(mapped)) == 0)
		return local_v4(a + 12);
	return (a[0] & 0xfe) == 0xfc /* fc00::/7 */ || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

/* Names that only a local resolver knows. */
static bool local_name(const char *h)
{
	static const char *const suffixes[] = { ".localhost", ".local", ".lan", ".internal",
		                                ".home.arpa", ".localdomain" };
	size_t n = strlen(h);

	if (strchr(h, '.') == NULL || strcasecmp(h, "localhost") == 0)
		return true;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t k = strlen(suffixes[i]);
		if (n > k && strcasecmp(h + n - k, suffixes[i]) == 0)
			return true;
	}
	return false;
}

enum es_spf_source es_spf_mechanism(const char *include, const char *host, char *out,
                                    size_t outsz)
{
	char h[256];
	unsigned char a[16];
	size_t n;

	if (outsz > 0)
		out[0] = '\0';
	if (include != NULL) {
		(void)snprintf(out, outsz, "include:%s", include);
		return ES_SPF_FROM_PROVIDER;
	}
	if (host == NULL || host[0] == '\0')
		return ES_SPF_UNKNOWN;
	/* [2001:db8::1] as in a URL */
	(void)es_strlcpy(h, host[0] == '[' ? host + 1 : host, sizeof(h));
	n = strlen(h);
	if (host[0] == '[' && n > 0 && h[n - 1] == ']')
		h[--n] = '\0';
	if (inet_pton(AF_INET, h, a) == 1) {
		if (local_v4(a))
			return ES_SPF_UNKNOWN;
		(void)snprintf(out, outsz, "ip4:%s", h);
		return ES_SPF_FROM_HOST;
	}
	if (inet_pton(AF_INET6, h, a) == 1) {
		if (local_v6(a))
			return ES_SPF_UNKNOWN;
		(void)snprintf(out, outsz, "ip6:%s", h);
		return ES_SPF_FROM_HOST;
	}
	if (!es_valid_domain(h) || local_name(h))
		return ES_SPF_UNKNOWN;
	(void)snprintf(out, outsz, "a:%s", h);
	return ES_SPF_FROM_HOST;
}

/* The fix for a domain without SPF: a record that authorises the
 * configured server, never "v=spf1 ~all" (which authorises nobody). */
static void spf_suggestion(const char *domain, const char *include, const char *host,
                           struct es_dns_verdict *v)
{
	char mech[300], shown_host[128];

	switch (es_spf_mechanism(include, host, mech, sizeof(mech))) {
	case ES_SPF_FROM_PROVIDER:
		(void)snprintf(v->fix, sizeof(v->fix),
			       es_msg(v->french, "publish: %s TXT \"v=spf1 %s ~all\""), domain,
			       mech);
		return;
	case ES_SPF_FROM_HOST:
		(void)snprintf(v->fix, sizeof(v->fix),
			       es_msg(v->french, "publish: %s TXT \"v=spf1 %s ~all\""), domain,
			       mech);
		v->guess = true;
		(void)snprintf(
		    v->note, sizeof(v->note),
		    es_msg(v->french,
			   "a guess from [mail] host: ask your mail provider which servers send "
			   "for %s (it may give an include: to use instead)"),
		    domain);
		return;
	case ES_SPF_UNKNOWN:
		break;
	}
	es_dns_printable(host != NULL ? host : "", host != NULL ? strlen(host) : 0, shown_host,
	                 sizeof(shown_host));
	(void)snprintf(
	    v->fix, sizeof(v->fix),
	    es_msg(v->french,
		   "publish one TXT record at %s: \"v=spf1 MECHANISM ~all\", where MECHANISM "
		   "names the servers that send your mail to the Internet (an include:, ip4: or "
		   "a: your mail provider gives you)%s%s%s"),
	    domain, shown_host[0] ? "; [mail] host " : "", shown_host,
	    shown_host[0] ? " is not an address the Internet sees" : "");
}

/* A term that lets some server pass: a mechanism with the + qualifier
 * (written or implied), other than all; or a redirect=. */
static bool authorises(const char *term)
{
	static const char *const mechs[] = { "a", "mx", "ip4:", "ip6:", "include:", "exists:",
		                             "ptr" };

	if (strncasecmp(term, "redirect=", 9) == 0)
		return true;
	if (*term == '+')
		term++;
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		size_t k = strlen(mechs[i]);

		if (strncasecmp(term, mechs[i], k) != 0)
			continue;
		/* "a", "mx", "ptr" alone or with :domain or /cidr */
		if (mechs[i][k - 1] == ':' || term[k] == '\0' || term[k] == ':' || term[k] == '/')
			return true;
	}
	return false;
}

/* What an SPF record's terms say: its last term, whether one is want (the
 * provider's include:), a redirect=, or a term that authorises a server. */
struct spf_terms {
	char term[256];
	bool has_include, has_redirect, names_server;
};

/* Term by term over the whole record, however long (a record with many
 * ip4: runs over several character-strings); want may be NULL. */
static void spf_scan(const char *spf, const char *want, struct spf_terms *st)
{
	for (const char *t = spf + strspn(spf, " \t"); *t != '\0'; t += strspn(t, " \t")) {
		size_t len = strcspn(t, " \t");
		size_t keep = len < sizeof(st->term) ? len : sizeof(st->term) - 1;

		memcpy(st->term, t, keep);
		st->term[keep] = '\0';
		t += len;
		if (want != NULL && strcasecmp(st->term, want) == 0)
			st->has_include = true;
		if (strncasecmp(st->term, "redirect=", 9) == 0)
			st->has_redirect = true;
		if (authorises(st->term))
			st->names_server = true;
	}
}

void es_spf_check(const char *domain, const char *const *txt, size_t n, const char *include,
                  const char *host, struct es_dns_verdict *v, bool french)
{
	char problem[512], fix[768], want[300], mech[300];
	const char *spf = NULL;
	size_t count;
	struct spf_terms t = {0};

	memset(v, 0, sizeof(*v));
	v->french = french;
	(void)snprintf(want, sizeof(want), "%s%s",
		       include != NULL ? "include:" : "", include != NULL ? include : "");
	count = find_records(txt, n, "v=spf1", ' ', &spf);
	if (count == 0) {
		v->ok = false;
		(void)es_strlcpy(v->problem, es_msg(v->french, "no SPF record (v=spf1)"),
				 sizeof(v->problem));
		spf_suggestion(domain, include, host, v);
		return;
	}
	shown(v, spf);
	if (count > 1) {
		(void)snprintf(
		    problem, sizeof(problem),
		    es_msg(
			v->french,
			"%zu SPF records: there must be exactly one (two make every check fail)"),
		    count);
		(void)snprintf(
		    fix, sizeof(fix),
		    es_msg(v->french,
			   "merge them into one TXT record at %s, ending in ~all or -all"),
		    domain);
		set_problem(v, problem, fix);
		return;
	}
	spf_scan(spf, include != NULL ? want : NULL, &t);
	if (!t.has_redirect && strcasecmp(t.term, "~all") != 0 && strcasecmp(t.term, "-all") != 0) {
		(void)snprintf(problem, sizeof(problem),
		               strcasecmp(t.term, "+all") == 0 || strcasecmp(t.term, "all") == 0
		                   ? "ends with %s: anyone may send mail as %s"
		                   : "does not end with ~all or -all (ends with '%s', %s)",
		               t.term, domain);
		(void)snprintf(fix, sizeof(fix),
			       es_msg(v->french, "end the record at %s with ~all (or -all)"),
			       domain);
		set_problem(v, problem, fix);
		return;
	}
	if (include != NULL && !t.has_include) {
		(void)snprintf(
		    problem, sizeof(problem),
		    es_msg(v->french,
			   "does not include %s: the provider's servers are not allowed to send "
			   "for %s"),
		    include, domain);
		(void)snprintf(fix, sizeof(fix),
			       es_msg(v->french, "add %s before the ~all/-all of the record at %s"),
			       want, domain);
		set_problem(v, problem, fix);
		return;
	}
	if (!t.names_server) {
		/* "v=spf1 -all": right for a domain that sends nothing, wrong
		 * for the one the school's mail comes from */
		(void)snprintf(
		    problem, sizeof(problem),
		    es_msg(v->french, "authorises no server: every mail from %s fails SPF"),
		    domain);
		if (es_spf_mechanism(include, host, mech, sizeof(mech)) == ES_SPF_UNKNOWN) {
			(void)snprintf(
			    fix, sizeof(fix),
			    es_msg(
				v->french,
				"add the mechanism your mail provider gives (an include:, ip4: or "
				"a:) before the ~all/-all of the record at %s"),
			    domain);
		} else {
			(void)snprintf(
			    fix, sizeof(fix),
			    es_msg(v->french, "add %s before the ~all/-all of the record at %s"),
			    mech, domain);
			v->guess = true;
			(void)snprintf(
			    v->note, sizeof(v->note),
			    es_msg(v->french,
				   "a guess from [mail] host: ask your mail provider which servers "
				   "send for %s (it may give an include: to use instead)"),
			    domain);
		}
		set_problem(v, problem, fix);
		return;
	}
	v->ok = true;
}

void es_spf_verdict(const char *domain, const char *const *txt, size_t n, const char *include,
                    struct es_dns_verdict *v, bool french)
{
	es_spf_check(domain, txt, n, include, NULL, v, french);
}

/* ---- tag lists (DMARC, DKIM) ---- */

static bool tag_name_char(int c, bool first)
{
	return isalpha(c) || (!first && (isdigit(c) || c == '_'));
}

/* "a=b; c=d" -> tags. -1 with why on a syntax error. */
static int parse_tags(const char *s, struct tag *tags, size_t max, size_t *n, char *why,
                      size_t whysz, bool french)
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
			(void)snprintf(why, whysz, es_msg(french, "more than %zu tags"), max);
			return -1;
		}
		t = &tags[(*n)++];
		while (tag_name_char((unsigned char)*s, k == 0) && k + 1 < sizeof(t->name))
			t->name[k++] = (char)tolower((unsigned char)*s++);
		t->name[k] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (k == 0 || *s != '=') {
			(void)snprintf(
			    why, whysz,
			    es_msg(french, "bad tag near '%.20s' (expected name=value; ...)"), s);
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
				(void)snprintf(why, whysz, es_msg(french, "tag %s given twice"),
					       t->name);
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
                      struct es_dns_verdict *v, bool french)
{
	struct tag tags[MAX_TAGS];
	char why[256], problem[512], fix[768];
	const char *rec = NULL, *p, *sp, *pct, *rep;
	size_t count, nt = 0;

	memset(v, 0, sizeof(*v));
	v->french = french;
	/* p=none first: with SPF or DKIM not right yet, quarantine would send
	 * the school's own mail (credentials included) to spam */
	(void)snprintf(
	    fix, sizeof(fix), es_msg(v->french, "publish: _dmarc.%s TXT \"v=DMARC1; p=none%s%s\""),
	    domain, rua != NULL && rua[0] ? "; rua=mailto:" : "", rua != NULL && rua[0] ? rua : "");
	count = find_records(txt, n, "v=DMARC1", ';', &rec);
	if (count == 0) {
		set_problem(v, es_msg(v->french, "no DMARC record (v=DMARC1) at _dmarc"), fix);
		(void)es_strlcpy(
		    v->note,
		    es_msg(v->french,
			   "start with p=none and read the reports; once SPF and DKIM pass, "
			   "move to p=quarantine"),
		    sizeof(v->note));
		return;
	}
	shown(v, rec);
	if (count > 1) {
		(void)snprintf(
		    problem, sizeof(problem),
		    es_msg(v->french,
			   "%zu DMARC records: there must be exactly one (receivers then ignore "
			   "them all)"),
		    count);
		set_problem(v, problem, fix);
		return;
	}
	if (parse_tags(rec, tags, MAX_TAGS, &nt, why, sizeof(why), v->french) != 0) {
		(void)snprintf(problem, sizeof(problem),
			       es_msg(v->french, "not a valid tag list: %s"), why);
		set_problem(v, problem, fix);
		return;
	}
	p = tag_value(tags, nt, "p");
	sp = tag_value(tags, nt, "sp");
	pct = tag_value(tags, nt, "pct");
	if (!is_policy(p)) {
		(void)snprintf(
		    problem, sizeof(problem),
		    p == NULL ? es_msg(v->french, "no policy (p=)%s")
			      : es_msg(v->french, "bad policy p=%s (none, quarantine or reject)"),
		    p == NULL ? "" : p);
		set_problem(v, problem, fix);
		return;
	}
	if (sp != NULL && !is_policy(sp)) {
		(void)snprintf(problem, sizeof(problem),
			       es_msg(v->french, "bad subdomain policy sp=%s"), sp);
		set_problem(v, problem, fix);
		return;
	}
	if (pct != NULL) {
		long x;

		if (es_parse_long(pct, 0, 100, &x) != 0) {
			(void)snprintf(problem, sizeof(problem),
				       es_msg(v->french, "bad pct=%s (0 to 100)"), pct);
			set_problem(v, problem, fix);
			return;
		}
	}
	for (size_t i = 0; i < 2; i++) {
		rep = tag_value(tags, nt, i == 0 ? "rua" : "ruf");
		if (rep != NULL && strncasecmp(rep, "mailto:", 7) != 0) {
			(void)snprintf(problem, sizeof(problem),
				       es_msg(v->french, "bad %s=%s (mailto:ADDRESS)"),
				       i == 0 ? "rua" : "ruf", rep);
			set_problem(v, problem, fix);
			return;
		}
	}
	v->ok = true;
	(void)snprintf(v->note, sizeof(v->note),
		       strcasecmp(p, "none") == 0
			   ? es_msg(v->french, "policy p=%.12s (monitoring only: quarantine or "
					       "reject protects the domain)")
			   : es_msg(v->french, "policy p=%.12s"),
		       p);
}

/* ---- DKIM ---- */

void es_dkim_verdict(const char *domain, const char *selector, const char *const *txt, size_t n,
                     struct es_dns_verdict *v, bool french)
{
	struct tag tags[MAX_TAGS];
	char why[256], problem[512], fix[768];
	const char *key;
	size_t nt = 0;

	memset(v, 0, sizeof(*v));
	v->french = french;
	(void)snprintf(
	    fix, sizeof(fix),
	    es_msg(v->french,
		   "publish the DKIM key your mail provider gives you as %s._domainkey.%s "
		   "TXT \"v=DKIM1; k=rsa; p=...\" (and turn signing on at the provider)"),
	    selector, domain);
	for (size_t i = 0; i < n; i++) {
		if (parse_tags(txt[i], tags, MAX_TAGS, &nt, why, sizeof(why), v->french) != 0)
			continue;
		if (tag_value(tags, nt, "p") == NULL)
			continue;
		shown(v, txt[i]);
		if (strcmp(tags[0].name, "v") == 0 && strcmp(tags[0].value, "DKIM1") != 0) {
			(void)snprintf(problem, sizeof(problem),
				       es_msg(v->french, "bad version v=%s (v=DKIM1)"),
				       tags[0].value);
			set_problem(v, problem, fix);
			return;
		}
		key = tag_value(tags, nt, "p");
		if (key[0] == '\0') {
			set_problem(v, es_msg(v->french, "the key is revoked (empty p=)"), fix);
			return;
		}
		for (const char *c = key; *c != '\0'; c++)
			if (!isalnum((unsigned char)*c) && *c != '+' && *c != '/' && *c != '=' &&
			    *c != ' ' && *c != '\t') {
				set_problem(v, es_msg(v->french, "the key (p=) is not base64"),
					    fix);
				return;
			}
		v->ok = true;
		return;
	}
	(void)snprintf(problem, sizeof(problem),
		       es_msg(v->french, "no DKIM key at %s._domainkey.%s"), selector, domain);
	set_problem(v, problem, fix);
}
