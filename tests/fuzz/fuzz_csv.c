/* The roster CSV reader, and the username derived from each field. */
#include "fuzz.h"

#include "es_csv.h"
#include "es_names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct es_csv csv;
	struct es_csv_record rec;
	struct es_err err = { 0 };
	char user[64], folded[256];

	memset(&rec, 0, sizeof(rec));
	es_csv_init(&csv, (const char *)data, size);
	while (es_csv_next(&csv, &rec, &err) == 1) {
		FUZZ_ASSERT(rec.n <= ES_CSV_MAX_FIELDS);
		for (size_t i = 0; i < rec.n; i++) {
			es_username_base(rec.fields[i], user, sizeof(user));
			FUZZ_ASSERT(user[0] == '\0' || es_valid_username(user));
			es_fold_ascii(rec.fields[i], folded, sizeof(folded));
			for (const char *p = folded; *p != '\0'; p++)
				FUZZ_ASSERT((unsigned char)*p < 0x80);
			(void)es_valid_email(rec.fields[i]);
		}
	}
	es_csv_record_free(&rec);
	return 0;
}
