/* bench/qfill: queues N welcome mails for bench/smtp, through the queue's
 * own writer (es_queue_add: tmp/, fsync, rename, fsync of new/).
 *
 *   qfill [-u USERS] SPOOL N SIZE [SAMPLE]
 *
 * Each message is an RFC 5322 text/plain welcome mail with CRLF line
 * endings, exactly SIZE bytes long (unless SIZE is below the headers'
 * size), to sNNNNN@school.example, kind welcome-student, priority 0,
 * secret, about no account (user empty: a bench makes no accounts, and
 * queue run sends a mail about an account only while eschool keeps its
 * state, to the address that state has). With -u, message i is about the
 * account s(i mod USERS), as an import's mails are (bench/daily makes
 * those accounts): listing them asks each account's state whether its
 * mail is held. SAMPLE, when given, receives the first message with
 * LF line endings: smtp-source -F sends it back with CRLF, the same bytes.
 * Prints the message size on stdout. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "es_queue.h"

#define MAX_SIZE (1024L * 1024)

static const char *const filler[] = {
	"Your account works on every computer of the school's labs and in the library.",
	"Your files are kept in your home directory on the school's server; they are",
	"the same whichever computer you log in on. Please save your work there and",
	"not on the desktop of a lab machine, which is cleaned every night.",
	"",
	"Rules for the computer rooms:",
	"  - log out (do not just lock the screen) when you leave a computer;",
	"  - do not eat or drink next to the keyboards;",
	"  - printing is limited to 50 pages a month; ask your teacher for more;",
	"  - report any broken equipment to the IT team rather than fixing it.",
	"",
	"If you forget your password, ask your teacher or the IT team for a reset:",
	"you will receive a new temporary password by mail, like this one, and you",
	"will have to choose your own again at your next login.",
	"",
	"Your quota is 2 GB. When you come close to it you will receive a warning;",
	"delete old files or move them to a USB stick before it is full, since a",
	"full home directory prevents you from logging in on the graphical desktop.",
	"",
};

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->len + n + 2 >= o->cap) {
		(void)fprintf(stderr, "qfill: message too large\n");
		exit(1);
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len++] = '\r';
	o->p[o->len++] = '\n';
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	char line[1000];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	put(o, line);
}

/* Message i, exactly size bytes when possible; returns its length. */
static size_t build(struct out *o, long i, size_t size, time_t now)
{
	static const char alphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	static const char *const trailer[] = {
		"Never share your password, not even with a classmate.",
		"",
		"--",
		"Lyc\303\251e Victor Hugo",
		"IT team, room B12 - 01 23 45 67 89",
		"Questions? it@school.example",
		"This message was sent automatically; please do not reply.",
	};
	char date[64], password[13];
	unsigned char rnd[16];
	size_t trailer_len = 0, rem, k = 0;
	struct tm tm;

	randombytes_buf(rnd, sizeof(rnd));
	for (size_t j = 0; j < 12; j++)
		password[j] = alphabet[rnd[j] % (sizeof(alphabet) - 1)];
	password[12] = '\0';
	(void)gmtime_r(&now, &tm);
	(void)strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	o->len = 0;
	putf(o, "Date: %s", date);
	put(o, "From: =?UTF-8?Q?Lyc=C3=A9e_Victor_Hugo?= <noreply@school.example>");
	putf(o, "To: =?UTF-8?Q?Student_=C3=89l=C3=A8ve_%05ld?= <s%05ld@school.example>", i, i);
	put(o, "Subject: =?UTF-8?Q?Your_computer_account_at_Lyc=C3=A9e_Victor_Hugo?=");
	putf(o, "Message-ID: <%02x%02x%02x%02x%02x%02x%02x%02x.%05ld.eschool@school.example>",
	     rnd[12], rnd[13], rnd[14], rnd[15], rnd[0], rnd[1], rnd[2], rnd[3], i);
	put(o, "MIME-Version: 1.0");
	put(o, "Auto-Submitted: auto-generated");
	put(o, "X-Eschool-Kind: welcome-student");
	put(o, "Content-Type: text/plain; charset=UTF-8");
	put(o, "Content-Transfer-Encoding: 8bit");
	put(o, "");
	putf(o, "Hello Student \xc3\x89l\xc3\xa8ve %05ld,", i);
	put(o, "");
	put(o, "Your account for the computers at Lyc\303\251e Victor Hugo is ready (class 2nde A).");
	put(o, "");
	putf(o, "  Username:           s%05ld", i);
	putf(o, "  Temporary password: %s", password);
	put(o, "");
	put(o, "At your first login the computer will ask you to choose a new password");
	put(o, "that only you know. This temporary password stops working on");
	put(o, "2026-12-08 10:00 if it has not been used.");
	put(o, "");
	for (size_t j = 0; j < sizeof(trailer) / sizeof(trailer[0]); j++)
		trailer_len += strlen(trailer[j]) + 2;
	/* filler lines while they fit, never leaving 1 byte (a line is >= 2) */
	for (;;) {
		size_t l = strlen(filler[k]) + 2;
		size_t left = o->len + trailer_len < size ? size - o->len - trailer_len : 0;

		if (left < l || left - l == 1)
			break;
		put(o, filler[k]);
		k = (k + 1) % (sizeof(filler) / sizeof(filler[0]));
	}
	rem = o->len + trailer_len < size ? size - o->len - trailer_len : 0;
	if (rem >= 2) {
		char pad[1000];

		memset(pad, '=', rem - 2); /* rem - 2 < longest filler line + 2 */
		pad[rem - 2] = '\0';
		put(o, pad);
	}
	for (size_t j = 0; j < sizeof(trailer) / sizeof(trailer[0]); j++)
		put(o, trailer[j]);
	return o->len;
}

