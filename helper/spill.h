/* The import's working copy of the roster: a file the rows and their
 * values are allocated in (a bump allocator over a shared mapping of an
 * unnamed file in state_dir), so that a 100,000-row roster does not have
 * to stay in the process's memory. The kernel keeps the file's pages in
 * its page cache, writes them back and reclaims them when memory is
 * short; spill_settle drops them from the process (its RSS) whenever the
 * import is done with a stretch of rows. Pointers into the copy stay
 * valid until spill_close: a dropped page is read back at the next touch.
 *
 * The file is made with O_TMPFILE (it has no name: nobody can open it, and
 * it is gone when the process ends, even by kill -9), 0600, in the state
 * directory (root's alone, checked); its room is reserved with fallocate,
 * so a full disk is an error when the room is asked for, never a SIGBUS at
 * a later write. A dry run, and an import before the state directory
 * exists, keep the copy in ordinary memory (nothing written on disk). */
#ifndef ESCHOOL_SPILL_H
#define ESCHOOL_SPILL_H

#include <stdbool.h>
#include <stddef.h>

#include "es_err.h"

struct spill {
	int fd;         /* -1: ordinary memory (no state directory) */
	const char *dir; /* the state directory (for messages) */
	char *base;     /* the mapping: reserved bytes of address space */
	size_t reserved, used, room;
};

/* A working copy of at most `reserve` bytes, in state_dir (NULL, or a
 * state directory that does not exist yet: ordinary memory). 0, or -1
 * with err (an unsafe state directory, no room, out of memory). s is
 * cleared first; spill_close it in every case. */
int spill_open(struct spill *s, const char *state_dir, size_t reserve, struct es_err *err);

/* n bytes, zeroed, aligned to 8 (NULL with err: past `reserve`, or no
 * room left on the state directory's file system). */
void *spill_alloc(struct spill *s, size_t n, struct es_err *err);

/* Room for n more bytes reserved now (fallocate), so that the
 * allocations that follow cannot meet a full disk: 0, or -1 with err. */
int spill_reserve(struct spill *s, size_t n, struct es_err *err);

/* Drops the copy's pages from the process's memory (they stay in the
 * file: the next touch reads them back). No-op for ordinary memory. */
void spill_settle(const struct spill *s);

void spill_close(struct spill *s);

#endif
