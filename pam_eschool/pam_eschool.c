/* pam_eschool.so — SPEC section 7. On a lab workstation it makes a student
 * change the initial password at the first login and again when it is
 * older than the role's max_age_days, warns before that, and records
 * password changes and login sources so that the helper's queue mails the
 * confirmations. It never changes a password itself (the stack's pam_unix
 * or pam_sss does), touches no network but the school's directory (with
 * accounts.backend = ldap, through pam_eschool_ldap.so, bounded to 2 s,
 * and only when SSSD's copy of the entry, read through libsss_nss_idmap,
 * says there is something to do), reads only its arguments, its config
 * file and state (never the environment itself; SSSD's client library
 * reads its own _SSS_ variables),
 * keeps no state between PAM handles, and fails closed only on corrupt
 * state (on_error).
 *
 *   account   required  pam_eschool.so [config=PATH] [debug] [minlen=N ...]
 *   password  required  pam_eschool.so   (after the module that changes it)
 *   session   optional  pam_eschool.so
 *
 * This file is PAM's plumbing only: the entry points, the arguments, PAM's
 * items, what the stages of one login keep on the PAM handle (the config,
 * NSS's answer, the account stage's state, "already said"), the
 * conversation and pam_syslog. What a login does -- the canonical user,
 * a config that does not load, what is said and decided, the recorded
 * change and login, the notices queued -- is lib/es_login's, which never
 * holds a state lock across a conversation with the user.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <security/pam_modutil.h>

#include "es_config.h"
#include "es_login.h"
#include "es_pamin.h"
#include "es_state.h"
#include "directory.h"

#define PUBLIC __attribute__((visibility("default")))

/* One call's context: everything is freed before the entry point returns. */
struct call {
	pam_handle_t *pamh;
	int flags;
	const char *config_path;
	struct es_login l;   /* what the login is, for lib/es_login */
	struct es_login_io io;
};

#define CFG_DATA "pam_eschool.config"
#define STATE_DATA "pam_eschool.state"
#define USER_DATA "pam_eschool.user"
#define CFG_ERR_DATA "pam_eschool.config_error" /* logged for this handle */
#define TOLD_DATA "pam_eschool.told" /* the change was explained on this handle */

#define KEPT_MAX_AGE 300 /* seconds: older, the kept state is read again */

/* How prepare() works for a stage (lib's ES_LOGIN_PREP_* and one more). */
#define PREP_KEPT 0x100u /* may take the state the account stage kept */

/* ---- the module's side of struct es_login_io ---- */

/* Every log line goes out escaped (es_log_escape): it may name a user, a
 * login source, a module argument, or quote a file, and a control
 * character or a bidi override in a log line can forge another line or
 * hide text. */
static void io_log(void *ctx, int prio, const char *line)
{
	char esc[1024];

	(void)es_log_escape(line, esc, sizeof(esc));
	pam_syslog(ctx, prio, "%s", esc);
}

/* Messages to the person at the keyboard (es_login has checked
 * PAM_SILENT). */
static void io_tell(void *ctx, bool error, const char *msg)
{
	if (error)
		(void)pam_error(ctx, "%s", msg);
	else
		(void)pam_info(ctx, "%s", msg);
}

static int io_prompt(void *ctx, const char *question, char **answer)
{
	return pam_prompt(ctx, PAM_PROMPT_ECHO_ON, answer, "%s", question) == PAM_SUCCESS ? 0
	                                                                                 : -1;
}

/* The directory, connected when a login first needs it (directory.c). */
static int io_store(void *ctx, const struct es_config *cfg, struct es_store *out,
                    struct es_err *err)
{
	return directory_store(ctx, out, cfg, err);
}

static bool io_told(void *ctx, bool mark)
{
	const void *told = NULL;

	if (mark)
		return pam_set_data(ctx, TOLD_DATA, (void *)"", NULL) == PAM_SUCCESS;
	return pam_get_data(ctx, TOLD_DATA, &told) == PAM_SUCCESS && told != NULL;
}

