/* bench/curlfloor: libcurl alone sending N copies of one message over one
 * SMTP connection (one easy handle, one curl_easy_perform per mail, as
 * helper/mail/smtp.c does), with no queue, no files, no parsing: the floor
 * under `eschool queue run`, which SPEC §1 has send through libcurl.
 * bench/smtp times it in the same run as eschool and smtp-source.
 *
 * usage: curlfloor HOST PORT N FILE FROM TO; prints the seconds taken. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct upload {
	const char *data;
	size_t len, off;
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

int main(int argc, char **argv)
{
	char url[256], *data;
	struct curl_slist *rcpt;
	struct upload up;
	long n, size;
	double t0;
	FILE *f;
	CURL *c;

	if (argc != 7) {
		fprintf(stderr, "usage: curlfloor HOST PORT N FILE FROM TO\n");
		return 2;
	}
	n = strtol(argv[3], NULL, 10);
	f = fopen(argv[4], "rb");
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (data = malloc((size_t)size)) == NULL ||
	    fread(data, 1, (size_t)size, f) != (size_t)size) {
		perror(argv[4]);
		return 1;
	}
	(void)fclose(f);
	(void)snprintf(url, sizeof(url), "smtp://%s:%s", argv[1], argv[2]);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || (c = curl_easy_init()) == NULL ||
	    (rcpt = curl_slist_append(NULL, argv[6])) == NULL) {
		free(data);
		return 1;
	}
	(void)curl_easy_setopt(c, CURLOPT_URL, url);
	(void)curl_easy_setopt(c, CURLOPT_MAIL_FROM, argv[5]);
	(void)curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	(void)curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	(void)curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	(void)curl_easy_setopt(c, CURLOPT_READDATA, &up);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	t0 = now();
	for (long i = 0; i < n; i++) {
		CURLcode rc;

		up = (struct upload){ data, (size_t)size, 0 };
		(void)curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
		rc = curl_easy_perform(c);
		if (rc != CURLE_OK) {
			fprintf(stderr, "mail %ld: %s\n", i, curl_easy_strerror(rc));
			free(data);
			return 1;
		}
	}
	printf("%.6f\n", now() - t0);
	curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
	free(data);
	curl_global_cleanup();
	return 0;
}
