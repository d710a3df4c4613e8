/* The system account database, changed only through shadow's own tools
 * (useradd, chpasswd, usermod, userdel, groupadd), spawned with an explicit
 * argv and a minimal environment. Secrets never go in argv or the
 * environment: chpasswd gets "user:hash" lines through a pipe. */
#include "accounts.h"
#include "directory.h"
#include "ui.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define USERADD "/usr/sbin/useradd"
#define USERDEL "/usr/sbin/userdel"
#define USERMOD "/usr/sbin/usermod"
#define CHPASSWD "/usr/sbin/chpasswd"
#define CHAGE "/usr/bin/chage"
#define GROUPADD "/usr/sbin/groupadd"
#define GROUPDEL "/usr/sbin/groupdel"
#define GPASSWD "/usr/bin/gpasswd"

/* A child sees only these: no secret, nothing from the caller's shell. */
static char *const child_env[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"LC_ALL=C",
	NULL,
};

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		(void)close(*fd);
		*fd = -1;
	}
}

/* Feeds input to the child and collects its output without deadlocking
 * when both pipes fill up. */
static int pump(int in_fd, const char *input, size_t inlen, int out_fd, char *msg,
                size_t msgsz, struct es_err *err)
{
	size_t written = 0, got = 0;
	int wfd = in_fd, rfd = out_fd;

	if (inlen == 0)
		close_fd(&wfd);
	while (wfd >= 0 || rfd >= 0) {
		struct pollfd p[2];
		nfds_t n = 0;
		int wi = -1, ri = -1;

		if (wfd >= 0) {
			p[n].fd = wfd;
			p[n].events = POLLOUT;
			wi = (int)n++;
		}
		if (rfd >= 0) {
			p[n].fd = rfd;
			p[n].events = POLLIN;
			ri = (int)n++;
		}
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			close_fd(&wfd);
			return es_err_errno(err, ES_EOS, errno, "poll");
		}
		if (wi >= 0 && p[wi].revents != 0) {
			ssize_t w = write(wfd, input + written, inlen - written);
			if (w < 0 && errno != EINTR && errno != EAGAIN) {
				close_fd(&wfd); /* EPIPE: the child exited; its status says why */
			} else if (w > 0) {
				written += (size_t)w;
				if (written == inlen)
					close_fd(&wfd);
			}
		}
		if (ri >= 0 && p[ri].revents != 0) {
			char buf[1024];
			ssize_t r = read(rfd, buf, sizeof(buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				rfd = -1; /* closed by the caller */
				continue;
			}
			if (msgsz > 1 && got < msgsz - 1) {
				size_t take = (size_t)r;
				if (take > msgsz - 1 - got)
					take = msgsz - 1 - got;
				memcpy(msg + got, buf, take);
				got += take;
				msg[got] = '\0';
			}
		}
	}
	return 0;
}

int run_command(const char *const argv[], const char *input, size_t inlen, char *msg,
           size_t msgsz, struct es_err *err)
{
	int in_pipe[2] = { -1, -1 }, out_pipe[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	bool fa_ok = false;
	pid_t pid = -1;
	int status, rc = -1, e;

	if (msgsz > 0)
		memset(msg, 0, msgsz);
	if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
		es_err_errno(err, ES_EOS, errno, "cannot create a pipe for %s", argv[0]);
		goto out;
	}
	if (posix_spawn_file_actions_init(&fa) != 0) {
		es_err_set(err, ES_EOS, "posix_spawn_file_actions_init failed");
		goto out;
	}
	fa_ok = true;
	if (posix_spawn_file_actions_adddup2(&fa, in_pipe[0], STDIN_FILENO) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDERR_FILENO) != 0) {
		es_err_set(err, ES_EOS, "posix_spawn_file_actions_adddup2 failed");
		goto out;
	}
	e = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, child_env);
	if (e != 0) {
		pid = -1;
		es_err_errno(err, ES_EUNAVAIL, e, "cannot run %s", argv[0]);
		goto out;
	}
	close_fd(&in_pipe[0]);
	close_fd(&out_pipe[1]);
	/* pump closes the write end when done; the read end is ours to close */
	e = pump(in_pipe[1], input, inlen, out_pipe[0], msg, msgsz, err);
	in_pipe[1] = -1;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			es_err_errno(err, ES_EOS, errno, "waitpid %s", argv[0]);
			goto out;
		}
	}
	pid = -1;
	if (e != 0)
		goto out;
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else
		es_err_set(err, ES_EOS, "%s was killed by signal %d", argv[0],
		           WIFSIGNALED(status) ? WTERMSIG(status) : 0);
out:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	close_fd(&in_pipe[0]);
	close_fd(&in_pipe[1]);
	close_fd(&out_pipe[0]);
	close_fd(&out_pipe[1]);
	if (pid > 0)
		(void)waitpid(pid, &status, 0);
	if (msgsz > 0) {
		/* keep the tool's message on one line for our own */
		size_t n = strlen(msg);
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
			msg[--n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (msg[i] == '\n' || msg[i] == '\r')
				msg[i] = ' ';
	}
	return rc;
}

/* Runs a tool that must succeed; folds its message into err. */
static int run_ok(const char *const argv[], const char *input, size_t inlen, int code,
                  const char *what, struct es_err *err)
{
	char msg[512];
	int st = run_command(argv, input, inlen, msg, sizeof(msg), err);

	if (st < 0)
		return -1;
	if (st != 0)
		return es_err_set(err, code, "%s failed (%s exit %d)%s%s", what, argv[0], st,
		                  msg[0] ? ": " : "", msg);
	return 0;
}

bool user_exists(const char *user)
{
	return getpwnam(user) != NULL;
}

bool group_exists(const char *group)
{
	return getgrnam(group) != NULL;
}

/* groupadd (-r for a role's group) unless the group exists. */
static int group_add(const char *group, bool system, struct es_err *err)
{
	const char *sys_argv[] = { GROUPADD, "-r", "--", group, NULL };
	const char *argv[] = { GROUPADD, "--", group, NULL };

	if (group_exists(group))
		return 0;
	if (run_ok(system ? sys_argv : argv, NULL, 0, ES_ECANTCREAT, "creating group", err) != 0) {
		if (group_exists(group))
			return 0; /* made meanwhile by another process: fine */
		return es_err_prefix(err, "group %s", group);
	}
	return 0;
}

int groups_ensure(const char (*groups)[ES_NAME_MAX + 1], size_t n, struct es_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (group_add(groups[i], true, err) != 0)
			return -1;
	return 0;
}

/* 1 when user is listed among group's members, 0 not, -1 no such group */
static int listed_in(const char *group, const char *user)
{
	const struct group *gr = getgrnam(group);

	if (gr == NULL)
		return -1;
	for (char **m = gr->gr_mem; *m != NULL; m++)
		if (strcmp(*m, user) == 0)
			return 1;
	return 0;
}

/* A class's group is an ordinary group (gid from the users' range, as
 * groups people belong to are): groupadd without -r. */
static int shadow_class_group(const char *group, struct es_err *err)
{
	return group_add(group, false, err);
}

static int gpasswd_member(const char *group, const char *user, bool in, struct es_err *err)
{
	const char *argv[] = { GPASSWD, in ? "-a" : "-d", user, group, NULL };
	int listed = listed_in(group, user);

	if (listed < 0 && !in)
		return 0; /* no group: nobody in it */
	if (listed == (in ? 1 : 0))
		return 0;
	if (run_ok(argv, NULL, 0, ES_EOS, in ? "adding to a group" : "removing from a group",
	           err) != 0)
		return es_err_prefix(err, "user %s, group %s", user, group);
	return 0;
}

/* groupdel when nobody is listed; 8: some account's primary group. */
static int shadow_group_drop(const char *group, bool *dropped, struct es_err *err)
{
	const struct group *gr = getgrnam(group);
	const char *argv[] = { GROUPDEL, "--", group, NULL };
	char msg[512];
	int st;

	*dropped = false;
	if (gr == NULL || gr->gr_mem[0] != NULL)
		return 0;
	st = run_command(argv, NULL, 0, msg, sizeof(msg), err);
	if (st == 0 || st == 6 || st == 8) { /* 6: gone meanwhile */
		*dropped = st == 0;
		return 0;
	}
	if (st > 0)
		es_err_set(err, ES_EOS, "groupdel %s failed (exit %d): %s", group, st, msg);
	return -1;
}

