/* The configuration's ways in: the input is written as a 0600 file and
 * loaded as the INI file (with its checks and presets), then loaded again
 * as the env_file of a fixed INI file (KEY=value lines, Django's names);
 * and each NUL-separated triple is also given to the setter (the command
 * line's way in) and its first two parts to the environment's. */
#include "fuzz.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "es_config.h"

static int write_file(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (write(fd, data, size) != (ssize_t)size) {
		(void)close(fd);
		return -1;
	}
	return close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64], env_path[64], ini_path[64];
	static struct es_config cfg;
	struct es_err err = { 0 };
	char *copy;
	const char *parts[3];
	size_t n;

	if (path[0] == '\0') {
		char ini[160];

		(void)snprintf(path, sizeof(path), "/tmp/eschool-fuzz-config.%d", (int)getpid());
		(void)snprintf(env_path, sizeof(env_path), "%s.env", path);
		(void)snprintf(ini_path, sizeof(ini_path), "%s.ini", path);
		n = (size_t)snprintf(ini, sizeof(ini), "[general]\nenv_file = %s\n", env_path);
		if (write_file(ini_path, ini, n) != 0)
			abort();
	}
	if (write_file(path, data, size) != 0 || write_file(env_path, data, size) != 0)
		return 0;
	(void)es_config_load(&cfg, path, ES_CFG_NO_SECRET, &err);
	es_config_free(&cfg);
	(void)es_config_load(&cfg, ini_path, ES_CFG_ENV | ES_CFG_NO_SECRET, &err);
	es_config_free(&cfg);
	copy = fuzz_str(data, size);
	n = fuzz_split(copy, size, parts, 3);
	if (n >= 2) {
		es_config_defaults(&cfg);
		(void)es_config_set_env(&cfg, parts[0], parts[1], "fuzz", &err);
		if (n == 3)
			(void)es_config_set(&cfg, parts[0], parts[1], parts[2], "fuzz", &err);
		es_config_free(&cfg);
	}
	free(copy);
	return 0;
}
