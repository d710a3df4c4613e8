/* The school's directory on a workstation (accounts.backend = ldap): the
 * module's side of lib/es_store_ldap.h. The directory store lives in
 * pam_eschool_ldap.so, beside the module, loaded only here: libldap and
 * GnuTLS cost more to load than the whole module and stay out of the
 * logins of machines that keep accounts in /etc. */
#ifndef PAM_ESCHOOL_DIRECTORY_H
#define PAM_ESCHOOL_DIRECTORY_H

#include <security/pam_modules.h>

#include "es_config.h"
#include "es_err.h"
#include "es_store.h"

/* *store: the directory, connected and bound at the first stage that
 * needs it (at most 2 s a step), kept on the PAM handle till pam_end (one
 * bind for the stages of a login). -1 when it cannot be had (err says
 * why; a later stage of the same handle does not try again). */
int directory_store(pam_handle_t *pamh, struct es_store *store, const struct es_config *cfg,
                    struct es_err *err);

/* The public part of user's state from SSSD's copy of the directory
 * entry ([ldap] login_reads = sssd; es_ldap_public_attrs): 0 read into st,
 * 1 not eschool's (no eschoolAccount class, or not a directory user), -1
 * with err filled (SSSD not answering or not set up for eschool: read the
 * entry itself). */
int directory_cached_state(const char *user, struct es_state *st, struct es_err *err);

#endif
