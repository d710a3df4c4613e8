/* The PAM module's inputs: its arguments, the login source it records and
 * mails, the user name it looks up, the application's locale, the state_dir
 * of a config that does not load, and the escaping of its syslog lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "es_config.h"
#include "es_pamin.h"

struct bad_log {
	int n;
	char last[64];
};

static void on_bad(const char *arg, void *ctx)
{
	struct bad_log *b = ctx;

	b->n++;
	(void)snprintf(b->last, sizeof(b->last), "%s", arg);
}

static void test_args_defaults(void **state)
{
	struct es_pam_args a;
	struct bad_log b = { 0 };

	(void)state;
	assert_int_equal(es_pam_args_parse(0, NULL, &a, on_bad, &b), 0);
	assert_false(a.debug);
	assert_string_equal(a.config_path, ES_PAM_DEFAULT_CONFIG);
	assert_int_equal(b.n, 0);
	/* argc says more than argv holds: argv NULL is none at all */
	assert_int_equal(es_pam_args_parse(3, NULL, &a, NULL, NULL), 0);
}

static void test_args_good(void **state)
{
	const char *argv[] = { "config=/etc/eschool/a.conf", "debug", "config=/srv/b.conf" };
	struct es_pam_args a;
	struct bad_log b = { 0 };

	(void)state;
	assert_int_equal(es_pam_args_parse(3, argv, &a, on_bad, &b), 0);
	assert_true(a.debug);
	assert_string_equal(a.config_path, "/srv/b.conf"); /* the last one wins */
	assert_ptr_equal(a.config_path, argv[2] + 7);     /* no copy */
	assert_int_equal(b.n, 0);
}

static void test_args_bad(void **state)
{
	static char long_path[ES_PAM_CONFIG_MAX + 16];
	const char *argv[] = { "frobnicate", "config=relative.conf", "config=", "Debug",
		               "debug=1", "config=/etc/x\n.conf", "", NULL, long_path,
		               "config=/ok.conf", "%n%n%s" };
	struct es_pam_args a;
	struct bad_log b = { 0 };

	(void)state;
	memcpy(long_path, "config=/", 8);
	memset(long_path + 8, 'a', sizeof(long_path) - 9);
	long_path[sizeof(long_path) - 1] = '\0';
	assert_int_equal(es_pam_args_parse(11, argv, &a, on_bad, &b), 10);
	assert_int_equal(b.n, 10);
	assert_string_equal(b.last, "%n%n%s");
	assert_false(a.debug);
	assert_string_equal(a.config_path, "/ok.conf");
	/* a bad config= leaves the default */
	assert_int_equal(es_pam_args_parse(1, argv + 1, &a, NULL, NULL), 1);
	assert_string_equal(a.config_path, ES_PAM_DEFAULT_CONFIG);
	/* ES_PAM_CONFIG_MAX bytes is still fine */
	long_path[7 + ES_PAM_CONFIG_MAX] = '\0';
	assert_int_equal(es_pam_args_parse(1, (const char *[]){ long_path }, &a, NULL, NULL), 0);
	assert_int_equal(strlen(a.config_path), ES_PAM_CONFIG_MAX);
}

static void test_args_rules(void **state)
{
	const char *argv[] = { "minlen=12", "minclass=3", "ucredit=-1", "lcredit=0",
		               "dcredit=-2", "ocredit=1", "debug" };
	struct es_pam_args a;
	struct bad_log b = { 0 };

	(void)state;
	assert_int_equal(es_pam_args_parse(7, argv, &a, on_bad, &b), 0);
	assert_int_equal(a.rules.minlen, 12);
	assert_int_equal(a.rules.minclass, 3);
	assert_int_equal(a.rules.ucredit, -1);
	assert_int_equal(a.rules.lcredit, 0);
	assert_int_equal(a.rules.dcredit, -2);
	assert_int_equal(a.rules.ocredit, 1);
	assert_true(a.debug);
	/* none given: all zero (nothing told but the built-in advice) */
	assert_int_equal(es_pam_args_parse(0, NULL, &a, NULL, NULL), 0);
	assert_int_equal(a.rules.minlen, 0);
	assert_int_equal(a.rules.minclass, 0);
	assert_int_equal(a.rules.ucredit, 0);
	/* the last one wins; the bounds hold */
	assert_int_equal(es_pam_args_parse(2, (const char *[]){ "minlen=8", "minlen=512" }, &a,
	                                   NULL, NULL),
	                 0);
	assert_int_equal(a.rules.minlen, ES_PAM_MINLEN_MAX);
	assert_int_equal(es_pam_args_parse(1, (const char *[]){ "dcredit=-64" }, &a, NULL, NULL),
	                 0);
	assert_int_equal(a.rules.dcredit, -ES_PAM_CREDIT_MAX);
}

