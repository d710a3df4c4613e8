/* The commands (one cmd_*.c file each, listed in commands.c) and what
 * one command offers another. */
#ifndef ESCHOOL_COMMANDS_H
#define ESCHOOL_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

int cmd_add(struct cli *ctx, const struct args *a);
int cmd_import(struct cli *ctx, const struct args *a);
int cmd_sync(struct cli *ctx, const struct args *a);
int cmd_reset(struct cli *ctx, const struct args *a);
int cmd_resend(struct cli *ctx, const struct args *a);
int cmd_slips(struct cli *ctx, const struct args *a);
int cmd_delete(struct cli *ctx, const struct args *a);
int cmd_show(struct cli *ctx, const struct args *a);
int cmd_list(struct cli *ctx, const struct args *a);
int cmd_disable(struct cli *ctx, const struct args *a);
int cmd_enable(struct cli *ctx, const struct args *a);
int cmd_forget(struct cli *ctx, const struct args *a);
int cmd_remind(struct cli *ctx, const struct args *a);
int cmd_set_email(struct cli *ctx, const struct args *a);
int cmd_verify_email(struct cli *ctx, const struct args *a);
int cmd_check_dns(struct cli *ctx, const struct args *a);
int cmd_doctor(struct cli *ctx, const struct args *a);
int cmd_backup(struct cli *ctx, const struct args *a);
int cmd_restore(struct cli *ctx, const struct args *a);
int cmd_test_email(struct cli *ctx, const struct args *a);
int cmd_queue(struct cli *ctx, const struct args *a);

/* cmd_backup.c: one-line status files in state_dir (last-backup,
 * last-test-email), written atomically. 0 or -1. */
int stamp_write(const struct cli *ctx, const char *name, const char *text);
int stamp_read(const struct cli *ctx, const char *name, char *buf, size_t bufsz);

/* cmd_dns.c: looks up and judges DOMAIN's SPF, DMARC and DKIM records
 * (selector NULL: the usual ones); prints them when print. -1 when DNS
 * could not be asked (err), else 0 with *all_ok. */
int dns_check_domain(struct cli *ctx, const char *domain, const char *selector, bool print,
                     bool *all_ok, struct es_err *err);

#endif
