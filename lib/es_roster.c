#include "es_roster.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "es_fs.h"
#include "es_names.h"
#include "es_util.h"

/* ------------------------------------------------------------------ */
/* Decoding */

static unsigned long count_lines(const char *s, size_t len)
{
	unsigned long lines = 1;

	for (size_t i = 0; i < len; i++)
		lines += s[i] == '\n';
	return lines;
}

/* in (inlen bytes, in from) to UTF-8 in *out. */
static int convert(const char *from, const char *in, size_t inlen, char **out, size_t *outlen,
                   unsigned long *bad_line, struct es_err *err)
{
	iconv_t cd = iconv_open("UTF-8", from);
	size_t cap = inlen + inlen / 2 + 16, left = inlen, room;
	char *buf, *ip = (char *)(uintptr_t)in, *op;
	int rc = -1;

	if (cd == (iconv_t)-1)
		return errno == EINVAL
		           ? es_err_set(err, ES_EDATA,
		                        "unknown encoding '%s' (say utf-8, utf-16 or windows-1252)",
		                        from)
		           : es_err_errno(err, ES_EOS, errno, "cannot decode from %s", from);
	buf = malloc(cap);
	if (buf == NULL) {
		(void)iconv_close(cd);
		return es_err_set(err, ES_EOS, "out of memory");
	}
	op = buf;
	room = cap - 1;
	while (left > 0) {
		size_t used;
		char *nbuf;

		if (iconv(cd, &ip, &left, &op, &room) != (size_t)-1)
			break;
		used = (size_t)(op - buf);
		if (errno != E2BIG) {
			*bad_line = count_lines(buf, used);
			es_err_set(err, ES_EDATA,
			           "byte 0x%02x is not %s text (save the file as \"CSV UTF-8\", or say "
			           "its encoding with --encoding)",
			           (unsigned)(unsigned char)*ip, from);
			goto out;
		}
		nbuf = cap > (size_t)-1 / 2 ? NULL : realloc(buf, cap * 2);
		if (nbuf == NULL) {
			es_err_set(err, ES_EOS, "out of memory");
			goto out;
		}
		buf = nbuf;
		cap *= 2;
		op = buf + used;
		room = cap - 1 - used;
	}
	*op = '\0';
	*outlen = (size_t)(op - buf);
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	(void)iconv_close(cd);
	return rc;
}

/* What a file whose first bytes are head (n of them) is in, when the
 * administrator said it (encoding), a byte order mark says it or NULs
 * say UTF-16: 1, with *from (for iconv) and *detected (for a report). 0:
 * the rest is for the file's bytes to say (UTF-8 when they all are, else
 * Windows-1252: detect_rest). */
static int detect_mark(const char *head, size_t n, const char *encoding, const char **from,
                       const char **detected)
{
	const unsigned char *u = (const unsigned char *)head;

	if (encoding != NULL && strcmp(encoding, "auto") != 0) {
		*from = encoding;
		*detected = encoding;
	} else if (n >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0) {
		*from = "UTF-8";
		*detected = "UTF-8 with BOM";
	} else if (n >= 2 && u[0] == 0xff && u[1] == 0xfe) {
		*from = "UTF-16";
		*detected = "UTF-16LE with BOM";
	} else if (n >= 2 && u[0] == 0xfe && u[1] == 0xff) {
		*from = "UTF-16";
		*detected = "UTF-16BE with BOM";
	} else if (n >= 2 && u[0] != 0 && u[1] == 0) {
		/* a header in UTF-16 without its mark: ASCII letters, then NULs */
		*from = "UTF-16LE";
		*detected = "UTF-16LE";
	} else if (n >= 2 && u[0] == 0 && u[1] != 0) {
		*from = "UTF-16BE";
		*detected = "UTF-16BE";
	} else {
		return 0;
	}
	return 1;
}

static void detect_rest(bool utf8, const char **from, const char **detected)
{
	/* Windows-1252: what Excel and French school software write by default */
	*from = utf8 ? "UTF-8" : "WINDOWS-1252";
	*detected = utf8 ? "UTF-8" : "Windows-1252";
}

int es_roster_decode(const char *data, size_t len, const char *encoding, char **out,
                     size_t *outlen, const char **detected, unsigned long *bad_line,
                     struct es_err *err)
{
	const char *from;
	int rc;

	*out = NULL;
	*outlen = 0;
	*bad_line = 0;
	if (detect_mark(data, len, encoding, &from, detected) == 0)
		detect_rest(es_utf8_valid(data, len), &from, detected);
	rc = convert(from, data, len, out, outlen, bad_line, err);
	if (rc == 0 && *outlen >= 3 && memcmp(*out, "\xef\xbb\xbf", 3) == 0) {
		memmove(*out, *out + 3, *outlen - 2);
		*outlen -= 3;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Reading a file a block at a time */

struct es_roster_reader {
	int fd;
	size_t block, max_bytes, read_bytes;
	iconv_t cd;
	const char *from, *detected;
	/* bytes read: the block, after what the last block left undecoded
	 * (a sequence it cut: raw_len bytes, at most RAW_CARRY) */
	char *in;
	size_t raw_len;
	/* decoded text: [0, window) is es_csv's, [window, len) what follows */
	char *text;
	size_t len, cap, window;
	struct es_csv csv;
	unsigned long line;          /* the line where text[0] is */
	unsigned long lines_decoded; /* line breaks decoded so far ('\n') */
	bool eof, started, in_window, bom_checked, failed;
};

#define RAW_CARRY 16 /* a multibyte sequence: 4 bytes in UTF-8 and UTF-16 */

/* Where the last whole record of text[0, len) ends (0: none yet), text
 * starting where a record does: after a line break outside quotes (a CR
 * at the very end may be half of a CRLF: not yet). Quotes are counted
 * as es_csv_detect_sep counts them: in a valid file, a record's quotes
 * pair up; in an invalid one es_csv says what is wrong wherever the cut. */
static size_t last_record_end(const char *text, size_t len)
{
	size_t end = 0;
	bool quoted = false;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '"')
			quoted = !quoted;
		else if (!quoted && (text[i] == '\n' || (text[i] == '\r' && i + 1 < len &&
		                                           text[i + 1] != '\n')))
			end = i + 1;
	}
	return end;
}

