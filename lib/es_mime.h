/* Building mails as RFC 5322 / MIME bytes, once, when they are queued:
 * CRLF line endings, Date, Message-ID, MIME-Version, RFC 2047 encoded
 * non-ASCII header values, quoted-printable text parts, base64 images,
 * multipart/alternative (text + HTML), wrapped in multipart/related when
 * an inline logo (Content-ID <logo>) is given.
 *
 * A header value holding CR, LF or another control character is refused:
 * header injection is impossible by construction. Nothing here prints or
 * keeps state; randomness (Message-ID, boundaries) comes from the kernel (es_random). */
#ifndef ESCHOOL_MIME_H
#define ESCHOOL_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "es_err.h"
#include "es_util.h"

struct es_mail {
	const char *from_addr;  /* required: local@domain */
	const char *from_name;  /* display name (UTF-8) or NULL */
	const char *to_addr;    /* required */
	const char *to_name;    /* or NULL */
	const char *subject;    /* required (UTF-8) */
	const char *text;       /* text/plain body (UTF-8), required */
	const char *html;       /* text/html body (UTF-8) or NULL */
	const unsigned char *logo; /* PNG bytes for cid:logo, or NULL */
	size_t logo_len;
	const char *kind;       /* X-Eschool-Kind: welcome-student ... or NULL */
	time_t date;            /* the Date header */
};

/* Appends the whole message to out. Fills msgid (without angle brackets,
 * at least 128 bytes) with the Message-ID it made. ES_EDATA when a header
 * value holds a control character, an address is malformed, or a body is
 * not valid UTF-8. */
int es_mime_build(const struct es_mail *m, struct es_buf *out, char *msgid, size_t msgidsz,
                  struct es_err *err);

/* Appends to out the message msg (len bytes, as es_mime_build made it)
 * with the address of its To: header replaced by to_addr; the display name
 * and every other byte stay as they were. ES_EDATA when to_addr is not an
 * address, or when the header block does not hold exactly one To: field. */
int es_mime_readdress(const char *msg, size_t len, const char *to_addr, struct es_buf *out,
                      struct es_err *err);

/* The pieces, exposed for tests and fuzzing. */

/* true when s can be a header value: no byte < 0x20 (TAB allowed) nor 0x7f,
 * valid UTF-8. */
bool es_mime_header_ok(const char *s);

/* Appends s as a header value: as is when it is printable ASCII, else as
 * RFC 2047 "=?UTF-8?B?...?=" encoded words of at most 75 characters,
 * separated by CRLF SP (folding), never splitting a UTF-8 character. */
int es_mime_encode_words(struct es_buf *out, const char *s);

/* Appends data as quoted-printable (RFC 2045 6.7) with CRLF line breaks:
 * a bare LF or CRLF in data is a line break, lines are soft-broken at 76
 * characters, '=' and non-ASCII bytes and a trailing space or tab are
 * encoded. */
int es_mime_qp(struct es_buf *out, const char *data, size_t len);

/* Appends data as base64 in lines of 76 characters, each ending in CRLF. */
int es_mime_base64(struct es_buf *out, const unsigned char *data, size_t len);

/* Formats t as an RFC 5322 date in UTC ("Wed, 25 Nov 2026 03:30:00 +0000"),
 * independent of the locale. */
void es_mime_date(time_t t, char *out, size_t outsz);

#endif
