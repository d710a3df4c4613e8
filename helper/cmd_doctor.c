/* eschool doctor: the school's "before going to production" checklist,
 * each item checked for real and shown ✓ (ok), ✗ (to fix, with what to do),
 * ! (worth a look, with what to do; not a failure) or – (does not apply
 * here). Exit 0 only when nothing is ✗, else 78 (the
 * setup is not ready). Nothing is sent: the SMTP check logs in and says
 * NOOP. */
#include "cli.h"
#include "commands.h"
#include "ui.h"
#include "strset.h"
#include "accounts.h"
#include "directory.h"
#include "provision.h"

#include <errno.h>
#include <shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "es_compose.h"
#include "es_queue.h"
#include "mail/compose.h"
#include "mail/outbox.h"
#include "mail/smtp.h"

#define DAY 86400
#define PAM_DIR "/etc/pam.d"
#define PATH_MAX_STAMP 4200


/* WARN: worth a look, not a reason to hold production back. */
enum status { OK, FAIL, SKIP, WARN };

/* Orphan states named in the accounts item (the rest are counted). */
#define ORPHANS_NAMED 5

struct item {
	const char *name;
	enum status status;
	char detail[4800];
	char fix[4400];
};

struct doctor {
	struct cli *ctx;
	bool fix;
	struct item items[24];
	size_t n;
};

static struct item *add(struct doctor *d, const char *name, enum status status)
{
	struct item *it = &d->items[d->n++];

	it->name = name;
	it->status = status;
	return it;
}

/* ---- the items ---- */

static void check_mode(struct doctor *d)
{
	struct cli *ctx = d->ctx;
	struct item *it = add(d, "mode", ctx->cfg.mode == ES_MODE_PRODUCTION ? OK : FAIL);

	if (it->status == OK) {
		(void)snprintf(it->detail, sizeof(it->detail), "%s",
		               _("production: credentials are mailed"));
		return;
	}
	(void)snprintf(it->detail, sizeof(it->detail), "%s",
	               _("debug: passwords are shown on screen, nothing is mailed"));
	(void)snprintf(it->fix, sizeof(it->fix), "%s",
	               _("set [general] mode = production once the other items pass"));
}

static void check_smtp(struct doctor *d)
{
	const struct es_config *cfg = &d->ctx->cfg;
	struct smtp *s = NULL;
	struct smtp_result r;
	struct es_err err = { 0 };
	struct item *it;

	if (smtp_open(&s, cfg, &err) != 0) {
		it = add(d, "smtp", FAIL);
		(void)snprintf(it->detail, sizeof(it->detail), "%s", ui_err(&err));
		if (err.code == ES_EUNAVAIL || err.code == ES_ESOFTWARE) /* the sender itself */
			(void)snprintf(it->fix, sizeof(it->fix), "reinstall eschool");
		else
			(void)snprintf(it->fix, sizeof(it->fix), "set [mail] provider (or host, port, "
			                                         "security), username and from");
		return;
	}
	smtp_probe(s, &r);
	smtp_close(s);
	it = add(d, "smtp", r.accepted ? OK : FAIL);
	if (r.accepted) {
		(void)snprintf(it->detail, sizeof(it->detail), "%s:%ld: %s%s%s%s", cfg->host, cfg->port,
		               "connected", r.tls ? ", TLS verified" : "",
		               cfg->username[0] ? ", logged in as " : "", cfg->username);
		return;
	}
	(void)snprintf(it->detail, sizeof(it->detail), "%s:%ld: failed at step %s: %s%s%s",
	               cfg->host, cfg->port, r.failed_step, r.detail,
	               r.reply[0] ? "; the server said: " : "", r.reply);
	(void)snprintf(it->fix, sizeof(it->fix),
	               strcmp(r.failed_step, "login") == 0
	                   ? "check [mail] username and the password file (Gmail: an app password)"
	                   : strcmp(r.failed_step, "tls") == 0
	                         ? "check [mail] security and port, and ca_file for a private CA"
	                         : "check [mail] host and port, and that this machine may reach them");
}