static long arg(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		(void)fprintf(stderr, "qfill: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct out o;
	long n, size, users = 0;
	size_t len = 0;
	time_t now = time(NULL);

	if (argc > 2 && strcmp(argv[1], "-u") == 0) {
		users = arg(argv[2], 1, 1000000, "user count");
		argc -= 2;
		argv += 2;
	}
	if (argc != 4 && argc != 5) {
		(void)fprintf(stderr, "usage: qfill [-u USERS] SPOOL N SIZE [SAMPLE]\n");
		return 2;
	}
	n = arg(argv[2], 1, 1000000, "count");
	size = arg(argv[3], 1, MAX_SIZE, "size");
	if (sodium_init() < 0) {
		(void)fprintf(stderr, "qfill: cannot initialise libsodium\n");
		return 1;
	}
	o.cap = MAX_SIZE + 4096;
	o.p = malloc(o.cap);
	if (o.p == NULL) {
		(void)fprintf(stderr, "qfill: out of memory\n");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		struct es_qmsg m;
		struct es_err err = { 0 };

		len = build(&o, i, (size_t)size, now);
		if (i == 0 && argc == 5) {
			FILE *f = fopen(argv[4], "w");

			if (f == NULL) {
				perror(argv[4]);
				return 1;
			}
			for (size_t j = 0; j < len; j++)
				if (o.p[j] != '\r')
					(void)putc(o.p[j], f);
			if (fclose(f) != 0) {
				perror(argv[4]);
				return 1;
			}
		}
		memset(&m, 0, sizeof(m));
		(void)snprintf(m.to, sizeof(m.to), "s%05ld@school.example", users ? i % users : i);
		if (users)
			(void)snprintf(m.user, sizeof(m.user), "s%05ld", i % users);
		(void)snprintf(m.kind, sizeof(m.kind), "welcome-student");
		m.priority = ES_QPRIO_CREDENTIALS;
		m.secret = true;
		if (es_queue_add(argv[1], &m, o.p, len, now, &err) != 0) {
			(void)fprintf(stderr, "qfill: message %ld: %s\n", i, err.msg);
			return 1;
		}
	}
	free(o.p);
	printf("%zu\n", len);
	return 0;
}
