/* Per-user state store (SPEC section 5). The invariants are listed in
 * es_state.h; how this file keeps them:
 *
 * - Every path is reached with openat() from a directory fd opened with
 *   O_DIRECTORY|O_NOFOLLOW, and the username is checked first (see
 *   es_valid_username: the shadow rule, so never "/", ".", ".." or empty), so
 *   no name can leave state_dir/users or go through a symlink.
 * - Files and directories are checked with fstat on the descriptor that is
 *   then used (no check-then-open race). "Owned by root" is accepted as
 *   "owned by uid 0 or by the effective uid": when running as root (the
 *   helper, sshd, login, gdm) that is exactly root; the second case only
 *   lets the unit tests run unprivileged and lets a process running as a
 *   user read a tree that this user already owns (and could rewrite anyway).
 * - Loading refuses a symlink (O_NOFOLLOW: ELOOP), a FIFO or socket
 *   (O_NONBLOCK, then S_ISREG: it never blocks), a directory, a file
 *   writable by group/others or owned by someone else, and a file larger
 *   than ES_STATE_MAX_SIZE, as ES_EDATA "corrupt or unsafe". EACCES is
 *   ES_EPERM (a screen locker running as the user), ENOENT is "not managed".
 * - Saving never writes through an existing entry: it writes a new temp file
 *   (O_CREAT|O_EXCL|O_NOFOLLOW) and renames it over the name, so a symlink
 *   at users/NAME is replaced by the file, its target is never touched.
 *   On failure only the temp file is removed; the old file stays whole.
 * - Nothing here exits, prints, or keeps global or static mutable state.
 *
 * Ownership rules for callers: es_state_load initialises *st itself (any
 * keys it held before are not freed); after any return of es_state_load,
 * es_state_free(st) is safe. es_state_parse wants an initialised st and
 * replaces its keys. The buffer from es_state_format is malloc'd; wipe it
 * and free it (es_free_wiped). A lock file is removed only by its holder
 * (es_state_remove_lock); whoever waited on it then finds that the name
 * is no longer its file and locks the new one (still_named), so mutual
 * exclusion holds. */
#include "es_state.h"
#include "es_state_files.h"

#include "es_fs.h"
#include "es_names.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "es_util.h"

#define USERS_DIR "users"
#define LOCKS_DIR "locks"
#define TMP_TRIES 16
#define WHY_MAX 160

_Static_assert(sizeof(long long) == sizeof(int64_t), "strtoll range is int64_t");

enum parse_result { PARSE_OK = 0, PARSE_CORRUPT = -1, PARSE_NOMEM = -2 };

static bool valid_key(const char *k, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = k[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}


static void wipe_free(char *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, strlen(p));
	free(p);
}

static void clear_kv(struct es_state *st)
{
	for (size_t i = 0; i < st->n && i < ES_STATE_MAX_KEYS; i++) {
		wipe_free(st->kv[i].key);
		wipe_free(st->kv[i].value);
		st->kv[i].key = NULL;
		st->kv[i].value = NULL;
	}
	st->n = 0;
}



/* The state directories, checked as es_fs_open_dir does. */
static int open_dir(int parent, const char *base, const char *sub, bool create, int bad, int *out,
		    struct es_err *err)
{
	return es_fs_open_dir(parent, base, sub, create, bad, "state directory", out, err);
}

static int check_state_dir_arg(const char *state_dir, struct es_err *err)
{
	if (state_dir == NULL || state_dir[0] == '\0')
		return es_err_set(err, ES_ECONFIG, "state_dir is not set");
	return 0;
}

/* state_dir/sub (USERS_DIR or LOCKS_DIR), state_dir checked on the way:
 * 0 with *out, 1 when one of them is missing (only without create), -1 on
 * error (bad: the code of an unsafe directory). */
static int open_state_sub(const char *state_dir, const char *sub, bool create, int bad, int *out,
			  struct es_err *err)
{
	int sfd = -1;
	int r;

	*out = -1;
	if (check_state_dir_arg(state_dir, err) != 0)
		return -1;
	r = open_dir(AT_FDCWD, state_dir, NULL, create, bad, &sfd, err);
	if (r == 0)
		r = open_dir(sfd, state_dir, sub, create, bad, out, err);
	es_fs_close(&sfd);
	return r;
}


