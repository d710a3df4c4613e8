/* Configuration: defaults < file < env_file < environment < command line.
 *
 * MUST:
 *  - open every file it reads with O_NOFOLLOW|O_CLOEXEC and check the open
 *    descriptor (fstat): a regular file, root-owned (unless the caller says
 *    ES_CFG_NO_OWNER_CHECK), not writable by group or others, at most 1 MiB;
 *  - refuse a mail password in a file that group or others can read;
 *  - reject unknown sections, keys and environment names in env_file, and bad
 *    values, with "file:line" and what to do;
 *  - wipe the mail password (es_wipe) whenever it is replaced or freed,
 *    and wipe every buffer that held file contents.
 * MUST NOT:
 *  - print, exit, abort or keep global state (this runs inside sshd through
 *    the PAM module); touch inih's global settings;
 *  - put a secret in an error message;
 *  - read the environment unless the caller passes ES_CFG_ENV. */
#include "es_config.h"
#include "es_bytes.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grp.h>
#include <ini.h>

#ifndef ES_TEMPLATE_DIR /* set by the Makefile from DATADIR */
#define ES_TEMPLATE_DIR "/usr/share/eschool/templates"
#endif

#include "es_names.h"
#include "es_roster.h"
#include "es_util.h"

#define CFG_MAX_FILE (1024L * 1024L)
#define SECRET_MAX 1024 /* longest mail password, in bytes */

/* ------------------------------------------------------------------ */
/* Sections and words */

enum section_kind {
	SEC_NONE = 0,
	SEC_GENERAL,
	SEC_MAIL,
	SEC_ACCOUNTS,
	SEC_POLICY,
	SEC_ROLE,
	SEC_DNS,
	SEC_LDAP,
	SEC_IMPORT
};

/* [role NAME] is matched apart: it carries a name. */
static const char *const section_names[] = {
    [SEC_NONE] = "",	     [SEC_GENERAL] = "general",
    [SEC_MAIL] = "mail",     [SEC_ACCOUNTS] = "accounts",
    [SEC_POLICY] = "policy", [SEC_ROLE] = "role",
    [SEC_DNS] = "dns",	     [SEC_LDAP] = "ldap",
    [SEC_IMPORT] = "import",
};

static const char *const mode_words[] = {"debug", "production", NULL};
static const char *const mailb_words[] = {"smtp", "console", "file", NULL};
static const char *const provider_words[] = {"gmail", "workspace", "sendgrid", "mailgun",
					     "ses",   "custom",	   NULL};
static const char *const security_words[] = {"starttls", "tls", "none", NULL};
static const char *const acct_words[] = {"shadow", "none", "ldap", NULL};
static const char *const ldap_schema_words[] = {"rfc2307", "rfc2307bis", NULL};
static const char *const ldap_reads_words[] = {"directory", "sssd", NULL};
static const char *const style_words[] = {"random", "pronounceable", NULL};
static const char *const hash_words[] = {"yescrypt", "sha512", NULL};
static const char *const onerr_words[] = {"deny", "allow", NULL};
static const char *const language_words[] = {"fr", "en", NULL};

/* T_WORD stores the word's index as an int in these enums. */
_Static_assert(sizeof(enum es_mode) == sizeof(int) && sizeof(enum es_mail_backend) == sizeof(int) &&
		   sizeof(enum es_provider) == sizeof(int) &&
		   sizeof(enum es_security) == sizeof(int) &&
		   sizeof(enum es_acct_backend) == sizeof(int) &&
		   sizeof(enum es_pw_style) == sizeof(int) &&
		   sizeof(enum es_pw_hash) == sizeof(int) &&
		   sizeof(enum es_on_error) == sizeof(int) &&
		   sizeof(enum es_ldap_schema) == sizeof(int) &&
		   sizeof(enum es_ldap_reads) == sizeof(int),
	       "T_WORD fields are int-sized enums");

/* Indexed by enum es_provider. */
static const struct preset {
	const char *host;
	long daily, monthly, rate;
} presets[] = {
    [ES_PROV_GMAIL] = {"smtp.gmail.com", 500, 0, 0},
    [ES_PROV_WORKSPACE] = {"smtp-relay.gmail.com", 2000, 0, 0},
    [ES_PROV_SENDGRID] = {"smtp.sendgrid.net", 100, 0, 0},
    [ES_PROV_MAILGUN] = {"smtp.mailgun.org", 0, 5000, 0},
    [ES_PROV_SES] = {"email-smtp.us-east-1.amazonaws.com", 200, 0, 1},
    [ES_PROV_CUSTOM] = {"", 0, 0, 0},
};

/* Django-style names (SPEC section 3), read from the environment in this
 * order. mail_key: the [mail] key the value goes to as it is; NULL: the
 * value is translated first (env_apply). */
static const struct env_name {
	const char *name, *mail_key;
} env_names[] = {
    {"DEBUG", NULL},
    {"EMAIL_BACKEND", NULL},
    {"EMAIL_HOST", "host"},
    {"EMAIL_PORT", "port"},
    {"EMAIL_USE_TLS", NULL},
    {"EMAIL_USE_SSL", NULL},
    {"EMAIL_HOST_USER", "username"},
    {"EMAIL_HOST_PASSWORD", "password"},
    {"DEFAULT_FROM_EMAIL", "from"},
    {"EMAIL_FILE_PATH", "file_dir"},
};

/* ------------------------------------------------------------------ */
/* Validators of values with a shape of their own (addresses and account
 * names: es_names.h) */

/* A host name of LDH labels (dots between), or an IPv6 literal. */
static bool valid_host(const char *s)
{
	struct in6_addr a6;
	size_t label = 0, n = strlen(s);

	if (inet_pton(AF_INET6, s, &a6) == 1)
		return true;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) || s[i] == '-') {
			if ((label == 0 && s[i] == '-') || ++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && s[n - 1] != '-';
}

/* IP, IP:PORT, [IPv6]:PORT. */
static bool valid_dns_server(const char *s)
{
	char addr[64];
	const char *port = NULL, *colon;
	struct in_addr a4;
	struct in6_addr a6;
	long p;
	size_t n;

	if (inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1)
		return true;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || end[1] != ':')
			return false;
		n = (size_t)(end - s - 1);
		if (n >= sizeof(addr))
			return false;
		memcpy(addr, s + 1, n);
		addr[n] = '\0';
		if (inet_pton(AF_INET6, addr, &a6) != 1)
			return false;
		port = end + 2;
	} else {
		colon = strchr(s, ':');
		if (colon == NULL)
			return false;
		n = (size_t)(colon - s);
		if (n >= sizeof(addr))
			return false;
		memcpy(addr, s, n);
		addr[n] = '\0';
		if (inet_pton(AF_INET, addr, &a4) != 1)
			return false;
		port = colon + 1;
	}
	return es_parse_long(port, 1, 65535, &p) == 0;
}

