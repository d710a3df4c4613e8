/* What a login does (SPEC section 7), without PAM: which account PAM_USER
 * names, what a configuration that does not load means for it, what the
 * account stage says and decides, the password stage's two passes, the
 * address-confirmation prompt, what a session records and the notices it
 * queues. The module (pam_eschool/) is the plumbing around it: it reads
 * PAM's items, keeps on the PAM handle what the stages of one login share,
 * and does the conversation and the logging through struct es_login_io;
 * the unit test (tests/unit/test_login.c) drives the same functions
 * through its own callbacks.
 *
 * MUST:
 * - hold no user's lock across io->tell or io->prompt (the user may stop
 *   the program there);
 * - wipe the code key and a typed code on every path;
 * - never deny a login for its bookkeeping (a recorded change, a login,
 *   a notice): those fail soft, logged;
 * - leave the hot path (a managed user with nothing to do) without a lock,
 *   a write, a group lookup or an allocation of its own.
 * MUST NOT:
 * - read the environment, touch the network, or know about PAM. */
#ifndef ESCHOOL_LOGIN_H
#define ESCHOOL_LOGIN_H

#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "es_config.h"
#include "es_err.h"
#include "es_names.h"
#include "es_pamin.h"
#include "es_state.h"
#include "es_store.h"

/* The module's side of a login: ctx is handed back to every call. */
struct es_login_io {
	void *ctx;
	/* one log line (syslog priority), not yet escaped */
	void (*log)(void *ctx, int prio, const char *line);
	/* a message to the person at the keyboard */
	void (*tell)(void *ctx, bool error, const char *msg);
	/* a question answered with echo: 0 with *answer allocated (malloc;
	 * the caller wipes and frees it), else -1 */
	int (*prompt)(void *ctx, const char *question, char **answer);
	/* whether the change was explained on this login already (mark
	 * false), or that it now was (mark true) */
	bool (*told)(void *ctx, bool mark);
	/* the store, connected at its first use (the directory when the
	 * state came from SSSD's copy: most logins never connect); NULL when
	 * the caller sets es_login.store itself. 0, or -1 with err filled. */
	int (*store)(void *ctx, const struct es_config *cfg, struct es_store *out,
	             struct es_err *err);
};

/* What a stage returns; the module turns it into PAM's codes. */
enum es_login_rc {
	ES_LOGIN_OK = 0,       /* PAM_SUCCESS */
	ES_LOGIN_IGNORE,       /* PAM_IGNORE: not ours, exempt, left alone */
	ES_LOGIN_SYSERR,       /* PAM_SYSTEM_ERR */
	ES_LOGIN_EXPIRED,      /* PAM_ACCT_EXPIRED */
	ES_LOGIN_NEW_AUTHTOK,  /* PAM_NEW_AUTHTOK_REQD */
	ES_LOGIN_PERM_DENIED,  /* PAM_PERM_DENIED */
	ES_LOGIN_GO_ON,        /* the user is managed and loaded: decide */
};

/* One stage's context: es_login_init, then es_login_user and
 * es_login_prepare (or es_login_broken_config), then the stage;
 * es_login_free at the end. */
struct es_login {
	const struct es_login_io *io;
	bool debug;
	bool silent; /* PAM_SILENT: nothing is said, nothing asked */
	struct es_pam_rules rules; /* the password rules to tell */
	const char *user; /* the canonical name (name) once known, else NULL */
	char name[ES_NAME_MAX + 1];
	struct passwd pw; /* pw_name and pw_uid of the account, when have_pw */
	bool have_pw;
	const struct es_config *cfg; /* NULL: not loaded */
	struct es_policy pol;
	struct es_store store; /* state_dir's, or the directory's (es_login_io.store) */
	struct es_state st;
	/* st is the public part SSSD keeps of the directory entry
	 * (es_ldap_public_attrs): enough to see that nothing is to be done;
	 * anything else reads the entry itself first (es_login_prepare's
	 * caller sets it with have_state) */
	bool cached;
	/* reading the state again (under the lock, or the whole entry) failed:
	 * st is empty, nothing is decided on it (logged) */
	bool lost;
	bool french;      /* the workstation's messages */
	bool mail_french; /* the account's language: its mails */
	bool would_speak; /* a message was (or, silent, would have been) given */
	bool probing;     /* deciding only: no message, no audit line */
	time_t now;
};

void es_login_init(struct es_login *l, const struct es_login_io *io, time_t now);
void es_login_free(struct es_login *l);