static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Parses data into st (whose keys are replaced). On PARSE_CORRUPT, why
 * says what is wrong; st is left without keys on any failure. Over 80
 * lines: the whole grammar of the file in one pass, each refusal next to
 * the check that makes it (the fuzzer's target). */
static enum parse_result parse_data(struct es_state *st, const char *data, size_t len, char *why,
				    size_t whysz)
{
	const size_t mlen = sizeof(ES_STATE_MAGIC) - 1;
	enum parse_result res = PARSE_CORRUPT;
	size_t pos;
	unsigned lineno = 2;

	clear_kv(st);
	if (data == NULL)
		len = 0;
	if (len > 0 && memchr(data, '\0', len) != NULL) {
		(void)snprintf(why, whysz, "contains a NUL byte");
		goto out;
	}
	if (len <= mlen || memcmp(data, ES_STATE_MAGIC, mlen) != 0 || data[mlen] != '\n') {
		(void)snprintf(why, whysz, "does not start with \"%s\"", ES_STATE_MAGIC);
		goto out;
	}
	pos = mlen + 1;
	for (;; lineno++) {
		const char *line = data + pos;
		const char *nl, *eq;
		size_t llen, klen;
		char *key, *value;

		if (pos == len) {
			(void)snprintf(why, whysz, "no \"end\" line (torn or truncated write)");
			goto out;
		}
		nl = memchr(line, '\n', len - pos);
		if (nl == NULL) {
			(void)snprintf(why, whysz, "line %u is cut short (torn or truncated write)",
				       lineno);
			goto out;
		}
		llen = (size_t)(nl - line);
		if (llen == 3 && memcmp(line, "end", 3) == 0) {
			if ((size_t)(nl + 1 - data) != len) {
				(void)snprintf(why, whysz, "data after the \"end\" line");
				goto out;
			}
			break;
		}
		for (size_t i = 0; i < llen; i++) {
			unsigned char c = (unsigned char)line[i];
			if (c < 0x20 || c == 0x7f) {
				(void)snprintf(why, whysz, "line %u: raw control byte 0x%02x",
					       lineno, c);
				goto out;
			}
		}
		eq = memchr(line, '=', llen);
		if (eq == NULL) {
			(void)snprintf(why, whysz, "line %u: no '='", lineno);
			goto out;
		}
		klen = (size_t)(eq - line);
		if (!valid_key(line, klen)) {
			(void)snprintf(why, whysz, "line %u: bad key (want [a-z0-9_]+)", lineno);
			goto out;
		}
		if (st->n >= ES_STATE_MAX_KEYS) {
			(void)snprintf(why, whysz, "more than %d keys", ES_STATE_MAX_KEYS);
			goto out;
		}
		for (size_t i = 0; i < st->n; i++) {
			if (strncmp(st->kv[i].key, line, klen) == 0 &&
			    st->kv[i].key[klen] == '\0') {
				(void)snprintf(why, whysz, "line %u: duplicate key \"%.*s\"",
					       lineno, (int)klen, line);
				goto out;
			}
		}
		key = dup_n(line, klen);
		value = dup_n(eq + 1, llen - klen - 1);
		if (key == NULL || value == NULL) {
			wipe_free(key);
			wipe_free(value);
			res = PARSE_NOMEM;
			goto out;
		}
		if (es_pct_decode(value) != 0) {
			wipe_free(key);
			wipe_free(value);
			(void)snprintf(why, whysz, "line %u: bad %%-escape in \"%.*s\"", lineno,
				       (int)klen, line);
			goto out;
		}
		st->kv[st->n].key = key;
		st->kv[st->n].value = value;
		st->n++;
		pos = (size_t)(nl + 1 - data);
	}
	res = PARSE_OK;
out:
	if (res != PARSE_OK)
		clear_kv(st);
	return res;
}

int es_state_parse(struct es_state *st, const char *data, size_t len, struct es_err *err)
{
	char why[WHY_MAX] = "";
	enum parse_result r;

	if (st == NULL)
		return es_err_set(err, ES_ESOFTWARE, "es_state_parse: no state");
	r = parse_data(st, data, len, why, sizeof(why));
	if (r == PARSE_NOMEM)
		return es_err_set(err, ES_EOS, "out of memory reading state");
	if (r != PARSE_OK)
		return es_err_set(err, ES_EDATA, "corrupt state: %s", why);
	return 0;
}

int es_state_format(const struct es_state *st, char **out, size_t *outlen, struct es_err *err)
{
	struct es_buf b = {0};
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (st == NULL || out == NULL || outlen == NULL)
		return es_err_set(err, ES_ESOFTWARE, "es_state_format: bad arguments");
	if (st->n > ES_STATE_MAX_KEYS) {
		es_err_set(err, ES_ESOFTWARE, "state for %s has too many keys", st->username);
		goto out;
	}
	for (size_t i = 0; i < st->n; i++) {
		const char *k = st->kv[i].key;
		if (k == NULL || st->kv[i].value == NULL || !valid_key(k, strlen(k))) {
			es_err_set(err, ES_ESOFTWARE, "state for %s holds an invalid key or value",
				   st->username);
			goto out;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(st->kv[j].key, k) == 0) {
				es_err_set(err, ES_ESOFTWARE, "state for %s holds key \"%s\" twice",
					   st->username, k);
				goto out;
			}
		}
	}
	if (es_buf_puts(&b, ES_STATE_MAGIC "\n") != 0)
		goto nomem;
	for (size_t i = 0; i < st->n; i++) {
		if (es_buf_puts(&b, st->kv[i].key) != 0 || es_buf_append(&b, "=", 1) != 0 ||
		    es_pct_encode(&b, st->kv[i].value) != 0 || es_buf_append(&b, "\n", 1) != 0)
			goto nomem;
	}
	if (es_buf_puts(&b, "end\n") != 0)
		goto nomem;
	if (b.len > (size_t)ES_STATE_MAX_SIZE) {
		es_err_set(err, ES_EDATA,
			   "state for %s would take %zu bytes, more than the %ld allowed",
			   st->username, b.len, ES_STATE_MAX_SIZE);
		goto out;
	}
	*out = b.data;
	*outlen = b.len;
	b.data = NULL;
	b.len = b.cap = 0;
	rc = 0;
	goto out;
nomem:
	es_err_set(err, ES_EOS, "out of memory writing state for %s", st->username);
out:
	es_buf_free(&b);
	return rc;
}

