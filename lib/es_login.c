/* What a login does: see es_login.h. */
#include "es_login.h"

#include "es_msg.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <shadow.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>


#include "es_account.h"
#include "es_code.h"
#include "es_compose.h"
#include "es_fs.h"
#include "es_queue.h"
#include "es_util.h"

void es_login_init(struct es_login *l, const struct es_login_io *io, time_t now)
{
	memset(l, 0, sizeof(*l));
	l->io = io;
	l->now = now;
	es_state_init(&l->st, "");
}

void es_login_free(struct es_login *l)
{
	es_state_free(&l->st);
}

void es_login_log(const struct es_login *l, int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	l->io->log(l->io->ctx, prio, line);
}

/* text in the login's language, from the catalogue (lib/es_msg, po/fr.po) */
static const char *tr(const struct es_login *l, const char *text) __attribute__((format_arg(2)));

static const char *tr(const struct es_login *l, const char *text)
{
	return es_msg(l->french, text);
}

/* Messages to the person at the keyboard (not when silent). */
static void tell(struct es_login *l, bool error, const char *msg)
{
	l->would_speak = true;
	if (l->probing || l->silent)
		return;
	l->io->tell(l->io->ctx, error, msg);
}

static bool exempt(const struct es_login *l)
{
	return es_policy_exempt(&l->pol, l->user);
}

/* The exemption, logged with debug. */
static bool exempt_said(const struct es_login *l)
{
	if (!exempt(l))
		return false;
	if (l->debug)
		es_login_log(l, LOG_DEBUG, "%s is exempt", l->user);
	return true;
}

/* ---- the user ---- */

static enum es_login_rc not_ours(const struct es_login *l, const char *given, const char *why)
{
	if (l->debug)
		es_login_log(l, LOG_DEBUG, "user name '%s' is not one eschool manages (%s)", given,
		             why);
	return ES_LOGIN_IGNORE;
}

bool es_login_user_askable(const struct es_login *l, const char *given)
{
	if (es_pam_user_lookup_ok(given))
		return true;
	(void)not_ours(l, given, "not a name");
	return false;
}

/* getpwnam_r (no static buffer: the host may be threaded), its buffer
 * growing to 64 KB at most (an entry larger than that is no login name's). */
int es_user_lookup(const char *given, struct es_user_seen *s)
{
	size_t cap = 1024;

	memset(s, 0, sizeof(*s));
	(void)es_strlcpy(s->given, given, sizeof(s->given));
	for (;;) {
		struct passwd pw, *res = NULL;
		char *buf = malloc(cap);
		int e;

		if (buf == NULL)
			return ENOMEM;
		e = getpwnam_r(given, &pw, buf, cap, &res);
		if (e == ERANGE && cap < 65536) {
			free(buf);
			cap *= 4;
			continue;
		}
		if (e == 0 || e == ENOENT || e == ESRCH) { /* the ways of "not found" */
			e = 0;
			if (res == NULL) {
				s->what = ES_SEEN_UNKNOWN;
			} else {
				(void)es_strlcpy(s->name, res->pw_name, sizeof(s->name));
				s->what = es_valid_username(res->pw_name) ? ES_SEEN_OK : ES_SEEN_NOT_OURS;
				s->uid = res->pw_uid;
			}
		}
		explicit_bzero(buf, cap); /* a passwd field may hold a hash */
		free(buf);
		return e;
	}
}

enum es_login_rc es_login_user(struct es_login *l, const char *given,
                               const struct es_user_seen *s, int lookup_err)
{
	if (lookup_err != 0) {
		char eb[128];

		if (!es_valid_username(given)) {
			es_login_log(l, LOG_ERR, "cannot look up user '%s': %s: left alone", given,
			             strerror_r(lookup_err, eb, sizeof(eb)));
			return ES_LOGIN_IGNORE;
		}
		es_login_log(l, LOG_WARNING, "cannot look up user '%s': %s: deciding on that name",
		             given, strerror_r(lookup_err, eb, sizeof(eb)));
		(void)es_strlcpy(l->name, given, sizeof(l->name));
		l->user = l->name;
		return ES_LOGIN_GO_ON;
	}
	if (s->what == ES_SEEN_UNKNOWN)
		return not_ours(l, given, "unknown to NSS");
	if (s->what == ES_SEEN_NOT_OURS) {
		if (l->debug)
			es_login_log(l, LOG_DEBUG,
			             "user name '%s' is not one eschool manages (its account is '%s')",
			             given, s->name);
		return ES_LOGIN_IGNORE;
	}
	(void)es_strlcpy(l->name, s->name, sizeof(l->name));
	l->user = l->name;
	l->pw.pw_name = l->name;
	l->pw.pw_uid = s->uid;
	l->have_pw = true;
	if (l->debug && strcmp(given, l->name) != 0)
		es_login_log(l, LOG_DEBUG, "user name '%s' is %s's", given, l->name);
	return ES_LOGIN_GO_ON;
}

/* A state that names another uid than the account's now (the name was
 * removed, then given to someone else) is not this account's. */
static bool state_is_others(const struct es_login *l)
{
	return l->have_pw && es_state_owner(&l->st, &l->pw) != ES_OWNER_OK;
}

enum es_login_rc es_login_on_error(const struct es_login *l)
{
	if (l->cfg != NULL && l->cfg->policy.on_error == ES_ONERR_ALLOW)
		return ES_LOGIN_IGNORE;
	return ES_LOGIN_SYSERR;
}

/* ---- a configuration that does not load ---- */

/* The state_dir line of a config that does not load, read from its text
 * when the file passes the usual checks (root's, not writable by others:
 * a directory named by a file anybody may write would make a managed user
 * look unmanaged). Returns true with out filled. */
