/* The command line: the context every command gets, and the command table
 * (commands.c) that main() reads to do each command's opening once: parse
 * its options, count its arguments, check root, load the config. */
#ifndef ESCHOOL_CLI_H
#define ESCHOOL_CLI_H

#include <stdbool.h>
#include <time.h>

#include "es_config.h"
#include "es_ldap.h"
#include "es_store.h"

struct cli {
	struct es_config cfg;
	struct es_store store; /* where the state lives (set by prepare) */
	/* accounts.backend = ldap: the directory, bound (prepare); when it
	 * could not be reached, directory_err says why (doctor reports it) */
	struct es_ldap directory;
	bool directory_open;
	struct es_err directory_err;
	bool json;
	bool quiet;
	bool verbose;
	time_t now;    /* one clock reading per command */
	/* production: mails are queued, not tried one by one (reset of a
	 * class: one `queue run`, one SMTP login, sends them all) */
	bool hold_sending;
};

#define MAX_POSITIONAL 64
#define MAX_OPTIONS 16
#define MAX_REPEATS 32 /* values of an option that may be given again */

/* One option of a command: --NAME (a flag) or --NAME VALUE. */
struct option_spec {
	const char *name;     /* long name without "--" */
	const char *value;    /* NULL: a flag; else the value's name in messages */
	bool required;        /* the command cannot run without it */
	bool repeats;         /* may be given again: every value is kept (arg_values) */
	char short_name;      /* -X for --NAME, or 0 */
};

/* What main() hands a command: the arguments, parsed by its spec. */
struct args {
	const struct command *cmd;
	const char *positional[MAX_POSITIONAL];
	int n_positional;
	const char *value[MAX_OPTIONS]; /* by the option's index in cmd->options (the last) */
	bool given[MAX_OPTIONS];
	const char *values[MAX_OPTIONS][MAX_REPEATS]; /* a repeated option's, in order */
	int n_values[MAX_OPTIONS];
};

/* How much of the opening a command needs before it runs. */
enum preparation {
	PREPARE_NOTHING, /* no config, no root */
	PREPARE_CONFIG,  /* the config (check-dns: no root) */
	PREPARE_ROOT,    /* root, the config, the store, the log */
	PREPARE_DIAGNOSE, /* the same, but a directory that cannot be reached is
	                     the command's to report (doctor) */
};

struct command {
	const char *name;
	int (*run)(struct cli *ctx, const struct args *a);
	const char *usage;                   /* printed for --help and usage errors */
	const struct option_spec *options;   /* ends with { NULL }; NULL for none */
	int min_positional, max_positional;
	enum preparation preparation;
	/* hands out passwords: production mode needs somewhere to mail them
	 * (a --dry-run hands out nothing) */
	bool delivers;
};

/* The command table (commands.c), ended by { NULL }. */
extern const struct command commands[];

/* The option's value (NULL when not given); a flag's presence. name must
 * be one of a->cmd's options. */
const char *arg_value(const struct args *a, const char *name);
bool arg_flag(const struct args *a, const char *name);
/* A usage error found by the command itself: msg (translated), then the
 * command's usage, on stderr; returns ES_EUSAGE (64). */
int arg_usage_error(const struct args *a, const char *msg);

/* Every value of an option that repeats, in the order given: how many,
 * and *values pointing at them. */
int arg_values(const struct args *a, const char *name, const char *const **values);

/* Parses argv[1..] of cmd (argv[0] is the command word) into out: its
 * options, the global ones anywhere on the line (-c, --debug, --production,
 * --json, -q, -v), its positionals counted. 0, or the exit code (64) after
 * the usage; *done after --help. */
int parse_command_line(struct cli *ctx, const struct command *cmd, int argc, char **argv,
                       struct args *out, bool *done);

/* Returns 1 when argv[*i] is a global option (consuming its value, if
 * any, by advancing *i), 0 when it is not one, -1 on a missing value. */
int global_opt(struct cli *ctx, int argc, char **argv, int *i);

/* Global state gathered while parsing, used to load the config. */
struct cli_globals {
	const char *config_path;
	int mode_override; /* -1 none, else enum es_mode */
};
extern struct cli_globals cli_globals;

/* Loads the config (-c, ESCHOOL_CONFIG, or the default path) and applies
 * --debug/--production. */
int load_config(struct cli *ctx, struct es_err *err);

/* The opening cmd asks for (enum preparation); delivers as in struct
 * command. Returns 0 or the exit code. */
int prepare(struct cli *ctx, enum preparation preparation, bool delivers);

#endif
