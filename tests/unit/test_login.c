/* Unit tests for lib/es_login.c: what a login does, without PAM. The
 * callbacks of struct es_login_io record what the module would have said,
 * asked and logged; the state lives in a temporary state_dir. Run as root
 * (the state is root's). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "es_account.h"
#include "es_code.h"
#include "es_login.h"
#include "es_store.h"

#define T0 1790000000 /* a Tuesday in 2026, 12:53 UTC */

/* What the module would have done, in order. */
struct fx {
	char top[64], state_dir[96], spool_dir[96];
	struct es_config cfg;
	struct es_store store;
	struct es_login_io io;
	struct es_login l;
	char said[8][1024]; /* "E:" error or "I:" info, then the text */
	size_t nsaid;
	char logs[1024 * 8];
	const char *answer; /* the prompt's answer (NULL: the conversation fails) */
	char asked[512];
	bool told;
	bool lock_free_at_prompt;
};

static void io_log(void *ctx, int prio, const char *line)
{
	struct fx *f = ctx;
	size_t o = strlen(f->logs);

	(void)prio;
	(void)snprintf(f->logs + o, sizeof(f->logs) - o, "%s\n", line);
}

static void io_tell(void *ctx, bool error, const char *msg)
{
	struct fx *f = ctx;

	assert_true(f->nsaid < 8);
	(void)snprintf(f->said[f->nsaid++], sizeof(f->said[0]), "%s:%s", error ? "E" : "I", msg);
}

/* true when nobody holds the user's lock now (another process may take it). */
static bool lock_free(const struct fx *f, const char *user)
{
	char path[256];
	bool free_now;
	int fd;

	(void)snprintf(path, sizeof(path), "%s/locks/%s", f->state_dir, user);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true; /* never locked */
	free_now = flock(fd, LOCK_EX | LOCK_NB) == 0;
	(void)close(fd);
	return free_now;
}

static int io_prompt(void *ctx, const char *question, char **answer)
{
	struct fx *f = ctx;

	(void)snprintf(f->asked, sizeof(f->asked), "%s", question);
	f->lock_free_at_prompt = lock_free(f, "zoe");
	if (f->answer == NULL)
		return -1;
	*answer = strdup(f->answer);
	assert_non_null(*answer);
	return 0;
}

