/* accounts.backend = ldap: accounts in the school's directory.
 *
 * An account is uid=USER,users_dn: inetOrgPerson (made with eschool's
 * state first, see lib/es_store_ldap.c) + posixAccount + shadowAccount,
 * userPassword {CRYPT}<libxcrypt hash>, shadowLastChange 0 for a
 * temporary password (SSSD's ldap_pwd_policy = shadow then demands the
 * change on every workstation), the role's shadowMax and shadowWarning.
 * Each role group is a posixGroup under groups_dn (memberUid; with
 * schema = rfc2307bis a groupOfNames + posixGroup with member DNs).
 *
 * uid and gid numbers come from the counter entry ids_dn (eschoolIdPool)
 * by compare-and-set: one modify deletes the value read and adds the next;
 * when another server took that number first the delete fails and we read
 * again. A number some entry already uses (made by another tool) is
 * skipped. Every write is idempotent: an account half made by a killed
 * run is completed by the next, never made twice. */
#include <grp.h>
#include <ldap.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "accounts.h"
#include "directory.h"
#include "es_ldap.h"
#include "es_util.h"

/* The helper's one connection (prepare opens it before any command runs). */
static struct es_ldap *directory;

#define CAS_TRIES 50

void accounts_use_directory(struct es_ldap *c)
{
	directory = c;
}

static int no_directory(struct es_err *err)
{
	return es_err_set(err, ES_EUNAVAIL, "the directory is not connected (a bug)");
}

/* The first value of attr on the entries filter finds under base (scope
 * one level or base), into out: 0 found, 1 no such entry or value. */
static int read_value(const char *base, int scope, const char *filter, const char *attr,
                      char *out, size_t outsz, char *dn_out, size_t dnsz, struct es_err *err)
{
	char *attrs[] = { (char *)attr, NULL };
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	int rc = ldap_search_ext_s(directory->ld, base, scope, filter, attrs, 0, NULL, NULL, NULL,
	                           1, &res);

	if (rc == LDAP_NO_SUCH_OBJECT) {
		ldap_msgfree(res);
		return 1;
	}
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		ldap_msgfree(res);
		return es_ldap_fail(directory, rc, "searching the directory", err);
	}
	e = ldap_first_entry(directory->ld, res);
	if (e != NULL)
		v = ldap_get_values_len(directory->ld, e, attr);
	rc = 1;
	if (e != NULL && dn_out != NULL) {
		char *dn = ldap_get_dn(directory->ld, e);
		(void)es_strlcpy(dn_out, dn != NULL ? dn : "", dnsz);
		ldap_memfree(dn);
	}
	if (v != NULL && v[0] != NULL && v[0]->bv_len < outsz) {
		memcpy(out, v[0]->bv_val, v[0]->bv_len);
		out[v[0]->bv_len] = '\0';
		rc = 0;
	} else if (e != NULL && v == NULL && out != NULL && outsz > 0) {
		out[0] = '\0'; /* the entry is there, without that attribute */
		rc = 2;
	}
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return rc;
}

static int modify(const char *dn, LDAPMod **mods, const char *what, struct es_err *err)
{
	int rc = ldap_modify_ext_s(directory->ld, dn, mods, NULL, NULL);

	if (rc != LDAP_SUCCESS)
		return es_ldap_fail(directory, rc, what, err);
	return 0;
}

/* Is number used as attr (uidNumber, gidNumber) by an entry already? */
static int number_used(const char *attr, long number, bool *used, struct es_err *err)
{
	char filter[64], cn[256], dn[512] = "";
	int rc;

	(void)snprintf(filter, sizeof(filter), "(%s=%ld)", attr, number);
	/* an entry found is one using it, whatever its cn (a long one does
	 * not fit cn[]: the DN says it was found) */
	rc = read_value(directory->conf->base, LDAP_SCOPE_SUBTREE, filter, "cn", cn, sizeof(cn), dn,
	                sizeof(dn), err);
	if (rc < 0)
		return -1;
	*used = rc != 1 || dn[0] != '\0';
	return 0;
}

