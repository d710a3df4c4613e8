/* lib/es_dns: SPF, DMARC and DKIM verdicts from TXT strings, hostile ones
 * included (no resolver here: tests/integration/test_dns.py has dnsmasq). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "es_dns.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void spf(const char *const *txt, size_t n, const char *include, bool ok, const char *frag)
{
	struct es_dns_verdict v;

	es_spf_verdict("school.example", txt, n, include, &v, false);
	if (v.ok != ok)
		fail_msg("SPF %s: expected %s, got %s (%s)", n ? txt[0] : "(none)", ok ? "ok" : "fail",
			 v.ok ? "ok" : "fail", v.problem);
	if (frag != NULL && strstr(v.problem, frag) == NULL)
		fail_msg("problem '%s' lacks '%s'", v.problem, frag);
}

static void test_spf(void **state)
{
	const char *good[] = {"google-site-verification=x", "v=spf1 include:_spf.google.com ~all"};
	const char *upper[] = {"V=SPF1 INCLUDE:_spf.google.com -ALL"};
	const char *two[] = {"v=spf1 -all", "v=spf1 include:_spf.google.com ~all"};
	const char *plus[] = {"v=spf1 include:_spf.google.com +all"};
	const char *bare[] = {"v=spf1 include:_spf.google.com all"};
	const char *noall[] = {"v=spf1 include:_spf.google.com"};
	const char *neutral[] = {"v=spf1 include:_spf.google.com ?all"};
	const char *redirect[] = {"v=spf1 redirect=_spf.school.example"};
	const char *other[] = {"v=spf1 mx ~all"};
	const char *notspf[] = {"v=spf10 ~all", "xv=spf1 ~all"};
	const char *alone[] = {"v=spf1"};

	(void)state;
	spf(good, N(good), "_spf.google.com", true, NULL);
	spf(upper, N(upper), "_spf.google.com", true, NULL);
	spf(NULL, 0, "_spf.google.com", false, "no SPF record");
	spf(notspf, N(notspf), NULL, false, "no SPF record");
	spf(two, N(two), "_spf.google.com", false, "2 SPF records");
	spf(plus, N(plus), "_spf.google.com", false, "anyone may send");
	spf(bare, N(bare), "_spf.google.com", false, "anyone may send");
	spf(noall, N(noall), "_spf.google.com", false, "does not end with ~all or -all");
	spf(neutral, N(neutral), NULL, false, "does not end with");
	spf(redirect, N(redirect), NULL, true, NULL);
	spf(other, N(other), "_spf.google.com", false, "does not include _spf.google.com");
	spf(other, N(other), NULL, true, NULL); /* a custom server: no include to require */
	spf(alone, N(alone), NULL, false, "does not end with");
}

/* The mechanism suggested for the configured server: the preset's
 * include:, else a:/ip4:/ip6: of [mail] host, nothing for a local one. */
static void mech(const char *include, const char *host, enum es_spf_source want,
                 const char *text)
{
	char out[300];
	enum es_spf_source got = es_spf_mechanism(include, host, out, sizeof(out));

	if (got != want || strcmp(out, text) != 0)
		fail_msg("%s/%s: got %d '%s', want %d '%s'", include ? include : "-", host ? host : "-",
		         (int)got, out, (int)want, text);
}

