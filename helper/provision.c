/* What add, import and reset share: making a credential, the state of a new
 * account or password, and showing a credential to the admin. */
#include "provision.h"
#include "accounts.h"
#include "ui.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "es_names.h"
#include "es_password.h"

void cred_wipe(struct cred *c)
{
	sodium_memzero(c, sizeof(*c));
}

int cred_make(const struct es_policy *pol, struct cred *c, struct es_err *err)
{
	if (es_pw_generate(pol->password_style, (size_t)pol->password_length, c->password,
	                   sizeof(c->password), err) != 0 ||
	    es_pw_hash(pol->password_hash, c->password, c->hash, sizeof(c->hash), err) != 0) {
		cred_wipe(c);
		return -1;
	}
	return 0;
}

bool is_role_group(const struct es_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_roles; i++)
		for (size_t k = 0; k < cfg->roles[i].n_groups; k++)
			if (strcmp(cfg->roles[i].groups[k], name) == 0)
				return true;
	return false;
}

int load_user_state(const struct cli *ctx, const char *user, struct es_state *st,
                      struct es_err *err)
{
	return es_store_read(&ctx->store, user, st, err);
}

int state_set_uid(struct es_state *st, struct es_err *err)
{
	long uid;
	int rc = account_uid(st->username, &uid, err);

	if (rc < 0)
		return -1;
	if (rc == 0)
		return es_err_set(err, ES_ENOUSER, "user %s: no such account after creating it",
		                  st->username);
	if (es_state_set_i64(st, ES_K_UID, (int64_t)uid) != 0)
		return es_err_set(err, ES_EOS, "out of memory");
	return 0;
}

enum es_state_owner state_orphan(const struct es_state *st,
                                    char *why, size_t whysz)
{
	struct es_err err = { 0 };
	struct passwd pw = { 0 };
	enum es_state_owner o;
	long uid = -1;
	int found;

	if (why != NULL && whysz > 0)
		why[0] = '\0';
	found = account_uid(st->username, &uid, &err);
	if (found < 0) /* a lookup that failed says nothing about the account */
		return ES_OWNER_OK;
	pw.pw_name = (char *)st->username;
	pw.pw_uid = (uid_t)uid;
	o = es_state_owner(st, found == 1 ? &pw : NULL);
	if (why == NULL || whysz == 0)
		return o;
	if (o == ES_OWNER_GONE)
		(void)snprintf(why, whysz,
		               _("%s has eschool state but no Linux account (removed with "
		                 "userdel?); 'eschool forget %s' removes that state"),
		               st->username, st->username);
	else if (o == ES_OWNER_OTHER)
		(void)snprintf(why, whysz,
		               _("%s has eschool state made for uid %lld, but %s is now "
		                 "another account (uid %lld: removed, then created again?) that "
		                 "eschool does not manage; 'eschool forget %s' removes the old "
		                 "state"),
		               st->username, (long long)es_state_get_i64(st, ES_K_UID, -1),
		               st->username, (long long)uid, st->username);
	return o;
}

int person_check(const struct cli *ctx, const struct person *p, struct es_err *err)
{
	const struct {
		const char *what, *value;
	} texts[] = {
		{ "username", p->username }, { "email", p->email },   { "name", p->name },
		{ "role", p->role },         { "class", p->klass },   { "lang", p->lang },
		{ "parent email", p->parent_email },
	};

	for (size_t i = 0; i < ES_ARRAY_LEN(texts); i++) {
		if (texts[i].value == NULL)
			continue;
		if (es_has_control(texts[i].value))
			return es_err_set(err, ES_EDATA,
			                  "%s contains a control character (line break, tab ...): "
			                  "remove it",
			                  texts[i].what);
		if (!es_utf8_valid(texts[i].value, strlen(texts[i].value)))
			return es_err_set(err, ES_EDATA, "%s is not valid UTF-8", texts[i].what);
		if (strlen(texts[i].value) > 200)
			return es_err_set(err, ES_EDATA, "%s is longer than 200 bytes", texts[i].what);
	}
	if (p->username != NULL && !es_valid_username(p->username))
		return es_err_set(err, ES_EDATA,
		                  "invalid username '%s': use lowercase letters, digits, '_' and '-', "
		                  "starting with a letter or '_', at most 32 characters",
		                  p->username);
	if (p->username != NULL && is_role_group(&ctx->cfg, p->username))
		return es_err_set(err, ES_EDATA,
		                  "username %s is the name of a role's group: choose another",
		                  p->username);
	if (p->email != NULL && !es_valid_email(p->email))
		return es_err_set(err, ES_EDATA, "invalid email address '%s'", p->email);
	if (p->parent_email != NULL && p->parent_email[0] != '\0' &&
	    !es_valid_email(p->parent_email))
		return es_err_set(err, ES_EDATA, "invalid parent email address '%s'", p->parent_email);
	if (es_config_find_role(&ctx->cfg, p->role) == NULL)
		return es_err_set(err, ES_EDATA,
		                  "unknown role '%s': use student, teacher or a role defined by a "
		                  "[role NAME] section of %s",
		                  p->role, ctx->cfg.path[0] ? ctx->cfg.path : ES_CONFIG_DEFAULT_PATH);
	if (p->lang != NULL && p->lang[0] != '\0' && strcmp(p->lang, "fr") != 0 &&
	    strcmp(p->lang, "en") != 0)
		return es_err_set(err, ES_EDATA, "unknown language '%s': use fr or en", p->lang);
	return 0;
}

