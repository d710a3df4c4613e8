#include "es_queue.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>


#include "es_fs.h"
#include "es_bytes.h"
#include "es_util.h"

#define MAGIC "eschool-queue 1\n"
#define WHAT "spool directory"
#define MAX_HEADER 4096
#define SYNC_EVERY 256 /* delivered messages between two syncs of new/ */
#define UNLINK_BATCH 32

/* The spool and one of its subdirectories, created and checked. */
static int open_sub(const char *spool, const char *sub, int *sfd, int *dfd, struct es_err *err)
{
	*sfd = *dfd = -1;
	if (spool == NULL || spool[0] != '/')
		return es_err_set(err, ES_ECONFIG, "spool_dir must be an absolute path");
	if (es_fs_open_dir(AT_FDCWD, spool, NULL, true, ES_EPERM, WHAT, sfd, err) != 0)
		return -1;
	if (sub != NULL && es_fs_open_dir(*sfd, spool, sub, true, ES_EPERM, WHAT, dfd, err) != 0) {
		es_fs_close(sfd);
		return -1;
	}
	return 0;
}

bool es_queue_valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= sizeof(((struct es_qmsg *)0)->id) || id[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f') || id[i] == '.'))
			return false;
	return true;
}

int es_queue_format(const struct es_qmsg *m, const char *msg, size_t len, struct es_buf *b)
{
	int rc = es_buf_puts(b, MAGIC);

	rc |= es_buf_printf(b, "id=%s\nto=%s\nkind=%s\nuser=%s\npriority=%d\n", m->id, m->to,
	                    m->kind, m->user, m->priority);
	rc |= es_buf_printf(b, "created=%" PRId64 "\nnext_try=%" PRId64 "\nattempts=%ld\n",
	                    m->created, m->next_try, m->attempts);
	rc |= es_buf_puts(b, "last_error=");
	rc |= es_pct_encode(b, m->last_error);
	rc |= es_buf_printf(b, "\nsecret=%d\nsize=%zu\nend\n", m->secret ? 1 : 0, len);
	rc |= es_buf_append(b, msg, len);
	return rc;
}

static int set_field(struct es_qmsg *m, const char *key, char *value, size_t *size)
{
	long v;
	int64_t t;
	char *end;

	if (strcmp(key, "id") == 0)
		return es_strlcpy(m->id, value, sizeof(m->id));
	if (strcmp(key, "to") == 0)
		return es_strlcpy(m->to, value, sizeof(m->to));
	if (strcmp(key, "kind") == 0)
		return es_strlcpy(m->kind, value, sizeof(m->kind));
	if (strcmp(key, "user") == 0)
		return es_strlcpy(m->user, value, sizeof(m->user));
	if (strcmp(key, "last_error") == 0)
		return es_pct_decode(value) != 0 ? -1
		                                 : es_strlcpy(m->last_error, value, sizeof(m->last_error));
	if (strcmp(key, "priority") == 0 || strcmp(key, "attempts") == 0 ||
	    strcmp(key, "secret") == 0) {
		if (es_parse_long(value, 0, 1000000, &v) != 0)
			return -1;
		if (key[0] == 'p')
			m->priority = (int)v;
		else if (key[0] == 'a')
			m->attempts = v;
		else
			m->secret = v != 0;
		return 0;
	}
	if (strcmp(key, "created") == 0 || strcmp(key, "next_try") == 0 ||
	    strcmp(key, "size") == 0) {
		errno = 0;
		t = strtoll(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || t < 0)
			return -1;
		if (key[0] == 'c')
			m->created = t;
		else if (key[0] == 'n')
			m->next_try = t;
		else
			*size = (size_t)t;
		return 0;
	}
	return 0; /* unknown keys: from a newer version, ignored */
}

/* The header of data into m: 0 with *hlen (the header's length, "end"
 * line included) and *size (the message's stated size), or -1. */
static int parse_header(char *data, size_t len, struct es_qmsg *m, size_t *hlen, size_t *size_out)
{
	size_t size = SIZE_MAX, pos = strlen(MAGIC);
	char *line;

	memset(m, 0, sizeof(*m));
	if (len < pos || memcmp(data, MAGIC, pos) != 0)
		return -1;
	for (;;) {
		char *nl, *eq;

		if (pos >= len || pos > MAX_HEADER)
			return -1;
		line = data + pos;
		nl = memchr(line, '\n', len - pos);
		if (nl == NULL)
			return -1;
		*nl = '\0';
		pos = (size_t)(nl - data) + 1;
		if (strcmp(line, "end") == 0)
			break;
		eq = strchr(line, '=');
		if (eq == NULL)
			return -1;
		*eq = '\0';
		if (set_field(m, line, eq + 1, &size) != 0)
			return -1;
	}
	if (size == SIZE_MAX || !es_queue_valid_id(m->id) || m->to[0] == '\0')
		return -1;
	*hlen = pos;
	*size_out = size;
	return 0;
}

