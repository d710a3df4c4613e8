/* The directory store: each user's state on the user's own entry
 * (uid=USER,users_dn), in the attributes of eschool's auxiliary class
 * eschoolAccount (packaging/ldap/eschool.schema).
 *
 * Many machines write the same entries (the helper on the server, the
 * module on every workstation), and a directory has no locks: a save
 * writes only the attributes that changed, each as "delete the value
 * loaded, add the new one" in one modify, which the server applies whole
 * or not at all. When another machine changed one of them meanwhile, the
 * delete finds nothing and the save is refused (ES_ETEMP): nothing is
 * overwritten blindly. Local writers are still ordered by state_dir's
 * flocks, as with the file store.
 *
 * An entry made for a new account before the account exists (add and
 * import write their journal first) is an inetOrgPerson with the state
 * only; the account source turns it into a posixAccount. */
#include "es_store_ldap.h"

#include <errno.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_bytes.h"
#include "es_code.h"
#include "es_ldap.h"
#include "es_ldap_attrs.h"
#include "es_names.h"
#include "es_util.h"

#define EXTRA_ATTR ES_LDAP_EXTRA_ATTR
#define LAST_CHANGE_ATTR ES_LDAP_LAST_CHANGE_ATTR /* as ES_K_DIR_LAST_CHANGE */

const char *es_store_ldap_attr(const char *key)
{
	return es_ldap_attr_of(key);
}

/* A state key eschoolExtra holds: none of the attributes', and not the
 * day read from shadowLastChange (never written). */
static bool in_extra(const char *key)
{
	return es_store_ldap_attr(key) == NULL && strcmp(key, ES_K_DIR_LAST_CHANGE) != 0;
}

/* ---- locks: this machine's writers (es_store_flock), as the file store ---- */

static void dir_tidy(const struct es_store *s)
{
	(void)s; /* a modify is whole or nothing: no half-written entry */
}

/* The connection, or why there is none (doctor goes on without it). */
static struct es_ldap *connected(const struct es_store *s, struct es_err *err)
{
	if (s->ldap == NULL || s->ldap->ld == NULL) {
		(void)es_err_set(err, ES_EUNAVAIL, "the directory is not connected");
		return NULL;
	}
	return s->ldap;
}

/* ---- reading ---- */

static char **wanted_attrs(char **out)
{
	size_t n = 0;

	for (size_t i = 0; i < ES_LDAP_N_MAPPED; i++)
		out[n++] = (char *)es_ldap_attr_map[i].attr;
	out[n++] = EXTRA_ATTR;
	out[n++] = LAST_CHANGE_ATTR; /* read along, never written */
	out[n] = NULL;
	return out;
}

static int fill_from_entry(struct es_ldap *c, LDAPMessage *e, struct es_state *st,
                           struct es_err *err)
{
	BerElement *ber = NULL;
	int rc = 0;

	for (char *a = ldap_first_attribute(c->ld, e, &ber); a != NULL && rc == 0;
	     a = ldap_next_attribute(c->ld, e, ber)) {
		struct berval **vals = ldap_get_values_len(c->ld, e, a);
		const char *key = es_ldap_key_of(a);
		bool extra = strcasecmp(a, EXTRA_ATTR) == 0;

		for (size_t i = 0; vals != NULL && vals[i] != NULL && rc == 0; i++) {
			char *v = strndup(vals[i]->bv_val, vals[i]->bv_len);
			char *eq;

			if (v == NULL) {
				rc = es_err_set(err, ES_EOS, "out of memory");
			} else if (key != NULL) {
				rc = es_state_set(st, key, v);
			} else if (extra && (eq = strchr(v, '=')) != NULL && eq != v) {
				*eq = '\0';
				if (in_extra(v))
					rc = es_state_set(st, v, eq + 1);
			}
			if (rc != 0 && err->code == 0)
				(void)es_err_set(err, ES_EDATA, "the directory entry of %s: bad value of %s",
				                 st->username, a);
			free(v);
		}
		ldap_value_free_len(vals);
		ldap_memfree(a);
	}
	if (ber != NULL)
		ber_free(ber, 0);
	return rc == 0 ? 0 : -1;
}

