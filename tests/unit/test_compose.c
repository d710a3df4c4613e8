/* Composing mails from the shipped templates: language choice, subject
 * from the text template, both parts, the kind header, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "es_compose.h"
#include "es_config.h"

static const char *const dirs[] = { "conf/templates" };

static const struct es_tvar vars[] = {
	{ "school_name", "Lycée Exemple" }, { "contact", "B12" }, { "admin_email", NULL },
	{ "logo", NULL },                   { "name", "Élodie Dupré" }, { "username", "edupre" },
	{ "password", "Pw7xKq2mTn4r" },     { "class", "2nde A" }, { "expires", "9/12/2026" },
};
#define NVARS (sizeof(vars) / sizeof(vars[0]))

static struct es_compose ctx(void)
{
	return (struct es_compose){ .dirs = dirs, .ndirs = 1, .school_lang = "fr",
		                    .from_addr = "noreply@school.example",
		                    .from_name = "Lycée Exemple", .now = 1795000000 };
}

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* The decoded subject of a message (one or more B words). */
static void subject_of(const char *msg, char *out, size_t outsz)
{
	const char *s = strstr(msg, "\r\nSubject: ");
	size_t used = 0;

	assert_non_null(s);
	s += 11;
	while (strncmp(s, "=?UTF-8?B?", 10) == 0) {
		const char *end = strstr(s + 10, "?=");
		unsigned char bin[128];
		size_t blen = 0;

		assert_non_null(end);
		assert_int_equal(sodium_base642bin(bin, sizeof(bin), s + 10, (size_t)(end - s - 10),
		                                   NULL, &blen, NULL, sodium_base64_VARIANT_ORIGINAL),
		                 0);
		assert_true(used + blen < outsz);
		memcpy(out + used, bin, blen);
		used += blen;
		s = end + 2;
		if (strncmp(s, "\r\n ", 3) == 0)
			s += 3;
	}
	out[used] = '\0';
}

static void test_welcome_in_french_and_english(void **state)
{
	struct es_compose c = ctx();
	struct es_buf b = { 0 };
	struct es_err err = { 0 };
	char id[128], subject[256];

	(void)state;
	assert_int_equal(es_compose_mail(&c, "welcome-student", "fr", "edupre@school.example",
	                                 "Élodie Dupré", vars, NVARS, &b, id, sizeof(id), &err),
	                 0);
	subject_of(b.data, subject, sizeof(subject));
	assert_string_equal(subject, "Votre compte informatique au Lycée Exemple");
	assert_non_null(strstr(b.data, "X-Eschool-Kind: welcome-student\r\n"));
	assert_non_null(strstr(b.data, "multipart/alternative"));
	assert_non_null(strstr(b.data, "Content-Type: text/html; charset=UTF-8"));
	assert_non_null(strstr(b.data, "Pw7xKq2mTn4r")); /* QP keeps it as is */
	assert_null(strstr(b.data, "{{"));
	es_buf_free(&b);

	assert_int_equal(es_compose_mail(&c, "welcome-student", "en", "edupre@school.example", NULL,
	                                 vars, NVARS, &b, id, sizeof(id), &err),
	                 0);
	subject_of(b.data, subject, sizeof(subject));
	assert_string_equal(subject, "Your computer account at Lycée Exemple");
	es_buf_free(&b);
}

static void test_unknown_language_falls_back_to_the_school(void **state)
{
	struct es_compose c = ctx();
	struct es_buf b = { 0 };
	struct es_err err = { 0 };
	char id[128], subject[256];

	(void)state;
	assert_int_equal(es_compose_mail(&c, "reset", "de", "edupre@school.example", NULL, vars,
	                                 NVARS, &b, id, sizeof(id), &err),
	                 0);
	subject_of(b.data, subject, sizeof(subject));
	assert_string_equal(subject, "Nouveau mot de passe provisoire (Lycée Exemple)");
	es_buf_free(&b);
}

