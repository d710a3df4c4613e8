/* eschool sync: see sync.h. */
#include "sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "accounts.h"
#include "es_msg.h"
#include "es_names.h"
#include "es_pamin.h"
#include "es_store.h"
#include "es_util.h"
#include "log.h"
#include "ui.h"

enum {
	D_NAME = 1 << 0,
	D_CLASS = 1 << 1,
	D_EMAIL = 1 << 2,
	D_PARENT = 1 << 3,
	D_ROLE = 1 << 4,
	D_LANG = 1 << 5,
	D_GROUP = 1 << 6,
	D_CLAIM = 1 << 7, /* a move a killed run left half made: undone */
};

struct diff {
	unsigned what;
	const char *name, *klass, *email, *parent, *role, *lang; /* the new values */
	char group[ES_NAME_MAX + 1]; /* the class's group ("": none) */
	char claimed[ES_NAME_MAX + 1]; /* D_CLAIM: the group a claim names */
	bool disabled; /* the account is disabled (said, not changed) */
};

static const char *or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* A cell that says something other than the state. */
static bool differs(const char *cell, const char *now)
{
	return cell != NULL && cell[0] != '\0' && strcmp(cell, or_empty(now)) != 0;
}

/* The address the roster gave last: a user who confirmed another one
 * since (set-email, verify-email) keeps it while the roster's stays. */
static const char *roster_email(const struct es_state *st)
{
	const char *given = es_state_get(st, ES_K_ROSTER_EMAIL);

	return given != NULL ? given : es_state_get(st, ES_K_EMAIL);
}

static int compare(const struct es_config *cfg, struct class_groups *cg,
                   const struct es_state *st, const struct person *p, struct diff *d,
                   struct es_err *err)
{
	const char *name = es_state_get(st, ES_K_NAME);

	memset(d, 0, sizeof(*d));
	if (differs(p->name, name)) {
		char greeting[512];

		/* a name stored as the roster wrote it before names were
		 * greeted ("DUPRÉ Élodie") is the same name */
		es_name_greeting(or_empty(name), greeting, sizeof(greeting));
		if (strcmp(greeting, p->name) != 0)
			d->what |= D_NAME;
	}
	d->what |= differs(p->klass, es_state_get(st, ES_K_CLASS)) ? D_CLASS : 0;
	d->what |= differs(p->email, roster_email(st)) ? D_EMAIL : 0;
	d->what |= differs(p->parent_email, es_state_get(st, ES_K_PARENT_EMAIL)) ? D_PARENT : 0;
	d->what |= differs(p->role, es_state_get(st, ES_K_ROLE)) ? D_ROLE : 0;
	d->what |= differs(p->lang, es_state_get(st, ES_K_LANG)) ? D_LANG : 0;
	d->name = p->name;
	d->klass = (d->what & D_CLASS) ? p->klass : es_state_get(st, ES_K_CLASS);
	d->email = p->email;
	d->parent = p->parent_email;
	d->role = p->role;
	d->lang = p->lang;
	if (d->what & D_ROLE) {
		/* a role whose accounts live elsewhere, or look otherwise, is a
		 * new account, not a change (the old one's backend removes and
		 * locks it) */
		struct es_policy was, now;

		if (es_account_policy(cfg, st, &was, err) != 0 ||
		    es_config_role_policy(cfg, p->role, &now, err) != 0)
			return -1;
		if (was.backend != now.backend || strcmp(was.home_base, now.home_base) != 0 ||
		    strcmp(was.shell, now.shell) != 0)
			return es_err_set(err, ES_EDATA,
			                  "role %s -> %s: the roles' accounts differ (backend, home_base "
			                  "or shell); make the account anew (eschool delete, then sync)",
			                  or_empty(es_state_get(st, ES_K_ROLE)), p->role);
	}
	if (cg != NULL) {
		int rc = class_group_for(cg, d->klass, class_group_name_taken, (void *)cfg, d->group,
		                         sizeof(d->group), err);

		if (rc < 0)
			return -1;
		if (rc == 1)
			d->group[0] = '\0';
		if (strcmp(d->group, or_empty(es_state_get(st, ES_K_CLASS_GROUP))) != 0)
			d->what |= D_GROUP;
	}
	/* a claim left by a move a kill interrupted, for a group that is not
	 * the one wanted now: its membership is undone */
	if (es_state_get(st, ES_K_CLASS_GROUP_CLAIM) != NULL) {
		if (class_group_claim(cfg, st, d->claimed, sizeof(d->claimed)) == NULL)
			d->claimed[0] = '\0';
		d->what |= D_CLAIM;
	}
	d->disabled = es_state_get_bool(st, ES_K_DISABLED);
	return 0;
}

