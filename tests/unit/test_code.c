/* lib/es_code: address-change codes, their keyed hash and the key file.
 * Runs in its own mkdtemp directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "es_code.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	(void)snprintf(dir, sizeof(dir), "/tmp/es-code.XXXXXX");
	return sodium_init() < 0 || mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/code.key", dir);
	(void)unlink(path);
	return rmdir(dir);
}

static void test_new_codes(void **state)
{
	char a[ES_CODE_LEN + 1], b[ES_CODE_LEN + 1], n[ES_CODE_LEN + 1];

	(void)state;
	assert_int_equal(es_code_new(a), 0);
	assert_int_equal(es_code_new(b), 0);
	assert_int_equal(strlen(a), ES_CODE_LEN);
	assert_string_not_equal(a, b); /* 31^8 codes: a clash would be a broken RNG */
	assert_null(strpbrk(a, "01ILO"));
	assert_true(es_code_normalize(a, n));
	assert_string_equal(a, n);
}

static void test_normalize(void **state)
{
	char n[ES_CODE_LEN + 1];

	(void)state;
	assert_true(es_code_normalize(" abcd-efgh ", n));
	assert_string_equal(n, "ABCDEFGH");
	assert_false(es_code_normalize("ABCD-EFG", n));     /* short */
	assert_false(es_code_normalize("ABCD-EFGHJ", n));   /* long */
	assert_false(es_code_normalize("ABCD-EFG0", n));    /* 0 is not in the alphabet */
	assert_false(es_code_normalize("ABCD\nEFGH", n));   /* control character */
	assert_false(es_code_normalize("", n));
	assert_false(es_code_normalize(NULL, n));
}

static void test_hash_and_match(void **state)
{
	unsigned char key[ES_CODE_KEY_LEN], again[ES_CODE_KEY_LEN];
	char hex[ES_CODE_HASH_HEX];
	struct stat sb;
	char path[128];

	(void)state;
	assert_int_equal(es_code_key(dir, false, key, NULL), -1); /* no key, not created */
	assert_int_equal(es_code_key(dir, true, key, NULL), 0);
	assert_int_equal(es_code_key(dir, false, again, NULL), 0);
	assert_memory_equal(key, again, sizeof(key));
	(void)snprintf(path, sizeof(path), "%s/code.key", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(es_code_hash(key, "zoe", "ABCDEFGH", hex, NULL), 0);
	assert_int_equal(strlen(hex), 64);
	assert_int_equal(es_code_matches(key, "zoe", "abcd-efgh", hex, NULL), 1);
	assert_int_equal(es_code_matches(key, "zoe", "ABCDEFGJ", hex, NULL), 0);
	assert_int_equal(es_code_matches(key, "lea", "ABCDEFGH", hex, NULL), 0); /* the user's */
	assert_int_equal(es_code_matches(key, "zoe", "ABCDEFGH", "zz", NULL), 0);
	assert_int_equal(es_code_matches(key, "zoe", "ABCDEFGH", NULL, NULL), 0);
	again[0] ^= 1; /* another key: another hash */
	assert_int_equal(es_code_matches(again, "zoe", "ABCDEFGH", hex, NULL), 0);
	/* a key others can read is refused */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(es_code_key(dir, false, key, NULL), -1);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(truncate(path, 16), 0);
	assert_int_equal(es_code_key(dir, true, key, NULL), -1); /* corrupt: not replaced */
}

/* The hash is the one earlier versions stored (libsodium's BLAKE2b over
 * "user NUL code" in two updates): a pending code survives the upgrade. */
static void test_hash_is_the_stored_one(void **state)
{
	unsigned char key[ES_CODE_KEY_LEN], out[32];
	char hex[ES_CODE_HASH_HEX], want[ES_CODE_HASH_HEX];
	crypto_generichash_state h;

	(void)state;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7 + 1);
	(void)crypto_generichash_init(&h, key, sizeof(key), 32);
	(void)crypto_generichash_update(&h, (const unsigned char *)"zoe", 4);
	(void)crypto_generichash_update(&h, (const unsigned char *)"K7PX3RMA", 8);
	(void)crypto_generichash_final(&h, out, 32);
	(void)sodium_bin2hex(want, sizeof(want), out, sizeof(out));
	assert_int_equal(es_code_hash(key, "zoe", "K7PX3RMA", hex, NULL), 0);
	assert_string_equal(hex, want);
	assert_int_equal(es_code_matches(key, "zoe", "k7px-3rma", want, NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_codes),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_hash_and_match),
		cmocka_unit_test(test_hash_is_the_stored_one),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