/* The next free number of attr (uidNumber, gidNumber) from the counter. */
static int take_number(const char *attr, long *out, struct es_err *err)
{
	char value[32] = "", next[32];

	*out = 0;
	for (int tries = 0; tries < CAS_TRIES; tries++) {
		char *del[] = { value, NULL }, *add[] = { next, NULL };
		LDAPMod m_del = { LDAP_MOD_DELETE, (char *)attr, { .modv_strvals = del } };
		LDAPMod m_add = { LDAP_MOD_ADD, (char *)attr, { .modv_strvals = add } };
		LDAPMod *mods[] = { &m_del, &m_add, NULL };
		long n;
		bool used = false;
		int rc = read_value(directory->ids_dn, LDAP_SCOPE_BASE, "(objectClass=eschoolIdPool)",
		                    attr, value, sizeof(value), NULL, 0, err);

		if (rc < 0)
			return -1;
		if (rc != 0 || es_parse_long(value, 1, 2147483646L, &n) != 0)
			return es_err_set(err, ES_ECONFIG,
			                  "the directory has no counter %s with a number in %s: add it "
			                  "(packaging/ldap/dit.ldif, cn=eschool-ids) or set [ldap] ids_dn",
			                  directory->ids_dn, attr);
		(void)snprintf(next, sizeof(next), "%ld", n + 1);
		rc = ldap_modify_ext_s(directory->ld, directory->ids_dn, mods, NULL, NULL);
		if (rc == LDAP_NO_SUCH_ATTRIBUTE)
			continue; /* another server took n first: read again */
		if (rc != LDAP_SUCCESS)
			return es_ldap_fail(directory, rc, "taking a number from the directory's counter",
			                    err);
		if (number_used(attr, n, &used, err) != 0)
			return -1;
		if (!used) {
			*out = n;
			return 0;
		}
		tries = 0; /* taken by an entry made elsewhere: skip it, it was ours to skip */
	}
	return es_err_set(err, ES_ETEMP,
	                  "the directory's counter %s kept changing under us (%d tries): other "
	                  "servers are creating accounts; run the command again",
	                  directory->ids_dn, CAS_TRIES);
}

/* The role group name: its gidNumber, the group made when missing. */
static int ensure_group(const char *name, long *gid, struct es_err *err)
{
	char filter[96], value[32] = "", dn[512];
	int rc;

	*gid = 0;
	(void)snprintf(filter, sizeof(filter), "(&(objectClass=posixGroup)(cn=%s))", name);
	rc = read_value(directory->groups_dn, LDAP_SCOPE_ONELEVEL, filter, "gidNumber", value,
	                sizeof(value), NULL, 0, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return es_parse_long(value, 0, 2147483647L, gid) == 0
		               ? 0
		               : es_err_set(err, ES_EDATA, "group %s: bad gidNumber '%s' in the directory",
		                            name, value);
	if (take_number("gidNumber", gid, err) != 0)
		return -1;
	(void)snprintf(value, sizeof(value), "%ld", *gid);
	if ((size_t)snprintf(dn, sizeof(dn), "cn=%s,%s", name, directory->groups_dn) >= sizeof(dn))
		return es_err_set(err, ES_ECONFIG, "[ldap] groups_dn is too long");
	{
		bool bis = directory->conf->schema == ES_LDAP_RFC2307BIS;
		char *oc_plain[] = { "top", "posixGroup", NULL };
		char *oc_bis[] = { "top", "groupOfNames", "posixGroup", NULL };
		char *cn[] = { (char *)name, NULL }, *gidv[] = { value, NULL };
		/* groupOfNames needs a member: the group's own DN, as is usual */
		char *self[] = { dn, NULL };
		LDAPMod oc = { LDAP_MOD_ADD, "objectClass", { .modv_strvals = bis ? oc_bis : oc_plain } };
		LDAPMod m_cn = { LDAP_MOD_ADD, "cn", { .modv_strvals = cn } };
		LDAPMod m_gid = { LDAP_MOD_ADD, "gidNumber", { .modv_strvals = gidv } };
		LDAPMod m_member = { LDAP_MOD_ADD, "member", { .modv_strvals = self } };
		LDAPMod *mods[] = { &oc, &m_cn, &m_gid, bis ? &m_member : NULL, NULL };

		rc = ldap_add_ext_s(directory->ld, dn, mods, NULL, NULL);
	}
	if (rc == LDAP_ALREADY_EXISTS) /* another server made it meanwhile */
		return ensure_group(name, gid, err);
	if (rc != LDAP_SUCCESS)
		return es_ldap_fail(directory, rc, "making a group in the directory", err);
	return 0;
}

/* user in group (memberUid, or member DN with rfc2307bis); already there
 * is fine. */
static int join_group(const char *group, const char *user, const char *user_dn,
                      struct es_err *err)
{
	bool bis = directory->conf->schema == ES_LDAP_RFC2307BIS;
	char dn[512], *val[] = { (char *)(bis ? user_dn : user), NULL };
	LDAPMod m = { LDAP_MOD_ADD, bis ? "member" : "memberUid", { .modv_strvals = val } };
	LDAPMod *mods[] = { &m, NULL };
	int rc;

	(void)snprintf(dn, sizeof(dn), "cn=%s,%s", group, directory->groups_dn);
	rc = ldap_modify_ext_s(directory->ld, dn, mods, NULL, NULL);
	if (rc == LDAP_SUCCESS || rc == LDAP_TYPE_OR_VALUE_EXISTS)
		return 0;
	return es_ldap_fail(directory, rc, "adding a user to a group in the directory", err);
}

/* user out of group (both ways of listing members); not there, or no
 * such group, is fine. */
static int leave_group(const char *group_dn, const char *user, const char *user_dn,
                       struct es_err *err)
{
	char *uidv[] = { (char *)user, NULL }, *dnv[] = { (char *)user_dn, NULL };
	LDAPMod m_uid = { LDAP_MOD_DELETE, "memberUid", { .modv_strvals = uidv } };
	LDAPMod m_dn = { LDAP_MOD_DELETE, "member", { .modv_strvals = dnv } };
	LDAPMod *uid_mods[] = { &m_uid, NULL }, *dn_mods[] = { &m_dn, NULL };
	int rc = ldap_modify_ext_s(directory->ld, group_dn, uid_mods, NULL, NULL);

	if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_ATTRIBUTE && rc != LDAP_NO_SUCH_OBJECT)
		return es_ldap_fail(directory, rc, "taking a user out of a group in the directory",
		                    err);
	rc = ldap_modify_ext_s(directory->ld, group_dn, dn_mods, NULL, NULL);
	if (rc == LDAP_OBJECT_CLASS_VIOLATION) {
		/* the last member of a groupOfNames (one another tool made,
		 * without its own DN as eschool's have): the group's own DN
		 * takes its place, in the same change */
		char *selfv[] = { (char *)group_dn, NULL };
		LDAPMod m_self = { LDAP_MOD_ADD, "member", { .modv_strvals = selfv } };
		LDAPMod *swap[] = { &m_self, &m_dn, NULL };

		rc = ldap_modify_ext_s(directory->ld, group_dn, swap, NULL, NULL);
	}
	if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_ATTRIBUTE && rc != LDAP_NO_SUCH_OBJECT)
		return es_ldap_fail(directory, rc, "taking a user out of a group in the directory",
		                    err);
	return 0;
}

