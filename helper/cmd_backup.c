/* eschool backup FILE / restore FILE: the state directory (per-user state,
 * the code key) as a gzipped tar, written atomically (0600), with every
 * writer held off by the global state lock while it is read. restore
 * unpacks into a new directory beside the state directory, refuses
 * anything but directories and regular files, then swaps it in with one
 * rename (the old state is kept as STATE_DIR.before-restore-TIME). The
 * system accounts (/etc/passwd, shadow) are not part of it: back them up
 * with the system. tar runs with an explicit argv, never a shell. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "eschool.h"
#include "options.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#define TAR "/bin/tar"

static const char backup_usage[] = "usage: eschool backup FILE\n"
                                   "  writes the state directory to FILE (a .tar.gz, mode 600)\n";
static const char restore_usage[] =
	"usage: eschool restore FILE\n"
	"  puts back the state directory saved by eschool backup (the current one is kept\n"
	"  beside it as STATE_DIR.before-restore-TIME)\n";

int es_stamp_write(const struct es_ctx *ctx, const char *name, const char *text)
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

int es_stamp_read(const struct es_ctx *ctx, const char *name, char *buf, size_t bufsz)
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

int cmd_backup(struct es_ctx *ctx, int argc, char **argv)
{
	const char *file = NULL;
	char dest[PATH_MAX], tmp[PATH_MAX + 16], msg[512], stamp[PATH_MAX + 64];
	struct es_err err = { 0 };
	struct stat st;
	bool done;
	int rc, alllock = -1, status;

	rc = es_parse_positional(ctx, argc, argv, backup_usage, 1, &file, &done);
	if (rc != 0 || done)
		return rc;
	rc = es_prepare(ctx, false);
	if (rc != 0)
		return rc;
	if (absolute(file, dest, sizeof(dest)) != 0) {
		es_warn("%s: path too long", file);
		return ES_EUSAGE;
	}
	if (stat(ctx->cfg.state_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		es_warn(tr(ctx, "%s does not exist yet: nothing to back up",
		           "%s n'existe pas encore : rien à sauvegarder"),
		        ctx->cfg.state_dir);
		return ES_ENOUSER;
	}
	{
		char dir[PATH_MAX];

		(void)snprintf(dir, sizeof(dir), "%s", dest);
		if (stat(dirname(dir), &st) != 0 || !S_ISDIR(st.st_mode)) {
			es_warn(tr(ctx, "cannot write %s: there is no directory %s",
			           "impossible d'écrire %s : le dossier %s n'existe pas"),
			        dest, dir);
			return ES_ECANTCREAT;
		}
	}
	(void)snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", dest, (long)getpid());
	/* writers (add, import, reset, set-email) wait while it is read */
	if (es_state_lock_all(ctx->cfg.state_dir, &alllock, &err) != 0)
		return es_fail(&err);
	{
		/* umask 077 (main): the archive is 0600 from the start */
		const char *const targv[] = { TAR,         "--create",   "--gzip", "--file", tmp,
		                              "--directory", ctx->cfg.state_dir, "--exclude=./*.tmp",
		                              "--exclude=./locks", ".", NULL };
		status = es_run(targv, NULL, 0, msg, sizeof(msg), &err);
	}
	es_state_unlock(alllock);
	if (status != 0) {
		(void)unlink(tmp);
		if (status < 0)
			return es_fail(&err);
		es_warn(tr(ctx, "cannot write %s: tar said: %s", "impossible d'écrire %s : tar : %s"),
		        dest, msg);
		return ES_ECANTCREAT;
	}
	{
		int fd = open(tmp, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || fsync(fd) != 0 || rename(tmp, dest) != 0) {
			int e = errno;
			if (fd >= 0)
				(void)close(fd);
			(void)unlink(tmp);
			es_warn("cannot write %s: %s", dest, strerror(e));
			return ES_ECANTCREAT;
		}
		(void)close(fd);
	}
	(void)snprintf(stamp, sizeof(stamp), "%lld %s\n", (long long)ctx->now, dest);
	if (es_stamp_write(ctx, "last-backup", stamp) != 0)
		es_warn("cannot record the backup's time in %s", ctx->cfg.state_dir);
	es_log(LOG_AUTHPRIV, LOG_NOTICE, "backup: state written to %s", dest);
	es_info(ctx, tr(ctx, "state of %s saved to %s\n", "état de %s sauvegardé dans %s\n"),
	        ctx->cfg.state_dir, dest);
	return 0;
}

