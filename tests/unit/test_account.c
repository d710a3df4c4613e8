/* Unit tests for lib/es_account.c: the verdict and the reminders from the
 * table shared with the agreement test (tests/cases/account.txt), then the
 * events (new account, change, logins) and the confirmation protocol. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "es_account.h"

#ifndef ES_ACCOUNT_CASES
#define ES_ACCOUNT_CASES "tests/cases/account.txt"
#endif

#define T0 ((time_t)1800000000) /* "now" of the table */

/* A time of the table: @N is N days from T0. */
static int64_t table_time(const char *v)
{
	if (v[0] != '@')
		return strtoll(v, NULL, 10);
	return (int64_t)T0 + (int64_t)(strtod(v + 1, NULL) * ES_DAY);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static void load_state(struct es_state *st, char *keys)
{
	static const char *const times[] = { ES_K_CREATED, ES_K_PW_CHANGED, ES_K_INITIAL_EXPIRES,
		                             ES_K_LAST_LOGIN };

	es_state_init(st, "zoe");
	for (char *save = NULL, *kv = strtok_r(keys, " ", &save); kv != NULL;
	     kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '=');
		bool is_time = false;

		assert_non_null(eq);
		*eq = '\0';
		for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
			is_time |= strcmp(kv, times[i]) == 0;
		if (is_time)
			assert_int_equal(es_state_set_i64(st, kv, table_time(eq + 1)), 0);
		else
			assert_int_equal(es_state_set(st, kv, eq + 1), 0);
	}
}

static void load_config(struct es_config *cfg, char *keys)
{
	struct es_err err = { 0 };

	es_config_defaults(cfg);
	if (strcmp(keys, "-") == 0)
		return;
	for (char *save = NULL, *kv = strtok_r(keys, " ", &save); kv != NULL;
	     kv = strtok_r(NULL, " ", &save)) {
		char *dot = strchr(kv, '.'), *eq = strchr(kv, '='), section[80];

		assert_non_null(dot);
		assert_non_null(eq);
		*dot = *eq = '\0';
		if (strcmp(kv, "policy") == 0)
			(void)snprintf(section, sizeof(section), "policy");
		else
			(void)snprintf(section, sizeof(section), "role %s", kv);
		if (es_config_set(cfg, section, dot + 1, eq + 1, "table", &err) != 0)
			fail_msg("%s", err.msg);
	}
}

/* Every row of the table through es_account_policy, es_account_verdict
 * and es_account_due. */
static void table(void **unused)
{
	FILE *f = fopen(ES_ACCOUNT_CASES, "r");
	char line[1024];
	int rows = 0;

	(void)unused;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *col[7], *p = line, *sep;
		struct es_config cfg;
		struct es_policy pol;
		struct es_state st;
		struct es_verdict v;
		struct es_due d;
		struct es_err err = { 0 };
		size_t n = 0;

		if (line[0] == '#' || trim(line)[0] == '\0')
			continue;
		while (n < 7 && (sep = strchr(p, '|')) != NULL) {
			*sep = '\0';
			col[n++] = trim(p);
			p = sep + 1;
		}
		col[n++] = trim(p);
		assert_int_equal(n, 7);
		load_state(&st, col[1]);
		load_config(&cfg, col[2]);
		assert_int_equal(es_account_policy(&cfg, &st, &pol, &err), 0);
		es_account_verdict(&pol, &st, T0, &v);
		es_account_due(&pol, &st, T0, &d);
		if (strcmp(es_verdict_name(v.kind), col[3]) != 0 || v.days_left != atol(col[4]) ||
		    v.expires != (strcmp(col[5], "never") == 0 ? 0 : table_time(col[5])))
			fail_msg("%s: verdict %s, %ld days left, expires %lld", col[0],
			         es_verdict_name(v.kind), v.days_left, (long long)v.expires);
		if (strcmp(col[6], "-") == 0 ? d.kind != NULL
		    : d.kind == NULL || strncmp(d.kind, strcmp(col[6], "first") == 0 ? "first-change"
		                                                                      : "expiry-warning",
		                                12) != 0 || d.days_left != v.days_left)
			fail_msg("%s: remind owes %s (%ld days)", col[0], d.kind ? d.kind : "nothing",
			         d.days_left);
		/* once recorded, the same occasion is not owed again */
		if (d.kind != NULL) {
			assert_int_equal(es_account_record_due(&st, &d), 0);
			es_account_due(&pol, &st, T0, &d);
			if (d.kind != NULL)
				fail_msg("%s: owed again after being recorded", col[0]);
		}
		es_state_free(&st);
		es_config_free(&cfg);
		rows++;
	}
	(void)fclose(f);
	assert_true(rows >= 10);
}

