/* ldaplogin: full logins through the real libpam, one after the other, for
 * bench/ldap's lab at 8 a.m. (one of these per workstation, all at once).
 *
 *   ldaplogin SERVICE START USER...
 *
 * Waits until CLOCK_REALTIME reaches START (seconds since the epoch, a
 * decimal: every workstation starts at the same moment), then for each
 * USER: pam_start, PAM_TTY ":0" (a display manager at the console, no
 * PAM_RHOST), pam_authenticate, pam_acct_mgmt, pam_open_session,
 * pam_close_session, pam_end. The conversation answers every prompt with
 * PAMLOOP_PW. Prints one line per login: the microseconds from pam_start
 * to pam_end, then the realtime the login ended at. Exit 1 at the first
 * login that fails (its user and PAM's message on stderr). Built by
 * bench/ldap itself (cc ... -lpam). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <security/pam_appl.h>

static const char *answer;

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	(void)data;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++)
		if ((msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		     msg[i]->msg_style == PAM_PROMPT_ECHO_ON) &&
		    answer != NULL)
			r[i].resp = strdup(answer);
	*resp = r;
	return PAM_SUCCESS;
}

static double now(clockid_t clock)
{
	struct timespec ts;

	(void)clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct pam_conv pc = { conv, NULL };
	double start;

	if (argc < 4) {
		fprintf(stderr, "usage: ldaplogin SERVICE START USER...\n");
		return 64;
	}
	answer = getenv("PAMLOOP_PW");
	start = strtod(argv[2], NULL);
	while (now(CLOCK_REALTIME) < start) {
		double left = start - now(CLOCK_REALTIME);
		struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };

		(void)nanosleep(&ts, NULL);
	}
	for (int i = 3; i < argc; i++) {
		pam_handle_t *h = NULL;
		double t0 = now(CLOCK_MONOTONIC);
		int rc;
		const char *stage = "pam_start";

		rc = pam_start(argv[1], argv[i], &pc, &h);
		if (rc == PAM_SUCCESS) {
			(void)pam_set_item(h, PAM_TTY, ":0");
			stage = "pam_authenticate";
			rc = pam_authenticate(h, 0);
		}
		if (rc == PAM_SUCCESS) {
			stage = "pam_acct_mgmt";
			rc = pam_acct_mgmt(h, 0);
		}
		if (rc == PAM_SUCCESS) {
			stage = "pam_open_session";
			rc = pam_open_session(h, 0);
		}
		if (rc == PAM_SUCCESS) {
			stage = "pam_close_session";
			rc = pam_close_session(h, 0);
		}
		if (rc != PAM_SUCCESS) {
			fprintf(stderr, "ldaplogin: %s: %s: %s\n", argv[i], stage,
			        h != NULL ? pam_strerror(h, rc) : "no handle");
			return 1;
		}
		(void)pam_end(h, rc);
		printf("%.1f %.6f\n", (now(CLOCK_MONOTONIC) - t0) * 1e6, now(CLOCK_REALTIME));
		(void)fflush(stdout);
	}
	return 0;
}
