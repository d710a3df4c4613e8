#include "es_mime.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "es_bytes.h"
#include "es_names.h"

/* Raw bytes per encoded word: 36 bytes are 48 base64 characters, so a word
 * "=?UTF-8?B?...?=" is 60 characters and "Subject: " + a word fits in 78. */
#define WORD_BYTES ((size_t)36)
#define QP_LINE 76

bool es_mime_header_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return es_utf8_valid(s, strlen(s));
}

static bool plain_ascii(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			return false;
	/* "=?" would be read as the start of an encoded word */
	return strstr(s, "=?") == NULL;
}

/* Length of the UTF-8 sequence starting with byte c (1 for invalid). */
static size_t utf8_len(unsigned char c)
{
	if (c >= 0xf0)
		return 4;
	if (c >= 0xe0)
		return 3;
	if (c >= 0xc0)
		return 2;
	return 1;
}

static int b64(struct es_buf *out, const unsigned char *p, size_t n)
{
	char enc[ES_BASE64_SIZE(WORD_BYTES * 2)];

	if (n > WORD_BYTES * 2)
		return -1;
	es_base64(enc, p, n);
	return es_buf_puts(out, enc);
}

int es_mime_encode_words(struct es_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0;
	bool first = true;

	if (plain_ascii(s))
		return es_buf_puts(out, s);
	while (i < len) {
		size_t n = 0;

		/* whole characters only */
		while (i + n < len) {
			size_t c = utf8_len(p[i + n]);
			if (i + n + c > len || n + c > WORD_BYTES)
				break;
			n += c;
		}
		if (n == 0)
			n = 1; /* cannot happen with valid UTF-8; never loop forever */
		if ((!first && es_buf_puts(out, "\r\n ") != 0) || es_buf_puts(out, "=?UTF-8?B?") != 0 ||
		    b64(out, p + i, n) != 0 || es_buf_puts(out, "?=") != 0)
			return -1;
		first = false;
		i += n;
	}
	return 0;
}

int es_mime_qp(struct es_buf *out, const char *data, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		char tok[4];
		size_t t;
		bool at_eol;

		if (c == '\n' || (c == '\r' && i + 1 < len && data[i + 1] == '\n')) {
			if (c == '\r')
				i++;
			if (es_buf_puts(out, "\r\n") != 0)
				return -1;
			col = 0;
			continue;
		}
		at_eol = i + 1 == len || data[i + 1] == '\n' || data[i + 1] == '\r';
		if ((c >= 33 && c <= 126 && c != '=' && !(c == '.' && col == 0)) ||
		    ((c == ' ' || c == '\t') && !at_eol)) {
			tok[0] = (char)c;
			t = 1;
		} else {
			/* '=', non-ASCII, controls, a space before a line break, and a
			 * '.' starting a line (SMTP would read ".\r\n" as the end) */
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 15];
			t = 3;
		}
		if (col + t > QP_LINE - 1) {
			if (es_buf_puts(out, "=\r\n") != 0)
				return -1;
			col = 0;
			if (tok[0] == '.') { /* now at the start of a line */
				tok[0] = '=';
				tok[1] = '2';
				tok[2] = 'E';
				t = 3;
			}
		}
		if (es_buf_append(out, tok, t) != 0)
			return -1;
		col += t;
	}
	return 0;
}

int es_mime_base64(struct es_buf *out, const unsigned char *data, size_t len)
{
	for (size_t i = 0; i < len; i += 57) {
		size_t n = len - i < 57 ? len - i : 57;
		char line[ES_BASE64_SIZE(57)];

		es_base64(line, data + i, n);
		if (es_buf_puts(out, line) != 0 || es_buf_puts(out, "\r\n") != 0)
			return -1;
	}
	return 0;
}

void es_mime_date(time_t t, char *out, size_t outsz)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		(void)es_strlcpy(out, "Thu, 01 Jan 1970 00:00:00 +0000", outsz);
		return;
	}
	(void)snprintf(out, outsz, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
	               tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
	               tm.tm_min, tm.tm_sec);
}

