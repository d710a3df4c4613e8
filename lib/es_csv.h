/* RFC 4180 CSV reader for rosters exported by school management software:
 * UTF-8 with or without BOM, CRLF or LF (or a mix), quoted fields with
 * commas, doubled quotes and embedded newlines, optional final newline.
 * Invalid UTF-8, a quote inside an unquoted field, an unterminated quote,
 * a NUL byte, more than ES_CSV_MAX_FIELDS fields or a record longer than
 * ES_CSV_MAX_RECORD are errors; csv->err_line names the line. The
 * separator (',', ';' or a tab) is the one the header line has most of
 * (es_csv_detect_sep); the caller may set csv->sep after es_csv_init. */
#ifndef ESCHOOL_CSV_H
#define ESCHOOL_CSV_H

#include <stddef.h>

#include "es_err.h"

#define ES_CSV_MAX_FIELDS 64
#define ES_CSV_MAX_RECORD ((size_t)64 * 1024)

struct es_csv {
	const char *data; /* whole file in memory, not owned */
	size_t len;
	size_t pos;
	unsigned long line; /* 1-based line where the next record starts */
	char sep;
	unsigned long err_line; /* line of the last error */
};

struct es_csv_record {
	unsigned long line; /* line where this record starts */
	char *fields[ES_CSV_MAX_FIELDS]; /* NUL-terminated, owned */
	size_t n;
};

/* Prepares to read data (skips a UTF-8 BOM, detects the separator). */
void es_csv_init(struct es_csv *csv, const char *data, size_t len);

/* The separator of the first line of data: whichever of ',', ';' and tab
 * it has most of outside quotes (',' when it has none). */
char es_csv_detect_sep(const char *data, size_t len);

/* Reads the next record. Returns 1 when a record was read, 0 at end of
 * input, -1 on error (ES_EDATA; the message says what, csv->err_line where,
 * so that the caller can write "file:line: message"). Blank lines (a record
 * of one empty unquoted field) are skipped. rec is freed first. */
int es_csv_next(struct es_csv *csv, struct es_csv_record *rec,
                struct es_err *err);

void es_csv_record_free(struct es_csv_record *rec);

#endif
