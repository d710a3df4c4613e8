/* A connection to the school's directory ([ldap] of the config), with
 * OpenLDAP's libldap.
 *
 * MUST:
 * - check the server's certificate: ldap:// always goes through StartTLS
 *   (refused when the server does not offer it), ldaps:// is TLS; the CA
 *   is [ldap] ca_file, else the system's; ldapi:// (a local socket, SASL
 *   EXTERNAL as root) is the one plain transport;
 * - set every option it relies on per connection (libldap also reads
 *   /etc/ldap/ldap.conf and, for a process whose uid is its euid, LDAP*
 *   variables: none of those may weaken the certificate check, the
 *   timeouts or the server named here);
 * - bound every call: a network timeout and an operation timeout
 *   ([ldap] timeout, or less for a login);
 * - read bind_password_file like the mail secret (root's, 0600), keep the
 *   password in a wiped buffer only for the bind;
 * - say what failed in terms of the config: unreachable (ES_EUNAVAIL),
 *   certificate, bind refused (ES_ECONFIG), no right (ES_EPERM).
 * MUST NOT:
 * - follow referrals, or send a password over an unprotected connection. */
#ifndef ESCHOOL_LDAP_H
#define ESCHOOL_LDAP_H

#include <stdbool.h>
#include <stddef.h>

#include "es_config.h"
#include "es_err.h"

struct ldap; /* libldap's LDAP */

struct es_ldap {
	struct ldap *ld;
	const struct es_ldap_conf *conf;
	char users_dn[256];  /* [ldap] users_dn, else ou=people,BASE */
	char groups_dn[256]; /* groups_dn, else ou=groups,BASE */
	char ids_dn[256];    /* ids_dn, else cn=eschool-ids,BASE */
	bool tls;            /* the connection is TLS (not ldapi://) */
	char bound_as[256];  /* the DN the server says we are: es_ldap_bound_as */
};

/* Connects to the first URI that answers, protects the connection and
 * binds. timeout_s: at most this many seconds per network step and per
 * operation (0: [ldap] timeout). c is cleared first; es_ldap_close it in
 * every case. */
int es_ldap_open(struct es_ldap *c, const struct es_config *cfg, long timeout_s,
                 struct es_err *err);
void es_ldap_close(struct es_ldap *c);

/* Who the server says we are ("dn:cn=ws01,ou=hosts,..."; "" when it does
 * not say): one whoami, asked by doctor only (not a login's cost). */
const char *es_ldap_bound_as(struct es_ldap *c);
/* The DNs of [ldap], defaults filled in (no connection needed). */
int es_ldap_dns(struct es_ldap *c, const struct es_ldap_conf *conf, struct es_err *err);

/* uid=USER,users_dn (user is a valid account name: nothing to escape). */
int es_ldap_user_dn(const struct es_ldap *c, const char *user, char *out, size_t outsz,
                    struct es_err *err);

/* What a libldap result code means here, for messages and exit codes:
 * fills err with "what: the server's words; what to do". */
int es_ldap_fail(const struct es_ldap *c, int ldap_rc, const char *what, struct es_err *err);

/* true for the result codes of a directory that cannot be reached now. */
bool es_ldap_unreachable(int ldap_rc);

/* Every entry that filter finds under base (scope: LDAP_SCOPE_*), a page
 * of 500 at a time (slapd's size limit still counts every page: acl.ldif
 * lifts it for eschool-admins), handed to fn (libldap's LDAPMessage);
 * fn returns 0 to go on, else that value is returned. A base that does
 * not exist finds nothing. what: for messages. */
struct ldapmsg; /* libldap's LDAPMessage */
int es_ldap_search_pages(struct es_ldap *c, const char *base, int scope, const char *filter,
                         char **attrs, const char *what,
                         int (*fn)(struct es_ldap *c, struct ldapmsg *entry, void *arg,
                                   struct es_err *err),
                         void *arg, struct es_err *err);
/* Does the server know eschool's schema (the eschoolAccount class)?
 * 1 yes, 2 an older one (its class without this version's newest
 * attribute, ES_LDAP_NEWEST_ATTR), 0 no, -1 error. */
#define ES_LDAP_NEWEST_ATTR "eschoolLastChangeSeen"

int es_ldap_has_schema(struct es_ldap *c, struct es_err *err);

#endif