/* "Name" <addr>, or an encoded name, or the bare address. */
static int mailbox(struct es_buf *out, const char *name, const char *addr)
{
	int rc = 0;

	if (name == NULL || name[0] == '\0')
		return es_buf_puts(out, addr);
	if (plain_ascii(name)) {
		rc |= es_buf_puts(out, "\"");
		for (const char *p = name; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				rc |= es_buf_puts(out, "\\");
			rc |= es_buf_append(out, p, 1);
		}
		rc |= es_buf_puts(out, "\"");
		return rc | es_buf_printf(out, " <%s>", addr);
	}
	/* an encoded name is long: the address goes on a folded line */
	rc |= es_mime_encode_words(out, name);
	return rc | es_buf_printf(out, "\r\n <%s>", addr);
}

static int text_part(struct es_buf *out, const char *type, const char *body)
{
	return es_buf_printf(out,
	                     "Content-Type: %s; charset=UTF-8\r\n"
	                     "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
	                     type) |
	       es_mime_qp(out, body, strlen(body)) | es_buf_puts(out, "\r\n");
}

/* What a mail must be before it is built: addresses, a subject and a
 * text, no header injection, UTF-8 bodies. */
static int mail_check(const struct es_mail *m, size_t msgidsz, struct es_err *err)
{
	const struct {
		const char *what, *value;
	} headers[] = {
		{ "the sender's name", m->from_name }, { "the recipient's name", m->to_name },
		{ "the subject", m->subject },          { "the mail kind", m->kind },
	};

	if (m->from_addr == NULL || !es_valid_email(m->from_addr))
		return es_err_set(err, ES_EDATA, "bad sender address (mail.from)");
	if (m->to_addr == NULL || !es_valid_email(m->to_addr))
		return es_err_set(err, ES_EDATA, "bad recipient address");
	if (m->subject == NULL || m->text == NULL)
		return es_err_set(err, ES_EDATA, "a mail needs a subject and a text");
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		if (headers[i].value != NULL && !es_mime_header_ok(headers[i].value))
			return es_err_set(err, ES_EDATA,
			                  "%s holds a line break or a control character (refused: it "
			                  "could forge mail headers)",
			                  headers[i].what);
	if (!es_utf8_valid(m->text, strlen(m->text)) ||
	    (m->html != NULL && !es_utf8_valid(m->html, strlen(m->html))))
		return es_err_set(err, ES_EDATA, "a mail body is not valid UTF-8");
	if (msgidsz < 128)
		return es_err_set(err, ES_ESOFTWARE, "es_mime_build: msgid buffer too small");
	return 0;
}

/* The text alone, or text and HTML as alternatives (and the logo beside
 * them, related); alt and rel are the boundaries. 0, or -1 out of memory. */
static int body(struct es_buf *out, const struct es_mail *m, const char *alt, const char *rel)
{
	bool logo = m->logo != NULL && m->logo_len > 0;
	int rc = 0;

	if (m->html == NULL)
		return text_part(out, "text/plain", m->text);
	if (logo)
		rc |= es_buf_printf(out,
		                    "Content-Type: multipart/related;\r\n"
		                    " type=\"multipart/alternative\";\r\n boundary=\"%s\"\r\n\r\n"
		                    "--%s\r\n",
		                    rel, rel);
	rc |= es_buf_printf(out,
	                    "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n"
	                    "--%s\r\n",
	                    alt, alt);
	rc |= text_part(out, "text/plain", m->text);
	rc |= es_buf_printf(out, "--%s\r\n", alt);
	rc |= text_part(out, "text/html", m->html);
	rc |= es_buf_printf(out, "--%s--\r\n", alt);
	if (logo) {
		rc |= es_buf_printf(out,
		                    "--%s\r\nContent-Type: image/png\r\n"
		                    "Content-Transfer-Encoding: base64\r\n"
		                    "Content-ID: <logo>\r\n"
		                    "Content-Disposition: inline; filename=\"logo.png\"\r\n\r\n",
		                    rel);
		rc |= es_mime_base64(out, m->logo, m->logo_len);
		rc |= es_buf_printf(out, "--%s--\r\n", rel);
	}
	return rc;
}

int es_mime_build(const struct es_mail *m, struct es_buf *out, char *msgid, size_t msgidsz,
                  struct es_err *err)
{
	char date[64], rnd[65], alt[80], rel[80];
	const char *domain;
	int rc = 0;

