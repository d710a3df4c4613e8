/* Rows by key, by hash alone (rowidx.h): open addressing, strset's hash. */
#include "rowidx.h"

#include <stdlib.h>

#include "strset.h"

static int grow_index(struct rowidx *x)
{
	size_t ncap = x->cap ? x->cap * 2 : 256;
	uint64_t *nh = calloc(ncap, sizeof(*nh));
	uint32_t *nr = calloc(ncap, sizeof(*nr));

	if (nh == NULL || nr == NULL) {
		free(nh);
		free(nr);
		return -1;
	}
	for (size_t i = 0; i < x->cap; i++) {
		size_t j;

		if (x->row[i] == 0)
			continue;
		j = x->hash[i] & (ncap - 1);
		while (nr[j] != 0)
			j = (j + 1) & (ncap - 1);
		nh[j] = x->hash[i];
		nr[j] = x->row[i];
	}
	free(x->hash);
	free(x->row);
	x->hash = nh;
	x->row = nr;
	x->cap = ncap;
	return 0;
}

int rowidx_add(struct rowidx *x, const char *key, size_t row)
{
	uint64_t h = strset_hash(key);
	size_t j;

	if (row >= (size_t)UINT32_MAX - 1)
		return -1;
	if ((x->n + 1) * 2 > x->cap && grow_index(x) != 0)
		return -1;
	j = h & (x->cap - 1);
	while (x->row[j] != 0)
		j = (j + 1) & (x->cap - 1);
	x->hash[j] = h;
	x->row[j] = (uint32_t)row + 1;
	x->n++;
	return 0;
}

long rowidx_find(const struct rowidx *x, const char *key,
                 bool (*has_key)(size_t row, const char *key, void *arg), void *arg)
{
	uint64_t h;
	long found = -1;

	if (x->cap == 0)
		return -1;
	h = strset_hash(key);
	for (size_t j = h & (x->cap - 1); x->row[j] != 0; j = (j + 1) & (x->cap - 1)) {
		size_t row = (size_t)x->row[j] - 1;

		if (x->hash[j] == h && (long)row > found && has_key(row, key, arg))
			found = (long)row;
	}
	return found;
}

void rowidx_free(struct rowidx *x)
{
	free(x->hash);
	free(x->row);
	x->hash = NULL;
	x->row = NULL;
	x->cap = x->n = 0;
}
