/* Dates as mails write them (lib/es_util.c: es_fmt_when, es_fmt_day):
 * French and English, the French "1er", midnight, local time through TZ,
 * no locale. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "es_util.h"

/* 2026-12-17 16:35:00 UTC: 17:35 in Paris (winter, UTC+1) */
#define DEC17 ((time_t)1797525300)
/* 2026-12-01 00:05:00 UTC */
#define DEC1 ((time_t)1796083500)
/* 2026-07-01 22:00:00 UTC: midnight on 2 July in Paris (summer, UTC+2) */
#define JUL2_MIDNIGHT_PARIS ((time_t)1782943200)

static void use_tz(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

static int setup(void **state)
{
	(void)state;
	use_tz("Europe/Paris");
	return 0;
}

static void test_french(void **state)
{
	char out[64];

	(void)state;
	use_tz("Europe/Paris");
	assert_int_equal(es_fmt_when(DEC17, "fr", out, sizeof(out)), 0);
	assert_string_equal(out, "17 décembre 2026 à 17 h 35");
	assert_int_equal(es_fmt_day(DEC17, "fr", out, sizeof(out)), 0);
	assert_string_equal(out, "17 décembre 2026");
	/* the first of the month is "1er"; the hour has no leading zero */
	assert_int_equal(es_fmt_when(DEC1, "fr", out, sizeof(out)), 0);
	assert_string_equal(out, "1er décembre 2026 à 1 h 05");
	assert_int_equal(es_fmt_day(DEC1, "fr", out, sizeof(out)), 0);
	assert_string_equal(out, "1er décembre 2026");
	/* midnight, summer time */
	assert_int_equal(es_fmt_when(JUL2_MIDNIGHT_PARIS, "fr", out, sizeof(out)), 0);
	assert_string_equal(out, "2 juillet 2026 à 0 h 00");
}

static void test_english(void **state)
{
	char out[64];

	(void)state;
	use_tz("Europe/Paris");
	assert_int_equal(es_fmt_when(DEC17, "en", out, sizeof(out)), 0);
	assert_string_equal(out, "17 December 2026, 17:35");
	assert_int_equal(es_fmt_day(DEC17, "en", out, sizeof(out)), 0);
	assert_string_equal(out, "17 December 2026");
	assert_int_equal(es_fmt_when(DEC1, "en", out, sizeof(out)), 0);
	assert_string_equal(out, "1 December 2026, 01:05");
	assert_int_equal(es_fmt_when(JUL2_MIDNIGHT_PARIS, "en", out, sizeof(out)), 0);
	assert_string_equal(out, "2 July 2026, 00:00");
	/* a language without a table of its own, or none: English */
	assert_int_equal(es_fmt_when(DEC17, "de", out, sizeof(out)), 0);
	assert_string_equal(out, "17 December 2026, 17:35");
	assert_int_equal(es_fmt_when(DEC17, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "17 December 2026, 17:35");
}

/* Local time is the process's TZ: in UTC the same instants move. */
static void test_utc(void **state)
{
	char out[64];

	(void)state;
	use_tz("UTC");
	assert_int_equal(es_fmt_when(DEC17, "fr", out, sizeof(out)), 0);
	assert_string_equal(out, "17 décembre 2026 à 16 h 35");
	assert_int_equal(es_fmt_when(DEC1, "fr", out, sizeof(out)), 0);
	assert_string_equal(out, "1er décembre 2026 à 0 h 05");
	assert_int_equal(es_fmt_when(JUL2_MIDNIGHT_PARIS, "en", out, sizeof(out)), 0);
	assert_string_equal(out, "1 July 2026, 22:00");
	assert_int_equal(es_fmt_day((time_t)0, "en", out, sizeof(out)), 0);
	assert_string_equal(out, "1 January 1970");
	use_tz("Europe/Paris");
}

/* The tables, not the locale: a French LC_TIME (when the machine has
 * one) changes nothing, and neither does its absence. */
static void test_no_locale(void **state)
{
	char out[64];

	(void)state;
	use_tz("Europe/Paris");
	(void)setlocale(LC_ALL, "fr_FR.UTF-8"); /* may not exist: fine */
	assert_int_equal(es_fmt_when(DEC17, "en", out, sizeof(out)), 0);
	assert_string_equal(out, "17 December 2026, 17:35");
	(void)setlocale(LC_ALL, "C");
	assert_int_equal(es_fmt_when(DEC17, "fr", out, sizeof(out)), 0);
	assert_string_equal(out, "17 décembre 2026 à 17 h 35");
}

/* Too small a buffer: -1 and an empty string, never half a date. */
static void test_too_small(void **state)
{
	char out[64];

	(void)state;
	use_tz("Europe/Paris");
	memset(out, 'x', sizeof(out));
	assert_int_equal(es_fmt_when(DEC17, "fr", out, 12), -1);
	assert_string_equal(out, "");
	/* exactly the length plus the NUL fits ("décembre" is 9 bytes) */
	assert_int_equal(es_fmt_when(DEC17, "fr", out, strlen("17 décembre 2026 à 17 h 35") + 1), 0);
	assert_int_equal(es_fmt_when(DEC17, "fr", out, strlen("17 décembre 2026 à 17 h 35")), -1);
	assert_int_equal(es_fmt_day(DEC17, "en", out, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_french),   cmocka_unit_test(test_english),
		cmocka_unit_test(test_utc),      cmocka_unit_test(test_no_locale),
		cmocka_unit_test(test_too_small),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
