/* The import's working copy of the roster (spill.h). */
#include "spill.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "es_config.h"
#include "es_fs.h"
#include "es_util.h"

/* room reserved a quarter more at a time, at least this: few calls, and
 * a small roster on a small file system asks for little */
#define SPILL_GROW ((size_t)64 << 10)

/* An unnamed file in the directory dfd: O_TMPFILE, else (a file system
 * without it) a unique name removed at once. -1 with errno. */
static int unnamed_file(int dfd, const char *dir)
{
	char path[ES_PATH_LEN + 32];
	int fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	if ((size_t)snprintf(path, sizeof(path), "%s/.eschool-import-XXXXXX", dir) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0 && unlink(path) != 0) {
		int saved = errno;

		(void)close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static size_t page_size(void)
{
	long page = sysconf(_SC_PAGESIZE);

	return page > 0 ? (size_t)page : 4096;
}

int spill_open(struct spill *s, const char *state_dir, size_t reserve, struct es_err *err)
{
	size_t page = page_size();
	int dfd = -1, rc = 1;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->dir = state_dir;
	if (reserve > SIZE_MAX - page)
		reserve = SIZE_MAX - page;
	s->reserved = (reserve + page - 1) & ~(page - 1);
	if (state_dir != NULL) {
		rc = es_fs_open_dir(-1, state_dir, NULL, false, ES_EPERM, "state directory", &dfd, err);
		if (rc < 0)
			return -1;
	}
	if (rc == 1) {
		/* ordinary memory: address space only (PROT_NONE is charged
		 * nothing, even without overcommit), made writable as it is
		 * used (make_room) */
		s->base = mmap(NULL, s->reserved, PROT_NONE,
		               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (s->base == MAP_FAILED) {
			s->base = NULL;
			return es_err_errno(err, ES_EOS, errno, "out of memory");
		}
		return 0;
	}
	s->fd = unnamed_file(dfd, state_dir);
	es_fs_close(&dfd);
	if (s->fd < 0) {
		int e = errno;
		char ebuf[128];
		const char *hint = es_fs_write_hint(e);

		return es_err_set(err, ES_EIO,
		                  "cannot make the import's working copy of the roster in %s: %s%s%s "
		                  "(nothing was imported)",
		                  state_dir, strerror_r(e, ebuf, sizeof(ebuf)), hint[0] != '\0' ? "; " : "",
		                  hint);
	}
	s->base = mmap(NULL, s->reserved, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (s->base == MAP_FAILED) {
		s->base = NULL;
		es_fs_close(&s->fd);
		return es_err_errno(err, ES_EOS, errno, "cannot map the import's working copy");
	}
	return 0;
}

/* Room up to `need` bytes: the file's blocks allocated now (a full disk
 * is this error, not a SIGBUS when a page of the mapping is first
 * written), or ordinary memory made writable; a quarter more at a time. */
static int make_room(struct spill *s, size_t need, struct es_err *err)
{
	size_t page = page_size(), grow;
	int rc;

	if (need <= s->room)
		return 0;
	if (s->base == NULL || need > s->reserved)
		return es_err_set(err, ES_EDATA, "the roster is too large for the import's working copy");
	grow = s->room / 4 > SPILL_GROW ? s->room / 4 : SPILL_GROW;
	if (grow < need - s->room)
		grow = need - s->room;
	grow = (grow + page - 1) & ~(page - 1);
	if (grow > s->reserved - s->room)
		grow = s->reserved - s->room;
	if (s->fd < 0) {
		if (mprotect(s->base + s->room, grow, PROT_READ | PROT_WRITE) != 0)
			return es_err_errno(err, ES_EOS, errno, "out of memory");
		s->room += grow;
		return 0;
	}
	rc = posix_fallocate(s->fd, (off_t)s->room, (off_t)grow);
	if (rc != 0) {
		char ebuf[128];
		const char *hint = es_fs_write_hint(rc);

		return es_err_set(err, hint[0] != '\0' ? ES_EIO : ES_EOS,
		                  "cannot make room in %s for the import's working copy of the roster "
		                  "(%zu KB): %s%s%s (nothing was imported)",
		                  s->dir, (s->room + grow) >> 10, strerror_r(rc, ebuf, sizeof(ebuf)),
		                  hint[0] != '\0' ? "; " : "", hint);
	}
	s->room += grow;
	return 0;
}

void *spill_alloc(struct spill *s, size_t n, struct es_err *err)
{
	size_t at = (s->used + 7) & ~(size_t)7;
	void *p;

	if (s->base == NULL || n > s->reserved || at > s->reserved - n) {
		es_err_set(err, ES_EDATA, "the roster is too large for the import's working copy");
		return NULL;
	}
	if (make_room(s, at + n, err) != 0)
		return NULL;
	p = s->base + at;
	s->used = at + n;
	return p;
}

int spill_reserve(struct spill *s, size_t n, struct es_err *err)
{
	if (s->base == NULL || n > s->reserved - s->used)
		return es_err_set(err, ES_EDATA, "the roster is too large for the import's working copy");
	return make_room(s, s->used + n, err);
}

void spill_settle(const struct spill *s)
{
	size_t page = page_size(), len;

	if (s->fd < 0 || s->used == 0)
		return;
	len = (s->used + page - 1) & ~(page - 1);
	/* a shared file mapping: the pages go back to the page cache, their
	 * data with them, and are read back at the next touch */
	(void)madvise(s->base, len, MADV_DONTNEED);
}

void spill_close(struct spill *s)
{
	if (s->base != NULL) { /* (else nothing is open: a cleared struct too) */
		(void)munmap(s->base, s->reserved);
		es_fs_close(&s->fd);
	}
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}
