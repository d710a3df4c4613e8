/* eschool import: many accounts from a roster CSV.
 *
 * 1. Read and validate every row first: a bad row stops everything before
 *    anything is created (unless --keep-going).
 * 2. Match rows against what exists: a row whose account is complete is
 *    skipped, one interrupted before its credentials went out is resumed,
 *    so that re-running the same file after a kill -9 never duplicates;
 *    one whose state outlived its account (userdel) is made again.
 * 3. Hash on every core (yescrypt dominates the cost) while the main thread
 *    creates the accounts of each chunk of rows in one locked pass over the
 *    account files (shadowdb.c), as newusers does, rather than one useradd
 *    and one chpasswd per account. */
#include "cli.h"
#include "commands.h"
#include "ui.h"
#include "strset.h"
#include "rowidx.h"
#include "spill.h"
#include "accounts.h"
#include "directory.h"
#include "provision.h"
#include "log.h"
#include "shadowdb.h"
#include "slips.h"
#include "classgroups.h"
#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "es_fs.h"
#include "es_csv.h"
#include "es_roster.h"
#include "es_names.h"
#include "es_pamin.h"
#include "es_queue.h"
#include "mail/deliver.h"
#include "mail/outbox.h"

#define MAX_ROSTER_BYTES (64L * 1024 * 1024)
#define CHUNK 128
/* The hashing pool's window: the jobs whose credentials may be in memory
 * at once (the writer's chunk, and as many made ahead of it), whatever
 * the roster's size. */
#define POOL_SLOTS ((size_t)2 * CHUNK)
_Static_assert(POOL_SLOTS >= CHUNK, "the writer waits for a whole chunk in the window");
#define TAIL_CHUNK 8 /* the smallest chunk (chunk_end) */
/* A state key of import's: "1" when the account's home path was taken when
 * the import started the account (decided before anything of the account
 * was written, kept for a resumed run): that home is never touched. */
#define K_HOME_KEPT "home_kept"


/* A row's values, as es_roster_row gives them. */
enum col {
	C_USERNAME = ES_RV_USERNAME,
	C_NAME = ES_RV_NAME,         /* as the person is greeted: "Élodie Dupré" */
	C_NAME_KEY = ES_RV_NAME_KEY, /* what a username is derived from */
	C_EMAIL = ES_RV_EMAIL,
	C_PARENT = ES_RV_PARENT,
	C_CLASS = ES_RV_CLASS,
	C_LANG = ES_RV_LANG,
	C_ROLE = ES_RV_ROLE,
	C_COUNT = ES_RV_COUNT,
};

/* A_RECREATE: the row's state is an orphan (its account was deleted):
 * made again, as new. A_UPDATE (sync): the account is there, the roster
 * says something new of it. */
enum action { A_CREATE, A_RESUME, A_RECREATE, A_SKIP, A_UPDATE, A_BAD };

/* sync: how a row found its account when its person key did not */
enum loose { LOOSE_NONE, LOOSE_ADDRESS, LOOSE_NAME };

/* The rare parts of a row (row_more): most rows have none of them. */
struct row_more {
	char *error;      /* the row's first problem */
	char *warning;    /* what the report says of the row (its home) */
	struct es_state *orphan; /* A_RECREATE: the old state, until the account is made */
	struct sync_change *change; /* sync: what A_UPDATE changes, for the report */
	char *qid;        /* production: the queued credentials mail */
	char *nid;        /* production: the queued parent notice */
};

/* How a row's credentials went (production). */
enum delivery { D_NONE, D_SENT, D_QUEUED, D_FALLBACK, D_SLIP };

#define NO_ROLE UINT8_MAX /* row.role before the row's role is resolved */
_Static_assert(ES_MAX_ROLES + 2 < NO_ROLE, "a row's role is one byte");

/* One roster row, kept for the whole run: 100,000 of them make the
 * import's memory, so what few rows have is behind one pointer (more)
 * and the rest is packed: 40 bytes a row. */
struct row {
	/* the row's values (trimmed; absent when empty), one block: those
	 * whose bit is set in `present`, in column order, NUL-terminated
	 * (pack_fields; read through rf), in the working copy (roster.spill) */
	char *fields;
	struct row_more *more; /* NULL: none of its parts (MORE) */
	/* the account's name, once resolve_rows knows it ("" before, and for
	 * a bad row): the roster's value, or a copy in the working copy */
	const char *username;
	uint32_t line; /* (a roster is at most MAX_ROSTER_BYTES: fewer lines) */
	/* class_groups: its class's, k + 1 for im->group_list[k]; 0: none
	 * (row_class_group) */
	uint16_t class_group;
	uint8_t role;      /* its index in im->roles (row_role, row_pol), or NO_ROLE */
	uint8_t action;    /* enum action */
	uint8_t present;
	uint8_t loose;     /* enum loose: sync found it by its address alone or its name alone */
	uint8_t delivery;  /* enum delivery */
	bool created;      /* useradd ran in this run */
	bool home_existed; /* its home path was taken when the import started it */
	bool refused;      /* its name was taken while the import ran: not made */
	bool slip;         /* no address of its own: the password goes on a slip */
};
_Static_assert(sizeof(struct row) <= 40, "a row is 40 bytes: 4 MB at 100,000 rows");

/* A rare part of a row, or NULL. */
#define MORE(row, part) ((row)->more != NULL ? (row)->more->part : NULL)

/* The row's class group (class_groups), or NULL. */
#define row_class_group(im, row) \
	((row)->class_group != 0 ? (const char *)(im)->group_list[(row)->class_group - 1] : NULL)

static const char *delivery_name(enum delivery d)
{
	static const char *const names[] = { [D_NONE] = NULL, [D_SENT] = "sent",
		                             [D_QUEUED] = "queued", [D_FALLBACK] = "fallback",
		                             [D_SLIP] = "slip" };

	return names[d];
}

static const char *loose_name(const struct row *row)
{
	return row->loose == LOOSE_ADDRESS ? "address" : row->loose == LOOSE_NAME ? "name" : NULL;
}

static const struct sync_change *row_change(const struct row *row)
{
	static const struct sync_change none = { NULL, NULL, false };

	return MORE(row, change) != NULL ? row->more->change : &none;
}

_Static_assert(C_COUNT <= 8, "a row's present values are one byte");

/* The row's value of column c, or NULL. */
static const char *rf(const struct row *row, enum col c)
{
	const char *p = row->fields;

	if (!(row->present & (1u << c)))
		return NULL;
	for (int i = 0; i < (int)c; i++)
		if (row->present & (1u << i))
			p += strlen(p) + 1;
	return p;
}

/* The rows in pages of ROWS_PER_PAGE (row_at): they never move, and the
 * last page is all the room made ahead (an array grown by doubling is
 * up to twice the rows, and the roster's rows are not known before it is
 * read). The pages and the rows' values are in the import's working copy
 * (spill.h: a file in state_dir, not the process's memory): settle()
 * drops what the import is done with as it goes through the rows. */
#define ROWS_PER_PAGE ((size_t)1024)
/* rows gone through between two drops: few pages touched meanwhile, even
 * by lookups that jump from row to row */
#define SETTLE_ROWS 64

struct roster {
	struct row **pages;
	size_t n, n_pages;
	struct spill spill;          /* the pages and the values (row.fields) */
	struct es_roster_layout lay; /* which column is what */
	const char *encoding;        /* as decoded (for the dry run's report) */
	char sep;
	size_t n_bad;
};

/* How the administrator said to read the roster. */
struct roster_opts {
	const char *encoding; /* NULL: detect */
	const char *format;   /* NULL: recognise */
	struct es_roster_map map;
	bool strict;          /* columns used by nothing are an error */
};

/* Known roles and their policies, resolved once. */
struct role_pol {
	char name[ES_NAME_MAX + 1];
	struct es_policy pol;
};

/* One credential being made, or made, for job `job`. */
struct pool_slot {
	size_t job;
	bool ready;
	int rc;
	struct es_err *err; /* a failed job's error (NULL: none, or no memory) */
};

struct import {
	struct cli *ctx;
	const char *file;
	struct roster_opts opts;
	struct roster r;
	struct role_pol roles[ES_MAX_ROLES + 2];
	size_t n_roles;
	/* sys_users: name -> uid of those NSS enumerates (a cache: a name not
	 * there is asked with getpwnam, since directories often do not
	 * enumerate); sys_groups likewise; home_kept: the managed users whose
	 * state says K_HOME_KEPT */
	struct strset sys_users, sys_groups, managed, managed_by_person, home_kept;
	struct rowidx csv_names;    /* the rows by username (row_named): the plan's only */
	struct strset slip_pending; /* accounts whose slips a failed run never drew */
	struct class_groups cg;     /* [import] class_groups: which group is whose */
	/* the class groups rows are in, each once (row.class_group): name ->
	 * its index in group_list */
	struct strset group_names;
	char **group_list;
	size_t n_group_list;
	/* sync: the accounts by address alone and by name alone (""
	 * when two have it), the ones a row was matched to, and those
	 * no row lists */
	bool sync, delete_missing;
	struct strset by_email, by_name, matched;
	struct strset csv_persons; /* name -> how many rows have it ("1", "2+") */
	struct sync_gone *gone;
	size_t n_gone, n_updated, n_failed, n_gone_done;
	int unknown_rc; /* an unlisted account whose lookup failed: left, and said by the exit */
	bool allow_partial;
	/* hashing pool: job j's credential is made in slot j % POOL_SLOTS,
	 * once j < window_start + POOL_SLOTS (window_start: the first job
	 * the writer is not done with), and wiped when the writer is done
	 * with j's chunk */
	struct cred *creds;       /* POOL_SLOTS of them */
	struct pool_slot *slots;  /* POOL_SLOTS */
	uint32_t *jobs; /* row indexes that need a credential, in order (rows < 2^32: the
	                  * roster is at most MAX_ROSTER_BYTES) */
	size_t n_jobs, next_job, window_start;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* passwords the end of the run still shows (a production fallback)
	 * or draws (--slips), job j's at kept + j * kept_len; NULL when
	 * neither (debug mode shows each as its chunk is made) */
	char *kept;
	size_t kept_len;
	/* output */
	const char *bar_what; /* what the progress bar counts */
	size_t bar_done, bar_total;
	size_t done;
	size_t n_refused;     /* rows whose name was taken while the import ran */
	size_t n_sent, n_queued, n_fallback;
	/* the queue as the first resumed row found it: the mails that earlier,
	 * interrupted runs queued for the rows being resumed (listed once per
	 * run, not once per row: a resumed chunk must not read the whole
	 * queue 128 times) */
	struct es_qmsg *old_mails;
	size_t n_old_mails;
	int sheet_fd;
	bool pw_listed_all, gr_listed_all; /* see nss_lists_all */
	bool stop;            /* the hashing pool's */
	bool silent;          /* sync's question pass: warnings are the real run's */
	bool progress;
	bool bar_shown;       /* a progress bar is on the terminal's last line */
	bool header_printed;
	bool production;      /* mail the credentials (else: show them) */
	bool dry_run;         /* nothing written: the working copy in memory */
	/* --slips: every credential made also goes on a slip; rows without an
	 * address (row.slip) have no other delivery in production */
	const char *slips_path;
	struct slip_set slips;
	size_t n_slip_rows;
	bool slips_written;
	bool queue_listed;
};

static struct row *row_at(const struct roster *r, size_t i)
{
	return &r->pages[i / ROWS_PER_PAGE][i % ROWS_PER_PAGE];
}

/* The row's rare parts, made when one is first set, in the working copy
 * (production gives every mailed row its queue ids); NULL: no room. What
 * they point to is malloc'd (row_free), but the ids (spill_copy). */
static struct row_more *row_more(struct import *im, struct row *row)
{
	struct es_err e = { 0 };

	if (row->more == NULL)
		row->more = spill_alloc(&im->r.spill, sizeof(*row->more), &e);
	return row->more;
}

/* A copy of text in the working copy (NULL: no room). */
static char *spill_copy(struct import *im, const char *text)
{
	struct es_err e = { 0 };
	size_t len = strlen(text) + 1;
	char *copy = spill_alloc(&im->r.spill, len, &e);

	if (copy != NULL)
		memcpy(copy, text, len);
	return copy;
}

/* The row's role: as resolved, else as the roster says (or "student"). */
static const char *row_role(const struct import *im, const struct row *row)
{
	const char *role;

	if (row->role != NO_ROLE)
		return im->roles[row->role].name;
	role = rf(row, C_ROLE);
	return role != NULL ? role : "student";
}

/* The policy of a row whose role is resolved (every row but a bad one). */
static const struct es_policy *row_pol(const struct import *im, const struct row *row)
{
	return &im->roles[row->role].pol;
}

static void row_free(struct row *row)
{
	struct row_more *m = row->more;

	if (m == NULL)
		return;
	free(m->error);
	free(m->warning);
	if (m->orphan != NULL) {
		es_state_free(m->orphan);
		free(m->orphan);
	}
	if (m->change != NULL) {
		sync_change_free(m->change);
		free(m->change);
	}
	/* (m itself and its ids are in the working copy) */
}

/* ---- what reaches a terminal or a log ----
 *
 * Names, addresses and file names come from the roster and its path: a C1
 * control (U+009B is a CSI), a bidirectional override or an escape
 * sequence would act on the terminal or disguise a line. Whatever quotes
 * them goes out through es_log_escape, as the log lines do. */

/* s escaped into buf (cut with "..." when longer). */
static const char *esc(const char *s, char *buf, size_t bufsz)
{
	(void)es_log_escape(s != NULL ? s : "", buf, bufsz);
	return buf;
}

static void bar_draw(struct import *im)
{
	size_t width = 30, filled;

	if (!im->progress || im->bar_total == 0)
		return;
	filled = im->bar_done * width / im->bar_total;
	(void)fputs("\r[", stderr);
	for (size_t i = 0; i < width; i++)
		(void)fputc(i < filled ? '#' : ' ', stderr);
	(void)fprintf(stderr, "] %zu/%zu %s", im->bar_done, im->bar_total, im->bar_what);
	im->bar_shown = im->bar_done != im->bar_total;
	if (!im->bar_shown)
		(void)fputc('\n', stderr);
	(void)fflush(stderr);
}

/* Erases the bar before a line of the table or a message: the bar is on
 * stderr without a newline, and the line would be written after it. */
static void bar_clear(struct import *im)
{
	if (!im->bar_shown)
		return;
	(void)fputs("\r\033[K", stderr);
	(void)fflush(stderr);
	im->bar_shown = false;
}

/* ui_warn with the whole message escaped, the bar erased and drawn again. */
static void im_warn(struct import *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void im_warn(struct import *im, const char *fmt, ...)
{
	char raw[2 * ES_ERR_MAX], line[4 * ES_ERR_MAX];
	bool redraw = im->bar_shown;
	va_list ap;

	if (im->silent)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(raw, sizeof(raw), _(fmt), ap);
	va_end(ap);
	bar_clear(im);
	ui_warn("%s", esc(raw, line, sizeof(line)));
	if (redraw)
		bar_draw(im);
}

/* The roster, open: a regular file not larger than MAX_ROSTER_BYTES
 * (*sb: as it was then). */
static int open_roster(const char *path, int *out, struct stat *sb, struct es_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return es_err_errno(err, errno == ENOENT ? ES_EDATA : ES_EIO, errno,
		                    "cannot open %s", path);
	if (fstat(fd, sb) != 0) {
		es_err_errno(err, ES_EIO, errno, "cannot stat %s", path);
	} else if (!S_ISREG(sb->st_mode)) {
		es_err_set(err, ES_EDATA, "%s is not a regular file", path);
	} else if (sb->st_size > MAX_ROSTER_BYTES) {
		es_err_set(err, ES_EDATA, "%s is larger than %ld MB: split it", path,
		           MAX_ROSTER_BYTES / 1024 / 1024);
	} else {
		*out = fd;
		return 0;
	}
	(void)close(fd);
	return -1;
}

static void row_error(struct import *im, struct row *row, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void row_error(struct import *im, struct row *row, const char *fmt, ...)
{
	va_list ap;
	char msg[ES_ERR_MAX];

	if (row->action == A_BAD)
		return; /* keep the first problem of a row */
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), _(fmt), ap);
	va_end(ap);
	if (row_more(im, row) != NULL) /* else reported as "out of memory" */
		row->more->error = strdup(msg);
	row->action = A_BAD;
	im->r.n_bad++;
}