static void check_secret(struct doctor *d)
{
	const struct es_config *cfg = &d->ctx->cfg;
	struct stat st;
	struct item *it;

	if (cfg->username[0] == '\0') {
		it = add(d, "secret", SKIP);
		(void)snprintf(it->detail, sizeof(it->detail), "no SMTP login: no password to keep");
		return;
	}
	if (cfg->password_file[0] == '\0') {
		it = add(d, "secret", FAIL);
		(void)snprintf(it->detail, sizeof(it->detail),
		               "the SMTP password is not in a password file (it is in the config or "
		               "the environment)");
		(void)snprintf(it->fix, sizeof(it->fix),
		               "put it alone in /etc/eschool/smtp.secret (root, mode 600) and set "
		               "[mail] password_file");
		return;
	}
	/* the config would not load with a bad one; said here all the same */
	if (lstat(cfg->password_file, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 077) != 0) {
		it = add(d, "secret", FAIL);
		(void)snprintf(it->detail, sizeof(it->detail), "%s is not a root-only file",
		               cfg->password_file);
		(void)snprintf(it->fix, sizeof(it->fix), "chown root: %s && chmod 600 %s",
		               cfg->password_file, cfg->password_file);
		return;
	}
	it = add(d, "secret", OK);
	(void)snprintf(it->detail, sizeof(it->detail), "%s: root only (mode %03o)",
	               cfg->password_file, (unsigned)(st.st_mode & 0777));
}

static void check_dns(struct doctor *d)
{
	const char *at = strrchr(d->ctx->cfg.from, '@');
	struct es_err err = { 0 };
	struct item *it;
	bool ok = false;

	if (at == NULL) {
		it = add(d, "dns", FAIL);
		(void)snprintf(it->detail, sizeof(it->detail), "mail.from is not set: no domain to "
		                                               "check");
		(void)snprintf(it->fix, sizeof(it->fix), "set [mail] from");
		return;
	}
	if (dns_check_domain(d->ctx, at + 1, NULL, false, &ok, &err) != 0) {
		it = add(d, "dns", FAIL);
		(void)snprintf(it->detail, sizeof(it->detail), "%s", ui_err(&err));
		return;
	}
	it = add(d, "dns", ok ? OK : FAIL);
	(void)snprintf(it->detail, sizeof(it->detail), "SPF, DMARC and DKIM of %s: %s", at + 1,
	               ok ? "pass" : "not all pass");
	if (!ok)
		(void)snprintf(it->fix, sizeof(it->fix), "eschool check-dns %s shows what to publish",
		               at + 1);
}

/* "TIME rest...": the time, and where the rest starts. -1 when malformed. */
static int stamp_time(const char *stamp, long long *t, const char **rest)
{
	char *end = NULL;

	errno = 0;
	*t = strtoll(stamp, &end, 10);
	if (errno != 0 || end == stamp || *end != ' ' || *t <= 0)
		return -1;
	*rest = end + 1;
	return 0;
}

static void check_test_email(struct doctor *d)
{
	char stamp[600], when[64], result[16], to[320], step[32];
	long long t = 0;
	struct item *it;

	const char *rest = NULL;

	if (stamp_read(d->ctx, "last-test-email", stamp, sizeof(stamp)) != 0 ||
	    stamp_time(stamp, &t, &rest) != 0 ||
	    sscanf(rest, "%15s %319s %31s", result, to, step) != 3) {
		it = add(d, "test-email", FAIL);
		(void)snprintf(it->detail, sizeof(it->detail), "no test mail was sent yet");
		(void)snprintf(it->fix, sizeof(it->fix), "eschool test-email YOUR-ADDRESS");
		return;
	}
	ui_fmt_time((time_t)t, false, when, sizeof(when));
	if (strcmp(result, "ok") == 0) {
		it = add(d, "test-email", OK);
		(void)snprintf(it->detail, sizeof(it->detail), "the last test mail (%s, to %s) was "
		                                               "accepted",
		               when, to);
		return;
	}
	it = add(d, "test-email", FAIL);
	(void)snprintf(it->detail, sizeof(it->detail), "the last test mail (%s, to %s) failed at "
	                                               "step %s",
	               when, to, step);
	(void)snprintf(it->fix, sizeof(it->fix), "fix the settings, then: eschool test-email %s", to);
}