/* A DKIM selector: DNS labels of [A-Za-z0-9_-], dots between. */
static bool valid_selector(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '.' || s[n - 1] == '.' || strstr(s, "..") != NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

/* One or more LDAP URIs, spaces between: ldap://HOST[:PORT][/],
 * ldaps://..., ldapi:// with an optional %2F-encoded socket path; either
 * all ldapi:// or none (a TCP connection must be TLS whichever URI
 * answers). libldap parses them when connecting; this keeps obvious
 * mistakes (a bare host name, https://) at their file:line. */
static bool valid_ldap_uris(const char *s)
{
	static const char *const schemes[] = {"ldap://", "ldaps://", "ldapi://"};
	bool any = false;

	int local = -1; /* ldapi:// or not: all alike (es_ldap.c trusts no mix) */

	while (*s != '\0') {
		size_t n = strcspn(s, " "), i;

		if (n > 0) {
			for (i = 0; i < ES_ARRAY_LEN(schemes); i++)
				if (n >= strlen(schemes[i]) &&
				    strncasecmp(s, schemes[i], strlen(schemes[i])) == 0)
					break;
			if (i == ES_ARRAY_LEN(schemes) || (local >= 0 && local != (i == 2)))
				return false;
			local = i == 2;
			for (size_t j = 0; j < n; j++)
				if (!isgraph((unsigned char)s[j]))
					return false;
			any = true;
		}
		s += n + (s[n] == ' ');
	}
	return any;
}

/* A distinguished name's shape: attribute=value pairs separated by commas
 * (libldap checks the rest when connecting). */
static bool valid_dn(const char *s)
{
	const char *eq = strchr(s, '=');

	return eq != NULL && eq != s && eq[1] != '\0' && s[strlen(s) - 1] != ',' &&
	       !isspace((unsigned char)s[0]);
}

/* A template name: a file name, never a path. */
static bool valid_roster_format(const char *s)
{
	for (const char *const *f = es_roster_formats; *f != NULL; f++)
		if (strcmp(*f, s) == 0)
			return true;
	return s[0] == '\0';
}

static bool valid_roster_columns(const char *s)
{
	struct es_roster_map map = { 0 };
	struct es_err err = { 0 };

	return es_roster_map_parse(s, &map, &err) == 0;
}

static bool valid_template_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* The keys: one row each, one setter for all (key_set) */

enum key_type {
	T_WORD,	       /* one of .words, any case; stored as its index (an enum) */
	T_WORD_TEXT,   /* one of .words, stored as the word itself */
	T_LONG,	       /* a whole number from .min to .max */
	T_BOOL,	       /* yes/no and the like (es_parse_bool) */
	T_TEXT,	       /* at most .size - 1 bytes; .valid checks it unless empty */
	T_PATH,	       /* an absolute path, or nothing unless F_REQUIRED */
	T_NAMES,       /* a list of .len-byte items that .valid accepts, into
			  char[.size / .item][.item] and the size_t at .count */
	T_DAYS,	       /* warn_schedule: day counts from .min to .max, each once,
			  kept in descending order in long[] and .count */
	T_SECRET,      /* password: never shown (set_password) */
	T_SECRET_FILE, /* password_file: a path, and the secret it holds */
};

enum key_flag {
	F_ROLE = 1 << 0,     /* an [accounts]/[policy] key a [role NAME] may override */
	F_REQUIRED = 1 << 1, /* T_PATH: not empty */
	F_PRESET = 1 << 2,   /* empty = the provider's default; the bool at .given
				says whether the key was given (apply_presets) */
	F_DISTINCT = 1 << 3, /* T_NAMES: each item once */
};

struct key {
	enum section_kind sec; /* SEC_ROLE: the role's own keys */
	const char *name;
	enum key_type type;
	unsigned flags; /* enum key_flag */
	/* the field in the struct its section fills: es_config ([general],
	 * [mail], [dns]), es_policy ([accounts], [policy]) or es_role */
	size_t off, size;
	size_t item, count, given; /* T_NAMES/T_DAYS item size and count; F_PRESET */
	long min, max;		   /* T_LONG, T_DAYS */
	size_t len;		   /* T_NAMES, T_DAYS: longest item, in bytes */
	const char *const *words;
	bool (*valid)(const char *s);
	const char *expected; /* what .valid accepts, for messages */
	const char *noun;     /* T_NAMES: "at most 16 groups", "each group once" */
	const char *why;      /* [policy] key without F_ROLE: why a role cannot set it */
};

#define FIELD(type, f) .off = offsetof(type, f), .size = sizeof(((type *)NULL)->f)
#define CFG(f) FIELD(struct es_config, f)
#define POL(f) FIELD(struct es_policy, f)
#define LIST(type, f, n)                                                                           \
	FIELD(type, f), .item = sizeof(((type *)NULL)->f[0]), .count = offsetof(type, n)
#define PRESET(flag) .flags = F_PRESET, .given = offsetof(struct es_config, flag)
#define RANGE(lo, hi) .min = (lo), .max = (hi)

#define IS_EMAIL .valid = es_valid_email, .expected = "an address like name@school.example"
#define IS_DN .valid = valid_dn, .expected = "a DN like dc=school,dc=example"

/* In the order of SPEC section 3; a name's first section is the one
 * "it belongs in [...]" names, and ties between suggestions go to the
 * earlier row. */
static const struct key keys[] = {
    {SEC_GENERAL, "mode", T_WORD, CFG(mode), .words = mode_words},
    {SEC_GENERAL, "school_name", T_TEXT, CFG(school_name)},
    {SEC_GENERAL, "admin_email", T_TEXT, CFG(admin_email), IS_EMAIL},
    {SEC_GENERAL, "contact", T_TEXT, CFG(contact)},
    {SEC_GENERAL, "logo", T_PATH, CFG(logo)},
    {SEC_GENERAL, "language", T_WORD_TEXT, CFG(language), .words = language_words},
    {SEC_GENERAL, "log_file", T_PATH, CFG(log_file)},
    {SEC_GENERAL, "backup_max_age_days", T_LONG, CFG(backup_max_age_days), RANGE(1, 3650)},
    {SEC_GENERAL, "state_dir", T_PATH, F_REQUIRED, CFG(state_dir)},
    {SEC_GENERAL, "spool_dir", T_PATH, F_REQUIRED, CFG(spool_dir)},
    {SEC_GENERAL, "template_dir", T_PATH, F_REQUIRED, CFG(template_dir)},
    {SEC_GENERAL, "env_file", T_PATH, CFG(env_file)},

    {SEC_MAIL, "backend", T_WORD, CFG(mail_backend), .words = mailb_words},
    {SEC_MAIL, "provider", T_WORD, CFG(provider), .words = provider_words},
    {SEC_MAIL, "host", T_TEXT, CFG(host), PRESET(host_set), .valid = valid_host,
     .expected = "a host name like smtp.school.example, or an IP address"},
    {SEC_MAIL, "port", T_LONG, CFG(port), PRESET(port_set), RANGE(1, 65535)},
    {SEC_MAIL, "security", T_WORD, CFG(security), PRESET(security_set), .words = security_words},
    {SEC_MAIL, "username", T_TEXT, CFG(username)},
    {SEC_MAIL, "password_file", T_SECRET_FILE},
    {SEC_MAIL, "password", T_SECRET},
    {SEC_MAIL, "from", T_TEXT, CFG(from), IS_EMAIL},
    {SEC_MAIL, "ca_file", T_PATH, CFG(ca_file)},
    {SEC_MAIL, "file_dir", T_PATH, CFG(file_dir)},
    {SEC_MAIL, "timeout", T_LONG, CFG(timeout), RANGE(1, 600)},
    {SEC_MAIL, "daily_quota", T_LONG, CFG(daily_quota), PRESET(daily_set), RANGE(0, 10000000)},
    {SEC_MAIL, "monthly_quota", T_LONG, CFG(monthly_quota), PRESET(monthly_set),
     RANGE(0, 100000000)},
    {SEC_MAIL, "rate_per_second", T_LONG, CFG(rate_per_second), PRESET(rate_set), RANGE(0, 1000)},
    {SEC_MAIL, "quota_warn_percent", T_LONG, CFG(quota_warn_percent), RANGE(1, 100)},

    {SEC_ACCOUNTS, "backend", T_WORD, F_ROLE, POL(backend), .words = acct_words},
    {SEC_ACCOUNTS, "home_base", T_PATH, F_ROLE | F_REQUIRED, POL(home_base)},
    {SEC_ACCOUNTS, "shell", T_PATH, F_ROLE | F_REQUIRED, POL(shell)},

    {SEC_POLICY, "password_length", T_LONG, F_ROLE, POL(password_length), RANGE(8, 64)},
    {SEC_POLICY, "password_style", T_WORD, F_ROLE, POL(password_style), .words = style_words},
    {SEC_POLICY, "password_hash", T_WORD, F_ROLE, POL(password_hash), .words = hash_words},
    {SEC_POLICY, "first_login_change", T_BOOL, F_ROLE, POL(first_login_change)},
    {SEC_POLICY, "max_age_days", T_LONG, F_ROLE, POL(max_age_days), RANGE(0, 3650)},
    {SEC_POLICY, "warn_days", T_LONG, F_ROLE, POL(warn_days), RANGE(0, 365)},
    {SEC_POLICY, "warn_schedule", T_DAYS, F_ROLE,
     LIST(struct es_policy, warn_schedule, n_warn_schedule), RANGE(0, 3650), .len = 4},
    {SEC_POLICY, "initial_password_ttl_days", T_LONG, F_ROLE, POL(initial_password_ttl_days),
     RANGE(1, 365)},
    {SEC_POLICY, "email_code_ttl_minutes", T_LONG, F_ROLE, POL(email_code_ttl_minutes),
     RANGE(1, 10080)},
    {SEC_POLICY, "email_code_tries", T_LONG, F_ROLE, POL(email_code_tries), RANGE(1, 100)},
    {SEC_POLICY, "remind_unchanged_after_days", T_LONG, F_ROLE, POL(remind_unchanged_after_days),
     RANGE(0, 365)},
    {SEC_POLICY, "notify_new_login_source", T_BOOL, F_ROLE, POL(notify_new_login_source)},
    {SEC_POLICY, "known_sources", T_LONG, F_ROLE, POL(known_sources), RANGE(1, 1000)},
    {SEC_POLICY, "enforce", T_BOOL, F_ROLE, POL(enforce)},
    {SEC_POLICY, "exempt_users", T_NAMES, F_ROLE,
     LIST(struct es_policy, exempt_users, n_exempt_users), .len = ES_NAME_MAX,
     .valid = es_valid_existing_name, .expected = "user names separated by commas or spaces",
     .noun = "user"},
    {SEC_POLICY, "exempt_group", T_TEXT, F_ROLE, POL(exempt_group), .valid = es_valid_existing_name,
     .expected = "a group name or nothing"},
    /* the module decides on_error before it knows the role (a corrupt
     * state names no role): a per-role value could not be honoured */
    {SEC_POLICY, "on_error", T_WORD, POL(on_error), .words = onerr_words,
     .why = "with a corrupt state file the role is unknown"},

    {SEC_ROLE, "groups", T_NAMES, F_DISTINCT, LIST(struct es_role, groups, n_groups),
     .len = ES_NAME_MAX, .valid = es_valid_groupname,
     .expected = "group names ([a-z_][a-z0-9_-]*) separated by commas", .noun = "group"},
    {SEC_ROLE, "template", T_TEXT, FIELD(struct es_role, template_name),
     .valid = valid_template_name, .expected = "a template name like welcome-staff, not a path"},

    {SEC_DNS, "server", T_TEXT, CFG(dns_server), .valid = valid_dns_server,
     .expected = "an IP address, IP:PORT or [IPv6]:PORT, or nothing"},
    {SEC_DNS, "dkim_selectors", T_NAMES, LIST(struct es_config, dkim_selectors, n_dkim_selectors),
     .len = 63, .valid = valid_selector, .expected = "DKIM selectors separated by commas",
     .noun = "selector"},

    {SEC_LDAP, "uri", T_TEXT, CFG(ldap.uri), .valid = valid_ldap_uris,
     .expected = "ldap://HOST, ldaps://HOST or ldapi:// (several: spaces between; "
                 "ldapi:// alone or not at all)"},
    {SEC_LDAP, "base", T_TEXT, CFG(ldap.base), IS_DN},
    {SEC_LDAP, "users_dn", T_TEXT, CFG(ldap.users_dn), IS_DN},
    {SEC_LDAP, "groups_dn", T_TEXT, CFG(ldap.groups_dn), IS_DN},
    {SEC_LDAP, "ids_dn", T_TEXT, CFG(ldap.ids_dn), IS_DN},
    {SEC_LDAP, "bind_dn", T_TEXT, CFG(ldap.bind_dn), IS_DN},
    {SEC_LDAP, "bind_password_file", T_PATH, CFG(ldap.bind_password_file)},
    {SEC_LDAP, "ca_file", T_PATH, CFG(ldap.ca_file)},
    {SEC_LDAP, "timeout", T_LONG, CFG(ldap.timeout), RANGE(1, 120)},
    {SEC_LDAP, "schema", T_WORD, CFG(ldap.schema), .words = ldap_schema_words},
    {SEC_LDAP, "login_reads", T_WORD, CFG(ldap.login_reads), .words = ldap_reads_words},

    {SEC_IMPORT, "format", T_TEXT, CFG(import_format), .valid = valid_roster_format,
     .expected = "plain, pronote, ecoledirecte, siecle, onde, workspace, sds, or nothing"},
    {SEC_IMPORT, "columns", T_TEXT, CFG(import_columns), .valid = valid_roster_columns,
     .expected = "COLUMN=FIELD pairs separated by commas (fields: username, name, first_name, "
                 "last_name, email, parent_email, class, lang, role, ignore)"},
    {SEC_IMPORT, "class_groups", T_BOOL, CFG(import_class_groups)},
};

/* ------------------------------------------------------------------ */
/* Loading context */

enum source { SRC_FILE, SRC_ENV, SRC_OTHER };

struct load_ctx {
	struct es_config *cfg;
	unsigned flags;
	enum source src;
	const char *path; /* the INI file being parsed */
	mode_t file_mode;
	FILE *fp;
	int lineno;
	long bytes;
	/* the first error, with its line */
	bool failed;
	int err_line;
	struct es_err err;
	/* in the INI file: password and password_file are exclusive */
	bool seen_password, seen_password_file;
	/* EMAIL_USE_TLS / EMAIL_USE_SSL: -1 not given, else the boolean */
	int env_tls, env_ssl;
};

static void ctx_init(struct load_ctx *lc, struct es_config *cfg, unsigned flags, enum source src)
{
	memset(lc, 0, sizeof(*lc));
	lc->cfg = cfg;
	lc->flags = flags;
	lc->src = src;
	lc->env_tls = lc->env_ssl = -1;
}

/* Keeps the first error only (inih goes on after a failed line). */
static void ctx_fail(struct load_ctx *lc, int line, const struct es_err *e)
{
	if (lc->failed)
		return;
	lc->failed = true;
	lc->err_line = line;
	lc->err = *e;
}

/* ------------------------------------------------------------------ */
/* Values */

/* Index of s in a NULL-terminated word list (case-insensitive), or -1. */
static int word_index(const char *const *words, const char *s)
{
	for (int i = 0; words[i] != NULL; i++)
		if (strcasecmp(words[i], s) == 0)
			return i;
	return -1;
}

/* "a, b or c" for messages. */
static void words_join(const char *const *words, char *out, size_t outsz)
{
	size_t n = 0, used = 0;

	while (words[n] != NULL)
		n++;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *sep = i == 0 ? "" : (i + 1 == n ? " or " : ", ");
		int w = snprintf(out + used, outsz - used, "%s%s", sep, words[i]);
		if (w < 0 || (size_t)w >= outsz - used)
			return;
		used += (size_t)w;
	}
}