static void test_spf_mechanism(void **state)
{
	(void)state;
	mech("_spf.google.com", "smtp.gmail.com", ES_SPF_FROM_PROVIDER, "include:_spf.google.com");
	mech(NULL, "smtp.school-mail.example", ES_SPF_FROM_HOST, "a:smtp.school-mail.example");
	mech(NULL, "203.0.113.25", ES_SPF_FROM_HOST, "ip4:203.0.113.25");
	mech(NULL, "2001:db8::25", ES_SPF_FROM_HOST, "ip6:2001:db8::25");
	mech(NULL, "[2001:db8::25]", ES_SPF_FROM_HOST, "ip6:2001:db8::25");
	/* nothing the Internet sees, or nothing at all: no guess */
	mech(NULL, NULL, ES_SPF_UNKNOWN, "");
	mech(NULL, "", ES_SPF_UNKNOWN, "");
	mech(NULL, "127.0.0.1", ES_SPF_UNKNOWN, "");
	mech(NULL, "10.1.2.3", ES_SPF_UNKNOWN, "");
	mech(NULL, "172.20.0.1", ES_SPF_UNKNOWN, "");
	mech(NULL, "192.168.1.10", ES_SPF_UNKNOWN, "");
	mech(NULL, "100.64.0.1", ES_SPF_UNKNOWN, "");
	mech(NULL, "::1", ES_SPF_UNKNOWN, "");
	mech(NULL, "fd00::1", ES_SPF_UNKNOWN, "");
	mech(NULL, "::ffff:127.0.0.1", ES_SPF_UNKNOWN, "");
	mech(NULL, "localhost", ES_SPF_UNKNOWN, "");
	mech(NULL, "relay", ES_SPF_UNKNOWN, "");
	mech(NULL, "relay.lan", ES_SPF_UNKNOWN, "");
	mech(NULL, "mail.school.local", ES_SPF_UNKNOWN, "");
	mech(NULL, "bad host\x1b[31m.example", ES_SPF_UNKNOWN, "");
	mech(NULL, "172.32.0.1", ES_SPF_FROM_HOST, "ip4:172.32.0.1"); /* not 172.16/12 */
}

/* The record suggested when there is none: it lets the configured server
 * send; never "v=spf1 ~all", which lets nobody. */
static void test_spf_suggestion(void **state)
{
	struct es_dns_verdict v;

	(void)state;
	es_spf_check("school.example", NULL, 0, "_spf.google.com", "smtp.gmail.com", &v, false);
	assert_false(v.ok);
	assert_string_equal(v.fix, "publish: school.example TXT \"v=spf1 include:_spf.google.com ~all\"");
	assert_false(v.guess);
	assert_string_equal(v.note, "");
	es_spf_check("school.example", NULL, 0, NULL, "smtp.school-mail.example", &v, false);
	assert_string_equal(v.fix,
	                    "publish: school.example TXT \"v=spf1 a:smtp.school-mail.example ~all\"");
	assert_true(v.guess);
	assert_non_null(strstr(v.note, "a guess from [mail] host"));
	assert_non_null(strstr(v.note, "mail provider"));
	es_spf_check("school.example", NULL, 0, NULL, "203.0.113.25", &v, false);
	assert_string_equal(v.fix, "publish: school.example TXT \"v=spf1 ip4:203.0.113.25 ~all\"");
	assert_true(v.guess);
	for (int i = 0; i < 3; i++) {
		const char *host = i == 0 ? NULL : i == 1 ? "127.0.0.1" : "relay.lan";

		es_spf_check("school.example", NULL, 0, NULL, host, &v, false);
		assert_false(v.ok);
		assert_false(v.guess);
		assert_null(strstr(v.fix, "v=spf1 ~all"));
		assert_non_null(strstr(v.fix, "MECHANISM"));
		assert_non_null(strstr(v.fix, "your mail provider"));
	}
	/* the old entry point, without a host, makes no record up either */
	es_spf_verdict("school.example", NULL, 0, NULL, &v, false);
	assert_null(strstr(v.fix, "v=spf1 ~all"));
}

/* A record that lets no server send fails for the sending domain; any
 * mechanism with a pass qualifier, or a redirect, names one. */