/* A missed run owes one mail for every step come due; then only the next. */
static void reminders_per_step(void **unused)
{
	struct es_config cfg;
	struct es_policy pol;
	struct es_state st;
	struct es_due d;

	(void)unused;
	es_config_defaults(&cfg);
	es_state_init(&st, "zoe");
	assert_int_equal(es_state_set_i64(&st, ES_K_PW_CHANGED, T0 - 85 * ES_DAY), 0);
	assert_int_equal(es_account_policy(&cfg, &st, &pol, NULL), 0);
	es_account_due(&pol, &st, T0, &d); /* 5 days left: step 7 */
	assert_string_equal(d.kind, "expiry-warning");
	assert_int_equal(d.n, 1);
	assert_int_equal(es_account_record_due(&st, &d), 0);
	es_account_due(&pol, &st, T0 + 4 * ES_DAY + 1, &d); /* under a day: step 1 */
	assert_string_equal(d.kind, "expiry-warning");
	assert_int_equal(d.n, 2);
	assert_int_equal(es_account_record_due(&st, &d), 0);
	/* a new password: the old occasions go */
	assert_int_equal(es_account_password_changed(&st, T0 + 5 * ES_DAY), 0);
	assert_int_equal(es_account_record_due(&st, &(struct es_due){ .stamp = "1" }), 0);
	assert_string_equal(es_state_get(&st, ES_K_REMINDERS), "");
	es_state_free(&st);
	es_config_free(&cfg);
}

static void new_account_and_change(void **unused)
{
	struct es_config cfg;
	struct es_policy pol;
	struct es_state st;
	struct es_verdict v;
	const struct es_account_who who = { "zoe@school.example", "Zoé", "student", "", NULL,
		                            NULL };

	(void)unused;
	es_config_defaults(&cfg);
	es_state_init(&st, "");
	assert_int_equal(es_config_role_policy(&cfg, "student", &pol, NULL), 0);
	assert_int_equal(es_account_new(&st, "zoe", &who, &pol, T0), 0);
	assert_string_equal(st.username, "zoe");
	assert_null(es_state_get(&st, ES_K_CLASS)); /* "" leaves the key out */
	assert_string_equal(es_state_get(&st, ES_K_DELIVERY), "creating");
	es_account_verdict(&pol, &st, T0, &v);
	assert_int_equal(v.kind, ES_V_MUST_CHANGE);
	assert_int_equal(v.expires, T0 + 14 * ES_DAY);
	es_account_verdict(&pol, &st, T0 + 14 * ES_DAY, &v);
	assert_int_equal(v.kind, ES_V_TEMP_EXPIRED);
	assert_int_equal(es_account_password_changed(&st, T0 + ES_DAY), 0);
	es_account_verdict(&pol, &st, T0 + ES_DAY, &v);
	assert_int_equal(v.kind, ES_V_OK);
	assert_false(v.temporary);
	assert_int_equal(v.expires, T0 + 91 * ES_DAY);
	es_state_free(&st);
	es_config_free(&cfg);
}

static void logins(void **unused)
{
	struct es_policy pol = { .known_sources = 3, .notify_new_login_source = true };
	struct es_state st;
	enum es_login_outcome o;

	(void)unused;
	es_state_init(&st, "zoe");
	assert_false(es_account_same_login(&st, "tty1", T0, 60));
	assert_int_equal(es_account_login(&st, &pol, "tty1", T0, &o), 0);
	assert_int_equal(o, ES_LOGIN_FIRST);
	assert_false(es_account_notify_login(&pol, o));
	assert_true(es_account_same_login(&st, "tty1", T0 + 30 - T0 % 60, 60));
	assert_false(es_account_same_login(&st, "tty1", T0 + 120, 60));
	/* the directory's period: the day */
	assert_true(es_account_same_login(&st, "tty1", T0 - T0 % ES_DAY + ES_DAY - 1, ES_DAY));
	assert_false(es_account_same_login(&st, "tty1", T0 - T0 % ES_DAY + ES_DAY, ES_DAY));
	assert_int_equal(es_account_login(&st, &pol, "10.0.0.1", T0 + 120, &o), 0);
	assert_int_equal(o, ES_LOGIN_NEW_SOURCE);
	assert_true(es_account_notify_login(&pol, o));
	assert_int_equal(es_account_login(&st, &pol, "10.0.0.2", T0 + 240, &o), 0);
	assert_int_equal(es_account_login(&st, &pol, "tty1", T0 + 360, &o), 0);
	assert_int_equal(o, ES_LOGIN_KNOWN);
	assert_string_equal(es_state_get(&st, ES_K_SOURCES), "tty1,10.0.0.2,10.0.0.1");
	/* a fourth source pushes the oldest out */
	assert_int_equal(es_account_login(&st, &pol, "10.0.0.3", T0 + 480, &o), 0);
	assert_string_equal(es_state_get(&st, ES_K_SOURCES), "10.0.0.3,tty1,10.0.0.2");
	assert_int_equal(es_account_login(&st, &pol, "10.0.0.1", T0 + 600, &o), 0);
	assert_int_equal(o, ES_LOGIN_NEW_SOURCE);
	pol.notify_new_login_source = false;
	assert_false(es_account_notify_login(&pol, o));
	es_state_free(&st);
}

