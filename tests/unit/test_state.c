/* Unit tests for lib/es_state.c (the per-user state store). Run as root:
 * some tests chown files to 65534 or drop to that uid in a child. Each test
 * works in its own mkdtemp directory: TOP/state is the state_dir, created by
 * the code under test unless a test builds it by hand. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "es_state.h"
#include "es_state_files.h"

struct fx {
	char top[64];
	char sd[128];
};

/* ---- helpers ---------------------------------------------------------- */

static void pathf(char *out, size_t outsz, const struct fx *f, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void pathf(char *out, size_t outsz, const struct fx *f, const char *fmt, ...)
{
	char rel[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(rel));
	n = snprintf(out, outsz, "%s/%s", f->sd, rel);
	assert_true(n > 0 && (size_t)n < outsz);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, cap - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_int_equal(close(fd), 0);
	return (size_t)n;
}

static void make_dirs(const struct fx *f)
{
	char p[256];

	assert_int_equal(mkdir(f->sd, 0700), 0);
	pathf(p, sizeof(p), f, "users");
	assert_int_equal(mkdir(p, 0700), 0);
}

/* Writes users/NAME by hand (dirs created when missing). */
static void put_user_file(const struct fx *f, const char *name, const char *data, size_t len,
			  mode_t mode)
{
	char p[256];
	struct stat sb;

	if (stat(f->sd, &sb) != 0)
		make_dirs(f);
	pathf(p, sizeof(p), f, "users/%s", name);
	write_file(p, data, len, mode);
}

static int count_dot_files(const struct fx *f)
{
	char p[256];
	struct dirent *de;
	DIR *d;
	int n = 0;

	pathf(p, sizeof(p), f, "users");
	d = opendir(p);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

static bool exists(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	strcpy(f->top, "/tmp/test_state.XXXXXX");
	if (mkdtemp(f->top) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->sd, sizeof(f->sd), "%s/state", f->top);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int rc = nftw(f->top, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	free(f);
	return rc;
}

static const char *const known_keys[] = {
    ES_K_EMAIL,
    ES_K_NAME,
    ES_K_ROLE,
    ES_K_CLASS,
    ES_K_LANG,
    ES_K_PARENT_EMAIL,
    ES_K_CREATED,
    ES_K_PW_CHANGED,
    ES_K_MUST_CHANGE,
    ES_K_INITIAL_EXPIRES,
    ES_K_LAST_LOGIN,
    ES_K_SOURCES,
    ES_K_REMINDERS,
    ES_K_DISABLED,
    ES_K_PENDING_EMAIL,
    ES_K_PENDING_CODE,
    ES_K_PENDING_EXPIRES,
    ES_K_PENDING_TRIES,
    ES_K_DELIVERY,
};

/* ---- round trips -------------------------------------------------------- */

static void test_roundtrip_all_keys(void **state)
{
	struct fx *f = *state;
	struct es_state st, back;
	struct es_err err = {0};
	char val[64];
	size_t nk = sizeof(known_keys) / sizeof(known_keys[0]);

	es_state_init(&st, "alice");
	assert_int_equal(es_state_set(&st, "zz_future", "kept"), 0);
	for (size_t i = 0; i < nk; i++) {
		snprintf(val, sizeof(val), "value %zu of %s", i, known_keys[i]);
		assert_int_equal(es_state_set(&st, known_keys[i], val), 0);
	}
	assert_int_equal(es_state_set(&st, "aa_other", ""), 0);
	assert_int_equal(es_state_save(f->sd, &st, &err), 0);

	assert_int_equal(es_state_load(f->sd, "alice", &back, &err), 0);
	assert_string_equal(back.username, "alice");
	assert_int_equal(back.n, nk + 2);
	for (size_t i = 0; i < back.n; i++) {
		assert_string_equal(back.kv[i].key, st.kv[i].key);
		assert_string_equal(back.kv[i].value, st.kv[i].value);
	}
	assert_string_equal(back.kv[0].key, "zz_future");
	assert_string_equal(back.kv[nk + 1].key, "aa_other");
	assert_string_equal(es_state_get(&back, "aa_other"), "");
	es_state_free(&back);
	es_state_free(&st);
}

static void test_unknown_keys_kept_on_rewrite(void **state)
{
	struct fx *f = *state;
	static const char in[] = "eschool-state 1\n"
				 "future_a=1\n"
				 "email=a@example.org\n"
				 "future_b=x%25y\n"
				 "must_change=1\n"
				 "end\n";
	static const char want[] = "eschool-state 1\n"
				   "future_a=1\n"
				   "email=b@example.org\n"
				   "future_b=x%25y\n"
				   "last_login=1700000000\n"
				   "end\n";
	struct es_state st;
	struct es_err err = {0};
	char p[256], buf[512];

	put_user_file(f, "bob", in, sizeof(in) - 1, 0600);
	assert_int_equal(es_state_load(f->sd, "bob", &st, &err), 0);
	assert_int_equal(es_state_set(&st, ES_K_EMAIL, "b@example.org"), 0);
	assert_int_equal(es_state_set(&st, ES_K_MUST_CHANGE, NULL), 0);
	assert_int_equal(es_state_set_i64(&st, ES_K_LAST_LOGIN, 1700000000), 0);
	assert_int_equal(es_state_save(f->sd, &st, &err), 0);
	es_state_free(&st);
	pathf(p, sizeof(p), f, "users/bob");
	read_file(p, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_special_values(void **state)
{
	struct fx *f = *state;
	static const char *const vals[] = {
	    "100%", "%41 is not A", "cr\rhere", "lf\nhere",   "tab\there", "Élodie Dupré — 日本 🎓",
	    "end",  "a=b=c",	    "\x7f\x01", "  spaces  ",
	};
	struct es_state st, back;
	struct es_err err = {0};
	char p[256], buf[2048], key[16];

	es_state_init(&st, "carol");
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		snprintf(key, sizeof(key), "v%zu", i);
		assert_int_equal(es_state_set(&st, key, vals[i]), 0);
	}
	assert_int_equal(es_state_save(f->sd, &st, &err), 0);
	assert_int_equal(es_state_load(f->sd, "carol", &back, &err), 0);
	assert_int_equal(back.n, st.n);
	for (size_t i = 0; i < st.n; i++)
		assert_string_equal(back.kv[i].value, vals[i]);

	pathf(p, sizeof(p), f, "users/carol");
	read_file(p, buf, sizeof(buf));
	assert_non_null(strstr(buf, "v0=100%25\n"));
	assert_non_null(strstr(buf, "v1=%2541 is not A\n"));
	assert_non_null(strstr(buf, "v2=cr%0Dhere\n"));
	assert_non_null(strstr(buf, "v3=lf%0Ahere\n"));
	assert_non_null(strstr(buf, "v4=tab%09here\n"));
	assert_non_null(strstr(buf, "v5=Élodie Dupré — 日本 🎓\n"));
	assert_non_null(strstr(buf, "v8=%7F%01\n"));
	es_state_free(&back);
	es_state_free(&st);
}

static void test_format_golden(void **state)
{
	struct es_state st;
	struct es_err err = {0};
	char *out = NULL;
	size_t len = 0;

	(void)state;
	es_state_init(&st, "dave");
	assert_int_equal(es_state_format(&st, &out, &len, &err), 0);
	assert_int_equal(len, strlen("eschool-state 1\nend\n"));
	assert_memory_equal(out, "eschool-state 1\nend\n", len);
	free(out);

	assert_int_equal(es_state_set(&st, ES_K_ROLE, "student"), 0);
	assert_int_equal(es_state_set(&st, ES_K_NAME, "Dave\tX"), 0);
	assert_int_equal(es_state_format(&st, &out, &len, &err), 0);
	assert_string_equal(out, "eschool-state 1\nrole=student\nname=Dave%09X\n"
				 "end\n");
	assert_int_equal(len, strlen(out));
	free(out);
	es_state_free(&st);
}

static void test_modes(void **state)
{
	struct fx *f = *state;
	struct es_state st;
	struct es_err err = {0};
	struct stat sb;
	char p[256];
	int lfd = -1;

	umask(022);
	es_state_init(&st, "erin");
	assert_int_equal(es_state_set(&st, ES_K_ROLE, "teacher"), 0);
	assert_int_equal(es_state_save(f->sd, &st, &err), 0);
	assert_int_equal(es_state_lock(f->sd, "erin", &lfd, &err), 0);
	es_state_unlock(lfd);
	es_state_free(&st);

	assert_int_equal(lstat(f->sd, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0700);
	pathf(p, sizeof(p), f, "users");
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0700);
	pathf(p, sizeof(p), f, "locks");
	assert_int_equal(lstat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	pathf(p, sizeof(p), f, "users/erin");
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(sb.st_uid, geteuid());
	pathf(p, sizeof(p), f, "locks/erin");
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(count_dot_files(f), 0);
}

/* ---- corrupt input ------------------------------------------------------ */

struct bad_case {
	const char *name;
	const char *data;
	size_t len; /* 0: strlen(data) */
};

static const struct bad_case bad_cases[] = {
    {"empty", "", 0},
    {"no magic", "email=a@b\nend\n", 0},
    {"wrong version", "eschool-state 2\nend\n", 0},
    {"magic with CR", "eschool-state 1\r\nend\n", 0},
    {"magic only", "eschool-state 1\n", 0},
    {"magic no newline", "eschool-state 1", 0},
    {"no end (torn)", "eschool-state 1\nemail=a@b\n", 0},
    {"truncated mid-line", "eschool-state 1\nemail=a@", 0},
    {"truncated in end", "eschool-state 1\nemail=a@b\nen", 0},
    {"end without newline", "eschool-state 1\nend", 0},
    {"data after end", "eschool-state 1\nend\nx=1\n", 0},
    {"blank after end", "eschool-state 1\nend\n\n", 0},
    {"end twice", "eschool-state 1\nend\nend\n", 0},
    {"line without =", "eschool-state 1\nemail\nend\n", 0},
    {"blank line", "eschool-state 1\n\nend\n", 0},
    {"empty key", "eschool-state 1\n=x\nend\n", 0},
    {"uppercase key", "eschool-state 1\nEmail=x\nend\n", 0},
    {"key with space", "eschool-state 1\nmy key=x\nend\n", 0},
    {"key with dash", "eschool-state 1\nmy-key=x\nend\n", 0},
    {"bad escape %zz", "eschool-state 1\nname=a%zzb\nend\n", 0},
    {"short escape", "eschool-state 1\nname=a%4\nend\n", 0},
    {"escape at end", "eschool-state 1\nname=a%\nend\n", 0},
    {"escaped NUL", "eschool-state 1\nname=a%00b\nend\n", 0},
    {"duplicate key", "eschool-state 1\nname=a\nrole=x\nname=b\nend\n", 0},
    {"NUL byte", "eschool-state 1\nname=a\0b\nend\n", 29},
    {"raw tab", "eschool-state 1\nname=a\tb\nend\n", 0},
    {"raw CR (CRLF)", "eschool-state 1\nname=a\r\nend\n", 0},
};

static void test_parse_corrupt(void **state)
{
	struct es_state st;
	struct es_err err;

	(void)state;
	es_state_init(&st, "frank");
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = c->len ? c->len : strlen(c->data);

		es_err_clear(&err);
		if (es_state_parse(&st, c->data, len, &err) != -1)
			fail_msg("accepted: %s", c->name);
		assert_int_equal(err.code, ES_EDATA);
		assert_non_null(strstr(err.msg, "corrupt"));
		assert_int_equal(st.n, 0);
	}
	/* the cases are corrupt only for their flaw: this one parses */
	assert_int_equal(es_state_parse(&st, "eschool-state 1\nname=a%41=b\nx_1=\nend\n",
					strlen("eschool-state 1\nname=a%41=b\nx_1=\nend\n"), &err),
			 0);
	assert_int_equal(st.n, 2);
	assert_string_equal(es_state_get(&st, "name"), "aA=b");
	assert_string_equal(es_state_get(&st, "x_1"), "");
	es_state_free(&st);
}

static void test_load_corrupt_files(void **state)
{
	struct fx *f = *state;
	struct es_state st;
	struct es_err err;

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = c->len ? c->len : strlen(c->data);

		put_user_file(f, "gina", c->data, len, 0600);
		es_err_clear(&err);
		if (es_state_load(f->sd, "gina", &st, &err) != -1)
			fail_msg("loaded: %s", c->name);
		assert_int_equal(err.code, ES_EDATA);
		assert_non_null(strstr(err.msg, "corrupt or unsafe state file"));
		assert_non_null(strstr(err.msg, "/users/gina"));
		assert_int_equal(st.n, 0);
		es_state_free(&st);
	}
}

static void test_torn_file(void **state)
{
	struct fx *f = *state;
	struct es_state st;
	struct es_err err = {0};
	char p[256], full[512];
	size_t len;

	es_state_init(&st, "hank");
	assert_int_equal(es_state_set(&st, ES_K_EMAIL, "hank@example.org"), 0);
	assert_int_equal(es_state_set(&st, ES_K_ROLE, "student"), 0);
	assert_int_equal(es_state_save(f->sd, &st, &err), 0);
	es_state_free(&st);
	pathf(p, sizeof(p), f, "users/hank");
	len = read_file(p, full, sizeof(full));
	/* every proper prefix of a valid file is corrupt */
	for (size_t cut = 0; cut < len; cut++) {
		write_file(p, full, cut, 0600);
		es_err_clear(&err);
		assert_int_equal(es_state_load(f->sd, "hank", &st, &err), -1);
		assert_int_equal(err.code, ES_EDATA);
		es_state_free(&st);
	}
	write_file(p, full, len, 0600);
	assert_int_equal(es_state_load(f->sd, "hank", &st, &err), 0);
	es_state_free(&st);
}

static void test_oversize(void **state)
{
	struct fx *f = *state;
	struct es_state st;
	struct es_err err = {0};
	size_t big = (size_t)ES_STATE_MAX_SIZE + 1;
	char *data = malloc(big + 1);
	char *out = NULL;
	size_t outlen = 0;
	char p[256];

	assert_non_null(data);
	/* a syntactically valid file, one byte too large */
	memset(data, 'x', big);
	memcpy(data, "eschool-state 1\nk=", 18);
	memcpy(data + big - 5, "\nend\n", 5);
	put_user_file(f, "ivan", data, big, 0600);
	assert_int_equal(es_state_load(f->sd, "ivan", &st, &err), -1);
	assert_int_equal(err.code, ES_EDATA);
	assert_non_null(strstr(err.msg, "larger than"));
	es_state_free(&st);

	/* and the writer refuses to produce one, leaving the old file */
	memcpy(data, "eschool-state 1\nk=1\nend\n", 24);
	put_user_file(f, "ivan", data, 24, 0600);
	es_state_init(&st, "ivan");
	memset(data, 'y', big);
	data[big - 30] = '\0';
	assert_int_equal(es_state_set(&st, "k", data), 0);
	assert_int_equal(es_state_set(&st, "k2", data + big / 2), 0);
	assert_int_equal(es_state_format(&st, &out, &outlen, &err), -1);
	assert_null(out);
	assert_int_equal(err.code, ES_EDATA);
	assert_int_equal(es_state_save(f->sd, &st, &err), -1);
	es_state_free(&st);
	assert_int_equal(es_state_load(f->sd, "ivan", &st, &err), 0);
	assert_string_equal(es_state_get(&st, "k"), "1");
	es_state_free(&st);
	pathf(p, sizeof(p), f, "users");
	assert_int_equal(count_dot_files(f), 0);
	free(data);
}

static void test_max_keys(void **state)
{
	struct es_state st, back;
	struct es_err err = {0};
	char key[16];
	char *out = NULL;
	size_t len = 0;

	(void)state;
	es_state_init(&st, "jane");
	for (int i = 0; i < ES_STATE_MAX_KEYS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(es_state_set(&st, key, "v"), 0);
	}
	assert_int_equal(es_state_set(&st, "one_more", "v"), -1);
	assert_int_equal(es_state_set(&st, "k5", "replaced"), 0); /* in place */
	assert_int_equal(st.n, ES_STATE_MAX_KEYS);
	assert_int_equal(es_state_format(&st, &out, &len, &err), 0);
	es_state_init(&back, "jane");
	assert_int_equal(es_state_parse(&back, out, len, &err), 0);
	assert_int_equal(back.n, ES_STATE_MAX_KEYS);
	assert_string_equal(es_state_get(&back, "k5"), "replaced");
	es_state_free(&back);
	free(out);

	/* one more key in a file is corrupt */
	{
		char buf[4096];
		size_t n = (size_t)snprintf(buf, sizeof(buf), "eschool-state 1\n");
		for (int i = 0; i <= ES_STATE_MAX_KEYS; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "k%d=v\n", i);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "end\n");
		assert_true(n < sizeof(buf));
		assert_int_equal(es_state_parse(&back, buf, n, &err), -1);
		assert_int_equal(err.code, ES_EDATA);
		assert_non_null(strstr(err.msg, "more than"));
		es_state_free(&back);
	}
	es_state_free(&st);
}

/* ---- unsafe files ------------------------------------------------------- */

static const char good[] = "eschool-state 1\nrole=student\nend\n";

static void test_symlink_at_name(void **state)
{
	struct fx *f = *state;
	static const char secret[] = "eschool-state 1\nrole=admin\nend\n";
	struct es_state st;
	struct es_err err = {0};
	char target[256], link[256], buf[256];
	struct stat sb;

	make_dirs(f);
	snprintf(target, sizeof(target), "%s/target", f->top);
	write_file(target, secret, sizeof(secret) - 1, 0600);
	pathf(link, sizeof(link), f, "users/kim");
	assert_int_equal(symlink(target, link), 0);

	/* load refuses: the target is not read */
	assert_int_equal(es_state_load(f->sd, "kim", &st, &err), -1);
	assert_int_equal(err.code, ES_EDATA);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_int_equal(st.n, 0);
	es_state_free(&st);

	/* save replaces the link itself, never writes through it */
	es_state_init(&st, "kim");
	assert_int_equal(es_state_set(&st, ES_K_ROLE, "student"), 0);
	assert_int_equal(es_state_save(f->sd, &st, &err), 0);
	es_state_free(&st);
	assert_int_equal(lstat(link, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	read_file(target, buf, sizeof(buf));
	assert_string_equal(buf, secret);
	assert_int_equal(es_state_load(f->sd, "kim", &st, &err), 0);
	assert_string_equal(es_state_get(&st, ES_K_ROLE), "student");
	es_state_free(&st);

	/* remove unlinks a link, not its target */
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(es_state_remove(f->sd, "kim", &err), 0);
	assert_false(exists(link));
	read_file(target, buf, sizeof(buf));
	assert_string_equal(buf, secret);
}

static void test_symlinked_dirs(void **state)
{
	struct fx *f = *state;
	struct es_state st;
	struct es_err err = {0};
	char real[128], p[256];
	int lfd = -1;

	/* users -> a directory elsewhere holding a valid file */
	assert_int_equal(mkdir(f->sd, 0700), 0);
	snprintf(real, sizeof(real), "%s/elsewhere", f->top);
	assert_int_equal(mkdir(real, 0700), 0);
	snprintf(p, sizeof(p), "%s/lee", real);
	write_file(p, good, sizeof(good) - 1, 0600);
	pathf(p, sizeof(p), f, "users");
	assert_int_equal(symlink(real, p), 0);

	assert_int_equal(es_state_load(f->sd, "lee", &st, &err), -1);
	assert_int_equal(err.code, ES_EDATA);
	assert_non_null(strstr(err.msg, "symbolic link"));
	es_state_free(&st);
	es_state_init(&st, "lee");
	assert_int_equal(es_state_save(f->sd, &st, &err), -1);
	assert_int_equal(err.code, ES_EPERM);
	es_state_free(&st);

	/* locks -> elsewhere */
	pathf(p, sizeof(p), f, "locks");
	assert_int_equal(symlink(real, p), 0);
	assert_int_equal(es_state_lock(f->sd, "lee", &lfd, &err), -1);
	assert_int_equal(lfd, -1);
	assert_int_equal(err.code, ES_EPERM);

	/* state_dir itself a symlink */
	snprintf(p, sizeof(p), "%s/state2", f->top);
	assert_int_equal(symlink(f->sd, p), 0);
	assert_int_equal(es_state_load(p, "lee", &st, &err), -1);
	assert_int_equal(err.code, ES_EDATA);
	es_state_free(&st);
}

static void test_fifo(void **state)
{
	struct fx *f = *state;
	struct es_state st;
	struct es_err err = {0};
	struct timespec t0, t1;
	char p[256];
	int lfd = -1;

	make_dirs(f);
	pathf(p, sizeof(p), f, "users/mia");
	assert_int_equal(mkfifo(p, 0600), 0);
	alarm(10); /* a hang kills the test binary: a loud failure */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(es_state_load(f->sd, "mia", &st, &err), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(err.code, ES_EDATA);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	es_state_free(&st);

	/* a FIFO as the lock file */
	pathf(p, sizeof(p), f, "locks");
	assert_int_equal(mkdir(p, 0700), 0);
	pathf(p, sizeof(p), f, "locks/mia");
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(es_state_lock(f->sd, "mia", &lfd, &err), -1);
	assert_int_equal(err.code, ES_EPERM);
	alarm(0);
}

static void test_directory_at_name(void **state)
{
	struct fx *f = *state;
	struct es_state st;
	struct es_err err = {0};
	char p[256];

	make_dirs(f);
	pathf(p, sizeof(p), f, "users/ned");
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(es_state_load(f->sd, "ned", &st, &err), -1);
	assert_int_equal(err.code, ES_EDATA);
	es_state_free(&st);

	es_state_init(&st, "ned");
	assert_int_equal(es_state_save(f->sd, &st, &err), -1);
	assert_int_equal(err.code, ES_EIO);
	es_state_free(&st);
	assert_int_equal(count_dot_files(f), 0);
}

static void test_writable_by_others(void **state)
{
	struct fx *f = *state;
	static const mode_t modes[] = {0620, 0602, 0660, 0666, 0622};
	struct es_state st;
	struct es_err err = {0};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		put_user_file(f, "olga", good, sizeof(good) - 1, modes[i]);
		assert_int_equal(es_state_load(f->sd, "olga", &st, &err), -1);
		assert_int_equal(err.code, ES_EDATA);
		assert_non_null(strstr(err.msg, "writable by group or others"));
		es_state_free(&st);
	}
	/* readable by others is not unsafe */
	put_user_file(f, "olga", good, sizeof(good) - 1, 0644);
	assert_int_equal(es_state_load(f->sd, "olga", &st, &err), 0);
	es_state_free(&st);
}

static void test_other_owner(void **state)
{
	struct fx *f = *state;
	struct es_state st;
	struct es_err err = {0};
	char p[256];

	put_user_file(f, "pete", good, sizeof(good) - 1, 0600);
	pathf(p, sizeof(p), f, "users/pete");
	assert_int_equal(chown(p, 65534, 65534), 0);
	assert_int_equal(es_state_load(f->sd, "pete", &st, &err), -1);
	assert_int_equal(err.code, ES_EDATA);
	assert_non_null(strstr(err.msg, "owned by uid 65534"));
	es_state_free(&st);
}

static void test_unsafe_state_dir(void **state)
{
	struct fx *f = *state;
	struct es_state st;
	struct es_err err = {0};
	char p[256];

	make_dirs(f);
	es_state_init(&st, "quinn");

	assert_int_equal(chmod(f->sd, 0770), 0);
	assert_int_equal(es_state_save(f->sd, &st, &err), -1);
	assert_int_equal(err.code, ES_EPERM);
	assert_non_null(strstr(err.msg, "chmod 700"));
	assert_non_null(strstr(err.msg, f->sd));
	assert_int_equal(chmod(f->sd, 0700), 0);

	pathf(p, sizeof(p), f, "users");
	assert_int_equal(chmod(p, 0703), 0);
	assert_int_equal(es_state_save(f->sd, &st, &err), -1);
	assert_int_equal(err.code, ES_EPERM);
	assert_non_null(strstr(err.msg, "chmod 700"));
	assert_int_equal(chmod(p, 0700), 0);

	assert_int_equal(chown(p, 65534, 0), 0);
	assert_int_equal(es_state_save(f->sd, &st, &err), -1);
	assert_int_equal(err.code, ES_EPERM);
	assert_non_null(strstr(err.msg, "chown root"));
	/* the reader refuses such a directory as unsafe */
	assert_int_equal(es_state_load(f->sd, "quinn", &st, &err), -1);
	assert_int_equal(err.code, ES_EDATA);
	assert_int_equal(chown(p, 0, 0), 0);

	assert_int_equal(es_state_save(f->sd, &st, &err), 0);
	es_state_free(&st);
}

static void test_missing(void **state)
{
	struct fx *f = *state;
	struct es_state st;
	struct es_err err = {0};
	char p[256];

	assert_int_equal(es_state_load(f->sd, "rita", &st, &err), 1);
	assert_int_equal(st.n, 0);
	assert_int_equal(mkdir(f->sd, 0700), 0);
	assert_int_equal(es_state_load(f->sd, "rita", &st, &err), 1);
	pathf(p, sizeof(p), f, "users");
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(es_state_load(f->sd, "rita", &st, &err), 1);
	assert_string_equal(st.username, "rita");
	es_state_free(&st);
	/* the reader never creates anything */
	assert_int_equal(count_dot_files(f), 0);
	pathf(p, sizeof(p), f, "locks");
	assert_false(exists(p));
}

static void test_invalid_usernames(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
	    "../x", "a/b",   "",    "A",       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    ".",    "..",    "-a",  "1abc",    "a$b",
	    "$",    "a b",   "a.b", ".hidden", "é",
	    "a\n",  "abc$$",
	};
	static const char *const ok[] = {
	    "a", "_a", "a$", "a-b_c9", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct es_state st;
	struct es_err err;
	int lfd = 123;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		es_err_clear(&err);
		assert_int_equal(es_state_load(f->sd, bad[i], &st, &err), -1);
		assert_int_equal(err.code, ES_EDATA);
		es_state_free(&st);

		es_state_init(&st, "x");
		memset(st.username, 0, sizeof(st.username));
		strncpy(st.username, bad[i], sizeof(st.username) - 1);
		if (strlen(bad[i]) < sizeof(st.username)) {
			es_err_clear(&err);
			assert_int_equal(es_state_save(f->sd, &st, &err), -1);
			assert_int_equal(err.code, ES_EDATA);
		}
		es_err_clear(&err);
		assert_int_equal(es_state_lock(f->sd, bad[i], &lfd, &err), -1);
		assert_int_equal(err.code, ES_EDATA);
		assert_int_equal(lfd, -1);
		es_err_clear(&err);
		assert_int_equal(es_state_remove(f->sd, bad[i], &err), -1);
		assert_int_equal(err.code, ES_EDATA);
		/* nothing was created, not even the state directory */
		assert_false(exists(f->sd));
	}
	assert_int_equal(es_state_load(f->sd, NULL, &st, &err), -1);
	assert_int_equal(es_state_lock(f->sd, NULL, &lfd, &err), -1);
	assert_false(exists(f->sd));

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct es_state back;

		es_state_init(&st, ok[i]);
		assert_int_equal(es_state_set(&st, "k", ok[i]), 0);
		assert_int_equal(es_state_save(f->sd, &st, &err), 0);
		assert_int_equal(es_state_load(f->sd, ok[i], &back, &err), 0);
		assert_string_equal(es_state_get(&back, "k"), ok[i]);
		es_state_free(&back);
		es_state_free(&st);
	}
}

/* ---- atomicity and concurrency ------------------------------------------ */

static void test_failed_save_keeps_old(void **state)
{
	struct fx *f = *state;
	struct es_state st;
	struct es_err err = {0};
	struct rlimit old, small;
	struct sigaction ign = {0}, oldsa;
	char p[256], before[1024], after[1024];
	char big[2000];
	int rc;

	es_state_init(&st, "sam");
	assert_int_equal(es_state_set(&st, ES_K_EMAIL, "sam@example.org"), 0);
	assert_int_equal(es_state_save(f->sd, &st, &err), 0);
	pathf(p, sizeof(p), f, "users/sam");
	read_file(p, before, sizeof(before));

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(es_state_set(&st, ES_K_NAME, big), 0);

	/* a file size limit makes write() fail with EFBIG, like a full disk */
	ign.sa_handler = SIG_IGN;
	assert_int_equal(sigaction(SIGXFSZ, &ign, &oldsa), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 100;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	rc = es_state_save(f->sd, &st, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(sigaction(SIGXFSZ, &oldsa, NULL), 0);

	assert_int_equal(rc, -1);
	assert_int_equal(err.code, ES_EIO);
	assert_non_null(strstr(err.msg, "disk is full"));
	read_file(p, after, sizeof(after));
	assert_string_equal(after, before);
	assert_int_equal(count_dot_files(f), 0);
	es_state_free(&st);

	assert_int_equal(es_state_load(f->sd, "sam", &st, &err), 0);
	assert_string_equal(es_state_get(&st, ES_K_EMAIL), "sam@example.org");
	assert_null(es_state_get(&st, ES_K_NAME));
	es_state_free(&st);
}

/* Over RLIMIT_FSIZE with SIGXFSZ at its default, as in the module's hosts
 * (sshd, login): the save is refused before the first byte (EFBIG, "ulimit
 * -f"), the process is not killed, no temporary file is left. In a child:
 * a kill must not take the test runner with it. */
static void test_fsize_limit_never_raises_sigxfsz(void **state)
{
	struct fx *f = *state;
	char p[256];
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct es_state st;
		struct es_err err = {0};
		struct rlimit rl;
		char big[400];

		memset(big, 'z', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		es_state_init(&st, "tess");
		if (signal(SIGXFSZ, SIG_DFL) == SIG_ERR || es_state_set(&st, ES_K_NAME, big) != 0 ||
		    getrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(2);
		rl.rlim_cur = 100;
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(2);
		if (es_state_save(f->sd, &st, &err) != -1 || err.code != ES_EIO ||
		    strstr(err.msg, "ulimit -f") == NULL || strstr(err.msg, "users/tess") == NULL)
			_exit(3);
		es_state_free(&st);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status)); /* not killed by SIGXFSZ */
	assert_int_equal(WEXITSTATUS(status), 0);
	pathf(p, sizeof(p), f, "users");
	assert_int_equal(access(p, F_OK), -1); /* refused before anything was made */
	assert_int_equal(errno, ENOENT);
}

#define WRITERS 8
#define ROUNDS 50

/* A killed writer's temporary file goes once it is an hour old; a live
 * writer's (fresh) one, other dot-files and state files stay. */
static void test_sweep_tmp(void **state)
{
	struct fx *f = *state;
	struct timespec old[2] = { { .tv_sec = time(NULL) - 7200 }, { .tv_sec = time(NULL) - 7200 } };
	char p[256];

	put_user_file(f, "zoe", good, strlen(good), 0600);
	put_user_file(f, ".zoe.tmp.0a1b2c3d4e5f", good, 10, 0600);
	pathf(p, sizeof(p), f, "users/.zoe.tmp.0a1b2c3d4e5f");
	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	put_user_file(f, ".leo.tmp.ffffffffffff", good, 10, 0600);
	put_user_file(f, ".keep", good, 10, 0600);
	pathf(p, sizeof(p), f, "users/.keep");
	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	assert_int_equal(count_dot_files(f), 3);
	es_state_sweep_tmp(f->sd);
	assert_int_equal(count_dot_files(f), 2);
	pathf(p, sizeof(p), f, "users/.zoe.tmp.0a1b2c3d4e5f");
	assert_false(exists(p));
	pathf(p, sizeof(p), f, "users/zoe");
	assert_true(exists(p));
	es_state_sweep_tmp("/nonexistent/eschool"); /* no directory: nothing, no crash */
}

static int writer(const char *sd)
{
	for (int i = 0; i < ROUNDS; i++) {
		struct es_state st;
		struct es_err err = {0};
		int lfd = -1;
		int r;

		if (es_state_lock(sd, "tom", &lfd, &err) != 0)
			return 1;
		r = es_state_load(sd, "tom", &st, &err);
		if (r < 0 ||
		    es_state_set_i64(&st, "counter", es_state_get_i64(&st, "counter", 0) + 1) !=
			0 ||
		    es_state_save(sd, &st, &err) != 0) {
			es_state_free(&st);
			es_state_unlock(lfd);
			return 2;
		}
		es_state_free(&st);
		es_state_unlock(lfd);
	}
	return 0;
}

static void test_concurrent_writers(void **state)
{
	struct fx *f = *state;
	struct es_state st;
	struct es_err err = {0};
	pid_t pids[WRITERS];

	for (int i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(writer(f->sd));
	}
	for (int i = 0; i < WRITERS; i++) {
		int status = 0;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(es_state_load(f->sd, "tom", &st, &err), 0);
	assert_int_equal(es_state_get_i64(&st, "counter", -1), WRITERS * ROUNDS);
	es_state_free(&st);
	assert_int_equal(count_dot_files(f), 0);
}

static void test_lock_excludes(void **state)
{
	struct fx *f = *state;
	struct es_err err = {0};
	char p[256];
	int lfd = -1, status = 0;
	pid_t pid;

	assert_int_equal(es_state_lock(f->sd, "uma", &lfd, &err), 0);
	assert_true(lfd >= 0);
	pathf(p, sizeof(p), f, "locks/uma");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(p, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			_exit(2);
		_exit(flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	es_state_unlock(lfd);
	es_state_unlock(-1); /* harmless */

	/* a symlink as the lock file is refused, its target untouched */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	assert_int_equal(es_state_lock(f->sd, "uma", &lfd, &err), -1);
	assert_int_equal(err.code, ES_EPERM);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_int_equal(lfd, -1);
}

static void test_lock_all_excludes(void **state)
{
	struct fx *f = *state;
	struct es_err err = {0};
	int lfd = -1, ufd = -1, status = 0;
	pid_t pid;

	assert_int_equal(es_state_lock_all(f->sd, &lfd, &err), 0);
	assert_true(lfd >= 0);
	/* per-user locks nest inside the global one */
	assert_int_equal(es_state_lock(f->sd, "uma", &ufd, &err), 0);
	es_state_unlock(ufd);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(f->sd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			_exit(2);
		_exit(flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	es_state_unlock(lfd);
	/* released: another process gets it */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(f->sd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		_exit(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(es_state_lock_all("relative/dir", &lfd, &err), -1);
}

/* ---- bounded locks ------------------------------------------------------ */

/* A child that takes flock on path (a lock file or the state directory),
 * names itself `comm` and stops itself, as a student may stop su while su
 * holds the lock. Returns its pid once it holds the lock. */
static pid_t stopped_holder(const char *path, const char *comm)
{
	int pfd[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* never outlive the test (a failed assertion skips end_child),
		 * nor keep its output open for whoever waits on it */
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (fd < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
		    dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(2);
		(void)close(fd);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX) != 0 || prctl(PR_SET_NAME, comm, 0, 0, 0) != 0)
			_exit(2);
		if (write(pfd[1], "x", 1) != 1)
			_exit(3);
		(void)raise(SIGSTOP);
		_exit(0);
	}
	assert_int_equal(close(pfd[1]), 0);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	assert_int_equal(close(pfd[0]), 0);
	return pid;
}

static void end_child(pid_t pid)
{
	int status = 0;

	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

/* The holder is named when /proc/locks tells it: on overlayfs (a package
 * build in a container) the lock is on the upper inode, whose device and
 * number are not the ones fstat gives, and the message says "another
 * process" instead (test_locks.py checks the name on the sandbox's tmpfs). */
static void assert_holder(const char *msg, const char *want)
{
	if (strstr(msg, want) == NULL)
		assert_non_null(strstr(msg, "held by another process"));
}

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (long)(b->tv_sec - a->tv_sec) * 1000L + (long)(b->tv_nsec - a->tv_nsec) / 1000000L;
}

static void test_lock_is_bounded_and_names_the_holder(void **state)
{
	struct fx *f = *state;
	struct es_err err = {0};
	struct timespec t0, t1;
	char p[256], want[128];
	int lfd = -1;
	pid_t pid;

	assert_int_equal(es_state_lock(f->sd, "zoe", &lfd, &err), 0); /* makes the file */
	es_state_unlock(lfd);
	pathf(p, sizeof(p), f, "locks/zoe");
	pid = stopped_holder(p, "su\x1b[2J");
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(es_state_lock_wait(f->sd, "zoe", 300, &lfd, &err), -1);
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(lfd, -1);
	assert_int_equal(err.code, ES_ETEMP);
	assert_true(ms_between(&t0, &t1) >= 300 && ms_between(&t0, &t1) < 3000);
	(void)snprintf(want, sizeof(want), "held by process %ld (su\\x1b[2J)", (long)pid);
	assert_holder(err.msg, want);
	assert_non_null(strstr(err.msg, "user zoe"));
	assert_non_null(strstr(err.msg, p));
	assert_non_null(strstr(err.msg, "300 ms"));
	assert_null(strchr(err.msg, '\x1b'));
	/* the others' locks are not affected */
	assert_int_equal(es_state_lock_wait(f->sd, "leo", 300, &lfd, &err), 0);
	es_state_unlock(lfd);
	end_child(pid);
	/* once the holder is gone the lock is free at once */
	assert_int_equal(es_state_lock_wait(f->sd, "zoe", 300, &lfd, &err), 0);
	es_state_unlock(lfd);
}

static void test_lock_all_is_bounded_and_names_the_holder(void **state)
{
	struct fx *f = *state;
	struct es_err err = {0};
	struct timespec t0, t1;
	char want[128];
	int lfd = -1;
	pid_t pid;

	assert_int_equal(es_state_lock_all(f->sd, &lfd, &err), 0); /* makes the directory */
	es_state_unlock(lfd);
	pid = stopped_holder(f->sd, "eschool");
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(es_state_lock_all_wait(f->sd, 200, &lfd, &err), -1);
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(lfd, -1);
	assert_int_equal(err.code, ES_ETEMP);
	assert_true(ms_between(&t0, &t1) >= 200 && ms_between(&t0, &t1) < 3000);
	(void)snprintf(want, sizeof(want), "held by process %ld (eschool)", (long)pid);
	assert_holder(err.msg, want);
	assert_non_null(strstr(err.msg, f->sd));
	end_child(pid);
	assert_int_equal(es_state_lock_all_wait(f->sd, 200, &lfd, &err), 0);
	es_state_unlock(lfd);
}

/* true once process pid has path open (it waits for the lock on it). */
static bool has_open(pid_t pid, const char *path)
{
	char dir[64], link[340], target[300];
	struct dirent *de;
	bool found = false;
	DIR *d;

	(void)snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	d = opendir(dir);
	if (d == NULL)
		return false;
	while (!found && (de = readdir(d)) != NULL) {
		ssize_t n;

		(void)snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			found = strcmp(target, path) == 0;
		}
	}
	closedir(d);
	return found;
}

/* A lock file removed by its holder (eschool forget) while another
 * process waits on it: the waiter ends up holding the lock of the file
 * the name has now, not of the removed one. */
static void test_removed_lock_file_is_not_a_lock(void **state)
{
	struct fx *f = *state;
	struct es_err err = {0};
	char p[256], c;
	int lfd = -1, fd, status = 0, ready[2], go[2];
	pid_t pid;

	assert_int_equal(es_state_lock(f->sd, "uma", &lfd, &err), 0);
	pathf(p, sizeof(p), f, "locks/uma");
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int mine = -1;
		struct es_err e2 = {0};

		/* the parent's descriptor (and its lock) is not ours to hold */
		if (close(lfd) != 0 || write(ready[1], "c", 1) != 1)
			_exit(4);
		if (es_state_lock_wait(f->sd, "uma", 10000, &mine, &e2) != 0)
			_exit(2);
		if (write(ready[1], "x", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	/* the child has opened the file and polls for it */
	assert_int_equal(read(ready[0], &c, 1), 1);
	for (int i = 0; i < 100000 && !has_open(pid, p); i++)
		(void)sched_yield();
	assert_true(has_open(pid, p));
	assert_int_equal(es_state_remove_lock(f->sd, "uma", &err), 0);
	assert_false(exists(p));
	es_state_unlock(lfd);
	assert_int_equal(read(ready[0], &c, 1), 1);
	/* the child holds the lock of locks/uma as it is now */
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	assert_int_equal(close(fd), 0);
	assert_int_equal(write(go[1], "x", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	(void)close(ready[0]);
	(void)close(ready[1]);
	(void)close(go[0]);
	(void)close(go[1]);
	/* removing a missing lock file, or with no state directory, is fine */
	assert_int_equal(es_state_remove_lock(f->sd, "nobody", &err), 0);
	assert_int_equal(es_state_remove_lock("/nonexistent/eschool", "uma", &err), 0);
	assert_int_equal(es_state_remove_lock(f->sd, "../x", &err), -1);
}

/* ---- foreach, remove ---------------------------------------------------- */

struct names {
	char list[16][40];
	int n;
	int stop_at;
};

static int collect(const char *user, void *arg)
{
	struct names *ns = arg;

	if (ns->n < 16)
		snprintf(ns->list[ns->n], sizeof(ns->list[0]), "%s", user);
	ns->n++;
	return ns->n == ns->stop_at ? 42 : 0;
}

static void test_foreach(void **state)
{
	struct fx *f = *state;
	static const char *const users[] = {"carl", "alba", "bert", "_sys", "zed$"};
	struct names ns = {.stop_at = -1};
	struct es_state st;
	struct es_err err = {0};

	/* missing directories: no calls */
	assert_int_equal(es_state_foreach(f->sd, collect, &ns, &err), 0);
	assert_int_equal(ns.n, 0);
	assert_int_equal(mkdir(f->sd, 0700), 0);
	assert_int_equal(es_state_foreach(f->sd, collect, &ns, &err), 0);
	assert_int_equal(ns.n, 0);

	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		es_state_init(&st, users[i]);
		assert_int_equal(es_state_save(f->sd, &st, &err), 0);
		es_state_free(&st);
	}
	put_user_file(f, ".hidden", good, sizeof(good) - 1, 0600);
	put_user_file(f, ".bert.tmp.0123456789ab", good, sizeof(good) - 1, 0600);
	put_user_file(f, "Bad", good, sizeof(good) - 1, 0600);
	put_user_file(f, "x.y", good, sizeof(good) - 1, 0600);

	assert_int_equal(es_state_foreach(f->sd, collect, &ns, &err), 0);
	assert_int_equal(ns.n, 5);
	assert_string_equal(ns.list[0], "_sys");
	assert_string_equal(ns.list[1], "alba");
	assert_string_equal(ns.list[2], "bert");
	assert_string_equal(ns.list[3], "carl");
	assert_string_equal(ns.list[4], "zed$");

	/* a non-zero return stops the walk and is returned */
	memset(&ns, 0, sizeof(ns));
	ns.stop_at = 2;
	assert_int_equal(es_state_foreach(f->sd, collect, &ns, &err), 42);
	assert_int_equal(ns.n, 2);
}

static void test_remove(void **state)
{
	struct fx *f = *state;
	struct es_state st;
	struct es_err err = {0};
	char p[256];

	/* nothing there at all: fine */
	assert_int_equal(es_state_remove(f->sd, "vera", &err), 0);
	assert_false(exists(f->sd));

	es_state_init(&st, "vera");
	assert_int_equal(es_state_save(f->sd, &st, &err), 0);
	es_state_free(&st);
	pathf(p, sizeof(p), f, "users/vera");
	assert_true(exists(p));
	assert_int_equal(es_state_remove(f->sd, "vera", &err), 0);
	assert_false(exists(p));
	assert_int_equal(es_state_remove(f->sd, "vera", &err), 0);
	assert_int_equal(es_state_load(f->sd, "vera", &st, &err), 1);
	es_state_free(&st);
}

/* ---- permissions as a user ---------------------------------------------- */

static int load_as_nobody(const char *sd, const char *user)
{
	struct es_state st;
	struct es_err err = {0};
	int r;

	if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
		return 10;
	r = es_state_load(sd, user, &st, &err);
	es_state_free(&st);
	if (r != -1)
		return 11;
	return err.code == ES_EPERM ? 0 : 12;
}

static void test_unreadable_as_user(void **state)
{
	struct fx *f = *state;
	char p[256];
	int status;
	pid_t pid;

	put_user_file(f, "wade", good, sizeof(good) - 1, 0600);
	/* the directories are closed to the user */
	for (int round = 0; round < 2; round++) {
		if (round == 1) {
			/* traversable directories, unreadable file */
			assert_int_equal(chmod(f->top, 0711), 0);
			assert_int_equal(chmod(f->sd, 0711), 0);
			pathf(p, sizeof(p), f, "users");
			assert_int_equal(chmod(p, 0711), 0);
		}
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(load_as_nobody(f->sd, "wade"));
		status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

/* ---- accessors ---------------------------------------------------------- */

static void test_accessors(void **state)
{
	struct es_state st;

	(void)state;
	es_state_init(&st, "xena");
	assert_null(es_state_get(&st, "a"));
	assert_int_equal(es_state_set(&st, "a", "1"), 0);
	assert_int_equal(es_state_set(&st, "b", "2"), 0);
	assert_int_equal(es_state_set(&st, "c", "3"), 0);
	assert_int_equal(es_state_set(&st, "a", "one"), 0); /* in place */
	assert_string_equal(st.kv[0].key, "a");
	assert_string_equal(st.kv[0].value, "one");
	assert_int_equal(es_state_set(&st, "b", NULL), 0); /* keeps order */
	assert_int_equal(st.n, 2);
	assert_string_equal(st.kv[0].key, "a");
	assert_string_equal(st.kv[1].key, "c");
	assert_int_equal(es_state_set(&st, "nope", NULL), 0);
	assert_int_equal(st.n, 2);
	/* replacing with its own value (aliasing) */
	assert_int_equal(es_state_set(&st, "c", es_state_get(&st, "c")), 0);
	assert_string_equal(es_state_get(&st, "c"), "3");

	assert_int_equal(es_state_set(&st, "", "x"), -1);
	assert_int_equal(es_state_set(&st, "A", "x"), -1);
	assert_int_equal(es_state_set(&st, "a-b", "x"), -1);
	assert_int_equal(es_state_set(&st, "a=b", "x"), -1);
	assert_int_equal(es_state_set(&st, "a\n", "x"), -1);
	assert_int_equal(es_state_set(&st, NULL, "x"), -1);
	assert_int_equal(es_state_set(NULL, "a", "x"), -1);

	assert_int_equal(es_state_set_i64(&st, "t", 1700000000), 0);
	assert_string_equal(es_state_get(&st, "t"), "1700000000");
	assert_int_equal(es_state_get_i64(&st, "t", -1), 1700000000);
	assert_int_equal(es_state_set_i64(&st, "t", INT64_MIN), 0);
	assert_true(es_state_get_i64(&st, "t", 0) == INT64_MIN);
	assert_int_equal(es_state_set_i64(&st, "t", INT64_MAX), 0);
	assert_true(es_state_get_i64(&st, "t", 0) == INT64_MAX);
	assert_int_equal(es_state_get_i64(&st, "missing", 7), 7);
	static const char *const bad_nums[] = {
	    "",
	    " 1",
	    "+1",
	    "1 ",
	    "1x",
	    "0x10",
	    "-",
	    "9223372036854775808",
	    "-9223372036854775809",
	    "1e3",
	};
	for (size_t i = 0; i < sizeof(bad_nums) / sizeof(bad_nums[0]); i++) {
		assert_int_equal(es_state_set(&st, "t", bad_nums[i]), 0);
		assert_int_equal(es_state_get_i64(&st, "t", 99), 99);
	}
	assert_int_equal(es_state_set(&st, "t", "-5"), 0);
	assert_int_equal(es_state_get_i64(&st, "t", 99), -5);

	assert_false(es_state_get_bool(&st, "flag"));
	assert_int_equal(es_state_set(&st, "flag", "1"), 0);
	assert_true(es_state_get_bool(&st, "flag"));
	assert_int_equal(es_state_set(&st, "flag", "0"), 0);
	assert_false(es_state_get_bool(&st, "flag"));
	assert_int_equal(es_state_set(&st, "flag", "yes"), 0);
	assert_false(es_state_get_bool(&st, "flag"));

	es_state_free(&st);
	assert_int_equal(st.n, 0);
	assert_string_equal(st.username, "xena");
	es_state_free(&st); /* twice is harmless */
	assert_null(es_state_get(NULL, "a"));
	es_state_free(NULL);
}

static void test_format_rejects_bad_struct(void **state)
{
	struct es_state st;
	struct es_err err = {0};
	char *out = NULL;
	size_t len = 0;
	char k1[] = "ok", k2[] = "Bad", v[] = "v";

	(void)state;
	es_state_init(&st, "yves");
	st.kv[0].key = k1;
	st.kv[0].value = v;
	st.kv[1].key = k2;
	st.kv[1].value = v;
	st.n = 2;
	assert_int_equal(es_state_format(&st, &out, &len, &err), -1);
	assert_int_equal(err.code, ES_ESOFTWARE);
	assert_null(out);
	st.kv[1].key = k1; /* duplicate */
	assert_int_equal(es_state_format(&st, &out, &len, &err), -1);
	assert_null(out);
	st.n = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_roundtrip_all_keys),
	    T(test_unknown_keys_kept_on_rewrite),
	    T(test_special_values),
	    T(test_format_golden),
	    T(test_modes),
	    T(test_parse_corrupt),
	    T(test_load_corrupt_files),
	    T(test_torn_file),
	    T(test_oversize),
	    T(test_max_keys),
	    T(test_symlink_at_name),
	    T(test_symlinked_dirs),
	    T(test_fifo),
	    T(test_directory_at_name),
	    T(test_writable_by_others),
	    T(test_other_owner),
	    T(test_unsafe_state_dir),
	    T(test_missing),
	    T(test_invalid_usernames),
	    T(test_failed_save_keeps_old),
	    T(test_fsize_limit_never_raises_sigxfsz),
	    T(test_concurrent_writers),
	    T(test_lock_excludes),
	    T(test_lock_all_excludes),
	    T(test_lock_is_bounded_and_names_the_holder),
	    T(test_lock_all_is_bounded_and_names_the_holder),
	    T(test_removed_lock_file_is_not_a_lock),
	    T(test_foreach),
	    T(test_sweep_tmp),
	    T(test_remove),
	    T(test_unreadable_as_user),
	    T(test_accessors),
	    T(test_format_rejects_bad_struct),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
