/* pamhostile: PAM transactions through the real libpam with hostile items
 * and a hostile conversation, for tests/integration/test_pam_hostile.py
 * (what pypamtest cannot do: NUL-free binary items, no PAM_USER at all,
 * conversations that fail or answer absurdly).
 *
 *   pamhostile [-d CONFDIR] [-u HEX | -U] [-r HEX] [-t HEX] [-c CONV]
 *              [-a HEX] [-n N] SERVICE OPS
 *
 *   -u HEX    the user given to pam_start (hex: any byte but NUL passes)
 *   -U        no user: pam_start(NULL), PAM_USER unset
 *   -r, -t    PAM_RHOST, PAM_TTY (hex)
 *   -c CONV   the conversation:
 *               answer     every prompt gets -a's text (default "")
 *               null       PAM_SUCCESS with no response array
 *               null-resp  a response array whose resp are all NULL
 *               conv-err   PAM_CONV_ERR
 *               buf-err    PAM_BUF_ERR
 *               huge       1 MiB answers (printable, then binary)
 *               binary     answers of control bytes and invalid UTF-8
 *   -n N      the transaction N times in this process (ASan/LSan)
 *   OPS       comma list of account, chauthtok, open, close
 *
 * Prints "OP RC" for each call of the last transaction, then "prompts N"
 * (questions the conversation was asked in all) and "messages N" (info and
 * errors). Exits 0 when every call returned, 1 when pam_start failed, 64
 * on a usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_appl.h>

#define HUGE_ANSWER ((size_t)1024 * 1024)

static const char *conv_mode = "answer";
static const char *answer = "";
static long prompts, messages;

/* An answer for mode, malloc'd (libpam frees it). */
static char *make_answer(void)
{
	char *r;

	if (strcmp(conv_mode, "huge") == 0) {
		r = malloc(HUGE_ANSWER + 1);
		if (r == NULL)
			return NULL;
		memset(r, 'A', HUGE_ANSWER / 2);
		for (size_t i = HUGE_ANSWER / 2; i < HUGE_ANSWER; i++)
			r[i] = (char)(1 + i % 255); /* every byte but NUL */
		r[HUGE_ANSWER] = '\0';
		return r;
	}
	if (strcmp(conv_mode, "binary") == 0)
		return strdup("\x01\x1b[2J\r\nBcc: x@y\x7f\xff\xc3(%n%s\\x0a");
	return strdup(answer);
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r;

	(void)data;
	for (int i = 0; i < n; i++) {
		int style = msg[i]->msg_style;

		if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON)
			prompts++;
		else
			messages++;
	}
	if (strcmp(conv_mode, "conv-err") == 0)
		return PAM_CONV_ERR;
	if (strcmp(conv_mode, "buf-err") == 0)
		return PAM_BUF_ERR;
	if (strcmp(conv_mode, "null") == 0) {
		*resp = NULL;
		return PAM_SUCCESS;
	}
	r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	if (strcmp(conv_mode, "null-resp") != 0)
		for (int i = 0; i < n; i++) {
			if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
			    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
				continue;
			r[i].resp = make_answer();
			if (r[i].resp == NULL) {
				for (int k = 0; k < i; k++)
					free(r[k].resp);
				free(r);
				return PAM_BUF_ERR;
			}
		}
	*resp = r;
	return PAM_SUCCESS;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes hex into a malloc'd string; NULL when malformed or holding NUL. */
static char *unhex(const char *hex)
{
	size_t n = strlen(hex);
	char *out;

	if (n % 2 != 0)
		return NULL;
	out = malloc(n / 2 + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[i] = (char)(hi * 16 + lo);
	}
	out[n / 2] = '\0';
	return out;
}

static int known_conv(const char *mode)
{
	static const char *const modes[] = { "answer", "null", "null-resp", "conv-err",
		                             "buf-err", "huge", "binary" };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mode, modes[i]) == 0)
			return 1;
	return 0;
}

static int usage(void)
{
	(void)fprintf(stderr, "usage: pamhostile [-d CONFDIR] [-u HEX | -U] [-r HEX] [-t HEX] "
	                "[-c CONV] [-a HEX] [-n N] SERVICE OPS\n");
	return 64;
}

static int run(const char *service, const char *confdir, const char *user, const char *rhost,
               const char *tty, const char *ops, int print)
{
	struct pam_conv pc = { conv, NULL };
	pam_handle_t *h = NULL;
	char *list = strdup(ops), *save = NULL;
	int rc = PAM_SUCCESS;

	if (list == NULL)
		return -1;
	if ((confdir != NULL ? pam_start_confdir(service, user, &pc, confdir, &h)
	                     : pam_start(service, user, &pc, &h)) != PAM_SUCCESS) {
		free(list);
		return -1;
	}
	if ((rhost != NULL && pam_set_item(h, PAM_RHOST, rhost) != PAM_SUCCESS) ||
	    (tty != NULL && pam_set_item(h, PAM_TTY, tty) != PAM_SUCCESS)) {
		(void)pam_end(h, PAM_SYSTEM_ERR);
		free(list);
		return -1;
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
		if (print)
			(void)printf("%s %d\n", op, rc);
	}
	(void)pam_end(h, rc >= 0 ? rc : PAM_SYSTEM_ERR);
	free(list);
	return 0;
}

int main(int argc, char **argv)
{
	const char *confdir = NULL;
	char *user = NULL, *rhost = NULL, *tty = NULL, *ans = NULL;
	int no_user = 0, opt, status = 0;
	long n = 1;

	while ((opt = getopt(argc, argv, "d:u:Ur:t:c:a:n:")) != -1) {
		char **dst = NULL;

		switch (opt) {
		case 'd':
			confdir = optarg;
			break;
		case 'u':
			dst = &user;
			break;
		case 'U':
			no_user = 1;
			break;
		case 'r':
			dst = &rhost;
			break;
		case 't':
			dst = &tty;
			break;
		case 'a':
			dst = &ans;
			break;
		case 'c':
			conv_mode = optarg;
			break;
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		default:
			status = 64;
			break;
		}
		if (dst != NULL) {
			free(*dst);
			*dst = optarg[0] != '\0' ? unhex(optarg) : strdup("");
			if (*dst == NULL)
				status = 64;
		}
	}
	if (status != 0 || argc - optind != 2 || (user == NULL && !no_user) || n < 1 ||
	    !known_conv(conv_mode)) {
		free(user);
		free(rhost);
		free(tty);
		free(ans);
		return usage();
	}
	if (ans != NULL)
		answer = ans;
	for (long i = 0; i < n && status == 0; i++)
		if (run(argv[optind], confdir, no_user ? NULL : user, rhost, tty, argv[optind + 1],
		        i == n - 1) != 0) {
			(void)fprintf(stderr, "pam_start failed\n");
			status = 1;
		}
	(void)printf("prompts %ld\nmessages %ld\n", prompts, messages);
	free(user);
	free(rhost);
	free(tty);
	free(ans);
	return status;
}