int es_queue_parse(char *data, size_t len, struct es_qmsg *m, const char **body, size_t *blen)
{
	size_t pos, size;

	/* the stated size must match exactly: a torn write is never valid */
	if (parse_header(data, len, m, &pos, &size) != 0 || len - pos != size)
		return -1;
	*body = data + pos;
	*blen = size;
	return 0;
}

/* Opens and reads a queue file, refusing (ES_EDATA, one message naming the
 * file, why, and what to do) anything but a regular root file of mode 0600
 * and sane size: a symlink is never followed, a FIFO never waited on. */
static int open_msg(int dfd, const char *name, const char *spool, const char *sub, int *fdp,
                    size_t *size, struct es_err *err)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), e;
	struct stat st;
	char why[160];
	const char *refusal;

	*fdp = -1;
	if (fd < 0) {
		e = errno;
		if (e == ENOENT)
			return es_err_set(err, ES_ENOUSER, "no message %s in the queue", name);
		refusal = es_fs_open_refusal(e);
		if (refusal != NULL)
			return es_err_set(err, ES_EDATA,
			                  "unsafe queue file %s/%s/%s: %s; it is not read: move it "
			                  "away (a queue file is a regular file, 0600, root's)",
			                  spool, sub, name, refusal);
		return es_err_errno(err, ES_EIO, e, "cannot open %s/%s/%s", spool, sub, name);
	}
	if (fstat(fd, &st) != 0) {
		e = errno;
		(void)close(fd);
		return es_err_errno(err, ES_EIO, e, "cannot stat %s/%s/%s", spool, sub, name);
	}
	/* 0600 exactly: a queue file may hold a password (SPEC 5) */
	if (!es_fs_file_ok(&st, 077, ES_QUEUE_MAX_MSG + MAX_HEADER, why, sizeof(why))) {
		(void)close(fd);
		return es_err_set(err, ES_EDATA,
		                  "unsafe queue file %s/%s/%s: %s; it is not read: move it away (a "
		                  "queue file is a regular file, 0600, root's)",
		                  spool, sub, name, why);
	}
	*fdp = fd;
	*size = (size_t)st.st_size;
	return 0;
}

static int read_file(int dfd, const char *name, char **data, size_t *len, struct es_err *err,
                     const char *spool, const char *sub)
{
	size_t size;
	int fd, e;

	if (open_msg(dfd, name, spool, sub, &fd, &size, err) != 0)
		return -1;
	e = es_fs_read_alloc(fd, size, data, len);
	(void)close(fd);
	if (e == ENOMEM)
		return es_err_set(err, ES_EOS, "out of memory");
	if (e != 0)
		return es_err_errno(err, ES_EIO, e, "cannot read %s/%s/%s", spool, sub, name);
	return 0;
}

/* Writes m (and the message) as sub/ID through tmp/. A new message
 * (adding) that cannot be written was not queued; an existing one
 * (rewriting its metadata) stays as it was. */
static int write_msg(const char *spool, const char *sub, const struct es_qmsg *m,
                     const char *msg, size_t len, bool adding, struct es_err *err)
{
	struct es_buf b = { 0 };
	int sfd, tfd = -1, dfd = -1, e = 0, rc = -1;

	if (open_sub(spool, "tmp", &sfd, &tfd, err) != 0)
		return -1;
	if (es_fs_open_dir(sfd, spool, sub, true, ES_EPERM, WHAT, &dfd, err) != 0)
		goto out;
	if (es_queue_format(m, msg, len, &b) != 0) {
		es_err_set(err, ES_EOS, "out of memory");
		goto out;
	}
	e = es_fs_write_atomic(tfd, dfd, m->id, b.data, b.len);
	if (e != 0) {
		char ebuf[128];
		const char *hint = es_fs_write_hint(e);

		/* ES_EIO, not ES_ETEMP: 75 says "queued for retry" (SPEC 4) */
		es_err_set(err, ES_EIO, "cannot write %s/%s/%s: %s%s%s (%s)", spool, sub, m->id,
		           strerror_r(e, ebuf, sizeof(ebuf)), hint[0] != '\0' ? "; " : "", hint,
		           adding ? "nothing was queued"
		                  : "the message stays queued as it was, without this update");
		goto out;
	}
	rc = 0;
out:
	es_buf_free(&b); /* wiped: it may hold a password */
	es_fs_close(&dfd);
	es_fs_close(&tfd);
	es_fs_close(&sfd);
	return rc;
}