enum fix { FIX_REPLACE, FIX_CHOWN, FIX_CHMOD };

/* A state file that is refused: ES_EDATA (the module's on_error), one line
 * that names the file, says why and what to do. It is never read, written
 * through, or removed here: the admin decides. */
static void refuse(struct es_err *err, const char *state_dir, const char *user, const char *why,
		   enum fix fix)
{
	if (fix == FIX_REPLACE)
		es_err_set(err, ES_EDATA,
			   "corrupt or unsafe state file %s/%s/%s: %s; move it away, then put "
			   "back a good copy (eschool restore), or leave it out: the user is then "
			   "no longer managed",
			   state_dir, USERS_DIR, user, why);
	else
		es_err_set(err, ES_EDATA,
			   "corrupt or unsafe state file %s/%s/%s: %s; check its content, then: "
			   "%s %s/%s/%s",
			   state_dir, USERS_DIR, user, why,
			   fix == FIX_CHOWN ? "chown root:root" : "chmod 600", state_dir, USERS_DIR,
			   user);
}

/* A state file that could not be opened (errno e): 1 when there is none
 * (the user is not managed), else -1 with err saying why. */
static int open_failed(struct es_err *err, int e, const char *state_dir, const char *username)
{
	const char *refusal = es_fs_open_refusal(e);

	if (e == ENOENT)
		return 1;
	if (e == EACCES || e == EPERM)
		es_err_errno(err, ES_EPERM, e, "cannot read state file %s/%s/%s", state_dir,
			     USERS_DIR, username);
	else if (refusal != NULL)
		refuse(err, state_dir, username, refusal, FIX_REPLACE);
	else
		es_err_errno(err, ES_EIO, e, "cannot open state file %s/%s/%s", state_dir,
			     USERS_DIR, username);
	return -1;
}

int es_state_load(const char *state_dir, const char *username, struct es_state *st,
		  struct es_err *err)
{
	char why[WHY_MAX] = "";
	struct stat sb;
	char *buf = NULL;
	size_t cap = 0, len = 0;
	int ufd = -1, fd = -1;
	int rc = -1;
	int r;

	if (st == NULL)
		return es_err_set(err, ES_ESOFTWARE, "es_state_load: no state");
	es_state_init(st, username);
	if (!es_valid_username(username))
		return es_err_set(err, ES_EDATA, "invalid username for a state file");
	r = open_state_sub(state_dir, USERS_DIR, false, ES_EDATA, &ufd, err);
	if (r != 0) {
		rc = r;
		goto out;
	}
	fd = openat(ufd, username, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = open_failed(err, errno, state_dir, username);
		goto out;
	}
	if (fstat(fd, &sb) != 0) {
		es_err_errno(err, ES_EIO, errno, "cannot stat state file %s/%s/%s", state_dir,
			     USERS_DIR, username);
		goto out;
	}
	/* SPEC 7: refused when not root's or writable by others; it is
	 * written 0600, but readable by others is not unsafe (it holds no
	 * secret: a pending code only as a keyed hash, the key elsewhere) */
	if (!es_fs_file_ok(&sb, 022, ES_STATE_MAX_SIZE, why, sizeof(why))) {
		refuse(err, state_dir, username, why,
		       !S_ISREG(sb.st_mode) || sb.st_size > ES_STATE_MAX_SIZE ? FIX_REPLACE
		       : !es_fs_owner_ok(sb.st_uid)                         ? FIX_CHOWN
		                                                            : FIX_CHMOD);
		goto out;
	}
	/* one byte more than the size, to notice a file growing under us */
	cap = (size_t)sb.st_size + 1;
	r = es_fs_read_alloc(fd, cap, &buf, &len);
	if (r == ENOMEM) {
		es_err_set(err, ES_EOS, "out of memory reading %s/%s/%s", state_dir, USERS_DIR,
			   username);
		goto out;
	}
	if (r != 0) {
		es_err_errno(err, ES_EIO, r, "cannot read state file %s/%s/%s", state_dir,
			     USERS_DIR, username);
		goto out;
	}
	if (len > (size_t)sb.st_size) {
		refuse(err, state_dir, username, "written to in place while being read", FIX_REPLACE);
		goto out;
	}
	switch (parse_data(st, buf, len, why, sizeof(why))) {
	case PARSE_OK:
		rc = 0;
		break;
	case PARSE_NOMEM:
		es_err_set(err, ES_EOS, "out of memory reading %s/%s/%s", state_dir, USERS_DIR,
			   username);
		break;
	default:
		refuse(err, state_dir, username, why, FIX_REPLACE);
		break;
	}
out:
	es_free_wiped(buf, cap);
	es_fs_close(&fd);
	es_fs_close(&ufd);
	if (rc != 0)
		clear_kv(st);
	return rc;
}