/* The length of data's prefix that no block cut can have made invalid:
 * all but a multibyte sequence begun in the last 3 bytes and not ended. */
static size_t utf8_whole(const char *data, size_t len)
{
	for (size_t back = 1; back <= 3 && back <= len; back++) {
		unsigned char c = (unsigned char)data[len - back];
		size_t need;

		if ((c & 0xc0) == 0x80)
			continue; /* a continuation: its lead is further back */
		need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		return need > back ? len - back : len;
	}
	return len;
}

static int read_block(struct es_roster_reader *r, char *buf, size_t cap, size_t *got,
                      struct es_err *err)
{
	int rc = es_fs_read_all(r->fd, buf, cap, got);

	if (rc != 0)
		return es_err_errno(err, ES_EIO, rc, "cannot read the roster");
	r->read_bytes += *got;
	if (r->read_bytes > r->max_bytes)
		return es_err_set(err, ES_EDATA, "larger than %zu MB: split it",
		                  r->max_bytes / 1024 / 1024);
	return 0;
}

/* Reads the whole file to tell UTF-8 from Windows-1252 (es_utf8_valid's
 * verdict on the whole, a block at a time), then goes back to its start. */
static int detect_stream(struct es_roster_reader *r, struct es_err *err)
{
	size_t carry = 0, got;
	bool utf8;

	for (;;) {
		size_t n, whole;

		if (read_block(r, r->in + carry, r->block, &got, err) != 0)
			return -1;
		if (got == 0) { /* the end: what a block cut is all there is */
			utf8 = es_utf8_valid(r->in, carry);
			break;
		}
		n = carry + got;
		whole = utf8_whole(r->in, n);
		utf8 = es_utf8_valid(r->in, whole);
		if (!utf8)
			break;
		carry = n - whole;
		memmove(r->in, r->in + whole, carry);
	}
	detect_rest(utf8, &r->from, &r->detected);
	r->read_bytes = 0;
	if (lseek(r->fd, 0, SEEK_SET) != 0)
		return es_err_errno(err, ES_EIO, errno, "cannot read the roster");
	return 0;
}

static int bad_byte(struct es_roster_reader *r, unsigned char byte, unsigned long *err_line,
                    struct es_err *err)
{
	*err_line = r->lines_decoded + 1;
	return es_err_set(err, ES_EDATA,
	                  "byte 0x%02x is not %s text (save the file as \"CSV UTF-8\", or say "
	                  "its encoding with --encoding)",
	                  (unsigned)byte, r->from);
}

/* Reads and decodes the next block after the text there is (at the end
 * of the file: r->eof). */
static int fill(struct es_roster_reader *r, unsigned long *err_line, struct es_err *err)
{
	size_t got, left, want;
	char *ip = r->in;

	if (read_block(r, r->in + r->raw_len, r->block, &got, err) != 0)
		return -1;
	if (got == 0) {
		r->eof = true;
		/* a sequence the file ends in the middle of */
		return r->raw_len > 0 ? bad_byte(r, (unsigned char)r->in[0], err_line, err) : 0;
	}
	left = r->raw_len + got;
	r->raw_len = 0;
	/* room for the block: UTF-8 takes at most 4 bytes for one of most
	 * encodings; more when iconv says so (E2BIG) */
	want = 4 * left + 16;
	while (left > 0) {
		char *op, *start;
		size_t room, done;

		if (r->cap - r->len < want) {
			size_t ncap = r->len + want + r->block;
			char *t = realloc(r->text, ncap);

			if (t == NULL)
				return es_err_set(err, ES_EOS, "out of memory");
			r->text = t;
			r->cap = ncap;
		}
		start = op = r->text + r->len;
		room = r->cap - r->len;
		done = iconv(r->cd, &ip, &left, &op, &room);
		for (const char *p = start; p < op; p++)
			r->lines_decoded += *p == '\n';
		r->len = (size_t)(op - r->text);
		if (done != (size_t)-1)
			break;
		if (errno == E2BIG) {
			want = 2 * (r->cap - r->len) + 16;
			continue;
		}
		if (errno != EINVAL)
			return bad_byte(r, (unsigned char)*ip, err_line, err);
		/* a sequence the block cut: decoded with the next block */
		if (left > RAW_CARRY)
			return bad_byte(r, (unsigned char)*ip, err_line, err);
		memmove(r->in, ip, left);
		r->raw_len = left;
		break;
	}
	return 0;
}