/* PAM's code for lib's answer (-1: go on). */
static int pam_rc(enum es_login_rc rc)
{
	static const int pam[] = {
		[ES_LOGIN_OK] = PAM_SUCCESS,           [ES_LOGIN_IGNORE] = PAM_IGNORE,
		[ES_LOGIN_SYSERR] = PAM_SYSTEM_ERR,    [ES_LOGIN_EXPIRED] = PAM_ACCT_EXPIRED,
		[ES_LOGIN_NEW_AUTHTOK] = PAM_NEW_AUTHTOK_REQD,
		[ES_LOGIN_PERM_DENIED] = PAM_PERM_DENIED, [ES_LOGIN_GO_ON] = -1,
	};

	return (size_t)rc < sizeof(pam) / sizeof(pam[0]) ? pam[rc] : PAM_SYSTEM_ERR;
}

/* ---- what the stages of one login keep on the PAM handle ---- */

static void free_cleanup(pam_handle_t *pamh, void *data, int status)
{
	(void)pamh;
	(void)status;
	free(data);
}

/* pam_end frees the handle's config with this. */
static void cfg_cleanup(pam_handle_t *pamh, void *data, int status)
{
	es_config_free(data);
	free_cleanup(pamh, data, status);
}

/* The account stage's reading of the state, kept for the session stage
 * of the same login: one state read per login. The session only decides
 * from it whether there is anything to record; recording locks and reads
 * the file again. */
struct kept_state {
	time_t at;
	bool cached; /* SSSD's public part (es_login.cached) */
	struct es_state st;
};

static void kept_cleanup(pam_handle_t *pamh, void *data, int status)
{
	es_state_free(&((struct kept_state *)data)->st);
	free_cleanup(pamh, data, status);
}

/* Moves the call's state, read at `at`, onto the handle (the call keeps
 * an empty one). The quiet way's reading is kept too: it is the file under
 * the name as given, and the usual way takes it only under the canonical
 * name, then checks whose it is (es_login_prepare) as after a read. */
static void keep_state(struct call *c, time_t at)
{
	struct kept_state *k = malloc(sizeof(*k));

	if (k == NULL)
		return; /* the session reads the file itself */
	k->at = at;
	k->cached = c->l.cached;
	k->st = c->l.st;
	es_state_init(&c->l.st, ""); /* the strings now belong to k */
	if (pam_set_data(c->pamh, STATE_DATA, k, kept_cleanup) != PAM_SUCCESS)
		kept_cleanup(c->pamh, k, 0);
}

static void drop_kept_state(const struct call *c)
{
	(void)pam_set_data(c->pamh, STATE_DATA, NULL, NULL);
}

/* Takes the kept state when it is user's and recent (*at, unless NULL:
 * when it was read); it is used once. */
static bool take_kept_state(struct call *c, const char *user, time_t *at)
{
	const void *data = NULL;
	struct kept_state *k;
	bool ok;

	if (pam_get_data(c->pamh, STATE_DATA, &data) != PAM_SUCCESS || data == NULL)
		return false;
	k = (struct kept_state *)data;
	ok = strcmp(k->st.username, user) == 0 && c->l.now >= k->at &&
	     c->l.now - k->at < KEPT_MAX_AGE;
	if (at != NULL)
		*at = k->at;
	if (ok) {
		es_state_free(&c->l.st);
		c->l.st = k->st;
		c->l.cached = k->cached;
		es_state_init(&k->st, ""); /* moved: the cleanup frees nothing */
	}
	drop_kept_state(c);
	return ok;
}

/* The config, read once per PAM handle (about 50 KB: never on the host
 * process's stack). Returns it, or NULL with err filled. */
static const struct es_config *config_get(const struct call *c, struct es_err *err)
{
	const void *data = NULL;
	struct es_config *cfg;

	if (pam_get_data(c->pamh, CFG_DATA, &data) == PAM_SUCCESS && data != NULL)
		return data;
	cfg = malloc(sizeof(*cfg)); /* es_config_load sets every field */
	if (cfg == NULL) {
		(void)es_err_set(err, ES_EOS, "%s: out of memory", c->config_path);
		return NULL;
	}
	if (es_config_load(cfg, c->config_path, ES_CFG_OPTIONAL | ES_CFG_NO_SECRET, err) != 0) {
		cfg_cleanup(c->pamh, cfg, 0);
		return NULL;
	}
	if (pam_set_data(c->pamh, CFG_DATA, cfg, cfg_cleanup) != PAM_SUCCESS) {
		cfg_cleanup(c->pamh, cfg, 0);
		(void)es_err_set(err, ES_EOS, "%s: cannot keep the configuration", c->config_path);
		return NULL;
	}
	return cfg;
}

