/* Logs: syslog (account events to authpriv, deliveries to mail) and, when
 * general.log_file is set, the same lines appended to that file with a
 * timestamp. Callers never pass a password; what a server reply or a name
 * might carry is escaped (es_log_escape) so that one event is one line that
 * shows what it says. */
#include "log.h"
#include "ui.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <paths.h>
#include <unistd.h>

#include "es_fs.h"
#include "es_pamin.h"

static int log_fd = -1;
static bool log_opened;
static bool syslog_there; /* without a socket, glibc would retry it per line */

void log_open(const struct cli *ctx)
{
	if (log_opened)
		return;
	log_opened = true;
	{
		struct stat sb;
		syslog_there = stat(_PATH_LOG, &sb) == 0 && S_ISSOCK(sb.st_mode);
	}
	openlog("eschool", LOG_PID | LOG_NDELAY, LOG_MAIL);
	if (ctx->cfg.log_file[0] == '\0')
		return;
	/* root's file: never through a symlink, never readable by others */
	log_fd = open(ctx->cfg.log_file,
	              O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (log_fd < 0)
		ui_warn("cannot open the log file %s: %s (logging to syslog only)",
		        ctx->cfg.log_file, strerror(errno));
}

void log_close(void)
{
	es_fs_close(&log_fd);
	if (log_opened)
		closelog();
	log_opened = false;
}

void log_msg(int facility, int priority, const char *fmt, ...)
{
	char raw[2048], line[4096], stamp[64], rec[4400];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;
	int n;

	va_start(ap, fmt);
	(void)vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* lib's escaper, as the module's lines: C0 and C1 controls, DEL, '\',
	 * invalid UTF-8 and the bidirectional and line-breaking characters
	 * become \xNN, so that a name cannot forge or hide a line */
	(void)es_log_escape(raw, line, sizeof(line));
	if (log_opened && syslog_there)
		syslog(facility | priority, "%s", line);
	if (log_fd < 0)
		return;
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
		(void)snprintf(stamp, sizeof(stamp), "%lld", (long long)now);
	n = snprintf(rec, sizeof(rec), "%s eschool[%ld]: %s\n", stamp, (long)getpid(), line);
	if (n > 0) /* one write: O_APPEND keeps concurrent writers' lines whole */
		(void)es_fs_write_all(log_fd, rec, (size_t)n < sizeof(rec) ? (size_t)n : sizeof(rec) - 1);
}
