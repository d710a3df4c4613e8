/* libnss_lower.so.2: an NSS passwd source for tests/integration/
 * test_pam_canonical.py, standing for SSSD with case_sensitive = false, or
 * winbind: the name asked for is lowercased, a "DOMAIN\" prefix and an
 * "@domain" suffix are dropped, and the entry of the result in /etc/passwd
 * (the sandbox's) is the answer, with its own pw_name: the canonical name.
 * Only getpwnam_r. Used as "passwd: files lower" in nsswitch.conf; the test
 * builds it with cc and puts its directory in LD_LIBRARY_PATH (glibc
 * dlopens NSS modules by soname). */
#include <ctype.h>
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

enum nss_status _nss_lower_getpwnam_r(const char *name, struct passwd *pw, char *buf,
                                      size_t buflen, int *errnop);

enum nss_status _nss_lower_getpwnam_r(const char *name, struct passwd *pw, char *buf,
                                      size_t buflen, int *errnop)
{
	const char *p = strrchr(name, '\\');
	char want[256];
	size_t n = 0;
	struct passwd *res = NULL;
	enum nss_status st = NSS_STATUS_NOTFOUND;
	FILE *f;

	for (p = p != NULL ? p + 1 : name; *p != '\0' && *p != '@'; p++) {
		if (n + 1 >= sizeof(want)) {
			*errnop = ENOENT;
			return NSS_STATUS_NOTFOUND;
		}
		want[n++] = (char)tolower((unsigned char)*p);
	}
	want[n] = '\0';
	if (n == 0) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	f = fopen("/etc/passwd", "re");
	if (f == NULL) {
		*errnop = errno;
		return NSS_STATUS_UNAVAIL;
	}
	for (;;) {
		int e = fgetpwent_r(f, pw, buf, buflen, &res);

		if (e == ERANGE) {
			*errnop = ERANGE;
			st = NSS_STATUS_TRYAGAIN;
			break;
		}
		if (e != 0)
			break;
		if (strcmp(pw->pw_name, want) == 0) {
			st = NSS_STATUS_SUCCESS;
			break;
		}
	}
	(void)fclose(f);
	if (st == NSS_STATUS_NOTFOUND)
		*errnop = ENOENT;
	return st;
}