static int dir_load(const struct es_store *s, const char *user, struct es_state *st,
                    struct es_err *err)
{
	struct es_ldap *c = connected(s, err);
	char dn[512], *attrs[ES_LDAP_N_MAPPED + 3];
	LDAPMessage *res = NULL, *e;
	int rc;

	if (c == NULL || es_ldap_user_dn(c, user, dn, sizeof(dn), err) != 0)
		return -1;
	rc = ldap_search_ext_s(c->ld, dn, LDAP_SCOPE_BASE, "(objectClass=eschoolAccount)",
	                       wanted_attrs(attrs), 0, NULL, NULL, NULL, 1, &res);
	if (rc == LDAP_NO_SUCH_OBJECT) {
		ldap_msgfree(res);
		return 1;
	}
	if (rc != LDAP_SUCCESS) {
		ldap_msgfree(res);
		return es_ldap_fail(c, rc, "reading the state of a user in the directory", err);
	}
	e = ldap_first_entry(c->ld, res);
	if (e == NULL) { /* an entry, not one of eschool's */
		ldap_msgfree(res);
		return 1;
	}
	rc = fill_from_entry(c, e, st, err);
	ldap_msgfree(res);
	return rc;
}

/* ---- writing: the changes only, as compare-and-set ---- */

struct mods {
	LDAPMod *list[2 * (ES_LDAP_N_MAPPED + 1) + 8];
	LDAPMod mod[2 * (ES_LDAP_N_MAPPED + 1) + 8];
	char *vals[2 * (ES_LDAP_N_MAPPED + 1) + 8][2];
	size_t n;
	char **extra_del, **extra_add; /* eschoolExtra's values */
	char given[256]; /* the name's first words (givenName) */
};

static void mods_add(struct mods *m, int op, const char *attr, const char *value)
{
	LDAPMod *mod = &m->mod[m->n];

	mod->mod_op = op;
	mod->mod_type = (char *)attr;
	m->vals[m->n][0] = (char *)value;
	m->vals[m->n][1] = NULL;
	mod->mod_values = value != NULL ? m->vals[m->n] : NULL;
	m->list[m->n] = mod;
	m->list[++m->n] = NULL;
}

static void mods_add_list(struct mods *m, int op, const char *attr, char **values)
{
	LDAPMod *mod = &m->mod[m->n];

	mod->mod_op = op;
	mod->mod_type = (char *)attr;
	mod->mod_values = values;
	m->list[m->n] = mod;
	m->list[++m->n] = NULL;
}

static void free_list(char **l)
{
	for (size_t i = 0; l != NULL && l[i] != NULL; i++)
		free(l[i]);
	free(l);
}

/* The key=value of st's unknown keys that other has not, in a NULL-ended
 * list (NULL: none, or out of memory with *oom). */
static char **extra_only(const struct es_state *st, const struct es_state *other, bool *oom)
{
	char **out = NULL;
	size_t n = 0;

	for (size_t i = 0; i < st->n; i++) {
		const char *k = st->kv[i].key, *v = st->kv[i].value, *ov;
		char **grown;

		if (!in_extra(k))
			continue;
		ov = other != NULL ? es_state_get(other, k) : NULL;
		if (ov != NULL && strcmp(ov, v) == 0)
			continue;
		grown = realloc(out, (n + 2) * sizeof(*out));
		if (grown == NULL || asprintf(&grown[n], "%s=%s", k, v) < 0) {
			if (grown != NULL)
				grown[n] = NULL, out = grown;
			*oom = true;
			free_list(out);
			return NULL;
		}
		out = grown;
		out[++n] = NULL;
	}
	return out;
}

/* The modify that turns before into st: for each attribute that changed,
 * delete the value loaded and add the new one. */
/* A display name's parts as inetOrgPerson holds them: the last word is
 * sn, what comes before givenName (none for one word). */
static const char *surname_of(const char *name, char *given, size_t givensz)
{
	const char *sp = strrchr(name, ' ');

	given[0] = '\0';
	if (sp == NULL || sp[1] == '\0' || sp == name)
		return name;
	(void)snprintf(given, givensz, "%.*s", (int)(sp - name), name);
	return sp + 1;
}

