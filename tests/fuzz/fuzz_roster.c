/* A roster as exported: decoded (any bytes, any detected encoding), its
 * header matched, every row's values made; the names built are valid
 * UTF-8, whatever the input. */
#include "fuzz.h"

#include "es_csv.h"
#include "es_roster.h"
#include "es_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct es_csv csv;
	struct es_csv_record rec;
	struct es_roster_layout lay;
	struct es_err err = { 0 };
	const char *detected = NULL;
	char *text = NULL;
	size_t len = 0;
	unsigned long bad = 0;
	bool header = true, have_layout = false;

	if (es_roster_decode((const char *)data, size, NULL, &text, &len, &detected, &bad, &err) != 0)
		return 0;
	FUZZ_ASSERT(text != NULL && strlen(text) <= len);
	memset(&rec, 0, sizeof(rec));
	es_csv_init(&csv, text, len);
	while (es_csv_next(&csv, &rec, &err) == 1) {
		char *out[ES_RV_COUNT];

		if (header) {
			header = false;
			have_layout = es_roster_layout(&lay, rec.fields, rec.n, NULL, NULL, &err) == 0;
			if (!have_layout)
				break;
			continue;
		}
		if (es_roster_row(&lay, rec.fields, rec.n, out, &err) != 0)
			continue;
		for (int i = 0; i < ES_RV_COUNT; i++)
			FUZZ_ASSERT(out[i] == NULL || es_utf8_valid(out[i], strlen(out[i])));
		es_roster_row_free(out);
	}
	if (have_layout)
		es_roster_layout_free(&lay);
	es_csv_record_free(&rec);
	free(text);
	return 0;
}