/* "class 6e A -> 5e A; email a@x -> b@x" (malloc'd), NULL when nothing;
 * in English (logs, JSON) or in the terminal's language (shown). */
static int describe(const struct es_state *st, const struct diff *d, bool shown, char **out,
                    struct es_err *err)
{
	static const struct {
		unsigned bit;
		const char *what, *key;
	} fields[] = {
		{ D_NAME, N_("name"), ES_K_NAME },
		{ D_CLASS, N_("class"), ES_K_CLASS },
		{ D_EMAIL, N_("email"), ES_K_EMAIL },
		{ D_PARENT, N_("parent email"), ES_K_PARENT_EMAIL },
		{ D_ROLE, N_("role"), ES_K_ROLE },
		{ D_LANG, N_("language"), ES_K_LANG },
		{ D_GROUP, N_("group"), ES_K_CLASS_GROUP },
	};
	const char *now[] = { or_empty(d->name), or_empty(d->klass), or_empty(d->email),
		              or_empty(d->parent), or_empty(d->role), or_empty(d->lang), d->group };
	struct es_buf b = { 0 };
	int rc = 0;

	*out = NULL;
	for (size_t i = 0; i < ES_ARRAY_LEN(fields); i++) {
		const char *was = es_state_get(st, fields[i].key);

		if (!(d->what & fields[i].bit))
			continue;
		rc |= es_buf_printf(&b, "%s%s %s -> %s", b.len ? "; " : "",
		                    shown ? _(fields[i].what) : fields[i].what,
		                    was != NULL && was[0] != '\0' ? was : "-",
		                    now[i][0] != '\0' ? now[i] : "-");
	}
	if ((d->what & D_CLAIM) && d->claimed[0] != '\0' && strcmp(d->claimed, d->group) != 0)
		rc |= es_buf_printf(&b, shown ? _("%sout of %s (a move a killed run left)")
		                              : "%sout of %s (a move a killed run left)",
		                    b.len ? "; " : "", d->claimed);
	else if ((d->what & D_CLAIM) && !(d->what & D_GROUP))
		rc |= es_buf_printf(&b, "%s%s", b.len ? "; " : "",
		                    shown ? _("a killed run's move recorded")
		                          : "a killed run's move recorded");
	if (rc != 0) {
		es_buf_free(&b);
		return es_err_set(err, ES_EOS, "out of memory");
	}
	*out = b.data; /* NULL when nothing was written */
	return 0;
}

int sync_changes(struct cli *ctx, struct class_groups *cg, const char *user,
                 const struct person *p, struct sync_change *c, struct es_err *err)
{
	struct es_state st;
	struct diff d;
	int rc;

	memset(c, 0, sizeof(*c));
	es_state_init(&st, "");
	rc = load_user_state(ctx, user, &st, err);
	if (rc == 1)
		rc = es_err_set(err, ES_ENOUSER, "the state of %s is gone", user);
	if (rc == 0 && (rc = compare(&ctx->cfg, cg, &st, p, &d, err)) == 0) {
		c->disabled = d.disabled;
		rc = describe(&st, &d, false, &c->text, err) | describe(&st, &d, true, &c->shown, err);
	}
	es_state_free(&st);
	if (rc != 0)
		sync_change_free(c);
	return rc;
}

void sync_change_free(struct sync_change *c)
{
	free(c->text);
	free(c->shown);
	c->text = c->shown = NULL;
}

