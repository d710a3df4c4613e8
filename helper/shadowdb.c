/* Batch account creation for `import`: what shadow's newusers does — one
 * locked pass over passwd, shadow, group and gshadow (and subuid/subgid)
 * for many accounts — with the hashes computed beforehand on every core.
 * One useradd per account costs a process, a PAM transaction and a rewrite
 * of six files; here a chunk of accounts costs one rewrite. `add` and
 * `reset` keep using useradd and chpasswd.
 *
 * The writes follow shadow's discipline, so that useradd, passwd or vipw
 * running at the same time are excluded and nothing is ever half written:
 * lckpwdf(), then FILE.lock made with link(2) and holding our pid (stale
 * locks of dead processes are broken, as shadow does); every new file is
 * written to FILE+ and fsynced, the previous version is kept as FILE-, and
 * only when all of them are ready are they renamed into place.
 *
 * Every step "ensures": an account that exists in part (kill -9 between two
 * renames, or between the files and the home) is completed on the next run,
 * never duplicated; but a new account whose name is taken under the lock
 * (a useradd since the import looked) is refused, never taken over. The
 * account looks like one useradd -m makes: private group (USERGROUPS_ENAB),
 * uid/gid after the highest in UID_MIN..UID_MAX, aging fields, HOME_MODE and
 * /etc/skel (an existing home left as it is), subordinate ids from
 * login.defs. */
#include "accounts.h"
#include "ui.h"
#include "strset.h"
#include "shadowdb.h"

#include "es_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <shadow.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ETC "/etc"
#define SKEL "/etc/skel"
#define LOCK_TRIES 15
#define SKEL_DEPTH 16

/* ---- login.defs ---- */

struct defs {
	long uid_min, uid_max, gid_min, gid_max;
	long pass_min, pass_max, pass_warn;
	long sub_uid_min, sub_uid_max, sub_uid_count;
	long sub_gid_min, sub_gid_max, sub_gid_count;
	long home_mode;
	bool usergroups;
};

static void defs_read(struct defs *d)
{
	char line[512];
	FILE *f;

	*d = (struct defs){ 1000, 60000, 1000, 60000, -1, -1, -1, 100000, 600100000, 65536,
		            100000, 600100000, 65536, -1, true };
	long umask_v = 022;
	f = fopen(ETC "/login.defs", "re");
	if (f == NULL)
		return; /* shadow's built-in defaults, as useradd */
	while (fgets(line, sizeof(line), f) != NULL) {
		char key[64], val[128];
		long v;
		char *end;

		if (sscanf(line, " %63s %127s", key, val) != 2 || key[0] == '#')
			continue;
		if (strcmp(key, "USERGROUPS_ENAB") == 0) {
			d->usergroups = strcasecmp(val, "yes") == 0;
			continue;
		}
		errno = 0;
		v = strtol(val, &end, 0); /* HOME_MODE and UMASK are octal: 0700 */
		if (errno != 0 || *end != '\0')
			continue;
		if (strcmp(key, "UID_MIN") == 0) d->uid_min = v;
		else if (strcmp(key, "UID_MAX") == 0) d->uid_max = v;
		else if (strcmp(key, "GID_MIN") == 0) d->gid_min = v;
		else if (strcmp(key, "GID_MAX") == 0) d->gid_max = v;
		else if (strcmp(key, "PASS_MIN_DAYS") == 0) d->pass_min = v;
		else if (strcmp(key, "PASS_MAX_DAYS") == 0) d->pass_max = v;
		else if (strcmp(key, "PASS_WARN_AGE") == 0) d->pass_warn = v;
		else if (strcmp(key, "SUB_UID_MIN") == 0) d->sub_uid_min = v;
		else if (strcmp(key, "SUB_UID_MAX") == 0) d->sub_uid_max = v;
		else if (strcmp(key, "SUB_UID_COUNT") == 0) d->sub_uid_count = v;
		else if (strcmp(key, "SUB_GID_MIN") == 0) d->sub_gid_min = v;
		else if (strcmp(key, "SUB_GID_MAX") == 0) d->sub_gid_max = v;
		else if (strcmp(key, "SUB_GID_COUNT") == 0) d->sub_gid_count = v;
		else if (strcmp(key, "HOME_MODE") == 0) d->home_mode = v;
		else if (strcmp(key, "UMASK") == 0) umask_v = v;
	}
	(void)fclose(f);
	if (d->home_mode < 0 || d->home_mode > 07777)
		d->home_mode = 0777 & ~umask_v;
}

/* ---- one colon-separated database file, streamed ----
 *
 * A chunk's pass over a file reads it twice from the same descriptor,
 * under the locks: once to find the few lines the batch looks up (those
 * whose first field is one of the batch's users or groups: `want`) and the
 * ids in use, once to copy it to FILE- as it was and to FILE+ with those
 * lines changed and the new ones at the end. Memory is the chunk's, not
 * the file's: at 100,000 accounts each file is megabytes, read once per
 * chunk of 128. */

/* A role group's member list while a batch adds to it (db_add_member). */
struct members {
	size_t hit;              /* the group's line (d->hits) */
	int field;               /* the member list's field */
	struct strset have;      /* which of the batch's users are in the list */
	struct es_buf list;      /* the members added ("a,b"), appended to the list once */
	bool added;
};

/* A line the batch looks up or adds. */
struct hit {
	char *line;   /* NUL-terminated, no '\n' */
	long lineno;  /* 0-based in the file; -1: added by the batch */
	bool changed; /* to be written as it is now, not as read */
};

struct db {
	const char *name;  /* "passwd" ... */
	char path[64];
	struct stat st;
	FILE *f;           /* the file as read, open until the batch ends */
	off_t bytes;       /* its size as the first pass read it */
	const struct strset *want; /* the names whose lines are kept */
	struct hit *hits;  /* lines read come first, in file order */
	size_t n, cap, n_read;
	struct strset index; /* first field -> hit number (its first line) */
	bool present;      /* subuid/subgid are optional */
	bool changed;
	bool locked;
	/* subuid/subgid: where the next range starts: past every range in
	 * the file (found by the first pass), then past each one added */
	long sub_end;
	/* group/gshadow: the member lists of the role groups this batch adds
	 * to, parsed once and written back once (db_flush_members), so that
	 * adding N members costs O(N), not a scan and a copy of the list each
	 * (O(N^2) with 10,000 students in one group) */
	struct members *members;
	size_t n_members;
};

