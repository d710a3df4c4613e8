/* The state's attributes in the directory: see es_ldap_attrs.h. */
#include "es_ldap_attrs.h"

#include <string.h>
#include <strings.h>

#include "es_util.h"

const struct es_ldap_attr es_ldap_attr_map[ES_LDAP_N_MAPPED] = {
	{ ES_K_EMAIL, "eschoolMail" },
	{ ES_K_NAME, "eschoolName" },
	{ ES_K_ROLE, "eschoolRole" },
	{ ES_K_CLASS, "eschoolClass" },
	{ ES_K_LANG, "eschoolLang" },
	{ ES_K_PARENT_EMAIL, "eschoolParentMail" },
	{ ES_K_CREATED, "eschoolCreated" },
	{ ES_K_PW_CHANGED, "eschoolPasswordChanged" },
	{ ES_K_MUST_CHANGE, "eschoolMustChange" },
	{ ES_K_INITIAL_EXPIRES, "eschoolInitialExpires" },
	{ ES_K_LAST_LOGIN, "eschoolLastLogin" },
	{ ES_K_SOURCES, "eschoolSources" },
	{ ES_K_REMINDERS, "eschoolReminders" },
	{ ES_K_DISABLED, "eschoolDisabled" },
	{ ES_K_PENDING_EMAIL, "eschoolPendingMail" },
	{ ES_K_PENDING_CODE, "eschoolPendingCodeHash" },
	{ ES_K_PENDING_EXPIRES, "eschoolPendingExpires" },
	{ ES_K_PENDING_TRIES, "eschoolPendingTries" },
	{ ES_K_DELIVERY, "eschoolDelivery" },
	{ ES_K_UID, "eschoolUid" },
	{ ES_K_NOTICES, "eschoolNotices" },
	{ ES_K_LASTCHG_SEEN, "eschoolLastChangeSeen" },
};

_Static_assert(ES_ARRAY_LEN(es_ldap_attr_map) == ES_LDAP_N_MAPPED, "one row per mapped key");

const char *const es_ldap_public_attrs[] = {
	"eschoolRole",          "eschoolLang",         "eschoolCreated",
	"eschoolPasswordChanged", "eschoolMustChange", "eschoolInitialExpires",
	"eschoolDisabled",      "eschoolPendingExpires",
	"eschoolPendingTries",  "eschoolUid",          "eschoolLastChangeSeen",
	ES_LDAP_LAST_CHANGE_ATTR, NULL,
};

const char *es_ldap_attr_of(const char *key)
{
	for (size_t i = 0; i < ES_LDAP_N_MAPPED; i++)
		if (strcmp(es_ldap_attr_map[i].key, key) == 0)
			return es_ldap_attr_map[i].attr;
	return NULL;
}

const char *es_ldap_key_of(const char *attr)
{
	if (strcasecmp(attr, ES_LDAP_LAST_CHANGE_ATTR) == 0)
		return ES_K_DIR_LAST_CHANGE;
	for (size_t i = 0; i < ES_LDAP_N_MAPPED; i++)
		if (strcasecmp(es_ldap_attr_map[i].attr, attr) == 0)
			return es_ldap_attr_map[i].key;
	return NULL;
}

int es_ldap_public_apply(struct es_state *st, const char *attr, const char *value)
{
	for (size_t i = 0; es_ldap_public_attrs[i] != NULL; i++)
		if (strcasecmp(es_ldap_public_attrs[i], attr) == 0)
			return es_state_set(st, es_ldap_key_of(attr), value);
	return 0;
}
