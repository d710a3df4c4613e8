#include "options.h"

#include <stdio.h>
#include <string.h>

int es_global_opt(struct es_ctx *ctx, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
		if (*i + 1 >= argc)
			return -1;
		es_globals.config_path = argv[++*i];
	} else if (strncmp(a, "--config=", 9) == 0) {
		es_globals.config_path = a + 9;
	} else if (strcmp(a, "--debug") == 0) {
		es_globals.mode_override = ES_MODE_DEBUG;
	} else if (strcmp(a, "--production") == 0) {
		es_globals.mode_override = ES_MODE_PRODUCTION;
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

int es_parse_args(struct es_ctx *ctx, int argc, char **argv, const struct es_opt *opts,
                  const char *usage, struct es_args *out, bool *done)
{
	bool only_positional = false;

	memset(out, 0, sizeof(*out));
	*done = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct es_opt *o;
		const char *eq;
		size_t nlen;
		int g;

		if (only_positional || a[0] != '-' || a[1] == '\0') {
			if (out->n_positional >= ES_MAX_POSITIONAL) {
				es_warn("too many arguments\n%s", usage);
				return ES_EUSAGE;
			}
			out->positional[out->n_positional++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_positional = true;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			(void)fputs(usage, stdout);
			*done = true;
			return 0;
		}
		g = es_global_opt(ctx, argc, argv, &i);
		if (g < 0) {
			es_warn("option '%s' needs a value\n%s", a, usage);
			return ES_EUSAGE;
		}
		if (g > 0)
			continue;
		if (strncmp(a, "--", 2) != 0) {
			es_warn("unknown option '%s'\n%s", a, usage);
			return ES_EUSAGE;
		}
		eq = strchr(a + 2, '=');
		nlen = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
		for (o = opts; o != NULL && o->name != NULL; o++)
			if (strlen(o->name) == nlen && strncmp(o->name, a + 2, nlen) == 0)
				break;
		if (o == NULL || o->name == NULL) {
			es_warn("unknown option '%s'\n%s", a, usage);
			return ES_EUSAGE;
		}
		if (o->flag != NULL) {
			if (eq != NULL) {
				es_warn("option '--%s' takes no value\n%s", o->name, usage);
				return ES_EUSAGE;
			}
			*o->flag = true;
		} else if (eq != NULL) {
			*o->value = eq + 1;
		} else {
			if (i + 1 >= argc) {
				es_warn("option '--%s' needs a value\n%s", o->name, usage);
				return ES_EUSAGE;
			}
			*o->value = argv[++i];
		}
	}
	return 0;
}

int es_parse_positional(struct es_ctx *ctx, int argc, char **argv, const char *usage, int n,
                        const char **out, bool *done)
{
	const struct es_opt opts[] = { { NULL, NULL, NULL } };
	struct es_args args;
	int rc = es_parse_args(ctx, argc, argv, opts, usage, &args, done);

	if (rc != 0 || *done)
		return rc;
	if (args.n_positional != n) {
		es_warn("%s", usage);
		return ES_EUSAGE;
	}
	for (int i = 0; i < n; i++)
		out[i] = args.positional[i];
	return 0;
}