/* The first field of line, in key[keysz]; false when it cannot be a
 * name (empty, too long, or NIS's +/- entries). */
static bool line_key(const char *line, char *key, size_t keysz)
{
	size_t klen = strcspn(line, ":");

	if (klen == 0 || klen >= keysz || line[0] == '+' || line[0] == '-')
		return false;
	memcpy(key, line, klen);
	key[klen] = '\0';
	return true;
}

/* Keeps line (taken: freed by the db) as hit number d->n. */
static int db_push(struct db *d, char *line, long lineno)
{
	char key[ES_NAME_MAX + 64], num[24];

	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 64;
		struct hit *nh = realloc(d->hits, ncap * sizeof(*nh));
		if (nh == NULL)
			return -1;
		d->hits = nh;
		d->cap = ncap;
	}
	d->hits[d->n] = (struct hit){ line, lineno, false };
	if (line_key(line, key, sizeof(key)) && !strset_has(&d->index, key)) {
		(void)snprintf(num, sizeof(num), "%zu", d->n);
		if (strset_put(&d->index, key, num) != 0)
			return -1;
	}
	d->n++;
	return 0;
}

static long db_find(const struct db *d, const char *key)
{
	const char *v = strset_get(&d->index, key);

	return v != NULL ? strtol(v, NULL, 10) : -1;
}

/* Field k (0-based) of a line: pointer and length. */
static const char *field(const char *line, int k, size_t *len)
{
	const char *p = line;

	for (int i = 0; i < k; i++) {
		p = strchr(p, ':');
		if (p == NULL) {
			*len = 0;
			return "";
		}
		p++;
	}
	*len = strcspn(p, ":");
	return p;
}

static long field_num(const char *line, int k)
{
	size_t len;
	const char *p = field(line, k, &len);
	char buf[24];

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return strtol(buf, NULL, 10);
}

/* ---- ids ---- */

struct idset {
	unsigned char *bits; /* used ids in [min, max] */
	long min, max, highest;
};

static int idset_init(struct idset *s, long min, long max, struct es_err *err)
{
	s->min = min;
	s->max = max < min ? min : max;
	s->highest = min - 1;
	if (s->max - s->min > 16L * 1024 * 1024)
		s->max = s->min + 16L * 1024 * 1024; /* 2 MB of bits is plenty */
	s->bits = calloc((size_t)(s->max - s->min) / 8 + 1, 1);
	return s->bits != NULL ? 0 : es_err_set(err, ES_EOS, "out of memory");
}

static void idset_mark(struct idset *s, long id)
{
	if (id < s->min || id > s->max)
		return;
	s->bits[(id - s->min) / 8] |= (unsigned char)(1u << ((id - s->min) % 8));
	if (id > s->highest)
		s->highest = id;
}

static bool idset_used(const struct idset *s, long id)
{
	if (id < s->min || id > s->max)
		return false;
	return (s->bits[(id - s->min) / 8] >> ((id - s->min) % 8)) & 1u;
}

/* useradd's rule: one above the highest in the range, else the lowest free. */
static long idset_next(const struct idset *s)
{
	if (s->highest < s->max)
		return s->highest + 1;
	for (long id = s->min; id <= s->max; id++)
		if (!idset_used(s, id))
			return id;
	return -1;
}

/* ---- reading ---- */

/* Past this, a wanted line is kept in the buffer getline read it into. */
#define LONG_LINE 4096

/* The first pass: opens the file, keeps the lines of the names in d->want,
 * marks the ids in field 2 (passwd's uids, group's gids) in ids when given,
 * and finds where subordinate ranges end (subuid, subgid). */
static int db_read(struct db *d, struct idset *ids, bool sub, struct es_err *err)
{
	int fd = open(d->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	char *line = NULL, key[ES_NAME_MAX + 64];
	size_t cap = 0;
	ssize_t got;
	long lineno = 0;

	if (fd < 0) {
		if (errno == ENOENT && sub)
			return 0; /* no subordinate ids on this system */
		return es_err_errno(err, ES_EOS, errno, "cannot open %s", d->path);
	}
	if (fstat(fd, &d->st) != 0 || !S_ISREG(d->st.st_mode)) {
		(void)close(fd);
		return es_err_set(err, ES_EOS, "%s is not a regular file", d->path);
	}
	d->f = fdopen(fd, "r");
	if (d->f == NULL) {
		(void)close(fd);
		return es_err_set(err, ES_EOS, "out of memory");
	}
	d->present = true;
	while (errno = 0, (got = getline(&line, &cap, d->f)) > 0) {
		d->bytes += got;
		if (line[got - 1] == '\n')
			line[got - 1] = '\0';
		if (ids != NULL)
			idset_mark(ids, field_num(line, 2));
		if (sub) {
			long start = field_num(line, 1), count = field_num(line, 2);
			if (start >= 0 && count > 0 && start + count > d->sub_end)
				d->sub_end = start + count;
		}
		if (line_key(line, key, sizeof(key)) && strset_has(d->want, key) &&
		    !strset_has(&d->index, key)) {
			/* a long line (a role or class group's members: 700 KB
			 * at 100,000 students) is kept as read, not copied */
			bool take = (size_t)got > LONG_LINE;
			char *kept = take ? line : strdup(line);

			if (take) { /* (the buffer may have grown for a longer line) */
				char *fit = realloc(line, (size_t)got + 1);

				kept = fit != NULL ? fit : line;
				line = NULL;
				cap = 0;
			}
			if (kept == NULL || db_push(d, kept, lineno) != 0) {
				free(kept);
				free(line);
				return es_err_set(err, ES_EOS, "out of memory");
			}
		}
		lineno++;
	}
	free(line);
	if (errno == ENOMEM)
		return es_err_set(err, ES_EOS, "out of memory");
	if (ferror(d->f) || d->bytes != d->st.st_size)
		return es_err_set(err, ES_EOS, "short read on %s", d->path);
	d->n_read = d->n;
	return 0;
}

static void db_free(struct db *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->hits[i].line);
	free(d->hits);
	if (d->f != NULL)
		(void)fclose(d->f);
	strset_free(&d->index);
	for (size_t j = 0; j < d->n_members; j++) {
		strset_free(&d->members[j].have);
		es_buf_free(&d->members[j].list);
	}
	free(d->members);
	memset(d, 0, sizeof(*d));
}

