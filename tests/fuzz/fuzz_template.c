/* Template rendering with hostile variables: input = template NUL value.
 * In HTML the value never comes out with a raw '<', '&' or quote. */
#include "fuzz.h"

#include "es_template.h"
#include "es_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = fuzz_str(data, size);
	const char *parts[2] = { "", "" };
	size_t n = fuzz_split(copy, size, parts, 2);
	const char *value = n > 1 ? parts[1] : "<b>&\"'";
	const struct es_tvar vars[] = { { "name", value }, { "username", "zoe" },
		                        { "logo", NULL }, { "password", value } };
	struct es_buf out = { 0 };
	struct es_err err = { 0 };

	for (int html = 0; html < 2; html++) {
		if (es_template_render(parts[0], strlen(parts[0]), "fuzz", html != 0, vars, 4, &out,
		                       &err) == 0 &&
		    !html) {
			const char *subject = NULL, *body = NULL;
			char *text = fuzz_str((const uint8_t *)out.data, out.len);

			(void)es_template_split(text, "fuzz", &subject, &body, &err);
			free(text);
		}
		es_buf_free(&out);
	}
	/* the value alone, escaped */
	if (es_template_render("{{name}}", 8, "fuzz", true, vars, 4, &out, &err) == 0)
		FUZZ_ASSERT(memchr(out.data, '<', out.len) == NULL &&
		            memchr(out.data, '"', out.len) == NULL);
	es_buf_free(&out);
	free(copy);
	return 0;
}
