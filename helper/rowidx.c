/* Rows by key, by hash alone (rowidx.h): open addressing, strset's hash. */
#include "rowidx.h"

#include <stdlib.h>

#include "strset.h"

/* The 32 bits of the key's hash that an index keeps: its slot and what
 * tells keys apart in a run of slots. */
static uint32_t key_hash(const char *key)
{
	uint64_t h = strset_hash(key);

	return (uint32_t)(h ^ (h >> 32));
}

static int grow_index(struct rowidx *x)
{
	size_t ncap = x->cap ? x->cap * 2 : 256;
	struct rowidx_slot *ns = calloc(ncap, sizeof(*ns));

	if (ns == NULL)
		return -1;
	for (size_t i = 0; i < x->cap; i++) {
		size_t j;

		if (x->slot[i].row == 0)
			continue;
		j = x->slot[i].hash & (ncap - 1);
		while (ns[j].row != 0)
			j = (j + 1) & (ncap - 1);
		ns[j] = x->slot[i];
	}
	free(x->slot);
	x->slot = ns;
	x->cap = ncap;
	return 0;
}

int rowidx_add(struct rowidx *x, const char *key, size_t row)
{
	uint32_t h = key_hash(key);
	size_t j;

	if (row >= (size_t)UINT32_MAX - 1)
		return -1;
	if ((x->n + 1) * 2 > x->cap && grow_index(x) != 0)
		return -1;
	j = h & (x->cap - 1);
	while (x->slot[j].row != 0)
		j = (j + 1) & (x->cap - 1);
	x->slot[j] = (struct rowidx_slot){ .hash = h, .row = (uint32_t)row + 1 };
	x->n++;
	return 0;
}

long rowidx_find(const struct rowidx *x, const char *key,
                 bool (*has_key)(size_t row, const char *key, void *arg), void *arg)
{
	uint32_t h;
	long found = -1;

	if (x->cap == 0)
		return -1;
	h = key_hash(key);
	for (size_t j = h & (x->cap - 1); x->slot[j].row != 0; j = (j + 1) & (x->cap - 1)) {
		size_t row = (size_t)x->slot[j].row - 1;

		if (x->slot[j].hash == h && (long)row > found && has_key(row, key, arg))
			found = (long)row;
	}
	return found;
}

void rowidx_free(struct rowidx *x)
{
	free(x->slot);
	x->slot = NULL;
	x->cap = x->n = 0;
}