/* ".USERNAME.tmp.XXXXXXXXXXXX": O_EXCL makes it safe whatever the suffix;
 * randomness only avoids collisions (so the fallback is good enough). */
static int make_tmp_name(char *out, size_t outsz, const char *user, unsigned attempt)
{
	unsigned char rnd[6];
	int n;

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		struct timespec ts = {0};
		uint64_t x;

		(void)clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
		    ((uint64_t)getpid() << 16) ^ attempt;
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)(x >> (8 * i));
	}
	n = snprintf(out, outsz, ".%s.tmp.%02x%02x%02x%02x%02x%02x", user, rnd[0], rnd[1], rnd[2],
		     rnd[3], rnd[4], rnd[5]);
	return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

/* A new temporary file for user's state in ufd (O_EXCL, 0600), named
 * in tmp: 0 with *fd, -1 when no name fits in tmp, else an errno value. */
static int create_tmp(int ufd, const char *user, char *tmp, size_t tmpsz, int *fd)
{
	for (unsigned attempt = 0;; attempt++) {
		if (make_tmp_name(tmp, tmpsz, user, attempt) != 0)
			return -1;
		*fd = openat(ufd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (*fd >= 0)
			return 0;
		if (errno != EEXIST || attempt + 1 >= TMP_TRIES)
			return errno;
	}
}

/* "cannot write state file X: No space left on device; the disk is full
 * ...: free some space and retry (the state file is unchanged)": what
 * failed, where, why, what to do. */
static void write_error(struct es_err *err, int e, const char *what, const char *state_dir,
			const char *user)
{
	char ebuf[128];
	const char *hint = es_fs_write_hint(e);

	es_err_set(err, ES_EIO, "cannot %s state file %s/%s/%s: %s%s%s (the state file is unchanged)",
		   what, state_dir, USERS_DIR, user, strerror_r(e, ebuf, sizeof(ebuf)),
		   hint[0] != '\0' ? "; " : "", hint);
}

int es_state_save(const char *state_dir, const struct es_state *st, struct es_err *err)
{
	char tmp[64];
	char *data = NULL;
	size_t len = 0;
	bool tmp_made = false;
	int ufd = -1, tfd = -1;
	int rc = -1;
	int e;

	if (st == NULL)
		return es_err_set(err, ES_ESOFTWARE, "es_state_save: no state");
	if (!es_valid_username(st->username))
		return es_err_set(err, ES_EDATA, "invalid username for a state file");
	if (check_state_dir_arg(state_dir, err) != 0)
		return -1;
	if (es_state_format(st, &data, &len, err) != 0)
		goto out;
	/* never write past RLIMIT_FSIZE: SIGXFSZ would kill the module's host */
	e = es_fs_fsize_check(len);
	if (e != 0) {
		write_error(err, e, "write", state_dir, st->username);
		goto out;
	}
	if (open_state_sub(state_dir, USERS_DIR, true, ES_EPERM, &ufd, err) != 0)
		goto out;

	e = create_tmp(ufd, st->username, tmp, sizeof(tmp), &tfd);
	if (e < 0) {
		es_err_set(err, ES_ESOFTWARE, "cannot name a temporary file");
		goto out;
	}
	if (e > 0) {
		write_error(err, e, "create a temporary", state_dir, st->username);
		goto out;
	}
	tmp_made = true;
	if (fchmod(tfd, 0600) != 0) {
		write_error(err, errno, "set the mode of the temporary", state_dir, st->username);
		goto out;
	}
	e = es_fs_write_all(tfd, data, len);
	if (e != 0) {
		write_error(err, e, "write", state_dir, st->username);
		goto out;
	}
	if (es_fs_fsync(tfd) != 0) {
		write_error(err, errno, "sync", state_dir, st->username);
		goto out;
	}
	e = close(tfd) == 0 ? 0 : errno;
	tfd = -1;
	if (e != 0) {
		write_error(err, e, "close", state_dir, st->username);
		goto out;
	}
	if (renameat(ufd, tmp, ufd, st->username) != 0) {
		write_error(err, errno, "replace", state_dir, st->username);
		goto out;
	}
	tmp_made = false;
	if (es_fs_fsync(ufd) != 0) {
		es_err_errno(err, ES_EIO, errno,
			     "state file %s/%s/%s written but its directory could not "
			     "be synced",
			     state_dir, USERS_DIR, st->username);
		goto out;
	}
	rc = 0;
out:
	es_fs_close(&tfd);
	if (tmp_made)
		(void)unlinkat(ufd, tmp, 0);
	es_free_wiped(data, len);
	es_fs_close(&ufd);
	return rc;
}

/* Removes state_dir/sub/username: the state file (USERS_DIR, its
 * directory then synced) or the lock file (LOCKS_DIR). Nothing to remove
 * is no error. */
static int remove_entry(const char *state_dir, const char *sub, const char *username,
			struct es_err *err)
{
	bool state = strcmp(sub, USERS_DIR) == 0;
	int dfd = -1;
	int rc = -1;
	int r, e;

	if (!es_valid_username(username))
		return state ? es_err_set(err, ES_EDATA, "invalid username for a state file")
			     : es_err_set(err, ES_EDATA, "invalid username for a lock file");
	r = open_state_sub(state_dir, sub, false, ES_EPERM, &dfd, err);
	if (r != 0)
		return r == 1 ? 0 : -1; /* no directory, no file: nothing to do */
	e = unlinkat(dfd, username, 0) == 0 ? 0 : errno;
	if (e != 0 && e != ENOENT) {
		int code = (e == EACCES || e == EPERM) ? ES_EPERM : ES_EIO;

		if (state)
			es_err_errno(err, code, e, "cannot remove state file %s/%s/%s", state_dir,
				     sub, username);
		else
			es_err_errno(err, code, e, "cannot remove lock file %s/%s/%s", state_dir,
				     sub, username);
	} else if (e == 0 && state && es_fs_fsync(dfd) != 0) {
		es_err_errno(err, ES_EIO, errno, "cannot sync %s/%s", state_dir, sub);
	} else {
		rc = 0;
	}
	es_fs_close(&dfd);
	return rc;
}

int es_state_remove(const char *state_dir, const char *username, struct es_err *err)
{
	return remove_entry(state_dir, USERS_DIR, username, err);
}

/* ---- bounded locks ----
 *
 * Every lock is taken with LOCK_NB and retried for at most wait_ms: a
 * blocking flock would let anyone who can stop the holder hang us for
 * ever (su holds a user's lock as root but runs with the student's real
 * uid, so the student may SIGSTOP it). What we then say names the holder,
 * from /proc/locks. */

static long ms_since(const struct timespec *start)
{
	struct timespec now = {0};

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - start->tv_sec) * 1000L +
	       (long)(now.tv_nsec - start->tv_nsec) / 1000000L;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	(void)nanosleep(&ts, NULL); /* EINTR: the caller tries again sooner */
}

