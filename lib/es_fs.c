#include "es_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "es_bytes.h"

bool es_fs_owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

void es_fs_close(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -1;
}

int es_fs_fsync(int fd)
{
	int r;

	do
		r = fsync(fd);
	while (r != 0 && errno == EINTR);
	return r;
}

int es_fs_open_dir(int parent, const char *base, const char *sub, bool create, int bad,
		   const char *what, int *out, struct es_err *err)
{
	const char *name = sub != NULL ? sub : base;
	int at = sub != NULL ? parent : AT_FDCWD;
	const char *sep = sub != NULL ? "/" : "";
	const char *tail = sub != NULL ? sub : "";
	struct stat sb;
	int fd = -1;
	int rc = -1;

	*out = -1;
	if (create) {
		if (mkdirat(at, name, 0700) == 0) {
			/* make the new entry durable; best effort for the top directory */
			if (sub != NULL && es_fs_fsync(parent) != 0) {
				es_err_errno(err, ES_EIO, errno, "cannot sync %s", base);
				goto out;
			}
		} else if (errno != EEXIST) {
			int e = errno;
			es_err_errno(err, (e == EACCES || e == EPERM) ? ES_EPERM : ES_EIO, e,
				     "cannot create %s %s%s%s", what, base, sep, tail);
			goto out;
		}
	}
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT && !create) {
			rc = 1;
		} else if (e == EACCES || e == EPERM) {
			es_err_errno(err, ES_EPERM, e, "cannot open %s %s%s%s", what, base,
				     sep, tail);
		} else if (e == ENOTDIR || e == ELOOP) {
			/* O_DIRECTORY|O_NOFOLLOW gives ENOTDIR for a symlink too */
			bool link =
			    fstatat(at, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode);
			es_err_set(err, bad,
				   "unsafe %s %s%s%s: %s; it must be a real "
				   "directory (mode 700, owned by root)",
				   what, base, sep, tail,
				   link ? "is a symbolic link" : "is not a directory");
		} else {
			es_err_errno(err, ES_EIO, e, "cannot open %s %s%s%s", what, base,
				     sep, tail);
		}
		goto out;
	}
	if (fstat(fd, &sb) != 0) {
		es_err_errno(err, ES_EIO, errno, "cannot stat %s %s%s%s", what, base, sep,
			     tail);
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		es_err_set(err, bad, "unsafe %s %s%s%s: not a directory", what, base, sep,
			   tail);
		goto out;
	}
	if (!es_fs_owner_ok(sb.st_uid)) {
		es_err_set(err, bad,
			   "unsafe %s %s%s%s: owned by uid %lu, not root; "
			   "fix with: chown root:root %s%s%s",
			   what, base, sep, tail, (unsigned long)sb.st_uid, base, sep, tail);
		goto out;
	}
	if ((sb.st_mode & 022) != 0) {
		es_err_set(err, bad,
			   "unsafe %s %s%s%s: writable by group or others "
			   "(mode %03o); fix with: chmod 700 %s%s%s",
			   what, base, sep, tail, (unsigned)(sb.st_mode & 07777), base, sep, tail);
		goto out;
	}
	*out = fd;
	fd = -1;
	rc = 0;
out:
	es_fs_close(&fd);
	return rc;
}

