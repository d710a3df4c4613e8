/* An index of the roster's rows by a key each row has (its username, its
 * person key), for the import's clash checks. It keeps each row (4 bytes)
 * and a byte of its key's hash, in a table at most half full: 10 bytes a
 * row, where a set of the keys themselves (strset) costs 60 to 100 bytes
 * a row, and the index before (8-byte slots, a power of two grown by
 * doubling: the old and the new table at once) up to 31: at 100,000 rows,
 * the difference is the import's memory. It is made once for the
 * roster's rows (rowidx_init: they are all read before it is built).
 * Keys are never stored: a lookup asks the caller about each row of the
 * key's run of slots whose byte is the key's (about one in 256 that is
 * not the key's row: the rows, in the import's working copy, are not
 * touched for nothing), and a wrong row is never an answer. */
#ifndef ESCHOOL_ROWIDX_H
#define ESCHOOL_ROWIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rowidx {
	uint32_t *slot; /* row + 1; 0: an empty slot */
	uint8_t *tag;   /* a byte of the key's hash, slot by slot */
	size_t cap, n, room;
};

/* Room for rows rows: 0, or -1 (out of memory, or rows past 2^32 - 2).
 * x is cleared first; rowidx_free it in every case. */
int rowidx_init(struct rowidx *x, size_t rows);

/* Adds row under key: 0, or -1 (more rows than rowidx_init made room
 * for, or a row past 2^32 - 2). */
int rowidx_add(struct rowidx *x, const char *key, size_t row);

/* The last row added under key (the highest index: rows are added in
 * order), as has_key (row, key, arg) confirms; -1 when none. */
long rowidx_find(const struct rowidx *x, const char *key,
                 bool (*has_key)(size_t row, const char *key, void *arg), void *arg);

void rowidx_free(struct rowidx *x);

#endif
