/* Mail building: header guard, RFC 2047 words, quoted-printable and base64
 * round trips, line lengths, the whole message's structure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "es_mime.h"

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* Every line ends in CRLF, none is longer than max (without CRLF). */
static void assert_lines(const char *s, size_t len, size_t max)
{
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r') {
			assert_true(i + 1 < len && s[i + 1] == '\n');
			i++;
			col = 0;
			continue;
		}
		assert_true(s[i] != '\n'); /* no bare LF */
		col++;
		assert_true(col <= max);
	}
}

static void test_header_ok(void **state)
{
	(void)state;
	assert_true(es_mime_header_ok("Élodie Dupré"));
	assert_true(es_mime_header_ok("a\tb"));
	assert_true(es_mime_header_ok(""));
	assert_false(es_mime_header_ok("a\r\nBcc: x@y.fr"));
	assert_false(es_mime_header_ok("a\nb"));
	assert_false(es_mime_header_ok("a\rb"));
	assert_false(es_mime_header_ok("a\x7f"));
	assert_false(es_mime_header_ok("a\x1b[1m"));
	assert_false(es_mime_header_ok("caf\xe9")); /* Latin-1 */
}

/* Decodes "=?UTF-8?B?...?=" words separated by CRLF SP. */
static void decode_words(const char *s, char *out, size_t outsz)
{
	size_t used = 0;

	while (*s != '\0') {
		const char *end;
		unsigned char bin[128];
		size_t blen = 0;

		assert_int_equal(strncmp(s, "=?UTF-8?B?", 10), 0);
		s += 10;
		end = strstr(s, "?=");
		assert_non_null(end);
		assert_int_equal(sodium_base642bin(bin, sizeof(bin), s, (size_t)(end - s), NULL, &blen,
		                                   NULL, sodium_base64_VARIANT_ORIGINAL),
		                 0);
		/* each word holds whole characters */
		assert_true(es_utf8_valid((const char *)bin, blen));
		assert_true(used + blen < outsz);
		memcpy(out + used, bin, blen);
		used += blen;
		s = end + 2;
		if (*s != '\0') {
			assert_int_equal(strncmp(s, "\r\n ", 3), 0);
			s += 3;
		}
	}
	out[used] = '\0';
}

static void test_encode_words(void **state)
{
	static const char *const texts[] = {
		"é", "Votre compte au lycée : identifiant edupre et mot de passe provisoire",
		"日本語のテキストを長く長く長く長く長く長く長く長く長く長く書きます",
		"=?UTF-8?B?not a word?=", "Zoë 😀 Lefèvre 😀😀😀😀😀😀😀😀😀😀😀😀😀",
	};
	struct es_buf b = { 0 };
	char back[1024];

	(void)state;
	assert_int_equal(es_mime_encode_words(&b, "Welcome to the lab"), 0);
	assert_string_equal(b.data, "Welcome to the lab");
	es_buf_free(&b);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct es_buf w = { 0 };
		assert_int_equal(es_mime_encode_words(&w, texts[i]), 0);
		assert_lines(w.data, w.len, 75);
		decode_words(w.data, back, sizeof(back));
		assert_string_equal(back, texts[i]);
		es_buf_free(&w);
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	fail_msg("bad hex digit %c", c);
	return 0;
}

/* Decodes quoted-printable: soft breaks vanish, CRLF becomes LF. */
static size_t qp_decode(const char *s, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '=' && i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;
		} else if (s[i] == '=') {
			assert_true(i + 2 < len);
			out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else if (s[i] == '\r') {
			assert_true(s[i + 1] == '\n');
			/* no space or tab may end an encoded line */
			assert_true(i == 0 || (s[i - 1] != ' ' && s[i - 1] != '\t'));
			out[o++] = '\n';
			i++;
		} else {
			assert_true((s[i] >= 33 && s[i] <= 126) || s[i] == ' ' || s[i] == '\t');
			out[o++] = s[i];
		}
	}
	return o;
}

static void qp_round_trip(const char *in, size_t len)
{
	struct es_buf b = { 0 };
	char *back = malloc(len * 3 + 16);
	size_t n;

	assert_non_null(back);
	assert_int_equal(es_mime_qp(&b, in, len), 0);
	assert_lines(b.data ? b.data : "", b.len, 76);
	/* a line never starts with '.' (SMTP's end of data) */
	if (b.len > 0)
		assert_true(b.data[0] != '.' && strstr(b.data, "\r\n.") == NULL);
	n = qp_decode(b.data ? b.data : "", b.len, back);
	assert_int_equal(n, len);
	assert_memory_equal(back, in, len);
	free(back);
	es_buf_free(&b);
}