static bool named_state_dir(const char *config_path, char *out, size_t outsz)
{
	const long long max = 1024LL * 1024; /* es_config's limit */
	char why[128], *buf;
	struct stat sb;
	size_t got = 0;
	bool found = false;
	int fd;

	out[0] = '\0';
	fd = open(config_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return false;
	if (fstat(fd, &sb) != 0 || !es_fs_file_ok(&sb, 022, max, why, sizeof(why))) {
		(void)close(fd);
		return false;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (buf != NULL && es_fs_read_all(fd, buf, (size_t)sb.st_size, &got) == 0)
		found = es_pam_conf_state_dir(buf, got, out, outsz);
	if (buf != NULL) {
		explicit_bzero(buf, (size_t)sb.st_size + 1); /* an inline mail password */
		free(buf);
	}
	(void)close(fd);
	return found;
}

/* The first of dirs (n of them, NULL ends them early) holding a state of
 * the user's (or one that cannot be read: managed), else NULL. */
static const char *managed_in(struct es_login *l, const char *const *dirs, size_t n)
{
	const char *where = NULL;

	for (size_t i = 0; i < n && dirs[i] != NULL && where == NULL; i++) {
		struct es_err err = { 0 };
		struct es_store store;
		struct es_record rec;
		int rc;

		es_store_files(&store, dirs[i]);
		rc = es_record_open(&store, l->user, ES_RECORD_READ, &l->st, &rec, &err);
		if (rc >= 0)
			es_record_close(&rec);
		if (rc == 0 && state_is_others(l))
			rc = 1;
		if (rc != 1)
			where = dirs[i];
	}
	es_state_free(&l->st);
	es_state_init(&l->st, "");
	return where;
}

/* With a config that does not load, on_error and state_dir are unknown,
 * but whether the user is managed is not. An unmanaged user is left
 * alone; a managed one gets the built-in on_error (deny), except root and
 * group sudo (the built-in exemptions: a typo must not lock the
 * administrators out). One log line per login: the error (file:line) and
 * what it meant for this user. */
enum es_login_rc es_login_broken_config(struct es_login *l, const char *config_path,
                                        const struct es_err *cfg_err, bool again)
{
	char named[ES_PATH_LEN];
	const char *dirs[2] = { ES_PAM_DEFAULT_STATE_DIR, NULL }, *where;
	bool say = !again || l->debug;
	int prio = again ? LOG_DEBUG : LOG_ERR;

	if (named_state_dir(config_path, named, sizeof(named)) &&
	    strcmp(named, ES_PAM_DEFAULT_STATE_DIR) != 0)
		dirs[1] = named;
	where = managed_in(l, dirs, 2);
	if (where == NULL) {
		if (say)
			es_login_log(l, prio, "%s; %s has no state in %s%s%s: left alone", cfg_err->msg,
			             l->user, dirs[0], dirs[1] != NULL ? " nor " : "",
			             dirs[1] != NULL ? dirs[1] : "");
		return ES_LOGIN_IGNORE;
	}
	if (strcmp(l->user, "root") == 0 || es_in_group(l->user, "sudo")) {
		if (say)
			es_login_log(l, prio, "%s; %s is exempt (root, group sudo): left alone",
			             cfg_err->msg, l->user);
		return ES_LOGIN_IGNORE;
	}
	if (say)
		es_login_log(l, prio,
		             "%s; %s has a state in %s: refused (on_error = deny, the built-in "
		             "default)",
		             cfg_err->msg, l->user, where);
	return ES_LOGIN_SYSERR;
}

/* ---- loading ---- */

/* The store, connected at its first use (es_login_io.store). 0, or -1
 * (logged: the directory down leaves the login to the rest of the stack,
 * whose SSSD logs students in from its cache). */
static int need_store(struct es_login *l)
{
	struct es_err err = { 0 };

	if (l->store.ops != NULL)
		return 0;
	if (l->io->store == NULL) {
		es_store_for(&l->store, l->cfg); /* state_dir's files */
		return 0;
	}
	if (l->io->store(l->io->ctx, l->cfg, &l->store, &err) != 0) {
		es_login_log(l, LOG_ERR, "%s: %s; left to the rest of the stack", l->user, err.msg);
		memset(&l->store, 0, sizeof(l->store));
		return -1;
	}
	return 0;
}

/* Mails in the account's language; the workstation's messages in the
 * application's, as the rest of the stack speaks it (pam_unix follows
 * LC_MESSAGES), when it is one the module speaks. */
static void choose_languages(struct es_login *l)
{
	const char *lang = es_state_get(&l->st, ES_K_LANG);

	l->mail_french = strcmp(l->cfg->language, "fr") == 0;
	if (lang != NULL && lang[0] != '\0')
		l->mail_french = strcmp(lang, "fr") == 0;
	l->french = l->mail_french;
	switch (es_pam_locale_lang(setlocale(LC_MESSAGES, NULL))) {
	case ES_PAM_LANG_FR:
		l->french = true;
		break;
	case ES_PAM_LANG_EN:
		l->french = false;
		break;
	case ES_PAM_LANG_OTHER:
		break;
	}
}

enum es_login_rc es_login_prepare(struct es_login *l, const struct es_config *cfg,
                                  bool have_state, unsigned how)
{
	struct es_err err = { 0 };
	int rc = 0;

	l->cfg = cfg;
	if (!have_state) {
		struct es_record rec;

		if (need_store(l) != 0)
			return ES_LOGIN_IGNORE; /* the directory down: the stack decides */

		/* read without the lock: a write opens the record again, locked */
		rc = es_record_open(&l->store, l->user, ES_RECORD_READ, &l->st, &rec, &err);
		if (rc >= 0)
			es_record_close(&rec);
	}
	if (rc == 1)
		return ES_LOGIN_IGNORE; /* not managed by eschool */
	if (rc != 0) {
		es_login_log(l, LOG_ERR, "%s", err.msg);
		/* exempt users are never denied, not even for a broken file */
		l->pol = cfg->policy;
		return exempt(l) ? ES_LOGIN_IGNORE : es_login_on_error(l);
	}
	if (state_is_others(l)) {
		bool acct = (how & ES_LOGIN_PREP_ACCOUNT) != 0;

		if (acct || l->debug)
			es_login_log(l, acct ? LOG_NOTICE : LOG_DEBUG,
			             "the state of %s (%s/users/%s) was made for uid %s, not for this "
			             "account (uid %u): left alone; see eschool doctor",
			             l->user, cfg->state_dir, l->user, es_state_get(&l->st, ES_K_UID),
			             (unsigned)l->pw.pw_uid);
		return ES_LOGIN_IGNORE;
	}
	choose_languages(l);
	if (es_account_policy(cfg, &l->st, &l->pol, &err) != 0) {
		es_login_log(l, LOG_ERR, "%s", err.msg);
		return es_login_on_error(l);
	}
	if ((how & ES_LOGIN_PREP_EXEMPT) != 0 && exempt_said(l))
		return ES_LOGIN_IGNORE;
	return ES_LOGIN_GO_ON;
}

/* The whole state from the store in place of SSSD's public part
 * (l->cached), before anything is demanded, refused or asked on its word:
 * SSSD's copy may be older than the entry. 0 read; 1 leave the login
 * alone (the directory down, logged; not managed any more); -1 a state
 * that cannot be read (logged: on_error). */
static int load_full(struct es_login *l)
{
	struct es_err err = { 0 };
	struct es_record rec;
	int rc;

	if (!l->cached)
		return 0;
	if (l->cfg == NULL || need_store(l) != 0) /* (a prepared login has its config) */
		return 1;
	rc = es_record_open(&l->store, l->user, ES_RECORD_READ, &l->st, &rec, &err);
	l->cached = false;
	if (rc < 0) {
		l->lost = true;
		es_login_log(l, LOG_ERR, "%s", err.msg);
		/* a directory that stopped answering refuses nothing */
		return err.code == ES_EUNAVAIL ? 1 : -1;
	}
	es_record_close(&rec);
	if (rc == 1 || state_is_others(l))
		return 1;
	choose_languages(l);
	if (es_account_policy(l->cfg, &l->st, &l->pol, &err) != 0) {
		es_login_log(l, LOG_ERR, "%s", err.msg);
		return -1;
	}
	return 0;
}

/* ---- what is said ---- */

/* Appends to msg (size sz, used *o), silently stopping at its end. */
static void add(char *msg, size_t sz, size_t *o, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add(char *msg, size_t sz, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o >= sz)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg + *o, sz - *o, fmt, ap);
	va_end(ap);
	if (n > 0)
		*o = *o + (size_t)n < sz ? *o + (size_t)n : sz;
}

/* The kinds of characters a rule may ask for, with their names. */
struct kind_name {
	long credit;
	const char *one, *many;
};

/* ", with at least 1 digit and 2 capital letters": every kind asked for
 * (a negative credit). */
static void add_kinds(const struct es_login *l, const struct kind_name *kinds, size_t n,
                      char *msg, size_t sz, size_t *o)
{
	size_t nreq = 0, done = 0;

	for (size_t i = 0; i < n; i++)
		nreq += kinds[i].credit < 0;
	for (size_t i = 0; i < n; i++) {
		long k = -kinds[i].credit;

		if (k <= 0)
			continue;
		add(msg, sz, o, "%s%ld %s",
		    done == 0 ? tr(l, ", with at least ")
		    : done + 1 == nreq ? tr(l, " and ")
		                       : ", ",
		    k, tr(l, k == 1 ? kinds[i].one : kinds[i].many));
		done++;
	}
}

/* Before the new password is asked: what a good one is, so that the stack's
 * "choose a longer password" three times does not end the login. The rules
 * are the ones the administrator copied onto the module's line (minlen=,
 * minclass=, negative credits: the module cannot read pam_pwquality's
 * arguments); without them, advice that passes the default stacks
 * (pam_unix wants 6 characters, pam_pwquality 8 and no dictionary word). */
static size_t rules_text(const struct es_login *l, char *msg, size_t sz)
{
	const struct es_pam_rules *r = &l->rules;
	const struct kind_name kinds[] = {
		{ r->ucredit, N_("capital letter"), N_("capital letters") },
		{ r->lcredit, N_("lower-case letter"), N_("lower-case letters") },
		{ r->dcredit, N_("digit"), N_("digits") },
		{ r->ocredit, N_("other character (not a letter or digit)"),
		  N_("other characters (not letters or digits)") },
	};
	size_t o = 0;

	if (sz == 0)
		return 0;
	msg[0] = '\0';
	if (r->minlen > 0)
		add(msg, sz, &o,
		    tr(l, "Choose a new password of at least %ld characters"),
		    r->minlen);
	else
		add(msg, sz, &o, "%s",
		    tr(l, "Choose a long new password (12 characters or more)"));
	if (r->minclass > 1)
		add(msg, sz, &o,
		    tr(l, ", of at least %ld kinds of characters (lower case, capitals, digits, others)"),
		    r->minclass);
	add_kinds(l, kinds, sizeof(kinds) / sizeof(kinds[0]), msg, sz, &o);
	add(msg, sz, &o, "%s",
	    tr(l, ", unlike the old one: a few unrelated words make a good one."));
	return strlen(msg);
}

size_t es_login_rules_text(const struct es_pam_rules *r, bool french, char *out, size_t outsz)
{
	struct es_login l;

	memset(&l, 0, sizeof(l));
	l.rules = *r;
	l.french = french;
	return rules_text(&l, out, outsz);
}

/* Why a new password is needed now, with what a good one is; said once
 * per login (the account stage, or the password stage's first pass when
 * the stack's pam_unix ended the account stage first: shadow's lastchg 0). */
static void tell_change(struct es_login *l, enum es_verdict_kind kind)
{
	char msg[768];

	if (l->io->told(l->io->ctx, false))
		return;
	if (kind == ES_V_MUST_CHANGE)
		tell(l, true,
		     tr(l, "You must change your temporary password now."));
	else
		tell(l, true,
		     tr(l, "Your password has expired: choose a new one now."));
	(void)rules_text(l, msg, sizeof(msg));
	tell(l, false, msg);
	if (!l->probing)
		(void)l->io->told(l->io->ctx, true);
}

static void tell_temp_expired(struct es_login *l)
{
	tell(l, true,
	     tr(l, "Your temporary password was not used in time and no longer works. "
	           "Ask your administrator for a new one."));
}

/* Will the stack's pam_unix warn of this expiry itself? It does when the
 * account's shadow entry carries the aging eschool writes there (read only
 * when a warning is due: rare; a reader without shadow access, such as a
 * screen locker, cannot tell and warns). */
static bool shadow_warns(const struct es_login *l)
{
	struct spwd sp, *spp = NULL;
	char buf[4096];
	long today = (long)(l->now / ES_DAY), age;

	if (getspnam_r(l->user, &sp, buf, sizeof(buf), &spp) != 0 || spp == NULL ||
	    sp.sp_max < 0 || sp.sp_warn <= 0 || sp.sp_lstchg <= 0)
		return false;
	age = today - sp.sp_lstchg;
	return age <= sp.sp_max && age > sp.sp_max - sp.sp_warn;
}

static void tell_warn(struct es_login *l, long days_left)
{
	char msg[512];

	(void)snprintf(msg, sizeof(msg),
	               days_left == 1
	                       ? tr(l, "Your password expires in %ld day: change it soon.")
	                       : tr(l, "Your password expires in %ld days: change it soon."),
	               days_left);
	tell(l, false, msg);
}

/* The verdict is es_account's; here it is said and turned into a stage's
 * answer. */
static enum es_login_rc account_verdict(struct es_login *l, const char **why)
{
	bool say = l->pol.enforce || l->probing;
	struct es_verdict v;

	*why = NULL;
	es_account_verdict(&l->pol, &l->st, l->now, &v);
	switch (v.kind) {
	case ES_V_DISABLED:
		if (say)
			tell(l, true, tr(l, "This account is disabled. Ask your administrator."));
		*why = "account disabled";
		return ES_LOGIN_EXPIRED;
	case ES_V_TEMP_EXPIRED:
		if (say)
			tell_temp_expired(l);
		*why = "temporary password expired unused";
		return ES_LOGIN_EXPIRED;
	case ES_V_MUST_CHANGE:
	case ES_V_EXPIRED:
		if (say)
			tell_change(l, v.kind);
		*why = v.kind == ES_V_MUST_CHANGE ? "temporary password must be changed"
		                                  : "password older than max_age_days";
		return ES_LOGIN_NEW_AUTHTOK;
	case ES_V_WARN:
		if (!l->probing && shadow_warns(l))
			return ES_LOGIN_OK; /* pam_unix says it, in the same words' sense */
		tell_warn(l, v.days_left);
		return ES_LOGIN_OK;
	case ES_V_OK:
		break;
	}
	return ES_LOGIN_OK;
}

static void catch_up_change(struct es_login *l, bool loaded_now);

enum es_login_rc es_login_account(struct es_login *l, const char **why)
{
	enum es_login_rc rc;

	catch_up_change(l, true);
	if (l->lost) /* its reading again failed (logged): nothing to decide on */
		return ES_LOGIN_IGNORE;
	l->probing = true;
	rc = account_verdict(l, why);
	l->probing = false;
	if (rc != ES_LOGIN_OK && l->cached) { /* confirmed by the entry itself */
		int full = load_full(l);

		if (full != 0) {
			*why = NULL;
			return full > 0 || exempt(l) ? ES_LOGIN_IGNORE : es_login_on_error(l);
		}
		catch_up_change(l, true);
		if (l->lost)
			return ES_LOGIN_IGNORE;
		l->would_speak = false;
		l->probing = true;
		rc = account_verdict(l, why);
		l->probing = false;
	}
	if (rc == ES_LOGIN_OK && !l->would_speak)
		return ES_LOGIN_OK;
	if (exempt_said(l)) {
		*why = NULL;
		return ES_LOGIN_IGNORE;
	}
	return account_verdict(l, why);
}

enum es_login_rc es_login_prelim(struct es_login *l, const char **why)
{
	struct es_verdict v;

	*why = NULL;
	es_account_verdict(&l->pol, &l->st, l->now, &v);
	if (l->cached && v.kind != ES_V_OK && v.kind != ES_V_WARN) {
		/* a refusal or a demand: on the entry's word */
		int full = load_full(l);

		if (full != 0)
			return full > 0 || exempt(l) ? ES_LOGIN_IGNORE : es_login_on_error(l);
		es_account_verdict(&l->pol, &l->st, l->now, &v);
	}
	switch (v.kind) {
	case ES_V_TEMP_EXPIRED:
		if (l->pol.enforce)
			tell_temp_expired(l);
		*why = "temporary password expired unused";
		return ES_LOGIN_PERM_DENIED;
	case ES_V_MUST_CHANGE:
	case ES_V_EXPIRED:
		if (l->pol.enforce && !l->silent)
			tell_change(l, v.kind);
		return ES_LOGIN_IGNORE;
	default:
		return ES_LOGIN_IGNORE;
	}
}

/* ---- mails queued from the login path (no network: the helper sends) ---- */

/* when: the change or login mailed; day_only when only its day is known
 * (a change caught up from the directory's shadowLastChange). The date is
 * written by the composer, in the language of the template it finds. */
static void queue_mail(struct es_login *l, const char *kind, time_t when, bool day_only,
                       const char *source)
{
	const char *email = es_state_get(&l->st, ES_K_EMAIL);
	const char *name = es_state_get(&l->st, ES_K_NAME);
	const struct es_tvar vars[] = {
		{ "name", name != NULL && name[0] ? name : l->user },
		{ "username", l->user },
		{ "source", source },
	};
	const struct es_tdate dates[] = { { .name = "when", .t = when, .day_only = day_only } };
	/* no logo (the login path reads no image), no directory of our own */
	const struct es_compose_in in = {
		.kind = kind,
		.lang = es_state_get(&l->st, ES_K_LANG),
		.to_addr = email,
		.to_name = name,
		.vars = vars,
		.nvars = sizeof(vars) / sizeof(vars[0]),
		.dates = dates,
		.ndates = sizeof(dates) / sizeof(dates[0]),
		.now = l->now,
	};
	struct es_buf msg = { 0 };
	struct es_qmsg m;
	struct es_err err = { 0 };

	if (email == NULL || email[0] == '\0')
		return;
	memset(&m, 0, sizeof(m));
	(void)snprintf(m.to, sizeof(m.to), "%s", email);
	(void)snprintf(m.kind, sizeof(m.kind), "%s", kind);
	(void)snprintf(m.user, sizeof(m.user), "%s", l->user);
	m.priority = ES_QPRIO_NOTICE;
	if (es_compose_message(l->cfg, &in, &msg, NULL, &err) != 0 ||
	    es_queue_add(l->cfg->spool_dir, &m, msg.data, msg.len, l->now, &err) != 0)
		/* the login goes on: a lost notice is logged, never a denial */
		es_login_log(l, LOG_WARNING, "%s mail for %s not queued: %s", kind, l->user,
		             err.msg);
	else if (l->debug)
		es_login_log(l, LOG_DEBUG, "%s mail for %s queued as %s", kind, l->user, m.id);
	es_buf_free(&msg);
}


/* Reloads the state under the user's lock (the helper or another login may
 * have written it since it was read), for a read-modify-write. Returns 0;
 * 1 to leave the bookkeeping alone (not managed any more, or no lock to be
 * had: a full or read-only disk, something unsafe at locks/USER — logged:
 * only corrupt state follows on_error, SPEC section 7); -1 for a corrupt
 * state. */
static int relock(struct es_login *l, struct es_record *rec)
{
	struct es_err err = { 0 };
	int rc;

	if (need_store(l) != 0)
		return 1;
	rc = es_record_open(&l->store, l->user, ES_RECORD_WRITE, &l->st, rec, &err);
	l->cached = false; /* the whole state now, or none (lost) */
	if (rc < 0) {
		l->lost = true;
		es_login_log(l, LOG_ERR, "%s", err.msg);
		/* no lock to be had, or a directory that stopped answering, is
		 * left alone; a bad state is on_error's */
		return rec->lock_failed || err.code == ES_EUNAVAIL ? 1 : -1;
	}
	if (rc == 1 || state_is_others(l)) {
		es_record_close(rec);
		return 1;
	}
	return 0;
}

/* How many times a write that another machine got in first is tried. */
#define SAVE_TRIES 3

/* 0 saved; else -1, with *conflict when another machine changed the
 * record meanwhile (the directory store: the caller may start again). */
static int save(const struct es_login *l, const struct es_record *rec, bool *conflict)
{
	struct es_err err = { 0 };

	*conflict = false;
	if (es_record_save(rec, &err) != 0) {
		*conflict = err.code == ES_ETEMP && rec->store->ops->cas;
		es_login_log(l, *conflict ? LOG_NOTICE : LOG_ERR, "%s", err.msg);
		return -1;
	}
	return 0;
}

/* ---- a pending address change ---- */

/* Checks the typed code under the lock, on the state as it is now (a
 * request replaced meanwhile is not confirmed by the old code), and
 * records the outcome before anything is said. */
static enum es_confirm_outcome confirm_code(struct es_login *l, const unsigned char *key,
                                            const char *answer, const char *addr)
{
	enum es_confirm_outcome said = ES_CONFIRM_NONE;
	struct es_err err = { 0 };
	long tries_left;
	bool again = true;

	for (int attempt = 0; again && attempt < SAVE_TRIES; attempt++) {
		struct es_record rec = { .token = -1 };

		again = false;
		if (relock(l, &rec) != 0)
			return ES_CONFIRM_NONE;
		said = es_account_email_confirm(&l->st, &l->pol, key, answer, addr, l->now,
		                                &tries_left, &err);
		if ((said == ES_CONFIRM_OK || said == ES_CONFIRM_WRONG) && save(l, &rec, &again) != 0)
			said = ES_CONFIRM_NONE;
		es_record_close(&rec);
	}
	if (said == ES_CONFIRM_FAILED)
		es_login_log(l, LOG_ERR, "cannot check codes: %s", err.msg);
	else if (said == ES_CONFIRM_OK)
		es_login_log(l, LOG_NOTICE, "address of %s confirmed at login", l->user);
	else if (said == ES_CONFIRM_WRONG)
		es_login_log(l, LOG_NOTICE, "wrong address confirmation code for %s", l->user);
	return said;
}

/* An empty answer skips; a wrong one counts toward email_code_tries; the
 * login goes on whatever happens. */
void es_login_ask_code(struct es_login *l)
{
	const char *pending;
	unsigned char key[ES_CODE_KEY_LEN];
	struct es_err err = { 0 };
	char *answer = NULL, addr[320];
	enum es_confirm_outcome said = ES_CONFIRM_NONE;

	if (l->silent)
		return;
	/* SSSD's copy has no address: whether a code may be pending, then
	 * the entry itself */
	if (l->cached && (!es_account_code_maybe(&l->st, &l->pol, l->now) || load_full(l) != 0))
		return;
	if (!es_account_code_askable(&l->st, &l->pol, l->now))
		return;
	pending = es_state_get(&l->st, ES_K_PENDING_EMAIL);
	(void)es_strlcpy(addr, pending, sizeof(addr));
	/* (a state handed on by the quiet way came without the store) */
	if (need_store(l) != 0)
		return;
	if (es_store_code_key(&l->store, false, key, &err) != 0) {
		es_login_log(l, LOG_ERR, "cannot check codes: %s", err.msg);
		return;
	}
	if (l->io->prompt(l->io->ctx,
	                  tr(l, "Code mailed to confirm your new address (Enter to skip): "),
	                  &answer) == 0 &&
	    answer != NULL && answer[0] != '\0')
		said = confirm_code(l, key, answer, addr);
	/* told once the lock is released: a conversation may last (or be
	 * stopped by the user) as long as it likes, and nobody else waits */
	if (said == ES_CONFIRM_OK)
		tell(l, false, tr(l, "Your address is confirmed."));
	else if (said == ES_CONFIRM_WRONG)
		tell(l, true, tr(l, "Wrong code: your address is unchanged."));
	else if (said == ES_CONFIRM_FAILED) /* (logged; not counted as a try) */
		tell(l, true, tr(l, "Your code could not be checked now: type it at a later login."));
	explicit_bzero(key, sizeof(key));
	if (answer != NULL) {
		explicit_bzero(answer, strlen(answer));
		free(answer);
	}
}

/* ---- password ---- */

/* Did the module before us really change the password? A "required"
 * module that failed does not stop the stack, and a change that did not
 * happen must never clear must-change. The directory's shadowLastChange
 * (SSSD updates it) says so for its accounts; for the others the new
 * password is in PAM_AUTHTOK (pam_get_authtok clears it on a mismatch),
 * and a local account's shadow entry says it changed today. */
static bool change_happened(struct es_login *l, bool authtok)
{
	struct es_err err = { 0 };
	struct spwd sp, *spp = NULL;
	char buf[4096];
	long day;
	int known = need_store(l) != 0 ? 0 : es_store_last_change(&l->store, l->user, &day, &err);

	if (known < 0)
		es_login_log(l, LOG_ERR, "%s", err.msg);
	if (known != 0)
		return known > 0 && day >= (long)(l->now / ES_DAY);
	if (!authtok)
		return false;
	if (getspnam_r(l->user, &sp, buf, sizeof(buf), &spp) != 0 || spp == NULL)
		return true; /* not a local account, no directory of ours: AUTHTOK is all we have */
	return sp.sp_lstchg >= (long)(l->now / ES_DAY);
}

/* Did a change the state does not know of happen? The directory's
 * shadowLastChange (day, written by SSSD with the change) is later than
 * the recorded change, or eschool's temporary password (written with
 * shadowLastChange 0 when enforced, es_account_aging) was replaced. */
static bool changed_unrecorded(const struct es_login *l, long day)
{
	int64_t recorded = es_state_get_i64(&l->st, ES_K_PW_CHANGED, 0);
	int64_t seen = es_state_get_i64(&l->st, ES_K_LASTCHG_SEEN, -1);

	if (day <= 0)
		return false;
	/* the day eschool wrote or recorded last: any other is a change (a
	 * first change the day the account was made included); a state from
	 * before that was kept: a day after the change recorded */
	if (seen >= 0)
		return day != (long)seen;
	return day > (long)(recorded / ES_DAY);
}

/* The day the state just read says the password last changed (the
 * directory's shadowLastChange, read with it), else fallback (a store
 * whose records do not carry it). 0 when it says none. */
static long day_read(const struct es_login *l, long fallback)
{
	const char *read = es_state_get(&l->st, ES_K_DIR_LAST_CHANGE);
	long day = 0;

	if (read == NULL)
		return fallback;
	return es_parse_long(read, 0, 1000000L, &day) == 0 ? day : 0;
}

/* Records a change of the password made at `when` (the state and the
 * password-changed mail or notice), again and again while another machine
 * changes the record meanwhile. catching_up (the day the directory says):
 * only if the record, read again under the lock, still does not know of
 * it (another workstation may have recorded it first: one mail). */
static enum es_login_rc record_change(struct es_login *l, time_t when, long catching_up)
{
	/* a change caught up on an earlier day: its time is not known */
	bool again = true, owed = false,
	     day_only = catching_up > 0 && catching_up < (long)(l->now / ES_DAY);
	int rc;

	/* another machine may write the record meanwhile (the directory):
	 * read it again and apply the change again, a few times */
	for (int attempt = 0; again && attempt < SAVE_TRIES; attempt++) {
		struct es_record rec;

		rc = relock(l, &rec);
		if (rc != 0)
			return rc > 0 ? ES_LOGIN_IGNORE : es_login_on_error(l);
		/* the entry's own shadowLastChange, read again under the lock,
		 * decides (the day came from SSSD's copy, or an earlier read) */
		if (catching_up > 0) {
			long day = day_read(l, catching_up), today = (long)(l->now / ES_DAY);

			if (day <= 0 || !changed_unrecorded(l, day)) {
				es_record_close(&rec);
				return ES_LOGIN_OK; /* recorded meanwhile, or reset since */
			}
			if (day != catching_up) {
				catching_up = day;
				when = day >= today ? l->now : (time_t)day * ES_DAY;
				day_only = day < today;
			}
		}
		owed = l->store.ops->notices_in_state;
		if (es_account_password_changed(&l->st, when) != 0 ||
		    es_state_set_i64(&l->st, ES_K_LASTCHG_SEEN,
		                     catching_up > 0 ? catching_up : (int64_t)(l->now / ES_DAY)) != 0 ||
		    (owed && es_account_owe_notice(&l->st, "password-changed", when, "") != 0) ||
		    save(l, &rec, &again) != 0) {
			es_record_close(&rec);
			if (again)
				continue;
			/* the password did change (the module before us did it):
			 * never report a failure the user cannot act on; the log
			 * says why */
			return ES_LOGIN_IGNORE;
		}
		es_record_close(&rec);
	}
	if (again)
		return ES_LOGIN_IGNORE;
	es_login_log(l, LOG_NOTICE, "password changed for %s", l->user);
	if (!owed)
		queue_mail(l, "password-changed", when, day_only, NULL);
	return ES_LOGIN_OK;
}

enum es_login_rc es_login_password_changed(struct es_login *l, bool authtok)
{
	if (!change_happened(l, authtok)) {
		es_login_log(l, LOG_NOTICE,
		             "password of %s not changed by the modules before pam_eschool: nothing "
		             "recorded (stack them as requisite)",
		             l->user);
		return ES_LOGIN_IGNORE;
	}
	return record_change(l, l->now, 0);
}

/* A change the password stage did not see: Debian's common-password with
 * libpam-sss's profile ends in "sufficient pam_sss.so", so a directory
 * user's change made there ends the stack before pam_eschool's line (an
 * "Additional" one, after the "Primary" block). The directory's
 * shadowLastChange (SSSD writes it with the change) later than the change
 * recorded says one happened: the account stage reads it with the state
 * (ES_K_DIR_LAST_CHANGE: no search of its own) and records any change, a
 * forced one or one made later with passwd (its mail then goes out after
 * the next login, on any workstation); the session stage, whose state the
 * account stage read before the change, asks the directory again, only
 * while a change is due (a first login: recorded by the same login). Two
 * changes on one day are one: shadowLastChange counts days. */
static void catch_up_change(struct es_login *l, bool loaded_now)
{
	struct es_err err = { 0 };
	struct es_verdict v;
	long day = 0, today = (long)(l->now / ES_DAY);
	const char *read = es_state_get(&l->st, ES_K_DIR_LAST_CHANGE);
	int known;

	/* a store that says (the directory), connected or not yet */
	bool says = l->store.ops != NULL ? l->store.ops->last_change != NULL : l->io->store != NULL;

	if (!says)
		return;
	/* (an exempt user's state is never touched; asked last: a group
	 * lookup, and most logins have nothing to catch up) */
	if (loaded_now && read != NULL) {
		known = es_parse_long(read, 0, 1000000L, &day) == 0;
	} else {
		es_account_verdict(&l->pol, &l->st, l->now, &v);
		if (v.kind != ES_V_MUST_CHANGE && v.kind != ES_V_EXPIRED &&
		    v.kind != ES_V_TEMP_EXPIRED)
			return;
		if (exempt(l) || need_store(l) != 0)
			return;
		known = es_store_last_change(&l->store, l->user, &day, &err);
		if (known < 0)
			es_login_log(l, LOG_ERR, "%s", err.msg);
	}
	if (known <= 0 || !changed_unrecorded(l, day) || exempt(l))
		return;
	es_login_log(l, LOG_NOTICE,
	             "password of %s changed in the directory (shadowLastChange %ld) without "
	             "pam_eschool's password stage: recorded now",
	             l->user, day);
	(void)record_change(l, day >= today ? l->now : (time_t)day * ES_DAY, day);
}

/* ---- session ---- */

/* What the new-login-source mail shows of the source, in the mail's
 * language: a remote host as recorded; a login at this computer (no
 * rhost: the tty is a device such as pts/0, meaningless to the reader)
 * as its console, named by the host name (not the environment's). */
static void shown_source(const struct es_login *l, const char *rhost, char *out, size_t outsz)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	(void)es_login_source_shown(rhost, host, l->mail_french, out, outsz);
}

