/* eschool_ldap.so: the helper's directory code behind one table
 * (directory.h); its only exported symbol. */
#include "directory.h"

#include "es_store_ldap.h"

static void use(struct es_store *store, struct es_ldap *c, const char *state_dir)
{
	es_store_ldap(store, c, state_dir);
	accounts_use_directory(c);
}

__attribute__((visibility("default"))) const struct directory_plugin eschool_directory_plugin = {
	.head = PLUGIN_HEAD,
	.use = use,
	.open = es_ldap_open,
	.close = es_ldap_close,
	.accounts = &ldap_accounts,
	.uid = accounts_directory_uid,
	.probe = accounts_directory_probe,
	.bound_as = es_ldap_bound_as,
	.has_schema = es_ldap_has_schema,
	.backup = dir_backup_ldif,
	.restore = dir_restore_ldif,
};
