/* Where the per-user state lives, behind one interface: a store (today the
 * files of lib/es_state under state_dir; the school's directory next) and
 * a record, one user's state opened through it.
 *
 * A record opened for writing holds the user's lock until it is closed
 * (as pam_faillock's open_tally does); a record opened for reading holds
 * nothing. Saving or removing through a record that does not hold the lock
 * is refused (ES_ESOFTWARE): a write without the lock cannot happen.
 *
 *   struct es_state st;
 *   struct es_record rec;
 *   es_state_init(&st, "");
 *   rc = es_record_open(&store, user, ES_RECORD_WRITE, &st, &rec, &err);
 *   ... es_state_set(&st, ...); es_record_save(&rec, &err); ...
 *   es_record_close(&rec);      (unlocks; st stays the caller's)
 *   es_state_free(&st);
 */
#ifndef ESCHOOL_STORE_H
#define ESCHOOL_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "es_config.h"
#include "es_err.h"
#include "es_state.h"

struct es_store;

/* What a store implements. lock/unlock work on an opaque token (the file
 * store: a locked descriptor; -1 when there is nothing to release). */
struct es_store_ops {
	const char *name;
	int (*lock)(const struct es_store *s, const char *user, long wait_ms, intptr_t *token,
	            struct es_err *err);
	void (*unlock)(const struct es_store *s, intptr_t token);
	/* 0 loaded, 1 no such record, -1 error (ES_EDATA corrupt, ES_EPERM
	 * not readable, ES_EIO) */
	int (*load)(const struct es_store *s, const char *user, struct es_state *st,
	            struct es_err *err);
	/* before: what load gave this record (the directory writes only what
	 * changed, and only if nobody changed it meanwhile: ES_ETEMP); NULL
	 * for a store that does not need it (cas false) */
	int (*save)(const struct es_store *s, const struct es_state *before,
	            const struct es_state *st, struct es_err *err);
	/* the record, then what its lock needed (the lock is held) */
	int (*remove)(const struct es_store *s, const char *user, struct es_err *err);
	int (*foreach)(const struct es_store *s, int (*fn)(const char *user, void *arg),
	               void *arg, struct es_err *err);
	/* the whole store's lock: the commands that create accounts or set
	 * passwords hold it; per-user locks nest inside */
	int (*lock_all)(const struct es_store *s, intptr_t *token, struct es_err *err);
	/* clears what writers killed half-way left (best effort, silent) */
	void (*tidy)(const struct es_store *s);
	/* calls fn for every user whose state has key (a search in the
	 * directory); NULL: the store cannot ask (es_store_foreach_with
	 * then reads every record) */
	int (*foreach_with)(const struct es_store *s, const char *key,
	                    int (*fn)(const char *user, void *arg), void *arg, struct es_err *err);
	/* the day (since 1970) the account's password last changed as the
	 * store knows it: 1 known, 0 the store does not say (files: shadow is
	 * read by NSS's getspnam), -1 error. NULL: does not say. */
	int (*last_change)(const struct es_store *s, const char *user, long *day,
	                   struct es_err *err);
	/* the key address codes are hashed with (es_code), made when create
	 * and missing (the helper; the module only reads) */
	int (*code_key)(const struct es_store *s, bool create, unsigned char *key,
	                struct es_err *err);
	/* save compares with what was loaded (a record keeps a copy) */
	bool cas;
	/* the machines that write it send no mail: the notices they owe are
	 * written in the state (ES_K_NOTICES), and the server mails them */
	bool notices_in_state;
};

struct es_ldap;

struct es_store {
	const struct es_store_ops *ops;
	char dir[ES_PATH_LEN]; /* state_dir: the files, or the directory store's locks */
	struct es_ldap *ldap;  /* the directory store's connection (the caller's) */
	/* the directory store writes the person's standard fields too (mail,
	 * cn, sn, givenName from the address and the name): the helper's,
	 * not a workstation's, whose rights stop at eschool's attributes */
	bool person_fields;
};

/* The file store's locks (flock on state_dir/locks/USER, and on state_dir
 * for the whole store), which the directory store uses too: this
 * machine's writers. */
