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
/* es_config's built-in state_dir: where the module looks for a user's
 * state when the config cannot be read (test_pamin checks they agree) */
#define ES_PAM_DEFAULT_STATE_DIR "/var/lib/eschool"
/* a config= path longer than this is refused (PATH_MAX, with its NUL) */
#define ES_PAM_CONFIG_MAX 4095

/* The password rules the module tells the user before a demanded change:
 * the module cannot read another module's arguments, so the administrator
 * copies pam_pwquality's (or pam_unix's minlen) onto pam_eschool's line. */
#define ES_PAM_MINLEN_MAX 512
#define ES_PAM_CREDIT_MAX 64
struct es_pam_rules {
	long minlen;   /* 0: not given */
	long minclass; /* 0: not given; else 1..4 */
	/* pam_pwquality's credits: a negative value -N asks for at least N
	 * characters of the kind (what is told); 0 or positive (a length
	 * credit) is accepted and not told */
	long ucredit, lcredit, dcredit, ocredit;
};

struct es_pam_args {
	bool debug;
	const char *config_path; /* points into argv, or ES_PAM_DEFAULT_CONFIG */
	struct es_pam_rules rules;
};

/* Parses the module's arguments: "debug", "config=/ABSOLUTE/PATH" (the last
 * one wins; no control character, at most ES_PAM_CONFIG_MAX bytes),
 * "minlen=N" (1..ES_PAM_MINLEN_MAX), "minclass=N" (1..4), "ucredit=N",
 * "lcredit=N", "dcredit=N", "ocredit=N" (-ES_PAM_CREDIT_MAX..
 * ES_PAM_CREDIT_MAX; decimal, the last one wins).
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

/* What the new-login-source mail shows for a login's source: a remote
 * host (rhost set and not empty) as es_login_source_clean records it;
 * otherwise the login was made at this computer, and a terminal's device
 * name ("pts/0", "/dev/tty3", ":0") means nothing to the reader: "the
 * console of the computer HOST" (French: "la console de l'ordinateur
 * HOST"), HOST cleaned like a source, or "this computer's console" ("la
 * console de cet ordinateur") without a usable host name (NULL, empty,
 * "(none)", "localhost"). Same bounds as es_login_source_clean (the phrase
 * is never cut: without room for it, "" is written). Returns the length. */
#define ES_PAM_SHOWN_MAX (ES_PAM_SOURCE_MAX + 64)
size_t es_login_source_shown(const char *rhost, const char *host, bool french, char *out,
                             size_t outsz);

/* Whether PAM_USER is worth an NSS lookup: 1..ES_PAM_USER_MAX bytes, no
 * control byte or DEL (what directory users type: "ZOE", "zoe@school.lan",
 * "SCHOOL\zoe"). A name that fails is never managed. */
#define ES_PAM_USER_MAX 256
bool es_pam_user_lookup_ok(const char *user);

/* The language of the application's messages, from its LC_MESSAGES locale
 * name (setlocale(LC_MESSAGES, NULL)): "fr", "fr_FR.UTF-8", "fr_CA@x" ...
 * are French; "en...", and "C", "POSIX", "C.UTF-8" (untranslated: libpam
 * and pam_unix speak English there) are English; anything else, NULL
 * included, is not known (the account's language applies). */
enum es_pam_lang { ES_PAM_LANG_OTHER = 0, ES_PAM_LANG_EN, ES_PAM_LANG_FR };
enum es_pam_lang es_pam_locale_lang(const char *locale);

/* The state_dir a configuration file names, when the file as a whole does
 * not load (a typo elsewhere): a best-effort scan of its text (len bytes,
 * NUL not needed) for "state_dir = VALUE" in [general], read as the INI
 * reader does (comments, an inline " ;" comment, a BOM, spaces around;
 * the last one wins), kept only when VALUE is an absolute path without
 * control bytes, shorter than outsz. Returns true with out filled, else
 * false (out ""). */
bool es_pam_conf_state_dir(const char *text, size_t len, char *out, size_t outsz);

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