/* A value as it may appear in a message: control bytes replaced, cut. */
static void shown_value(const char *value, char *out, size_t outsz)
{
	size_t i = 0;

	for (; value[i] != '\0' && i + 4 < outsz; i++) {
		unsigned char c = (unsigned char)value[i];
		char shown = value[i];
		if (c < 0x20 || c == 0x7f)
			shown = '?';
		out[i] = shown;
	}
	if (value[i] != '\0' && i + 4 >= outsz && outsz >= 4) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

/* value NULL: a secret, not shown. */
static int bad_value(struct es_err *err, const char *where, const char *key, const char *value,
		     const char *expected)
{
	char shown[100];

	if (value == NULL)
		return es_err_set(err, ES_ECONFIG, "%s: bad value for %s (hidden) (expected %s)",
				  where, key, expected);
	shown_value(value, shown, sizeof(shown));
	return es_err_set(err, ES_ECONFIG, "%s: bad value for %s: '%s' (expected %s)", where, key,
			  shown, expected);
}

static int set_long(long *out, long min, long max, const char *where, const char *key,
		    const char *value, struct es_err *err)
{
	char expected[96];

	if (es_parse_long(value, min, max, out) != 0) {
		(void)snprintf(expected, sizeof(expected), "a whole number from %ld to %ld", min,
			       max);
		return bad_value(err, where, key, value, expected);
	}
	return 0;
}

static int set_text(char *dst, size_t dstsz, const char *where, const char *key, const char *value,
		    struct es_err *err)
{
	char expected[64];

	if (strlen(value) >= dstsz) {
		(void)snprintf(expected, sizeof(expected), "at most %zu bytes", dstsz - 1);
		return bad_value(err, where, key, value, expected);
	}
	(void)es_strlcpy(dst, value, dstsz);
	return 0;
}

static int set_path(char *dst, size_t dstsz, bool required, const char *where, const char *key,
		    const char *value, struct es_err *err)
{
	if (value[0] == '\0' && !required) {
		dst[0] = '\0';
		return 0;
	}
	if (value[0] != '/')
		return bad_value(err, where, key, value,
				 required ? "an absolute path" : "an absolute path or nothing");
	return set_text(dst, dstsz, where, key, value, err);
}

/* Items separated by commas and/or whitespace. */
struct list {
	char item[ES_MAX_LIST][65];
	size_t n;
};

static int parse_list(const char *value, size_t max_len, const char *where, const char *key,
		      struct list *out, struct es_err *err)
{
	const char *s = value;
	bool comma_pending = false;
	char expected[96];

	memset(out, 0, sizeof(*out));
	while (*s != '\0') {
		const char *start;
		size_t len;

		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		if (*s == ',') {
			if (out->n == 0 || comma_pending)
				return bad_value(err, where, key, value,
						 "a list separated by commas, without empty items");
			comma_pending = true;
			s++;
			continue;
		}
		start = s;
		while (*s != '\0' && *s != ',' && !isspace((unsigned char)*s))
			s++;
		len = (size_t)(s - start);
		if (len > max_len || len >= sizeof(out->item[0])) {
			(void)snprintf(expected, sizeof(expected), "items of at most %zu bytes",
				       max_len);
			return bad_value(err, where, key, value, expected);
		}
		if (out->n >= ES_MAX_LIST) {
			(void)snprintf(expected, sizeof(expected), "at most %d items", ES_MAX_LIST);
			return bad_value(err, where, key, value, expected);
		}
		memcpy(out->item[out->n], start, len);
		out->item[out->n][len] = '\0';
		out->n++;
		comma_pending = false;
	}
	if (comma_pending)
		return bad_value(err, where, key, value,
				 "a list separated by commas, without empty items");
	return 0;
}

static bool list_has_duplicate(const struct list *l, size_t upto, const char *s)
{
	for (size_t i = 0; i < upto; i++)
		if (strcmp(l->item[i], s) == 0)
			return true;
	return false;
}

static int cmp_long_desc(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x < y) - (x > y);
}

