/* RFC 4180 reader: every corner a roster export can hit, and every error
 * with the line it names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "es_csv.h"

/* Reads all records of data; fields joined with '|', records with '\n',
 * each prefixed with its line number "N:". Returns es_csv_next's last. */
static int read_all(const char *data, size_t len, char *out, size_t outsz,
                    struct es_csv *csv, struct es_err *err)
{
	struct es_csv_record rec = { 0 };
	size_t used = 0;
	int got;

	out[0] = '\0';
	es_csv_init(csv, data, len);
	while ((got = es_csv_next(csv, &rec, err)) == 1) {
		int n = snprintf(out + used, outsz - used, "%lu:", rec.line);
		assert_true(n > 0 && (size_t)n < outsz - used);
		used += (size_t)n;
		for (size_t i = 0; i < rec.n; i++) {
			n = snprintf(out + used, outsz - used, "%s%s", i ? "|" : "", rec.fields[i]);
			assert_true(n >= 0 && (size_t)n < outsz - used);
			used += (size_t)n;
		}
		assert_true(used + 1 < outsz);
		out[used++] = '\n';
		out[used] = '\0';
	}
	es_csv_record_free(&rec);
	return got;
}

static void expect(const char *data, const char *want)
{
	char out[4096];
	struct es_csv csv;
	struct es_err err = { 0 };

	assert_int_equal(read_all(data, strlen(data), out, sizeof(out), &csv, &err), 0);
	assert_string_equal(out, want);
}

static void expect_error(const char *data, size_t len, unsigned long line, const char *what)
{
	char out[4096];
	struct es_csv csv;
	struct es_err err = { 0 };
	struct es_csv_record rec = { 0 };

	assert_int_equal(read_all(data, len, out, sizeof(out), &csv, &err), -1);
	assert_int_equal(err.code, ES_EDATA);
	assert_int_equal(csv.err_line, line);
	assert_non_null(strstr(err.msg, what));
	/* after an error, nothing more is read */
	assert_int_equal(es_csv_next(&csv, &rec, &err), 0);
	es_csv_record_free(&rec);
}

static void test_simple(void **state)
{
	(void)state;
	expect("username,email\nalice,a@x.fr\nbob,b@x.fr\n",
	       "1:username|email\n2:alice|a@x.fr\n3:bob|b@x.fr\n");
}

static void test_no_final_newline(void **state)
{
	(void)state;
	expect("a,b\nc,d", "1:a|b\n2:c|d\n");
}

static void test_crlf_lf_cr_and_mixed(void **state)
{
	(void)state;
	expect("a,b\r\nc,d\r\n", "1:a|b\n2:c|d\n");
	expect("a,b\rc,d\r", "1:a|b\n2:c|d\n");
	expect("a\r\nb\nc\rd", "1:a\n2:b\n3:c\n4:d\n");
}

static void test_empty_fields(void **state)
{
	(void)state;
	expect("a,,b\n", "1:a||b\n");
	expect("a,b,\n", "1:a|b|\n");
	expect(",\n", "1:|\n");
	expect("\"\",x\n", "1:|x\n");
}

static void test_quoted_fields(void **state)
{
	(void)state;
	expect("\"Martin, Jean\",\"say \"\"hi\"\"\"\n", "1:Martin, Jean|say \"hi\"\n");
	expect("\"\"\"\"\n", "1:\"\n");
	expect("\"a\"\n", "1:a\n");
	/* a quoted field at the end of input without a newline */
	expect("x,\"y\"", "1:x|y\n");
}

static void test_embedded_newlines_count_lines(void **state)
{
	(void)state;
	/* the record starting on line 2 spans lines 2-4; the next is on 5 */
	expect("h1,h2\n\"multi\nline\r\nname\",v\nnext,row\n",
	       "1:h1|h2\n2:multi\nline\r\nname|v\n5:next|row\n");
}

static void test_lone_cr_inside_quotes_is_not_a_line(void **state)
{
	(void)state;
	expect("a\n\"x\ry\"\nb\n", "1:a\n2:x\ry\n3:b\n");
}

static void test_bom_is_skipped(void **state)
{
	(void)state;
	expect("\xef\xbb\xbfusername,email\nalice,a@x.fr\n", "1:username|email\n2:alice|a@x.fr\n");
	/* a BOM only counts at the very start */
	expect("a\n\xef\xbb\xbf" "b\n", "1:a\n2:\xef\xbb\xbf" "b\n");
}

static void test_blank_lines_skipped(void **state)
{
	(void)state;
	expect("a,b\n\n\r\nc,d\n\n", "1:a|b\n4:c|d\n");
	expect("", "");
	expect("\n\n", "");
}

static void test_semicolon_detection(void **state)
{
	(void)state;
	expect("name;email\nDupré, Élodie;e@x.fr\n", "1:name|email\n2:Dupré, Élodie|e@x.fr\n");
	/* a header with a comma keeps ',' even with ';' around */
	expect("name,note\na;b,c\n", "1:name|note\n2:a;b|c\n");
	/* ';' inside quotes on a ';' file */
	expect("a;b\n\"x;y\";z\n", "1:a|b\n2:x;y|z\n");
	/* the most frequent separator of the header wins: Excel's "Unicode
	 * text" has tabs, a name may hold a comma */
	expect("Nom\tPrénom\tNote, remarque\nA\tb\tc, d\n", "1:Nom|Prénom|Note, remarque\n2:A|b|c, d\n");
	expect("a;b;c,d\n1;2;3,4\n", "1:a|b|c,d\n2:1|2|3,4\n");
	/* separators inside a quoted header name do not count */
	expect("\"a;b;c\",d\n1,2\n", "1:a;b;c|d\n2:1|2\n");
}

