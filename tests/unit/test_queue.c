/* The mail queue: round trip, ordering, update, fail and revive, removal,
 * torn and unsafe files, the runner lock, ids that are never paths. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "es_queue.h"

struct fx {
	char dir[64];
	char spool[96];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || sodium_init() < 0)
		return -1;
	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/es-queue-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	(void)snprintf(f->spool, sizeof(f->spool), "%s/spool", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct es_qmsg meta(const char *to, const char *kind, int prio)
{
	struct es_qmsg m;

	memset(&m, 0, sizeof(m));
	(void)snprintf(m.to, sizeof(m.to), "%s", to);
	(void)snprintf(m.kind, sizeof(m.kind), "%s", kind);
	(void)snprintf(m.user, sizeof(m.user), "edupre");
	m.priority = prio;
	m.secret = prio == ES_QPRIO_CREDENTIALS;
	return m;
}

static void path_of(const struct fx *f, const char *sub, const char *id, char *out, size_t sz)
{
	(void)snprintf(out, sz, "%s/%s/%s", f->spool, sub, id);
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct es_qmsg m = meta("elodie@school.example", "welcome-student", ES_QPRIO_CREDENTIALS), r;
	struct es_err err = { 0 };
	const char msg[] = "Subject: x\r\n\r\nPassword: Pw7x\r\n";
	char *back = NULL, p[256];
	size_t len = 0;
	struct stat st;

	(void)state;
	assert_int_equal(es_queue_add(f->spool, &m, msg, sizeof(msg) - 1, 1795000000, &err), 0);
	assert_true(es_queue_valid_id(m.id));
	assert_int_equal(strncmp(m.id, "1795000000.", 11), 0);
	assert_int_equal(es_queue_read(f->spool, m.id, false, &r, &back, &len, &err), 0);
	assert_int_equal(len, sizeof(msg) - 1);
	assert_memory_equal(back, msg, len);
	assert_string_equal(r.to, m.to);
	assert_string_equal(r.kind, "welcome-student");
	assert_string_equal(r.user, "edupre");
	assert_true(r.secret);
	assert_int_equal(r.created, 1795000000);
	free(back);
	/* private files in private directories; no temporary file left */
	path_of(f, "new", m.id, p, sizeof(p));
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(f->spool, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	(void)snprintf(p, sizeof(p), "%s/tmp", f->spool);
	assert_int_equal(rmdir(p), 0); /* empty */
	assert_int_equal(es_queue_remove(f->spool, m.id, false, &err), 0);
	assert_int_equal(es_queue_read(f->spool, m.id, false, &r, NULL, NULL, &err), -1);
	assert_int_equal(err.code, ES_ENOUSER);
}

