/* [import] class_groups = yes: one group per class ("1ère G1" -> c-1g1),
 * its members kept in step with the roster by import, sync and delete.
 *
 * Which group is which class's is what the accounts' states record
 * (ES_K_CLASS_GROUP): the same class keeps its group year after year and
 * on every machine that reads the store, and two classes whose names fold
 * alike ("1ère G1", "1re G1") get c-1g1 and c-1g1-2. A group eschool did
 * not record (one the administrator made) is never taken over. */
#ifndef ESCHOOL_CLASSGROUPS_H
#define ESCHOOL_CLASSGROUPS_H

#include <stdbool.h>
#include <stddef.h>

#include "accounts.h"
#include "cli.h"
#include "es_err.h"
#include "es_state.h"
#include "strset.h"

struct class_groups {
	const struct es_config *cfg; /* its roles' groups are never a class's */
	struct strset by_class; /* class -> group */
	struct strset by_group; /* group -> class */
};

/* What one state records (its class and its class's group, or the
 * group a move claimed): 0, or -1 with err (out of memory). A state
 * without them, or naming a group not shaped as eschool names them,
 * says nothing. cg->cfg must be set. */
int class_groups_note(struct class_groups *cg, const struct es_state *st, struct es_err *err);

/* true when name is shaped as eschool names class groups (c-[a-z0-9]+,
 * then -N) and is no role's group: a name read from a state is used to
 * join, leave or remove a group only then. */
bool class_group_valid(const struct es_config *cfg, const char *name);

/* A move's claim in st (ES_K_CLASS_GROUP_CLAIM): the class, and the group
 * into group; NULL when none (or not a valid name). */
const char *class_group_claim(const struct es_config *cfg, const struct es_state *st,
                              char *group, size_t groupsz);

/* The group of klass: the one its accounts record, else a new name
 * (es_class_group_base, numbered) that no other class records and that
 * is not a group or user already (exists(name, arg): true when taken),
 * noted in cg. 1 when klass gives no name ("—": no group), 0, or -1. */
int class_group_for(struct class_groups *cg, const char *klass,
                    bool (*exists)(const char *name, void *arg), void *arg, char *out,
                    size_t outsz, struct es_err *err);

/* true when NSS knows a group or a user of that name, or it is a role's
 * group (arg: the struct es_config; exists for class_group_for where
 * nothing better is at hand). */
bool class_group_name_taken(const char *name, void *arg);

/* The account from old_group (NULL: none) to new_group (NULL: none), the
 * new one made when missing, the old one removed when nobody is left in
 * it. *dropped (may be NULL) says it was. */
int class_group_move(const struct account_source *src, const char *user, const char *old_group,
                     const char *new_group, bool *dropped, struct es_err *err);

void class_groups_free(struct class_groups *cg);

#endif