/* T_NAMES: every item checked before any is stored. */
static int set_names(const struct key *k, char *dst, size_t *count, const char *value,
		     const char *where, struct es_err *err)
{
	struct list l;
	size_t cap = k->size / k->item;
	char expected[64];

	if (parse_list(value, k->len, where, k->name, &l, err) != 0)
		return -1;
	if (l.n > cap) {
		(void)snprintf(expected, sizeof(expected), "at most %zu %ss", cap, k->noun);
		return bad_value(err, where, k->name, value, expected);
	}
	for (size_t i = 0; i < l.n; i++) {
		if (!k->valid(l.item[i]))
			return bad_value(err, where, k->name, value, k->expected);
		if ((k->flags & F_DISTINCT) != 0 && list_has_duplicate(&l, i, l.item[i])) {
			(void)snprintf(expected, sizeof(expected), "each %s once", k->noun);
			return bad_value(err, where, k->name, value, expected);
		}
	}
	for (size_t i = 0; i < l.n; i++)
		(void)es_strlcpy(dst + i * k->item, l.item[i], k->item);
	*count = l.n;
	return 0;
}

/* T_DAYS: "7,1" and "1 7" are the same schedule, "7,07" says 7 twice. */
static int set_days(const struct key *k, long *dst, size_t *count, const char *value,
		    const char *where, struct es_err *err)
{
	struct list l;
	long days[ES_MAX_LIST];
	char expected[96];

	if (parse_list(value, k->len, where, k->name, &l, err) != 0)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		if (es_parse_long(l.item[i], k->min, k->max, &days[i]) != 0) {
			(void)snprintf(expected, sizeof(expected),
				       "day counts from %ld to %ld, like 7,1", k->min, k->max);
			return bad_value(err, where, k->name, value, expected);
		}
		if (list_has_duplicate(&l, i, l.item[i]))
			return bad_value(err, where, k->name, value,
					 "each day count once, like 7,1");
	}
	qsort(days, l.n, sizeof(days[0]), cmp_long_desc);
	for (size_t i = 1; i < l.n; i++)
		if (days[i] == days[i - 1])
			return bad_value(err, where, k->name, value,
					 "each day count once, like 7,1");
	memcpy(dst, days, l.n * sizeof(days[0]));
	*count = l.n;
	return 0;
}

/* The one setter of a value: checks it against row k and stores it in the
 * struct at base (the one k->sec fills). Nothing is stored on error. */
static int key_set(const struct key *k, void *base, const char *value, const char *where,
		   struct es_err *err)
{
	char *field = (char *)base + k->off, expected[160];
	bool *given = (k->flags & F_PRESET) != 0 ? (bool *)((char *)base + k->given) : NULL;
	int rc = -1, w;

	if (given != NULL && value[0] == '\0') {
		*given = false; /* apply_presets fills the value; a text is emptied */
		if (k->type != T_TEXT)
			return 0;
	}
	switch (k->type) {
	case T_WORD:
	case T_WORD_TEXT:
		w = word_index(k->words, value);
		if (w < 0) {
			words_join(k->words, expected, sizeof(expected));
			return bad_value(err, where, k->name, value, expected);
		}
		if (k->type == T_WORD)
			memcpy(field, &w, sizeof(w));
		else
			(void)es_strlcpy(field, k->words[w], k->size);
		rc = 0;
		break;
	case T_LONG:
		rc = set_long((long *)field, k->min, k->max, where, k->name, value, err);
		break;
	case T_BOOL:
		if (es_parse_bool(value, (bool *)field) != 0)
			return bad_value(err, where, k->name, value, "yes or no");
		rc = 0;
		break;
	case T_TEXT:
		if (value[0] != '\0' && k->valid != NULL && !k->valid(value))
			return bad_value(err, where, k->name, value, k->expected);
		rc = set_text(field, k->size, where, k->name, value, err);
		break;
	case T_PATH:
		rc = set_path(field, k->size, (k->flags & F_REQUIRED) != 0, where, k->name, value,
			      err);
		break;
	case T_NAMES:
		rc = set_names(k, field, (size_t *)((char *)base + k->count), value, where, err);
		break;
	case T_DAYS:
		rc = set_days(k, (long *)field, (size_t *)((char *)base + k->count), value, where,
			      err);
		break;
	case T_SECRET:
	case T_SECRET_FILE:
		return es_err_set(err, ES_ESOFTWARE, "%s: no setter for key '%s'", where, k->name);
	}
	if (rc == 0 && given != NULL && value[0] != '\0')
		*given = true;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Files */

enum fix_kind { FIX_CONFIG, FIX_SECRET };

/* Opens path the pam-u2f way. Returns the descriptor or -1 (err set);
 * *missing tells ENOENT apart. bad_bits: mode bits the file must not have. */
static int open_safely(const char *path, const char *what, bool owner_check, mode_t bad_bits,
		       enum fix_kind fix, bool *missing, struct stat *st, struct es_err *err)
{
	int fd, rc = -1;

	if (missing != NULL)
		*missing = false;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT && missing != NULL)
			*missing = true;
		if (e == ELOOP)
			return es_err_set(err, ES_ECONFIG,
					  "%s %s: is a symbolic link; refusing to follow it (name "
					  "the real file)",
					  what, path);
		return es_err_errno(err, ES_ECONFIG, e, "%s %s", what, path);
	}
	if (fstat(fd, st) != 0) {
		(void)es_err_errno(err, ES_ECONFIG, errno, "%s %s: fstat", what, path);
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		(void)es_err_set(err, ES_ECONFIG, "%s %s: not a regular file", what, path);
		goto out;
	}
	if ((owner_check && st->st_uid != 0) || (st->st_mode & bad_bits) != 0) {
		if (fix == FIX_SECRET)
			(void)es_err_set(err, ES_ECONFIG,
					 "%s %s: must be owned by root and readable by root only "
					 "(owner uid %u, mode %04o); run: chmod 600 %s; chown "
					 "root:root %s",
					 what, path, (unsigned)st->st_uid,
					 (unsigned)(st->st_mode & 07777), path, path);
		else
			(void)es_err_set(
			    err, ES_ECONFIG,
			    "%s %s: must be owned by root and not writable by group or "
			    "others (owner uid %u, mode %04o); run: chmod go-w %s; "
			    "chown root %s",
			    what, path, (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777), path,
			    path);
		goto out;
	}
	if (st->st_size > CFG_MAX_FILE) {
		(void)es_err_set(err, ES_ECONFIG, "%s %s: larger than 1 MiB", what, path);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* The first line of a root-only file: the mail password. */
int es_config_read_secret(const char *path, const char *what, bool owner_check, char **out,
			  struct es_err *err)
{
	char buf[SECRET_MAX + 2];
	size_t len = 0;
	struct stat st;
	int fd, rc = -1;
	char *nl, *secret;

	fd = open_safely(path, what, owner_check, 077, FIX_SECRET, NULL, &st, err);
	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			(void)es_err_errno(err, ES_ECONFIG, errno, "%s %s: read", what, path);
			goto out;
		}
		len += (size_t)n;
		buf[len] = '\0';
		if (n == 0 || memchr(buf, '\n', len) != NULL || len == sizeof(buf) - 1)
			break;
	}
	nl = memchr(buf, '\n', len);
	if (nl == NULL && len > SECRET_MAX) {
		(void)es_err_set(err, ES_ECONFIG,
				 "%s %s: the first line is longer than %d bytes", what, path,
				 SECRET_MAX);
		goto out;
	}
	if (nl != NULL)
		len = (size_t)(nl - buf);
	while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == '\n'))
		len--;
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		(void)es_err_set(err, ES_ECONFIG, "%s %s: contains a NUL byte", what, path);
		goto out;
	}
	if (len == 0) {
		(void)es_err_set(err, ES_ECONFIG,
				 "%s %s: empty (its first line must hold the password)", what,
				 path);
		goto out;
	}
	secret = es_strdup(buf);
	if (secret == NULL) {
		(void)es_err_set(err, ES_EOS, "out of memory");
		goto out;
	}
	es_free_secret(out);
	*out = secret;
	rc = 0;
