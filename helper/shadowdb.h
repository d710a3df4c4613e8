/* shadowdb.c: many accounts in one locked pass over the account files
 * (import), as newusers does, and their homes as useradd -m makes them. */
#ifndef ESCHOOL_SHADOWDB_H
#define ESCHOOL_SHADOWDB_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "es_account.h"
#include "es_config.h"
#include "es_err.h"

/* What became of an account's home (HOME_BASE/USER). */
enum home_fate {
	HOME_MADE = 0,   /* made (or completed) from /etc/skel, the account's */
	HOME_KEPT_DIR,   /* a directory that was there before: left as it was */
	HOME_KEPT_LINK,  /* a symbolic link: not followed, left as it was */
	HOME_KEPT_OTHER, /* a file, a FIFO ...: left as it was */
	HOME_GONE,       /* there before the import started, gone since: none made */
};

struct newacct {
	const char *user, *fullname;
	const char *hash;      /* crypt(3) string for /etc/shadow */
	struct es_aging aging; /* lastchg, max, warn (es_account_aging) */
	const char *home_base, *shell;
	const char (*groups)[ES_NAME_MAX + 1]; /* supplementary, must exist */
	size_t n_groups;
	const char *class_group; /* its class's group (must exist), or NULL */
	/* in: a new account: a passwd or group entry of its name that is
	 * there now appeared after the import looked (a useradd meanwhile):
	 * the account is refused, not taken over (an account being resumed
	 * completes the entry its interrupted run wrote) */
	bool must_be_new;
	/* in: HOME_BASE/USER was taken when the import started this account
	 * (home_taken, recorded in its state): it is never touched */
	bool home_existed;
	/* out */
	bool created;          /* this call added the passwd entry */
	bool refused;          /* must_be_new and the name is taken: nothing written */
	long uid, gid;
	enum home_fate home;
	long home_uid;         /* HOME_KEPT_*: the owner of what is there */
	unsigned home_mode;    /* HOME_KEPT_*: its permission bits */
};

/* Creates the accounts (or completes half-created ones: an existing entry
 * is kept and gets the new hash, unless must_be_new) like useradd -m would,
 * in one pass over passwd, shadow, group, gshadow, subuid and subgid, then
 * their homes. ES_ETEMP when another program holds the files' locks. */
int shadowdb_batch(struct newacct *accts, size_t n, struct es_err *err);

/* *taken: something (a directory, a link, a file ...) is at base/user,
 * not followed. A missing base counts as free. */
int home_taken(const char *base, const char *user, bool *taken, struct es_err *err);

#endif
