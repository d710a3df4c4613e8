/* eschool backup / restore with accounts.backend = ldap: eschool's part of
 * the school's directory as LDIF (what slapcat would give of it, readable
 * by ldapadd too): the uid/gid counter entry, the groups under groups_dn,
 * and every account under users_dn that carries eschoolAccount, with all
 * its attributes (the password hashes and eschool's state included).
 *
 * restore puts each entry back as it was in the file: a missing entry is
 * added, an existing one gets the file's attributes and loses those the
 * file does not have (a later disable's shadowExpire, a pending address);
 * the counter never goes down (accounts made since keep their numbers,
 * and are left as they are and named). The file is read whole and checked
 * before anything is written: only the entries above, no other change
 * types, no value taken from a URL (an LDIF "attr:< file:///..." would
 * read a file of this machine into the directory). A restore cut short
 * (the directory gone) is completed by running it again.
 *
 * Each entry is read in one search and written in one operation; the file
 * is a set of consistent entries, not one snapshot of the whole directory
 * (workstations may write eschool's attributes meanwhile). The directory's
 * own backup (slapcat) remains the one for the directory as a whole. */
#include "cli.h"
#include "commands.h"
#include "ui.h"

#include <errno.h>
#include <stdio.h> /* before ldif.h, which uses FILE */
#include <ldap.h>
#include <ldif.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "es_ldap.h"
#include "strset.h"

#define LDIF_WIDTH 76

static int write_all(int fd, const char *s, size_t n, struct es_err *err)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return es_err_errno(err, ES_ECANTCREAT, errno, "cannot write the backup");
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One LDIF line (folded, base64 when the value needs it) to fd. */
static int put_line(int fd, const char *name, const char *val, size_t len, struct es_err *err)
{
	char *line = ldif_put_wrap(LDIF_PUT_VALUE, name, val, len, LDIF_WIDTH);
	int rc;

	if (line == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	rc = write_all(fd, line, strlen(line), err);
	ber_memfree(line);
	return rc;
}

struct dump {
	int fd;
	size_t entries;
};

static int dump_entry(struct es_ldap *c, struct ldapmsg *msg, void *arg, struct es_err *err)
{
	struct dump *d = arg;
	LDAPMessage *e = (LDAPMessage *)msg;
	BerElement *ber = NULL;
	char *dn = ldap_get_dn(c->ld, e);
	int rc;

	if (dn == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	rc = put_line(d->fd, "dn", dn, strlen(dn), err);
	ldap_memfree(dn);
	for (char *a = ldap_first_attribute(c->ld, e, &ber); a != NULL && rc == 0;
	     a = ldap_next_attribute(c->ld, e, ber)) {
		struct berval **v = ldap_get_values_len(c->ld, e, a);

		for (size_t i = 0; v != NULL && v[i] != NULL && rc == 0; i++)
			rc = put_line(d->fd, a, v[i]->bv_val, v[i]->bv_len, err);
		ldap_value_free_len(v);
		ldap_memfree(a);
	}
	ber_free(ber, 0);
	if (rc == 0)
		rc = write_all(d->fd, "\n", 1, err);
	d->entries++;
	return rc;
}

int directory_backup(struct es_ldap *c, int fd, size_t *entries, struct es_err *err)
{
	static const char head[] =
		"# eschool backup of the directory: the uid/gid counter, the groups and\n"
		"# the accounts eschool manages, with their password hashes and state.\n"
		"# Put back with: eschool restore FILE (or ldapadd into an empty tree).\n\n";
	char *all[] = { "*", NULL };
	struct dump d = { fd, 0 };
	int rc = write_all(fd, head, sizeof(head) - 1, err);

	if (rc == 0)
		rc = es_ldap_search_pages(c, c->ids_dn, LDAP_SCOPE_BASE, "(objectClass=*)", all,
		                          "reading the counter entry", dump_entry, &d, err);
	if (rc == 0)
		rc = es_ldap_search_pages(c, c->groups_dn, LDAP_SCOPE_ONELEVEL,
		                          "(objectClass=posixGroup)", all, "reading the groups",
		                          dump_entry, &d, err);
	if (rc == 0)
		rc = es_ldap_search_pages(c, c->users_dn, LDAP_SCOPE_ONELEVEL,
		                          "(objectClass=eschoolAccount)", all, "reading the accounts",
		                          dump_entry, &d, err);
	*entries = d.entries;
	return rc;
}

/* ---- restore ---- */

enum place { P_OTHER, P_IDS, P_GROUP, P_USER };

/* Where dn is: the counter entry, or right under groups_dn or users_dn
 * (compared normalized: case and spaces as the server would). */
static enum place place_of(const struct es_ldap *c, const char *dn)
{
	char *norm = NULL, *parent;
	enum place p = P_OTHER;
	const char *bases[] = { c->groups_dn, c->users_dn };
	const enum place kinds[] = { P_GROUP, P_USER };

	if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAPV3, &norm, LDAP_DN_FORMAT_LDAPV3) !=
	    LDAP_SUCCESS)
		return P_OTHER;
	for (size_t i = 0; i < 3 && p == P_OTHER; i++) {
		const char *base = i == 0 ? c->ids_dn : bases[i - 1];
		char *nbase = NULL;

		if (ldap_dn_normalize(base, LDAP_DN_FORMAT_LDAPV3, &nbase, LDAP_DN_FORMAT_LDAPV3) !=
		    LDAP_SUCCESS)
			continue;
		if (i == 0) {
			if (strcasecmp(norm, nbase) == 0)
				p = P_IDS;
		} else {
			/* one RDN (no unescaped comma before the parent) above base */
			parent = norm;
			while ((parent = strchr(parent, ',')) != NULL && parent[-1] == '\\')
				parent++;
			if (parent != NULL && strcasecmp(parent + 1, nbase) == 0)
				p = kinds[i - 1];
		}
		ldap_memfree(nbase);
	}
	ldap_memfree(norm);
	return p;
}

