/* [import] class_groups: see classgroups.h. */
#include "classgroups.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "es_names.h"
#include "es_util.h"
#include "provision.h"

/* A name eschool gives a class's group (es_class_group_base, numbered by
 * es_class_group_unique): c-[a-z0-9]+, then -N. A state that says another
 * (with the directory store, a workstation may write the key) is not
 * believed. */
bool class_group_valid(const struct es_config *cfg, const char *g)
{
	size_t len = strlen(g), body;

	if (len < 3 || len > ES_NAME_MAX || strncmp(g, "c-", 2) != 0 || is_role_group(cfg, g))
		return false;
	body = 2 + strspn(g + 2, "abcdefghijklmnopqrstuvwxyz0123456789");
	if (body == 2)
		return false;
	if (g[body] == '\0')
		return true;
	return g[body] == '-' && g[body + 1] >= '2' && g[body + 1] <= '9' &&
	       strspn(g + body + 1, "0123456789") == len - body - 1;
}

static int note(struct class_groups *cg, const char *klass, const char *group,
                struct es_err *err)
{
	if (klass == NULL || group == NULL || klass[0] == '\0' ||
	    !class_group_valid(cg->cfg, group))
		return 0;
	/* the first record of a class (or a group) wins */
	if ((!strset_has(&cg->by_class, klass) && strset_put(&cg->by_class, klass, group) != 0) ||
	    (!strset_has(&cg->by_group, group) && strset_put(&cg->by_group, group, klass) != 0))
		return es_err_set(err, ES_EOS, "out of memory");
	return 0;
}

const char *class_group_claim(const struct es_config *cfg, const struct es_state *st,
                              char *group, size_t groupsz)
{
	const char *claim = es_state_get(st, ES_K_CLASS_GROUP_CLAIM);
	const char *space = claim != NULL ? strchr(claim, ' ') : NULL;
	size_t len = space != NULL ? (size_t)(space - claim) : 0;

	if (space == NULL || len >= groupsz)
		return NULL;
	memcpy(group, claim, len);
	group[len] = '\0';
	return class_group_valid(cfg, group) ? space + 1 : NULL;
}

int class_groups_note(struct class_groups *cg, const struct es_state *st, struct es_err *err)
{
	char group[ES_NAME_MAX + 1];
	const char *klass;

	if (note(cg, es_state_get(st, ES_K_CLASS), es_state_get(st, ES_K_CLASS_GROUP), err) != 0)
		return -1;
	klass = class_group_claim(cg->cfg, st, group, sizeof(group));
	return klass != NULL ? note(cg, klass, group, err) : 0;
}

bool class_group_name_taken(const char *name, void *arg)
{
	const struct es_config *cfg = arg;
	struct es_err err = { 0 };

	/* a group where the accounts' groups live (the directory's too);
	 * one that cannot be told counts as taken */
	return account_source_for(&cfg->policy)->group_exists(name, &err) != 0 ||
	       getpwnam(name) != NULL || is_role_group(cfg, name);
}

struct taken_ctx {
	const struct class_groups *cg;
	bool (*exists)(const char *, void *);
	void *arg;
};

static bool group_taken(const char *name, void *arg)
{
	const struct taken_ctx *t = arg;

	return strset_has(&t->cg->by_group, name) || t->exists(name, t->arg);
}

int class_group_for(struct class_groups *cg, const char *klass,
                    bool (*exists)(const char *name, void *arg), void *arg, char *out,
                    size_t outsz, struct es_err *err)
{
	const char *known = klass != NULL ? strset_get(&cg->by_class, klass) : NULL;
	char base[ES_CLASS_GROUP_BASE_MAX + 1];
	struct taken_ctx t = { cg, exists, arg };

	if (known != NULL) {
		if (strlen(known) >= outsz)
			return es_err_set(err, ES_ESOFTWARE, "class group name too long");
		memcpy(out, known, strlen(known) + 1);
		return 0;
	}
	if (es_class_group_base(klass, base, sizeof(base)) != 0)
		return 1;
	if (es_class_group_unique(base, group_taken, &t, out, outsz) != 0)
		return es_err_set(err, ES_ECANTCREAT, "class %s: no free group name from %s", klass,
		                  base);
	if (strset_put(&cg->by_class, klass, out) != 0 || strset_put(&cg->by_group, out, klass) != 0)
		return es_err_set(err, ES_EOS, "out of memory");
	return 0;
}

int class_group_move(const struct account_source *src, const char *user, const char *old_group,
                     const char *new_group, bool *dropped, struct es_err *err)
{
	bool gone = false;

	if (dropped != NULL)
		*dropped = false;
	if (old_group != NULL && new_group != NULL && strcmp(old_group, new_group) == 0)
		old_group = NULL; /* staying: only made sure of */
	if (new_group != NULL &&
	    (src->class_group(new_group, err) != 0 || src->group_member(new_group, user, true, err) != 0))
		return -1;
	if (old_group == NULL)
		return 0;
	if (src->group_member(old_group, user, false, err) != 0 ||
	    src->group_drop(old_group, &gone, err) != 0)
		return -1;
	if (dropped != NULL)
		*dropped = gone;
	return 0;
}

void class_groups_free(struct class_groups *cg)
{
	strset_free(&cg->by_class);
	strset_free(&cg->by_group);
}