static bool io_told(void *ctx, bool mark)
{
	struct fx *f = ctx;

	if (mark)
		f->told = true;
	return f->told;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char cwd[512], templates[600];
	struct es_err err = { 0 };

	assert_non_null(f);
	assert_true(sodium_init() >= 0);
	(void)snprintf(f->top, sizeof(f->top), "/tmp/es-login.XXXXXX");
	assert_non_null(mkdtemp(f->top));
	(void)snprintf(f->state_dir, sizeof(f->state_dir), "%s/state", f->top);
	(void)snprintf(f->spool_dir, sizeof(f->spool_dir), "%s/spool", f->top);
	assert_non_null(getcwd(cwd, sizeof(cwd))); /* the checkout: its templates */
	(void)snprintf(templates, sizeof(templates), "%s/conf/templates", cwd);
	es_config_defaults(&f->cfg);
	assert_int_equal(es_config_set(&f->cfg, "general", "state_dir", f->state_dir, "t", &err), 0);
	assert_int_equal(es_config_set(&f->cfg, "general", "spool_dir", f->spool_dir, "t", &err), 0);
	assert_int_equal(es_config_set(&f->cfg, "general", "template_dir", templates, "t", &err), 0);
	assert_int_equal(es_config_set(&f->cfg, "general", "language", "en", "t", &err), 0);
	es_store_for(&f->store, &f->cfg);
	f->io = (struct es_login_io){ .ctx = f, .log = io_log, .tell = io_tell,
		                      .prompt = io_prompt, .told = io_told };
	es_login_init(&f->l, &f->io, T0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	es_login_free(&f->l);
	es_config_free(&f->cfg);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", f->top);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Writes zoe's state: created a day ago, with extra key=value pairs. */
static void write_state(struct fx *f, const char *const *kv)
{
	struct es_state st;
	struct es_record rec;
	struct es_err err = { 0 };

	es_state_init(&st, "");
	assert_true(es_record_open(&f->store, "zoe", ES_RECORD_WRITE, &st, &rec, &err) >= 0);
	es_state_free(&st); /* a new state, whatever was there */
	es_state_init(&st, "zoe");
	assert_int_equal(es_state_set(&st, ES_K_EMAIL, "zoe@school.example"), 0);
	assert_int_equal(es_state_set(&st, ES_K_NAME, "Zoé Martin"), 0);
	assert_int_equal(es_state_set(&st, ES_K_ROLE, "student"), 0);
	assert_int_equal(es_state_set_i64(&st, ES_K_CREATED, T0 - 86400), 0);
	assert_int_equal(es_state_set(&st, ES_K_UID, "4242"), 0);
	for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2)
		assert_int_equal(es_state_set(&st, kv[i], kv[i + 1]), 0);
	assert_int_equal(es_record_save(&rec, &err), 0);
	es_record_close(&rec);
	es_state_free(&st);
}

static void read_state(struct fx *f, struct es_state *st)
{
	struct es_record rec;
	struct es_err err = { 0 };

	/* st: zeroed or read before (es_record_open frees what it holds) */
	assert_int_equal(es_record_open(&f->store, "zoe", ES_RECORD_READ, st, &rec, &err), 0);
	es_record_close(&rec);
}

/* NSS said zoe is uid 4242; then the config and the state. */
static enum es_login_rc login_as_zoe(struct fx *f, unsigned how)
{
	struct es_user_seen s = { .given = "ZOE", .what = ES_SEEN_OK, .name = "zoe", .uid = 4242 };

	assert_int_equal(es_login_user(&f->l, "ZOE", &s, 0), ES_LOGIN_GO_ON);
	assert_string_equal(f->l.user, "zoe");
	return es_login_prepare(&f->l, &f->cfg, false, how);
}

static size_t queued(const struct fx *f)
{
	char cmd[200];
	FILE *p;
	size_t n = 0;

	(void)snprintf(cmd, sizeof(cmd), "ls '%s/new' 2>/dev/null | grep -c . || true",
	               f->spool_dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%zu", &n), 1);
	(void)pclose(p);
	return n;
}

/* ---- what is said ---- */

static void rules_text(void **unused)
{
	struct es_pam_rules none = { 0 };
	struct es_pam_rules r = { .minlen = 10, .minclass = 3, .ucredit = -1, .dcredit = -2,
		                  .ocredit = -1 };
	char out[768];
	size_t n;

	(void)unused;
	n = es_login_rules_text(&none, false, out, sizeof(out));
	assert_int_equal(n, strlen(out));
	assert_string_equal(out, "Choose a long new password (12 characters or more), unlike the "
	                         "old one: a few unrelated words make a good one.");
	(void)es_login_rules_text(&none, true, out, sizeof(out));
	assert_string_equal(out, "Choisissez un nouveau mot de passe long (12 caractères ou plus), "
	                         "différent de l'ancien : quelques mots sans rapport entre eux en "
	                         "font un bon.");
	(void)es_login_rules_text(&r, false, out, sizeof(out));
	assert_string_equal(out, "Choose a new password of at least 10 characters, of at least 3 "
	                         "kinds of characters (lower case, capitals, digits, others), with "
	                         "at least 1 capital letter, 2 digits and 1 other character (not a "
	                         "letter or digit), unlike the old one: a few unrelated words make "
	                         "a good one.");
	(void)es_login_rules_text(&r, true, out, sizeof(out));
	assert_string_equal(out, "Choisissez un nouveau mot de passe d'au moins 10 caractères, "
	                         "d'au moins 3 types de caractères (minuscules, majuscules, "
	                         "chiffres, autres), avec au moins 1 majuscule, 2 chiffres et 1 "
	                         "autre caractère (ni lettre ni chiffre), différent de l'ancien : "
	                         "quelques mots sans rapport entre eux en font un bon.");
	/* cut at the buffer's end, still a string */
	assert_int_equal(es_login_rules_text(&r, false, out, 20), 19);
	assert_string_equal(out, "Choose a new passwo");
}

/* ---- the user ---- */

static void user_resolution(void **state)
{
	struct fx *f = *state;
	struct es_user_seen s;

	f->l.debug = true;
	assert_false(es_login_user_askable(&f->l, "bad\nname"));
	assert_non_null(strstr(f->logs, "is not one eschool manages (not a name)"));
	assert_true(es_login_user_askable(&f->l, "SCHOOL\\zoe"));
	/* what NSS says */
	assert_int_equal(es_user_lookup("root", &s), 0);
	assert_int_equal(s.what, ES_SEEN_OK);
	assert_string_equal(s.name, "root");
	assert_int_equal(s.uid, 0);
	assert_int_equal(es_user_lookup("no-such-user-es-login", &s), 0);
	assert_int_equal(s.what, ES_SEEN_UNKNOWN);
	assert_int_equal(es_login_user(&f->l, "no-such-user-es-login", &s, 0), ES_LOGIN_IGNORE);
	assert_null(f->l.user);
	/* an account whose name eschool could not manage */
	s = (struct es_user_seen){ .given = "x", .what = ES_SEEN_NOT_OURS, .name = "Bad.Name" };
	assert_int_equal(es_login_user(&f->l, "x", &s, 0), ES_LOGIN_IGNORE);
	assert_non_null(strstr(f->logs, "(its account is 'Bad.Name')"));
	/* NSS down: the name as given when valid, else left alone */
	assert_int_equal(es_login_user(&f->l, "ZOE@x", NULL, 5), ES_LOGIN_IGNORE);
	assert_non_null(strstr(f->logs, "cannot look up user 'ZOE@x'"));
	assert_int_equal(es_login_user(&f->l, "zoe", NULL, 5), ES_LOGIN_GO_ON);
	assert_string_equal(f->l.user, "zoe");
	assert_false(f->l.have_pw);
	/* the canonical name */
	s = (struct es_user_seen){ .given = "ZOE", .what = ES_SEEN_OK, .name = "zoe", .uid = 7 };
	assert_int_equal(es_login_user(&f->l, "ZOE", &s, 0), ES_LOGIN_GO_ON);
	assert_true(f->l.have_pw);
	assert_int_equal(f->l.pw.pw_uid, 7);
	assert_non_null(strstr(f->logs, "user name 'ZOE' is zoe's"));
}

static void prepare_others_and_unmanaged(void **state)
{
	struct fx *f = *state;
	const char *const orphan[] = { ES_K_UID, "999", NULL };

	/* no state: not managed */
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_IGNORE);
	/* a state made for another uid: left alone, said in the account stage */
	write_state(f, orphan);
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_IGNORE);
	assert_non_null(strstr(f->logs, "was made for uid 999, not for this account (uid 4242)"));
	/* the account's own */
	write_state(f, NULL);
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_false(f->l.french);
	assert_int_equal(f->l.pol.max_age_days, 90);
}

