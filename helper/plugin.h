/* The helper's plugins: code loaded (dlopen) by the commands that need it,
 * not at every eschool command's start: the slips' renderer (cairo, pango:
 * eschool_slips.so), the mail sender (libcurl and the 30 libraries it
 * brings: eschool_smtp.so) and the directory code (libldap, SASL, GnuTLS:
 * eschool_ldap.so, directory.h). A plugin is loaded once, never unloaded, from
 * beside the running eschool when it is there (a build tree), else from
 * the install's directory (Makefile: PKGLIBDIR), and only from a file and
 * a directory root's alone, opened without following a link: nobody can
 * swap the file between the check and the load. */
#ifndef ESCHOOL_PLUGIN_H
#define ESCHOOL_PLUGIN_H

#include <stddef.h>

/* What every plugin's table starts with: a plugin is loaded only by the
 * eschool built with it, from the same headers (ES_PLUGIN_ABI: their
 * digest, made by the Makefile). Version 1 was the slips' table before
 * it had this head: its first int is 1, so it is refused before its
 * second field is read. */
#define PLUGIN_HEAD_VERSION 2
struct plugin_head {
	int version;     /* PLUGIN_HEAD_VERSION */
	const char *abi; /* ES_PLUGIN_ABI */
};
#define PLUGIN_HEAD { PLUGIN_HEAD_VERSION, ES_PLUGIN_ABI }

struct es_err;

/* The table symbol in plugin file (it starts with a struct plugin_head
 * of this build), or NULL with err saying which file and what is wrong
 * with it: missing, a link or not root's alone, refused by dlopen (its
 * words), or another build's; the caller prefixes what it cannot do
 * (es_err_prefix). */
const void *plugin_load(const char *file, const char *symbol, struct es_err *err);

#endif