static void test_qp(void **state)
{
	static const char *const texts[] = {
		"",
		"Bonjour Élodie,\n\nMot de passe : a=b\n",
		"trailing space \nand tab\t\nend with space ",
		".\n..dots\n.",
		"Une ligne très longue qui dépasse largement les soixante-seize caractères "
		"autorisés par la norme MIME pour tester les coupures douces, encore et encore.",
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.x",
	};
	char rnd[4000];
	struct es_buf b = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		qp_round_trip(texts[i], strlen(texts[i]));
	/* random bytes, without CR (a CRLF is a line break by design) */
	for (int round = 0; round < 50; round++) {
		randombytes_buf(rnd, sizeof(rnd));
		for (size_t i = 0; i < sizeof(rnd); i++)
			if (rnd[i] == '\r')
				rnd[i] = 'r';
		qp_round_trip(rnd, sizeof(rnd));
	}
	/* CRLF in, CRLF out: not doubled */
	assert_int_equal(es_mime_qp(&b, "a\r\nb", 4), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "a\r\nb", 4);
	es_buf_free(&b);
}

static void test_base64(void **state)
{
	unsigned char data[1000], back[1000];
	struct es_buf b = { 0 };
	size_t blen = 0;

	(void)state;
	randombytes_buf(data, sizeof(data));
	assert_int_equal(es_mime_base64(&b, data, sizeof(data)), 0);
	assert_lines(b.data, b.len, 76);
	assert_int_equal(sodium_base642bin(back, sizeof(back), b.data, b.len, "\r\n", &blen, NULL,
	                                   sodium_base64_VARIANT_ORIGINAL),
	                 0);
	assert_int_equal(blen, sizeof(data));
	assert_memory_equal(back, data, sizeof(data));
	es_buf_free(&b);
}

static void test_date(void **state)
{
	char d[64];

	(void)state;
	es_mime_date(1795000000, d, sizeof(d));
	assert_string_equal(d, "Wed, 18 Nov 2026 11:06:40 +0000");
	es_mime_date(0, d, sizeof(d));
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
}

static struct es_mail sample(void)
{
	return (struct es_mail){
		.from_addr = "noreply@school.example",
		.from_name = "Lycée Exemple",
		.to_addr = "elodie@school.example",
		.to_name = "Élodie Dupré",
		.subject = "Votre compte",
		.text = "Bonjour,\nIdentifiant : edupre\n",
		.kind = "welcome-student",
		.date = 1795000000,
	};
}

static void test_build_text_only(void **state)
{
	struct es_mail m = sample();
	struct es_buf b = { 0 };
	struct es_err err = { 0 };
	char id[128];

	(void)state;
	assert_int_equal(es_mime_build(&m, &b, id, sizeof(id), &err), 0);
	assert_lines(b.data, b.len, 78);
	assert_non_null(strstr(b.data, "Date: Wed, 18 Nov 2026 11:06:40 +0000\r\n"));
	assert_non_null(strstr(b.data, "MIME-Version: 1.0\r\n"));
	assert_non_null(strstr(b.data, "X-Eschool-Kind: welcome-student\r\n"));
	assert_non_null(strstr(b.data, "Content-Type: text/plain; charset=UTF-8\r\n"));
	assert_non_null(strstr(id, "@school.example"));
	{
		char hdr[200];
		(void)snprintf(hdr, sizeof(hdr), "Message-ID: <%s>\r\n", id);
		assert_non_null(strstr(b.data, hdr));
	}
	assert_null(strstr(b.data, "multipart"));
	/* the headers end with one empty line before the body */
	assert_non_null(strstr(b.data, "quoted-printable\r\n\r\nBonjour,\r\n"));
	es_buf_free(&b);
}

static void test_build_multipart_and_logo(void **state)
{
	static const unsigned char png[300] = { 0x89, 'P', 'N', 'G' };
	struct es_mail m = sample();
	struct es_buf b = { 0 };
	struct es_err err = { 0 };
	char id[128], id2[128];

	(void)state;
	m.html = "<p>Bonjour <b>Élodie</b></p>";
	assert_int_equal(es_mime_build(&m, &b, id, sizeof(id), &err), 0);
	assert_lines(b.data, b.len, 78);
	assert_non_null(strstr(b.data, "multipart/alternative"));
	assert_non_null(strstr(b.data, "Content-Type: text/html; charset=UTF-8"));
	assert_null(strstr(b.data, "multipart/related"));
	es_buf_free(&b);

	m.logo = png;
	m.logo_len = sizeof(png);
	assert_int_equal(es_mime_build(&m, &b, id2, sizeof(id2), &err), 0);
	assert_lines(b.data, b.len, 78);
	assert_non_null(strstr(b.data, "multipart/related"));
	assert_non_null(strstr(b.data, "Content-ID: <logo>\r\n"));
	assert_non_null(strstr(b.data, "Content-Type: image/png\r\n"));
	assert_string_not_equal(id, id2); /* fresh Message-IDs */
	es_buf_free(&b);
}

