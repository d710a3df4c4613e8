/* eschool backup FILE / restore FILE: the state directory (per-user state,
 * the code key) as a gzipped tar (with accounts.backend = ldap, eschool's
 * part of the directory as LDIF instead: backup_ldap.c), written atomically (0600), with every
 * writer held off by the global state lock while it is read. restore
 * unpacks into a new directory beside the state directory, refuses
 * anything but directories and regular files, then swaps it in with one
 * rename (the old state is kept as STATE_DIR.before-restore-TIME). The
 * system accounts (/etc/passwd, shadow) are not part of it: back them up
 * with the system. tar runs with an explicit argv, never a shell.
 *
 * The archive holds every address and code.key (with it, a pending code
 * can be brute-forced offline). So:
 * - backup MUST NOT write into a file another user could have made or
 *   can open: the archive goes to a fresh file created here with
 *   O_EXCL|O_NOFOLLOW, mode 0600, owned by root, under a random name, in
 *   the destination's directory (opened once; names resolved from its
 *   fd), and tar writes into that descriptor, never reopening a path.
 * - backup MUST refuse a directory group or others can write unless it
 *   is sticky (/tmp): there another user could rename or replace our file.
 * - restore MUST NOT take modes or owners from the archive: everything
 *   unpacked is root's, directories 0700, files 0600. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "cli.h"
#include "commands.h"
#include "ui.h"
#include "accounts.h"
#include "directory.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#define TAR "/bin/tar"


int stamp_write(const struct cli *ctx, const char *name, const char *text)
{
	char path[ES_PATH_LEN + 64], tmp[ES_PATH_LEN + 80];
	int fd;
	size_t len = strlen(text);

	(void)snprintf(path, sizeof(path), "%s/%s", ctx->cfg.state_dir, name);
	(void)snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (mkdir(ctx->cfg.state_dir, 0700) != 0 && errno != EEXIST)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		(void)close(fd);
		(void)unlink(tmp);
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

int stamp_read(const struct cli *ctx, const char *name, char *buf, size_t bufsz)
{
	char path[ES_PATH_LEN + 64];
	int fd;
	ssize_t n;

	(void)snprintf(path, sizeof(path), "%s/%s", ctx->cfg.state_dir, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, bufsz - 1);
	(void)close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* An absolute path for FILE (tar runs in another directory). */
static int absolute(const char *file, char *out, size_t outsz)
{
	char cwd[PATH_MAX];

	if (file[0] == '/')
		return (size_t)snprintf(out, outsz, "%s", file) < outsz ? 0 : -1;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	return (size_t)snprintf(out, outsz, "%s/%s", cwd, file) < outsz ? 0 : -1;
}

/* The destination's directory, opened once, when no other user can
 * plant, rename or replace a name in it. Returns 0 or an exit code. */
static int open_dest_dir(const char *dest, const char *dir, int *out)
{
	struct stat st;
	int fd;

	*out = -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		ui_warn("cannot write %s: there is no directory %s (%s)",
		        dest, dir, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		return ES_ECANTCREAT;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
		ui_warn("refusing to write %s: %s (mode %04o) can be written by other users and "
		        "is not sticky, so one of them could take the archive over; write it to "
		        "a directory only root can write (such as /var/backups), or run "
		        "chmod go-w %s",
		        dest, dir, (unsigned)(st.st_mode & 07777), dir);
		(void)close(fd);
		return ES_ECANTCREAT;
	}
	*out = fd;
	return 0;
}

/* A new file in dirfd that nobody else can have made or opened: a random
 * name, O_EXCL (never an existing file or link), 0600, root's. */
