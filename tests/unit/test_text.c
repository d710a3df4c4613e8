/* Unit tests for lib/es_text.c: display widths and terminal-safe cells,
 * under a UTF-8 locale (wcwidth) and under LANG=C (the built-in table). */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "es_text.h"

static const char *const locales[] = {"C.UTF-8", "C"};

static char *term(const char *s, size_t max_cols, size_t *cols)
{
	struct es_buf b = {0};
	char *out;

	assert_int_equal(es_text_term(&b, s, max_cols, cols), 0);
	assert_int_equal(es_buf_append(&b, "", 1), 0);
	out = strdup(b.data);
	assert_non_null(out);
	es_buf_free(&b);
	return out;
}

static void test_widths(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(locales) / sizeof(locales[0]); i++) {
		assert_non_null(setlocale(LC_CTYPE, locales[i]));
		assert_int_equal(es_text_width("Élodie Dupré"), 12);
		assert_int_equal(es_text_width("山田太郎"), 8);
		assert_int_equal(es_text_width("Zoë 😀"), 6);
		assert_int_equal(es_text_width("e\xcc\x81"), 1); /* e + combining acute */
		assert_int_equal(es_text_width(""), 0);
		assert_int_equal(es_text_width(NULL), 0);
		assert_int_equal(es_text_cp_width(0xAC00), 2); /* Hangul */
		assert_int_equal(es_text_cp_width('a'), 1);
	}
	assert_non_null(setlocale(LC_CTYPE, "C"));
}

static void test_controls_are_escaped(void **state)
{
	size_t cols = 0;
	char *s;

	(void)state;
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	s = term("a\x1b[2Jb\tc\x7f", 0, &cols);
	assert_string_equal(s, "a\\x1b[2Jb\\x09c\\x7f");
	assert_int_equal(cols, strlen(s));
	free(s);
	/* C1 CSI, RLO, a lone continuation byte, an overlong '/', a surrogate */
	s = term("x\xc2\x9b" "1m\xe2\x80\xae" "y\x80\xc0\xaf\xed\xa0\x80", 0, &cols);
	assert_string_equal(s, "x\\xc2\\x9b1m\\xe2\\x80\\xaey\\x80\\xc0\\xaf\\xed\\xa0\\x80");
	assert_int_equal(cols, strlen(s));
	assert_int_equal(es_text_width("\xe2\x80\xae"), 12);
	free(s);
	/* a cut UTF-8 sequence at the end */
	s = term("ab\xc3", 0, &cols);
	assert_string_equal(s, "ab\\xc3");
	free(s);
	assert_non_null(setlocale(LC_CTYPE, "C"));
}

static void test_cut_at_a_character(void **state)
{
	size_t cols = 0;
	char *s;

	(void)state;
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	s = term("Élodie Dupré", 8, &cols);
	assert_string_equal(s, "Élodie …");
	assert_int_equal(cols, 8);
	free(s);
	/* a wide character that would pass the limit is left out whole */
	s = term("山田太郎", 6, &cols);
	assert_string_equal(s, "山田…");
	assert_int_equal(cols, 5);
	free(s);
	s = term("short", 8, &cols);
	assert_string_equal(s, "short");
	assert_int_equal(cols, 5);
	free(s);
	assert_non_null(setlocale(LC_CTYPE, "C"));
}

static void test_pad(void **state)
{
	struct es_buf b = {0};

	(void)state;
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	assert_int_equal(es_text_pad(&b, "RÔLE", 6), 0);
	assert_int_equal(es_text_pad(&b, "山田", 6), 0);
	assert_int_equal(es_text_pad(&b, "toolong", 3), 0);
	assert_int_equal(es_buf_append(&b, "", 1), 0);
	assert_string_equal(b.data, "RÔLE  山田  toolong");
	es_buf_free(&b);
	assert_non_null(setlocale(LC_CTYPE, "C"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_widths),
	    cmocka_unit_test(test_controls_are_escaped),
	    cmocka_unit_test(test_cut_at_a_character),
	    cmocka_unit_test(test_pad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
