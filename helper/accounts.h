/* The account source (accounts.backend) behind one interface, and the
 * system account database through shadow's tools. */
#ifndef ESCHOOL_ACCOUNTS_H
#define ESCHOOL_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#include "es_account.h"
#include "es_config.h"
#include "es_err.h"
#include "es_names.h"
#include "shadowdb.h"

/* Runs argv[0] (an absolute path) with posix_spawn and an explicit argv,
 * a minimal environment, input (may be NULL) written to its stdin through a
 * pipe, and its stderr+stdout captured into msg (truncated). Returns the
 * exit status (0..255), or -1 when it could not run (err filled). */
int run_command(const char *const argv[], const char *input, size_t inlen, char *msg,
                size_t msgsz, struct es_err *err);

/* true when NSS knows the user / group. */
bool user_exists(const char *user);
bool group_exists(const char *group);

/* groupadd -r for each group that does not exist yet. */
int groups_ensure(const char (*groups)[ES_NAME_MAX + 1], size_t n, struct es_err *err);

/* chage -d LASTCHG -M MAX -W WARN: the password's aging in shadow, as
 * es_account_aging says (after chpasswd, which sets lastchg to today). */
int chage_aging(const char *user, const struct es_aging *aging, struct es_err *err);

/* userdel -r (used to undo a half-created account). */
int userdel_account(const char *user, struct es_err *err);
/* userdel, with -r unless keep_home (eschool delete). */
int userdel_delete(const char *user, bool keep_home, struct es_err *err);

/* Where accounts live (accounts.backend), behind one interface, so that
 * the commands do not test the backend: "shadow" writes the system's files
 * through shadow's tools; "none" writes nothing (the accounts are a
 * directory's, made elsewhere: they must exist already). */
struct account_source {
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
	/* delete an account for good (eschool delete), its home too unless
	 * keep_home; none: nothing (the directory's accounts are made and
	 * removed elsewhere) */
	int (*delete)(const char *user, bool keep_home, struct es_err *err);
	/* many accounts at once (import): shadow makes or completes them in
	 * one locked pass (shadowdb_batch); none checks each exists and fills
	 * its uid (refused when it does not). Their groups exist already
	 * (groups_ensure, per role, before). */
	int (*create_batch)(struct newacct *accts, size_t n, struct es_err *err);
	/* the role's groups, made where missing (before a batch) */
	int (*ensure_groups)(const char (*groups)[ES_NAME_MAX + 1], size_t n, struct es_err *err);
	/* 1: the account exists (NSS; ldap: the entry is a posixAccount), 0:
	 * not, -1: cannot tell (err) */
	int (*exists)(const char *user, struct es_err *err);
	/* 1: a group of that name exists where this source's groups live
	 * (NSS; ldap: under groups_dn, or NSS), 0: not, -1: cannot tell */
	int (*group_exists)(const char *group, struct es_err *err);
	/* [import] class_groups: a class's group, made when missing */
	int (*class_group)(const char *group, struct es_err *err);
	/* user put in (in) or taken out of group; already so is fine, and
	 * out of a group that does not exist too */
	int (*group_member)(const char *group, const char *user, bool in, struct es_err *err);
	/* group removed when nobody is in it any more (*dropped); one with
	 * members is kept. Only for groups eschool made (class groups). */
	int (*group_drop)(const char *group, bool *dropped, struct es_err *err);
	/* a new role (sync): out of the groups of from it does not share, into
	 * to's; the directory's primary group follows; the password's maximum
	 * age and warning become aging's (its lastchg is not used: the
	 * password keeps its day) */
	int (*set_role)(const struct es_role *from, const struct es_role *to,
	                const struct es_aging *aging, const char *user, struct es_err *err);
	/* the person's name as the account shows it (GECOS) */
	int (*set_fullname)(const char *user, const char *fullname, struct es_err *err);
};

const struct account_source *account_source_for(const struct es_policy *pol);

/* Who user's account is, wherever accounts live: 1 found (*uid), 0 no
 * such account, -1 the lookup failed (a directory that does not answer:
 * it says nothing about the account). */
int account_uid(const char *user, long *uid, struct es_err *err);

#endif
