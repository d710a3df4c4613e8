/* Loading the helper's plugins (plugin.h). */
#include "plugin.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "es_config.h"
#include "es_err.h"
#include "es_util.h"

/* where make install puts the plugins (Makefile: PKGLIBDIR) */
#ifndef ES_PLUGIN_DIR
#define ES_PLUGIN_DIR "/usr/lib/eschool"
#endif

/* An open file or directory root's and writable by root only: what a
 * root process may load code from. */
static bool root_only(int fd, bool dir)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 && (dir ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode)) &&
	       sb.st_uid == 0 && (sb.st_mode & 022) == 0;
}

/* The directory file is loaded from: beside the running eschool when it
 * is there (a build tree: make check), else ES_PLUGIN_DIR. */
static void plugin_dir(const char *file, char *out, size_t outsz)
{
	char exe[ES_PATH_LEN], beside[ES_PATH_LEN + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe));
	const char *dir;

	(void)es_strlcpy(out, ES_PLUGIN_DIR, outsz);
	if (n <= 0 || (size_t)n >= sizeof(exe)) /* (a cut path is not used) */
		return;
	exe[n] = '\0';
	dir = dirname(exe);
	if ((size_t)snprintf(beside, sizeof(beside), "%s/%s", dir, file) < sizeof(beside) &&
	    access(beside, F_OK) == 0)
		(void)es_strlcpy(out, dir, outsz);
}

const void *plugin_load(const char *file, const char *symbol, struct es_err *err)
{
	char dir[ES_PATH_LEN], byfd[64];
	const void *sym = NULL;
	int dfd = -1, fd = -1;
	void *dl;

	plugin_dir(file, dir, sizeof(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0)
		fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !root_only(dfd, true) || !root_only(fd, false)) {
		es_err_set(err, ES_EUNAVAIL,
		           "%s/%s is missing, or is not root's alone (reinstall eschool)", dir, file);
		goto out;
	}
	/* that very file, opened and checked: not its path again */
	(void)snprintf(byfd, sizeof(byfd), "/proc/self/fd/%d", fd);
	dl = dlopen(byfd, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (dl != NULL)
		fd = -1; /* kept open for good: dlopen knows a loaded object by
		          * its name, and another plugin opened later under the
		          * same /proc/self/fd/N would be given this one */
	if (dl == NULL) {
		const char *e = dlerror();

		es_err_set(err, ES_EUNAVAIL, "cannot load %s/%s: %s (reinstall eschool)", dir, file,
		           e != NULL ? e : "?");
		goto out;
	}
	sym = dlsym(dl, symbol);
	if (sym == NULL || ((const struct plugin_head *)sym)->version != PLUGIN_HEAD_VERSION ||
	    strcmp(((const struct plugin_head *)sym)->abi, ES_PLUGIN_ABI) != 0) {
		(void)dlclose(dl);
		sym = NULL;
		es_err_set(err, ES_ESOFTWARE,
		           "%s/%s is not from this build of eschool (reinstall eschool)", dir, file);
	}
out:
	if (fd >= 0)
		(void)close(fd);
	if (dfd >= 0)
		(void)close(dfd);
	return sym;
}
