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

/* What differs between user's state and the roster's person p, as a
 * sentence for the report ("class 6e A -> 5e A; email ..."), malloc'd in
 * *changes, NULL when nothing. An empty cell changes nothing (a roster
 * without an address column keeps the addresses). cg (NULL: class_groups
 * off) gives the class's group. *enable: the account was disabled by a
 * sync and is listed again. */
int sync_changes(struct cli *ctx, struct class_groups *cg, const char *user,
                 const struct person *p, char **changes, bool *enable, struct es_err *err);

/* Makes those changes: the account (name, role's groups, class's group)
 * through its account source, then its state, under the user's lock (the
 * store's lock held by the caller). *changes as sync_changes says. */
int sync_update(struct cli *ctx, struct class_groups *cg, const char *user,
                const struct person *p, char **changes, struct es_err *err);

/* An account the roster no longer lists. */
struct sync_gone {
	char user[ES_NAME_MAX + 1];
	char *name, *klass;
	bool disabled;    /* already */
	bool by_sync;     /* by an earlier sync */
};

/* Whether user (managed, not listed) is one sync acts on: made, of a role
 * the roster lists (roles[0 .. n_roles)). 1 yes (g filled), 0 no, -1. */
int sync_gone_check(struct cli *ctx, const char *user, const char *const *roles,
                    size_t n_roles, struct sync_gone *g, struct es_err *err);
void sync_gone_free(struct sync_gone *g, size_t n);

#endif
