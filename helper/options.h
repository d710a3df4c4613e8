/* Command-line parsing shared by every command: each command lists its own
 * options; the global ones (-c, --debug, --production, --json, -q, -v) are
 * accepted anywhere on the line. */
#ifndef ESCHOOL_OPTIONS_H
#define ESCHOOL_OPTIONS_H

#include <stdbool.h>

#include "eschool.h"

struct es_opt {
	const char *name;   /* long name without "--" */
	const char **value; /* for options with an argument */
	bool *flag;         /* for flags */
};

#define ES_MAX_POSITIONAL 8

struct es_args {
	const char *positional[ES_MAX_POSITIONAL];
	int n_positional;
};

/* Parses argv[1..] of a command (argv[0] is the command name). Returns 0,
 * or an exit code (64 usage error, or 0 with *done set after --help). */
int es_parse_args(struct es_ctx *ctx, int argc, char **argv, const struct es_opt *opts,
                  const char *usage, struct es_args *out, bool *done);

/* For commands without options of their own: exactly n positional
 * arguments into out[0..n-1] (else the usage and 64). */
int es_parse_positional(struct es_ctx *ctx, int argc, char **argv, const char *usage, int n,
                        const char **out, bool *done);

/* Returns 1 when argv[*i] is a global option (consuming its value, if
 * any, by advancing *i), 0 when it is not one, -1 on a missing value. */
int es_global_opt(struct es_ctx *ctx, int argc, char **argv, int *i);

/* Global state gathered while parsing, used by main to load the config. */
struct es_globals {
	const char *config_path;
	int mode_override; /* -1 none, else enum es_mode */
};
extern struct es_globals es_globals;

#endif
