/* What the PAM module takes from outside: its arguments (the service
 * file's line), the login's source (PAM_RHOST, PAM_TTY: set by the host
 * program, from a peer's reverse DNS or a terminal name, so anything), and
 * the escaping of what it writes to syslog. Pure functions: no PAM, no
 * I/O, no allocation; fuzzed by tests/fuzz/fuzz_pam_args.c. */
#ifndef ESCHOOL_PAMIN_H
#define ESCHOOL_PAMIN_H

#include <stdbool.h>
#include <stddef.h>

#define ES_PAM_DEFAULT_CONFIG "/etc/eschool/eschool.conf"
/* a config= path longer than this is refused (PATH_MAX, with its NUL) */
#define ES_PAM_CONFIG_MAX 4095

struct es_pam_args {
	bool debug;
	const char *config_path; /* points into argv, or ES_PAM_DEFAULT_CONFIG */
};

/* Parses the module's arguments: "debug", "config=/ABSOLUTE/PATH" (the last
 * one wins; no control character, at most ES_PAM_CONFIG_MAX bytes).
 * Anything else, a NULL entry included, is passed to bad (when not NULL;
 * NULL entries as "") and otherwise ignored. Returns the number of bad
 * arguments. */
int es_pam_args_parse(int argc, const char *const *argv, struct es_pam_args *out,
                      void (*bad)(const char *arg, void *ctx), void *ctx);

/* The login's source as it is recorded in known_sources and shown in the
 * new-login-source mail: rhost when set and not empty, else tty, else
 * "unknown". Printable ASCII (0x21..0x7e) is kept except ',' (the list's
 * separator), '%' (the state file's escape) and '\' (this one's); every
 * other byte (controls, space, DEL, non-ASCII) becomes "\xHH". Host names
 * are ASCII (an IDN arrives as punycode) and so are terminal names: a
 * non-ASCII byte in either is not something to show as text. At most
 * ES_PAM_SOURCE_MAX bytes and outsz-1 (an escape is never cut), always
 * NUL-terminated when outsz > 0. Returns the length written. */
#define ES_PAM_SOURCE_MAX 128
size_t es_login_source_clean(const char *rhost, const char *tty, char *out, size_t outsz);

/* A line for syslog: bytes < 0x20, 0x7f, '\', invalid UTF-8, and the
 * UTF-8 forms of C1 controls (U+0080..U+009F, which some terminals obey),
 * of the line and paragraph separators and of the bidirectional overrides
 * (U+2028..U+202E, U+2066..U+2069: they break or reorder what a reader
 * sees) become "\xHH" per byte; other UTF-8 is kept.
 * A line cut to fit outsz ends in "..." and never in the middle of a
 * character or an escape. Always NUL-terminated when outsz > 0; returns
 * true when nothing was cut. */
bool es_log_escape(const char *in, char *out, size_t outsz);

#endif
