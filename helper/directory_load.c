/* The helper's side of accounts.backend = ldap (directory.h): the
 * directory code is eschool_ldap.so, loaded when a command first connects
 * (plugin.h); until then, and for every command of a school whose
 * accounts are in /etc, no libldap is mapped. */
#include "directory.h"

#include <string.h>

#include "es_util.h"

static const struct directory_plugin *loaded;
static struct es_err load_error; /* why it could not be (kept: said by every call) */

static const struct directory_plugin *plugin(void)
{
	if (loaded == NULL && load_error.code == 0) { /* tried once: the answer would not change */
		loaded = plugin_load(DIRECTORY_PLUGIN_FILE, DIRECTORY_PLUGIN_SYMBOL, &load_error);
		if (loaded == NULL)
			es_err_prefix(&load_error, "eschool cannot speak to the directory");
	}
	return loaded;
}

static int unloaded(struct es_err *err)
{
	if (err != NULL)
		es_err_copy(err, &load_error);
	return -1;
}

/* ---- a store and an account source without the plugin: every call
 * says why (doctor goes on to report the rest; other commands stopped
 * at directory_connect). Locks are state_dir's files, as the directory
 * store's are. ---- */

static int no_load(const struct es_store *s, const char *user, struct es_state *st,
                   struct es_err *err)
{
	(void)s, (void)user, (void)st;
	return unloaded(err);
}

static int no_save(const struct es_store *s, const struct es_state *before,
                   const struct es_state *st, struct es_err *err)
{
	(void)s, (void)before, (void)st;
	return unloaded(err);
}

static int no_remove(const struct es_store *s, const char *user, struct es_err *err)
{
	(void)s, (void)user;
	return unloaded(err);
}

static int no_foreach(const struct es_store *s, int (*fn)(const char *user, void *arg),
                      void *arg, struct es_err *err)
{
	(void)s, (void)fn, (void)arg;
	return unloaded(err);
}

static int no_code_key(const struct es_store *s, bool create, unsigned char *key,
                       struct es_err *err)
{
	(void)s, (void)create, (void)key;
	return unloaded(err);
}

static void no_tidy(const struct es_store *s)
{
	(void)s;
}

static const struct es_store_ops unloaded_store = {
	.name = "ldap",
	.lock = es_store_flock,
	.unlock = es_store_funlock,
	.load = no_load,
	.save = no_save,
	.remove = no_remove,
	.foreach = no_foreach,
	.lock_all = es_store_flock_all,
	.tidy = no_tidy,
	.code_key = no_code_key,
	.cas = true,
	.notices_in_state = true,
};

static int no_create(const struct es_policy *pol, const struct es_role *role, const char *user,
                     const char *fullname, struct es_err *err)
{
	(void)pol, (void)role, (void)user, (void)fullname;
	return unloaded(err);
}

static int no_set_password(const char *user, const char *hash, const struct es_aging *aging,
                           struct es_err *err)
{
	(void)user, (void)hash, (void)aging;
	return unloaded(err);
}

static int no_lock(const char *user, bool lock, struct es_err *err)
{
	(void)user, (void)lock;
	return unloaded(err);
}

static int no_name(const char *name, struct es_err *err)
{
	(void)name;
	return unloaded(err);
}

static int no_delete(const char *user, bool keep_home, struct es_err *err)
{
	(void)user, (void)keep_home;
	return unloaded(err);
}

static int no_batch(struct newacct *accts, size_t n, struct es_err *err)
{
	(void)accts, (void)n;
	return unloaded(err);
}

static int no_groups(const char (*groups)[ES_NAME_MAX + 1], size_t n, struct es_err *err)
{
	(void)groups, (void)n;
	return unloaded(err);
}

static int no_member(const char *group, const char *user, bool in, struct es_err *err)
{
	(void)group, (void)user, (void)in;
	return unloaded(err);
}

static int no_drop(const char *group, bool *dropped, struct es_err *err)
{
	(void)group;
	*dropped = false;
	return unloaded(err);
}

static int no_set_role(const struct es_role *from, const struct es_role *to,
                       const struct es_aging *aging, const char *user, struct es_err *err)
{
	(void)from, (void)to, (void)aging, (void)user;
	return unloaded(err);
}

static int no_fullname(const char *user, const char *fullname, struct es_err *err)
{
	(void)user, (void)fullname;
	return unloaded(err);
}

static const struct account_source unloaded_accounts = {
	.name = "ldap", .writes = true,
	.create = no_create, .set_password = no_set_password, .lock = no_lock,
	.remove = no_name, .delete = no_delete, .create_batch = no_batch,
	.exists = no_name, .ensure_groups = no_groups, .group_exists = no_name,
	.class_group = no_name, .group_member = no_member, .group_drop = no_drop,
	.set_role = no_set_role, .set_fullname = no_fullname,
};

/* ---- the commands' calls ---- */

int directory_connect(struct es_store *store, struct es_ldap *c, const struct es_config *cfg,
                      struct es_err *err)
{
	const struct directory_plugin *p = plugin();

	memset(c, 0, sizeof(*c));
	if (p == NULL) {
		memset(store, 0, sizeof(*store));
		store->ops = &unloaded_store;
		(void)es_strlcpy(store->dir, cfg->state_dir, sizeof(store->dir));
		return unloaded(err);
	}
	p->use(store, c, cfg->state_dir);
	return p->open(c, cfg, 0, err);
}

void directory_close(struct es_ldap *c)
{
	if (loaded != NULL)
		loaded->close(c);
}

const struct account_source *directory_accounts(void)
{
	const struct directory_plugin *p = plugin();

	return p != NULL ? p->accounts : &unloaded_accounts;
}

int directory_uid(const char *user, long *uid, struct es_err *err)
{
	/* no directory in use until a command connected (directory_connect);
	 * one that could not be loaded says so, not NSS */
	if (load_error.code != 0)
		return unloaded(err);
	return loaded != NULL ? loaded->uid(user, uid, err) : 2;
}

int directory_probe(char *what, size_t whatsz, struct es_err *err)
{
	what[0] = '\0';
	return loaded != NULL ? loaded->probe(what, whatsz, err) : unloaded(err);
}

const char *directory_bound_as(struct es_ldap *c)
{
	return loaded != NULL ? loaded->bound_as(c) : "";
}

int directory_has_schema(struct es_ldap *c, struct es_err *err)
{
	return loaded != NULL ? loaded->has_schema(c, err) : unloaded(err);
}

int directory_backup(struct es_ldap *c, int fd, size_t *entries, struct es_err *err)
{
	*entries = 0;
	return loaded != NULL ? loaded->backup(c, fd, entries, err) : unloaded(err);
}

int directory_restore(struct es_ldap *c, const char *file, struct directory_restored *done,
                      struct es_err *err)
{
	return loaded != NULL ? loaded->restore(c, file, done, err) : unloaded(err);
}