static int create_temp(int dirfd, char *name, size_t namesz, struct es_err *err)
{
	for (int attempt = 0; attempt < 16; attempt++) {
		unsigned char rnd[8];
		int fd;

		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return es_err_errno(err, ES_EOS, errno, "getrandom");
		(void)snprintf(name, namesz, ".eschool-backup-%02x%02x%02x%02x%02x%02x%02x%02x.tmp",
		               rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return es_err_errno(err, ES_ECANTCREAT, errno, "cannot create a file in the "
			                                               "destination's directory");
		/* a setgid directory would give its group; the mode 0600 whatever
		 * the umask */
		if (fchown(fd, 0, 0) != 0 || fchmod(fd, 0600) != 0) {
			int e = errno;

			(void)close(fd);
			(void)unlinkat(dirfd, name, 0);
			return es_err_errno(err, ES_ECANTCREAT, e, "cannot make the archive root's");
		}
		return fd;
	}
	return es_err_set(err, ES_ECANTCREAT, "cannot find a free temporary name");
}

/* tar writing the archive to outfd (its stdout); its messages in msg.
 * Returns tar's exit status, or -1 with err. */
static int tar_into(const char *state_dir, int outfd, char *msg, size_t msgsz,
                    struct es_err *err)
{
	static char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	const char *const argv[] = { TAR,         "--create",  "--gzip",          "--file=-",
		                     "--directory", state_dir, "--exclude=./*.tmp", "--exclude=./locks",
		                     ".",           NULL };
	posix_spawn_file_actions_t fa;
	int errp[2] = { -1, -1 }, status = 0, rc = -1, e;
	size_t got = 0;
	pid_t pid = -1;

	msg[0] = '\0';
	if (pipe2(errp, O_CLOEXEC) != 0)
		return es_err_errno(err, ES_EOS, errno, "cannot create a pipe for tar");
	if (posix_spawn_file_actions_init(&fa) != 0) {
		(void)close(errp[0]);
		(void)close(errp[1]);
		return es_err_set(err, ES_EOS, "posix_spawn_file_actions_init failed");
	}
	if (posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, outfd, STDOUT_FILENO) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO) != 0) {
		es_err_set(err, ES_EOS, "posix_spawn_file_actions failed");
		goto out;
	}
	e = posix_spawn(&pid, TAR, &fa, NULL, (char *const *)argv, env);
	if (e != 0) {
		pid = -1;
		es_err_errno(err, ES_EUNAVAIL, e, "cannot run %s", TAR);
		goto out;
	}
	(void)close(errp[1]);
	errp[1] = -1;
	for (;;) {
		char buf[512];
		ssize_t r = read(errp[0], buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r && got + 1 < msgsz; i++) { /* one line for ours */
			char c = buf[i];

			if (c == '\n' || c == '\r')
				c = ' ';
			msg[got++] = c;
		}
		msg[got] = '\0';
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			es_err_errno(err, ES_EOS, errno, "waitpid %s", TAR);
			goto out;
		}
	}
	pid = -1;
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else
		es_err_set(err, ES_EOS, "%s was killed by signal %d", TAR,
		           WIFSIGNALED(status) ? WTERMSIG(status) : 0);
out:
	posix_spawn_file_actions_destroy(&fa);
	if (errp[0] >= 0)
		(void)close(errp[0]);
	if (errp[1] >= 0)
		(void)close(errp[1]);
	if (pid > 0)
		(void)waitpid(pid, &status, 0);
	while (got > 0 && msg[got - 1] == ' ')
		msg[--got] = '\0';
	return rc;
}

/* dest's directory and file name (PATH_MAX each); a directory is refused. */
static int split_dest(const char *file, const char *dest, char *dir, char *base)
{
	char work[PATH_MAX]; /* dirname and basename write into their argument */

	(void)snprintf(work, sizeof(work), "%s", dest);
	(void)snprintf(dir, PATH_MAX, "%s", dirname(work));
	(void)snprintf(work, sizeof(work), "%s", dest);
	(void)snprintf(base, PATH_MAX, "%s", basename(work));
	if (dest[strlen(dest) - 1] == '/' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		ui_warn("%s: give a file name, not a directory", file);
		return -1;
	}
	return 0;
}

static bool in_directory(const struct cli *ctx)
{
	return ctx->cfg.policy.backend == ES_ACCT_LDAP;
}

