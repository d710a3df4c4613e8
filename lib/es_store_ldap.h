/* The directory store (accounts.backend = ldap): see es_store_ldap.c. */
#ifndef ESCHOOL_STORE_LDAP_H
#define ESCHOOL_STORE_LDAP_H

#include "es_store.h"

/* The store over an open connection (es_ldap_open; the caller closes it
 * after the store's last use); state_dir holds this machine's locks. */
void es_store_ldap(struct es_store *s, struct es_ldap *conn, const char *state_dir);

/* The store with a connection of its own (the module's plugin): opened
 * with es_ldap_open's bound (timeout_s), closed with es_store_ldap_close. */
int es_store_ldap_open(struct es_store *s, const struct es_config *cfg, long timeout_s,
                       struct es_err *err);
void es_store_ldap_close(struct es_store *s);

/* What pam_eschool_ldap.so exports (ES_LDAP_PLUGIN_SYMBOL): the module
 * links no libldap itself, because loading libldap and GnuTLS at every
 * pam_start costs more than the rest of the module (5 ms against 2 ms per
 * dlopen here), and most workstations keep accounts in /etc. */
struct es_ldap_plugin {
	int version; /* ES_LDAP_PLUGIN_VERSION: the module and the plugin of one build */
	int (*open)(struct es_store *s, const struct es_config *cfg, long timeout_s,
	            struct es_err *err);
	void (*close)(struct es_store *s);
};
#define ES_LDAP_PLUGIN_SYMBOL "eschool_ldap_plugin"
#define ES_LDAP_PLUGIN_FILE "pam_eschool_ldap.so" /* beside pam_eschool.so */
#define ES_LDAP_PLUGIN_VERSION 2

/* The attribute that holds a state key (NULL: kept in eschoolExtra). */
const char *es_store_ldap_attr(const char *key);

#endif
