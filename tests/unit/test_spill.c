/* Unit tests for helper/spill.c, the import's working copy of the roster:
 * memory that lives in an unnamed file of the state directory, is dropped
 * from the process by spill_settle and read back intact at the next touch. */
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

#include "../../helper/spill.c"

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	(void)snprintf(dir, sizeof(dir), "/tmp/test_spill.XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	return rmdir(dir); /* empty: the copy had no name */
}

/* The process's resident pages of files and shared memory, in kB. */
static long resident_shared_kb(void)
{
	char line[256];
	long kb = 0, v;
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "RssFile: %ld", &v) == 1 || sscanf(line, "RssShmem: %ld", &v) == 1)
			kb += v;
	(void)fclose(f);
	return kb;
}

static void test_settle_drops_the_pages_and_keeps_the_data(void **state)
{
	enum { N = 8 << 20 };
	struct spill s;
	struct es_err err = { 0 };
	unsigned char *p;
	long before, filled, settled;

	(void)state;
	assert_int_equal(spill_open(&s, dir, (size_t)64 << 20, &err), 0);
	assert_true(s.fd >= 0);
	before = resident_shared_kb();
	p = spill_alloc(&s, N, &err);
	assert_non_null(p);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(p[i], 0); /* zeroed */
	for (size_t i = 0; i < N; i++)
		p[i] = (unsigned char)(i * 7 + 3);
	filled = resident_shared_kb();
	assert_true(filled - before >= 7 * 1024);
	spill_settle(&s);
	settled = resident_shared_kb();
	assert_true(filled - settled >= 7 * 1024); /* out of the process */
	for (size_t i = 0; i < N; i++)
		if (p[i] != (unsigned char)(i * 7 + 3))
			fail_msg("byte %zu lost by spill_settle", i);
	spill_close(&s);
	assert_int_equal(s.fd, -1);
	assert_null(s.base);
}

static void test_allocations_are_aligned_and_apart(void **state)
{
	struct spill s;
	struct es_err err = { 0 };
	char *a, *b, *c;

	(void)state;
	assert_int_equal(spill_open(&s, dir, 1 << 20, &err), 0);
	a = spill_alloc(&s, 3, &err);
	b = spill_alloc(&s, 5, &err);
	c = spill_alloc(&s, 1, &err);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal((uintptr_t)a % 8, 0);
	assert_int_equal((uintptr_t)b % 8, 0);
	assert_true(b >= a + 3 && c >= b + 5);
	memcpy(a, "ab", 3);
	memcpy(b, "cdef", 5);
	assert_string_equal(a, "ab");
	assert_string_equal(b, "cdef");
	spill_close(&s);
}

static void test_past_the_reserve_is_an_error(void **state)
{
	struct spill s;
	struct es_err err = { 0 };

	(void)state;
	assert_int_equal(spill_open(&s, dir, 4096, &err), 0);
	assert_non_null(spill_alloc(&s, 4000, &err));
	assert_null(spill_alloc(&s, 200, &err));
	assert_int_equal(err.code, ES_EDATA);
	assert_non_null(strstr(err.msg, "too large"));
	assert_null(spill_alloc(&s, SIZE_MAX, &err));
	spill_close(&s);
	spill_close(&s); /* twice: harmless */
}

/* No state directory yet (a first dry run): ordinary memory, nothing
 * made on disk. */
static void test_no_state_directory_is_ordinary_memory(void **state)
{
	char missing[96];
	struct spill s;
	struct es_err err = { 0 };
	char *p;

	(void)state;
	(void)snprintf(missing, sizeof(missing), "%s/none", dir);
	assert_int_equal(spill_open(&s, missing, 1 << 20, &err), 0);
	assert_int_equal(s.fd, -1);
	p = spill_alloc(&s, 100, &err);
	assert_non_null(p);
	memcpy(p, "kept", 5);
	spill_settle(&s); /* a no-op: private memory would be zeroed */
	assert_string_equal(p, "kept");
	spill_close(&s);
	assert_int_equal(access(missing, F_OK), -1);
}

/* A dry run's copy (no directory given): ordinary memory, made writable
 * as it grows, well past the first room. */
static void test_a_dry_run_keeps_the_copy_in_memory(void **state)
{
	struct spill s;
	struct es_err err = { 0 };
	char *first, *p = NULL;

	(void)state;
	assert_int_equal(spill_open(&s, NULL, (size_t)8 << 20, &err), 0);
	assert_int_equal(s.fd, -1);
	first = spill_alloc(&s, 16, &err);
	assert_non_null(first);
	memcpy(first, "first row", 10);
	for (int i = 0; i < 1000; i++) {
		p = spill_alloc(&s, 4000, &err);
		assert_non_null(p);
		memset(p, 'x', 4000);
	}
	spill_settle(&s);
	assert_string_equal(first, "first row");
	assert_int_equal(p[3999], 'x');
	spill_close(&s);
}

/* Room reserved ahead (the import's later phases): within the reserve, or
 * an error past it. */
static void test_room_is_reserved_ahead(void **state)
{
	struct spill s;
	struct es_err err = { 0 };
	struct stat st;

	(void)state;
	assert_int_equal(spill_open(&s, dir, (size_t)4 << 20, &err), 0);
	assert_non_null(spill_alloc(&s, 100, &err));
	assert_int_equal(spill_reserve(&s, (size_t)3 << 20, &err), 0);
	assert_int_equal(fstat(s.fd, &st), 0);
	assert_true(st.st_blocks * 512 >= (3 << 20)); /* the blocks are the file's now */
	assert_true(s.room >= ((size_t)3 << 20) + 100);
	assert_non_null(spill_alloc(&s, (size_t)3 << 20, &err));
	assert_int_equal(spill_reserve(&s, (size_t)2 << 20, &err), -1);
	assert_int_equal(err.code, ES_EDATA);
	spill_close(&s);
}

/* A state directory others may write is not where the copy goes. */
static void test_an_unsafe_state_directory_is_refused(void **state)
{
	struct spill s;
	struct es_err err = { 0 };

	(void)state;
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(spill_open(&s, dir, 1 << 20, &err), -1);
	assert_int_equal(err.code, ES_EPERM);
	spill_close(&s);
	assert_int_equal(chmod(dir, 0700), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settle_drops_the_pages_and_keeps_the_data),
		cmocka_unit_test(test_allocations_are_aligned_and_apart),
		cmocka_unit_test(test_past_the_reserve_is_an_error),
		cmocka_unit_test(test_no_state_directory_is_ordinary_memory),
		cmocka_unit_test(test_a_dry_run_keeps_the_copy_in_memory),
		cmocka_unit_test(test_room_is_reserved_ahead),
		cmocka_unit_test(test_an_unsafe_state_directory_is_refused),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