/* The header's columns that no field reads, in one warning (or, with
 * --strict, one error): a roster of 28 columns says so once, not 24 times. */
static int report_unused(struct import *im, unsigned long line, struct es_err *err)
{
	const struct es_roster_layout *lay = &im->r.lay;
	struct es_buf names = { 0 };
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < lay->n_cols; i++) {
		if (lay->used[i])
			continue;
		if ((n > 0 && es_buf_puts(&names, ", ") != 0) || es_buf_puts(&names, "'") != 0 ||
		    es_buf_puts(&names, lay->header[i]) != 0 || es_buf_puts(&names, "'") != 0) {
			es_buf_free(&names);
			return es_err_set(err, ES_EOS, "out of memory");
		}
		n++;
	}
	if (n == 0)
		return 0;
	if (im->opts.strict)
		rc = es_err_set(err, ES_EDATA,
		                "%s:%lu: %zu column(s) used by nothing: %s. Say what they are with "
		                "--map 'COLUMN=FIELD' (or COLUMN=ignore), or leave out --strict",
		                im->file, line, n, names.data);
	else
		im_warn(im,
		        _("%s:%lu: %zu column(s) used by nothing, ignored: %s (--map 'COLUMN=FIELD' "
		          "if one of them is a username, name, first_name, last_name, email, "
		          "parent_email, class, lang or role)"),
		        im->file, line, n, names.data);
	es_buf_free(&names);
	return rc;
}

static int parse_header(struct import *im, const struct es_csv_record *rec, struct es_err *err)
{
	if (es_roster_layout(&im->r.lay, rec->fields, rec->n, im->opts.format, &im->opts.map,
	                     err) != 0) {
		es_err_prefix(err, "%s:%lu", im->file, rec->line);
		return -1;
	}
	return report_unused(im, rec->line, err);
}

/* Every SETTLE_ROWS rows a loop goes through (its i-th): the pages of
 * the working copy dropped from memory (spill_settle). */
static void settle(const struct roster *r, size_t i)
{
	if (i % SETTLE_ROWS == SETTLE_ROWS - 1)
		spill_settle(&r->spill);
}

/* The row's values moved next to each other in the working copy (f[]
 * freed): 100,000 rows would otherwise be half a million small
 * allocations. */
static int pack_fields(struct roster *r, struct row *row, char *f[C_COUNT], struct es_err *err)
{
	size_t total = 0, off = 0;

	for (int c = 0; c < C_COUNT; c++)
		total += f[c] != NULL ? strlen(f[c]) + 1 : 0;
	if (total == 0)
		return 0;
	row->fields = spill_alloc(&r->spill, total, err);
	if (row->fields == NULL) {
		es_roster_row_free(f);
		return -1;
	}
	for (int c = 0; c < C_COUNT; c++) {
		size_t len;

		if (f[c] == NULL)
			continue;
		len = strlen(f[c]) + 1;
		memcpy(row->fields + off, f[c], len);
		free(f[c]);
		f[c] = NULL;
		row->present |= (uint8_t)(1u << c);
		off += len;
	}
	return 0;
}

static int add_row(struct import *im, struct es_csv_record *rec, struct es_err *err)
{
	struct row *row;
	struct es_err e = { 0 };
	char *f[C_COUNT] = { NULL };

	if (im->r.n == im->r.n_pages * ROWS_PER_PAGE) {
		struct row **pages = reallocarray(im->r.pages, im->r.n_pages + 1, sizeof(struct row *));

		if (pages == NULL)
			return es_err_set(err, ES_EOS, "out of memory");
		im->r.pages = pages;
		pages[im->r.n_pages] = spill_alloc(&im->r.spill, ROWS_PER_PAGE * sizeof(struct row), err);
		if (pages[im->r.n_pages] == NULL)
			return -1;
		im->r.n_pages++;
	}
	row = row_at(&im->r, im->r.n++);
	memset(row, 0, sizeof(*row));
	row->line = rec->line;
	row->action = A_CREATE;
	row->role = NO_ROLE;
	row->username = "";
	/* a row with fewer fields is refused (its columns would be shifted);
	 * more is a trailing separator when the extra fields are empty */
	for (size_t i = im->r.lay.n_cols; i < rec->n; i++)
		if (es_trim(rec->fields[i])[0] != '\0') {
			row_error(im, row, "expected %zu fields like the header, found %zu",
			          im->r.lay.n_cols, rec->n);
			return 0;
		}
	if (rec->n < im->r.lay.n_cols) {
		row_error(im, row, "expected %zu fields like the header, found %zu",
		          im->r.lay.n_cols, rec->n);
		return 0;
	}
	if (es_roster_row(&im->r.lay, rec->fields, rec->n, f, &e) != 0) {
		if (e.code == ES_EOS) {
			es_err_copy(err, &e);
			return -1;
		}
		row_error(im, row, "%s", ui_err(&e));
	}
	if (f[C_USERNAME] != NULL) { /* a row that names its account derives no name */
		free(f[C_NAME_KEY]);
		f[C_NAME_KEY] = NULL;
	}
	return pack_fields(&im->r, row, f, err);
}

/* The address space the working copy of a roster of `bytes` may need. A
 * row of k bytes takes its row (40 bytes), its values (6k + 8 at most: a
 * single-byte encoding's character may be three bytes of UTF-8, the name
 * is kept twice when it derives the username, and the layout's default
 * role), a derived username (40), its rare parts (48), its job number
 * (4) and two queue ids (56 each), each rounded to 8: a bad row of 2
 * bytes ("a\n") takes about 115, a mailed row (6 bytes at least, with its
 * address) about 305; 64
 * bytes a byte of the file, and 4 MB, cover them (many 2-byte rows can
 * only be the same few names: bad rows). Only what is used is in the
 * file; on a 32-bit system, at most a quarter of the address space. */
static size_t working_copy_reserve(off_t bytes)
{
	size_t most = SIZE_MAX / 4;

	if (bytes < 0 || (uint64_t)bytes > (most - ((size_t)4 << 20)) / 64)
		return most;
	return (size_t)bytes * 64 + ((size_t)4 << 20);
}

/* Reads the roster a block at a time (es_roster_reader): the file is
 * never whole in memory, only the rows' values are kept. It is read
 * twice when its encoding is detected: a file written meanwhile is
 * refused, not read half old and half new. */
static int read_roster(struct import *im, struct es_err *err)
{
	struct es_roster_reader *reader = NULL;
	struct stat before, after;
	struct es_csv_record rec = { 0 };
	unsigned long bad_line = 0;
	int fd = -1, got, rc = -1;
	bool header = true;

	if (open_roster(im->file, &fd, &before, err) != 0)
		return -1;
	if (spill_open(&im->r.spill, im->dry_run ? NULL : im->ctx->cfg.state_dir,
	               working_copy_reserve(before.st_size), err) != 0)
		goto out;
	if (es_roster_reader_open(&reader, fd, im->opts.encoding, 0, MAX_ROSTER_BYTES, err) != 0) {
		es_err_prefix(err, "%s", im->file);
		goto out;
	}
	im->r.encoding = es_roster_reader_encoding(reader);
	while ((got = es_roster_reader_next(reader, &rec, &bad_line, err)) == 1) {
		if (header) {
			header = false;
			im->r.sep = es_roster_reader_sep(reader);
			if (parse_header(im, &rec, err) != 0)
				goto out;
		} else if (add_row(im, &rec, err) != 0) {
			goto out;
		} else {
			settle(&im->r, im->r.n - 1);
		}
	}
	if (got < 0) {
		if (bad_line > 0)
			es_err_prefix(err, "%s:%lu", im->file, bad_line);
		else
			es_err_prefix(err, "%s", im->file);
		goto out;
	}
	if (fstat(fd, &after) != 0) {
		es_err_errno(err, ES_EIO, errno, "cannot stat %s", im->file);
		goto out;
	}
	if (after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != before.st_mtim.tv_nsec) {
		es_err_set(err, ES_EDATA, "%s changed while it was read: import it again once it is "
		           "written", im->file);
		goto out;
	}
	if (header) {
		es_err_set(err, ES_EDATA, "%s: empty file (expected a header row and accounts)",
		           im->file);
		goto out;
	}
	/* the room the later phases take in the working copy, reserved now,
	 * before anything is made: a derived username, the rare parts and
	 * the job number a row, and in production its two queue ids
	 * (working_copy_reserve) */
	if (im->r.n > 0 &&
	    spill_reserve(&im->r.spill,
	                  im->r.n * (size_t)(40 + 48 + 4 + (im->production ? 112 : 0)) + 8,
	                  err) != 0)
		goto out;
	rc = 0;
out:
	es_csv_record_free(&rec);
	es_roster_reader_free(reader);
	if (fd >= 0)
		(void)close(fd);
	return rc;
}

/* The role's index in im->roles (its policy resolved once), or -1. */
static int role_index(struct import *im, const char *role)
{
	for (size_t i = 0; i < im->n_roles; i++)
		if (strcmp(im->roles[i].name, role) == 0)
			return (int)i;
	if (im->n_roles == ES_ARRAY_LEN(im->roles) ||
	    es_strlcpy(im->roles[im->n_roles].name, role, sizeof(im->roles[0].name)) != 0 ||
	    es_config_role_policy(&im->ctx->cfg, role, &im->roles[im->n_roles].pol, NULL) != 0)
		return -1;
	return (int)im->n_roles++;
}

/* Loads what exists: the users and groups NSS enumerates (one pass each,
 * a cache for the names asked about: see user_uid) and the accounts eschool
 * manages, keyed by username and by person. */
static bool is_job(enum action a)
{
	return a == A_CREATE || a == A_RESUME || a == A_RECREATE;
}

struct managed_walk {
	struct import *im;
	struct es_err *err;
	int rc;
};

/* Who a row is, to find them again: the address and the name, or, for a
 * pupil without an address, the name and the class. */
static void person_key(const char *email, const char *name, const char *klass, char *out,
                       size_t outsz)
{
	if (email != NULL && email[0] != '\0')
		(void)snprintf(out, outsz, "%s\n%s", email, name ? name : "");
	else
		(void)snprintf(out, outsz, "\n%s\n%s", name ? name : "", klass ? klass : "");
}

/* Whether NSS's enumeration of db ("passwd", "group") lists every name
 * its lookups find: each source on db's line of nsswitch.conf is one that
 * enumerates all it knows. A directory (sss, ldap with SSSD's default
 * enumerate = false, winbind ...) is not: the names it did not list are
 * asked one by one. When all do, asking would only scan /etc/passwd again
 * for each row (2 ms a name with 10,000 accounts). */
static bool nss_lists_all(const char *db)
{
	static const char *const listing[] = { "files", "systemd", "extrausers" };
	char line[1024];
	size_t dblen = strlen(db);
	bool found = false, all = true;
	FILE *f = fopen("/etc/nsswitch.conf", "re");

	if (f == NULL)
		return false; /* cannot tell: ask */
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *p = line + strspn(line, " \t"), *tok, *save = NULL;
		bool in_action = false;

		if (strncmp(p, db, dblen) != 0)
			continue;
		p += dblen;
		p += strspn(p, " \t");
		if (*p != ':')
			continue;
		found = true;
		for (tok = strtok_r(p + 1, " \t\n", &save); tok != NULL && tok[0] != '#';
		     tok = strtok_r(NULL, " \t\n", &save)) {
			bool known = false;

			if (in_action || tok[0] == '[') { /* [NOTFOUND=return] */
				in_action = tok[strlen(tok) - 1] != ']';
				continue;
			}
			for (size_t i = 0; i < ES_ARRAY_LEN(listing); i++)
				known |= strcmp(tok, listing[i]) == 0;
			all &= known;
		}
	}
	(void)fclose(f);
	return all; /* no line: glibc uses files */
}

/* The uid of user as NSS knows it: first what it enumerated, then
 * getpwnam, which also finds the users of a directory (SSSD, LDAP) that
 * does not enumerate them. -1: no such user; -2: NSS could not say. */
static long user_uid(const struct import *im, const char *user)
{
	const char *v = strset_get(&im->sys_users, user);
	struct passwd pw, *res = NULL;
	struct es_err err = { 0 };
	char buf[4096];
	long uid;
	int e;

	/* accounts in the directory: the directory says (the server's NSS
	 * may not see it) */
	e = directory_uid(user, &uid, &err);
	if (e != 2)
		return e == 1 ? uid : e == 0 ? -1 : -2;
	if (v != NULL)
		return strtol(v, NULL, 10);
	if (im->pw_listed_all)
		return -1;
	e = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (res != NULL)
		return (long)pw.pw_uid;
	return es_nss_not_found(e) ? -1 : -2;
}

static bool group_known(const struct import *im, const char *group)
{
	struct group gr;
	char *buf = NULL;
	int found;

	if (strset_has(&im->sys_groups, group))
		return true;
	if (im->gr_listed_all)
		return false;
	/* an error (NSS down, a group larger than 16 MB ...) counts as
	 * taken: never create over what cannot be checked */
	found = es_group_get(group, &gr, &buf);
	free(buf);
	return found != 0;
}

/* What a state file says of its account, for match_existing: "creating"
 * (an interrupted import or add), "done", "orphan" (its account is gone:
 * userdel), "other" (the name is another uid's now), "corrupt"; then a
 * newline and the state's email. */