static bool changed(const struct es_state *before, const struct es_state *st, const char *key)
{
	const char *old = before != NULL ? es_state_get(before, key) : NULL;
	const char *now = es_state_get(st, key);

	return old == NULL ? now != NULL : now == NULL || strcmp(old, now) != 0;
}

/* The person's standard fields: cn, sn and givenName replaced when the
 * name changed (an account without a name keeps the cn and sn the username
 * made: both are required); mail with every write that changes something,
 * since an address confirmed at a workstation changed eschoolMail alone
 * (a workstation may write eschool's attributes only). */
static void plan_person(const struct es_state *before, const struct es_state *st, struct mods *m)
{
	const char *name = es_state_get(st, ES_K_NAME), *email = es_state_get(st, ES_K_EMAIL);

	/* an address eschool does not have leaves the entry's own */
	if (email != NULL && email[0] != '\0' && (m->n > 0 || changed(before, st, ES_K_EMAIL)))
		mods_add(m, LDAP_MOD_REPLACE, "mail", email);
	if (changed(before, st, ES_K_NAME) && name != NULL && name[0] != '\0') {
		const char *sn = surname_of(name, m->given, sizeof(m->given));

		mods_add(m, LDAP_MOD_REPLACE, "cn", name);
		mods_add(m, LDAP_MOD_REPLACE, "sn", sn);
		mods_add(m, LDAP_MOD_REPLACE, "givenName", m->given[0] != '\0' ? m->given : NULL);
	}
}

static int plan_mods(const struct es_state *before, const struct es_state *st, bool person,
                     struct mods *m, struct es_err *err)
{
	bool oom = false;

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < ES_LDAP_N_MAPPED; i++) {
		const char *old = before != NULL ? es_state_get(before, es_ldap_attr_map[i].key) : NULL;
		const char *now = es_state_get(st, es_ldap_attr_map[i].key);

		if (old != NULL && now != NULL && strcmp(old, now) == 0)
			continue;
		if (before == NULL) { /* nothing to compare with: the value as it is now */
			mods_add(m, LDAP_MOD_REPLACE, es_ldap_attr_map[i].attr, now);
			continue;
		}
		if (old != NULL)
			mods_add(m, LDAP_MOD_DELETE, es_ldap_attr_map[i].attr, old);
		if (now != NULL)
			mods_add(m, LDAP_MOD_ADD, es_ldap_attr_map[i].attr, now);
	}
	m->extra_del = before != NULL ? extra_only(before, st, &oom) : NULL;
	m->extra_add = extra_only(st, before, &oom);
	if (oom)
		return es_err_set(err, ES_EOS, "out of memory");
	if (m->extra_del != NULL)
		mods_add_list(m, LDAP_MOD_DELETE, EXTRA_ATTR, m->extra_del);
	if (m->extra_add != NULL)
		mods_add_list(m, LDAP_MOD_ADD, EXTRA_ATTR, m->extra_add);
	if (person && before != NULL)
		plan_person(before, st, m);
	return 0;
}

static void mods_free(struct mods *m)
{
	free_list(m->extra_del);
	free_list(m->extra_add);
	m->extra_del = m->extra_add = NULL;
}

static bool conflict(int rc)
{
	return rc == LDAP_NO_SUCH_ATTRIBUTE || rc == LDAP_TYPE_OR_VALUE_EXISTS ||
	       rc == LDAP_CONSTRAINT_VIOLATION || rc == LDAP_ALREADY_EXISTS;
}

/* A new account's first state: the entry, which the account source
 * completes (posixAccount, shadowAccount) once the account is made. */