/* flock(LOCK_EX) on fd until start + wait_ms: short sleeps doubling from
 * 1 ms to 50 ms between tries. 0, EWOULDBLOCK when the time is up, or an
 * errno value. */
static int flock_bounded(int fd, const struct timespec *start, long wait_ms)
{
	long delay = 1;

	for (;;) {
		long left;

		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return errno;
		left = wait_ms - ms_since(start);
		if (left <= 0)
			return EWOULDBLOCK;
		sleep_ms(delay < left ? delay : left);
		delay = delay >= 25 ? 50 : delay * 2;
	}
}

/* A field of a /proc/locks line: the next run of non-blanks after *p. */
static size_t next_field(const char **p, const char **field)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	while (s[n] != '\0' && s[n] != ' ' && s[n] != '\t' && s[n] != '\n')
		n++;
	*field = s;
	*p = s + n;
	return n;
}

/* "MAJ:MIN:INODE" (hex, hex, decimal) as /proc/locks prints a file. */
static bool parse_dev_ino(const char *f, size_t n, const struct stat *sb)
{
	char buf[64], *end = NULL;
	unsigned long maj, min;
	unsigned long long ino;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, f, n);
	buf[n] = '\0';
	errno = 0;
	maj = strtoul(buf, &end, 16);
	if (errno != 0 || end == buf || *end != ':')
		return false;
	min = strtoul(end + 1, &end, 16);
	if (errno != 0 || *end != ':')
		return false;
	ino = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	return maj == major(sb->st_dev) && min == minor(sb->st_dev) &&
	       ino == (unsigned long long)sb->st_ino;
}

/* The pid of the process holding a flock on sb's file, from /proc/locks
 * ("1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; a waiter's line has
 * "->" after the number). 0 when it does not say: no such line, or a pid
 * that is not visible from here (0) or has no meaning (-1, OFD locks). */
static long flock_holder_pid(const struct stat *sb)
{
	char line[256];
	long pid = 0;
	FILE *f = fopen("/proc/locks", "re");

	if (f == NULL)
		return 0;
	while (pid == 0 && fgets(line, sizeof(line), f) != NULL) {
		const char *p = line, *fld[6];
		size_t len[6];
		char num[24], *end = NULL;
		long v;

		for (size_t i = 0; i < 6; i++)
			len[i] = next_field(&p, &fld[i]);
		/* fld: "N:", type, mode, access, pid, device:inode */
		if (len[1] != 5 || memcmp(fld[1], "FLOCK", 5) != 0 || len[4] == 0 ||
		    len[4] >= sizeof(num) || !parse_dev_ino(fld[5], len[5], sb))
			continue;
		memcpy(num, fld[4], len[4]);
		num[len[4]] = '\0';
		errno = 0;
		v = strtol(num, &end, 10);
		if (errno == 0 && *end == '\0' && v > 0)
			pid = v;
	}
	(void)fclose(f);
	return pid;
}

/* Who holds a lock and how long we waited, for the message of a lock
 * not taken. */
struct holder {
	char who[320];    /* "process 1234 (su)" */
	char how_long[32]; /* "5 seconds" */
};

/* "process 1234 (su)", or "another process" when /proc/locks does not
 * say; the command name is escaped (\xHH), it is the holder's to choose. */