static int dir_member(const char *group, const char *user, bool in, struct es_err *err)
{
	char user_dn[512], group_dn[512];
	long gid;

	if (directory == NULL || directory->ld == NULL)
		return no_directory(err);
	if (es_ldap_user_dn(directory, user, user_dn, sizeof(user_dn), err) != 0)
		return -1;
	if (in)
		return ensure_group(group, &gid, err) != 0 ? -1 : join_group(group, user, user_dn, err);
	if ((size_t)snprintf(group_dn, sizeof(group_dn), "cn=%s,%s", group, directory->groups_dn) >=
	    sizeof(group_dn))
		return es_err_set(err, ES_ECONFIG, "[ldap] groups_dn is too long");
	return leave_group(group_dn, user, user_dn, err);
}

/* A group under groups_dn (any kind: a class group never takes over an
 * entry eschool did not make), or one NSS knows on this server. */
static int dir_group_exists(const char *group, struct es_err *err)
{
	char filter[128], cn[256], dn[512] = "";
	struct berval bv = { strlen(group), (char *)group }, escaped = { 0, NULL };
	int rc;

	if (directory == NULL || directory->ld == NULL)
		return no_directory(err);
	if (getgrnam(group) != NULL)
		return 1;
	if (ldap_bv2escaped_filter_value(&bv, &escaped) != 0)
		return es_err_set(err, ES_EOS, "out of memory");
	rc = snprintf(filter, sizeof(filter), "(cn=%s)", escaped.bv_val);
	ber_memfree(escaped.bv_val);
	if (rc < 0 || (size_t)rc >= sizeof(filter))
		return es_err_set(err, ES_EDATA, "group name too long: %s", group);
	rc = read_value(directory->groups_dn, LDAP_SCOPE_ONELEVEL, filter, "cn", cn, sizeof(cn), dn,
	                sizeof(dn), err);
	if (rc < 0)
		return -1;
	return rc != 1 || dn[0] != '\0' ? 1 : 0;
}

