/* The helper's plugins: code loaded (dlopen) by the commands that need it,
 * not at every eschool command's start: the slips' renderer (cairo, pango:
 * eschool_slips.so) and the mail sender (libcurl and the 30 libraries it
 * brings: eschool_smtp.so). A plugin is loaded once, never unloaded, from
 * beside the running eschool when it is there (a build tree), else from
 * the install's directory (Makefile: PKGLIBDIR), and only from a file and
 * a directory root's alone, opened without following a link: nobody can
 * swap the file between the check and the load. */
#ifndef ESCHOOL_PLUGIN_H
#define ESCHOOL_PLUGIN_H

#include <stddef.h>

enum plugin_fail {
	PLUGIN_UNSAFE = 1, /* missing, a link, or not root's alone */
	PLUGIN_NOLOAD,     /* dlopen refused it (detail: dlerror) */
	PLUGIN_FOREIGN,    /* it has no such symbol: not this eschool's */
};

/* The address of symbol in plugin file, or NULL with *why (and the
 * directory looked in, and dlopen's words, for the caller's message). */
const void *plugin_load(const char *file, const char *symbol, char *dir, size_t dirsz,
                        enum plugin_fail *why, char *detail, size_t detailsz);

#endif