static void test_spf_authorises_somebody(void **state)
{
	const char *none[] = {"v=spf1 -all"};
	const char *soft[] = {"v=spf1 ~all"};
	const char *neg[] = {"v=spf1 -a -mx ~ip4:192.0.2.1 ~all"};
	const char *a[] = {"v=spf1 a ~all"};
	const char *mx[] = {"v=spf1 +mx/24 -all"};
	const char *ip4[] = {"v=spf1 ip4:192.0.2.0/24 -all"};
	const char *ip6[] = {"v=spf1 ip6:2001:db8::/32 -all"};
	const char *ex[] = {"v=spf1 exists:%{i}.spf.school.example -all"};
	const char *redirect[] = {"v=spf1 redirect=_spf.school.example"};
	struct es_dns_verdict v;

	(void)state;
	spf(none, 1, NULL, false, "authorises no server");
	spf(soft, 1, NULL, false, "authorises no server");
	spf(neg, 1, NULL, false, "authorises no server");
	spf(a, 1, NULL, true, NULL);
	spf(mx, 1, NULL, true, NULL);
	spf(ip4, 1, NULL, true, NULL);
	spf(ip6, 1, NULL, true, NULL);
	spf(ex, 1, NULL, true, NULL);
	spf(redirect, 1, NULL, true, NULL);
	es_spf_check("school.example", none, 1, NULL, "smtp.school-mail.example", &v, false);
	assert_string_equal(v.fix,
	                    "add a:smtp.school-mail.example before the ~all/-all of the record at "
	                    "school.example");
	assert_true(v.guess);
}

/* A record longer than any buffer (many ip4: over several strings) is
 * judged whole: its end is what counts. */
static void test_spf_long_record(void **state)
{
	char *rec = malloc(30000);
	const char *txt[1];
	size_t o = 0;
	struct es_dns_verdict v;

	(void)state;
	assert_non_null(rec);
	o += (size_t)snprintf(rec, 30000, "v=spf1");
	for (int i = 0; i < 1200; i++)
		o += (size_t)snprintf(rec + o, 30000 - o, " ip4:198.51.%d.%d", i / 250, i % 250);
	(void)snprintf(rec + o, 30000 - o, " include:_spf.google.com -all");
	txt[0] = rec;
	es_spf_verdict("school.example", txt, 1, "_spf.google.com", &v, false);
	assert_true(v.ok);
	(void)snprintf(rec + o, 30000 - o, " include:_spf.google.com +all");
	es_spf_verdict("school.example", txt, 1, "_spf.google.com", &v, false);
	assert_false(v.ok);
	assert_non_null(strstr(v.problem, "anyone may send"));
	free(rec);
}

static void test_dmarc(void **state)
{
	struct es_dns_verdict v;
	const char *good[] = {"v=DMARC1; p=reject; rua=mailto:it@school.example; pct=50"};
	const char *none[] = {"v=DMARC1;p=none"};
	const char *nop[] = {"v=DMARC1; rua=mailto:it@school.example"};
	const char *badp[] = {"v=DMARC1; p=strict"};
	const char *badpct[] = {"v=DMARC1; p=reject; pct=150"};
	const char *badrua[] = {"v=DMARC1; p=reject; rua=it@school.example"};
	const char *dup[] = {"v=DMARC1; p=reject; p=none"};
	const char *syntax[] = {"v=DMARC1; =reject"};
	const char *two[] = {"v=DMARC1; p=reject", "v=DMARC1; p=none"};

	(void)state;
	es_dmarc_verdict("school.example", good, 1, NULL, &v, false);
	assert_true(v.ok);
	assert_string_equal(v.note, "policy p=reject");
	es_dmarc_verdict("school.example", none, 1, NULL, &v, false);
	assert_true(v.ok);
	assert_non_null(strstr(v.note, "monitoring only"));
	es_dmarc_verdict("school.example", NULL, 0, "it@school.example", &v, false);
	assert_false(v.ok);
	/* p=none first: quarantine before SPF and DKIM pass hides the
	 * school's own mail */
	assert_string_equal(v.fix, "publish: _dmarc.school.example TXT \"v=DMARC1; p=none; "
				   "rua=mailto:it@school.example\"");
	assert_non_null(strstr(v.note, "move to p=quarantine"));
	es_dmarc_verdict("school.example", NULL, 0, NULL, &v, false);
	assert_string_equal(v.fix, "publish: _dmarc.school.example TXT \"v=DMARC1; p=none\"");
	es_dmarc_verdict("school.example", nop, 1, NULL, &v, false);
	assert_false(v.ok);
	assert_non_null(strstr(v.problem, "no policy"));
	es_dmarc_verdict("school.example", badp, 1, NULL, &v, false);
	assert_non_null(strstr(v.problem, "bad policy p=strict"));
	es_dmarc_verdict("school.example", badpct, 1, NULL, &v, false);
	assert_non_null(strstr(v.problem, "bad pct=150"));
	es_dmarc_verdict("school.example", badrua, 1, NULL, &v, false);
	assert_non_null(strstr(v.problem, "bad rua="));
	es_dmarc_verdict("school.example", dup, 1, NULL, &v, false);
	assert_non_null(strstr(v.problem, "tag p given twice"));
	es_dmarc_verdict("school.example", syntax, 1, NULL, &v, false);
	assert_non_null(strstr(v.problem, "not a valid tag list"));
	es_dmarc_verdict("school.example", two, 2, NULL, &v, false);
	assert_non_null(strstr(v.problem, "2 DMARC records"));
}