static void prepare_exempt_and_on_error(void **state)
{
	struct fx *f = *state;
	struct es_err err = { 0 };
	char path[200];
	int fd;

	write_state(f, NULL);
	assert_int_equal(es_config_set(&f->cfg, "policy", "exempt_users", "root, zoe", "t", &err),
	                 0);
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_EXEMPT), ES_LOGIN_IGNORE);
	assert_int_equal(login_as_zoe(f, 0), ES_LOGIN_GO_ON); /* the session decides later */
	/* a corrupt state: on_error (deny), but an exempt user is left alone */
	(void)snprintf(path, sizeof(path), "%s/users/zoe", f->state_dir);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "garbage\n", 8), 8);
	(void)close(fd);
	assert_int_equal(login_as_zoe(f, 0), ES_LOGIN_IGNORE);
	assert_int_equal(es_config_set(&f->cfg, "policy", "exempt_users", "root", "t", &err), 0);
	assert_int_equal(login_as_zoe(f, 0), ES_LOGIN_SYSERR);
	assert_int_equal(es_config_set(&f->cfg, "policy", "on_error", "allow", "t", &err), 0);
	assert_int_equal(login_as_zoe(f, 0), ES_LOGIN_IGNORE);
}

static void broken_config(void **state)
{
	struct fx *f = *state;
	const struct es_err cfg_err = { .msg = "/x.conf:3: unknown key 'stat_dir'" };
	struct es_user_seen s = { .given = "zoe", .what = ES_SEEN_OK, .name = "zoe", .uid = 4242 };
	char conf[200];
	FILE *fp;

	(void)snprintf(conf, sizeof(conf), "%s/eschool.conf", f->top);
	fp = fopen(conf, "w");
	assert_non_null(fp);
	(void)fprintf(fp, "[general]\nstate_dir = %s\nstat_dir = typo\n", f->state_dir);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(conf, 0600), 0);
	assert_int_equal(es_login_user(&f->l, "zoe", &s, 0), ES_LOGIN_GO_ON);
	/* no state in the default state_dir nor in the one the file names */
	assert_int_equal(es_login_broken_config(&f->l, conf, &cfg_err, false), ES_LOGIN_IGNORE);
	assert_non_null(strstr(f->logs, "/x.conf:3: unknown key 'stat_dir'; zoe has no state in "
	                                "/var/lib/eschool nor "));
	/* a state there: refused, said once per login */
	write_state(f, NULL);
	f->logs[0] = '\0';
	assert_int_equal(es_login_broken_config(&f->l, conf, &cfg_err, false), ES_LOGIN_SYSERR);
	assert_non_null(strstr(f->logs, "zoe has a state in "));
	assert_non_null(strstr(f->logs, "refused (on_error = deny, the built-in default)"));
	f->logs[0] = '\0';
	assert_int_equal(es_login_broken_config(&f->l, conf, &cfg_err, true), ES_LOGIN_SYSERR);
	assert_string_equal(f->logs, "");
	/* a file others may write names no directory */
	assert_int_equal(chmod(conf, 0602), 0);
	assert_int_equal(es_login_broken_config(&f->l, conf, &cfg_err, false), ES_LOGIN_IGNORE);
}

/* ---- the account stage ---- */

static void account_must_change(void **state)
{
	struct fx *f = *state;
	const char *const temp[] = { ES_K_MUST_CHANGE, "1", ES_K_INITIAL_EXPIRES, "1790600000",
		                     NULL };
	const char *why = NULL;

	write_state(f, temp);
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_NEW_AUTHTOK);
	assert_string_equal(why, "temporary password must be changed");
	assert_int_equal(f->nsaid, 2);
	assert_string_equal(f->said[0], "E:You must change your temporary password now.");
	assert_string_equal(f->said[1], "I:Choose a long new password (12 characters or more), "
	                                "unlike the old one: a few unrelated words make a good one.");
	assert_true(f->told);
	/* the password stage's first pass: explained already, not again */
	assert_int_equal(es_login_prelim(&f->l, &why), ES_LOGIN_IGNORE);
	assert_null(why);
	assert_int_equal(f->nsaid, 2);
	/* past its time: refused, in French for a French application */
	f->l.now = 1790600000;
	f->l.french = true;
	assert_int_equal(es_login_prelim(&f->l, &why), ES_LOGIN_PERM_DENIED);
	assert_string_equal(why, "temporary password expired unused");
	assert_string_equal(f->said[2], "E:Votre mot de passe provisoire n'a pas été utilisé à "
	                                "temps et ne fonctionne plus. Demandez-en un nouveau à "
	                                "l'administrateur.");
}

static void account_disabled_warn_ok(void **state)
{
	struct fx *f = *state;
	const char *const disabled[] = { ES_K_DISABLED, "1", NULL };
	char changed[32];
	const char *const warn[] = { ES_K_PW_CHANGED, changed, NULL };
	const char *why = NULL;

	write_state(f, disabled);
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_EXPIRED);
	assert_string_equal(why, "account disabled");
	assert_string_equal(f->said[0], "E:This account is disabled. Ask your administrator.");
	/* 89.5 days old of 90: a warning (zoe has no shadow entry) */
	(void)snprintf(changed, sizeof(changed), "%ld", (long)T0 - 89 * 86400 - 43200);
	write_state(f, warn);
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_OK);
	assert_null(why);
	assert_string_equal(f->said[1], "I:Your password expires in 1 day: change it soon.");
	/* nothing to say: nothing said */
	write_state(f, NULL);
	f->l.would_speak = false;
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_OK);
	assert_int_equal(f->nsaid, 2);
	/* silent: decided the same, nothing said */
	write_state(f, disabled);
	f->l.silent = true;
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_EXPIRED);
	assert_int_equal(f->nsaid, 2);
}

/* ---- the address code ---- */