/* The account's side of d, through its source. */
static int change_account(struct cli *ctx, const struct account_source *src, const char *user,
                          const struct es_state *st, const struct diff *d, struct es_err *err)
{
	if ((d->what & D_NAME) && src->set_fullname(user, d->name, err) != 0)
		return -1;
	if (d->what & D_ROLE) {
		/* the new role's maximum age and warning (the password keeps
		 * its day; pam_eschool follows the new role at once) */
		struct es_policy now;
		struct es_aging aging;

		if (es_config_role_policy(&ctx->cfg, d->role, &now, err) != 0)
			return -1;
		es_account_aging(&now, false, es_policy_exempt(&now, user), ctx->now, &aging);
		if (src->set_role(es_config_find_role(&ctx->cfg, or_empty(es_state_get(st, ES_K_ROLE))),
		                  es_config_find_role(&ctx->cfg, d->role), &aging, user, err) != 0)
			return -1;
	}
	if (d->what & D_GROUP) {
		const char *old = es_state_get(st, ES_K_CLASS_GROUP);
		bool dropped = false;

		/* a name from the state is left only when eschool could have
		 * made it (a workstation may write the key) */
		if (old != NULL && !class_group_valid(&ctx->cfg, old))
			old = NULL;
		if (class_group_move(src, user, old, d->group[0] != '\0' ? d->group : NULL, &dropped,
		                     err) != 0)
			return -1;
		if (dropped)
			log_msg(LOG_AUTHPRIV, LOG_NOTICE, "class group removed: group=%s (nobody left)",
			        old);
	}
	if ((d->what & D_CLAIM) && d->claimed[0] != '\0' && strcmp(d->claimed, d->group) != 0) {
		bool dropped = false;

		if (src->group_member(d->claimed, user, false, err) != 0 ||
		    src->group_drop(d->claimed, &dropped, err) != 0)
			return -1;
	}
	return 0;
}

int sync_update(struct cli *ctx, struct class_groups *cg, const char *user,
                const struct person *p, struct sync_change *c, struct es_err *err)
{
	struct es_state st;
	struct es_record rec = { .token = -1 };
	struct es_policy pol;
	struct diff d;
	char why[600];
	int rc = -1, opened;

	memset(c, 0, sizeof(*c));
	es_state_init(&st, "");
	opened = es_record_open(&ctx->store, user, ES_RECORD_WRITE, &st, &rec, err);
	if (opened != 0) {
		if (opened == 1)
			es_err_set(err, ES_ENOUSER, "the state of %s was removed meanwhile", user);
		goto out;
	}
	if (state_orphan(&st, why, sizeof(why)) != ES_OWNER_OK) {
		es_err_set(err, ES_EDATA, "%s", why);
		goto out;
	}
	if (compare(&ctx->cfg, cg, &st, p, &d, err) != 0 ||
	    describe(&st, &d, false, &c->text, err) != 0 ||
	    describe(&st, &d, true, &c->shown, err) != 0 ||
	    es_account_policy(&ctx->cfg, &st, &pol, err) != 0)
		goto out;
	c->disabled = d.disabled;
	if (d.what == 0) {
		rc = 0;
		goto out;
	}
	if ((d.what & D_GROUP) && d.group[0] != '\0') {
		/* the new group claimed for its class before it is made: a
		 * run killed before the move is recorded leaves it known */
		char claim[ES_NAME_MAX + 2 + 512];

		(void)snprintf(claim, sizeof(claim), "%s %s", d.group, or_empty(d.klass));
		if (es_state_set(&st, ES_K_CLASS_GROUP_CLAIM, claim) != 0 ||
		    es_record_save(&rec, err) != 0) {
			if (err->code == 0)
				es_err_set(err, ES_EOS, "out of memory");
			goto out;
		}
	}
	if (change_account(ctx, account_source_for(&pol), user, &st, &d, err) != 0)
		goto out;
	if (((d.what & D_NAME) && es_state_set(&st, ES_K_NAME, d.name) != 0) ||
	    ((d.what & D_CLASS) && es_state_set(&st, ES_K_CLASS, d.klass) != 0) ||
	    ((d.what & D_EMAIL) && (es_state_set(&st, ES_K_EMAIL, d.email) != 0 ||
	                            es_state_set(&st, ES_K_ROSTER_EMAIL, d.email) != 0)) ||
	    ((d.what & D_PARENT) && es_state_set(&st, ES_K_PARENT_EMAIL, d.parent) != 0) ||
	    ((d.what & D_ROLE) && es_state_set(&st, ES_K_ROLE, d.role) != 0) ||
	    ((d.what & D_LANG) && es_state_set(&st, ES_K_LANG, d.lang) != 0) ||
	    ((d.what & D_GROUP) &&
	     es_state_set(&st, ES_K_CLASS_GROUP, d.group[0] != '\0' ? d.group : NULL) != 0) ||
	    ((d.what & (D_GROUP | D_CLAIM)) && es_state_set(&st, ES_K_CLASS_GROUP_CLAIM, NULL) != 0)) {
		es_err_set(err, ES_EOS, "out of memory");
		goto out;
	}
	/* the account first, then the state: a save that fails leaves the
	 * state saying the old values, and the next sync makes the same
	 * changes again (each is idempotent) */
	if (es_record_save(&rec, err) != 0)
		goto out;
	{
		char line[1200];

		(void)es_log_escape(c->text, line, sizeof(line));
		log_msg(LOG_AUTHPRIV, LOG_NOTICE, "account updated by sync: user=%s %s", user, line);
	}
	rc = 0;
out:
	if (rc != 0) {
		sync_change_free(c);
		es_err_prefix(err, "%s", user);
	}
	es_record_close(&rec);
	es_state_free(&st);
	return rc;
}