out:
	es_wipe(buf, sizeof(buf));
	(void)close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The mail password: its own setters (sources, file modes, wiping) */

/* In the file, password and password_file exclude each other: the one
 * being set (*seen marked) refused when the other was (other_seen). */
static int one_password_key(bool other_seen, bool *seen, const char *where, struct es_err *err)
{
	if (other_seen)
		return es_err_set(err, ES_ECONFIG,
				  "%s: set either password or password_file, not both", where);
	*seen = true;
	return 0;
}

/* password: from the file (readable by root only) or the environment,
 * never from the command line; never shown in a message. */
static int set_password(struct load_ctx *lc, const char *value, const char *where,
			struct es_err *err)
{
	struct es_config *cfg = lc->cfg;
	char *secret;

	if (lc->src == SRC_OTHER)
		return es_err_set(err, ES_ECONFIG,
				  "%s: the mail password cannot be given here; use password_file",
				  where);
	if (lc->src == SRC_FILE) {
		if (one_password_key(lc->seen_password_file, &lc->seen_password, where, err) != 0)
			return -1;
		if (value[0] != '\0' && (lc->file_mode & 044) != 0)
			return es_err_set(err, ES_ECONFIG,
					  "%s: contains a mail password but is readable by "
					  "group/others; run: chmod 600 %s",
					  lc->path, lc->path);
	}
	if (strlen(value) > SECRET_MAX)
		return bad_value(err, where, "password", NULL, "at most 1024 bytes");
	if (value[0] == '\0') {
		es_free_secret(&cfg->password);
		return 0;
	}
	secret = es_strdup(value);
	if (secret == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	es_free_secret(&cfg->password);
	cfg->password = secret;
	return 0;
}

/* password_file: the path, and the secret read from it at once (not with
 * ES_CFG_NO_SECRET: the PAM module sends no mail). */
static int set_password_file(struct load_ctx *lc, const char *value, const char *where,
			     struct es_err *err)
{
	struct es_config *cfg = lc->cfg;
	bool owner_check = (lc->flags & ES_CFG_NO_OWNER_CHECK) == 0;

	if (lc->src == SRC_FILE &&
	    one_password_key(lc->seen_password, &lc->seen_password_file, where, err) != 0)
		return -1;
	if (set_path(cfg->password_file, sizeof(cfg->password_file), false, where, "password_file",
		     value, err) != 0)
		return -1;
	if (cfg->password_file[0] != '\0' && (lc->flags & ES_CFG_NO_SECRET) == 0 &&
	    es_config_read_secret(cfg->password_file, "password_file", owner_check,
				  &cfg->password, err) != 0)
		return es_err_prefix(err, "%s", where);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Sections */

static struct es_role *find_role(struct es_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_roles; i++)
		if (strcmp(cfg->roles[i].name, name) == 0)
			return &cfg->roles[i];
	return NULL;
}

/* Resolves a section name (trimmed), creating a role on first sight. */
static int resolve_section(struct es_config *cfg, const char *section, const char *where,
			   enum section_kind *kind, struct es_role **role, struct es_err *err)
{
	static const char prefix[] = "role";
	const size_t plen = sizeof(prefix) - 1;
	char name[256], shown[100];
	char *rname;

