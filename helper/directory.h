/* The helper's side of accounts.backend = ldap. Everything that calls
 * libldap (lib/es_ldap.c, lib/es_store_ldap.c, accounts_ldap.c,
 * backup_ldap.c) is eschool_ldap.so, a plugin (plugin.h) loaded when a
 * command first connects to the directory: libldap, SASL and GnuTLS with
 * the libraries they bring are 2.7 MB of every eschool process and of its
 * start, and most schools keep their accounts in /etc.
 *
 * The commands call the directory_* functions below (directory_load.c),
 * which load the plugin and go through its table. When it cannot be
 * loaded (missing, not root's alone, another build's), directory_connect
 * says why and what to do (ES_EUNAVAIL: reinstall eschool), and the store
 * and the account source it leaves fail every call with that reason. */
#ifndef ESCHOOL_DIRECTORY_H
#define ESCHOOL_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "accounts.h"
#include "es_config.h"
#include "es_err.h"
#include "es_ldap.h"
#include "es_store.h"
#include "plugin.h"

/* What restore did: its counts, and each account under users_dn the file
 * does not have (made since the backup: left as it is), told to newer. */
struct directory_restored {
	size_t added, replaced, newer;
	void (*on_newer)(const char *dn);
};

/* The table eschool_ldap.so exports. */
struct directory_plugin {
	struct plugin_head head;
	/* es_store_ldap + accounts_use_directory: the store and the account
	 * source over c; then es_ldap_open */
	void (*use)(struct es_store *store, struct es_ldap *c, const char *state_dir);
	int (*open)(struct es_ldap *c, const struct es_config *cfg, long timeout_s,
	            struct es_err *err);
	void (*close)(struct es_ldap *c);
	const struct account_source *accounts;
	int (*uid)(const char *user, long *uid, struct es_err *err);
	int (*probe)(char *what, size_t whatsz, struct es_err *err);
	const char *(*bound_as)(struct es_ldap *c);
	int (*has_schema)(struct es_ldap *c, struct es_err *err);
	int (*backup)(struct es_ldap *c, int fd, size_t *entries, struct es_err *err);
	int (*restore)(struct es_ldap *c, const char *file, struct directory_restored *done,
	               struct es_err *err);
};
#define DIRECTORY_PLUGIN_FILE "eschool_ldap.so"
#define DIRECTORY_PLUGIN_SYMBOL "eschool_directory_plugin"

/* The store (into store) and the account source over c, and the
 * connection opened and bound ([ldap]). 0, or -1 with err: the plugin
 * could not be loaded (store and source then fail with that reason), or
 * the directory did not answer (es_ldap_open's words). directory_close
 * c in every case. */
int directory_connect(struct es_store *store, struct es_ldap *c, const struct es_config *cfg,
                      struct es_err *err);
void directory_close(struct es_ldap *c);

/* The account source of accounts.backend = ldap (account_source_for). */
const struct account_source *directory_accounts(void);

/* user's uid in the directory in use: 1 found, 0 no such account, -1
 * error; 2 when no directory is in use (ask NSS). */
int directory_uid(const char *user, long *uid, struct es_err *err);

/* doctor: can the helper write what it must (the counter, a new entry
 * under users_dn, groups_dn there)? what: the DN being tried. */
int directory_probe(char *what, size_t whatsz, struct es_err *err);
/* doctor: who the server says we are ("" when it does not say). */
const char *directory_bound_as(struct es_ldap *c);
/* doctor: es_ldap_has_schema. */
int directory_has_schema(struct es_ldap *c, struct es_err *err);

/* eschool backup and restore: eschool's part of the directory as LDIF
 * into fd, and the file put back (the whole file checked before the
 * first write). */
int directory_backup(struct es_ldap *c, int fd, size_t *entries, struct es_err *err);
int directory_restore(struct es_ldap *c, const char *file, struct directory_restored *done,
                      struct es_err *err);

/* ---- inside eschool_ldap.so (its table points to these) ---- */

/* accounts_ldap.c: the account source over the connection c (the
 * plugin's use), and what the table's uid and probe do. */
void accounts_use_directory(struct es_ldap *c);
int accounts_directory_uid(const char *user, long *uid, struct es_err *err);
int accounts_directory_probe(char *what, size_t whatsz, struct es_err *err);
extern const struct account_source ldap_accounts;

/* backup_ldap.c: the table's backup and restore. */
int dir_backup_ldif(struct es_ldap *c, int fd, size_t *entries, struct es_err *err);
int dir_restore_ldif(struct es_ldap *c, const char *file, struct directory_restored *done,
                     struct es_err *err);

#endif
