/* Configuration: one INI file (SPEC section 3), read with inih.
 *
 * One options struct, filled in a fixed order through one setter shared by
 * every source: built-in defaults, the file, then (helper only) env_file and
 * the environment, then the command line. The PAM module never reads the
 * environment. Unknown sections and keys are errors with file:line. */
#ifndef ESCHOOL_CONFIG_H
#define ESCHOOL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "es_err.h"

#define ES_CONFIG_DEFAULT_PATH "/etc/eschool/eschool.conf"
#define ES_NAME_MAX 32      /* shadow's limit for user and group names */
#define ES_MAX_ROLES 16
#define ES_MAX_GROUPS 16     /* groups per role */
#define ES_MAX_LIST 32       /* exempt_users, dkim_selectors, warn_schedule */
#define ES_MAX_OVERRIDES 64  /* policy keys in [role X] sections, all roles together */
#define ES_PATH_LEN 1024     /* paths in the config: at most 1023 bytes */

enum es_mode { ES_MODE_DEBUG = 0, ES_MODE_PRODUCTION };
enum es_mail_backend { ES_MAILB_SMTP = 0, ES_MAILB_CONSOLE, ES_MAILB_FILE };
enum es_provider {
	ES_PROV_GMAIL = 0, ES_PROV_WORKSPACE, ES_PROV_SENDGRID, ES_PROV_MAILGUN,
	ES_PROV_SES, ES_PROV_CUSTOM
};
enum es_security { ES_SEC_STARTTLS = 0, ES_SEC_TLS, ES_SEC_NONE };
enum es_acct_backend { ES_ACCT_SHADOW = 0, ES_ACCT_NONE, ES_ACCT_LDAP };
enum es_ldap_schema { ES_LDAP_RFC2307 = 0, ES_LDAP_RFC2307BIS };
/* where a workstation's module reads a user's state at a login */
enum es_ldap_reads { ES_LDAP_READS_DIRECTORY = 0, ES_LDAP_READS_SSSD };
enum es_pw_style { ES_PW_RANDOM = 0, ES_PW_PRONOUNCEABLE };
enum es_pw_hash { ES_HASH_YESCRYPT = 0, ES_HASH_SHA512 };
enum es_on_error { ES_ONERR_DENY = 0, ES_ONERR_ALLOW };

/* [policy] and [accounts]: the keys a [role X] section may override. */
struct es_policy {
	/* [accounts] */
	enum es_acct_backend backend;
	char home_base[256];
	char shell[256];
	/* [policy] */
	long password_length;
	enum es_pw_style password_style;
	enum es_pw_hash password_hash;
	bool first_login_change;
	long max_age_days;          /* 0 = never expires */
	long warn_days;
	long warn_schedule[ES_MAX_LIST]; /* days before max age, descending */
	size_t n_warn_schedule;
	long initial_password_ttl_days;
	long email_code_ttl_minutes;
	long email_code_tries;
	long remind_unchanged_after_days;
	bool notify_new_login_source;
	long known_sources;
	bool enforce;
	char exempt_users[ES_MAX_LIST][ES_NAME_MAX + 1];
	size_t n_exempt_users;
	char exempt_group[ES_NAME_MAX + 1]; /* "" = none */
	enum es_on_error on_error;
};

/* A [role X] section: its overrides of [policy]/[accounts] keys (those the
 * key table in es_config.c marks "a role may override") are checked when
 * read, kept as text and replayed through the same setter over a copy of
 * [policy]/[accounts] by es_config_role_policy(), so that the order of
 * sections in the file does not matter. */
struct es_role_override {
	unsigned char role; /* index in es_config.roles */
	char key[40];
	char value[256];
	char where[96];  /* "file:line" for error messages (truncated) */
};

struct es_role {
	char name[ES_NAME_MAX + 1];
	char groups[ES_MAX_GROUPS][ES_NAME_MAX + 1];
	size_t n_groups;
	char template_name[64]; /* "" = welcome-<role> */
};

struct es_config {
	char path[ES_PATH_LEN];   /* the file read ("" when none) */

	/* [general] */
	enum es_mode mode;
	char school_name[256];
	char admin_email[256];
	char contact[256];
	char logo[ES_PATH_LEN];
	char language[3];        /* "fr" | "en" */
	char log_file[ES_PATH_LEN];
	long backup_max_age_days;
	char state_dir[ES_PATH_LEN];
	char spool_dir[ES_PATH_LEN];
	char template_dir[ES_PATH_LEN];
	char env_file[ES_PATH_LEN];

	/* [mail] */
	enum es_mail_backend mail_backend;
	enum es_provider provider;
	char host[256];
	long port;
	enum es_security security;
	char username[256];
	char password_file[ES_PATH_LEN];
	char *password;          /* secret: from password=, password_file or
	                            EMAIL_HOST_PASSWORD; wiped by es_config_free */
	char from[256];
	char ca_file[ES_PATH_LEN];
	char file_dir[ES_PATH_LEN];     /* backend = file: where .eml files go ("": spool_dir/mails) */
	long timeout;
	long daily_quota;        /* 0 = none */
	long monthly_quota;      /* 0 = none */
	long rate_per_second;    /* 0 = none */
	long quota_warn_percent;
	/* keys given explicitly, so that provider presets do not override them */
	bool host_set, port_set, security_set, daily_set, monthly_set, rate_set;