/* A new role: out of the old role's groups it does not share, into the
 * new one's (the primary group is the user's own). */
static int shadow_set_role(const struct es_role *from, const struct es_role *to,
                           const struct es_aging *aging, const char *user, struct es_err *err)
{
	char max[24], warn[24];
	const char *argv[] = { CHAGE, "-M", max, "-W", warn, "--", user, NULL };

	if (to != NULL && groups_ensure(to->groups, to->n_groups, err) != 0)
		return -1;
	if (es_account_role_groups_move(from, to, user, gpasswd_member, err) != 0)
		return -1;
	(void)snprintf(max, sizeof(max), "%ld", aging->max);
	(void)snprintf(warn, sizeof(warn), "%ld", aging->warn);
	if (run_ok(argv, NULL, 0, ES_EOS, "setting the password's aging", err) != 0)
		return es_err_prefix(err, "user %s", user);
	return 0;
}

static int usermod_fullname(const char *user, const char *fullname, struct es_err *err)
{
	char gecos[256];
	const char *argv[] = { USERMOD, "-c", gecos, "--", user, NULL };

	es_account_gecos(fullname, gecos, sizeof(gecos));
	if (run_ok(argv, NULL, 0, ES_EOS, "renaming the account", err) != 0)
		return es_err_prefix(err, "user %s", user);
	return 0;
}

static int useradd_account(const struct es_policy *pol, const struct es_role *role,
                      const char *user, const char *fullname, struct es_err *err)
{
	char home[4096 + ES_NAME_MAX + 2], gecos[256], groups[ES_MAX_GROUPS * (ES_NAME_MAX + 1)];
	const char *argv[16];
	size_t a = 0, gl = 0;

	if ((size_t)snprintf(home, sizeof(home), "%s/%s", pol->home_base, user) >= sizeof(home))
		return es_err_set(err, ES_ECONFIG, "home directory path too long");
	es_account_gecos(fullname, gecos, sizeof(gecos));
	groups[0] = '\0';
	for (size_t i = 0; role != NULL && i < role->n_groups; i++)
		gl += (size_t)snprintf(groups + gl, sizeof(groups) - gl, "%s%s", i ? "," : "",
		                       role->groups[i]);
	argv[a++] = USERADD;
	argv[a++] = "-m";
	argv[a++] = "-d";
	argv[a++] = home;
	argv[a++] = "-s";
	argv[a++] = pol->shell;
	argv[a++] = "-c";
	argv[a++] = gecos;
	if (groups[0] != '\0') {
		argv[a++] = "-G";
		argv[a++] = groups;
	}
	argv[a++] = "--";
	argv[a++] = user;
	argv[a] = NULL;
	if (run_ok(argv, NULL, 0, ES_ECANTCREAT, "creating the account", err) != 0)
		return es_err_prefix(err, "user %s", user);
	return 0;
}

static int chpasswd_hashes(const char *lines, size_t len, struct es_err *err)
{
	const char *argv[] = { CHPASSWD, "-e", NULL };

	return run_ok(argv, lines, len, ES_ECANTCREAT, "setting the password", err);
}

int chage_aging(const char *user, const struct es_aging *aging, struct es_err *err)
{
	char lastchg[24], max[24], warn[24];
	const char *argv[] = { CHAGE, "-d", lastchg, "-M", max, "-W", warn, "--", user, NULL };

	(void)snprintf(lastchg, sizeof(lastchg), "%ld", aging->lastchg);
	(void)snprintf(max, sizeof(max), "%ld", aging->max);
	(void)snprintf(warn, sizeof(warn), "%ld", aging->warn);
	if (run_ok(argv, NULL, 0, ES_ECANTCREAT, "setting the password's aging", err) != 0)
		return es_err_prefix(err, "user %s", user);
	return 0;
}