static int db_add(struct db *d, struct es_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int db_add(struct db *d, struct es_err *err, const char *fmt, ...)
{
	va_list ap;
	char *line = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0 || db_push(d, line, -1) != 0) {
		free(n < 0 ? NULL : line);
		return es_err_set(err, ES_EOS, "out of memory");
	}
	d->changed = true;
	return 0;
}

/* Replaces field k of hit i with value. */
static int db_set_field(struct db *d, size_t i, int k, const char *value, struct es_err *err)
{
	size_t len, vlen = strlen(value), olen = strlen(d->hits[i].line);
	const char *p = field(d->hits[i].line, k, &len);
	size_t pre = (size_t)(p - d->hits[i].line);
	char *n;

	if (p[0] == '\0' && pre == olen && k > 0 && strchr(d->hits[i].line, ':') == NULL)
		return es_err_set(err, ES_EOS, "%s: malformed line %zu", d->path,
		                  (size_t)(d->hits[i].lineno + 1));
	n = malloc(olen - len + vlen + 1);
	if (n == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	(void)snprintf(n, olen - len + vlen + 1, "%.*s%s%s", (int)pre, d->hits[i].line, value,
	               p + len);
	free(d->hits[i].line);
	d->hits[i].line = n;
	d->hits[i].changed = true;
	d->changed = true;
	return 0;
}

/* The member list of field k of hit i, parsed on first use in a batch:
 * only the batch's own users are looked for in it (a role group of
 * 100,000 students is one long line, not 100,000 names in memory, nor
 * a second copy of the line). */
static struct members *db_members(struct db *d, size_t i, int k)
{
	struct members *m, *nm;
	size_t len;
	const char *p;

	for (size_t j = 0; j < d->n_members; j++)
		if (d->members[j].hit == i && d->members[j].field == k)
			return &d->members[j];
	nm = realloc(d->members, (d->n_members + 1) * sizeof(*nm));
	if (nm == NULL)
		return NULL;
	d->members = nm;
	m = &d->members[d->n_members++];
	memset(m, 0, sizeof(*m));
	m->hit = i;
	m->field = k;
	p = field(d->hits[i].line, k, &len);
	for (const char *q = p; q < p + len;) {
		size_t mlen = strcspn(q, ",:");
		char name[ES_NAME_MAX + 1];

		/* longer names cannot be one of ours (ES_NAME_MAX) */
		if (mlen < sizeof(name)) {
			memcpy(name, q, mlen);
			name[mlen] = '\0';
			if (strset_has(d->want, name) && strset_put(&m->have, name, NULL) != 0)
				return NULL;
		}
		q += mlen + 1;
	}
	return m;
}

/* Adds user (one of d->want) to the comma-separated member list in field k
 * of hit i; the line itself is rewritten by db_flush_members. */
static int db_add_member(struct db *d, size_t i, int k, const char *user, struct es_err *err)
{
	struct members *m = db_members(d, i, k);

	if (m == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	if (strset_has(&m->have, user))
		return 0;
	if ((m->list.len > 0 && es_buf_puts(&m->list, ",") != 0) ||
	    es_buf_puts(&m->list, user) != 0 || strset_put(&m->have, user, NULL) != 0)
		return es_err_set(err, ES_EOS, "out of memory");
	m->added = true;
	return 0;
}

/* Whether line has a field k (k separators ':'). */
static bool has_field(const char *line, int k)
{
	for (int i = 0; i < k; i++) {
		line = strchr(line, ':');
		if (line == NULL)
			return false;
		line++;
	}
	return true;
}

/* Appends the members db_add_member added to the member lists of their
 * lines, each line grown in place (realloc: a role group's line of
 * 100,000 names is not copied). */
static int db_flush_members(struct db *d, struct es_err *err)
{
	for (size_t j = 0; j < d->n_members; j++) {
		struct members *m = &d->members[j];
		struct hit *h = &d->hits[m->hit];
		size_t len, end, olen, add;
		bool comma;
		char *n;

		if (!m->added)
			continue;
		if (!has_field(h->line, m->field)) { /* (db_set_field says what is wrong) */
			if (db_set_field(d, m->hit, m->field, m->list.data, err) != 0)
				return -1;
		} else {
			end = (size_t)(field(h->line, m->field, &len) - h->line) + len;
			olen = strlen(h->line);
			comma = len > 0;
			add = m->list.len + comma;
			n = realloc(h->line, olen + add + 1);
			if (n == NULL)
				return es_err_set(err, ES_EOS, "out of memory");
			memmove(n + end + add, n + end, olen - end + 1);
			if (comma)
				n[end] = ',';
			memcpy(n + end + comma, m->list.data, m->list.len);
			h->line = n;
			h->changed = true;
			d->changed = true;
		}
		m->added = false;
		m->list.len = 0; /* appended: a later flush adds only what follows */
	}
	return 0;
}

/* ---- locking, as shadow's commonio does ---- */

static int lock_one(struct db *d, struct es_err *err)
{
	char lock[80], tmp[80], pidtxt[32];
	int fd, n;

	if (snprintf(lock, sizeof(lock), "%s.lock", d->path) >= (int)sizeof(lock) ||
	    snprintf(tmp, sizeof(tmp), "%s.%ld", d->path, (long)getpid()) >= (int)sizeof(tmp))
		return es_err_set(err, ES_ESOFTWARE, "%s: path too long", d->path);
	(void)unlink(tmp);
	fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return es_err_errno(err, ES_EOS, errno, "cannot create %s", tmp);
	n = snprintf(pidtxt, sizeof(pidtxt), "%ld", (long)getpid());
	if (write(fd, pidtxt, (size_t)n) != n || close(fd) != 0) {
		(void)unlink(tmp);
		return es_err_errno(err, ES_EOS, errno, "cannot write %s", tmp);
	}
	for (int tries = 0; tries < LOCK_TRIES; tries++) {
		char other[32];
		ssize_t r;
		long pid;

		if (link(tmp, lock) == 0) {
			(void)unlink(tmp);
			d->locked = true;
			return 0;
		}
		if (errno != EEXIST)
			break;
		fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		r = fd >= 0 ? read(fd, other, sizeof(other) - 1) : -1;
		if (fd >= 0)
			(void)close(fd);
		other[r > 0 ? r : 0] = '\0';
		pid = strtol(other, NULL, 10);
		if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
			(void)unlink(lock); /* left by a process that died */
			continue;
		}
		(void)sleep(1);
	}
	(void)unlink(tmp);
	return es_err_set(err, ES_ETEMP,
	                  "%s is locked by another program (useradd, passwd, vipw ...): "
	                  "try again in a moment",
	                  d->path);
}

static void unlock_one(struct db *d)
{
	char lock[80];

	if (!d->locked)
		return;
	(void)snprintf(lock, sizeof(lock), "%s.lock", d->path);
	(void)unlink(lock);
	d->locked = false;
}

/* ---- writing ---- */

/* FILE+ or FILE-, owned and moded like the file, for db_stage. */
static FILE *open_staged(const struct db *d, const char *suffix, char *path, size_t pathsz,
                         struct es_err *err)
{
	int fd;
	FILE *f;

	(void)snprintf(path, pathsz, "%s%s", d->path, suffix);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		es_err_errno(err, ES_EOS, errno, "cannot create %s", path);
		return NULL;
	}
	if (fchown(fd, d->st.st_uid, d->st.st_gid) != 0 ||
	    fchmod(fd, d->st.st_mode & 07777) != 0 || (f = fdopen(fd, "w")) == NULL) {
		es_err_errno(err, ES_EOS, errno, "cannot write %s", path);
		(void)close(fd);
		(void)unlink(path);
		return NULL;
	}
	return f;
}