	if (mail_check(m, msgidsz, err) != 0)
		return -1;
	domain = strrchr(m->from_addr, '@') + 1;
	if (es_random_hex(rnd, 16) != 0)
		return es_err_errno(err, ES_EIO, errno, "no random bytes for a message id");
	(void)snprintf(msgid, msgidsz, "%s.eschool@%s", rnd, domain);
	if (es_random_hex(rnd, 12) != 0)
		return es_err_errno(err, ES_EIO, errno, "no random bytes for a boundary");
	(void)snprintf(alt, sizeof(alt), "=_alt_%s", rnd);
	if (es_random_hex(rnd, 12) != 0)
		return es_err_errno(err, ES_EIO, errno, "no random bytes for a boundary");
	(void)snprintf(rel, sizeof(rel), "=_rel_%s", rnd);
	es_mime_date(m->date, date, sizeof(date));

	rc |= es_buf_printf(out, "Date: %s\r\nFrom: ", date);
	rc |= mailbox(out, m->from_name, m->from_addr);
	rc |= es_buf_puts(out, "\r\nTo: ");
	rc |= mailbox(out, m->to_name, m->to_addr);
	rc |= es_buf_puts(out, "\r\nSubject: ");
	rc |= es_mime_encode_words(out, m->subject);
	rc |= es_buf_printf(out, "\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\n"
	                         "Auto-Submitted: auto-generated\r\n",
	                    msgid);
	if (m->kind != NULL)
		rc |= es_buf_printf(out, "X-Eschool-Kind: %s\r\n", m->kind);
	rc |= body(out, m, alt, rel);
	if (rc != 0)
		return es_err_set(err, ES_EOS, "out of memory");
	return 0;
}

/* The To: field of a header block (hdr, hlen: up to the empty line): its
 * start and end (after its last folded line, before the CRLF). 0 when
 * there is exactly one, -1 otherwise. */
static int find_to(const char *hdr, size_t hlen, size_t *start, size_t *end)
{
	size_t found = 0, pos = 0;

	while (pos < hlen) {
		const char *eol = memchr(hdr + pos, '\n', hlen - pos);
		size_t next = eol != NULL ? (size_t)(eol - hdr) + 1 : hlen;
		size_t stop = next;

		/* a field goes on over the lines that start with a space or a tab */
		while (stop < hlen && (hdr[stop] == ' ' || hdr[stop] == '\t')) {
			eol = memchr(hdr + stop, '\n', hlen - stop);
			stop = eol != NULL ? (size_t)(eol - hdr) + 1 : hlen;
		}
		if (next - pos > 3 && strncasecmp(hdr + pos, "To:", 3) == 0) {
			*start = pos;
			*end = stop >= 2 && hdr[stop - 1] == '\n' && hdr[stop - 2] == '\r' ? stop - 2
			                                                                  : stop;
			found++;
		}
		pos = stop;
	}
	return found == 1 ? 0 : -1;
}

int es_mime_readdress(const char *msg, size_t len, const char *to_addr, struct es_buf *out,
                      struct es_err *err)
{
	const char *blank = NULL, *lt = NULL, *gt = NULL;
	size_t hlen, start = 0, end = 0;
	int rc;

	if (!es_valid_email(to_addr) || !es_mime_header_ok(to_addr))
		return es_err_set(err, ES_EDATA, "bad recipient address");
	for (size_t i = 0; i + 4 <= len; i++)
		if (memcmp(msg + i, "\r\n\r\n", 4) == 0) {
			blank = msg + i;
			break;
		}
	if (blank == NULL)
		return es_err_set(err, ES_EDATA, "the message has no header block: not re-addressed");
	hlen = (size_t)(blank - msg) + 2; /* with the last field's CRLF */
	if (find_to(msg, hlen, &start, &end) != 0)
		return es_err_set(err, ES_EDATA,
		                  "the message has no single To: header: not re-addressed");
	/* "Name" <addr> (the name maybe encoded, the address folded onto a
	 * line of its own): only what is between the last angle brackets
	 * changes; a bare address is replaced whole */
	for (const char *p = msg + start; p < msg + end; p++)
		if (*p == '<')
			lt = p;
	if (lt != NULL)
		gt = memchr(lt, '>', (size_t)(msg + end - lt));
	if (lt != NULL && gt != NULL)
		rc = es_buf_append(out, msg, (size_t)(lt + 1 - msg)) | es_buf_puts(out, to_addr) |
		     es_buf_append(out, gt, len - (size_t)(gt - msg));
	else
		rc = es_buf_append(out, msg, start) | es_buf_printf(out, "To: %s", to_addr) |
		     es_buf_append(out, msg + end, len - end);
	if (rc != 0)
		return es_err_set(err, ES_EOS, "out of memory");
	return 0;
}
