/* Internal interface of the `eschool` command (helper/). */
#ifndef ESCHOOL_HELPER_H
#define ESCHOOL_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "es_account.h"
#include "es_config.h"
#include "es_store.h"
#include "es_err.h"
#include "es_queue.h"
#include "es_state.h"
#include "es_util.h"

struct es_ctx {
	struct es_config cfg;
	struct es_store store; /* where the state lives (set by es_prepare) */
	bool json;
	bool quiet;
	bool verbose;
	bool french;   /* the terminal's language (LANG/LC_*), for messages */
	time_t now;    /* one clock reading per command */
};

/* Picks the English or French text by the terminal's language. */
/* format_arg: printf-style checks apply to the English text; the French
 * one must use the same conversions. */
const char *tr(const struct es_ctx *ctx, const char *en, const char *fr)
	__attribute__((format_arg(2)));

/* Messages: errors and warnings on stderr, prefixed "eschool: ". */
void es_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void es_info(const struct es_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- accounts.c: the system account database, through shadow's tools ---- */

/* Runs argv[0] (an absolute path) with posix_spawn and an explicit argv,
 * a minimal environment, input (may be NULL) written to its stdin through a
 * pipe, and its stderr+stdout captured into msg (truncated). Returns the
 * exit status (0..255), or -1 when it could not run (err filled). */
int es_run(const char *const argv[], const char *input, size_t inlen, char *msg,
           size_t msgsz, struct es_err *err);

/* The GECOS field from a person's name: ':' ',' and '=' (field and
 * subfield separators) become spaces. */
void es_gecos_from_name(const char *name, char *out, size_t outsz);

/* true when NSS knows the user / group. */
bool es_user_exists(const char *user);
bool es_group_exists(const char *group);

/* groupadd -r for each group that does not exist yet. */
int es_groups_ensure(const char (*groups)[ES_NAME_MAX + 1], size_t n, struct es_err *err);

/* useradd -m: home from /etc/skel, shell, GECOS from name, role groups. */
int es_account_create(const struct es_policy *pol, const struct es_role *role,
                      const char *user, const char *fullname, struct es_err *err);

/* chpasswd -e, fed "user:hash" lines through a pipe (never argv). */
int es_account_set_hashes(const char *lines, size_t len, struct es_err *err);

/* chage -d LASTCHG -M MAX -W WARN: the password's aging in shadow, as
 * es_account_aging says (after chpasswd, which sets lastchg to today). */
int es_account_set_aging(const char *user, const struct es_aging *aging, struct es_err *err);

/* userdel -r (used to undo a half-created account). */
int es_account_delete(const char *user, struct es_err *err);

/* shadowdb.c (many accounts in one locked pass, for import): shadowdb.h */

/* usermod -L -e 1 / usermod -U -e "" */
int es_account_lock(const char *user, bool lock, struct es_err *err);

/* Where accounts live (accounts.backend), behind one interface, so that
 * the commands do not test the backend: "shadow" writes the system's files
 * through shadow's tools; "none" writes nothing (the accounts are a
 * directory's, made elsewhere: they must exist already). */
struct es_accounts {
	const char *name;
	bool writes;  /* false: accounts are made elsewhere and must exist */
	/* the account with the role's groups (made when missing) */
	int (*create)(const struct es_policy *pol, const struct es_role *role, const char *user,
	              const char *fullname, struct es_err *err);
	/* a new password (crypt(3) hash) and its aging (es_account_aging) */
	int (*set_password)(const char *user, const char *hash, const struct es_aging *aging,
	                    struct es_err *err);
	/* lock (disable: no password, no key, no session) or unlock */
	int (*lock)(const char *user, bool lock, struct es_err *err);
	/* undo a half-made account */
	int (*remove)(const char *user, struct es_err *err);
};

const struct es_accounts *es_accounts_for(const struct es_policy *pol);

/* ---- provision.c: what add, import and reset share ---- */

/* One person's account data, from the command line or a CSV row. */
struct es_person {
	const char *username, *email, *name, *role, *klass, *lang, *parent_email;
};

/* Validates every field (no control characters, UTF-8, shadow's username
 * rules, addresses, known role and language); ES_EDATA with the field. */
int es_person_check(const struct es_ctx *ctx, const struct es_person *p,
                    struct es_err *err);

/* true when name is one of the roles' groups (which may not exist yet):
 * such a name cannot be a username. */
bool es_is_role_group(const struct es_config *cfg, const char *name);

/* A freshly generated credential, wiped by es_cred_wipe. */
struct es_cred {
	char password[65];
	char hash[256];
};
void es_cred_wipe(struct es_cred *c);
int es_cred_make(const struct es_policy *pol, struct es_cred *c, struct es_err *err);

/* Loads a user's state under its lock; see es_state_load for returns. */
int es_state_load_cfg(const struct es_ctx *ctx, const char *user, struct es_state *st,
                      struct es_err *err);

/* Records in st the uid its account has now (getpwnam of st->username),
 * when the account was just made: a state whose account is later removed,
 * or whose name goes to another uid, is then known as an orphan. */
int es_state_set_uid(struct es_state *st, struct es_err *err);

/* Whether st is its account's (es_state_owner with getpwnam; a lookup that
 * fails, e.g. a directory down, counts as ES_OWNER_OK). When not, why
 * (may be NULL) gets a sentence for people, in the terminal's language,
 * that says so and names the command that cleans it (eschool forget). */
enum es_state_owner es_state_orphan(const struct es_ctx *ctx, const struct es_state *st,
                                    char *why, size_t whysz);


/* Prints one delivered credential: JSON object or a human block. */
void es_print_credential(const struct es_ctx *ctx, const char *user, const char *password,
                         const char *delivery);

/* Formats a time for people (local time) or JSON (UTC, ISO 8601). */
void es_fmt_time(time_t t, bool iso, char *out, size_t outsz);

/* ---- strset.c: string -> string hash map ---- */
struct es_strset_slot {
	char *key;
	char *value;
};
struct es_strset {
	struct es_strset_slot *slots;
	size_t cap, n;
};
int es_strset_put(struct es_strset *set, const char *key, const char *value);
bool es_strset_has(const struct es_strset *set, const char *key);
const char *es_strset_get(const struct es_strset *set, const char *key);
void es_strset_free(struct es_strset *set);

/* Writes b to stdout with write(2) after flushing stdio, so that secrets
 * never sit in stdio's buffer. */
void es_out_write(const struct es_buf *b);

/* ---- log.c: syslog (authpriv for accounts, mail for deliveries) and
 * general.log_file; never a password ---- */
void es_log_open(const struct es_ctx *ctx);
void es_log(int facility, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void es_log_close(void);

/* ---- commands ---- */
int cmd_test_email(struct es_ctx *ctx, int argc, char **argv);
int cmd_queue(struct es_ctx *ctx, int argc, char **argv);
int cmd_add(struct es_ctx *ctx, int argc, char **argv);
int cmd_reset(struct es_ctx *ctx, int argc, char **argv);
int cmd_resend(struct es_ctx *ctx, int argc, char **argv);
int cmd_import(struct es_ctx *ctx, int argc, char **argv);
int cmd_show(struct es_ctx *ctx, int argc, char **argv);
int cmd_list(struct es_ctx *ctx, int argc, char **argv);
int cmd_disable(struct es_ctx *ctx, int argc, char **argv);
int cmd_enable(struct es_ctx *ctx, int argc, char **argv);
int cmd_remind(struct es_ctx *ctx, int argc, char **argv);
int cmd_set_email(struct es_ctx *ctx, int argc, char **argv);
int cmd_check_dns(struct es_ctx *ctx, int argc, char **argv);
int cmd_backup(struct es_ctx *ctx, int argc, char **argv);
int cmd_restore(struct es_ctx *ctx, int argc, char **argv);
int cmd_doctor(struct es_ctx *ctx, int argc, char **argv);
int cmd_forget(struct es_ctx *ctx, int argc, char **argv);

/* cmd_backup.c: one-line status files in state_dir (last-backup,
 * last-test-email), written atomically. 0 or -1. */
int es_stamp_write(const struct es_ctx *ctx, const char *name, const char *text);
int es_stamp_read(const struct es_ctx *ctx, const char *name, char *buf, size_t bufsz);

/* cmd_dns.c: looks up and judges DOMAIN's SPF, DMARC and DKIM records
 * (selector NULL: the usual ones); prints them when print. -1 when DNS
 * could not be asked (err), else 0 with *all_ok. */
int es_check_dns(struct es_ctx *ctx, const char *domain, const char *selector, bool print,
                 bool *all_ok, struct es_err *err);
int cmd_verify_email(struct es_ctx *ctx, int argc, char **argv);

/* Loads the config (-c, ESCHOOL_CONFIG, or the default path) and applies
 * --debug/--production. */
int es_load_config(struct es_ctx *ctx, struct es_err *err);

/* Checks root, loads the config; delivers: the command hands out passwords.
 * Returns 0 or the exit code. */
int es_prepare(struct es_ctx *ctx, bool delivers);

/* Reports err on stderr and returns its exit code. */
int es_fail(const struct es_err *err);

#endif
