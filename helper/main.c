/* eschool — creates school lab accounts and delivers their first passwords.
 * Root-run, never setuid. main() is the only place that exits. */
#include "accounts.h"
#include "directory.h"
#include "cli.h"
#include "commands.h"
#include "log.h"
#include "ui.h"

#include <errno.h>
#include <locale.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "es_password.h"

static const char usage_text[] = N_(
	"usage: eschool [-c FILE] [--debug|--production] [--json] [-q] [-v] COMMAND ...\n"
	"\n"
	"commands:\n"
	"  add USER --email ADDR [--name N] [--role R] [--parent-email ADDR]\n"
	"           [--class C] [--lang fr|en]   create an account, deliver its password\n"
	"  import FILE.csv [--dry-run] [--keep-going] [--output FILE]\n"
	"                                       create accounts from a roster\n"
	"  reset USER                           new temporary password\n"
	"  resend USER                          send the queued credentials mail again\n"
	"                                       (else a new temporary password)\n"
	"  show USER                            one account's state\n"
	"  list [--role R]                      managed accounts\n"
	"  disable USER, enable USER            lock / unlock an account\n"
	"  forget USER                          remove the eschool state a removed\n"
	"                                       account left behind\n"
	"  remind [--dry-run]                   mail the reminders and expiry warnings due\n"
	"  set-email USER ADDR                  change an address once a mailed code is back\n"
	"  verify-email USER CODE               confirm it with the code\n"
	"  check-dns DOMAIN [--selector S]      SPF, DMARC and DKIM of the sending domain\n"
	"  doctor                               the production checklist, each item checked\n"
	"  backup FILE, restore FILE            save / put back the state directory\n"
	"  test-email ADDR                      send one mail now, show the SMTP outcome\n"
	"  queue run|status|list, queue retry|drop ID   deliver and inspect the mail queue\n"
	"\n"
	"Run 'eschool COMMAND --help' for a command's options; see eschool(8).\n");

static bool terminal_is_french(void)
{
	const char *names[] = { "LC_ALL", "LC_MESSAGES", "LANG" };

	for (size_t i = 0; i < ES_ARRAY_LEN(names); i++) {
		const char *v = getenv(names[i]);
		if (v != NULL && v[0] != '\0')
			return strncmp(v, "fr", 2) == 0;
	}
	return false;
}

/* Global options may precede the command; they are also accepted after it
 * (parse_args). Returns the index of the command word, or -1. */
static int find_command(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			i++;
			continue;
		}
		if (argv[i][0] != '-')
			return i;
	}
	return -1;
}

int load_config(struct cli *ctx, struct es_err *err)
{
	const char *path = cli_globals.config_path;
	unsigned flags = ES_CFG_ENV;

	if (path == NULL)
		path = getenv("ESCHOOL_CONFIG");
	if (path == NULL || path[0] == '\0') {
		path = ES_CONFIG_DEFAULT_PATH;
		flags |= ES_CFG_OPTIONAL; /* first use: built-in defaults, debug mode */
	}
	if (es_config_load(&ctx->cfg, path, flags, err) != 0)
		return -1;
	if (cli_globals.mode_override >= 0 &&
	    es_config_set(&ctx->cfg, "general", "mode",
	                  cli_globals.mode_override == ES_MODE_DEBUG ? "debug" : "production",
	                  "command line", err) != 0)
		return -1;
	return 0;
}

/* One command's opening, done here once for all of them: the options
 * before the command word, its own line, root and the config as its
 * table entry says; then the command, and the output flushed. */
