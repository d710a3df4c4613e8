/* The notices the workstations owe: see notices.h. */
#include "mail/notices.h"

#include <stdio.h>
#include <string.h>

#include "es_account.h"
#include "es_queue.h"
#include "es_store.h"
#include "es_util.h"
#include "mail/compose.h"

/* Save attempts when a workstation writes the same record meanwhile. */
#define COLLECT_TRIES 5

struct collect {
	struct cli *ctx;
	size_t queued;
	struct es_err *err;
	int rc;
};

/* One owed notice as a queued mail (the workstation's words: its time,
 * the source it showed). */
static int queue_notice(struct cli *ctx, const struct es_state *st, const struct es_notice *n,
                        struct es_err *err)
{
	const char *email = es_state_get(st, ES_K_EMAIL), *name = es_state_get(st, ES_K_NAME);
	struct es_buf msg = { 0 };
	struct es_qmsg m;
	int rc;

	if (email == NULL || email[0] == '\0')
		return 0; /* nobody to tell */
	{
		const struct es_tvar vars[] = {
			{ "name", name != NULL && name[0] != '\0' ? name : st->username },
			{ "username", st->username },
			{ "source", n->shown[0] != '\0' ? n->shown : NULL },
		};
		/* a change caught up from the directory is known to the day only,
		 * and owed at the start of that day (UTC, as shadowLastChange
		 * counts): its date alone, not a midnight that never was */
		const struct es_tdate dates[] = {
			{ .name = "when", .t = (time_t)n->when, .day_only = n->when % ES_DAY == 0 },
		};

		if (compose_for(ctx, n->kind, es_state_get(st, ES_K_LANG), email, name, vars,
		                ES_ARRAY_LEN(vars), dates, ES_ARRAY_LEN(dates), &msg, NULL, err) != 0)
			return -1;
	}
	memset(&m, 0, sizeof(m));
	(void)es_strlcpy(m.to, email, sizeof(m.to));
	(void)es_strlcpy(m.kind, n->kind, sizeof(m.kind));
	(void)es_strlcpy(m.user, st->username, sizeof(m.user));
	m.priority = ES_QPRIO_NOTICE;
	rc = es_queue_add(ctx->cfg.spool_dir, &m, msg.data, msg.len, ctx->now, err);
	es_buf_free(&msg);
	return rc;
}

/* A user's notices: each queued once, then removed from the state (read
 * again when a workstation wrote it meanwhile: what it added stays). */
static int collect_one(const char *user, void *arg)
{
	struct collect *c = arg;
	struct es_notice done[ES_NOTICES_MAX];
	size_t n_done = 0;

	for (int attempt = 0; attempt < COLLECT_TRIES; attempt++) {
		struct es_notice owed[ES_NOTICES_MAX];
		struct es_state st;
		struct es_record rec;
		size_t n;
		int rc;

		es_state_init(&st, "");
		if (es_record_open(&c->ctx->store, user, ES_RECORD_WRITE, &st, &rec, c->err) != 0) {
			es_state_free(&st);
			return 0; /* gone, or unreadable: doctor says */
		}
		n = es_account_notices(&st, owed, ES_NOTICES_MAX);
		for (size_t i = 0; i < n && n_done < ES_NOTICES_MAX; i++) {
			bool was_done = false;

			for (size_t k = 0; k < n_done && !was_done; k++)
				was_done = strcmp(done[k].kind, owed[i].kind) == 0 &&
				           done[k].when == owed[i].when &&
				           strcmp(done[k].shown, owed[i].shown) == 0;
			if (was_done)
				continue;
			if (queue_notice(c->ctx, &st, &owed[i], c->err) != 0) {
				es_record_close(&rec);
				es_state_free(&st);
				c->rc = -1;
				return 1; /* the spool: nothing more can be queued */
			}
			done[n_done++] = owed[i];
			c->queued++;
		}
		rc = es_account_notices_sent(&st, done, n_done);
		if (rc == 0)
			rc = es_record_save(&rec, c->err);
		es_record_close(&rec);
		es_state_free(&st);
		if (rc == 0)
			return 0;
		if (c->err->code != ES_ETEMP) {
			c->rc = -1;
			return 1;
		}
	}
	return 0; /* kept changing: the next run removes what was queued */
}

int collect_owed_notices(struct cli *ctx, size_t *queued, struct es_err *err)
{
	struct collect c = { ctx, 0, err, 0 };

	*queued = 0;
	if (!ctx->store.ops->notices_in_state)
		return 0;
	if (es_store_foreach_with(&ctx->store, ES_K_NOTICES, collect_one, &c, err) != 0 ||
	    c.rc != 0)
		return -1;
	*queued = c.queued;
	return 0;
}
