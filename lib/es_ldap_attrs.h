/* Which directory attribute holds which state key, and the part of them a
 * workstation may read through SSSD's cache ([ldap] login_reads = sssd).
 * No libldap here: the module links it; the directory store
 * (es_store_ldap.c, in pam_eschool_ldap.so and the helper) uses it too. */
#ifndef ESCHOOL_LDAP_ATTRS_H
#define ESCHOOL_LDAP_ATTRS_H

#include <stdbool.h>
#include <stddef.h>

#include "es_state.h"

/* Every state key with an attribute of its own, and that attribute. */
struct es_ldap_attr {
	const char *key, *attr;
};
#define ES_LDAP_N_MAPPED 22
extern const struct es_ldap_attr es_ldap_attr_map[ES_LDAP_N_MAPPED];

/* The attribute that holds a state key (NULL: kept in eschoolExtra). */
const char *es_ldap_attr_of(const char *key);

/* The state key an attribute holds (case-insensitive, as LDAP names are),
 * shadowLastChange's included (ES_K_DIR_LAST_CHANGE, read, never
 * written); NULL for any other. */
const char *es_ldap_key_of(const char *attr);

#define ES_LDAP_EXTRA_ATTR "eschoolExtra" /* key=value: a key this version does not know */
#define ES_LDAP_LAST_CHANGE_ATTR "shadowLastChange"

/* SSSD's name for the entry's objectClass values (ldap_user_extra_attrs =
 * eschoolObjectClass:objectClass): says whether the entry is eschool's
 * (eschoolAccount among them) and that SSSD was set up for eschool. */
#define ES_LDAP_SSSD_CLASSES "eschoolObjectClass"
#define ES_LDAP_CLASS "eschoolAccount"

/* The attributes a workstation reads from SSSD, NULL-terminated. SSSD's
 * NSS responder gives them to any local user who asks, so these are the
 * ones a classmate may see: the role, the language, the uid, dates and
 * flags. Never an address, the login sources or the last login, a code's
 * hash, the notices or eschoolExtra: those are read from the directory itself, as the
 * workstation's host entry, when a login needs them. */
extern const char *const es_ldap_public_attrs[];

/* Applies one attribute SSSD gave (name, value) to st: a public
 * attribute's key is set, anything else ignored (an sssd.conf that gives
 * more is not trusted with more). 0, or -1 (ES_EDATA-worthy: a bad value;
 * out of memory). */
int es_ldap_public_apply(struct es_state *st, const char *attr, const char *value);

#endif
