/* hashfloor: the time to make N yescrypt hashes (libxcrypt at its default
 * cost, as eschool and mkpasswd -m yescrypt make them) on T threads and
 * nothing else: the floor under any import of N accounts on this machine.
 *
 *   hashfloor N THREADS     prints the wall seconds
 *
 * Built by bench/ldap itself (cc ... -lcrypt -lpthread). */
#include <crypt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long next_hash, total;

static void *hasher(void *unused)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];

	(void)unused;
	if (cd == NULL)
		exit(1);
	for (;;) {
		long i;

		pthread_mutex_lock(&mu);
		i = next_hash++;
		pthread_mutex_unlock(&mu);
		if (i >= total)
			break;
		if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL ||
		    crypt_rn("Bench-Password-12", salt, cd, (int)sizeof(*cd)) == NULL)
			exit(1);
	}
	free(cd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	pthread_t threads[64];
	long n_threads;

	if (argc != 3) {
		fprintf(stderr, "usage: hashfloor N THREADS\n");
		return 64;
	}
	total = strtol(argv[1], NULL, 10);
	n_threads = strtol(argv[2], NULL, 10);
	if (total < 1 || n_threads < 1 || n_threads > 64)
		return 64;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long t = 0; t < n_threads; t++)
		if (pthread_create(&threads[t], NULL, hasher, NULL) != 0)
			return 1;
	for (long t = 0; t < n_threads; t++)
		pthread_join(threads[t], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.3f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
