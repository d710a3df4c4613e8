/* The store interface and its file store: see es_store.h. */
#include "es_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_code.h"
#include "es_state_files.h"
#include "es_util.h"

/* ---- the file store: lib/es_state under state_dir ---- */

_Static_assert(ES_STORE_LOCK_WAIT_MS == ES_STATE_LOCK_WAIT_MS, "one bound for a user's lock");

int es_store_flock(const struct es_store *s, const char *user, long wait_ms,
                      intptr_t *token, struct es_err *err)
{
	int fd = -1;

	if (es_state_lock_wait(s->dir, user, wait_ms, &fd, err) != 0)
		return -1;
	*token = fd;
	return 0;
}

void es_store_funlock(const struct es_store *s, intptr_t token)
{
	(void)s;
	es_state_unlock((int)token);
}

static int files_load(const struct es_store *s, const char *user, struct es_state *st,
                      struct es_err *err)
{
	return es_state_load(s->dir, user, st, err);
}

static int files_save(const struct es_store *s, const struct es_state *before,
                      const struct es_state *st, struct es_err *err)
{
	(void)before;
	return es_state_save(s->dir, st, err);
}

static int files_remove(const struct es_store *s, const char *user, struct es_err *err)
{
	if (es_state_remove(s->dir, user, err) != 0)
		return -1;
	return es_state_remove_lock(s->dir, user, err);
}

static int files_foreach(const struct es_store *s, int (*fn)(const char *user, void *arg),
                         void *arg, struct es_err *err)
{
	return es_state_foreach(s->dir, fn, arg, err);
}

int es_store_flock_all(const struct es_store *s, intptr_t *token, struct es_err *err)
{
	int fd = -1;

	if (es_state_lock_all(s->dir, &fd, err) != 0)
		return -1;
	*token = fd;
	return 0;
}

static int files_code_key(const struct es_store *s, bool create, unsigned char *key,
                          struct es_err *err)
{
	return es_code_key(s->dir, create, key, err);
}

static void files_tidy(const struct es_store *s)
{
	es_state_sweep_tmp(s->dir);
}

static const struct es_store_ops files_ops = {
	.name = "files",       .lock = es_store_flock,     .unlock = es_store_funlock,
	.load = files_load,    .save = files_save,         .remove = files_remove,
	.foreach = files_foreach, .lock_all = es_store_flock_all, .tidy = files_tidy,
	.code_key = files_code_key,
};

void es_store_files(struct es_store *s, const char *state_dir)
{
	memset(s, 0, sizeof(*s));
	s->ops = &files_ops;
	(void)es_strlcpy(s->dir, state_dir, sizeof(s->dir));
}

void es_store_for(struct es_store *s, const struct es_config *cfg)
{
	es_store_files(s, cfg->state_dir);
}

int es_store_foreach(const struct es_store *s, int (*fn)(const char *user, void *arg),
                     void *arg, struct es_err *err)
{
	return s->ops->foreach(s, fn, arg, err);
}

int es_store_read(const struct es_store *s, const char *user, struct es_state *st,
                  struct es_err *err)
{
	struct es_record rec;
	int rc = es_record_open(s, user, ES_RECORD_READ, st, &rec, err);

	if (rc >= 0)
		es_record_close(&rec);
	return rc;
}

struct with_walk {
	const struct es_store *s;
	const char *key;
	int (*fn)(const char *user, void *arg);
	void *arg;
};

static int with_one(const char *user, void *arg)
{
	struct with_walk *w = arg;
	struct es_state st;
	struct es_err err = { 0 };
	int rc = 0;

	es_state_init(&st, "");
	if (es_store_read(w->s, user, &st, &err) == 0 && es_state_get(&st, w->key) != NULL)
		rc = w->fn(user, w->arg);
	es_state_free(&st);
	return rc;
}

int es_store_foreach_with(const struct es_store *s, const char *key,
                          int (*fn)(const char *user, void *arg), void *arg, struct es_err *err)
{
	struct with_walk w = { s, key, fn, arg };

	if (s->ops->foreach_with != NULL)
		return s->ops->foreach_with(s, key, fn, arg, err);
	return es_store_foreach(s, with_one, &w, err);
}

int es_store_code_key(const struct es_store *s, bool create, unsigned char *key,
                      struct es_err *err)
{
	return s->ops->code_key(s, create, key, err);
}

int es_store_last_change(const struct es_store *s, const char *user, long *day,
                         struct es_err *err)
{
	if (s->ops->last_change == NULL)
		return 0;
	return s->ops->last_change(s, user, day, err);
}

