/* The rules about an account, once: see es_account.h. */
#include "es_account.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_util.h"

int es_account_policy(const struct es_config *cfg, const struct es_state *st,
                      struct es_policy *pol, struct es_err *err)
{
	const char *role = es_state_get(st, ES_K_ROLE);

	if (role != NULL && role[0] != '\0' && es_config_role_policy(cfg, role, pol, NULL) == 0)
		return 0;
	/* no role, or one removed from the config: the global policy holds */
	return es_config_role_policy(cfg, "student", pol, err);
}

void es_account_welcome_kind(const struct es_config *cfg, const char *role, char *out,
                             size_t outsz)
{
	const struct es_role *r = es_config_find_role(cfg, role);

	if (r != NULL && r->template_name[0] != '\0')
		(void)es_strlcpy(out, r->template_name, outsz);
	else
		(void)snprintf(out, outsz, "welcome-%s", role);
}

/* ---- the verdict ---- */

static long days_until(int64_t when, time_t now)
{
	int64_t left = when - (int64_t)now;

	return left > 0 ? (long)((left + ES_DAY - 1) / ES_DAY) : 0;
}

void es_account_verdict(const struct es_policy *pol, const struct es_state *st, time_t now,
                        struct es_verdict *v)
{
	int64_t initial_expires = es_state_get_i64(st, ES_K_INITIAL_EXPIRES, 0);
	int64_t aged = 0;

	memset(v, 0, sizeof(*v));
	v->temporary = es_state_get_bool(st, ES_K_MUST_CHANGE);
	v->changed = es_state_get_i64(st, ES_K_PW_CHANGED, 0);
	if (v->changed <= 0)
		v->changed = es_state_get_i64(st, ES_K_CREATED, 0);
	if (v->changed < 0)
		v->changed = 0;
	if (pol->max_age_days > 0 && v->changed > 0)
		aged = v->changed + (int64_t)pol->max_age_days * ES_DAY;
	/* a temporary password stops at its own date (or with age, when the
	 * policy lets it be kept and that comes first) */
	if (v->temporary && initial_expires > 0)
		v->expires = (aged > 0 && aged < initial_expires && !pol->first_login_change)
		                     ? aged
		                     : initial_expires;
	else if (!(v->temporary && pol->first_login_change))
		v->expires = aged;
	v->days_left = v->expires > 0 ? days_until(v->expires, now) : 0;

	if (es_state_get_bool(st, ES_K_DISABLED))
		v->kind = ES_V_DISABLED;
	else if (v->temporary && initial_expires > 0 && (int64_t)now >= initial_expires)
		v->kind = ES_V_TEMP_EXPIRED;
	else if (v->temporary && pol->first_login_change)
		v->kind = ES_V_MUST_CHANGE;
	else if (aged > 0 && (int64_t)now >= aged)
		v->kind = ES_V_EXPIRED;
	else if (aged > 0 && aged - (int64_t)now <= (int64_t)pol->warn_days * ES_DAY)
		v->kind = ES_V_WARN;
	else
		v->kind = ES_V_OK;
}

const char *es_verdict_name(enum es_verdict_kind kind)
{
	static const char *const names[] = {
		[ES_V_OK] = "ok",
		[ES_V_WARN] = "warn",
		[ES_V_MUST_CHANGE] = "must-change",
		[ES_V_TEMP_EXPIRED] = "temporary-expired",
		[ES_V_EXPIRED] = "expired",
		[ES_V_DISABLED] = "disabled",
	};

	return (size_t)kind < ES_ARRAY_LEN(names) ? names[kind] : "?";
}

/* ---- events ---- */

static int set_opt(struct es_state *st, const char *key, const char *value)
{
	return es_state_set(st, key, (value != NULL && value[0] != '\0') ? value : NULL);
}