/* ---- logins recorded once a day while the source is the same (the directory) ---- */

/* With the directory each write is a connection, so a login is recorded
 * once a day while its source stays the same (the files: to the minute;
 * es_account_same_login compares the latest source). SSSD's copy has no
 * sources (any local user may read it), so a workstation reading it keeps
 * what it recorded last in state_dir/seen/USER, root's: "DAY CREATED
 * SOURCE". */
#define SEEN_DIR "seen"

static bool directory(const struct es_login *l)
{
	return l->cfg->policy.backend == ES_ACCT_LDAP;
}

static long login_period(const struct es_login *l)
{
	return directory(l) ? ES_DAY : 60;
}

/* The note: the day, the account (its creation time: a name made again
 * is another account), the source. */
static bool seen_text(const struct es_login *l, const char *source, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%lld %lld %s\n", (long long)(l->now / ES_DAY),
	                 (long long)es_state_get_i64(&l->st, ES_K_CREATED, 0), source);

	return n > 0 && (size_t)n < outsz;
}

/* Did this workstation record a login from source today? The note is
 * read from state_dir/seen opened as es_fs checks directories (real,
 * root's, writable by nobody else), and must itself be root's. */
static bool seen_says(const struct es_login *l, const char *source)
{
	char want[ES_PAM_SOURCE_MAX + 64], got[ES_PAM_SOURCE_MAX + 64];
	struct es_err err = { 0 };
	size_t len = 0;
	struct stat sb;
	bool same = false;
	int top = -1, dir = -1, fd = -1;

	if (!seen_text(l, source, want, sizeof(want)) ||
	    es_fs_open_dir(-1, l->cfg->state_dir, NULL, false, ES_EPERM, "state directory", &top,
	                   &err) != 0 ||
	    es_fs_open_dir(top, l->cfg->state_dir, SEEN_DIR, false, ES_EPERM, "state directory",
	                   &dir, &err) != 0)
		goto out;
	fd = openat(dir, l->user, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == 0 &&
	    (sb.st_mode & 022) == 0 && es_fs_read_all(fd, got, sizeof(got) - 1, &len) == 0) {
		got[len] = '\0';
		same = strcmp(got, want) == 0;
	}
out:
	es_fs_close(&fd);
	es_fs_close(&dir);
	es_fs_close(&top);
	return same;
}