/* The account PAM_USER names (lib/es_login decides), NSS's answer kept on
 * the handle: the stages of a login ask once (a failed lookup is not kept).
 * Returns -1 with c->l.user set, or the PAM code to return. */
static int resolve_user(struct call *c, const char *given)
{
	const void *data = NULL;
	const struct es_user_seen *s;
	struct es_user_seen local, *kept;
	int e = 0;

	if (!es_login_user_askable(&c->l, given))
		return PAM_IGNORE;
	if (pam_get_data(c->pamh, USER_DATA, &data) == PAM_SUCCESS && data != NULL &&
	    strcmp(((const struct es_user_seen *)data)->given, given) == 0) {
		s = data;
	} else {
		s = &local;
		e = es_user_lookup(given, &local);
		kept = e == 0 ? malloc(sizeof(*kept)) : NULL; /* without it, the next stage asks again */
		if (kept != NULL) {
			*kept = local;
			if (pam_set_data(c->pamh, USER_DATA, kept, free_cleanup) != PAM_SUCCESS)
				free(kept);
		}
	}
	return pam_rc(es_login_user(&c->l, given, s, e));
}

/* ---- one stage ---- */

static void bad_arg(const char *arg, void *ctx)
{
	const struct call *c = ctx;

	es_login_log(&c->l, LOG_ERR, "unknown or bad argument '%s' (ignored)", arg);
}

/* A call's context on the heap: host processes may run PAM on small
 * thread stacks. NULL when out of memory (logged). */
static struct call *call_new(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct call *c = calloc(1, sizeof(*c));
	struct es_pam_args a;

	if (c == NULL) {
		io_log(pamh, LOG_CRIT, "out of memory");
		return NULL;
	}
	c->pamh = pamh;
	c->flags = flags;
	c->io = (struct es_login_io){ .ctx = pamh, .log = io_log, .tell = io_tell,
		                      .prompt = io_prompt, .told = io_told };
	es_login_init(&c->l, &c->io, time(NULL));
	c->l.silent = (flags & PAM_SILENT) != 0;
	(void)es_pam_args_parse(argc, argv, &a, bad_arg, c);
	c->l.debug = a.debug;
	c->l.rules = a.rules;
	c->config_path = a.config_path;
	return c;
}

static void call_free(struct call *c)
{
	if (c == NULL)
		return;
	es_login_free(&c->l);
	free(c);
}

/* The public part of the user's state from SSSD's copy (login_reads =
 * sssd): -1 to go on (c->l.cached when it was read; else the entry is read
 * from the directory), or PAM_IGNORE for a user who is not eschool's. */
static int cached_state(struct call *c)
{
	struct es_err err = { 0 };
	int rc;

	es_state_free(&c->l.st);
	es_state_init(&c->l.st, c->l.user);
	rc = directory_cached_state(c->l.user, &c->l.st, &err);
	if (rc == 1) {
		if (c->l.debug)
			es_login_log(&c->l, LOG_DEBUG, "%s: not eschool's in SSSD's copy", c->l.user);
		return PAM_IGNORE;
	}
	if (rc == 0) {
		c->l.cached = true;
		return -1;
	}
	es_login_log(&c->l, LOG_WARNING, "%s; reading the directory instead", err.msg);
	es_state_free(&c->l.st);
	es_state_init(&c->l.st, c->l.user);
	return -1;
}

/* PAM_USER, for a stage the module has a part in: -1 with *user set, or
 * PAM_IGNORE. */
static int stage_user(const struct call *c, const char **user)
{
	const char *service = NULL;

	*user = NULL;
	/* the helper's own services set passwords in bulk: not ours */
	if (pam_get_item(c->pamh, PAM_SERVICE, (const void **)&service) == PAM_SUCCESS &&
	    service != NULL && (strcmp(service, "chpasswd") == 0 || strcmp(service, "newusers") == 0))
		return PAM_IGNORE;
	/* PAM_USER as the application or the auth stage set it: account,
	 * password and session come after the user was named, and asking here
	 * (pam_get_user) would put a "login:" prompt in a session stack and let
	 * a conversation rename the user for the modules after us */
	if (pam_get_item(c->pamh, PAM_USER, (const void **)user) != PAM_SUCCESS || *user == NULL)
		return PAM_IGNORE;
	/* a screen locker runs PAM as the user: root's files are not for it,
	 * and an unlock must never fail or complain because of us */
	if (geteuid() != 0)
		return PAM_IGNORE;
	return -1;
}

