/* Rosters as exported: decoding, the header's columns, a row's values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/mman.h>
#include <unistd.h>

#include "es_roster.h"
#include "es_util.h"

static char *decode(const char *data, size_t len, const char *enc, const char **detected)
{
	struct es_err err = { 0 };
	char *out = NULL;
	size_t outlen = 0;
	unsigned long bad = 0;

	assert_int_equal(es_roster_decode(data, len, enc, &out, &outlen, detected, &bad, &err), 0);
	assert_int_equal(strlen(out), outlen);
	return out;
}

static void test_decode_detects(void **state)
{
	const char *det = NULL;
	char *s;

	(void)state;
	s = decode("Nom;Pr\xc3\xa9nom\n", 12, NULL, &det);
	assert_string_equal(s, "Nom;Prénom\n");
	assert_string_equal(det, "UTF-8");
	free(s);
	s = decode("\xef\xbb\xbfNom\n", 7, "auto", &det);
	assert_string_equal(s, "Nom\n"); /* the mark is gone */
	assert_string_equal(det, "UTF-8 with BOM");
	free(s);
	/* Excel's "Unicode text": UTF-16LE with its mark */
	s = decode("\xff\xfeN\0o\0m\0\t\0\xe9\0\r\0\n\0", 16, NULL, &det);
	assert_string_equal(s, "Nom\té\r\n");
	assert_string_equal(det, "UTF-16LE with BOM");
	free(s);
	s = decode("\xfe\xff\0N\0o", 6, NULL, &det);
	assert_string_equal(s, "No");
	assert_string_equal(det, "UTF-16BE with BOM");
	free(s);
	s = decode("N\0o\0", 4, NULL, &det);
	assert_string_equal(s, "No");
	assert_string_equal(det, "UTF-16LE");
	free(s);
	/* not UTF-8: Windows-1252, whose 0x8c is Œ and 0x80 € */
	s = decode("\x8cstergaard;\xc9lodie;\x80\n", 20, NULL, &det);
	assert_string_equal(s, "Œstergaard;Élodie;€\n");
	assert_string_equal(det, "Windows-1252");
	free(s);
	/* what the administrator says wins */
	s = decode("\xe9t\xe9", 3, "latin1", &det);
	assert_string_equal(s, "été");
	assert_string_equal(det, "latin1");
	free(s);
	s = decode("", 0, NULL, &det);
	assert_string_equal(s, "");
	free(s);
}

static void test_decode_errors(void **state)
{
	struct es_err err = { 0 };
	const char *det = NULL;
	char *out = (char *)"x";
	size_t outlen = 1;
	unsigned long bad = 0;

	(void)state;
	/* 0x81 has no character in Windows-1252: the line it is on */
	assert_int_equal(es_roster_decode("a\nb\n\x81\n", 6, NULL, &out, &outlen, &det, &bad, &err),
	                 -1);
	assert_int_equal(err.code, ES_EDATA);
	assert_int_equal(bad, 3);
	assert_non_null(strstr(err.msg, "0x81"));
	assert_non_null(strstr(err.msg, "--encoding"));
	assert_null(out);
	/* said to be UTF-8, and it is not */
	assert_int_equal(es_roster_decode("ok\n\xe9t\xe9\n", 7, "utf-8", &out, &outlen, &det, &bad,
	                                  &err),
	                 -1);
	assert_int_equal(bad, 2);
	assert_int_equal(es_roster_decode("x", 1, "klingon-8", &out, &outlen, &det, &bad, &err), -1);
	assert_non_null(strstr(err.msg, "unknown encoding"));
}

