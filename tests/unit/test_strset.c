/* Unit tests for helper/strset.c, the import's name -> value sets: each
 * entry is one allocation (key, then value), so a value replaced, emptied
 * or given by the set's own key must come out right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../helper/strset.c"

static void test_many_names(void **state)
{
	struct strset s = { 0 };
	char key[32], value[32];

	(void)state;
	for (int i = 0; i < 10000; i++) {
		(void)snprintf(key, sizeof(key), "s%05d", i);
		(void)snprintf(value, sizeof(value), "%d", i * 7);
		assert_int_equal(strset_put(&s, key, i % 3 == 0 ? NULL : value), 0);
	}
	assert_int_equal(s.n, 10000);
	for (int i = 0; i < 10000; i++) {
		(void)snprintf(key, sizeof(key), "s%05d", i);
		(void)snprintf(value, sizeof(value), "%d", i * 7);
		assert_true(strset_has(&s, key));
		if (i % 3 == 0)
			assert_null(strset_get(&s, key));
		else
			assert_string_equal(strset_get(&s, key), value);
	}
	assert_false(strset_has(&s, "s10000"));
	assert_null(strset_get(&s, "nobody"));
	strset_free(&s);
	assert_int_equal(s.n, 0);
	assert_null(s.slots);
}

static void test_values_replaced(void **state)
{
	struct strset s = { 0 };
	const char *key = NULL;

	(void)state;
	assert_int_equal(strset_put(&s, "alice", "1"), 0);
	assert_int_equal(strset_put(&s, "alice", "a much longer value than before"), 0);
	assert_string_equal(strset_get(&s, "alice"), "a much longer value than before");
	assert_int_equal(strset_put(&s, "alice", NULL), 0);
	assert_true(strset_has(&s, "alice"));
	assert_null(strset_get(&s, "alice"));
	assert_int_equal(strset_put(&s, "alice", "2+"), 0);
	assert_string_equal(strset_get(&s, "alice"), "2+");
	assert_int_equal(s.n, 1);
	/* the set's own key as the argument: read before its block is freed */
	for (size_t i = 0; i < s.cap; i++)
		if (s.slots[i].key != NULL)
			key = s.slots[i].key;
	assert_non_null(key);
	assert_int_equal(strset_put(&s, key, "3"), 0);
	assert_string_equal(strset_get(&s, "alice"), "3");
	assert_int_equal(s.n, 1);
	strset_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_names),
		cmocka_unit_test(test_values_replaced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
