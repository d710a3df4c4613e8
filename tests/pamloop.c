/* pamloop: PAM transactions in a loop through the real libpam, for the
 * module's robustness test (under valgrind) and for bench/pam.
 *
 *   pamloop SERVICE USER N          N x (start, account, chauthtok, open
 *                                   and close session, end); exit 0 when
 *                                   every call returned what the stack
 *                                   allows (see below) and as many file
 *                                   descriptors are open after as before
 *                                   (printed: "fds BEFORE AFTER"; 3 when
 *                                   they differ)
 *   pamloop -b SERVICE USER N       N x (account + open session) on one
 *                                   handle each, timed: prints the mean
 *                                   microseconds of the two calls and the
 *                                   mean page faults (minor) they took;
 *                                   every login from the same host
 *   pamloop -w SERVICE USER N       the same, each login from a new host
 *   pamloop -t SERVICE USER N       the same for the whole transaction a
 *                                   login process pays: pam_start (the
 *                                   modules loaded), account, open and
 *                                   close session, pam_end (unloaded)
 *
 * The conversation answers every prompt with the password in PAMLOOP_PW
 * (or nothing). PAMLOOP_CONFDIR, when set, is the directory of the service
 * files (pam_start_confdir) instead of /etc/pam.d; PAMLOOP_RHOST, when
 * set, is every login's PAM_RHOST. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_appl.h>

static const char *answer;

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	(void)data;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if ((msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		     msg[i]->msg_style == PAM_PROMPT_ECHO_ON) &&
		    answer != NULL) {
			r[i].resp = strdup(answer);
			if (r[i].resp == NULL) {
				for (int k = 0; k < i; k++)
					free(r[k].resp);
				free(r);
				return PAM_BUF_ERR;
			}
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static double now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static long minor_faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_minflt : 0;
}

/* Open file descriptors (the directory's own one not counted), or -1. */
static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	(void)closedir(d);
	return n - 1;
}

/* Return codes a stack with pam_eschool may give for a managed user. */
static int acceptable(int rc)
{
	return rc == PAM_SUCCESS || rc == PAM_NEW_AUTHTOK_REQD || rc == PAM_ACCT_EXPIRED ||
	       rc == PAM_PERM_DENIED || rc == PAM_IGNORE;
}

int main(int argc, char **argv)
{
	struct pam_conv pc = { conv, NULL };
	int whole = argc > 1 && strcmp(argv[1], "-t") == 0;
	int bench = argc > 1 && (strcmp(argv[1], "-b") == 0 || strcmp(argv[1], "-w") == 0 || whole);
	int same_host = argc > 1 && (strcmp(argv[1], "-b") == 0 || whole);
	const char *service, *user, *confdir, *fixed_rhost;
	long n, fds_before, faults = 0, f0 = 0;
	double total = 0, t0 = 0;

	if (argc != 4 + bench) {
		fprintf(stderr, "usage: pamloop [-b|-w|-t] SERVICE USER N\n");
		return 64;
	}
	service = argv[1 + bench];
	user = argv[2 + bench];
	n = strtol(argv[3 + bench], NULL, 10);
	answer = getenv("PAMLOOP_PW");
	confdir = getenv("PAMLOOP_CONFDIR");
	fixed_rhost = getenv("PAMLOOP_RHOST");
	/* a host program (sshd, login) has its syslog connection open before
	 * any PAM call: the module's log lines reuse it, not add one */
	openlog("pamloop", LOG_NDELAY, LOG_AUTHPRIV);
	fds_before = count_fds();
	for (long i = 0; i < n; i++) {
		pam_handle_t *h = NULL;
		char rhost[32];
		int rc;

		if (whole) {
			f0 = minor_faults();
			t0 = now_us();
		}
		if ((confdir != NULL ? pam_start_confdir(service, user, &pc, confdir, &h)
		                     : pam_start(service, user, &pc, &h)) != PAM_SUCCESS) {
			fprintf(stderr, "pam_start failed\n");
			return 1;
		}
		if (fixed_rhost != NULL)
			(void)snprintf(rhost, sizeof(rhost), "%s", fixed_rhost);
		else if (same_host)
			(void)snprintf(rhost, sizeof(rhost), "10.7.0.1");
		else
			(void)snprintf(rhost, sizeof(rhost), "10.7.%ld.%ld", (i / 250) % 250, i % 250);
		(void)pam_set_item(h, PAM_RHOST, rhost);
		(void)pam_set_item(h, PAM_TTY, "pts/1");
		if (!whole) {
			f0 = minor_faults();
			t0 = now_us();
		}
		rc = pam_acct_mgmt(h, 0);
		if (!acceptable(rc)) {
			fprintf(stderr, "pam_acct_mgmt: %s\n", pam_strerror(h, rc));
			return 1;
		}
		rc = pam_open_session(h, 0);
		if (!whole) {
			total += now_us() - t0;
			faults += minor_faults() - f0;
		}
		if (!acceptable(rc)) {
			fprintf(stderr, "pam_open_session: %s\n", pam_strerror(h, rc));
			return 1;
		}
		if (!bench)
			(void)pam_chauthtok(h, 0);
		if (!bench || whole)
			(void)pam_close_session(h, 0);
		(void)pam_end(h, rc);
		if (whole) {
			total += now_us() - t0;
			faults += minor_faults() - f0;
		}
	}
	if (bench) {
		printf("%.2f %.2f\n", total / (double)n, (double)faults / (double)n);
	} else {
		long fds_after = count_fds();

		(void)printf("fds %ld %ld\n", fds_before, fds_after);
		if (fds_before < 0 || fds_after != fds_before) {
			(void)fprintf(stderr, "pamloop: %ld file descriptors before, %ld after\n",
			        fds_before, fds_after);
			return 3;
		}
	}
	closelog();
	return 0;
}