int userdel_account(const char *user, struct es_err *err)
{
	return userdel_delete(user, false, err);
}

int userdel_delete(const char *user, bool keep_home, struct es_err *err)
{
	const char *with_home[] = { USERDEL, "-r", "--", user, NULL };
	const char *without[] = { USERDEL, "--", user, NULL };
	char msg[512];
	int st = run_command(keep_home ? without : with_home, NULL, 0, msg, sizeof(msg), err);

	/* 12: home could not be removed (already gone) - the account is */
	if (st == 0 || st == 12)
		return 0;
	if (st > 0)
		es_err_set(err, ES_EOS, "userdel %s failed (exit %d): %s", user, st, msg);
	return -1;
}

static int usermod_lock(const char *user, bool lock, struct es_err *err)
{
	/* -L alone would still let SSH keys in; an expired account stops them */
	const char *lock_argv[] = { USERMOD, "-L", "-e", "1", "--", user, NULL };
	const char *unlock_argv[] = { USERMOD, "-U", "-e", "", "--", user, NULL };

	if (run_ok(lock ? lock_argv : unlock_argv, NULL, 0, ES_EOS,
	           lock ? "locking the account" : "unlocking the account", err) != 0)
		return es_err_prefix(err, "user %s", user);
	return 0;
}

/* ---- the account sources ---- */

static int shadow_create(const struct es_policy *pol, const struct es_role *role,
                         const char *user, const char *fullname, struct es_err *err)
{
	if (role != NULL && groups_ensure(role->groups, role->n_groups, err) != 0)
		return -1;
	return useradd_account(pol, role, user, fullname, err);
}

static int shadow_set_password(const char *user, const char *hash, const struct es_aging *aging,
                               struct es_err *err)
{
	struct es_buf line = { 0 };
	int rc;

	if (es_buf_printf(&line, "%s:%s\n", user, hash) != 0) {
		es_buf_free(&line);
		return es_err_set(err, ES_EOS, "out of memory");
	}
	/* chpasswd sets lastchg to today: the aging comes after it */
	rc = chpasswd_hashes(line.data, line.len, err) != 0 ||
	                     chage_aging(user, aging, err) != 0
	             ? -1
	             : 0;
	es_buf_free(&line);
	return rc;
}


/* /etc/passwd's accounts by name, read once, for the commands that look
 * up every managed account (list, remind, show --all, doctor, sync): one
 * getpwnam each reads /etc/passwd from its top, which made `list` take 8 s
 * of CPU at 10,000 accounts (bench/daily). Only when nsswitch.conf's
 * passwd line (its last, as glibc reads it) puts `files` first: then
 * getpwnam answers a name /etc/passwd has from its first line of that
 * name, as the index does, and a name it lacks is asked with getpwnam
 * (the other sources, in their order). Built at the INDEX_AFTER-th lookup
 * of a process (a command about one account never pays for it); built
 * again when /etc/passwd is another file or was changed (useradd and
 * eschool's own writes rename a new one into place); a build that failed
 * is not tried again until then. The main thread's only (the import's
 * hashing threads never look up accounts). */
#define INDEX_AFTER 16

struct uid_entry {
	char *name;
	long uid;
	size_t order; /* the line's: the first of a name wins */
};

static struct {
	size_t lookups;
	bool tried, built;
	struct stat file; /* /etc/passwd when it was built (or tried) */
	struct uid_entry *v;
	size_t n;
} uid_index;

static int entry_cmp(const void *a, const void *b)
{
	const struct uid_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void index_drop(void)
{
	for (size_t i = 0; i < uid_index.n; i++)
		free(uid_index.v[i].name);
	free(uid_index.v);
	uid_index.v = NULL;
	uid_index.n = 0;
	uid_index.built = false;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* true when nsswitch.conf's passwd line starts with files (glibc reads
 * the last such line; none: files). Anything it cannot read: false. */
static bool files_first(void)
{
	FILE *f = fopen("/etc/nsswitch.conf", "re");
	char line[512];
	bool first = true;

	if (f == NULL)
		return errno == ENOENT;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = line + strspn(line, " \t");

		if (strncmp(p, "passwd:", 7) != 0)
			continue;
		p += 7;
		p += strspn(p, " \t");
		first = strncmp(p, "files", 5) == 0 && strchr(" \t\n[", p[5]) != NULL;
	}
	if (ferror(f))
		first = false;
	(void)fclose(f);
	return first;
}

