/* The outbox: what `queue run`, add/reset/resend and import share to send
 * queued mail. It holds the queue runner's lock (two senders never send the
 * same message), opens one SMTP connection with one login lazily, counts
 * what was sent per day and per month in spool_dir/quota, stops at the
 * quota (the rest waits for the next window), paces sends to
 * rate_per_second, and settles each message: 250 -> removed; 5xx or past
 * its lifetime -> failed/ and the admin told once (delivery-failure);
 * otherwise kept with backoff. Every outcome is one log line. The admin's
 * notices are composed through mail/compose.h. */
#include "cli.h"
#include "ui.h"
#include "log.h"
#include "mail/outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "es_fs.h"
#include "es_queue.h"
#include "mail/compose.h"

#define BACKOFF_FIRST ((int64_t)60)
#define BACKOFF_MAX ((int64_t)4 * 3600)
#define LIFETIME ((int64_t)5 * 86400)

struct outbox {
	struct cli *ctx;
	struct es_config cfg;  /* shallow copy: timeout may be shortened */
	int lockfd;
	struct es_queue_run *qr;
	struct smtp *smtp;
	struct quota quota;
	int quota_fd;
	bool stopped;          /* server unreachable or refusing us */
	bool over_quota;
	struct timespec last_send;
	bool sent_any;
	unsigned unsaved;      /* sends counted since the quota was written */
};

static int64_t backoff(long attempts)
{
	int64_t delay = BACKOFF_FIRST;

	for (long i = 1; i < attempts && delay < BACKOFF_MAX; i++)
		delay *= 2;
	return delay < BACKOFF_MAX ? delay : BACKOFF_MAX;
}

/* ---- quota: spool_dir/quota ---- */

