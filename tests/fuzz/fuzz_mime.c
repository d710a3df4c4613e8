/* Header encoding and the CR/LF guard: a value es_mime_header_ok accepts
 * is encoded without a line break that is not folding (CRLF + space). */
#include "fuzz.h"

#include "es_mime.h"
#include "es_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	struct es_buf out = { 0 };

	if (es_mime_header_ok(s)) {
		FUZZ_ASSERT(strchr(s, '\r') == NULL && strchr(s, '\n') == NULL);
		if (es_mime_encode_words(&out, s) == 0)
			for (size_t i = 0; i < out.len; i++) {
				if (out.data[i] == '\r')
					FUZZ_ASSERT(i + 2 < out.len && out.data[i + 1] == '\n' &&
					            out.data[i + 2] == ' ');
				if (out.data[i] == '\n')
					FUZZ_ASSERT(i > 0 && out.data[i - 1] == '\r');
			}
		es_buf_free(&out);
	}
	if (es_mime_qp(&out, (const char *)data, size) == 0)
		for (size_t i = 0; i < out.len; i++)
			FUZZ_ASSERT((unsigned char)out.data[i] < 0x80);
	es_buf_free(&out);
	free(s);
	return 0;
}