static void request_code(struct fx *f, char code[ES_CODE_LEN + 1])
{
	unsigned char key[ES_CODE_KEY_LEN];
	char hex[ES_CODE_HASH_HEX], exp[32];
	const char *const pending[] = { ES_K_PENDING_EMAIL, "new@school.example",
		                        ES_K_PENDING_CODE,  hex,
		                        ES_K_PENDING_EXPIRES, exp,
		                        NULL };

	write_state(f, NULL); /* the state_dir, for the key */
	assert_int_equal(es_code_key(f->state_dir, true, key, NULL), 0);
	assert_int_equal(es_code_new(code), 0);
	assert_int_equal(es_code_hash(key, "zoe", code, hex, NULL), 0);
	(void)snprintf(exp, sizeof(exp), "%ld", (long)T0 + 3600);
	write_state(f, pending);
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
}

static void ask_code(void **state)
{
	struct fx *f = *state;
	char code[ES_CODE_LEN + 1];
	struct es_state st = { 0 };

	request_code(f, code);
	/* a wrong code: counted, said after the lock is released */
	f->answer = "WRONG123";
	es_login_ask_code(&f->l);
	assert_string_equal(f->asked, "Code mailed to confirm your new address (Enter to skip): ");
	assert_true(f->lock_free_at_prompt);
	assert_string_equal(f->said[0], "E:Wrong code: your address is unchanged.");
	assert_non_null(strstr(f->logs, "wrong address confirmation code for zoe"));
	read_state(f, &st);
	assert_int_equal(es_state_get_i64(&st, ES_K_PENDING_TRIES, 0), 1);
	/* skipped: nothing changes */
	f->answer = "";
	es_login_ask_code(&f->l);
	assert_int_equal(f->nsaid, 1);
	f->answer = NULL;
	es_login_ask_code(&f->l);
	assert_int_equal(f->nsaid, 1);
	/* the right one */
	f->answer = code;
	f->l.french = true;
	es_login_ask_code(&f->l);
	assert_string_equal(f->asked, "Code reçu par mail pour confirmer votre nouvelle adresse "
	                              "(Entrée pour passer) : ");
	assert_true(f->lock_free_at_prompt);
	assert_string_equal(f->said[1], "I:Votre adresse est confirmée.");
	read_state(f, &st);
	assert_string_equal(es_state_get(&st, ES_K_EMAIL), "new@school.example");
	assert_null(es_state_get(&st, ES_K_PENDING_EMAIL));
	es_state_free(&st);
}

static void ask_code_silent(void **state)
{
	struct fx *f = *state;
	char code[ES_CODE_LEN + 1];

	request_code(f, code);
	f->l.silent = true;
	f->answer = code;
	es_login_ask_code(&f->l);
	assert_string_equal(f->asked, "");
}

/* ---- password and session ---- */

static void password_changed(void **state)
{
	struct fx *f = *state;
	const char *const temp[] = { ES_K_MUST_CHANGE, "1", ES_K_INITIAL_EXPIRES, "1790600000",
		                     NULL };
	struct es_state st = { 0 };

	write_state(f, temp);
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_EXEMPT), ES_LOGIN_GO_ON);
	/* no new password in PAM_AUTHTOK: nothing recorded */
	assert_int_equal(es_login_password_changed(&f->l, false), ES_LOGIN_IGNORE);
	assert_non_null(strstr(f->logs, "password of zoe not changed by the modules before"));
	read_state(f, &st);
	assert_true(es_state_get_bool(&st, ES_K_MUST_CHANGE));
	assert_int_equal(queued(f), 0);
	/* zoe has no shadow entry (a directory's account): AUTHTOK is enough */
	assert_int_equal(es_login_password_changed(&f->l, true), ES_LOGIN_OK);
	assert_non_null(strstr(f->logs, "password changed for zoe"));
	read_state(f, &st);
	assert_false(es_state_get_bool(&st, ES_K_MUST_CHANGE));
	assert_int_equal(es_state_get_i64(&st, ES_K_PW_CHANGED, 0), T0);
	assert_int_equal(queued(f), 1);
	es_state_free(&st);
}

/* A store that says when the password last changed, as the directory's
 * does (shadowLastChange): the day in last_day, on top of the files. */
static long last_day;

static int said_last_change(const struct es_store *s, const char *user, long *day,
                            struct es_err *err)
{
	(void)s;
	(void)user;
	(void)err;
	*day = last_day;
	return 1;
}

/* A change made by a stack that ended before pam_eschool's password line
 * (Debian's "sufficient pam_sss.so"): the account stage and the session
 * stage find the store's last change moved and record it, once. */
static void change_caught_up(void **state)
{
	struct fx *f = *state;
	const char *const temp[] = { ES_K_MUST_CHANGE, "1", ES_K_PW_CHANGED, "1789913600",
		                     NULL };
	struct es_store_ops ops;
	struct es_state st = { 0 };
	const char *why = NULL;

	ops = *f->store.ops;
	ops.last_change = said_last_change;
	write_state(f, temp);
	f->l.store = f->store;
	f->l.store.ops = &ops;
	/* not changed yet (shadowLastChange 0): asked, nothing recorded */
	last_day = 0;
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_NEW_AUTHTOK);
	assert_int_equal(queued(f), 0);
	/* changed today: the session stage of the same login records it */
	last_day = T0 / ES_DAY;
	assert_int_equal(es_login_session(&f->l, "10.0.0.1", "ssh"), ES_LOGIN_OK);
	assert_non_null(strstr(f->logs, "without pam_eschool's password stage: recorded now"));
	read_state(f, &st);
	assert_false(es_state_get_bool(&st, ES_K_MUST_CHANGE));
	assert_int_equal(es_state_get_i64(&st, ES_K_PW_CHANGED, 0), T0);
	assert_int_equal(queued(f), 1);
	/* the next login's account stage: nothing due, nothing more */
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_OK);
	assert_int_equal(queued(f), 1);
	/* caught up by the account stage of a later login, on a later day:
	 * the change is dated on its day */
	write_state(f, temp);
	last_day = T0 / ES_DAY;
	f->l.now = T0 + 3 * ES_DAY;
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_OK);
	read_state(f, &st);
	assert_false(es_state_get_bool(&st, ES_K_MUST_CHANGE));
	assert_int_equal(es_state_get_i64(&st, ES_K_PW_CHANGED, 0), (T0 / ES_DAY) * ES_DAY);
	assert_int_equal(queued(f), 2);
	es_state_free(&st);
	f->l.store.ops = NULL; /* ops is on this stack */
}