static int managed_one(const char *user, void *arg)
{
	struct managed_walk *w = arg;
	struct import *im = w->im;
	struct es_state st;
	struct es_err e = { 0 };
	char key[600], val[320];
	const char *delivery, *kind = "done";

	es_state_init(&st, "");
	if (load_user_state(im->ctx, user, &st, &e) != 0) {
		/* a corrupt file must not be overwritten by a new account */
		im_warn(im, "%s", ui_err(&e));
		(void)strset_put(&im->managed, user, "corrupt");
		es_state_free(&st);
		return 0;
	}
	delivery = es_state_get(&st, ES_K_DELIVERY);
	if (delivery != NULL && strcmp(delivery, "creating") == 0) {
		kind = "creating"; /* whether the account exists yet or not */
	} else {
		long uid = user_uid(im, user);
		struct passwd pw = { .pw_name = (char *)user, .pw_uid = (uid_t)uid };

		if (uid == -2)
			kind = "done"; /* NSS cannot say: never re-create over it */
		else
			switch (es_state_owner(&st, uid >= 0 ? &pw : NULL)) {
			case ES_OWNER_OK:
				/* made, its password waiting for slips a failed or
				 * killed run never drew: completed with a new
				 * password, as creating (the account is still the
				 * one eschool made: checked above) */
				if (delivery != NULL && strcmp(delivery, "slip-pending") == 0) {
					kind = "creating";
					if (strset_put(&im->slip_pending, user, NULL) != 0)
						w->rc = es_err_set(w->err, ES_EOS, "out of memory");
				}
				break;
			case ES_OWNER_GONE:
				kind = "orphan";
				break;
			case ES_OWNER_OTHER:
				kind = "other";
				break;
			}
	}
	(void)snprintf(val, sizeof(val), "%s\n%s", kind,
	               es_state_get(&st, ES_K_EMAIL) ? es_state_get(&st, ES_K_EMAIL) : "");
	person_key(es_state_get(&st, ES_K_EMAIL), es_state_get(&st, ES_K_NAME),
	           es_state_get(&st, ES_K_CLASS), key, sizeof(key));
	/* a name stored as the roster wrote it ("DUPRÉ Élodie", before names
	 * were greeted so) is found by its greeting too: the same roster
	 * run again finds the same person */
	if (es_state_get(&st, ES_K_NAME) != NULL) {
		char greeting[512], key2[600];

		es_name_greeting(es_state_get(&st, ES_K_NAME), greeting, sizeof(greeting));
		person_key(es_state_get(&st, ES_K_EMAIL), greeting, es_state_get(&st, ES_K_CLASS),
		           key2, sizeof(key2));
		if (strcmp(key2, key) != 0 && !strset_has(&im->managed_by_person, key2) &&
		    strset_put(&im->managed_by_person, key2, user) != 0)
			w->rc = es_err_set(w->err, ES_EOS, "out of memory");
	}
	if (im->ctx->cfg.import_class_groups && class_groups_note(&im->cg, &st, w->err) != 0)
		w->rc = -1;
	if (im->sync && w->rc == 0 && strcmp(kind, "done") == 0) {
		const char *email = es_state_get(&st, ES_K_EMAIL), *name = es_state_get(&st, ES_K_NAME);
		const char *given = es_state_get(&st, ES_K_ROSTER_EMAIL);
		char greeting[512], key3[600];

		es_name_greeting(name != NULL ? name : "", greeting, sizeof(greeting));
		if ((email != NULL && email[0] != '\0' &&
		     strset_put(&im->by_email, email, strset_has(&im->by_email, email) ? "" : user) != 0) ||
		    (greeting[0] != '\0' &&
		     strset_put(&im->by_name, greeting, strset_has(&im->by_name, greeting) ? "" : user) != 0))
			w->rc = es_err_set(w->err, ES_EOS, "out of memory");
		/* the address the roster gave, when the user confirmed another
		 * since: the roster still says it, and finds them by it */
		if (w->rc == 0 && given != NULL && given[0] != '\0' &&
		    (email == NULL || strcmp(given, email) != 0)) {
			person_key(given, greeting, es_state_get(&st, ES_K_CLASS), key3, sizeof(key3));
			if ((!strset_has(&im->managed_by_person, key3) &&
			     strset_put(&im->managed_by_person, key3, user) != 0) ||
			    strset_put(&im->by_email, given, strset_has(&im->by_email, given) ? "" : user) != 0)
				w->rc = es_err_set(w->err, ES_EOS, "out of memory");
		}
	}
	if (w->rc != 0 || strset_put(&im->managed, user, val) != 0 ||
	    strset_put(&im->managed_by_person, key, user) != 0 ||
	    (es_state_get_bool(&st, K_HOME_KEPT) &&
	     strset_put(&im->home_kept, user, NULL) != 0)) {
		w->rc = es_err_set(w->err, ES_EOS, "out of memory");
		es_state_free(&st);
		return 1;
	}
	es_state_free(&st);
	return 0;
}

static int load_existing(struct import *im, struct es_err *err)
{
	struct managed_walk w = { im, err, 0 };
	struct passwd *pw;
	struct group *gr;

	im->pw_listed_all = nss_lists_all("passwd");
	im->gr_listed_all = nss_lists_all("group");
	setpwent();
	while ((pw = getpwent()) != NULL) {
		char uid[24];

		(void)snprintf(uid, sizeof(uid), "%ld", (long)pw->pw_uid);
		/* the first entry of a name is the one getpwnam returns */
		if (!strset_has(&im->sys_users, pw->pw_name) &&
		    strset_put(&im->sys_users, pw->pw_name, uid) != 0)
			break;
	}
	endpwent();
	setgrent();
	while ((gr = getgrent()) != NULL)
		if (strset_put(&im->sys_groups, gr->gr_name, NULL) != 0)
			break;
	endgrent();
	if (es_store_foreach(&im->ctx->store, managed_one, &w, err) != 0 || w.rc != 0)
		return -1;
	return 0;
}

static bool has_username(size_t i, const char *name, void *arg)
{
	const struct import *im = arg;

	return strcmp(row_at(&im->r, i)->username, name) == 0;
}

/* The (last) row whose username is name, or -1. */
static long row_named(const struct import *im, const char *name)
{
	return rowidx_find(&im->csv_names, name, has_username, (void *)im);
}

static bool name_taken(const char *name, void *arg)
{
	const struct import *im = arg;

	return strset_has(&im->managed, name) || row_named(im, name) >= 0 ||
	       is_role_group(&im->ctx->cfg, name) || user_uid(im, name) != -1 ||
	       group_known(im, name);
}

/* Decides what to do with a row whose username is known. */
static void match_existing(struct import *im, struct row *row, size_t i)
{
	const char *m = strset_get(&im->managed, row->username);
	long prev = row_named(im, row->username);
	long uid;

	if (prev >= 0) {
		char line[24];

		(void)snprintf(line, sizeof(line), "%lu", (unsigned long)row_at(&im->r, prev)->line);
		row_error(im, row, "username %s is also on line %s", row->username, line);
		return;
	}
	if (m != NULL) {
		const char *nl = strchr(m, '\n');
		size_t klen = nl ? (size_t)(nl - m) : strlen(m);
		/* sync: the same account with a new address (sync_plan says) */
		bool same = (nl != NULL &&
		             strcmp(nl + 1, rf(row, C_EMAIL) != NULL ? rf(row, C_EMAIL) : "") == 0) ||
		            (im->sync && klen == 4 && strncmp(m, "done", 4) == 0);

		if (strcmp(m, "corrupt") == 0) {
			row_error(im, row, "the state of user %s is corrupt; see 'eschool show %s'",
			          row->username, row->username);
		} else if (klen == 5 && strncmp(m, "other", 5) == 0) {
			row_error(im, row,
			          _("user %s already exists on this system, and it is not the account "
			            "eschool made (another uid): its eschool state is left from a "
			            "deleted account; choose another username, or remove that state "
			            "with 'eschool forget %s'"),
			          row->username, row->username);
		} else if (!same && klen == 6 && strncmp(m, "orphan", 6) == 0) {
			row_error(im, row,
			          _("user %s: eschool still has the state of a deleted account of that "
			            "name, for another email address; remove it with 'eschool forget %s' "
			            "or choose another username"),
			          row->username, row->username);
		} else if (!same) {
			row_error(im, row,
			          "user %s already exists (managed by eschool, another email "
			          "address); use 'eschool reset %s' or another username",
			          row->username, row->username);
		} else if (klen == 8 && strncmp(m, "creating", 8) == 0) {
			row->action = A_RESUME;
		} else if (klen == 6 && strncmp(m, "orphan", 6) == 0) {
			if (!account_source_for(row_pol(im, row))->writes)
				row_error(im, row,
				          "accounts.backend = none: user %s must already exist in the "
				          "directory",
				          row->username);
			else
				row->action = A_RECREATE; /* userdel: made again, as new */
		} else {
			row->action = A_SKIP;
		}
	} else if (!account_source_for(row_pol(im, row))->writes) {
		/* accounts come from a directory: the user must be there already
		 * (getpwnam, since directories often do not enumerate) */
		if (!user_exists(row->username))
			row_error(im, row,
			          "accounts.backend = none: user %s must already exist in the "
			          "directory",
			          row->username);
	} else if ((uid = user_uid(im, row->username)) != -1) {
		if (uid == -2)
			row_error(im, row,
			          _("cannot tell whether user %s exists (the user database did not "
			            "answer): try again"),
			          row->username);
		else
			row_error(im, row,
			          "user %s already exists on this system (not created by eschool)",
			          row->username);
	} else if (group_known(im, row->username) ||
	           is_role_group(&im->ctx->cfg, row->username)) {
		row_error(im, row, "a group named %s already exists: choose another username",
		          row->username);
	}
	if (row->action != A_BAD &&
	    rowidx_add(&im->csv_names, row->username, i) != 0)
		row_error(im, row, "out of memory");
}

/* sync: only one row of the roster has this name (what 'n') or address ('e') */
static bool one_row_has(const struct import *im, char what, const char *value)
{
	char key[600];
	const char *count;

	(void)snprintf(key, sizeof(key), "%c:%s", what, value);
	count = strset_get(&im->csv_persons, key);
	return count != NULL && strcmp(count, "1") == 0;
}

/* sync: a row the person key does not find (a new address, or a pupil
 * without one who changed class) is the account with its address alone,
 * else with its name alone, when one account and one row have it. */
/* The account's name a and the row's b (as greeted: given name first)
 * have the same given name,
 * folded: an address alone finds the account only then (a surname
 * corrected keeps the account; a sibling given the family's address is
 * not his sister). */
static bool same_given_name(const char *a, const char *b)
{
	char greeted[512], fa[512], fb[512];
	size_t la, lb;

	/* a name stored as rosters wrote it before ("DUPRÉ Élodie") */
	es_name_greeting(a, greeted, sizeof(greeted));
	es_fold_ascii(greeted, fa, sizeof(fa));
	es_fold_ascii(b, fb, sizeof(fb));
	la = strcspn(fa, " ");
	lb = strcspn(fb, " ");
	return la > 0 && la == lb && strncmp(fa, fb, la) == 0;
}

/* A loose match's account: of the row's role, not disabled (one who
 * left: a namesake who arrives is someone else), and by address only
 * with the same given name. */
static bool loose_ok(struct import *im, const struct row *row, const char *user, bool by_address)
{
	struct es_state st;
	struct es_err e = { 0 };
	bool ok;

	es_state_init(&st, "");
	ok = load_user_state(im->ctx, user, &st, &e) == 0 &&
	     strcmp(es_state_get(&st, ES_K_ROLE) != NULL ? es_state_get(&st, ES_K_ROLE) : "student",
	            row_role(im, row)) == 0 &&
	     !es_state_get_bool(&st, ES_K_DISABLED) &&
	     (!by_address || same_given_name(es_state_get(&st, ES_K_NAME) != NULL
	                                          ? es_state_get(&st, ES_K_NAME)
	                                          : "",
	                                  rf(row, C_NAME) != NULL ? rf(row, C_NAME) : ""));
	es_state_free(&st);
	return ok;
}

static const char *sync_match(struct import *im, struct row *row)
{
	const char *user = NULL;

	if (!im->sync)
		return NULL;
	row->loose = LOOSE_NONE;
	if (rf(row, C_EMAIL) != NULL && one_row_has(im, 'e', rf(row, C_EMAIL))) {
		user = strset_get(&im->by_email, rf(row, C_EMAIL));
		if (user != NULL && (user[0] == '\0' || strset_has(&im->matched, user) ||
		                     !loose_ok(im, row, user, true)))
			user = NULL; /* never kept when refused: the name may not look */
		else if (user != NULL)
			row->loose = LOOSE_ADDRESS;
	}
	if (user == NULL && rf(row, C_NAME) != NULL && one_row_has(im, 'n', rf(row, C_NAME))) {
		user = strset_get(&im->by_name, rf(row, C_NAME));
		if (user != NULL && (user[0] == '\0' || !loose_ok(im, row, user, false)))
			user = NULL;
		else if (user != NULL)
			row->loose = LOOSE_NAME;
	}
	/* an account another row finds exactly, or a row took already */
	if (user == NULL || strset_has(&im->matched, user) || row_named(im, user) >= 0) {
		row->loose = LOOSE_NONE;
		return NULL;
	}
	return user;
}

static bool same_person(size_t i, const char *key, void *arg)
{
	const struct import *im = arg;
	const struct row *row = row_at(&im->r, i);
	char k[600];

	person_key(rf(row, C_EMAIL), rf(row, C_NAME), rf(row, C_CLASS), k, sizeof(k));
	return strcmp(k, key) == 0;
}

/* The row's username, a copy of name in the working copy: 0, or -1 (the
 * row is bad: no memory). */
static int set_username(struct import *im, struct row *row, const char *name)
{
	size_t len = strlen(name) + 1;
	struct es_err e = { 0 };
	char *copy = spill_alloc(&im->r.spill, len, &e);

	if (copy == NULL) {
		row_error(im, row, "%s", ui_err(&e));
		return -1;
	}
	memcpy(copy, name, len);
	row->username = copy;
	return 0;
}

static int resolve_rows(struct import *im, struct es_err *err)
{
	struct es_err e;
	struct rowidx seen_person; /* the rows by person key */

	/* both indexes made once, for the roster's rows (all read by now) */
	if (rowidx_init(&seen_person, im->r.n) != 0 || rowidx_init(&im->csv_names, im->r.n) != 0) {
		rowidx_free(&seen_person);
		return es_err_set(err, ES_EOS, "out of memory");
	}

	/* sync: how many rows have each address and each name, and which
	 * accounts rows find by their person key (never taken by another
	 * row's looser match) */
	for (size_t i = 0; im->sync && i < im->r.n; i++) {
		settle(&im->r, i);
		struct row *row = row_at(&im->r, i);
		char key[600];
		const char *exact;

		if (row->action == A_BAD)
			continue;
		for (int f = 0; f < 2; f++) {
			const char *v = rf(row, f == 0 ? C_NAME : C_EMAIL);

			if (v == NULL)
				continue;
			(void)snprintf(key, sizeof(key), "%c:%s", f == 0 ? 'n' : 'e', v);
			if (strset_put(&im->csv_persons, key,
			               strset_has(&im->csv_persons, key) ? "2+" : "1") != 0)
				row_error(im, row, "out of memory");
		}
		person_key(rf(row, C_EMAIL), rf(row, C_NAME), rf(row, C_CLASS), key, sizeof(key));
		exact = rf(row, C_USERNAME) != NULL ? rf(row, C_USERNAME)
		                                   : strset_get(&im->managed_by_person, key);
		if (exact != NULL && strset_put(&im->matched, exact, NULL) != 0)
			row_error(im, row, "out of memory");
	}

	for (size_t i = 0; i < im->r.n; i++) {
		settle(&im->r, i);
		struct row *row = row_at(&im->r, i);
		struct person p;
		char key[600], base[ES_NAME_MAX + 1], user[ES_NAME_MAX + 1];
		const char *prev;
		long same;
		int role;

		if (row->action == A_BAD)
			continue;
		p = (struct person){ rf(row, C_USERNAME), rf(row, C_EMAIL),  rf(row, C_NAME),
			             row_role(im, row),    rf(row, C_CLASS),  rf(row, C_LANG),
			             rf(row, C_PARENT) };
		if (person_check(im->ctx, &p, &e) != 0) {
			row_error(im, row, "%s", ui_err(&e));
			continue;
		}
		row->slip = rf(row, C_EMAIL) == NULL;
		role = role_index(im, row_role(im, row));
		if (role < 0) {
			row_error(im, row, "role %s: bad policy", row_role(im, row));
			continue;
		}
		row->role = (uint8_t)role;
		person_key(rf(row, C_EMAIL), rf(row, C_NAME), rf(row, C_CLASS), key, sizeof(key));
		same = rowidx_find(&seen_person, key, same_person, im);
		if (same >= 0 && rf(row, C_USERNAME) == NULL) {
			char line[24];

			(void)snprintf(line, sizeof(line), "%lu", (unsigned long)row_at(&im->r, same)->line);
			if (rf(row, C_EMAIL) != NULL)
				row_error(im, row, "same person as line %s (same name and email)", line);
			else
				row_error(im, row,
				          "same person as line %s (same name and class, no address)",
				          line);
			continue;
		}
		if (rf(row, C_USERNAME) != NULL) {
			row->username = rf(row, C_USERNAME);
		} else if (rf(row, C_NAME) == NULL) {
			row_error(im, row, "no username and no name to derive one from");
			continue;
		} else if ((prev = strset_get(&im->managed_by_person, key)) != NULL ||
		           (prev = sync_match(im, row)) != NULL) {
			/* this person was imported before: same account */
			if (set_username(im, row, prev) != 0)
				continue;
		} else {
			es_username_base(rf(row, C_NAME_KEY), base, sizeof(base));
			if (es_username_unique(base, name_taken, im, user, sizeof(user)) != 0) {
				row_error(im, row, "no free username derived from '%s'", base);
				continue;
			}
			if (set_username(im, row, user) != 0)
				continue;
		}
		match_existing(im, row, i);
		if (row->action != A_BAD && rowidx_add(&seen_person, key, i) != 0)
			row_error(im, row, "out of memory");
	}
	rowidx_free(&seen_person);
	return 0;
}

