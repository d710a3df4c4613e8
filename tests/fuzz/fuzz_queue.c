/* The queue file: parse, and what parses must format and parse back to the
 * same metadata and the same message bytes; a torn copy (one byte short)
 * of a formatted file must never parse. */
#include "fuzz.h"

#include "es_queue.h"

static void same(const struct es_qmsg *a, const struct es_qmsg *b)
{
	FUZZ_ASSERT(strcmp(a->id, b->id) == 0 && strcmp(a->to, b->to) == 0);
	FUZZ_ASSERT(strcmp(a->kind, b->kind) == 0 && strcmp(a->user, b->user) == 0);
	FUZZ_ASSERT(strcmp(a->last_error, b->last_error) == 0);
	FUZZ_ASSERT(a->priority == b->priority && a->created == b->created);
	FUZZ_ASSERT(a->next_try == b->next_try && a->attempts == b->attempts);
	FUZZ_ASSERT(a->secret == b->secret);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct es_qmsg a, b;
	struct es_buf out = { 0 };
	const char *body = NULL, *body2 = NULL;
	size_t blen = 0, blen2 = 0;
	char *copy = fuzz_str(data, size);

	if (es_queue_parse(copy, size, &a, &body, &blen) == 0 &&
	    es_queue_format(&a, body, blen, &out) == 0) {
		char *again = fuzz_str((const uint8_t *)out.data, out.len);

		FUZZ_ASSERT(es_queue_parse(again, out.len, &b, &body2, &blen2) == 0);
		same(&a, &b);
		FUZZ_ASSERT(blen == blen2 && (blen == 0 || memcmp(body, body2, blen) == 0));
		free(again);
		again = fuzz_str((const uint8_t *)out.data, out.len - 1);
		FUZZ_ASSERT(es_queue_parse(again, out.len - 1, &b, &body2, &blen2) != 0);
		free(again);
	}
	es_buf_free(&out);
	free(copy);
	return 0;
}
