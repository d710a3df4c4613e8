/* pam_eschool.so — SPEC section 7. On a lab workstation it makes a student
 * change the initial password at the first login and again when it is
 * older than the role's max_age_days, warns before that, and records
 * password changes and login sources so that the helper's queue mails the
 * confirmations. It never changes a password itself (the stack's pam_unix
 * or pam_sss does), never touches the network, reads only its arguments and
 * its config file (never the environment), keeps no state between calls,
 * and fails closed only on corrupt state (on_error).
 *
 *   account   required  pam_eschool.so [config=PATH] [debug] [minlen=N ...]
 *   password  required  pam_eschool.so   (after the module that changes it)
 *   session   optional  pam_eschool.so
 *
 * It decides on the user's canonical name (what NSS calls PAM_USER: "ZOE"
 * is "zoe" where the directory says so), and never holds a state lock
 * across a conversation with the user (the user could stop it there).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <pwd.h>
#include <shadow.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <security/pam_modutil.h>

#include <sodium.h>

#include "es_account.h"
#include "es_compose.h"
#include "es_code.h"
#include "es_config.h"
#include "es_fs.h"
#include "es_msg.h"
#include "es_names.h"
#include "es_pamin.h"
#include "es_queue.h"
#include "es_state.h"
#include "es_store.h"

#define PUBLIC __attribute__((visibility("default")))
#define DAY 86400

/* Every log line goes through here, escaped (es_log_escape): it may name
 * a user, a login source, a module argument, or quote a file, and a
 * control character or a bidi override in a log line can forge another
 * line or hide text. The line is cut at 1 KB. */
