/* Per-user state store (SPEC section 5).
 *
 * MUST:
 * - keep one file per user, state_dir/users/USERNAME, 0600 root, in a 0700
 *   root-owned directory; the first line is "eschool-state 1", then
 *   key=value lines (in values '%' and control bytes are %XX), then "end";
 *   a file without both is corrupt;
 * - replace a file atomically: temp file (O_EXCL|O_NOFOLLOW) in the same
 *   directory, write, fsync, rename, fsync the directory; on failure remove
 *   only the temp file;
 * - serialise writers with flock on state_dir/locks/USERNAME (the state file
 *   itself is replaced, so it cannot carry the lock), and never wait for a
 *   lock without a bound (ES_STATE_LOCK_WAIT_MS);
 * - open with O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC and check with fstat on the
 *   same descriptor: a regular file, owned by root, not writable by group or
 *   others, at most ES_STATE_MAX_SIZE bytes; a refusal is one message that
 *   names the file, says why and what to do;
 * - never write past RLIMIT_FSIZE (EFBIG up front: SIGXFSZ would kill the
 *   module's host process);
 * - keep keys it does not know when a file is rewritten.
 * MUST NOT:
 * - follow a symlink, read a FIFO, or accept a username that could name a
 *   path outside state_dir/users (validated with es_valid_username). */
#ifndef ESCHOOL_STATE_H
#define ESCHOOL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"

#define ES_STATE_MAGIC "eschool-state 1"
#define ES_STATE_MAX_SIZE (64L * 1024)
#define ES_STATE_MAX_KEYS 128

/* Known keys (others are kept as they are). Times are seconds since the
 * epoch, "0" or absent meaning never. */
#define ES_K_EMAIL "email"
#define ES_K_NAME "name"
#define ES_K_ROLE "role"
#define ES_K_CLASS "class"
#define ES_K_LANG "lang"
#define ES_K_PARENT_EMAIL "parent_email"
#define ES_K_CREATED "created"
#define ES_K_PW_CHANGED "password_changed"
#define ES_K_MUST_CHANGE "must_change"          /* 0 | 1 */
#define ES_K_INITIAL_EXPIRES "initial_expires"  /* unused initial pw expiry */
#define ES_K_LAST_LOGIN "last_login"
#define ES_K_SOURCES "sources"                  /* comma list, newest first */
#define ES_K_REMINDERS "reminders"              /* comma list of occasions */
#define ES_K_DISABLED "disabled"                /* 0 | 1 */
#define ES_K_PENDING_EMAIL "pending_email"
#define ES_K_PENDING_CODE "pending_code_hash"
#define ES_K_PENDING_EXPIRES "pending_expires"
#define ES_K_PENDING_TRIES "pending_tries"
/* Provisioning journal, so that an interrupted import or add can resume:
 * "creating" (state written, account maybe not yet), "pending" (account and
 * password set, credentials not yet shown or queued), or how they went out:
 * "printed", "queued", "sent", "fallback". */
#define ES_K_DELIVERY "delivery"
/* The account's uid, recorded when the account is made: a state whose
 * account is gone, or whose name now belongs to another uid (userdel, then
 * an unrelated useradd), is an orphan and is not that account's. */
#define ES_K_UID "uid"

struct es_state_kv {
	char *key;
	char *value;
};

struct es_state {
	char username[33];
	struct es_state_kv kv[ES_STATE_MAX_KEYS];
	size_t n;
};

/* Parses a state file's bytes. -1 with ES_EDATA when corrupt. */
int es_state_parse(struct es_state *st, const char *data, size_t len,
                   struct es_err *err);
/* Serialises (magic, keys in order, end). */
int es_state_format(const struct es_state *st, char **out, size_t *outlen,
                    struct es_err *err);

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

/* Key access. get returns NULL when absent. set copies key and value
 * (replacing an existing key in place, else appending); value NULL removes. */
const char *es_state_get(const struct es_state *st, const char *key);
int64_t es_state_get_i64(const struct es_state *st, const char *key,
                         int64_t dflt);
bool es_state_get_bool(const struct es_state *st, const char *key);
int es_state_set(struct es_state *st, const char *key, const char *value);
int es_state_set_i64(struct es_state *st, const char *key, int64_t v);

/* Whose is this state? ES_OWNER_OK: the account pw (what getpwnam says of
 * st's user) is the one it was made for, or no uid was recorded (a state
 * older than the uid key); ES_OWNER_GONE: there is no such account (pw
 * NULL); ES_OWNER_OTHER: the name is another uid's now. */
enum es_state_owner { ES_OWNER_OK = 0, ES_OWNER_GONE, ES_OWNER_OTHER };
struct passwd;
enum es_state_owner es_state_owner(const struct es_state *st, const struct passwd *pw);

void es_state_init(struct es_state *st, const char *username);
void es_state_free(struct es_state *st);

#endif