static void test_args_rules_bad(void **state)
{
	const char *argv[] = { "minlen=0", "minlen=513", "minlen=", "minlen=-3", "minlen=12x",
		               "minlen= 12", "minlen=+12", "minlen=012", "minlen=99999999999999",
		               "minclass=5", "minclass=0", "ucredit=-65", "ocredit=65",
		               "dcredit=--1", "lcredit=-", "minlen", "MINLEN=9", "minlen=1e3" };
	const size_t n = sizeof(argv) / sizeof(argv[0]);
	struct es_pam_args a;
	struct bad_log b = { 0 };

	(void)state;
	assert_int_equal(es_pam_args_parse((int)n, argv, &a, on_bad, &b), (int)n);
	assert_int_equal(b.n, (int)n);
	assert_int_equal(a.rules.minlen, 0);
	assert_int_equal(a.rules.minclass, 0);
	assert_int_equal(a.rules.ucredit, 0);
	assert_int_equal(a.rules.ocredit, 0);
	assert_int_equal(a.rules.dcredit, 0);
	assert_int_equal(a.rules.lcredit, 0);
	/* a bad one leaves the good one before it */
	assert_int_equal(es_pam_args_parse(2, (const char *[]){ "minlen=10", "minlen=0" }, &a,
	                                   NULL, NULL),
	                 1);
	assert_int_equal(a.rules.minlen, 10);
}

static void shown_is(const char *rhost, const char *host, bool french, const char *want)
{
	char out[ES_PAM_SHOWN_MAX + 1];

	assert_int_equal(es_login_source_shown(rhost, host, french, out, sizeof(out)),
	                 strlen(want));
	assert_string_equal(out, want);
}