/* The layout of a header given as "a|b|c". */
static int layout(struct es_roster_layout *lay, const char *header, const char *format,
                  const char *map_spec, struct es_err *err)
{
	static char buf[2048];
	char *fields[ES_CSV_MAX_FIELDS];
	size_t n = 0;
	struct es_roster_map map = { 0 };
	char *p;

	assert_true(strlen(header) < sizeof(buf));
	strcpy(buf, header);
	for (p = buf; p != NULL && n < ES_CSV_MAX_FIELDS;) {
		char *bar = strchr(p, '|');

		fields[n++] = p;
		if (bar != NULL)
			*bar++ = '\0';
		p = bar;
	}
	if (map_spec != NULL)
		assert_int_equal(es_roster_map_parse(map_spec, &map, err), 0);
	return es_roster_layout(lay, fields, n, format, &map, err);
}

static void test_header_synonyms(void **state)
{
	struct es_roster_layout lay;
	struct es_err err = { 0 };

	(void)state;
	assert_int_equal(layout(&lay, "NOM|Prénom|CLASSE|Adresse E-mail|Mail responsable 1|"
	                              "Date de naissance|Langue|Profil",
	                        NULL, NULL, &err),
	                 0);
	assert_int_equal(lay.col[ES_RF_LAST][0], 0);
	assert_int_equal(lay.col[ES_RF_FIRST][0], 1);
	assert_int_equal(lay.col[ES_RF_CLASS][0], 2);
	assert_int_equal(lay.col[ES_RF_EMAIL][0], 3);
	assert_int_equal(lay.col[ES_RF_PARENT][0], 4);
	assert_int_equal(lay.col[ES_RF_LANG][0], 6);
	assert_int_equal(lay.col[ES_RF_ROLE][0], 7);
	assert_false(lay.used[5]); /* the birth date: listed by the caller */
	assert_true(lay.used[0] && lay.used[4]);
	assert_string_equal(lay.format, "");
	es_roster_layout_free(&lay);
	/* eschool's own names, and Google's brackets */
	assert_int_equal(layout(&lay, "username|name|email|parent_email|First Name [Required]",
	                        NULL, NULL, &err),
	                 0);
	assert_int_equal(lay.col[ES_RF_USERNAME][0], 0);
	assert_int_equal(lay.col[ES_RF_NAME][0], 1);
	assert_int_equal(lay.col[ES_RF_PARENT][0], 3);
	assert_int_equal(lay.col[ES_RF_FIRST][0], 4);
	es_roster_layout_free(&lay);
}

static void test_header_preference(void **state)
{
	struct es_roster_layout lay;
	struct es_err err = { 0 };

	(void)state;
	/* SIECLE: the usage name before the birth name, the second legal
	 * representative after the first, whatever the order of the columns */
	assert_int_equal(layout(&lay,
	                        "Nom de famille|Nom d'usage|Prénom 1|Prénom 2|Division|"
	                        "Courriel représentant légal 2|Courriel représentant légal 1",
	                        NULL, NULL, &err),
	                 0);
	assert_string_equal(lay.format, "siecle");
	assert_int_equal(lay.col[ES_RF_LAST][0], 1);
	assert_int_equal(lay.col[ES_RF_LAST][1], 0);
	assert_int_equal(lay.col[ES_RF_LAST][2], -1);
	assert_int_equal(lay.col[ES_RF_FIRST][0], 2);
	assert_int_equal(lay.col[ES_RF_FIRST][1], -1);
	assert_false(lay.used[3]); /* Prénom 2 */
	assert_int_equal(lay.col[ES_RF_PARENT][0], 6);
	assert_int_equal(lay.col[ES_RF_PARENT][1], 5);
	es_roster_layout_free(&lay);
	/* the same column twice is an error naming both */
	assert_int_equal(layout(&lay, "Nom|Email|E-mail", NULL, NULL, &err), 0);
	es_roster_layout_free(&lay);
	assert_int_equal(layout(&lay, "Nom|Email|email", NULL, NULL, &err), -1);
	assert_int_equal(err.code, ES_EDATA);
	assert_non_null(strstr(err.msg, "'Email' and 'email'"));
	/* nothing to name the accounts by */
	assert_int_equal(layout(&lay, "Email|Classe", NULL, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "--map"));
}

