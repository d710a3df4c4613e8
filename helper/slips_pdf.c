/* Credential slips as a PDF (slips_pdf.h): cairo draws the pages, pango
 * sets the text (plain text, never markup), and the file is ours alone
 * from the moment it exists: created new, 0600, removed when anything
 * fails. */
#include "slips_pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <fcntl.h>
#include <pango/pangocairo.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "es_fs.h"
#include "es_msg.h"
#include "es_util.h"


/* A4 in PDF points (1/72 inch); slips 2 columns x 4 rows inside a margin
 * that most printers can print to */
#define PAGE_W 595.28
#define PAGE_H 841.89
#define MARGIN 22.0
#define COLS ((size_t)2)
#define ROWS ((size_t)4)
#define PER_PAGE (COLS * ROWS)
#define CELL_W ((PAGE_W - 2 * MARGIN) / COLS)
#define CELL_H ((PAGE_H - 2 * MARGIN) / ROWS)
#define PAD 12.0 /* inside a slip, so a crooked cut takes no text */

/* a PNG larger than this is not decoded: cairo would allocate 4 bytes a
 * pixel for a picture printed a few centimetres wide */
#define LOGO_MAX_SIDE 4096u

#define FONT_TEXT "DejaVu Sans"
/* the secrets' font: a slashed zero, and l, 1 and I each their own shape */
#define FONT_SECRET "DejaVu Sans Mono"
/* a 64-character password on two lines still reads at this size */
#define SECRET_MIN_SIZE 9.0

/* ---- the output file ---- */

struct out_file {
	const char *path;
	int fd;
	int write_errno;     /* the first failed write's errno, else 0 */
	bool created_known;  /* created holds the file's identity */
	struct stat created; /* what we created: only that is ever removed */
};

static int out_open(struct out_file *out, const char *path, struct es_err *err)
{
	struct stat sb;
	int e;

	out->path = path;
	/* O_EXCL: never over an earlier file, which may hold the only copy
	 * of passwords; with it, a symbolic link is refused too (EEXIST) */
	out->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (out->fd < 0) {
		e = errno;
		if (e == EEXIST && lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode))
			return es_err_set(
			    err, ES_ECANTCREAT,
			    "%s is a symbolic link: choose another file name or remove it", path);
		if (e == EEXIST)
			return es_err_set(err, ES_ECANTCREAT,
					  "%s exists: choose another file name or remove it", path);
		return es_err_errno(err, ES_ECANTCREAT, e, "cannot create %s", path);
	}
	if (fstat(out->fd, &out->created) != 0)
		return es_err_errno(err, ES_EIO, errno, "cannot create %s", path);
	out->created_known = true;
	/* the umask may have taken bits away, never added any: 0600 anyway,
	 * so the mode does not depend on the caller's umask */
	if (fchmod(out->fd, 0600) != 0)
		return es_err_errno(err, ES_EIO, errno, "cannot create %s", path);
	return 0;
}

/* cairo's output: everything goes straight to the file */
static cairo_status_t out_write(void *closure, const unsigned char *data, unsigned int len)
{
	struct out_file *out = closure;
	int e = es_fs_write_all(out->fd, (const char *)data, len);

	if (e != 0) {
		if (out->write_errno == 0)
			out->write_errno = e;
		return CAIRO_STATUS_WRITE_ERROR;
	}
	return CAIRO_STATUS_SUCCESS;
}

/* The file and its directory entry on disk, then closed. */
static int out_close(struct out_file *out, struct es_err *err)
{
	char *dir = NULL;
	char *slash;
	int fd, e = 0;

	if (es_fs_fsync(out->fd) != 0)
		return es_err_errno(err, ES_EIO, errno, "cannot sync %s", out->path);
	fd = out->fd;
	out->fd = -1;
	if (close(fd) != 0)
		return es_err_errno(err, ES_EIO, errno, "cannot write %s", out->path);
	/* the new name: its directory synced too, as es_fs_write_atomic does */
	dir = es_strdup(out->path);
	if (dir == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	slash = strrchr(dir, '/');
	if (slash == NULL)
		(void)es_strlcpy(dir, ".", strlen(dir) + 1);
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || es_fs_fsync(fd) != 0)
		e = errno;
	if (fd >= 0)
		(void)close(fd);
	free(dir);
	if (e != 0)
		return es_err_errno(err, ES_EIO, e, "cannot sync %s", out->path);
	return 0;
}