int es_account_new(struct es_state *st, const char *user, const struct es_account_who *who,
                   const struct es_policy *pol, time_t now)
{
	es_state_free(st); /* a resumed account's old state is replaced */
	es_state_init(st, user);
	if (set_opt(st, ES_K_EMAIL, who->email) != 0 || set_opt(st, ES_K_NAME, who->name) != 0 ||
	    es_state_set(st, ES_K_ROLE, who->role) != 0 || set_opt(st, ES_K_CLASS, who->klass) != 0 ||
	    set_opt(st, ES_K_LANG, who->lang) != 0 ||
	    set_opt(st, ES_K_PARENT_EMAIL, who->parent_email) != 0 ||
	    es_state_set_i64(st, ES_K_CREATED, (int64_t)now) != 0 ||
	    es_state_set(st, ES_K_DISABLED, "0") != 0)
		return -1;
	return es_account_new_password(st, pol, now);
}

int64_t es_account_initial_expires(const struct es_policy *pol, time_t now)
{
	return pol->initial_password_ttl_days > 0
	               ? (int64_t)now + (int64_t)pol->initial_password_ttl_days * ES_DAY
	               : 0;
}

int es_account_new_password(struct es_state *st, const struct es_policy *pol, time_t now)
{
	int64_t expires = es_account_initial_expires(pol, now);

	if (es_state_set(st, ES_K_MUST_CHANGE, pol->first_login_change ? "1" : "0") != 0 ||
	    es_state_set_i64(st, ES_K_PW_CHANGED, (int64_t)now) != 0 ||
	    es_state_set_i64(st, ES_K_INITIAL_EXPIRES, expires) != 0 ||
	    es_state_set(st, ES_K_DELIVERY, "creating") != 0)
		return -1;
	return 0;
}

int es_account_password_changed(struct es_state *st, time_t now)
{
	if (es_state_set_i64(st, ES_K_PW_CHANGED, (int64_t)now) != 0 ||
	    es_state_set(st, ES_K_MUST_CHANGE, "0") != 0 ||
	    es_state_set(st, ES_K_INITIAL_EXPIRES, "0") != 0)
		return -1;
	return 0;
}

void es_account_aging(const struct es_policy *pol, bool temporary, bool exempt, time_t now,
                      struct es_aging *a)
{
	bool enforced = pol->enforce && !exempt;

	a->lastchg = enforced && temporary ? 0 : (long)(now / ES_DAY);
	a->max = enforced && pol->max_age_days > 0 ? pol->max_age_days : -1;
	a->warn = a->max > 0 ? pol->warn_days : -1;
}

int es_account_aging_written(struct es_state *st, const struct es_aging *a)
{
	return es_state_set_i64(st, ES_K_LASTCHG_SEEN, (int64_t)a->lastchg);
}

/* ---- comma lists (sources, reminders) ---- */

/* Calls fn for each non-empty item of list; stops when fn returns true. */
static bool each_item(const char *list, bool (*fn)(const char *item, size_t len, void *arg),
                      void *arg)
{
	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

		if (len > 0 && fn(p, len, arg))
			return true;
		p += len + (comma != NULL);
	}
	return false;
}

static bool item_is(const char *item, size_t len, const char *want)
{
	return len == strlen(want) && strncmp(item, want, len) == 0;
}

struct wanted {
	const char *item;
};

static bool is_wanted(const char *item, size_t len, void *arg)
{
	return item_is(item, len, ((const struct wanted *)arg)->item);
}

static bool in_list(const char *list, const char *item)
{
	struct wanted w = { item };

	return each_item(list, is_wanted, &w);
}

/* A list being built in a fixed buffer; items that do not fit are left out. */
struct list_out {
	char buf[2048];
	size_t len;
};

static bool append_item(struct list_out *l, const char *item, size_t len)
{
	if (l->len + len + 2 > sizeof(l->buf))
		return false;
	if (l->len > 0)
		l->buf[l->len++] = ',';
	memcpy(l->buf + l->len, item, len);
	l->len += len;
	l->buf[l->len] = '\0';
	return true;
}

/* ---- logins ---- */