static int dir_class_group(const char *group, struct es_err *err)
{
	long gid;

	if (directory == NULL || directory->ld == NULL)
		return no_directory(err);
	return ensure_group(group, &gid, err);
}

/* The group's entry removed when it lists nobody (with rfc2307bis, no
 * member but its own DN). */
static int dir_group_drop(const char *group, bool *dropped, struct es_err *err)
{
	char dn[512], filter[128];
	char *attrs[] = { "memberUid", "member", NULL };
	LDAPMessage *res = NULL, *e;
	bool members = false;
	int rc;

	*dropped = false;
	if (directory == NULL || directory->ld == NULL)
		return no_directory(err);
	if ((size_t)snprintf(dn, sizeof(dn), "cn=%s,%s", group, directory->groups_dn) >= sizeof(dn))
		return es_err_set(err, ES_ECONFIG, "[ldap] groups_dn is too long");
	(void)snprintf(filter, sizeof(filter), "(objectClass=posixGroup)");
	rc = ldap_search_ext_s(directory->ld, dn, LDAP_SCOPE_BASE, filter, attrs, 0, NULL, NULL,
	                       NULL, 1, &res);
	if (rc == LDAP_NO_SUCH_OBJECT) {
		ldap_msgfree(res);
		return 0;
	}
	if (rc != LDAP_SUCCESS) {
		ldap_msgfree(res);
		return es_ldap_fail(directory, rc, "searching the directory", err);
	}
	e = ldap_first_entry(directory->ld, res);
	if (e == NULL) { /* not a posixGroup: not ours to remove */
		ldap_msgfree(res);
		return 0;
	}
	for (int a = 0; a < 2 && !members; a++) {
		struct berval **v = ldap_get_values_len(directory->ld, e, attrs[a]);

		for (size_t i = 0; v != NULL && v[i] != NULL && !members; i++)
			members = a == 0 || v[i]->bv_len != strlen(dn) ||
			          strncasecmp(v[i]->bv_val, dn, v[i]->bv_len) != 0;
		ldap_value_free_len(v);
	}
	ldap_msgfree(res);
	if (members)
		return 0;
	rc = ldap_delete_ext_s(directory->ld, dn, NULL, NULL);
	if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT) {
		*dropped = rc == LDAP_SUCCESS;
		return 0;
	}
	return es_ldap_fail(directory, rc, "removing a group from the directory", err);
}

/* A new role: its groups, and its first group as the primary one (as
 * make_posix gave it; "users" for a role without groups). */
static int dir_set_role(const struct es_role *from, const struct es_role *to,
                        const struct es_aging *aging, const char *user, struct es_err *err)
{
	char dn[512], gidv[32], max[32], warn[32];
	char *v[] = { gidv, NULL }, *v_max[] = { max, NULL }, *v_warn[] = { warn, NULL };
	LDAPMod m = { LDAP_MOD_REPLACE, "gidNumber", { .modv_strvals = v } };
	LDAPMod m_max = { LDAP_MOD_REPLACE, "shadowMax", { .modv_strvals = v_max } };
	LDAPMod m_warn = { LDAP_MOD_REPLACE, "shadowWarning", { .modv_strvals = v_warn } };
	LDAPMod *mods[] = { &m, &m_max, &m_warn, NULL };
	long gid = 100;

	if (directory == NULL || directory->ld == NULL)
		return no_directory(err);
	if (es_ldap_user_dn(directory, user, dn, sizeof(dn), err) != 0)
		return -1;
	if (to != NULL && to->n_groups > 0 && ensure_group(to->groups[0], &gid, err) != 0)
		return -1;
	if (es_account_role_groups_move(from, to, user, dir_member, err) != 0)
		return -1;
	(void)snprintf(gidv, sizeof(gidv), "%ld", gid);
	(void)snprintf(max, sizeof(max), "%ld", aging->max);
	(void)snprintf(warn, sizeof(warn), "%ld", aging->warn);
	return modify(dn, mods, "changing an account's role in the directory", err);
}

struct posix_fields {
	const char *user, *fullname, *home_base, *shell;
	const char (*groups)[ES_NAME_MAX + 1];
	size_t n_groups;
};

static bool ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Makes user's entry a posixAccount + shadowAccount (or finds it one
 * already: *made false, uid and gid read back). */
static int make_posix(const struct posix_fields *f, bool *made, long *uid, long *gid,
                      struct es_err *err)
{
	char dn[512], value[32] = "", filter[32], home[1300], uidv[32], gidv[32];
	int rc;