int cmd_backup(struct cli *ctx, const struct args *a)
{
	const char *file = NULL;
	char dest[PATH_MAX], dir[PATH_MAX], base[PATH_MAX], tmp[64], msg[512], stamp[PATH_MAX + 64];
	struct es_err err = { 0 };
	struct stat st;
	int rc, status, dirfd = -1, fd = -1;
	size_t entries = 0;
	intptr_t alllock = -1;

	file = a->positional[0];
	if (absolute(file, dest, sizeof(dest)) != 0) {
		ui_warn("%s: path too long", file);
		return ES_EUSAGE;
	}
	if (split_dest(file, dest, dir, base) != 0)
		return ES_EUSAGE;
	if (!in_directory(ctx) && (stat(ctx->cfg.state_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
		ui_warn("%s does not exist yet: nothing to back up",
		        ctx->cfg.state_dir);
		return ES_ENOUSER;
	}
	rc = open_dest_dir(dest, dir, &dirfd);
	if (rc != 0)
		return rc;
	fd = create_temp(dirfd, tmp, sizeof(tmp), &err);
	if (fd < 0) {
		ui_warn("cannot write %s: %s", dest, ui_err(&err));
		(void)close(dirfd);
		return err.code != 0 ? err.code : ES_ECANTCREAT;
	}
	/* writers (add, import, reset, set-email) wait while it is read */
	if (es_store_lock_all(&ctx->store, &alllock, &err) != 0) {
		rc = ui_fail(&err);
		goto fail;
	}
	if (in_directory(ctx))
		status = directory_backup(&ctx->directory, fd, &entries, &err) != 0 ? -1 : 0;
	else
		status = tar_into(ctx->cfg.state_dir, fd, msg, sizeof(msg), &err);
	es_store_unlock_all(&ctx->store, alllock);
	if (status != 0) {
		if (status < 0) {
			rc = ui_fail(&err);
		} else {
			ui_warn("cannot write %s: tar said: %s",
			        dest, msg);
			rc = ES_ECANTCREAT;
		}
		goto fail;
	}
	/* the data on disk before the name points at it, and the name too */
	if (fsync(fd) != 0)
		goto fail_errno;
	rc = close(fd);
	fd = -1;
	if (rc != 0)
		goto fail_errno;
	if (renameat(dirfd, tmp, dirfd, base) != 0)
		goto fail_errno;
	(void)fsync(dirfd);
	(void)close(dirfd);
	(void)snprintf(stamp, sizeof(stamp), "%lld %s\n", (long long)ctx->now, dest);
	if (stamp_write(ctx, "last-backup", stamp) != 0)
		ui_warn("cannot record the backup's time in %s", ctx->cfg.state_dir);
	if (in_directory(ctx)) {
		log_msg(LOG_AUTHPRIV, LOG_NOTICE, "backup: %zu directory entries written to %s",
		        entries, dest);
		ui_info(ctx, "%zu entries of the directory saved to %s\n", entries, dest);
		return 0;
	}
	log_msg(LOG_AUTHPRIV, LOG_NOTICE, "backup: state written to %s", dest);
	ui_info(ctx, "state of %s saved to %s\n",
	        ctx->cfg.state_dir, dest);
	return 0;
fail_errno:
	ui_warn("cannot write %s: %s", dest, strerror(errno));
	rc = ES_ECANTCREAT;
fail:
	if (fd >= 0)
		(void)close(fd);
	(void)unlinkat(dirfd, tmp, 0); /* ours alone: only the temporary file */
	(void)close(dirfd);
	return rc;
}

static int unsafe_entries;

static int check_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_SL || type == FTW_SLN || type == FTW_NS || type == FTW_DNR ||
	    (!S_ISREG(sb->st_mode) && !S_ISDIR(sb->st_mode))) {
		ui_warn("refusing %s: not a directory or a regular file", path);
		unsafe_entries++;
	}
	return 0;
}

/* What the state needs, whatever the archive said: root's, directories
 * 0700, files 0600 (the walk runs once every entry is known to be one
 * or the other, inside a 0700 directory only root can change). */
