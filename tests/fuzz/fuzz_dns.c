/* SPF, DMARC and DKIM verdicts on hostile TXT strings (NUL-separated). */
#include "fuzz.h"

#include "es_dns.h"

static void printable(const char *s)
{
	for (; *s != '\0'; s++)
		FUZZ_ASSERT((unsigned char)*s >= 0x20 && *s != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = fuzz_str(data, size);
	const char *txt[8];
	size_t n = fuzz_split(copy, size, txt, 8);
	struct es_dns_verdict v;

	es_spf_verdict("school.example", txt, n, "_spf.google.com", &v, false);
	printable(v.found);
	es_spf_verdict("school.example", txt, n, NULL, &v, false);
	es_dmarc_verdict("school.example", txt, n, "it@school.example", &v, false);
	printable(v.found);
	es_dkim_verdict("school.example", "s1", txt, n, &v, false);
	printable(v.found);
	free(copy);
	return 0;
}