bool es_account_same_login(const struct es_state *st, const char *source, time_t now,
                           long period)
{
	int64_t last = es_state_get_i64(st, ES_K_LAST_LOGIN, 0);
	const char *known = es_state_get(st, ES_K_SOURCES);
	size_t n = strlen(source);

	/* the most recent source is the list's first */
	return last > 0 && known != NULL && (int64_t)now / period == last / period &&
	       strncmp(known, source, n) == 0 && (known[n] == '\0' || known[n] == ',');
}

struct keep_sources {
	struct list_out out;
	const char *source;
	long room;
	bool seen;
};

static bool keep_source(const char *item, size_t len, void *arg)
{
	struct keep_sources *k = arg;

	if (item_is(item, len, k->source))
		k->seen = true;
	else if (k->room > 0 && append_item(&k->out, item, len))
		k->room--;
	return false;
}

int es_account_login(struct es_state *st, const struct es_policy *pol, const char *source,
                     time_t now, enum es_login_outcome *outcome)
{
	struct keep_sources k = { .source = source, .room = pol->known_sources - 1 };
	bool first = es_state_get_i64(st, ES_K_LAST_LOGIN, 0) <= 0;

	/* newest first: this source moves to the front */
	if (!append_item(&k.out, source, strlen(source)))
		k.out.buf[0] = '\0';
	(void)each_item(es_state_get(st, ES_K_SOURCES), keep_source, &k);
	*outcome = first ? ES_LOGIN_FIRST : k.seen ? ES_LOGIN_KNOWN : ES_LOGIN_NEW_SOURCE;
	if (es_state_set_i64(st, ES_K_LAST_LOGIN, (int64_t)now) != 0 ||
	    es_state_set(st, ES_K_SOURCES, k.out.buf) != 0)
		return -1;
	return 0;
}

bool es_account_notify_login(const struct es_policy *pol, enum es_login_outcome outcome)
{
	return outcome == ES_LOGIN_NEW_SOURCE && pol->notify_new_login_source;
}

/* ---- notices owed ---- */

/* One item's text: kind:when:shown, shown percent-encoded (es_pct_encode,
 * the separators ',' and ':' too). */
static int notice_item(const struct es_notice *n, char *out, size_t outsz)
{
	struct es_buf b = { 0 };
	int rc = es_buf_printf(&b, "%s:%lld:", n->kind, (long long)n->when) != 0 ||
	                 es_pct_encode_also(&b, n->shown, ",:") != 0 ||
	                 es_buf_append(&b, "", 1) != 0 || b.len > outsz
	         ? -1
	         : 0;

	if (rc == 0)
		memcpy(out, b.data, b.len);
	es_buf_free(&b);
	return rc;
}

static bool notice_parse(const char *s, size_t len, struct es_notice *n)
{
	const char *c1 = memchr(s, ':', len), *c2;
	size_t k, rest;
	char num[24], *stop;
	long long when;

	if (c1 == NULL || (k = (size_t)(c1 - s)) == 0 || k >= sizeof(n->kind))
		return false;
	c2 = memchr(c1 + 1, ':', len - k - 1);
	if (c2 == NULL || c2 == c1 + 1 || (size_t)(c2 - c1 - 1) >= sizeof(num))
		return false;
	memcpy(n->kind, s, k);
	n->kind[k] = '\0';
	memcpy(num, c1 + 1, (size_t)(c2 - c1 - 1));
	num[c2 - c1 - 1] = '\0';
	errno = 0;
	when = strtoll(num, &stop, 10);
	if (errno != 0 || *stop != '\0' || when < 0)
		return false;
	n->when = (int64_t)when;
	rest = len - (size_t)(c2 + 1 - s);
	if (rest >= sizeof(n->shown))
		return false;
	memcpy(n->shown, c2 + 1, rest);
	n->shown[rest] = '\0';
	return es_pct_decode(n->shown) == 0;
}

