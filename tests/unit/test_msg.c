/* Unit tests for lib/es_msg.c (the French catalogue compiled from
 * po/fr.po) and for es_err's two languages (lib/es_err.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "es_err.h"
#include "es_msg.h"

static void test_catalogue_has_french(void **state)
{
	(void)state;
	assert_true(es_msg_count() > 100);
	assert_string_equal(es_msg(true, "Account created:"), "Compte créé :");
	assert_string_equal(es_msg(false, "Account created:"), "Account created:");
}

static void test_unknown_text_stays_english(void **state)
{
	const char *text = "no such message in the catalogue %s";

	(void)state;
	assert_ptr_equal(es_msg(true, text), text);
	assert_null(es_msg(true, NULL));
}

static void test_every_entry_is_found(void **state)
{
	/* the binary search finds the first, a middle and the last entry:
	 * the table is sorted as strcmp sorts (po2c sorts by bytes) */
	const char *texts[] = { "%s: give a file name, not a directory", "Account created:",
		                "debug mode: the password is shown here" };

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		assert_string_not_equal(es_msg(true, texts[i]), texts[i]);
}

static void test_error_in_both_languages(void **state)
{
	struct es_err err = { 0 };

	(void)state;
	assert_int_equal(es_err_set(&err, ES_EDATA, "invalid email address '%s'", "a..b@x"), -1);
	assert_int_equal(err.code, ES_EDATA);
	assert_string_equal(es_err_text(&err, false), "invalid email address 'a..b@x'");
	assert_string_equal(es_err_text(&err, true), "adresse mail invalide « a..b@x »");
}

static void test_prefix_and_errno_in_both_languages(void **state)
{
	struct es_err err = { 0 };
	char expect[256];

	(void)state;
	(void)es_err_errno(&err, ES_EIO, ENOENT, "cannot open %s", "/x");
	(void)es_err_prefix(&err, "user %s", "zoe");
	(void)snprintf(expect, sizeof(expect), "user zoe: cannot open /x: %s", strerror(ENOENT));
	assert_string_equal(err.msg, expect);
	assert_non_null(strstr(err.msg_fr, " : "));
	assert_non_null(strstr(err.msg_fr, strerror(ENOENT)));
}

static void test_copy_keeps_both(void **state)
{
	struct es_err a = { 0 }, b = { 0 };

	(void)state;
	(void)es_err_set(&a, ES_EOS, "Account created:");
	es_err_copy(&b, &a);
	assert_int_equal(b.code, ES_EOS);
	assert_string_equal(es_err_text(&b, true), "Compte créé :");
	es_err_clear(&b);
	assert_string_equal(es_err_text(&b, true), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalogue_has_french),
		cmocka_unit_test(test_unknown_text_stays_english),
		cmocka_unit_test(test_every_entry_is_found),
		cmocka_unit_test(test_error_in_both_languages),
		cmocka_unit_test(test_prefix_and_errno_in_both_languages),
		cmocka_unit_test(test_copy_keeps_both),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