/* Notes that a login from source is recorded today (best effort: without
 * the note the next login connects and finds it recorded). */
static void seen_write(const struct es_login *l, const char *source)
{
	struct es_err err = { 0 };
	char text[ES_PAM_SOURCE_MAX + 64];
	int top = -1, dir = -1, e;

	if (!directory(l) || l->cfg->ldap.login_reads != ES_LDAP_READS_SSSD ||
	    !seen_text(l, source, text, sizeof(text)))
		return;
	if (es_fs_open_dir(-1, l->cfg->state_dir, NULL, false, ES_EPERM, "state directory", &top,
	                   &err) != 0 ||
	    es_fs_open_dir(top, l->cfg->state_dir, SEEN_DIR, true, ES_EPERM, "state directory",
	                   &dir, &err) != 0) {
		es_login_log(l, LOG_WARNING, "%s", err.msg[0] != '\0' ? err.msg : "no state directory");
	} else if ((e = es_fs_write_atomic(dir, dir, l->user, text, strlen(text))) != 0) {
		char eb[128];

		es_login_log(l, LOG_WARNING, "%s/%s/%s: %s", l->cfg->state_dir, SEEN_DIR, l->user,
		             strerror_r(e, eb, sizeof(eb)));
	}
	es_fs_close(&dir);
	es_fs_close(&top);
}