int es_queue_add(const char *spool, struct es_qmsg *m, const char *msg, size_t len, time_t now,
                 struct es_err *err)
{
	char hex[17];

	if (len > (size_t)ES_QUEUE_MAX_MSG)
		return es_err_set(err, ES_EDATA, "message larger than 8 MiB");
	if (es_has_control(m->to) || es_has_control(m->kind) || es_has_control(m->user))
		return es_err_set(err, ES_EDATA, "control character in a queue field");
	if (es_random_hex(hex, 8) != 0)
		return es_err_errno(err, ES_EIO, errno, "no random bytes for a message id");
	(void)snprintf(m->id, sizeof(m->id), "%010" PRId64 ".%s", (int64_t)now, hex);
	m->created = (int64_t)now;
	m->failed = false;
	return write_msg(spool, "new", m, msg, len, true, err);
}

int es_queue_read(const char *spool, const char *id, bool failed, struct es_qmsg *m,
                  char **msg, size_t *len, struct es_err *err)
{
	const char *sub = failed ? "failed" : "new";
	int sfd, dfd;
	char *data = NULL;
	size_t dlen = 0, blen = 0;
	const char *body = NULL;
	int rc = -1;

	if (!es_queue_valid_id(id))
		return es_err_set(err, ES_EDATA, "'%s' is not a queue id (see 'eschool queue list')",
		                  id);
	if (open_sub(spool, sub, &sfd, &dfd, err) != 0)
		return -1;
	if (read_file(dfd, id, &data, &dlen, err, spool, sub) != 0)
		goto out;
	if (es_queue_parse(data, dlen, m, &body, &blen) != 0 || strcmp(m->id, id) != 0) {
		es_err_set(err, ES_EDATA,
		           "corrupt or incomplete queue file %s/%s/%s; move it away", spool, sub, id);
		goto out;
	}
	m->failed = failed;
	if (msg != NULL) {
		/* the message moves to the front of the buffer: one allocation */
		memmove(data, body, blen);
		data[blen] = '\0';
		*msg = data;
		*len = blen;
		data = NULL;
	}
	rc = 0;
out:
	es_free_wiped(data, dlen);
	es_fs_close(&dfd);
	es_fs_close(&sfd);
	return rc;
}

int es_queue_update(const char *spool, const struct es_qmsg *m, struct es_err *err)
{
	struct es_qmsg old;
	char *msg = NULL;
	size_t len = 0;
	int rc;

	if (es_queue_read(spool, m->id, m->failed, &old, &msg, &len, err) != 0)
		return -1;
	rc = write_msg(spool, m->failed ? "failed" : "new", m, msg, len, false, err);
	es_free_wiped(msg, len);
	return rc;
}

int es_queue_replace(const char *spool, const struct es_qmsg *m, const char *msg, size_t len,
                     struct es_err *err)
{
	if (!es_queue_valid_id(m->id))
		return es_err_set(err, ES_EDATA, "'%s' is not a queue id", m->id);
	if (len > (size_t)ES_QUEUE_MAX_MSG)
		return es_err_set(err, ES_EDATA, "message larger than 8 MiB");
	if (es_has_control(m->to) || es_has_control(m->kind) || es_has_control(m->user))
		return es_err_set(err, ES_EDATA, "control character in a queue field");
	return write_msg(spool, m->failed ? "failed" : "new", m, msg, len, false, err);
}

int es_queue_remove(const char *spool, const char *id, bool failed, struct es_err *err)
{
	const char *sub = failed ? "failed" : "new";
	int sfd, dfd, rc = -1;

	if (!es_queue_valid_id(id))
		return es_err_set(err, ES_EDATA, "'%s' is not a queue id", id);
	if (open_sub(spool, sub, &sfd, &dfd, err) != 0)
		return -1;
	if (unlinkat(dfd, id, 0) != 0)
		es_err_errno(err, errno == ENOENT ? ES_ENOUSER : ES_EIO, errno, "cannot remove %s/%s/%s",
		             spool, sub, id);
	else if (es_fs_fsync(dfd) != 0)
		es_err_errno(err, ES_EIO, errno, "cannot sync %s/%s", spool, sub);
	else
		rc = 0;
	es_fs_close(&dfd);
	es_fs_close(&sfd);
	return rc;
}