static void test_header_map(void **state)
{
	struct es_roster_layout lay;
	struct es_roster_map map = { 0 };
	struct es_err err = { 0 };

	(void)state;
	/* the administrator's names win over the usual ones; ignore silences */
	assert_int_equal(layout(&lay, "Élève|Groupe|Courriel|Sexe",
	                        NULL, "groupe=class, COURRIEL = parent_email,Sexe=ignore", &err),
	                 0);
	assert_int_equal(lay.col[ES_RF_NAME][0], 0);
	assert_int_equal(lay.col[ES_RF_CLASS][0], 1);
	assert_int_equal(lay.col[ES_RF_PARENT][0], 2);
	assert_int_equal(lay.col[ES_RF_EMAIL][0], -1);
	assert_true(lay.used[3]);
	es_roster_layout_free(&lay);
	/* a field the map gives comes from the mapped columns only, in order */
	assert_int_equal(layout(&lay, "Nom|Classe|Groupe|Option|Email", NULL,
	                        "option=class, groupe=class", &err),
	                 0);
	assert_int_equal(lay.col[ES_RF_CLASS][0], 3);
	assert_int_equal(lay.col[ES_RF_CLASS][1], 2);
	assert_int_equal(lay.col[ES_RF_CLASS][2], -1);
	assert_false(lay.used[1]); /* Classe: listed as used by nothing */
	es_roster_layout_free(&lay);
	assert_int_equal(es_roster_map_parse("Nom=surname", &map, &err), -1);
	assert_non_null(strstr(err.msg, "'surname' is not a field"));
	assert_int_equal(es_roster_map_parse("Nom", &map, &err), -1);
	assert_non_null(strstr(err.msg, "COLUMN=FIELD"));
	assert_int_equal(es_roster_map_parse("=email", &map, &err), -1);
	assert_int_equal(es_roster_map_parse("", &map, &err), 0);
	assert_int_equal(map.n, 0);
}

static void test_formats(void **state)
{
	struct es_roster_layout lay;
	struct es_err err = { 0 };

	(void)state;
	/* recognised: Google Workspace, its unit is the class */
	assert_int_equal(layout(&lay, "First Name [Required]|Last Name [Required]|"
	                              "Email Address [Required]|Org Unit Path [Required]|"
	                              "Employee Type",
	                        NULL, NULL, &err),
	                 0);
	assert_string_equal(lay.format, "workspace");
	assert_int_equal(lay.col[ES_RF_CLASS][0], 3);
	assert_int_equal(lay.col[ES_RF_ROLE][0], 4);
	es_roster_layout_free(&lay);
	/* SDS: Username is not a Unix name; the teachers' file says the role */
	assert_int_equal(layout(&lay, "SIS ID|School SIS ID|First Name|Last Name|Username|"
	                              "Secondary Email|Teacher Number",
	                        NULL, NULL, &err),
	                 0);
	assert_string_equal(lay.format, "sds");
	assert_string_equal(lay.role, "teacher");
	assert_int_equal(lay.col[ES_RF_USERNAME][0], -1);
	assert_int_equal(lay.col[ES_RF_EMAIL][0], 5);
	assert_true(lay.used[4]);
	es_roster_layout_free(&lay);
	/* plain: eschool's names only */
	assert_int_equal(layout(&lay, "username|Prénom|email", "plain", NULL, &err), 0);
	assert_int_equal(lay.col[ES_RF_FIRST][0], -1);
	assert_false(lay.used[1]);
	es_roster_layout_free(&lay);
	assert_int_equal(layout(&lay, "username", "excel", NULL, &err), -1);
	assert_non_null(strstr(err.msg, "unknown format 'excel'"));
}