static int add_entry(struct es_ldap *c, const char *dn, const struct es_state *st,
                     struct es_err *err)
{
	const char *name = es_state_get(st, ES_K_NAME), *email = es_state_get(st, ES_K_EMAIL);
	char *classes[] = { "top", "inetOrgPerson", "eschoolAccount", NULL };
	char *uid[] = { (char *)st->username, NULL }, *cn[2], *snv[2], *givenv[2], *mailv[2];
	LDAPMod oc = { LDAP_MOD_ADD, "objectClass", { .modv_strvals = classes } };
	LDAPMod m_uid = { LDAP_MOD_ADD, "uid", { .modv_strvals = uid } };
	LDAPMod m_cn = { LDAP_MOD_ADD, "cn", { .modv_strvals = cn } };
	LDAPMod m_sn = { LDAP_MOD_ADD, "sn", { .modv_strvals = snv } };
	LDAPMod m_given = { LDAP_MOD_ADD, "givenName", { .modv_strvals = givenv } };
	LDAPMod m_mail = { LDAP_MOD_ADD, "mail", { .modv_strvals = mailv } };
	struct mods m;
	LDAPMod *all[6 + ES_ARRAY_LEN(m.list)];
	size_t n = 0;
	int rc;

	if (name == NULL || name[0] == '\0')
		name = st->username;
	if (plan_mods(NULL, st, false, &m, err) != 0)
		return -1;
	cn[0] = (char *)name, cn[1] = NULL;
	snv[0] = (char *)surname_of(name, m.given, sizeof(m.given)), snv[1] = NULL;
	givenv[0] = m.given, givenv[1] = NULL;
	mailv[0] = (char *)email, mailv[1] = NULL;
	all[n++] = &oc, all[n++] = &m_uid, all[n++] = &m_cn, all[n++] = &m_sn;
	if (m.given[0] != '\0')
		all[n++] = &m_given;
	if (email != NULL && email[0] != '\0')
		all[n++] = &m_mail;
	for (size_t i = 0; m.list[i] != NULL; i++)
		if (m.list[i]->mod_values != NULL) {
			m.list[i]->mod_op = LDAP_MOD_ADD;
			all[n++] = m.list[i];
		}
	all[n] = NULL;
	rc = ldap_add_ext_s(c->ld, dn, all, NULL, NULL);
	mods_free(&m);
	if (rc == LDAP_ALREADY_EXISTS)
		return es_err_set(err, ES_ETEMP,
		                  "the directory entry of %s was made by another machine meanwhile; "
		                  "run the command again",
		                  st->username);
	if (rc != LDAP_SUCCESS)
		return es_ldap_fail(c, rc, "making the directory entry of a new account", err);
	return 0;
}

/* An entry that is not eschool's yet (an account the directory had
 * before): the class, then the state. */
static int adopt_entry(struct es_ldap *c, const char *dn, struct es_err *err)
{
	char *classes[] = { "eschoolAccount", NULL };
	LDAPMod oc = { LDAP_MOD_ADD, "objectClass", { .modv_strvals = classes } };
	LDAPMod *list[] = { &oc, NULL };
	int rc = ldap_modify_ext_s(c->ld, dn, list, NULL, NULL);

	if (rc == LDAP_SUCCESS || rc == LDAP_TYPE_OR_VALUE_EXISTS)
		return rc == LDAP_SUCCESS ? 0 : 1;
	if (rc == LDAP_NO_SUCH_OBJECT)
		return 2;
	return es_ldap_fail(c, rc, "adding eschool's class to a directory entry", err);
}

static int dir_save(const struct es_store *s, const struct es_state *before,
                    const struct es_state *st, struct es_err *err)
{
	struct es_ldap *c = connected(s, err);
	struct mods m;
	char dn[512];
	int rc;

	if (c == NULL || es_ldap_user_dn(c, st->username, dn, sizeof(dn), err) != 0)
		return -1;
	if (before != NULL && before->n == 0) { /* no record was loaded */
		rc = adopt_entry(c, dn, err);
		if (rc < 0)
			return -1;
		if (rc == 2)
			return add_entry(c, dn, st, err);
		/* eschool's class is there (added now, or by another machine
		 * meanwhile): the attributes below are added, and one another
		 * machine wrote first makes the modify fail */
	}
	if (plan_mods(before, st, s->person_fields, &m, err) != 0)
		return -1;
	if (m.n == 0)
		return 0; /* nothing changed: no write */
	rc = ldap_modify_ext_s(c->ld, dn, m.list, NULL, NULL);
	mods_free(&m);
	if (rc == LDAP_SUCCESS)
		return 0;
	if (conflict(rc))
		return es_err_set(err, ES_ETEMP,
		                  "the state of %s changed on another machine while this one wrote "
		                  "it; nothing was overwritten: run the command again",
		                  st->username);
	return es_ldap_fail(c, rc, "writing the state of a user in the directory", err);
}