/* A later change, made with passwd through the same stacks (nothing
 * due): the account stage of the next login reads the day with the state
 * (no search of its own) and records it, once. */
static void later_change_caught_up(void **state)
{
	struct fx *f = *state;
	char today[24];
	const char *const changed[] = { ES_K_MUST_CHANGE, "0", ES_K_PW_CHANGED, "1789913600",
		                        ES_K_DIR_LAST_CHANGE, today, NULL };
	struct es_store_ops ops;
	struct es_state st = { 0 };
	const char *why = NULL;

	ops = *f->store.ops;
	ops.last_change = said_last_change;
	(void)snprintf(today, sizeof(today), "%ld", (long)(T0 / ES_DAY));
	last_day = -1; /* the search must not be needed */
	write_state(f, changed);
	f->l.store = f->store;
	f->l.store.ops = &ops;
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_OK);
	read_state(f, &st);
	assert_int_equal(es_state_get_i64(&st, ES_K_PW_CHANGED, 0), T0);
	assert_int_equal(queued(f), 1);
	/* the next login: the day recorded is the directory's: nothing more */
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_OK);
	assert_int_equal(queued(f), 1);
	es_state_free(&st);
	f->l.store.ops = NULL; /* ops is on this stack */
}

/* The day eschool wrote decides, not the day alone: an account made with
 * enforce = no has its creation day in shadowLastChange and must-change in
 * the state; that day is no change. One made to change at the first login
 * (0 written) and changed the same day is one. */
static void lastchg_seen_decides(void **state)
{
	struct fx *f = *state;
	char today[24];
	const char *const unenforced[] = { ES_K_MUST_CHANGE, "1", ES_K_PW_CHANGED, "1790000000",
		                           ES_K_LASTCHG_SEEN, today, ES_K_DIR_LAST_CHANGE, today,
		                           NULL };
	const char *const forced[] = { ES_K_MUST_CHANGE, "1", ES_K_PW_CHANGED, "1790000000",
		                       ES_K_LASTCHG_SEEN, "0", ES_K_DIR_LAST_CHANGE, today, NULL };
	struct es_store_ops ops;
	struct es_state st = { 0 };
	const char *why = NULL;

	ops = *f->store.ops;
	ops.last_change = said_last_change;
	(void)snprintf(today, sizeof(today), "%ld", (long)(T0 / ES_DAY));
	last_day = T0 / ES_DAY;
	f->l.store = f->store;
	f->l.store.ops = &ops;
	write_state(f, unenforced);
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_NEW_AUTHTOK);
	read_state(f, &st);
	assert_true(es_state_get_bool(&st, ES_K_MUST_CHANGE));
	assert_int_equal(queued(f), 0);
	es_state_free(&st);
	write_state(f, forced);
	assert_int_equal(login_as_zoe(f, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_OK);
	read_state(f, &st);
	assert_false(es_state_get_bool(&st, ES_K_MUST_CHANGE));
	assert_int_equal(es_state_get_i64(&st, ES_K_LASTCHG_SEEN, -1), T0 / ES_DAY);
	assert_int_equal(queued(f), 1);
	es_state_free(&st);
	f->l.store.ops = NULL; /* ops is on this stack */
}

static void session(void **state)
{
	struct fx *f = *state;
	const char *const known[] = { ES_K_SOURCES, "10.0.0.1", ES_K_LAST_LOGIN, "1789990000",
		                      NULL };
	struct es_state st = { 0 };

	write_state(f, known);
	assert_int_equal(login_as_zoe(f, 0), ES_LOGIN_GO_ON);
	/* from a known source: recorded, no mail */
	assert_int_equal(es_login_session(&f->l, "10.0.0.1", "ssh"), ES_LOGIN_OK);
	read_state(f, &st);
	assert_int_equal(es_state_get_i64(&st, ES_K_LAST_LOGIN, 0), T0);
	assert_int_equal(queued(f), 0);
	/* the same minute again: nothing written */
	assert_int_equal(es_login_session(&f->l, "10.0.0.1", "ssh"), ES_LOGIN_OK);
	/* at the console: the terminal is recorded, a notice queued */
	f->l.now = T0 + 60;
	assert_int_equal(es_login_session(&f->l, NULL, "tty3"), ES_LOGIN_OK);
	read_state(f, &st);
	assert_string_equal(es_state_get(&st, ES_K_SOURCES), "tty3,10.0.0.1");
	assert_int_equal(queued(f), 1);
	/* an escaped source from a remote host */
	f->l.now = T0 + 120;
	assert_int_equal(es_login_session(&f->l, "evil\n,host", NULL), ES_LOGIN_OK);
	read_state(f, &st);
	assert_string_equal(es_state_get(&st, ES_K_SOURCES), "evil\\x0a\\x2chost,tty3,10.0.0.1");
	assert_int_equal(queued(f), 2);
	es_state_free(&st);
}