int reset_check(const struct cli *ctx, const char *user, struct es_state *st,
                     struct es_policy *pol, struct es_err *err)
{
	char why[600];
	int loaded = load_user_state(ctx, user, st, err);

	if (loaded < 0)
		return -1;
	if (loaded == 1)
		return es_err_set(err, ES_ENOUSER,
		                  "no account %s managed by eschool (see 'eschool list')", user);
	if (es_state_get_bool(st, ES_K_DISABLED))
		return es_err_set(err, ES_EDATA,
		                  "account %s is disabled: run 'eschool enable %s' first", user,
		                  user);
	if (es_account_policy(&ctx->cfg, st, pol, err) != 0)
		return -1;
	/* never a password for a removed account's name, least of all for
	 * someone else's account created under that name since */
	if (state_orphan(st, why, sizeof(why)) != ES_OWNER_OK)
		return es_err_set(err, ES_ENOUSER, "%s", why);
	return 0;
}

/* A reset that failed: while the state still says "creating" (the
 * password was neither set nor shown), the old state (old, oldlen, as
 * es_state_format wrote it) goes back. */
void reset_put_back(struct es_record *rec, const char *old, size_t oldlen)
{
	const char *d = es_state_get(rec->st, ES_K_DELIVERY);
	struct es_err err = { 0 };

	if (d != NULL && strcmp(d, "creating") == 0 &&
	    (es_state_parse(rec->st, old, oldlen, &err) != 0 || es_record_save(rec, &err) != 0))
		ui_warn("%s", ui_err(&err));
}

bool class_is_one_of(const char *klass, const char *const *classes, int n_classes)
{
	for (int i = 0; klass != NULL && i < n_classes; i++)
		if (strcmp(classes[i], klass) == 0)
			return true;
	return false;
}

struct class_walk {
	const struct cli *ctx;
	const char *const *classes;
	int n_classes;
	time_t since;
	bool with_disabled;
	char **users;
	size_t n, cap;
	struct es_err *err;
	int rc;
};

static int class_one(const char *user, void *arg)
{
	struct class_walk *w = arg;
	struct es_state st;
	struct es_err e = { 0 };
	bool wanted;

	es_state_init(&st, "");
	if (es_store_read(&w->ctx->store, user, &st, &e) != 0) {
		es_state_free(&st);
		return 0; /* a corrupt state is doctor's to report */
	}
	wanted = (w->n_classes == 0 ||
	          class_is_one_of(es_state_get(&st, ES_K_CLASS), w->classes, w->n_classes)) &&
	         es_state_get_i64(&st, ES_K_CREATED, 0) >= (int64_t)w->since &&
	         (w->with_disabled || !es_state_get_bool(&st, ES_K_DISABLED));
	es_state_free(&st);
	if (!wanted)
		return 0;
	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 32;
		char **v = realloc(w->users, ncap * sizeof(*v));

		if (v == NULL)
			goto oom;
		w->users = v;
		w->cap = ncap;
	}
	w->users[w->n] = strdup(user);
	if (w->users[w->n] == NULL)
		goto oom;
	w->n++;
	return 0;
oom:
	w->rc = es_err_set(w->err, ES_EOS, "out of memory");
	return 1;
}

int pick_accounts(const struct cli *ctx, const char *const *classes, int n_classes, time_t since,
                  bool with_disabled, char ***users, size_t *n_users, struct es_err *err)
{
	struct class_walk w = { ctx, classes, n_classes, since, with_disabled, NULL, 0, 0, err, 0 };

	*users = NULL;
	*n_users = 0;
	/* the store lists in order */
	if (es_store_foreach(&ctx->store, class_one, &w, err) != 0 || w.rc != 0) {
		users_free(w.users, w.n);
		return -1;
	}
	if (w.n == 0 && since > 0 && n_classes > 0)
		return es_err_set(err, ES_ENOUSER,
		                  "no account (not disabled) made since the day given in the "
		                  "class(es) given: see 'eschool list'");
	if (w.n == 0 && since > 0)
		return es_err_set(err, ES_ENOUSER,
		                  "no account (not disabled) made since the day given: see 'eschool "
		                  "list'");
	if (w.n == 0 && with_disabled)
		return es_err_set(err, ES_ENOUSER,
		                  "no account in the class(es) given: see 'eschool list'");
	if (w.n == 0)
		return es_err_set(err, ES_ENOUSER,
		                  "no account (not disabled) in the class(es) given: see 'eschool "
		                  "list'");
	*users = w.users;
	*n_users = w.n;
	return 0;
}

int class_accounts(const struct cli *ctx, const char *const *classes, int n_classes,
                   bool with_disabled, char ***users, size_t *n_users, struct es_err *err)
{
	return pick_accounts(ctx, classes, n_classes, 0, with_disabled, users, n_users, err);
}

void users_free(char **users, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(users[i]);
	free(users);
}