static void describe_pid(int fd, char *out, size_t outsz)
{
	struct stat sb;
	char path[64], comm[64], shown[64 * 4 + 1];
	long pid = 0;
	size_t o = 0;
	ssize_t n = -1;
	int cfd;

	(void)snprintf(out, outsz, "another process");
	if (fstat(fd, &sb) != 0 || (pid = flock_holder_pid(&sb)) <= 0)
		return;
	(void)snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	cfd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (cfd >= 0) {
		do
			n = read(cfd, comm, sizeof(comm) - 1);
		while (n < 0 && errno == EINTR);
		(void)close(cfd);
	}
	if (n <= 0) {
		(void)snprintf(out, outsz, "process %ld", pid);
		return;
	}
	if (comm[n - 1] == '\n')
		n--;
	for (ssize_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)comm[i];

		if (c > 0x20 && c < 0x7f && c != '\\' && c != '(' && c != ')')
			shown[o++] = (char)c;
		else
			o += (size_t)snprintf(shown + o, sizeof(shown) - o, "\\x%02x", c);
	}
	shown[o] = '\0';
	(void)snprintf(out, outsz, "process %ld (%s)", pid, shown);
}

/* "5 seconds", "200 ms" */
static void wait_text(long wait_ms, char *out, size_t outsz)
{
	if (wait_ms % 1000 == 0)
		(void)snprintf(out, outsz, "%ld second%s", wait_ms / 1000,
			       wait_ms == 1000 ? "" : "s");
	else
		(void)snprintf(out, outsz, "%ld ms", wait_ms);
}

static void describe_holder(int fd, long wait_ms, struct holder *h)
{
	describe_pid(fd, h->who, sizeof(h->who));
	wait_text(wait_ms, h->how_long, sizeof(h->how_long));
}

/* true when path still names fd's file: a lock file removed (eschool
 * forget) or a state directory moved (restore) while we waited for it is
 * no lock on what the name means now. */
static bool still_named(const char *path, int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && fstatat(AT_FDCWD, path, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Opens (creating it) the lock file of username for es_state_lock_wait.
 * 0 with *out >= 0; 0 with *out == -1 on a read-only file system without
 * one; -1 on error. */
static int open_lock_file(const char *state_dir, const char *username, int *out,
			  struct es_err *err)
{
	struct stat sb;
	char whybuf[WHY_MAX];
	int lfd = -1, fd = -1;
	int rc = -1;

	*out = -1;
	if (open_state_sub(state_dir, LOCKS_DIR, true, ES_EPERM, &lfd, err) != 0)
		goto out;
	/* O_NONBLOCK: never hang opening something that is not a file */
	fd = openat(lfd, username, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EROFS) {
		/* a read-only file system: no one can write the state, so
		 * readers need no lock; flock works on a read-only descriptor,
		 * and with no lock file at all there is nothing to lock (the
		 * save that may follow fails with EROFS and says so). A login
		 * must not be refused for this (SPEC 7). */
		fd = openat(lfd, username, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			rc = 0;
			goto out;
		}
	}
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP)
			es_err_set(err, ES_EPERM,
				   "unsafe lock file %s/%s/%s: is a symbolic link; "
				   "remove it",
				   state_dir, LOCKS_DIR, username);
		else
			es_err_errno(err, (e == EACCES || e == EPERM) ? ES_EPERM : ES_EIO, e,
				     "cannot open lock file %s/%s/%s", state_dir, LOCKS_DIR,
				     username);
		goto out;
	}
	if (fstat(fd, &sb) != 0) {
		es_err_errno(err, ES_EIO, errno, "cannot stat lock file %s/%s/%s", state_dir,
			     LOCKS_DIR, username);
		goto out;
	}
	if (!es_fs_file_ok(&sb, 022, LLONG_MAX, whybuf, sizeof(whybuf))) {
		es_err_set(err, ES_EPERM, "unsafe lock file %s/%s/%s: %s; remove it", state_dir,
			   LOCKS_DIR, username, whybuf);
		goto out;
	}
	*out = fd;
	fd = -1;
	rc = 0;
out:
	es_fs_close(&fd);
	es_fs_close(&lfd);
	return rc;
}

#define LOCK_REPLACED (-2)

/* The bounded lock of es_state_lock_wait and es_state_lock_all_wait:
 * open_it(state_dir, username) opens what path names, which is flocked
 * within wait_ms and kept only while path still names it (a lock file
 * removed by forget, a state directory moved by restore: opened again).
 * 0 with *fd locked (or -1: nothing to lock); -1 when open_it failed (err
 * filled); else, with *fd open for the caller's message (and to close):
 * LOCK_REPLACED when it kept being replaced, EWOULDBLOCK when held all
 * along, another errno value when flock failed. */
static int lock_named(const char *path, long wait_ms,
		      int (*open_it)(const char *state_dir, const char *username, int *fd,
				     struct es_err *err),
		      const char *state_dir, const char *username, int *fd, struct es_err *err)
{
	struct timespec start = {0};

	(void)clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int e;

		if (open_it(state_dir, username, fd, err) != 0)
			return -1;
		if (*fd < 0)
			return 0; /* read-only, no lock file: nothing to lock */
		e = flock_bounded(*fd, &start, wait_ms);
		if (e != 0)
			return e;
		if (still_named(path, *fd))
			return 0;
		if (ms_since(&start) >= wait_ms)
			return LOCK_REPLACED;
		es_fs_close(fd); /* removed or moved while we waited: lock the new one */
	}
}