/* Is this login recorded already (nothing to write)? */
static bool login_recorded(const struct es_login *l, const char *source)
{
	if (!l->cached)
		return es_account_same_login(&l->st, source, l->now, login_period(l));
	/* SSSD's copy has no sources (and its last login may be some
	 * minutes old): this workstation's note says */
	return seen_says(l, source);
}

enum es_login_rc es_login_session(struct es_login *l, const char *rhost, const char *tty)
{
	char source[ES_PAM_SOURCE_MAX + 1], shown[ES_PAM_SHOWN_MAX + 1];
	enum es_login_outcome outcome = ES_LOGIN_KNOWN;
	bool again = true, notify = false, owed = false;
	int rc;

	catch_up_change(l, false);
	(void)es_login_source_clean(rhost, tty, source, sizeof(source));
	/* logins are recorded to the minute (as `eschool show` prints them):
	 * the same source again within the minute changes nothing, and costs
	 * no lock, no group lookup and no write on the login path */
	if (login_recorded(l, source))
		return ES_LOGIN_OK;
	if (exempt_said(l))
		return ES_LOGIN_IGNORE;
	shown[0] = '\0';
	/* another workstation may record a login of the same user meanwhile
	 * (the directory): read again and decide again, so that a new source
	 * is told once */
	for (int attempt = 0; again && attempt < SAVE_TRIES; attempt++) {
		struct es_record rec;

		rc = relock(l, &rec);
		if (rc != 0)
			return rc > 0 ? ES_LOGIN_IGNORE : es_login_on_error(l);
		if (login_recorded(l, source)) { /* recorded meanwhile */
			es_record_close(&rec);
			seen_write(l, source);
			return ES_LOGIN_OK;
		}
		owed = l->store.ops->notices_in_state;
		if (es_account_login(&l->st, &l->pol, source, l->now, &outcome) != 0) {
			es_record_close(&rec);
			return ES_LOGIN_IGNORE;
		}
		notify = es_account_notify_login(&l->pol, outcome);
		if (notify && shown[0] == '\0') /* what the mail says (only when one is owed) */
			shown_source(l, rhost, shown, sizeof(shown));
		if ((notify && owed &&
		     es_account_owe_notice(&l->st, "new-login-source", l->now, shown) != 0) ||
		    save(l, &rec, &again) != 0) {
			es_record_close(&rec);
			if (again)
				continue;
			return ES_LOGIN_IGNORE; /* a login is never refused for its bookkeeping */
		}
		es_record_close(&rec);
	}
	if (again)
		return ES_LOGIN_IGNORE;
	seen_write(l, source);
	if (notify && !owed)
		queue_mail(l, "new-login-source", l->now, false, shown);
	return ES_LOGIN_OK;
}