/* Logs through io->log (cut at 1 KB). */
void es_login_log(const struct es_login *l, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- the user ---- */

/* What NSS says of one PAM_USER (the module keeps it on the handle: the
 * stages of a login ask once). */
enum es_seen { ES_SEEN_OK, ES_SEEN_UNKNOWN, ES_SEEN_NOT_OURS };
struct es_user_seen {
	char given[ES_PAM_USER_MAX + 1];
	enum es_seen what;
	char name[ES_NAME_MAX + 1]; /* ES_SEEN_OK: pw_name; ES_SEEN_NOT_OURS: its start */
	uid_t uid;
};

/* false (logged with debug) when given is no name worth asking NSS. */
bool es_login_user_askable(const struct es_login *l, const char *given);

/* Asks NSS (getpwnam_r) about given: 0 with s filled, or an errno value
 * when NSS failed (a directory down) rather than said "no such user". */
int es_user_lookup(const char *given, struct es_user_seen *s);

/* The account PAM_USER names, as the rest of the stack finds it: NSS's
 * pw_name (s, or lookup_err when NSS failed), which must be a name eschool
 * could manage. ES_LOGIN_GO_ON with l->user set, or ES_LOGIN_IGNORE. When
 * NSS failed, the name as given is used if it is a valid one, without the
 * uid check. */
enum es_login_rc es_login_user(struct es_login *l, const char *given,
                               const struct es_user_seen *s, int lookup_err);

/* ---- loading ---- */

/* What to return when the module cannot decide (config or state broken):
 * on_error's answer (the built-in deny without a config). */
enum es_login_rc es_login_on_error(const struct es_login *l);

/* With a config (config_path) that does not load (cfg_err), whether
 * l->user is managed: a state in the default state_dir or in the one the
 * file names. Unmanaged, root and group sudo: ES_LOGIN_IGNORE; else
 * ES_LOGIN_SYSERR. Logged at LOG_ERR, or only with debug when again (an
 * earlier stage of the same login said it). */
enum es_login_rc es_login_broken_config(struct es_login *l, const char *config_path,
                                        const struct es_err *cfg_err, bool again);

#define ES_LOGIN_PREP_EXEMPT 1u  /* exempt users are left alone now */
#define ES_LOGIN_PREP_ACCOUNT 2u /* the account stage: says more in the log */

/* With the config loaded: the user's state (read without the lock, unless
 * have_state: l->st is the account stage's, kept), whose it is, the
 * languages (the application's LC_MESSAGES, else the account's), the
 * policy, and (ES_LOGIN_PREP_EXEMPT) the exemption. ES_LOGIN_GO_ON, or
 * what to return. */
enum es_login_rc es_login_prepare(struct es_login *l, const struct es_config *cfg,
                                  bool have_state, unsigned how);

/* ---- what is said ---- */

/* The rules of a good new password (r: the module's arguments; none: a
 * long one), in French or English. Returns the length (cut at outsz). */
size_t es_login_rules_text(const struct es_pam_rules *r, bool french, char *out, size_t outsz);

/* ---- the stages ---- */

/* The account stage: the verdict said and decided; the exemption (a
 * group lookup) only when it would deny or say something. *why: the
 * reason to log with a denial or a demanded change (NULL otherwise). */
enum es_login_rc es_login_account(struct es_login *l, const char **why);

/* An address change waiting for its code: asked once (io->prompt) at a
 * login let in anyway, checked and recorded under the lock, the outcome
 * said after the lock is released. */
void es_login_ask_code(struct es_login *l);

/* The password stage's first pass, for a forced change or a user's own:
 * an unused temporary password past its time is refused
 * (ES_LOGIN_PERM_DENIED, *why set); a change due is explained once. */
enum es_login_rc es_login_prelim(struct es_login *l, const char **why);

/* The second pass: records the change the modules before made (authtok:
 * PAM_AUTHTOK is set and not empty; a local account's shadow entry must
 * say today) and queues password-changed. */
enum es_login_rc es_login_password_changed(struct es_login *l, bool authtok);

/* The session: records the login from its source (rhost, else tty) and
 * queues new-login-source when owed. */
enum es_login_rc es_login_session(struct es_login *l, const char *rhost, const char *tty);

/* ---- the quiet login ----
 *
 * Most logins change nothing: the password is current, nothing is to be
 * said, the source was recorded within the minute. Deciding that needs
 * the state, not NSS, whose answer (the canonical name, the uid the state
 * must have been made for) costs a scan of /etc/passwd with local
 * accounts: 340 us for the 5,000th of 10,000 users here. A quiet login
 * reads the state under PAM_USER as given and, when the stage would do
 * nothing, is answered without NSS: ES_LOGIN_OK, nothing said, written or
 * queued. Anything else -- no state under that name, a state that cannot
 * be read, a stage with anything to say, ask or record -- and the caller
 * starts again on the usual way (es_login_user, es_login_prepare), which
 * checks everything before acting: the quiet way never refuses, asks,
 * writes nor changes an answer but "ignore" (a state whose name was
 * given to another account) into "success", which a stack treats alike.
 * Only for states in state_dir's files (the directory's accounts come
 * through SSSD, whose NSS answers from memory).
 *
 * es_login_quiet_load reads the state, unless have_state (l->st holds the
 * account stage's reading of it: the session's) (true: read, go on with a
 * stage's test); es_login_account_quiet and es_login_session_quiet are true when
 * the stage has nothing to do; after false, es_login_quiet_reset before
 * the usual way. */
bool es_login_quiet_load(struct es_login *l, const struct es_config *cfg, const char *given,
                         bool have_state);
bool es_login_account_quiet(struct es_login *l);
bool es_login_session_quiet(struct es_login *l, const char *rhost, const char *tty);
void es_login_quiet_reset(struct es_login *l);

#endif