size_t es_account_notices(const struct es_state *st, struct es_notice *out, size_t max)
{
	const char *v = es_state_get(st, ES_K_NOTICES);
	size_t n = 0;

	while (v != NULL && *v != '\0' && n < max) {
		size_t len = strcspn(v, ",");

		if (len > 0 && notice_parse(v, len, &out[n]))
			n++;
		v += len + (v[len] == ',');
	}
	return n;
}

/* st's notices := list[0..n) */
static int notices_store(struct es_state *st, const struct es_notice *list, size_t n)
{
	char buf[ES_NOTICES_MAX * 200], item[200];
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t len;

		if (notice_item(&list[i], item, sizeof(item)) != 0)
			continue;
		len = strlen(item);
		if (used + len + 2 > sizeof(buf))
			break;
		if (used > 0)
			buf[used++] = ',';
		memcpy(buf + used, item, len + 1);
		used += len;
	}
	return es_state_set(st, ES_K_NOTICES, n > 0 ? buf : NULL);
}

int es_account_owe_notice(struct es_state *st, const char *kind, time_t when,
                          const char *shown)
{
	struct es_notice list[ES_NOTICES_MAX + 1];
	size_t n = es_account_notices(st, list, ES_NOTICES_MAX);
	struct es_notice *add;

	if (n == ES_NOTICES_MAX) { /* full: the oldest goes */
		memmove(&list[0], &list[1], (n - 1) * sizeof(list[0]));
		n--;
	}
	add = &list[n++];
	memset(add, 0, sizeof(*add));
	(void)snprintf(add->kind, sizeof(add->kind), "%s", kind);
	add->when = (int64_t)when;
	(void)snprintf(add->shown, sizeof(add->shown), "%s", shown != NULL ? shown : "");
	return notices_store(st, list, n);
}

int es_account_notices_sent(struct es_state *st, const struct es_notice *done, size_t n)
{
	struct es_notice list[ES_NOTICES_MAX];
	size_t have = es_account_notices(st, list, ES_NOTICES_MAX), kept = 0;

	for (size_t i = 0; i < have; i++) {
		bool sent = false;

		for (size_t k = 0; k < n && !sent; k++)
			sent = strcmp(list[i].kind, done[k].kind) == 0 && list[i].when == done[k].when &&
			       strcmp(list[i].shown, done[k].shown) == 0;
		if (!sent)
			list[kept++] = list[i];
	}
	return notices_store(st, list, kept);
}

/* ---- the address-confirmation protocol ---- */

int es_account_email_request(struct es_state *st, const struct es_policy *pol,
                             const char *addr, const char *code_hash, time_t now,
                             int64_t *expires)
{
	*expires = (int64_t)now + (int64_t)pol->email_code_ttl_minutes * 60;
	if (es_state_set(st, ES_K_PENDING_EMAIL, addr) != 0 ||
	    es_state_set(st, ES_K_PENDING_CODE, code_hash) != 0 ||
	    es_state_set_i64(st, ES_K_PENDING_EXPIRES, *expires) != 0 ||
	    es_state_set(st, ES_K_PENDING_TRIES, "0") != 0)
		return -1;
	return 0;
}

/* A code's tries and expiry, whatever the address. */
static enum es_confirm_outcome code_open(const struct es_state *st, const struct es_policy *pol,
                                         time_t now)
{
	if (es_state_get_i64(st, ES_K_PENDING_TRIES, 0) >= pol->email_code_tries)
		return ES_CONFIRM_NO_TRIES;
	if ((int64_t)now >= es_state_get_i64(st, ES_K_PENDING_EXPIRES, 0))
		return ES_CONFIRM_EXPIRED;
	return ES_CONFIRM_OK;
}

static enum es_confirm_outcome confirm_state(const struct es_state *st,
                                             const struct es_policy *pol, const char *expected,
                                             time_t now)
{
	const char *pending = es_state_get(st, ES_K_PENDING_EMAIL);

	if (pending == NULL || pending[0] == '\0' ||
	    (expected != NULL && strcmp(pending, expected) != 0))
		return ES_CONFIRM_NONE;
	return code_open(st, pol, now);
}