/* The values of one row of layout header. */
static void row(const char *header, const char *format, char **fields, size_t n,
                char *out[ES_RV_COUNT])
{
	struct es_roster_layout lay;
	struct es_err err = { 0 };

	assert_int_equal(layout(&lay, header, format, NULL, &err), 0);
	assert_int_equal(es_roster_row(&lay, fields, n, out, &err), 0);
	es_roster_layout_free(&lay);
}

static void test_row_values(void **state)
{
	char f1[] = "DE LA FONTAINE", f2[] = " Anaïs ", f3[] = "", f4[] = "/Élèves/2nde 3",
	     f5[] = "Élève", f6[] = "Français", f7[] = "mere@parents.example.net";
	char *fields[] = { f1, f2, f3, f4, f5, f6, f7 };
	char *out[ES_RV_COUNT];

	(void)state;
	row("Nom|Prénom|Email|Org Unit Path|Profil|Langue|Email responsable 1", NULL, fields, 7,
	    out);
	assert_string_equal(out[ES_RV_NAME], "Anaïs de La Fontaine");
	assert_string_equal(out[ES_RV_NAME_KEY], "DE LA FONTAINE, Anaïs");
	assert_null(out[ES_RV_EMAIL]);
	assert_null(out[ES_RV_USERNAME]);
	assert_string_equal(out[ES_RV_CLASS], "2nde 3");
	assert_string_equal(out[ES_RV_ROLE], "student");
	assert_string_equal(out[ES_RV_LANG], "fr");
	assert_string_equal(out[ES_RV_PARENT], "mere@parents.example.net");
	es_roster_row_free(out);
	assert_null(out[ES_RV_NAME]);
}

static void test_row_full_name(void **state)
{
	char a[] = "DUPRÉ Élodie", b[] = "1ère G1", c[] = "Hélène Rousseau", d[] = "/Enseignants",
	     e[] = "Enseignant", g[] = "Personnel";
	char *pronote[] = { a, b };
	char *plain[] = { c, d, e };
	char *other[] = { c, d, g };
	char *out[ES_RV_COUNT];

	(void)state;
	row("Élève|Classe", NULL, pronote, 2, out);
	assert_string_equal(out[ES_RV_NAME], "Élodie Dupré");
	/* the username is derived from what was written, as before */
	assert_string_equal(out[ES_RV_NAME_KEY], "DUPRÉ Élodie");
	assert_string_equal(out[ES_RV_CLASS], "1ère G1");
	es_roster_row_free(out);
	/* a unit at the top is not a class; role words in French */
	row("name|Org Unit Path|role", NULL, plain, 3, out);
	assert_string_equal(out[ES_RV_NAME], "Hélène Rousseau");
	assert_null(out[ES_RV_CLASS]);
	assert_string_equal(out[ES_RV_ROLE], "teacher");
	es_roster_row_free(out);
	/* a school's own role, folded as role names are written */
	row("name|Org Unit Path|role", NULL, other, 3, out);
	assert_string_equal(out[ES_RV_ROLE], "personnel");
	es_roster_row_free(out);
}

static void test_row_alternates_and_controls(void **state)
{
	char a[] = "MARTIN", b[] = "MARTIN-DUBOIS", c[] = "Jean", d[] = "",
	     e[] = "pere@parents.example.net", f[] = "Jean\nPierre";
	char *fields[] = { a, b, c, d, e };
	char *bad[] = { a, b, f, d, e };
	struct es_roster_layout lay;
	struct es_err err = { 0 };
	char *out[ES_RV_COUNT];

	(void)state;
	row("Nom de famille|Nom d'usage|Prénom 1|Courriel représentant légal 1|"
	    "Courriel représentant légal 2",
	    NULL, fields, 5, out);
	assert_string_equal(out[ES_RV_NAME], "Jean Martin-Dubois");
	assert_string_equal(out[ES_RV_PARENT], "pere@parents.example.net");
	es_roster_row_free(out);
	assert_int_equal(layout(&lay, "Nom de famille|Nom d'usage|Prénom 1|Courriel représentant "
	                              "légal 1|Courriel représentant légal 2",
	                        NULL, NULL, &err),
	                 0);
	assert_int_equal(es_roster_row(&lay, bad, 5, out, &err), -1);
	assert_int_equal(err.code, ES_EDATA);
	assert_non_null(strstr(err.msg, "column 'Prénom 1' contains a control character"));
	for (int i = 0; i < ES_RV_COUNT; i++)
		assert_null(out[i]);
	es_roster_layout_free(&lay);
}

