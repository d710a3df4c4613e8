#include "slips.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "es_util.h"
#include "mail/compose.h"
#include "plugin.h"

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

/* The renderer, loaded once and never unloaded (glib's types cannot be:
 * plugin.h); NULL with err when it cannot be. */
static const struct slips_plugin *renderer(struct es_err *err)
{
	static const struct slips_plugin *loaded;

	if (loaded == NULL) {
		loaded = plugin_load(SLIPS_PLUGIN_FILE, SLIPS_PLUGIN_SYMBOL, err);
		if (loaded == NULL)
			es_err_prefix(err, "the slips cannot be drawn");
	}
	return loaded;
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