	*kind = SEC_NONE;
	*role = NULL;
	if (strlen(section) >= sizeof(name)) {
		shown_value(section, shown, sizeof(shown));
		return es_err_set(err, ES_ECONFIG, "%s: unknown section [%s]", where, shown);
	}
	(void)es_strlcpy(name, section, sizeof(name));
	(void)es_trim(name);
	if (name[0] == '\0' && section[0] == '\0')
		return 0; /* before any section */
	for (size_t s = SEC_GENERAL; s < ES_ARRAY_LEN(section_names); s++)
		if (s != SEC_ROLE && strcmp(name, section_names[s]) == 0) {
			*kind = (enum section_kind)s;
			return 0;
		}
	if (strncmp(name, prefix, plen) != 0 ||
	    (name[plen] != '\0' && !isspace((unsigned char)name[plen]))) {
		shown_value(name, shown, sizeof(shown));
		return es_err_set(err, ES_ECONFIG,
				  "%s: unknown section [%s] (sections: general, mail, accounts, "
				  "policy, role NAME, dns, ldap)",
				  where, shown);
	}
	rname = es_trim(name + plen);
	/* a role name is stored in states and names welcome-<role>: the rule
	 * of the groups eschool creates */
	if (!es_valid_groupname(rname)) {
		shown_value(rname, shown, sizeof(shown));
		return es_err_set(
		    err, ES_ECONFIG,
		    "%s: bad role name '%s' in [role NAME] (expected [a-z_][a-z0-9_-]*, "
		    "at most %d characters)",
		    where, shown, ES_NAME_MAX);
	}
	*kind = SEC_ROLE;
	*role = find_role(cfg, rname);
	if (*role != NULL)
		return 0;
	if (cfg->n_roles >= ES_MAX_ROLES)
		return es_err_set(err, ES_ECONFIG, "%s: too many roles (at most %d)", where,
				  ES_MAX_ROLES);
	*role = &cfg->roles[cfg->n_roles++];
	memset(*role, 0, sizeof(**role));
	(void)es_strlcpy((*role)->name, rname, sizeof((*role)->name));
	return 0;
}

/* A [role NAME] section takes the role's own keys and the [accounts] and
 * [policy] ones (F_ROLE says which it may set; role_set refuses the others
 * with the reason). */
static bool key_in(const struct key *k, enum section_kind kind)
{
	return k->sec == kind ||
	       (kind == SEC_ROLE && (k->sec == SEC_ACCOUNTS || k->sec == SEC_POLICY));
}

static const struct key *find_key(enum section_kind kind, const char *name)
{
	for (size_t i = 0; i < ES_ARRAY_LEN(keys); i++)
		if (key_in(&keys[i], kind) && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[48], cur[48];

	if (la >= 47 || lb >= 47)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t m = del < ins ? del : ins;
			cur[j] = m < sub ? m : sub;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
	}
	return prev[lb];
}

/* "did you mean" a key of this section at distance 1 or 2, else the
 * section the key belongs in (a role's own keys are named by the first). */
static int unknown_key(enum section_kind kind, const char *section, const char *key,
		       const char *where, struct es_err *err)
{
	const char *best = NULL, *home = NULL;
	size_t bestd = 3;
	char shown[100], sec[100], hint[160] = "";

	for (size_t i = 0; i < ES_ARRAY_LEN(keys); i++) {
		const struct key *k = &keys[i];
		size_t d;

		if (home == NULL && k->sec != SEC_ROLE && strcmp(k->name, key) == 0)
			home = section_names[k->sec];
		if (!key_in(k, kind))
			continue;
		d = edit_distance(key, k->name);
		if (d < bestd) {
			bestd = d;
			best = k->name;
		}
	}
	if (best != NULL && strlen(key) > 2)
		(void)snprintf(hint, sizeof(hint), " (did you mean '%s'?)", best);
	else if (home != NULL)
		(void)snprintf(hint, sizeof(hint), " (it belongs in [%s])", home);
	shown_value(key, shown, sizeof(shown));
	shown_value(section, sec, sizeof(sec));
	return es_err_set(err, ES_ECONFIG, "%s: unknown key '%s' in section [%s]%s", where, shown,
			  sec, hint);
}

/* A key in [role NAME]. The role's own keys are set at once; an
 * [accounts]/[policy] key is checked now on a scratch copy and kept as
 * text, replayed by es_config_role_policy() over the global values, so
 * that the order of sections in the file does not matter. */
static int role_set(struct es_config *cfg, struct es_role *role, const struct key *k,
		    const char *value, const char *where, struct es_err *err)
{
	struct es_role_override *o = NULL;
	struct es_policy scratch;
	unsigned char idx = (unsigned char)(role - cfg->roles);
	size_t wl = strlen(where);
	const char *tail;

	if (k->sec == SEC_ROLE)
		return key_set(k, role, value, where, err);
	if ((k->flags & F_ROLE) == 0)
		return es_err_set(err, ES_ECONFIG,
				  "%s: %s is a [%s] key: it cannot differ per role (%s); move it "
				  "to [%s]",
				  where, k->name, section_names[k->sec], k->why,
				  section_names[k->sec]);
	scratch = cfg->policy;
	if (key_set(k, &scratch, value, where, err) != 0)
		return -1;
	if (strlen(value) >= sizeof(o->value))
		return bad_value(err, where, k->name, value, "at most 255 bytes");
	for (size_t i = 0; i < cfg->n_overrides; i++)
		if (cfg->overrides[i].role == idx && strcmp(cfg->overrides[i].key, k->name) == 0)
			o = &cfg->overrides[i];
	if (o == NULL) {
		if (cfg->n_overrides >= ES_MAX_OVERRIDES)
			return es_err_set(err, ES_ECONFIG,
					  "%s: too many policy keys in [role] sections (at most %d "
					  "in all)",
					  where, ES_MAX_OVERRIDES);
		o = &cfg->overrides[cfg->n_overrides++];
		o->role = idx;
	}
	(void)es_strlcpy(o->key, k->name, sizeof(o->key));
	(void)es_strlcpy(o->value, value, sizeof(o->value));
	/* a long path keeps its end: the file name and the line */
	tail = wl < sizeof(o->where) ? where : where + wl - (sizeof(o->where) - 4);
	(void)snprintf(o->where, sizeof(o->where), "%s%s", tail == where ? "" : "...", tail);
	return 0;
}

/* The one entry behind the file, env_file, environment and command line:
 * section and key found in the table, the value checked as text, then
 * set through key_set (or the password's own setters). */
static int cfg_set(struct load_ctx *lc, const char *section, const char *key, const char *value,
		   const char *where, struct es_err *err)
{
	struct es_config *cfg = lc->cfg;
	enum section_kind kind;
	struct es_role *role;
	const struct key *k;
	char shown[100];

	if (resolve_section(cfg, section, where, &kind, &role, err) != 0)
		return -1;
	if (kind == SEC_NONE) {
		shown_value(key, shown, sizeof(shown));
		return es_err_set(err, ES_ECONFIG,
				  "%s: key '%s' is outside any section; put it under [general], "
				  "[mail], [accounts], [policy], [role NAME], [dns] or [ldap]",
				  where, shown);
	}
	k = find_key(kind, key);
	if (k == NULL)
		return unknown_key(kind, section, key, where, err);
	if (es_has_control(value))
		return bad_value(err, where, key, k->type == T_SECRET ? NULL : value,
				 "text without control characters");
	if (k->type != T_SECRET && !es_utf8_valid(value, strlen(value)))
		return bad_value(err, where, key, value, "UTF-8 text");
	if (k->type == T_SECRET)
		return set_password(lc, value, where, err);
	if (k->type == T_SECRET_FILE)
		return set_password_file(lc, value, where, err);
	if (kind == SEC_ROLE)
		return role_set(cfg, role, k, value, where, err);
	if (k->sec == SEC_ACCOUNTS || k->sec == SEC_POLICY)
		return key_set(k, &cfg->policy, value, where, err);
	return key_set(k, cfg, value, where, err);
}

/* ------------------------------------------------------------------ */
/* The INI file through inih */

/* inih's reader: one line per call, so that lineno here is the line the
 * handler sees. Leading blanks are removed, which turns inih's multi-line
 * continuation (a global setting we must not change) off: an indented line
 * is an ordinary line. Over-long lines and NUL bytes are errors, not cut. */
static char *ini_reader_cb(char *str, int num, void *stream)
{
	struct load_ctx *lc = stream;
	size_t cap = num > 2 ? (size_t)num - 2 : 0; /* room for "\n\0" */
	size_t n = 0, skip = 0;
	bool any = false, too_long = false, nul = false;
	int c;

	while ((c = getc(lc->fp)) != EOF) {
		any = true;
		lc->bytes++;
		if (c == '\n')
			break;
		if (c == '\0')
			nul = true;
		if (n < cap)
			str[n++] = (char)c;
		else
			too_long = true;
	}
	if (ferror(lc->fp) && !lc->failed) {
		struct es_err e = { 0 };
		(void)es_err_errno(&e, ES_ECONFIG, errno, "%s: read error", lc->path);
		ctx_fail(lc, lc->lineno + 1, &e);
		return NULL;
	}
	if (!any)
		return NULL;
	lc->lineno++;
	while (skip < n && (str[skip] == ' ' || str[skip] == '\t'))
		skip++;
	memmove(str, str + skip, n - skip);
	n -= skip;
	str[n++] = '\n';
	str[n] = '\0';
	if (too_long || nul || lc->bytes > CFG_MAX_FILE) {
		struct es_err e = { 0 };
		(void)es_err_set(&e, ES_ECONFIG, "%s:%d: %s", lc->path, lc->lineno,
				 nul ? "contains a NUL byte"
				     : (too_long ? "line too long (at most 198 bytes per line)"
						 : "file larger than 1 MiB"));
		ctx_fail(lc, lc->lineno, &e);
		str[0] = '\n';
		str[1] = '\0';
		return lc->bytes > CFG_MAX_FILE ? NULL : str;
	}
	/* a section header: checked here so that an empty section is too */
	if (str[0] == '[' && !lc->failed) {
		char *end = strchr(str, ']');
		if (end != NULL) {
			char name[256], where[4200];
			size_t len = (size_t)(end - str - 1);
			enum section_kind kind;
			struct es_role *role;
			struct es_err e = { 0 };

			(void)snprintf(where, sizeof(where), "%s:%d", lc->path, lc->lineno);
			if (len >= sizeof(name))
				len = sizeof(name) - 1;
			memcpy(name, str + 1, len);
			name[len] = '\0';
			if (resolve_section(lc->cfg, name, where, &kind, &role, &e) != 0)
				ctx_fail(lc, lc->lineno, &e);
			else if (kind == SEC_NONE) {
				(void)es_err_set(&e, ES_ECONFIG, "%s: unknown section []", where);
				ctx_fail(lc, lc->lineno, &e);
			}
		}
	}
	return str;
}

static int ini_handler_cb(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *lc = user;
	char where[4200];
	struct es_err e = { 0 };

	if (lc->failed)
		return 0; /* report the first error only; change nothing after it */
	(void)snprintf(where, sizeof(where), "%s:%d", lc->path, lc->lineno);
	if (cfg_set(lc, section, name, value != NULL ? value : "", where, &e) != 0) {
		ctx_fail(lc, lc->lineno, &e);
		return 0;
	}
	return 1;
}

static int load_file(struct load_ctx *lc, const char *path, struct es_err *err)
{
	struct es_config *cfg = lc->cfg;
	bool owner_check = (lc->flags & ES_CFG_NO_OWNER_CHECK) == 0, missing;
	struct stat st;
	char iobuf[BUFSIZ];
	FILE *fp = NULL;
	int fd, line, rc = -1;

	if (es_strlcpy(cfg->path, path, sizeof(cfg->path)) != 0)
		return es_err_set(err, ES_ECONFIG, "configuration file name too long");
	fd = open_safely(path, "configuration file", owner_check, 022, FIX_CONFIG, &missing, &st,
			 err);
	if (fd < 0) {
		if (missing && (lc->flags & ES_CFG_OPTIONAL) != 0) {
			cfg->path[0] = '\0';
			es_err_clear(err);
			return 0;
		}
		return -1;
	}
	fp = fdopen(fd, "r");
	if (fp == NULL) {
		(void)es_err_errno(err, ES_EOS, errno, "%s: fdopen", path);
		(void)close(fd);
		return -1;
	}
	/* our buffer, so that an inline password can be wiped */
	if (setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf)) != 0) {
		(void)es_err_set(err, ES_EOS, "%s: setvbuf failed", path);
		goto out;
	}
	lc->path = cfg->path;
	lc->file_mode = st.st_mode;
	lc->fp = fp;
	line = ini_parse_stream(ini_reader_cb, lc, ini_handler_cb, lc);
	if (line == -2) {
		(void)es_err_set(err, ES_EOS, "%s: out of memory", path);
		goto out;
	}
	if (line > 0 && (!lc->failed || line < lc->err_line)) {
		(void)es_err_set(err, ES_ECONFIG,
				 "%s:%d: syntax error (expected '[section]' or 'key = value')",
				 path, line);
		goto out;
	}
	if (lc->failed || line != 0) {
		*err = lc->err;
		if (!lc->failed)
			(void)es_err_set(err, ES_ECONFIG, "%s:%d: error", path, line);
		goto out;
	}
	rc = 0;
out:
	(void)fclose(fp);
	es_wipe(iobuf, sizeof(iobuf));
	lc->fp = NULL;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Environment */

static int env_apply(struct load_ctx *lc, const char *name, const char *value, const char *where,
		     struct es_err *err)
{
	static const struct {
		const char *name, *backend;
	} backends[] = {
	    {"smtp", "smtp"},
	    {"console", "console"},
	    {"file", "file"},
	    {"django.core.mail.backends.smtp.EmailBackend", "smtp"},
	    {"django.core.mail.backends.console.EmailBackend", "console"},
	    {"django.core.mail.backends.filebased.EmailBackend", "file"},
	};
	const struct env_name *e = NULL;
	bool b, ssl;