/* After a failure: what was written is truncated away, and the path
 * removed while it still names the file we created (not another put in
 * its place since). */
static void out_discard(struct out_file *out)
{
	struct stat now;

	if (out->fd >= 0 && ftruncate(out->fd, 0) != 0) {
		/* nothing more to do: the unlink below still runs */
	}
	if (out->created_known && lstat(out->path, &now) == 0 &&
	    now.st_dev == out->created.st_dev && now.st_ino == out->created.st_ino)
		(void)unlink(out->path);
	es_fs_close(&out->fd);
}

/* An error cairo reports, in our words: a failed write says its errno. */
static int cairo_failed(cairo_status_t status, const struct out_file *out, struct es_err *err)
{
	if (out->write_errno != 0)
		return es_err_errno(err, ES_EIO, out->write_errno, "cannot write %s", out->path);
	if (status == CAIRO_STATUS_SUCCESS)
		return 0;
	if (status == CAIRO_STATUS_NO_MEMORY)
		return es_err_set(err, ES_EOS, "out of memory");
	return es_err_set(err, ES_ESOFTWARE, "cannot draw the slips: %s",
			  cairo_status_to_string(status));
}

/* ---- what is given ---- */

static bool text_ok(const char *s)
{
	return s != NULL && es_utf8_valid(s, strlen(s)) && !es_has_control(s);
}

static bool lang_french(const char *lang)
{
	return lang != NULL && strncmp(lang, "fr", 2) == 0;
}

static bool no_class(const char *klass)
{
	return klass == NULL || klass[0] == '\0';
}

/* pango warns about and replaces bytes that are not UTF-8, and a control
 * character would break a slip's lines: both are refused before any file
 * exists. The message never shows a password. */
static int doc_check(const struct slip_doc *doc, struct es_err *err)
{
	if (doc == NULL || doc->slips == NULL || doc->n == 0)
		return es_err_set(err, ES_EDATA, "no slips to print: no file written");
	if (!text_ok(doc->school_name))
		return es_err_set(err, ES_EDATA,
				  "the school name is missing, not valid UTF-8 or holds a control "
				  "character");
	for (size_t i = 0; i < doc->n; i++) {
		const struct slip *s = &doc->slips[i];
		if (!text_ok(s->display_name) || !text_ok(s->username) || !text_ok(s->password) ||
		    s->username[0] == '\0' || s->password[0] == '\0' ||
		    !(no_class(s->klass) || text_ok(s->klass)) ||
		    !(s->lang == NULL || text_ok(s->lang)))
			return es_err_set(
			    err, ES_EDATA,
			    "slip %zu: the name, class, username, password or language is "
			    "missing, not valid UTF-8 or holds a control character",
			    i + 1);
	}
	return 0;
}

/* ---- the order: by class, stable within one ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Natural order: a run of digits against a run of digits compares as
 * numbers ("5A" < "10A"), other bytes by value; names equal that way
 * ("05A", "5A") fall back to byte order, so that 0 means the same
 * class. No class at all comes last. */
