/* bench/curlfloor: libcurl alone sending N copies of one message over one
 * SMTP connection (one easy handle, one curl_easy_perform per mail, as
 * helper/mail/smtp.c does), with no queue, no files, no parsing: the floor
 * under `eschool queue run`, which SPEC §1 has send through libcurl.
 * bench/smtp times it in the same run as eschool and smtp-source.
 *
 * With --spool DIR, the floor under a queue that keeps one file per
 * message and deletes it on delivery (SPEC §5): each of the N files in DIR
 * (queue files, header then message) is opened, read whole and closed
 * just before it is sent, its message (after the header's "end" line)
 * goes out, and once the server said 250 the file is deleted by a second
 * thread, woken every 32 deliveries; the directory is synced at the end. No listing, no parsing
 * beyond finding the header's end, no rename: the least file work the
 * SPEC allows. bench/smtp times that process whole, as it times eschool.
 *
 * usage: curlfloor HOST PORT N FILE FROM TO          prints the seconds taken
 *        curlfloor HOST PORT N --spool DIR FROM TO   */
#define _GNU_SOURCE /* memmem */
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILE (64 * 1024)
#define NAME_LEN 64
#define WAKE_EVERY 32

struct upload {
	const char *data;
	size_t len, off;
};

/* the deleter thread's view: files [0, delivered) may go */
struct deleter {
	int dfd;
	char (*names)[NAME_LEN];
	long n, delivered;
	int stop; /* no more deliveries: the thread ends */
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static size_t read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t room = size * n, left = u->len - u->off;

	if (room > left)
		room = left;
	memcpy(buf, u->data + u->off, room);
	u->off += room;
	return room;
}

static double now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *delete_delivered(void *arg)
{
	struct deleter *d = arg;
	long next = 0, upto;
	int stop = 0;

	while (!stop && next < d->n) {
		(void)pthread_mutex_lock(&d->mu);
		while (d->delivered <= next && !d->stop)
			(void)pthread_cond_wait(&d->cv, &d->mu);
		upto = d->delivered;
		stop = d->stop;
		(void)pthread_mutex_unlock(&d->mu);
		for (; next < upto; next++)
			(void)unlinkat(d->dfd, d->names[next], 0);
	}
	return NULL;
}

/* The N queue files' names, in directory order. */
static long list_spool(int dfd, long n, char (**names)[NAME_LEN])
{
	int fd = dup(dfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	long got = 0;

	*names = calloc((size_t)n + 1, NAME_LEN);
	if (dir == NULL || *names == NULL) {
		if (dir != NULL)
			(void)closedir(dir);
		else if (fd >= 0)
			(void)close(fd);
		return -1;
	}
	while (got < n && (de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.' && (de->d_type == DT_REG || de->d_type == DT_UNKNOWN) &&
		    strlen(de->d_name) < NAME_LEN)
			(void)strcpy((*names)[got++], de->d_name);
	(void)closedir(dir);
	return got;
}

/* One queue file read whole into buf; *body, *blen: its message. */
static int read_queue_file(int dfd, const char *name, char *buf, const char **body, size_t *blen)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	ssize_t got;
	const char *end;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > MAX_FILE) {
		(void)close(fd);
		return -1;
	}
	got = read(fd, buf, (size_t)st.st_size);
	(void)close(fd);
	if (got != st.st_size)
		return -1;
	end = memmem(buf, (size_t)got, "\nend\n", 5);
	if (end == NULL)
		return -1;
	*body = end + 5;
	*blen = (size_t)(buf + got - *body);
	return 0;
}

