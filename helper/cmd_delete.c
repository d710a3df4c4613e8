/* eschool delete: accounts eschool made, removed for good (a pupil who
 * left, the end of the school year).
 *
 * Every account named is checked before anything is removed (managed by
 * eschool, still the account it made, or already gone); the list is shown
 * and, on a terminal, confirmed (--yes for scripts, --dry-run to look).
 * Then each account in turn: its home archived (--archive-home) or kept
 * (--keep-home), the account removed (userdel, or the directory's entry
 * and its groups), its queued mails dropped, its state removed. An
 * account whose home cannot be archived, or that cannot be removed,
 * keeps everything (its state too), and the run stops there. */
#include "accounts.h"
#include "classgroups.h"
#include "cli.h"
#include "commands.h"
#include "log.h"
#include "provision.h"
#include "ui.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "es_names.h"
#include "es_pamin.h"
#include "es_queue.h"

#define TAR "/bin/tar"

struct victim {
	char user[ES_NAME_MAX + 1];
	char *name, *klass, *home;
	bool gone; /* its Linux account was removed already: state and mails only */
	long uid;  /* the account's, checked again under the lock before it goes */
	struct es_policy pol;
};

static void victims_free(struct victim *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].klass);
		free(v[i].home);
	}
	free(v);
}

/* Checks user may be deleted and fills v: ES_ENOUSER (not managed),
 * ES_EDATA (the name is another account's now: never touched). */
