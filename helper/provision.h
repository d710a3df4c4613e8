/* What add, import and reset share: a person's fields checked, a fresh
 * credential, a user's state loaded and owned. */
#ifndef ESCHOOL_PROVISION_H
#define ESCHOOL_PROVISION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "cli.h"
#include "es_account.h"
#include "es_err.h"
#include "es_state.h"

/* One person's account data, from the command line or a CSV row. */
struct person {
	const char *username, *email, *name, *role, *klass, *lang, *parent_email;
};

/* Validates every field given (no control characters, UTF-8, shadow's
 * username rules, addresses, known role and language); ES_EDATA with the
 * field. A NULL username (import derives it later) or email (a pupil with
 * no address: the slip) is not checked. */
int person_check(const struct cli *ctx, const struct person *p, struct es_err *err);

/* true when name is one of the roles' groups (which may not exist yet):
 * such a name cannot be a username. */
bool is_role_group(const struct es_config *cfg, const char *name);

/* A freshly generated credential, wiped by cred_wipe. */
struct cred {
	char password[65];
	char hash[256];
};
void cred_wipe(struct cred *c);
int cred_make(const struct es_policy *pol, struct cred *c, struct es_err *err);

/* Loads a user's state, unlocked; see es_state_load for returns. */
int load_user_state(const struct cli *ctx, const char *user, struct es_state *st,
                    struct es_err *err);

/* Records in st the uid its account has now (getpwnam of st->username),
 * when the account was just made: a state whose account is later removed,
 * or whose name goes to another uid, is then known as an orphan. */
int state_set_uid(struct es_state *st, struct es_err *err);

/* Whether st is its account's (es_state_owner with getpwnam; a lookup that
 * fails, e.g. a directory down, counts as ES_OWNER_OK). When not, why
 * (may be NULL) gets a sentence for people, in the terminal's language,
 * that says so and names the command that cleans it (eschool forget). */
enum es_state_owner state_orphan(const struct es_state *st, char *why, size_t whysz);

/* The names of a command's --class values: true when klass (an account's
 * class, NULL for none) is one of them. Classes are compared as written. */
bool class_is_one_of(const char *klass, const char *const *classes, int n_classes);

/* The accounts (sorted by name) whose class is one of classes, for the
 * commands that take --class; disabled ones too when with_disabled.
 * *users is malloc'd, each name too (users_free). 0, or -1 with err;
 * no account at all is ES_ENOUSER, saying so. */
int class_accounts(const struct cli *ctx, const char *const *classes, int n_classes,
                   bool with_disabled, char ***users, size_t *n_users, struct es_err *err);
void users_free(char **users, size_t n);

/* The same, of any class when n_classes is 0, made at since or later
 * (0: whenever), enabled ones only unless with_disabled (slips --since). */
int pick_accounts(const struct cli *ctx, const char *const *classes, int n_classes, time_t since,
                  bool with_disabled, char ***users, size_t *n_users, struct es_err *err);

/* Whether user may get a new temporary password (reset, slips): managed,
 * enabled, its policy known, its account still the one eschool made.
 * Loads st and pol. ES_ENOUSER / ES_EDATA saying why not. */
int reset_check(const struct cli *ctx, const char *user, struct es_state *st,
                struct es_policy *pol, struct es_err *err);

/* A reset that failed: while the state still says "creating" (the
 * password was neither set nor shown), the old state (old, oldlen, as
 * es_state_format wrote it) goes back. */
void reset_put_back(struct es_record *rec, const char *old, size_t oldlen);

/* disable (or enable) one account, the store's lock held: its account
 * source's lock and its state. Said on stdout. 0 or the exit code, said
 * (cmd_info.c). */
int set_disabled_one(struct cli *ctx, const char *user, bool disable);

/* Whether DIR may receive archived homes (root's, not writable by
 * others): ES_EPERM saying why not (cmd_delete.c). */
int archive_dir_check(const char *dir, struct es_err *err);

/* Deletes users as eschool delete does (each checked first: nothing goes
 * when one may not), the store's lock held by the caller; *done counts
 * those deleted (cmd_delete.c). */
int delete_accounts(struct cli *ctx, char *const *users, size_t n, bool keep_home,
                    const char *archive_dir, size_t *done, struct es_err *err);

#endif