/* Flushes, syncs and closes a staged file: 0 when all of it is on disk,
 * else the file is removed. */
static int close_staged(FILE *f, const char *path, struct es_err *err)
{
	int e = 0;

	if (ferror(f))
		e = EIO; /* an earlier write failed: its errno is gone */
	else if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		e = errno;
	if (fclose(f) != 0 && e == 0)
		e = errno;
	if (e == 0)
		return 0;
	(void)unlink(path);
	return es_err_errno(err, ES_EOS, e, "cannot write %s", path);
}

/* Whether line's first field is key[0..klen) (klen counts the whole
 * field, of which key holds the first keysz bytes). */
static bool key_is(const char *line, const char *key, size_t klen, size_t keysz)
{
	return klen <= keysz && strcspn(line, ":") == klen && memcmp(line, key, klen) == 0;
}

/* The second pass: FILE- (a copy of what was read) and FILE+ (the same
 * lines, those the batch changed as they are now, then the lines it
 * added), both written and synced. A last line without its '\n' gets one,
 * as before in FILE+. Once FILE- is whole it stays, whatever becomes of
 * FILE+ (the caller removes FILE+ when anything fails). The file is
 * streamed through a fixed buffer, a line in pieces when it is longer:
 * a role group's line is never read whole a second time. */
static int db_stage(struct db *d, struct es_err *err)
{
	char old_path[80], new_path[80], buf[16384], key[ES_NAME_MAX + 64];
	FILE *old = NULL, *new = NULL;
	const struct hit *h = NULL;
	size_t got, next = 0, klen = 0, seen = 0;
	off_t bytes = 0;
	long lineno = 0;
	bool same = true, at_start = true, in_key = true;
	int rc;

	if (fseeko(d->f, 0, SEEK_SET) != 0)
		return es_err_errno(err, ES_EOS, errno, "cannot read %s", d->path);
	old = open_staged(d, "-", old_path, sizeof(old_path), err);
	if (old == NULL)
		return -1;
	new = open_staged(d, "+", new_path, sizeof(new_path), err);
	if (new == NULL) {
		(void)fclose(old);
		(void)unlink(old_path);
		return -1;
	}
	while ((got = fread(buf, 1, sizeof(buf), d->f)) > 0) {
		bytes += (off_t)got;
		(void)fwrite(buf, 1, got, old);
		for (size_t i = 0; i < got;) {
			const char *nl = memchr(buf + i, '\n', got - i);
			size_t end = nl != NULL ? (size_t)(nl - buf) + 1 : got;

			if (at_start) { /* the hit this line is, if any */
				while (next < d->n_read && d->hits[next].lineno < lineno)
					next++;
				h = next < d->n_read && d->hits[next].lineno == lineno ? &d->hits[next]
				                                                        : NULL;
				seen += h != NULL;
				at_start = false;
				in_key = true;
				klen = 0;
			}
			for (size_t k = i; in_key && k < end; k++) {
				if (buf[k] == ':' || buf[k] == '\n' || buf[k] == '\0')
					in_key = false;
				else if (klen++ < sizeof(key))
					key[klen - 1] = buf[k];
			}
			if (h == NULL || !h->changed)
				(void)fwrite(buf + i, 1, end - i, new);
			i = end;
			if (nl == NULL)
				break; /* the line goes on in the next read */
			/* the line the first pass kept must be there still: a
			 * writer that ignored the locks and moved a line break
			 * would shift the numbering onto another entry */
			same &= h == NULL || key_is(h->line, key, klen, sizeof(key));
			if (h != NULL && h->changed) {
				(void)fputs(h->line, new);
				(void)putc('\n', new);
			}
			lineno++;
			at_start = true;
		}
	}
	if (!at_start) { /* a last line without its '\n' */
		same &= h == NULL || key_is(h->line, key, klen, sizeof(key));
		if (h != NULL && h->changed)
			(void)fputs(h->line, new);
		(void)putc('\n', new);
	}
	/* and every line it kept was met again, each where it was */
	same &= seen == d->n_read;
	if (ferror(d->f) || bytes != d->bytes || !same) {
		es_err_set(err, ES_EOS, "%s changed while it was locked: try again", d->path);
		goto fail;
	}
	for (size_t i = d->n_read; i < d->n; i++) {
		(void)fputs(d->hits[i].line, new);
		(void)putc('\n', new);
	}
	/* write errors stick to the streams: close_staged sees them */
	rc = close_staged(old, old_path, err);
	if (close_staged(new, new_path, rc == 0 ? err : NULL) != 0)
		rc = -1;
	return rc;
fail: /* FILE- is not whole */
	(void)fclose(old);
	(void)fclose(new);
	(void)unlink(old_path);
	(void)unlink(new_path);
	return -1;
}