/* Loads the config and the user's state. Returns -1 to go on, or the PAM
 * code to return (PAM_IGNORE for users and callers the module leaves
 * alone). how: ES_LOGIN_PREP_* and PREP_KEPT. */
static int prepare(struct call *c, unsigned how)
{
	static char logged; /* a marker: pam_set_data needs a non-NULL pointer */
	struct es_err err = { 0 };
	const char *user = NULL;
	const struct es_config *cfg;
	const void *data = NULL;
	bool again, have;
	int rc;

	rc = stage_user(c, &user);
	if (rc >= 0)
		return rc;
	rc = resolve_user(c, user);
	if (rc >= 0)
		return rc;
	cfg = config_get(c, &err);
	if (cfg == NULL) {
		/* said once per login; the next stages again only with debug */
		again = pam_get_data(c->pamh, CFG_ERR_DATA, &data) == PAM_SUCCESS && data != NULL;
		if (!again)
			(void)pam_set_data(c->pamh, CFG_ERR_DATA, &logged, NULL);
		return pam_rc(es_login_broken_config(&c->l, c->config_path, &err, again));
	}
	have = (how & PREP_KEPT) != 0 && take_kept_state(c, c->l.user, NULL);
	if (cfg->policy.backend == ES_ACCT_LDAP) {
		/* the directory is connected when first needed (es_login): the
		 * directory down, SSSD decides alone (its cache logs students
		 * in); the module's extras are skipped, never a reason to refuse */
		c->io.store = io_store;
		if (!have && cfg->ldap.login_reads == ES_LDAP_READS_SSSD) {
			rc = cached_state(c);
			if (rc >= 0)
				return rc;
			have = c->l.cached;
		}
	}
	return pam_rc(es_login_prepare(&c->l, cfg, have, how & ~PREP_KEPT));
}

/* The quiet login (lib/es_login.h): true when this stage has nothing to
 * do, decided from the state read under PAM_USER as given, without NSS.
 * Else c is as call_new left it, for the usual way, and the state read is
 * kept for it (it takes it under the canonical name only, and checks
 * whose it is). Not with debug: its lines say what the usual way
 * decided. */
static bool quiet(struct call *c, bool account, const char *rhost, const char *tty)
{
	struct es_err err = { 0 };
	const struct es_config *cfg;
	const char *user = NULL;
	time_t read_at = c->l.now;
	bool have, loaded, yes;

	if (c->l.debug || stage_user(c, &user) >= 0 || (cfg = config_get(c, &err)) == NULL ||
	    cfg->policy.backend == ES_ACCT_LDAP)
		return false; /* (a config that does not load: the usual way says so; the
		               * directory's reading goes to the session under the
		               * canonical name, es_login_quiet_load being files-only) */
	/* the session: the account stage's reading, quiet or not */
	have = !account && take_kept_state(c, user, &read_at);
	loaded = es_login_quiet_load(&c->l, cfg, user, have);
	yes = loaded &&
	      (account ? es_login_account_quiet(&c->l) : es_login_session_quiet(&c->l, rhost, tty));
	/* the reading goes on to the session, or to the usual way */
	if ((yes && account) || (!yes && (have || loaded)))
		keep_state(c, read_at);
	if (!yes)
		es_login_quiet_reset(&c->l);
	return yes;
}

/* A denial or a demanded change is logged once: sshd, for one, does not
 * pass a refused login's message on to the user, so the administrator's
 * log is where the reason is found. */
static int verdict(const struct call *c, enum es_login_rc said, const char *why)
{
	int rc = pam_rc(said);

	if (rc == PAM_SUCCESS || rc == PAM_IGNORE || why == NULL)
		return rc;
	/* enforce = no: say what would have happened, let the user in */
	if (c->l.pol.enforce) {
		es_login_log(&c->l, LOG_NOTICE, "%s for %s: %s", pam_strerror(c->pamh, rc), c->l.user,
		             why);
		return rc;
	}
	es_login_log(&c->l, LOG_NOTICE, "audit (enforce = no): would return %s for %s: %s",
	             pam_strerror(c->pamh, rc), c->l.user, why);
	return PAM_SUCCESS;
}

/* ---- entry points ---- */