int es_roster_reader_open(struct es_roster_reader **out, int fd, const char *encoding,
                          size_t block, size_t max_bytes, struct es_err *err)
{
	struct es_roster_reader *r = calloc(1, sizeof(*r));
	char head[3];
	size_t n = 0;

	*out = NULL;
	if (r == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	r->fd = fd;
	r->block = block > 0 ? block : (size_t)64 * 1024;
	r->max_bytes = max_bytes;
	r->cd = (iconv_t)-1;
	r->line = 1;
	r->in = malloc(r->block + RAW_CARRY);
	if (r->in == NULL) {
		es_err_set(err, ES_EOS, "out of memory");
		goto fail;
	}
	if (read_block(r, head, sizeof(head), &n, err) != 0)
		goto fail;
	r->read_bytes = 0;
	if (lseek(fd, 0, SEEK_SET) != 0) {
		es_err_errno(err, ES_EIO, errno, "cannot read the roster");
		goto fail;
	}
	if (detect_mark(head, n, encoding, &r->from, &r->detected) == 0 &&
	    detect_stream(r, err) != 0)
		goto fail;
	r->cd = iconv_open("UTF-8", r->from);
	if (r->cd == (iconv_t)-1) {
		if (errno == EINVAL)
			es_err_set(err, ES_EDATA,
			           "unknown encoding '%s' (say utf-8, utf-16 or windows-1252)", r->from);
		else
			es_err_errno(err, ES_EOS, errno, "cannot decode from %s", r->from);
		goto fail;
	}
	*out = r;
	return 0;
fail:
	es_roster_reader_free(r);
	return -1;
}

const char *es_roster_reader_encoding(const struct es_roster_reader *r)
{
	return r->detected;
}

char es_roster_reader_sep(const struct es_roster_reader *r)
{
	return r->csv.sep;
}

/* Makes [0, window) of the text whole records for es_csv: read until
 * a record ends (or the file does, or the text is longer than a record
 * may be: es_csv says so). */
static int next_window(struct es_roster_reader *r, unsigned long *err_line, struct es_err *err)
{
	size_t end = 0;

	while (!r->eof) {
		if (fill(r, err_line, err) != 0)
			return -1;
		if (!r->bom_checked && r->len < 3 && !r->eof)
			continue;
		if (!r->bom_checked) { /* decoded once, as es_roster_decode does */
			r->bom_checked = true;
			if (r->len >= 3 && memcmp(r->text, "\xef\xbb\xbf", 3) == 0) {
				memmove(r->text, r->text + 3, r->len - 3);
				r->len -= 3;
			}
		}
		end = last_record_end(r->text, r->len);
		/* a record that long, or that many fields, is es_csv's to refuse
		 * before the text's end: its record check is made at each byte
		 * of a field (a "" takes two), and separators end fields */
		if (end > 0 || r->len > ES_CSV_MAX_RECORD + ES_CSV_MAX_FIELDS + 2)
			break;
	}
	r->window = r->eof ? r->len : end > 0 ? end : r->len;
	if (!r->started) {
		es_csv_init(&r->csv, r->text != NULL ? r->text : "", r->window); /* "": empty */
		r->started = true;
	} else {
		char sep = r->csv.sep;

		r->csv = (struct es_csv){ .data = r->text, .len = r->window, .line = r->line,
			                  .sep = sep };
	}
	return 0;
}

/* After es_csv's error at line: the rest of the file decoded, and
 * thrown away, for a byte its encoding has not, which es_roster_decode
 * would have said instead (it decodes the whole file first). */
static int csv_failed(struct es_roster_reader *r, unsigned long line, unsigned long *err_line,
                      struct es_err *err)
{
	struct es_err decoding = { 0 };
	unsigned long bad_line = 0;

	r->failed = true;
	while (!r->eof) {
		r->len = 0;
		if (fill(r, &bad_line, &decoding) != 0) {
			if (decoding.code == ES_EDATA) {
				*err = decoding;
				*err_line = bad_line;
			}
			return -1;
		}
	}
	*err_line = line;
	return -1;
}

int es_roster_reader_next(struct es_roster_reader *r, struct es_csv_record *rec,
                          unsigned long *err_line, struct es_err *err)
{
	if (r->failed)
		return es_err_set(err, ES_ESOFTWARE, "the roster was read after an error");
	for (;;) {
		if (r->in_window) {
			int got = es_csv_next(&r->csv, rec, err);

			if (got < 0)
				return csv_failed(r, r->csv.err_line, err_line, err);
			if (got != 0)
				return got;
			/* the window is read: what follows it comes to the front */
			r->in_window = false;
			r->line = r->csv.line;
			if (r->window > 0)
				memmove(r->text, r->text + r->window, r->len - r->window);
			r->len -= r->window;
			r->window = 0;
		}
		if (r->eof && r->len == 0)
			return 0;
		if (next_window(r, err_line, err) != 0) {
			r->failed = true;
			return -1;
		}
		r->in_window = true;
	}
}

void es_roster_reader_free(struct es_roster_reader *r)
{
	if (r == NULL)
		return;
	if (r->cd != (iconv_t)-1)
		(void)iconv_close(r->cd);
	free(r->in);
	free(r->text);
	free(r);
}

/* ------------------------------------------------------------------ */
/* Columns */

static const char *const field_names[ES_RF_COUNT + 1] = {
	[ES_RF_USERNAME] = "username", [ES_RF_NAME] = "name",
	[ES_RF_FIRST] = "first_name",  [ES_RF_LAST] = "last_name",
	[ES_RF_EMAIL] = "email",       [ES_RF_PARENT] = "parent_email",
	[ES_RF_CLASS] = "class",       [ES_RF_LANG] = "lang",
	[ES_RF_ROLE] = "role",         [ES_RF_IGNORE] = "ignore",
};

const char *es_roster_field_name(int field)
{
	return field >= 0 && field <= ES_RF_IGNORE ? field_names[field] : "?";
}

/* A header name as the tables have it: ASCII lowercase without accents,
 * "[...]" dropped (Google's "[Required]"), every run of other characters
 * one space: "Adresse E-mail", "adresse e-mail " and "ADRESSE E MAIL"
 * are all "adresse e mail". */
static void fold_header(const char *s, char *out, size_t outsz)
{
	char folded[512];
	size_t used = 0;
	bool bracket = false, space = true;

	es_fold_ascii(s, folded, sizeof(folded));
	for (const char *p = folded; *p != '\0' && used + 1 < outsz; p++) {
		char c = *p;

		if (c == '[' || c == ']') {
			bracket = c == '[';
			continue;
		}
		if (bracket)
			continue;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			out[used++] = c;
			space = false;
		} else if (!space) {
			out[used++] = ' ';
			space = true;
		}
	}
	while (used > 0 && out[used - 1] == ' ')
		used--;
	out[used] = '\0';
}