static void check_templates(struct doctor *d)
{
	static const char *const kinds[] = { "reset", "parent-notice", "first-change-reminder",
		                             "expiry-warning", "password-changed",
		                             "new-login-source", "verify-email", "email-changed",
		                             "quota-alert", "delivery-failure", "test" };
	static const char *const langs[] = { "fr", "en" };
	const struct es_tvar vars[] = {
		{ "name", "Zoé" },           { "username", "zoe" },   { "password", "Xy7-pq" },
		{ "class", "2nde" },         { "days", "7" },
		{ "source", "10.0.0.1" },    { "code", "ABCD-EFGH" },
		{ "new_email", "z@b.org" }, { "old_email", "z@a.org" }, { "error", "550 no such user" },
		{ "message_id", "<1@school.invalid>" }, { "message_kind", "reset" },
		{ "recipient", "z@a.org" },  { "quota", "500" },     { "used", "400" },
		{ "window", "today" },
	};
	/* dates as the mails have them: written in each template's language */
	const struct es_tdate dates[] = { { .name = "expires", .t = d->ctx->now + (time_t)14 * DAY },
		                          { .name = "when", .t = d->ctx->now } };
	struct cli *ctx = d->ctx;
	size_t total = 0, bad = 0;
	char first[1200] = "";
	struct item *it;

	for (size_t l = 0; l < ES_ARRAY_LEN(langs); l++) {
		for (size_t k = 0; k < ES_ARRAY_LEN(kinds) + ctx->cfg.n_roles; k++) {
			char kind[96];
			struct es_buf msg = { 0 };
			struct es_err err = { 0 };
			int rc;

			if (k < ES_ARRAY_LEN(kinds))
				(void)snprintf(kind, sizeof(kind), "%s", kinds[k]);
			else
				es_account_welcome_kind(&ctx->cfg,
				                        ctx->cfg.roles[k - ES_ARRAY_LEN(kinds)].name, kind,
				                        sizeof(kind));
			/* a role without its own welcome gets welcome-student */
			rc = compose_for(ctx, kind, langs[l], "doctor@school.invalid", "Zoé", vars,
			                 ES_ARRAY_LEN(vars), dates, ES_ARRAY_LEN(dates), &msg, NULL,
			                 &err);
			es_buf_free(&msg);
			total++;
			if (rc != 0 && bad++ == 0)
				(void)snprintf(first, sizeof(first), "%s/%s: %s", langs[l], kind, ui_err(&err));
		}
	}
	it = add(d, "templates", bad == 0 ? OK : FAIL);
	if (bad == 0) {
		(void)snprintf(it->detail, sizeof(it->detail),
		               "%zu templates render (fr, en; every role)", total);
		return;
	}
	(void)snprintf(it->detail, sizeof(it->detail), "%zu of %zu do not render; first: %s", bad,
	               total, first);
	(void)snprintf(it->fix, sizeof(it->fix), "fix the template named (or remove the school's "
	                                         "copy in /etc/eschool/templates)");
}

/* ---- addresses ---- */

struct addr_scan {
	size_t n, fake, dup, orphans;
	char fake_example[300], dup_example[300];
	char orphan_names[ORPHANS_NAMED][33];
	struct strset seen; /* address -> user */
	bool failed;
};

static bool placeholder(const char *email)
{
	static const char *const suffixes[] = { ".example", ".test", ".local", ".invalid",
		                                ".localhost" };
	const char *at = strrchr(email, '@');
	const char *domain = at != NULL ? at + 1 : email;
	size_t dl = strlen(domain);

	if (strcasecmp(domain, "example.com") == 0 || strcasecmp(domain, "example.org") == 0 ||
	    strcasecmp(domain, "example.net") == 0 || strcasecmp(domain, "example") == 0 ||
	    strcasecmp(domain, "localhost") == 0)
		return true;
	for (size_t i = 0; i < ES_ARRAY_LEN(suffixes); i++) {
		size_t sl = strlen(suffixes[i]);

		if (dl > sl && strcasecmp(domain + dl - sl, suffixes[i]) == 0)
			return true;
	}
	return false;
}