static int run(struct cli *ctx, const struct command *cmd, int ci, int argc, char **argv)
{
	struct es_err err = { 0 };
	struct args args;
	bool done;
	int rc;

	/* options before the command word are globals: hand them over */
	for (int k = 1; k < ci; k++) {
		if (global_opt(ctx, ci, argv, &k) <= 0) {
			ui_warn("unknown option '%s'", argv[k]);
			(void)fputs(_(usage_text), stderr);
			return ES_EUSAGE;
		}
	}
	rc = parse_command_line(ctx, cmd, argc - ci, argv + ci, &args, &done);
	if (rc != 0 || done)
		return rc;
	if (es_pw_init(&err) != 0)
		return ui_fail(&err);
	/* a dry run hands out nothing */
	rc = prepare(ctx, cmd->preparation, cmd->delivers && !arg_flag(&args, "dry-run"));
	if (rc == 0)
		rc = cmd->run(ctx, &args);
	log_close();
	directory_close(&ctx->directory);
	es_config_free(&ctx->cfg);
	/* a reader that stopped reading (| head) is not an error to
	 * report: SIGPIPE is ignored, so the writes fail with EPIPE,
	 * and the command ends as it would have (as git and GNU tools
	 * do, who die quietly by SIGPIPE) */
	if (fflush(stdout) != 0 && errno != EPIPE && rc == 0) {
		ui_warn("cannot write the output: %s", strerror(errno));
		rc = ES_EIO;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct cli ctx;
	const struct rlimit no_core = { 0, 0 };
	int ci;

	(void)setlocale(LC_CTYPE, "");
	(void)umask(077);
	/* passwords are in memory: never in a core dump */
	(void)setrlimit(RLIMIT_CORE, &no_core);
	/* ... and not readable through /proc/PID/mem or ptrace by non-root */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* a child that exits early must not kill us through SIGPIPE */
	(void)signal(SIGPIPE, SIG_IGN);
	/* under a small `ulimit -f` a write fails with EFBIG instead of killing
	 * us half-way (temp files, shadow's locks left behind): every write is
	 * checked and says "the file size limit"; the children (useradd,
	 * chpasswd) inherit it and fail cleanly too */
	(void)signal(SIGXFSZ, SIG_IGN);
	/* a large block (a group's member line: 700 KB at 100,000 students,
	 * read once per batch of accounts) is its own mapping, given back
	 * when freed: glibc's default raises this threshold after the first
	 * such block is freed, and the next ones then stay in the heap (an
	 * import of 100,000 rows peaked 2 MB higher) */
	(void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);

	memset(&ctx, 0, sizeof(ctx));
	ui_set_french(terminal_is_french());
	ctx.now = time(NULL);

	ci = find_command(argc, argv);
	if (ci < 0) {
		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--version") == 0) {
				(void)printf("eschool %s\n", ESCHOOL_VERSION);
				return 0;
			}
			if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
				(void)fputs(_(usage_text), stdout);
				return 0;
			}
		}
		(void)fputs(_(usage_text), stderr);
		return ES_EUSAGE;
	}
	for (const struct command *cmd = commands; cmd->name != NULL; cmd++)
		if (strcmp(argv[ci], cmd->name) == 0)
			return run(&ctx, cmd, ci, argc, argv);
	ui_warn("unknown command '%s'", argv[ci]);
	(void)fputs(_(usage_text), stderr);
	return ES_EUSAGE;
}

/* The state's store: state_dir's files, or the directory (connected and
 * bound now: a directory that cannot be reached stops the command before
 * it does anything, with exit 69, unless it is doctor's to report). */
static int open_store(struct cli *ctx, bool diagnose)
{
	if (ctx->cfg.policy.backend != ES_ACCT_LDAP) {
		es_store_for(&ctx->store, &ctx->cfg);
		return 0;
	}
	if (directory_connect(&ctx->store, &ctx->directory, &ctx->cfg, &ctx->directory_err) == 0) {
		ctx->directory_open = true;
		return 0;
	}
	directory_close(&ctx->directory);
	return diagnose ? 0 : -1;
}

int prepare(struct cli *ctx, enum preparation preparation, bool delivers)
{
	struct es_err err = { 0 };

	if (preparation == PREPARE_NOTHING)
		return 0;
	if (preparation == PREPARE_CONFIG)
		return load_config(ctx, &err) != 0 ? ui_fail(&err) : 0;
	if (geteuid() != 0) {
		ui_warn("%s", _("this command must be run as root (sudo eschool ...)"));
		return ES_EPERM;
	}
	if (load_config(ctx, &err) != 0)
		return ui_fail(&err);
	if (open_store(ctx, preparation == PREPARE_DIAGNOSE) != 0)
		return ui_fail(&ctx->directory_err);
	log_open(ctx);
	if (delivers && ctx->cfg.mode == ES_MODE_PRODUCTION &&
	    (ctx->cfg.host[0] == '\0' || ctx->cfg.from[0] == '\0')) {
		/* refuse before creating anything whose credentials cannot go out */
		ui_warn("mode = production (or DEBUG=False) mails the credentials: set mail.from "
		        "and mail.host (or a provider) in %s, or use --debug to have the "
		        "passwords shown",
		        ctx->cfg.path[0] ? ctx->cfg.path : ES_CONFIG_DEFAULT_PATH);
		return ES_ECONFIG;
	}
	return 0;
}