struct alias {
	const char *header; /* folded; a final " #" is a number 1-9 ("responsable 1") */
	int field;
};

/* The names school software and spreadsheets give eschool's fields, in
 * French and English; a field's earlier names are preferred when a
 * roster has several ("nom d'usage" before "nom de famille"). */
static const struct alias aliases[] = {
	{ "username", ES_RF_USERNAME },
	{ "login", ES_RF_USERNAME },
	{ "identifiant", ES_RF_USERNAME },
	{ "identifiant ent", ES_RF_USERNAME },
	{ "login ent", ES_RF_USERNAME },
	{ "user name", ES_RF_USERNAME },
	{ "nom d utilisateur", ES_RF_USERNAME },
	{ "utilisateur", ES_RF_USERNAME },
	{ "compte", ES_RF_USERNAME },

	{ "name", ES_RF_NAME },
	{ "nom prenom", ES_RF_NAME },
	{ "nom et prenom", ES_RF_NAME },
	{ "nom et prenoms", ES_RF_NAME },
	{ "nom complet", ES_RF_NAME },
	{ "eleve", ES_RF_NAME },
	{ "eleves", ES_RF_NAME },
	{ "full name", ES_RF_NAME },
	{ "display name", ES_RF_NAME },
	{ "nom affiche", ES_RF_NAME },

	{ "prenom", ES_RF_FIRST },
	{ "prenom usuel", ES_RF_FIRST },
	{ "prenom eleve", ES_RF_FIRST },
	{ "prenom 1", ES_RF_FIRST },
	{ "first name", ES_RF_FIRST },
	{ "firstname", ES_RF_FIRST },
	{ "given name", ES_RF_FIRST },
	{ "givenname", ES_RF_FIRST },

	/* the name a pupil is known by, before the birth name */
	{ "nom d usage", ES_RF_LAST },
	{ "nom d usage eleve", ES_RF_LAST },
	{ "nom", ES_RF_LAST },
	{ "nom eleve", ES_RF_LAST },
	{ "nom de famille", ES_RF_LAST },
	{ "nom de famille eleve", ES_RF_LAST },
	{ "last name", ES_RF_LAST },
	{ "lastname", ES_RF_LAST },
	{ "surname", ES_RF_LAST },
	{ "family name", ES_RF_LAST },
	{ "familyname", ES_RF_LAST },

	{ "email", ES_RF_EMAIL },
	{ "e mail", ES_RF_EMAIL },
	{ "mail", ES_RF_EMAIL },
	{ "courriel", ES_RF_EMAIL },
	{ "adresse mail", ES_RF_EMAIL },
	{ "adresse e mail", ES_RF_EMAIL },
	{ "adresse email", ES_RF_EMAIL },
	{ "adresse courriel", ES_RF_EMAIL },
	{ "adresse electronique", ES_RF_EMAIL },
	{ "email address", ES_RF_EMAIL },
	{ "e mail address", ES_RF_EMAIL },
	{ "email eleve", ES_RF_EMAIL },
	{ "e mail eleve", ES_RF_EMAIL },
	{ "mail eleve", ES_RF_EMAIL },
	{ "courriel eleve", ES_RF_EMAIL },
	{ "adresse e mail eleve", ES_RF_EMAIL },

	{ "parent email", ES_RF_PARENT },
	{ "email parent", ES_RF_PARENT },
	{ "e mail parent", ES_RF_PARENT },
	{ "mail parent", ES_RF_PARENT },
	{ "courriel parent", ES_RF_PARENT },
	{ "email des parents", ES_RF_PARENT },
	{ "email responsable", ES_RF_PARENT },
	{ "mail responsable", ES_RF_PARENT },
	{ "courriel responsable", ES_RF_PARENT },
	{ "email responsable #", ES_RF_PARENT },
	{ "e mail responsable #", ES_RF_PARENT },
	{ "mail responsable #", ES_RF_PARENT },
	{ "courriel responsable #", ES_RF_PARENT },
	{ "adresse e mail responsable #", ES_RF_PARENT },
	{ "responsable # email", ES_RF_PARENT },
	{ "responsable # e mail", ES_RF_PARENT },
	{ "responsable # courriel", ES_RF_PARENT },
	{ "courriel du representant legal", ES_RF_PARENT },
	{ "courriel representant legal", ES_RF_PARENT },
	{ "courriel representant legal #", ES_RF_PARENT },
	{ "courriel du representant legal #", ES_RF_PARENT },
	{ "email representant legal #", ES_RF_PARENT },
	{ "mail representant legal #", ES_RF_PARENT },
	{ "representant legal # courriel", ES_RF_PARENT },
	{ "parent # email", ES_RF_PARENT },
	{ "guardian email", ES_RF_PARENT },

	{ "class", ES_RF_CLASS },
	{ "classe", ES_RF_CLASS },
	{ "division", ES_RF_CLASS },
	{ "classe eleve", ES_RF_CLASS },
	{ "libelle classe", ES_RF_CLASS },
	{ "org unit path", ES_RF_CLASS },
	{ "homeroom", ES_RF_CLASS },

	{ "lang", ES_RF_LANG },
	{ "langue", ES_RF_LANG },
	{ "language", ES_RF_LANG },
	{ "langue de communication", ES_RF_LANG },
	{ "preferred language", ES_RF_LANG },

	{ "role", ES_RF_ROLE },
	{ "profil", ES_RF_ROLE },
	{ "profile", ES_RF_ROLE },
	{ "type de compte", ES_RF_ROLE },
	{ "account type", ES_RF_ROLE },
};

