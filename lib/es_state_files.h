/* The file store's own functions (state_dir/users/USER, a lock file per
 * user, the directory's lock): lib/es_store.c's "files" store is built on
 * them. Commands and the module go through lib/es_store.h (records), where a
 * write without its lock cannot be expressed; only the store and the file
 * store's unit tests include this header. */
#ifndef ESCHOOL_STATE_FILES_H
#define ESCHOOL_STATE_FILES_H

#include "es_err.h"
#include "es_state.h"

/* Loads state_dir/users/USERNAME. Returns 0 when loaded, 1 when the user has
 * no state (not managed), -1 on error: ES_EDATA corrupt, ES_EPERM not
 * readable (e.g. a screen locker running as the user), ES_EIO otherwise. */
int es_state_load(const char *state_dir, const char *username,
                  struct es_state *st, struct es_err *err);

/* Atomically writes st (st->username names the file). Creates the
 * directories (0700) when missing. The caller holds the user's lock. */
int es_state_save(const char *state_dir, const struct es_state *st,
                  struct es_err *err);

/* Removes a user's state file (the caller holds the lock). Missing is ok. */
int es_state_remove(const char *state_dir, const char *username,
                    struct es_err *err);

/* How long a lock is waited for before giving up with ES_ETEMP: a
 * blocking wait would let whoever can stop the holder hang us for ever
 * (su holds a user's lock as root but runs with the student's real uid). */
#define ES_STATE_LOCK_WAIT_MS 5000L

/* Takes the user's write lock (flock, tried for ES_STATE_LOCK_WAIT_MS);
 * returns the fd in *lockfd. Still held by another process after that:
 * -1 with ES_ETEMP, and the message names the user and the holder (its
 * pid and command, from /proc/locks, when it says). On a read-only file
 * system no one can write, so the existing lock file is locked read-only,
 * and without one *lockfd is -1 and 0 is returned (es_state_unlock(-1)
 * does nothing; a save then fails with EROFS). */
int es_state_lock(const char *state_dir, const char *username, int *lockfd,
                  struct es_err *err);
/* The same with another bound (the unit tests). */
int es_state_lock_wait(const char *state_dir, const char *username, long wait_ms,
                       int *lockfd, struct es_err *err);
void es_state_unlock(int lockfd);

/* Removes the user's lock file; the caller holds that lock (and removes
 * the state first). A process waiting for it notices that the name no
 * longer is the file it locked and locks the new one. Missing is ok. */
int es_state_remove_lock(const char *state_dir, const char *username,
                         struct es_err *err);

/* Takes an exclusive flock on the state directory itself (created if
 * missing), bounded like es_state_lock (ES_ETEMP naming the holder): the
 * commands that create accounts or set passwords (add, reset, import)
 * hold it so that two of them never decide about the same user at once.
 * Per-user locks nest inside it. Release with es_state_unlock. */
int es_state_lock_all(const char *state_dir, int *lockfd, struct es_err *err);
int es_state_lock_all_wait(const char *state_dir, long wait_ms, int *lockfd,
                           struct es_err *err);

/* Deletes the temporary files of writers killed before their rename (an
 * hour old or more) from the users directory; best effort, silent. */
void es_state_sweep_tmp(const char *state_dir);

/* Calls fn for every username with a state file (sorted). Stops and returns
 * fn's value when it is non-zero. */
int es_state_foreach(const char *state_dir,
                     int (*fn)(const char *username, void *arg), void *arg,
                     struct es_err *err);

#endif
