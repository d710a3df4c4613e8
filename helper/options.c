/* The command line of one command, parsed by its entry in the command
 * table: its options, the global ones (accepted anywhere), its arguments. */
#include "cli.h"
#include "ui.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "es_err.h"

struct cli_globals cli_globals = { NULL, -1 };

int global_opt(struct cli *ctx, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
		if (*i + 1 >= argc)
			return -1;
		cli_globals.config_path = argv[++*i];
	} else if (strncmp(a, "--config=", 9) == 0) {
		cli_globals.config_path = a + 9;
	} else if (strcmp(a, "--debug") == 0) {
		cli_globals.mode_override = ES_MODE_DEBUG;
	} else if (strcmp(a, "--production") == 0) {
		cli_globals.mode_override = ES_MODE_PRODUCTION;
	} else if (strcmp(a, "--json") == 0) {
		ctx->json = true;
	} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
		ctx->quiet = true;
	} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
		ctx->verbose = true;
	} else {
		return 0;
	}
	return 1;
}

static int find_option(const struct command *cmd, const char *name, size_t len)
{
	for (int k = 0; cmd->options != NULL && cmd->options[k].name != NULL; k++)
		if (strlen(cmd->options[k].name) == len &&
		    strncmp(cmd->options[k].name, name, len) == 0)
			return k;
	return -1;
}

__attribute__((format(printf, 2, 3)))
static int usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;

	(void)fputs("eschool: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, _(fmt), ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	(void)fputs(_(cmd->usage), stderr);
	return ES_EUSAGE;
}

/* One "--name[=value]" at argv[*i] of cmd's own options. */
static int take_option(const struct command *cmd, int argc, char **argv, int *i,
                       struct args *out)
{
	const char *a = argv[*i], *eq;
	const struct option_spec *o;
	int k;

	if (strncmp(a, "--", 2) != 0) {
		/* -o FILE: a short name, alone */
		k = -1;
		for (int j = 0; a[1] != '\0' && a[2] == '\0' && cmd->options != NULL &&
		                cmd->options[j].name != NULL;
		     j++)
			if (cmd->options[j].short_name == a[1])
				k = j;
		if (k < 0)
			return usage_error(cmd, "unknown option '%s'", a);
		eq = NULL;
	} else {
		eq = strchr(a + 2, '=');
		k = find_option(cmd, a + 2, eq ? (size_t)(eq - (a + 2)) : strlen(a + 2));
	}
	if (k < 0)
		return usage_error(cmd, "unknown option '%s'", a);
	o = &cmd->options[k];
	/* a second value would silently replace the first */
	if (out->given[k] && !o->repeats)
		return usage_error(cmd, "option '--%s' is given twice", o->name);
	out->given[k] = true;
	if (o->value == NULL) {
		if (eq != NULL)
			return usage_error(cmd, "option '--%s' takes no value", o->name);
	} else if (eq != NULL) {
		out->value[k] = eq + 1;
	} else if (*i + 1 >= argc) {
		return usage_error(cmd, "option '--%s' needs a value", o->name);
	} else {
		out->value[k] = argv[++*i];
	}
	if (o->value != NULL) {
		if (out->n_values[k] == MAX_REPEATS)
			return usage_error(cmd, "option '--%s' is given more than %d times", o->name,
			                   MAX_REPEATS);
		out->values[k][out->n_values[k]++] = out->value[k];
	}
	return 0;
}

int parse_command_line(struct cli *ctx, const struct command *cmd, int argc, char **argv,
                       struct args *out, bool *done)
{
	bool only_positional = false;
	int rc;

	memset(out, 0, sizeof(*out));
	out->cmd = cmd;
	*done = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int g;

		if (only_positional || a[0] != '-' || a[1] == '\0') {
			if (out->n_positional >= cmd->max_positional)
				return usage_error(cmd, "too many arguments ('%s')", a);
			out->positional[out->n_positional++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_positional = true;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			(void)fputs(_(cmd->usage), stdout);
			*done = true;
			return 0;
		}
		g = global_opt(ctx, argc, argv, &i);
		if (g < 0)
			return usage_error(cmd, "option '%s' needs a value", a);
		if (g > 0)
			continue;
		rc = take_option(cmd, argc, argv, &i, out);
		if (rc != 0)
			return rc;
	}
	if (out->n_positional < cmd->min_positional)
		return usage_error(cmd, "%s needs more arguments", cmd->name);
	for (int k = 0; cmd->options != NULL && cmd->options[k].name != NULL; k++) {
		if (cmd->options[k].required && !out->given[k]) {
			return usage_error(cmd, "%s needs --%s %s", cmd->name,
			                   cmd->options[k].name,
			                   cmd->options[k].value ? cmd->options[k].value : "");
		}
	}
	return 0;
}

/* A name the command's table does not list is a programming error: it
 * reads as "not given", which the tests of that command would show. */
const char *arg_value(const struct args *a, const char *name)
{
	int k = find_option(a->cmd, name, strlen(name));

	return k < 0 ? NULL : a->value[k];
}

bool arg_flag(const struct args *a, const char *name)
{
	int k = find_option(a->cmd, name, strlen(name));

	return k >= 0 && a->given[k];
}

int arg_values(const struct args *a, const char *name, const char *const **values)
{
	int k = find_option(a->cmd, name, strlen(name));

	*values = k < 0 ? NULL : a->values[k];
	return k < 0 ? 0 : a->n_values[k];
}

int arg_usage_error(const struct args *a, const char *msg)
{
	return usage_error(a->cmd, "%s", msg);
}