/* ---- hashing pool ---- */

static void *hash_worker(void *arg)
{
	struct import *im = arg;

	for (;;) {
		struct pool_slot *slot;
		size_t j;
		int rc;

		(void)pthread_mutex_lock(&im->mu);
		while (!im->stop && im->next_job < im->n_jobs &&
		       im->next_job >= im->window_start + POOL_SLOTS)
			(void)pthread_cond_wait(&im->cv, &im->mu);
		if (im->stop || im->next_job >= im->n_jobs) {
			(void)pthread_mutex_unlock(&im->mu);
			return NULL;
		}
		j = im->next_job++;
		slot = &im->slots[j % POOL_SLOTS];
		*slot = (struct pool_slot){ .job = j };
		(void)pthread_mutex_unlock(&im->mu);
		struct es_err e = { 0 };

		rc = cred_make(row_pol(im, row_at(&im->r, im->jobs[j])), &im->creds[j % POOL_SLOTS], &e);
		(void)pthread_mutex_lock(&im->mu);
		slot->rc = rc;
		if (rc != 0 && (slot->err = malloc(sizeof(e))) != NULL)
			*slot->err = e;
		slot->ready = true;
		(void)pthread_cond_broadcast(&im->cv);
		(void)pthread_mutex_unlock(&im->mu);
	}
}

/* Job j's slot, once its credential is made. */
static const struct pool_slot *wait_ready(struct import *im, size_t j)
{
	const struct pool_slot *slot = &im->slots[j % POOL_SLOTS];

	(void)pthread_mutex_lock(&im->mu);
	while (!(slot->job == j && slot->ready))
		(void)pthread_cond_wait(&im->cv, &im->mu);
	(void)pthread_mutex_unlock(&im->mu);
	return slot;
}

static struct cred *cred_of(struct import *im, size_t j)
{
	return &im->creds[j % POOL_SLOTS];
}

/* The writer is done with the jobs before `to`: their slots are wiped
 * and given to the jobs after the window. */
static void release_jobs(struct import *im, size_t to)
{
	(void)pthread_mutex_lock(&im->mu);
	for (size_t j = im->window_start; j < to; j++) {
		struct pool_slot *slot = &im->slots[j % POOL_SLOTS];

		cred_wipe(cred_of(im, j));
		free(slot->err);
		*slot = (struct pool_slot){ .job = SIZE_MAX };
	}
	im->window_start = to;
	(void)pthread_cond_broadcast(&im->cv);
	(void)pthread_mutex_unlock(&im->mu);
}

/* Job j's password, kept for the end of the run (im->kept). */
static char *kept_password(const struct import *im, size_t j)
{
	return im->kept + j * im->kept_len;
}

/* ---- output ---- */

static void progress(struct import *im)
{
	im->bar_what = _("accounts");
	im->bar_done = im->done;
	im->bar_total = im->n_jobs;
	bar_draw(im);
}

/* CSV field for the credentials sheet: quoted, inner quotes doubled, and a
 * leading = + - @ neutralised so that a spreadsheet does not run it. */
