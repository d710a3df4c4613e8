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
#include "directory.h"

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

int dir_backup_ldif(struct es_ldap *c, int fd, size_t *entries, struct es_err *err)
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

/* The class an entry of each place must have, in the file and, for one
 * that exists, in the directory: restore puts back eschool's own entries
 * and nothing else. */
static const char *class_of(enum place p)
{
	return p == P_IDS ? "eschoolIdPool" : p == P_GROUP ? "posixGroup" : "eschoolAccount";
}

static bool has_class(struct berval **classes, const char *want)
{
	for (size_t i = 0; classes != NULL && classes[i] != NULL; i++)
		if (classes[i]->bv_len == strlen(want) &&
		    strncasecmp(classes[i]->bv_val, want, classes[i]->bv_len) == 0)
			return true;
	return false;
}

/* The file's text checked line by line before libldap reads any of it:
 * an LDIF line may take its value from a URL ("attr:< file:///...") or
 * pull in another file ("include: ..."), which libldap would read on
 * this machine. Lines are unfolded first (a line that starts with a
 * space continues the one before). Returns the offending line's number,
 * or 0. */
static unsigned long unsafe_line(const char *text, size_t len)
{
	unsigned long line = 0;
	bool after_blank = true; /* the file's start counts as a blank line */

	for (size_t i = 0; i < len;) {
		size_t end = i, h = 0, n;
		char head[64], name[16];
		const char *colon;
		bool indented = text[i] == ' ' || text[i] == '\t';

		while (end < len && text[end] != '\n')
			end++;
		line++;
		/* a logical line starts here unless this one continues the one
		 * before (indented, after a line that was not blank: libldap
		 * reads an indented line after a blank one as a line of its own) */
		if (!indented || after_blank) {
			for (size_t j = i; j < len && h < sizeof(head) - 1;) {
				if (text[j] == '\n') {
					if (j + 1 < len && (text[j + 1] == ' ' || text[j + 1] == '\t')) {
						j += 2; /* folded: the next line goes on */
						continue;
					}
					break;
				}
				head[h++] = text[j++];
			}
			head[h] = '\0';
			n = strspn(head, " \t\r");
			colon = strchr(head + n, ':');
			if (head[n] != '#' && head[n] != '\0') {
				if (colon == NULL || colon[1] == '<')
					return line;
				(void)snprintf(name, sizeof(name), "%.*s", (int)(colon - (head + n)),
				               head + n);
				if (strcasecmp(name, "include") == 0)
					return line;
			}
		}
		after_blank = end == i || (end == i + 1 && text[i] == '\r');
		i = end + 1;
	}
	return 0;
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

static bool same_value(const struct berval *a, const struct berval *b)
{
	return a->bv_len == b->bv_len && strncasecmp(a->bv_val, b->bv_val, a->bv_len) == 0;
}

#define MAX_MODS 128

/* What put_back builds: the modify's list, and what it must free after. */
struct change {
	LDAPMod *list[MAX_MODS + 1], slots[MAX_MODS];
	size_t n;
	char *owned[MAX_MODS];           /* attribute names copied here */
	struct berval **merged[MAX_MODS]; /* member lists: the file's and the entry's */
	size_t n_owned, n_merged;
};

static int change_add(struct change *ch, char *type, struct berval **vals, struct es_err *err)
{
	if (ch->n == MAX_MODS)
		return es_err_set(err, ES_EDATA,
		                  "an entry with more than %d attributes: not restored", MAX_MODS);
	ch->slots[ch->n] = (LDAPMod){ LDAP_MOD_REPLACE | LDAP_MOD_BVALUES, type,
		                      { .modv_bvals = vals } };
	ch->list[ch->n] = &ch->slots[ch->n];
	ch->n++;
	return 0;
}

/* A group's members: the file's and those the entry has now (accounts
 * made since the backup keep their groups). */
static int merge_members(struct change *ch, struct berval **file, struct berval **now,
                         struct berval ***out, struct es_err *err)
{
	size_t nf = 0, nn = 0, k = 0;
	struct berval **all;

	while (file != NULL && file[nf] != NULL)
		nf++;
	while (now != NULL && now[nn] != NULL)
		nn++;
	all = calloc(nf + nn + 1, sizeof(struct berval *));
	if (all == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	for (size_t i = 0; i < nf; i++)
		all[k++] = file[i];
	for (size_t i = 0; i < nn; i++) {
		bool dup = false;

		for (size_t j = 0; j < nf && !dup; j++)
			dup = same_value(now[i], file[j]);
		if (!dup)
			all[k++] = now[i];
	}
	ch->merged[ch->n_merged++] = all;
	*out = all;
	return 0;
}

/* The counter's attr now: 0 read, -1 error (the counter is then left). */
static int current_number(const struct es_ldap *c, const char *attr, long *n)
{
	char *attrs[] = { (char *)attr, NULL };
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	int rc = ldap_search_ext_s(c->ld, c->ids_dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0,
	                           NULL, NULL, NULL, 1, &res);

	*n = 0;
	if (rc == LDAP_SUCCESS && (e = ldap_first_entry(c->ld, res)) != NULL &&
	    (v = ldap_get_values_len(c->ld, e, attr)) != NULL)
		*n = number_of(v[0]);
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return rc == LDAP_SUCCESS ? 0 : -1;
}

/* Puts one entry back: added when missing, else its attributes replaced
 * and those it did not have removed; a group's members and the counter
 * are merged (members kept, numbers never lower). */
static int put_back(struct restore *r, const char *dn, enum place place, LDAPMod **mods,
                    struct es_err *err)
{
	struct es_ldap *c = r->c;
	char *all[] = { "*", NULL };
	LDAPMessage *res = NULL, *e;
	BerElement *ber = NULL;
	struct berval **now_vals[MAX_MODS], **classes;
	size_t n_now = 0;
	struct change *ch;
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
	classes = ldap_get_values_len(c->ld, e, "objectClass");
	if (!has_class(classes, class_of(place))) {
		ldap_value_free_len(classes);
		ldap_msgfree(res);
		return es_err_set(err, ES_EDATA,
		                  "%s: %s: the entry there is not a %s: not replaced, and nothing "
		                  "after it was restored",
		                  r->file, dn, class_of(place));
	}
	ldap_value_free_len(classes);
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL) {
		ldap_msgfree(res);
		return es_err_set(err, ES_EOS, "out of memory");
	}
	rc = 0;
	for (size_t i = 0; mods[i] != NULL && rc == 0; i++) {
		const char *type = mods[i]->mod_type;
		struct berval **vals = mods[i]->mod_bvalues;

		if (place == P_IDS && (same_attr(type, "uidNumber") || same_attr(type, "gidNumber")) &&
		    vals != NULL && vals[0] != NULL) {
			long current = 0;

			if (current_number(c, type, &current) != 0)
				continue; /* cannot tell: never lower it */
			if (current > number_of(vals[0]))
				continue;
		}
		if (place == P_GROUP && (same_attr(type, "memberUid") || same_attr(type, "member")) &&
		    n_now < MAX_MODS) {
			now_vals[n_now] = ldap_get_values_len(c->ld, e, type);
			rc = merge_members(ch, vals, now_vals[n_now], &vals, err);
			n_now++;
			if (rc != 0)
				break;
		}
		rc = change_add(ch, mods[i]->mod_type, vals, err);
	}
	/* what the entry has that the file does not: removed */
	for (char *a = ldap_first_attribute(c->ld, e, &ber); a != NULL;
	     a = ldap_next_attribute(c->ld, e, ber)) {
		bool kept = false;

		for (size_t i = 0; mods[i] != NULL && !kept; i++)
			kept = same_attr(a, mods[i]->mod_type);
		if (!kept && rc == 0) {
			char *type = strdup(a);

			if (type == NULL)
				rc = es_err_set(err, ES_EOS, "out of memory");
			else if ((rc = change_add(ch, type, NULL, err)) == 0)
				ch->owned[ch->n_owned++] = type;
			else
				free(type);
		}
		ldap_memfree(a);
	}
	ber_free(ber, 0);
	ch->list[ch->n] = NULL;
	if (rc == 0 && ch->n > 0) {
		int lrc = ldap_modify_ext_s(c->ld, dn, ch->list, NULL, NULL);

		rc = lrc == LDAP_SUCCESS ? 0 : es_ldap_fail(c, lrc, "restoring an entry", err);
	}
	for (size_t i = 0; i < ch->n_owned; i++)
		free(ch->owned[i]);
	for (size_t i = 0; i < ch->n_merged; i++)
		free(ch->merged[i]);
	for (size_t i = 0; i < n_now; i++)
		ldap_value_free_len(now_vals[i]);
	free(ch);
	ldap_msgfree(res);
	if (rc == 0)
		r->replaced++;
	return rc;
}

/* The record's values of attr (objectClass), or NULL. */
static struct berval **values_of(LDAPMod **mods, const char *attr)
{
	for (size_t i = 0; mods[i] != NULL; i++)
		if (same_attr(mods[i]->mod_type, attr))
			return mods[i]->mod_bvalues;
	return NULL;
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

	memset(&rec, 0, sizeof(rec));
	if (ldap_parse_ldif_record(&buf, line, &rec, "eschool", LDIF_DEFAULT_ADD | LDIF_NO_CONTROLS) !=
	    0)
		return es_err_set(err, ES_EDATA,
		                  "%s:%lu: not an LDIF entry; this is not a file eschool backup wrote",
		                  r->file, line);
	if (rec.lr_op != LDAP_REQ_ADD || rec.lr_dn.bv_val == NULL || rec.lrop_mods == NULL) {
		ldap_ldif_record_done(&rec);
		return es_err_set(err, ES_EDATA,
		                  "%s:%lu: not an entry (a change record?); this is not a file eschool "
		                  "backup wrote",
		                  r->file, line);
	}
	(void)snprintf(dn, sizeof(dn), "%.*s", (int)rec.lr_dn.bv_len, rec.lr_dn.bv_val);
	place = rec.lr_dn.bv_len < sizeof(dn) ? place_of(r->c, dn) : P_OTHER;
	if (place == P_USER && strncasecmp(dn, "uid=", 4) != 0)
		place = P_OTHER; /* an account's entry is named by its uid */
	if (place == P_OTHER || !has_class(values_of(rec.lrop_mods, "objectClass"), class_of(place))) {
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

/* Every record of the file's text (read once, checked by unsafe_line). */
static int each_record(struct restore *r, char *text, size_t len, struct es_err *err)
{
	LDIFFP *fp = ldif_open_mem(text, len, "r");
	unsigned long line = 0;
	char *buf = NULL;
	int size = 0, rc = 0;

	if (fp == NULL)
		return es_err_errno(err, ES_EOS, errno, "cannot read %s", r->file);
	for (;;) {
		unsigned long first = line + 1; /* the record's first line, or the blank before */
		int got;

		if (rc != 0)
			break;
		got = ldif_read_record(fp, &line, &buf, &size);
		if (got == 0 && !feof(fp->fp))
			rc = es_err_set(err, ES_EOS, "%s: cannot read it whole", r->file);
		if (got < 0)
			rc = es_err_set(err, ES_EDATA, "%s:%lu: not an LDIF file eschool backup wrote",
			                r->file, line);
		if (got <= 0)
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
	struct directory_restored *done;
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
		if (s->done->on_newer != NULL)
			s->done->on_newer(dn);
		s->done->newer++;
	}
	ldap_memfree(norm);
	ldap_memfree(dn);
	return 0;
}

/* The whole file in memory (what is checked is what is parsed). */
static int read_whole(const char *file, char **text, size_t *len, struct es_err *err)
{
	FILE *f = fopen(file, "re");
	size_t cap = 0, n = 0;
	char *buf = NULL;

	if (f == NULL)
		return es_err_errno(err, ES_EDATA, errno, "cannot read %s", file);
	for (;;) {
		size_t got;

		if (n + 65536 + 1 > cap) {
			char *grown;

			cap = cap == 0 ? 1 << 20 : cap * 2;
			if (cap > (size_t)1 << 30 || (grown = realloc(buf, cap)) == NULL) {
				free(buf);
				(void)fclose(f);
				return es_err_set(err, ES_EDATA, "%s: too large for a backup", file);
			}
			buf = grown;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		(void)fclose(f);
		return es_err_set(err, ES_EIO, "cannot read %s", file);
	}
	(void)fclose(f);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

int dir_restore_ldif(struct es_ldap *c, const char *file, struct directory_restored *done,
                     struct es_err *err)
{
	struct restore r = { .c = c, .file = file };
	struct since since = { &r, done };
	char *attrs[] = { "1.1", NULL }, *text = NULL;
	size_t len = 0;
	unsigned long bad;
	int rc;

	if (read_whole(file, &text, &len, err) != 0)
		return -1;
	/* the whole file checked before the first write */
	bad = unsafe_line(text, len);
	if (bad != 0)
		rc = es_err_set(err, ES_EDATA,
		                "%s:%lu: a value taken from a URL or another file (\":<\", "
		                "include:): not restored; this is not a file eschool backup wrote",
		                file, bad);
	else
		rc = each_record(&r, text, len, err);
	if (rc == 0 && r.entries == 0)
		rc = es_err_set(err, ES_EDATA, "%s: no entry to restore", file);
	if (rc == 0) {
		r.apply = true;
		rc = each_record(&r, text, len, err);
	}
	if (rc == 0)
		rc = es_ldap_search_pages(r.c, r.c->users_dn, LDAP_SCOPE_ONELEVEL,
		                          "(objectClass=eschoolAccount)", attrs,
		                          "reading the accounts", name_newer, &since, err);
	strset_free(&r.users);
	free(text);
	done->added = r.added;
	done->replaced = r.replaced;
	return rc;
}