/* ---- a file read a block at a time ---- */

/* What reading data gives, as one text: "encoding|sep" then each record
 * ("line:field|field...") and how it ended ("end", or "error LINE: msg").
 * block 0: the whole file in memory (es_roster_decode, then es_csv). */
static char *read_all(const char *data, size_t len, const char *enc, size_t block)
{
	struct es_buf out = { 0 };
	struct es_csv_record rec = { 0 };
	struct es_err err = { 0 };
	unsigned long line = 0;
	int got;

	if (block == 0) {
		char *text = NULL;
		size_t tlen = 0;
		const char *det = NULL;
		struct es_csv csv;

		if (es_roster_decode(data, len, enc, &text, &tlen, &det, &line, &err) != 0) {
			assert_int_equal(es_buf_printf(&out, "error %lu: %s", line, err.msg), 0);
			return out.data;
		}
		es_csv_init(&csv, text, tlen);
		assert_int_equal(es_buf_printf(&out, "%s|%c\n", det, csv.sep), 0);
		while ((got = es_csv_next(&csv, &rec, &err)) == 1) {
			assert_int_equal(es_buf_printf(&out, "%lu:", rec.line), 0);
			for (size_t i = 0; i < rec.n; i++)
				assert_int_equal(es_buf_printf(&out, "%s|", rec.fields[i]), 0);
			assert_int_equal(es_buf_puts(&out, "\n"), 0);
		}
		if (got < 0)
			assert_int_equal(es_buf_printf(&out, "error %lu: %s", csv.err_line, err.msg), 0);
		else
			assert_int_equal(es_buf_puts(&out, "end"), 0);
		es_csv_record_free(&rec);
		free(text);
		return out.data;
	} else {
		int fd = memfd_create("roster", 0);
		struct es_roster_reader *r = NULL;
		bool first = true;

		assert_true(fd >= 0);
		assert_int_equal(write(fd, data, len), (ssize_t)len);
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		if (es_roster_reader_open(&r, fd, enc, block, (size_t)1 << 30, &err) != 0) {
			assert_int_equal(es_buf_printf(&out, "error %lu: %s", line, err.msg), 0);
			(void)close(fd);
			return out.data;
		}
		while ((got = es_roster_reader_next(r, &rec, &line, &err)) == 1) {
			if (first)
				assert_int_equal(es_buf_printf(&out, "%s|%c\n", es_roster_reader_encoding(r),
				                               es_roster_reader_sep(r)),
				                 0);
			first = false;
			assert_int_equal(es_buf_printf(&out, "%lu:", rec.line), 0);
			for (size_t i = 0; i < rec.n; i++)
				assert_int_equal(es_buf_printf(&out, "%s|", rec.fields[i]), 0);
			assert_int_equal(es_buf_puts(&out, "\n"), 0);
		}
		if (got < 0 && strncmp(err.msg, "byte ", 5) == 0)
			out.len = 0; /* a byte the encoding has not: decode says it before any record */
		else if (first)
			assert_int_equal(es_buf_printf(&out, "%s|%c\n", es_roster_reader_encoding(r),
			                               es_roster_reader_sep(r)),
			                 0);
		if (got < 0)
			assert_int_equal(es_buf_printf(&out, "error %lu: %s", line, err.msg), 0);
		else
			assert_int_equal(es_buf_puts(&out, "end"), 0);
		es_csv_record_free(&rec);
		es_roster_reader_free(r);
		(void)close(fd);
		return out.data;
	}
}

