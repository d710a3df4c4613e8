/* Rosters as school software exports them.
 *
 * The bytes are decoded to UTF-8 (a byte order mark says UTF-8 or UTF-16,
 * else valid UTF-8 is UTF-8, else Windows-1252, what Excel and French
 * school software write; the caller may say instead), the header's columns
 * are matched to eschool's fields (names in French and English, case and
 * accents aside; a known export's layout; the administrator's own map),
 * and each row's values become what eschool keeps (the name a person is
 * greeted by, the class, the role and language words). The CSV syntax
 * itself is es_csv's. Nothing here prints; errors say what and which
 * column, the caller says where (file:line). */
#ifndef ESCHOOL_ROSTER_H
#define ESCHOOL_ROSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "es_csv.h"
#include "es_err.h"

/* ---- decoding ---- */

/* The whole file in memory, decoded at once: what es_roster_reader must
 * give a block at a time (the unit tests and fuzz_roster_reader compare
 * the two; the import reads through es_roster_reader).
 *
 * Decodes data (len bytes) to UTF-8 in *out (malloc'd, NUL-terminated,
 * without a byte order mark; *outlen bytes). encoding: NULL or "auto" to
 * detect, else a name iconv knows ("utf-8", "utf-16", "windows-1252",
 * "latin1" ...). *detected: what was used, in words for a report ("UTF-8",
 * "UTF-8 with BOM", "UTF-16LE with BOM", "Windows-1252" or the name
 * given). A byte the encoding does not have is an ES_EDATA error whose
 * *bad_line says the line (1-based) it is on. */
int es_roster_decode(const char *data, size_t len, const char *encoding, char **out,
                     size_t *outlen, const char **detected, unsigned long *bad_line,
                     struct es_err *err);

/* ---- reading a file a block at a time ---- */

/* A roster file decoded and cut into records as es_roster_decode and
 * es_csv would from the whole file in memory, with the same records, the
 * same errors and the same lines, but a block of the file at a time: only
 * a block and the record it ends in are in memory (a roster of 100,000
 * rows is megabytes). */
struct es_roster_reader;

/* Reads fd (a regular file, from its start; not closed) in blocks of
 * `block` bytes (0: 64 KB), at most max_bytes in all. encoding as
 * es_roster_decode's: detecting UTF-8 reads the file once more. */
int es_roster_reader_open(struct es_roster_reader **r, int fd, const char *encoding,
                          size_t block, size_t max_bytes, struct es_err *err);

/* What the file was decoded from, as es_roster_decode's *detected. */
const char *es_roster_reader_encoding(const struct es_roster_reader *r);

/* The separator (once the first record is read). */
char es_roster_reader_sep(const struct es_roster_reader *r);

/* The next record, as es_csv_next: 1, 0 at the end, or -1 (ES_EDATA:
 * the message says what, *err_line the line; or another code: a read,
 * the memory). */
int es_roster_reader_next(struct es_roster_reader *r, struct es_csv_record *rec,
                          unsigned long *err_line, struct es_err *err);

void es_roster_reader_free(struct es_roster_reader *r);

/* ---- columns ---- */

enum es_roster_field {
	ES_RF_USERNAME,
	ES_RF_NAME,   /* a full name: "DUPRÉ Élodie", "Élodie Dupré" */
	ES_RF_FIRST,
	ES_RF_LAST,
	ES_RF_EMAIL,
	ES_RF_PARENT, /* a parent's (legal representative's) address */
	ES_RF_CLASS,
	ES_RF_LANG,
	ES_RF_ROLE,
	ES_RF_COUNT,
	ES_RF_IGNORE = ES_RF_COUNT, /* --map 'Column=ignore': used by nothing, not reported */
};

/* The names --map and [import] columns use: username, name, first_name,
 * last_name, email, parent_email, class, lang, role, ignore. */
const char *es_roster_field_name(int field);

#define ES_ROSTER_MAP_MAX 32

/* The administrator's map, header name -> field (names kept folded). */
struct es_roster_map {
	size_t n;
	struct {
		char header[96];
		int field;
	} e[ES_ROSTER_MAP_MAX];
};

/* Adds "Column=field[, Column=field ...]" to map (the value of --map or
 * of [import] columns). ES_EUSAGE-free: ES_EDATA with what is wrong. */
int es_roster_map_parse(const char *spec, struct es_roster_map *map, struct es_err *err);

/* The layouts known by name (--format): "plain" (eschool's own columns
 * only), "pronote", "ecoledirecte", "siecle", "onde", "workspace", "sds".
 * NULL-terminated. */
extern const char *const es_roster_formats[];

#define ES_ROSTER_ALTS 4 /* columns for one field, by preference */

struct es_roster_layout {
	const char *format; /* the layout named or recognised, or "" */
	const char *role;   /* the role of rows that give none (SDS's Teacher.csv), or NULL */
	/* the columns of each field, the preferred first, -1 after the last:
	 * a row's value is the first of them that is not empty (SIECLE's two
	 * legal representatives, a usage name before a birth name) */
	int col[ES_RF_COUNT][ES_ROSTER_ALTS];
	size_t n_cols;
	bool used[ES_CSV_MAX_FIELDS];     /* a column some field reads, or mapped to ignore */
	char *header[ES_CSV_MAX_FIELDS];  /* the header's names as written (owned) */
};

/* Matches the header (n names) to fields: the administrator's map first,
 * then the layout format names (NULL: recognised from the header when it
 * is one of the known exports), then the names in French and English.
 * Columns used by nothing are left with used[i] false: the caller lists
 * them. Errors: an unknown format, a field given twice at the same rank
 * (the same column name twice), no column to name the accounts by. */
int es_roster_layout(struct es_roster_layout *lay, char *const *header, size_t n,
                     const char *format, const struct es_roster_map *map, struct es_err *err);

void es_roster_layout_free(struct es_roster_layout *lay);

/* ---- rows ---- */

enum es_roster_value {
	ES_RV_USERNAME,
	ES_RV_NAME,     /* the name the person is greeted by: "Élodie Dupré" */
	ES_RV_NAME_KEY, /* what es_username_base derives a username from */
	ES_RV_EMAIL,
	ES_RV_PARENT,
	ES_RV_CLASS,    /* "2nde 3" also from an organisational unit "/Élèves/2nde 3" */
	ES_RV_LANG,     /* "fr", "en", or the value as written when it is neither */
	ES_RV_ROLE,     /* "student", "teacher" for the usual words, else lowercased */
	ES_RV_COUNT,
};

/* The values of one record (fields as es_csv read them, n of them) in
 * out[] (malloc'd, trimmed, NULL when empty). A value with a control
 * character (a line break inside quotes) is ES_EDATA naming its column;
 * out is then all NULL. */
int es_roster_row(const struct es_roster_layout *lay, char *const *fields, size_t n,
                  char *out[ES_RV_COUNT], struct es_err *err);

void es_roster_row_free(char *out[ES_RV_COUNT]);

#endif
