/* Unit tests for lib/es_store.c: records over the file store. A record
 * opened for reading cannot be written; one opened for writing holds the
 * user's lock until it is closed. Run as root (the state is root's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "es_ldap_attrs.h"
#include "es_store.h"

struct fx {
	char top[64];
	struct es_store store;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char dir[128];

	assert_non_null(f);
	assert_true(sodium_init() >= 0);
	(void)snprintf(f->top, sizeof(f->top), "/tmp/es-store.XXXXXX");
	assert_non_null(mkdtemp(f->top));
	(void)snprintf(dir, sizeof(dir), "%s/state", f->top);
	es_store_files(&f->store, dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", f->top);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void write_then_read(void **state)
{
	struct fx *f = *state;
	struct es_state st;
	struct es_record rec;
	struct es_err err = { 0 };

	es_state_init(&st, "");
	/* no record yet: an empty one of that name, locked */
	assert_int_equal(es_record_open(&f->store, "zoe", ES_RECORD_WRITE, &st, &rec, &err), 1);
	assert_string_equal(st.username, "zoe");
	assert_int_equal(es_state_set(&st, ES_K_EMAIL, "zoe@school.example"), 0);
	assert_int_equal(es_record_save(&rec, &err), 0);
	es_record_close(&rec);
	/* read back; a read record cannot be written */
	assert_int_equal(es_record_open(&f->store, "zoe", ES_RECORD_READ, &st, &rec, &err), 0);
	assert_string_equal(es_state_get(&st, ES_K_EMAIL), "zoe@school.example");
	assert_int_equal(es_state_set(&st, ES_K_EMAIL, "other@school.example"), 0);
	assert_int_equal(es_record_save(&rec, &err), -1);
	assert_int_equal(err.code, ES_ESOFTWARE);
	assert_non_null(strstr(err.msg, "without its lock"));
	assert_int_equal(es_record_remove(&rec, &err), -1);
	es_record_close(&rec);
	assert_int_equal(es_record_open(&f->store, "zoe", ES_RECORD_READ, &st, &rec, &err), 0);
	assert_string_equal(es_state_get(&st, ES_K_EMAIL), "zoe@school.example");
	es_record_close(&rec);
	/* removed through a locked record: gone */
	assert_int_equal(es_record_open(&f->store, "zoe", ES_RECORD_WRITE, &st, &rec, &err), 0);
	assert_int_equal(es_record_remove(&rec, &err), 0);
	es_record_close(&rec);
	assert_int_equal(es_record_open(&f->store, "zoe", ES_RECORD_READ, &st, &rec, &err), 1);
	es_record_close(&rec);
	es_state_free(&st);
}

/* While one record is open for writing, another process cannot open the
 * same one for writing (bounded wait, ES_ETEMP), and can once it closes. */
static void write_holds_the_lock(void **state)
{
	struct fx *f = *state;
	struct es_state st;
	struct es_record rec;
	struct es_err err = { 0 };
	int status;
	pid_t pid;

	es_state_init(&st, "");
	assert_int_equal(es_record_open(&f->store, "leo", ES_RECORD_WRITE, &st, &rec, &err), 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct es_state st2;
		struct es_record rec2;
		struct es_err e2 = { 0 };
		int rc;

		es_state_init(&st2, "");
		rc = es_record_open_wait(&f->store, "leo", ES_RECORD_WRITE, 200, &st2, &rec2, &e2);
		_exit(rc == -1 && e2.code == ES_ETEMP && rec2.lock_failed ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	es_record_close(&rec);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct es_state st2;
		struct es_record rec2;
		struct es_err e2 = { 0 };

		es_state_init(&st2, "");
		_exit(es_record_open_wait(&f->store, "leo", ES_RECORD_WRITE, 200, &st2, &rec2, &e2) ==
		              1
		              ? 0
		              : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	es_state_free(&st);
}

/* What a workstation takes from SSSD's copy: the public attributes only,
 * whatever sssd.conf gives; every mapped key's attribute maps back. */
static void sssd_public_part(void **unused)
{
	struct es_state st;

	(void)unused;
	es_state_init(&st, "zoe");
	assert_int_equal(es_ldap_public_apply(&st, "eschoolMustChange", "1"), 0);
	assert_int_equal(es_ldap_public_apply(&st, "SHADOWLASTCHANGE", "20791"), 0);
	assert_int_equal(es_ldap_public_apply(&st, "eschoolPendingCodeHash", "deadbeef"), 0);
	assert_int_equal(es_ldap_public_apply(&st, "eschoolSources", "10.0.0.1"), 0);
	assert_int_equal(es_ldap_public_apply(&st, "eschoolMail", "zoe@example.org"), 0);
	assert_int_equal(es_ldap_public_apply(&st, "eschoolExtra", "lastchg_seen=1"), 0);
	assert_int_equal(es_ldap_public_apply(&st, "mail", "zoe@example.org"), 0);
	assert_string_equal(es_state_get(&st, ES_K_MUST_CHANGE), "1");
	assert_string_equal(es_state_get(&st, ES_K_DIR_LAST_CHANGE), "20791");
	assert_null(es_state_get(&st, ES_K_PENDING_CODE));
	assert_null(es_state_get(&st, ES_K_SOURCES));
	assert_null(es_state_get(&st, ES_K_EMAIL));
	assert_null(es_state_get(&st, ES_K_LASTCHG_SEEN));
	es_state_free(&st);
	for (size_t i = 0; i < ES_LDAP_N_MAPPED; i++)
		assert_string_equal(es_ldap_key_of(es_ldap_attr_of(es_ldap_attr_map[i].key)),
		                    es_ldap_attr_map[i].key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(write_then_read, setup, teardown),
		cmocka_unit_test_setup_teardown(write_holds_the_lock, setup, teardown),
		cmocka_unit_test(sssd_public_part),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