static void test_list_order_update_fail_revive(void **state)
{
	struct fx *f = *state;
	struct es_qmsg a = meta("a@school.example", "password-changed", ES_QPRIO_NOTICE);
	struct es_qmsg b = meta("b@school.example", "welcome-student", ES_QPRIO_CREDENTIALS);
	struct es_qmsg c = meta("c@school.example", "reset", ES_QPRIO_CREDENTIALS);
	struct es_qmsg *list = NULL;
	struct es_err err = { 0 };
	size_t n = 0, bad = 0;

	(void)state;
	assert_int_equal(es_queue_add(f->spool, &a, "A", 1, 100, &err), 0);
	assert_int_equal(es_queue_add(f->spool, &b, "B", 1, 200, &err), 0);
	assert_int_equal(es_queue_add(f->spool, &c, "C", 1, 300, &err), 0);
	assert_int_equal(es_queue_list(f->spool, &list, &n, &bad, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(bad, 0);
	/* credentials first, oldest first; the notice last */
	assert_string_equal(list[0].to, "b@school.example");
	assert_string_equal(list[1].to, "c@school.example");
	assert_string_equal(list[2].to, "a@school.example");
	free(list);

	/* a 4xx: deferred, message kept */
	b.attempts = 1;
	b.next_try = 260;
	(void)snprintf(b.last_error, sizeof(b.last_error), "451 4.3.0 try later %%\nsecond line");
	assert_int_equal(es_queue_update(f->spool, &b, &err), 0);
	{
		struct es_qmsg r;
		char *msg = NULL;
		size_t len = 0;
		assert_int_equal(es_queue_read(f->spool, b.id, false, &r, &msg, &len, &err), 0);
		assert_int_equal(r.attempts, 1);
		assert_int_equal(r.next_try, 260);
		assert_string_equal(r.last_error, "451 4.3.0 try later %\nsecond line");
		assert_string_equal(msg, "B");
		free(msg);
	}
	/* a 5xx: failed, listed after the queued ones */
	(void)snprintf(c.last_error, sizeof(c.last_error), "550 no such user");
	assert_int_equal(es_queue_fail(f->spool, &c, &err), 0);
	assert_int_equal(es_queue_read(f->spool, c.id, false, &c, NULL, NULL, &err), -1);
	assert_int_equal(es_queue_list(f->spool, &list, &n, &bad, &err), 0);
	assert_int_equal(n, 3);
	assert_true(list[2].failed);
	assert_string_equal(list[2].last_error, "550 no such user");
	free(list);
	/* queue retry */
	assert_int_equal(es_queue_revive(f->spool, c.id, &err), 0);
	{
		struct es_qmsg r;
		assert_int_equal(es_queue_read(f->spool, c.id, false, &r, NULL, NULL, &err), 0);
		assert_int_equal(r.attempts, 0);
		assert_int_equal(r.next_try, 0);
		assert_string_equal(r.last_error, "");
	}
	assert_int_equal(es_queue_revive(f->spool, c.id, &err), -1);
	assert_int_equal(err.code, ES_ENOUSER);
}

static void write_raw(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void test_torn_and_unsafe_files(void **state)
{
	struct fx *f = *state;
	struct es_qmsg m = meta("t@school.example", "test", ES_QPRIO_NOTICE), r;
	struct es_err err = { 0 };
	struct es_qmsg *list = NULL;
	size_t n = 0, bad = 0;
	char p[256], *data;
	const char *good = "eschool-queue 1\nid=0000000001.aa\nto=x@school.example\nkind=test\n"
	                   "size=5\nend\nhello";

	(void)state;
	assert_int_equal(es_queue_add(f->spool, &m, "x", 1, 1, &err), 0); /* makes the dirs */
	path_of(f, "new", "0000000001.aa", p, sizeof(p));
	write_raw(p, good, 0600);
	assert_int_equal(es_queue_read(f->spool, "0000000001.aa", false, &r, NULL, NULL, &err), 0);
	/* torn: fewer bytes than stated, or more */
	data = strdup(good);
	assert_non_null(data);
	data[strlen(data) - 1] = '\0';
	write_raw(p, data, 0600);
	assert_int_equal(es_queue_read(f->spool, "0000000001.aa", false, &r, NULL, NULL, &err), -1);
	assert_int_equal(err.code, ES_EDATA);
	free(data);
	write_raw(p, "eschool-queue 1\nid=0000000001.aa\nto=x@school.example\nsize=5\nend\nhello!",
	          0600);
	assert_int_equal(es_queue_read(f->spool, "0000000001.aa", false, &r, NULL, NULL, &err), -1);
	/* no end line, or no magic */
	write_raw(p, "eschool-queue 1\nid=0000000001.aa\nto=x@school.example\nsize=0\n", 0600);
	assert_int_equal(es_queue_read(f->spool, "0000000001.aa", false, &r, NULL, NULL, &err), -1);
	write_raw(p, "hello", 0600);
	assert_int_equal(es_queue_read(f->spool, "0000000001.aa", false, &r, NULL, NULL, &err), -1);
	/* readable by others */
	write_raw(p, good, 0644);
	assert_int_equal(es_queue_read(f->spool, "0000000001.aa", false, &r, NULL, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "unsafe"));
	/* a symlink or a FIFO is refused at once */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	assert_int_equal(es_queue_read(f->spool, "0000000001.aa", false, &r, NULL, NULL, &err), -1);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(es_queue_read(f->spool, "0000000001.aa", false, &r, NULL, NULL, &err), -1);
	/* list skips and counts what it cannot read */
	assert_int_equal(es_queue_list(f->spool, &list, &n, &bad, &err), 0);
	assert_int_equal(bad, 1);
	assert_int_equal(n, 1);
	free(list);
	assert_int_equal(unlink(p), 0);
}

static void test_ids_are_never_paths(void **state)
{
	struct fx *f = *state;
	struct es_qmsg r;
	struct es_err err = { 0 };

	(void)state;
	assert_false(es_queue_valid_id("../../etc/passwd"));
	assert_false(es_queue_valid_id(""));
	assert_false(es_queue_valid_id(".hidden"));
	assert_false(es_queue_valid_id("ABC"));
	assert_false(es_queue_valid_id("a/b"));
	assert_true(es_queue_valid_id("1795000000.0123456789abcdef"));
	assert_int_equal(es_queue_read(f->spool, "../x", false, &r, NULL, NULL, &err), -1);
	assert_int_equal(err.code, ES_EDATA);
	assert_int_equal(es_queue_remove(f->spool, "../x", false, &err), -1);
	assert_int_equal(es_queue_revive(f->spool, "../x", &err), -1);
}

static void test_control_characters_refused(void **state)
{
	struct fx *f = *state;
	struct es_qmsg m = meta("a@school.example\r\nBcc: x@y.fr", "test", ES_QPRIO_NOTICE);
	struct es_err err = { 0 };

	(void)state;
	assert_int_equal(es_queue_add(f->spool, &m, "x", 1, 1, &err), -1);
	assert_int_equal(err.code, ES_EDATA);
}

static void test_runner_lock(void **state)
{
	struct fx *f = *state;
	struct es_err err = { 0 };
	int fd = -1, status = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(es_queue_lock(f->spool, false, &fd, &err), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd2 = -1;
		struct es_err e2 = { 0 };
		_exit(es_queue_lock(f->spool, false, &fd2, &e2) == -1 && e2.code == ES_ETEMP ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(es_queue_lock(f->spool, false, &fd, &err), 0);
	assert_int_equal(close(fd), 0);
}

/* The sender's handle: a delivered message leaves new/ at once (never
 * listed or sent again), its file is deleted by close, and what a killed
 * run left in sent/ is deleted by the next open. */
static void test_run_handle(void **state)
{
	struct fx *f = *state;
	struct es_qmsg a = meta("a@school.example", "reset", ES_QPRIO_CREDENTIALS);
	struct es_qmsg b = meta("b@school.example", "reset", ES_QPRIO_CREDENTIALS), r, *list;
	struct es_queue_run *qr = NULL;
	struct es_err err = { 0 };
	char *msg = NULL, p[256];
	size_t len = 0, n = 0, bad = 0;
	int fd;

	(void)state;
	assert_int_equal(es_queue_add(f->spool, &a, "A\r\n", 3, 1795000000, &err), 0);
	assert_int_equal(es_queue_add(f->spool, &b, "B\r\n", 3, 1795000001, &err), 0);
	assert_int_equal(es_queue_run_open(f->spool, &qr, &err), 0);
	assert_int_equal(es_queue_run_read(qr, a.id, &r, &msg, &len, &err), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(msg, "A\r\n", 3);
	assert_string_equal(r.to, "a@school.example");
	free(msg);
	assert_int_equal(es_queue_run_done(qr, a.id, &err), 0);
	/* gone from the queue at once, even before close */
	assert_int_equal(es_queue_list(f->spool, &list, &n, &bad, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].id, b.id);
	free(list);
	assert_int_equal(es_queue_run_done(qr, a.id, &err), -1); /* not twice */
	assert_int_equal(err.code, ES_ENOUSER);
	assert_int_equal(es_queue_run_read(qr, "../x", &r, &msg, &len, &err), -1);
	assert_int_equal(err.code, ES_EDATA);
	es_queue_run_close(qr);
	path_of(f, "sent", a.id, p, sizeof(p));
	assert_int_equal(access(p, F_OK), -1); /* deleted */
	/* a killed run's leftover in sent/ goes at the next open */
	path_of(f, "sent", "1795000002.00ff", p, sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	(void)close(fd);
	assert_int_equal(es_queue_run_open(f->spool, &qr, &err), 0);
	assert_int_equal(access(p, F_OK), -1);
	es_queue_run_close(qr);
	assert_int_equal(es_queue_list(f->spool, &list, &n, &bad, &err), 0);
	assert_int_equal(n, 1);
	free(list);
}

static void test_relative_spool_refused(void **state)
{
	struct es_qmsg m = meta("a@school.example", "test", ES_QPRIO_NOTICE);
	struct es_err err = { 0 };

	(void)state;
	assert_int_equal(es_queue_add("relative/spool", &m, "x", 1, 1, &err), -1);
	assert_int_equal(err.code, ES_ECONFIG);
}

/* A message over RLIMIT_FSIZE with SIGXFSZ at its default (the PAM
 * module's hosts): not queued, refused up front (EFBIG: "ulimit -f",
 * "nothing was queued"), the process not killed, nothing left in tmp/. */
static void test_fsize_limit_never_raises_sigxfsz(void **state)
{
	struct fx *f = *state;
	char p[256];
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct es_qmsg m = meta("zoe@school.example", "password-changed", ES_QPRIO_NOTICE);
		struct es_err err = { 0 };
		struct rlimit rl;
		static char msg[2000];

		memset(msg, 'x', sizeof(msg));
		if (signal(SIGXFSZ, SIG_DFL) == SIG_ERR || getrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(2);
		rl.rlim_cur = 1000;
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(2);
		if (es_queue_add(f->spool, &m, msg, sizeof(msg), 1700000000, &err) != -1 ||
		    err.code != ES_EIO || strstr(err.msg, "ulimit -f") == NULL ||
		    strstr(err.msg, "nothing was queued") == NULL)
			_exit(3);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status)); /* not killed by SIGXFSZ */
	assert_int_equal(WEXITSTATUS(status), 0);
	(void)snprintf(p, sizeof(p), "%s/tmp", f->spool);
	assert_int_equal(rmdir(p), 0); /* empty */
	(void)snprintf(p, sizeof(p), "%s/new", f->spool);
	assert_int_equal(rmdir(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_order_update_fail_revive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_and_unsafe_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_are_never_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_characters_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runner_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_handle, setup, teardown),
		cmocka_unit_test(test_relative_spool_refused),
		cmocka_unit_test_setup_teardown(test_fsize_limit_never_raises_sigxfsz, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
