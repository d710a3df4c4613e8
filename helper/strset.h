/* A string -> string hash map (import's lookups by name and by person). */
#ifndef ESCHOOL_STRSET_H
#define ESCHOOL_STRSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strset_slot {
	char *key;   /* the entry's one allocation: key, then value */
	char *value; /* in key's block, or NULL */
};
struct strset {
	struct strset_slot *slots;
	size_t cap, n;
};
/* Adds key with value (copied; NULL: none), or gives key a new value. The
 * entry is one block: a put of an existing key makes a new one, so that
 * pointers to its old key and value are no longer valid. */
int strset_put(struct strset *set, const char *key, const char *value);
bool strset_has(const struct strset *set, const char *key);
const char *strset_get(const struct strset *set, const char *key);
void strset_free(struct strset *set);

/* The hash both strset and rowidx use (FNV-1a, 64 bits): names from a
 * roster the school exported, not an attacker's choosing. */
uint64_t strset_hash(const char *s);

#endif