static void session_exempt_and_gone(void **state)
{
	struct fx *f = *state;
	struct es_err err = { 0 };
	struct es_record rec;
	struct es_state st = { 0 };

	write_state(f, NULL);
	assert_int_equal(es_config_set(&f->cfg, "policy", "exempt_users", "zoe", "t", &err), 0);
	assert_int_equal(login_as_zoe(f, 0), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_session(&f->l, "10.0.0.2", NULL), ES_LOGIN_IGNORE);
	/* removed meanwhile (eschool forget): nothing recorded, nothing made */
	assert_int_equal(es_config_set(&f->cfg, "policy", "exempt_users", "root", "t", &err), 0);
	assert_int_equal(login_as_zoe(f, 0), ES_LOGIN_GO_ON);
	es_state_init(&st, "");
	assert_int_equal(es_record_open(&f->store, "zoe", ES_RECORD_WRITE, &st, &rec, &err), 0);
	assert_int_equal(es_record_remove(&rec, &err), 0);
	es_record_close(&rec);
	assert_int_equal(es_login_session(&f->l, "10.0.0.2", NULL), ES_LOGIN_IGNORE);
	assert_int_equal(es_record_open(&f->store, "zoe", ES_RECORD_READ, &st, &rec, &err), 1);
	es_record_close(&rec);
	es_state_free(&st);
	assert_int_equal(queued(f), 0);
}

/* ---- SSSD's copy ([ldap] login_reads = sssd) ---- */

/* The directory store as a workstation gets it when a login first needs
 * it (es_login_io.store): here the files, with the directory's last
 * change; counted, and failing when down is set. */
static int store_calls;
static bool store_down;
static struct es_store_ops dir_ops;
static struct es_store dir_store;

static int io_store(void *ctx, const struct es_config *cfg, struct es_store *out,
                    struct es_err *err)
{
	(void)ctx;
	(void)cfg;
	store_calls++;
	if (store_down)
		return es_err_set(err, ES_EUNAVAIL, "cannot reach the directory");
	*out = dir_store;
	return 0;
}

/* A login whose state is the public part SSSD gave (kv: key, value...). */
static enum es_login_rc login_cached(struct fx *f, const char *const *kv, unsigned how)
{
	struct es_user_seen s = { .given = "zoe", .what = ES_SEEN_OK, .name = "zoe", .uid = 4242 };

	es_login_free(&f->l);
	es_login_init(&f->l, &f->io, f->l.now);
	assert_int_equal(es_login_user(&f->l, "zoe", &s, 0), ES_LOGIN_GO_ON);
	es_state_free(&f->l.st);
	es_state_init(&f->l.st, "zoe");
	assert_int_equal(es_state_set(&f->l.st, ES_K_ROLE, "student"), 0);
	assert_int_equal(es_state_set(&f->l.st, ES_K_UID, "4242"), 0);
	assert_int_equal(es_state_set_i64(&f->l.st, ES_K_CREATED, T0 - 86400), 0); /* write_state's */
	for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2)
		assert_int_equal(es_state_set(&f->l.st, kv[i], kv[i + 1]), 0);
	f->l.cached = true;
	return es_login_prepare(&f->l, &f->cfg, true, how);
}

/* Most logins read SSSD's copy and never connect: a known source today
 * is recorded once per workstation (state_dir/seen), a new one is
 * written; a demand is made only on the entry's word, an address code is
 * asked from the entry, and the directory down leaves the login alone. */
