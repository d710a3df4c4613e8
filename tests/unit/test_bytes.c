/* lib/es_bytes: wiping, constant-time comparison, hex, base64 and random
 * numbers on libc alone, checked against RFC 4648's vectors and against
 * libsodium, whose functions they replace in the PAM module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "es_bytes.h"

static void test_base64_rfc4648(void **state)
{
	static const char *const vectors[][2] = {
		{ "", "" },         { "f", "Zg==" },         { "fo", "Zm8=" },
		{ "foo", "Zm9v" },  { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	char out[ES_BASE64_SIZE(8)];

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		size_t n = strlen(vectors[i][0]);

		es_base64(out, (const unsigned char *)vectors[i][0], n);
		assert_string_equal(out, vectors[i][1]);
		assert_int_equal(strlen(out), ES_BASE64_LEN(n));
	}
}

static void test_base64_as_libsodium(void **state)
{
	unsigned char in[200];
	char ours[ES_BASE64_SIZE(sizeof(in))];
	char theirs[sodium_base64_ENCODED_LEN(sizeof(in), sodium_base64_VARIANT_ORIGINAL)];

	(void)state;
	randombytes_buf(in, sizeof(in));
	for (size_t n = 0; n <= sizeof(in); n++) {
		es_base64(ours, in, n);
		(void)sodium_bin2base64(theirs, sizeof(theirs), in, n, sodium_base64_VARIANT_ORIGINAL);
		assert_string_equal(ours, theirs);
	}
}

static void test_hex(void **state)
{
	unsigned char in[256], back[256];
	char hex[2 * sizeof(in) + 1], theirs[2 * sizeof(in) + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)i;
	es_hex(hex, in, sizeof(in));
	(void)sodium_bin2hex(theirs, sizeof(theirs), in, sizeof(in));
	assert_string_equal(hex, theirs);
	assert_int_equal(es_unhex(back, sizeof(back), hex), 0);
	assert_memory_equal(back, in, sizeof(in));
	assert_int_equal(es_unhex(back, 2, "0aFf"), 0); /* either case */
	assert_int_equal(back[0], 0x0a);
	assert_int_equal(back[1], 0xff);
	assert_int_equal(es_unhex(back, 2, "0aF"), -1);   /* short */
	assert_int_equal(back[0], 0);                     /* and wiped */
	assert_int_equal(back[1], 0);
	back[0] = 0x0a;
	assert_int_equal(es_unhex(back, 2, "0aFf0"), -1); /* long */
	assert_int_equal(es_unhex(back, 2, "0aFg"), -1);  /* not a digit */
	assert_int_equal(back[0], 0);                     /* and wiped */
	assert_int_equal(es_unhex(back, 2, " 0aF"), -1);
}

static void test_equal_ct(void **state)
{
	unsigned char a[32] = { 0 }, b[32] = { 0 };

	(void)state;
	assert_true(es_equal_ct(a, b, sizeof(a)));
	assert_true(es_equal_ct(a, b, 0));
	for (size_t i = 0; i < sizeof(a); i++) {
		b[i] = 0x80;
		assert_false(es_equal_ct(a, b, sizeof(a)));
		b[i] = 0;
	}
}

static void test_wipe(void **state)
{
	unsigned char buf[64];

	(void)state;
	memset(buf, 0xa5, sizeof(buf));
	es_wipe(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	es_wipe(NULL, 10); /* nothing to wipe: no crash */
}

static void test_random(void **state)
{
	unsigned counts[31] = { 0 };
	unsigned char a[32], b[32];
	char hex[2 * 16 + 1];
	uint32_t v;

	(void)state;
	assert_int_equal(es_random(a, sizeof(a)), 0);
	assert_int_equal(es_random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(es_random_hex(hex, 16), 0);
	assert_int_equal(strlen(hex), 32);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 32);
	assert_int_equal(es_random_hex(hex, 33), -1); /* more than it can give */
	assert_int_equal(es_random_below(1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(es_random_below(0, &v), 0);
	assert_int_equal(v, 0);
	/* every value of a 31-letter alphabet comes, none out of range, none
	 * far from 1/31 of 31,000 draws (1,000; 6 standard deviations: 180) */
	for (int i = 0; i < 31000; i++) {
		assert_int_equal(es_random_below(31, &v), 0);
		assert_true(v < 31);
		counts[v]++;
	}
	for (size_t i = 0; i < 31; i++)
		assert_in_range(counts[i], 820, 1180);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_rfc4648), cmocka_unit_test(test_base64_as_libsodium),
		cmocka_unit_test(test_hex),            cmocka_unit_test(test_equal_ct),
		cmocka_unit_test(test_wipe),           cmocka_unit_test(test_random),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
