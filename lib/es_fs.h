/* Safe files and directories for root's data (state, spool): directories
 * opened without following symlinks and checked (owned by root, not
 * writable by group or others), whole reads and writes that survive EINTR.
 * Shared by the state store and the mail queue. */
#ifndef ESCHOOL_FS_H
#define ESCHOOL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "es_err.h"

/* uid 0, or our own euid (tests run by a user). */
bool es_fs_owner_ok(uid_t uid);

/* Closes *fd if open and sets it to -1. */
void es_fs_close(int *fd);

/* fsync, retried on EINTR. */
int es_fs_fsync(int fd);

/* Opens (and with create, first makes, 0700) the directory base (sub ==
 * NULL, relative to the cwd) or base/sub (relative to parent), without
 * following a symlink, and checks it: a directory, owned by root, not
 * writable by group or others. An unsafe directory is reported with code
 * bad, as "unsafe <what> base/sub: why; fix with: ...". Returns 0 (fd in
 * *out), 1 when missing and !create, -1 on error. */
int es_fs_open_dir(int parent, const char *base, const char *sub, bool create, int bad,
                   const char *what, int *out, struct es_err *err);

/* Reads until EOF or cap bytes. Returns 0, or an errno value. */
int es_fs_read_all(int fd, char *buf, size_t cap, size_t *got);

/* Reads fd until EOF or max bytes into a new buffer of max + 1 bytes,
 * NUL-terminated after what was read (*len: how much, so less than max
 * when the file is shorter). Returns 0 with *data malloc'd (free it, with
 * es_free_wiped when it may hold a secret), or an errno value (ENOMEM, or
 * the read's; *data is then NULL, what was read wiped). */
int es_fs_read_alloc(int fd, size_t max, char **data, size_t *len);

/* Writes all of buf. Returns 0, or an errno value. */
int es_fs_write_all(int fd, const char *buf, size_t len);

/* 0 when a new file of len bytes stays within RLIMIT_FSIZE, else EFBIG.
 * A write past the limit raises SIGXFSZ, which kills by default, and the
 * PAM module must not change its host's signal dispositions (sshd, login
 * and pam_limits' fsize): so a file that would not fit is refused before
 * the first byte, as the write would fail with SIGXFSZ ignored. */
int es_fs_fsize_check(size_t len);

/* For a message after a failed write: what the errno means for the admin
 * and what to do ("the disk is full ...: free some space and retry" for
 * ENOSPC, EDQUOT and EFBIG, "the file system is read-only: remount it
 * read-write and retry" for EROFS), or "" for other errors. */
const char *es_fs_write_hint(int e);

/* Checks a root data file by its fstat: a regular file, owned by root (see
 * es_fs_owner_ok), without any of the mode bits in forbidden (022: not
 * writable by others; 077: private), at most max_size bytes. Returns true,
 * or false with why filled ("is a FIFO (named pipe), not a regular file",
 * "owned by uid 1000, not root", "mode 644: readable by group or others"
 * ...). */
bool es_fs_file_ok(const struct stat *sb, mode_t forbidden, long long max_size, char *why,
                   size_t whysz);

/* What the errno of an open with O_NOFOLLOW|O_NONBLOCK says about the
 * entry ("is a symbolic link" for ELOOP, a FIFO or socket for ENXIO, a
 * lease for EWOULDBLOCK), or NULL when it says nothing about it. */
const char *es_fs_open_refusal(int e);

/* Writes data as dst_dir/name atomically: a temporary file in tmp_dir
 * (O_EXCL, mode 0600), written, fsynced, renamed over name, then dst_dir
 * fsynced. tmp_dir and dst_dir are directory descriptors on the same file
 * system (they may be the same). On failure only the temporary file is
 * removed, and a file that would pass RLIMIT_FSIZE is not even started
 * (es_fs_fsize_check). Returns 0, or an errno value (ENOSPC when the disk is
 * full, EFBIG over the file size limit). */
int es_fs_write_atomic(int tmp_dir, int dst_dir, const char *name, const char *data,
                       size_t len);

/* Deletes from directory dfd (which it closes) the temporary files of
 * writers killed before their rename: regular dot-files whose name holds
 * ".tmp." (es_fs_write_atomic's ".tmp.HEX", the state's ".USER.tmp.HEX"),
 * an hour old or more — a live writer renames its file within
 * milliseconds. Best effort, silent. */
void es_fs_sweep_tmp(int dfd);

#endif
