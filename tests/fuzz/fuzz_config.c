/* The INI config: the input is written as a 0600 file and loaded (with
 * its checks and presets), then each NUL-separated triple is also given
 * to the setter (the environment's and the command line's way in). */
#include "fuzz.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "es_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	static struct es_config cfg;
	struct es_err err = { 0 };
	char *copy;
	const char *parts[3];
	int fd;

	if (path[0] == '\0')
		(void)snprintf(path, sizeof(path), "/tmp/eschool-fuzz-config.%d", (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		(void)close(fd);
		return 0;
	}
	(void)close(fd);
	(void)es_config_load(&cfg, path, ES_CFG_NO_SECRET, &err);
	es_config_free(&cfg);
	copy = fuzz_str(data, size);
	if (fuzz_split(copy, size, parts, 3) == 3) {
		es_config_defaults(&cfg);
		(void)es_config_set(&cfg, parts[0], parts[1], parts[2], "fuzz", &err);
		es_config_free(&cfg);
	}
	free(copy);
	return 0;
}
