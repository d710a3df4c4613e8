/* The store interface and its file store: see es_store.h. */
#include "es_store.h"

#include <stdio.h>
#include <string.h>

#include "es_state_files.h"
#include "es_util.h"

/* ---- the file store: lib/es_state under state_dir ---- */

_Static_assert(ES_STORE_LOCK_WAIT_MS == ES_STATE_LOCK_WAIT_MS, "one bound for a user's lock");

static int files_lock(const struct es_store *s, const char *user, long wait_ms,
                      intptr_t *token, struct es_err *err)
{
	int fd = -1;

	if (es_state_lock_wait(s->dir, user, wait_ms, &fd, err) != 0)
		return -1;
	*token = fd;
	return 0;
}

static void files_unlock(const struct es_store *s, intptr_t token)
{
	(void)s;
	es_state_unlock((int)token);
}

static int files_load(const struct es_store *s, const char *user, struct es_state *st,
                      struct es_err *err)
{
	return es_state_load(s->dir, user, st, err);
}

static int files_save(const struct es_store *s, const struct es_state *st, struct es_err *err)
{
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

static int files_lock_all(const struct es_store *s, intptr_t *token, struct es_err *err)
{
	int fd = -1;

	if (es_state_lock_all(s->dir, &fd, err) != 0)
		return -1;
	*token = fd;
	return 0;
}

static void files_tidy(const struct es_store *s)
{
	es_state_sweep_tmp(s->dir);
}

static const struct es_store_ops files_ops = {
	.name = "files",       .lock = files_lock,         .unlock = files_unlock,
	.load = files_load,    .save = files_save,         .remove = files_remove,
	.foreach = files_foreach, .lock_all = files_lock_all, .tidy = files_tidy,
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
	if (need_lock(rec, "writing", err) != 0)
		return -1;
	return rec->store->ops->save(rec->store, rec->st, err);
}

int es_record_save_as(const struct es_record *rec, const struct es_state *st,
                      struct es_err *err)
{
	if (need_lock(rec, "writing", err) != 0)
		return -1;
	if (strcmp(st->username, rec->user) != 0)
		return es_err_set(err, ES_ESOFTWARE, "the state of %s written as %s's (a bug)",
		                  st->username, rec->user);
	return rec->store->ops->save(rec->store, st, err);
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
	rec->token = -1;
	rec->writable = false;
}