/* The message with its quoted-printable soft breaks and =XX undone. */
static void qp_decode(const char *msg, char *out, size_t outsz)
{
	size_t o = 0;

	for (const char *p = msg; *p != '\0' && o + 1 < outsz; p++) {
		if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
			p += 2;
		} else if (p[0] == '=' && strchr("0123456789ABCDEF", p[1]) != NULL && p[1] != '\0' &&
		           strchr("0123456789ABCDEF", p[2]) != NULL && p[2] != '\0') {
			char hex[3] = { p[1], p[2], '\0' };

			out[o++] = (char)strtol(hex, NULL, 16);
			p += 2;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

/* A date variable is written in the language of the template found: the
 * user's, or the school's when the user's has none. */
static void test_dates_in_the_language_of_the_template(void **state)
{
	static const struct es_tvar own[] = {
		{ "school_name", "Lycée Exemple" }, { "contact", "B12" }, { "admin_email", NULL },
		{ "logo", NULL },                   { "name", "Élodie Dupré" }, { "username", "edupre" },
		{ "password", "Pw7xKq2mTn4r" },     { "class", "2nde A" },
	};
	/* 2026-12-17 16:35 UTC, 17:35 in Paris */
	const struct es_tdate dates[] = { { .name = "expires", .t = 1797525300 } };
	struct es_compose c = ctx();
	struct es_buf b = { 0 };
	struct es_err err = { 0 };
	char id[128], *text = malloc(65536);

	(void)state;
	assert_non_null(text);
	assert_int_equal(setenv("TZ", "Europe/Paris", 1), 0);
	tzset();
	c.dates = dates;
	c.ndates = 1;
	assert_int_equal(es_compose_mail(&c, "welcome-student", "fr", "a@school.example", NULL, own,
	                                 ES_ARRAY_LEN(own), &b, id, sizeof(id), &err),
	                 0);
	qp_decode(b.data, text, 65536);
	/* in the text and in the HTML part */
	assert_non_null(strstr(text, "17 décembre 2026 à 17 h 35"));
	assert_non_null(strstr(strstr(text, "text/html"), "17 décembre 2026 à 17 h 35"));
	assert_null(strstr(text, "2026-12-17"));
	es_buf_free(&b);

	assert_int_equal(es_compose_mail(&c, "welcome-student", "en", "a@school.example", NULL, own,
	                                 ES_ARRAY_LEN(own), &b, id, sizeof(id), &err),
	                 0);
	qp_decode(b.data, text, 65536);
	assert_non_null(strstr(text, "17 December 2026, 17:35"));
	assert_null(strstr(text, "décembre"));
	es_buf_free(&b);

	/* no German template: the school's French one, and a French date */
	assert_int_equal(es_compose_mail(&c, "reset", "de", "a@school.example", NULL, own,
	                                 ES_ARRAY_LEN(own), &b, id, sizeof(id), &err),
	                 0);
	qp_decode(b.data, text, 65536);
	assert_non_null(strstr(text, "le 17 décembre 2026 à 17 h 35"));
	es_buf_free(&b);
	/* ... and an English one when the school writes English */
	c.school_lang = "en";
	assert_int_equal(es_compose_mail(&c, "reset", "de", "a@school.example", NULL, own,
	                                 ES_ARRAY_LEN(own), &b, id, sizeof(id), &err),
	                 0);
	qp_decode(b.data, text, 65536);
	assert_non_null(strstr(text, "on 17 December 2026, 17:35"));
	es_buf_free(&b);

	/* known only to the day (a shadow day: 2026-12-17 00:00 UTC): the
	 * date alone, that day's even west of Greenwich */
	{
		const struct es_tdate day[] = { { .name = "expires", .t = 1797465600,
			                          .day_only = true } };
		static const char *const zones[] = { "Europe/Paris", "America/New_York",
			                             "Asia/Tokyo", "UTC" };

		c.dates = day;
		for (size_t z = 0; z < ES_ARRAY_LEN(zones); z++) {
			assert_int_equal(setenv("TZ", zones[z], 1), 0);
			tzset();
			assert_int_equal(es_compose_mail(&c, "reset", "fr", "a@school.example", NULL,
			                                 own, ES_ARRAY_LEN(own), &b, id, sizeof(id),
			                                 &err),
			                 0);
			qp_decode(b.data, text, 65536);
			assert_non_null(strstr(text, "le 17 décembre 2026 s'il"));
			es_buf_free(&b);
		}
		assert_int_equal(setenv("TZ", "Europe/Paris", 1), 0);
		tzset();
	}
	/* too many dates: refused, nothing written */
	{
		const struct es_tdate many[ES_COMPOSE_DATES_MAX + 1] = { { .name = "expires" } };

		c.dates = many;
		c.ndates = ES_COMPOSE_DATES_MAX + 1;
		assert_int_equal(es_compose_mail(&c, "reset", "fr", "a@school.example", NULL, own,
		                                 ES_ARRAY_LEN(own), &b, id, sizeof(id), &err),
		                 -1);
		assert_int_equal(err.code, ES_ESOFTWARE);
		assert_int_equal(b.len, 0);
	}
	free(text);
}

static void test_parent_notice_never_holds_the_password(void **state)
{
	struct es_compose c = ctx();
	struct es_buf b = { 0 };
	struct es_err err = { 0 };
	char id[128];

	(void)state;
	assert_int_equal(es_compose_mail(&c, "parent-notice", "fr", "parent@home.example", NULL,
	                                 vars, NVARS, &b, id, sizeof(id), &err),
	                 0);
	assert_null(strstr(b.data, "Pw7xKq2mTn4r"));
	assert_non_null(strstr(b.data, "edupre"));
	es_buf_free(&b);
}

static void test_errors(void **state)
{
	struct es_compose c = ctx();
	struct es_buf b = { 0 };
	struct es_err err = { 0 };
	char id[128];
	const struct es_tvar few[] = { { "school_name", "X" } };

	(void)state;
	assert_int_equal(es_compose_mail(&c, "no-such-kind", "fr", "a@school.example", NULL, vars,
	                                 NVARS, &b, id, sizeof(id), &err),
	                 -1);
	assert_int_equal(err.code, ES_EUNAVAIL);
	/* a template using a variable the caller does not have names file:line */
	assert_int_equal(es_compose_mail(&c, "welcome-student", "fr", "a@school.example", NULL, few,
	                                 1, &b, id, sizeof(id), &err),
	                 -1);
	assert_non_null(strstr(err.msg, "conf/templates/fr/welcome-student.txt:"));
	assert_non_null(strstr(err.msg, "unknown variable"));
	/* header injection through a variable used in the subject */
	{
		const struct es_tvar evil[] = { { "school_name", "X\nBcc: all@x.fr" }, { "contact", "" },
			                        { "admin_email", NULL }, { "logo", NULL } };
		assert_int_equal(es_compose_mail(&c, "test", "en", "a@school.example", NULL, evil, 4,
		                                 &b, id, sizeof(id), &err),
		                 -1);
	}
	assert_int_equal(b.len, 0);
	es_buf_free(&b);
}

/* The entry: the directories (site, template_dir, extra) and the
 * welcome fallback for a role without a template of its own. */
static void test_entry(void **state)
{
	struct es_config cfg = { 0 };
	const struct es_tvar own[] = { { "name", "Élodie Dupré" }, { "username", "edupre" },
		                       { "password", "Pw7xKq2mTn4r" }, { "class", "2nde A" },
		                       { "expires", "9/12/2026" } };
	const struct es_compose_in in = { .kind = "welcome-intern", .lang = "fr",
		                          .to_addr = "edupre@school.example", .vars = own,
		                          .nvars = 5, .extra_dir = "conf/templates",
		                          .now = 1795000000 };
	struct es_compose_in bad = in;
	const char *got[ES_TEMPLATE_DIRS_MAX], *used = NULL;
	struct es_buf b = { 0 };
	struct es_err err = { 0 };

	(void)state;
	(void)snprintf(cfg.language, sizeof(cfg.language), "fr");
	assert_int_equal(es_compose_dirs(&cfg, NULL, got), 1);
	assert_string_equal(got[0], ES_SITE_TEMPLATES);
	(void)snprintf(cfg.template_dir, sizeof(cfg.template_dir), "/nonexistent");
	assert_int_equal(es_compose_dirs(&cfg, "conf/templates", got), 3);
	assert_string_equal(got[1], "/nonexistent");
	assert_string_equal(got[2], "conf/templates");

	assert_int_equal(es_compose_message(&cfg, &in, &b, &used, &err), 0);
	assert_string_equal(used, "welcome-student");
	assert_non_null(strstr(b.data, "X-Eschool-Kind: welcome-student\r\n"));
	assert_non_null(strstr(b.data, "From: noreply@eschool.invalid"));
	es_buf_free(&b);
	/* only welcome-<role> falls back */
	bad.kind = "no-such-kind";
	assert_int_equal(es_compose_message(&cfg, &bad, &b, &used, &err), -1);
	assert_int_equal(err.code, ES_EUNAVAIL);
	assert_int_equal(b.len, 0);
	es_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_welcome_in_french_and_english),
		cmocka_unit_test(test_unknown_language_falls_back_to_the_school),
		cmocka_unit_test(test_dates_in_the_language_of_the_template),
		cmocka_unit_test(test_parent_notice_never_holds_the_password),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_entry),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