static int send_files(CURL *c, struct upload *up, const char *dir, long n)
{
	static char buf[MAX_FILE];
	struct deleter d = { .n = 0 };
	pthread_t thread;
	int rc = 1;

	d.dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d.dfd < 0 || (d.n = list_spool(d.dfd, n, &d.names)) != n) {
		fprintf(stderr, "%s: not %ld queue files\n", dir, n);
		goto out;
	}
	(void)pthread_mutex_init(&d.mu, NULL);
	(void)pthread_cond_init(&d.cv, NULL);
	if (pthread_create(&thread, NULL, delete_delivered, &d) != 0) {
		fprintf(stderr, "curlfloor: no deleter thread\n");
		goto out;
	}
	for (long i = 0; i < n; i++) {
		const char *body;
		size_t blen;
		CURLcode cc;

		if (read_queue_file(d.dfd, d.names[i], buf, &body, &blen) != 0) {
			fprintf(stderr, "%s/%s: cannot read\n", dir, d.names[i]);
			break;
		}
		*up = (struct upload){ body, blen, 0 };
		(void)curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)blen);
		cc = curl_easy_perform(c);
		if (cc != CURLE_OK) {
			fprintf(stderr, "mail %ld: %s\n", i, curl_easy_strerror(cc));
			break;
		}
		(void)pthread_mutex_lock(&d.mu);
		d.delivered = i + 1;
		/* woken for a batch, as eschool's deleter is: fewer switches */
		if (d.delivered % WAKE_EVERY == 0 || d.delivered == n)
			(void)pthread_cond_signal(&d.cv);
		(void)pthread_mutex_unlock(&d.mu);
		rc = i + 1 == n ? 0 : 1;
	}
	if (rc != 0) { /* let the thread end: nothing more is delivered */
		(void)pthread_mutex_lock(&d.mu);
		d.stop = 1;
		(void)pthread_cond_signal(&d.cv);
		(void)pthread_mutex_unlock(&d.mu);
	}
	(void)pthread_join(thread, NULL);
	if (rc == 0 && fsync(d.dfd) != 0)
		rc = 1;
out:
	free(d.names);
	if (d.dfd >= 0)
		(void)close(d.dfd);
	return rc;
}

int main(int argc, char **argv)
{
	char url[256], *data = NULL;
	const char *spool = NULL, *from, *to;
	struct curl_slist *rcpt;
	struct upload up;
	long n, size = 0;
	double t0;
	int rc = 0;
	FILE *f;
	CURL *c;

	if (!(argc == 7 || (argc == 8 && strcmp(argv[4], "--spool") == 0))) {
		fprintf(stderr, "usage: curlfloor HOST PORT N FILE|--spool DIR FROM TO\n");
		return 2;
	}
	n = strtol(argv[3], NULL, 10);
	if (argc == 8)
		spool = argv[5];
	from = argv[argc - 2];
	to = argv[argc - 1];
	if (n < 1) {
		fprintf(stderr, "curlfloor: N must be a positive number\n");
		return 2;
	}
	if (spool == NULL) {
		f = fopen(argv[4], "rb");
		if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 ||
		    fseek(f, 0, SEEK_SET) != 0 || (data = malloc((size_t)size)) == NULL ||
		    fread(data, 1, (size_t)size, f) != (size_t)size) {
			perror(argv[4]);
			if (f != NULL)
				(void)fclose(f);
			free(data);
			return 1;
		}
		(void)fclose(f);
	}
	(void)snprintf(url, sizeof(url), "smtp://%s:%s", argv[1], argv[2]);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || (c = curl_easy_init()) == NULL ||
	    (rcpt = curl_slist_append(NULL, to)) == NULL) {
		free(data);
		return 1;
	}
	(void)curl_easy_setopt(c, CURLOPT_URL, url);
	(void)curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	(void)curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	(void)curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	(void)curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	(void)curl_easy_setopt(c, CURLOPT_READDATA, &up);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	t0 = now();
	if (spool != NULL)
		rc = send_files(c, &up, spool, n);
	for (long i = 0; spool == NULL && i < n && rc == 0; i++) {
		CURLcode cc;

		up = (struct upload){ data, (size_t)size, 0 };
		(void)curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
		cc = curl_easy_perform(c);
		if (cc != CURLE_OK) {
			fprintf(stderr, "mail %ld: %s\n", i, curl_easy_strerror(cc));
			rc = 1;
		}
	}
	if (rc == 0)
		printf("%.6f\n", now() - t0);
	curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
	free(data);
	curl_global_cleanup();
	return rc;
}
