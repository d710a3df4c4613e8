/* [import] class_groups: see classgroups.h. */
#include "classgroups.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "es_names.h"
#include "es_util.h"
#include "es_store.h"
#include "provision.h"

int class_groups_note(struct class_groups *cg, const struct es_state *st, struct es_err *err)
{
	const char *klass = es_state_get(st, ES_K_CLASS);
	const char *group = es_state_get(st, ES_K_CLASS_GROUP);

	if (klass == NULL || group == NULL || klass[0] == '\0' || group[0] == '\0')
		return 0;
	/* the first record of a class (or a group) wins: one whose class
	 * changed without its group (a crash between the two) says less */
	if ((!strset_has(&cg->by_class, klass) && strset_put(&cg->by_class, klass, group) != 0) ||
	    (!strset_has(&cg->by_group, group) && strset_put(&cg->by_group, group, klass) != 0))
		return es_err_set(err, ES_EOS, "out of memory");
	return 0;
}

struct load_walk {
	struct cli *ctx;
	struct class_groups *cg;
	struct es_err *err;
	int rc;
};

static int load_one(const char *user, void *arg)
{
	struct load_walk *w = arg;
	struct es_state st;
	struct es_err e = { 0 };

	es_state_init(&st, "");
	/* an unreadable state says nothing of groups (show tells why) */
	if (load_user_state(w->ctx, user, &st, &e) == 0 && class_groups_note(w->cg, &st, w->err) != 0)
		w->rc = -1;
	es_state_free(&st);
	return w->rc != 0;
}

int class_groups_load(struct cli *ctx, struct class_groups *cg, struct es_err *err)
{
	struct load_walk w = { ctx, cg, err, 0 };

	if (es_store_foreach(&ctx->store, load_one, &w, err) != 0 || w.rc != 0)
		return -1;
	return 0;
}

bool class_group_name_taken(const char *name, void *arg)
{
	(void)arg;
	return getgrnam(name) != NULL || getpwnam(name) != NULL;
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