/* An LDIF line whose value is a URL ("name:< ..."), outside folded lines. */
static const char *url_line(const char *rec)
{
	for (const char *line = rec; line != NULL && *line != '\0';) {
		const char *colon = strchr(line, ':'), *end = strchr(line, '\n');

		if (*line != ' ' && *line != '#' && colon != NULL && (end == NULL || colon < end) &&
		    colon[1] == '<')
			return line;
		line = end != NULL ? end + 1 : NULL;
	}
	return NULL;
}

struct restore {
	struct es_ldap *c;
	const char *file;
	struct strset users; /* the accounts the file has (uid=, normalized dn) */
	size_t added, replaced, entries;
	bool apply;
};

static bool same_attr(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

static long number_of(const struct berval *v)
{
	char text[24];

	if (v == NULL || v->bv_len >= sizeof(text))
		return 0;
	memcpy(text, v->bv_val, v->bv_len);
	text[v->bv_len] = '\0';
	return strtol(text, NULL, 10);
}

/* The value of the counter's attr now (0 when absent). */
static long current_number(const struct es_ldap *c, const char *attr)
{
	char *attrs[] = { (char *)attr, NULL };
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	long n = 0;

	if (ldap_search_ext_s(c->ld, c->ids_dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL,
	                      NULL, NULL, 1, &res) == LDAP_SUCCESS &&
	    (e = ldap_first_entry(c->ld, res)) != NULL &&
	    (v = ldap_get_values_len(c->ld, e, attr)) != NULL)
		n = number_of(v[0]);
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return n;
}

/* Puts one entry back: added when missing, else its attributes replaced
 * and those it did not have removed. */
static int put_back(struct restore *r, const char *dn, enum place place, LDAPMod **mods,
                    struct es_err *err)
{
	struct es_ldap *c = r->c;
	char *all[] = { "*", NULL };
	LDAPMessage *res = NULL, *e;
	BerElement *ber = NULL;
	LDAPMod *list[128], slots[128];
	char *owned[128]; /* the names copied here, freed at the end */
	size_t n = 0, n_owned = 0;
	int rc = ldap_search_ext_s(c->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", all, 0, NULL,
	                           NULL, NULL, 1, &res);

	if (rc == LDAP_NO_SUCH_OBJECT) {
		ldap_msgfree(res);
		rc = ldap_add_ext_s(c->ld, dn, mods, NULL, NULL);
		if (rc != LDAP_SUCCESS)
			return es_ldap_fail(c, rc, "restoring an entry", err);
		r->added++;
		return 0;
	}
	if (rc != LDAP_SUCCESS || (e = ldap_first_entry(c->ld, res)) == NULL) {
		ldap_msgfree(res);
		return es_ldap_fail(c, rc != LDAP_SUCCESS ? rc : LDAP_NO_SUCH_OBJECT,
		                    "reading an entry to restore", err);
	}
	for (size_t i = 0; mods[i] != NULL; i++) {
		const char *type = mods[i]->mod_type;

		if (n == ES_ARRAY_LEN(slots) - 1)
			break;
		/* the counter goes up only: numbers given since stay taken */
		if (place == P_IDS && (same_attr(type, "uidNumber") || same_attr(type, "gidNumber")) &&
		    mods[i]->mod_bvalues != NULL && mods[i]->mod_bvalues[0] != NULL &&
		    current_number(c, type) > number_of(mods[i]->mod_bvalues[0]))
			continue;
		slots[n] = (LDAPMod){ LDAP_MOD_REPLACE | LDAP_MOD_BVALUES, mods[i]->mod_type,
			              { .modv_bvals = mods[i]->mod_bvalues } };
		list[n] = &slots[n];
		n++;
	}
	/* what the entry has that the file does not: removed */
	for (char *a = ldap_first_attribute(c->ld, e, &ber); a != NULL;
	     a = ldap_next_attribute(c->ld, e, ber)) {
		bool kept = false;

		for (size_t i = 0; mods[i] != NULL && !kept; i++)
			kept = same_attr(a, mods[i]->mod_type);
		if (!kept && n < ES_ARRAY_LEN(slots) - 1) {
			char *type = strdup(a);

			if (type == NULL) {
				ldap_memfree(a);
				rc = es_err_set(err, ES_EOS, "out of memory");
				break;
			}
			owned[n_owned++] = type;
			slots[n] = (LDAPMod){ LDAP_MOD_REPLACE | LDAP_MOD_BVALUES, type,
				              { .modv_bvals = NULL } };
			list[n] = &slots[n];
			n++;
		}
		ldap_memfree(a);
	}
	ber_free(ber, 0);
	ldap_msgfree(res);
	list[n] = NULL;
	if (rc == LDAP_SUCCESS && n > 0) {
		rc = ldap_modify_ext_s(c->ld, dn, list, NULL, NULL);
		rc = rc == LDAP_SUCCESS ? 0 : es_ldap_fail(c, rc, "restoring an entry", err);
	}
	for (size_t i = 0; i < n_owned; i++)
		free(owned[i]);
	if (rc == 0)
		r->replaced++;
	return rc;
}

/* One record of the file: checked (first pass) or put back (second). */
static int one_record(struct restore *r, char *text, int len, unsigned long line,
                      struct es_err *err)
{
	struct berval buf = { (ber_len_t)len, text };
	LDIFRecord rec;
	enum place place;
	char dn[1024];
	int rc;

	if (url_line(text) != NULL)
		return es_err_set(err, ES_EDATA,
		                  "%s:%lu: a value taken from a URL (\":<\"): not restored; this is "
		                  "not a file eschool backup wrote",
		                  r->file, line);
	memset(&rec, 0, sizeof(rec));
	if (ldap_parse_ldif_record(&buf, line, &rec, "eschool", LDIF_DEFAULT_ADD | LDIF_NO_CONTROLS) !=
	    0)
		return es_err_set(err, ES_EDATA,
		                  "%s:%lu: not an LDIF entry; this is not a file eschool backup wrote",
		                  r->file, line);
	if (rec.lr_op != LDAP_REQ_ADD || rec.lr_dn.bv_val == NULL ||
	    rec.lr_dn.bv_len >= sizeof(dn) || rec.lrop_mods == NULL) {
		ldap_ldif_record_done(&rec);
		return es_err_set(err, ES_EDATA,
		                  "%s:%lu: not an entry (a change record?); this is not a file eschool "
		                  "backup wrote",
		                  r->file, line);
	}
	memcpy(dn, rec.lr_dn.bv_val, rec.lr_dn.bv_len);
	dn[rec.lr_dn.bv_len] = '\0';
	place = place_of(r->c, dn);
	if (place == P_OTHER) {
		ldap_ldif_record_done(&rec);
		return es_err_set(err, ES_EDATA,
		                  "%s:%lu: %s is not an entry eschool backs up (the counter, "
		                  "[ldap] groups_dn, users_dn); nothing was restored",
		                  r->file, line, dn);
	}
	rc = 0;
	if (!r->apply) {
		r->entries++;
		if (place == P_USER) {
			char *norm = NULL;

			if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAPV3, &norm, LDAP_DN_FORMAT_LDAPV3) !=
			        LDAP_SUCCESS ||
			    strset_put(&r->users, norm, NULL) != 0)
				rc = es_err_set(err, ES_EOS, "out of memory");
			ldap_memfree(norm);
		}
	} else {
		rc = put_back(r, dn, place, rec.lrop_mods, err);
	}
	ldap_ldif_record_done(&rec);
	return rc;
}

