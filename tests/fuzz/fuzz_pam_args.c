/* The PAM module's inputs (es_pamin): the input split at NULs is its
 * argv, and its pieces are PAM_RHOST / PAM_TTY for the login-source
 * cleaner and lines for the syslog escaper.
 *
 * The source must come out as printable ASCII without space, ',' or '%'
 * (not merely valid UTF-8: host names are ASCII, an IDN arrives as
 * punycode, terminal names are ASCII; anything else is escaped, and ASCII
 * is safe in every mail header, state file and terminal), bounded, and
 * decode back (its \xHH escapes) to a prefix of the input: two different
 * sources never look the same. A log line must hold no control byte, be
 * valid UTF-8, fit, and decode back to the input when not cut. */
#include "fuzz.h"

#include <stdbool.h>

#include "es_pamin.h"
#include "es_util.h"

#define MAX_ARGS 64

static void count_bad(const char *arg, void *ctx)
{
	FUZZ_ASSERT(arg != NULL);
	(*(int *)ctx)++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes \xHH escapes of out into dec; out must hold no other '\'. */
static size_t unescape(const char *out, char *dec)
{
	size_t d = 0;

	for (size_t i = 0; out[i] != '\0';) {
		if (out[i] == '\\') {
			int hi, lo;

			FUZZ_ASSERT(out[i + 1] == 'x');
			hi = hexval(out[i + 2]);
			lo = hi >= 0 ? hexval(out[i + 3]) : -1;
			FUZZ_ASSERT(hi >= 0 && lo >= 0);
			dec[d++] = (char)(hi * 16 + lo);
			i += 4;
		} else {
			dec[d++] = out[i++];
		}
	}
	dec[d] = '\0';
	return d;
}

static void check_args(const char **argv, int argc)
{
	struct es_pam_args a;
	int nbad = 0, got;

	got = es_pam_args_parse(argc, argv, &a, count_bad, &nbad);
	FUZZ_ASSERT(got == nbad && got >= 0 && got <= argc);
	FUZZ_ASSERT(a.config_path != NULL && a.config_path[0] == '/');
	FUZZ_ASSERT(!es_has_control(a.config_path));
	FUZZ_ASSERT(strlen(a.config_path) <= ES_PAM_CONFIG_MAX);
	if (strcmp(a.config_path, ES_PAM_DEFAULT_CONFIG) != 0 || a.debug) {
		bool found_cfg = false, found_debug = false;

		for (int i = 0; i < argc; i++) {
			found_cfg |= strncmp(argv[i], "config=", 7) == 0 &&
			             argv[i] + 7 == a.config_path;
			found_debug |= strcmp(argv[i], "debug") == 0;
		}
		FUZZ_ASSERT(found_cfg || strcmp(a.config_path, ES_PAM_DEFAULT_CONFIG) == 0);
		FUZZ_ASSERT(found_debug == a.debug);
	}
}

static void check_source(const char *rhost, const char *tty, size_t outsz)
{
	char out[ES_PAM_SOURCE_MAX + 8], dec[ES_PAM_SOURCE_MAX + 8];
	const char *src = rhost[0] != '\0' ? rhost : tty[0] != '\0' ? tty : "unknown";
	size_t n = es_login_source_clean(rhost, tty, out, outsz), d;

	FUZZ_ASSERT(n == strlen(out) && n < outsz && n <= ES_PAM_SOURCE_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)out[i];
		FUZZ_ASSERT(ch > 0x20 && ch < 0x7f && ch != ',' && ch != '%');
	}
	d = unescape(out, dec);
	FUZZ_ASSERT(strncmp(dec, src, d) == 0);
	/* only the bound stops it: all of a short source is there */
	if (outsz > ES_PAM_SOURCE_MAX && strlen(src) * 4 <= ES_PAM_SOURCE_MAX)
		FUZZ_ASSERT(d == strlen(src));
}

static void check_log(const char *line, size_t outsz)
{
	char *out = malloc(outsz), *dec;
	bool whole;
	size_t n, d;

	FUZZ_ASSERT(out != NULL);
	whole = es_log_escape(line, out, outsz);
	n = strlen(out);
	FUZZ_ASSERT(n < outsz);
	FUZZ_ASSERT(!es_has_control(out) && es_utf8_valid(out, n));
	for (size_t i = 0; i + 1 < n; i++) /* the C1 controls' UTF-8 form */
		FUZZ_ASSERT(!((unsigned char)out[i] == 0xc2 && (unsigned char)out[i + 1] < 0xa0));
	dec = malloc(n + 1);
	FUZZ_ASSERT(dec != NULL);
	if (whole) {
		d = unescape(out, dec);
		FUZZ_ASSERT(d == strlen(line) && memcmp(dec, line, d) == 0);
	} else {
		FUZZ_ASSERT(n >= 3 ? strcmp(out + n - 3, "...") == 0 : n == 0);
		out[n >= 3 ? n - 3 : 0] = '\0';
		d = unescape(out, dec);
		FUZZ_ASSERT(strncmp(dec, line, d) == 0);
	}
	free(dec);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = fuzz_str(data, size);
	const char *argv[MAX_ARGS];
	size_t argc = fuzz_split(copy, size, argv, MAX_ARGS);
	/* the first byte picks the output sizes: small ones test the cuts */
	size_t srcsz = size > 0 ? 1 + data[0] % (ES_PAM_SOURCE_MAX + 8) : ES_PAM_SOURCE_MAX + 1;
	size_t logsz = size > 0 ? 1 + data[0] * 4u : 1024;

	check_args(argv, (int)argc);
	check_source(argv[0], argc > 1 ? argv[1] : "", ES_PAM_SOURCE_MAX + 1);
	check_source(argv[0], argc > 1 ? argv[1] : "", srcsz);
	check_source("", argv[0], ES_PAM_SOURCE_MAX + 1);
	for (size_t i = 0; i < argc; i++)
		check_log(argv[i], logsz);
	check_log(argv[0], 1024);
	free(copy);
	return 0;
}
