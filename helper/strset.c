/* A set of strings with string values (open addressing, FNV-1a), so that
 * import looks names up in O(1) instead of scanning /etc/passwd per row. */
#include "strset.h"

#include <stdint.h>

#include "es_util.h"

#include <stdlib.h>
#include <string.h>

uint64_t strset_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int grow(struct strset *set)
{
	size_t ncap = set->cap ? set->cap * 2 : 256;
	struct strset_slot *n = calloc(ncap, sizeof(*n));

	if (n == NULL)
		return -1;
	for (size_t i = 0; i < set->cap; i++) {
		size_t j;
		if (set->slots[i].key == NULL)
			continue;
		j = strset_hash(set->slots[i].key) & (ncap - 1);
		while (n[j].key != NULL)
			j = (j + 1) & (ncap - 1);
		n[j] = set->slots[i];
	}
	free(set->slots);
	set->slots = n;
	set->cap = ncap;
	return 0;
}

static struct strset_slot *find(const struct strset *set, const char *key)
{
	size_t j;

	if (set->cap == 0)
		return NULL;
	j = strset_hash(key) & (set->cap - 1);
	while (set->slots[j].key != NULL) {
		if (strcmp(set->slots[j].key, key) == 0)
			return &set->slots[j];
		j = (j + 1) & (set->cap - 1);
	}
	return NULL;
}

/* One allocation per entry: the key, then its value ("key\0value\0"):
 * an import keeps several sets of 100,000 names. */
static char *entry_new(const char *key, const char *value, char **vout)
{
	size_t klen = strlen(key) + 1, vlen = value != NULL ? strlen(value) + 1 : 0;
	char *e = malloc(klen + vlen);

	if (e == NULL)
		return NULL;
	memcpy(e, key, klen);
	if (value != NULL)
		memcpy(e + klen, value, vlen);
	*vout = value != NULL ? e + klen : NULL;
	return e;
}

int strset_put(struct strset *set, const char *key, const char *value)
{
	struct strset_slot *slot = find(set, key);
	char *e, *v;
	size_t j;

	if (slot != NULL) {
		e = entry_new(slot->key, value, &v);
		if (e == NULL)
			return -1;
		free(slot->key);
		slot->key = e;
		slot->value = v;
		return 0;
	}
	if ((set->n + 1) * 2 > set->cap && grow(set) != 0)
		return -1;
	e = entry_new(key, value, &v);
	if (e == NULL)
		return -1;
	j = strset_hash(key) & (set->cap - 1);
	while (set->slots[j].key != NULL)
		j = (j + 1) & (set->cap - 1);
	set->slots[j].key = e;
	set->slots[j].value = v;
	set->n++;
	return 0;
}

bool strset_has(const struct strset *set, const char *key)
{
	return find(set, key) != NULL;
}

const char *strset_get(const struct strset *set, const char *key)
{
	const struct strset_slot *slot = find(set, key);

	return slot ? slot->value : NULL;
}

void strset_free(struct strset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i].key); /* the value is in the same block */
	free(set->slots);
	memset(set, 0, sizeof(*set));
}