/* a literal and its length (NULs and all, not the last) */
#define RAW(s) s, sizeof(s) - 1

static const struct {
	const char *what, *data;
	size_t len;
	const char *enc;
} streamed[] = {
	{ "utf-8, quotes and line breaks in them, CRLF", RAW("username,name,email\r\n"
	  "ldupont,\"Dupont, \"\"Lulu\"\" Louise\",lulu@school.example\r\n"
	  "\r\n"
	  "zoe,\"Zo\xc3\xab\r\nLef\xc3\xa8vre\",z@school.example\r\n"
	  "emoji,\"\xf0\x9f\x98\x80\xe2\x82\xac\",e@school.example"), NULL },
	{ "utf-8 with its mark, ';'", RAW("\xef\xbb\xbfNom;Pr\xc3\xa9nom\n\xc3\x89lodie;Dupr\xc3\xa9\n"), "auto" },
	{ "windows-1252 (detected)", RAW("Nom;Pr\xe9nom\nDupr\xe9;\xc9lodie\n\x80uro;x\n"), NULL },
	{ "utf-16le with its mark", RAW("\xff\xfen\0a\0m\0e\0\n\0\xe9\0t\0\xe9\0\n\0"), NULL },
	{ "utf-16le without a mark, CRLF", RAW("n\0,\0e\0\r\0\n\0a\0,\0b\0\r\0\n\0"), NULL },
	{ "utf-16be with its mark", RAW("\xfe\xff\0n\0,\0e\0\n\0a\0,\0b"), NULL },
	{ "lone CR", RAW("a,b\rc,d\r\re,\"f\rg\"\r"), NULL },
	{ "blank lines first and last", RAW("\n\n\r\nname\nx\n\n\n"), NULL },
	{ "empty", RAW(""), NULL },
	{ "header only", RAW("name,email"), NULL },
	{ "said utf-8, a byte it has not on line 3", RAW("a\nb\n\xe9t\xe9\nc\n"), "utf-8" },
	{ "utf-8 cut in the middle of a sequence at the end", RAW("a\nb\xc3"), "utf-8" },
	{ "unterminated quote", RAW("a,b\n1,\"x\n2,y\n"), NULL },
	{ "a quote inside an unquoted field", RAW("a,b\n1,x\"y\n2,z\n"), NULL },
	{ "an unknown encoding", RAW("a\n"), "klingon-8" },
	{ "a NUL byte", RAW("a,b\n1,\0\n"), "utf-8" },
	{ "tabs", RAW("a\tb\n\"1\t2\"\t3\n"), NULL },
};

/* The reader gives what the whole file in memory gives, whatever its
 * blocks cut: a sequence, a CRLF, a quoted line break, the mark. */
static void test_reader_as_whole(void **state)
{
	static const size_t blocks[] = { 1, 2, 3, 4, 5, 7, 13, 64, 4096 };
	char *whole;

	(void)state;
	for (size_t t = 0; t < sizeof(streamed) / sizeof(streamed[0]); t++) {
		size_t len = streamed[t].len;

		whole = read_all(streamed[t].data, len, streamed[t].enc, 0);

		for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++) {
			char *by_block = read_all(streamed[t].data, len, streamed[t].enc, blocks[b]);

			if (strcmp(whole, by_block) != 0)
				fail_msg("%s, blocks of %zu:\nwhole:\n%s\nby blocks:\n%s", streamed[t].what,
				         blocks[b], whole, by_block);
			free(by_block);
		}
		free(whole);
	}
	/* and the whole is what it should be */
	whole = read_all(streamed[0].data, strlen(streamed[0].data), NULL, 0);
	assert_non_null(strstr(whole, "UTF-8|,\n1:username|name|email|\n"));
	assert_non_null(strstr(whole, "\n4:zoe|Zo\xc3\xab\r\nLef\xc3\xa8vre|z@school.example|\n"));
	free(whole);
	whole = read_all(streamed[10].data, strlen(streamed[10].data), "utf-8", 0);
	assert_string_equal(whole, "error 3: byte 0xe9 is not utf-8 text (save the file as \"CSV "
	                           "UTF-8\", or say its encoding with --encoding)");
	free(whole);
}