static int db_commit(struct db *d, struct es_err *err)
{
	char path[80];

	(void)snprintf(path, sizeof(path), "%s+", d->path);
	if (rename(path, d->path) != 0)
		return es_err_errno(err, ES_EOS, errno, "cannot replace %s", d->path);
	return 0;
}

/* ---- homes ----
 *
 * A home is made as useradd -m makes one, and never through a path that
 * the new user, or anybody but root, could have planted:
 * - HOME_BASE itself is followed, as useradd follows it: it is the
 *   administrator's setting (/home may be a link to /srv/home). The home's
 *   own name never is, nor anything below it: every step is an *at() call
 *   relative to a directory descriptor, with O_NOFOLLOW (O_EXCL for a new
 *   file), owners and modes set through descriptors or AT_SYMLINK_NOFOLLOW;
 *   a link in /etc/skel is made again as a link, never followed.
 * - What was at HOME_BASE/USER when the import started the account (the
 *   caller asked home_taken before writing anything of the account, and
 *   recorded the answer in its state for a resumed run) is left as it was
 *   (owner, mode, contents), as useradd -m leaves an existing home; the
 *   caller warns.
 * - Otherwise the path was free then, and since only root writes in
 *   HOME_BASE, what is there now was made by this import or by a run of it
 *   killed earlier: a directory of root's or of the account's is completed
 *   (what is missing, or still root's, is copied; what the account owns is
 *   kept); anything else (a link, a file, a directory of another owner) is
 *   not eschool's and is left alone.
 * - Owners come last, deepest first: a file, a directory and the home
 *   itself become the account's once whole, so that a kill leaves root's
 *   entries, redone on the next run (a torn file is removed and copied
 *   again, never truncated in place: it could be a hard link), and nobody
 *   but root can write in a home being filled (root's, 0700). */

/* Copies one regular file of the skeleton; on a resumed run, a copy that
 * is the account's is whole and kept, one still root's is made again. */
static int copy_file(int src_dir, int dst_dir, const char *name, const struct stat *st,
                     uid_t uid, gid_t gid)
{
	char buf[16384];
	int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	int out = -1, rc = -1;

	if (in < 0)
		return -1;
	out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0 && errno == EEXIST) {
		struct stat have;

		if (fstatat(dst_dir, name, &have, AT_SYMLINK_NOFOLLOW) != 0)
			goto out;
		if (!S_ISREG(have.st_mode) || have.st_uid != 0) {
			rc = 0; /* whole (the account's), or not ours to replace */
			goto out;
		}
		if (unlinkat(dst_dir, name, 0) != 0)
			goto out;
		out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		             0600);
	}
	if (out < 0)
		goto out;
	for (;;) {
		ssize_t r = read(in, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		for (ssize_t off = 0; off < r;) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto out;
			off += w;
		}
	}
	{
		/* keep the skeleton's times, as useradd does; the owner last: it
		 * says the copy is whole (fchown clears set-id bits: set again) */
		const struct timespec times[2] = { st->st_atim, st->st_mtim };
		if (fchmod(out, st->st_mode & 07777) != 0 || futimens(out, times) != 0 ||
		    fchown(out, uid, gid) != 0 ||
		    ((st->st_mode & 06000) != 0 && fchmod(out, st->st_mode & 07777) != 0))
			goto out;
	}
	rc = 0;
out:
	if (out >= 0 && close(out) != 0)
		rc = -1;
	(void)close(in);
	return rc;
}

static int copy_tree(int src, int dst, uid_t uid, gid_t gid, int depth);

/* One directory of the skeleton: made root's 0700, filled, then given its
 * mode and owner; one already there (a resumed run) is completed. */
static int copy_dir(int src, int dst, const char *name, const struct stat *st, uid_t uid,
                    gid_t gid, int depth)
{
	struct stat have;
	int s = -1, d = -1, rc = -1;

	if (mkdirat(dst, name, 0700) != 0 && errno != EEXIST)
		return -1;
	d = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0)
		return errno == ELOOP || errno == ENOTDIR ? 0 : -1; /* not ours: left */
	if (fstat(d, &have) != 0)
		goto out;
	if (have.st_uid != 0 && have.st_uid != uid) {
		rc = 0; /* not ours */
		goto out;
	}
	s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s < 0 || copy_tree(s, d, uid, gid, depth + 1) != 0)
		goto out;
	if (fchmod(d, st->st_mode & 07777) != 0 || fchown(d, uid, gid) != 0 ||
	    ((st->st_mode & 06000) != 0 && fchmod(d, st->st_mode & 07777) != 0))
		goto out;
	rc = 0;
out:
	if (s >= 0)
		(void)close(s);
	(void)close(d);
	return rc;
}

