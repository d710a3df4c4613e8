/* The helper's side of composing a mail: the school's logo, read once per
 * run (the module passes none), and, run from a source tree, its
 * conf/templates; the rest is lib's entry, es_compose_message. */
#include "cli.h"
#include "ui.h"
#include "mail/compose.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "es_compose.h"
#include "es_fs.h"

#define LOGO_MAX (1024L * 1024)

/* ---- the school's logo ---- */

static unsigned char *logo_data;
static size_t logo_len;
static bool logo_tried;

static void logo_load(const struct cli *ctx)
{
	static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	struct stat sb;
	size_t got = 0;
	int fd, e;

	if (logo_tried)
		return;
	logo_tried = true;
	if (ctx->cfg.logo[0] == '\0')
		return;
	/* O_NONBLOCK: a FIFO (or a device) there must not hang a run that
	 * sends credentials; a broken logo only costs the picture, so it is
	 * one warning per run and the mails go without it. A symlink is
	 * followed: root names the path, and a school may well point it at a
	 * shared copy; what it reaches is checked below (fstat). */
	fd = open(ctx->cfg.logo, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ui_warn("cannot read the logo %s: %s; mails go without it (fix [general] logo)",
		        ctx->cfg.logo, strerror(errno));
		return;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		ui_warn("the logo %s is not a regular file; mails go without it (fix "
		        "[general] logo)",
		        ctx->cfg.logo);
		(void)close(fd);
		return;
	}
	if (sb.st_size > LOGO_MAX) {
		ui_warn("the logo %s is larger than 1 MB; mails go without it",
		        ctx->cfg.logo);
		(void)close(fd);
		return;
	}
	logo_data = malloc(sb.st_size > 8 ? (size_t)sb.st_size : 8);
	if (logo_data == NULL) {
		ui_warn("out of memory for the logo %s; mails go without it", ctx->cfg.logo);
		(void)close(fd);
		return;
	}
	e = es_fs_read_all(fd, (char *)logo_data, (size_t)sb.st_size, &got);
	(void)close(fd);
	if (e != 0 || got != (size_t)sb.st_size || got <= 8 || memcmp(logo_data, png_sig, 8) != 0) {
		ui_warn("the logo %s is not a PNG image; mails go without it",
		        ctx->cfg.logo);
		free(logo_data);
		logo_data = NULL;
		return;
	}
	logo_len = got;
}

void school_logo(const struct cli *ctx, const unsigned char **data, size_t *len)
{
	logo_load(ctx);
	*data = logo_data;
	*len = logo_len;
}

int compose_for(struct cli *ctx, const char *kind, const char *lang, const char *to,
                   const char *to_name, const struct es_tvar *extra, size_t n_extra,
                   const struct es_tdate *dates, size_t n_dates, struct es_buf *msg,
                   const char **kind_used, struct es_err *err)
{
	char checkout[4096];
	struct es_compose_in in = {
		.kind = kind,
		.lang = lang,
		.to_addr = to,
		.to_name = to_name,
		.vars = extra,
		.nvars = n_extra,
		.dates = dates,
		.ndates = n_dates,
		.now = ctx->now,
	};

	logo_load(ctx);
	in.logo = logo_data;
	in.logo_len = logo_len;
	if (es_compose_checkout_dir(checkout, sizeof(checkout)) == 0)
		in.extra_dir = checkout;
	return es_compose_message(&ctx->cfg, &in, msg, kind_used, err);
}