static int sheet_field(struct es_buf *b, const char *s, bool last)
{
	int rc = es_buf_puts(b, "\"");

	if (s != NULL && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@'))
		rc |= es_buf_puts(b, "'");
	for (; s != NULL && *s != '\0'; s++)
		rc |= *s == '"' ? es_buf_puts(b, "\"\"") : es_buf_append(b, s, 1);
	return rc | es_buf_puts(b, last ? "\"\r\n" : "\",");
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One credential in --json: as ui_print_credential, with what the report
 * says of the row (its home) under "warning". */
static void print_cred(struct import *im, const struct row *row, const char *password,
                       const char *delivery)
{
	struct es_buf b = { 0 };
	int rc;

	if (MORE(row, warning) == NULL) {
		ui_print_credential(im->ctx, row->username, password, delivery);
		return;
	}
	rc = es_buf_puts(&b, "{\"username\":") | es_buf_json_str(&b, row->username);
	if (password != NULL)
		rc |= es_buf_puts(&b, ",\"password\":") | es_buf_json_str(&b, password);
	rc |= es_buf_puts(&b, ",\"delivery\":") | es_buf_json_str(&b, delivery) |
	      es_buf_puts(&b, ",\"warning\":") | es_buf_json_str(&b, row->more->warning) |
	      es_buf_puts(&b, "}\n");
	if (rc != 0)
		ui_warn("out of memory");
	else
		ui_out_write(&b);
	es_buf_free(&b);
}

static int deliver(struct import *im, const struct row *row, const struct cred *cred,
                   struct es_err *err)
{
	struct es_buf b = { 0 };
	char name[1024];
	int rc = 0;

	if (im->ctx->json) {
		print_cred(im, row, cred->password, "printed");
	} else {
		/* -q keeps the credentials: they are what was asked for */
		bar_clear(im); /* redrawn by the next progress() */
		if (!im->header_printed && !im->ctx->quiet) {
			printf("%-20s %-14s %s\n", _("USERNAME"),
			       _("PASSWORD"), _("NAME"));
			im->header_printed = true;
		}
		if (es_buf_printf(&b, "%-20s %-14s %s\n", row->username, cred->password,
		                  esc(rf(row, C_NAME), name, sizeof(name))) == 0)
			ui_out_write(&b);
		es_buf_free(&b);
	}
	if (im->sheet_fd >= 0) {
		rc = sheet_field(&b, row->username, false) | sheet_field(&b, rf(row, C_NAME), false) |
		     sheet_field(&b, rf(row, C_CLASS), false) | sheet_field(&b, row_role(im, row), false) |
		     sheet_field(&b, rf(row, C_EMAIL), false) | sheet_field(&b, cred->password, true);
		if (rc != 0 || write_all(im->sheet_fd, b.data, b.len) != 0)
			rc = es_err_errno(err, ES_EIO, errno, "cannot write the credentials sheet");
		es_buf_free(&b);
	}
	return rc;
}

/* What an interrupted run queued for a row being resumed (killed between
 * queueing its mails and recording it in the state): its credentials mail
 * holds a password about to be replaced and is dropped; its parent notice
 * is kept, and *has_notice tells the caller not to queue a second one. The
 * queue is listed once per run, not once per resumed row. */
static int resume_queued(struct import *im, const char *user, bool *has_notice,
                         struct es_err *err)
{
	size_t bad = 0;

	*has_notice = false;
	if (!im->queue_listed) {
		if (es_queue_list(im->ctx->cfg.spool_dir, &im->old_mails, &im->n_old_mails, &bad,
		                  err) != 0)
			return -1;
		es_err_clear(err); /* a corrupt file is queue run's to report */
		im->queue_listed = true;
	}
	return drop_stale_listed(im->ctx, im->old_mails, im->n_old_mails, user, has_notice, err);
}

/* Production, phase 1: queues the row's credentials mail (and its parent
 * notice) while its state is locked. A mail that cannot be queued (full
 * disk ...) makes the row a fallback: its password is shown at the end. */
static int queue_row(struct import *im, struct row *row, const struct es_state *st,
                     const struct cred *cred)
{
	struct cli *ctx = im->ctx;
	struct es_buf msg = { 0 };
	struct es_qmsg m;
	struct es_err e = { 0 };
	char kind[80];
	const char *parent = es_state_get(st, ES_K_PARENT_EMAIL);
	bool has_notice = false;

	/* a resumed account gets a new password: its old mail must not go */
	if ((row->action == A_RESUME || row->action == A_RECREATE) &&
	    resume_queued(im, row->username, &has_notice, &e) != 0)
		im_warn(im, "%s", ui_err(&e));
	es_account_welcome_kind(&ctx->cfg, row_role(im, row), kind, sizeof(kind));
	row->delivery = D_QUEUED;
	if (row->slip) {
		row->delivery = D_SLIP; /* the PDF, written once every row is made */
	} else if (queue_credential(ctx, st, kind, rf(row, C_EMAIL), rf(row, C_NAME), cred->password,
	                        ES_QPRIO_CREDENTIALS, &m, &msg, &e) != 0) {
		im_warn(im, "%s:%lu: %s", im->file, (unsigned long)row->line, ui_err(&e));
		row->delivery = D_FALLBACK;
	} else if (row_more(im, row) != NULL) { /* else sent by the next queue run */
		row->more->qid = spill_copy(im, m.id);
	}
	es_buf_free(&msg);
	if (parent != NULL && parent[0] != '\0' && strcmp(row_role(im, row), "student") == 0 &&
	    !has_notice) {
		es_err_clear(&e);
		if (queue_credential(ctx, st, "parent-notice", parent, NULL, NULL,
		                        ES_QPRIO_NOTICE, &m, &msg, &e) != 0)
			im_warn(im, "%s:%lu: %s", im->file, (unsigned long)row->line, ui_err(&e));
		else if (row_more(im, row) != NULL)
			row->more->nid = spill_copy(im, m.id);
		es_buf_free(&msg);
	}
	return 0;
}

static void mail_progress(struct import *im, size_t done, size_t total)
{
	im->bar_what = _("mails");
	im->bar_done = done;
	im->bar_total = total;
	bar_draw(im);
}

/* Sends one queued message of this import through the outbox; returns the
 * outcome (OUTCOME_HELD when it was not tried). */
static enum outcome send_queued(struct import *im, struct outbox *ob, const char *id)
{
	struct es_err e = { 0 };
	struct es_qmsg m;
	struct smtp_result r;
	enum outcome outcome = OUTCOME_HELD;
	char *msg = NULL;
	size_t len = 0;

	if (outbox_read(ob, id, &m, &msg, &len, &e) != 0) {
		im_warn(im, "%s", ui_err(&e));
		return OUTCOME_HELD;
	}
	if (outbox_send(ob, &m, msg, len, &outcome, &r, &e) != 0)
		im_warn(im, "%s", ui_err(&e));
	sodium_memzero(msg, len);
	free(msg);
	return outcome;
}

/* Production, phase 2: delivers what phase 1 queued, credentials first,
 * within the quota; what the quota holds waits for `queue run`. */
static void send_all(struct import *im)
{
	struct outbox *ob = NULL;
	struct es_err e = { 0 };
	size_t total = 0, done = 0;
	bool busy = false, notices = false;

	for (size_t j = 0; j < im->n_jobs; j++) {
		settle(&im->r, j);
		total += MORE(row_at(&im->r, im->jobs[j]), qid) != NULL;
		notices |= MORE(row_at(&im->r, im->jobs[j]), nid) != NULL;
	}
	if (total == 0 && !notices)
		return;
	if (outbox_open(im->ctx, 0, &ob, &e) != 0) {
		busy = e.code == ES_ETEMP;
		if (!busy)
			im_warn(im, "%s", ui_err(&e));
	}
	for (size_t j = 0; j < im->n_jobs; j++) {
		settle(&im->r, j);
		struct row *row = row_at(&im->r, im->jobs[j]);
		enum outcome outcome;

		if (MORE(row, qid) == NULL)
			continue;
		if (busy) { /* a running `queue run` takes them */
			row->delivery = D_QUEUED;
			continue;
		}
		outcome = ob != NULL ? send_queued(im, ob, row->more->qid) : OUTCOME_HELD;
		if (outcome == OUTCOME_SENT)
			row->delivery = D_SENT;
		else if (outcome == OUTCOME_HELD && ob != NULL && outbox_over_quota(ob))
			row->delivery = D_QUEUED;
		else
			row->delivery = D_FALLBACK; /* tried, or the server is out of reach */
		mail_progress(im, ++done, total);
	}
	for (size_t j = 0; ob != NULL && j < im->n_jobs; j++) {
		settle(&im->r, j);
		const struct row *row = row_at(&im->r, im->jobs[j]);

		/* a parent is told once the pupil's slip exists */
		if (row->slip && !im->slips_written)
			continue;
		if (MORE(row, nid) != NULL && !outbox_stopped(ob))
			(void)send_queued(im, ob, row->more->nid);
	}
	if (ob != NULL && outbox_over_quota(ob))
		im_warn(im, "%s",
		        _("the sending quota is reached: the other mails wait for the next window "
		          "(eschool queue status)"));
	outbox_close(ob);
}

/* The account's state says how its credentials went (as add does). */
static void record_delivery(struct import *im, const char *user, const char *delivery)
{
	struct es_state st;
	struct es_record rec;
	struct es_err e = { 0 };
	int rc;

	es_state_init(&st, "");
	rc = es_record_open(&im->ctx->store, user, ES_RECORD_WRITE, &st, &rec, &e);
	if (rc != 0 || es_state_set(&st, ES_K_DELIVERY, delivery) != 0 ||
	    es_record_save(&rec, &e) != 0)
		im_warn(im, "%s", e.msg[0] ? ui_err(&e) : rc > 0 ? "state gone" : "out of memory");
	if (rc >= 0)
		es_record_close(&rec);
	es_state_free(&st);
}

/* Production, phase 3: one line per account; the password only where the
 * mail could not go (fallback). */
static int report_all(struct import *im, struct es_err *err)
{
	struct cli *ctx = im->ctx;
	struct es_buf b = { 0 };
	int rc = 0;

	for (size_t j = 0; j < im->n_jobs; j++) {
		settle(&im->r, j);
		const struct row *row = row_at(&im->r, im->jobs[j]);
		bool shown = row->delivery == D_FALLBACK;
		const char *password = shown && im->kept != NULL ? kept_password(im, j) : NULL;
		const char *delivery = delivery_name(row->delivery);

		if (delivery == NULL)
			continue; /* not reached: an error stopped the import before */

		/* a slip not drawn: the row stays "slip-pending" (the next run) */
		if (strcmp(delivery, "slip") == 0 && !im->slips_written)
			delivery = "slip-pending";
		im->n_sent += strcmp(delivery, "sent") == 0;
		im->n_queued += strcmp(delivery, "queued") == 0;
		im->n_fallback += shown;
		if (ctx->json) {
			print_cred(im, row, password, delivery);
		} else if (!ctx->quiet || shown) {
			char name[1024];

			bar_clear(im);
			if (!im->header_printed) {
				printf("%-20s %-10s %-14s %s\n", _("USERNAME"),
				       _("MAIL"), _("PASSWORD"),
				       _("NAME"));
				im->header_printed = true;
			}
			if (es_buf_printf(&b, "%-20s %-10s %-14s %s\n", row->username,
			                  strcmp(delivery, "sent") == 0    ? _("sent")
			                  : strcmp(delivery, "slip") == 0  ? _("slip")
			                  : strcmp(delivery, "slip-pending") == 0 ? _("NO SLIP")
			                  : shown                          ? _("NOT SENT")
			                                                   : _("queued"),
			                  shown ? password : "-",
			                  esc(rf(row, C_NAME), name, sizeof(name))) == 0)
				ui_out_write(&b);
			es_buf_free(&b);
		}
		if (im->sheet_fd >= 0) {
			if ((sheet_field(&b, row->username, false) | sheet_field(&b, rf(row, C_NAME), false) |
			     sheet_field(&b, rf(row, C_CLASS), false) | sheet_field(&b, row_role(im, row), false) |
			     sheet_field(&b, rf(row, C_EMAIL), false) |
			     sheet_field(&b, password != NULL ? password : "", true)) != 0 ||
			    write_all(im->sheet_fd, b.data, b.len) != 0)
				rc = es_err_errno(err, ES_EIO, errno, "cannot write the credentials sheet");
			es_buf_free(&b);
		}
		if (im->kept != NULL)
			sodium_memzero(kept_password(im, j), im->kept_len);
		/* "slip" was recorded when the PDF was written (write_slips) */
		if (strcmp(delivery, "queued") != 0 && strcmp(delivery, "slip-pending") != 0 &&
		    strcmp(delivery, "slip") != 0)
			record_delivery(im, row->username, delivery);
	}
	return rc;
}

/* Undoes the rows of a chunk whose password could not be set: an account
 * this run made goes through its own source (userdel, or the directory
 * entry: never userdel for a directory account, which would remove a
 * local user of that name), then a new row's journal. An account that
 * could not be removed keeps its journal ("creating"), which the next run
 * completes; without it the account would be left as one eschool did not
 * make. A directory that stopped answering refuses every undo: the rows
 * stay as they are for the next run, and the import ends with that error
 * once, not once per row. */
static void undo_chunk(struct import *im, size_t from, size_t to)
{
	bool kept[CHUNK] = { false }; /* the row's journal stays */

	for (size_t j = from; j < to; j++) {
		struct row *row = row_at(&im->r, im->jobs[j]);
		struct es_err e = { 0 };

		if (row->created && account_source_for(row_pol(im, row))->remove(row->username, &e) != 0) {
			if (e.code == ES_EUNAVAIL)
				return; /* every journal stays: the next run resumes them */
			im_warn(im, "%s", ui_err(&e));
			kept[j - from] = true;
		}
	}
	/* a class group this chunk made and nobody is in is not left behind;
	 * one that could not be removed keeps the journals that name it (the
	 * next run finds it theirs, not a stranger's) */
	for (size_t j = from; j < to; j++) {
		struct row *row = row_at(&im->r, im->jobs[j]);
		struct es_err e = { 0 };
		bool dropped;

		if (row->class_group == 0 ||
		    account_source_for(row_pol(im, row))->group_drop(row_class_group(im, row), &dropped,
		                                                     &e) == 0)
			continue;
		im_warn(im, "%s", ui_err(&e));
		for (size_t k = from; k < to; k++)
			if (row_at(&im->r, im->jobs[k])->class_group == row->class_group /* one index a name */)
				kept[k - from] = true;
		if (e.code == ES_EUNAVAIL)
			return; /* the directory is gone: said once, journals kept */
	}
	for (size_t j = from; j < to; j++) {
		struct row *row = row_at(&im->r, im->jobs[j]);
		struct es_state st;
		struct es_record rec;
		struct es_err e = { 0 };

		/* A_RECREATE, A_RESUME: the state stays "creating": the next
		 * run resumes it */
		if (row->action != A_CREATE || kept[j - from])
			continue;
		es_state_init(&st, "");
		if (es_record_open(&im->ctx->store, row->username, ES_RECORD_WRITE_ANYWAY, &st, &rec,
		                   &e) >= 0 || rec.writable)
			(void)es_record_remove(&rec, &e);
		es_record_close(&rec);
		es_state_free(&st);
	}
}

/* What the report says of a row's home left as it was (malloc'd, NULL
 * when the home was made). */
static char *home_warning(const struct newacct *a)
{
	char *out = NULL;
	int n = -1;

	switch (a->home) {
	case HOME_MADE:
		return NULL;
	case HOME_KEPT_DIR:
		n = asprintf(&out,
		             _("%s/%s was there before the account (a directory of uid %ld, mode "
		               "%04o): left as it was, nothing copied from /etc/skel"),
		             a->home_base, a->user, a->home_uid, a->home_mode);
		break;
	case HOME_KEPT_LINK:
		n = asprintf(&out,
		             _("%s/%s is a symbolic link: left as it was, not followed; the account "
		               "has no home of its own (replace the link with a directory)"),
		             a->home_base, a->user);
		break;
	case HOME_KEPT_OTHER:
		n = asprintf(&out,
		             _("%s/%s is not a directory (uid %ld, mode %04o): left as it was; the "
		               "account has no home"),
		             a->home_base, a->user, a->home_uid, a->home_mode);
		break;
	case HOME_GONE:
		n = asprintf(&out,
		             _("%s/%s was there when the import started and is gone: no home was "
		               "made (mkhomedir_helper %s makes one)"),
		             a->home_base, a->user, a->user);
		break;
	}
	return n < 0 ? NULL : out;
}

/* A row whose name was taken while the import ran (a useradd between the
 * import's check and its lock on the account files): nothing of it stays,
 * its state is what it was (none, or the orphan it had). */
static void refuse_row(struct import *im, struct row *row)
{
	struct es_state st;
	struct es_record rec;
	struct es_err e = { 0 };

	es_state_init(&st, "");
	if ((es_record_open(&im->ctx->store, row->username, ES_RECORD_WRITE_ANYWAY, &st, &rec,
	                    &e) < 0 &&
	     !rec.writable) ||
	    (MORE(row, orphan) != NULL ? es_record_save_as(&rec, row->more->orphan, &e)
	                         : es_record_remove(&rec, &e)) != 0)
		im_warn(im, "%s", ui_err(&e));
	es_record_close(&rec);
	es_state_free(&st);
	row->refused = true;
	im->n_refused++;
	im_warn(im,
	        _("%s:%lu: user %s was created by another program while the import ran: "
	          "not changed, this row is not imported (choose another username)"),
	        im->file, (unsigned long)row->line, row->username);
}

/* The row's password aging in shadow: the role's rules (es_account_aging). */
static struct es_aging row_aging(const struct import *im, const struct row *row)
{
	struct es_aging a;

	es_account_aging(row_pol(im, row), row_pol(im, row)->first_login_change,
	                 es_policy_exempt(row_pol(im, row), row->username), im->ctx->now, &a);
	return a;
}

/* The row's slip, with --slips for every row made, without it for a row
 * with no address in production (checked before: prepare_slips). */
static int add_slip(struct import *im, const struct row *row, const char *password,
                    time_t expires, struct es_err *err)
{
	const char *lang = rf(row, C_LANG) != NULL ? rf(row, C_LANG) : im->ctx->cfg.language;

	if (im->slips_path == NULL)
		return 0;
	if (slip_set_add(&im->slips, &(struct slip){ .display_name = rf(row, C_NAME) != NULL
	                                                                 ? rf(row, C_NAME)
	                                                                 : row->username,
	                                             .klass = rf(row, C_CLASS),
	                                             .username = row->username,
	                                             .password = password,
	                                             .lang = lang,
	                                             .expires = expires }) != 0)
		return es_err_set(err, ES_EOS, "out of memory");
	return 0;
}

/* Draws the slips gathered, then records the rows that had only them as
 * delivered ("slip"); when the PDF cannot be written they stay
 * "slip-pending", which the next run completes with new passwords. */
static int write_slips(struct import *im, struct es_err *err)
{
	char path[1024];

	if (im->slips_path == NULL || im->slips.n == 0)
		return 0;
	if (slip_set_write(im->ctx, &im->slips, im->slips_path, err) != 0) {
		if (im->n_slip_rows > 0 && im->production)
			es_err_prefix(err, _("the slips were not written, and %zu account(s) without an "
			                     "address have no other delivery: run the same import "
			                     "again with another --slips file (they get new passwords)"),
			              im->n_slip_rows);
		return -1;
	}
	im->slips_written = true;
	/* delivered: recorded before the queue runs, which holds a parent
	 * notice while its pupil is "slip-pending" */
	for (size_t j = 0; im->production && j < im->n_jobs; j++) {
		settle(&im->r, j);
		const struct row *row = row_at(&im->r, im->jobs[j]);

		if (row->slip && row->delivery == D_SLIP)
			record_delivery(im, row->username, "slip");
	}
	ui_info(im->ctx, "%zu slip(s) to print: %s\n", im->slips.n,
	        esc(im->slips_path, path, sizeof(path)));
	return 0;
}

/* Accounts an earlier import made whose slips were never drawn, that no
 * row of this roster completes (its address was added since, say): their
 * password is nobody's, which the administrator is told. */
static void warn_stranded(struct import *im)
{
	for (size_t i = 0; i < im->slip_pending.cap; i++) {
		const char *user = im->slip_pending.slots != NULL ? im->slip_pending.slots[i].key : NULL;

		if (user != NULL && row_named(im, user) < 0)
			im_warn(im,
			        _("%s was made by an earlier import whose slips were never written: "
			          "nobody has its password; 'eschool slips --reset %s -o FILE.pdf' "
			          "gives it one"),
			        user, user);
	}
}

/* Before anything is made: rows without an address need --slips in
 * production (their password has nowhere else to go), and the file must
 * be new. */
static int prepare_slips(struct import *im, bool dry_run, struct es_err *err)
{
	unsigned long first = 0;

	for (size_t i = 0; i < im->r.n; i++) {
		settle(&im->r, i);
		const struct row *row = row_at(&im->r, i);

		if (row->action == A_BAD || row->action == A_SKIP || row->action == A_UPDATE ||
		    !row->slip)
			continue;
		if (im->n_slip_rows++ == 0)
			first = (unsigned long)row->line;
	}
	if (im->slips_path != NULL)
		return slip_path_check(im->slips_path, err);
	if (im->n_slip_rows == 0 || !im->production)
		return 0;
	if (dry_run) {
		im_warn(im, _("%zu row(s) have no address (the first on line %lu): the import will "
		              "need --slips FILE.pdf, the printed slips being their delivery"),
		        im->n_slip_rows, first);
		return 0;
	}
	return es_err_set(err, ES_EUSAGE,
	                  "%zu row(s) have no address (the first: %s:%lu): their passwords go on "
	                  "printed slips; run the import with --slips FILE.pdf (nothing was "
	                  "created)",
	                  im->n_slip_rows, im->file, first);
}

/* Records the chunk's rows as "creating" (the journal a killed run resumes
 * from), first deciding whether each home is taken: that is asked before
 * anything of the account exists, so that what is there is never the
 * import's own (see shadowdb.c, homes). */

static int record_creating(struct import *im, struct row *row, struct es_err *err)
{
	struct es_state st;
	struct es_record rec;
	int rc;
	bool ok;

	if (row->action == A_RESUME)
		row->home_existed = strset_has(&im->home_kept, row->username);
	else if (account_source_for(row_pol(im, row))->writes &&
	         home_taken(row_pol(im, row)->home_base, row->username, &row->home_existed, err) != 0)
		return -1;
	es_state_init(&st, "");
	/* what is there is replaced (a resumed row's "creating" state, an
	 * orphan), readable or not; only an orphan to keep must be read */
	rc = es_record_open(&im->ctx->store, row->username, ES_RECORD_WRITE_ANYWAY, &st, &rec, err);
	ok = rc >= 0 || (rec.writable && row->action != A_RECREATE);
	if (ok && row->action == A_RECREATE && MORE(row, orphan) == NULL) {
		/* kept until the account is made: a refused row gets it back */
		if (row_more(im, row) == NULL ||
		    (row->more->orphan = malloc(sizeof(*row->more->orphan))) == NULL) {
			ok = es_err_set(err, ES_EOS, "out of memory") == 0;
		} else if (rc != 0) {
			free(row->more->orphan);
			row->more->orphan = NULL;
			ok = es_err_set(err, ES_EDATA, "the state of %s is gone", row->username) == 0;
		} else {
			*row->more->orphan = st; /* moved: st's strings are the orphan's now */
			es_state_init(&st, row->username);
		}
	}
	if (ok)
		es_err_clear(err);
	ok = ok &&
	     es_account_new(&st, row->username,
	                    &(struct es_account_who){ rf(row, C_EMAIL), rf(row, C_NAME), row_role(im, row),
	                                              rf(row, C_CLASS), rf(row, C_LANG),
	                                              rf(row, C_PARENT) },
	                    row_pol(im, row), im->ctx->now) == 0 &&
	     (!row->home_existed || es_state_set(&st, K_HOME_KEPT, "1") == 0) &&
	     (row->class_group == 0 ||
	      es_state_set(&st, ES_K_CLASS_GROUP, row_class_group(im, row)) == 0) &&
	     (rf(row, C_EMAIL) == NULL || es_state_set(&st, ES_K_ROSTER_EMAIL, rf(row, C_EMAIL)) == 0) &&
	     es_record_save(&rec, err) == 0;
	es_record_close(&rec);
	es_state_free(&st);
	return ok ? 0 : -1;
}

/* The accounts of jobs [from, to) (accts[0 .. to-from)) made through their
 * source (the account source of each row's policy), one batch per source;
 * what each batch did goes back to the rows (a row the batch created is
 * undone by remove if anything fails later). */
static int make_accounts(struct import *im, size_t from, size_t to, struct newacct *accts,
                         struct es_err *err)
{
	const struct account_source *done[2] = { NULL, NULL };

	for (size_t first = from; first < to; first++) {
		const struct account_source *src =
			account_source_for(row_pol(im, row_at(&im->r, im->jobs[first])));
		struct newacct batch[CHUNK];
		char *warning;
		size_t n = 0;
		int brc;

		if (src == done[0] || src == done[1])
			continue;
		done[done[0] == NULL ? 0 : 1] = src;
		for (size_t j = first; j < to; j++)
			if (account_source_for(row_pol(im, row_at(&im->r, im->jobs[j]))) == src)
				batch[n++] = accts[j - from];
		brc = src->create_batch(batch, n, err);
		for (size_t j = first, k = 0; j < to; j++) {
			struct row *row = row_at(&im->r, im->jobs[j]);

			if (account_source_for(row_pol(im, row)) != src)
				continue;
			row->created = batch[k].created;
			row->refused = batch[k].refused;
			accts[j - from].uid = batch[k].uid;
			if (MORE(row, warning) != NULL) {
				free(row->more->warning);
				row->more->warning = NULL;
			}
			warning = brc == 0 && src->writes ? home_warning(&batch[k]) : NULL;
			if (warning != NULL && row_more(im, row) != NULL) {
				row->more->warning = warning;
			} else if (warning != NULL) { /* said now, if not in the report */
				im_warn(im, "%s:%lu: %s: %s", im->file, (unsigned long)row->line, row->username,
				        warning);
				free(warning);
			}
			k++;
		}
		if (brc != 0)
			return -1;
	}
	return 0;
}

/* Creates (or resumes) the accounts of jobs [from, to) and delivers them:
 * the state of each is recorded first ("creating"), then all the chunk's
 * accounts are written in one locked pass (shadowdb.c), then the
 * credentials are shown and the states marked delivered. */
static int run_chunk(struct import *im, size_t from, size_t to, struct es_err *err)
{
	const struct es_config *cfg = &im->ctx->cfg;
	struct newacct accts[CHUNK];
	int rc = -1;

	for (size_t j = from; j < to; j++) {
		struct row *row = row_at(&im->r, im->jobs[j]);
		const struct es_role *r;

		const struct pool_slot *slot = wait_ready(im, j);

		if (slot->rc != 0) {
			if (slot->err != NULL)
				*err = *slot->err;
			else
				(void)es_err_set(err, ES_EOS, "out of memory");
			goto out;
		}
		if (record_creating(im, row, err) != 0) {
			if (err->code == 0)
				(void)es_err_set(err, ES_EOS, "out of memory");
			es_err_prefix(err, "%s:%lu", im->file, (unsigned long)row->line);
			goto out;
		}
		r = es_config_find_role(cfg, row_role(im, row));
		accts[j - from] = (struct newacct){
			.user = row->username,
			.fullname = rf(row, C_NAME),
			.hash = cred_of(im, j)->hash,
			.aging = row_aging(im, row),
			.home_base = row_pol(im, row)->home_base,
			.shell = row_pol(im, row)->shell,
			.groups = r != NULL ? (const char(*)[ES_NAME_MAX + 1])r->groups : NULL,
			.n_groups = r != NULL ? r->n_groups : 0,
			/* a resumed row completes what its killed run wrote */
			.must_be_new = row->action != A_RESUME,
			.home_existed = row->home_existed,
			.class_group = row_class_group(im, row),
			.uid = -1,
		};
	}
	/* the chunk's class groups, once each, made after the states that
	 * record them were journaled: a run killed in between leaves each
	 * known as its class's */
	for (size_t j = from; j < to; j++) {
		const struct row *row = row_at(&im->r, im->jobs[j]);
		bool done = row->class_group == 0;

		for (size_t k = from; k < j && !done; k++)
			done = row_at(&im->r, im->jobs[k])->class_group == row->class_group /* one index a name */;
		if (!done && account_source_for(row_pol(im, row))->class_group(row_class_group(im, row),
		                                                                 err) != 0) {
			es_err_prefix(err, "class %s", rf(row, C_CLASS));
			goto out;
		}
	}
	if (make_accounts(im, from, to, accts, err) != 0)
		goto out;
	for (size_t j = from; j < to; j++) {
		struct row *row = row_at(&im->r, im->jobs[j]);
		struct es_state st;
		struct es_record rec;
		struct es_aging aging;
		const char *journal;
		bool ok;

		if (row->refused) {
			refuse_row(im, row);
			continue;
		}
		if (MORE(row, warning) != NULL)
			im_warn(im, "%s:%lu: %s: %s", im->file, (unsigned long)row->line, row->username,
			        row->more->warning);
		if (im->kept != NULL && /* (kept_len: the longest policy's; never cut) */
		    es_strlcpy(kept_password(im, j), cred_of(im, j)->password, im->kept_len) != 0) {
			/* its journal stays "creating": the next run resumes it */
			(void)es_err_set(err, ES_ESOFTWARE, "a password longer than its policy says");
			goto out_delivered;
		}
		if (!im->production && deliver(im, row, cred_of(im, j), err) != 0)
			goto out_delivered;
		row->created = false; /* from here on, never undone */
		aging = row_aging(im, row);
		journal = !im->production ? "printed" : row->slip ? "slip-pending" : "queued";
		es_state_init(&st, "");
		ok = es_record_open(&im->ctx->store, row->username, ES_RECORD_WRITE, &st, &rec,
		                    err) == 0 &&
		     (accts[j - from].uid < 0 ||
		      es_state_set_i64(&st, ES_K_UID, accts[j - from].uid) == 0) &&
		     (!im->production || queue_row(im, row, &st, cred_of(im, j)) == 0) &&
		     es_state_set(&st, ES_K_DELIVERY, journal) == 0 &&
		     es_account_aging_written(&st, &aging) == 0 &&
		     es_record_save(&rec, err) == 0;
		if (ok) {
			ok = im->slips_path == NULL ||
			     add_slip(im, row, kept_password(im, j),
			              (time_t)es_state_get_i64(&st, ES_K_INITIAL_EXPIRES, 0), err) == 0;
		}
		if (ok && !im->production) { /* backend = console | file: the mails too */
			char kind[80];
			const char *parent = rf(row, C_PARENT);

			es_account_welcome_kind(&im->ctx->cfg, row_role(im, row), kind, sizeof(kind));
			if (rf(row, C_EMAIL) != NULL)
				debug_mail(im->ctx, &st, kind, rf(row, C_EMAIL), rf(row, C_NAME),
				           cred_of(im, j)->password);
			if (parent != NULL && strcmp(row_role(im, row), "student") == 0)
				debug_mail(im->ctx, &st, "parent-notice", parent, NULL, NULL);
		}
		es_record_close(&rec);
		es_state_free(&st);
		if (!ok)
			goto out_delivered;
		if (MORE(row, orphan) != NULL) { /* replaced for good */
			es_state_free(row->more->orphan);
			free(row->more->orphan);
			row->more->orphan = NULL;
		}
		log_msg(LOG_AUTHPRIV, LOG_NOTICE,
		       "account %s: user=%s role=%s delivery=%s (import %s)",
		       row->action == A_RECREATE ? "created again (its old account was deleted)"
		                                 : "created",
		       row->username, row_role(im, row), row->slip && im->production ? "slip" : journal,
		       im->file);
		im->done++;
		progress(im);
	}
	rc = 0;
	goto out_delivered;
out:
	undo_chunk(im, from, to);
out_delivered:
	return rc;
}

/* The role groups of the rows to create, once per role, before any
 * account (through each row's account source). */
static int ensure_role_groups(struct import *im, struct es_err *err)
{
	const struct es_role *done[ES_MAX_ROLES];
	size_t n_done = 0;

	for (size_t i = 0; i < im->r.n; i++) {
		settle(&im->r, i);
		const struct row *row = row_at(&im->r, i);
		const struct account_source *src;
		const struct es_role *r;
		bool seen = false;

		if (!is_job(row->action)) /* a bad row has no policy */
			continue;
		src = account_source_for(row_pol(im, row));
		if (!src->writes)
			continue;
		r = es_config_find_role(&im->ctx->cfg, row_role(im, row));
		for (size_t k = 0; k < n_done; k++)
			seen |= done[k] == r;
		if (r == NULL || seen)
			continue;
		if (n_done < ES_MAX_ROLES)
			done[n_done++] = r;
		if (src->ensure_groups(r->groups, r->n_groups, err) != 0)
			return -1;
	}
	return 0;
}

/* Where the chunk that starts at from ends: CHUNK rows, then half of what
 * is left (TAIL_CHUNK at least, but for the very last rows). Once the last hash is made the cores
 * wait for the last chunk's writes alone (the directory's round trips:
 * some 30 ms a row), so the chunks shrink toward the end; a few more
 * passes over the account files cost little. */
static size_t chunk_end(size_t from, size_t n)
{
	size_t left = n - from, size = left / 2;

	if (size < TAIL_CHUNK)
		size = TAIL_CHUNK;
	if (size > CHUNK)
		size = CHUNK;
	return from + (size < left ? size : left);
}

static int create_all(struct import *im, struct es_err *err)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = ncpu > 0 ? (size_t)ncpu : 1, started = 0;
	pthread_t threads[64];
	int rc = -1;

	for (size_t i = 0; i < im->r.n; i++) {
		settle(&im->r, i);
		if (is_job(row_at(&im->r, i)->action))
			im->n_jobs++;
	}
	if (im->n_jobs == 0)
		return 0;
	/* the job numbers too are read in order: in the working copy */
	im->jobs = spill_alloc(&im->r.spill, im->n_jobs * sizeof(*im->jobs), err);
	if (im->jobs == NULL)
		return -1;
	im->creds = sodium_allocarray(POOL_SLOTS, sizeof(*im->creds));
	im->slots = calloc(POOL_SLOTS, sizeof(*im->slots));
	if (im->creds == NULL || im->slots == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	for (size_t k = 0; k < POOL_SLOTS; k++)
		im->slots[k].job = SIZE_MAX; /* none yet */
	for (size_t i = 0, j = 0; i < im->r.n; i++) {
		settle(&im->r, i);
		if (is_job(row_at(&im->r, i)->action)) {
			long len = row_pol(im, row_at(&im->r, i))->password_length;

			im->jobs[j++] = (uint32_t)i;
			if (len > 0 && (size_t)len + 1 > im->kept_len)
				im->kept_len = (size_t)len + 1;
		}
	}
	/* the passwords the end of the run needs: as long as the longest
	 * policy's, in guarded memory (sodium_allocarray wipes it when freed) */
	if (im->production || im->slips_path != NULL) {
		im->kept = sodium_allocarray(im->n_jobs, im->kept_len);
		if (im->kept == NULL)
			return es_err_set(err, ES_EOS, "out of memory");
		memset(im->kept, 0, im->n_jobs * im->kept_len); /* (it comes filled with 0xdb) */
	}

	if (ensure_role_groups(im, err) != 0)
		return -1;

	if (nthreads > ES_ARRAY_LEN(threads))
		nthreads = ES_ARRAY_LEN(threads);
	if (nthreads > im->n_jobs)
		nthreads = im->n_jobs;
	for (; started < nthreads; started++)
		if (pthread_create(&threads[started], NULL, hash_worker, im) != 0)
			break;
	if (started == 0) {
		es_err_set(err, ES_EOS, "cannot start a hashing thread");
		goto out;
	}
	progress(im);
	for (size_t from = 0, to; from < im->n_jobs; from = to) {
		to = chunk_end(from, im->n_jobs);
		if (run_chunk(im, from, to, err) != 0)
			goto out;
		release_jobs(im, to);
		spill_settle(&im->r.spill);
	}
	rc = 0;
out:
	(void)pthread_mutex_lock(&im->mu);
	im->stop = true;
	(void)pthread_cond_broadcast(&im->cv); /* workers waiting for the window */
	(void)pthread_mutex_unlock(&im->mu);
	for (size_t t = 0; t < started; t++)
		(void)pthread_join(threads[t], NULL);
	return rc;
}

/* A name a new class group cannot have: a group, a user, a role's group. */
static bool group_or_user_taken(const char *name, void *arg)
{
	const struct import *im = arg;

	return group_known(im, name) || user_uid(im, name) != -1 ||
	       class_group_name_taken(name, (void *)&im->ctx->cfg);
}

static int gone_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sync_gone *)a)->user, ((const struct sync_gone *)b)->user);
}