/* Reads until EOF or cap bytes. Returns 0, or an errno value. */
int es_fs_read_all(int fd, char *buf, size_t cap, size_t *got)
{
	size_t len = 0;

	while (len < cap) {
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	*got = len;
	return 0;
}

int es_fs_read_alloc(int fd, size_t max, char **data, size_t *len)
{
	char *buf = max < SIZE_MAX ? malloc(max + 1) : NULL;
	size_t got = 0;
	int e;

	*data = NULL;
	*len = 0;
	if (buf == NULL)
		return ENOMEM;
	e = es_fs_read_all(fd, buf, max, &got);
	if (e != 0) {
		explicit_bzero(buf, max);
		free(buf);
		return e;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
}

int es_fs_write_all(int fd, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (w == 0)
			return EIO;
		off += (size_t)w;
	}
	return 0;
}

int es_fs_fsize_check(size_t len)
{
	struct rlimit rl;

	/* without the limit known, the write itself decides */
	if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	return (rlim_t)len > rl.rlim_cur ? EFBIG : 0;
}

const char *es_fs_write_hint(int e)
{
	if (e == ENOSPC || e == EDQUOT)
		return "the disk is full (or a disk quota is reached): free some space and retry";
	if (e == EFBIG)
		return "the disk is full for this process: its file size limit (ulimit -f) is "
		       "smaller than the file; raise it and retry";
	if (e == EROFS)
		return "the file system is read-only: remount it read-write and retry";
	return "";
}

static const char *kind_of(mode_t mode)
{
	if (S_ISDIR(mode))
		return "is a directory";
	if (S_ISFIFO(mode))
		return "is a FIFO (named pipe)";
	if (S_ISLNK(mode))
		return "is a symbolic link";
	if (S_ISSOCK(mode))
		return "is a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "is a device";
	return "is not a regular file";
}

bool es_fs_file_ok(const struct stat *sb, mode_t forbidden, long long max_size, char *why,
                   size_t whysz)
{
	if (!S_ISREG(sb->st_mode))
		(void)snprintf(why, whysz, "%s, not a regular file", kind_of(sb->st_mode));
	else if (!es_fs_owner_ok(sb->st_uid))
		(void)snprintf(why, whysz, "owned by uid %lu, not root", (unsigned long)sb->st_uid);
	else if ((sb->st_mode & forbidden) != 0)
		(void)snprintf(why, whysz, "mode %03o: %s by group or others",
		               (unsigned)(sb->st_mode & 07777),
		               (sb->st_mode & forbidden & 022) != 0 ? "writable" : "readable");
	else if (sb->st_size < 0 || (long long)sb->st_size > max_size)
		(void)snprintf(why, whysz, "larger than %lld bytes", max_size);
	else
		return true;
	return false;
}

const char *es_fs_open_refusal(int e)
{
	if (e == ELOOP)
		return "is a symbolic link";
	if (e == ENXIO)
		return "is a FIFO (named pipe) or socket, not a regular file";
	if (e == EWOULDBLOCK)
		return "cannot be opened without waiting (another program holds a lease on it)";
	return NULL;
}

int es_fs_write_atomic(int tmp_dir, int dst_dir, const char *name, const char *data,
                       size_t len)
{
	char tmp[96];
	int fd = -1, e = es_fs_fsize_check(len);

	if (e != 0)
		return e; /* nothing started: SIGXFSZ must never fire (see es_fs.h) */
	for (int attempt = 0; fd < 0; attempt++) {
		char hex[17];

		if (es_random_hex(hex, 8) != 0)
			return errno;
		if ((size_t)snprintf(tmp, sizeof(tmp), ".tmp.%s", hex) >= sizeof(tmp))
			return ENAMETOOLONG;
		fd = openat(tmp_dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && (errno != EEXIST || attempt >= 8))
			return errno;
	}
	if (fchmod(fd, 0600) != 0 || fchown(fd, geteuid(), getegid()) != 0)
		e = errno;
	if (e == 0)
		e = es_fs_write_all(fd, data, len);
	if (e == 0 && es_fs_fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && e == 0)
		e = errno;
	if (e == 0 && renameat(tmp_dir, tmp, dst_dir, name) != 0)
		e = errno;
	if (e != 0) {
		(void)unlinkat(tmp_dir, tmp, 0);
		return e;
	}
	return es_fs_fsync(dst_dir) != 0 ? errno : 0;
}

#define TMP_MAX_AGE 3600

void es_fs_sweep_tmp(int dfd)
{
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	const struct dirent *de;
	time_t now = time(NULL);
	struct stat st;

	if (dir == NULL) {
		if (dfd >= 0)
			(void)close(dfd);
		return;
	}
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp.") != NULL &&
		    fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_mtime < now - TMP_MAX_AGE)
			(void)unlinkat(dirfd(dir), de->d_name, 0);
	(void)closedir(dir);
}
