/* Unit tests for helper/shadowdb.c's second pass (db_stage): it streams
 * the locked file again and writes FILE+ from it and the lines the first
 * pass kept. A writer that ignores the locks (an editor, a script) must
 * not make it write a file that loses the batch's change or another
 * entry: every kept line has to be met again, where the first pass saw it,
 * or the batch stops with "changed while it was locked". Each case edits
 * the file in place between the two passes, as such a writer would, with
 * an edit of the same size (one of another size is caught by the size). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../helper/shadowdb.c"
#include "../../helper/strset.c"

/* shadowdb.c warns through the helper's ui.c and runs nscd through
 * accounts.c, which only shadowdb_batch reaches, never these cases: a
 * plain stderr line stands in for the warning, and running a command
 * fails the test. */
int run_command(const char *const argv[], const char *input, size_t inlen, char *msg,
                size_t msgsz, struct es_err *err)
{
	(void)input, (void)inlen, (void)msg, (void)msgsz, (void)err;
	fail_msg("db_stage ran %s", argv[0]);
	return -1;
}

void ui_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
}

struct fixture {
	char dir[32];
	struct strset want;
	struct db d;
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The whole file, or NULL when there is none. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text;
	long size;

	if (f == NULL)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
	(void)fclose(f);
	return text;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	(void)snprintf(fx->dir, sizeof(fx->dir), "/tmp/es-shadowdb.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->d.name = "group";
	(void)snprintf(fx->d.path, sizeof(fx->d.path), "%s/group", fx->dir);
	fx->d.want = &fx->want;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char path[96];

	db_free(&fx->d); /* (clears d.path) */
	strset_free(&fx->want);
	for (const char *const *s = (const char *const[]){ "", "-", "+", NULL }; *s; s++) {
		(void)snprintf(path, sizeof(path), "%s/group%s", fx->dir, *s);
		(void)unlink(path);
	}
	assert_int_equal(rmdir(fx->dir), 0);
	free(fx);
	return 0;
}

/* The first pass over text, keeping the line of `wanted`, which the batch
 * then changes to `now`. */
static void read_and_change(struct fixture *fx, const char *text, const char *wanted,
                            const char *now)
{
	struct es_err err = { 0 };
	long i;

	write_file(fx->d.path, text);
	assert_int_equal(strset_put(&fx->want, wanted, NULL), 0);
	assert_int_equal(db_read(&fx->d, NULL, false, &err), 0);
	i = db_find(&fx->d, wanted);
	assert_true(i >= 0);
	free(fx->d.hits[i].line);
	fx->d.hits[i].line = strdup(now);
	assert_non_null(fx->d.hits[i].line);
	fx->d.hits[i].changed = true;
	fx->d.changed = true;
}

/* What a writer ignoring the locks does: overwrite bytes in place (the
 * same inode, which the batch holds open). */
static void edit_in_place(const struct fixture *fx, off_t at, const char *bytes)
{
	int fd = open(fx->d.path, O_WRONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, strlen(bytes), at), (ssize_t)strlen(bytes));
	assert_int_equal(close(fd), 0);
}

/* The second pass must refuse, and leave neither FILE- nor FILE+. */
static void assert_stage_refused(struct fixture *fx)
{
	struct es_err err = { 0 };
	char path[96];

	assert_int_equal(db_stage(&fx->d, &err), -1);
	assert_non_null(strstr(err.msg, "changed while it was locked"));
	(void)snprintf(path, sizeof(path), "%s-", fx->d.path);
	assert_false(exists(path));
	(void)snprintf(path, sizeof(path), "%s+", fx->d.path);
	assert_false(exists(path));
}

static const char GROUP[] = "root:x:0:\n"
                            "adm:x:4:\n"
                            "tty:x:5:\n"
                            "students:x:1000:s00001\n"
                            "zz:x:2000:\n";

/* Nothing touched the file: FILE- is it, FILE+ has the change in place. */
static void test_stage_writes_the_change(void **state)
{
	struct fixture *fx = *state;
	struct es_err err = { 0 };
	char path[96], *text;

	read_and_change(fx, GROUP, "students", "students:x:1000:s00001,s00002");
	assert_int_equal(db_stage(&fx->d, &err), 0);
	(void)snprintf(path, sizeof(path), "%s-", fx->d.path);
	text = slurp(path);
	assert_string_equal(text, GROUP);
	free(text);
	(void)snprintf(path, sizeof(path), "%s+", fx->d.path);
	text = slurp(path);
	assert_string_equal(text, "root:x:0:\n"
	                          "adm:x:4:\n"
	                          "tty:x:5:\n"
	                          "students:x:1000:s00001,s00002\n"
	                          "zz:x:2000:\n");
	free(text);
}

/* Two lines above the kept one merged into one ("adm:x:4:,tty:x:5:", the
 * '\n' become a ','): the kept line is now line 2, and no line 3 of its
 * name is ever met. Streaming on would copy it unchanged and lose the
 * batch's new member without a word. */
static void test_kept_line_moved_up(void **state)
{
	struct fixture *fx = *state;

	read_and_change(fx, GROUP, "students", "students:x:1000:s00001,s00002");
	edit_in_place(fx, (off_t)strlen("root:x:0:\nadm:x:4:"), ",");
	assert_stage_refused(fx);
}

/* The kept line is the last one, and a line above it merged: the file now
 * ends before the kept line's number is reached. Only the count of kept
 * lines met again sees this one. */
static void test_kept_last_line_out_of_reach(void **state)
{
	struct fixture *fx = *state;
	static const char text[] = "root:x:0:\n"
	                           "adm:x:4:\n"
	                           "students:x:1000:s00001\n";

	read_and_change(fx, text, "students", "students:x:1000:s00001,s00002");
	edit_in_place(fx, (off_t)strlen("root:x:0:"), ",");
	assert_stage_refused(fx);
}

/* Another entry now stands where the kept line was (a same-length name
 * written over it): that line's entry would be overwritten by the batch's
 * copy of the old one. */
static void test_kept_line_replaced(void **state)
{
	struct fixture *fx = *state;

	read_and_change(fx, GROUP, "students", "students:x:1000:s00001,s00002");
	edit_in_place(fx, (off_t)strlen("root:x:0:\nadm:x:4:\ntty:x:5:\n"), "teachers");
	assert_stage_refused(fx);
}

/* A file that grew or shrank is refused by its size. */
static void test_file_grew(void **state)
{
	struct fixture *fx = *state;
	int fd;

	read_and_change(fx, GROUP, "students", "students:x:1000:s00001,s00002");
	fd = open(fx->d.path, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "new:x:3000:\n", 12), 12);
	assert_int_equal(close(fd), 0);
	assert_stage_refused(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stage_writes_the_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_line_moved_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_last_line_out_of_reach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_line_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_grew, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