static int move(const char *spool, const char *id, const char *from, const char *to,
                struct es_err *err)
{
	int sfd, fd_from = -1, fd_to = -1, rc = -1;

	if (open_sub(spool, from, &sfd, &fd_from, err) != 0)
		return -1;
	if (es_fs_open_dir(sfd, spool, to, true, ES_EPERM, WHAT, &fd_to, err) != 0)
		goto out;
	if (renameat(fd_from, id, fd_to, id) != 0) {
		es_err_errno(err, errno == ENOENT ? ES_ENOUSER : ES_EIO, errno,
		             "cannot move %s/%s/%s to %s/", spool, from, id, to);
		goto out;
	}
	if (es_fs_fsync(fd_to) != 0 || es_fs_fsync(fd_from) != 0) {
		es_err_errno(err, ES_EIO, errno, "cannot sync %s", spool);
		goto out;
	}
	rc = 0;
out:
	es_fs_close(&fd_to);
	es_fs_close(&fd_from);
	es_fs_close(&sfd);
	return rc;
}

int es_queue_fail(const char *spool, const struct es_qmsg *m, struct es_err *err)
{
	struct es_qmsg f = *m;

	if (!es_queue_valid_id(m->id))
		return es_err_set(err, ES_EDATA, "'%s' is not a queue id", m->id);
	if (move(spool, m->id, "new", "failed", err) != 0)
		return -1;
	f.failed = true;
	return es_queue_update(spool, &f, err);
}

int es_queue_revive(const char *spool, const char *id, struct es_err *err)
{
	struct es_qmsg m;

	if (!es_queue_valid_id(id))
		return es_err_set(err, ES_EDATA, "'%s' is not a queue id (see 'eschool queue list')",
		                  id);
	if (move(spool, id, "failed", "new", err) != 0)
		return -1;
	if (es_queue_read(spool, id, false, &m, NULL, NULL, err) != 0)
		return -1;
	m.attempts = 0;
	m.next_try = 0;
	m.last_error[0] = '\0';
	return es_queue_update(spool, &m, err);
}

static int cmp_msgs(const void *a, const void *b)
{
	const struct es_qmsg *x = a, *y = b;

	if (x->failed != y->failed)
		return x->failed ? 1 : -1;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* A queue file's metadata, for listing: only its header is read (a
 * listing of 100,000 mails reads no message), checked as es_queue_parse
 * checks the whole: the stated size and the header's must make the
 * file's (a torn write is never valid). */
static int read_meta(int dfd, const char *spool, const char *sub, const char *id,
                     struct es_qmsg *m, struct es_err *err)
{
	char head[MAX_HEADER + 64];
	size_t fsize, want, got = 0, hlen = 0, size = 0;
	int fd, rc = 0, e;

	if (!es_queue_valid_id(id))
		return es_err_set(err, ES_EDATA, "'%s/%s/%s' is not a queue file; move it away",
		                  spool, sub, id);
	if (open_msg(dfd, id, spool, sub, &fd, &fsize, err) != 0)
		return -1;
	want = fsize < sizeof(head) - 1 ? fsize : sizeof(head) - 1;
	e = es_fs_read_all(fd, head, want, &got);
	(void)close(fd);
	head[got] = '\0';
	if (e != 0)
		rc = es_err_errno(err, ES_EIO, e, "cannot read %s/%s/%s", spool, sub, id);
	else if (parse_header(head, got, m, &hlen, &size) != 0 || strcmp(m->id, id) != 0 ||
	         hlen + size != fsize)
		rc = es_err_set(err, ES_EDATA,
		                "corrupt or incomplete queue file %s/%s/%s; move it away", spool, sub,
		                id);
	explicit_bzero(head, sizeof(head)); /* the start of a message may hold a password */
	return rc;
}

int es_queue_scan(const char *spool, es_queue_visit visit, void *arg, size_t *n_corrupt,
                  struct es_err *err)
{
	static const char *const subs[] = { "new", "failed" };
	size_t bad = 0;
	int rc = 0;