/* A known export: its name for --format, the columns that tell it (all
 * present) and the columns it gives another meaning than the aliases, or
 * that the aliases do not know. */
struct layout_def {
	const char *name;
	const char *const *signature;
	const struct alias *own;
	size_t n_own;
	bool aliases; /* the aliases apply too ("plain": eschool's names only) */
	const char *role; /* the rows' role when they say none, or NULL */
};

static const char *const plain_sig[] = { NULL };
static const struct alias plain_own[] = {
	{ "username", ES_RF_USERNAME }, { "name", ES_RF_NAME },
	{ "first name", ES_RF_FIRST },  { "last name", ES_RF_LAST },
	{ "email", ES_RF_EMAIL },       { "parent email", ES_RF_PARENT },
	{ "class", ES_RF_CLASS },       { "lang", ES_RF_LANG },
	{ "role", ES_RF_ROLE },
};

/* Google Workspace's bulk upload: the organisational unit is the class;
 * its address is the account's. */
static const char *const workspace_sig[] = { "first name", "last name", "email address",
	                                     "org unit path", NULL };
static const struct alias workspace_own[] = {
	{ "email address", ES_RF_EMAIL },
	{ "org unit path", ES_RF_CLASS },
	{ "employee type", ES_RF_ROLE },
};

/* Microsoft School Data Sync (v1 Student.csv / Teacher.csv): "Username"
 * is the cloud sign-in name (first.last, or an address), not a Unix name:
 * usernames are derived from the names; "Secondary Email" is where mail
 * reaches the person. */
static const char *const sds_sig[] = { "sis id", "school sis id", "username", NULL };
static const char *const sds_teacher_sig[] = { "sis id", "school sis id", "username",
	                                       "teacher number", NULL };
static const struct alias sds_own[] = {
	{ "secondary email", ES_RF_EMAIL },
	{ "username", ES_RF_IGNORE },
};

/* SIECLE (lycées, collèges): "Division" is the class; the legal
 * representatives' addresses in order. */
static const char *const siecle_sig[] = { "division", "nom de famille", NULL };
static const struct alias siecle_own[] = {
	{ "division", ES_RF_CLASS },
};

/* ONDE (écoles): the pupil's usage name before the birth name. */
static const char *const onde_sig[] = { "nom d usage eleve", "prenom eleve", NULL };
static const struct alias onde_own[] = {
	{ "libelle classe", ES_RF_CLASS },
};

/* Pronote: "Élève" is "NOM Prénom". */
static const char *const pronote_sig[] = { "eleve", "classe", NULL };
static const struct alias pronote_own[] = {
	{ "eleve", ES_RF_NAME },
};

/* EcoleDirecte: "Identifiant" is the ENT login. */
static const char *const ecoledirecte_sig[] = { "identifiant", "nom", "prenom", "classe", NULL };
static const struct alias ecoledirecte_own[] = {
	{ "identifiant", ES_RF_USERNAME },
};

#define OWN(a) a, ES_ARRAY_LEN(a)
static const struct layout_def layouts[] = {
	{ "plain", plain_sig, OWN(plain_own), false },
	{ "workspace", workspace_sig, OWN(workspace_own), true },
	/* SDS's Teacher.csv (before Student.csv: its signature is longer) */
	{ "sds", sds_teacher_sig, OWN(sds_own), true, "teacher" },
	{ "sds", sds_sig, OWN(sds_own), true },
	{ "siecle", siecle_sig, OWN(siecle_own), true },
	{ "onde", onde_sig, OWN(onde_own), true },
	{ "pronote", pronote_sig, OWN(pronote_own), true },
	{ "ecoledirecte", ecoledirecte_sig, OWN(ecoledirecte_own), true },
};