static void test_source_shown(void **state)
{
	char big[300], small[10];

	(void)state;
	/* a remote host: as recorded */
	shown_is("10.0.0.1", "pc-12", false, "10.0.0.1");
	shown_is("evil\r\nBcc: x", "pc-12", true, "evil\\x0d\\x0aBcc:\\x20x");
	/* at this computer: its console, never a device */
	shown_is(NULL, "pc-12", false, "the console of the computer pc-12");
	shown_is("", "pc-12", true, "la console de l'ordinateur pc-12");
	shown_is(NULL, NULL, false, "this computer's console");
	shown_is("", "", true, "la console de cet ordinateur");
	shown_is(NULL, "(none)", false, "this computer's console");
	shown_is(NULL, "localhost", true, "la console de cet ordinateur");
	/* a host name is cleaned like a source, and bounded */
	shown_is(NULL, "pc\x1b[2J,12", false, "the console of the computer pc\\x1b[2J\\x2c12");
	memset(big, 'h', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	{
		char out[ES_PAM_SHOWN_MAX + 1];
		size_t n = es_login_source_shown(NULL, big, false, out, sizeof(out));

		assert_int_equal(n, strlen("the console of the computer ") + ES_PAM_SOURCE_MAX);
		assert_int_equal(strlen(out), n);
	}
	/* no room for the phrase: nothing rather than half of it */
	assert_int_equal(es_login_source_shown(NULL, "pc-12", false, small, sizeof(small)), 0);
	assert_string_equal(small, "");
	assert_int_equal(es_login_source_shown(NULL, "pc-12", false, NULL, 0), 0);
}

static void test_user_lookup_ok(void **state)
{
	char big[ES_PAM_USER_MAX + 2];

	(void)state;
	assert_true(es_pam_user_lookup_ok("zoe"));
	assert_true(es_pam_user_lookup_ok("ZOE"));
	assert_true(es_pam_user_lookup_ok("zoe@school.lan"));
	assert_true(es_pam_user_lookup_ok("SCHOOL\\zoe"));
	assert_true(es_pam_user_lookup_ok("Zo\xc3\xab Lef\xc3\xa8vre"));
	assert_false(es_pam_user_lookup_ok(NULL));
	assert_false(es_pam_user_lookup_ok(""));
	assert_false(es_pam_user_lookup_ok("zoe\n"));
	assert_false(es_pam_user_lookup_ok("zoe\r\nFAKE"));
	assert_false(es_pam_user_lookup_ok("\x1b[2Jzoe"));
	assert_false(es_pam_user_lookup_ok("zoe\x7f"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(es_pam_user_lookup_ok(big)); /* ES_PAM_USER_MAX + 1 bytes */
	big[ES_PAM_USER_MAX] = '\0';
	assert_true(es_pam_user_lookup_ok(big));
}

static void test_locale_lang(void **state)
{
	(void)state;
	assert_int_equal(es_pam_locale_lang("fr_FR.UTF-8"), ES_PAM_LANG_FR);
	assert_int_equal(es_pam_locale_lang("fr"), ES_PAM_LANG_FR);
	assert_int_equal(es_pam_locale_lang("fr_CA"), ES_PAM_LANG_FR);
	assert_int_equal(es_pam_locale_lang("fr_BE@euro"), ES_PAM_LANG_FR);
	assert_int_equal(es_pam_locale_lang("fr.UTF-8"), ES_PAM_LANG_FR);
	assert_int_equal(es_pam_locale_lang("en_US.UTF-8"), ES_PAM_LANG_EN);
	assert_int_equal(es_pam_locale_lang("en_GB"), ES_PAM_LANG_EN);
	/* untranslated: libpam and pam_unix speak English */
	assert_int_equal(es_pam_locale_lang("C"), ES_PAM_LANG_EN);
	assert_int_equal(es_pam_locale_lang("POSIX"), ES_PAM_LANG_EN);
	assert_int_equal(es_pam_locale_lang("C.UTF-8"), ES_PAM_LANG_EN);
	assert_int_equal(es_pam_locale_lang("C.utf8"), ES_PAM_LANG_EN);
	/* others: the account's language */
	assert_int_equal(es_pam_locale_lang("de_DE.UTF-8"), ES_PAM_LANG_OTHER);
	assert_int_equal(es_pam_locale_lang("fry_DE"), ES_PAM_LANG_OTHER); /* Frisian */
	assert_int_equal(es_pam_locale_lang("frx"), ES_PAM_LANG_OTHER);
	assert_int_equal(es_pam_locale_lang("eng"), ES_PAM_LANG_OTHER);
	assert_int_equal(es_pam_locale_lang("Cx"), ES_PAM_LANG_OTHER);
	assert_int_equal(es_pam_locale_lang(""), ES_PAM_LANG_OTHER);
	assert_int_equal(es_pam_locale_lang(NULL), ES_PAM_LANG_OTHER);
	assert_int_equal(es_pam_locale_lang("f"), ES_PAM_LANG_OTHER);
}

static void state_dir_is(const char *text, const char *want)
{
	char out[ES_PATH_LEN];

	assert_int_equal(es_pam_conf_state_dir(text, strlen(text), out, sizeof(out)),
	                 want != NULL);
	assert_string_equal(out, want != NULL ? want : "");
}

static void test_conf_state_dir(void **state)
{
	char out[8], *big;

	(void)state;
	state_dir_is("[general]\nstate_dir = /srv/eschool\nmode = sideways\n", "/srv/eschool");
	state_dir_is("[general]\nstate_dir=/srv/a\n", "/srv/a");
	state_dir_is("[general]\nstate_dir: /srv/a\n", "/srv/a");
	state_dir_is("  [general]  \r\n\t state_dir \t=\t/srv/a b \r\n", "/srv/a b");
	state_dir_is("\xef\xbb\xbf[general]\nstate_dir = /srv/a", "/srv/a"); /* BOM, no EOL */
	state_dir_is("[general]\nstate_dir = /srv/a ; a comment\n", "/srv/a");
	state_dir_is("[general]\nstate_dir = /srv/a;b\n", "/srv/a;b"); /* not a comment */
	/* the last good one wins; a bad one leaves the one before */
	state_dir_is("[general]\nstate_dir = /a\n[policy]\nx=1\n[general]\nstate_dir = /b\n",
	             "/b");
	state_dir_is("[general]\nstate_dir = /a\nstate_dir = relative\n", "/a");
	state_dir_is("[general]\nstate_dir = /a\nstate_dir =\n", "/a");
	/* the reader's multi-line value: the key again with the next line */
	state_dir_is("[general]\nstate_dir = /a\n  /b\n", "/b");
	state_dir_is("[general]\nstate_dir = /a\n# note\n\n  /b\n", "/b");
	state_dir_is("[general]\nmode = debug\n  /b\n", NULL);
	/* only in [general], only this key */
	state_dir_is("state_dir = /a\n", NULL);
	state_dir_is("[policy]\nstate_dir = /a\n", NULL);
	state_dir_is("[General]\nstate_dir = /a\n", NULL);
	state_dir_is("[general ]\nstate_dir = /a\n", NULL);
	state_dir_is("[general]\nstate_dirs = /a\nspool_dir = /b\n", NULL);
	state_dir_is("[general]\n; state_dir = /a\n#state_dir = /b\n", NULL);
	state_dir_is("[general]\nstate_dir\n", NULL);
	/* refused values */
	state_dir_is("[general]\nstate_dir = var/lib/x\n", NULL);
	state_dir_is("[general]\nstate_dir = /a\x01" "b\n", NULL);
	state_dir_is("[general]\nstate_dir = /a\x7f\n", NULL);
	state_dir_is("", NULL);
	/* a NUL in a line: not text */
	assert_false(es_pam_conf_state_dir("[general]\nstate_dir = /a\0b\n", 25, out, sizeof(out)));
	assert_string_equal(out, "");
	/* too long for out: not taken (never cut) */
	assert_false(es_pam_conf_state_dir("[general]\nstate_dir = /abcdefgh\n", 31, out,
	                                   sizeof(out)));
	assert_true(es_pam_conf_state_dir("[general]\nstate_dir = /abcdef\n", 29, out,
	                                  sizeof(out)));
	assert_string_equal(out, "/abcdef");
	assert_false(es_pam_conf_state_dir(NULL, 0, out, sizeof(out)));
	assert_false(es_pam_conf_state_dir("x", 1, out, 0));
	/* a long file: every line is looked at, the text is not copied */
	big = malloc(1024 * 1024);
	assert_non_null(big);
	memset(big, '\n', 1024 * 1024);
	memcpy(big, "[general]\n", 10);
	memcpy(big + 1024 * 1024 - 14, "state_dir = /z", 14);
	assert_true(es_pam_conf_state_dir(big, 1024 * 1024, out, sizeof(out)));
	assert_string_equal(out, "/z");
	free(big);
}

static void test_default_state_dir(void **state)
{
	struct es_config *cfg = malloc(sizeof(*cfg));

	(void)state;
	assert_non_null(cfg);
	es_config_defaults(cfg);
	assert_string_equal(cfg->state_dir, ES_PAM_DEFAULT_STATE_DIR);
	es_config_free(cfg);
	free(cfg);
}

static void source_is(const char *rhost, const char *tty, const char *want)
{
	char out[ES_PAM_SOURCE_MAX + 1];

	assert_int_equal(es_login_source_clean(rhost, tty, out, sizeof(out)), strlen(want));
	assert_string_equal(out, want);
}

static void test_source_choice(void **state)
{
	(void)state;
	source_is("10.0.0.1", "pts/1", "10.0.0.1");
	source_is("", "tty3", "tty3");
	source_is(NULL, ":0", ":0");
	source_is(NULL, NULL, "unknown");
	source_is("", "", "unknown");
	source_is("host.example", NULL, "host.example");
	source_is("fe80::1%eth0", NULL, "fe80::1\\x25eth0");
	source_is("xn--brger-kva.example", NULL, "xn--brger-kva.example");
}

static void test_source_hostile(void **state)
{
	(void)state;
	source_is("a\nb", NULL, "a\\x0ab");
	source_is("evil\r\nBcc: x@y", NULL, "evil\\x0d\\x0aBcc:\\x20x@y");
	source_is("a,b", NULL, "a\\x2cb");          /* the list separator */
	source_is("%n%s", NULL, "\\x25n\\x25s");    /* the state file's escape */
	source_is("a\\x0a", NULL, "a\\x5cx0a");     /* not to be taken for an escape */
	source_is("\x7f\x1b[31m", NULL, "\\x7f\\x1b[31m");
	source_is("b\xc3\xbcrger", NULL, "b\\xc3\\xbcrger"); /* not punycode: bytes */
	source_is("\xff\xfe", NULL, "\\xff\\xfe");
	source_is("../../etc/passwd", NULL, "../../etc/passwd"); /* only ever a value */
	source_is("\t", "tty1", "\\x09");
}

static void test_source_bounds(void **state)
{
	char big[4096], out[ES_PAM_SOURCE_MAX + 64], small[6];
	size_t n;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = es_login_source_clean(big, NULL, out, sizeof(out));
	assert_int_equal(n, ES_PAM_SOURCE_MAX);
	assert_int_equal(strlen(out), ES_PAM_SOURCE_MAX);
	/* escapes are never cut: 127 plain bytes, then no room for a 4-byte one */
	memset(big, '\x01', sizeof(big) - 1);
	memset(big, 'a', 127);
	n = es_login_source_clean(big, NULL, out, sizeof(out));
	assert_int_equal(n, 127);
	memset(big, '\x01', sizeof(big) - 1);
	n = es_login_source_clean(big, NULL, out, sizeof(out));
	assert_int_equal(n, ES_PAM_SOURCE_MAX); /* 32 escapes */
	/* a small buffer */
	n = es_login_source_clean("\x01\x02", NULL, small, sizeof(small));
	assert_int_equal(n, 4);
	assert_string_equal(small, "\\x01");
	n = es_login_source_clean("abcdefgh", NULL, small, sizeof(small));
	assert_string_equal(small, "abcde");
	assert_int_equal(n, 5);
	n = es_login_source_clean("abc", NULL, small, 1);
	assert_int_equal(n, 0);
	assert_string_equal(small, "");
	assert_int_equal(es_login_source_clean("abc", NULL, NULL, 0), 0);
}

static void escape_is(const char *in, const char *want)
{
	char out[256];

	assert_true(es_log_escape(in, out, sizeof(out)));
	assert_string_equal(out, want);
}

static void test_log_escape(void **state)
{
	(void)state;
	escape_is("password changed for zoe", "password changed for zoe");
	escape_is("", "");
	escape_is("a\nb\r\tc", "a\\x0ab\\x0d\\x09c");
	escape_is("\x1b[2J\x7f", "\\x1b[2J\\x7f");
	escape_is("back\\slash", "back\\x5cslash");
	escape_is("Lyc\xc3\xa9" "e", "Lyc\xc3\xa9" "e");            /* UTF-8 kept */
	escape_is("\xe2\x82\xac \xf0\x9f\x98\x80", "\xe2\x82\xac \xf0\x9f\x98\x80");
	escape_is("\xc2\x9b" "31m", "\\xc2\\x9b31m");               /* C1 CSI */
	escape_is("\xe2\x80\xae" "gpj.exe", "\\xe2\\x80\\xaegpj.exe"); /* RLO */
	escape_is("\xe2\x81\xa6x", "\\xe2\\x81\\xa6x");             /* LRI */
	escape_is("a\xe2\x80\xa8" "b", "a\\xe2\\x80\\xa8b");         /* LINE SEPARATOR */
	escape_is("\xff\xc3", "\\xff\\xc3");                         /* invalid, cut */
	escape_is("\xc0\xaf", "\\xc0\\xaf");                         /* overlong '/' */
	escape_is("\xed\xa0\x80", "\\xed\\xa0\\x80");                /* a surrogate */
	escape_is("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");        /* > U+10FFFF */
	escape_is("\xe2\x82" "A", "\\xe2\\x82A");                    /* truncated sequence */
	escape_is("%n%s", "%n%s");                                   /* only ever a value */
}

static void test_log_escape_cut(void **state)
{
	char out[16];
	char big[4096];

	(void)state;
	/* fits exactly: not cut */
	assert_true(es_log_escape("123456789012345", out, sizeof(out)));
	assert_string_equal(out, "123456789012345");
	assert_false(es_log_escape("1234567890123456", out, sizeof(out)));
	assert_string_equal(out, "123456789012...");
	/* an escape is not cut: "\x01" would end at byte 13 */
	assert_false(es_log_escape("123456789\x01zzzzzzz", out, sizeof(out)));
	assert_string_equal(out, "123456789...");
	/* nor a character */
	assert_false(es_log_escape("12345678901\xc3\xa9zzzz", out, sizeof(out)));
	assert_string_equal(out, "12345678901...");
	assert_false(es_log_escape("abcdef", out, 3));
	assert_string_equal(out, "");
	assert_false(es_log_escape("abcdef", out, 4));
	assert_string_equal(out, "...");
	assert_true(es_log_escape(NULL, out, sizeof(out)));
	assert_string_equal(out, "");
	assert_false(es_log_escape("x", out, 0));
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(es_log_escape(big, out, sizeof(out)));
	assert_string_equal(out, "\\x0a\\x0a\\x0a...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_defaults),
		cmocka_unit_test(test_args_good),
		cmocka_unit_test(test_args_bad),
		cmocka_unit_test(test_args_rules),
		cmocka_unit_test(test_args_rules_bad),
		cmocka_unit_test(test_source_shown),
		cmocka_unit_test(test_user_lookup_ok),
		cmocka_unit_test(test_locale_lang),
		cmocka_unit_test(test_conf_state_dir),
		cmocka_unit_test(test_default_state_dir),
		cmocka_unit_test(test_source_choice),
		cmocka_unit_test(test_source_hostile),
		cmocka_unit_test(test_source_bounds),
		cmocka_unit_test(test_log_escape),
		cmocka_unit_test(test_log_escape_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