	*n_corrupt = 0;
	for (size_t s = 0; s < 2 && rc == 0; s++) {
		int sfd, dfd;
		DIR *dir;
		struct dirent *de;

		if (open_sub(spool, subs[s], &sfd, &dfd, err) != 0)
			return -1;
		dir = fdopendir(dfd);
		if (dir == NULL) {
			es_err_errno(err, ES_EIO, errno, "cannot list %s/%s", spool, subs[s]);
			es_fs_close(&dfd);
			es_fs_close(&sfd);
			return -1;
		}
		while (rc == 0 && (de = readdir(dir)) != NULL) {
			struct es_err e2 = { 0 };
			struct es_qmsg m;

			if (de->d_name[0] == '.')
				continue;
			if (read_meta(dfd, spool, subs[s], de->d_name, &m, &e2) != 0) {
				bad++;
				if (err != NULL)
					*err = e2; /* the last one is reported */
				continue;
			}
			m.failed = s == 1;
			rc = visit(&m, arg);
		}
		(void)closedir(dir);
		es_fs_close(&sfd);
	}
	*n_corrupt = bad;
	return rc;
}

struct collected {
	struct es_qmsg *list;
	size_t n, cap;
};

static int collect(const struct es_qmsg *m, void *arg)
{
	struct collected *c = arg;

	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct es_qmsg *nl = realloc(c->list, ncap * sizeof(*nl));

		if (nl == NULL)
			return 1;
		c->list = nl;
		c->cap = ncap;
	}
	c->list[c->n++] = *m;
	return 0;
}

int es_queue_list(const char *spool, struct es_qmsg **out, size_t *n, size_t *n_corrupt,
                  struct es_err *err)
{
	struct collected c = { 0 };
	int rc = es_queue_scan(spool, collect, &c, n_corrupt, err);

	*out = NULL;
	*n = 0;
	if (rc != 0) {
		if (rc > 0) /* (collect's) */
			es_err_set(err, ES_EOS, "out of memory");
		free(c.list);
		return -1;
	}
	if (c.n > 1)
		qsort(c.list, c.n, sizeof(*c.list), cmp_msgs);
	*out = c.list;
	*n = c.n;
	return 0;
}