const char *const es_roster_formats[] = { "plain",   "pronote",   "ecoledirecte", "siecle",
	                                  "onde",    "workspace", "sds",          NULL };

/* Whether folded header h is alias a; *rank gets the number after a
 * " #" alias (0 without). */
static bool alias_matches(const char *a, const char *h, int *rank)
{
	const char *hash = strchr(a, '#');
	size_t pre;

	*rank = 0;
	if (hash == NULL)
		return strcmp(a, h) == 0;
	pre = (size_t)(hash - a);
	if (strncmp(a, h, pre) != 0 || h[pre] < '1' || h[pre] > '9' ||
	    strcmp(hash + 1, h + pre + 1) != 0)
		return false;
	*rank = h[pre] - '0';
	return true;
}

/* The field of folded header h in table t, and its rank (smaller is
 * preferred): -1 when t does not name it. */
static int lookup(const struct alias *t, size_t n, const char *h, long *rank)
{
	for (size_t i = 0; i < n; i++) {
		int num;

		if (alias_matches(t[i].header, h, &num)) {
			*rank = (long)i * 10 + num;
			return t[i].field;
		}
	}
	return -1;
}

/* The export whose columns are all in the folded header, or NULL. */
static const struct layout_def *recognise(char folded[][96], size_t n)
{
	for (size_t l = 0; l < ES_ARRAY_LEN(layouts); l++) {
		const char *const *sig = layouts[l].signature;
		bool all = sig[0] != NULL;

		for (; all && *sig != NULL; sig++) {
			bool found = false;

			for (size_t i = 0; i < n && !found; i++)
				found = strcmp(folded[i], *sig) == 0;
			all = found;
		}
		if (all)
			return &layouts[l];
	}
	/* eschool's own names, and only them: "plain" */
	for (size_t i = 0; i < n; i++) {
		long rank;

		if (folded[i][0] != '\0' &&
		    lookup(plain_own, ES_ARRAY_LEN(plain_own), folded[i], &rank) < 0)
			return NULL;
	}
	return n > 0 ? &layouts[0] : NULL;
}

void es_roster_layout_free(struct es_roster_layout *lay)
{
	for (size_t i = 0; i < ES_CSV_MAX_FIELDS; i++)
		free(lay->header[i]);
	memset(lay, 0, sizeof(*lay));
}

/* Puts column i in field's list by rank (ranks[] alongside). */
static int place(struct es_roster_layout *lay, long ranks[][ES_ROSTER_ALTS], int field, size_t i,
                 long rank, struct es_err *err)
{
	int *cols = lay->col[field];
	long *rk = ranks[field];
	size_t k, n = 0;

	while (n < ES_ROSTER_ALTS && cols[n] >= 0)
		n++;
	for (k = 0; k < n; k++)
		if (rk[k] == rank)
			return es_err_set(err, ES_EDATA,
			                  "columns '%s' and '%s' both give the %s: remove one, or say "
			                  "which with --map 'COLUMN=ignore'",
			                  lay->header[cols[k]], lay->header[i], field_names[field]);
	for (k = 0; k < n && rk[k] < rank; k++)
		;
	if (k == ES_ROSTER_ALTS)
		return 0; /* enough columns for this field: this one stays unused */
	if (n == ES_ROSTER_ALTS) {
		lay->used[cols[n - 1]] = false;
		n--;
	}
	memmove(cols + k + 1, cols + k, (n - k) * sizeof(*cols));
	memmove(rk + k + 1, rk + k, (n - k) * sizeof(*rk));
	cols[k] = (int)i;
	rk[k] = rank;
	lay->used[i] = true;
	return 0;
}