/* A link of the skeleton, made again as a link (its target is text, never
 * followed), then given the owner. */
static int copy_link(int src, int dst, const char *name, uid_t uid, gid_t gid)
{
	char target[PATH_MAX];
	struct stat have;
	ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);

	if (n < 0)
		return -1;
	target[n] = '\0';
	if (symlinkat(target, dst, name) != 0) {
		if (errno != EEXIST || fstatat(dst, name, &have, AT_SYMLINK_NOFOLLOW) != 0)
			return -1;
		if (!S_ISLNK(have.st_mode) || have.st_uid != 0)
			return 0; /* whole, or not ours */
	}
	return fchownat(dst, name, uid, gid, AT_SYMLINK_NOFOLLOW);
}

/* Copies the skeleton tree into dst (root's while it is filled), skipping
 * what is whole already; never follows a symlink on either side. */
static int copy_tree(int src, int dst, uid_t uid, gid_t gid, int depth)
{
	DIR *dir;
	struct dirent *de;
	int fd, rc = 0;

	if (depth > SKEL_DEPTH)
		return -1;
	fd = dup(src);
	if (fd < 0)
		return -1;
	dir = fdopendir(fd);
	if (dir == NULL) {
		(void)close(fd);
		return -1;
	}
	rewinddir(dir);
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(src, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			rc = -1;
			break;
		}
		if (S_ISDIR(st.st_mode))
			rc = copy_dir(src, dst, de->d_name, &st, uid, gid, depth);
		else if (S_ISREG(st.st_mode))
			rc = copy_file(src, dst, de->d_name, &st, uid, gid);
		else if (S_ISLNK(st.st_mode))
			rc = copy_link(src, dst, de->d_name, uid, gid);
		/* devices, FIFOs and sockets in a skeleton are not copied */
	}
	(void)closedir(dir);
	return rc;
}

int home_taken(const char *base, const char *user, bool *taken, struct es_err *err)
{
	int basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	int rc = 0;

	*taken = false;
	if (basefd < 0)
		return errno == ENOENT
		               ? 0 /* the batch says it cannot make the home */
		               : es_err_errno(err, ES_ECANTCREAT, errno, "cannot open %s", base);
	if (fstatat(basefd, user, &st, AT_SYMLINK_NOFOLLOW) == 0)
		*taken = true;
	else if (errno != ENOENT)
		rc = es_err_errno(err, ES_ECANTCREAT, errno, "cannot look at %s/%s", base, user);
	(void)close(basefd);
	return rc;
}