int sync_gone_check(struct cli *ctx, const char *user, const char *const *roles,
                    size_t n_roles, struct sync_gone *g, struct es_err *err)
{
	struct es_state st;
	const char *role, *delivery;
	bool listed = false;
	int rc;

	memset(g, 0, sizeof(*g));
	es_state_init(&st, "");
	rc = load_user_state(ctx, user, &st, err);
	if (rc != 0) {
		es_state_free(&st);
		return rc == 1 ? 0 : -1;
	}
	role = or_empty(es_state_get(&st, ES_K_ROLE));
	for (size_t i = 0; i < n_roles; i++)
		listed |= strcmp(role, roles[i]) == 0;
	delivery = or_empty(es_state_get(&st, ES_K_DELIVERY));
	/* an account half made by an interrupted run is not one to act on:
	 * the run that made it completes or undoes it */
	if (!listed || strcmp(delivery, "creating") == 0) {
		es_state_free(&st);
		return 0;
	}
	{
		/* as delete checks: the account eschool made, known to be
		 * there (a state without its uid may be another's) */
		long uid = -1;
		struct es_err e = { 0 };
		int found = account_uid(user, &uid, &e);
		const char *made = es_state_get(&st, ES_K_UID);

		if (found < 0 || made == NULL || (found == 1 && strtol(made, NULL, 10) != uid)) {
			if (found < 0)
				*err = e; /* the lookup's own words and code */
			else
				es_err_set(err, ES_EDATA, "%s",
				           made == NULL ? "its state does not say which account eschool made"
				                        : "its name is another account's now");
			es_state_free(&st);
			return 2;
		}
		if (found == 0) { /* removed outside eschool: nothing to disable */
			es_state_free(&st);
			return 0;
		}
	}
	(void)es_strlcpy(g->user, user, sizeof(g->user));
	g->name = strdup(or_empty(es_state_get(&st, ES_K_NAME)));
	g->klass = strdup(or_empty(es_state_get(&st, ES_K_CLASS)));
	(void)es_strlcpy(g->role, role, sizeof(g->role));
	g->disabled = es_state_get_bool(&st, ES_K_DISABLED);
	es_state_free(&st);
	if (g->name == NULL || g->klass == NULL) {
		sync_gone_free(g, 1);
		memset(g, 0, sizeof(*g));
		return es_err_set(err, ES_EOS, "out of memory");
	}
	return 1;
}

void sync_gone_free(struct sync_gone *g, size_t n)
{
	for (size_t i = 0; g != NULL && i < n; i++) {
		free(g[i].name);
		free(g[i].klass);
	}
}
