/* The school's directory on a workstation: see directory.h. */
#include "directory.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