static int each_record(struct restore *r, struct es_err *err)
{
	LDIFFP *fp = ldif_open(r->file, "r");
	unsigned long line = 0;
	char *buf = NULL;
	int size = 0, rc = 0;

	if (fp == NULL)
		return es_err_errno(err, ES_EDATA, errno, "cannot read %s", r->file);
	for (;;) {
		unsigned long first = line + 1; /* the record's first line, or the blank before */

		if (rc != 0 || ldif_read_record(fp, &line, &buf, &size) <= 0)
			break;
		rc = one_record(r, buf, (int)strlen(buf), first, err);
	}
	ber_memfree(buf);
	ldif_close(fp);
	return rc;
}

/* The accounts under users_dn the file does not have (made since). */
struct since {
	struct restore *r;
	size_t count;
};

static int name_newer(struct es_ldap *c, struct ldapmsg *msg, void *arg, struct es_err *err)
{
	struct since *s = arg;
	char *dn = ldap_get_dn(c->ld, (LDAPMessage *)msg), *norm = NULL;

	(void)err;
	if (dn != NULL &&
	    ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAPV3, &norm, LDAP_DN_FORMAT_LDAPV3) ==
	        LDAP_SUCCESS &&
	    !strset_has(&s->r->users, norm)) {
		ui_warn("%s was made after the backup: left as it is", dn);
		s->count++;
	}
	ldap_memfree(norm);
	ldap_memfree(dn);
	return 0;
}

int directory_restore(struct cli *ctx, const char *file, struct es_err *err)
{
	struct restore r = { .c = &ctx->directory, .file = file };
	struct since since = { &r, 0 };
	char *attrs[] = { "1.1", NULL };
	int rc;

	/* the whole file checked before the first write */
	rc = each_record(&r, err);
	if (rc == 0 && r.entries == 0)
		rc = es_err_set(err, ES_EDATA, "%s: no entry to restore", file);
	if (rc == 0) {
		r.apply = true;
		rc = each_record(&r, err);
	}
	if (rc == 0)
		rc = es_ldap_search_pages(r.c, r.c->users_dn, LDAP_SCOPE_ONELEVEL,
		                          "(objectClass=eschoolAccount)", attrs,
		                          "reading the accounts", name_newer, &since, err);
	strset_free(&r.users);
	if (rc == 0)
		ui_info(ctx, "%zu entries restored (%zu added, %zu put back as they were)\n",
		        r.added + r.replaced, r.added, r.replaced);
	return rc;
}
