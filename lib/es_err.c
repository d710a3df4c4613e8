#include "es_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "es_msg.h"

/* Appends as much of src as fits. */
static void strlcat_trunc(char *dst, const char *src, size_t dstsz)
{
	size_t d = strlen(dst), n = strlen(src);

	if (d + 1 >= dstsz)
		return;
	if (n > dstsz - d - 1)
		n = dstsz - d - 1;
	memcpy(dst + d, src, n);
	dst[d + n] = '\0';
}

/* fmt with ap into both texts: the English as written, the French from
 * the catalogue (the English again where it has none). */
__attribute__((format(printf, 2, 0)))
static void format_both(struct es_err *err, const char *fmt, va_list ap)
{
	va_list again;

	va_copy(again, ap);
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	(void)vsnprintf(err->msg_fr, sizeof(err->msg_fr), es_msg(true, fmt), again);
	va_end(again);
}

int (es_err_set)(struct es_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	format_both(err, fmt, ap);
	va_end(ap);
	return -1;
}

int (es_err_errno)(struct es_err *err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	char ebuf[128];
	/* strerror_r (GNU) may return a static string instead of filling
	 * ebuf; the C locale's text in both (the helper does not set
	 * LC_MESSAGES, the module must not) */
	const char *why = strerror_r(errnum, ebuf, sizeof(ebuf));

	if (err != NULL) {
		err->code = code;
		va_start(ap, fmt);
		format_both(err, fmt, ap);
		va_end(ap);
		strlcat_trunc(err->msg, ": ", sizeof(err->msg));
		strlcat_trunc(err->msg, why, sizeof(err->msg));
		strlcat_trunc(err->msg_fr, " : ", sizeof(err->msg_fr));
		strlcat_trunc(err->msg_fr, why, sizeof(err->msg_fr));
	}
	return -1;
}

/* "prefix: " (French: "prefix : ") before text, in place. */
static void prepend(char *text, size_t size, const char *prefix, const char *colon)
{
	char old[ES_ERR_MAX];

	(void)snprintf(old, sizeof(old), "%s", text);
	(void)snprintf(text, size, "%s", prefix);
	strlcat_trunc(text, colon, size);
	strlcat_trunc(text, old, size);
}

int (es_err_prefix)(struct es_err *err, const char *fmt, ...)
{
	va_list ap;
	struct es_err prefix;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	format_both(&prefix, fmt, ap);
	va_end(ap);
	prepend(err->msg, sizeof(err->msg), prefix.msg, ": ");
	prepend(err->msg_fr, sizeof(err->msg_fr), prefix.msg_fr, " : ");
	return -1;
}

void es_err_copy(struct es_err *dst, const struct es_err *src)
{
	if (dst != NULL && src != NULL && dst != src)
		memcpy(dst, src, sizeof(*dst));
}

const char *es_err_text(const struct es_err *err, bool french)
{
	return french && err->msg_fr[0] != '\0' ? err->msg_fr : err->msg;
}

void es_err_clear(struct es_err *err)
{
	if (err == NULL)
		return;
	err->code = ES_OK;
	err->msg[0] = '\0';
	err->msg_fr[0] = '\0';
}
