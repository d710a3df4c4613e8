/* pam_eschool_ldap.so: the directory store for pam_eschool, loaded only
 * on workstations whose config says accounts.backend = ldap (see
 * lib/es_store_ldap.h: the module itself links no libldap). Its one
 * exported symbol is the table below. */
#include "es_store_ldap.h"

__attribute__((visibility("default"))) const struct es_ldap_plugin eschool_ldap_plugin = {
	.version = ES_LDAP_PLUGIN_VERSION,
	.open = es_store_ldap_open,
	.close = es_store_ldap_close,
};
