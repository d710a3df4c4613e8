/* An index of the roster's rows by a key each row has (its username, its
 * person key), for the import's clash checks. It keeps 32 bits of each
 * key's hash (its slot, and what tells keys apart in a run of slots) and
 * its row, 8 bytes a slot at most half full, where a set of the keys
 * themselves (strset) costs 60 to 100 bytes a row: at 100,000 rows, the
 * difference is the import's memory. Keys are never stored: a lookup asks
 * the caller whether a row whose key hashes alike has the key (a
 * collision costs one comparison, never a wrong answer). */
#ifndef ESCHOOL_ROWIDX_H
#define ESCHOOL_ROWIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rowidx_slot {
	uint32_t hash; /* the key's hash, high half */
	uint32_t row;  /* row + 1; 0: an empty slot */
};

struct rowidx {
	struct rowidx_slot *slot;
	size_t cap, n;
};

/* Adds row under key: 0, or -1 (out of memory, or a row past 2^32 - 2). */
int rowidx_add(struct rowidx *x, const char *key, size_t row);

/* The last row added under key (the highest index: rows are added in
 * order), as has_key (row, key, arg) confirms; -1 when none. */
long rowidx_find(const struct rowidx *x, const char *key,
                 bool (*has_key)(size_t row, const char *key, void *arg), void *arg);

void rowidx_free(struct rowidx *x);

#endif