static void test_dkim(void **state)
{
	struct es_dns_verdict v;
	const char *good[] = {"v=DKIM1; k=rsa; p=MIIBIjANBgkqh+/kiG9w0BAQEFAAOC=="};
	const char *nov[] = {"k=rsa; p=MIIBIjAN"};
	const char *revoked[] = {"v=DKIM1; p="};
	const char *junk[] = {"v=DKIM1; p=<script>"};
	const char *badv[] = {"v=DKIM2; p=MIIB"};
	const char *nokey[] = {"v=spf1 -all"};

	(void)state;
	es_dkim_verdict("school.example", "google", good, 1, &v, false);
	assert_true(v.ok);
	es_dkim_verdict("school.example", "google", nov, 1, &v, false);
	assert_true(v.ok);
	es_dkim_verdict("school.example", "google", revoked, 1, &v, false);
	assert_false(v.ok);
	assert_non_null(strstr(v.problem, "revoked"));
	es_dkim_verdict("school.example", "google", junk, 1, &v, false);
	assert_non_null(strstr(v.problem, "not base64"));
	es_dkim_verdict("school.example", "google", badv, 1, &v, false);
	assert_non_null(strstr(v.problem, "bad version"));
	es_dkim_verdict("school.example", "s1", nokey, 1, &v, false);
	assert_false(v.ok);
	assert_string_equal(v.problem, "no DKIM key at s1._domainkey.school.example");
}

/* Long, control-laden and unterminated-looking records: judged without
 * reading past them, shown without control characters. */
static void test_hostile(void **state)
{
	struct es_dns_verdict v;
	char *big = malloc(70000);
	const char *txt[1];

	(void)state;
	assert_non_null(big);
	memset(big, 'a', 69999);
	big[69999] = '\0';
	memcpy(big, "v=spf1 ", 7);
	txt[0] = big;
	es_spf_verdict("school.example", txt, 1, NULL, &v, false);
	assert_false(v.ok);
	memcpy(big, "v=DMARC1; p=reject; x=", 22);
	es_dmarc_verdict("school.example", txt, 1, NULL, &v, false);
	memset(big, ';', 69999);
	es_dkim_verdict("school.example", "s", txt, 1, &v, false);
	assert_false(v.ok);
	txt[0] = "v=spf1 include:\x1b[31m ~all\r\n";
	es_spf_verdict("school.example", txt, 1, "_spf.google.com", &v, false);
	assert_null(strchr(v.found, '\x1b'));
	assert_null(strchr(v.found, '\n'));
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spf),
		cmocka_unit_test(test_spf_mechanism),
		cmocka_unit_test(test_spf_suggestion),
		cmocka_unit_test(test_spf_authorises_somebody),
		cmocka_unit_test(test_spf_long_record),
		cmocka_unit_test(test_dmarc),
		cmocka_unit_test(test_dkim),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
