/* Drives the credential slips' renderer (helper/slips_pdf.c) for
 * tests/integration/test_slips_pdf.py:
 *
 *   slipsdemo OUT.pdf SCHOOL LOGO.png|- NOW [LANG] < slips
 *
 * one slip a line on stdin, tab-separated: name, class (empty: none),
 * username, password, lang, expires (epoch seconds, 0: not said).
 * LANG is the class header pages' language (default en). Exits 0, or the
 * error's code with its message (English, then French) on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "es_err.h"
#include "es_fs.h"
#include "es_util.h"
#include "slips_pdf.h"

#define FIELDS 6
#define LOGO_MAX (1024L * 1024)

struct input {
	struct slip *slips;
	char **lines; /* each slip's strings point into its line */
	size_t n, cap;
};

static void input_free(struct input *in)
{
	for (size_t i = 0; i < in->n; i++)
		es_free_secret(&in->lines[i]); /* they hold passwords */
	free(in->lines);
	free(in->slips);
}

/* Splits line in place at tabs into a slip; -1 when it has not 6 fields. */
static int parse_slip(char *line, struct slip *s)
{
	char *field[FIELDS];
	char *p = line;
	long expires;

	for (size_t i = 0; i < FIELDS; i++) {
		field[i] = p;
		p = strchr(p, '\t');
		if ((p == NULL) != (i == FIELDS - 1))
			return -1;
		if (p != NULL)
			*p++ = '\0';
	}
	if (es_parse_long(field[5], 0, 0x7fffffffffffffffL, &expires) != 0)
		return -1;
	s->display_name = field[0];
	s->klass = field[1][0] != '\0' ? field[1] : NULL;
	s->username = field[2];
	s->password = field[3];
	s->lang = field[4];
	s->expires = (time_t)expires;
	return 0;
}

static int read_slips(FILE *f, struct input *in)
{
	char *line = NULL;
	size_t linecap = 0;
	ssize_t len;
	int rc = -1;

	while ((len = getline(&line, &linecap, f)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (in->n == in->cap) {
			size_t cap = in->cap != 0 ? in->cap * 2 : 16;
			struct slip *slips = reallocarray(in->slips, cap, sizeof(*slips));
			if (slips == NULL)
				goto out;
			in->slips = slips;
			char **lines = reallocarray(in->lines, cap, sizeof(*lines));
			if (lines == NULL)
				goto out;
			in->lines = lines;
			in->cap = cap;
		}
		in->lines[in->n] = es_strdup(line);
		if (in->lines[in->n] == NULL)
			goto out;
		in->n++;
		if (parse_slip(in->lines[in->n - 1], &in->slips[in->n - 1]) != 0) {
			(void)fprintf(stderr,
				      "slipsdemo: line %zu: expected 6 tab-separated fields\n",
				      in->n);
			goto out;
		}
	}
	rc = ferror(f) ? -1 : 0;
out:
	es_free_secret(&line);
	return rc;
}

static int read_logo(const char *path, char **data, size_t *len)
{
	int fd, e;

	*data = NULL;
	*len = 0;
	if (strcmp(path, "-") == 0)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		(void)fprintf(stderr, "slipsdemo: %s: %s\n", path, strerror(errno));
		return -1;
	}
	e = es_fs_read_alloc(fd, LOGO_MAX, data, len);
	(void)close(fd);
	if (e != 0) {
		(void)fprintf(stderr, "slipsdemo: %s: %s\n", path, strerror(e));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct input in = {0};
	struct slip_doc doc = {0};
	struct es_err err = {0};
	char *logo = NULL;
	size_t logo_len = 0;
	long now;
	int rc = 1;

	if (argc < 5 || argc > 6 || es_parse_long(argv[4], 0, 0x7fffffffffffffffL, &now) != 0) {
		(void)fprintf(stderr,
			      "usage: slipsdemo OUT.pdf SCHOOL LOGO.png|- NOW [LANG] < slips\n");
		return 64;
	}
	if (read_logo(argv[3], &logo, &logo_len) != 0 || read_slips(stdin, &in) != 0)
		goto out;
	doc.school_name = argv[2];
	doc.logo_png = (const unsigned char *)logo;
	doc.logo_len = logo_len;
	doc.lang = argc == 6 ? argv[5] : "en";
	doc.slips = in.slips;
	doc.n = in.n;
	doc.now = (time_t)now;
	if (logo != NULL && !slips_pdf_logo_ok(doc.logo_png, doc.logo_len))
		(void)fprintf(stderr, "slipsdemo: the logo is left out\n");
	if (slips_pdf_write(argv[1], &doc, &err) != 0) {
		(void)fprintf(stderr, "slipsdemo: %s\nslipsdemo: %s\n", err.msg, err.msg_fr);
		rc = err.code;
		goto out;
	}
	rc = 0;
out:
	input_free(&in);
	free(logo);
	return rc;
}