bool es_account_code_askable(const struct es_state *st, const struct es_policy *pol,
                             time_t now)
{
	return confirm_state(st, pol, NULL, now) == ES_CONFIRM_OK;
}

bool es_account_code_maybe(const struct es_state *st, const struct es_policy *pol, time_t now)
{
	return es_state_get(st, ES_K_PENDING_EXPIRES) != NULL &&
	       code_open(st, pol, now) == ES_CONFIRM_OK;
}

void es_account_email_clear(struct es_state *st)
{
	/* removing keys never allocates: these cannot fail */
	(void)es_state_set(st, ES_K_PENDING_EMAIL, NULL);
	(void)es_state_set(st, ES_K_PENDING_CODE, NULL);
	(void)es_state_set(st, ES_K_PENDING_EXPIRES, NULL);
	(void)es_state_set(st, ES_K_PENDING_TRIES, NULL);
}

int es_account_email_set(struct es_state *st, const char *addr)
{
	if (es_state_set(st, ES_K_EMAIL, addr) != 0)
		return -1;
	es_account_email_clear(st);
	return 0;
}

bool es_account_mail_is_credential(const char *kind, bool secret)
{
	return secret && strcmp(kind, "verify-email") != 0;
}

bool es_account_mail_follows_email(const char *kind, bool secret)
{
	static const char *const notices[] = { "first-change-reminder", "expiry-warning",
		                               "password-changed", "new-login-source" };

	if (es_account_mail_is_credential(kind, secret))
		return true;
	for (size_t i = 0; i < sizeof(notices) / sizeof(notices[0]); i++)
		if (strcmp(kind, notices[i]) == 0)
			return true;
	return false;
}

/* The longest answer compared: a code is 8 characters, with spaces and
 * dashes a few more; anything longer is wrong without hashing it. */
#define ES_CODE_TYPED_MAX 64

enum es_confirm_outcome es_account_email_confirm(struct es_state *st,
                                                 const struct es_policy *pol,
                                                 const unsigned char key[ES_CODE_KEY_LEN],
                                                 const char *typed, const char *expected,
                                                 time_t now, long *tries_left,
                                                 struct es_err *err)
{
	enum es_confirm_outcome o = confirm_state(st, pol, expected, now);
	int64_t tries = es_state_get_i64(st, ES_K_PENDING_TRIES, 0);
	char addr[320];
	int match;

	*tries_left = tries < pol->email_code_tries ? (long)(pol->email_code_tries - tries) : 0;
	if (o != ES_CONFIRM_OK)
		return o;
	match = strlen(typed) > ES_CODE_TYPED_MAX
	                ? 0
	                : es_code_matches(key, st->username, typed,
	                                  es_state_get(st, ES_K_PENDING_CODE), err);
	if (match < 0)
		return ES_CONFIRM_FAILED;
	if (match == 0) {
		if (es_state_set_i64(st, ES_K_PENDING_TRIES, tries + 1) != 0)
			return ES_CONFIRM_NONE;
		*tries_left = *tries_left > 0 ? *tries_left - 1 : 0;
		return ES_CONFIRM_WRONG;
	}
	(void)es_strlcpy(addr, es_state_get(st, ES_K_PENDING_EMAIL), sizeof(addr));
	if (es_state_set(st, ES_K_EMAIL, addr) != 0)
		return ES_CONFIRM_NONE;
	es_account_email_clear(st);
	return ES_CONFIRM_OK;
}

/* ---- the daily reminders ---- */

/* "first-STAMP" (step 0) or "warn-STAMP-STEP". */
static void add_occasion(struct es_due *d, long step)
{
	if (d->n >= ES_ARRAY_LEN(d->occasions))
		return;
	if (step == 0)
		(void)snprintf(d->occasions[d->n++], sizeof(d->occasions[0]), "first-%.20s",
		               d->stamp);
	else
		(void)snprintf(d->occasions[d->n++], sizeof(d->occasions[0]), "warn-%.20s-%ld",
		               d->stamp, step % 100000);
}

