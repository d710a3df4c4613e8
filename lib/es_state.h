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
/* the address the roster gave last (import, sync): sync changes the
 * account's address when the roster's changes, not when the user
 * confirmed another one since */
#define ES_K_ROSTER_EMAIL "roster_email"
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
/* [import] class_groups: the group of its class the account was put in
 * (which group is which class's: helper/classgroups.c) */
#define ES_K_CLASS_GROUP "class_group"
/* "GROUP CLASS": a class group being given to the account (sync moves it
 * to another class: written before the group is made, removed once the
 * move is recorded), so that a run killed in between leaves the group
 * known as that class's */
#define ES_K_CLASS_GROUP_CLAIM "class_group_claim"
/* Notices a workstation owes whose mail the server sends (the directory
 * store: a workstation has no mail queue of its own that anything sends):
 * "kind:time:shown" items, comma-separated (es_account_owe_notice). */
#define ES_K_NOTICES "notices"
/* Read with the state, never written (the directory store): the entry's
 * shadowLastChange, the day SSSD says the password was last changed. */
#define ES_K_DIR_LAST_CHANGE "directory_last_change"
/* The day eschool last saw as the password's last change in the account's
 * own fields: what the helper wrote with a new password (0: change at the
 * first login; else the day it was set), or the day a change was recorded.
 * A shadowLastChange other than this one is a change eschool did not see. */
#define ES_K_LASTCHG_SEEN "lastchg_seen"

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
/* dst (uninitialised) = a copy of src; -1 out of memory (dst empty). */
int es_state_copy(struct es_state *dst, const struct es_state *src);
void es_state_free(struct es_state *st);

#endif
