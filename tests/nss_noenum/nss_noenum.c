/* libnss_noenum.so.2: an NSS source that answers lookups by name and id
 * but does not enumerate, as SSSD or an LDAP source with enumerate = false
 * does: getpwnam("dirzoe") finds the user, getpwent() never lists it. For
 * the import tests (test_import_safety.py), inside a sandbox whose
 * nsswitch.conf says "passwd: files noenum" and "group: files noenum".
 *
 * Its entries are read from /etc/nss-noenum at each lookup, one a line:
 *   user NAME UID GID
 *   group NAME GID
 * It has no setpwent/getpwent/setgrent/getgrent: glibc then skips it when
 * enumerating. */
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST "/etc/nss-noenum"

enum nss_status _nss_noenum_getpwnam_r(const char *name, struct passwd *pw, char *buf,
                                       size_t buflen, int *errnop);
enum nss_status _nss_noenum_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
                                       int *errnop);
enum nss_status _nss_noenum_getgrnam_r(const char *name, struct group *gr, char *buf,
                                       size_t buflen, int *errnop);
enum nss_status _nss_noenum_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
                                       int *errnop);

/* Finds the entry of kind ("user"/"group") by name (or by id when name is
 * NULL): its name into out, its ids into *id and *gid. */
static int find(const char *kind, const char *name, unsigned long want, char *out,
                size_t outsz, unsigned long *id, unsigned long *gid)
{
	char line[256], k[16], n[64];
	FILE *f = fopen(LIST, "re");
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		unsigned long a = 0, b = 0;
		int got = sscanf(line, "%15s %63s %lu %lu", k, n, &a, &b);

		if (got < 3 || strcmp(k, kind) != 0)
			continue;
		if (name != NULL ? strcmp(n, name) != 0 : a != want)
			continue;
		if (strlen(n) + 1 > outsz)
			break;
		memcpy(out, n, strlen(n) + 1);
		*id = a;
		*gid = got == 4 ? b : a;
		found = 1;
	}
	(void)fclose(f);
	return found;
}

static enum nss_status fill_pw(const char *name, unsigned long want, struct passwd *pw,
                               char *buf, size_t buflen, int *errnop)
{
	unsigned long uid, gid;
	char n[64];
	int len;

	if (!find("user", name, want, n, sizeof(n), &uid, &gid))
		return NSS_STATUS_NOTFOUND;
	/* name, "x", gecos "", home, shell: all in buf */
	len = snprintf(buf, buflen, "%s%cx%c%c/home/%s%c/bin/sh", n, 0, 0, 0, n, 0);
	if (len < 0 || (size_t)len >= buflen) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	pw->pw_name = buf;
	pw->pw_passwd = buf + strlen(n) + 1;
	pw->pw_gecos = pw->pw_passwd + 2;
	pw->pw_dir = pw->pw_gecos + 1;
	pw->pw_shell = pw->pw_dir + strlen(pw->pw_dir) + 1;
	pw->pw_uid = (uid_t)uid;
	pw->pw_gid = (gid_t)gid;
	return NSS_STATUS_SUCCESS;
}

static enum nss_status fill_gr(const char *name, unsigned long want, struct group *gr,
                               char *buf, size_t buflen, int *errnop)
{
	unsigned long gid, unused;
	char n[64];
	size_t need;

	if (!find("group", name, want, n, sizeof(n), &gid, &unused))
		return NSS_STATUS_NOTFOUND;
	need = sizeof(char *) + strlen(n) + 3;
	if (buflen < need) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	/* an empty member list first (aligned), then the name and "x" */
	gr->gr_mem = (char **)(void *)buf;
	gr->gr_mem[0] = NULL;
	gr->gr_name = buf + sizeof(char *);
	memcpy(gr->gr_name, n, strlen(n) + 1);
	gr->gr_passwd = gr->gr_name + strlen(n) + 1;
	memcpy(gr->gr_passwd, "x", 2);
	gr->gr_gid = (gid_t)gid;
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_noenum_getpwnam_r(const char *name, struct passwd *pw, char *buf,
                                       size_t buflen, int *errnop)
{
	return fill_pw(name, 0, pw, buf, buflen, errnop);
}

enum nss_status _nss_noenum_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
                                       int *errnop)
{
	return fill_pw(NULL, uid, pw, buf, buflen, errnop);
}

enum nss_status _nss_noenum_getgrnam_r(const char *name, struct group *gr, char *buf,
                                       size_t buflen, int *errnop)
{
	return fill_gr(name, 0, gr, buf, buflen, errnop);
}

enum nss_status _nss_noenum_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
                                       int *errnop)
{
	return fill_gr(NULL, gid, gr, buf, buflen, errnop);
}
