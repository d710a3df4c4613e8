#include "slips.h"

#include <dlfcn.h>
#include <errno.h>
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
	return 0;
}

/* A file (or directory) root's and writable by root only: what a root
 * process may load code from. */
static bool root_only(const char *path, bool dir)
{
	struct stat sb;

	return stat(path, &sb) == 0 && (dir ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode)) &&
	       sb.st_uid == 0 && (sb.st_mode & 022) == 0;
}

/* The renderer: beside the running eschool when it is there (a build
 * tree: make check), else in ES_PLUGIN_DIR; loaded once, never unloaded
 * (glib's types cannot be). NULL with err when it cannot be. */
static const struct slips_plugin *renderer(struct es_err *err)
{
	static const struct slips_plugin *loaded;
	char exe[ES_PATH_LEN], path[ES_PATH_LEN + 32];
	const char *dir = ES_PLUGIN_DIR;
	const struct slips_plugin *p;
	void *dl;
	ssize_t n;

	if (loaded != NULL)
		return loaded;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char beside[ES_PATH_LEN + 32];

		exe[n] = '\0';
		(void)snprintf(beside, sizeof(beside), "%s/%s", dirname(exe), SLIPS_PLUGIN_FILE);
		if (access(beside, F_OK) == 0)
			dir = exe; /* (dirname cut exe in place) */
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, SLIPS_PLUGIN_FILE) >= sizeof(path))
		return es_err_set(err, ES_ESOFTWARE, "%s: the path is too long", dir), NULL;
	if (!root_only(dir, true) || !root_only(path, false))
		return es_err_set(err, ES_EUNAVAIL,
		                  "%s is missing, or is not root's alone: it draws the slips "
		                  "(reinstall eschool)",
		                  path),
		       NULL;
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (dl == NULL)
		return es_err_set(err, ES_EUNAVAIL, "cannot load %s: %s (reinstall eschool)", path,
		                  dlerror()),
		       NULL;
	p = dlsym(dl, SLIPS_PLUGIN_SYMBOL);
	if (p == NULL || p->version != SLIPS_PLUGIN_VERSION) {
		(void)dlclose(dl);
		return es_err_set(err, ES_ESOFTWARE, "%s is not the slips' renderer of this eschool",
		                  path),
		       NULL;
	}
	loaded = p;
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
