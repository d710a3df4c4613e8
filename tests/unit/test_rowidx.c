/* Unit tests for helper/rowidx.c, the import's rows by key: an index that
 * keeps rows and a byte of each key's hash, not keys, so a lookup must
 * confirm each candidate through the caller and give the last row added
 * under the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../helper/rowidx.c"
#include "../../helper/strset.c"

struct keys {
	char (*k)[16];
	int asked; /* has_key calls */
};

static bool has_key(size_t row, const char *key, void *arg)
{
	struct keys *keys = arg;

	keys->asked++;
	return strcmp(keys->k[row], key) == 0;
}

static bool never(size_t row, const char *key, void *arg)
{
	(void)row;
	(void)key;
	(void)arg;
	return false;
}

static void test_many_rows(void **state)
{
	enum { N = 20000 };
	struct rowidx x;
	struct keys keys = { calloc(N, 16), 0 };
	char key[16];

	(void)state;
	assert_non_null(keys.k);
	assert_int_equal(rowidx_init(&x, N), 0);
	for (int i = 0; i < N; i++) {
		(void)snprintf(keys.k[i], 16, "s%05d", i);
		assert_int_equal(rowidx_add(&x, keys.k[i], (size_t)i), 0);
	}
	assert_int_equal(x.n, N);
	assert_true(x.cap > 2 * N); /* half full at most: probes stay short */
	assert_int_equal(rowidx_add(&x, "one-too-many", N), -1); /* the room made */
	for (int i = 0; i < N; i++)
		assert_int_equal(rowidx_find(&x, keys.k[i], has_key, &keys), i);
	/* a lookup asks about its own row, and about another one in 256
	 * rows of its run (few: half full) */
	assert_true(keys.asked <= N + N / 64);
	(void)snprintf(key, sizeof(key), "s%05d", N);
	assert_int_equal(rowidx_find(&x, key, has_key, &keys), -1);
	assert_int_equal(rowidx_find(&x, "", has_key, &keys), -1);
	rowidx_free(&x);
	assert_int_equal(x.n, 0);
	assert_null(x.slot);
	free(keys.k);
}

static void test_last_row_of_a_key(void **state)
{
	char k[][16] = { "dupre", "martin", "dupre", "durand", "dupre" };
	struct keys keys = { k, 0 };
	struct rowidx x;

	(void)state;
	assert_int_equal(rowidx_init(&x, 5), 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(rowidx_add(&x, k[i], i), 0);
	assert_int_equal(rowidx_find(&x, "dupre", has_key, &keys), 4);
	assert_int_equal(rowidx_find(&x, "martin", has_key, &keys), 1);
	assert_int_equal(rowidx_find(&x, "durand", has_key, &keys), 3);
	assert_int_equal(rowidx_find(&x, "petit", has_key, &keys), -1);
	rowidx_free(&x);
}

/* A slot is not a key: a row the caller does not confirm is no answer,
 * even in the very slot of the key asked. */
static void test_a_candidate_is_confirmed(void **state)
{
	char k[][16] = { "alice", "bob" };
	struct keys keys = { k, 0 };
	struct rowidx x;

	(void)state;
	assert_int_equal(rowidx_init(&x, 2), 0);
	assert_int_equal(rowidx_add(&x, "alice", 0), 0);
	assert_int_equal(rowidx_add(&x, "bob", 1), 0);
	assert_int_equal(rowidx_find(&x, "alice", never, NULL), -1);
	keys.asked = 0;
	assert_int_equal(rowidx_find(&x, "alice", has_key, &keys), 0);
	assert_int_equal(keys.asked, 1); /* bob's byte is not alice's */
	rowidx_free(&x);
}

static void test_empty_and_limits(void **state)
{
	struct rowidx x = { 0 };

	(void)state;
	assert_int_equal(rowidx_find(&x, "anyone", never, NULL), -1); /* never made */
	assert_int_equal(rowidx_add(&x, "anyone", 0), -1);             /* no room */
	assert_int_equal(rowidx_init(&x, (size_t)UINT32_MAX - 1), -1);
	assert_int_equal(rowidx_init(&x, 0), 0);
	assert_int_equal(rowidx_find(&x, "anyone", never, NULL), -1);
	assert_int_equal(rowidx_add(&x, "anyone", 0), -1);
	rowidx_free(&x);
	assert_int_equal(rowidx_init(&x, 1), 0);
	assert_int_equal(rowidx_add(&x, "big", (size_t)UINT32_MAX - 1), -1);
	assert_int_equal(rowidx_add(&x, "big", (size_t)UINT32_MAX), -1);
	assert_int_equal(rowidx_add(&x, "last", (size_t)UINT32_MAX - 2), 0);
	assert_int_equal(rowidx_find(&x, "last", never, NULL), -1);
	rowidx_free(&x);
	rowidx_free(&x); /* twice: harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_rows),
		cmocka_unit_test(test_last_row_of_a_key),
		cmocka_unit_test(test_a_candidate_is_confirmed),
		cmocka_unit_test(test_empty_and_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
