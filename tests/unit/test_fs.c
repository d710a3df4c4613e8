/* es_fs: a file read whole into a new buffer, a buffer wiped and freed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include <cmocka.h>

#include "es_fs.h"
#include "es_util.h"

/* A pipe holding text, its write end closed: reads end at EOF. */
static int pipe_with(const char *text)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(es_fs_write_all(p[1], text, strlen(text)), 0);
	assert_int_equal(close(p[1]), 0);
	return p[0];
}

/* es_fs_read_alloc of a pipe holding text, max bytes at most, gives want. */
static void expect_read(const char *text, size_t max, const char *want)
{
	int fd = pipe_with(text);
	char *data = NULL;
	size_t len = 99;

	assert_int_equal(es_fs_read_alloc(fd, max, &data, &len), 0);
	assert_non_null(data);
	assert_int_equal(len, strlen(want));
	assert_string_equal(data, want);
	es_free_wiped(data, len);
	assert_int_equal(close(fd), 0);
}

static void test_read_alloc(void **state)
{
	(void)state;
	expect_read("hello", 5, "hello");
	expect_read("abc", 10, "abc");    /* shorter than max: what there was */
	expect_read("abcdef", 4, "abcd"); /* longer: max bytes, the rest unread */
	expect_read("", 0, "");
}

static void test_read_alloc_errors(void **state)
{
	char *data = (char *)"not touched";
	size_t len = 7;

	(void)state;
	assert_int_equal(es_fs_read_alloc(-1, 8, &data, &len), EBADF);
	assert_null(data);
	assert_int_equal(len, 0);
	data = (char *)"not touched";
	assert_int_equal(es_fs_read_alloc(0, SIZE_MAX, &data, &len), ENOMEM);
	assert_null(data);
}

static void test_free_wiped_null(void **state)
{
	(void)state;
	es_free_wiped(NULL, 0);
	es_free_wiped(NULL, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_alloc),
		cmocka_unit_test(test_read_alloc_errors),
		cmocka_unit_test(test_free_wiped_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
