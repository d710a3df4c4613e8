/* pam_floor.so: bench/pam's yardstick, not shipped. The least a module
 * doing pam_eschool's job must do on each login: read the config file and
 * the user's state file (open, read, close), nothing else. What it adds to
 * pam_permit is the floor of the machine (system calls, page faults of a
 * freshly loaded module), against which pam_eschool's own cost is read.
 * Module arguments: CONFIG STATE. */
#include <fcntl.h>
#include <unistd.h>

#include <security/pam_modules.h>

#define PUBLIC __attribute__((visibility("default")))

static void read_file(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	(void)close(fd);
}

PUBLIC int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	for (int i = 0; i < argc; i++)
		read_file(argv[i]);
	return PAM_SUCCESS;
}

PUBLIC int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

PUBLIC int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