	for (size_t i = 0; i < ES_ARRAY_LEN(env_names) && e == NULL; i++)
		if (strcmp(name, env_names[i].name) == 0)
			e = &env_names[i];
	if (e == NULL)
		return 1; /* unknown */
	if (e->mail_key != NULL)
		return cfg_set(lc, "mail", e->mail_key, value, where, err);
	if (strcmp(name, "EMAIL_BACKEND") == 0) {
		for (size_t i = 0; i < ES_ARRAY_LEN(backends); i++)
			if (strcmp(value, backends[i].name) == 0)
				return cfg_set(lc, "mail", "backend", backends[i].backend, where,
					       err);
		return bad_value(
		    err, where, name, value,
		    "smtp, console, file or django.core.mail.backends.smtp.EmailBackend, "
		    ".console.EmailBackend, .filebased.EmailBackend");
	}
	/* DEBUG, EMAIL_USE_TLS, EMAIL_USE_SSL: Python's booleans */
	if (es_parse_bool(value, &b) != 0)
		return bad_value(err, where, name, value, "True or False");
	if (strcmp(name, "DEBUG") == 0)
		return cfg_set(lc, "general", "mode", b ? "debug" : "production", where, err);
	ssl = strcmp(name, "EMAIL_USE_SSL") == 0;
	if (ssl)
		lc->env_ssl = b;
	else
		lc->env_tls = b;
	/* False leaves security as configured: plain SMTP only with
	 * security = none in the file, never by omission */
	if (!b)
		return 0;
	return cfg_set(lc, "mail", "security", ssl ? "tls" : "starttls", where, err);
}

/* One env_file line (in place). Returns 0, or -1 with err set. */
static int env_line(struct load_ctx *lc, char *line, const char *path, int lineno, bool secret_ok,
		    struct es_err *err)
{
	char where[4200], shown[100];
	char *eq, *name, *value;
	size_t vlen;
	int rc;

	(void)snprintf(where, sizeof(where), "%s:%d", path, lineno);
	(void)es_trim(line);
	if (line[0] == '\0' || line[0] == '#')
		return 0;
	if (strncmp(line, "export", 6) == 0 && (line[6] == ' ' || line[6] == '\t'))
		line = es_trim(line + 6);
	eq = strchr(line, '=');
	if (eq == NULL)
		return es_err_set(err, ES_ECONFIG, "%s: expected NAME=VALUE", where);
	*eq = '\0';
	name = es_trim(line);
	value = es_trim(eq + 1);
	vlen = strlen(value);
	if (vlen > 0 && (value[0] == '"' || value[0] == '\'')) {
		char *close = strchr(value + 1, value[0]);
		char *rest;

		if (close == NULL)
			return es_err_set(err, ES_ECONFIG, "%s: %s: missing closing quote", where,
					  name);
		rest = close + 1;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (*rest != '\0' && *rest != '#')
			return es_err_set(err, ES_ECONFIG, "%s: %s: text after the closing quote",
					  where, name);
		*close = '\0';
		value++;
	} else {
		/* an unquoted value ends at " #" (a comment) */
		for (char *p = value; *p != '\0'; p++)
			if (*p == '#' && p > value && (p[-1] == ' ' || p[-1] == '\t')) {
				*p = '\0';
				(void)es_trim(value);
				break;
			}
	}
	if (strcmp(name, "EMAIL_HOST_PASSWORD") == 0 && !secret_ok)
		return es_err_set(err, ES_ECONFIG,
				  "%s: contains EMAIL_HOST_PASSWORD but is readable by "
				  "group/others; run: chmod 600 %s; chown root:root %s",
				  path, path, path);
	rc = env_apply(lc, name, value, where, err);
	if (rc == 1) {
		shown_value(name, shown, sizeof(shown));
		return es_err_set(err, ES_ECONFIG,
				  "%s: unknown name '%s' (known: DEBUG, EMAIL_BACKEND, EMAIL_HOST, "
				  "EMAIL_PORT, EMAIL_USE_TLS, EMAIL_USE_SSL, EMAIL_HOST_USER, "
				  "EMAIL_HOST_PASSWORD, DEFAULT_FROM_EMAIL)",
				  where, shown);
	}
	return rc;
}

static int load_env_file(struct load_ctx *lc, const char *path, struct es_err *err)
{
	bool owner_check = (lc->flags & ES_CFG_NO_OWNER_CHECK) == 0;
	struct es_buf buf = { 0 };
	char chunk[4096];
	struct stat st;
	char *line, *next;
	int fd, lineno = 0, rc = -1;

	fd = open_safely(path, "env_file", owner_check, 022, FIX_CONFIG, NULL, &st, err);
	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			(void)es_err_errno(err, ES_ECONFIG, errno, "env_file %s: read", path);
			goto out;
		}
		if (n == 0)
			break;
		if (buf.len + (size_t)n > (size_t)CFG_MAX_FILE) {
			(void)es_err_set(err, ES_ECONFIG, "env_file %s: larger than 1 MiB", path);
			goto out;
		}
		if (es_buf_append(&buf, chunk, (size_t)n) != 0) {
			(void)es_err_set(err, ES_EOS, "out of memory");
			goto out;
		}
	}
	if (buf.len == 0) {
		rc = 0;
		goto out;
	}
	if (memchr(buf.data, '\0', buf.len) != NULL) {
		(void)es_err_set(err, ES_ECONFIG, "env_file %s: contains a NUL byte", path);
		goto out;
	}
	for (line = buf.data; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		if (env_line(lc, line, path, lineno, (st.st_mode & 044) == 0, err) != 0)
			goto out;
	}
	rc = 0;
out:
	es_wipe(chunk, sizeof(chunk));
	es_buf_free(&buf);
	(void)close(fd);
	return rc;
}