static void confirmation(void **unused)
{
	struct es_policy pol = { .email_code_ttl_minutes = 60, .email_code_tries = 2 };
	unsigned char key[ES_CODE_KEY_LEN] = { 1, 2, 3 };
	char code[ES_CODE_LEN + 1], hex[ES_CODE_HASH_HEX], longer[100];
	struct es_state st;
	int64_t expires;
	long left;

	(void)unused;
	assert_true(sodium_init() >= 0);
	es_state_init(&st, "zoe");
	assert_int_equal(es_state_set(&st, ES_K_EMAIL, "old@school.example"), 0);
	assert_false(es_account_code_askable(&st, &pol, T0));
	assert_int_equal(es_account_email_confirm(&st, &pol, key, "x", NULL, T0, &left, NULL),
	                 ES_CONFIRM_NONE);
	assert_int_equal(es_code_new(code), 0);
	assert_int_equal(es_code_hash(key, "zoe", code, hex, NULL), 0);
	assert_int_equal(es_account_email_request(&st, &pol, "new@school.example", hex, T0,
	                                          &expires),
	                 0);
	assert_int_equal(expires, T0 + 3600);
	assert_true(es_account_code_askable(&st, &pol, T0));
	assert_false(es_account_code_askable(&st, &pol, T0 + 3600));
	/* a request replaced meanwhile is not confirmed by the old code */
	assert_int_equal(es_account_email_confirm(&st, &pol, key, code, "other@school.example",
	                                          T0, &left, NULL),
	                 ES_CONFIRM_NONE);
	assert_int_equal(es_account_email_confirm(&st, &pol, key, code, NULL, T0 + 3600, &left, NULL),
	                 ES_CONFIRM_EXPIRED);
	/* an over-long answer is a wrong one, counted */
	memset(longer, 'A', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(es_account_email_confirm(&st, &pol, key, longer, NULL, T0, &left, NULL),
	                 ES_CONFIRM_WRONG);
	assert_int_equal(left, 1);
	assert_int_equal(es_state_get_i64(&st, ES_K_PENDING_TRIES, 0), 1);
	assert_int_equal(es_account_email_confirm(&st, &pol, key, code, "new@school.example", T0,
	                                          &left, NULL),
	                 ES_CONFIRM_OK);
	assert_string_equal(es_state_get(&st, ES_K_EMAIL), "new@school.example");
	assert_null(es_state_get(&st, ES_K_PENDING_EMAIL));
	assert_null(es_state_get(&st, ES_K_PENDING_CODE));
	/* tries run out */
	assert_int_equal(es_account_email_request(&st, &pol, "third@school.example", hex, T0,
	                                          &expires),
	                 0);
	assert_int_equal(es_account_email_confirm(&st, &pol, key, "WRONG123", NULL, T0, &left, NULL),
	                 ES_CONFIRM_WRONG);
	assert_int_equal(es_account_email_confirm(&st, &pol, key, "WRONG123", NULL, T0, &left, NULL),
	                 ES_CONFIRM_WRONG);
	assert_int_equal(left, 0);
	assert_int_equal(es_account_email_confirm(&st, &pol, key, code, NULL, T0, &left, NULL),
	                 ES_CONFIRM_NO_TRIES);
	assert_false(es_account_code_askable(&st, &pol, T0));
	assert_string_equal(es_state_get(&st, ES_K_EMAIL), "new@school.example");
	es_state_free(&st);
}

static void welcome_kind(void **unused)
{
	struct es_config cfg;
	struct es_err err = { 0 };
	char kind[80];

	(void)unused;
	es_config_defaults(&cfg);
	assert_int_equal(es_config_set(&cfg, "role staff", "template", "bienvenue-staff", "t", &err),
	                 0);
	es_account_welcome_kind(&cfg, "teacher", kind, sizeof(kind));
	assert_string_equal(kind, "welcome-teacher");
	es_account_welcome_kind(&cfg, "staff", kind, sizeof(kind));
	assert_string_equal(kind, "bienvenue-staff");
	es_config_free(&cfg);
}

/* Notices a workstation owes (the directory store): kept in the state,
 * the source shown as it was (commas, colons, percent signs), removed once
 * mailed, and at most ES_NOTICES_MAX (the oldest go). */
static void owed_notices(void **unused)
{
	struct es_state st;
	struct es_notice got[ES_NOTICES_MAX];
	size_t n;

	(void)unused;
	es_state_init(&st, "zoe");
	assert_int_equal(es_account_owe_notice(&st, "password-changed", 1000, ""), 0);
	assert_int_equal(es_account_owe_notice(&st, "new-login-source", 2000,
	                                       "la console, de: 100% ws02"), 0);
	n = es_account_notices(&st, got, ES_NOTICES_MAX);
	assert_int_equal(n, 2);
	assert_string_equal(got[0].kind, "password-changed");
	assert_int_equal(got[0].when, 1000);
	assert_string_equal(got[0].shown, "");
	assert_string_equal(got[1].kind, "new-login-source");
	assert_string_equal(got[1].shown, "la console, de: 100% ws02");
	/* mailed: the first goes; one added since the collector read stays */
	assert_int_equal(es_account_owe_notice(&st, "password-changed", 3000, ""), 0);
	assert_int_equal(es_account_notices_sent(&st, got, 1), 0);
	n = es_account_notices(&st, got, ES_NOTICES_MAX);
	assert_int_equal(n, 2);
	assert_int_equal(got[0].when, 2000);
	assert_int_equal(got[1].when, 3000);
	assert_int_equal(es_account_notices_sent(&st, got, n), 0);
	assert_null(es_state_get(&st, ES_K_NOTICES));
	/* full: the oldest goes */
	for (int i = 0; i < ES_NOTICES_MAX + 3; i++)
		assert_int_equal(es_account_owe_notice(&st, "new-login-source", 100 + i, "h"), 0);
	n = es_account_notices(&st, got, ES_NOTICES_MAX);
	assert_int_equal(n, ES_NOTICES_MAX);
	assert_int_equal(got[0].when, 103);
	/* a damaged value: the items that parse */
	assert_int_equal(es_state_set(&st, ES_K_NOTICES, "x,:1:a,k::,k:12:ok,k:-5:s"), 0);
	n = es_account_notices(&st, got, ES_NOTICES_MAX);
	assert_int_equal(n, 1);
	assert_string_equal(got[0].shown, "ok");
	es_state_free(&st);
}

/* Which queued mails follow the account's address when it changes. */
static void test_mail_follows_email(void **state)
{
	(void)state;
	assert_true(es_account_mail_is_credential("welcome-student", true));
	assert_true(es_account_mail_is_credential("welcome-prof-custom", true));
	assert_true(es_account_mail_is_credential("reset", true));
	assert_false(es_account_mail_is_credential("verify-email", true));
	assert_false(es_account_mail_is_credential("parent-notice", false));
	assert_true(es_account_mail_follows_email("reset", true));
	assert_true(es_account_mail_follows_email("password-changed", false));
	assert_true(es_account_mail_follows_email("new-login-source", false));
	assert_true(es_account_mail_follows_email("first-change-reminder", false));
	assert_true(es_account_mail_follows_email("expiry-warning", false));
	/* the parent, the address being confirmed or replaced, the admin */
	assert_false(es_account_mail_follows_email("parent-notice", false));
	assert_false(es_account_mail_follows_email("verify-email", true));
	assert_false(es_account_mail_follows_email("email-changed", false));
	assert_false(es_account_mail_follows_email("delivery-failure", false));
	assert_false(es_account_mail_follows_email("test", false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table),        cmocka_unit_test(reminders_per_step),
		cmocka_unit_test(new_account_and_change), cmocka_unit_test(logins),
		cmocka_unit_test(confirmation), cmocka_unit_test(welcome_kind),
		cmocka_unit_test(owed_notices),
		cmocka_unit_test(test_mail_follows_email),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