/* What is at base/user, left as it is: a->home says what (not followed). */
static void home_kept(int basefd, struct newacct *a)
{
	struct stat st;

	if (fstatat(basefd, a->user, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		a->home = HOME_GONE;
		return;
	}
	a->home = S_ISDIR(st.st_mode)   ? HOME_KEPT_DIR
	          : S_ISLNK(st.st_mode) ? HOME_KEPT_LINK
	                                : HOME_KEPT_OTHER;
	a->home_uid = (long)st.st_uid;
	a->home_mode = (unsigned)(st.st_mode & 07777);
}

static int make_home(struct newacct *a, mode_t mode, struct es_err *err)
{
	uid_t uid = (uid_t)a->uid;
	gid_t gid = (gid_t)a->gid;
	int basefd, home = -1, skel = -1, rc = -1;
	bool made = false;
	struct stat st;

	a->home = HOME_MADE;
	basefd = open(a->home_base, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* followed: see above */
	if (basefd < 0)
		return es_err_errno(err, ES_ECANTCREAT, errno, "cannot open %s", a->home_base);
	if (a->home_existed) {
		home_kept(basefd, a);
		rc = 0;
		goto out;
	}
	if (mkdirat(basefd, a->user, 0700) == 0)
		made = true;
	else if (errno != EEXIST) {
		es_err_errno(err, ES_ECANTCREAT, errno, "cannot create %s/%s", a->home_base,
		             a->user);
		goto out;
	}
	home = openat(basefd, a->user,
	              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (home < 0 && (errno == ELOOP || errno == ENOTDIR)) {
		home_kept(basefd, a); /* a link or a file: never eschool's */
		rc = 0;
		goto out;
	}
	if (home < 0 || fstat(home, &st) != 0) {
		es_err_errno(err, ES_ECANTCREAT, errno, "cannot open %s/%s", a->home_base, a->user);
		goto out;
	}
	if (!made && st.st_uid != 0 && st.st_uid != uid) {
		home_kept(basefd, a); /* another's directory */
		rc = 0;
		goto out;
	}
	skel = open(SKEL, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if ((skel >= 0 && copy_tree(skel, home, uid, gid, 0) != 0) || fchmod(home, mode) != 0 ||
	    fchown(home, uid, gid) != 0 || ((mode & 06000) != 0 && fchmod(home, mode) != 0)) {
		es_err_errno(err, ES_ECANTCREAT, errno, "cannot copy %s into %s/%s", SKEL,
		             a->home_base, a->user);
		goto out;
	}
	rc = 0;
out:
	if (skel >= 0)
		(void)close(skel);
	if (home >= 0)
		(void)close(home);
	(void)close(basefd);
	return rc;
}

/* ---- the batch ---- */

/* Said once per command, not once per chunk: an import of 100,000 rows
 * calls shadowdb_batch 800 times. */
static bool warned_sub_ids;

enum { D_PASSWD, D_SHADOW, D_GROUP, D_GSHADOW, D_SUBUID, D_SUBGID, D_COUNT };
static const char *const db_names[D_COUNT] = { "passwd", "shadow", "group",
	                                       "gshadow", "subuid", "subgid" };
/* group files first, so that a passwd entry never names a missing group */
static const int commit_order[D_COUNT] = { D_GROUP, D_GSHADOW, D_SUBUID,
	                                   D_SUBGID, D_PASSWD, D_SHADOW };


static void aging(long v, char *out, size_t outsz)
{
	if (v < 0)
		out[0] = '\0';
	else
		(void)snprintf(out, outsz, "%ld", v);
}

/* Plans one account into the in-memory files. */
static int plan_account(struct db *db, const struct defs *defs, struct idset *uids,
                        struct idset *gids, struct newacct *a, bool *warned_sub,
                        struct es_err *err)
{
	long pl = db_find(&db[D_PASSWD], a->user), gl = db_find(&db[D_GROUP], a->user);
	long uid, gid;
	char gecos[256], smin[24], smax[24], swarn[24];

	/* a ':' or a line break would split an entry: never written */
	if (strpbrk(a->user, ":\n") != NULL || strpbrk(a->hash, ":\n") != NULL ||
	    strpbrk(a->home_base, ":\n") != NULL || strpbrk(a->shell, ":\n") != NULL)
		return es_err_set(err, ES_EDATA,
		                  "':' or a line break in the username, home_base or shell");
	if (a->must_be_new && (pl >= 0 || gl >= 0)) {
		/* the import found no such user or group before it took the lock:
		 * a useradd (groupadd) made it since; reusing it would reset the
		 * password of someone else's account */
		a->refused = true;
		return 0;
	}
	if (pl >= 0) {
		uid = field_num(db[D_PASSWD].hits[pl].line, 2);
		gid = field_num(db[D_PASSWD].hits[pl].line, 3);
	} else {
		uid = idset_next(uids);
		if (uid < 0)
			return es_err_set(err, ES_ECANTCREAT,
			                  "no free user id left between UID_MIN and UID_MAX "
			                  "(/etc/login.defs)");
		if (gl >= 0 && field_num(db[D_GROUP].hits[gl].line, 2) < defs->gid_min)
			return es_err_set(err, ES_ECANTCREAT,
			                  "a system group named %s exists: choose another username",
			                  a->user);
		if (gl >= 0) /* left by an interrupted run: it becomes the private group */
			gid = field_num(db[D_GROUP].hits[gl].line, 2);
		else if (!defs->usergroups)
			gid = 100; /* USERGROUPS_ENAB no: the "users" group, as useradd */
		else if (!idset_used(gids, uid))
			gid = uid; /* uid = gid when possible, as useradd */
		else
			gid = idset_next(gids);
		if (gid < 0)
			return es_err_set(err, ES_ECANTCREAT,
			                  "no free group id left between GID_MIN and GID_MAX");
		es_account_gecos(a->fullname, gecos, sizeof(gecos));
		if (db_add(&db[D_PASSWD], err, "%s:x:%ld:%ld:%s:%s/%s:%s", a->user, uid, gid, gecos,
		           a->home_base, a->user, a->shell) != 0)
			return -1;
		idset_mark(uids, uid);
		a->created = true;
	}
	a->uid = uid;
	a->gid = gid;
	if (uid < 0 || gid < 0)
		return es_err_set(err, ES_ECANTCREAT, "/etc/passwd: malformed entry for %s", a->user);

	/* private group */
	if (defs->usergroups && gl < 0 && !idset_used(gids, gid) &&
	    db_find(&db[D_GROUP], a->user) < 0) {
		if (db_add(&db[D_GROUP], err, "%s:x:%ld:", a->user, gid) != 0)
			return -1;
		idset_mark(gids, gid);
	}
	if (defs->usergroups && db[D_GSHADOW].present && db_find(&db[D_GSHADOW], a->user) < 0 &&
	    db_find(&db[D_GROUP], a->user) >= 0 &&
	    db_add(&db[D_GSHADOW], err, "%s:!::", a->user) != 0)
		return -1;

	/* role groups (created beforehand with groupadd -r), its class's */
	for (size_t k = 0; k <= a->n_groups; k++) {
		const char *name = k < a->n_groups ? a->groups[k] : a->class_group;
		long g, gs;

		if (name == NULL)
			break;
		g = db_find(&db[D_GROUP], name);
		if (g < 0)
			return es_err_set(err, ES_ECANTCREAT, "group %s does not exist", name);
		if (db_add_member(&db[D_GROUP], (size_t)g, 3, a->user, err) != 0)
			return -1;
		gs = db[D_GSHADOW].present ? db_find(&db[D_GSHADOW], name) : -1;
		if (gs >= 0 && db_add_member(&db[D_GSHADOW], (size_t)gs, 3, a->user, err) != 0)
			return -1;
	}

	/* password and aging: the minimum age is login.defs', the rest what
	 * the role's policy says (es_account_aging), as chage would set it */
	aging(defs->pass_min, smin, sizeof(smin));
	aging(a->aging.max, smax, sizeof(smax));
	aging(a->aging.warn, swarn, sizeof(swarn));
	{
		long sl = db_find(&db[D_SHADOW], a->user);
		char day[24];

		(void)snprintf(day, sizeof(day), "%ld", a->aging.lastchg);
		if (sl < 0) {
			if (db_add(&db[D_SHADOW], err, "%s:%s:%s:%s:%s:%s:::", a->user, a->hash, day,
			           smin, smax, swarn) != 0)
				return -1;
		} else if (db_set_field(&db[D_SHADOW], (size_t)sl, 1, a->hash, err) != 0 ||
		           db_set_field(&db[D_SHADOW], (size_t)sl, 2, day, err) != 0 ||
		           db_set_field(&db[D_SHADOW], (size_t)sl, 4, smax, err) != 0 ||
		           db_set_field(&db[D_SHADOW], (size_t)sl, 5, swarn, err) != 0) {
			return -1;
		}
	}

	/* subordinate ids, as useradd gives them on Debian */
	for (int s = D_SUBUID; s <= D_SUBGID; s++) {
		struct db *d = &db[s];
		long min = s == D_SUBUID ? defs->sub_uid_min : defs->sub_gid_min;
		long max = s == D_SUBUID ? defs->sub_uid_max : defs->sub_gid_max;
		long count = s == D_SUBUID ? defs->sub_uid_count : defs->sub_gid_count;
		long start;

		if (!d->present || count <= 0 || db_find(d, a->user) >= 0)
			continue;
		start = d->sub_end > min ? d->sub_end : min;
		if (start + count - 1 > max) {
			if (!*warned_sub)
				ui_warn("no subordinate ids left in /etc/%s (SUB_UID_MAX/SUB_GID_MAX): "
				        "new accounts get none (they matter only for rootless "
				        "containers)",
				        d->name);
			*warned_sub = true;
			continue;
		}
		if (db_add(d, err, "%s:%ld:%ld", a->user, start, count) != 0)
			return -1;
		d->sub_end = start + count;
	}
	return 0;
}

static void flush_nscd(void)
{
	static const char nscd[] = "/usr/sbin/nscd";
	const char *argv[] = { nscd, "-i", "passwd", NULL };
	const char *argv_g[] = { nscd, "-i", "group", NULL };
	char msg[128];
	struct es_err e;

	if (access(nscd, X_OK) != 0)
		return;
	(void)run_command(argv, NULL, 0, msg, sizeof(msg), &e);
	(void)run_command(argv_g, NULL, 0, msg, sizeof(msg), &e);
}

/* Each file locked (shadow's .lock files) and given its first pass
 * (db_read); subuid and subgid only when they exist. */
static int db_open_all(struct db *db, struct idset *uids, struct idset *gids,
                       struct es_err *err)
{
	for (int i = 0; i < D_COUNT; i++) {
		bool sub = i == D_SUBUID || i == D_SUBGID;
		struct idset *ids = i == D_PASSWD ? uids : i == D_GROUP ? gids : NULL;

		if (access(db[i].path, F_OK) != 0 && sub)
			continue;
		if (lock_one(&db[i], err) != 0 || db_read(&db[i], ids, sub, err) != 0)
			return -1;
	}
	return 0;
}

/* What the batch looks up in the files: its users' names, their groups. */
static int batch_names(const struct newacct *accts, size_t n, struct strset *want,
                       struct es_err *err)
{
	for (size_t i = 0; i < n; i++) {
		if (strset_put(want, accts[i].user, NULL) != 0 ||
		    (accts[i].class_group != NULL && strset_put(want, accts[i].class_group, NULL) != 0))
			return es_err_set(err, ES_EOS, "out of memory");
		for (size_t k = 0; k < accts[i].n_groups; k++)
			if (strset_put(want, accts[i].groups[k], NULL) != 0)
				return es_err_set(err, ES_EOS, "out of memory");
	}
	return 0;
}

/* The changed files in place: all new files are written and synced before
 * the first one replaces the old (a failure there leaves the system as it
 * was: nothing created), then renamed in commit_order, then /etc synced. */
static int db_write_all(struct db *db, struct newacct *accts, size_t n, struct es_err *err)
{
	int dfd;

	for (int i = 0; i < D_COUNT; i++)
		if (db[i].changed && db_stage(&db[i], err) != 0) {
			for (size_t k = 0; k < n; k++)
				accts[k].created = false;
			return -1;
		}
	for (int k = 0; k < D_COUNT; k++) {
		int i = commit_order[k];
		if (db[i].changed && db_commit(&db[i], err) != 0)
			return -1;
	}
	dfd = open(ETC, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		(void)close(dfd);
	}
	return 0;
}

int shadowdb_batch(struct newacct *accts, size_t n, struct es_err *err)
{
	struct db db[D_COUNT];
	struct defs defs;
	struct idset uids = { 0 }, gids = { 0 };
	struct strset want = { 0 };
	bool pwlocked = false;
	int rc = -1;

	memset(db, 0, sizeof(db));
	defs_read(&defs);
	for (int i = 0; i < D_COUNT; i++) {
		db[i].name = db_names[i];
		db[i].want = &want;
		(void)snprintf(db[i].path, sizeof(db[i].path), ETC "/%s", db_names[i]);
	}
	if (lckpwdf() != 0) {
		es_err_errno(err, ES_ETEMP, errno,
		             "cannot lock the password files (another useradd or passwd is "
		             "running?): try again in a moment");
		goto out;
	}
	pwlocked = true;
	if (batch_names(accts, n, &want, err) != 0 ||
	    idset_init(&uids, defs.uid_min, defs.uid_max, err) != 0 ||
	    idset_init(&gids, defs.gid_min, defs.gid_max, err) != 0 ||
	    db_open_all(db, &uids, &gids, err) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		accts[i].created = false;
		accts[i].refused = false;
		accts[i].home = HOME_MADE;
		if (plan_account(db, &defs, &uids, &gids, &accts[i], &warned_sub_ids, err) != 0) {
			es_err_prefix(err, "user %s", accts[i].user);
			for (size_t k = 0; k <= i; k++)
				accts[k].created = false; /* nothing was written */
			goto out;
		}
	}
	/* the role groups' member lists, once for the whole batch */
	if (db_flush_members(&db[D_GROUP], err) != 0 || db_flush_members(&db[D_GSHADOW], err) != 0) {
		for (size_t k = 0; k < n; k++)
			accts[k].created = false;
		goto out;
	}
	rc = db_write_all(db, accts, n, err);
out:
	for (int i = D_COUNT - 1; i >= 0; i--) {
		char staged[80];
		(void)snprintf(staged, sizeof(staged), "%s+", db[i].path);
		if (rc != 0 && db[i].locked)
			(void)unlink(staged);
		unlock_one(&db[i]);
		db_free(&db[i]);
	}
	if (pwlocked)
		(void)ulckpwdf();
	free(uids.bits);
	free(gids.bits);
	strset_free(&want);
	if (rc != 0)
		return rc;
	flush_nscd();
	/* homes last: the owner must exist first (a crash here is completed
	 * by the next run, which finds the account and copies what is missing) */
	for (size_t i = 0; i < n; i++)
		if (!accts[i].refused && make_home(&accts[i], (mode_t)defs.home_mode, err) != 0)
			return es_err_prefix(err, "user %s", accts[i].user);
	return 0;
}