static int scan_one(const char *user, void *arg)
{
	struct addr_scan *a = ((void **)arg)[0];
	struct cli *ctx = ((void **)arg)[1];
	struct es_state st;
	struct es_err err = { 0 };
	const char *email, *other;

	es_state_init(&st, "");
	if (es_store_read(&ctx->store, user, &st, &err) != 0) {
		es_state_free(&st);
		return 0; /* list and show report bad files; not an address matter */
	}
	/* a removed account's state is no account: listed apart */
	if (state_orphan(&st, NULL, 0) != ES_OWNER_OK) {
		if (a->orphans < ORPHANS_NAMED)
			(void)es_strlcpy(a->orphan_names[a->orphans], user,
			                 sizeof(a->orphan_names[0]));
		a->orphans++;
		es_state_free(&st);
		return 0;
	}
	email = es_state_get(&st, ES_K_EMAIL);
	a->n++;
	if (email != NULL && email[0] != '\0') {
		if (placeholder(email) && a->fake++ == 0)
			(void)snprintf(a->fake_example, sizeof(a->fake_example), "%s: %s", user, email);
		other = strset_get(&a->seen, email);
		if (other != NULL) {
			if (a->dup++ == 0)
				(void)snprintf(a->dup_example, sizeof(a->dup_example), "%s and %s: %s", other,
				               user, email);
		} else if (strset_put(&a->seen, email, user) != 0) {
			a->failed = true;
		}
	}
	es_state_free(&st);
	return 0;
}

/* The accounts item: states whose Linux account is gone (userdel) or
 * whose name is another uid's now, named with the command that cleans
 * each. */
static void check_orphans(struct doctor *d, const struct addr_scan *a)
{
	struct item *it;
	size_t o = 0, f = 0;

	if (a->orphans == 0) {
		it = add(d, "accounts", a->n > 0 ? OK : SKIP);
		(void)snprintf(it->detail, sizeof(it->detail), "%s",
		               a->n > 0 ? _("every managed account has its Linux account")
		                        : _("no managed accounts yet"));
		return;
	}
	it = add(d, "accounts", WARN);
	o = (size_t)snprintf(it->detail, sizeof(it->detail),
	                     _("%zu eschool state(s) without their Linux account (removed "
	                       "with userdel, or the name is another account's now):"),
	                     a->orphans);
	for (size_t i = 0; i < a->orphans && i < ORPHANS_NAMED && o < sizeof(it->detail); i++) {
		o += (size_t)snprintf(it->detail + o, sizeof(it->detail) - o, " %s",
		                      a->orphan_names[i]);
		if (f < sizeof(it->fix))
			f += (size_t)snprintf(it->fix + f, sizeof(it->fix) - f, "%seschool forget %s",
			                      i > 0 ? "; " : "", a->orphan_names[i]);
	}
	if (a->orphans > ORPHANS_NAMED && o < sizeof(it->detail))
		(void)snprintf(it->detail + o, sizeof(it->detail) - o,
		               _(" and %zu more (eschool list marks them)"),
		               a->orphans - ORPHANS_NAMED);
}

/* The addresses item, then the accounts item, from one pass over the
 * states. */
static void check_addresses(struct doctor *d)
{
	struct addr_scan a;
	void *args[2] = { &a, d->ctx };
	struct es_err err = { 0 };
	struct item *it;

	memset(&a, 0, sizeof(a));
	if (es_store_foreach(&d->ctx->store, scan_one, args, &err) != 0 || a.failed) {
		it = add(d, "addresses", FAIL);
		(void)snprintf(it->detail, sizeof(it->detail), "%s",
		               a.failed ? "out of memory" : ui_err(&err));
		strset_free(&a.seen);
		return;
	}
	strset_free(&a.seen);
	if (a.n == 0) {
		it = add(d, "addresses", SKIP);
		(void)snprintf(it->detail, sizeof(it->detail), "no managed accounts yet");
	} else {
		it = add(d, "addresses", a.fake == 0 && a.dup == 0 ? OK : FAIL);
		if (it->status == OK) {
			(void)snprintf(it->detail, sizeof(it->detail),
			               "%zu accounts: no placeholder, no shared address", a.n);
		} else {
			(void)snprintf(it->detail, sizeof(it->detail),
			               "%zu accounts: %zu placeholder address(es)%s%s%s, %zu "
			               "shared%s%s%s",
			               a.n, a.fake, a.fake ? " (" : "", a.fake_example,
			               a.fake ? ")" : "", a.dup, a.dup ? " (" : "", a.dup_example,
			               a.dup ? ")" : "");
			(void)snprintf(it->fix, sizeof(it->fix),
			               "give real addresses: eschool set-email USER ADDR (example.*, "
			               ".test, .local and .invalid domains never receive mail)");
		}
	}
	check_orphans(d, &a);
}

/* Shadow's aging fields against the rules (es_account_aging): accounts
 * made before eschool wrote them (lastchg 0 for a temporary password, the
 * role's max and warn), or whose role's max_age_days changed since. Read
 * from /etc/shadow in one pass (a lookup per account would read the file
 * once per account); --fix sets them with chage. */
