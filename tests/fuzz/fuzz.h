/* Shared bits of the libFuzzer harnesses (make fuzz). */
#ifndef ES_FUZZ_H
#define ES_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy (the input may hold NULs: they end it). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Splits a copy of the input at NUL bytes into at most max strings. */
static inline size_t fuzz_split(char *copy, size_t size, const char **out, size_t max)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= size && n < max; i++)
		if (i == size || copy[i] == '\0') {
			copy[i] = '\0';
			out[n++] = copy + start;
			start = i + 1;
		}
	return n;
}

#define FUZZ_ASSERT(c)                                                                          \
	do {                                                                                   \
		if (!(c))                                                                      \
			abort();                                                               \
	} while (0)

#endif