	*made = false;
	if (es_ldap_user_dn(directory, f->user, dn, sizeof(dn), err) != 0)
		return -1;
	*gid = 100; /* "users", for a role without groups */
	for (size_t i = 0; i < f->n_groups; i++) {
		long g = 0;
		if (ensure_group(f->groups[i], &g, err) != 0)
			return -1;
		if (i == 0)
			*gid = g;
	}
	(void)snprintf(filter, sizeof(filter), "(objectClass=posixAccount)");
	rc = read_value(dn, LDAP_SCOPE_BASE, filter, "uidNumber", value, sizeof(value), NULL, 0, err);
	if (rc < 0)
		return -1;
	if (rc == 0) { /* made by an earlier run */
		if (es_parse_long(value, 0, 2147483647L, uid) != 0)
			return es_err_set(err, ES_EDATA, "user %s: bad uidNumber '%s' in the directory",
			                  f->user, value);
	} else {
		char *oc[] = { "posixAccount", "shadowAccount", NULL };
		char *u[] = { uidv, NULL }, *g[] = { gidv, NULL }, *h[] = { home, NULL };
		char *sh[] = { (char *)f->shell, NULL }, *gecos[] = { NULL, NULL };
		char gecos_text[256];
		LDAPMod m_oc = { LDAP_MOD_ADD, "objectClass", { .modv_strvals = oc } };
		LDAPMod m_uid = { LDAP_MOD_ADD, "uidNumber", { .modv_strvals = u } };
		LDAPMod m_gid = { LDAP_MOD_ADD, "gidNumber", { .modv_strvals = g } };
		LDAPMod m_home = { LDAP_MOD_ADD, "homeDirectory", { .modv_strvals = h } };
		LDAPMod m_shell = { LDAP_MOD_ADD, "loginShell", { .modv_strvals = sh } };
		LDAPMod m_gecos = { LDAP_MOD_ADD, "gecos", { .modv_strvals = gecos } };
		LDAPMod *mods[] = { &m_oc, &m_uid, &m_gid, &m_home, &m_shell, NULL, NULL };

		if (take_number("uidNumber", uid, err) != 0)
			return -1;
		(void)snprintf(uidv, sizeof(uidv), "%ld", *uid);
		(void)snprintf(gidv, sizeof(gidv), "%ld", *gid);
		(void)snprintf(home, sizeof(home), "%s/%s", f->home_base, f->user);
		if (f->fullname != NULL && f->fullname[0] != '\0' && ascii(f->fullname)) {
			/* gecos is IA5 (ASCII) in RFC 2307 */
			es_account_gecos(f->fullname, gecos_text, sizeof(gecos_text));
			gecos[0] = gecos_text;
			mods[5] = &m_gecos;
		}
		if (modify(dn, mods, "making a directory entry an account", err) != 0)
			return -1;
		*made = true;
	}
	for (size_t i = 0; i < f->n_groups; i++)
		if (join_group(f->groups[i], f->user, dn, err) != 0)
			return -1;
	return 0;
}

static int dir_groups(const char (*groups)[ES_NAME_MAX + 1], size_t n, struct es_err *err)
{
	long gid = 0;

	if (directory == NULL || directory->ld == NULL)
		return no_directory(err);
	for (size_t i = 0; i < n; i++)
		if (ensure_group(groups[i], &gid, err) != 0)
			return -1;
	return 0;
}

/* 1 when user's entry is an account (posixAccount; *uid its number), 0
 * not, -1 error. */
static int posix_uid(const char *user, long *uid, struct es_err *err)
{
	char dn[512], value[32] = "";
	int rc;

	if (es_ldap_user_dn(directory, user, dn, sizeof(dn), err) != 0)
		return -1;
	rc = read_value(dn, LDAP_SCOPE_BASE, "(objectClass=posixAccount)", "uidNumber", value,
	                sizeof(value), NULL, 0, err);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return 0;
	if (rc != 0 || es_parse_long(value, 0, 2147483647L, uid) != 0)
		return es_err_set(err, ES_EDATA, "user %s: bad uidNumber '%s' in the directory", user,
		                  value);
	return 1;
}

static int posix_exists(const char *user, struct es_err *err)
{
	long uid;

	if (directory == NULL || directory->ld == NULL)
		return no_directory(err);
	return posix_uid(user, &uid, err);
}

int accounts_directory_uid(const char *user, long *uid, struct es_err *err)
{
	if (directory == NULL)
		return 2; /* no directory: NSS says */
	if (directory->ld == NULL)
		return no_directory(err);
	return posix_uid(user, uid, err);
}