static void test_build_refuses_injection(void **state)
{
	struct es_buf b = { 0 };
	struct es_err err = { 0 };
	char id[128];
	struct es_mail m;

	(void)state;
	m = sample();
	m.subject = "Hi\r\nBcc: all@school.example";
	assert_int_equal(es_mime_build(&m, &b, id, sizeof(id), &err), -1);
	assert_int_equal(err.code, ES_EDATA);
	assert_non_null(strstr(err.msg, "subject"));
	m = sample();
	m.to_name = "Eve\nBcc: x@y.fr";
	assert_int_equal(es_mime_build(&m, &b, id, sizeof(id), &err), -1);
	m = sample();
	m.from_name = "Lyc\xe9";
	assert_int_equal(es_mime_build(&m, &b, id, sizeof(id), &err), -1);
	m = sample();
	m.to_addr = "elodie@school.example\r\nBcc: x@y.fr";
	assert_int_equal(es_mime_build(&m, &b, id, sizeof(id), &err), -1);
	m = sample();
	m.to_addr = "not an address";
	assert_int_equal(es_mime_build(&m, &b, id, sizeof(id), &err), -1);
	m = sample();
	m.text = "caf\xe9";
	assert_int_equal(es_mime_build(&m, &b, id, sizeof(id), &err), -1);
	assert_int_equal(b.len, 0); /* nothing written on refusal */
	es_buf_free(&b);
}

/* The To: address replaced, the name (encoded, the address folded onto a
 * line of its own) and every other byte kept; a bare address; refusals. */
static void test_readdress(void **state)
{
	struct es_mail m = sample();
	struct es_buf b = { 0 }, r = { 0 };
	struct es_err err = { 0 };
	char id[128];
	const char *p;

	(void)state;
	m.to_name = "Zoë Lefèvre";
	assert_int_equal(es_mime_build(&m, &b, id, sizeof(id), &err), 0);
	assert_int_equal(es_mime_readdress(b.data, b.len, "zoe.fixed@school.example", &r, &err), 0);
	assert_non_null(strstr(r.data, "\r\n <zoe.fixed@school.example>\r\nSubject: "));
	assert_null(strstr(r.data, m.to_addr));
	/* only the address differs */
	p = strstr(b.data, m.to_addr);
	assert_non_null(p);
	assert_int_equal(r.len, b.len - strlen(m.to_addr) + strlen("zoe.fixed@school.example"));
	assert_memory_equal(r.data, b.data, (size_t)(p - b.data));
	assert_string_equal(r.data + (p - b.data) + strlen("zoe.fixed@school.example"),
	                    p + strlen(m.to_addr));
	es_buf_free(&r);
	{
		static const char bare[] = "From: a@school.example\r\nTO: old@school.example\r\n"
		                           "Subject: x\r\n\r\nTo: body@school.example\r\n";

		assert_int_equal(es_mime_readdress(bare, strlen(bare), "new@school.example", &r, &err),
		                 0);
		assert_string_equal(r.data, "From: a@school.example\r\nTo: new@school.example\r\n"
		                            "Subject: x\r\n\r\nTo: body@school.example\r\n");
		es_buf_free(&r);
	}
	{
		static const char two[] = "To: a@school.example\r\nTo: b@school.example\r\n\r\nx";
		static const char none[] = "From: a@school.example\r\n\r\nTo: b@school.example\r\n";
		static const char nohdr[] = "To: a@school.example\r\n";

		assert_int_equal(es_mime_readdress(two, strlen(two), "n@school.example", &r, &err), -1);
		assert_int_equal(err.code, ES_EDATA);
		assert_int_equal(es_mime_readdress(none, strlen(none), "n@school.example", &r, &err),
		                 -1);
		assert_int_equal(es_mime_readdress(nohdr, strlen(nohdr), "n@school.example", &r, &err),
		                 -1);
		assert_int_equal(es_mime_readdress(b.data, b.len, "bad\r\nBcc: x@evil.example", &r,
		                                   &err),
		                 -1);
		assert_int_equal(r.len, 0);
	}
	es_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_ok),
		cmocka_unit_test(test_encode_words),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_build_text_only),
		cmocka_unit_test(test_build_multipart_and_logo),
		cmocka_unit_test(test_build_refuses_injection),
		cmocka_unit_test(test_readdress),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
