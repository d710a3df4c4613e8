/* The helper's log: syslog (authpriv for accounts, mail for deliveries)
 * and general.log_file; never a password. */
#ifndef ESCHOOL_LOG_H
#define ESCHOOL_LOG_H

#include "cli.h"

void log_open(const struct cli *ctx);
void log_msg(int facility, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_close(void);

#endif