static void logx(pam_handle_t *pamh, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void logx(pam_handle_t *pamh, int prio, const char *fmt, ...)
{
	char raw[1024], esc[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	(void)es_log_escape(raw, esc, sizeof(esc));
	pam_syslog(pamh, prio, "%s", esc);
}

/* One call's context: everything is freed before the entry point returns. */
struct call {
	pam_handle_t *pamh;
	int flags;
	bool debug;
	const char *config_path;
	struct es_pam_rules rules; /* the password rules to tell (arguments) */
	const char *user; /* the canonical name (name) once known, else NULL */
	char name[ES_NAME_MAX + 1];
	struct passwd pw; /* pw_name and pw_uid of the account, when have_pw */
	bool have_pw;
	struct es_config *cfg_p; /* the handle's (pam_set_data): account and
	                            session of one login read the file once */
	bool cfg_loaded;
	struct es_policy pol;
	struct es_store store; /* where the state lives (cfg_p's) */
	struct es_state st;
	bool french;      /* the workstation's messages */
	bool mail_french; /* the account's language: its mails */
	bool would_speak; /* a message was (or, silent, would have been) given */
	bool probing;     /* deciding only: no message, no audit line */
	time_t now;
};

#define CFG_DATA "pam_eschool.config"
#define STATE_DATA "pam_eschool.state"
#define USER_DATA "pam_eschool.user"
#define CFG_ERR_DATA "pam_eschool.config_error" /* logged for this handle */
#define TOLD_DATA "pam_eschool.told" /* the change was explained on this handle */

/* How prepare() works for a stage. */
#define PREP_EXEMPT 1u /* exempt users are left alone before anything else */
#define PREP_KEPT 2u   /* may take the state the account stage kept */
#define PREP_ACCOUNT 4u /* the account stage: says more in the log */
#define KEPT_MAX_AGE 300 /* seconds: older, the state is read again */

/* The account stage's reading of the state, kept on the PAM handle for the
 * session stage of the same login: one state read per login. The session
 * only decides from it whether there is anything to record; recording
 * locks and reads the file again. */
struct kept_state {
	time_t at;
	struct es_state st;
};

static void call_free(struct call *c)
{
	if (c == NULL)
		return;
	es_state_free(&c->st);
	free(c);
}

/* pam_end frees the handle's config with this. */
static void cfg_cleanup(pam_handle_t *pamh, void *data, int status)
{
	(void)pamh;
	(void)status;
	es_config_free(data);
	free(data);
}

static void kept_cleanup(pam_handle_t *pamh, void *data, int status)
{
	struct kept_state *k = data;

	(void)pamh;
	(void)status;
	es_state_free(&k->st);
	free(k);
}

/* Moves the call's state onto the handle (the call keeps an empty one). */
static void keep_state(struct call *c)
{
	struct kept_state *k = malloc(sizeof(*k));

	if (k == NULL)
		return; /* the session reads the file itself */
	k->at = c->now;
	k->st = c->st;
	es_state_init(&c->st, c->user); /* the strings now belong to k */
	if (pam_set_data(c->pamh, STATE_DATA, k, kept_cleanup) != PAM_SUCCESS)
		kept_cleanup(c->pamh, k, 0);
}

static void drop_kept_state(const struct call *c)
{
	(void)pam_set_data(c->pamh, STATE_DATA, NULL, NULL);
}

/* Takes the kept state when it is this user's and recent; it is used once. */
static bool take_kept_state(struct call *c)
{
	const void *data = NULL;
	struct kept_state *k;
	bool ok;

	if (pam_get_data(c->pamh, STATE_DATA, &data) != PAM_SUCCESS || data == NULL)
		return false;
	k = (struct kept_state *)data;
	ok = strcmp(k->st.username, c->user) == 0 && c->now >= k->at &&
	     c->now - k->at < KEPT_MAX_AGE;
	if (ok) {
		es_state_free(&c->st);
		c->st = k->st;
		es_state_init(&k->st, ""); /* moved: the cleanup frees nothing */
	}
	drop_kept_state(c);
	return ok;
}

/* The config, read once per PAM handle (about 50 KB: never on the host
 * process's stack). Returns 0, or -1 with err filled. */
static int config_get(struct call *c, struct es_err *err)
{
	const void *data = NULL;
	struct es_config *cfg;

	if (pam_get_data(c->pamh, CFG_DATA, &data) == PAM_SUCCESS && data != NULL) {
		c->cfg_p = (struct es_config *)data;
		return 0;
	}
	cfg = malloc(sizeof(*cfg)); /* es_config_load sets every field */
	if (cfg == NULL)
		return es_err_set(err, ES_EOS, "%s: out of memory", c->config_path);
	if (es_config_load(cfg, c->config_path, ES_CFG_OPTIONAL | ES_CFG_NO_SECRET, err) != 0) {
		es_config_free(cfg);
		free(cfg);
		return -1;
	}
	if (pam_set_data(c->pamh, CFG_DATA, cfg, cfg_cleanup) != PAM_SUCCESS) {
		es_config_free(cfg);
		free(cfg);
		return es_err_set(err, ES_EOS, "%s: cannot keep the configuration", c->config_path);
	}
	c->cfg_p = cfg;
	return 0;
}

/* text in the login's language, from lib/es_msg's catalogue (po/fr.po) */
static const char *tr(const struct call *c, const char *text) __attribute__((format_arg(2)));

static const char *tr(const struct call *c, const char *text)
{
	return es_msg(c->french, text);
}

/* Messages to the person at the keyboard (not with PAM_SILENT). */
static void tell(struct call *c, bool error, const char *msg)
{
	c->would_speak = true;
	if (c->probing || (c->flags & PAM_SILENT))
		return;
	if (error)
		(void)pam_error(c->pamh, "%s", msg);
	else
		(void)pam_info(c->pamh, "%s", msg);
}

static void bad_arg(const char *arg, void *ctx)
{
	logx(ctx, LOG_ERR, "unknown or bad argument '%s' (ignored)", arg);
}

static void parse_args(struct call *c, int argc, const char **argv)
{
	struct es_pam_args a;

	(void)es_pam_args_parse(argc, argv, &a, bad_arg, c->pamh);
	c->debug = a.debug;
	c->config_path = a.config_path;
	c->rules = a.rules;
}

static bool exempt(const struct call *c)
{
	return es_policy_exempt(&c->pol, c->user);
}

/* What to return when the module cannot decide (config or state broken). */
static int on_error(const struct call *c)
{
	if (c->cfg_loaded && c->cfg_p->policy.on_error == ES_ONERR_ALLOW)
		return PAM_IGNORE;
	return PAM_SYSTEM_ERR;
}

/* ---- the user ---- */

/* What NSS said of one PAM_USER, kept on the handle: the stages of a login
 * ask once. */
enum seen { SEEN_OK, SEEN_UNKNOWN, SEEN_NOT_OURS };
struct user_seen {
	char given[ES_PAM_USER_MAX + 1];
	enum seen what;
	char name[ES_NAME_MAX + 1]; /* SEEN_OK: pw_name; SEEN_NOT_OURS: its start */
	uid_t uid;
};

static void seen_cleanup(pam_handle_t *pamh, void *data, int status)
{
	(void)pamh;
	(void)status;
	free(data);
}

/* getpwnam_r (no static buffer: the host may be threaded), its buffer
 * growing to 64 KB at most (an entry larger than that is no login name's).
 * Returns 0 with s filled, or an errno value when NSS failed (a directory
 * down) rather than said "no such user". */
static int nss_lookup(const char *user, struct user_seen *s)
{
	size_t cap = 1024;

	for (;;) {
		struct passwd pw, *res = NULL;
		char *buf = malloc(cap);
		int e;

		if (buf == NULL)
			return ENOMEM;
		e = getpwnam_r(user, &pw, buf, cap, &res);
		if (e == ERANGE && cap < 65536) {
			free(buf);
			cap *= 4;
			continue;
		}
		if (e == 0 || e == ENOENT || e == ESRCH) { /* the ways of "not found" */
			e = 0;
			if (res == NULL) {
				s->what = SEEN_UNKNOWN;
			} else {
				(void)es_strlcpy(s->name, res->pw_name, sizeof(s->name));
				s->what = es_valid_username(res->pw_name) ? SEEN_OK : SEEN_NOT_OURS;
				s->uid = res->pw_uid;
			}
		}
		explicit_bzero(buf, cap); /* a passwd field may hold a hash */
		free(buf);
		return e;
	}
}

static int not_ours(const struct call *c, const char *given, const char *why)
{
	if (c->debug)
		logx(c->pamh, LOG_DEBUG, "user name '%s' is not one eschool manages (%s)", given, why);
	return PAM_IGNORE;
}

/* The account PAM_USER names, as the rest of the stack finds it: NSS's
 * pw_name, which must be a name eschool could manage (and so never a path
 * under state_dir). Returns -1 with c->user set, or the PAM code to return.
 * A name NSS does not know is left alone; when NSS itself fails, the name
 * as given is used if it is a valid one (what the module did before it
 * asked NSS), without the uid check. */
static int resolve_user(struct call *c, const char *given)
{
	const void *data = NULL;
	struct user_seen *s, *kept, local;
	int e;

	if (!es_pam_user_lookup_ok(given))
		return not_ours(c, given, "not a name");
	if (pam_get_data(c->pamh, USER_DATA, &data) == PAM_SUCCESS && data != NULL &&
	    strcmp(((const struct user_seen *)data)->given, given) == 0) {
		s = (struct user_seen *)data;
	} else {
		memset(&local, 0, sizeof(local));
		(void)es_strlcpy(local.given, given, sizeof(local.given));
		e = nss_lookup(given, &local);
		if (e != 0) {
			char eb[128];

			if (!es_valid_username(given)) {
				logx(c->pamh, LOG_ERR, "cannot look up user '%s': %s: left alone", given,
				     strerror_r(e, eb, sizeof(eb)));
				return PAM_IGNORE;
			}
			logx(c->pamh, LOG_WARNING, "cannot look up user '%s': %s: deciding on that name",
			     given, strerror_r(e, eb, sizeof(eb)));
			(void)es_strlcpy(c->name, given, sizeof(c->name));
			c->user = c->name;
			return -1;
		}
		s = &local;
		kept = malloc(sizeof(*kept)); /* without it, the next stage asks again */
		if (kept != NULL) {
			*kept = local;
			if (pam_set_data(c->pamh, USER_DATA, kept, seen_cleanup) != PAM_SUCCESS)
				free(kept);
		}
	}
	if (s->what == SEEN_UNKNOWN)
		return not_ours(c, given, "unknown to NSS");
	if (s->what == SEEN_NOT_OURS) {
		if (c->debug)
			logx(c->pamh, LOG_DEBUG,
			     "user name '%s' is not one eschool manages (its account is '%s')", given,
			     s->name);
		return PAM_IGNORE;
	}
	(void)es_strlcpy(c->name, s->name, sizeof(c->name));
	c->user = c->name;
	c->pw.pw_name = c->name;
	c->pw.pw_uid = s->uid;
	c->have_pw = true;
	if (c->debug && strcmp(given, c->name) != 0)
		logx(c->pamh, LOG_DEBUG, "user name '%s' is %s's", given, c->name);
	return -1;
}

/* A state that names another uid than the account's now (the name was
 * removed, then given to someone else) is not this account's. */
static bool state_is_others(const struct call *c)
{
	return c->have_pw && es_state_owner(&c->st, &c->pw) != ES_OWNER_OK;
}

/* ---- a configuration that does not load ---- */

/* The state_dir line of a config that does not load, read from its text
 * when the file passes the usual checks (root's, not writable by others:
 * a directory named by a file anybody may write would make a managed user
 * look unmanaged). Returns true with out filled. */
static bool named_state_dir(const struct call *c, char *out, size_t outsz)
{
	const long long max = 1024LL * 1024; /* es_config's limit */
	char why[128], *buf;
	struct stat sb;
	size_t got = 0;
	bool found = false;
	int fd;

	out[0] = '\0';
	fd = open(c->config_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
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

/* With a config that does not load, on_error and state_dir are unknown,
 * but whether the user is managed is not: a state file in the default
 * state_dir, or in the one the file names. An unmanaged user is left
 * alone; a managed one gets the built-in on_error (deny), except root and
 * group sudo (the built-in exemptions: a typo must not lock the
 * administrators out). One log line per login (a PAM handle): the error
 * (file:line) and what it meant for this user. */
static int broken_config(struct call *c, const struct es_err *cfg_err)
{
	static char logged; /* a marker: pam_set_data needs a non-NULL pointer */
	char named[ES_PATH_LEN];
	const char *dirs[2] = { ES_PAM_DEFAULT_STATE_DIR, NULL }, *where = NULL;
	const void *data = NULL;
	bool again, say;
	int prio;

	if (named_state_dir(c, named, sizeof(named)) &&
	    strcmp(named, ES_PAM_DEFAULT_STATE_DIR) != 0)
		dirs[1] = named;
	for (size_t i = 0; i < 2 && dirs[i] != NULL && where == NULL; i++) {
		struct es_err err = { 0 };
		struct es_store store;
		int rc;

		es_store_files(&store, dirs[i]);
		rc = es_store_read(&store, c->user, &c->st, &err);
		if (rc == 0 && state_is_others(c))
			rc = 1;
		if (rc != 1) /* a state, or one that cannot be read: managed */
			where = dirs[i];
	}
	es_state_free(&c->st);
	es_state_init(&c->st, "");
	/* the next stages of the same login say it again only with debug */
	again = pam_get_data(c->pamh, CFG_ERR_DATA, &data) == PAM_SUCCESS && data != NULL;
	if (!again)
		(void)pam_set_data(c->pamh, CFG_ERR_DATA, &logged, NULL);
	say = !again || c->debug;
	prio = again ? LOG_DEBUG : LOG_ERR;
	if (where == NULL) {
		if (say)
			logx(c->pamh, prio, "%s; %s has no state in %s%s%s: left alone", cfg_err->msg,
			     c->user, dirs[0], dirs[1] != NULL ? " nor " : "",
			     dirs[1] != NULL ? dirs[1] : "");
		return PAM_IGNORE;
	}
	if (strcmp(c->user, "root") == 0 || es_in_group(c->user, "sudo")) {
		if (say)
			logx(c->pamh, prio, "%s; %s is exempt (root, group sudo): left alone",
			     cfg_err->msg, c->user);
		return PAM_IGNORE;
	}
	if (say)
		logx(c->pamh, prio,
		     "%s; %s has a state in %s: refused (on_error = deny, the built-in default)",
		     cfg_err->msg, c->user, where);
	return PAM_SYSTEM_ERR;
}

/* Loads the config and the user's state. Returns -1 to go on, or the PAM
 * code to return (PAM_IGNORE for users and callers the module leaves
 * alone). */
static int prepare(struct call *c, int argc, const char **argv, unsigned how)
{
	struct es_err err = { 0 };
	const char *service = NULL, *user = NULL, *lang;
	int rc;

	es_state_init(&c->st, "");
	c->now = time(NULL);
	parse_args(c, argc, argv);
	/* the helper's own services set passwords in bulk: not ours */
	if (pam_get_item(c->pamh, PAM_SERVICE, (const void **)&service) == PAM_SUCCESS &&
	    service != NULL && (strcmp(service, "chpasswd") == 0 || strcmp(service, "newusers") == 0))
		return PAM_IGNORE;
	/* PAM_USER as the application or the auth stage set it: account,
	 * password and session come after the user was named, and asking here
	 * (pam_get_user) would put a "login:" prompt in a session stack and let
	 * a conversation rename the user for the modules after us */
	if (pam_get_item(c->pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS || user == NULL)
		return PAM_IGNORE;
	/* a screen locker runs PAM as the user: root's files are not for it,
	 * and an unlock must never fail or complain because of us */
	if (geteuid() != 0)
		return PAM_IGNORE;
	rc = resolve_user(c, user);
	if (rc >= 0)
		return rc;
	if (config_get(c, &err) != 0)
		return broken_config(c, &err);
	c->cfg_loaded = true;
	es_store_for(&c->store, c->cfg_p);
	if ((how & PREP_KEPT) != 0 && take_kept_state(c)) {
		rc = 0;
	} else {
		struct es_record rec;

		/* read without the lock: a write opens the record again, locked */
		rc = es_record_open(&c->store, c->user, ES_RECORD_READ, &c->st, &rec, &err);
		if (rc >= 0)
			es_record_close(&rec);
	}
	if (rc == 1)
		return PAM_IGNORE; /* not managed by eschool */
	if (rc != 0) {
		logx(c->pamh, LOG_ERR, "%s", err.msg);
		/* exempt users are never denied, not even for a broken file */
		c->pol = c->cfg_p->policy;
		if (exempt(c))
			return PAM_IGNORE;
		return on_error(c);
	}
	if (state_is_others(c)) {
		if ((how & PREP_ACCOUNT) != 0 || c->debug)
			logx(c->pamh, (how & PREP_ACCOUNT) != 0 ? LOG_NOTICE : LOG_DEBUG,
			     "the state of %s (%s/users/%s) was made for uid %s, not for this "
			     "account (uid %u): left alone; see eschool doctor",
			     c->user, c->cfg_p->state_dir, c->user, es_state_get(&c->st, ES_K_UID),
			     (unsigned)c->pw.pw_uid);
		return PAM_IGNORE;
	}
	/* mails in the account's language; the workstation's messages in the
	 * application's, as the rest of the stack speaks it (pam_unix follows
	 * LC_MESSAGES), when it is one the module speaks */
	c->mail_french = strcmp(c->cfg_p->language, "fr") == 0;
	lang = es_state_get(&c->st, ES_K_LANG);
	if (lang != NULL && lang[0] != '\0')
		c->mail_french = strcmp(lang, "fr") == 0;
	c->french = c->mail_french;
	switch (es_pam_locale_lang(setlocale(LC_MESSAGES, NULL))) {
	case ES_PAM_LANG_FR:
		c->french = true;
		break;
	case ES_PAM_LANG_EN:
		c->french = false;
		break;
	case ES_PAM_LANG_OTHER:
		break;
	}
	if (es_account_policy(c->cfg_p, &c->st, &c->pol, &err) != 0) {
		logx(c->pamh, LOG_ERR, "%s", err.msg);
		return on_error(c);
	}
	if ((how & PREP_EXEMPT) != 0 && exempt(c)) {
		if (c->debug)
			logx(c->pamh, LOG_DEBUG, "%s is exempt", c->user);
		return PAM_IGNORE;
	}
	return -1;
}

/* A denial or a demanded change is logged once (not while probing): sshd,
 * for one, does not pass a refused login's message on to the user, so the
 * administrator's log is where the reason is found. */
static int verdict(const struct call *c, int rc, const char *why)
{
	if (rc == PAM_SUCCESS || rc == PAM_IGNORE || c->probing)
		return rc;
	/* enforce = no: say what would have happened, let the user in */
	if (c->pol.enforce) {
		logx(c->pamh, LOG_NOTICE, "%s for %s: %s", pam_strerror(c->pamh, rc), c->user, why);
		return rc;
	}
	logx(c->pamh, LOG_NOTICE, "audit (enforce = no): would return %s for %s: %s",
	     pam_strerror(c->pamh, rc), c->user, why);
	return PAM_SUCCESS;
}

/* ---- account ---- */

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

/* Before the new password is asked: what a good one is, so that the stack's
 * "choose a longer password" three times does not end the login. The rules
 * are the ones the administrator copied onto our line (minlen=, minclass=,
 * negative credits: the module cannot read pam_pwquality's arguments);
 * without them, advice that passes the default stacks (pam_unix wants 6
 * characters, pam_pwquality 8 and no dictionary word). */
static void tell_rules(struct call *c)
{
	const struct es_pam_rules *r = &c->rules;
	const struct {
		long credit;
		const char *one, *many;
	} kinds[] = {
		{ r->ucredit, N_("capital letter"), N_("capital letters") },
		{ r->lcredit, N_("lower-case letter"), N_("lower-case letters") },
		{ r->dcredit, N_("digit"), N_("digits") },
		{ r->ocredit, N_("other character (not a letter or digit)"),
		  N_("other characters (not letters or digits)") },
	};
	char msg[768];
	size_t o = 0, nreq = 0, done = 0;

	if (r->minlen > 0)
		add(msg, sizeof(msg), &o,
		    tr(c, "Choose a new password of at least %ld characters"),
		    r->minlen);
	else
		add(msg, sizeof(msg), &o, "%s",
		    tr(c, "Choose a long new password (12 characters or more)"));
	if (r->minclass > 1)
		add(msg, sizeof(msg), &o,
		    tr(c, ", of at least %ld kinds of characters (lower case, capitals, digits, others)"),
		    r->minclass);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		nreq += kinds[i].credit < 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		long n = -kinds[i].credit;

		if (n <= 0)
			continue;
		add(msg, sizeof(msg), &o, "%s%ld %s",
		    done == 0 ? tr(c, ", with at least ")
		    : done + 1 == nreq ? tr(c, " and ")
		                       : ", ",
		    n, tr(c, n == 1 ? kinds[i].one : kinds[i].many));
		done++;
	}
	add(msg, sizeof(msg), &o, "%s",
	    tr(c, ", unlike the old one: a few unrelated words make a good one."));
	tell(c, false, msg);
}

static int account_verdict(struct call *c);

/* The exemption (a group lookup through NSS) is checked only when the
 * verdict would deny or say something: an exempt user who would be let in
 * silently is let in either way. */
static int account(struct call *c)
{
	int rc;

	c->probing = true;
	rc = account_verdict(c);
	c->probing = false;
	if (rc == PAM_SUCCESS && !c->would_speak)
		return PAM_SUCCESS;
	if (exempt(c)) {
		if (c->debug)
			logx(c->pamh, LOG_DEBUG, "%s is exempt", c->user);
		return PAM_IGNORE;
	}
	return account_verdict(c);
}

/* Why a new password is needed now, with what a good one is; said once
 * per handle (the account stage, or the password stage's first pass when
 * the stack's pam_unix ended the account stage first: shadow's lastchg 0). */
static void tell_change(struct call *c, enum es_verdict_kind kind)
{
	const void *told = NULL;

	if (pam_get_data(c->pamh, TOLD_DATA, &told) == PAM_SUCCESS && told != NULL)
		return;
	if (kind == ES_V_MUST_CHANGE)
		tell(c, true,
		     tr(c, "You must change your temporary password now."));
	else
		tell(c, true,
		     tr(c, "Your password has expired: choose a new one now."));
	tell_rules(c);
	if (!c->probing)
		(void)pam_set_data(c->pamh, TOLD_DATA, (void *)"", NULL);
}

static void tell_temp_expired(struct call *c)
{
	tell(c, true,
	     tr(c, "Your temporary password was not used in time and no longer works. "
	           "Ask your administrator for a new one."));
}

/* Will the stack's pam_unix warn of this expiry itself? It does when the
 * account's shadow entry carries the aging eschool writes there (read only
 * when a warning is due: rare; a reader without shadow access, such as a
 * screen locker, cannot tell and warns). */
static bool shadow_warns(const struct call *c)
{
	struct spwd sp, *spp = NULL;
	char buf[4096];
	long today = (long)(c->now / DAY), age;

	if (getspnam_r(c->user, &sp, buf, sizeof(buf), &spp) != 0 || spp == NULL ||
	    sp.sp_max < 0 || sp.sp_warn <= 0 || sp.sp_lstchg <= 0)
		return false;
	age = today - sp.sp_lstchg;
	return age <= sp.sp_max && age > sp.sp_max - sp.sp_warn;
}

/* The verdict is es_account's; here it is said and turned into PAM's. */
static int account_verdict(struct call *c)
{
	struct es_verdict v;
	char msg[512];

	es_account_verdict(&c->pol, &c->st, c->now, &v);
	switch (v.kind) {
	case ES_V_DISABLED:
		if (c->pol.enforce || c->probing)
			tell(c, true, tr(c, "This account is disabled. Ask your administrator."));
		return verdict(c, PAM_ACCT_EXPIRED, "account disabled");
	case ES_V_TEMP_EXPIRED:
		if (c->pol.enforce || c->probing)
			tell_temp_expired(c);
		return verdict(c, PAM_ACCT_EXPIRED, "temporary password expired unused");
	case ES_V_MUST_CHANGE:
		if (c->pol.enforce || c->probing)
			tell_change(c, v.kind);
		return verdict(c, PAM_NEW_AUTHTOK_REQD, "temporary password must be changed");
	case ES_V_EXPIRED:
		if (c->pol.enforce || c->probing)
			tell_change(c, v.kind);
		return verdict(c, PAM_NEW_AUTHTOK_REQD, "password older than max_age_days");
	case ES_V_WARN:
		if (!c->probing && shadow_warns(c))
			return PAM_SUCCESS; /* pam_unix says it, in the same words' sense */
		(void)snprintf(msg, sizeof(msg),
		               v.days_left == 1
		                       ? tr(c, "Your password expires in %ld day: change it soon.")
		                       : tr(c, "Your password expires in %ld days: change it soon."),
		               v.days_left);
		tell(c, false, msg);
		return PAM_SUCCESS;
	case ES_V_OK:
		break;
	}
	return PAM_SUCCESS;
}

/* The password stage's first pass (PAM_PRELIM_CHECK). A change forced at
 * login (PAM_CHANGE_EXPIRED_AUTHTOK), or asked for by the user (passwd run
 * by anyone but root), is where a stack whose pam_unix ended the account
 * stage (shadow's lastchg 0: "done" in Debian's common-account) meets
 * eschool's own rules: an unused temporary password past its time cannot
 * be turned into a new one, and the change is explained once. Root's
 * `passwd USER` is the administrator's: left alone. */
static bool prelim_concerns_us(int flags)
{
	return (flags & PAM_CHANGE_EXPIRED_AUTHTOK) != 0 || getuid() != 0;
}

static int prelim(struct call *c)
{
	struct es_verdict v;

	es_account_verdict(&c->pol, &c->st, c->now, &v);
	switch (v.kind) {
	case ES_V_TEMP_EXPIRED:
		if (c->pol.enforce)
			tell_temp_expired(c);
		return verdict(c, PAM_PERM_DENIED, "temporary password expired unused");
	case ES_V_MUST_CHANGE:
	case ES_V_EXPIRED:
		if (c->pol.enforce && (c->flags & PAM_SILENT) == 0)
			tell_change(c, v.kind);
		return PAM_IGNORE;
	default:
		return PAM_IGNORE;
	}
}

/* ---- mails queued from the login path (no network: the helper sends) ---- */

static void queue_mail(struct call *c, const char *kind, const char *when, const char *source)
{
	const char *email = es_state_get(&c->st, ES_K_EMAIL);
	const char *name = es_state_get(&c->st, ES_K_NAME);
	const struct es_tvar vars[] = {
		{ "name", name != NULL && name[0] ? name : c->user },
		{ "username", c->user },
		{ "when", when },
		{ "source", source },
	};
	/* no logo (the login path reads no image), no directory of our own */
	const struct es_compose_in in = {
		.kind = kind,
		.lang = es_state_get(&c->st, ES_K_LANG),
		.to_addr = email,
		.to_name = name,
		.vars = vars,
		.nvars = sizeof(vars) / sizeof(vars[0]),
		.now = c->now,
	};
	struct es_buf msg = { 0 };
	struct es_qmsg m;
	struct es_err err = { 0 };

	if (email == NULL || email[0] == '\0')
		return;
	/* only here: the queue's random ids; a login that queues nothing
	 * does not pay for it */
	if (sodium_init() < 0) {
		logx(c->pamh, LOG_WARNING, "%s mail for %s not queued: libsodium cannot start",
		     kind, c->user);
		return;
	}
	memset(&m, 0, sizeof(m));
	(void)snprintf(m.to, sizeof(m.to), "%s", email);
	(void)snprintf(m.kind, sizeof(m.kind), "%s", kind);
	(void)snprintf(m.user, sizeof(m.user), "%s", c->user);
	m.priority = ES_QPRIO_NOTICE;
	if (es_compose_message(c->cfg_p, &in, &msg, NULL, &err) != 0 ||
	    es_queue_add(c->cfg_p->spool_dir, &m, msg.data, msg.len, c->now, &err) != 0)
		/* the login goes on: a lost notice is logged, never a denial */
		logx(c->pamh, LOG_WARNING, "%s mail for %s not queued: %s", kind, c->user, err.msg);
	else if (c->debug)
		logx(c->pamh, LOG_DEBUG, "%s mail for %s queued as %s", kind, c->user, m.id);
	es_buf_free(&msg);
}

static void fmt_when(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(out, outsz, "%Y-%m-%d %H:%M", &tm) == 0)
		(void)snprintf(out, outsz, "%lld", (long long)t);
}

/* Reloads the state under the user's lock (the helper or another login may
 * have written it since prepare), for a read-modify-write. Returns 0; 1 to
 * leave the bookkeeping alone (not managed any more, or no lock to be had:
 * a full or read-only disk, something unsafe at locks/USER — logged: only
 * corrupt state follows on_error, SPEC section 7); -1 for a corrupt state. */
static int relock(struct call *c, struct es_record *rec)
{
	struct es_err err = { 0 };
	int rc = es_record_open(&c->store, c->user, ES_RECORD_WRITE, &c->st, rec, &err);

	if (rc < 0) {
		logx(c->pamh, LOG_ERR, "%s", err.msg);
		/* no lock to be had is left alone; a bad state is on_error's */
		return rec->lock_failed ? 1 : -1;
	}
	if (rc == 1 || state_is_others(c)) {
		es_record_close(rec);
		return 1;
	}
	return 0;
}

static int save(struct call *c, const struct es_record *rec)
{
	struct es_err err = { 0 };

	/* writing uses random temporary names (libsodium); reading does not */
	if (sodium_init() < 0) {
		logx(c->pamh, LOG_ERR, "libsodium cannot start");
		return -1;
	}
	if (es_record_save(rec, &err) != 0) {
		logx(c->pamh, LOG_ERR, "%s", err.msg);
		return -1;
	}
	return 0;
}

/* ---- a pending address change ---- */

/* An address change waits for the code mailed to the new address: ask for
 * it once, at a login that is let in anyway. An empty answer skips; a wrong
 * one counts toward email_code_tries; the login goes on whatever happens. */
static void ask_code(struct call *c)
{
	const char *pending = es_state_get(&c->st, ES_K_PENDING_EMAIL);
	unsigned char key[ES_CODE_KEY_LEN];
	struct es_err err = { 0 };
	char *answer = NULL, addr[320];
	enum es_confirm_outcome said = ES_CONFIRM_NONE;
	long tries_left;
	struct es_record rec = { .token = -1 };

	if ((c->flags & PAM_SILENT) != 0 || !es_account_code_askable(&c->st, &c->pol, c->now))
		return;
	(void)es_strlcpy(addr, pending, sizeof(addr));
	if (sodium_init() < 0 || es_code_key(c->cfg_p->state_dir, false, key, &err) != 0) {
		logx(c->pamh, LOG_ERR, "cannot check codes: %s", err.msg);
		return;
	}
	if (pam_prompt(c->pamh, PAM_PROMPT_ECHO_ON, &answer, "%s",
	               tr(c, "Code mailed to confirm your new address (Enter to skip): ")) != PAM_SUCCESS ||
	    answer == NULL || answer[0] == '\0')
		goto out;
	/* decided and recorded under the lock, on the state as it is now (a
	 * request replaced meanwhile is not confirmed by the old code) */
	if (relock(c, &rec) != 0)
		goto out;
	said = es_account_email_confirm(&c->st, &c->pol, key, answer, addr, c->now, &tries_left);
	if ((said == ES_CONFIRM_OK || said == ES_CONFIRM_WRONG) && save(c, &rec) != 0)
		said = ES_CONFIRM_NONE;
	if (said == ES_CONFIRM_OK)
		logx(c->pamh, LOG_NOTICE, "address of %s confirmed at login", c->user);
	else if (said == ES_CONFIRM_WRONG)
		logx(c->pamh, LOG_NOTICE, "wrong address confirmation code for %s", c->user);
out:
	es_record_close(&rec);
	/* told once the lock is released: a conversation may last (or be
	 * stopped by the user) as long as it likes, and nobody else waits */
	if (said == ES_CONFIRM_OK)
		tell(c, false, tr(c, "Your address is confirmed."));
	else if (said == ES_CONFIRM_WRONG)
		tell(c, true, tr(c, "Wrong code: your address is unchanged."));
	sodium_memzero(key, sizeof(key));
	if (answer != NULL) {
		sodium_memzero(answer, strlen(answer));
		free(answer);
	}
}

/* ---- password ---- */

/* Did the module before us really change the password? A "required"
 * module that failed does not stop the stack, and a change that did not
 * happen must never clear must-change. The new password is in PAM_AUTHTOK
 * (pam_get_authtok clears it on a mismatch), and a local account's shadow
 * entry says it changed today. */
static bool change_happened(const struct call *c)
{
	const void *tok = NULL;
	struct spwd sp, *spp = NULL;
	char buf[4096];

	if (pam_get_item(c->pamh, PAM_AUTHTOK, &tok) != PAM_SUCCESS || tok == NULL ||
	    ((const char *)tok)[0] == '\0')
		return false;
	if (getspnam_r(c->user, &sp, buf, sizeof(buf), &spp) != 0 || spp == NULL)
		return true; /* not a local account (sssd, ldap): AUTHTOK is all we have */
	return sp.sp_lstchg >= (long)(c->now / DAY);
}

static int password_changed(struct call *c)
{
	char when[64];
	struct es_record rec;
	int rc;

	if (!change_happened(c)) {
		logx(c->pamh, LOG_NOTICE,
		     "password of %s not changed by the modules before pam_eschool: nothing "
		     "recorded (stack them as requisite)",
		     c->user);
		return PAM_IGNORE;
	}
	rc = relock(c, &rec);
	if (rc != 0)
		return rc > 0 ? PAM_IGNORE : on_error(c);
	if (es_account_password_changed(&c->st, c->now) != 0 || save(c, &rec) != 0) {
		es_record_close(&rec);
		/* the password did change (the module before us did it): never
		 * report a failure the user cannot act on; the log says why */
		return PAM_IGNORE;
	}
	es_record_close(&rec);
	logx(c->pamh, LOG_NOTICE, "password changed for %s", c->user);
	fmt_when(c->now, when, sizeof(when));
	queue_mail(c, "password-changed", when, NULL);
	return PAM_SUCCESS;
}

/* ---- session ---- */

/* The login's source: the remote host, else the terminal, cleaned by
 * es_login_source_clean (kept in a comma list, shown in a mail). */
static void login_source(const struct call *c, char *out, size_t outsz)
{
	const void *rhost = NULL, *tty = NULL;

	if (pam_get_item(c->pamh, PAM_RHOST, &rhost) != PAM_SUCCESS)
		rhost = NULL;
	if (pam_get_item(c->pamh, PAM_TTY, &tty) != PAM_SUCCESS)
		tty = NULL;
	(void)es_login_source_clean(rhost, tty, out, outsz);
}

/* What the new-login-source mail shows of the source, in the mail's
 * language: a remote host as recorded; a login at this computer (no
 * PAM_RHOST: PAM_TTY is a device such as pts/0, meaningless to the reader)
 * as its console, named by the host name (not the environment's). */
static void shown_source(const struct call *c, char *out, size_t outsz)
{
	const void *rhost = NULL;
	char host[256];

	if (pam_get_item(c->pamh, PAM_RHOST, &rhost) != PAM_SUCCESS)
		rhost = NULL;
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	(void)es_login_source_shown(rhost, host, c->mail_french, out, outsz);
}

static int session_open(struct call *c)
{
	char source[ES_PAM_SOURCE_MAX + 1], shown[ES_PAM_SHOWN_MAX + 1], when[64];
	enum es_login_outcome outcome;
	struct es_record rec;
	int rc;

	login_source(c, source, sizeof(source));
	/* logins are recorded to the minute (as `eschool show` prints them):
	 * the same source again within the minute changes nothing, and costs
	 * no lock, no group lookup and no write on the login path */
	if (es_account_same_login(&c->st, source, c->now))
		return PAM_SUCCESS;
	if (exempt(c)) {
		if (c->debug)
			logx(c->pamh, LOG_DEBUG, "%s is exempt", c->user);
		return PAM_IGNORE;
	}
	rc = relock(c, &rec);
	if (rc != 0)
		return rc > 0 ? PAM_IGNORE : on_error(c);
	if (es_account_same_login(&c->st, source, c->now)) { /* recorded meanwhile */
		es_record_close(&rec);
		return PAM_SUCCESS;
	}
	if (es_account_login(&c->st, &c->pol, source, c->now, &outcome) != 0 ||
	    save(c, &rec) != 0) {
		es_record_close(&rec);
		return PAM_IGNORE; /* a login is never refused for its bookkeeping */
	}
	es_record_close(&rec);
	if (es_account_notify_login(&c->pol, outcome)) {
		fmt_when(c->now, when, sizeof(when));
		shown_source(c, shown, sizeof(shown));
		queue_mail(c, "new-login-source", when, shown);
	}
	return PAM_SUCCESS;
}

/* ---- entry points ---- */

/* A call's context on the heap: host processes may run PAM on small
 * thread stacks. NULL when out of memory (logged). */
static struct call *call_new(pam_handle_t *pamh, int flags)
{
	struct call *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		logx(pamh, LOG_CRIT, "out of memory");
		return NULL;
	}
	c->pamh = pamh;
	c->flags = flags;
	return c;
}

PUBLIC int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct call *c = call_new(pamh, flags);
	int rc;

	if (c == NULL)
		return PAM_BUF_ERR;
	rc = prepare(c, argc, argv, PREP_ACCOUNT);
	if (rc < 0) {
		rc = account(c);
		if (rc == PAM_SUCCESS)
			ask_code(c);
		keep_state(c);
	}
	if (c->debug)
		logx(pamh, LOG_DEBUG, "account %s: %s", c->user != NULL ? c->user : "?",
		     pam_strerror(pamh, rc));
	call_free(c);
	return rc;
}

PUBLIC int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct call *c;
	int rc;

	if (!(flags & (PAM_PRELIM_CHECK | PAM_UPDATE_AUTHTOK)))
		return PAM_IGNORE;
	/* root's own passwd USER: not even the config is read (a broken one
	 * must not stop the administrator) */
	if ((flags & PAM_PRELIM_CHECK) != 0 && !prelim_concerns_us(flags))
		return PAM_IGNORE;
	c = call_new(pamh, flags);
	if (c != NULL && (flags & PAM_PRELIM_CHECK) != 0) {
		/* the first pass: may the change happen? */
		rc = prepare(c, argc, argv, PREP_EXEMPT);
		if (rc < 0)
			rc = prelim(c);
		call_free(c);
		return rc;
	}
	if (c == NULL)
		return PAM_IGNORE; /* the password did change: never fail it */
	drop_kept_state(c); /* the state changes now */
	rc = prepare(c, argc, argv, PREP_EXEMPT);
	if (rc < 0) /* recorded in audit mode too: it denies nobody */
		rc = password_changed(c);
	call_free(c);
	return rc;
}

PUBLIC int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct call *c = call_new(pamh, flags);
	int rc;

	if (c == NULL)
		return PAM_IGNORE; /* bookkeeping never refuses a login */
	rc = prepare(c, argc, argv, PREP_KEPT); /* exemption: in session_open */
	if (rc < 0)
		rc = session_open(c);
	call_free(c);
	return rc;
}

PUBLIC int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}

PUBLIC int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE; /* authentication is the stack's (pam_unix, pam_sss) */
}

PUBLIC int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}