struct aging_scan {
	size_t managed, off, fixed, failed;
	char example[ES_NAME_MAX + 1];
	char error[512];
};

static void aging_one(struct doctor *d, const struct spwd *sp, struct aging_scan *a)
{
	struct cli *ctx = d->ctx;
	struct es_state st;
	struct es_policy pol;
	struct es_aging want;
	struct es_err err = { 0 };
	bool temporary;

	es_state_init(&st, "");
	if (es_store_read(&ctx->store, sp->sp_namp, &st, &err) != 0 ||
	    es_account_policy(&ctx->cfg, &st, &pol, &err) != 0 ||
	    !account_source_for(&pol)->writes)
		goto out; /* not managed, unreadable (the addresses item says), not local */
	a->managed++;
	temporary = es_state_get_bool(&st, ES_K_MUST_CHANGE);
	es_account_aging(&pol, temporary, es_policy_exempt(&pol, sp->sp_namp), ctx->now, &want);
	/* a password the user chose keeps its day; a temporary one is day 0 */
	if (!(temporary && want.lastchg == 0))
		want.lastchg = sp->sp_lstchg;
	if (sp->sp_lstchg == want.lastchg && sp->sp_max == want.max &&
	    (want.max < 0 || sp->sp_warn == want.warn))
		goto out;
	a->off++;
	if (a->example[0] == '\0')
		(void)es_strlcpy(a->example, sp->sp_namp, sizeof(a->example));
	if (!d->fix)
		goto out;
	if (chage_aging(sp->sp_namp, &want, &err) == 0) {
		a->fixed++;
	} else {
		a->failed++;
		(void)es_strlcpy(a->error, ui_err(&err), sizeof(a->error));
	}
out:
	es_state_free(&st);
}

static void check_aging(struct doctor *d)
{
	struct aging_scan a = { 0 };
	struct spwd *sp;
	struct item *it;
	FILE *f = fopen("/etc/shadow", "re");

	if (f == NULL) {
		it = add(d, "aging", errno == ENOENT ? SKIP : FAIL);
		(void)snprintf(it->detail, sizeof(it->detail), "/etc/shadow: %s", strerror(errno));
		return;
	}
	/* chage rewrites /etc/shadow by renaming a new file into place: this
	 * stream keeps reading the old one, whole */
	while ((sp = fgetspent(f)) != NULL)
		aging_one(d, sp, &a);
	(void)fclose(f);
	if (a.managed == 0) {
		it = add(d, "aging", SKIP);
		(void)snprintf(it->detail, sizeof(it->detail), "%s",
		               _("no local account managed by eschool"));
		return;
	}
	if (a.off == 0 || a.fixed == a.off) {
		it = add(d, "aging", OK);
		(void)snprintf(it->detail, sizeof(it->detail),
		               _("%zu accounts: shadow's aging follows the policy (chage -l)%s"),
		               a.managed,
		               a.fixed > 0 ? _("; fixed now") : "");
		return;
	}
	it = add(d, "aging", WARN);
	(void)snprintf(it->detail, sizeof(it->detail),
	               _("%zu of %zu accounts (%s ...) have other password aging in shadow "
	                 "than their role's policy: a stack without pam_eschool does not "
	                 "force their change%s%s"),
	               a.off - a.fixed, a.managed, a.example, a.failed ? ": " : "", a.error);
	(void)snprintf(it->fix, sizeof(it->fix), "eschool doctor --fix");
}

/* accounts.backend = ldap: the connection (TLS, the bind), eschool's
 * schema, and the rights the helper needs, each with its fix. */
