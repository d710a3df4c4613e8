/* A roster read a block at a time (es_roster_reader) gives what the whole
 * file in memory gives (es_roster_decode, then es_csv): the same records
 * on the same lines, and the same end. The input's first byte says the
 * blocks' size (1 to 64 bytes: every cut of a sequence, a CRLF, a quote). */
#include "fuzz.h"

#include <sys/mman.h>
#include <unistd.h>

#include "es_csv.h"
#include "es_roster.h"
#include "es_util.h"

static bool same_record(const struct es_csv_record *a, const struct es_csv_record *b)
{
	if (a->line != b->line || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->fields[i], b->fields[i]) != 0)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct es_csv csv;
	struct es_csv_record whole = { 0 }, part = { 0 };
	struct es_err werr = { 0 }, perr = { 0 };
	struct es_roster_reader *r = NULL;
	const char *detected = NULL;
	char *text = NULL;
	size_t len = 0, block;
	unsigned long bad = 0, line = 0;
	int wgot, pgot, fd;
	bool decoded;

	if (size == 0)
		return 0;
	block = 1 + data[0] % 64;
	data++;
	size--;
	fd = memfd_create("roster", 0);
	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(size == 0 || write(fd, data, size) == (ssize_t)size);
	FUZZ_ASSERT(lseek(fd, 0, SEEK_SET) == 0);
	decoded = es_roster_decode((const char *)data, size, NULL, &text, &len, &detected, &bad,
	                           &werr) == 0;
	if (es_roster_reader_open(&r, fd, NULL, block, (size_t)1 << 30, &perr) != 0) {
		FUZZ_ASSERT(!decoded);
		goto out;
	}
	if (!decoded) { /* a byte the encoding has not: the reader says so too, in time */
		while ((pgot = es_roster_reader_next(r, &part, &line, &perr)) == 1)
			;
		FUZZ_ASSERT(pgot < 0 && line == bad && strcmp(werr.msg, perr.msg) == 0);
		goto out;
	}
	FUZZ_ASSERT(strcmp(detected, es_roster_reader_encoding(r)) == 0);
	es_csv_init(&csv, text, len);
	do {
		wgot = es_csv_next(&csv, &whole, &werr);
		pgot = es_roster_reader_next(r, &part, &line, &perr);
		FUZZ_ASSERT(wgot == pgot);
		FUZZ_ASSERT(wgot != 1 || same_record(&whole, &part));
		FUZZ_ASSERT(wgot != 1 || csv.sep == es_roster_reader_sep(r));
	} while (wgot == 1);
	FUZZ_ASSERT(wgot == 0 || (line == csv.err_line && strcmp(werr.msg, perr.msg) == 0));
out:
	es_csv_record_free(&whole);
	es_csv_record_free(&part);
	es_roster_reader_free(r);
	free(text);
	(void)close(fd);
	return 0;
}