/* A record longer than es_csv allows, and a file of many blocks. */
static void test_reader_long(void **state)
{
	struct es_buf big = { 0 };
	char *whole, *by_block;

	(void)state;
	assert_int_equal(es_buf_puts(&big, "name,email\n"), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(es_buf_printf(&big, "\"\xc3\x89l\xc3\xa8ve\n%d\",e%d@school.example\r\n",
		                               i, i),
		                 0);
	whole = read_all(big.data, big.len, NULL, 0);
	by_block = read_all(big.data, big.len, NULL, 1000);
	assert_string_equal(whole, by_block);
	assert_non_null(strstr(whole, "10000:\xc3\x89l\xc3\xa8ve\n4999|e4999@school.example|"));
	free(whole);
	free(by_block);
	big.len = 0;
	assert_int_equal(es_buf_puts(&big, "name\n\""), 0);
	for (size_t i = 0; i < ES_CSV_MAX_RECORD + 10; i++)
		assert_int_equal(es_buf_puts(&big, "x"), 0);
	assert_int_equal(es_buf_puts(&big, "\"\nok\n"), 0);
	whole = read_all(big.data, big.len, NULL, 0);
	by_block = read_all(big.data, big.len, NULL, 4096);
	assert_string_equal(whole, by_block);
	assert_non_null(strstr(whole, "error 2:"));
	free(whole);
	free(by_block);
	/* a record just longer than es_csv allows, its end past the first
	 * window: refused, not cut in two */
	big.len = 0;
	assert_int_equal(es_buf_puts(&big, "name\n"), 0);
	for (size_t i = 0; i < 65529; i++)
		assert_int_equal(es_buf_puts(&big, "a"), 0);
	assert_int_equal(es_buf_puts(&big, "\nX"), 0);
	for (size_t i = 0; i < 65536; i++)
		assert_int_equal(es_buf_puts(&big, "X"), 0);
	assert_int_equal(es_buf_puts(&big, "YYY\njdoe,John Doe\nok\n"), 0);
	whole = read_all(big.data, big.len, NULL, 0);
	assert_non_null(strstr(whole, "error 3: "));
	for (size_t b = 1; b <= 65536; b *= 16) {
		by_block = read_all(big.data, big.len, NULL, b);
		assert_string_equal(whole, by_block);
		free(by_block);
	}
	free(whole);
	/* a quoted field's error early, a byte Windows-1252 has not late: the
	 * byte is what the whole file says, and so does the reader */
	big.len = 0;
	assert_int_equal(es_buf_puts(&big, "name,b\n\"x\"y,1\n"), 0);
	for (int i = 0; i < 20000; i++)
		assert_int_equal(es_buf_puts(&big, "a,b\n"), 0);
	assert_int_equal(es_buf_puts(&big, "\xe9t\xe9,\x81\n"), 0);
	whole = read_all(big.data, big.len, NULL, 0);
	by_block = read_all(big.data, big.len, NULL, 4096);
	assert_string_equal(whole, by_block);
	assert_non_null(strstr(whole, "error 20003: byte 0x81"));
	free(whole);
	free(by_block);
	es_buf_free(&big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_detects),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_reader_as_whole),
		cmocka_unit_test(test_reader_long),
		cmocka_unit_test(test_header_synonyms),
		cmocka_unit_test(test_header_preference),
		cmocka_unit_test(test_header_map),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_row_values),
		cmocka_unit_test(test_row_full_name),
		cmocka_unit_test(test_row_alternates_and_controls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