PUBLIC int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct call *c = call_new(pamh, flags, argc, argv);
	const char *why = NULL;
	int rc;

	if (c == NULL)
		return PAM_BUF_ERR;
	/* a reading kept by an earlier account call on this handle (a stack
	 * naming the module twice, a program asking again) is not this
	 * call's: the state is read afresh, and only this call's quiet
	 * reading goes on to prepare */
	drop_kept_state(c);
	if (quiet(c, true, NULL, NULL)) {
		call_free(c);
		return PAM_SUCCESS;
	}
	rc = prepare(c, ES_LOGIN_PREP_ACCOUNT | PREP_KEPT); /* the quiet way's reading */
	if (rc < 0) {
		enum es_login_rc said = es_login_account(&c->l, &why);

		rc = verdict(c, said, why);
		if (rc == PAM_SUCCESS)
			es_login_ask_code(&c->l);
		keep_state(c, c->l.now);
	}
	if (c->l.debug)
		es_login_log(&c->l, LOG_DEBUG, "account %s: %s",
		             c->l.user != NULL ? c->l.user : "?", pam_strerror(pamh, rc));
	call_free(c);
	return rc;
}

/* The password stage's first pass (PAM_PRELIM_CHECK) concerns a change
 * forced at login (PAM_CHANGE_EXPIRED_AUTHTOK) or asked for by the user
 * (passwd run by anyone but root); root's `passwd USER` is the
 * administrator's: left alone before anything is read (a broken config
 * must not stop the administrator). The second pass records a change the
 * modules before really made (in audit mode too: it denies nobody). */
PUBLIC int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const void *tok = NULL;
	const char *why = NULL;
	struct call *c;
	int rc;

	if (!(flags & (PAM_PRELIM_CHECK | PAM_UPDATE_AUTHTOK)))
		return PAM_IGNORE;
	if ((flags & PAM_PRELIM_CHECK) != 0 && (flags & PAM_CHANGE_EXPIRED_AUTHTOK) == 0 &&
	    getuid() == 0)
		return PAM_IGNORE;
	c = call_new(pamh, flags, argc, argv);
	if (c != NULL && (flags & PAM_PRELIM_CHECK) != 0) {
		rc = prepare(c, ES_LOGIN_PREP_EXEMPT);
		if (rc < 0) {
			enum es_login_rc said = es_login_prelim(&c->l, &why);

			rc = verdict(c, said, why);
		}
		call_free(c);
		return rc;
	}
	if (c == NULL)
		return PAM_IGNORE; /* the password did change: never fail it */
	drop_kept_state(c); /* the state changes now */
	rc = prepare(c, ES_LOGIN_PREP_EXEMPT);
	if (rc < 0) {
		if (pam_get_item(pamh, PAM_AUTHTOK, &tok) != PAM_SUCCESS)
			tok = NULL;
		rc = pam_rc(es_login_password_changed(&c->l,
		                                      tok != NULL && ((const char *)tok)[0] != '\0'));
	}
	call_free(c);
	return rc;
}

PUBLIC int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct call *c = call_new(pamh, flags, argc, argv);
	const void *rhost = NULL, *tty = NULL;
	int rc;

	if (c == NULL)
		return PAM_IGNORE; /* bookkeeping never refuses a login */
	/* the login's source: lib cleans and records it */
	if (pam_get_item(pamh, PAM_RHOST, &rhost) != PAM_SUCCESS)
		rhost = NULL;
	if (pam_get_item(pamh, PAM_TTY, &tty) != PAM_SUCCESS)
		tty = NULL;
	if (quiet(c, false, rhost, tty)) {
		call_free(c);
		return PAM_SUCCESS;
	}
	rc = prepare(c, PREP_KEPT); /* exemption: in es_login_session */
	if (rc < 0)
		rc = pam_rc(es_login_session(&c->l, rhost, tty));
	call_free(c);
	return rc;
}

/* Authentication and credentials are the stack's (pam_unix, pam_sss); the
 * end of a session records nothing. */
#define NOTHING_TO_DO(entry)                                                          \
	PUBLIC int entry(pam_handle_t *pamh, int flags, int argc, const char **argv) \
	{                                                                             \
		(void)pamh;                                                           \
		(void)flags;                                                          \
		(void)argc;                                                           \
		(void)argv;                                                           \
		return PAM_IGNORE;                                                    \
	}
NOTHING_TO_DO(pam_sm_close_session)
NOTHING_TO_DO(pam_sm_authenticate)
NOTHING_TO_DO(pam_sm_setcred)
