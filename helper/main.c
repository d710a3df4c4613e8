/* eschool — creates school lab accounts and delivers their first passwords.
 * Root-run, never setuid. main() is the only place that exits. */
#include "eschool.h"
#include "options.h"

#include <errno.h>
#include <locale.h>
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

struct es_globals es_globals = { NULL, -1 };

static const char usage_text[] =
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
	"Run 'eschool COMMAND --help' for a command's options; see eschool(8).\n";

const char *tr(const struct es_ctx *ctx, const char *en, const char *fr)
{
	return ctx->french ? fr : en;
}

void es_warn(const char *fmt, ...)
{
	va_list ap;

	(void)fputs("eschool: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
}

void es_info(const struct es_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->quiet)
		return;
	va_start(ap, fmt);
	/* with --json, stdout carries only JSON: people's text goes to stderr */
	(void)vfprintf(ctx->json ? stderr : stdout, fmt, ap);
	va_end(ap);
}

int es_fail(const struct es_err *err)
{
	es_warn("%s", err->msg);
	return err->code ? err->code : ES_ESOFTWARE;
}

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

struct command {
	const char *name;
	int (*run)(struct es_ctx *, int, char **);
};

static const struct command commands[] = {
	{ "add", cmd_add },       { "import", cmd_import },         { "reset", cmd_reset },
	{ "resend", cmd_resend }, { "show", cmd_show },             { "list", cmd_list },
	{ "disable", cmd_disable }, { "enable", cmd_enable },       { "test-email", cmd_test_email },
	{ "queue", cmd_queue },   { "remind", cmd_remind },
	{ "set-email", cmd_set_email }, { "verify-email", cmd_verify_email },
	{ "check-dns", cmd_check_dns }, { "doctor", cmd_doctor },
	{ "backup", cmd_backup },       { "restore", cmd_restore },
	{ "forget", cmd_forget },
};

/* Global options may precede the command; they are also accepted after it
 * (es_parse_args). Returns the index of the command word, or -1. */
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

int es_load_config(struct es_ctx *ctx, struct es_err *err)
{
	const char *path = es_globals.config_path;
	unsigned flags = ES_CFG_ENV;

	if (path == NULL)
		path = getenv("ESCHOOL_CONFIG");
	if (path == NULL || path[0] == '\0') {
		path = ES_CONFIG_DEFAULT_PATH;
		flags |= ES_CFG_OPTIONAL; /* first use: built-in defaults, debug mode */
	}
	if (es_config_load(&ctx->cfg, path, flags, err) != 0)
		return -1;
	if (es_globals.mode_override >= 0 &&
	    es_config_set(&ctx->cfg, "general", "mode",
	                  es_globals.mode_override == ES_MODE_DEBUG ? "debug" : "production",
	                  "command line", err) != 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct es_ctx ctx;
	struct es_err err = { 0 };
	const struct rlimit no_core = { 0, 0 };
	int ci, rc;

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

	memset(&ctx, 0, sizeof(ctx));
	ctx.french = terminal_is_french();
	ctx.now = time(NULL);

	ci = find_command(argc, argv);
	if (ci < 0) {
		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--version") == 0) {
				(void)printf("eschool %s\n", ES_VERSION);
				return 0;
			}
			if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
				(void)fputs(usage_text, stdout);
				return 0;
			}
		}
		(void)fputs(usage_text, stderr);
		return ES_EUSAGE;
	}
	for (size_t i = 0; i < ES_ARRAY_LEN(commands); i++) {
		if (strcmp(argv[ci], commands[i].name) != 0)
			continue;
		/* options before the command word are globals: hand them over */
		for (int k = 1; k < ci; k++) {
			if (es_global_opt(&ctx, ci, argv, &k) <= 0) {
				es_warn("unknown option '%s'", argv[k]);
				(void)fputs(usage_text, stderr);
				return ES_EUSAGE;
			}
		}
		if (es_pw_init(&err) != 0)
			return es_fail(&err);
		rc = commands[i].run(&ctx, argc - ci, argv + ci);
		es_log_close();
		es_config_free(&ctx.cfg);
		/* a reader that stopped reading (| head) is not an error to
		 * report: SIGPIPE is ignored, so the writes fail with EPIPE,
		 * and the command ends as it would have (as git and GNU tools
		 * do, who die quietly by SIGPIPE) */
		if (fflush(stdout) != 0 && errno != EPIPE && rc == 0) {
			es_warn("cannot write the output: %s", strerror(errno));
			rc = ES_EIO;
		}
		return rc;
	}
	es_warn("unknown command '%s'", argv[ci]);
	(void)fputs(usage_text, stderr);
	return ES_EUSAGE;
}

int es_prepare(struct es_ctx *ctx, bool delivers)
{
	struct es_err err = { 0 };

	if (geteuid() != 0) {
		es_warn("%s", tr(ctx, "this command must be run as root (sudo eschool ...)",
		                 "cette commande doit être lancée en root (sudo eschool ...)"));
		return ES_EPERM;
	}
	if (es_load_config(ctx, &err) != 0)
		return es_fail(&err);
	es_store_for(&ctx->store, &ctx->cfg);
	es_log_open(ctx);
	if (delivers && ctx->cfg.mode == ES_MODE_PRODUCTION &&
	    (ctx->cfg.host[0] == '\0' || ctx->cfg.from[0] == '\0')) {
		/* refuse before creating anything whose credentials cannot go out */
		es_warn(tr(ctx,
		           "mode = production (or DEBUG=False) mails the credentials: set mail.from "
		           "and mail.host (or a provider) in %s, or use --debug to have the "
		           "passwords shown",
		           "le mode production (ou DEBUG=False) envoie les identifiants par mail : "
		           "renseignez mail.from et mail.host (ou un provider) dans %s, ou utilisez "
		           "--debug pour afficher les mots de passe"),
		        ctx->cfg.path[0] ? ctx->cfg.path : ES_CONFIG_DEFAULT_PATH);
		return ES_ECONFIG;
	}
	return 0;
}
