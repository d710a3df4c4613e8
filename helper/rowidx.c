/* Rows by key (rowidx.h): open addressing over the rows alone, the
 * key's slot from strset's hash. */
#include "rowidx.h"

#include <stdlib.h>
#include <string.h>

#include "strset.h"

/* key's hash, mixed: FNV's high bits barely move with a key's last
 * characters (s00001, s00002...: runs of hundreds of slots), so they are
 * mixed first (MurmurHash3's fmix64). */
static uint64_t key_hash(const char *key)
{
	uint64_t h = strset_hash(key);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* Where the key of hash h starts its run of slots: the high half scaled
 * to the table (a table of any size, not only a power of two). */
static size_t first_slot(const struct rowidx *x, uint64_t h)
{
	return (size_t)(((h >> 32) * (uint64_t)x->cap) >> 32);
}

/* The byte a slot keeps of its key's hash (bits the slot does not use). */
static uint8_t tag_of(uint64_t h)
{
	return (uint8_t)h;
}

int rowidx_init(struct rowidx *x, size_t rows)
{
	memset(x, 0, sizeof(*x));
	/* never full: every run ends at an empty slot (and 2 * rows + 1 may
	 * not wrap, on a 32-bit system) */
	if (rows >= (size_t)UINT32_MAX - 1 || __builtin_mul_overflow(rows, 2, &x->cap) ||
	    __builtin_add_overflow(x->cap, 1, &x->cap)) {
		x->cap = 0;
		return -1;
	}
	x->slot = calloc(x->cap, sizeof(*x->slot));
	x->tag = malloc(x->cap);
	if (x->slot == NULL || x->tag == NULL) {
		rowidx_free(x);
		return -1;
	}
	x->room = rows;
	return 0;
}

int rowidx_add(struct rowidx *x, const char *key, size_t row)
{
	uint64_t h;
	size_t j;

	if (x->n >= x->room || row >= (size_t)UINT32_MAX - 1)
		return -1;
	h = key_hash(key);
	j = first_slot(x, h);
	while (x->slot[j] != 0)
		j = j + 1 == x->cap ? 0 : j + 1;
	x->slot[j] = (uint32_t)row + 1;
	x->tag[j] = tag_of(h);
	x->n++;
	return 0;
}

long rowidx_find(const struct rowidx *x, const char *key,
                 bool (*has_key)(size_t row, const char *key, void *arg), void *arg)
{
	long found = -1;
	uint64_t h;
	uint8_t tag;

	if (x->cap == 0)
		return -1;
	h = key_hash(key);
	tag = tag_of(h);
	for (size_t j = first_slot(x, h); x->slot[j] != 0; j = j + 1 == x->cap ? 0 : j + 1) {
		size_t row = (size_t)x->slot[j] - 1;

		if (x->tag[j] == tag && (long)row > found && has_key(row, key, arg))
			found = (long)row;
	}
	return found;
}

void rowidx_free(struct rowidx *x)
{
	free(x->slot);
	free(x->tag);
	memset(x, 0, sizeof(*x));
}