static int check_one(struct cli *ctx, const char *user, struct victim *v, struct es_err *err)
{
	struct es_state st;
	char why[600];
	int loaded, found, rc = -1;

	memset(v, 0, sizeof(*v));
	if (!es_valid_username(user))
		return es_err_set(err, ES_EDATA, "invalid username '%s'", user);
	es_state_init(&st, "");
	loaded = load_user_state(ctx, user, &st, err);
	if (loaded < 0)
		goto out;
	if (loaded == 1) {
		es_err_set(err, ES_ENOUSER, "no account %s managed by eschool (see 'eschool list')",
		           user);
		goto out;
	}
	/* deleting destroys: the account must be known to be the one eschool
	 * made (its uid recorded and found the same), not merely not shown
	 * to be another's */
	found = account_uid(user, &v->uid, err);
	if (found < 0) {
		es_err_prefix(err, "cannot tell whether %s is still the account eschool made: try "
		                   "again",
		              user);
		err->code = ES_EUNAVAIL;
		goto out;
	}
	switch (state_orphan(&st, why, sizeof(why))) {
	case ES_OWNER_OK:
		break;
	case ES_OWNER_GONE:
		v->gone = true;
		break;
	case ES_OWNER_OTHER:
		es_err_set(err, ES_EDATA, "%s", why);
		goto out;
	}
	if (found == 0) {
		v->gone = true;
	} else if (es_state_get(&st, ES_K_UID) == NULL) {
		es_err_set(err, ES_EDATA,
		           "the state of %s does not say which uid eschool made it for: %s (uid %ld) "
		           "may be another account; remove it yourself (userdel) if it is the "
		           "pupil's, then 'eschool delete %s'",
		           user, user, v->uid, user);
		goto out;
	}
	if (es_account_policy(&ctx->cfg, &st, &v->pol, err) != 0)
		goto out;
	(void)es_strlcpy(v->user, user, sizeof(v->user));
	v->name = es_strdup(es_state_get(&st, ES_K_NAME) ? es_state_get(&st, ES_K_NAME) : "");
	v->klass = es_strdup(es_state_get(&st, ES_K_CLASS) ? es_state_get(&st, ES_K_CLASS) : "");
	if (asprintf(&v->home, "%s/%s", v->pol.home_base, user) < 0)
		v->home = NULL;
	if (v->name == NULL || v->klass == NULL || v->home == NULL) {
		es_err_set(err, ES_EOS, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) { /* nothing of a refused account is kept */
		free(v->name);
		free(v->klass);
		free(v->home);
		v->name = v->klass = v->home = NULL;
	}
	es_state_free(&st);
	return rc;
}

/* A directory the archives may go in: root's, not writable by others
 * (anyone who could write there could plant a link where tar writes). */
int archive_dir_check(const char *dir, struct es_err *err)
{
	struct stat sb;

	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return es_err_set(err, ES_EUSAGE,
		                  "%s is not a directory: the homes cannot be archived there", dir);
	if (sb.st_uid != 0 || (sb.st_mode & 022) != 0)
		return es_err_set(err, ES_EUSAGE,
		                  "%s must be root's and not writable by others (chmod go-w): the "
		                  "homes are archived there as root",
		                  dir);
	return 0;
}

/* tar czf DIR/USER-DATE.tar.gz -C HOME_BASE USER: the home, before it
 * goes, written as .partial (made here, O_EXCL, 0600) and named when tar
 * has finished: a killed run leaves no archive that looks complete. *out
 * is "" when there was no home. */
static int archive_home(struct cli *ctx, const struct victim *v, const char *dir,
                        char *out, size_t outsz, struct es_err *err)
{
	struct tm tm;
	char day[16], msg[512], partial[ES_PATH_LEN];
	struct stat sb;
	int st, fd;

	out[0] = '\0';
	if (localtime_r(&ctx->now, &tm) == NULL || strftime(day, sizeof(day), "%Y%m%d", &tm) == 0)
		(void)snprintf(day, sizeof(day), "%lld", (long long)ctx->now);
	if (snprintf(partial, sizeof(partial), "%s/%s-%s.tar.gz.partial", dir, v->user, day) >=
	    (int)sizeof(partial))
		return es_err_set(err, ES_EUSAGE, "%s: the name is too long", dir);
	if (lstat(v->home, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return 0; /* no home to keep */
	(void)snprintf(out, outsz, "%s/%s-%s.tar.gz", dir, v->user, day);
	if (lstat(out, &sb) == 0) {
		es_err_set(err, ES_ECANTCREAT, "%s exists: the home of %s is not archived over it",
		           out, v->user);
		out[0] = '\0';
		return -1;
	}
	fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		es_err_errno(err, ES_ECANTCREAT, errno, "cannot create %s", partial);
		out[0] = '\0';
		return -1;
	}
	(void)close(fd);
	{
		/* --force-local: a ':' in the name is not a remote host;
		 * --one-file-system: a mount inside the home is not followed */
		const char *argv[] = { TAR,	      "--create",	   "--gzip",
			               "--force-local", "--one-file-system", "--file",
			               partial,	      "--directory",	   v->pol.home_base,
			               "--",	      v->user,		   NULL };

		st = run_command(argv, NULL, 0, msg, sizeof(msg), err);
	}
	if (st != 0 || rename(partial, out) != 0) {
		if (st == 0)
			es_err_errno(err, ES_EIO, errno, "cannot name %s", out);
		else if (st > 0)
			es_err_set(err, ES_EIO, "archiving the home of %s failed (tar exit %d): %s",
			           v->user, st, msg);
		(void)unlink(partial);
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* Drops every mail queued (or failed) about user: it will not be sent. */
static int drop_mails(struct cli *ctx, const char *user, size_t *dropped, struct es_err *err)
{
	struct es_qmsg *list = NULL;
	size_t n = 0, bad = 0;
	int rc = 0;

	*dropped = 0;
	if (es_queue_list(ctx->cfg.spool_dir, &list, &n, &bad, err) != 0)
		return -1;
	es_err_clear(err);
	for (size_t i = 0; i < n; i++) {
		struct es_err e = { 0 };

		if (strcmp(list[i].user, user) != 0)
			continue;
		/* gone already: a queue run sent it since the listing */
		if (es_queue_remove(ctx->cfg.spool_dir, list[i].id, list[i].failed, &e) != 0 &&
		    e.code != ES_ENOUSER) {
			*err = e;
			rc = -1;
			continue;
		}
		(*dropped)++;
	}
	free(list);
	return rc;
}

/* The account, its mails, its state; the store's lock held. */
static int delete_one(struct cli *ctx, const struct victim *v, bool keep_home,
                      const char *archive_dir, struct es_err *err)
{
	struct es_state st;
	struct es_record rec = { .token = -1 };
	char archive[ES_PATH_LEN] = "";
	size_t dropped = 0;
	const char *home;
	long uid = -1;
	int opened, found, rc = -1;
	bool gone;

	es_state_init(&st, "");
	/* under the user's lock: the PAM module does not write it meanwhile */
	opened = es_record_open(&ctx->store, v->user, ES_RECORD_WRITE_ANYWAY, &st, &rec, err);
	if (opened == 1) {
		es_err_set(err, ES_ENOUSER, "the state of %s was removed meanwhile: not deleted",
		           v->user);
		goto out;
	}
	if (opened < 0 && !rec.writable)
		goto out;
	es_err_clear(err);
	/* still the account checked before the question */
	found = account_uid(v->user, &uid, err);
	if (found < 0 || (found == 1 && (v->gone || uid != v->uid))) {
		if (found >= 0)
			es_err_set(err, ES_EDATA,
			           "%s changed since it was checked (its uid is %ld now): not deleted",
			           v->user, uid);
		goto out;
	}
	gone = v->gone || found == 0; /* removed outside eschool meanwhile */
	if (!gone && archive_dir != NULL &&
	    archive_home(ctx, v, archive_dir, archive, sizeof(archive), err) != 0)
		goto out;
	if (!gone &&
	    account_source_for(&v->pol)->delete(v->user, keep_home, err) != 0)
		goto out;
	if (!gone) {
		/* its class's group (and one a killed move claimed) goes with
		 * its last member; only names eschool could have made */
		char claimed[ES_NAME_MAX + 1];
		const char *groups[2] = { es_state_get(&st, ES_K_CLASS_GROUP), NULL };

		if (class_group_claim(&ctx->cfg, &st, claimed, sizeof(claimed)) != NULL)
			groups[1] = claimed;
		for (int i = 0; i < 2; i++) {
			struct es_err e2 = { 0 };
			bool dropped_group = false;

			if (groups[i] == NULL || !class_group_valid(&ctx->cfg, groups[i]))
				continue;
			if (account_source_for(&v->pol)->group_member(groups[i], v->user, false, &e2) != 0 ||
			    account_source_for(&v->pol)->group_drop(groups[i], &dropped_group, &e2) != 0)
				ui_warn("%s", ui_err(&e2));
			else if (dropped_group)
				log_msg(LOG_AUTHPRIV, LOG_NOTICE,
				        "class group removed: group=%s (nobody left)", groups[i]);
		}
	}
	if (drop_mails(ctx, v->user, &dropped, err) != 0) {
		if (!gone)
			es_err_prefix(err, "%s was removed, but its mails were not (run 'eschool delete "
			                   "%s' again)",
			              v->user, v->user);
		goto out;
	}
	if (es_record_remove(&rec, err) != 0) {
		es_err_prefix(err, "%s was removed, but its eschool state was not ('eschool forget %s' "
		                   "removes it)",
		              v->user, v->user);
		goto out;
	}
	home = gone                                     ? "gone"
	       : !account_source_for(&v->pol)->writes      ? "untouched"
	       : archive[0] != '\0'                        ? "archived"
	       : keep_home                                 ? "kept"
	       : archive_dir != NULL                       ? "none"
	                                                   : "removed";
	log_msg(LOG_AUTHPRIV, LOG_NOTICE, "account deleted: user=%s home=%s%s%s mails_dropped=%zu",
	        v->user, home, archive[0] ? " " : "", archive, dropped);
	if (ctx->json)
		printf("{\"username\":\"%s\",\"deleted\":true,\"home\":\"%s\"}\n", v->user, home);
	else if (!ctx->quiet)
		ui_info(ctx, "%s deleted%s%s\n", v->user, archive[0] ? _("; home archived in ") : "",
		        archive);
	rc = 0;
out:
	es_record_close(&rec);
	es_state_free(&st);
	return rc;
}

/* The list shown before anything is done, on f (stderr when a question
 * follows: -q and --json do not hide what is agreed to). */
static void print_summary(FILE *f, const struct victim *v, size_t n, bool keep_home,
                          const char *archive_dir)
{
	char name[600], klass[600];

	(void)fprintf(f, _("%zu account(s) to delete (%s):\n"), n,
	              archive_dir != NULL ? _("homes archived, then removed")
	              : keep_home          ? _("homes kept")
	                                   : _("homes removed"));
	for (size_t i = 0; i < n; i++) {
		(void)es_log_escape(v[i].name, name, sizeof(name));
		(void)es_log_escape(v[i].klass, klass, sizeof(klass));
		(void)fprintf(f, "  %-20s %s, %s%s\n", v[i].user, name, klass,
		              v[i].gone ? _("  (its Linux account is already gone)") : "");
	}
}

/* Checks every account (USER... or --class), deduplicated, into *v. */
static int check_all(struct cli *ctx, const struct args *a, struct victim **v, size_t *n,
                     struct es_err *err)
{
	const char *const *classes;
	int n_classes = arg_values(a, "class", &classes);
	char **users = NULL;
	size_t n_users = 0, count;
	int rc = -1;

	*v = NULL;
	*n = 0;
	if (n_classes > 0 &&
	    class_accounts(ctx, classes, n_classes, true, &users, &n_users, err) != 0)
		return -1;
	count = n_classes > 0 ? n_users : (size_t)a->n_positional;
	*v = calloc(count > 0 ? count : 1, sizeof(**v));
	if (*v == NULL) {
		es_err_set(err, ES_EOS, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		const char *user = n_classes > 0 ? users[i] : a->positional[i];
		bool twice = false;

		for (size_t k = 0; k < *n && !twice; k++)
			twice = strcmp((*v)[k].user, user) == 0;
		if (twice)
			continue;
		if (check_one(ctx, user, &(*v)[*n], err) != 0) {
			es_err_prefix(err, "nothing was deleted");
			goto out;
		}
		(*n)++;
	}
	rc = 0;
out:
	users_free(users, n_users);
	return rc;
}

int delete_accounts(struct cli *ctx, char *const *users, size_t n, bool keep_home,
                    const char *archive_dir, size_t *done, struct es_err *err)
{
	struct victim *v = calloc(n > 0 ? n : 1, sizeof(*v));
	size_t checked = 0;
	int rc = -1;

	*done = 0;
	if (v == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	if (archive_dir != NULL && archive_dir_check(archive_dir, err) != 0)
		goto out;
	for (; checked < n; checked++)
		if (check_one(ctx, users[checked], &v[checked], err) != 0) {
			es_err_prefix(err, "nothing was deleted");
			goto out;
		}
	for (; *done < n; (*done)++)
		if (delete_one(ctx, &v[*done], keep_home, archive_dir, err) != 0)
			goto out;
	rc = 0;
out:
	victims_free(v, checked);
	return rc;
}

int cmd_delete(struct cli *ctx, const struct args *a)
{
	const char *archive_dir = arg_value(a, "archive-home");
	bool keep_home = arg_flag(a, "keep-home"), dry_run = arg_flag(a, "dry-run");
	bool yes = arg_flag(a, "yes");
	struct es_err err = { 0 };
	struct victim *v = NULL, *again = NULL;
	size_t n = 0, n_again = 0, done = 0;
	intptr_t all = -1;
	int rc = -1;

	const char *const *classes;

	if ((a->n_positional == 0) == (arg_values(a, "class", &classes) == 0))
		return arg_usage_error(a, _("say which accounts: USER... or --class CLASS (not both)"));
	if (keep_home && archive_dir != NULL)
		return arg_usage_error(a, _("--keep-home and --archive-home: choose one"));
	if (archive_dir != NULL && archive_dir_check(archive_dir, &err) != 0)
		return ui_fail(&err);
	if (!dry_run && !yes && !isatty(STDIN_FILENO))
		return arg_usage_error(a, _("not on a terminal: say --yes to delete without a "
		                            "question (or --dry-run to see what would go)"));
	/* checked, shown and asked without the store's lock (a question may
	 * wait long: backups and imports must not), then checked again under
	 * it before anything goes */
	if (check_all(ctx, a, &v, &n, &err) != 0)
		goto out;
	if (dry_run) {
		if (!ctx->quiet)
			print_summary(stdout, v, n, keep_home, archive_dir);
		ui_info(ctx, "dry run: nothing was deleted\n");
		rc = 0;
		goto out;
	}
	if (!yes) {
		print_summary(stderr, v, n, keep_home, archive_dir);
		if (!ui_confirmed(_("Delete them? Type yes to go on: "))) {
			ui_warn("nothing was deleted");
			rc = ES_EUSAGE;
			goto out;
		}
	} else if (!ctx->json && !ctx->quiet) {
		print_summary(stdout, v, n, keep_home, archive_dir);
	}
	if (es_store_lock_all(&ctx->store, &all, &err) != 0 ||
	    check_all(ctx, a, &again, &n_again, &err) != 0)
		goto out;
	if (n_again != n) {
		es_err_set(&err, ES_EDATA, "the accounts changed since the question: nothing was "
		                           "deleted; run the command again");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(again[i].user, v[i].user) != 0 || again[i].uid != v[i].uid ||
		    again[i].gone != v[i].gone) {
			es_err_set(&err, ES_EDATA,
			           "%s changed since the question: nothing was deleted; run the "
			           "command again",
			           v[i].user);
			goto out;
		}
	for (; done < n; done++)
		if (delete_one(ctx, &again[done], keep_home, archive_dir, &err) != 0) {
			if (done > 0)
				es_err_prefix(&err, "%zu account(s) deleted, then", done);
			goto out;
		}
	rc = 0;
out:
	es_store_unlock_all(&ctx->store, all);
	victims_free(v, n);
	victims_free(again, n_again);
	return rc < 0 ? ui_fail(&err) : rc;
}