/* ---- the quiet login (es_login.h) ---- */

bool es_login_quiet_load(struct es_login *l, const struct es_config *cfg, const char *given,
                         bool have_state)
{
	struct es_err err = { 0 };
	struct es_record rec;
	int rc;

	if (cfg->policy.backend == ES_ACCT_LDAP || l->io->store != NULL ||
	    !es_valid_username(given) || es_strlcpy(l->name, given, sizeof(l->name)) != 0)
		return false;
	l->user = l->name;
	l->cfg = cfg;
	es_store_for(&l->store, cfg); /* state_dir's files */
	if (have_state) {
		if (strcmp(l->st.username, given) != 0)
			return false;
	} else {
		rc = es_record_open(&l->store, l->user, ES_RECORD_READ, &l->st, &rec, &err);
		if (rc < 0)
			return false; /* said by the usual way */
		es_record_close(&rec);
		if (rc != 0)
			return false; /* not under this name: NSS's canonical name may have one */
	}
	choose_languages(l);
	return es_account_policy(cfg, &l->st, &l->pol, &err) == 0;
}

bool es_login_account_quiet(struct es_login *l)
{
	const char *why = NULL;
	enum es_login_rc rc;

	/* what es_login_account and es_login_ask_code would do: a verdict
	 * with nothing to say, no code to ask for */
	l->probing = true;
	rc = account_verdict(l, &why);
	l->probing = false;
	return rc == ES_LOGIN_OK && !l->would_speak &&
	       (l->silent || !es_account_code_askable(&l->st, &l->pol, l->now));
}

bool es_login_session_quiet(struct es_login *l, const char *rhost, const char *tty)
{
	char source[ES_PAM_SOURCE_MAX + 1];

	(void)es_login_source_clean(rhost, tty, source, sizeof(source));
	return login_recorded(l, source);
}

void es_login_quiet_reset(struct es_login *l)
{
	const struct es_login_io *io = l->io;
	struct es_pam_rules rules = l->rules;
	bool debug = l->debug, silent = l->silent;
	time_t now = l->now;

	es_login_free(l);
	es_login_init(l, io, now);
	l->debug = debug;
	l->silent = silent;
	l->rules = rules;
}
