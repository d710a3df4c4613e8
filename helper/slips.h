/* Credential slips gathered by a command (import, slips) and written as
 * one PDF (slips_pdf.c) with the school's name, logo and language. The
 * set holds pointers only: names and passwords stay where the command
 * keeps (and wipes) them, until slip_set_write has drawn them. */
#ifndef ESCHOOL_SLIPS_H
#define ESCHOOL_SLIPS_H

#include <stddef.h>
#include <time.h>

#include "cli.h"
#include "slips_pdf.h"

struct slip_set {
	struct slip *v;
	size_t n, cap;
};

/* Adds one slip (the strings are not copied). -1: out of memory. */
int slip_set_add(struct slip_set *s, const struct slip *slip);

/* Checks, before anything is made, that path can become the slips: it
 * must not exist (the PDF is created with O_EXCL) and its directory must
 * exist (ES_ECANTCREAT otherwise, saying what to do); and that the
 * renderer, eschool_slips.so, loads (ES_EUNAVAIL). */
int slip_path_check(const char *path, struct es_err *err);

/* Writes the set to path (new, 0600) with the school's name, logo and
 * language from ctx's config. */
int slip_set_write(struct cli *ctx, const struct slip_set *s, const char *path,
                   struct es_err *err);

void slip_set_free(struct slip_set *s);

#endif