/* ---- removing, listing ---- */

static int dir_remove(const struct es_store *s, const char *user, struct es_err *err)
{
	struct es_ldap *c = connected(s, err);
	char dn[512], *attrs[] = { "objectClass", NULL }, *posix = NULL;
	char *classes[] = { "eschoolAccount", NULL };
	LDAPMod *list[ES_LDAP_N_MAPPED + 4];
	LDAPMod mod[ES_LDAP_N_MAPPED + 3];
	LDAPMessage *res = NULL;
	struct es_state st;
	size_t n = 0;
	int rc;

	if (c == NULL || es_ldap_user_dn(c, user, dn, sizeof(dn), err) != 0)
		return -1;
	rc = ldap_search_ext_s(c->ld, dn, LDAP_SCOPE_BASE, "(objectClass=posixAccount)", attrs, 1,
	                       NULL, NULL, NULL, 1, &res);
	if (rc == LDAP_NO_SUCH_OBJECT) {
		ldap_msgfree(res);
		return 0;
	}
	if (rc != LDAP_SUCCESS) {
		ldap_msgfree(res);
		return es_ldap_fail(c, rc, "reading a directory entry", err);
	}
	posix = ldap_first_entry(c->ld, res) != NULL ? "yes" : NULL;
	ldap_msgfree(res);
	if (posix == NULL) { /* only eschool's journal: no account was made */
		rc = ldap_delete_ext_s(c->ld, dn, NULL, NULL);
		if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT)
			return 0;
		return es_ldap_fail(c, rc, "removing a directory entry", err);
	}
	/* an account: eschool's attributes and class go, the account stays */
	es_state_init(&st, user);
	rc = dir_load(s, user, &st, err);
	if (rc != 0) {
		es_state_free(&st);
		return rc < 0 ? -1 : 0;
	}
	for (size_t i = 0; i < ES_LDAP_N_MAPPED; i++)
		if (es_state_get(&st, es_ldap_attr_map[i].key) != NULL) {
			mod[n] = (LDAPMod){ LDAP_MOD_DELETE, (char *)es_ldap_attr_map[i].attr, { NULL } };
			list[n] = &mod[n];
			n++;
		}
	for (size_t i = 0; i < st.n; i++)
		if (in_extra(st.kv[i].key)) {
			mod[n] = (LDAPMod){ LDAP_MOD_DELETE, EXTRA_ATTR, { NULL } };
			list[n] = &mod[n];
			n++;
			break;
		}
	es_state_free(&st);
	mod[n] = (LDAPMod){ LDAP_MOD_DELETE, "objectClass", { .modv_strvals = classes } };
	list[n] = &mod[n];
	list[++n] = NULL;
	rc = ldap_modify_ext_s(c->ld, dn, list, NULL, NULL);
	if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_ATTRIBUTE)
		return 0;
	return es_ldap_fail(c, rc, "removing eschool's state from a directory entry", err);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the entries of eschool's under users_dn that filter finds. */
struct names {
	char **names;
	size_t count;
};

static int add_name(struct es_ldap *c, struct ldapmsg *entry, void *arg, struct es_err *err)
{
	struct names *list = arg;
	struct berval **v = ldap_get_values_len(c->ld, (LDAPMessage *)entry, "uid");
	int rc = 0;

	if (v != NULL && v[0] != NULL) {
		char **grown = realloc(list->names, (list->count + 1) * sizeof(*list->names));

		if (grown == NULL || (grown[list->count] = strndup(v[0]->bv_val, v[0]->bv_len)) == NULL)
			rc = es_err_set(err, ES_EOS, "out of memory");
		if (grown != NULL)
			list->names = grown;
		if (rc == 0)
			list->count++;
	}
	ldap_value_free_len(v);
	return rc;
}

