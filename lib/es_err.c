#include "es_err.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Appends as much of src as fits. */
static size_t es_strlcat_trunc(char *dst, const char *src, size_t dstsz)
{
	size_t d = strlen(dst), n = strlen(src);

	if (d + 1 >= dstsz)
		return d;
	if (n > dstsz - d - 1)
		n = dstsz - d - 1;
	memcpy(dst + d, src, n);
	dst[d + n] = '\0';
	return d + n;
}

/* The category and the message of err, when there is an err. */
__attribute__((format(printf, 3, 0)))
static bool set_v(struct es_err *err, int code, const char *fmt, va_list ap)
{
	if (err == NULL)
		return false;
	err->code = code;
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return true;
}

int (es_err_set)(struct es_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)set_v(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

int (es_err_errno)(struct es_err *err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t used;
	char ebuf[128];
	bool set;

	va_start(ap, fmt);
	set = set_v(err, code, fmt, ap);
	va_end(ap);
	if (!set)
		return -1;
	used = strlen(err->msg);
	/* strerror_r (GNU) may return a static string instead of filling ebuf */
	(void)snprintf(err->msg + used, sizeof(err->msg) - used, ": %s",
	               strerror_r(errnum, ebuf, sizeof(ebuf)));
	return -1;
}

int (es_err_prefix)(struct es_err *err, const char *fmt, ...)
{
	va_list ap;
	char old[ES_ERR_MAX];
	size_t used;
	int n;

	if (err == NULL)
		return -1;
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	used = n < 0 ? 0 : (size_t)n;
	if (used >= sizeof(err->msg) - 1)
		return -1; /* the prefix filled the buffer: keep it */
	err->msg[used++] = ':';
	if (used < sizeof(err->msg) - 1)
		err->msg[used++] = ' ';
	err->msg[used] = '\0';
	(void)es_strlcat_trunc(err->msg, old, sizeof(err->msg));
	return -1;
}

void es_err_clear(struct es_err *err)
{
	if (err == NULL)
		return;
	err->code = ES_OK;
	err->msg[0] = '\0';
}