static int unsafe_entries;

static int check_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_SL || type == FTW_SLN || (!S_ISREG(sb->st_mode) && !S_ISDIR(sb->st_mode))) {
		es_warn("refusing %s: not a directory or a regular file", path);
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

int cmd_restore(struct es_ctx *ctx, int argc, char **argv)
{
	const char *file = NULL;
	char src[PATH_MAX], work[PATH_MAX], users[PATH_MAX + 8], old[PATH_MAX + 64], msg[512];
	char parent[PATH_MAX];
	struct es_err err = { 0 };
	struct stat st;
	bool done;
	int rc, alllock = -1, status;

	rc = es_parse_positional(ctx, argc, argv, restore_usage, 1, &file, &done);
	if (rc != 0 || done)
		return rc;
	rc = es_prepare(ctx, false);
	if (rc != 0)
		return rc;
	if (absolute(file, src, sizeof(src)) != 0 || stat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
		es_warn(tr(ctx, "%s: no such backup file", "%s : fichier de sauvegarde introuvable"),
		        file);
		return ES_EDATA;
	}
	/* a new directory beside the state directory: one rename swaps them */
	(void)snprintf(parent, sizeof(parent), "%s", ctx->cfg.state_dir);
	(void)snprintf(work, sizeof(work), "%s/.eschool-restore-XXXXXX", dirname(parent));
	if (mkdtemp(work) == NULL) {
		es_warn("cannot create a directory beside %s: %s", ctx->cfg.state_dir, strerror(errno));
		return ES_ECANTCREAT;
	}
	{
		const char *const targv[] = { TAR, "--extract", "--gzip", "--file", src, "--directory",
			                      work, "--no-same-owner", "--same-permissions", NULL };
		status = es_run(targv, NULL, 0, msg, sizeof(msg), &err);
	}
	if (status != 0) {
		if (status < 0)
			es_warn("%s", err.msg);
		else
			es_warn(tr(ctx, "%s is not a backup eschool can read: tar said: %s",
			           "%s n'est pas une sauvegarde lisible : tar : %s"),
			        src, msg);
		rc = ES_EDATA;
		goto cleanup;
	}
	unsafe_entries = 0;
	(void)nftw(work, check_entry, 16, FTW_PHYS);
	(void)snprintf(users, sizeof(users), "%s/users", work);
	if (unsafe_entries > 0 || stat(users, &st) != 0 || !S_ISDIR(st.st_mode)) {
		es_warn(tr(ctx, "%s is not an eschool state backup (no users/ directory, or unsafe "
		                "entries): nothing changed",
		           "%s n'est pas une sauvegarde d'état eschool (pas de dossier users/, ou des "
		           "entrées dangereuses) : rien n'a changé"),
		        src);
		rc = ES_EDATA;
		goto cleanup;
	}
	if (chmod(work, 0700) != 0) {
		rc = ES_EIO;
		goto cleanup;
	}
	/* writers and logins' writes wait while the directories change places */
	if (stat(ctx->cfg.state_dir, &st) == 0) {
		if (es_state_lock_all(ctx->cfg.state_dir, &alllock, &err) != 0) {
			rc = es_fail(&err);
			goto cleanup;
		}
		(void)snprintf(old, sizeof(old), "%s.before-restore-%lld", ctx->cfg.state_dir,
		               (long long)ctx->now);
		if (rename(ctx->cfg.state_dir, old) != 0) {
			es_warn("cannot move %s aside: %s", ctx->cfg.state_dir, strerror(errno));
			es_state_unlock(alllock);
			rc = ES_EIO;
			goto cleanup;
		}
		es_info(ctx, tr(ctx, "the current state is kept as %s\n",
		                "l'état actuel est gardé dans %s\n"),
		        old);
	}
	if (rename(work, ctx->cfg.state_dir) != 0) {
		es_warn("cannot put the backup in place at %s: %s", ctx->cfg.state_dir, strerror(errno));
		es_state_unlock(alllock);
		rc = ES_EIO;
		goto cleanup;
	}
	es_state_unlock(alllock);
	es_log(LOG_AUTHPRIV, LOG_NOTICE, "restore: state restored from %s", src);
	es_info(ctx, tr(ctx, "state restored from %s\n", "état restauré depuis %s\n"), src);
	return 0;
cleanup:
	(void)nftw(work, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
