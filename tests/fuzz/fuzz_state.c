/* The per-user state file: parse, and what parses must format and parse
 * back to the same keys and values. */
#include "fuzz.h"

#include "es_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct es_state a, b;
	struct es_err err = { 0 };
	char *out = NULL;
	size_t len = 0;

	es_state_init(&a, "fuzz");
	es_state_init(&b, "fuzz");
	if (es_state_parse(&a, (const char *)data, size, &err) == 0 &&
	    es_state_format(&a, &out, &len, &err) == 0) {
		FUZZ_ASSERT(es_state_parse(&b, out, len, &err) == 0);
		FUZZ_ASSERT(a.n == b.n);
		for (size_t i = 0; i < a.n; i++) {
			FUZZ_ASSERT(strcmp(a.kv[i].key, b.kv[i].key) == 0);
			FUZZ_ASSERT(strcmp(a.kv[i].value, b.kv[i].value) == 0);
		}
	}
	free(out);
	es_state_free(&a);
	es_state_free(&b);
	return 0;
}
