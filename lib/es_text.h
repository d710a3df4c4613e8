/* Text for a terminal: what a table cell shows and how many columns it
 * takes. A byte count pads "Élodie" one column short and "山田" two. */
#ifndef ESCHOOL_TEXT_H
#define ESCHOOL_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "es_util.h"

/* The columns one code point takes on a terminal: 0 (combining marks,
 * zero-width characters), 1, or 2 (East Asian wide, emoji). wcwidth(3)
 * when the locale is UTF-8 and knows the character, else a built-in table
 * of the wide and zero-width ranges. */
int es_text_cp_width(uint32_t cp);

/* Appends s to out as a terminal shows it safely: C0 and C1 controls, DEL,
 * the line and paragraph separators, the bidirectional controls
 * (U+200E/F, U+202A..U+202E, U+2066..U+2069) and bytes that are not UTF-8
 * become "\xHH" per byte; other text is kept. With max_cols > 0 a wider
 * text is cut at a character and ends in "…". *cols (may be NULL) gets
 * the columns what was appended takes. 0, or -1 when out of memory. */
int es_text_term(struct es_buf *out, const char *s, size_t max_cols, size_t *cols);

/* The columns es_text_term(s, no limit) takes. */
size_t es_text_width(const char *s);

/* es_text_term, then spaces up to cols columns (none when wider). */
int es_text_pad(struct es_buf *out, const char *s, size_t cols);

#endif