static void check_directory(struct doctor *d)
{
	struct cli *ctx = d->ctx;
	const struct es_ldap_conf *l = &ctx->cfg.ldap;
	struct es_err err = { 0 };
	struct item *it;
	char what[512];
	const char *bound_as;
	int rc;

	if (ctx->cfg.policy.backend != ES_ACCT_LDAP)
		return;
	if (!ctx->directory_open) {
		it = add(d, "directory", FAIL);
		(void)snprintf(it->detail, sizeof(it->detail), "%s", ui_err(&ctx->directory_err));
		(void)snprintf(it->fix, sizeof(it->fix), "%s",
		               _("check [ldap] uri, ca_file, bind_dn and bind_password_file, "
		                 "and that slapd answers: ldapwhoami -ZZ -H URI -D BIND_DN -W"));
		return;
	}
	it = add(d, "directory", OK);
	bound_as = directory_bound_as(&ctx->directory);
	(void)snprintf(it->detail, sizeof(it->detail), _("%s, %s, bound as %s"), l->uri,
	               ctx->directory.tls ? _("TLS with the certificate checked")
	                                  : _("local socket"),
	               bound_as[0] ? bound_as : l->bind_dn);
	rc = directory_has_schema(&ctx->directory, &err);
	it = add(d, "schema", rc == 1 ? OK : FAIL);
	if (rc == 1) {
		(void)snprintf(it->detail, sizeof(it->detail), "%s",
		               _("the directory knows eschool's schema (eschoolAccount)"));
	} else if (rc == 2) {
		(void)snprintf(it->detail, sizeof(it->detail),
		               _("the directory has an older eschool schema (no %s)"),
		               ES_LDAP_NEWEST_ATTR);
		(void)snprintf(it->fix, sizeof(it->fix), "%s",
		               _("on the server, replace the olcAttributeTypes and olcObjectClasses "
		                 "of cn={N}eschool,cn=schema,cn=config with those of "
		                 "/usr/share/eschool/ldap/eschool.ldif (ldapmodify -Y EXTERNAL -H "
		                 "ldapi:///)"));
		return;
	} else {
		(void)snprintf(it->detail, sizeof(it->detail), "%s",
		               rc < 0 ? ui_err(&err)
		                      : _("the directory does not know eschool's schema"));
		(void)snprintf(it->fix, sizeof(it->fix),
		               "ldapadd -Y EXTERNAL -H ldapi:/// -f "
		               "/usr/share/eschool/ldap/eschool.ldif");
		return;
	}
	es_err_clear(&err);
	it = add(d, "rights", directory_probe(what, sizeof(what), &err) == 0 ? OK : FAIL);
	if (it->status == OK) {
		(void)snprintf(it->detail, sizeof(it->detail),
		               _("writes the counter %s and entries under %s"),
		               ctx->directory.ids_dn, ctx->directory.users_dn);
	} else {
		(void)snprintf(it->detail, sizeof(it->detail), "%s: %s", what, ui_err(&err));
		(void)snprintf(it->fix, sizeof(it->fix), "%s",
		               _("load the access rules (/usr/share/eschool/ldap/acl.ldif), the "
		                 "entries eschool expects (dit.ldif), and make bind_dn a member of "
		                 "cn=eschool-admins"));
	}
}

static void check_backup(struct doctor *d)
{
	const struct es_config *cfg = &d->ctx->cfg;
	char stamp[PATH_MAX_STAMP], path[PATH_MAX_STAMP], when[64];
	long long t = 0;
	struct stat st;
	struct item *it;

	const char *rest = NULL;

	if (stamp_read(d->ctx, "last-backup", stamp, sizeof(stamp)) != 0 ||
	    stamp_time(stamp, &t, &rest) != 0 || sscanf(rest, "%4095s", path) != 1 ||
	    stat(path, &st) != 0) {
		it = add(d, "backup", FAIL);
		(void)snprintf(it->detail, sizeof(it->detail), "no backup of the state found");
		(void)snprintf(it->fix, sizeof(it->fix),
		               "eschool backup /var/backups/eschool-state.tar.gz (daily, from cron or "
		               "a timer; keep a copy off this machine)");
		return;
	}
	ui_fmt_time((time_t)t, false, when, sizeof(when));
	if ((int64_t)d->ctx->now - t > (int64_t)cfg->backup_max_age_days * DAY) {
		it = add(d, "backup", FAIL);
		(void)snprintf(it->detail, sizeof(it->detail),
		               "the last backup (%s, %s) is older than %ld days", when, path,
		               cfg->backup_max_age_days);
		(void)snprintf(it->fix, sizeof(it->fix), "eschool backup %s", path);
		return;
	}
	it = add(d, "backup", OK);
	(void)snprintf(it->detail, sizeof(it->detail), "%s (%s)", path, when);
}

/* ---- the PAM stack of this machine ---- */