static int class_cmp(const char *a, const char *b)
{
	const char *pa = a, *pb = b;

	if (no_class(a) || no_class(b))
		return (int)no_class(a) - (int)no_class(b);
	while (*pa != '\0' && *pb != '\0') {
		if (is_digit(*pa) && is_digit(*pb)) {
			size_t la = 0, lb = 0;
			int c;
			while (*pa == '0')
				pa++;
			while (*pb == '0')
				pb++;
			while (is_digit(pa[la]))
				la++;
			while (is_digit(pb[lb]))
				lb++;
			if (la != lb)
				return la < lb ? -1 : 1;
			c = memcmp(pa, pb, la);
			if (c != 0)
				return c;
			pa += la;
			pb += lb;
		} else {
			if (*pa != *pb)
				return (unsigned char)*pa < (unsigned char)*pb ? -1 : 1;
			pa++;
			pb++;
		}
	}
	if (*pa != *pb)
		return *pa == '\0' ? -1 : 1;
	return strcmp(a, b);
}

/* qsort is not stable: pointers into the one array break ties by the
 * order the slips were given in */
static int slip_order(const void *va, const void *vb)
{
	const struct slip *a = *(const struct slip *const *)va;
	const struct slip *b = *(const struct slip *const *)vb;
	int c = class_cmp(a->klass, b->klass);

	if (c != 0)
		return c;
	return a < b ? -1 : a > b;
}

static bool same_class(const struct slip *a, const struct slip *b)
{
	return class_cmp(a->klass, b->klass) == 0;
}

/* ---- the logo ---- */

struct png_source {
	const unsigned char *data;
	size_t len, off;
};