void es_store_tidy(const struct es_store *s)
{
	s->ops->tidy(s);
}

int es_store_lock_all(const struct es_store *s, intptr_t *token, struct es_err *err)
{
	*token = -1;
	return s->ops->lock_all(s, token, err);
}

void es_store_unlock_all(const struct es_store *s, intptr_t token)
{
	if (token >= 0 && s->ops != NULL) /* nothing held: a command that stopped early */
		s->ops->unlock(s, token);
}

/* ---- records ---- */

/* A copy of what was loaded, for a store that writes only the changes. */
static int keep_before(struct es_record *rec, struct es_err *err)
{
	struct es_state *b = malloc(sizeof(*b));

	if (b == NULL || es_state_copy(b, rec->st) != 0) {
		free(b);
		return es_err_set(err, ES_EOS, "out of memory");
	}
	rec->before = b;
	return 0;
}

static void drop_before(struct es_record *rec)
{
	if (rec->before != NULL) {
		es_state_free(rec->before);
		free(rec->before);
		rec->before = NULL;
	}
}

/* After a save, what is stored is what was written. */
static int saved(const struct es_record *rec, const struct es_state *st, struct es_err *err)
{
	struct es_record *r = (struct es_record *)rec;

	if (r->before == NULL)
		return 0;
	drop_before(r);
	r->before = malloc(sizeof(*r->before));
	if (r->before == NULL || es_state_copy(r->before, st) != 0) {
		free(r->before);
		r->before = NULL;
		return es_err_set(err, ES_EOS, "out of memory");
	}
	return 0;
}

int es_record_open_wait(const struct es_store *s, const char *user, enum es_record_how how,
                        long wait_ms, struct es_state *st, struct es_record *rec,
                        struct es_err *err)
{
	int rc;

	memset(rec, 0, sizeof(*rec));
	rec->store = s;
	rec->st = st;
	(void)es_strlcpy(rec->user, user, sizeof(rec->user));
	rec->token = -1;
	es_state_free(st);
	es_state_init(st, user);
	if (how != ES_RECORD_READ) {
		if (s->ops->lock(s, user, wait_ms, &rec->token, err) != 0) {
			rec->lock_failed = true;
			return -1;
		}
		rec->writable = true;
	}
	rc = s->ops->load(s, user, st, err);
	if (rc < 0) {
		if (how != ES_RECORD_WRITE_ANYWAY)
			es_record_close(rec);
		return -1;
	}
	if (rc == 1) { /* none: an empty record of that name */
		es_state_free(st);
		es_state_init(st, user);
	}
	if (rec->writable && s->ops->cas && keep_before(rec, err) != 0) {
		es_record_close(rec);
		return -1;
	}
	return rc;
}

int es_record_open(const struct es_store *s, const char *user, enum es_record_how how,
                   struct es_state *st, struct es_record *rec, struct es_err *err)
{
	return es_record_open_wait(s, user, how, ES_STORE_LOCK_WAIT_MS, st, rec, err);
}

static int need_lock(const struct es_record *rec, const char *what, struct es_err *err)
{
	if (rec->writable)
		return 0;
	return es_err_set(err, ES_ESOFTWARE, "%s the state of %s without its lock (a bug)", what,
	                  rec->user[0] != '\0' ? rec->user : "?");
}

int es_record_save(const struct es_record *rec, struct es_err *err)
{
	if (need_lock(rec, "writing", err) != 0 ||
	    rec->store->ops->save(rec->store, rec->before, rec->st, err) != 0)
		return -1;
	return saved(rec, rec->st, err);
}

int es_record_save_as(const struct es_record *rec, const struct es_state *st,
                      struct es_err *err)
{
	if (need_lock(rec, "writing", err) != 0)
		return -1;
	if (strcmp(st->username, rec->user) != 0)
		return es_err_set(err, ES_ESOFTWARE, "the state of %s written as %s's (a bug)",
		                  st->username, rec->user);
	if (rec->store->ops->save(rec->store, rec->before, st, err) != 0)
		return -1;
	return saved(rec, st, err);
}

int es_record_remove(const struct es_record *rec, struct es_err *err)
{
	if (need_lock(rec, "removing", err) != 0)
		return -1;
	return rec->store->ops->remove(rec->store, rec->user, err);
}

void es_record_close(struct es_record *rec)
{
	if (rec->writable && rec->store != NULL)
		rec->store->ops->unlock(rec->store, rec->token);
	drop_before(rec);
	rec->token = -1;
	rec->writable = false;
}
