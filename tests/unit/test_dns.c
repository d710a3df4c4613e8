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

	es_spf_verdict("school.example", txt, n, include, &v);
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
	es_dmarc_verdict("school.example", good, 1, NULL, &v);
	assert_true(v.ok);
	assert_string_equal(v.note, "policy p=reject");
	es_dmarc_verdict("school.example", none, 1, NULL, &v);
	assert_true(v.ok);
	assert_non_null(strstr(v.note, "monitoring only"));
	es_dmarc_verdict("school.example", NULL, 0, "it@school.example", &v);
	assert_false(v.ok);
	assert_string_equal(v.fix, "publish: _dmarc.school.example TXT \"v=DMARC1; p=quarantine; "
				   "rua=mailto:it@school.example\"");
	es_dmarc_verdict("school.example", nop, 1, NULL, &v);
	assert_false(v.ok);
	assert_non_null(strstr(v.problem, "no policy"));
	es_dmarc_verdict("school.example", badp, 1, NULL, &v);
	assert_non_null(strstr(v.problem, "bad policy p=strict"));
	es_dmarc_verdict("school.example", badpct, 1, NULL, &v);
	assert_non_null(strstr(v.problem, "bad pct=150"));
	es_dmarc_verdict("school.example", badrua, 1, NULL, &v);
	assert_non_null(strstr(v.problem, "bad rua="));
	es_dmarc_verdict("school.example", dup, 1, NULL, &v);
	assert_non_null(strstr(v.problem, "tag p given twice"));
	es_dmarc_verdict("school.example", syntax, 1, NULL, &v);
	assert_non_null(strstr(v.problem, "not a valid tag list"));
	es_dmarc_verdict("school.example", two, 2, NULL, &v);
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
	es_dkim_verdict("school.example", "google", good, 1, &v);
	assert_true(v.ok);
	es_dkim_verdict("school.example", "google", nov, 1, &v);
	assert_true(v.ok);
	es_dkim_verdict("school.example", "google", revoked, 1, &v);
	assert_false(v.ok);
	assert_non_null(strstr(v.problem, "revoked"));
	es_dkim_verdict("school.example", "google", junk, 1, &v);
	assert_non_null(strstr(v.problem, "not base64"));
	es_dkim_verdict("school.example", "google", badv, 1, &v);
	assert_non_null(strstr(v.problem, "bad version"));
	es_dkim_verdict("school.example", "s1", nokey, 1, &v);
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
	es_spf_verdict("school.example", txt, 1, NULL, &v);
	assert_false(v.ok);
	memcpy(big, "v=DMARC1; p=reject; x=", 22);
	es_dmarc_verdict("school.example", txt, 1, NULL, &v);
	memset(big, ';', 69999);
	es_dkim_verdict("school.example", "s", txt, 1, &v);
	assert_false(v.ok);
	txt[0] = "v=spf1 include:\x1b[31m ~all\r\n";
	es_spf_verdict("school.example", txt, 1, "_spf.google.com", &v);
	assert_null(strchr(v.found, '\x1b'));
	assert_null(strchr(v.found, '\n'));
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spf),
		cmocka_unit_test(test_dmarc),
		cmocka_unit_test(test_dkim),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