/* Reads PAM_DIR/name; NULL when absent. The caller frees. */
static char *read_pam(const char *name)
{
	char path[256];
	FILE *f;
	char *text = NULL;
	size_t cap = 0, len = 0, n;
	char chunk[4096];

	(void)snprintf(path, sizeof(path), "%s/%s", PAM_DIR, name);
	f = fopen(path, "re");
	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && len < (size_t)1024 * 1024) {
		if (len + n + 1 > cap) {
			char *grown = realloc(text, cap = (len + n + 1) * 2);
			if (grown == NULL) {
				free(text);
				(void)fclose(f);
				return NULL;
			}
			text = grown;
		}
		memcpy(text + len, chunk, n);
		len += n;
	}
	(void)fclose(f);
	if (text != NULL)
		text[len] = '\0';
	return text;
}

/* The line number (1-based) of the first uncommented `type` line naming
 * module in text, or 0. */
static int find_line(const char *text, const char *type, const char *module)
{
	int no = 0;

	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		char line[512];

		no++;
		(void)snprintf(line, sizeof(line), "%.*s", (int)(len < 511 ? len : 511), p);
		p = nl != NULL ? nl + 1 : NULL;
		{
			const char *s = line + strspn(line, " \t-");

			if (*s == '#' || strncmp(s, type, strlen(type)) != 0)
				continue;
			if (strstr(s, module) != NULL)
				return no;
		}
	}
	return 0;
}

static void check_pam(struct doctor *d)
{
	char *account = read_pam("common-account"), *password = read_pam("common-password");
	char *session = read_pam("common-session");
	const char *where = "common-*";
	struct item *it;
	int mine, changer;

	if (account == NULL && password == NULL && session == NULL) {
		/* Fedora/RHEL: authselect's system-auth holds the three */
		account = read_pam("system-auth");
		password = read_pam("system-auth");
		session = read_pam("system-auth");
		where = "system-auth";
	}
	if ((account == NULL || !find_line(account, "account", "pam_eschool.so")) &&
	    (password == NULL || !find_line(password, "password", "pam_eschool.so")) &&
	    (session == NULL || !find_line(session, "session", "pam_eschool.so"))) {
		it = add(d, "pam", SKIP);
		(void)snprintf(it->detail, sizeof(it->detail),
		               "pam_eschool is not enabled on this machine");
		(void)snprintf(it->fix, sizeof(it->fix),
		               "on the lab machines: pam-auth-update --enable eschool");
		goto out;
	}
	it = add(d, "pam", OK);
	if (account == NULL || !find_line(account, "account", "pam_eschool.so")) {
		it->status = FAIL;
		(void)snprintf(it->detail, sizeof(it->detail),
		               "no account line for pam_eschool in %s: nobody is asked to change a "
		               "password",
		               where);
	} else if (password == NULL || (mine = find_line(password, "password", "pam_eschool.so")) ==
	                                       0) {
		it->status = FAIL;
		(void)snprintf(it->detail, sizeof(it->detail),
		               "no password line for pam_eschool in %s: changes are not recorded", where);
	} else if ((changer = find_line(password, "password", "pam_unix.so")) == 0 &&
	           (changer = find_line(password, "password", "pam_sss.so")) == 0) {
		it->status = FAIL;
		(void)snprintf(it->detail, sizeof(it->detail),
		               "no password-changing module (pam_unix, pam_sss) in %s", where);
	} else if (mine < changer) {
		it->status = FAIL;
		(void)snprintf(it->detail, sizeof(it->detail),
		               "pam_eschool (line %d) comes before the module that changes the "
		               "password (line %d) in %s: it would record changes that did not happen",
		               mine, changer, where);
	} else if (session == NULL || !find_line(session, "session", "pam_eschool.so")) {
		it->status = FAIL;
		(void)snprintf(it->detail, sizeof(it->detail),
		               "no session line for pam_eschool in %s: logins are not recorded", where);
	} else {
		(void)snprintf(it->detail, sizeof(it->detail),
		               "account, password (after the changing module) and session lines in %s",
		               where);
	}
	if (it->status == FAIL)
		(void)snprintf(it->fix, sizeof(it->fix),
		               "Debian/Ubuntu: pam-auth-update --enable eschool; elsewhere see "
		               "pam_eschool(8)");
out:
	free(account);
	free(password);
	free(session);
}

