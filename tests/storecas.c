/* storecas CONFIG USER KEY VALUE: opens USER's record for writing in the
 * directory store of CONFIG, prints "loaded", waits for a line on stdin
 * (the test changes the entry meanwhile), sets KEY=VALUE and saves;
 * prints "saved" or "refused CODE: message". Used by
 * tests/integration/test_directory.py to check that a save never
 * overwrites what another machine wrote after the load. */
#include <stdio.h>
#include <string.h>

#include "es_config.h"
#include "es_store.h"
#include "es_store_ldap.h"

int main(int argc, char **argv)
{
	struct es_config cfg;
	struct es_err err = { 0 };
	struct es_store store;
	struct es_state st;
	struct es_record rec;
	char line[16];
	int rc;

	if (argc != 5)
		return 64;
	if (es_config_load(&cfg, argv[1], 0, &err) != 0 ||
	    es_store_ldap_open(&store, &cfg, 5, &err) != 0) {
		printf("error %d: %s\n", err.code, err.msg);
		return 1;
	}
	es_state_init(&st, "");
	rc = es_record_open(&store, argv[2], ES_RECORD_WRITE, &st, &rec, &err);
	if (rc < 0) {
		printf("error %d: %s\n", err.code, err.msg);
		return 1;
	}
	printf("loaded\n");
	(void)fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	if (es_state_set(&st, argv[3], argv[4]) != 0 || es_record_save(&rec, &err) != 0)
		printf("refused %d: %s\n", err.code, err.msg);
	else
		printf("saved\n");
	es_record_close(&rec);
	es_state_free(&st);
	es_store_ldap_close(&store);
	es_config_free(&cfg);
	return 0;
}