int es_store_flock(const struct es_store *s, const char *user, long wait_ms, intptr_t *token,
                   struct es_err *err);
void es_store_funlock(const struct es_store *s, intptr_t token);
int es_store_flock_all(const struct es_store *s, intptr_t *token, struct es_err *err);

/* The file store over state_dir (lib/es_state). */
void es_store_files(struct es_store *s, const char *state_dir);

/* The store the configuration names (today: the files of state_dir). */
void es_store_for(struct es_store *s, const struct es_config *cfg);

/* What is stored for user now, read without a lock (list, show, doctor,
 * import's plan): 0 read, 1 none (st empty, named user), -1 error. */
int es_store_read(const struct es_store *s, const char *user, struct es_state *st,
                  struct es_err *err);

/* Calls fn for every user whose state has key (sorted where the store
 * lists in order); stops at fn's non-zero. */
int es_store_foreach_with(const struct es_store *s, const char *key,
                          int (*fn)(const char *user, void *arg), void *arg, struct es_err *err);

/* See es_store_ops.code_key: ES_CODE_KEY_LEN bytes. */
int es_store_code_key(const struct es_store *s, bool create, unsigned char *key,
                      struct es_err *err);

/* See es_store_ops.last_change. */
int es_store_last_change(const struct es_store *s, const char *user, long *day,
                         struct es_err *err);

/* The daily run's and import's cleaning of what killed writers left. */
void es_store_tidy(const struct es_store *s);

/* How long a user's lock is waited for (es_record_open): see
 * ES_STATE_LOCK_WAIT_MS. */
#define ES_STORE_LOCK_WAIT_MS 5000L

/* Calls fn for every user with a record (sorted); stops at fn's non-zero. */
int es_store_foreach(const struct es_store *s, int (*fn)(const char *user, void *arg),
                     void *arg, struct es_err *err);

/* Takes the whole store's lock (bounded; ES_ETEMP naming the holder);
 * release it with es_store_unlock_all (a token of -1, nothing held, is
 * released as nothing). */
int es_store_lock_all(const struct es_store *s, intptr_t *token, struct es_err *err);
void es_store_unlock_all(const struct es_store *s, intptr_t token);

enum es_record_how {
	ES_RECORD_READ = 0,  /* no lock: what is there now */
	ES_RECORD_WRITE = 1, /* the user's lock, held until es_record_close */
	/* the lock, kept even when what is stored cannot be read (-1 with
	 * rec->writable): forget removes a corrupt record too */
	ES_RECORD_WRITE_ANYWAY = 2,
};

struct es_record {
	const struct es_store *store;
	char user[sizeof(((struct es_state *)0)->username)]; /* whose record */
	struct es_state *st; /* the caller's, filled by es_record_open */
	intptr_t token;      /* the store's lock (-1: none held) */
	bool writable;
	bool lock_failed;    /* es_record_open's -1 came from the lock, not the state */
	struct es_state *before; /* what was loaded (stores with cas), else NULL */
};

/* Opens user's record into st (freed and initialised first): 0 when it
 * was there, 1 when there is none (st is empty, named user; for writing
 * the lock is held all the same: a new record), -1 on error (nothing held;
 * ES_ETEMP when another process keeps the lock). Close it in every case
 * but -1. */
int es_record_open(const struct es_store *s, const char *user, enum es_record_how how,
                   struct es_state *st, struct es_record *rec, struct es_err *err);
/* The same, waiting wait_ms at most for the lock (tests, the module). */
int es_record_open_wait(const struct es_store *s, const char *user, enum es_record_how how,
                        long wait_ms, struct es_state *st, struct es_record *rec,
                        struct es_err *err);

/* Writes *rec->st (atomically for the file store). */
int es_record_save(const struct es_record *rec, struct es_err *err);
/* Writes st (the same user's) in place of the record: putting back a state
 * kept aside (an import row refused). */
int es_record_save_as(const struct es_record *rec, const struct es_state *st,
                      struct es_err *err);

/* Removes the record (and, for the file store, its lock file). */
int es_record_remove(const struct es_record *rec, struct es_err *err);

/* Releases the lock and what the record kept; the state stays the
 * caller's to free. */
void es_record_close(struct es_record *rec);

#endif