static void check_queue(struct doctor *d)
{
	struct cli *ctx = d->ctx;
	struct es_qmsg *list = NULL;
	struct quota q;
	struct es_err err = { 0 };
	size_t n = 0, bad = 0, failed = 0;
	char today[16];
	struct tm tm;
	long sent_today = 0;
	struct item *it;

	if (es_queue_list(ctx->cfg.spool_dir, &list, &n, &bad, &err) != 0) {
		it = add(d, "queue", FAIL);
		(void)snprintf(it->detail, sizeof(it->detail), "%s", ui_err(&err));
		return;
	}
	for (size_t i = 0; i < n; i++)
		failed += list[i].failed;
	free(list);
	memset(&q, 0, sizeof(q));
	(void)quota_read(ctx, &q, &err);
	if (localtime_r(&ctx->now, &tm) != NULL && strftime(today, sizeof(today), "%Y-%m-%d", &tm) &&
	    strcmp(q.day, today) == 0)
		sent_today = q.day_sent;
	it = add(d, "queue", OK);
	(void)snprintf(it->detail, sizeof(it->detail), "%zu waiting, %zu failed, %zu unreadable; "
	                                               "sent today: %ld%s",
	               n - failed, failed, bad, sent_today,
	               ctx->cfg.daily_quota > 0 ? "" : " (no daily quota)");
	if (ctx->cfg.daily_quota > 0)
		(void)snprintf(it->detail + strlen(it->detail), sizeof(it->detail) - strlen(it->detail),
		               " of %ld", ctx->cfg.daily_quota);
	if (failed > 0 || bad > 0) {
		it->status = FAIL;
		(void)snprintf(it->fix, sizeof(it->fix),
		               "eschool queue list shows them; fix the address or the settings, then "
		               "eschool queue retry ID (or queue drop ID)");
	} else if (ctx->cfg.daily_quota > 0 && sent_today >= ctx->cfg.daily_quota) {
		it->status = FAIL;
		(void)snprintf(it->fix, sizeof(it->fix),
		               "the daily quota is reached: the rest goes tomorrow (raise "
		               "daily_quota only if the provider allows it)");
	}
}

/* ---- output ---- */

static const char *mark(enum status s)
{
	return s == OK ? "✓" : s == FAIL ? "✗" : s == WARN ? "!" : "–";
}

static const char *word(enum status s)
{
	return s == OK ? "ok" : s == FAIL ? "fail" : s == WARN ? "warn" : "skip";
}

int cmd_doctor(struct cli *ctx, const struct args *a)
{
	struct doctor d;
	size_t fails = 0;

	memset(&d, 0, sizeof(d));
	d.ctx = ctx;
	d.fix = arg_flag(a, "fix");
	check_mode(&d);
	check_directory(&d);
	check_smtp(&d);
	check_secret(&d);
	check_dns(&d);
	check_test_email(&d);
	check_templates(&d);
	check_addresses(&d);
	check_backup(&d);
	check_pam(&d);
	check_aging(&d);
	check_queue(&d);
	for (size_t i = 0; i < d.n; i++)
		fails += d.items[i].status == FAIL;
	if (ctx->json) {
		struct es_buf b = { 0 };
		int w = es_buf_printf(&b, "{\"ok\":%s,\"checks\":[", fails ? "false" : "true");

		for (size_t i = 0; i < d.n; i++) {
			const struct item *it = &d.items[i];

			w |= es_buf_printf(&b, "%s{\"item\":\"%s\",\"status\":\"%s\",\"detail\":",
			                   i ? "," : "", it->name, word(it->status)) |
			     es_buf_json_str(&b, it->detail) | es_buf_puts(&b, ",\"fix\":") |
			     (it->fix[0] ? es_buf_json_str(&b, it->fix) : es_buf_puts(&b, "null")) |
			     es_buf_puts(&b, "}");
		}
		w |= es_buf_puts(&b, "]}\n");
		if (w == 0)
			(void)fwrite(b.data, 1, b.len, stdout);
		es_buf_free(&b);
	} else {
		printf("eschool doctor — %s\n", ctx->cfg.path[0] ? ctx->cfg.path
		                                                  : _("built-in defaults"));
		for (size_t i = 0; i < d.n; i++) {
			const struct item *it = &d.items[i];

			printf("  %s %-11s %s\n", mark(it->status), it->name, it->detail);
			if (it->fix[0] != '\0' && it->status != OK)
				printf("                → %s\n", it->fix);
		}
		printf(fails ? _("%zu item(s) to fix before production\n")
		             : _("ready for production\n"),
		       fails);
	}
	return fails ? ES_ECONFIG : 0;
}