/* The index (+ 1, row.class_group) of the class group name, one copy of
 * each name whatever the rows sharing it (rows compare them by index):
 * 0, or -1 with err. */
static int group_index(struct import *im, const char *group, uint16_t *out, struct es_err *err)
{
	const char *have = strset_get(&im->group_names, group);
	char num[24], *copy, **grown;

	if (have != NULL) {
		*out = (uint16_t)(strtoul(have, NULL, 10) + 1);
		return 0;
	}
	if (im->n_group_list >= UINT16_MAX - 1)
		return es_err_set(err, ES_EDATA, "more than %d class groups: split the roster",
		                  UINT16_MAX - 2);
	grown = realloc(im->group_list, (im->n_group_list + 1) * sizeof(char *));
	if (grown == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	im->group_list = grown;
	copy = strdup(group);
	(void)snprintf(num, sizeof(num), "%zu", im->n_group_list);
	if (copy == NULL || strset_put(&im->group_names, group, num) != 0) {
		free(copy);
		return es_err_set(err, ES_EOS, "out of memory");
	}
	im->group_list[im->n_group_list++] = copy;
	*out = (uint16_t)im->n_group_list;
	return 0;
}

/* [import] class_groups: the group of each row to make (the one its
 * class has, else a new name no group, user or other class has). */
static int assign_class_groups(struct import *im, struct es_err *err)
{
	if (!im->ctx->cfg.import_class_groups)
		return 0;
	for (size_t i = 0; i < im->r.n; i++) {
		settle(&im->r, i);
		struct row *row = row_at(&im->r, i);
		char group[ES_NAME_MAX + 1] = "";
		int rc;

		if (!is_job(row->action) || rf(row, C_CLASS) == NULL ||
		    !account_source_for(row_pol(im, row))->writes)
			continue;
		rc = class_group_for(&im->cg, rf(row, C_CLASS), group_or_user_taken, im, group,
		                     sizeof(group), err);
		if (rc < 0)
			return es_err_prefix(err, "%s:%lu", im->file, (unsigned long)row->line);
		/* one copy of each name, whatever the rows sharing it: the rows
		 * keep its index (and compare by index) */
		if (rc == 0 && group[0] != '\0') {
			if (group_index(im, group, &row->class_group, err) != 0)
				return es_err_prefix(err, "%s:%lu", im->file, (unsigned long)row->line);
		}
		if (rc == 1)
			im_warn(im, _("%s:%lu: class '%s' gives no group name (no letter or digit): "
			              "%s is in no class group"),
			        im->file, (unsigned long)row->line, rf(row, C_CLASS), row->username);
	}
	return 0;
}

/* sync: what changes for the accounts rows found (A_SKIP rows that differ
 * become A_UPDATE), and which accounts of the roster's roles no row lists. */
static int sync_plan(struct import *im, struct es_err *err)
{
	struct class_groups *cg = im->ctx->cfg.import_class_groups ? &im->cg : NULL;
	const char *roles[ES_MAX_ROLES + 2];
	size_t n_roles = 0;
	const struct strset *m = &im->managed;

	for (size_t i = 0; i < im->r.n; i++) {
		settle(&im->r, i);
		struct row *row = row_at(&im->r, i);
		bool seen = false;

		if (row->action == A_BAD)
			continue;
		for (size_t k = 0; k < n_roles; k++)
			seen |= strcmp(roles[k], row_role(im, row)) == 0;
		if (!seen && n_roles < ES_ARRAY_LEN(roles))
			roles[n_roles++] = row_role(im, row);
		if (strset_put(&im->matched, row->username, NULL) != 0)
			return es_err_set(err, ES_EOS, "out of memory");
		if (row->action == A_SKIP) {
			struct person p = { row->username, rf(row, C_EMAIL), rf(row, C_NAME),
				            rf(row, C_ROLE), rf(row, C_CLASS), rf(row, C_LANG),
				            rf(row, C_PARENT) };

			struct sync_change c = { NULL, NULL, false };

			if (sync_changes(im->ctx, cg, row->username, &p, &c, err) != 0) {
				if (err->code != ES_EDATA)
					return es_err_prefix(err, "%s:%lu", im->file, (unsigned long)row->line);
				/* the row's own problem (a role change that
				 * cannot be made): a bad row */
				row_error(im, row, "%s", ui_err(err));
				es_err_clear(err);
				continue;
			}
			if (c.text != NULL || c.shown != NULL || c.disabled) {
				if (row_more(im, row) == NULL ||
				    (row->more->change = malloc(sizeof(*row->more->change))) == NULL) {
					sync_change_free(&c);
					return es_err_set(err, ES_EOS, "out of memory");
				}
				*row->more->change = c; /* moved */
			}
			if (c.text != NULL)
				row->action = A_UPDATE;
		}
	}
	/* a roster with bad rows may have lost someone's row: nobody is
	 * disabled or deleted for not being listed */
	if (im->r.n_bad > 0)
		return 0;
	for (size_t i = 0; i < m->cap; i++) {
		const char *user = m->slots[i].key, *kind = m->slots[i].value;
		struct sync_gone g;
		int rc;

		if (user == NULL || kind == NULL || strncmp(kind, "done\n", 5) != 0 ||
		    strset_has(&im->matched, user))
			continue;
		rc = sync_gone_check(im->ctx, user, roles, n_roles, &g, err);
		if (rc < 0)
			return -1;
		if (rc == 2) {
			im_warn(im, _("%s is not in the roster, but it is left as it is: %s"), user,
			        ui_err(err));
			if (err->code != ES_EDATA && im->unknown_rc == 0)
				im->unknown_rc = err->code; /* a lookup that failed: the run's code */
			es_err_clear(err);
			continue;
		}
		if (rc == 0 || (g.disabled && !im->delete_missing)) {
			sync_gone_free(&g, rc);
			continue;
		}
		if (im->n_gone % 64 == 0) {
			struct sync_gone *more = realloc(im->gone, (im->n_gone + 64) * sizeof(*more));

			if (more == NULL) {
				sync_gone_free(&g, 1);
				return es_err_set(err, ES_EOS, "out of memory");
			}
			im->gone = more;
		}
		im->gone[im->n_gone++] = g;
	}
	if (im->n_gone > 1)
		qsort(im->gone, im->n_gone, sizeof(*im->gone), gone_cmp);
	return 0;
}

/* sync: a roster that lists fewer than half of the accounts of one of its
 * roles is likely a part of the school (one class's export): 0, or ES_EDATA
 * said (unless --allow-partial). */
static int sync_partial(struct import *im)
{
	int rc = 0;

	if (im->allow_partial)
		return 0;
	for (size_t i = 0; i < im->n_gone; i++) {
		const char *role = im->gone[i].role;
		size_t listed = 0, gone = 0;
		bool first = true;

		for (size_t k = 0; k < i && first; k++)
			first = strcmp(im->gone[k].role, role) != 0;
		if (!first)
			continue;
		for (size_t k = i; k < im->n_gone; k++)
			gone += strcmp(im->gone[k].role, role) == 0;
		for (size_t r = 0; r < im->r.n; r++)
			listed += (row_at(&im->r, r)->action == A_SKIP || row_at(&im->r, r)->action == A_UPDATE) &&
			          strcmp(row_role(im, row_at(&im->r, r)), role) == 0;
		if (gone <= listed)
			continue;
		if (im->delete_missing)
			im_warn(im, _("%s lists %zu of the %zu %s accounts: is it the whole school's "
			              "export? sync would delete the other %zu; say --allow-partial if "
			              "that is what you want"),
			        im->file, listed, listed + gone, role, gone);
		else
			im_warn(im, _("%s lists %zu of the %zu %s accounts: is it the whole school's "
			              "export? sync would disable the other %zu; say --allow-partial if "
			              "that is what you want"),
			        im->file, listed, listed + gone, role, gone);
		rc = ES_EDATA;
	}
	return rc;
}

static const char *action_name(enum action a, bool sync)
{
	switch (a) {
	case A_CREATE:
		return _("create");
	case A_RESUME:
		return _("resume");
	case A_RECREATE:
		return _("create again");
	case A_SKIP:
		return sync ? _("unchanged") : _("exists, skipped");
	case A_UPDATE:
		return _("update");
	case A_BAD:
		break;
	}
	return _("error");
}

/* The dry run's note on a row about to be created whose home path is
 * taken (malloc'd, or NULL). */
static char *plan_note(const struct import *im, const struct row *row)
{
	struct es_err e = { 0 };
	bool taken = false;
	char *out = NULL;

	if ((row->action != A_CREATE && row->action != A_RECREATE) ||
	    !account_source_for(row_pol(im, row))->writes)
		return NULL;
	if (home_taken(row_pol(im, row)->home_base, row->username, &taken, &e) != 0)
		return strdup(ui_err(&e));
	if (taken &&
	    asprintf(&out,
	             _("%s/%s exists: it will be left as it is (owner, mode, contents), as "
	               "useradd -m does"),
	             row_pol(im, row)->home_base, row->username) < 0)
		return NULL;
	return out;
}

/* The dry run says how the roster was read, on stderr (stdout has the
 * plan, one object per account with --json): its encoding and separator
 * (detected or given), the export recognised, and which column gives
 * which field. */
static void print_layout(struct import *im)
{
	const struct es_roster_layout *lay = &im->r.lay;
	const char *sep = im->r.sep == '\t' ? "tab" : im->r.sep == ';' ? ";" : ",";
	struct es_buf b = { 0 };
	char line[4096];
	int rc;

	if (im->ctx->quiet)
		return;
	rc = es_buf_printf(&b, _("%s: %s, separator '%s'"), im->file, im->r.encoding, sep);
	if (lay->format[0] != '\0')
		rc |= es_buf_printf(&b, _(", layout %s"), lay->format);
	if (rc == 0)
		(void)fprintf(stderr, "%s\n", esc(b.data, line, sizeof(line)));
	for (int f = 0; f < ES_RF_COUNT; f++)
		for (int k = 0; k < ES_ROSTER_ALTS && lay->col[f][k] >= 0; k++) {
			b.len = 0;
			if (es_buf_printf(&b, "  '%s' -> %s%s", lay->header[lay->col[f][k]],
			                  es_roster_field_name(f),
			                  k > 0 ? _(" (when the one before is empty)") : "") == 0)
				(void)fprintf(stderr, "%s\n", esc(b.data, line, sizeof(line)));
		}
	es_buf_free(&b);
}

static void print_plan(struct import *im)
{
	struct es_buf b = { 0 };

	for (size_t i = 0; i < im->r.n; i++) {
		settle(&im->r, i);
		const struct row *row = row_at(&im->r, i);
		char *note;

		if (row->action == A_BAD)
			continue;
		note = plan_note(im, row);
		if (im->ctx->json) {
			int rc = es_buf_puts(&b, "{\"line\":") | es_buf_printf(&b, "%lu", (unsigned long)row->line) |
			         es_buf_puts(&b, ",\"username\":") |
			         es_buf_json_str(&b, row->username) | es_buf_puts(&b, ",\"action\":") |
			         es_buf_json_str(&b, row->action == A_CREATE     ? "create"
			                             : row->action == A_RESUME   ? "resume"
			                             : row->action == A_RECREATE ? "recreate"
			                             : row->action == A_UPDATE   ? "update"
			                                                         : "skip");
			if (row_change(row)->text != NULL)
				rc |= es_buf_puts(&b, ",\"changes\":") |
				      es_buf_json_str(&b, row_change(row)->text);
			if (loose_name(row) != NULL)
				rc |= es_buf_puts(&b, ",\"found_by\":") | es_buf_json_str(&b, loose_name(row));
			if (row_change(row)->disabled)
				rc |= es_buf_puts(&b, ",\"disabled\":true");
			if (row->class_group != 0)
				rc |= es_buf_puts(&b, ",\"class_group\":") |
				      es_buf_json_str(&b, row_class_group(im, row));
			if (note != NULL)
				rc |= es_buf_puts(&b, ",\"warning\":") | es_buf_json_str(&b, note);
			if (row->slip)
				rc |= es_buf_puts(&b, ",\"delivery\":\"slip\"");
			rc |= es_buf_puts(&b, "}\n");
			if (rc == 0)
				(void)fwrite(b.data, 1, b.len, stdout);
			b.len = 0;
		} else if (!im->ctx->quiet) {
			char file[1024], role[256], name[1024];

			printf("%s:%-5lu %-20s %-10s %-16s %s%s\n", esc(im->file, file, sizeof(file)),
			       (unsigned long)row->line, row->username, esc(row_role(im, row), role, sizeof(role)),
			       action_name(row->action, im->sync),
			       esc(rf(row, C_NAME), name, sizeof(name)),
			       row->slip && is_job(row->action) ? _(" (no address: slip)") : "");
			if (row_change(row)->shown != NULL)
				printf("    %s\n", esc(row_change(row)->shown, name, sizeof(name)));
			if (loose_name(row) != NULL)
				printf("    %s\n", strcmp(loose_name(row), "name") == 0
				                         ? _("(found by its name alone: check it is the same "
				                             "person)")
				                         : _("(found by its address alone: check it is the "
				                             "same person)"));
			if (row_change(row)->disabled)
				printf("    %s\n", _("(disabled: 'eschool enable' it if they are back)"));
		}
		if (note != NULL)
			im_warn(im, "%s:%lu: %s: %s", im->file, (unsigned long)row->line, row->username, note);
		free(note);
	}
	es_buf_free(&b);
}

static void report_bad_rows(struct import *im)
{
	for (size_t i = 0; i < im->r.n; i++) {
		settle(&im->r, i);
		const struct row *row = row_at(&im->r, i);
		const char *who = rf(row, C_NAME) != NULL ? rf(row, C_NAME) : rf(row, C_USERNAME);

		if (row->action != A_BAD)
			continue;
		/* the person, for the secretary who fixes the export */
		if (who != NULL)
			im_warn(im, "%s:%lu: %s (%s)", im->file, (unsigned long)row->line,
			        MORE(row, error) != NULL ? row->more->error : "out of memory", who);
		else
			im_warn(im, "%s:%lu: %s", im->file, (unsigned long)row->line,
			        MORE(row, error) != NULL ? row->more->error : "out of memory");
	}
}

static int open_sheet(struct import *im, const char *path, struct es_err *err)
{
	/* O_EXCL: never overwrite an earlier sheet, which may hold the only copy
	 * of passwords from an interrupted run */
	im->sheet_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (im->sheet_fd < 0)
		return es_err_errno(err, errno == EEXIST ? ES_ECANTCREAT : ES_EIO, errno,
		                    "cannot create the credentials sheet %s%s", path,
		                    errno == EEXIST ? " (it exists: choose a new name)" : "");
	if (fchmod(im->sheet_fd, 0600) != 0 ||
	    /* the BOM makes spreadsheets read the accents as UTF-8 */
	    write_all(im->sheet_fd, "\xef\xbb\xbfusername,name,class,role,email,password\r\n",
	              44) != 0)
		return es_err_errno(err, ES_EIO, errno, "cannot write %s", path);
	return 0;
}

/* The last lines: what was made, where the sheet is, what the mails did. */
static void print_summary(struct import *im, size_t n_create, size_t n_resume, size_t n_skip,
                          const char *output)
{
	const struct cli *ctx = im->ctx;
	char sheet_name[1024];

	const char *mode = n_create + n_resume == 0 ? ""
	                   : im->production
	                           ? _("; credentials mailed (see MAIL above)")
	                           : _("; debug mode: passwords shown, to be changed at first login");

	bar_clear(im);
	if (im->sync && im->delete_missing)
		ui_info(ctx, "sync: %zu account(s) created, %zu completed, %zu updated, %zu deleted, "
		             "%zu unchanged, %zu failed%s%s%s\n",
		        n_create - im->n_refused, n_resume, im->n_updated, im->n_gone_done, n_skip,
		        im->n_failed, im->sheet_fd >= 0 ? _("; sheet: ") : "",
		        im->sheet_fd >= 0 ? esc(output, sheet_name, sizeof(sheet_name)) : "", mode);
	else if (im->sync)
		ui_info(ctx, "sync: %zu account(s) created, %zu completed, %zu updated, %zu disabled, "
		             "%zu unchanged, %zu failed%s%s%s\n",
		        n_create - im->n_refused, n_resume, im->n_updated, im->n_gone_done, n_skip,
		        im->n_failed, im->sheet_fd >= 0 ? _("; sheet: ") : "",
		        im->sheet_fd >= 0 ? esc(output, sheet_name, sizeof(sheet_name)) : "", mode);
	else
		ui_info(ctx, "%zu account(s) created, %zu completed, %zu already done%s%s%s\n",
		        n_create - im->n_refused, n_resume, n_skip,
		        im->sheet_fd >= 0 ? _("; sheet: ") : "",
		        im->sheet_fd >= 0 ? esc(output, sheet_name, sizeof(sheet_name)) : "", mode);
	/* "not sent" only when some were: its words say a password was shown */
	if (im->production && im->n_fallback > 0)
		ui_info(ctx, "mails: %zu sent, %zu waiting in the queue, %zu not sent "
		             "(password shown above, the mail stays queued)\n",
		        im->n_sent, im->n_queued, im->n_fallback);
	else if (im->production && im->n_queued > 0)
		ui_info(ctx, "mails: %zu sent, %zu waiting in the queue\n",
		        im->n_sent, im->n_queued);
}

static void import_free(struct import *im)
{
	for (size_t i = 0; i < im->r.n; i++) {
		settle(&im->r, i);
		row_free(row_at(&im->r, i));
	}
	free(im->r.pages);
	spill_close(&im->r.spill);
	es_roster_layout_free(&im->r.lay);
	slip_set_free(&im->slips);
	if (im->creds != NULL)
		sodium_free(im->creds); /* wipes */
	if (im->kept != NULL)
		sodium_free(im->kept);
	for (size_t k = 0; im->slots != NULL && k < POOL_SLOTS; k++)
		free(im->slots[k].err);
	free(im->slots);
	free(im->old_mails);
	strset_free(&im->sys_users);
	strset_free(&im->sys_groups);
	strset_free(&im->managed);
	strset_free(&im->managed_by_person);
	rowidx_free(&im->csv_names);
	strset_free(&im->home_kept);
	strset_free(&im->slip_pending);
	class_groups_free(&im->cg);
	strset_free(&im->group_names);
	for (size_t k = 0; k < im->n_group_list; k++)
		free(im->group_list[k]);
	free(im->group_list);
	strset_free(&im->by_email);
	strset_free(&im->by_name);
	strset_free(&im->matched);
	strset_free(&im->csv_persons);
	sync_gone_free(im->gone, im->n_gone);
	free(im->gone);
	(void)pthread_mutex_destroy(&im->mu);
	(void)pthread_cond_destroy(&im->cv);
}

/* ui_fail, the message made safe for a terminal first: the roster's
 * bytes may be in it. */
static int fail_escaped(struct es_err *err)
{
	char msg[ES_ERR_MAX];

	(void)es_log_escape(err->msg, msg, sizeof(msg));
	memcpy(err->msg, msg, sizeof(err->msg));
	(void)es_log_escape(err->msg_fr, msg, sizeof(msg));
	memcpy(err->msg_fr, msg, sizeof(err->msg_fr));
	return ui_fail(err);
}

static void import_init(struct import *im, struct cli *ctx, const char *file)
{
	memset(im, 0, sizeof(*im));
	im->r.spill.fd = -1; /* (nothing open until the roster is read) */
	im->ctx = ctx;
	im->sheet_fd = -1;
	(void)pthread_mutex_init(&im->mu, NULL);
	(void)pthread_cond_init(&im->cv, NULL);
	im->file = file;
	im->production = ctx->cfg.mode == ES_MODE_PRODUCTION;
	im->cg.cfg = &ctx->cfg;
}

/* --encoding, --format, --map and --strict, then [import]'s format and
 * columns: the command line's map is looked up first. */
static int roster_options(struct import *im, const struct args *a, struct es_err *err)
{
	const char *const *maps;
	int n_maps = arg_values(a, "map", &maps);

	im->opts.encoding = arg_value(a, "encoding");
	im->opts.format = arg_value(a, "format");
	if (im->opts.format == NULL && im->ctx->cfg.import_format[0] != '\0')
		im->opts.format = im->ctx->cfg.import_format;
	im->opts.strict = arg_flag(a, "strict");
	im->slips_path = arg_value(a, "slips");
	for (int i = 0; i < n_maps; i++)
		if (es_roster_map_parse(maps[i], &im->opts.map, err) != 0) {
			es_err_prefix(err, "--map");
			err->code = ES_EUSAGE;
			return -1;
		}
	if (es_roster_map_parse(im->ctx->cfg.import_columns, &im->opts.map, err) != 0)
		return es_err_prefix(err, "[import] columns");
	return 0;
}

/* How many rows the plan creates, resumes and skips. */
static void count_actions(const struct import *im, size_t *n_create, size_t *n_resume,
                          size_t *n_skip)
{
	for (size_t i = 0; i < im->r.n; i++) {
		settle(&im->r, i);
		enum action act = row_at(&im->r, i)->action;

		*n_create += act == A_CREATE || act == A_RECREATE;
		*n_resume += act == A_RESUME;
		*n_skip += act == A_SKIP;
	}
}

/* Reads the roster and decides each row (and, for sync, what changes and
 * who is no longer listed). */
static int plan(struct import *im, struct es_err *err)
{
	if (read_roster(im, err) != 0 || load_existing(im, err) != 0)
		return -1;
	if (resolve_rows(im, err) != 0)
		return -1;
	if (im->sync && sync_plan(im, err) != 0)
		return -1;
	return assign_class_groups(im, err);
}

/* sync: the accounts no row lists, and what becomes of them. */
static void print_gone(struct import *im, FILE *f, bool dry_run)
{
	const char *verb = im->delete_missing ? "delete" : "disable";
	struct es_buf b = { 0 };
	char name[600], klass[600];

	for (size_t i = 0; i < im->n_gone; i++) {
		const struct sync_gone *g = &im->gone[i];

		if (im->ctx->json && dry_run) {
			if ((es_buf_puts(&b, "{\"username\":") | es_buf_json_str(&b, g->user) |
			     es_buf_printf(&b, ",\"action\":\"%s\"}\n", verb)) == 0)
				(void)fwrite(b.data, 1, b.len, stdout);
			b.len = 0;
			continue;
		}
		(void)es_log_escape(g->name, name, sizeof(name));
		(void)es_log_escape(g->klass, klass, sizeof(klass));
		(void)fprintf(f, "  %-20s %-16s %s, %s%s\n", g->user,
		              im->delete_missing ? _("delete") : _("disable"), name, klass,
		              g->disabled ? _(" (disabled already)") : "");
	}
	es_buf_free(&b);
}

/* The first failure's exit code is the run's. */
static void keep_first(int *rc, int r)
{
	if (*rc == 0)
		*rc = r;
}

/* sync: the accounts rows found that changed, then those no row lists;
 * each on its own (one that fails is said, the others done), the first
 * failure's exit code. */
static int sync_apply(struct import *im, const struct args *a)
{
	struct cli *ctx = im->ctx;
	struct class_groups *cg = ctx->cfg.import_class_groups ? &im->cg : NULL;
	int rc = 0;

	for (size_t i = 0; i < im->r.n; i++) {
		settle(&im->r, i);
		struct row *row = row_at(&im->r, i);
		struct person p = { row->username, rf(row, C_EMAIL), rf(row, C_NAME), rf(row, C_ROLE),
			            rf(row, C_CLASS), rf(row, C_LANG), rf(row, C_PARENT) };
		struct es_err e = { 0 };
		struct sync_change c;
		char line[1200];

		if (row_change(row)->disabled && row->action != A_BAD)
			im_warn(im, _("%s:%lu: %s is disabled and listed again: 'eschool enable %s' if "
			              "they are back"),
			        im->file, (unsigned long)row->line, row->username, row->username);
		if (row->action != A_UPDATE)
			continue;
		if (loose_name(row) != NULL) {
			im_warn(im, strcmp(loose_name(row), "name") == 0
			                    ? _("%s:%lu: %s was found by its name alone: check it is the "
			                        "same person")
			                    : _("%s:%lu: %s was found by its address alone: check it is "
			                        "the same person"),
			        im->file, (unsigned long)row->line, row->username);
			log_msg(LOG_AUTHPRIV, LOG_NOTICE, "sync: user=%s found by its %s alone (%s:%lu)",
			        row->username, loose_name(row), im->file, (unsigned long)row->line);
		}
		if (sync_update(ctx, cg, row->username, &p, &c, &e) != 0) {
			es_err_prefix(&e, "%s:%lu", im->file, (unsigned long)row->line);
			keep_first(&rc, fail_escaped(&e));
			im->n_failed++;
			continue;
		}
		if (c.text != NULL) {
			im->n_updated++;
			if (ctx->json) {
				struct es_buf b = { 0 };

				if ((es_buf_puts(&b, "{\"username\":") | es_buf_json_str(&b, row->username) |
				     es_buf_puts(&b, ",\"updated\":") | es_buf_json_str(&b, c.text) |
				     (loose_name(row) != NULL ? es_buf_puts(&b, ",\"found_by\":") |
				                                   es_buf_json_str(&b, loose_name(row))
				                         : 0) |
				     es_buf_puts(&b, "}\n")) == 0)
					(void)fwrite(b.data, 1, b.len, stdout);
				es_buf_free(&b);
			} else if (!ctx->quiet) {
				printf(_("Account updated: %s: %s\n"), row->username,
				       esc(c.shown, line, sizeof(line)));
			}
		}
		sync_change_free(&c);
	}
	if (im->n_gone == 0)
		return rc;
	if (im->delete_missing) {
		char **users = calloc(im->n_gone, sizeof(*users));
		struct es_err e = { 0 };

		if (users == NULL)
			return rc != 0 ? rc : ES_EOS;
		for (size_t i = 0; i < im->n_gone; i++)
			users[i] = im->gone[i].user;
		if (delete_accounts(ctx, users, im->n_gone, arg_flag(a, "keep-home"),
		                    arg_value(a, "archive-home"), &im->n_gone_done, &e) != 0) {
			if (im->n_gone_done > 0)
				es_err_prefix(&e, "%zu account(s) deleted, then", im->n_gone_done);
			keep_first(&rc, fail_escaped(&e));
			im->n_failed += im->n_gone - im->n_gone_done;
		}
		free(users);
		return rc;
	}
	for (size_t i = 0; i < im->n_gone; i++) {
		int r = set_disabled_one(ctx, im->gone[i].user, true);

		keep_first(&rc, r);
		if (r == 0)
			im->n_gone_done++;
		else
			im->n_failed++;
	}
	return rc;
}

/* sync --delete-missing on a terminal: the plan made without the store's
 * lock (a question may wait long), shown and asked; *asked gets the
 * accounts agreed to, checked again once the lock is held. 0, an exit
 * code, or -1 with err. */
static int sync_ask(struct cli *ctx, const struct args *a, struct strset *asked,
                    struct es_err *err)
{
	struct import q;
	int rc = -1;

	import_init(&q, ctx, a->positional[0]);
	q.sync = q.delete_missing = true;
	q.allow_partial = arg_flag(a, "allow-partial");
	q.silent = true; /* the run under the lock says it all */
	if (roster_options(&q, a, err) != 0 || plan(&q, err) != 0)
		goto out;
	rc = 0;
	if (q.n_gone == 0 || q.r.n_bad > 0) /* nobody goes: nothing to ask */
		goto out;
	q.silent = false;
	if ((rc = sync_partial(&q)) != 0)
		goto out;
	(void)fprintf(stderr, "%s\n",
	              arg_flag(a, "keep-home") ? _("These accounts eschool made are not in the "
	                                           "roster; they will be deleted, their homes kept:")
	              : arg_value(a, "archive-home") != NULL
	                      ? _("These accounts eschool made are not in the roster; they will be "
	                          "deleted, their homes archived first:")
	                      : _("These accounts eschool made are not in the roster; they will be "
	                          "deleted with their homes:"));
	print_gone(&q, stderr, false);
	if (!ui_confirmed(_("Delete them? Type yes to go on: "))) {
		ui_warn("nothing was changed");
		rc = ES_EUSAGE;
		goto out;
	}
	for (size_t i = 0; i < q.n_gone; i++)
		if (strset_put(asked, q.gone[i].user, NULL) != 0) {
			rc = -1;
			es_err_set(err, ES_EOS, "out of memory");
			goto out;
		}
out:
	import_free(&q);
	return rc;
}

/* The accounts agreed to are the ones to delete now. */
static int sync_same_as_asked(const struct import *im, const struct strset *asked,
                              struct es_err *err)
{
	bool same = im->n_gone == asked->n;

	for (size_t i = 0; same && i < im->n_gone; i++)
		same = strset_has(asked, im->gone[i].user);
	if (!same)
		return es_err_set(err, ES_EDATA, "the accounts changed since the question: nothing "
		                                 "was changed; run the command again");
	return 0;
}

static int run_roster(struct cli *ctx, const struct args *a, bool sync)
{
	bool dry_run = arg_flag(a, "dry-run"), keep_going = arg_flag(a, "keep-going");
	bool yes = sync && arg_flag(a, "yes");
	const char *output = arg_value(a, "output");
	struct es_err err = { 0 }, slips_err = { 0 };
	struct import im;
	struct strset asked = { 0 };
	size_t n_create = 0, n_resume = 0, n_skip = 0, n_listed = 0;
	int slips_rc, sync_rc = 0, partial_rc;
	intptr_t all = -1;
	int rc;

	import_init(&im, ctx, a->positional[0]);
	im.dry_run = dry_run;
	im.sync = sync;
	im.delete_missing = sync && arg_flag(a, "delete-missing");
	im.allow_partial = sync && arg_flag(a, "allow-partial");
	rc = -1;
	if (sync && !im.delete_missing &&
	    (arg_flag(a, "keep-home") || arg_value(a, "archive-home") != NULL)) {
		rc = arg_usage_error(a, _("--keep-home and --archive-home go with --delete-missing"));
		goto out;
	}
	if (sync && arg_flag(a, "keep-home") && arg_value(a, "archive-home") != NULL) {
		rc = arg_usage_error(a, _("--keep-home and --archive-home: choose one"));
		goto out;
	}
	if (sync && arg_value(a, "archive-home") != NULL &&
	    archive_dir_check(arg_value(a, "archive-home"), &err) != 0)
		goto out;
	if (roster_options(&im, a, &err) != 0)
		goto out;
	if (im.delete_missing && !dry_run && !yes) {
		if (!isatty(STDIN_FILENO)) {
			rc = arg_usage_error(a, _("not on a terminal: say --yes to delete the accounts "
			                          "the roster no longer lists without a question (or "
			                          "--dry-run to see them)"));
			goto out;
		}
		rc = sync_ask(ctx, a, &asked, &err);
		if (rc != 0)
			goto out;
		rc = -1;
	}
	/* one import (or add, or reset) at a time decides who exists: two
	 * imports of the same file must not both create and print */
	if (!dry_run && es_store_lock_all(&ctx->store, &all, &err) != 0)
		goto out;
	if (!dry_run)
		es_store_tidy(&ctx->store); /* what killed writers left */
	if (plan(&im, &err) != 0)
		goto out;
	report_bad_rows(&im);
	warn_stranded(&im);
	/* the rows by username are the plan's (row_named): gone before the
	 * accounts are made, whose phase holds the passwords and the sender */
	rowidx_free(&im.csv_names);
	count_actions(&im, &n_create, &n_resume, &n_skip);
	for (size_t i = 0; i < im.r.n; i++) {
		settle(&im.r, i);
		n_listed += row_at(&im.r, i)->action == A_SKIP || row_at(&im.r, i)->action == A_UPDATE;
	}
	if (prepare_slips(&im, dry_run, &err) != 0)
		goto out;
	/* and what mails them: loaded now, before any account is made */
	if (im.production && !dry_run && ctx->cfg.mail_backend == ES_MAILB_SMTP &&
	    n_create + n_resume > 0 && smtp_check(&err) != 0)
		goto out;
	if (sync && im.r.n_bad > 0)
		im_warn(&im, _("%zu bad row(s): sync disables and deletes nobody while the roster "
		               "has bad rows"),
		        im.r.n_bad);
	partial_rc = sync ? sync_partial(&im) : 0;
	if (partial_rc != 0 && !dry_run) {
		rc = partial_rc;
		goto out;
	}
	if (dry_run) {
		print_layout(&im);
		print_plan(&im);
		if (sync)
			print_gone(&im, stdout, true);
		if (!ctx->quiet && sync && im.delete_missing)
			ui_info(ctx, "dry run: %zu to create, %zu to update, %zu to delete, %zu "
			             "unchanged, %zu bad row(s); nothing was changed\n",
			        n_create + n_resume, n_listed - n_skip, im.n_gone, n_skip, im.r.n_bad);
		else if (!ctx->quiet && sync)
			ui_info(ctx, "dry run: %zu to create, %zu to update, %zu to disable, %zu "
			             "unchanged, %zu bad row(s); nothing was changed\n",
			        n_create + n_resume, n_listed - n_skip, im.n_gone, n_skip, im.r.n_bad);
		else if (!ctx->quiet)
			ui_info(ctx, "dry run: %zu to create, %zu to resume, %zu already done, %zu "
			             "bad row(s); nothing was changed\n",
			        n_create, n_resume, n_skip, im.r.n_bad);
		/* what the same command without --dry-run would say */
		rc = im.r.n_bad ? ES_EDATA : partial_rc;
		goto out;
	}
	if (im.r.n_bad > 0 && !keep_going) {
		im_warn(&im, _("%zu bad row(s) in %s: nothing was created. Fix them, or use "
		               "--keep-going to create the other rows"),
		        im.r.n_bad, im.file);
		rc = ES_EDATA;
		goto out;
	}
	if (im.delete_missing && !yes && sync_same_as_asked(&im, &asked, &err) != 0)
		goto out;
	if (output != NULL && n_create + n_resume > 0 && open_sheet(&im, output, &err) != 0)
		goto out;
	im.progress = isatty(STDERR_FILENO) && !ctx->quiet;
	if (create_all(&im, &err) != 0) {
		struct es_err e2 = { 0 };

		if (write_slips(&im, &e2) != 0) /* what was made has its slip */
			(void)fail_escaped(&e2);
		if (im.production) { /* what was queued goes, and is reported */
			send_all(&im);
			(void)report_all(&im, &e2);
		}
		if (im.done > 0)
			im_warn(&im, _("%zu account(s) were created before the error; run the same import "
			               "again to complete it"),
			        im.done);
		goto out;
	}
	/* the slips first: a parent notice goes once its pupil's slip exists */
	slips_rc = write_slips(&im, &slips_err);
	if (im.production)
		send_all(&im);
	if (im.production && report_all(&im, &err) != 0)
		goto out;
	if (slips_rc != 0) {
		err = slips_err;
		goto out;
	}
	if (im.sheet_fd >= 0 && fsync(im.sheet_fd) != 0) {
		es_err_errno(&err, ES_EIO, errno, "cannot write %s", output);
		goto out;
	}
	if (sync)
		sync_rc = sync_apply(&im, a);
	print_summary(&im, n_create, n_resume, n_skip, output);
	/* a row refused while the accounts were made: EX_CANTCREAT, as add
	 * says of a user that exists */
	rc = im.n_refused          ? ES_ECANTCREAT
	     : sync_rc != 0        ? sync_rc
	     : im.r.n_bad          ? ES_EDATA
	     : im.unknown_rc != 0  ? im.unknown_rc
	                           : 0;
out:
	bar_clear(&im);
	if (rc < 0)
		rc = fail_escaped(&err);
	if (im.sheet_fd >= 0 && close(im.sheet_fd) != 0 && rc == 0) {
		im_warn(&im, "cannot write %s", output);
		rc = ES_EIO;
	}
	es_store_unlock_all(&ctx->store, all);
	strset_free(&asked);
	import_free(&im);
	return rc;
}

int cmd_import(struct cli *ctx, const struct args *a)
{
	return run_roster(ctx, a, false);
}

int cmd_sync(struct cli *ctx, const struct args *a)
{
	return run_roster(ctx, a, true);
}
