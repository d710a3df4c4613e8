/* Password generator: length, alphabet, uniformity (chi-square), styles,
 * entropy figures, and hashes that libxcrypt verifies. */
#include <crypt.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "es_password.h"

#define ALPHA_N ES_PW_ALPHABET_LEN

static int setup(void **state)
{
	(void)state;
	return es_pw_init(NULL);
}

static void test_alphabet_is_unambiguous(void **state)
{
	(void)state;
	assert_int_equal(ALPHA_N, 57);
	assert_null(strpbrk(es_pw_alphabet, "0O1lI"));
}

static void test_length_and_alphabet(void **state)
{
	char pw[ES_PW_MAX_LEN + 1];
	(void)state;
	for (size_t len = ES_PW_MIN_LEN; len <= ES_PW_MAX_LEN; len++) {
		assert_int_equal(es_pw_generate(ES_PW_RANDOM, len, pw, sizeof(pw), NULL), 0);
		assert_int_equal(strlen(pw), len);
		assert_int_equal(strspn(pw, es_pw_alphabet), len);
	}
}

static void test_bad_lengths_refused(void **state)
{
	char pw[ES_PW_MAX_LEN + 8];
	struct es_err err = { 0 };
	(void)state;
	assert_int_equal(es_pw_generate(ES_PW_RANDOM, ES_PW_MIN_LEN - 1, pw, sizeof(pw), &err), -1);
	assert_int_equal(es_pw_generate(ES_PW_RANDOM, ES_PW_MAX_LEN + 1, pw, sizeof(pw), &err), -1);
	/* the buffer must hold the NUL too */
	assert_int_equal(es_pw_generate(ES_PW_RANDOM, 12, pw, 12, &err), -1);
}

/* Pearson's statistic of observed counts against a uniform expectation. */
static double chi_square(const unsigned long *counts, size_t k, unsigned long total)
{
	double expected = (double)total / (double)k, chi = 0.0;
	for (size_t i = 0; i < k; i++) {
		double d = (double)counts[i] - expected;
		chi += d * d / expected;
	}
	return chi;
}

/* df = 56; P(chi2 > 125) < 1e-6 for a uniform source, so this does not
 * fail by chance, while a modulo bias scores in the thousands (below). */
#define CHI_LIMIT 125.0

static void test_uniformity_chi_square(void **state)
{
	unsigned long counts[ALPHA_N] = { 0 }, total = 0;
	char pw[16];
	(void)state;
	for (int n = 0; n < 40000; n++) {
		assert_int_equal(es_pw_generate(ES_PW_RANDOM, 12, pw, sizeof(pw), NULL), 0);
		for (size_t i = 0; i < 12; i++) {
			const char *p = strchr(es_pw_alphabet, pw[i]);
			assert_non_null(p);
			counts[p - es_pw_alphabet]++;
			total++;
		}
	}
	assert_true(chi_square(counts, ALPHA_N, total) < CHI_LIMIT);
	/* every position, not only the whole, is uniform enough to use all 57 */
	for (size_t i = 0; i < ALPHA_N; i++)
		assert_true(counts[i] > 0);
}

/* The test has power: the classic modulo-biased generator fails it. */
static void test_chi_square_detects_modulo_bias(void **state)
{
	unsigned long counts[ALPHA_N] = { 0 }, total = 0;
	(void)state;
	for (int n = 0; n < 480000; n++) {
		unsigned char b;
		randombytes_buf(&b, 1);
		counts[b % ALPHA_N]++;
		total++;
	}
	assert_true(chi_square(counts, ALPHA_N, total) > CHI_LIMIT);
}

static void test_pronounceable_pattern(void **state)
{
	char pw[32];
	(void)state;
	for (int n = 0; n < 1000; n++) {
		assert_int_equal(es_pw_generate(ES_PW_PRONOUNCEABLE, 12, pw, sizeof(pw), NULL), 0);
		assert_int_equal(strlen(pw), 12);
		for (size_t i = 0; i < 10; i++) {
			if (i % 2 == 0)
				assert_non_null(strchr("bcdfghjkmnprstvwxz", pw[i]));
			else
				assert_non_null(strchr("aeiu", pw[i]));
		}
		assert_non_null(strchr("23456789", pw[10]));
		assert_non_null(strchr("23456789", pw[11]));
	}
}

static void test_entropy_figures(void **state)
{
	(void)state;
	/* the figures stated in eschool(8) */
	assert_true(fabs(es_pw_entropy_bits(ES_PW_RANDOM, 12) - 12 * log2(57)) < 1e-9);
	assert_true(es_pw_entropy_bits(ES_PW_RANDOM, 12) > 69.9);
	assert_true(fabs(es_pw_entropy_bits(ES_PW_PRONOUNCEABLE, 12) -
	                 (5 * log2(18) + 5 * log2(4) + 2 * log2(8))) < 1e-9);
	assert_true(es_pw_entropy_bits(ES_PW_RANDOM, 4) == 0.0);
}

static void check_hash(enum es_pw_hash method, const char *prefix)
{
	char hash[ES_HASH_MAX], again[ES_HASH_MAX];
	struct crypt_data cd;
	const char *v;

	memset(&cd, 0, sizeof(cd));
	assert_int_equal(es_pw_hash(method, "Kx7mPq2rTn4w", hash, sizeof(hash), NULL), 0);
	assert_memory_equal(hash, prefix, strlen(prefix));
	v = crypt_rn("Kx7mPq2rTn4w", hash, &cd, sizeof(cd));
	assert_non_null(v);
	assert_string_equal(v, hash);
	v = crypt_rn("Kx7mPq2rTn4x", hash, &cd, sizeof(cd));
	assert_non_null(v);
	assert_string_not_equal(v, hash);
	/* fresh salt every time */
	assert_int_equal(es_pw_hash(method, "Kx7mPq2rTn4w", again, sizeof(again), NULL), 0);
	assert_string_not_equal(hash, again);
}

static void test_hash_yescrypt(void **state)
{
	(void)state;
	check_hash(ES_HASH_YESCRYPT, "$y$");
}

static void test_hash_sha512(void **state)
{
	(void)state;
	check_hash(ES_HASH_SHA512, "$6$");
}

static void test_hash_buffer_too_small(void **state)
{
	char hash[10];
	struct es_err err = { 0 };
	(void)state;
	assert_int_equal(es_pw_hash(ES_HASH_YESCRYPT, "abcdefgh", hash, sizeof(hash), &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alphabet_is_unambiguous),
		cmocka_unit_test(test_length_and_alphabet),
		cmocka_unit_test(test_bad_lengths_refused),
		cmocka_unit_test(test_uniformity_chi_square),
		cmocka_unit_test(test_chi_square_detects_modulo_bias),
		cmocka_unit_test(test_pronounceable_pattern),
		cmocka_unit_test(test_entropy_figures),
		cmocka_unit_test(test_hash_yescrypt),
		cmocka_unit_test(test_hash_sha512),
		cmocka_unit_test(test_hash_buffer_too_small),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