static int load_environment(struct load_ctx *lc, struct es_err *err)
{
	char where[64];

	for (size_t i = 0; i < ES_ARRAY_LEN(env_names); i++) {
		const char *v = secure_getenv(env_names[i].name);
		if (v == NULL)
			continue;
		(void)snprintf(where, sizeof(where), "environment %s", env_names[i].name);
		if (env_apply(lc, env_names[i].name, v, where, err) != 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* After all sources */

static void apply_presets(struct es_config *cfg)
{
	const struct preset *p = &presets[cfg->provider];

	if (!cfg->host_set)
		(void)es_strlcpy(cfg->host, p->host, sizeof(cfg->host));
	if (!cfg->port_set)
		cfg->port = 587;
	if (!cfg->security_set)
		cfg->security = ES_SEC_STARTTLS;
	if (!cfg->daily_set)
		cfg->daily_quota = p->daily;
	if (!cfg->monthly_set)
		cfg->monthly_quota = p->monthly;
	if (!cfg->rate_set)
		cfg->rate_per_second = p->rate;
}

/* The directory holds every account or none: the state store is chosen
 * before a user's role is known (the module reads the role from it). */
static int validate_ldap(const struct es_config *cfg, const char *src, struct es_err *err)
{
	const struct es_ldap_conf *l = &cfg->ldap;
	bool ldap = cfg->policy.backend == ES_ACCT_LDAP;

	for (size_t i = 0; i < cfg->n_overrides; i++) {
		const struct es_role_override *o = &cfg->overrides[i];

		if (strcmp(o->key, "backend") == 0 &&
		    (ldap || strcasecmp(o->value, "ldap") == 0))
			return es_err_set(err, ES_ECONFIG,
					  "%s: backend cannot differ per role when one of them is "
					  "ldap (the directory holds every account or none); set "
					  "[accounts] backend only",
					  o->where);
	}
	if (!ldap)
		return 0;
	if (l->uri[0] == '\0' || l->base[0] == '\0')
		return es_err_set(err, ES_ECONFIG,
				  "%s: [accounts] backend = ldap needs [ldap] uri and base (for "
				  "example uri = ldap://ldap.school.example and base = "
				  "dc=school,dc=example)",
				  src);
	if (l->bind_dn[0] != '\0' && l->bind_password_file[0] == '\0')
		return es_err_set(err, ES_ECONFIG,
				  "%s: [ldap] bind_dn needs bind_password_file (a root-only file "
				  "holding the password)",
				  src);
	if (l->bind_dn[0] == '\0' && strncasecmp(l->uri, "ldapi://", 8) != 0)
		return es_err_set(err, ES_ECONFIG,
				  "%s: [ldap] without bind_dn binds with SASL EXTERNAL, which needs "
				  "uri = ldapi:// (on the directory server itself); set bind_dn and "
				  "bind_password_file",
				  src);
	return 0;
}

static int validate(const struct es_config *cfg, struct es_err *err)
{
	const char *src = cfg->path[0] != '\0' ? cfg->path : "configuration";

	if (validate_ldap(cfg, src, err) != 0)
		return -1;
	if (cfg->import_class_groups && cfg->policy.backend == ES_ACCT_NONE)
		return es_err_set(err, ES_ECONFIG,
				  "%s: [import] class_groups = yes needs accounts eschool makes "
				  "([accounts] backend = shadow or ldap); with backend = none the "
				  "directory's own tools make its groups",
				  src);

	if (cfg->mode == ES_MODE_PRODUCTION && cfg->mail_backend == ES_MAILB_SMTP &&
	    cfg->host[0] == '\0')
		return es_err_set(err, ES_ECONFIG,
				  "%s: mode = production with [mail] backend = smtp needs [mail] "
				  "host (provider = %s has no preset host); set host, EMAIL_HOST "
				  "or a provider",
				  src, es_provider_name(cfg->provider));
	return 0;
}

/* ------------------------------------------------------------------ */
/* API */

void es_config_defaults(struct es_config *cfg)
{
	static const char *const selectors[] = {"google", "s1", "k1", "mailo", "default"};
	struct es_policy *p = &cfg->policy;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = ES_MODE_DEBUG;
	(void)es_strlcpy(cfg->language, "fr", sizeof(cfg->language));
	cfg->backup_max_age_days = 7;
	(void)es_strlcpy(cfg->state_dir, "/var/lib/eschool", sizeof(cfg->state_dir));
	(void)es_strlcpy(cfg->spool_dir, "/var/spool/eschool", sizeof(cfg->spool_dir));
	(void)es_strlcpy(cfg->template_dir, ES_TEMPLATE_DIR, sizeof(cfg->template_dir));

	cfg->mail_backend = ES_MAILB_SMTP;
	cfg->provider = ES_PROV_GMAIL;
	cfg->port = 587;
	cfg->security = ES_SEC_STARTTLS;
	cfg->timeout = 30;
	cfg->quota_warn_percent = 80;
	cfg->ldap.timeout = 5;
	cfg->ldap.login_reads = ES_LDAP_READS_SSSD;

	p->backend = ES_ACCT_SHADOW;
	(void)es_strlcpy(p->home_base, "/home", sizeof(p->home_base));
	(void)es_strlcpy(p->shell, "/bin/bash", sizeof(p->shell));
	p->password_length = 12;
	p->password_style = ES_PW_RANDOM;
	p->password_hash = ES_HASH_YESCRYPT;
	p->first_login_change = true;
	p->max_age_days = 90;
	p->warn_days = 7;
	p->warn_schedule[0] = 7;
	p->warn_schedule[1] = 1;
	p->n_warn_schedule = 2;
	p->initial_password_ttl_days = 14;
	p->email_code_ttl_minutes = 60;
	p->email_code_tries = 5;
	p->remind_unchanged_after_days = 7;
	p->notify_new_login_source = true;
	p->known_sources = 10;
	p->enforce = true;
	(void)es_strlcpy(p->exempt_users[0], "root", sizeof(p->exempt_users[0]));
	p->n_exempt_users = 1;
	(void)es_strlcpy(p->exempt_group, "sudo", sizeof(p->exempt_group));
	p->on_error = ES_ONERR_DENY;

	(void)es_strlcpy(cfg->roles[0].name, "student", sizeof(cfg->roles[0].name));
	(void)es_strlcpy(cfg->roles[0].groups[0], "students", sizeof(cfg->roles[0].groups[0]));
	cfg->roles[0].n_groups = 1;
	(void)es_strlcpy(cfg->roles[1].name, "teacher", sizeof(cfg->roles[1].name));
	(void)es_strlcpy(cfg->roles[1].groups[0], "teachers", sizeof(cfg->roles[1].groups[0]));
	cfg->roles[1].n_groups = 1;
	cfg->n_roles = 2;

	for (size_t i = 0; i < ES_ARRAY_LEN(selectors); i++)
		(void)es_strlcpy(cfg->dkim_selectors[i], selectors[i],
				 sizeof(cfg->dkim_selectors[i]));
	cfg->n_dkim_selectors = ES_ARRAY_LEN(selectors);
}

int es_config_load(struct es_config *cfg, const char *path, unsigned flags, struct es_err *err)
{
	struct load_ctx lc;
	int rc = -1;

	es_config_defaults(cfg);
	ctx_init(&lc, cfg, flags, SRC_FILE);
	if (path != NULL && load_file(&lc, path, err) != 0)
		goto out;
	if ((flags & ES_CFG_ENV) != 0) {
		lc.src = SRC_ENV;
		if (cfg->env_file[0] != '\0' && load_env_file(&lc, cfg->env_file, err) != 0)
			goto out;
		if (load_environment(&lc, err) != 0)
			goto out;
		if (lc.env_tls == 1 && lc.env_ssl == 1) {
			(void)es_err_set(
			    err, ES_ECONFIG,
			    "EMAIL_USE_TLS and EMAIL_USE_SSL are both True; set only one "
			    "(STARTTLS on port 587, or implicit TLS on port 465)");
			goto out;
		}
	}
	apply_presets(cfg);
	if (validate(cfg, err) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		es_free_secret(&cfg->password);
	return rc;
}

int es_config_set(struct es_config *cfg, const char *section, const char *key, const char *value,
		  const char *where, struct es_err *err)
{
	struct load_ctx lc;

	ctx_init(&lc, cfg, 0, SRC_OTHER);
	if (cfg_set(&lc, section, key, value, where, err) != 0)
		return -1;
	apply_presets(cfg);
	return validate(cfg, err);
}

int es_config_set_env(struct es_config *cfg, const char *name, const char *value, const char *where,
		      struct es_err *err)
{
	struct load_ctx lc;
	int rc;

	ctx_init(&lc, cfg, 0, SRC_ENV);
	rc = env_apply(&lc, name, value, where, err);
	if (rc == 1)
		return 0;
	return rc == 0 ? 1 : -1;
}

const struct es_role *es_config_find_role(const struct es_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_roles; i++)
		if (strcmp(cfg->roles[i].name, name) == 0)
			return &cfg->roles[i];
	return NULL;
}

int es_config_role_policy(const struct es_config *cfg, const char *role, struct es_policy *out,
			  struct es_err *err)
{
	const struct es_role *r = es_config_find_role(cfg, role);
	char known[ES_MAX_ROLES * (ES_NAME_MAX + 2) + 1], shown[100];
	size_t used = 0;

	if (r == NULL) {
		known[0] = '\0';
		for (size_t i = 0; i < cfg->n_roles; i++) {
			int w = snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "",
					 cfg->roles[i].name);
			if (w < 0 || (size_t)w >= sizeof(known) - used)
				break;
			used += (size_t)w;
		}
		shown_value(role, shown, sizeof(shown));
		return es_err_set(err, ES_EDATA, "unknown role '%s' (roles: %s)", shown, known);
	}
	*out = cfg->policy;
	for (size_t i = 0; i < cfg->n_overrides; i++) {
		const struct es_role_override *o = &cfg->overrides[i];
		const struct key *k;

		if (&cfg->roles[o->role] != r)
			continue;
		k = find_key(SEC_ROLE, o->key);
		if (k == NULL || (k->flags & F_ROLE) == 0)
			return es_err_set(err, ES_ESOFTWARE, "%s: no setter for key '%s'", o->where,
					  o->key);
		if (key_set(k, out, o->value, o->where, err) != 0)
			return -1;
	}
	return 0;
}

void es_config_free(struct es_config *cfg)
{
	if (cfg == NULL)
		return;
	/* the secret is the one thing to wipe; the rest is the file's text
	 * (clearing 100 KB on every login would cost more than reading it) */
	es_free_secret(&cfg->password);
}

const char *es_mode_name(enum es_mode m)
{
	return (unsigned)m < ES_ARRAY_LEN(mode_words) - 1 ? mode_words[m] : "?";
}

const char *es_provider_name(enum es_provider p)
{
	return (unsigned)p < ES_ARRAY_LEN(provider_words) - 1 ? provider_words[p] : "?";
}

bool es_in_group(const char *user, const char *group)
{
	struct group gr;
	char *buf = NULL;
	bool in = false;

	if (group[0] == '\0' || es_group_get(group, &gr, &buf) != 1)
		return false;
	for (char **m = gr.gr_mem; m != NULL && *m != NULL && !in; m++)
		in = strcmp(*m, user) == 0;
	free(buf);
	return in;
}

bool es_policy_exempt(const struct es_policy *pol, const char *user)
{
	for (size_t i = 0; i < pol->n_exempt_users; i++)
		if (strcmp(pol->exempt_users[i], user) == 0)
			return true;
	return es_in_group(user, pol->exempt_group);
}