	/* [accounts] + [policy] */
	struct es_policy policy;

	/* [ldap]: the school's directory (accounts.backend = ldap) */
	struct es_ldap_conf {
		char uri[512];       /* ldap://, ldaps:// or ldapi:// URIs, spaces between */
		char base[256];      /* the suffix: dc=school,dc=example */
		char users_dn[256];  /* "": ou=people,BASE */
		char groups_dn[256]; /* "": ou=groups,BASE */
		char ids_dn[256];    /* "": cn=eschool-ids,BASE (the uid/gid counter) */
		char bind_dn[256];   /* "": SASL EXTERNAL (ldapi://, as root) */
		char bind_password_file[ES_PATH_LEN]; /* read when connecting */
		char ca_file[ES_PATH_LEN];            /* "": the system's CAs */
		/* ldap:// always goes through StartTLS, ldaps:// is TLS: the
		 * certificate is checked either way; ldapi:// is a local socket */
		long timeout;        /* seconds: network and each operation */
		enum es_ldap_schema schema;
		enum es_ldap_reads login_reads;
	} ldap;

	/* [role X] */
	struct es_role roles[ES_MAX_ROLES];
	/* one pool for every role (the config stays small: the module reads it
	 * on each login) */
	struct es_role_override overrides[ES_MAX_OVERRIDES];
	size_t n_overrides;
	size_t n_roles;

	/* [import] */
	char import_format[16];   /* "": recognised from the header */
	char import_columns[1024]; /* "Column=field, ..." (es_roster_map_parse) */
	bool import_class_groups;  /* one group per class, members kept in step */

	/* [dns] */
	char dns_server[128];
	char dkim_selectors[ES_MAX_LIST][64];
	size_t n_dkim_selectors;
};

enum es_config_flags {
	ES_CFG_ENV = 1 << 0,       /* read env_file and the environment (helper) */
	ES_CFG_OPTIONAL = 1 << 1,  /* a missing file is not an error: defaults */
	ES_CFG_NO_OWNER_CHECK = 1 << 2, /* tests run by a non-root user */
	ES_CFG_NO_SECRET = 1 << 3,  /* do not read password_file (the PAM module
	                               never sends mail: no SMTP secret in a
	                               login process, and a bad secret file
	                               cannot deny logins) */
};

/* Fills cfg with the built-in defaults: every field is set, cfg may be
 * uninitialised memory. */
void es_config_defaults(struct es_config *cfg);

/* Loads path (or defaults only when path is NULL) then applies env_file and
 * the environment when ES_CFG_ENV is given, then provider presets, then
 * validates the whole. On error: ES_ECONFIG with "file:line: what; fix".
 * Starts with es_config_defaults; es_config_free wipes the secret. */
int es_config_load(struct es_config *cfg, const char *path, unsigned flags,
                   struct es_err *err);

/* The one setter: section is "general", "mail", "policy", "accounts", "dns"
 * or "role NAME"; where is "file:line" (or "environment DEBUG", "command
 * line") for messages. */
int es_config_set(struct es_config *cfg, const char *section, const char *key,
                  const char *value, const char *where, struct es_err *err);

/* Applies one Django-style environment name (DEBUG, EMAIL_HOST, ...), as
 * found in the environment or in env_file. Unknown names are ignored by the
 * environment reader and are errors in env_file. Returns 1 when the name is
 * known and applied, 0 when unknown, -1 on a bad value. */
int es_config_set_env(struct es_config *cfg, const char *name,
                      const char *value, const char *where, struct es_err *err);

/* A role is known when the file has a [role NAME] section; "student" and
 * "teacher" always exist. Returns NULL for an unknown role. */
const struct es_role *es_config_find_role(const struct es_config *cfg,
                                          const char *name);

/* The effective [policy]/[accounts] for a role: a copy of the global values
 * with the role's overrides applied. Returns -1 for an unknown role. */
int es_config_role_policy(const struct es_config *cfg, const char *role,
                          struct es_policy *out, struct es_err *err);

/* Reads a secret file's first line (root's and 0600 unless !owner_check,
 * no symlink, at most 1,024 bytes) into *out, to be freed with
 * es_free_secret; what names the key in messages ("password_file"). */
int es_config_read_secret(const char *path, const char *what, bool owner_check, char **out,
                          struct es_err *err);

/* Wipes the secret and resets cfg. */
void es_config_free(struct es_config *cfg);

/* Names for messages and `show`. */
const char *es_mode_name(enum es_mode m);
const char *es_provider_name(enum es_provider p);

/* true when user is listed among group's members (what `usermod -aG` and
 * directory groups record). One group lookup, no user lookup: with
 * thousands of local accounts a getpwnam through nss_files reads the whole
 * of /etc/passwd. */
bool es_in_group(const char *user, const char *group);

/* true when pol exempts user (exempt_users, members of exempt_group). */
bool es_policy_exempt(const struct es_policy *pol, const char *user);

#endif