static int dir_create(const struct es_policy *pol, const struct es_role *role, const char *user,
                       const char *fullname, struct es_err *err)
{
	const struct posix_fields f = {
		user, fullname, pol->home_base, pol->shell,
		role != NULL ? role->groups : NULL, role != NULL ? role->n_groups : 0,
	};
	bool made;
	long uid, gid;

	if (directory == NULL || directory->ld == NULL)
		return no_directory(err);
	return make_posix(&f, &made, &uid, &gid, err);
}

static int dir_set_password(const char *user, const char *hash, const struct es_aging *aging,
                             struct es_err *err)
{
	char dn[512], *pw = NULL, last[32], max[32], warn[32];
	char *v_pw[] = { NULL, NULL }, *v_last[] = { last, NULL }, *v_max[] = { max, NULL };
	char *v_warn[] = { warn, NULL };
	LDAPMod m_pw = { LDAP_MOD_REPLACE, "userPassword", { .modv_strvals = v_pw } };
	LDAPMod m_last = { LDAP_MOD_REPLACE, "shadowLastChange", { .modv_strvals = v_last } };
	LDAPMod m_max = { LDAP_MOD_REPLACE, "shadowMax", { .modv_strvals = v_max } };
	LDAPMod m_warn = { LDAP_MOD_REPLACE, "shadowWarning", { .modv_strvals = v_warn } };
	LDAPMod *mods[] = { &m_pw, &m_last, &m_max, &m_warn, NULL };
	int rc;

	if (directory == NULL || directory->ld == NULL)
		return no_directory(err);
	if (es_ldap_user_dn(directory, user, dn, sizeof(dn), err) != 0)
		return -1;
	if (asprintf(&pw, "{CRYPT}%s", hash) < 0)
		return es_err_set(err, ES_EOS, "out of memory");
	v_pw[0] = pw;
	(void)snprintf(last, sizeof(last), "%ld", aging->lastchg);
	(void)snprintf(max, sizeof(max), "%ld", aging->max);
	(void)snprintf(warn, sizeof(warn), "%ld", aging->warn);
	rc = modify(dn, mods, "setting a password in the directory", err);
	es_free_secret(&pw);
	return rc;
}

/* gecos (IA5: only an ASCII name; cn, sn and givenName follow the
 * state, lib/es_store_ldap.c) */
static int dir_fullname(const char *user, const char *fullname, struct es_err *err)
{
	char dn[512], gecos[256];
	char *v[] = { gecos, NULL };
	LDAPMod m_set = { LDAP_MOD_REPLACE, "gecos", { .modv_strvals = v } };
	LDAPMod m_del = { LDAP_MOD_DELETE, "gecos", { .modv_strvals = NULL } };
	LDAPMod *mods[] = { NULL, NULL };
	int rc;

	if (directory == NULL || directory->ld == NULL)
		return no_directory(err);
	if (es_ldap_user_dn(directory, user, dn, sizeof(dn), err) != 0)
		return -1;
	es_account_gecos(fullname, gecos, sizeof(gecos));
	mods[0] = gecos[0] != '\0' && ascii(gecos) ? &m_set : &m_del;
	rc = ldap_modify_ext_s(directory->ld, dn, mods, NULL, NULL);
	if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_ATTRIBUTE)
		return 0;
	return es_ldap_fail(directory, rc, "renaming an account in the directory", err);
}

/* disable: shadowExpire 1 (SSSD's ldap_account_expire_policy = shadow
 * refuses the account) and a userPassword no password matches ("{CRYPT}!"
 * before the hash, as passwd -l does); enable undoes both. */