int es_state_lock_wait(const char *state_dir, const char *username, long wait_ms, int *lockfd,
		       struct es_err *err)
{
	char path[4200];
	struct holder h;
	int fd = -1;
	int e;

	if (lockfd == NULL)
		return es_err_set(err, ES_ESOFTWARE, "es_state_lock: no lockfd");
	*lockfd = -1;
	if (!es_valid_username(username))
		return es_err_set(err, ES_EDATA, "invalid username for a lock file");
	if (check_state_dir_arg(state_dir, err) != 0)
		return -1;
	if (snprintf(path, sizeof(path), "%s/%s/%s", state_dir, LOCKS_DIR, username) >=
	    (int)sizeof(path))
		return es_err_set(err, ES_ECONFIG, "state_dir is too long: %s", state_dir);
	e = lock_named(path, wait_ms, open_lock_file, state_dir, username, &fd, err);
	if (e == 0) {
		*lockfd = fd;
		return 0;
	}
	if (e == LOCK_REPLACED) {
		es_err_set(err, ES_ETEMP, "user %s: its lock file %s kept being replaced; "
			   "try again later", username, path);
	} else if (e == EWOULDBLOCK) {
		describe_holder(fd, wait_ms, &h);
		es_err_set(err, ES_ETEMP,
			   "user %s: cannot lock its state (%s): held by %s for more "
			   "than %s; try again later (a login or another eschool "
			   "command holds it; a stopped process keeps it until it is "
			   "resumed or killed)",
			   username, path, h.who, h.how_long);
	} else if (e > 0) {
		es_err_errno(err, ES_EIO, e, "cannot lock %s", path);
	}
	es_fs_close(&fd);
	return -1;
}

int es_state_lock(const char *state_dir, const char *username, int *lockfd, struct es_err *err)
{
	return es_state_lock_wait(state_dir, username, ES_STATE_LOCK_WAIT_MS, lockfd, err);
}

/* The state directory itself, for es_state_lock_all_wait (lock_named's
 * open_it; no username). */
static int open_top(const char *state_dir, const char *username, int *fd, struct es_err *err)
{
	(void)username;
	return open_dir(AT_FDCWD, state_dir, NULL, true, ES_EPERM, fd, err);
}

int es_state_lock_all_wait(const char *state_dir, long wait_ms, int *lockfd, struct es_err *err)
{
	struct holder h;
	int sfd = -1;
	int e;

	if (lockfd == NULL)
		return es_err_set(err, ES_ESOFTWARE, "es_state_lock_all: no lockfd");
	*lockfd = -1;
	if (check_state_dir_arg(state_dir, err) != 0)
		return -1;
	e = lock_named(state_dir, wait_ms, open_top, state_dir, NULL, &sfd, err);
	if (e == 0) {
		*lockfd = sfd;
		return 0;
	}
	if (e == LOCK_REPLACED) {
		es_err_set(err, ES_ETEMP, "%s kept being moved or replaced; try again later",
			   state_dir);
	} else if (e == EWOULDBLOCK) {
		describe_holder(sfd, wait_ms, &h);
		es_err_set(err, ES_ETEMP,
			   "cannot lock %s (add, import, reset, resend, disable, enable, "
			   "forget, backup and restore take turns): held by %s for more "
			   "than %s; try again when it has finished",
			   state_dir, h.who, h.how_long);
	} else if (e > 0) {
		es_err_errno(err, ES_EIO, e, "cannot lock %s", state_dir);
	}
	es_fs_close(&sfd);
	return -1;
}

int es_state_lock_all(const char *state_dir, int *lockfd, struct es_err *err)
{
	return es_state_lock_all_wait(state_dir, ES_STATE_LOCK_WAIT_MS, lockfd, err);
}

int es_state_remove_lock(const char *state_dir, const char *username, struct es_err *err)
{
	return remove_entry(state_dir, LOCKS_DIR, username, err);
}

void es_state_unlock(int lockfd)
{
	if (lockfd >= 0)
		(void)close(lockfd); /* releases the flock */
}

struct name_slot {
	char name[33];
};

void es_state_sweep_tmp(const char *state_dir)
{
	struct es_err err = { 0 };
	int ufd = -1;

	if (open_state_sub(state_dir, USERS_DIR, false, ES_EPERM, &ufd, &err) == 0)
		es_fs_sweep_tmp(ufd); /* closes ufd */
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(((const struct name_slot *)a)->name, ((const struct name_slot *)b)->name);
}

int es_state_foreach(const char *state_dir, int (*fn)(const char *username, void *arg), void *arg,
		     struct es_err *err)
{
	struct name_slot *names = NULL;
	size_t n = 0, cap = 0;
	DIR *d = NULL;
	int ufd = -1;
	int rc = -1;
	int r;

