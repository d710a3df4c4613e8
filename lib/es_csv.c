#include "es_csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "es_util.h"

void es_csv_init(struct es_csv *csv, const char *data, size_t len)
{
	memset(csv, 0, sizeof(*csv));
	csv->data = data;
	csv->len = len;
	csv->line = 1;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		csv->pos = 3;
	csv->sep = es_csv_detect_sep(data + csv->pos, len - csv->pos);
}

char es_csv_detect_sep(const char *data, size_t len)
{
	static const char seps[] = { ',', ';', '\t' };
	size_t count[3] = { 0 }, best = 0;
	bool quoted = false;

	/* the header line's separators, outside quotes: the most frequent
	 * wins (French spreadsheets write ';', ',' being their decimal
	 * separator; Excel's "Unicode text" a tab) */
	for (size_t i = 0; i < len && (quoted || (data[i] != '\n' && data[i] != '\r')); i++) {
		if (data[i] == '"')
			quoted = !quoted;
		for (size_t k = 0; k < 3 && !quoted; k++)
			count[k] += data[i] == seps[k];
	}
	for (size_t k = 1; k < 3; k++)
		if (count[k] > count[best])
			best = k;
	return seps[best];
}

void es_csv_record_free(struct es_csv_record *rec)
{
	for (size_t i = 0; i < rec->n; i++)
		free(rec->fields[i]);
	memset(rec, 0, sizeof(*rec));
}

static int fail(struct es_csv *csv, unsigned long line, struct es_err *err,
                const char *what)
{
	csv->err_line = line;
	return es_err_set(err, ES_EDATA, "%s", what);
}

/* Consumes a line break at pos (CRLF, LF or a lone CR); returns its size. */
static size_t line_break(const struct es_csv *csv, size_t pos)
{
	if (pos >= csv->len)
		return 0;
	if (csv->data[pos] == '\n')
		return 1;
	if (csv->data[pos] == '\r')
		return pos + 1 < csv->len && csv->data[pos + 1] == '\n' ? 2 : 1;
	return 0;
}

static int end_field(struct es_csv *csv, struct es_csv_record *rec, struct es_buf *field,
                     unsigned long line, struct es_err *err)
{
	char *s;

	if (rec->n == ES_CSV_MAX_FIELDS)
		return fail(csv, line, err, "too many fields (at most 64)");
	if (!es_utf8_valid(field->data != NULL ? field->data : "", field->len))
		return fail(csv, line, err,
		            "invalid UTF-8 (save the file as \"CSV UTF-8\" in the spreadsheet)");
	s = malloc(field->len + 1);
	if (s == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	if (field->len > 0 && field->data != NULL)
		memcpy(s, field->data, field->len);
	s[field->len] = '\0';
	rec->fields[rec->n++] = s;
	field->len = 0;
	return 0;
}

#define RECORD_TOO_LONG "record longer than 64 KiB (a quote may be missing)"
#define NUL_BYTE "NUL byte (this is not a text file)"

/* A quoted field, from its opening '"' at csv->pos, into field; *line
 * counts the line breaks inside it; start is where the record began. */
static int read_quoted(struct es_csv *csv, struct es_buf *field, size_t start,
                       unsigned long rec_line, unsigned long *line, struct es_err *err)
{
	const char *d = csv->data;

	csv->pos++;
	for (;;) {
		size_t nl, take = 1;

		if (csv->pos - start > ES_CSV_MAX_RECORD)
			return fail(csv, rec_line, err, RECORD_TOO_LONG);
		if (csv->pos >= csv->len)
			return fail(csv, rec_line, err, "a quoted field is not closed (missing '\"')");
		if (d[csv->pos] == '"') {
			if (csv->pos + 1 >= csv->len || d[csv->pos + 1] != '"') {
				csv->pos++;
				return 0;
			}
			csv->pos++; /* "" is one quote */
		} else if (d[csv->pos] == '\0') {
			return fail(csv, *line, err, NUL_BYTE);
		} else {
			nl = line_break(csv, csv->pos);
			/* inside quotes a lone CR is a character, not a line (the
			 * line numbers then match what editors and sed -n show) */
			if (nl > 0 && !(nl == 1 && d[csv->pos] == '\r')) {
				take = nl;
				(*line)++;
			}
		}
		if (es_buf_append(field, d + csv->pos, take) != 0)
			return es_err_set(err, ES_EOS, "out of memory");
		csv->pos += take;
	}
}

/* A field without quotes, up to the separator or the line's end. */
static int read_plain(struct es_csv *csv, struct es_buf *field, size_t start,
                      unsigned long line, struct es_err *err)
{
	const char *d = csv->data;

	while (csv->pos < csv->len && d[csv->pos] != csv->sep && line_break(csv, csv->pos) == 0) {
		if (csv->pos - start > ES_CSV_MAX_RECORD)
			return fail(csv, line, err, RECORD_TOO_LONG);
		if (d[csv->pos] == '"')
			return fail(csv, line, err,
			            "a '\"' inside a field that does not start with one (quote the "
			            "whole field and double the inner quotes)");
		if (d[csv->pos] == '\0')
			return fail(csv, line, err, NUL_BYTE);
		if (es_buf_append(field, d + csv->pos, 1) != 0)
			return es_err_set(err, ES_EOS, "out of memory");
		csv->pos++;
	}
	return 0;
}

static int read_record(struct es_csv *csv, struct es_csv_record *rec, bool *blank,
                       struct es_err *err)
{
	struct es_buf field = { 0 };
	const char *d = csv->data;
	size_t start = csv->pos, nl;
	unsigned long line = csv->line; /* line of the current byte */
	bool quoted_any = false;
	int rc = -1;

	rec->line = csv->line;
	for (;;) {
		bool quoted = csv->pos < csv->len && d[csv->pos] == '"';

		quoted_any |= quoted;
		if ((quoted ? read_quoted(csv, &field, start, rec->line, &line, err)
		            : read_plain(csv, &field, start, line, err)) != 0 ||
		    end_field(csv, rec, &field, line, err) != 0)
			goto out;
		/* what follows a field: separator, line break or end of input */
		if (csv->pos >= csv->len)
			break;
		if (d[csv->pos] == csv->sep) {
			csv->pos++;
			continue;
		}
		nl = line_break(csv, csv->pos);
		if (nl > 0) {
			csv->pos += nl;
			line++;
			break;
		}
		fail(csv, line, err,
		     "text after the closing '\"' of a quoted field (double the inner quotes)");
		goto out;
	}
	csv->line = line;
	*blank = rec->n == 1 && rec->fields[0][0] == '\0' && !quoted_any;
	rc = 0;
out:
	es_buf_free(&field);
	return rc;
}

int es_csv_next(struct es_csv *csv, struct es_csv_record *rec, struct es_err *err)
{
	es_csv_record_free(rec);
	while (csv->pos < csv->len) {
		bool blank = false;

		if (read_record(csv, rec, &blank, err) != 0) {
			es_csv_record_free(rec);
			/* stop here: the rest of the input is not trusted */
			csv->pos = csv->len;
			return -1;
		}
		if (!blank)
			return 1;
		es_csv_record_free(rec);
	}
	return 0;
}
