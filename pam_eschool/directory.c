/* The school's directory on a workstation: see directory.h. */
#include "directory.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <unistd.h>

#define IPA_389DS_PLUGIN_HELPER_CALLS 1 /* the _timeout calls */
#include <sss_nss_idmap.h>

#include "es_ldap_attrs.h"
#include "es_store_ldap.h"

#define DIRECTORY_DATA "pam_eschool.directory" /* the directory store, till pam_end */
#define DIRECTORY_TIMEOUT 2L /* seconds: a login waits no longer for the directory */

/* The plugin and its connection, kept on the PAM handle: one bind for the
 * stages of a login, and libldap loaded once per handle. */
struct directory {
	void *dl;
	const struct es_ldap_plugin *plugin;
	struct es_store store;
	bool open;
};

static void directory_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	struct directory *d = data;

	(void)pamh;
	(void)error_status;
	if (d->open)
		d->plugin->close(&d->store);
	if (d->dl != NULL)
		(void)dlclose(d->dl);
	free(d);
}

/* pam_eschool_ldap.so, beside this module's file, and only if it is
 * root's and writable by no one else (it runs as root in every login). */
static int plugin_load(struct directory *d, struct es_err *err)
{
	char path[PATH_MAX];
	const char *slash;
	struct stat st;
	Dl_info info;
	int fd, n;

	if (dladdr((void *)plugin_load, &info) == 0 || info.dli_fname == NULL ||
	    (slash = strrchr(info.dli_fname, '/')) == NULL)
		return es_err_set(err, ES_ESOFTWARE, "cannot tell where pam_eschool.so is");
	n = snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - info.dli_fname),
	             info.dli_fname, ES_LDAP_PLUGIN_FILE);
	if (n < 0 || (size_t)n >= sizeof(path))
		return es_err_set(err, ES_ESOFTWARE, "the module's path is too long");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return es_err_errno(err, ES_EUNAVAIL, errno, "%s (the directory's part of the module)",
		                    path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022) != 0) {
		(void)close(fd);
		return es_err_set(err, ES_EPERM, "%s: not a root-owned file that only root may write",
		                  path);
	}
	(void)close(fd);
	d->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (d->dl == NULL)
		return es_err_set(err, ES_EUNAVAIL, "%s: %s", path, dlerror());
	d->plugin = dlsym(d->dl, ES_LDAP_PLUGIN_SYMBOL);
	if (d->plugin == NULL || d->plugin->version != ES_LDAP_PLUGIN_VERSION)
		return es_err_set(err, ES_ESOFTWARE, "%s: not the plugin of this pam_eschool.so", path);
	return 0;
}

int directory_store(pam_handle_t *pamh, struct es_store *store, const struct es_config *cfg,
                    struct es_err *err)
{
	const void *data = NULL;
	struct directory *d;

	if (pam_get_data(pamh, DIRECTORY_DATA, &data) == PAM_SUCCESS && data != NULL) {
		d = (struct directory *)data;
		if (!d->open)
			return es_err_set(err, ES_EUNAVAIL, "the directory did not answer earlier");
		*store = d->store;
		return 0;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	if (pam_set_data(pamh, DIRECTORY_DATA, d, directory_cleanup) != PAM_SUCCESS) {
		free(d);
		return es_err_set(err, ES_EOS, "out of memory");
	}
	if (plugin_load(d, err) != 0 ||
	    d->plugin->open(&d->store, cfg,
	                    cfg->ldap.timeout < DIRECTORY_TIMEOUT ? cfg->ldap.timeout
	                                                          : DIRECTORY_TIMEOUT,
	                    err) != 0)
		return -1;
	d->open = true;
	*store = d->store;
	return 0;
}

/* ---- SSSD's copy ([ldap] login_reads = sssd) ---- */

#define SSS_IDMAP_LIB "libsss_nss_idmap.so.0" /* SSSD's client library: libc only */
#define SSSD_TIMEOUT_MS 2000U                  /* as the directory's bound */

/* libsss_nss_idmap says ENOENT for "no such user" and for every failed
 * request alike (SSSD down, restarting, a timeout): only a local account
 * (in /etc/passwd: SSSD does not know it) is a user eschool leaves alone;
 * anyone else is read from the directory. */
static bool local_account(const char *user)
{
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd pw, *res = NULL;
	char buf[4096];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgetpwent_r(f, &pw, buf, sizeof(buf), &res) == 0)
		found = strcmp(pw.pw_name, user) == 0;
	(void)fclose(f);
	return found;
}

typedef int (*orig_by_name_fn)(const char *name, unsigned int timeout, struct sss_nss_kv **kv,
                               enum sss_id_type *type);
typedef void (*free_kv_fn)(struct sss_nss_kv *kv);

int directory_cached_state(const char *user, struct es_state *st, struct es_err *err)
{
	struct sss_nss_kv *kv = NULL;
	enum sss_id_type type;
	orig_by_name_fn orig_by_name;
	free_kv_fn free_kv;
	bool set_up = false, ours = false;
	int rc = 0, e;
	/* never unloaded once loaded (as glibc's NSS modules): the library
	 * keeps a per-thread socket that must outlive a dlclose */
	void *dl = dlopen(SSS_IDMAP_LIB, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

	if (dl == NULL)
		return es_err_set(err, ES_EUNAVAIL, "%s (libsss-nss-idmap0): %s", SSS_IDMAP_LIB,
		                  dlerror());
	/* POSIX's way from a data pointer to a function's */
	*(void **)&orig_by_name = dlsym(dl, "sss_nss_getorigbyusername_timeout");
	*(void **)&free_kv = dlsym(dl, "sss_nss_free_kv");
	if (orig_by_name == NULL || free_kv == NULL) {
		(void)dlclose(dl);
		return es_err_set(err, ES_EUNAVAIL, "%s: too old (SSSD 2.8 or later)", SSS_IDMAP_LIB);
	}
	e = orig_by_name(user, SSSD_TIMEOUT_MS, &kv, &type);
	if (e == ENOENT && local_account(user)) {
		rc = 1; /* not a directory user: a local account */
	} else if (e == ENOENT) {
		rc = es_err_set(err, ES_EUNAVAIL, "SSSD did not answer for %s", user);
	} else if (e != 0) {
		char eb[128];

		rc = es_err_set(err, ES_EUNAVAIL, "SSSD's copy of %s: %s", user,
		                strerror_r(e, eb, sizeof(eb)));
	}
	for (const struct sss_nss_kv *p = kv; rc == 0 && p != NULL && p->key != NULL; p++) {
		if (strcmp(p->key, ES_LDAP_SSSD_CLASSES) == 0) {
			set_up = true;
			ours = ours || strcasecmp(p->value, ES_LDAP_CLASS) == 0;
		} else if (es_ldap_public_apply(st, p->key, p->value) != 0) {
			rc = es_err_set(err, ES_EDATA, "SSSD's copy of %s: bad %s", user, p->key);
		}
	}
	if (kv != NULL)
		free_kv(kv);
	(void)dlclose(dl);
	if (rc != 0)
		return rc;
	/* eschoolCreated is on every account eschool made: without it, SSSD
	 * was given only a part of eschool's attributes */
	if (!set_up || (ours && es_state_get(st, ES_K_CREATED) == NULL))
		return es_err_set(err, ES_ECONFIG,
		                  "SSSD gives no %s for %s: sssd.conf lacks eschool's "
		                  "ldap_user_extra_attrs and [nss] user_attributes (see pam_eschool(8))",
		                  set_up ? "eschoolCreated" : ES_LDAP_SSSD_CLASSES, user);
	return ours ? 0 : 1;
}
