/* bench/qheads: the floor under `eschool queue status` on this machine:
 * what reading the start of every file of the given directories costs with
 * nothing else (no checks, no parsing, no account asked). Each file takes
 * the four system calls a safe reader needs (openat without following
 * links, fstat, read, close), as es_queue_scan does. bench/daily times it
 * beside queue status, in the same sandbox.
 *
 *   qheads DIR...
 *
 * Prints how many files and bytes it read. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char head[1024];
	long files = 0, bytes = 0;

	for (int a = 1; a < argc; a++) {
		int dfd = open(argv[a], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *de;

		if (dir == NULL) {
			perror(argv[a]);
			return 1;
		}
		while ((de = readdir(dir)) != NULL) {
			struct stat st;
			ssize_t got;
			int fd;

			if (de->d_name[0] == '.')
				continue;
			fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			if (fd < 0 || fstat(fd, &st) != 0 || (got = read(fd, head, sizeof(head))) < 0) {
				perror(de->d_name);
				return 1;
			}
			(void)close(fd);
			files++;
			bytes += got;
		}
		(void)closedir(dir);
	}
	printf("%ld files, %ld bytes\n", files, bytes);
	return 0;
}