static int dir_lock(const char *user, bool lock, struct es_err *err)
{
	char dn[512], old[1024], *pw = NULL;
	char *v_pw[] = { NULL, NULL }, *v_exp[] = { "1", NULL };
	LDAPMod m_pw = { LDAP_MOD_REPLACE, "userPassword", { .modv_strvals = v_pw } };
	LDAPMod m_exp = { LDAP_MOD_REPLACE, "shadowExpire", { .modv_strvals = v_exp } };
	LDAPMod m_unexp = { LDAP_MOD_DELETE, "shadowExpire", { .modv_strvals = NULL } };
	LDAPMod *mods[] = { lock ? &m_exp : &m_unexp, NULL, NULL };
	bool locked;
	int rc;

	if (directory == NULL || directory->ld == NULL)
		return no_directory(err);
	if (es_ldap_user_dn(directory, user, dn, sizeof(dn), err) != 0)
		return -1;
	rc = read_value(dn, LDAP_SCOPE_BASE, "(objectClass=*)", "userPassword", old, sizeof(old),
	                NULL, 0, err);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return es_err_set(err, ES_ENOUSER, "user %s: no such entry in the directory", user);
	locked = rc == 0 && strncmp(old, "{CRYPT}!", 8) == 0;
	if (rc == 0 && lock != locked) {
		int n = lock ? asprintf(&pw, "{CRYPT}!%s", strncmp(old, "{CRYPT}", 7) == 0 ? old + 7 : old)
		             : asprintf(&pw, "%s%s", old[8] == '{' ? "" : "{CRYPT}", old + 8);

		if (n < 0)
			pw = NULL;
		v_pw[0] = pw;
		mods[1] = &m_pw;
	}
	sodium_memzero(old, sizeof(old));
	if (mods[1] != NULL && pw == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	if (!lock) { /* shadowExpire first, alone: it may not be there */
		LDAPMod *exp_only[] = { &m_unexp, NULL };

		rc = ldap_modify_ext_s(directory->ld, dn, exp_only, NULL, NULL);
		if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_ATTRIBUTE) {
			es_free_secret(&pw);
			return es_ldap_fail(directory, rc, "unlocking an account in the directory", err);
		}
		mods[0] = mods[1], mods[1] = NULL;
		if (mods[0] == NULL)
			return 0;
	}
	rc = modify(dn, mods, lock ? "locking an account in the directory"
	                           : "unlocking an account in the directory",
	            err);
	es_free_secret(&pw);
	return rc;
}

/* Undoes a half-made account: out of its groups (memberUid, or its DN as
 * member with rfc2307bis), then the entry. */
static int dir_remove(const char *user, struct es_err *err)
{
	char dn[512], filter[1200], group_dn[512], cn[256], *esc_dn = NULL;
	struct berval bv, escaped = { 0, NULL };
	int rc;

	if (directory == NULL || directory->ld == NULL)
		return no_directory(err);
	if (es_ldap_user_dn(directory, user, dn, sizeof(dn), err) != 0)
		return -1;
	bv.bv_val = dn;
	bv.bv_len = strlen(dn);
	if (ldap_bv2escaped_filter_value(&bv, &escaped) != 0)
		return es_err_set(err, ES_EOS, "out of memory");
	esc_dn = escaped.bv_val;
	rc = snprintf(filter, sizeof(filter),
	              "(&(objectClass=posixGroup)(|(memberUid=%s)(member=%s)))", user, esc_dn);
	ber_memfree(esc_dn);
	if (rc < 0 || (size_t)rc >= sizeof(filter))
		return es_err_set(err, ES_ECONFIG, "[ldap] users_dn is too long");
	for (int i = 0;; i++) {
		/* (the cn is read to learn the entry's DN: any length will do) */
		group_dn[0] = '\0';
		rc = read_value(directory->groups_dn, LDAP_SCOPE_ONELEVEL, filter, "cn", cn,
		                sizeof(cn), group_dn, sizeof(group_dn), err);
		if (rc < 0)
			return -1;
		if (rc == 1 && group_dn[0] == '\0')
			break;
		/* a group that keeps the member after the modify would loop */
		if (i == 1024)
			return es_err_set(err, ES_ESOFTWARE,
			                  "%s is still a member of %s after 1024 changes: not removed",
			                  user, group_dn);
		if (leave_group(group_dn, user, dn, err) != 0)
			return -1;
	}
	rc = ldap_delete_ext_s(directory->ld, dn, NULL, NULL);
	if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT)
		return 0;
	return es_ldap_fail(directory, rc, "removing an account from the directory", err);
}

/* eschool delete: the entry and its groups' memberships; homes of a
 * directory's accounts are the file server's, never touched from here. */
static int dir_delete(const char *user, bool keep_home, struct es_err *err)
{
	(void)keep_home;
	return dir_remove(user, err);
}

