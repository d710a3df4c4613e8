/* A connection to the school's directory: see es_ldap.h. */
#include "es_ldap.h"

#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "es_util.h"

/* Where the system's CAs are when [ldap] ca_file is empty: set on the
 * connection, so that an LDAPTLS_CACERT in the environment cannot name
 * another file. */
#define SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

bool es_ldap_unreachable(int ldap_rc)
{
	return ldap_rc == LDAP_SERVER_DOWN || ldap_rc == LDAP_TIMEOUT ||
	       ldap_rc == LDAP_CONNECT_ERROR || ldap_rc == LDAP_UNAVAILABLE ||
	       ldap_rc == LDAP_BUSY || ldap_rc == LDAP_TIMELIMIT_EXCEEDED;
}

/* The server's own words, when it said something (a certificate problem
 * is told here by libldap's TLS layer). */
static const char *diagnostic(const struct es_ldap *c, char *buf, size_t bufsz)
{
	char *msg = NULL;

	buf[0] = '\0';
	if (c != NULL && c->ld != NULL &&
	    ldap_get_option(c->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) == LDAP_OPT_SUCCESS &&
	    msg != NULL) {
		if (msg[0] != '\0') {
			(void)snprintf(buf, bufsz, " (%s)", msg);
			for (char *p = buf; *p != '\0'; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					*p = ' ';
		}
		ldap_memfree(msg);
	}
	return buf;
}

int es_ldap_fail(const struct es_ldap *c, int ldap_rc, const char *what, struct es_err *err)
{
	const char *uri = c != NULL && c->conf != NULL ? c->conf->uri : "?";
	char diag[256];

	(void)diagnostic(c, diag, sizeof(diag));
	if (es_ldap_unreachable(ldap_rc))
		return es_err_set(err, ES_EUNAVAIL,
		                  "%s: the directory %s does not answer: %s%s; check that slapd "
		                  "runs and the network, or [ldap] uri",
		                  what, uri, ldap_err2string(ldap_rc), diag);
	switch (ldap_rc) {
	case LDAP_INVALID_CREDENTIALS:
		return es_err_set(err, ES_ECONFIG,
		                  "%s: the directory refused [ldap] bind_dn's password%s; check "
		                  "bind_dn and the password in bind_password_file",
		                  what, diag);
	case LDAP_INSUFFICIENT_ACCESS:
	case LDAP_STRONG_AUTH_REQUIRED:
	case LDAP_CONFIDENTIALITY_REQUIRED:
		return es_err_set(err, ES_EPERM,
		                  "%s: the directory does not allow it: %s%s; load "
		                  "packaging/ldap/acl.ldif and make bind_dn a member of "
		                  "cn=eschool-admins (workstations: cn=eschool-workstations)",
		                  what, ldap_err2string(ldap_rc), diag);
	case LDAP_SIZELIMIT_EXCEEDED:
	case LDAP_ADMINLIMIT_EXCEEDED:
		return es_err_set(err, ES_ECONFIG,
		                  "%s: the directory returns no more entries to bind_dn: %s%s; load "
		                  "packaging/ldap/acl.ldif (its olcLimits lift the size limit for "
		                  "cn=eschool-admins) or raise slapd's limits for bind_dn",
		                  what, ldap_err2string(ldap_rc), diag);
	case LDAP_NO_MEMORY:
		return es_err_set(err, ES_EOS, "%s: out of memory", what);
	default:
		return es_err_set(err, ES_EIO, "%s: %s%s", what, ldap_err2string(ldap_rc), diag);
	}
}

int es_ldap_dns(struct es_ldap *c, const struct es_ldap_conf *conf, struct es_err *err)
{
	static const struct {
		size_t off;
		const char *rdn;
	} dns[] = {
		{ offsetof(struct es_ldap_conf, users_dn), "ou=people" },
		{ offsetof(struct es_ldap_conf, groups_dn), "ou=groups" },
		{ offsetof(struct es_ldap_conf, ids_dn), "cn=eschool-ids" },
	};
	char *out[] = { c->users_dn, c->groups_dn, c->ids_dn };

	c->conf = conf;
	for (size_t i = 0; i < ES_ARRAY_LEN(dns); i++) {
		const char *given = (const char *)conf + dns[i].off;
		int n;

		if (given[0] != '\0')
			n = snprintf(out[i], sizeof(c->users_dn), "%s", given);
		else
			n = snprintf(out[i], sizeof(c->users_dn), "%s,%s", dns[i].rdn, conf->base);
		if (n < 0 || (size_t)n >= sizeof(c->users_dn))
			return es_err_set(err, ES_ECONFIG, "[ldap] base %s: too long (at most %zu bytes)",
			                  conf->base, sizeof(c->users_dn) - 16);
	}
	return 0;
}

int es_ldap_user_dn(const struct es_ldap *c, const char *user, char *out, size_t outsz,
                    struct es_err *err)
{
	int n = snprintf(out, outsz, "uid=%s,%s", user, c->users_dn);

	if (n < 0 || (size_t)n >= outsz)
		return es_err_set(err, ES_EDATA, "the DN of %s is too long", user);
	return 0;
}

static int set_opt(struct es_ldap *c, int opt, const void *value, const char *name,
                   struct es_err *err)
{
	if (ldap_set_option(c->ld, opt, value) != LDAP_OPT_SUCCESS)
		return es_err_set(err, ES_ESOFTWARE, "libldap refused the option %s", name);
	return 0;
}

/* Everything the connection relies on, set on it (not inherited from
 * ldap.conf or the environment). */
static int set_options(struct es_ldap *c, long timeout_s, struct es_err *err)
{
	const char *ca = c->conf->ca_file[0] != '\0' ? c->conf->ca_file : SYSTEM_CA_FILE;
	struct timeval tv = { .tv_sec = timeout_s, .tv_usec = 0 };
	int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
	int limit = (int)timeout_s;

	if (set_opt(c, LDAP_OPT_PROTOCOL_VERSION, &version, "PROTOCOL_VERSION", err) != 0 ||
	    set_opt(c, LDAP_OPT_NETWORK_TIMEOUT, &tv, "NETWORK_TIMEOUT", err) != 0 ||
	    set_opt(c, LDAP_OPT_TIMEOUT, &tv, "TIMEOUT", err) != 0 ||
	    set_opt(c, LDAP_OPT_TIMELIMIT, &limit, "TIMELIMIT", err) != 0 ||
	    set_opt(c, LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "REFERRALS", err) != 0 ||
	    set_opt(c, LDAP_OPT_RESTART, LDAP_OPT_ON, "RESTART", err) != 0 ||
	    set_opt(c, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand, "X_TLS_REQUIRE_CERT", err) != 0 ||
	    set_opt(c, LDAP_OPT_X_TLS_CACERTFILE, ca, "X_TLS_CACERTFILE", err) != 0 ||
	    set_opt(c, LDAP_OPT_X_TLS_CACERTDIR, NULL, "X_TLS_CACERTDIR", err) != 0)
		return -1;
	/* a new TLS context on this handle, with the options above */
	return set_opt(c, LDAP_OPT_X_TLS_NEWCTX, &zero, "X_TLS_NEWCTX", err);
}

static bool all_ldapi(const char *uris)
{
	for (const char *p = uris; *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (n > 0 && strncasecmp(p, "ldapi://", 8) != 0)
			return false;
		p += n + (p[n] == ' ');
	}
	return true;
}

/* A TCP connection is TLS before anything is sent: ldaps:// is, an
 * ldap:// one gets StartTLS (refused if the server will not); ldapi:// is
 * a local socket. The config has either ldapi:// URIs only or none, so
 * which URI libldap connected to does not matter. */
static int protect(struct es_ldap *c, struct es_err *err)
{
	const char *ca = c->conf->ca_file[0] != '\0' ? c->conf->ca_file : SYSTEM_CA_FILE;
	int rc;

	c->tls = !all_ldapi(c->conf->uri);
	if (!c->tls || ldap_tls_inplace(c->ld))
		return 0;
	rc = ldap_start_tls_s(c->ld, NULL, NULL);
	if (rc == LDAP_SUCCESS)
		return 0;
	/* the server answered the connect: a failure now is TLS's (libldap
	 * says "Connect error" for a refused certificate) */
	if (rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT)
		return es_ldap_fail(c, rc, "StartTLS", err);
	return es_err_set(err, ES_ECONFIG,
	                  "[ldap] uri %s: StartTLS failed (%s): the server's certificate was not "
	                  "accepted, or the server does not offer StartTLS; the certificate must be "
	                  "signed by a CA of %s and name the host of the URI",
	                  c->conf->uri, ldap_err2string(rc), ca);
}

const char *es_ldap_bound_as(struct es_ldap *c)
{
	struct berval *who = NULL;

	c->bound_as[0] = '\0';
	if (ldap_whoami_s(c->ld, &who, NULL, NULL) == LDAP_SUCCESS && who != NULL) {
		size_t n = who->bv_len < sizeof(c->bound_as) - 1 ? who->bv_len
		                                                  : sizeof(c->bound_as) - 1;
		memcpy(c->bound_as, who->bv_val, n);
		c->bound_as[n] = '\0';
	}
	if (who != NULL)
		ber_bvfree(who);
	return c->bound_as;
}

/* A simple bind with bind_password_file's password (the connection is
 * TLS by then), or SASL EXTERNAL over ldapi:// (root's own identity). */
static int bind_as_configured(struct es_ldap *c, struct es_err *err)
{
	const struct es_ldap_conf *l = c->conf;
	struct berval cred = { 0 };
	char *secret = NULL;
	int rc;

	if (l->bind_dn[0] == '\0') {
		if (c->tls || !all_ldapi(l->uri))
			return es_err_set(err, ES_ECONFIG,
			                  "[ldap] has no bind_dn: SASL EXTERNAL needs ldapi:// URIs; "
			                  "set bind_dn and bind_password_file");
		rc = ldap_sasl_bind_s(c->ld, NULL, "EXTERNAL", &cred, NULL, NULL, NULL);
	} else {
		if (es_config_read_secret(l->bind_password_file, "[ldap] bind_password_file", true,
		                          &secret, err) != 0)
			return -1;
		cred.bv_val = secret;
		cred.bv_len = strlen(secret);
		rc = ldap_sasl_bind_s(c->ld, l->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
		es_free_secret(&secret);
	}
	if (rc != LDAP_SUCCESS)
		return es_ldap_fail(c, rc, l->bind_dn[0] != '\0' ? "bind as [ldap] bind_dn"
		                                                 : "SASL EXTERNAL bind",
		                    err);
	return 0;
}

int es_ldap_open(struct es_ldap *c, const struct es_config *cfg, long timeout_s,
                 struct es_err *err)
{
	int rc;

	memset(c, 0, sizeof(*c));
	if (es_ldap_dns(c, &cfg->ldap, err) != 0)
		return -1;
	if (timeout_s <= 0 || timeout_s > cfg->ldap.timeout)
		timeout_s = cfg->ldap.timeout;
	rc = ldap_initialize(&c->ld, cfg->ldap.uri);
	if (rc != LDAP_SUCCESS) {
		c->ld = NULL;
		return es_err_set(err, ES_ECONFIG, "[ldap] uri %s: %s", cfg->ldap.uri,
		                  ldap_err2string(rc));
	}
	if (set_options(c, timeout_s, err) != 0)
		return -1;
	/* libldap connects lazily; connect now, so that an unreachable server
	 * is told as such and StartTLS knows the URI it got */
	rc = ldap_connect(c->ld);
	if (rc != LDAP_SUCCESS)
		return es_ldap_fail(c, rc, "connect", err);
	if (protect(c, err) != 0)
		return -1;
	return bind_as_configured(c, err);
}

void es_ldap_close(struct es_ldap *c)
{
	if (c->ld != NULL)
		(void)ldap_unbind_ext_s(c->ld, NULL, NULL);
	c->ld = NULL;
}

int es_ldap_has_schema(struct es_ldap *c, struct es_err *err)
{
	char *attrs[] = { "objectClasses", NULL };
	LDAPMessage *res = NULL;
	LDAPMessage *e;
	struct berval **vals = NULL;
	int rc, found = 0;

	/* the subschema entry named by the root DSE */
	rc = ldap_search_ext_s(c->ld, "cn=Subschema", LDAP_SCOPE_BASE, "(objectClass=subschema)",
	                       attrs, 0, NULL, NULL, NULL, 1, &res);
	if (rc != LDAP_SUCCESS) {
		ldap_msgfree(res);
		return es_ldap_fail(c, rc, "reading the directory's schema", err);
	}
	e = ldap_first_entry(c->ld, res);
	if (e != NULL)
		vals = ldap_get_values_len(c->ld, e, "objectClasses");
	for (size_t i = 0; vals != NULL && vals[i] != NULL; i++)
		if (memmem(vals[i]->bv_val, vals[i]->bv_len, "'eschoolAccount'", 16) != NULL)
			found = memmem(vals[i]->bv_val, vals[i]->bv_len, ES_LDAP_NEWEST_ATTR,
			               strlen(ES_LDAP_NEWEST_ATTR)) != NULL
			                ? 1
			                : 2;
	ldap_value_free_len(vals);
	ldap_msgfree(res);
	return found;
}

int es_ldap_search_pages(struct es_ldap *c, const char *base, int scope, const char *filter,
                         char **attrs, const char *what,
                         int (*fn)(struct es_ldap *c, struct ldapmsg *entry, void *arg,
                                   struct es_err *err),
                         void *arg, struct es_err *err)
{
	struct berval *cookie = NULL;
	int rc = 0;

	do {
		LDAPControl *page = NULL, *ctrls[2] = { NULL, NULL }, **rctrls = NULL;
		LDAPMessage *res = NULL;
		int lrc, code = 0;

		lrc = ldap_create_page_control(c->ld, 500, cookie, 0, &page);
		if (cookie != NULL)
			ber_bvfree(cookie), cookie = NULL;
		if (lrc != LDAP_SUCCESS)
			return es_ldap_fail(c, lrc, what, err);
		ctrls[0] = page;
		lrc = ldap_search_ext_s(c->ld, base, scope, filter, attrs, 0, ctrls, NULL, NULL, 0,
		                        &res);
		ldap_control_free(page);
		if (lrc == LDAP_NO_SUCH_OBJECT) {
			ldap_msgfree(res);
			return 0;
		}
		if (lrc != LDAP_SUCCESS) {
			ldap_msgfree(res);
			return es_ldap_fail(c, lrc, what, err);
		}
		for (LDAPMessage *e = ldap_first_entry(c->ld, res); e != NULL && rc == 0;
		     e = ldap_next_entry(c->ld, e))
			rc = fn(c, (struct ldapmsg *)e, arg, err);
		if (rc == 0 && ldap_parse_result(c->ld, res, &code, NULL, NULL, NULL, &rctrls, 0) ==
		                   LDAP_SUCCESS && rctrls != NULL) {
			LDAPControl *resp = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL);
			ber_int_t estimate;
			struct berval next = { 0 };

			if (resp != NULL &&
			    ldap_parse_pageresponse_control(c->ld, resp, &estimate, &next) ==
			        LDAP_SUCCESS &&
			    next.bv_len > 0)
				cookie = ber_bvdup(&next);
			if (next.bv_val != NULL)
				ber_memfree(next.bv_val);
			ldap_controls_free(rctrls);
		}
		ldap_msgfree(res);
	} while (rc == 0 && cookie != NULL);
	if (cookie != NULL)
		ber_bvfree(cookie);
	return rc;
}
