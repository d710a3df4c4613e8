/* pamconc: concurrent PAM logins through the real libpam, for the
 * lost-update test (tests/integration/test_pam_concurrent.py) and the load
 * benchmark (bench/load).
 *
 *   pamconc SERVICE < LIST
 *
 * LIST has one login a line, "USER RHOST". One process per line starts its
 * transaction (pam_start: libpam reads the service file and loads the
 * modules), sets PAM_RHOST and PAM_TTY, passes the account stage
 * (pam_acct_mgmt), says it is ready and waits; when every one is ready
 * they are released together and each runs pam_open_session, then
 * pam_close_session + pam_end. So the session stages, where the module
 * writes the user's state, really overlap, as when a class logs in at once
 * (with the account stage after the release, the 2 cores of a CI machine
 * spread the session stages apart and a race is seldom seen).
 *
 * Prints "ok N failed N seconds S": S is from the release to the last
 * process reaped, the time of N session opens at once. A failure (a stage returned what the stack does not
 * allow, a process crashed) is told on stderr; the exit status is 0 only
 * when every login succeeded. PAMLOOP_CONFDIR, when set, is the directory
 * of the service files (pam_start_confdir) instead of /etc/pam.d. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#define MAX_LOGINS 10000

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	/* nothing is asked at the account and session stages of these stacks;
	 * messages (an expiry warning ...) are answered with nothing */
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	(void)msg;
	(void)data;
	if (r == NULL)
		return PAM_BUF_ERR;
	*resp = r;
	return PAM_SUCCESS;
}

static double now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the account stage may return for a managed user (an imported
 * account must change its password first): the login is not refused by
 * the session bookkeeping under test, which is what counts here. */
static int account_ok(int rc)
{
	return rc == PAM_SUCCESS || rc == PAM_NEW_AUTHTOK_REQD || rc == PAM_IGNORE;
}

/* One login in a child: never returns. */
static void login(const char *service, const char *user, const char *rhost, int ready_fd,
                  int go_fd)
{
	struct pam_conv pc = { conv, NULL };
	const char *confdir = getenv("PAMLOOP_CONFDIR");
	pam_handle_t *h = NULL;
	char byte = 'r';
	int rc;

	if ((confdir != NULL ? pam_start_confdir(service, user, &pc, confdir, &h)
	                     : pam_start(service, user, &pc, &h)) != PAM_SUCCESS) {
		fprintf(stderr, "pamconc: %s: pam_start failed\n", user);
		_exit(1);
	}
	if (pam_set_item(h, PAM_RHOST, rhost) != PAM_SUCCESS ||
	    pam_set_item(h, PAM_TTY, "ssh") != PAM_SUCCESS) {
		fprintf(stderr, "pamconc: %s: pam_set_item failed\n", user);
		_exit(1);
	}
	rc = pam_acct_mgmt(h, 0);
	if (!account_ok(rc)) {
		fprintf(stderr, "pamconc: %s from %s: pam_acct_mgmt: %s\n", user, rhost,
		        pam_strerror(h, rc));
		(void)pam_end(h, rc);
		_exit(1);
	}
	/* ready; then wait for the release (EOF when the parent closes) */
	if (write(ready_fd, &byte, 1) != 1) {
		fprintf(stderr, "pamconc: %s: cannot report ready: %s\n", user, strerror(errno));
		_exit(1);
	}
	(void)close(ready_fd);
	while (read(go_fd, &byte, 1) < 0 && errno == EINTR)
		;
	(void)close(go_fd);
	rc = pam_open_session(h, 0);
	if (rc != PAM_SUCCESS) {
		fprintf(stderr, "pamconc: %s from %s: pam_open_session: %s\n", user, rhost,
		        pam_strerror(h, rc));
		(void)pam_end(h, rc);
		_exit(1);
	}
	rc = pam_close_session(h, 0);
	(void)pam_end(h, rc);
	_exit(rc == PAM_SUCCESS ? 0 : 1);
}

int main(int argc, char **argv)
{
	static char users[MAX_LOGINS][64], hosts[MAX_LOGINS][128];
	static pid_t pids[MAX_LOGINS];
	char line[256];
	int ready[2], go[2];
	size_t n = 0, started = 0, nready = 0, ok = 0, failed = 0;
	double t0, t1;

	if (argc != 2) {
		fprintf(stderr, "usage: pamconc SERVICE < LIST (lines: USER RHOST)\n");
		return 64;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (line[0] == '\n' || line[0] == '\0')
			continue;
		if (n == MAX_LOGINS || sscanf(line, "%63s %127s", users[n], hosts[n]) != 2) {
			fprintf(stderr, "pamconc: bad or too many lines (at most %d \"USER RHOST\")\n",
			        MAX_LOGINS);
			return 64;
		}
		n++;
	}
	if (pipe(ready) != 0 || pipe(go) != 0) {
		perror("pamconc: pipe");
		return 1;
	}
	/* a child that dies before the release must not kill the parent's
	 * write of the ready pipe: the count below tells */
	(void)signal(SIGPIPE, SIG_IGN);
	for (; started < n; started++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("pamconc: fork");
			break;
		}
		if (pid == 0) {
			(void)close(ready[0]);
			(void)close(go[1]);
			login(argv[1], users[started], hosts[started], ready[1], go[0]);
		}
		pids[started] = pid;
	}
	(void)close(ready[1]);
	(void)close(go[0]);
	/* every child ready (or dead: then read ends early at EOF) */
	while (nready < started) {
		char buf[256];
		ssize_t got = read(ready[0], buf, sizeof(buf));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		nready += (size_t)got;
	}
	(void)close(ready[0]);
	t0 = now_s();
	(void)close(go[1]); /* the release: every child's read sees EOF */
	for (size_t i = 0; i < started; i++) {
		int status;

		while (waitpid(pids[i], &status, 0) < 0) {
			if (errno != EINTR) {
				perror("pamconc: waitpid");
				return 1;
			}
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			ok++;
		} else {
			failed++;
			if (WIFSIGNALED(status))
				fprintf(stderr, "pamconc: %s from %s: killed by signal %d\n", users[i],
				        hosts[i], WTERMSIG(status));
		}
	}
	t1 = now_s();
	failed += n - started;
	printf("ok %zu failed %zu seconds %.6f\n", ok, failed, t1 - t0);
	return failed == 0 && nready == n ? 0 : 1;
}
