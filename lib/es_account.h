/* The rules about an account, written once (SPEC sections 4 to 6): which
 * policy holds for a user, what the password's situation is now, what a
 * new account, a reset, a recorded change and a login do to the state, the
 * address-confirmation protocol, and what the daily reminders owe.
 *
 * Everything here works on a loaded state and a time given by the caller:
 * no I/O, no lock, no PAM. The module, show, list, remind, doctor and the
 * commands that change an account all decide through these functions, so
 * that they cannot disagree.
 *
 * MUST:
 * - take the role's policy, and the global one (role "student") when the
 *   state names no role or a role the configuration no longer has;
 * - count a password's age from its last recorded change, else from the
 *   account's creation;
 * - let a temporary password expire unused at initial_expires, whatever
 *   first_login_change says.
 * MUST NOT:
 * - look at anything but the state, the policy and `now`. */
#ifndef ESCHOOL_ACCOUNT_H
#define ESCHOOL_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "es_code.h"
#include "es_config.h"
#include "es_err.h"
#include "es_state.h"

#define ES_DAY 86400

/* The policy for st's role, with the fallback above. -1 only when even the
 * global policy cannot be had (err set). */
int es_account_policy(const struct es_config *cfg, const struct es_state *st,
                      struct es_policy *pol, struct es_err *err);

/* The template a role's welcome mail uses: the role's `template =`, else
 * "welcome-ROLE" (rendering falls back to welcome-student when the school
 * has no such template). */
void es_account_welcome_kind(const struct es_config *cfg, const char *role, char *out,
                             size_t outsz);

/* ---- the verdict: the password's situation at a given time ---- */

enum es_verdict_kind {
	ES_V_OK = 0,        /* nothing to say */
	ES_V_WARN,          /* works; expires in days_left days (within warn_days) */
	ES_V_MUST_CHANGE,   /* the temporary password must be changed now */
	ES_V_TEMP_EXPIRED,  /* the temporary password was not used in time */
	ES_V_EXPIRED,       /* older than max_age_days: a new one now */
	ES_V_DISABLED,      /* eschool disable */
};

struct es_verdict {
	enum es_verdict_kind kind;
	int64_t changed;  /* when the current password was set; 0: unknown */
	int64_t expires;  /* when it stops working; 0: never */
	long days_left;   /* until expires, rounded up; 0 when never or past */
	bool temporary;   /* the current password is a temporary one */
};

void es_account_verdict(const struct es_policy *pol, const struct es_state *st, time_t now,
                        struct es_verdict *v);

/* "ok", "warn", "must-change", "temporary-expired", "expired", "disabled". */
const char *es_verdict_name(enum es_verdict_kind kind);

/* ---- what events do to the state (the caller holds the lock and saves) ---- */

/* The identity of a new account; NULL or "" leaves an optional key out. */
struct es_account_who {
	const char *email, *name, *role, *klass, *lang, *parent_email;
};

/* A new account: its identity, created = now, enabled, and a new password
 * (es_account_new_password). Replaces whatever st held. */
int es_account_new(struct es_state *st, const char *user, const struct es_account_who *who,
                   const struct es_policy *pol, time_t now);

/* A password set by eschool (new account, reset): temporary when the policy
 * wants a first-login change, working until now + initial_password_ttl_days;
 * its delivery is "creating" until the caller says how it went out. */
int es_account_new_password(struct es_state *st, const struct es_policy *pol, time_t now);

/* When a temporary password made at now stops working unused (the role's
 * initial_password_ttl_days), or 0 for never: what es_account_new_password
 * records, for a slip printed before it is. */
int64_t es_account_initial_expires(const struct es_policy *pol, time_t now);

/* A change the user made (recorded by the module): no longer temporary. */
int es_account_password_changed(struct es_state *st, time_t now);

/* What the account source's own aging fields say of a password eschool
 * sets (shadow's lastchg, max and warn; the directory's shadowLastChange,
 * shadowMax, shadowWarning), so that pam_unix or SSSD alone force the first
 * change and the age, and `chage -l` tells the truth: a temporary password
 * was last changed on day 0 ("must be changed"); max and warn are the
 * role's max_age_days and warn_days. -1: the field is left empty (no
 * maximum). Audit mode (enforce = no) and exempt users get today and no
 * maximum: the module lets them in, so must the stack. */
struct es_aging {
	long lastchg; /* days since the epoch */
	long max, warn;
};

void es_account_aging(const struct es_policy *pol, bool temporary, bool exempt, time_t now,
                      struct es_aging *a);
/* Records in st the last change day a's fields say (ES_K_LASTCHG_SEEN). */
int es_account_aging_written(struct es_state *st, const struct es_aging *a);

/* ---- logins ---- */

/* true when the state already records a login from source (the latest)
 * in now's period: 60 (the files: logins recorded to the minute) or
 * ES_DAY (the directory: a write is a connection). Nothing to write. */
bool es_account_same_login(const struct es_state *st, const char *source, time_t now,
                           long period);

enum es_login_outcome {
	ES_LOGIN_FIRST,      /* the account's first recorded login */
	ES_LOGIN_KNOWN,      /* from a source seen before */
	ES_LOGIN_NEW_SOURCE, /* from a source not among the known ones */
};

/* Records a login from source at now: last_login, and source first in the
 * list of known sources (at most pol->known_sources kept). */