static int reset_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)ftw;
	(void)type;
	if (lchown(path, 0, 0) != 0 || chmod(path, S_ISDIR(sb->st_mode) ? 0700 : 0600) != 0) {
		ui_warn("cannot reset the owner and mode of %s: %s", path, strerror(errno));
		unsafe_entries++;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* restore in the directory: an account the backup does not have is kept */
static void newer_kept(const char *dn)
{
	ui_warn("%s was made after the backup: left as it is", dn);
}

/* The archive src unpacked into the new directory work, checked (only
 * directories and regular files, a users/ directory) and made root's
 * with the state's modes. 0, or the exit code after saying why. */
static int unpack(const char *src, const char *work)
{
	/* root's tar keeps the archive's modes unless told not to: with
	 * --no-same-permissions the umask (077, main) applies, and
	 * --no-overwrite-dir keeps the 0700 of the work directory */
	const char *const targv[] = { TAR,
		                      "--extract",
		                      "--gzip",
		                      "--file",
		                      src,
		                      "--directory",
		                      work,
		                      "--no-same-owner",
		                      "--no-same-permissions",
		                      "--no-overwrite-dir",
		                      NULL };
	char users[PATH_MAX + 8], msg[512];
	struct es_err err = { 0 };
	struct stat st;
	int status = run_command(targv, NULL, 0, msg, sizeof(msg), &err);

	if (status != 0) {
		if (status < 0)
			ui_warn("%s", ui_err(&err));
		else
			ui_warn("%s is not a backup eschool can read: tar said: %s", src, msg);
		return ES_EDATA;
	}
	unsafe_entries = 0;
	if (nftw(work, check_entry, 16, FTW_PHYS) != 0)
		unsafe_entries++;
	(void)snprintf(users, sizeof(users), "%s/users", work);
	if (unsafe_entries > 0 || lstat(users, &st) != 0 || !S_ISDIR(st.st_mode)) {
		ui_warn("%s is not an eschool state backup (no users/ directory, or unsafe "
		        "entries): nothing changed",
		        src);
		return ES_EDATA;
	}
	if (nftw(work, reset_entry, 16, FTW_PHYS) != 0 || unsafe_entries > 0)
		return ES_EIO;
	return 0;
}

int cmd_restore(struct cli *ctx, const struct args *a)
{
	const char *file = NULL;
	char src[PATH_MAX], work[PATH_MAX], old[PATH_MAX + 64], parent[PATH_MAX];
	struct es_err err = { 0 };
	struct stat st;
	int rc;
	intptr_t alllock = -1;
	struct directory_restored restored = { .on_newer = newer_kept };

	file = a->positional[0];
	if (absolute(file, src, sizeof(src)) != 0 || stat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
		ui_warn("%s: no such backup file",
		        file);
		return ES_EDATA;
	}
	if (in_directory(ctx)) {
		/* this machine's writers (add, import: the counter) wait */
		if (es_store_lock_all(&ctx->store, &alllock, &err) != 0)
			return ui_fail(&err);
		rc = directory_restore(&ctx->directory, src, &restored, &err);
		es_store_unlock_all(&ctx->store, alllock);
		if (rc != 0)
			return ui_fail(&err);
		ui_info(ctx, "%zu entries restored (%zu added, %zu put back as they were)\n",
		        restored.added + restored.replaced, restored.added, restored.replaced);
		log_msg(LOG_AUTHPRIV, LOG_NOTICE, "restore: directory entries restored from %s", src);
		return 0;
	}
	/* a new directory beside the state directory: one rename swaps them */
	(void)snprintf(parent, sizeof(parent), "%s", ctx->cfg.state_dir);
	(void)snprintf(work, sizeof(work), "%s/.eschool-restore-XXXXXX", dirname(parent));
	if (mkdtemp(work) == NULL) {
		ui_warn("cannot create a directory beside %s: %s", ctx->cfg.state_dir, strerror(errno));
		return ES_ECANTCREAT;
	}
	rc = unpack(src, work);
	if (rc != 0)
		goto cleanup;
	/* writers and logins' writes wait while the directories change places */
	if (stat(ctx->cfg.state_dir, &st) == 0) {
		if (es_store_lock_all(&ctx->store, &alllock, &err) != 0) {
			rc = ui_fail(&err);
			goto cleanup;
		}
		(void)snprintf(old, sizeof(old), "%s.before-restore-%lld", ctx->cfg.state_dir,
		               (long long)ctx->now);
		if (rename(ctx->cfg.state_dir, old) != 0) {
			ui_warn("cannot move %s aside: %s", ctx->cfg.state_dir, strerror(errno));
			es_store_unlock_all(&ctx->store, alllock);
			rc = ES_EIO;
			goto cleanup;
		}
		ui_info(ctx, "the current state is kept as %s\n",
		        old);
	}
	if (rename(work, ctx->cfg.state_dir) != 0) {
		ui_warn("cannot put the backup in place at %s: %s", ctx->cfg.state_dir, strerror(errno));
		es_store_unlock_all(&ctx->store, alllock);
		rc = ES_EIO;
		goto cleanup;
	}
	es_store_unlock_all(&ctx->store, alllock);
	log_msg(LOG_AUTHPRIV, LOG_NOTICE, "restore: state restored from %s", src);
	ui_info(ctx, "state restored from %s\n", src);
	return 0;
cleanup:
	(void)nftw(work, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
