/* pamconvlock: one PAM transaction through the real libpam whose
 * conversation looks, at every message, whether eschool's locks for the
 * user are held: the module must never hold one across a conversation
 * (issue 16, item 2: the user can stop the process there, and every
 * command that waits for the lock would wait for ever).
 * For tests/integration/test_pam_convlock.py.
 *
 *   pamconvlock [-a ANSWER]... [-r RHOST] STATE_DIR SERVICE USER OPS
 *
 *   -a ANSWER  the answer to the next prompt (given again: the next ones;
 *              the last is repeated, "" without any)
 *   -r RHOST   PAM_RHOST
 *   OPS        comma list of account, chauthtok, open, close
 *
 * At each message it opens STATE_DIR/locks/USER and STATE_DIR itself (the
 * helper's global lock) and tries flock(LOCK_EX | LOCK_NB) on each, from
 * another open file description, so a lock the module holds in this same
 * process conflicts. Prints "conv STYLE free|held TEXT" per message (STYLE:
 * prompt, echo, error, info), then "OP RC" per call. Exits 0 when every
 * call returned, 1 when pam_start failed, 64 on a usage error. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <security/pam_appl.h>

#define MAX_ANSWERS 16

static const char *answers[MAX_ANSWERS];
static int nanswers, next_answer;
static char lock_path[4096];
static const char *state_dir;

/* 1 when path is locked by someone (this process's module included), 0
 * when free or absent (no lock file: nothing is locked), -1 on error. */
static int held(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), r;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		(void)flock(fd, LOCK_UN);
		r = 0;
	} else {
		r = errno == EWOULDBLOCK ? 1 : -1;
	}
	(void)close(fd);
	return r;
}

static const char *style_name(int style)
{
	switch (style) {
	case PAM_PROMPT_ECHO_OFF:
		return "prompt";
	case PAM_PROMPT_ECHO_ON:
		return "echo";
	case PAM_ERROR_MSG:
		return "error";
	case PAM_TEXT_INFO:
		return "info";
	default:
		return "other";
	}
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	(void)data;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		int style = msg[i]->msg_style, u = held(lock_path), g = held(state_dir);

		(void)printf("conv %s %s %s\n", style_name(style),
		             u < 0 || g < 0 ? "error" : u || g ? "held" : "free",
		             msg[i]->msg != NULL ? msg[i]->msg : "");
		if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
			const char *a = nanswers == 0 ? ""
			                : answers[next_answer < nanswers ? next_answer : nanswers - 1];

			next_answer++;
			r[i].resp = strdup(a);
			if (r[i].resp == NULL) {
				for (int k = 0; k < i; k++)
					free(r[k].resp);
				free(r);
				return PAM_BUF_ERR;
			}
		}
	}
	(void)fflush(stdout);
	*resp = r;
	return PAM_SUCCESS;
}

int main(int argc, char **argv)
{
	struct pam_conv pc = { conv, NULL };
	const char *rhost = NULL;
	pam_handle_t *h = NULL;
	char *list, *save = NULL;
	int opt, rc = PAM_SUCCESS;

	while ((opt = getopt(argc, argv, "a:r:")) != -1) {
		if (opt == 'a' && nanswers < MAX_ANSWERS)
			answers[nanswers++] = optarg;
		else if (opt == 'r')
			rhost = optarg;
		else
			return 64;
	}
	if (argc - optind != 4) {
		(void)fprintf(stderr, "usage: pamconvlock [-a ANSWER]... [-r RHOST] STATE_DIR "
		                      "SERVICE USER OPS\n");
		return 64;
	}
	state_dir = argv[optind];
	if (snprintf(lock_path, sizeof(lock_path), "%s/locks/%s", state_dir, argv[optind + 2]) >=
	    (int)sizeof(lock_path))
		return 64;
	if (pam_start(argv[optind + 1], argv[optind + 2], &pc, &h) != PAM_SUCCESS) {
		(void)fprintf(stderr, "pam_start failed\n");
		return 1;
	}
	if (rhost != NULL && pam_set_item(h, PAM_RHOST, rhost) != PAM_SUCCESS) {
		(void)pam_end(h, PAM_SYSTEM_ERR);
		return 1;
	}
	list = strdup(argv[optind + 3]);
	if (list == NULL) {
		(void)pam_end(h, PAM_BUF_ERR);
		return 1;
	}
	for (char *op = strtok_r(list, ",", &save); op != NULL; op = strtok_r(NULL, ",", &save)) {
		if (strcmp(op, "account") == 0)
			rc = pam_acct_mgmt(h, 0);
		else if (strcmp(op, "chauthtok") == 0)
			rc = pam_chauthtok(h, 0);
		else if (strcmp(op, "open") == 0)
			rc = pam_open_session(h, 0);
		else if (strcmp(op, "close") == 0)
			rc = pam_close_session(h, 0);
		else
			rc = -1;
		(void)printf("%s %d\n", op, rc);
	}
	(void)fflush(stdout);
	(void)pam_end(h, rc >= 0 ? rc : PAM_SYSTEM_ERR);
	free(list);
	return 0;
}
