/* Configuration: defaults, every key, every error class, roles, provider
 * presets, secrets and their file modes, env_file and the environment.
 * Files are written into a private mkdtemp directory; run as root (the
 * owner checks want root-owned files). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "es_config.h"

static char dir[64];

static const char *const env_vars[] = {
    "DEBUG",	       "EMAIL_BACKEND",	      "EMAIL_HOST",
    "EMAIL_PORT",      "EMAIL_USE_TLS",	      "EMAIL_USE_SSL",
    "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "DEFAULT_FROM_EMAIL", "EMAIL_FILE_PATH",
};

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
		unsetenv(env_vars[i]);
}

static int setup(void **state)
{
	(void)state;
	(void)snprintf(dir, sizeof(dir), "/tmp/test_config.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	clear_env();
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	clear_env();
	return nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Writes dir/name with the given mode; returns the path in a static slot. */
static const char *write_file(const char *name, mode_t mode, const char *content)
{
	static char paths[8][512];
	static int slot;
	char *path = paths[slot++ % 8];
	FILE *fp;

	(void)snprintf(path, 512, "%s/%s", dir, name);
	(void)unlink(path);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(content, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/* Loads content as a 0600 config file. */
static int load_text(struct es_config *cfg, const char *content, unsigned flags, struct es_err *err)
{
	const char *path = write_file("eschool.conf", 0600, content);
	return es_config_load(cfg, path, flags, err);
}

/* Expects a load failure with ES_ECONFIG and every fragment in the message. */
static void expect_error(const char *content, unsigned flags, ...)
{
	struct es_config cfg;
	struct es_err err = {0};
	va_list ap;
	const char *frag;

	assert_int_equal(load_text(&cfg, content, flags, &err), -1);
	assert_int_equal(err.code, ES_ECONFIG);
	va_start(ap, flags);
	while ((frag = va_arg(ap, const char *)) != NULL) {
		if (strstr(err.msg, frag) == NULL)
			fail_msg("message '%s' lacks '%s'", err.msg, frag);
	}
	va_end(ap);
	assert_null(cfg.password);
	es_config_free(&cfg);
}

static void expect_ok(struct es_config *cfg, const char *content, unsigned flags)
{
	struct es_err err = {0};

	if (load_text(cfg, content, flags, &err) != 0)
		fail_msg("load failed: %s", err.msg);
}

/* "DIR/eschool.conf:LINE" */
static const char *at_line(int line)
{
	static char buf[4][128];
	static int slot;
	char *b = buf[slot++ % 4];

	(void)snprintf(b, 128, "%s/eschool.conf:%d:", dir, line);
	return b;
}

/* ------------------------------------------------------------------ */

static void test_defaults(void **state)
{
	struct es_config cfg;
	(void)state;

	es_config_defaults(&cfg);
	assert_int_equal(cfg.mode, ES_MODE_DEBUG);
	assert_string_equal(cfg.school_name, "");
	assert_string_equal(cfg.admin_email, "");
	assert_string_equal(cfg.contact, "");
	assert_string_equal(cfg.logo, "");
	assert_string_equal(cfg.language, "fr");
	assert_string_equal(cfg.log_file, "");
	assert_int_equal(cfg.backup_max_age_days, 7);
	assert_string_equal(cfg.state_dir, "/var/lib/eschool");
	assert_string_equal(cfg.spool_dir, "/var/spool/eschool");
	assert_string_equal(cfg.template_dir, "/usr/share/eschool/templates");
	assert_string_equal(cfg.env_file, "");
	assert_int_equal(cfg.mail_backend, ES_MAILB_SMTP);
	assert_int_equal(cfg.provider, ES_PROV_GMAIL);
	assert_string_equal(cfg.host, "");
	assert_int_equal(cfg.port, 587);
	assert_int_equal(cfg.security, ES_SEC_STARTTLS);
	assert_string_equal(cfg.username, "");
	assert_string_equal(cfg.password_file, "");
	assert_null(cfg.password);
	assert_string_equal(cfg.from, "");
	assert_string_equal(cfg.ca_file, "");
	assert_int_equal(cfg.timeout, 30);
	assert_int_equal(cfg.quota_warn_percent, 80);
	assert_int_equal(cfg.policy.backend, ES_ACCT_SHADOW);
	assert_string_equal(cfg.policy.home_base, "/home");
	assert_string_equal(cfg.policy.shell, "/bin/bash");
	assert_int_equal(cfg.policy.password_length, 12);
	assert_int_equal(cfg.policy.password_style, ES_PW_RANDOM);
	assert_int_equal(cfg.policy.password_hash, ES_HASH_YESCRYPT);
	assert_true(cfg.policy.first_login_change);
	assert_int_equal(cfg.policy.max_age_days, 90);
	assert_int_equal(cfg.policy.warn_days, 7);
	assert_int_equal(cfg.policy.n_warn_schedule, 2);
	assert_int_equal(cfg.policy.warn_schedule[0], 7);
	assert_int_equal(cfg.policy.warn_schedule[1], 1);
	assert_int_equal(cfg.policy.initial_password_ttl_days, 14);
	assert_int_equal(cfg.policy.email_code_ttl_minutes, 60);
	assert_int_equal(cfg.policy.email_code_tries, 5);
	assert_int_equal(cfg.policy.remind_unchanged_after_days, 7);
	assert_true(cfg.policy.notify_new_login_source);
	assert_int_equal(cfg.policy.known_sources, 10);
	assert_true(cfg.policy.enforce);
	assert_int_equal(cfg.policy.n_exempt_users, 1);
	assert_string_equal(cfg.policy.exempt_users[0], "root");
	assert_string_equal(cfg.policy.exempt_group, "sudo");
	assert_int_equal(cfg.policy.on_error, ES_ONERR_DENY);
	assert_int_equal(cfg.n_roles, 2);
	assert_string_equal(cfg.roles[0].name, "student");
	assert_string_equal(cfg.roles[0].groups[0], "students");
	assert_string_equal(cfg.roles[1].name, "teacher");
	assert_string_equal(cfg.roles[1].groups[0], "teachers");
	assert_string_equal(cfg.dns_server, "");
	assert_int_equal(cfg.n_dkim_selectors, 5);
	assert_string_equal(cfg.dkim_selectors[0], "google");
	assert_string_equal(cfg.dkim_selectors[4], "default");
	assert_string_equal(es_mode_name(ES_MODE_PRODUCTION), "production");
	assert_string_equal(es_provider_name(ES_PROV_SES), "ses");
}

static void test_load_without_file(void **state)
{
	struct es_config cfg;
	struct es_err err = {0};
	char missing[128];
	(void)state;

	assert_int_equal(es_config_load(&cfg, NULL, 0, &err), 0);
	assert_string_equal(cfg.path, "");
	assert_string_equal(cfg.host, "smtp.gmail.com"); /* gmail preset */
	assert_int_equal(cfg.daily_quota, 500);
	es_config_free(&cfg);

	(void)snprintf(missing, sizeof(missing), "%s/nope.conf", dir);
	assert_int_equal(es_config_load(&cfg, missing, ES_CFG_OPTIONAL, &err), 0);
	assert_string_equal(cfg.path, "");
	assert_int_equal(cfg.mode, ES_MODE_DEBUG);
	es_config_free(&cfg);

	assert_int_equal(es_config_load(&cfg, missing, 0, &err), -1);
	assert_int_equal(err.code, ES_ECONFIG);
	assert_non_null(strstr(err.msg, missing));
	es_config_free(&cfg);
}

static const char all_keys[] = "; every key\n"
			       "[general]\n"
			       "mode = production\n"
			       "school_name = Lycée Exemple\n"
			       "admin_email = it@school.example   ; quota alerts\n"
			       "contact = IT office, room B12\n"
			       "logo = /etc/eschool/logo.png\n"
			       "language = en\n"
			       "log_file = /var/log/eschool.log\n"
			       "backup_max_age_days = 3\n"
			       "state_dir = /srv/state\n"
			       "spool_dir = /srv/spool\n"
			       "template_dir = /srv/templates\n"
			       "env_file = /etc/eschool/.env\n"
			       "\n"
			       "[mail]\n"
			       "backend = console\n"
			       "provider = custom\n"
			       "host = mail.school.example\n"
			       "port = 465\n"
			       "security = tls\n"
			       "username = school@school.example\n"
			       "from = noreply@school.example\n"
			       "ca_file = /etc/ssl/private-ca.pem\n"
			       "timeout = 12\n"
			       "daily_quota = 1000\n"
			       "monthly_quota = 20000\n"
			       "rate_per_second = 5\n"
			       "quota_warn_percent = 90\n"
			       "\n"
			       "[accounts]\n"
			       "backend = none\n"
			       "home_base = /srv/home\n"
			       "shell = /bin/zsh\n"
			       "\n"
			       "[policy]\n"
			       "password_length = 16\n"
			       "password_style = pronounceable\n"
			       "password_hash = sha512\n"
			       "first_login_change = no\n"
			       "max_age_days = 0\n"
			       "warn_days = 3\n"
			       "warn_schedule = 1, 14,7\n"
			       "initial_password_ttl_days = 30\n"
			       "email_code_ttl_minutes = 15\n"
			       "email_code_tries = 3\n"
			       "remind_unchanged_after_days = 2\n"
			       "notify_new_login_source = off\n"
			       "known_sources = 20\n"
			       "enforce = false\n"
			       "exempt_users = root, admin  backup\n"
			       "exempt_group = wheel\n"
			       "on_error = allow\n"
			       "\n"
			       "[role staff]\n"
			       "groups = staff, lab\n"
			       "template = welcome-staff\n"
			       "shell = /bin/sh\n"
			       "\n"
			       "[dns]\n"
			       "server = 127.0.0.1:5353\n"
			       "dkim_selectors = s1,mail.sel\n";

static void test_every_key(void **state)
{
	struct es_config cfg;
	const struct es_role *r;
	struct es_policy pol;
	struct es_err err = {0};
	(void)state;

	expect_ok(&cfg, all_keys, 0);
	assert_int_equal(cfg.mode, ES_MODE_PRODUCTION);
	assert_string_equal(cfg.school_name, "Lycée Exemple");
	assert_string_equal(cfg.admin_email, "it@school.example");
	assert_string_equal(cfg.contact, "IT office, room B12");
	assert_string_equal(cfg.logo, "/etc/eschool/logo.png");
	assert_string_equal(cfg.language, "en");
	assert_string_equal(cfg.log_file, "/var/log/eschool.log");
	assert_int_equal(cfg.backup_max_age_days, 3);
	assert_string_equal(cfg.state_dir, "/srv/state");
	assert_string_equal(cfg.spool_dir, "/srv/spool");
	assert_string_equal(cfg.template_dir, "/srv/templates");
	assert_string_equal(cfg.env_file, "/etc/eschool/.env"); /* not read without ENV */
	assert_int_equal(cfg.mail_backend, ES_MAILB_CONSOLE);
	assert_int_equal(cfg.provider, ES_PROV_CUSTOM);
	assert_string_equal(cfg.host, "mail.school.example");
	assert_int_equal(cfg.port, 465);
	assert_int_equal(cfg.security, ES_SEC_TLS);
	assert_string_equal(cfg.username, "school@school.example");
	assert_string_equal(cfg.from, "noreply@school.example");
	assert_string_equal(cfg.ca_file, "/etc/ssl/private-ca.pem");
	assert_int_equal(cfg.timeout, 12);
	assert_int_equal(cfg.daily_quota, 1000);
	assert_int_equal(cfg.monthly_quota, 20000);
	assert_int_equal(cfg.rate_per_second, 5);
	assert_int_equal(cfg.quota_warn_percent, 90);
	assert_int_equal(cfg.policy.backend, ES_ACCT_NONE);
	assert_string_equal(cfg.policy.home_base, "/srv/home");
	assert_string_equal(cfg.policy.shell, "/bin/zsh");
	assert_int_equal(cfg.policy.password_length, 16);
	assert_int_equal(cfg.policy.password_style, ES_PW_PRONOUNCEABLE);
	assert_int_equal(cfg.policy.password_hash, ES_HASH_SHA512);
	assert_false(cfg.policy.first_login_change);
	assert_int_equal(cfg.policy.max_age_days, 0);
	assert_int_equal(cfg.policy.warn_days, 3);
	assert_int_equal(cfg.policy.n_warn_schedule, 3);
	assert_int_equal(cfg.policy.warn_schedule[0], 14); /* sorted, descending */
	assert_int_equal(cfg.policy.warn_schedule[1], 7);
	assert_int_equal(cfg.policy.warn_schedule[2], 1);
	assert_int_equal(cfg.policy.initial_password_ttl_days, 30);
	assert_int_equal(cfg.policy.email_code_ttl_minutes, 15);
	assert_int_equal(cfg.policy.email_code_tries, 3);
	assert_int_equal(cfg.policy.remind_unchanged_after_days, 2);
	assert_false(cfg.policy.notify_new_login_source);
	assert_int_equal(cfg.policy.known_sources, 20);
	assert_false(cfg.policy.enforce);
	assert_int_equal(cfg.policy.n_exempt_users, 3);
	assert_string_equal(cfg.policy.exempt_users[0], "root");
	assert_string_equal(cfg.policy.exempt_users[1], "admin");
	assert_string_equal(cfg.policy.exempt_users[2], "backup");
	assert_string_equal(cfg.policy.exempt_group, "wheel");
	assert_int_equal(cfg.policy.on_error, ES_ONERR_ALLOW);
	r = es_config_find_role(&cfg, "staff");
	assert_non_null(r);
	assert_int_equal(r->n_groups, 2);
	assert_string_equal(r->groups[0], "staff");
	assert_string_equal(r->groups[1], "lab");
	assert_string_equal(r->template_name, "welcome-staff");
	assert_int_equal(es_config_role_policy(&cfg, "staff", &pol, &err), 0);
	assert_string_equal(pol.shell, "/bin/sh");
	assert_int_equal(pol.password_length, 16);
	assert_string_equal(cfg.dns_server, "127.0.0.1:5353");
	assert_int_equal(cfg.n_dkim_selectors, 2);
	assert_string_equal(cfg.dkim_selectors[0], "s1");
	assert_string_equal(cfg.dkim_selectors[1], "mail.sel");
	es_config_free(&cfg);
}

static void test_unknown_section(void **state)
{
	(void)state;
	/* even an empty one, at its own line */
	expect_error("[general]\nmode = debug\n[mial]\n", 0, at_line(3), "unknown section [mial]",
		     NULL);
	expect_error("[general]\n[]\n", 0, at_line(2), "unknown section", NULL);
	expect_error("[role]\ngroups = x\n", 0, at_line(1), "bad role name", NULL);
	expect_error("[role Bad!]\n", 0, at_line(1), "bad role name 'Bad!'", NULL);
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_error("[general]\nmode = debug\nschol_name = x\n", 0, at_line(3),
		     "unknown key 'schol_name' in section [general]", "did you mean 'school_name'",
		     NULL);
	expect_error("[policy]\nhost = smtp.example.org\n", 0, at_line(2),
		     "unknown key 'host' in section [policy]", "belongs in [mail]", NULL);
	/* [mail] keys are not role keys */
	expect_error("[role student]\nport = 25\n", 0, at_line(2), "unknown key 'port'", NULL);
}

/* [ldap]: the directory's keys, checked where they are written */
static void test_ldap_section(void **state)
{
	struct es_config cfg;
	const char *ok = "[accounts]\nbackend = ldap\n[ldap]\n"
	                 "uri = ldap://ldap.school.example ldaps://ldap2.school.example:636\n"
	                 "base = dc=school,dc=example\nbind_dn = cn=eschool-admin,ou=hosts,"
	                 "dc=school,dc=example\nbind_password_file = /etc/eschool/ldap.secret\n"
	                 "ca_file = /etc/ssl/certs/school-ca.pem\ntimeout = 3\nschema = rfc2307bis\n";

	(void)state;
	expect_ok(&cfg, ok, 0);
	assert_int_equal(cfg.policy.backend, ES_ACCT_LDAP);
	assert_string_equal(cfg.ldap.base, "dc=school,dc=example");
	assert_int_equal(cfg.ldap.timeout, 3);
	assert_int_equal(cfg.ldap.schema, ES_LDAP_RFC2307BIS);
	/* the secret is read when connecting, not with the config (the file
	 * does not exist here) */
	es_config_free(&cfg);
	/* defaults: 5 s, rfc2307 */
	expect_ok(&cfg, "[ldap]\nuri = ldapi:///\n", 0);
	assert_int_equal(cfg.ldap.timeout, 5);
	assert_int_equal(cfg.ldap.schema, ES_LDAP_RFC2307);
	es_config_free(&cfg);

	expect_error("[ldap]\nuri = ldap.school.example\n", 0, at_line(2), "uri",
	             "ldap://HOST", NULL);
	expect_error("[ldap]\nuri = https://ldap.school.example\n", 0, at_line(2), "uri", NULL);
	/* a TCP URI beside a local one: whichever answers must be TLS */
	expect_error("[ldap]\nuri = ldapi:/// ldap://ldap.school.example\n", 0, at_line(2), "uri",
	             "ldapi:// alone", NULL);
	expect_error("[ldap]\nbase = school.example\n", 0, at_line(2), "base",
	             "a DN like dc=school,dc=example", NULL);
	expect_error("[ldap]\ntimeout = 0\n", 0, at_line(2), "timeout", NULL);
	expect_error("[ldap]\nschema = ad\n", 0, at_line(2), "schema", NULL);
	expect_error("[ldap]\nbind_password_file = relative/secret\n", 0, at_line(2),
	             "bind_password_file", NULL);
	/* the whole: backend = ldap needs uri and base; bind_dn its password
	 * file; no bind_dn means SASL EXTERNAL over ldapi:// */
	expect_error("[accounts]\nbackend = ldap\n", 0, "needs [ldap] uri and base", NULL);
	expect_error("[accounts]\nbackend = ldap\n[ldap]\nuri = ldap://h\nbase = dc=x\n"
	             "bind_dn = cn=a,dc=x\n",
	             0, "bind_dn needs bind_password_file", NULL);
	expect_error("[accounts]\nbackend = ldap\n[ldap]\nuri = ldap://h\nbase = dc=x\n", 0,
	             "SASL EXTERNAL", "ldapi://", NULL);
	expect_ok(&cfg, "[accounts]\nbackend = ldap\n[ldap]\nuri = ldapi:///\nbase = dc=x\n", 0);
	es_config_free(&cfg);
	/* the directory holds every account or none: no per-role backend */
	expect_error("[accounts]\nbackend = ldap\n[ldap]\nuri = ldapi:///\nbase = dc=x\n"
	             "[role teacher]\nbackend = shadow\n",
	             0, "backend cannot differ per role", NULL);
	expect_error("[role teacher]\nbackend = ldap\n", 0, "backend cannot differ per role", NULL);
}

/* on_error is decided before the role is known (a corrupt state names
 * none): a [role] section cannot set it, and saying so beats ignoring it */
static void test_on_error_is_not_a_role_key(void **state)
{
	struct es_config cfg;
	struct es_err err = {0};
	(void)state;

	expect_error("[policy]\non_error = deny\n[role teacher]\non_error = allow\n", 0,
		     at_line(4), "on_error is a [policy] key: it cannot differ per role",
		     "move it to [policy]", NULL);
	expect_error("[role student]\non_error = deny\n", 0, at_line(2), "on_error", NULL);
	/* the setter the environment and the command line use says the same */
	expect_ok(&cfg, "[policy]\non_error = allow\n", 0);
	assert_int_equal(es_config_set(&cfg, "role student", "on_error", "deny", "test", &err),
			 -1);
	assert_int_equal(err.code, ES_ECONFIG);
	assert_non_null(strstr(err.msg, "cannot differ per role"));
	assert_int_equal(cfg.policy.on_error, ES_ONERR_ALLOW);
	es_config_free(&cfg);
}

static void test_key_outside_section(void **state)
{
	(void)state;
	expect_error("mode = debug\n[general]\n", 0, at_line(1), "outside any section", NULL);
}

static void test_syntax_errors(void **state)
{
	char line[400];
	(void)state;

	expect_error("[general]\njust words\n", 0, at_line(2), "syntax error", NULL);
	expect_error("[general\nmode = debug\n", 0, at_line(1), "syntax error", NULL);
	/* the first error wins, whichever kind it is */
	expect_error("[general]\nfoo = 1\nbar\n", 0, at_line(2), "unknown key 'foo'", NULL);
	expect_error("[general]\nbar\nfoo = 1\n", 0, at_line(2), "syntax error", NULL);
	/* a line longer than inih's buffer is an error, not two lines */
	memset(line, 'a', sizeof(line));
	memcpy(line, "[general]\ncontact = ", 20);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	expect_error(line, 0, at_line(2), "line too long", NULL);
}

static void test_indented_line_is_not_a_continuation(void **state)
{
	struct es_config cfg;
	(void)state;

	/* inih would append "  timeout = 9" to port; we read it as a key */
	expect_ok(&cfg, "[mail]\nport = 25\n  timeout = 9\n", 0);
	assert_int_equal(cfg.port, 25);
	assert_int_equal(cfg.timeout, 9);
	es_config_free(&cfg);
	expect_error("[policy]\nexempt_users = root\n   alice\n", 0, at_line(3), "syntax error",
		     NULL);
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_error("[mail]\nport = abc\n", 0, at_line(2), "bad value for port: 'abc'",
		     "from 1 to 65535", NULL);
	expect_error("[mail]\nport = 25x\n", 0, "bad value for port", NULL);
	expect_error("[mail]\nport = 70000\n", 0, "bad value for port: '70000'", NULL);
	expect_error("[policy]\npassword_length = 7\n", 0, "from 8 to 64", NULL);
	expect_error("[policy]\npassword_length = 65\n", 0, "from 8 to 64", NULL);
	expect_error("[policy]\npassword_length = +12\n", 0, "bad value", NULL);
	expect_error("[general]\nmode = prod\n", 0, at_line(2), "bad value for mode: 'prod'",
		     "debug or production", NULL);
	expect_error("[mail]\nprovider = yahoo\n", 0, "gmail, workspace", NULL);
	{
		/* paths: at most ES_PATH_LEN - 1 bytes (the module reads the
		 * config on every login: it is kept small); a file line is
		 * shorter anyway, the environment and the command line are not */
		struct es_config cfg;
		struct es_err err = {0};
		char path[1200];

		(void)snprintf(path, sizeof(path), "/%01100d", 0);
		es_config_defaults(&cfg);
		assert_int_equal(es_config_set(&cfg, "general", "state_dir", path, "command line",
					       &err), -1);
		assert_non_null(strstr(err.msg, "at most 1023 bytes"));
		path[1023] = '\0';
		assert_int_equal(es_config_set(&cfg, "general", "state_dir", path, "command line",
					       &err), 0);
		es_config_free(&cfg);
	}
	expect_error("[policy]\nenforce = maybe\n", 0, "yes or no", NULL);
	expect_error("[general]\nlanguage = de\n", 0, "fr or en", NULL);
	expect_error("[general]\nstate_dir = var/lib/eschool\n", 0, at_line(2),
		     "bad value for state_dir: 'var/lib/eschool'", "absolute path", NULL);
	expect_error("[general]\nstate_dir =\n", 0, "absolute path", NULL);
	expect_error("[accounts]\nshell = bash\n", 0, "bad value for shell", NULL);
	expect_error("[mail]\npassword_file = smtp.secret\n", 0, "password_file", NULL);
	expect_error("[general]\nlogo = logo.png\n", 0, "bad value for logo", NULL);
	expect_error("[mail]\nca_file = ca.pem\n", 0, "bad value for ca_file", NULL);
	expect_error("[general]\nadmin_email = it-school.example\n", 0, at_line(2),
		     "bad value for admin_email", "name@school.example", NULL);
	expect_error("[mail]\nfrom = a@b\n", 0, "bad value for from", NULL);
	expect_error("[general]\ncontact = a\tb\n", 0, "control characters", NULL);
	expect_error("[general]\nschool_name = \xff\xfe\n", 0, "UTF-8", NULL);
	expect_error("[policy]\nwarn_schedule = 7,,1\n", 0, "without empty items", NULL);
	expect_error("[policy]\nwarn_schedule = 7,7\n", 0, "each day count once", NULL);
	expect_error("[policy]\nwarn_schedule = 7,x\n", 0, "day counts", NULL);
	expect_error("[policy]\nexempt_users = root,-x\n", 0, "bad value for exempt_users", NULL);
	expect_error("[role student]\ngroups = Students\n", 0, "bad value for groups", NULL);
	expect_error("[role student]\ntemplate = ../x\n", 0, "bad value for template", NULL);
	expect_error("[role student]\nmax_age_days = -1\n", 0, at_line(2),
		     "bad value for max_age_days", NULL);
	expect_error("[dns]\nserver = dns.example\n", 0, "bad value for server", NULL);
	expect_error("[dns]\nserver = 1.2.3.4:0\n", 0, "bad value for server", NULL);
	expect_error("[dns]\ndkim_selectors = a/b\n", 0, "bad value for dkim_selectors", NULL);
	expect_error("[mail]\nhost = smtp example\n", 0, "bad value for host", NULL);
}

/* Addresses are checked by es_valid_email, the check es_mime applies to
 * From and To: a looser private copy once let "from = a..b@school.example"
 * load, and then every mail failed. Now the file is refused at load, with
 * its line, as ES_ECONFIG (the helper's exit code 78, EX_CONFIG). */
static void test_email_checked_like_mail(void **state)
{
	static const char *const bad[] = {
	    "a..b@school.example", "@x", "a@b@c", ".a@school.example", "a.@school.example",
	    "a@1.2.3.4", "a@school..example",
	};
	struct es_config cfg;
	struct es_err err = {0};
	char text[200], shown[120];
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(text, sizeof(text), "[mail]\nfrom = %s\n", bad[i]);
		(void)snprintf(shown, sizeof(shown), "bad value for from: '%s'", bad[i]);
		expect_error(text, 0, at_line(2), shown, "(expected an address like name@school.example)",
			     NULL);
		(void)snprintf(text, sizeof(text), "[general]\nschool_name = X\nadmin_email = %s\n",
			       bad[i]);
		(void)snprintf(shown, sizeof(shown), "bad value for admin_email: '%s'", bad[i]);
		expect_error(text, 0, at_line(3), shown, NULL);
	}
	assert_int_equal(ES_ECONFIG, 78);

	/* the other ways in say the same */
	setenv("DEFAULT_FROM_EMAIL", "a..b@school.example", 1);
	expect_error("[mail]\n", ES_CFG_ENV, "environment DEFAULT_FROM_EMAIL: bad value for from",
		     NULL);
	unsetenv("DEFAULT_FROM_EMAIL");
	es_config_defaults(&cfg);
	assert_int_equal(es_config_set(&cfg, "general", "admin_email", "a@b@c", "command line",
				       &err),
			 -1);
	assert_int_equal(err.code, ES_ECONFIG);
	assert_non_null(strstr(err.msg, "command line: bad value for admin_email: 'a@b@c'"));
	assert_string_equal(cfg.admin_email, "");
	es_config_free(&cfg);

	/* what mail accepts still loads; empty means none */
	expect_ok(&cfg,
		  "[general]\nadmin_email =\n"
		  "[mail]\nfrom = o'brien+eschool@mail.school-1.example\n",
		  0);
	assert_string_equal(cfg.admin_email, "");
	assert_string_equal(cfg.from, "o'brien+eschool@mail.school-1.example");
	es_config_free(&cfg);
}

static void test_valid_edge_values(void **state)
{
	struct es_config cfg;
	(void)state;

	expect_ok(&cfg,
		  "[dns]\nserver = [::1]:53\n"
		  "[mail]\nhost = ::1\ndaily_quota =\nport = 25\n"
		  "[policy]\nwarn_schedule =\nexempt_users =\nexempt_group =\n"
		  "[general]\nmode = PRODUCTION\n",
		  0);
	assert_string_equal(cfg.dns_server, "[::1]:53");
	assert_string_equal(cfg.host, "::1");
	assert_int_equal(cfg.daily_quota, 500); /* empty = the provider's */
	assert_int_equal(cfg.policy.n_warn_schedule, 0);
	assert_int_equal(cfg.policy.n_exempt_users, 0);
	assert_string_equal(cfg.policy.exempt_group, "");
	assert_int_equal(cfg.mode, ES_MODE_PRODUCTION);
	es_config_free(&cfg);
}

static void test_duplicate_section_merged(void **state)
{
	struct es_config cfg;
	(void)state;

	expect_ok(&cfg,
		  "[general]\nschool_name = A\nlanguage = en\n"
		  "[policy]\nwarn_days = 2\n"
		  "[general]\nschool_name = B\n",
		  0);
	assert_string_equal(cfg.school_name, "B");
	assert_string_equal(cfg.language, "en");
	assert_int_equal(cfg.policy.warn_days, 2);
	es_config_free(&cfg);
}

static void test_roles(void **state)
{
	struct es_config cfg;
	struct es_policy pol;
	struct es_err err = {0};
	const struct es_role *r;
	(void)state;

	/* the role comes first, [policy] later: the override still wins */
	expect_ok(&cfg,
		  "[role student]\nmax_age_days = 30\nmax_age_days = 45\n"
		  "[role guest]\n"
		  "[policy]\nmax_age_days = 60\npassword_length = 16\n"
		  "[role teacher]\ngroups = profs, staff\n"
		  "[role student]\nenforce = no\n",
		  0);
	assert_int_equal(es_config_role_policy(&cfg, "student", &pol, &err), 0);
	assert_int_equal(pol.max_age_days, 45);
	assert_int_equal(pol.password_length, 16);
	assert_false(pol.enforce);
	assert_int_equal(es_config_role_policy(&cfg, "teacher", &pol, &err), 0);
	assert_int_equal(pol.max_age_days, 60);
	assert_true(pol.enforce);
	r = es_config_find_role(&cfg, "student");
	assert_non_null(r);
	assert_int_equal(r->n_groups, 1); /* built-in kept */
	assert_string_equal(r->groups[0], "students");
	{
		size_t n = 0;

		for (size_t i = 0; i < cfg.n_overrides; i++)
			n += &cfg.roles[cfg.overrides[i].role] == r;
		assert_int_equal(n, 2); /* max_age_days once, enforce */
	}
	r = es_config_find_role(&cfg, "teacher");
	assert_int_equal(r->n_groups, 2);
	assert_string_equal(r->groups[0], "profs");
	/* an empty [role guest] section defines the role */
	r = es_config_find_role(&cfg, "guest");
	assert_non_null(r);
	assert_int_equal(r->n_groups, 0);
	assert_int_equal(es_config_role_policy(&cfg, "guest", &pol, &err), 0);
	assert_int_equal(pol.max_age_days, 60);

	assert_null(es_config_find_role(&cfg, "janitor"));
	assert_int_equal(es_config_role_policy(&cfg, "janitor", &pol, &err), -1);
	assert_non_null(strstr(err.msg, "unknown role 'janitor'"));
	assert_non_null(strstr(err.msg, "student, teacher, guest"));
	es_config_free(&cfg);
}

/* [role] policy keys share one pool of ES_MAX_OVERRIDES: 16 roles x 4 keys
 * fit, each role keeps its own values, one more key is a clear error. */
static void test_role_override_pool(void **state)
{
	static const char *const keys[] = {"max_age_days", "warn_days", "password_length",
					   "known_sources"};
	struct es_config cfg;
	struct es_policy pol;
	struct es_err err = {0};
	char *text = malloc(16384);
	size_t o = 0;

	(void)state;
	assert_non_null(text);
	for (int r = 0; r < 16; r++) {
		if (r < 2) /* the built-in roles count among the 16 */
			o += (size_t)snprintf(text + o, 16384 - o, "[role %s]\n",
					      r == 0 ? "student" : "teacher");
		else
			o += (size_t)snprintf(text + o, 16384 - o, "[role r%d]\n", r);
		for (size_t k = 0; k < 4; k++)
			o += (size_t)snprintf(text + o, 16384 - o, "%s = %d\n", keys[k], 10 + r);
	}
	expect_ok(&cfg, text, 0);
	assert_int_equal(cfg.n_overrides, 64);
	assert_int_equal(es_config_role_policy(&cfg, "r3", &pol, &err), 0);
	assert_int_equal(pol.max_age_days, 13);
	assert_int_equal(pol.known_sources, 13);
	assert_int_equal(es_config_role_policy(&cfg, "r15", &pol, &err), 0);
	assert_int_equal(pol.password_length, 25);
	es_config_free(&cfg);
	(void)snprintf(text + o, 16384 - o, "[role r2]\nenforce = no\n");
	expect_error(text, 0, "too many policy keys in [role] sections", "at most 64", NULL);
	free(text);
}

static void test_provider_presets(void **state)
{
	struct es_config cfg;
	(void)state;

	expect_ok(&cfg, "[mail]\nprovider = sendgrid\n", 0);
	assert_string_equal(cfg.host, "smtp.sendgrid.net");
	assert_int_equal(cfg.port, 587);
	assert_int_equal(cfg.security, ES_SEC_STARTTLS);
	assert_int_equal(cfg.daily_quota, 100);
	assert_int_equal(cfg.monthly_quota, 0);
	es_config_free(&cfg);

	expect_ok(&cfg, "[mail]\nprovider = workspace\n", 0);
	assert_string_equal(cfg.host, "smtp-relay.gmail.com");
	assert_int_equal(cfg.daily_quota, 2000);
	es_config_free(&cfg);

	expect_ok(&cfg, "[mail]\nprovider = mailgun\n", 0);
	assert_string_equal(cfg.host, "smtp.mailgun.org");
	assert_int_equal(cfg.daily_quota, 0);
	assert_int_equal(cfg.monthly_quota, 5000);
	es_config_free(&cfg);

	/* explicit keys win, in any order */
	expect_ok(&cfg,
		  "[mail]\nhost = relay.school.example\nport = 2525\nsecurity = none\n"
		  "daily_quota = 0\nprovider = ses\n",
		  0);
	assert_string_equal(cfg.host, "relay.school.example");
	assert_int_equal(cfg.port, 2525);
	assert_int_equal(cfg.security, ES_SEC_NONE);
	assert_int_equal(cfg.daily_quota, 0);
	assert_int_equal(cfg.rate_per_second, 1); /* from the preset */
	es_config_free(&cfg);

	expect_ok(&cfg, "[mail]\nprovider = custom\n", 0); /* debug: fine */
	assert_string_equal(cfg.host, "");
	assert_int_equal(cfg.daily_quota, 0);
	es_config_free(&cfg);

	expect_error("[general]\nmode = production\n[mail]\nprovider = custom\n", 0,
		     "needs [mail] host", NULL);
	/* not needed with another backend */
	expect_ok(&cfg, "[general]\nmode = production\n[mail]\nprovider = custom\nbackend = file\n",
		  0);
	es_config_free(&cfg);
}

static void test_password_file(void **state)
{
	struct es_config cfg;
	char text[600], secret[512];
	(void)state;

	/* write_file's result is a rotating slot: keep a copy */
	(void)snprintf(secret, sizeof(secret), "%s",
		       write_file("smtp.secret", 0600, "s3cr3t pass\r\nsecond line\n"));
	(void)snprintf(text, sizeof(text), "[mail]\npassword_file = %s\n", secret);
	expect_ok(&cfg, text, 0);
	assert_non_null(cfg.password);
	assert_string_equal(cfg.password, "s3cr3t pass");
	assert_string_equal(cfg.password_file, secret);
	es_config_free(&cfg);
	assert_null(cfg.password);

	(void)write_file("smtp.secret", 0640, "s3cr3t\n");
	expect_error(text, 0, at_line(2), secret, "chmod 600", "chown root:root", NULL);
	(void)write_file("smtp.secret", 0604, "s3cr3t\n");
	expect_error(text, 0, "chmod 600", NULL);

	(void)write_file("smtp.secret", 0600, "\n");
	expect_error(text, 0, "empty", NULL);

	assert_int_equal(unlink(secret), 0);
	expect_error(text, 0, secret, "No such file", NULL);

	/* a symbolic link to a good file is refused */
	(void)write_file("real.secret", 0600, "s3cr3t\n");
	assert_int_equal(symlink("real.secret", secret), 0);
	expect_error(text, 0, "symbolic link", NULL);

	/* both ways at once */
	(void)snprintf(text, sizeof(text), "[mail]\npassword = x\npassword_file = %s/real.secret\n",
		       dir);
	expect_error(text, 0, at_line(3), "either password or password_file", NULL);
}

static void test_inline_password(void **state)
{
	struct es_config cfg;
	struct es_err err = {0};
	const char *path;
	(void)state;

	expect_ok(&cfg, "[mail]\npassword = hunter2\n", 0);
	assert_string_equal(cfg.password, "hunter2");
	es_config_free(&cfg);

	path = write_file("open.conf", 0644, "[mail]\npassword = hunter2\n");
	assert_int_equal(es_config_load(&cfg, path, 0, &err), -1);
	assert_int_equal(err.code, ES_ECONFIG);
	assert_non_null(
	    strstr(err.msg, "contains a mail password but is readable by group/others"));
	assert_non_null(strstr(err.msg, "chmod 600"));
	assert_null(strstr(err.msg, "hunter2"));
	assert_null(cfg.password);
	es_config_free(&cfg);

	/* without a password the same mode is fine */
	path = write_file("open.conf", 0644, "[mail]\npassword =\n");
	assert_int_equal(es_config_load(&cfg, path, 0, &err), 0);
	es_config_free(&cfg);
}

static void test_config_file_checks(void **state)
{
	struct es_config cfg;
	struct es_err err = {0};
	const char *path;
	char link[512];
	(void)state;

	path = write_file("w.conf", 0646, "[general]\n");
	assert_int_equal(es_config_load(&cfg, path, 0, &err), -1);
	assert_int_equal(err.code, ES_ECONFIG);
	assert_non_null(strstr(err.msg, "chmod go-w"));
	assert_non_null(strstr(err.msg, path));
	path = write_file("w.conf", 0660, "[general]\n");
	assert_int_equal(es_config_load(&cfg, path, 0, &err), -1);

	/* not root-owned: refused unless the caller says otherwise */
	path = write_file("o.conf", 0600, "[general]\n");
	assert_int_equal(chown(path, 1234, 1234), 0);
	assert_int_equal(es_config_load(&cfg, path, 0, &err), -1);
	assert_non_null(strstr(err.msg, "chown root"));
	assert_int_equal(es_config_load(&cfg, path, ES_CFG_NO_OWNER_CHECK, &err), 0);
	es_config_free(&cfg);

	/* a symbolic link is refused, even to a good file */
	path = write_file("good.conf", 0600, "[general]\n");
	(void)snprintf(link, sizeof(link), "%s/link.conf", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(es_config_load(&cfg, link, 0, &err), -1);
	assert_int_equal(err.code, ES_ECONFIG);
	assert_non_null(strstr(err.msg, "symbolic link"));
	/* ... also with ES_CFG_OPTIONAL */
	assert_int_equal(es_config_load(&cfg, link, ES_CFG_OPTIONAL, &err), -1);

	/* a directory is not a config file */
	assert_int_equal(es_config_load(&cfg, dir, 0, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
}

static void test_environment(void **state)
{
	struct es_config cfg;
	(void)state;

	setenv("DEBUG", "False", 1);
	expect_ok(&cfg, "[general]\nmode = debug\n", ES_CFG_ENV);
	assert_int_equal(cfg.mode, ES_MODE_PRODUCTION);
	es_config_free(&cfg);

	setenv("DEBUG", "True", 1);
	expect_ok(&cfg, "[general]\nmode = production\n", ES_CFG_ENV);
	assert_int_equal(cfg.mode, ES_MODE_DEBUG);
	es_config_free(&cfg);
	setenv("DEBUG", "yes please", 1);
	expect_error("[general]\n", ES_CFG_ENV, "environment DEBUG", "True or False", NULL);
	unsetenv("DEBUG");

	setenv("EMAIL_USE_TLS", "True", 1);
	expect_ok(&cfg, "[mail]\nsecurity = tls\n", ES_CFG_ENV);
	assert_int_equal(cfg.security, ES_SEC_STARTTLS);
	es_config_free(&cfg);
	unsetenv("EMAIL_USE_TLS");

	setenv("EMAIL_USE_SSL", "true", 1);
	setenv("EMAIL_USE_TLS", "False", 1);
	expect_ok(&cfg, "[mail]\nsecurity = starttls\n", ES_CFG_ENV);
	assert_int_equal(cfg.security, ES_SEC_TLS);
	es_config_free(&cfg);
	setenv("EMAIL_USE_TLS", "True", 1);
	expect_error("[mail]\n", ES_CFG_ENV, "EMAIL_USE_TLS and EMAIL_USE_SSL", NULL);
	unsetenv("EMAIL_USE_TLS");
	unsetenv("EMAIL_USE_SSL");

	/* False alone never turns TLS off */
	setenv("EMAIL_USE_TLS", "False", 1);
	setenv("EMAIL_USE_SSL", "False", 1);
	expect_ok(&cfg, "[mail]\n", ES_CFG_ENV);
	assert_int_equal(cfg.security, ES_SEC_STARTTLS);
	es_config_free(&cfg);
	unsetenv("EMAIL_USE_TLS");
	unsetenv("EMAIL_USE_SSL");

	setenv("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend", 1);
	expect_ok(&cfg, "[mail]\nbackend = smtp\n", ES_CFG_ENV);
	assert_int_equal(cfg.mail_backend, ES_MAILB_CONSOLE);
	es_config_free(&cfg);
	setenv("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend", 1);
	expect_ok(&cfg, "[mail]\n", ES_CFG_ENV);
	assert_int_equal(cfg.mail_backend, ES_MAILB_FILE);
	es_config_free(&cfg);
	setenv("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend", 1);
	expect_ok(&cfg, "[mail]\nbackend = console\n", ES_CFG_ENV);
	assert_int_equal(cfg.mail_backend, ES_MAILB_SMTP);
	es_config_free(&cfg);
	setenv("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend", 1);
	expect_error("[mail]\n", ES_CFG_ENV, "bad value for EMAIL_BACKEND", "filebased", NULL);
	unsetenv("EMAIL_BACKEND");

	setenv("EMAIL_HOST", "smtp.school.example", 1);
	setenv("EMAIL_PORT", "2525", 1);
	setenv("EMAIL_HOST_USER", "robot", 1);
	setenv("EMAIL_HOST_PASSWORD", "env-secret", 1);
	setenv("DEFAULT_FROM_EMAIL", "noreply@school.example", 1);
	expect_ok(&cfg, "[mail]\nhost = other.example\nport = 25\npassword = file-secret\n",
		  ES_CFG_ENV);
	assert_string_equal(cfg.host, "smtp.school.example");
	assert_int_equal(cfg.port, 2525);
	assert_string_equal(cfg.username, "robot");
	assert_string_equal(cfg.password, "env-secret");
	assert_string_equal(cfg.from, "noreply@school.example");
	es_config_free(&cfg);

	/* the environment is not read without ES_CFG_ENV (the PAM module) */
	setenv("DEBUG", "False", 1);
	expect_ok(&cfg, "[mail]\nhost = other.example\n", 0);
	assert_string_equal(cfg.host, "other.example");
	assert_int_equal(cfg.port, 587);
	assert_null(cfg.password);
	assert_int_equal(cfg.mode, ES_MODE_DEBUG);
	es_config_free(&cfg);

	setenv("EMAIL_PORT", "smtp", 1);
	expect_error("[mail]\n", ES_CFG_ENV, "environment EMAIL_PORT", "bad value for port", NULL);
	clear_env();
}

static void test_env_file(void **state)
{
	struct es_config cfg;
	char text[600], env[512];
	(void)state;

	(void)snprintf(env, sizeof(env), "%s",
		       write_file("dot.env", 0600,
				  "# Django settings\n"
				  "\n"
				  "DEBUG=False\n"
				  "export EMAIL_HOST = \"smtp.school.example\"   # quoted\n"
				  "EMAIL_PORT='465'\n"
				  "EMAIL_USE_SSL=True\n"
				  "  EMAIL_HOST_USER=robot # a comment\n"
				  "EMAIL_HOST_PASSWORD='pa ss#word'\r\n"
				  "DEFAULT_FROM_EMAIL=noreply@school.example"));
	(void)snprintf(text, sizeof(text), "[general]\nenv_file = %s\n", env);
	expect_ok(&cfg, text, ES_CFG_ENV);
	assert_int_equal(cfg.mode, ES_MODE_PRODUCTION);
	assert_string_equal(cfg.host, "smtp.school.example");
	assert_int_equal(cfg.port, 465);
	assert_int_equal(cfg.security, ES_SEC_TLS);
	assert_string_equal(cfg.username, "robot");
	assert_string_equal(cfg.password, "pa ss#word");
	assert_string_equal(cfg.from, "noreply@school.example");
	es_config_free(&cfg);

	/* the environment beats env_file */
	setenv("EMAIL_PORT", "587", 1);
	setenv("EMAIL_USE_SSL", "False", 1);
	setenv("EMAIL_USE_TLS", "True", 1);
	expect_ok(&cfg, text, ES_CFG_ENV);
	assert_int_equal(cfg.port, 587);
	assert_int_equal(cfg.security, ES_SEC_STARTTLS);
	es_config_free(&cfg);
	clear_env();

	/* without ES_CFG_ENV the file is not even opened */
	expect_ok(&cfg, text, 0);
	assert_int_equal(cfg.mode, ES_MODE_DEBUG);
	assert_null(cfg.password);
	es_config_free(&cfg);

	(void)write_file("dot.env", 0600, "DEBUG=True\n\nSECRET_KEY=abc\n");
	expect_error(text, ES_CFG_ENV, env, ":3: unknown name 'SECRET_KEY'", NULL);
	(void)write_file("dot.env", 0600, "DEBUG True\n");
	expect_error(text, ES_CFG_ENV, ":1: expected NAME=VALUE", NULL);
	(void)write_file("dot.env", 0600, "EMAIL_HOST=\"smtp.x.example\n");
	expect_error(text, ES_CFG_ENV, "missing closing quote", NULL);
	(void)write_file("dot.env", 0600, "EMAIL_PORT=x\n");
	expect_error(text, ES_CFG_ENV, ":1: bad value for port", NULL);

	/* a password in a file others can read */
	(void)write_file("dot.env", 0644, "DEBUG=True\nEMAIL_HOST_PASSWORD=x\n");
	expect_error(text, ES_CFG_ENV, "contains EMAIL_HOST_PASSWORD", "chmod 600", NULL);
	/* the same mode is fine without one */
	(void)write_file("dot.env", 0644, "DEBUG=True\n");
	expect_ok(&cfg, text, ES_CFG_ENV);
	es_config_free(&cfg);
	/* writable by others: never */
	(void)write_file("dot.env", 0666, "DEBUG=True\n");
	expect_error(text, ES_CFG_ENV, "chmod go-w", NULL);

	/* configured but missing */
	assert_int_equal(unlink(env), 0);
	expect_error(text, ES_CFG_ENV, env, "No such file", NULL);
}

static void test_set_command_line(void **state)
{
	struct es_config cfg;
	struct es_err err = {0};
	(void)state;

	expect_ok(&cfg, "[general]\nmode = debug\n", 0);
	assert_int_equal(es_config_set(&cfg, "general", "mode", "production", "command line", &err),
			 0);
	assert_int_equal(cfg.mode, ES_MODE_PRODUCTION);
	assert_int_equal(es_config_set(&cfg, "general", "mode", "loud", "command line", &err), -1);
	assert_int_equal(err.code, ES_ECONFIG);
	assert_non_null(strstr(err.msg, "command line: bad value for mode: 'loud'"));
	/* a password never comes from argv */
	assert_int_equal(es_config_set(&cfg, "mail", "password", "x", "command line", &err), -1);
	assert_non_null(strstr(err.msg, "password_file"));
	assert_null(cfg.password);
	/* production + custom provider without a host: refused at once */
	assert_int_equal(es_config_set(&cfg, "mail", "provider", "custom", "command line", &err),
			 -1);
	assert_non_null(strstr(err.msg, "host"));
	assert_int_equal(
	    es_config_set(&cfg, "mail", "host", "smtp.x.example", "command line", &err), 0);
	assert_int_equal(
	    es_config_set(&cfg, "role student", "max_age_days", "5", "command line", &err), 0);
	assert_int_equal(es_config_set(&cfg, "nope", "x", "1", "command line", &err), -1);
	assert_non_null(strstr(err.msg, "unknown section"));
	es_config_free(&cfg);
}

static void test_set_env_api(void **state)
{
	struct es_config cfg;
	struct es_err err = {0};
	(void)state;

	es_config_defaults(&cfg);
	assert_int_equal(es_config_set_env(&cfg, "EMAIL_HOST", "h.example", "test", &err), 1);
	assert_string_equal(cfg.host, "h.example");
	assert_true(cfg.host_set);
	assert_int_equal(es_config_set_env(&cfg, "PATH", "/bin", "test", &err), 0);
	assert_int_equal(es_config_set_env(&cfg, "EMAIL_PORT", "0", "test", &err), -1);
	/* a secret never appears in a message */
	assert_int_equal(
	    es_config_set_env(&cfg, "EMAIL_HOST_PASSWORD", "top\x01secret", "test", &err), -1);
	assert_null(strstr(err.msg, "secret"));
	assert_non_null(strstr(err.msg, "hidden"));
	assert_int_equal(es_config_set_env(&cfg, "EMAIL_HOST_PASSWORD", "ok", "test", &err), 1);
	assert_string_equal(cfg.password, "ok");
	assert_int_equal(es_config_set_env(&cfg, "EMAIL_HOST_PASSWORD", "new", "test", &err), 1);
	assert_string_equal(cfg.password, "new");
	es_config_free(&cfg);
	assert_null(cfg.password);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_role_override_pool),
	    cmocka_unit_test_setup_teardown(test_load_without_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_section, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ldap_section, setup, teardown),
cmocka_unit_test_setup_teardown(test_on_error_is_not_a_role_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_outside_section, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_indented_line_is_not_a_continuation, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_email_checked_like_mail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_valid_edge_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_section_merged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_provider_presets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_password_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inline_password, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_file_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_environment, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_env_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_command_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_env_api, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
