/* The notices the workstations owe (helper/mail/notices.c): with the
 * directory store a workstation sends no mail; pam_eschool writes what it
 * owes into the user's state (es_account_owe_notice) and the server's
 * `queue run` turns it into queued mails. */
#ifndef ESCHOOL_MAIL_NOTICES_H
#define ESCHOOL_MAIL_NOTICES_H

#include <stddef.h>

#include "cli.h"

/* Queues every owed notice and removes it from its state; *queued counts
 * them. A store without owed notices (the files): nothing to do. A
 * notice is removed only once its mail is queued; killed in between, the
 * next run queues it again (at most one mail twice). */
int collect_owed_notices(struct cli *ctx, size_t *queued, struct es_err *err);

#endif