	if (fn == NULL)
		return es_err_set(err, ES_ESOFTWARE, "es_state_foreach: no callback");
	r = open_state_sub(state_dir, USERS_DIR, false, ES_EPERM, &ufd, err);
	if (r != 0) {
		rc = r == 1 ? 0 : -1; /* no directory: no users */
		goto out;
	}
	d = fdopendir(ufd);
	if (d == NULL) {
		es_err_errno(err, ES_EIO, errno, "cannot list %s/%s", state_dir, USERS_DIR);
		goto out;
	}
	ufd = -1; /* owned by d now */
	for (;;) {
		const struct dirent *de;

		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0) {
				es_err_errno(err, ES_EIO, errno, "cannot list %s/%s", state_dir,
					     USERS_DIR);
				goto out;
			}
			break;
		}
		/* dot-files include our temp files; invalid names are not ours */
		if (de->d_name[0] == '.' || !es_valid_username(de->d_name))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct name_slot *p;

			if (ncap > SIZE_MAX / sizeof(*names) ||
			    (p = realloc(names, ncap * sizeof(*names))) == NULL) {
				es_err_set(err, ES_EOS, "out of memory listing %s/%s", state_dir,
					   USERS_DIR);
				goto out;
			}
			names = p;
			cap = ncap;
		}
		(void)es_strlcpy(names[n].name, de->d_name, sizeof(names[n].name));
		n++;
	}
	(void)closedir(d);
	d = NULL;
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		r = fn(names[i].name, arg);
		if (r != 0) {
			rc = r;
			goto out;
		}
	}
	rc = 0;
out:
	if (d != NULL)
		(void)closedir(d);
	free(names);
	es_fs_close(&ufd);
	return rc;
}

const char *es_state_get(const struct es_state *st, const char *key)
{
	if (st == NULL || key == NULL)
		return NULL;
	for (size_t i = 0; i < st->n && i < ES_STATE_MAX_KEYS; i++) {
		if (strcmp(st->kv[i].key, key) == 0)
			return st->kv[i].value;
	}
	return NULL;
}

int64_t es_state_get_i64(const struct es_state *st, const char *key, int64_t dflt)
{
	const char *v = es_state_get(st, key);
	char *end = NULL;
	long long x;

	if (v == NULL)
		return dflt;
	/* strtoll would take leading spaces and '+': a state value does not */
	if (!(isdigit((unsigned char)v[0]) || (v[0] == '-' && isdigit((unsigned char)v[1]))))
		return dflt;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0')
		return dflt;
	return (int64_t)x;
}

enum es_state_owner es_state_owner(const struct es_state *st, const struct passwd *pw)
{
	int64_t uid;

	if (pw == NULL)
		return ES_OWNER_GONE;
	uid = es_state_get_i64(st, ES_K_UID, -1);
	if (uid < 0)
		return ES_OWNER_OK;
	return uid == (int64_t)pw->pw_uid ? ES_OWNER_OK : ES_OWNER_OTHER;
}

bool es_state_get_bool(const struct es_state *st, const char *key)
{
	const char *v = es_state_get(st, key);

	return v != NULL && strcmp(v, "1") == 0;
}

int es_state_set(struct es_state *st, const char *key, const char *value)
{
	char *nk = NULL, *nv = NULL;
	size_t i;

	if (st == NULL || key == NULL || !valid_key(key, strlen(key)) || st->n > ES_STATE_MAX_KEYS)
		return -1;
	for (i = 0; i < st->n; i++) {
		if (strcmp(st->kv[i].key, key) == 0)
			break;
	}
	if (value == NULL) {
		if (i == st->n)
			return 0;
		wipe_free(st->kv[i].key);
		wipe_free(st->kv[i].value);
		memmove(&st->kv[i], &st->kv[i + 1], (st->n - i - 1) * sizeof(st->kv[0]));
		st->n--;
		st->kv[st->n].key = NULL;
		st->kv[st->n].value = NULL;
		return 0;
	}
	/* copy first: value may point into the entry it replaces */
	nv = es_strdup(value);
	if (nv == NULL)
		return -1;
	if (i < st->n) {
		wipe_free(st->kv[i].value);
		st->kv[i].value = nv;
		return 0;
	}
	if (st->n >= ES_STATE_MAX_KEYS || (nk = es_strdup(key)) == NULL) {
		wipe_free(nv);
		return -1;
	}
	st->kv[st->n].key = nk;
	st->kv[st->n].value = nv;
	st->n++;
	return 0;
}

int es_state_set_i64(struct es_state *st, const char *key, int64_t v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return es_state_set(st, key, buf);
}

void es_state_init(struct es_state *st, const char *username)
{
	if (st == NULL)
		return;
	memset(st, 0, sizeof(*st));
	if (username != NULL)
		(void)es_strlcpy(st->username, username, sizeof(st->username));
}

int es_state_copy(struct es_state *dst, const struct es_state *src)
{
	es_state_init(dst, src->username);
	for (size_t i = 0; i < src->n; i++)
		if (es_state_set(dst, src->kv[i].key, src->kv[i].value) != 0) {
			es_state_free(dst);
			return -1;
		}
	return 0;
}

void es_state_free(struct es_state *st)
{
	if (st == NULL)
		return;
	clear_kv(st); /* keeps username: st can be filled again */
}