void es_account_due(const struct es_policy *pol, const struct es_state *st, time_t now,
                    struct es_due *d)
{
	const char *done = es_state_get(st, ES_K_REMINDERS);
	struct es_verdict v;
	bool fresh = false;

	memset(d, 0, sizeof(*d));
	es_account_verdict(pol, st, now, &v);
	if (v.changed <= 0 || v.kind == ES_V_DISABLED || v.kind == ES_V_TEMP_EXPIRED ||
	    v.kind == ES_V_EXPIRED)
		return; /* expired: the module asks for a new one at login */
	(void)snprintf(d->stamp, sizeof(d->stamp), "%lld", (long long)v.changed);
	d->expires = v.expires;
	d->days_left = v.days_left;
	if (v.temporary) {
		/* a temporary password: remind once, while it still works */
		if (pol->remind_unchanged_after_days <= 0 ||
		    now < v.changed + (int64_t)pol->remind_unchanged_after_days * ES_DAY)
			return;
		add_occasion(d, 0);
		if (!in_list(done, d->occasions[0]))
			d->kind = "first-change-reminder";
		return;
	}
	if (v.expires <= 0)
		return;
	/* every step whose day has come; one mail covers them all */
	for (size_t i = 0; i < pol->n_warn_schedule; i++) {
		long step = pol->warn_schedule[i];

		if (step <= 0 || now < v.expires - (int64_t)step * ES_DAY)
			continue;
		add_occasion(d, step);
		if (!in_list(done, d->occasions[d->n - 1]))
			fresh = true;
	}
	if (fresh)
		d->kind = "expiry-warning";
}

struct keep_occasions {
	struct list_out out;
	const char *stamp;
};

/* keeps "KIND-STAMP[-STEP]" of the current stamp */
static bool keep_occasion(const char *item, size_t len, void *arg)
{
	struct keep_occasions *k = arg;
	const char *dash = memchr(item, '-', len);
	size_t sl = strlen(k->stamp);

	if (dash != NULL && (size_t)(item + len - dash - 1) >= sl &&
	    strncmp(dash + 1, k->stamp, sl) == 0 && (dash + 1 + sl == item + len || dash[1 + sl] == '-'))
		(void)append_item(&k->out, item, len);
	return false;
}

int es_account_record_due(struct es_state *st, const struct es_due *d)
{
	struct keep_occasions k = { .stamp = d->stamp };

	(void)each_item(es_state_get(st, ES_K_REMINDERS), keep_occasion, &k);
	for (size_t i = 0; i < d->n; i++)
		if (!in_list(k.out.buf, d->occasions[i]))
			(void)append_item(&k.out, d->occasions[i], strlen(d->occasions[i]));
	return es_state_set(st, ES_K_REMINDERS, k.out.buf);
}

void es_account_gecos(const char *name, char *out, size_t outsz)
{
	size_t o = 0;

	for (; name != NULL && *name != '\0' && o + 1 < outsz; name++) {
		char c = *name;
		if (c == ':' || c == ',' || c == '=')
			c = ' ';
		out[o++] = c;
	}
	out[o] = '\0';
}

int es_account_role_groups_move(const struct es_role *from, const struct es_role *to,
                                const char *user,
                                int (*member)(const char *group, const char *user, bool in,
                                              struct es_err *err),
                                struct es_err *err)
{
	for (size_t i = 0; from != NULL && i < from->n_groups; i++) {
		bool kept = false;

		for (size_t k = 0; to != NULL && k < to->n_groups; k++)
			kept |= strcmp(from->groups[i], to->groups[k]) == 0;
		if (!kept && member(from->groups[i], user, false, err) != 0)
			return -1;
	}
	for (size_t k = 0; to != NULL && k < to->n_groups; k++)
		if (member(to->groups[k], user, true, err) != 0)
			return -1;
	return 0;
}
