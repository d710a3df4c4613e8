#include "slips.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "es_util.h"
#include "mail/compose.h"

/* where make install puts the renderer (Makefile: PKGLIBDIR) */
#ifndef ES_PLUGIN_DIR
#define ES_PLUGIN_DIR "/usr/lib/eschool"
#endif

int slip_set_add(struct slip_set *s, const struct slip *slip)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		struct slip *v = realloc(s->v, ncap * sizeof(*v));

		if (v == NULL)
			return -1;
		s->v = v;
		s->cap = ncap;
	}
	s->v[s->n++] = *slip;
	return 0;
}

static const struct slips_plugin *renderer(struct es_err *err);

int slip_path_check(const char *path, struct es_err *err)
{
	struct stat sb;
	char dir[ES_PATH_LEN];

	if (path[0] == '\0')
		return es_err_set(err, ES_EUSAGE, "no file name for the slips");
	if (lstat(path, &sb) == 0)
		return es_err_set(err, ES_ECANTCREAT,
		                  "%s exists: choose another file name for the slips or remove it",
		                  path);
	if (errno != ENOENT)
		return es_err_errno(err, ES_ECANTCREAT, errno, "cannot create %s", path);
	if (es_strlcpy(dir, path, sizeof(dir)) != 0)
		return es_err_set(err, ES_ECANTCREAT, "%s: the name is too long", path);
	if (stat(dirname(dir), &sb) != 0 || !S_ISDIR(sb.st_mode))
		return es_err_set(err, ES_ECANTCREAT,
		                  "cannot create %s: its directory does not exist", path);
	/* and what draws them: loaded now, before any password is made */
	return renderer(err) != NULL ? 0 : -1;
}

/* An open file or directory root's and writable by root only: what a
 * root process may load code from. */
static bool root_only(int fd, bool dir)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 && (dir ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode)) &&
	       sb.st_uid == 0 && (sb.st_mode & 022) == 0;
}

/* The directory the renderer is loaded from: beside the running eschool
 * when it is there (a build tree: make check), else ES_PLUGIN_DIR. */
static void plugin_dir(char *out, size_t outsz)
{
	char exe[ES_PATH_LEN], beside[ES_PATH_LEN + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe));
	const char *dir;

	(void)es_strlcpy(out, ES_PLUGIN_DIR, outsz);
	if (n <= 0 || (size_t)n >= sizeof(exe)) /* (a cut path is not used) */
		return;
	exe[n] = '\0';
	dir = dirname(exe);
	if ((size_t)snprintf(beside, sizeof(beside), "%s/%s", dir, SLIPS_PLUGIN_FILE) <
	            sizeof(beside) &&
	    access(beside, F_OK) == 0)
		(void)es_strlcpy(out, dir, outsz);
}

/* The renderer, loaded once and never unloaded (glib's types cannot be);
 * NULL with err when it cannot be. The file is opened without following
 * a link, from its directory opened the same way, both checked root's
 * alone, and that very file is loaded (/proc/self/fd): nobody can swap
 * it between the check and dlopen. */
static const struct slips_plugin *renderer(struct es_err *err)
{
	static const struct slips_plugin *loaded;
	char dir[ES_PATH_LEN], byfd[64];
	const struct slips_plugin *p = NULL;
	int dfd = -1, fd = -1;
	void *dl;

	if (loaded != NULL)
		return loaded;
	plugin_dir(dir, sizeof(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0)
		fd = openat(dfd, SLIPS_PLUGIN_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !root_only(dfd, true) || !root_only(fd, false)) {
		es_err_set(err, ES_EUNAVAIL,
		           "%s/%s is missing, or is not root's alone: it draws the slips (reinstall "
		           "eschool)",
		           dir, SLIPS_PLUGIN_FILE);
		goto out;
	}
	(void)snprintf(byfd, sizeof(byfd), "/proc/self/fd/%d", fd);
	dl = dlopen(byfd, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (dl == NULL) {
		es_err_set(err, ES_EUNAVAIL, "cannot load %s/%s: %s (reinstall eschool)", dir,
		           SLIPS_PLUGIN_FILE, dlerror());
		goto out;
	}
	p = dlsym(dl, SLIPS_PLUGIN_SYMBOL);
	if (p == NULL || p->version != SLIPS_PLUGIN_VERSION) {
		(void)dlclose(dl);
		p = NULL;
		es_err_set(err, ES_ESOFTWARE, "%s/%s is not the slips' renderer of this eschool", dir,
		           SLIPS_PLUGIN_FILE);
		goto out;
	}
	loaded = p;
out:
	if (fd >= 0)
		(void)close(fd);
	if (dfd >= 0)
		(void)close(dfd);
	return p;
}

int slip_set_write(struct cli *ctx, const struct slip_set *s, const char *path,
                   struct es_err *err)
{
	struct slip_doc doc = {
		.school_name = ctx->cfg.school_name[0] != '\0' ? ctx->cfg.school_name : "eschool",
		.lang = ctx->cfg.language,
		.slips = s->v,
		.n = s->n,
		.now = ctx->now,
	};

	const struct slips_plugin *r = renderer(err);

	if (r == NULL)
		return -1;
	school_logo(ctx, &doc.logo_png, &doc.logo_len);
	return r->write(path, &doc, err);
}

void slip_set_free(struct slip_set *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