/* Builds the index; false (none) when the enumeration fails. */
static bool index_build(const struct stat *now)
{
	const struct passwd *pw;
	size_t cap = 0, kept = 0;
	bool ok = true;
	FILE *f;

	index_drop();
	uid_index.tried = true;
	uid_index.file = *now;
	if (!files_first())
		return false;
	f = fopen("/etc/passwd", "re");
	if (f == NULL)
		return false;
	for (;;) {
		errno = 0;
		pw = fgetpwent(f);
		if (pw == NULL) {
			ok = errno == 0 || errno == ENOENT; /* the end, not a failure */
			break;
		}
		if (uid_index.n == cap) {
			size_t ncap = cap != 0 ? cap * 2 : 1024;
			struct uid_entry *v = realloc(uid_index.v, ncap * sizeof(*v));

			if (v == NULL) {
				ok = false;
				break;
			}
			uid_index.v = v;
			cap = ncap;
		}
		uid_index.v[uid_index.n].name = es_strdup(pw->pw_name);
		if (uid_index.v[uid_index.n].name == NULL) {
			ok = false;
			break;
		}
		uid_index.v[uid_index.n].uid = (long)pw->pw_uid;
		uid_index.v[uid_index.n].order = uid_index.n;
		uid_index.n++;
	}
	if (ferror(f))
		ok = false;
	(void)fclose(f);
	if (!ok) {
		index_drop();
		return false;
	}
	if (uid_index.n > 0)
		qsort(uid_index.v, uid_index.n, sizeof(*uid_index.v), entry_cmp);
	for (size_t i = 0; i < uid_index.n; i++) { /* the first of each name stays */
		if (kept > 0 && strcmp(uid_index.v[kept - 1].name, uid_index.v[i].name) == 0) {
			free(uid_index.v[i].name);
			continue;
		}
		uid_index.v[kept++] = uid_index.v[i];
	}
	uid_index.n = kept;
	uid_index.built = true;
	return true;
}