static void quota_windows(time_t now, char day[11], char month[8])
{
	struct tm tm;

	if (localtime_r(&now, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	(void)strftime(day, 11, "%Y-%m-%d", &tm);
	(void)strftime(month, 8, "%Y-%m", &tm);
}

static void quota_parse(const char *text, struct quota *q)
{
	char key[32], val[32];
	const char *p = text;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[80];

		if (len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			if (sscanf(line, "%31[a-z_]=%31s", key, val) == 2) {
				if (strcmp(key, "day") == 0)
					(void)es_strlcpy(q->day, val, sizeof(q->day));
				else if (strcmp(key, "month") == 0)
					(void)es_strlcpy(q->month, val, sizeof(q->month));
				else if (strcmp(key, "day_sent") == 0)
					q->day_sent = strtol(val, NULL, 10);
				else if (strcmp(key, "month_sent") == 0)
					q->month_sent = strtol(val, NULL, 10);
				else if (strcmp(key, "day_alerted") == 0)
					q->day_alerted = strcmp(val, "1") == 0;
				else if (strcmp(key, "month_alerted") == 0)
					q->month_alerted = strcmp(val, "1") == 0;
			}
		}
		p += len + (eol != NULL);
	}
	if (q->day_sent < 0)
		q->day_sent = 0;
	if (q->month_sent < 0)
		q->month_sent = 0;
}

/* A new day or month starts from zero. */
static void quota_roll(struct quota *q, time_t now)
{
	char day[11], month[8];

	quota_windows(now, day, month);
	if (strcmp(q->day, day) != 0) {
		(void)es_strlcpy(q->day, day, sizeof(q->day));
		q->day_sent = 0;
		q->day_alerted = false;
	}
	if (strcmp(q->month, month) != 0) {
		(void)es_strlcpy(q->month, month, sizeof(q->month));
		q->month_sent = 0;
		q->month_alerted = false;
	}
}

/* spool_dir/quota, checked like a queue file: never through a symlink,
 * never waiting on a FIFO, a regular root file (0600) of a few lines. */
#define QUOTA_MAX (64LL * 1024)

static int quota_open(const char *spool, bool create, int *fd, struct es_err *err)
{
	struct stat sb;
	char why[160];
	const char *refusal;
	int sfd = -1, rc, e;

	*fd = -1;
	rc = es_fs_open_dir(AT_FDCWD, spool, NULL, create, ES_EPERM, "spool directory", &sfd, err);
	if (rc != 0)
		return rc;
	*fd = openat(sfd, "quota",
	             O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | (create ? O_CREAT : 0),
	             0600);
	e = errno;
	es_fs_close(&sfd);
	if (*fd < 0) {
		if (e == ENOENT && !create)
			return 1;
		refusal = es_fs_open_refusal(e);
		if (refusal != NULL)
			return es_err_set(err, ES_EDATA,
			                  "unsafe %s/quota: %s; move it away (it is made again, "
			                  "the day's and month's counts start from zero)",
			                  spool, refusal);
		return es_err_errno(err, ES_EIO, e, "cannot open %s/quota", spool);
	}
	if (fstat(*fd, &sb) != 0) {
		e = errno;
		es_fs_close(fd);
		return es_err_errno(err, ES_EIO, e, "cannot stat %s/quota", spool);
	}
	if (!es_fs_file_ok(&sb, 077, QUOTA_MAX, why, sizeof(why))) {
		es_fs_close(fd);
		return es_err_set(err, ES_EDATA,
		                  "unsafe %s/quota: %s; move it away (it is made again, the day's "
		                  "and month's counts start from zero)",
		                  spool, why);
	}
	return 0;
}

static int quota_load_fd(int fd, struct quota *q)
{
	char text[512];
	size_t got = 0;

	memset(q, 0, sizeof(*q));
	if (lseek(fd, 0, SEEK_SET) < 0 || es_fs_read_all(fd, text, sizeof(text) - 1, &got) != 0)
		return -1;
	text[got] = '\0';
	quota_parse(text, q);
	return 0;
}

int quota_read(const struct cli *ctx, struct quota *q, struct es_err *err)
{
	int fd = -1, rc;

	memset(q, 0, sizeof(*q));
	rc = quota_open(ctx->cfg.spool_dir, false, &fd, err);
	if (rc < 0)
		return -1;
	if (rc == 0 && quota_load_fd(fd, q) != 0)
		rc = es_err_errno(err, ES_EIO, errno, "cannot read %s/quota", ctx->cfg.spool_dir);
	es_fs_close(&fd);
	if (rc < 0)
		return -1;
	quota_roll(q, ctx->now);
	return 0;
}

/* Rewritten in place every QUOTA_SAVE_EVERY sends, at an alert and when
 * the outbox closes (then synced): a killed run forgets at most that many
 * counts, never a message. */
#define QUOTA_SAVE_EVERY 16

static void quota_save(struct outbox *ob)
{
	char text[256];
	int n;

	if (ob->quota_fd < 0)
		return;
	ob->unsaved = 0;
	n = snprintf(text, sizeof(text),
	             "eschool-quota 1\nday=%s\nday_sent=%ld\nday_alerted=%d\nmonth=%s\n"
	             "month_sent=%ld\nmonth_alerted=%d\nend\n",
	             ob->quota.day, ob->quota.day_sent, ob->quota.day_alerted, ob->quota.month,
	             ob->quota.month_sent, ob->quota.month_alerted);
	if (n <= 0 || (size_t)n >= sizeof(text) || pwrite(ob->quota_fd, text, (size_t)n, 0) != n ||
	    ftruncate(ob->quota_fd, n) != 0)
		ui_warn("cannot record the quota in %s/quota: %s", ob->cfg.spool_dir,
		        strerror(errno));
}

/* ---- opening and closing ---- */

int outbox_open(struct cli *ctx, long timeout, struct outbox **out,
                   struct es_err *err)
{
	struct outbox *ob = calloc(1, sizeof(*ob));

	*out = NULL;
	if (ob == NULL)
		return es_err_errno(err, ES_EOS, errno, "out of memory");
	/* libcurl frees and reallocates its transfer buffers for every mail:
	 * without this, glibc gives the heap back and takes it again each
	 * time, and with the deleter thread each brk costs a TLB shootdown */
	(void)mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
	(void)mallopt(M_TOP_PAD, 1024 * 1024);
	ob->ctx = ctx;
	ob->cfg = ctx->cfg;
	ob->lockfd = -1;
	ob->quota_fd = -1;
	if (timeout > 0 && ob->cfg.timeout > timeout)
		ob->cfg.timeout = timeout;
	if (es_queue_lock(ctx->cfg.spool_dir, false, &ob->lockfd, err) != 0) {
		free(ob);
		return -1;
	}
	if (es_queue_run_open(ctx->cfg.spool_dir, &ob->qr, err) != 0 ||
	    quota_open(ctx->cfg.spool_dir, true, &ob->quota_fd, err) != 0 ||
	    quota_load_fd(ob->quota_fd, &ob->quota) != 0) {
		if (err->msg[0] == '\0')
			es_err_errno(err, ES_EIO, errno, "cannot read %s/quota", ctx->cfg.spool_dir);
		outbox_close(ob);
		return -1;
	}
	quota_roll(&ob->quota, ctx->now); /* (the log was opened by prepare) */
	*out = ob;
	return 0;
}

void outbox_close(struct outbox *ob)
{
	if (ob == NULL)
		return;
	smtp_close(ob->smtp);
	es_queue_run_close(ob->qr);
	if (ob->unsaved > 0)
		quota_save(ob);
	if (ob->quota_fd >= 0 && ob->sent_any)
		(void)es_fs_fsync(ob->quota_fd);
	es_fs_close(&ob->quota_fd);
	es_fs_close(&ob->lockfd); /* releases the queue's flock */
	free(ob);
}

int outbox_read(struct outbox *ob, const char *id, struct es_qmsg *m, char **msg,
                   size_t *len, struct es_err *err)
{
	return es_queue_run_read(ob->qr, id, m, msg, len, err);
}

bool outbox_stopped(const struct outbox *ob)
{
	return ob->stopped || ob->over_quota;
}

bool outbox_over_quota(const struct outbox *ob)
{
	return ob->over_quota;
}

/* ---- sending ---- */

static bool is_admin_kind(const char *kind)
{
	return strcmp(kind, "quota-alert") == 0 || strcmp(kind, "delivery-failure") == 0;
}

/* Waits so that sends are at least 1/rate_per_second apart. */
static void pace(struct outbox *ob)
{
	struct timespec now, wait;
	long long gap_ns, since_ns;

	if (ob->cfg.rate_per_second <= 0 || !ob->sent_any)
		return;
	gap_ns = 1000000000LL / ob->cfg.rate_per_second;
	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	since_ns = (long long)(now.tv_sec - ob->last_send.tv_sec) * 1000000000LL +
	           (now.tv_nsec - ob->last_send.tv_nsec);
	if (since_ns >= gap_ns)
		return;
	wait.tv_sec = (time_t)((gap_ns - since_ns) / 1000000000LL);
	wait.tv_nsec = (long)((gap_ns - since_ns) % 1000000000LL);
	while (nanosleep(&wait, &wait) != 0 && errno == EINTR)
		;
}

/* Queues an admin mail (school's language) and sends it through this
 * outbox now; without admin_email, the log line is all there is. */
static void admin_mail(struct outbox *ob, const char *kind, const struct es_tvar *vars,
                       size_t nvars)
{
	struct cli *ctx = ob->ctx;
	struct es_buf msg = { 0 };
	struct es_err err = { 0 };
	struct es_qmsg m;
	struct smtp_result r;
	enum outcome outcome;

	if (ctx->cfg.admin_email[0] == '\0')
		return;
	memset(&m, 0, sizeof(m));
	(void)es_strlcpy(m.to, ctx->cfg.admin_email, sizeof(m.to));
	(void)es_strlcpy(m.kind, kind, sizeof(m.kind));
	m.priority = ES_QPRIO_NOTICE;
	if (compose_for(ctx, kind, ctx->cfg.language, m.to, NULL, vars, nvars, NULL, 0, &msg,
	                NULL, &err) != 0 ||
	    es_queue_add(ctx->cfg.spool_dir, &m, msg.data, msg.len, ctx->now, &err) != 0 ||
	    outbox_send(ob, &m, msg.data, msg.len, &outcome, &r, &err) != 0)
		ui_warn("%s: %s", kind, ui_err(&err));
	es_buf_free(&msg);
}

static void quota_alert(struct outbox *ob, bool month)
{
	bool fr = strcmp(ob->ctx->cfg.language, "fr") == 0;
	long used = month ? ob->quota.month_sent : ob->quota.day_sent;
	long quota = month ? ob->cfg.monthly_quota : ob->cfg.daily_quota;
	char used_s[24], quota_s[24];
	const struct es_tvar vars[] = {
		{ "used", used_s },
		{ "quota", quota_s },
		{ "window", month ? (fr ? "ce mois-ci" : "this month") : (fr ? "aujourd'hui" : "today") },
	};

	(void)snprintf(used_s, sizeof(used_s), "%ld", used);
	(void)snprintf(quota_s, sizeof(quota_s), "%ld", quota);
	log_msg(LOG_MAIL, LOG_WARNING, "quota: %ld of %ld sent %s", used, quota,
	       month ? "this month" : "today");
	admin_mail(ob, "quota-alert", vars, ES_ARRAY_LEN(vars));
}

static bool reached(long sent, long quota, long percent)
{
	return quota > 0 && sent * 100 >= quota * percent;
}

/* Counts a sent mail; at quota_warn_percent of a window, one alert. */
static void count_sent(struct outbox *ob)
{
	long warn = ob->cfg.quota_warn_percent;
	bool day_alert, month_alert;

	quota_roll(&ob->quota, ob->ctx->now);
	ob->quota.day_sent++;
	ob->quota.month_sent++;
	day_alert = warn > 0 && !ob->quota.day_alerted &&
	            reached(ob->quota.day_sent, ob->cfg.daily_quota, warn);
	month_alert = warn > 0 && !ob->quota.month_alerted &&
	              reached(ob->quota.month_sent, ob->cfg.monthly_quota, warn);
	ob->quota.day_alerted |= day_alert;
	ob->quota.month_alerted |= month_alert;
	if (day_alert || month_alert || ++ob->unsaved >= QUOTA_SAVE_EVERY)
		quota_save(ob);
	/* the alert itself is not counted nor held: the admin must learn of
	 * the quota on the day it is reached */
	if (day_alert)
		quota_alert(ob, false);
	if (month_alert)
		quota_alert(ob, true);
}

static bool quota_full(struct outbox *ob)
{
	quota_roll(&ob->quota, ob->ctx->now);
	return reached(ob->quota.day_sent, ob->cfg.daily_quota, 100) ||
	       reached(ob->quota.month_sent, ob->cfg.monthly_quota, 100);
}

static void failed_for_good(struct outbox *ob, const struct es_qmsg *m)
{
	const struct es_tvar vars[] = {
		{ "recipient", m->to },
		{ "message_kind", m->kind },
		{ "username", m->user[0] ? m->user : NULL },
		{ "error", m->last_error },
		{ "message_id", m->id },
	};

	if (!is_admin_kind(m->kind)) /* never a loop of notices */
		admin_mail(ob, "delivery-failure", vars, ES_ARRAY_LEN(vars));
}

/* ---- backend = console | file ---- */

int mail_local(const struct cli *ctx, const char *id, const char *to, const char *msg,
                  size_t len, char *where, size_t wheresz, struct es_err *err)
{
	if (ctx->cfg.mail_backend == ES_MAILB_CONSOLE) {
		/* stdout is the JSON stream with --json: the mail goes to stderr */
		FILE *out = ctx->json ? stderr : stdout;
		struct es_buf b = { 0 };
		int rc = es_buf_printf(&b, "---------- %s -> %s ----------\n", id, to);

		for (size_t i = 0; rc == 0 && i < len; i++) /* CRLF -> LF, for people */
			if (!(msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n'))
				rc = es_buf_append(&b, msg + i, 1);
		rc |= es_buf_puts(&b, "\n");
		if (rc != 0) {
			es_buf_free(&b);
			return es_err_set(err, ES_EOS, "out of memory");
		}
		(void)fflush(out);
		rc = es_fs_write_all(fileno(out), b.data, b.len);
		es_buf_free(&b); /* wiped: the mail may hold a password */
		if (rc != 0)
			return es_err_errno(err, ES_EIO, rc, "cannot print the mail");
		(void)es_strlcpy(where, ctx->json ? "stderr" : "stdout", wheresz);
		return 0;
	}
	{
		char dflt[4096 + 8], name[80];
		const char *dir = ctx->cfg.file_dir;
		int dfd = -1, e;

		if (dir[0] == '\0') {
			(void)snprintf(dflt, sizeof(dflt), "%s/mails", ctx->cfg.spool_dir);
			dir = dflt;
		}
		/* root's private directory: the mails may hold passwords */
		if (es_fs_open_dir(AT_FDCWD, dir, NULL, true, ES_EPERM, "mail file directory", &dfd,
		                   err) != 0)
			return -1;
		(void)snprintf(name, sizeof(name), "%s.eml", id);
		e = es_fs_write_atomic(dfd, dfd, name, msg, len);
		es_fs_close(&dfd);
		if (e != 0)
			return es_err_errno(err, e == ENOSPC ? ES_ETEMP : ES_EIO, e, "cannot write %s/%s",
			                    dir, name);
		(void)snprintf(where, wheresz, "%s/%s", dir, name);
		return 0;
	}
}

/* The server did not take m: failed for good (5xx, lifetime over), or
 * deferred with the next try's time; recorded in the queue. */
static int not_sent(struct outbox *ob, struct es_qmsg *m, enum outcome *outcome,
                    const struct smtp_result *r, struct es_err *err)
{
	const struct cli *ctx = ob->ctx;
	const char *spool = ctx->cfg.spool_dir;
	char why[1024];

	/* the server is unreachable or refuses us: the other messages would
	 * fail the same way, each after a timeout; they wait for the next run */
	ob->stopped = strcmp(r->failed_step, "connect") == 0 || strcmp(r->failed_step, "tls") == 0 ||
	              strcmp(r->failed_step, "login") == 0;
	m->attempts++;
	(void)snprintf(why, sizeof(why), "%s: %s%s%s", r->failed_step, r->detail,
	               r->reply[0] ? " — " : "", r->reply);
	(void)es_strlcpy(m->last_error, "", sizeof(m->last_error));
	{
		size_t wl = strlen(why) < sizeof(m->last_error) ? strlen(why)
		                                                 : sizeof(m->last_error) - 1;
		memcpy(m->last_error, why, wl); /* truncated: it is for people */
		m->last_error[wl] = '\0';
	}
	if (r->permanent || (int64_t)ctx->now - m->created >= LIFETIME) {
		*outcome = OUTCOME_FAILED;
		log_msg(LOG_MAIL, LOG_ERR, "%s to=<%s> kind=%s result=failed reply=\"%s\" (%s)", m->id,
		       m->to, m->kind, r->reply, r->permanent ? "refused for good" : "lifetime over");
		if (es_queue_fail(spool, m, err) != 0)
			return -1;
		failed_for_good(ob, m);
		return 0;
	}
	*outcome = OUTCOME_DEFERRED;
	m->next_try = (int64_t)ctx->now + backoff(m->attempts);
	log_msg(LOG_MAIL, LOG_NOTICE, "%s to=<%s> kind=%s result=deferred reply=\"%s\" (%s: %s)",
	       m->id, m->to, m->kind, r->reply, r->failed_step, r->detail);
	return es_queue_update(spool, m, err);}

int outbox_send(struct outbox *ob, struct es_qmsg *m, const char *msg, size_t len,
                   enum outcome *outcome, struct smtp_result *r, struct es_err *err)
{
	struct cli *ctx = ob->ctx;
	int rc;

	memset(r, 0, sizeof(*r));
	*outcome = OUTCOME_HELD;
	if (ob->stopped)
		return 0;
	if (ctx->cfg.mail_backend != ES_MAILB_SMTP) { /* no server, no quota */
		char where[4200];

		if (mail_local(ctx, m->id, m->to, msg, len, where, sizeof(where), err) != 0)
			return -1;
		*outcome = OUTCOME_SENT;
		r->accepted = true;
		(void)snprintf(r->reply, sizeof(r->reply), "%.290s", where);
		log_msg(LOG_MAIL, LOG_INFO, "%s to=<%s> kind=%s result=sent backend=%s (%s)", m->id,
		       m->to, m->kind, ctx->cfg.mail_backend == ES_MAILB_FILE ? "file" : "console",
		       where);
		return es_queue_run_done(ob->qr, m->id, err);
	}
	if (strcmp(m->kind, "quota-alert") != 0) {
		if (ob->over_quota || quota_full(ob)) {
			if (!ob->over_quota)
				log_msg(LOG_MAIL, LOG_NOTICE, "quota reached (%ld today, %ld this month): "
				                              "sending resumes in the next window",
				       ob->quota.day_sent, ob->quota.month_sent);
			ob->over_quota = true;
			return 0;
		}
	}
	if (ob->smtp == NULL && smtp_open(&ob->smtp, &ob->cfg, err) != 0) {
		ob->stopped = true; /* (the settings or the sender): the same for every message */
		return -1;
	}
	pace(ob);
	smtp_send(ob->smtp, m->to, msg, len, r);
	(void)clock_gettime(CLOCK_MONOTONIC, &ob->last_send);
	ob->sent_any = true;
	if (r->accepted) {
		*outcome = OUTCOME_SENT;
		/* out of the queue before anything else: from the server's 250 to
		 * this rename, a kill makes the next run send the message again
		 * (RFC 1047), so nothing that may block (syslog, log_file) sits in
		 * between; and the alert that counting may send must not leave a
		 * delivered message behind if it is interrupted */
		rc = es_queue_run_done(ob->qr, m->id, err);
		log_msg(LOG_MAIL, LOG_INFO, "%s to=<%s> kind=%s result=sent reply=\"%s\"", m->id, m->to,
		       m->kind, r->reply);
		if (strcmp(m->kind, "quota-alert") != 0)
			count_sent(ob);
		return rc;
	}
	return not_sent(ob, m, outcome, r, err);
}