int accounts_directory_probe(char *what, size_t whatsz, struct es_err *err)
{
	char value[32] = "", dn[512];
	char *classes[] = { "top", "inetOrgPerson", "eschoolAccount", NULL };
	char *probe[] = { "eschool-doctor-probe", NULL }, *mail[] = { "probe@invalid", NULL };
	LDAPMod oc = { LDAP_MOD_ADD, "objectClass", { .modv_strvals = classes } };
	LDAPMod m_uid = { LDAP_MOD_ADD, "uid", { .modv_strvals = probe } };
	LDAPMod m_cn = { LDAP_MOD_ADD, "cn", { .modv_strvals = probe } };
	LDAPMod m_sn = { LDAP_MOD_ADD, "sn", { .modv_strvals = probe } };
	LDAPMod m_mail = { LDAP_MOD_ADD, "eschoolMail", { .modv_strvals = mail } };
	LDAPMod *add[] = { &oc, &m_uid, &m_cn, &m_sn, &m_mail, NULL };
	int rc;

	if (directory == NULL || directory->ld == NULL)
		return no_directory(err);
	/* the counter: rewritten with the value it has (a compare-and-set
	 * that changes nothing) */
	(void)es_strlcpy(what, directory->ids_dn, whatsz);
	rc = read_value(directory->ids_dn, LDAP_SCOPE_BASE, "(objectClass=eschoolIdPool)",
	                "uidNumber", value, sizeof(value), NULL, 0, err);
	if (rc < 0)
		return -1;
	if (rc != 0)
		return es_err_set(err, ES_ECONFIG,
		                  "no counter %s (eschoolIdPool with uidNumber and gidNumber)",
		                  directory->ids_dn);
	{
		char *v[] = { value, NULL };
		LDAPMod m_del = { LDAP_MOD_DELETE, "uidNumber", { .modv_strvals = v } };
		LDAPMod m_add = { LDAP_MOD_ADD, "uidNumber", { .modv_strvals = v } };
		LDAPMod *mods[] = { &m_del, &m_add, NULL };

		if (modify(directory->ids_dn, mods, "writing the counter", err) != 0)
			return -1;
	}
	/* a new account's entry, made and removed */
	(void)es_strlcpy(what, directory->users_dn, whatsz);
	if (es_ldap_user_dn(directory, "eschool-doctor-probe", dn, sizeof(dn), err) != 0)
		return -1;
	(void)ldap_delete_ext_s(directory->ld, dn, NULL, NULL); /* a probe left by a kill */
	rc = ldap_add_ext_s(directory->ld, dn, add, NULL, NULL);
	if (rc != LDAP_SUCCESS)
		return es_ldap_fail(directory, rc, "making an entry under [ldap] users_dn", err);
	rc = ldap_delete_ext_s(directory->ld, dn, NULL, NULL);
	if (rc != LDAP_SUCCESS)
		return es_ldap_fail(directory, rc, "removing an entry under [ldap] users_dn", err);
	(void)es_strlcpy(what, directory->groups_dn, whatsz);
	rc = read_value(directory->groups_dn, LDAP_SCOPE_BASE, "(objectClass=*)", "objectClass",
	                value, sizeof(value), NULL, 0, err);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return es_err_set(err, ES_ECONFIG, "no entry %s ([ldap] groups_dn)",
		                  directory->groups_dn);
	return 0;
}

/* import's chunk: each account made (or completed) and its password set. */
static int dir_create_batch(struct newacct *accts, size_t n, struct es_err *err)
{
	if (directory == NULL || directory->ld == NULL)
		return no_directory(err);
	for (size_t i = 0; i < n; i++) {
		struct newacct *a = &accts[i];
		const struct posix_fields f = { a->user,  a->fullname, a->home_base,
			                        a->shell, a->groups,   a->n_groups };

		int found;

		a->created = a->refused = false;
		a->home = HOME_MADE; /* homes are made on the workstations (pam_mkhomedir) */
		found = a->must_be_new ? posix_exists(a->user, err) : 0;
		if (found < 0)
			return -1;
		if (found == 1) { /* made by someone else since the plan: not taken over */
			a->refused = true;
			continue;
		}
		if (make_posix(&f, &a->created, &a->uid, &a->gid, err) != 0 ||
		    (a->class_group != NULL && dir_member(a->class_group, a->user, true, err) != 0) ||
		    dir_set_password(a->user, a->hash, &a->aging, err) != 0)
			return es_err_prefix(err, "user %s", a->user);
	}
	return 0;
}

const struct account_source ldap_accounts = {
	.name = "ldap", .writes = true,
	.create = dir_create, .set_password = dir_set_password, .lock = dir_lock,
	.remove = dir_remove, .delete = dir_delete, .create_batch = dir_create_batch,
	.exists = posix_exists,
	.ensure_groups = dir_groups,
	.group_exists = dir_group_exists,
	.class_group = dir_class_group, .group_member = dir_member, .group_drop = dir_group_drop,
	.set_role = dir_set_role, .set_fullname = dir_fullname,
};