int es_roster_layout(struct es_roster_layout *lay, char *const *header, size_t n,
                     const char *format, const struct es_roster_map *map, struct es_err *err)
{
	char folded[ES_CSV_MAX_FIELDS][96];
	long ranks[ES_RF_COUNT][ES_ROSTER_ALTS];
	const struct layout_def *def = NULL;

	memset(lay, 0, sizeof(*lay));
	memset(ranks, 0, sizeof(ranks));
	for (int f = 0; f < ES_RF_COUNT; f++)
		for (int k = 0; k < ES_ROSTER_ALTS; k++)
			lay->col[f][k] = -1;
	lay->format = "";
	if (n > ES_CSV_MAX_FIELDS)
		n = ES_CSV_MAX_FIELDS;
	lay->n_cols = n;
	for (size_t i = 0; i < n; i++) {
		lay->header[i] = es_strdup(header[i]);
		if (lay->header[i] == NULL) {
			es_roster_layout_free(lay);
			return es_err_set(err, ES_EOS, "out of memory");
		}
		fold_header(header[i], folded[i], sizeof(folded[i]));
	}
	if (format != NULL) {
		/* a named format's variants (SDS's teachers, students) are told
		 * apart by their columns */
		def = recognise(folded, n);
		if (def != NULL && strcmp(def->name, format) != 0)
			def = NULL;
		for (size_t l = 0; l < ES_ARRAY_LEN(layouts) && def == NULL; l++)
			if (strcmp(layouts[l].name, format) == 0 && layouts[l].role == NULL)
				def = &layouts[l];
		if (def == NULL) {
			es_roster_layout_free(lay);
			return es_err_set(err, ES_EDATA,
			                  "unknown format '%s' (known: plain, pronote, ecoledirecte, "
			                  "siecle, onde, workspace, sds)",
			                  format);
		}
	} else {
		def = recognise(folded, n);
	}
	if (def != NULL) {
		lay->format = def->name;
		lay->role = def->role;
	}
	for (size_t i = 0; i < n; i++) {
		int field = -1;
		long rank = 0;

		if (folded[i][0] == '\0') {
			lay->used[i] = true; /* a column without a name: a trailing ';' */
			continue;
		}
		/* the administrator's map, then the export's own meanings, then
		 * the usual names */
		for (size_t m = 0; map != NULL && m < map->n && field < 0; m++)
			if (strcmp(map->e[m].header, folded[i]) == 0) {
				field = map->e[m].field;
				rank = (long)m; /* several columns for one field: in the order given */
			}
		if (field < 0 && def != NULL) {
			field = lookup(def->own, def->n_own, folded[i], &rank);
			rank += 1000;
		}
		if (field < 0 && (def == NULL || def->aliases)) {
			field = lookup(aliases, ES_ARRAY_LEN(aliases), folded[i], &rank);
			rank += 100000;
		}
		if (field == ES_RF_IGNORE) {
			lay->used[i] = true;
			continue;
		}
		if (field < 0)
			continue;
		if (place(lay, ranks, field, i, rank, err) != 0) {
			es_roster_layout_free(lay);
			return -1;
		}
	}
	/* a field the administrator mapped comes from those columns only:
	 * the others that would give it are left unused (and listed) */
	for (int f = 0; f < ES_RF_COUNT; f++) {
		if (lay->col[f][0] < 0 || ranks[f][0] >= 1000)
			continue;
		for (int k = 1; k < ES_ROSTER_ALTS && lay->col[f][k] >= 0; k++)
			if (ranks[f][k] >= 1000) {
				lay->used[lay->col[f][k]] = false;
				lay->col[f][k] = -1;
			}
	}
	if (lay->col[ES_RF_USERNAME][0] < 0 && lay->col[ES_RF_NAME][0] < 0 &&
	    lay->col[ES_RF_LAST][0] < 0) {
		es_roster_layout_free(lay);
		return es_err_set(err, ES_EDATA,
		                  "no column names the accounts: the header needs a username, a "
		                  "name, or a last name column (Identifiant, Nom, Prénom ...); say "
		                  "which column is which with --map 'COLUMN=FIELD'");
	}
	return 0;
}