int es_account_login(struct es_state *st, const struct es_policy *pol, const char *source,
                     time_t now, enum es_login_outcome *outcome);

/* true when a new-login-source mail is owed for this outcome. */
bool es_account_notify_login(const struct es_policy *pol, enum es_login_outcome outcome);

/* ---- notices owed (a store whose machines cannot send mail) ---- */

#define ES_NOTICES_MAX 16 /* owed at once; the oldest go first when full */

struct es_notice {
	char kind[32];   /* password-changed, new-login-source */
	int64_t when;
	char shown[128]; /* the source as the mail shows it ("" for none) */
};

/* Adds a notice to st (dropping the oldest beyond ES_NOTICES_MAX). */
int es_account_owe_notice(struct es_state *st, const char *kind, time_t when,
                          const char *shown);
/* The notices st owes, oldest first: how many (at most max). */
size_t es_account_notices(const struct es_state *st, struct es_notice *out, size_t max);
/* Removes from st the notices in done (those mailed): what was added
 * since stays. */
int es_account_notices_sent(struct es_state *st, const struct es_notice *done, size_t n);

/* ---- the address-confirmation protocol ---- */

/* Starts an address change to addr with the code's keyed hash: replaces
 * any earlier request and its tries. *expires: when the code stops. */
int es_account_email_request(struct es_state *st, const struct es_policy *pol,
                             const char *addr, const char *code_hash, time_t now,
                             int64_t *expires);

enum es_confirm_outcome {
	ES_CONFIRM_NONE = 0,   /* no change pending (or not the one expected) */
	ES_CONFIRM_EXPIRED,    /* the code's time is over */
	ES_CONFIRM_NO_TRIES,   /* email_code_tries wrong codes already */
	ES_CONFIRM_WRONG,      /* counted: pending_tries + 1 */
	ES_CONFIRM_OK,         /* email = the pending address, request cleared */
	ES_CONFIRM_FAILED,     /* the code could not be hashed (err): not counted */
};

/* true when a code may be asked for now (a change pending, its code still
 * valid, tries left). */
bool es_account_code_askable(const struct es_state *st, const struct es_policy *pol,
                             time_t now);
/* The same from the public part of a state (SSSD's copy: no address): a
 * code pending, still valid, tries left; the whole state decides. */
bool es_account_code_maybe(const struct es_state *st, const struct es_policy *pol, time_t now);

/* Checks a typed code against the pending request. expected: the pending
 * address the caller saw before asking (NULL: whichever is pending) -- a
 * request replaced meanwhile is not confirmed by the old code. Changes st
 * for WRONG and OK (the caller saves before saying anything: a crash
 * cannot give a free try). *tries_left: after this try. */
enum es_confirm_outcome es_account_email_confirm(struct es_state *st,
                                                 const struct es_policy *pol,
                                                 const unsigned char key[ES_CODE_KEY_LEN],
                                                 const char *typed, const char *expected,
                                                 time_t now, long *tries_left,
                                                 struct es_err *err);

/* Forgets a pending change. */
void es_account_email_clear(struct es_state *st);

/* The administrator's own correction (set-email --force): the address is
 * addr now, without a code; a pending change is forgotten. */
int es_account_email_set(struct es_state *st, const char *addr);

/* ---- which address a queued mail goes to ---- */

/* true for a credentials mail (a welcome of any role's template, a reset):
 * every mail holding a secret but a set-email code. */
bool es_account_mail_is_credential(const char *kind, bool secret);

/* true when a mail of kind is written to the account's own address: the
 * credentials and the user's notices (reminders, expiry warnings, a
 * password change, a new login source). Such a mail goes to the address
 * the account has when it is sent, never to the one it had when queued
 * (set-email --force, a confirmed change). The others keep their recipient:
 * the parent's notice, the code (to the address being confirmed), the
 * email-changed notice (to the address being replaced), the admin's. */
bool es_account_mail_follows_email(const char *kind, bool secret);

/* ---- the daily reminders ---- */

/* What the daily run owes a user now. */
struct es_due {
	const char *kind;      /* "first-change-reminder", "expiry-warning"; NULL: nothing */
	char stamp[24];        /* the password's time: occasions are per password */
	char occasions[8][48]; /* every occasion this mail covers */
	size_t n;
	int64_t expires;       /* when the password stops working (0: never) */
	long days_left;
};

/* A first-change reminder once, remind_unchanged_after_days after a
 * temporary password was set while it still works; an expiry warning at
 * each warn_schedule step before the password's expiry (one mail covering
 * every step due and not yet recorded). Nothing for a disabled account. */
void es_account_due(const struct es_policy *pol, const struct es_state *st, time_t now,
                    struct es_due *d);

/* Records d's occasions in st's reminders (those of older passwords are
 * dropped: the list stays short). */
int es_account_record_due(struct es_state *st, const struct es_due *d);

/* The GECOS field from a person's name: ':' ',' and '=' (field and
 * subfield separators) become spaces. */
void es_account_gecos(const char *name, char *out, size_t outsz);

/* A new role's groups for user (set_role of an account source): out of
 * from's groups that to does not share, into to's, each through member
 * (the source's group_member: in true adds, false removes). */
int es_account_role_groups_move(const struct es_role *from, const struct es_role *to,
                                const char *user,
                                int (*member)(const char *group, const char *user, bool in,
                                              struct es_err *err),
                                struct es_err *err);

#endif