/* 1 found in the index (uid set), 0 not there (ask NSS). */
static int index_uid(const char *user, long *uid)
{
	const struct uid_entry *hit = NULL;
	struct stat now;
	int found = 0;

	if (++uid_index.lookups >= INDEX_AFTER && stat("/etc/passwd", &now) == 0 &&
	    (uid_index.tried && same_file(&now, &uid_index.file) ? uid_index.built
	                                                          : index_build(&now))) {
		for (size_t lo = 0, hi = uid_index.n; lo < hi;) {
			size_t mid = lo + (hi - lo) / 2;
			int c = strcmp(user, uid_index.v[mid].name);

			if (c == 0) {
				hit = &uid_index.v[mid];
				break;
			}
			if (c < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		if (hit != NULL) {
			*uid = hit->uid;
			found = 1;
		}
	}
	return found;
}

int account_uid(const char *user, long *uid, struct es_err *err)
{
	const struct passwd *pw;
	int rc = directory_uid(user, uid, err);

	if (rc != 2)
		return rc;
	if (index_uid(user, uid) == 1)
		return 1;
	errno = 0;
	pw = getpwnam(user);
	if (pw != NULL) {
		*uid = (long)pw->pw_uid;
		return 1;
	}
	if (es_nss_not_found(errno))
		return 0;
	return es_err_errno(err, ES_EUNAVAIL, errno, "user %s: the user database did not answer",
	                    user);
}

/* NSS's answer (what the module will see too) */
static int nss_exists(const char *user, struct es_err *err)
{
	(void)err;
	return user_exists(user) ? 1 : 0;
}

static int nss_group_exists(const char *group, struct es_err *err)
{
	(void)err;
	return group_exists(group) ? 1 : 0;
}

static const struct account_source shadow_accounts = {
	.name = "shadow", .writes = true,
	.create = shadow_create, .set_password = shadow_set_password, .lock = usermod_lock,
	.remove = userdel_account, .delete = userdel_delete, .create_batch = shadowdb_batch,
	.exists = nss_exists,
	.ensure_groups = groups_ensure,
	.group_exists = nss_group_exists,
	.class_group = shadow_class_group, .group_member = gpasswd_member,
	.group_drop = shadow_group_drop, .set_role = shadow_set_role,
	.set_fullname = usermod_fullname,
};

static int none_create(const struct es_policy *pol, const struct es_role *role, const char *user,
                       const char *fullname, struct es_err *err)
{
	(void)pol;
	(void)role;
	(void)fullname;
	return es_err_set(err, ES_ENOUSER,
	                  "accounts.backend = none: user %s must already exist in the directory",
	                  user);
}

static int none_set_password(const char *user, const char *hash, const struct es_aging *aging,
                             struct es_err *err)
{
	/* the directory's password is set where the directory is managed */
	(void)user;
	(void)hash;
	(void)aging;
	(void)err;
	return 0;
}

static int none_lock(const char *user, bool lock, struct es_err *err)
{
	/* the state's "disabled" is what the module enforces */
	(void)user;
	(void)lock;
	(void)err;
	return 0;
}

static int none_delete(const char *user, bool keep_home, struct es_err *err)
{
	(void)user;
	(void)keep_home;
	(void)err;
	return 0; /* the directory's: removed there, not by eschool */
}

static int none_remove(const char *user, struct es_err *err)
{
	(void)user;
	(void)err;
	return 0;
}

static int none_groups(const char (*groups)[ES_NAME_MAX + 1], size_t n, struct es_err *err)
{
	(void)groups;
	(void)n;
	(void)err;
	return 0; /* the directory's, made where it is managed */
}

/* The directory's groups and names are kept where it is managed. */
static int none_class_group(const char *group, struct es_err *err)
{
	(void)group;
	(void)err;
	return 0;
}

static int none_member(const char *group, const char *user, bool in, struct es_err *err)
{
	(void)group;
	(void)user;
	(void)in;
	(void)err;
	return 0;
}

static int none_group_drop(const char *group, bool *dropped, struct es_err *err)
{
	(void)group;
	(void)err;
	*dropped = false;
	return 0;
}

static int none_set_role(const struct es_role *from, const struct es_role *to,
                         const struct es_aging *aging, const char *user, struct es_err *err)
{
	(void)from;
	(void)to;
	(void)aging;
	(void)user;
	(void)err;
	return 0;
}

static int none_fullname(const char *user, const char *fullname, struct es_err *err)
{
	(void)user;
	(void)fullname;
	(void)err;
	return 0;
}

static int none_create_batch(struct newacct *accts, size_t n, struct es_err *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct passwd *pw = getpwnam(accts[i].user);

		accts[i].created = false;
		accts[i].refused = false;
		accts[i].home = HOME_MADE; /* the directory's business */
		if (pw == NULL) /* gone since the plan saw it */
			return none_create(NULL, NULL, accts[i].user, NULL, err);
		accts[i].uid = (long)pw->pw_uid;
		accts[i].gid = (long)pw->pw_gid;
	}
	return 0;
}

static const struct account_source none_accounts = {
	.name = "none", .writes = false,
	.create = none_create, .set_password = none_set_password, .lock = none_lock,
	.remove = none_remove, .delete = none_delete, .create_batch = none_create_batch,
	.exists = nss_exists,
	.ensure_groups = none_groups,
	.group_exists = nss_group_exists,
	.class_group = none_class_group, .group_member = none_member,
	.group_drop = none_group_drop, .set_role = none_set_role, .set_fullname = none_fullname,
};

const struct account_source *account_source_for(const struct es_policy *pol)
{
	switch (pol->backend) {
	case ES_ACCT_SHADOW:
		return &shadow_accounts;
	case ES_ACCT_LDAP:
		return directory_accounts();
	case ES_ACCT_NONE:
	default:
		return &none_accounts;
	}
}