int es_queue_lock(const char *spool, bool wait, int *fd, struct es_err *err)
{
	int sfd, dfd;

	*fd = -1;
	if (open_sub(spool, NULL, &sfd, &dfd, err) != 0)
		return -1;
	while (flock(sfd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
		int e = errno;
		if (e == EINTR)
			continue;
		es_fs_close(&sfd);
		if (e == EWOULDBLOCK)
			return es_err_set(err, ES_ETEMP, "another 'eschool queue run' is delivering");
		return es_err_errno(err, ES_EIO, e, "cannot lock %s", spool);
	}
	*fd = sfd;
	return 0;
}

/* ---- a sender's handle ---- */

struct unlink_job {
	struct unlink_job *next;
	char id[48];
};

struct es_queue_run {
	char spool[4096];
	int spool_fd, new_fd, sent_fd;
	unsigned since_sync;
	/* the deleter thread's work list */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct unlink_job *head, *tail;
	unsigned pending;  /* jobs added since the thread was last woken */
	bool closing, thread_started;
	pthread_t thread;
};

static void *deleter(void *arg)
{
	struct es_queue_run *qr = arg;

	(void)pthread_mutex_lock(&qr->mu);
	for (;;) {
		struct unlink_job *job = qr->head;

		if (job == NULL) {
			if (qr->closing)
				break;
			(void)pthread_cond_wait(&qr->cv, &qr->mu);
			continue;
		}
		qr->head = job->next;
		if (qr->head == NULL)
			qr->tail = NULL;
		(void)pthread_mutex_unlock(&qr->mu);
		(void)unlinkat(qr->sent_fd, job->id, 0); /* leftovers go at the next open */
		free(job);
		(void)pthread_mutex_lock(&qr->mu);
	}
	(void)pthread_mutex_unlock(&qr->mu);
	return NULL;
}

/* Deletes what a killed run left in sent/ (delivered already). */
static void sweep_sent(int sent_fd)
{
	int fd = dup(sent_fd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (dir == NULL) {
		if (fd >= 0)
			(void)close(fd);
		return;
	}
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.' && es_queue_valid_id(de->d_name))
			(void)unlinkat(sent_fd, de->d_name, 0);
	(void)closedir(dir);
}

/* What writers killed before their rename left in tmp/ (a copy of a
 * message may hold a password): deleted once stale (es_fs_sweep_tmp). */
static void sweep_tmp(int spool_fd)
{
	es_fs_sweep_tmp(openat(spool_fd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

int es_queue_run_open(const char *spool, struct es_queue_run **out, struct es_err *err)
{
	struct es_queue_run *qr = calloc(1, sizeof(*qr));

	*out = NULL;
	if (qr == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	qr->spool_fd = qr->new_fd = qr->sent_fd = -1;
	if (es_strlcpy(qr->spool, spool, sizeof(qr->spool)) != 0 ||
	    open_sub(spool, "new", &qr->spool_fd, &qr->new_fd, err) != 0 ||
	    es_fs_open_dir(qr->spool_fd, spool, "sent", true, ES_EPERM, WHAT, &qr->sent_fd, err) !=
	            0) {
		if (err != NULL && err->msg[0] == '\0')
			es_err_set(err, ES_ECONFIG, "spool_dir is too long");
		es_fs_close(&qr->new_fd);
		es_fs_close(&qr->spool_fd);
		free(qr);
		return -1;
	}
	sweep_sent(qr->sent_fd);
	sweep_tmp(qr->spool_fd);
	(void)pthread_mutex_init(&qr->mu, NULL);
	(void)pthread_cond_init(&qr->cv, NULL);
	qr->thread_started = pthread_create(&qr->thread, NULL, deleter, qr) == 0;
	*out = qr;
	return 0;
}

int es_queue_run_read(struct es_queue_run *qr, const char *id, struct es_qmsg *m, char **msg,
                      size_t *len, struct es_err *err)
{
	char *data = NULL;
	size_t dlen = 0, blen = 0;
	const char *body = NULL;

	if (!es_queue_valid_id(id))
		return es_err_set(err, ES_EDATA, "'%s' is not a queue id", id);
	if (read_file(qr->new_fd, id, &data, &dlen, err, qr->spool, "new") != 0)
		return -1;
	if (es_queue_parse(data, dlen, m, &body, &blen) != 0 || strcmp(m->id, id) != 0) {
		es_free_wiped(data, dlen);
		return es_err_set(err, ES_EDATA,
		                  "corrupt or incomplete queue file %s/new/%s; move it away", qr->spool,
		                  id);
	}
	m->failed = false;
	memmove(data, body, blen);
	data[blen] = '\0';
	*msg = data;
	*len = blen;
	return 0;
}

int es_queue_run_done(struct es_queue_run *qr, const char *id, struct es_err *err)
{
	struct unlink_job *job;

	if (!es_queue_valid_id(id))
		return es_err_set(err, ES_EDATA, "'%s' is not a queue id", id);
	if (renameat(qr->new_fd, id, qr->sent_fd, id) != 0)
		return es_err_errno(err, errno == ENOENT ? ES_ENOUSER : ES_EIO, errno,
		                    "cannot move %s/new/%s to sent/", qr->spool, id);
	if (++qr->since_sync >= SYNC_EVERY) {
		qr->since_sync = 0;
		(void)es_fs_fsync(qr->new_fd);
	}
	job = malloc(sizeof(*job));
	if (job == NULL || !qr->thread_started) {
		free(job);
		(void)unlinkat(qr->sent_fd, id, 0);
		return 0;
	}
	job->next = NULL;
	(void)es_strlcpy(job->id, id, sizeof(job->id));
	(void)pthread_mutex_lock(&qr->mu);
	if (qr->tail != NULL)
		qr->tail->next = job;
	else
		qr->head = job;
	qr->tail = job;
	/* woken for a batch, not for each file: fewer context switches on
	 * the sending path (close wakes it for the rest) */
	if (++qr->pending >= UNLINK_BATCH) {
		qr->pending = 0;
		(void)pthread_cond_signal(&qr->cv);
	}
	(void)pthread_mutex_unlock(&qr->mu);
	return 0;
}

void es_queue_run_close(struct es_queue_run *qr)
{
	if (qr == NULL)
		return;
	if (qr->thread_started) {
		(void)pthread_mutex_lock(&qr->mu);
		qr->closing = true;
		(void)pthread_cond_signal(&qr->cv);
		(void)pthread_mutex_unlock(&qr->mu);
		(void)pthread_join(qr->thread, NULL);
	}
	(void)pthread_mutex_destroy(&qr->mu);
	(void)pthread_cond_destroy(&qr->cv);
	(void)es_fs_fsync(qr->new_fd);
	(void)es_fs_fsync(qr->sent_fd);
	es_fs_close(&qr->sent_fd);
	es_fs_close(&qr->new_fd);
	es_fs_close(&qr->spool_fd);
	free(qr);
}
