/* lib/es_code.c built to load a libsodium that is not installed (the
 * Makefile's es_code_nosodium.o): the code's hash cannot be made, and that
 * is an error said, never a match, never a wrong code counted against the
 * user's tries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "es_account.h"
#include "es_code.h"
#include "es_state.h"

#define T0 1790000000

static void test_no_hash_without_libsodium(void **state)
{
	unsigned char key[ES_CODE_KEY_LEN] = { 1, 2, 3 };
	char hex[ES_CODE_HASH_HEX], code[ES_CODE_LEN + 1];
	struct es_err err = { 0 };

	(void)state;
	assert_int_equal(es_code_new(code), 0); /* the kernel's random: no libsodium */
	assert_int_equal(es_code_hash(key, "zoe", code, hex, &err), -1);
	assert_non_null(strstr(err.msg, "libsodium-not-installed.so.0"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(es_code_matches(key, "zoe", code, "00112233445566778899aabbccddeeff"
	                                                   "00112233445566778899aabbccddeeff",
	                                 &err),
	                 -1);
	assert_non_null(strstr(err.msg, "cannot load"));
}

static void test_confirm_fails_without_counting(void **state)
{
	unsigned char key[ES_CODE_KEY_LEN] = { 1, 2, 3 };
	struct es_policy pol = { .email_code_tries = 5, .email_code_ttl_minutes = 60 };
	struct es_err err = { 0 };
	struct es_state st;
	int64_t expires = 0;
	long left = -1;

	(void)state;
	es_state_init(&st, "zoe");
	assert_int_equal(es_state_set(&st, ES_K_EMAIL, "old@school.example"), 0);
	assert_int_equal(es_account_email_request(&st, &pol, "new@school.example",
	                                          "00112233445566778899aabbccddeeff"
	                                          "00112233445566778899aabbccddeeff",
	                                          T0, &expires),
	                 0);
	assert_int_equal(es_account_email_confirm(&st, &pol, key, "ABCD-EFGH", NULL, T0, &left,
	                                          &err),
	                 ES_CONFIRM_FAILED);
	assert_non_null(strstr(err.msg, "cannot load"));
	assert_int_equal(es_state_get_i64(&st, ES_K_PENDING_TRIES, 0), 0); /* not counted */
	assert_string_equal(es_state_get(&st, ES_K_EMAIL), "old@school.example");
	es_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_hash_without_libsodium),
		cmocka_unit_test(test_confirm_fails_without_counting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