static int list_users(struct es_ldap *c, const char *filter, char ***names, size_t *count,
                      struct es_err *err)
{
	char *attrs[] = { "uid", NULL };
	struct names list = { NULL, 0 };
	int rc = es_ldap_search_pages(c, c->users_dn, LDAP_SCOPE_ONELEVEL, filter, attrs,
	                              "listing the directory's users", add_name, &list, err);

	*names = list.names;
	*count = list.count;
	return rc;
}

static int foreach_found(const struct es_store *s, const char *filter,
                         int (*fn)(const char *user, void *arg), void *arg, struct es_err *err)
{
	struct es_ldap *c = connected(s, err);
	char **names = NULL;
	size_t n = 0;
	int rc = c != NULL ? list_users(c, filter, &names, &n, err) : -1;

	if (rc == 0 && n > 0) {
		qsort(names, n, sizeof(*names), cmp_names);
		for (size_t i = 0; i < n && rc == 0; i++)
			if (es_valid_username(names[i]))
				rc = fn(names[i], arg);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int dir_foreach(const struct es_store *s, int (*fn)(const char *user, void *arg),
                       void *arg, struct es_err *err)
{
	return foreach_found(s, "(objectClass=eschoolAccount)", fn, arg, err);
}

/* The users whose state has key: one search, "(attr=*)". */
static int dir_foreach_with(const struct es_store *s, const char *key,
                            int (*fn)(const char *user, void *arg), void *arg,
                            struct es_err *err)
{
	const char *attr = es_store_ldap_attr(key);
	char filter[96];

	if (attr == NULL)
		return es_err_set(err, ES_ESOFTWARE, "no attribute for the state key %s", key);
	(void)snprintf(filter, sizeof(filter), "(&(objectClass=eschoolAccount)(%s=*))", attr);
	return foreach_found(s, filter, fn, arg, err);
}

/* shadowLastChange of the account (SSSD writes it with a password change:
 * ldap_chpass_update_last_change = true). */
static int dir_last_change(const struct es_store *s, const char *user, long *day,
                           struct es_err *err)
{
	struct es_ldap *c = connected(s, err);
	char dn[512], *attrs[] = { "shadowLastChange", NULL };
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	int rc;

	if (c == NULL || es_ldap_user_dn(c, user, dn, sizeof(dn), err) != 0)
		return -1;
	rc = ldap_search_ext_s(c->ld, dn, LDAP_SCOPE_BASE, "(objectClass=shadowAccount)", attrs, 0,
	                       NULL, NULL, NULL, 1, &res);
	if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT) {
		ldap_msgfree(res);
		return es_ldap_fail(c, rc, "reading shadowLastChange in the directory", err);
	}
	e = rc == LDAP_SUCCESS ? ldap_first_entry(c->ld, res) : NULL;
	if (e != NULL)
		v = ldap_get_values_len(c->ld, e, "shadowLastChange");
	rc = 0;
	if (v != NULL && v[0] != NULL && v[0]->bv_len < 24) {
		char num[24];

		memcpy(num, v[0]->bv_val, v[0]->bv_len);
		num[v[0]->bv_len] = '\0';
		rc = es_parse_long(num, 0, 1000000L, day) == 0 ? 1 : 0;
	}
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return rc;
}

/* The value of attr on the counter entry: 0 read (into out), 1 none. */
static int read_pool_value(struct es_ldap *c, const char *attr, char *out, size_t outsz,
                           struct es_err *err)
{
	char *attrs[] = { (char *)attr, NULL };
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	int rc = ldap_search_ext_s(c->ld, c->ids_dn, LDAP_SCOPE_BASE,
	                           "(objectClass=eschoolIdPool)", attrs, 0, NULL, NULL, NULL, 1,
	                           &res);

	if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT) {
		ldap_msgfree(res);
		return es_ldap_fail(c, rc, "reading the directory's counter entry", err);
	}
	e = rc == LDAP_SUCCESS ? ldap_first_entry(c->ld, res) : NULL;
	if (e != NULL)
		v = ldap_get_values_len(c->ld, e, attr);
	rc = 1;
	if (v != NULL && v[0] != NULL && v[0]->bv_len < outsz) {
		memcpy(out, v[0]->bv_val, v[0]->bv_len);
		out[v[0]->bv_len] = '\0';
		rc = 0;
	}
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return rc;
}