static void cached_reads(void **state)
{
	struct fx *f = *state;
	struct es_err err = { 0 };
	char last[24], exp[32], code[ES_CODE_LEN + 1];
	const char *const full[] = { ES_K_SOURCES, "10.0.0.1", ES_K_LAST_LOGIN, last, NULL };
	const char *const nothing_due[] = { ES_K_MUST_CHANGE, "0", NULL };
	const char *const must[] = { ES_K_MUST_CHANGE, "1", NULL };
	const char *const pending[] = { ES_K_PENDING_EXPIRES, exp, NULL };
	struct es_state st = { 0 };
	const char *why = NULL;

	assert_int_equal(es_config_set(&f->cfg, "ldap", "uri", "ldap://ldap.school.example", "t",
	                               &err), 0);
	assert_int_equal(es_config_set(&f->cfg, "ldap", "base", "dc=school,dc=example", "t", &err),
	                 0);
	assert_int_equal(es_config_set(&f->cfg, "ldap", "bind_dn", "cn=ws01,dc=school,dc=example",
	                               "t", &err), 0);
	assert_int_equal(es_config_set(&f->cfg, "ldap", "bind_password_file", "/etc/ws01.secret",
	                               "t", &err), 0);
	assert_int_equal(es_config_set(&f->cfg, "accounts", "backend", "ldap", "t", &err), 0);
	assert_int_equal(es_config_set(&f->cfg, "ldap", "login_reads", "sssd", "t", &err), 0);
	dir_ops = *f->store.ops;
	dir_ops.last_change = said_last_change;
	dir_store = f->store;
	dir_store.ops = &dir_ops;
	f->io.store = io_store;
	store_calls = 0;
	store_down = false;
	last_day = 0;
	(void)snprintf(last, sizeof(last), "%ld", (long)T0 - 3600); /* earlier today */
	write_state(f, full);

	/* nothing due, a source this workstation has not noted: one
	 * connection, which finds the login recorded today: nothing written */
	assert_int_equal(login_cached(f, nothing_due, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_OK);
	assert_int_equal(store_calls, 0);
	assert_int_equal(es_login_session(&f->l, "10.0.0.1", NULL), ES_LOGIN_OK);
	assert_int_equal(store_calls, 1);
	read_state(f, &st);
	assert_int_equal(es_state_get_i64(&st, ES_K_LAST_LOGIN, 0), T0 - 3600);
	/* the next login from there, later today: no connection at all */
	f->l.now = T0 + 3000;
	assert_int_equal(login_cached(f, nothing_due, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_OK);
	assert_int_equal(es_login_session(&f->l, "10.0.0.1", NULL), ES_LOGIN_OK);
	assert_int_equal(store_calls, 1);
	/* a new source: written, its mail queued */
	assert_int_equal(es_login_session(&f->l, "10.0.0.9", NULL), ES_LOGIN_OK);
	assert_int_equal(store_calls, 2);
	read_state(f, &st);
	assert_string_equal(es_state_get(&st, ES_K_SOURCES), "10.0.0.9,10.0.0.1");
	assert_int_equal(es_state_get_i64(&st, ES_K_LAST_LOGIN, 0), T0 + 3000);
	assert_int_equal(queued(f), 1);

	/* a stale copy says must-change; the entry says no: nothing demanded */
	assert_int_equal(login_cached(f, must, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_OK);
	assert_int_equal(f->nsaid, 0);
	assert_int_equal(store_calls, 3);
	/* the directory down: left to the rest of the stack, nothing said */
	store_down = true;
	assert_int_equal(login_cached(f, must, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_IGNORE);
	assert_int_equal(f->nsaid, 0);
	assert_non_null(strstr(f->logs, "cannot reach the directory; left to the rest of the stack"));
	store_down = false;

	/* the copy saw a change (shadowLastChange today) the entry no longer
	 * has: reset since (0 on the entry): nothing recorded, the change
	 * demanded as the entry says */
	{
		char today[24];
		const char *const reset[] = { ES_K_MUST_CHANGE, "1", ES_K_LASTCHG_SEEN, "0",
			                      ES_K_DIR_LAST_CHANGE, "0", NULL };
		const char *const seen_change[] = { ES_K_MUST_CHANGE, "1", ES_K_LASTCHG_SEEN, "0",
			                            ES_K_DIR_LAST_CHANGE, today, NULL };
		size_t mails = queued(f);

		(void)snprintf(today, sizeof(today), "%ld", (long)(f->l.now / ES_DAY));
		write_state(f, reset);
		assert_int_equal(login_cached(f, seen_change, ES_LOGIN_PREP_ACCOUNT),
		                 ES_LOGIN_GO_ON);
		assert_int_equal(es_login_account(&f->l, &why), ES_LOGIN_NEW_AUTHTOK);
		read_state(f, &st);
		assert_true(es_state_get_bool(&st, ES_K_MUST_CHANGE));
		assert_int_equal(queued(f), mails);
	}

	/* a code pending (its expiry in the copy, the address in the entry) */
	request_code(f, code);
	(void)snprintf(exp, sizeof(exp), "%ld", (long)T0 + 3600);
	assert_int_equal(login_cached(f, pending, ES_LOGIN_PREP_ACCOUNT), ES_LOGIN_GO_ON);
	f->answer = code;
	es_login_ask_code(&f->l);
	assert_string_equal(f->asked, "Code mailed to confirm your new address (Enter to skip): ");
	read_state(f, &st);
	assert_string_equal(es_state_get(&st, ES_K_EMAIL), "new@school.example");
	es_state_free(&st);
	f->l.store.ops = NULL; /* dir_ops is this test's */
}

/* ---- the quiet login ---- */

/* Decided from the state under the name as given, without NSS: quiet only
 * when the stage has nothing to say, ask, write or queue; nothing is said
 * while deciding. */
static void quiet_logins(void **state)
{
	struct fx *f = *state;
	const char *const current[] = { ES_K_SOURCES, "10.0.0.1", ES_K_LAST_LOGIN, "1789999990",
		                        ES_K_MUST_CHANGE, "0", NULL };
	const char *const must[] = { ES_K_MUST_CHANGE, "1", NULL };
	const char *const disabled[] = { ES_K_DISABLED, "1", NULL };
	struct es_config ldap;
	struct es_err err = { 0 };
	char code[ES_CODE_LEN + 1], hex[ES_CODE_HASH_HEX], exp[32];
	unsigned char key[ES_CODE_KEY_LEN];

	/* no state under that name (NSS may know another): the usual way */
	assert_false(es_login_quiet_load(&f->l, &f->cfg, "zoe", false));
	es_login_quiet_reset(&f->l);
	write_state(f, current);
	assert_false(es_login_quiet_load(&f->l, &f->cfg, "ZOE", false)); /* not a name eschool makes */
	es_login_quiet_reset(&f->l);
	/* nothing to do: quiet, both stages */
	f->l.debug = true;
	assert_true(es_login_quiet_load(&f->l, &f->cfg, "zoe", false));
	assert_true(es_login_account_quiet(&f->l));
	assert_true(es_login_session_quiet(&f->l, "10.0.0.1", "ssh"));
	/* a source not recorded within the minute: the session has work */
	assert_false(es_login_session_quiet(&f->l, "10.0.0.2", "ssh"));
	f->l.now = T0 + 120;
	assert_false(es_login_session_quiet(&f->l, "10.0.0.1", "ssh"));
	f->l.now = T0;
	/* the session with the account stage's reading: not read again, and
	 * only when it is the same user's */
	{
		struct es_state kept = f->l.st;

		es_state_init(&f->l.st, "");
		es_login_quiet_reset(&f->l);
		f->l.st = kept;
		assert_true(es_login_quiet_load(&f->l, &f->cfg, "zoe", true));
		assert_true(es_login_session_quiet(&f->l, "10.0.0.1", "ssh"));
		es_login_quiet_reset(&f->l);
		es_state_free(&f->l.st);
		es_state_init(&f->l.st, "lea");
		assert_false(es_login_quiet_load(&f->l, &f->cfg, "zoe", true));
	}
	/* the reset keeps the call's settings, drops the user and the state */
	es_login_quiet_reset(&f->l);
	assert_true(f->l.debug);
	assert_null(f->l.user);
	assert_null(f->l.cfg);
	assert_int_equal(f->l.st.n, 0);
	/* a change due, a disabled account: not quiet, and nothing said */
	write_state(f, must);
	assert_true(es_login_quiet_load(&f->l, &f->cfg, "zoe", false));
	assert_false(es_login_account_quiet(&f->l));
	es_login_quiet_reset(&f->l);
	write_state(f, disabled);
	assert_true(es_login_quiet_load(&f->l, &f->cfg, "zoe", false));
	assert_false(es_login_account_quiet(&f->l));
	es_login_quiet_reset(&f->l);
	assert_int_equal(f->nsaid, 0);
	/* a temporary password past its time, a password past max_age_days
	 * or in its warning days, a change due under enforce = no: the usual
	 * way, which says or logs it */
	assert_int_equal(es_config_set(&f->cfg, "policy", "max_age_days", "365", "t", &err), 0);
	assert_int_equal(es_config_set(&f->cfg, "policy", "warn_days", "14", "t", &err), 0);
	{
		char old[32], warn[32], gone[32];
		(void)snprintf(old, sizeof(old), "%ld", (long)T0 - 400L * 86400);
		(void)snprintf(warn, sizeof(warn), "%ld", (long)T0 - 360L * 86400);
		(void)snprintf(gone, sizeof(gone), "%ld", (long)T0 - 60);
		const char *const temp_gone[] = { ES_K_MUST_CHANGE, "1", ES_K_INITIAL_EXPIRES, gone,
			                          NULL };
		const char *const too_old[] = { ES_K_MUST_CHANGE, "0", ES_K_PW_CHANGED, old, NULL };
		const char *const warned[] = { ES_K_MUST_CHANGE, "0", ES_K_PW_CHANGED, warn, NULL };
		const char *const *cases[] = { temp_gone, too_old, warned };

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			write_state(f, cases[i]);
			assert_true(es_login_quiet_load(&f->l, &f->cfg, "zoe", false));
			assert_false(es_login_account_quiet(&f->l));
			es_login_quiet_reset(&f->l);
		}
		assert_int_equal(es_config_set(&f->cfg, "policy", "enforce", "no", "t", &err), 0);
		write_state(f, must);
		assert_true(es_login_quiet_load(&f->l, &f->cfg, "zoe", false));
		assert_false(es_login_account_quiet(&f->l));
		es_login_quiet_reset(&f->l);
		assert_int_equal(es_config_set(&f->cfg, "policy", "enforce", "yes", "t", &err), 0);
	}
	assert_int_equal(f->nsaid, 0);
	/* an address change waiting for its code: asked, so not quiet */
	assert_int_equal(es_code_key(f->state_dir, true, key, NULL), 0);
	assert_int_equal(es_code_new(code), 0);
	assert_int_equal(es_code_hash(key, "zoe", code, hex, NULL), 0);
	(void)snprintf(exp, sizeof(exp), "%ld", (long)T0 + 3600);
	{
		const char *const pending[] = { ES_K_PENDING_EMAIL, "new@school.example",
			                        ES_K_PENDING_CODE,  hex,
			                        ES_K_PENDING_EXPIRES, exp,
			                        NULL };

		write_state(f, pending);
	}
	assert_true(es_login_quiet_load(&f->l, &f->cfg, "zoe", false));
	assert_false(es_login_account_quiet(&f->l));
	f->l.silent = true; /* PAM_SILENT: nothing is asked */
	assert_true(es_login_account_quiet(&f->l));
	es_login_quiet_reset(&f->l);
	assert_true(f->l.silent);
	assert_int_equal(f->nsaid, 0);
	assert_string_equal(f->asked, "");
	/* the directory's accounts: never */
	es_config_defaults(&ldap);
	assert_int_equal(es_config_set(&ldap, "general", "state_dir", f->state_dir, "t", &err), 0);
	ldap.policy.backend = ES_ACCT_LDAP;
	assert_false(es_login_quiet_load(&f->l, &ldap, "zoe", false));
	es_login_quiet_reset(&f->l);
	es_config_free(&ldap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rules_text),
		cmocka_unit_test_setup_teardown(user_resolution, setup, teardown),
		cmocka_unit_test_setup_teardown(prepare_others_and_unmanaged, setup, teardown),
		cmocka_unit_test_setup_teardown(prepare_exempt_and_on_error, setup, teardown),
		cmocka_unit_test_setup_teardown(broken_config, setup, teardown),
		cmocka_unit_test_setup_teardown(account_must_change, setup, teardown),
		cmocka_unit_test_setup_teardown(account_disabled_warn_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(ask_code, setup, teardown),
		cmocka_unit_test_setup_teardown(ask_code_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(password_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(change_caught_up, setup, teardown),
		cmocka_unit_test_setup_teardown(later_change_caught_up, setup, teardown),
		cmocka_unit_test_setup_teardown(lastchg_seen_decides, setup, teardown),
		cmocka_unit_test_setup_teardown(session, setup, teardown),
		cmocka_unit_test_setup_teardown(session_exempt_and_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(cached_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(quiet_logins, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
