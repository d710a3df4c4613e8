/* eschool sync: the start-of-year run. cmd_import.c reads the roster,
 * finds each row's account and creates who is new; here, what changes for
 * the accounts the roster still lists, and what the accounts it no longer
 * lists are. */
#ifndef ESCHOOL_SYNC_H
#define ESCHOOL_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "classgroups.h"
#include "cli.h"
#include "es_err.h"
#include "provision.h"

/* What a sync changes of an account: in English (logs, JSON) and as
 * shown (the terminal's language), NULL when nothing; whether the
 * account is disabled (a disabled account listed again is said, not
 * enabled: 'eschool enable' is the administrator's). */
struct sync_change {
	char *text, *shown;
	bool disabled;
};
void sync_change_free(struct sync_change *c);

/* What differs between user's state and the roster's person p ("class 6e
 * A -> 5e A; email ..."). An empty cell changes nothing (a roster without
 * an address column keeps the addresses), and an address the user
 * confirmed since the roster gave another stays while the roster's does
 * (ES_K_ROSTER_EMAIL). A new role whose accounts differ (backend,
 * home_base, shell) is ES_EDATA. cg (NULL: class_groups off) gives the
 * class's group. */
int sync_changes(struct cli *ctx, struct class_groups *cg, const char *user,
                 const struct person *p, struct sync_change *c, struct es_err *err);

/* Makes those changes: the account (name, role's groups, class's group)
 * through its account source, then its state, under the user's lock (the
 * store's lock held by the caller). */
int sync_update(struct cli *ctx, struct class_groups *cg, const char *user,
                const struct person *p, struct sync_change *c, struct es_err *err);

/* An account the roster no longer lists. */
struct sync_gone {
	char user[ES_NAME_MAX + 1];
	char role[ES_NAME_MAX + 1];
	char *name, *klass;
	bool disabled;    /* already */
};

/* Whether user (managed, not listed) is one sync acts on: made (not half
 * made by an interrupted run), of a role the roster lists (roles[0 ..
 * n_roles)), and, as delete checks, the account its state recorded the
 * uid of. 1 yes (g filled), 0 no, 2 it must be left as it is (err says
 * why: ES_EDATA, or the failed lookup's code), -1 error. */
int sync_gone_check(struct cli *ctx, const char *user, const char *const *roles,
                    size_t n_roles, struct sync_gone *g, struct es_err *err);
void sync_gone_free(struct sync_gone *g, size_t n);

#endif