/* The code key on the counter entry (eschoolCodeKey, hex; the
 * workstations may read it, as they check codes typed at login); made by
 * the first helper that needs it, once (a single-valued add: a second
 * server's add fails and it reads the first one's). */
static int dir_code_key(const struct es_store *s, bool create, unsigned char *key,
                        struct es_err *err)
{
	struct es_ldap *c = connected(s, err);
	char hex[2 * ES_CODE_KEY_LEN + 1];
	int rc;

	if (c == NULL)
		return -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = read_pool_value(c, "eschoolCodeKey", hex, sizeof(hex), err);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			rc = es_unhex(key, ES_CODE_KEY_LEN, hex) == 0
			             ? 0
			             : es_err_set(err, ES_EDATA,
			                          "%s: eschoolCodeKey is not %d bytes in hex", c->ids_dn,
			                          ES_CODE_KEY_LEN);
			es_wipe(hex, sizeof(hex));
			return rc;
		}
		if (!create)
			return es_err_set(err, ES_ENOUSER,
			                  "%s has no eschoolCodeKey yet (the first eschool set-email "
			                  "makes it)",
			                  c->ids_dn);
		{
			unsigned char fresh[ES_CODE_KEY_LEN];
			char *vals[] = { hex, NULL };
			LDAPMod m = { LDAP_MOD_ADD, "eschoolCodeKey", { .modv_strvals = vals } };
			LDAPMod *mods[] = { &m, NULL };

			if (es_random(fresh, sizeof(fresh)) != 0)
				return es_err_errno(err, ES_EOS, errno, "no random bytes for a code key");
			es_hex(hex, fresh, sizeof(fresh));
			es_wipe(fresh, sizeof(fresh));
			rc = ldap_modify_ext_s(c->ld, c->ids_dn, mods, NULL, NULL);
			es_wipe(hex, sizeof(hex));
			if (rc != LDAP_SUCCESS && !conflict(rc))
				return es_ldap_fail(c, rc, "storing the code key in the directory", err);
		}
	}
	return es_err_set(err, ES_ETEMP, "%s: the code key could not be read back", c->ids_dn);
}

static const struct es_store_ops dir_ops = {
	.name = "ldap",
	.lock = es_store_flock,
	.unlock = es_store_funlock,
	.load = dir_load,
	.save = dir_save,
	.remove = dir_remove,
	.foreach = dir_foreach,
	.foreach_with = dir_foreach_with,
	.lock_all = es_store_flock_all,
	.tidy = dir_tidy,
	.last_change = dir_last_change,
	.code_key = dir_code_key,
	.cas = true,
	.notices_in_state = true,
};

void es_store_ldap(struct es_store *s, struct es_ldap *conn, const char *state_dir)
{
	memset(s, 0, sizeof(*s));
	s->ops = &dir_ops;
	s->ldap = conn;
	s->person_fields = true;
	(void)es_strlcpy(s->dir, state_dir, sizeof(s->dir));
}

int es_store_ldap_open(struct es_store *s, const struct es_config *cfg, long timeout_s,
                       struct es_err *err)
{
	struct es_ldap *c = calloc(1, sizeof(*c));

	memset(s, 0, sizeof(*s));
	if (c == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	if (es_ldap_open(c, cfg, timeout_s, err) != 0) {
		es_ldap_close(c);
		free(c);
		return -1;
	}
	es_store_ldap(s, c, cfg->state_dir);
	s->person_fields = false; /* a workstation's: eschool's attributes only */
	return 0;
}

void es_store_ldap_close(struct es_store *s)
{
	if (s->ldap != NULL) {
		es_ldap_close(s->ldap);
		free(s->ldap);
		s->ldap = NULL;
	}
}