int es_roster_map_parse(const char *spec, struct es_roster_map *map, struct es_err *err)
{
	const char *p = spec;

	while (*p != '\0') {
		const char *end = strchr(p, ','), *eq;
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		char item[256], *name, *field;
		int f;

		if (len >= sizeof(item))
			return es_err_set(err, ES_EDATA, "'%.*s...' is too long", 40, p);
		memcpy(item, p, len);
		item[len] = '\0';
		p += len + (end != NULL);
		if (es_trim(item)[0] == '\0')
			continue;
		eq = strrchr(item, '=');
		if (eq == NULL)
			return es_err_set(err, ES_EDATA,
			                  "'%s': write COLUMN=FIELD (fields: username, name, "
			                  "first_name, last_name, email, parent_email, class, lang, role, "
			                  "ignore)",
			                  item);
		item[eq - item] = '\0';
		name = es_trim(item);
		field = es_trim(item + (eq - item) + 1);
		for (f = 0; f <= ES_RF_IGNORE; f++)
			if (strcmp(field, field_names[f]) == 0)
				break;
		if (f > ES_RF_IGNORE)
			return es_err_set(err, ES_EDATA,
			                  "'%s' is not a field (fields: username, name, first_name, "
			                  "last_name, email, parent_email, class, lang, role, ignore)",
			                  field);
		if (map->n == ES_ROSTER_MAP_MAX)
			return es_err_set(err, ES_EDATA, "more than %d columns mapped",
			                  ES_ROSTER_MAP_MAX);
		fold_header(name, map->e[map->n].header, sizeof(map->e[map->n].header));
		if (map->e[map->n].header[0] == '\0')
			return es_err_set(err, ES_EDATA, "'%s=%s': the column has no name", name,
			                  field);
		map->e[map->n++].field = f;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Rows */

/* The first non-empty value of field's columns, trimmed (in place), or
 * NULL. */
static char *value_of(const struct es_roster_layout *lay, char *const *fields, size_t n,
                      int field)
{
	for (int k = 0; k < ES_ROSTER_ALTS && lay->col[field][k] >= 0; k++) {
		size_t i = (size_t)lay->col[field][k];

		if (i < n && es_trim(fields[i])[0] != '\0')
			return fields[i];
	}
	return NULL;
}

struct word_map {
	const char *folded;
	const char *value;
};

static const struct word_map role_words[] = {
	{ "student", "student" },   { "eleve", "student" },      { "pupil", "student" },
	{ "etudiant", "student" },  { "apprenti", "student" },   { "teacher", "teacher" },
	{ "enseignant", "teacher" }, { "enseignante", "teacher" }, { "professeur", "teacher" },
	{ "prof", "teacher" },      { "faculty", "teacher" },
};

static const struct word_map lang_words[] = {
	{ "fr", "fr" },	     { "fra", "fr" },	  { "fre", "fr" },     { "francais", "fr" },
	{ "french", "fr" },   { "fr fr", "fr" },	  { "fr be", "fr" },   { "fr ch", "fr" },
	{ "fr ca", "fr" },    { "en", "en" },	  { "eng", "en" },     { "anglais", "en" },
	{ "english", "en" },  { "en gb", "en" },	  { "en us", "en" },
};

/* The word w means, from table t; w folded when it is none of them (a
 * [role NAME] of the school's), or as written if folding leaves nothing. */
static char *word_value(const char *w, const struct word_map *t, size_t n)
{
	char folded[128];

	fold_header(w, folded, sizeof(folded));
	for (size_t i = 0; i < n; i++)
		if (strcmp(folded, t[i].folded) == 0)
			return es_strdup(t[i].value);
	return es_strdup(folded[0] != '\0' ? folded : w);
}

/* "/Élèves/2nde 3" (an organisational unit) -> "2nde 3"; a unit at the
 * top ("/Enseignants") groups people, it is not a class: NULL, with
 * *none set. */
static char *class_value(const char *v, bool *none)
{
	const char *last = NULL, *p;
	size_t len, depth = 0;
	char *out;

	*none = false;
	if (v[0] != '/')
		return es_strdup(v);
	for (p = v; *p != '\0'; p++)
		if (*p == '/' && p[1] != '/' && p[1] != '\0') {
			last = p + 1;
			depth++;
		}
	if (depth < 2) {
		*none = true;
		return NULL;
	}
	len = strcspn(last, "/");
	out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, last, len);
	out[len] = '\0';
	return out;
}

void es_roster_row_free(char *out[ES_RV_COUNT])
{
	for (int i = 0; i < ES_RV_COUNT; i++) {
		free(out[i]);
		out[i] = NULL;
	}
}

/* The display name and the username key from the name columns. */
static int names_of(const char *first, const char *last, const char *full, char *out[ES_RV_COUNT])
{
	char display[512];
	struct es_buf key = { 0 };

	if (first != NULL || last != NULL) {
		es_name_display(first, last, display, sizeof(display));
		/* "DUPRÉ, Élodie": es_username_base reads the family name first */
		if (last != NULL && (es_buf_puts(&key, last) != 0 || es_buf_puts(&key, ", ") != 0))
			goto oom;
		if (first != NULL && es_buf_puts(&key, first) != 0)
			goto oom;
	} else if (full != NULL) {
		es_name_greeting(full, display, sizeof(display));
		if (es_buf_puts(&key, full) != 0)
			goto oom;
	} else {
		return 0;
	}
	if (display[0] == '\0') {
		es_buf_free(&key);
		return 0;
	}
	out[ES_RV_NAME] = es_strdup(display);
	out[ES_RV_NAME_KEY] = key.data; /* es_buf_puts keeps it NUL-terminated */
	return out[ES_RV_NAME] != NULL ? 0 : -1;
oom:
	es_buf_free(&key);
	return -1;
}

int es_roster_row(const struct es_roster_layout *lay, char *const *fields, size_t n,
                  char *out[ES_RV_COUNT], struct es_err *err)
{
	const char *v[ES_RF_COUNT];
	bool no_class = false;

	for (int i = 0; i < ES_RV_COUNT; i++)
		out[i] = NULL;
	/* a line break or a tab inside a quoted cell is refused, not quietly
	 * trimmed away at its ends: checked before value_of trims */
	for (int f = 0; f < ES_RF_COUNT; f++)
		for (int k = 0; k < ES_ROSTER_ALTS && lay->col[f][k] >= 0; k++) {
			size_t i = (size_t)lay->col[f][k];

			if (i < n && es_has_control(fields[i]))
				return es_err_set(err, ES_EDATA,
				                  "column '%s' contains a control character (line break, "
				                  "tab ...): remove it",
				                  lay->header[i]);
		}
	for (int f = 0; f < ES_RF_COUNT; f++)
		v[f] = value_of(lay, fields, n, f);
	if (names_of(v[ES_RF_FIRST], v[ES_RF_LAST], v[ES_RF_NAME], out) != 0)
		goto oom;
	if ((v[ES_RF_USERNAME] && !(out[ES_RV_USERNAME] = es_strdup(v[ES_RF_USERNAME]))) ||
	    (v[ES_RF_EMAIL] && !(out[ES_RV_EMAIL] = es_strdup(v[ES_RF_EMAIL]))) ||
	    (v[ES_RF_PARENT] && !(out[ES_RV_PARENT] = es_strdup(v[ES_RF_PARENT]))) ||
	    (v[ES_RF_CLASS] && !(out[ES_RV_CLASS] = class_value(v[ES_RF_CLASS], &no_class)) &&
	     !no_class) ||
	    (v[ES_RF_LANG] &&
	     !(out[ES_RV_LANG] = word_value(v[ES_RF_LANG], lang_words, ES_ARRAY_LEN(lang_words)))) ||
	    (v[ES_RF_ROLE] &&
	     !(out[ES_RV_ROLE] = word_value(v[ES_RF_ROLE], role_words, ES_ARRAY_LEN(role_words)))) ||
	    (!v[ES_RF_ROLE] && lay->role != NULL && !(out[ES_RV_ROLE] = es_strdup(lay->role))))
		goto oom;
	return 0;
oom:
	es_roster_row_free(out);
	return es_err_set(err, ES_EOS, "out of memory");
}
