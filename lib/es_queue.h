/* The durable mail queue (SPEC section 5), under spool_dir (0700, root):
 *   tmp/     files being written
 *   new/     queued messages, waiting or deferred (next_try in the future)
 *   failed/  messages refused for good (5xx) or past their lifetime
 * One file per message, named by its id ("<created>.<random hex>", so that
 * names sort by age): a header of key=value lines between "eschool-queue 1"
 * and "end", then the RFC 5322 bytes, whose length the header states, so a
 * torn write is detected and never read back as valid. Every file is
 * written in tmp/, fsynced and renamed into place; a message leaves new/
 * only when delivered (es_queue_remove) or failed (es_queue_fail).
 * The writer side (add) is used by the helper and the PAM module. */
#ifndef ESCHOOL_QUEUE_H
#define ESCHOOL_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "es_err.h"
#include "es_util.h"

#define ES_QUEUE_MAX_MSG (8L * 1024 * 1024)

/* Credential mails go before notices. */
enum { ES_QPRIO_CREDENTIALS = 0, ES_QPRIO_NOTICE = 1, ES_QPRIO_REMINDER = 2 };

struct es_qmsg {
	char id[48];
	char to[256];
	char kind[64];
	char user[33];      /* "" when not about one user (test, quota-alert) */
	int priority;
	int64_t created;
	int64_t next_try;   /* 0: now */
	long attempts;
	char last_error[300];
	bool secret;        /* holds a password */
	bool failed;        /* in failed/ */
};

/* Queues msg (len bytes) with m's to/kind/user/priority/secret; fills
 * m->id and m->created (now). */
int es_queue_add(const char *spool, struct es_qmsg *m, const char *msg, size_t len, time_t now,
                 struct es_err *err);

/* Reads a message: metadata into m and, when msg is not NULL, its bytes
 * (malloc'd, NUL-terminated; wipe them when m->secret). ES_ENOUSER when
 * there is no such id; ES_EDATA when the file is corrupt or torn. */
int es_queue_read(const char *spool, const char *id, bool failed, struct es_qmsg *m,
                  char **msg, size_t *len, struct es_err *err);

/* Rewrites a message's metadata (attempts, next_try, last_error), keeping
 * its bytes. */
int es_queue_update(const char *spool, const struct es_qmsg *m, struct es_err *err);

/* Rewrites a message whole: m's metadata and new bytes (a mail
 * re-addressed to its account's address now). The file is replaced
 * atomically: a failure leaves the message as it was. */
int es_queue_replace(const char *spool, const struct es_qmsg *m, const char *msg, size_t len,
                     struct es_err *err);

/* Deletes a delivered message (or a failed one: queue drop). */
int es_queue_remove(const char *spool, const char *id, bool failed, struct es_err *err);

/* Moves a message to failed/ (rename first: never in both) and records m's
 * metadata there. */
int es_queue_fail(const char *spool, const struct es_qmsg *m, struct es_err *err);

/* Moves a failed message back to new/ with attempts and next_try reset. */
int es_queue_revive(const char *spool, const char *id, struct es_err *err);

/* Calls visit with each message's metadata (its header alone is read),
 * new/ then failed/ (m->failed), in directory order. A file that cannot be
 * read is skipped and counted in *n_corrupt, its error (the last one's) in
 * err. visit returns 0 to go on, or a positive value to stop the scan,
 * which returns it. Returns 0 when every message was visited, or -1 (err)
 * when a directory cannot be read. */
typedef int (*es_queue_visit)(const struct es_qmsg *m, void *arg);
int es_queue_scan(const char *spool, es_queue_visit visit, void *arg, size_t *n_corrupt,
                  struct es_err *err);

/* Every message's metadata (new/ then failed/), sorted: queued before
 * failed, then by priority, then oldest first. *out is malloc'd. A corrupt
 * file is reported through err and skipped (the count is *n_corrupt). */
int es_queue_list(const char *spool, struct es_qmsg **out, size_t *n, size_t *n_corrupt,
                  struct es_err *err);

/* Takes the queue runner's lock (flock on the spool directory): with wait
 * false, ES_ETEMP when another runner holds it. Release with close(). */
int es_queue_lock(const char *spool, bool wait, int *fd, struct es_err *err);

/* A sender's handle on the queue for a whole run (under es_queue_lock):
 * new/ and sent/ stay open, a message is read with one open, and a
 * delivered one is renamed into sent/ at once (so that it is never sent
 * twice, even if the process dies) and unlinked by a background thread,
 * off the sending path. Directory syncs are batched: a power cut may make
 * a few delivered messages come back (sent twice), never lose one.
 * Leftovers in sent/ from a killed run are deleted at the next open. */
struct es_queue_run;

int es_queue_run_open(const char *spool, struct es_queue_run **qr, struct es_err *err);

/* es_queue_read for new/, through the handle. */
int es_queue_run_read(struct es_queue_run *qr, const char *id, struct es_qmsg *m, char **msg,
                      size_t *len, struct es_err *err);

/* The message was delivered: it leaves new/ now. */
int es_queue_run_done(struct es_queue_run *qr, const char *id, struct es_err *err);

/* Syncs new/, deletes what is in sent/, frees. */
void es_queue_run_close(struct es_queue_run *qr);

/* A queue file's bytes from m's metadata and the message (appended to b;
 * returns -1 when out of memory). */
int es_queue_format(const struct es_qmsg *m, const char *msg, size_t len, struct es_buf *b);

/* Parses a whole queue file (data is changed: NULs end its header lines):
 * m's metadata, *body pointing into data, *blen its length. -1 when it is
 * not a complete queue file (bad header, unknown id, a size that does not
 * match: a torn write). */
int es_queue_parse(char *data, size_t len, struct es_qmsg *m, const char **body, size_t *blen);

/* true for ids es_queue_add makes ([0-9a-f.], bounded): never a path. */
bool es_queue_valid_id(const char *id);

#endif