static cairo_status_t png_read(void *closure, unsigned char *data, unsigned int len)
{
	struct png_source *src = closure;

	if (len > src->len - src->off)
		return CAIRO_STATUS_READ_ERROR;
	memcpy(data, src->data + src->off, len);
	src->off += len;
	return CAIRO_STATUS_SUCCESS;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The decoded logo, or NULL: none, not a PNG, too large, or one that
 * libpng gives up on (cairo returns its error, nothing crashes). */
static cairo_surface_t *logo_load(const unsigned char *png, size_t len)
{
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	struct png_source src = {png, len, 0};
	cairo_surface_t *logo;
	uint32_t w, h;

	/* the size from the IHDR chunk (always first) before any decoding */
	if (png == NULL || len < 24 || memcmp(png, sig, sizeof(sig)) != 0 ||
	    memcmp(png + 12, "IHDR", 4) != 0)
		return NULL;
	w = be32(png + 16);
	h = be32(png + 20);
	if (w == 0 || h == 0 || w > LOGO_MAX_SIDE || h > LOGO_MAX_SIDE)
		return NULL;
	logo = cairo_image_surface_create_from_png_stream(png_read, &src);
	if (cairo_surface_status(logo) != CAIRO_STATUS_SUCCESS ||
	    cairo_image_surface_get_width(logo) <= 0 || cairo_image_surface_get_height(logo) <= 0) {
		cairo_surface_destroy(logo);
		return NULL;
	}
	return logo;
}

bool slips_pdf_logo_ok(const unsigned char *png, size_t len)
{
	cairo_surface_t *logo = logo_load(png, len);

	if (logo == NULL)
		return false;
	cairo_surface_destroy(logo);
	return true;
}

/* ---- drawing ---- */

struct pen {
	cairo_t *cr;
	PangoContext *pango;   /* one for every layout: the CTM stays identity */
	cairo_surface_t *logo; /* NULL: none */
	const struct slip_doc *doc;
	const struct out_file *out;
};

struct text_style {
	const char *family;
	double size; /* points */
	bool bold;
	/* a name is cut with "…" after max_lines; a secret (max_lines 0) is
	 * never cut: it wraps anywhere, without the hyphen pango would add */
	int max_lines;
	PangoAlignment align;
	double grey; /* 0 black .. 1 white */
};

static const struct text_style st_school = {FONT_TEXT, 10.5, true, 2, PANGO_ALIGN_LEFT, 0.2};
static const struct text_style st_name = {FONT_TEXT, 13.5, true, 2, PANGO_ALIGN_LEFT, 0};
static const struct text_style st_small = {FONT_TEXT, 9.5, false, 2, PANGO_ALIGN_LEFT, 0.15};
static const struct text_style st_label = {FONT_TEXT, 8, false, 2, PANGO_ALIGN_LEFT, 0.35};
static const struct text_style st_secret = {FONT_SECRET, 15, true, 0, PANGO_ALIGN_LEFT, 0};
static const struct text_style st_howto = {FONT_TEXT, 8, false, 2, PANGO_ALIGN_LEFT, 0.15};

/* the class header page */
static const struct text_style st_page_title = {FONT_TEXT, 20, true, 2, PANGO_ALIGN_CENTER, 0.15};
static const struct text_style st_page_class = {FONT_TEXT, 30, true, 2, PANGO_ALIGN_CENTER, 0};
static const struct text_style st_page_line = {FONT_TEXT, 13, false, 2, PANGO_ALIGN_CENTER, 0.15};
static const struct text_style st_page_note = {FONT_TEXT, 11, false, 6, PANGO_ALIGN_CENTER, 0.25};

/* Draws text (UTF-8, never markup) with its top left at (x, y) in a box
 * width wide; returns the height it took. */
static void set_font(PangoLayout *layout, const struct text_style *st, double size)
{
	PangoFontDescription *font = pango_font_description_new();

	pango_font_description_set_family(font, st->family);
	/* absolute: device units, which are PDF points here (a size in
	 * "points" would be scaled by the context's 96 dpi) */
	pango_font_description_set_absolute_size(font, size * PANGO_SCALE);
	pango_font_description_set_weight(font, st->bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
	pango_layout_set_font_description(layout, font);
	pango_font_description_free(font);
}

static double draw_text(const struct pen *pen, double x, double y, double width,
			const struct text_style *st, const char *text)
{
	PangoLayout *layout = pango_layout_new(pen->pango);
	int w, h;

	set_font(layout, st, st->size);
	pango_layout_set_alignment(layout, st->align);
	pango_layout_set_text(layout, text, -1);
	if (st->max_lines > 0) {
		pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
		pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_END);
		pango_layout_set_height(layout, -st->max_lines);
	} else {
		PangoAttrList *attrs = pango_attr_list_new();
		/* a hyphen at the break would read as part of the password */
		pango_attr_list_insert(attrs, pango_attr_insert_hyphens_new(FALSE));
		pango_layout_set_attributes(layout, attrs);
		pango_attr_list_unref(attrs);
		/* a long secret gets a smaller font to stay on one line (down
		 * to SECRET_MIN_SIZE), and wraps only past that */
		pango_layout_get_size(layout, &w, &h);
		if (pango_units_to_double(w) > width) {
			double size = st->size * width / pango_units_to_double(w) * 0.98;
			set_font(layout, st, size > SECRET_MIN_SIZE ? size : SECRET_MIN_SIZE);
		}
		pango_layout_set_wrap(layout, PANGO_WRAP_CHAR);
	}
	pango_layout_set_width(layout, pango_units_from_double(width));
	cairo_set_source_rgb(pen->cr, st->grey, st->grey, st->grey);
	cairo_move_to(pen->cr, x, y);
	pango_cairo_show_layout(pen->cr, layout);
	pango_layout_get_size(layout, &w, &h);
	g_object_unref(layout);
	return pango_units_to_double(h);
}

/* A message of the catalogue with its values, in a new string (the
 * values may be long: no fixed buffer to cut a UTF-8 sequence in two). */
static char *text_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *text_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* Draws the logo scaled into box_w x box_h at (x, y), centred across the
 * box when centre; returns the height drawn (0 without a logo). */
static double draw_logo(const struct pen *pen, double x, double y, double box_w, double box_h,
			bool centre)
{
	double w, h, scale;

	if (pen->logo == NULL)
		return 0;
	w = cairo_image_surface_get_width(pen->logo);
	h = cairo_image_surface_get_height(pen->logo);
	scale = box_w / w < box_h / h ? box_w / w : box_h / h;
	cairo_save(pen->cr);
	cairo_translate(pen->cr, centre ? x + (box_w - w * scale) / 2 : x, y);
	cairo_scale(pen->cr, scale, scale);
	cairo_set_source_surface(pen->cr, pen->logo, 0, 0);
	cairo_rectangle(pen->cr, 0, 0, w, h);
	cairo_fill(pen->cr);
	cairo_restore(pen->cr);
	return h * scale;
}

/* Dashed lines along every edge of the used rows, to the paper's edge, so
 * that a guillotine can follow them. */
static void draw_cut_lines(const struct pen *pen, size_t count)
{
	static const double dash[] = {4.0, 3.0};
	size_t rows = (count + COLS - 1) / COLS;
	double bottom = MARGIN + (double)rows * CELL_H;

	cairo_save(pen->cr);
	cairo_set_source_rgb(pen->cr, 0.55, 0.55, 0.55);
	cairo_set_line_width(pen->cr, 0.5);
	cairo_set_dash(pen->cr, dash, 2, 0);
	for (size_t r = 0; r <= rows; r++) {
		cairo_move_to(pen->cr, 0, MARGIN + (double)r * CELL_H);
		cairo_line_to(pen->cr, PAGE_W, MARGIN + (double)r * CELL_H);
	}
	for (size_t c = 0; c <= COLS; c++) {
		cairo_move_to(pen->cr, MARGIN + (double)c * CELL_W, 0);
		cairo_line_to(pen->cr, MARGIN + (double)c * CELL_W,
			      rows == ROWS ? PAGE_H : bottom + MARGIN);
	}
	cairo_stroke(pen->cr);
	cairo_restore(pen->cr);
}

/* A label on the left, its value in the secrets' font on the right;
 * returns the height of the row. */
static double draw_field(const struct pen *pen, double x, double y, double width, const char *label,
			 const char *value)
{
	double label_w = width * 0.34;
	double hl = draw_text(pen, x, y + 3.5, label_w - 4, &st_label, label);
	double hv = draw_text(pen, x + label_w, y, width - label_w, &st_secret, value);

	return hl + 3.5 > hv ? hl + 3.5 : hv;
}

/* One slip in the cell whose top left corner is (cx, cy). */
static int draw_slip(const struct pen *pen, const struct slip *s, double cx, double cy,
		     struct es_err *err)
{
	bool fr = lang_french(s->lang);
	double x = cx + PAD, y = cy + PAD, width = CELL_W - 2 * PAD;
	double logo_side = pen->logo != NULL ? 26.0 : 0.0;
	double h;
	char date[96];
	char *line;
	static const char *const howto[] = {
	    N_("1. Log in with this username and temporary password."),
	    N_("2. You will be asked to choose your own password."),
	    N_("3. Keep it secret. If it does not work, ask your teacher."),
	};

	/* nothing of a slip strays onto its neighbour, whatever its length */
	cairo_save(pen->cr);
	cairo_rectangle(pen->cr, cx, cy, CELL_W, CELL_H);
	cairo_clip(pen->cr);

	(void)draw_logo(pen, x, y, logo_side, logo_side, false);
	h = draw_text(pen, x + (logo_side > 0 ? logo_side + 8 : 0), y + 1,
		      width - (logo_side > 0 ? logo_side + 8 : 0), &st_school,
		      pen->doc->school_name);
	y += (h + 1 > logo_side ? h + 1 : logo_side) + 5;

	y += draw_text(pen, x, y, width, &st_name, s->display_name) + 1;
	if (!no_class(s->klass)) {
		line = text_fmt(es_msg(fr, "Class %s"), s->klass);
		if (line == NULL)
			goto oom;
		y += draw_text(pen, x, y, width, &st_small, line);
		free(line);
	}
	y += 7;

	y += draw_field(pen, x, y, width, es_msg(fr, "Username:"), s->username) + 4;
	y += draw_field(pen, x, y, width, es_msg(fr, "Temporary password:"), s->password) + 5;

	if (s->expires != 0) {
		if (es_fmt_when(s->expires, fr ? "fr" : "en", date, sizeof(date)) != 0) {
			cairo_restore(pen->cr);
			return es_err_set(err, ES_EDATA, "a date cannot be written: %lld",
					  (long long)s->expires);
		}
		line = text_fmt(es_msg(fr, "Valid until %s"), date);
		if (line == NULL)
			goto oom;
		y += draw_text(pen, x, y, width, &st_small, line);
		free(line);
	}
	y += 5;
	for (size_t i = 0; i < ES_ARRAY_LEN(howto); i++)
		y += draw_text(pen, x, y, width, &st_howto, es_msg(fr, howto[i])) + 1;

	cairo_restore(pen->cr);
	return 0;
oom:
	cairo_restore(pen->cr);
	return es_err_set(err, ES_EOS, "out of memory");
}

/* The page that opens a class: for whoever cuts and hands out. */
static int draw_class_page(const struct pen *pen, const struct slip *first, size_t count,
			   struct es_err *err)
{
	const struct slip_doc *doc = pen->doc;
	bool fr = lang_french(doc->lang);
	double x = MARGIN * 3, width = PAGE_W - 6 * MARGIN, y = 110;
	char date[96];
	char *line;

	if (es_fmt_when(doc->now != 0 ? doc->now : time(NULL), fr ? "fr" : "en", date, sizeof(date)) != 0)
		return es_err_set(err, ES_EDATA, "a date cannot be written: %lld",
				  (long long)doc->now);
	y += draw_logo(pen, x, y, width, 110, true);
	y += 24;
	y += draw_text(pen, x, y, width, &st_page_title, doc->school_name) + 10;
	y += draw_text(pen, x, y, width, &st_page_line, es_msg(fr, "Credential slips")) + 40;
	if (no_class(first->klass))
		line = es_strdup(es_msg(fr, "No class"));
	else
		line = text_fmt(es_msg(fr, "Class %s"), first->klass);
	if (line == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	y += draw_text(pen, x, y, width, &st_page_class, line) + 30;
	free(line);
	line = text_fmt(es_msg(fr, "Slips: %zu"), count);
	if (line == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	y += draw_text(pen, x, y, width, &st_page_line, line) + 6;
	free(line);
	line = text_fmt(es_msg(fr, "Date: %s"), date);
	if (line == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	y += draw_text(pen, x, y, width, &st_page_line, line) + 50;
	free(line);
	(void)draw_text(pen, x, y, width, &st_page_note,
			es_msg(fr, "Cut along the dashed lines and hand each pupil their own slip. "
				   "The passwords are secret: keep these pages locked away and "
				   "destroy the slips that were not handed out."));
	return 0;
}

static int end_page(const struct pen *pen, struct es_err *err)
{
	cairo_show_page(pen->cr);
	return cairo_failed(cairo_status(pen->cr), pen->out, err);
}

/* One class (count slips of the same class, in order): its header page,
 * then its slips, PER_PAGE a page. */
static int draw_class(const struct pen *pen, const struct slip *const *group, size_t count,
		      struct es_err *err)
{
	if (draw_class_page(pen, group[0], count, err) != 0 || end_page(pen, err) != 0)
		return -1;
	for (size_t first = 0; first < count; first += PER_PAGE) {
		size_t on_page = count - first < PER_PAGE ? count - first : PER_PAGE;
		draw_cut_lines(pen, on_page);
		for (size_t i = 0; i < on_page; i++) {
			double cx = MARGIN + (double)(i % COLS) * CELL_W;
			size_t row = i / COLS;
			double cy = MARGIN + (double)row * CELL_H;
			if (draw_slip(pen, group[first + i], cx, cy, err) != 0)
				return -1;
		}
		if (end_page(pen, err) != 0)
			return -1;
	}
	return 0;
}

static int draw_all(const struct pen *pen, const struct slip *const *order, size_t n,
		    struct es_err *err)
{
	size_t start = 0;

	while (start < n) {
		size_t end = start + 1;
		while (end < n && same_class(order[start], order[end]))
			end++;
		if (draw_class(pen, order + start, end - start, err) != 0)
			return -1;
		start = end;
	}
	return 0;
}

/* Without the secrets' font fontconfig would quietly take another
 * monospace one, where l and 1 may look alike: asked for by name, before
 * any file exists. */
static int font_check(struct es_err *err)
{
	PangoContext *pango = pango_font_map_create_context(pango_cairo_font_map_get_default());
	PangoFontDescription *want = pango_font_description_from_string(FONT_SECRET);
	PangoFont *font = pango_context_load_font(pango, want);
	bool ok = false;

	if (font != NULL) {
		PangoFontDescription *got = pango_font_describe(font);
		const char *family = pango_font_description_get_family(got);
		ok = family != NULL && strcmp(family, FONT_SECRET) == 0;
		pango_font_description_free(got);
		g_object_unref(font);
	}
	pango_font_description_free(want);
	g_object_unref(pango);
	if (!ok)
		return es_err_set(
		    err, ES_EUNAVAIL,
		    "the font %s is not installed (Debian: apt-get install "
		    "fonts-dejavu-core): the passwords need it to tell l, 1 and I apart",
		    FONT_SECRET);
	return 0;
}

int slips_pdf_write(const char *path, const struct slip_doc *doc, struct es_err *err)
{
	struct out_file out = {.path = path, .fd = -1};
	struct pen pen = {.doc = doc, .out = &out};
	/* the slips in print order, as pointers into doc->slips */
	const struct slip **order = NULL;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	const size_t order_size = sizeof(const struct slip *);
	cairo_surface_t *surface = NULL;
	int rc = -1;

	if (path == NULL || path[0] == '\0')
		return es_err_set(err, ES_EUSAGE, "no file name for the slips");
	if (doc_check(doc, err) != 0 || font_check(err) != 0)
		return -1;
	order = calloc(doc->n, order_size);
	if (order == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	for (size_t i = 0; i < doc->n; i++)
		order[i] = &doc->slips[i];
	qsort(order, doc->n, order_size, slip_order);

	if (out_open(&out, path, err) != 0)
		goto out;
	surface = cairo_pdf_surface_create_for_stream(out_write, &out, PAGE_W, PAGE_H);
	if (cairo_failed(cairo_surface_status(surface), &out, err) != 0)
		goto out;
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE,
				       es_msg(lang_french(doc->lang), "Credential slips"));
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "eschool");
	pen.cr = cairo_create(surface);
	if (cairo_failed(cairo_status(pen.cr), &out, err) != 0)
		goto out;
	pen.pango = pango_cairo_create_context(pen.cr);
	pen.logo = logo_load(doc->logo_png, doc->logo_len);
	if (draw_all(&pen, (const struct slip *const *)order, doc->n, err) != 0)
		goto out;
	cairo_destroy(pen.cr);
	pen.cr = NULL;
	/* the fonts and the trailer are written here */
	cairo_surface_finish(surface);
	if (cairo_failed(cairo_surface_status(surface), &out, err) != 0 ||
	    out_close(&out, err) != 0)
		goto out;
	rc = 0;
out:
	if (pen.pango != NULL)
		g_object_unref(pen.pango);
	if (pen.logo != NULL)
		cairo_surface_destroy(pen.logo);
	if (pen.cr != NULL)
		cairo_destroy(pen.cr);
	/* before the discard: destroying an unfinished surface still writes */
	if (surface != NULL)
		cairo_surface_destroy(surface);
	if (rc != 0)
		out_discard(&out);
	free(order);
	return rc;
}

/* the plugin's one export (helper/slips_pdf.map) */
__attribute__((visibility("default"))) const struct slips_plugin eschool_slips_plugin = {
	.head = PLUGIN_HEAD,
	.write = slips_pdf_write,
	.logo_ok = slips_pdf_logo_ok,
};