static void test_utf8_kept_exactly(void **state)
{
	(void)state;
	expect("Élodie Dupré,Zoë Lefèvre,Œdipe,日本\n",
	       "1:Élodie Dupré|Zoë Lefèvre|Œdipe|日本\n");
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	expect_error("a\nb\xff\n", 5, 2, "UTF-8");
	expect_error("a\n\xc0\xaf\n", 5, 2, "UTF-8");          /* overlong '/' */
	expect_error("a\nb\nx\xc3", 6, 3, "UTF-8");            /* truncated */
	expect_error("\xed\xa0\x80\n", 4, 1, "UTF-8");         /* surrogate */
	expect_error("\xf4\x90\x80\x80\n", 5, 1, "UTF-8");     /* > U+10FFFF */
	expect_error("ok,\"\xe9t\xe9\"\n", 10, 1, "UTF-8");    /* Latin-1 in quotes */
}

static void test_unterminated_quote_names_record_start(void **state)
{
	const char *d = "h\nok\n\"open\nstill\nopen\n";

	(void)state;
	expect_error(d, strlen(d), 3, "not closed");
}

static void test_quote_inside_unquoted_field(void **state)
{
	const char *d = "h\nab\"c\n";

	(void)state;
	expect_error(d, strlen(d), 2, "inside a field");
}

static void test_text_after_closing_quote(void **state)
{
	const char *d = "h\n\"ab\"c,d\n";

	(void)state;
	expect_error(d, strlen(d), 2, "after the closing");
}

static void test_nul_byte(void **state)
{
	static const char d[] = "h\nab\0c\n";
	static const char q[] = "h\n\"a\0\"\n";

	(void)state;
	expect_error(d, sizeof(d) - 1, 2, "NUL");
	expect_error(q, sizeof(q) - 1, 2, "NUL");
}

static void test_too_many_fields(void **state)
{
	char d[256];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < ES_CSV_MAX_FIELDS; i++)
		d[n++] = ',';
	d[n++] = '\n';
	d[n] = '\0';
	expect_error(d, n, 1, "too many fields");
	/* exactly 64 fields is fine */
	n = 0;
	for (int i = 0; i < ES_CSV_MAX_FIELDS - 1; i++)
		d[n++] = ',';
	d[n++] = '\n';
	d[n] = '\0';
	{
		struct es_csv csv;
		struct es_csv_record rec = { 0 };
		struct es_err err = { 0 };
		es_csv_init(&csv, d, n);
		assert_int_equal(es_csv_next(&csv, &rec, &err), 1);
		assert_int_equal(rec.n, ES_CSV_MAX_FIELDS);
		es_csv_record_free(&rec);
	}
}

static void test_record_too_long(void **state)
{
	size_t n = ES_CSV_MAX_RECORD + 100;
	char *d = malloc(n + 8);

	(void)state;
	assert_non_null(d);
	memcpy(d, "h\n", 2);
	memset(d + 2, 'x', n - 3);
	d[n - 1] = '\n';
	expect_error(d, n, 2, "64 KiB");
	/* the same inside quotes (a missing closing quote eating the file) */
	d[2] = '"';
	expect_error(d, n, 2, "64 KiB");
	free(d);
}

static void test_next_frees_previous_record(void **state)
{
	struct es_csv csv;
	struct es_csv_record rec = { 0 };
	struct es_err err = { 0 };
	const char *d = "a,b,c\nd,e,f\n";

	(void)state;
	es_csv_init(&csv, d, strlen(d));
	assert_int_equal(es_csv_next(&csv, &rec, &err), 1);
	assert_int_equal(es_csv_next(&csv, &rec, &err), 1); /* ASan: no leak */
	assert_string_equal(rec.fields[2], "f");
	assert_int_equal(es_csv_next(&csv, &rec, &err), 0);
	assert_int_equal(rec.n, 0);
	es_csv_record_free(&rec);
	es_csv_record_free(&rec); /* twice is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_no_final_newline),
		cmocka_unit_test(test_crlf_lf_cr_and_mixed),
		cmocka_unit_test(test_empty_fields),
		cmocka_unit_test(test_quoted_fields),
		cmocka_unit_test(test_embedded_newlines_count_lines),
		cmocka_unit_test(test_lone_cr_inside_quotes_is_not_a_line),
		cmocka_unit_test(test_bom_is_skipped),
		cmocka_unit_test(test_blank_lines_skipped),
		cmocka_unit_test(test_semicolon_detection),
		cmocka_unit_test(test_utf8_kept_exactly),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_unterminated_quote_names_record_start),
		cmocka_unit_test(test_quote_inside_unquoted_field),
		cmocka_unit_test(test_text_after_closing_quote),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_too_many_fields),
		cmocka_unit_test(test_record_too_long),
		cmocka_unit_test(test_next_frees_previous_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
