/* Error reporting shared by the helper and (later) the PAM module.
 *
 * Library functions return 0 on success and -1 on failure, after filling a
 * struct es_err: a category (which the helper turns into a sysexits code and
 * the module into a PAM code) and a message that says what was wrong, where,
 * and what to do. Nothing in lib/ exits, aborts or prints. */
#ifndef ESCHOOL_ERR_H
#define ESCHOOL_ERR_H

#include <stdbool.h>
#include <stddef.h>

/* Categories are the sysexits.h values so that main() can return them. */
enum es_status {
	ES_OK = 0,
	ES_EUSAGE = 64,     /* wrong options */
	ES_EDATA = 65,      /* bad username, address, CSV row ... */
	ES_ENOUSER = 67,    /* no such user */
	ES_EUNAVAIL = 69,   /* service unavailable */
	ES_ESOFTWARE = 70,  /* internal error */
	ES_EOS = 71,        /* system error (fork, pipe ...) */
	ES_ECANTCREAT = 73, /* cannot create (user exists, useradd failed) */
	ES_EIO = 74,        /* input/output error */
	ES_ETEMP = 75,      /* temporary failure, retry later */
	ES_EPERM = 77,      /* permission denied */
	ES_ECONFIG = 78,    /* configuration error */
};

#define ES_ERR_MAX 768

/* The message in both languages: the English for logs (and the key of
 * lib/es_msg's catalogue), the French for a French terminal; fmt is the
 * catalogue's key, so a message is translated where it is written. */
struct es_err {
	int code;                 /* enum es_status */
	char msg[ES_ERR_MAX];     /* English, no trailing newline */
	char msg_fr[ES_ERR_MAX];  /* French (the English where none) */
};

/* Fills err (if not NULL) and returns -1, so that callers can write
 * `return es_err_set(err, ES_EDATA, "...", ...);`. */
int es_err_set(struct es_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like es_err_set, with ": strerror(errnum)" appended. */
int es_err_errno(struct es_err *err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prepends "prefix: " to an existing message (adds context on the way up). */
int es_err_prefix(struct es_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void es_err_clear(struct es_err *err);

/* The message in French when french (and there is one), else English. */
const char *es_err_text(const struct es_err *err, bool french);

/* *dst = *src: an error passed on whole, in both languages (not
 * es_err_set(dst, code, "%s", src->msg), which loses the French). */
void es_err_copy(struct es_err *dst, const struct es_err *src);

/* The three always return -1: say so at every call site, so that static
 * analysis (which does not look into es_err.c) knows that `return
 * es_err_set(...)` is a failure and does not explore a success path. */
#define es_err_set(...) __extension__({ (void)(es_err_set)(__VA_ARGS__); -1; })
#define es_err_errno(...) __extension__({ (void)(es_err_errno)(__VA_ARGS__); -1; })
#define es_err_prefix(...) __extension__({ (void)(es_err_prefix)(__VA_ARGS__); -1; })

#endif
