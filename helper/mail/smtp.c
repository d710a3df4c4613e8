#include "mail/smtp.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "es_util.h"

#define SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"
#define MAX_CA (4L * 1024 * 1024)

struct smtp {
	CURL *curl;
	const struct es_config *cfg;
	char url[300];
	char from[260];
	struct es_buf ca; /* system CAs + ca_file, for CURLOPT_CAINFO_BLOB */
	/* the dialogue, followed for the result */
	char last_cmd[12];
	bool quitting;
	struct smtp_result *r;
	bool greeted;
	bool tls_pending; /* STARTTLS said 220: the handshake is under way */
	char errbuf[CURL_ERROR_SIZE]; /* libcurl's precise words on a failure */
};

struct upload {
	const char *data;
	size_t len, off;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nitems;

	if (n > u->len - u->off)
		n = u->len - u->off;
	memcpy(buf, u->data + u->off, n);
	u->off += n;
	return n;
}

/* Follows commands (their verb only: AUTH carries the credentials) and
 * replies. Never stores message data. */
static int debug_cb(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
	struct smtp *s = arg;
	struct smtp_result *r = s->r;
	size_t n = 0;

	(void)c;
	if (r == NULL)
		return 0;
	if (type == CURLINFO_HEADER_OUT) {
		/* the steps' verbs only: SASL continuation lines (base64) keep
		 * AUTH, and QUIT or RSET after a failure keep the failed step */
		static const char *const verbs[] = { "EHLO", "HELO", "STARTTLS", "AUTH",
			                             "MAIL", "RCPT", "DATA" };
		char verb[12];

		/* curl writes again after STARTTLS only once the handshake and
		 * the certificate check passed: the 220 alone proves nothing */
		if (s->tls_pending) {
			s->tls_pending = false;
			r->tls = true;
		}
		while (n < size && n + 1 < sizeof(verb) && isalpha((unsigned char)data[n])) {
			verb[n] = (char)toupper((unsigned char)data[n]);
			n++;
		}
		verb[n] = '\0';
		if (n < size && data[n] != ' ' && data[n] != '\r' && data[n] != '\n')
			return 0; /* not a command word */
		for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
			if (strcmp(verb, verbs[i]) == 0)
				(void)snprintf(s->last_cmd, sizeof(s->last_cmd), "%s", verb);
		s->quitting = strcmp(verb, "QUIT") == 0 || strcmp(verb, "RSET") == 0;
	} else if (type == CURLINFO_HEADER_IN) {
		long code = 0;
		size_t o = 0;

		for (n = 0; n < 3 && n < size && isdigit((unsigned char)data[n]); n++)
			code = code * 10 + (data[n] - '0');
		if (n != 3 || s->quitting)
			return 0; /* the goodbye must not hide the reply that mattered */
		r->code = code;
		for (n = 0; n < size && o + 1 < sizeof(r->reply); n++)
			if (isprint((unsigned char)data[n]))
				r->reply[o++] = data[n];
		r->reply[o] = '\0';
		if (!s->greeted && code == 220) {
			s->greeted = true;
			r->connected = true;
			/* implicit TLS: a greeting comes only through a verified
			 * connection */
			if (s->cfg->security == ES_SEC_TLS)
				r->tls = true;
		} else if (strcmp(s->last_cmd, "STARTTLS") == 0 && code == 220) {
			s->tls_pending = true;
		} else if (strcmp(s->last_cmd, "AUTH") == 0 && code == 235) {
			r->authenticated = true;
		}
	}
	return 0;
}

static int read_whole(const char *path, struct es_buf *b, struct es_err *err)
{
	FILE *f = fopen(path, "re");
	char chunk[8192];
	size_t n;

	if (f == NULL)
		return es_err_errno(err, ES_ECONFIG, errno, "cannot read %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b->len + n > (size_t)MAX_CA || es_buf_append(b, chunk, n) != 0) {
			(void)fclose(f);
			return es_err_set(err, ES_ECONFIG, "%s is too large for a CA bundle", path);
		}
	}
	(void)fclose(f);
	return es_buf_puts(b, "\n");
}

/* What does not change from one message to the next: set once, so that
 * each send costs libcurl no URL parsing or CA copy. */
static void set_connection_options(struct smtp *s)
{
	CURL *c = s->curl;
	long secs = s->cfg->timeout > 0 ? s->cfg->timeout : 30;

	(void)curl_easy_setopt(c, CURLOPT_URL, s->url);
	(void)curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	(void)curl_easy_setopt(c, CURLOPT_USE_SSL,
	                       (long)(s->cfg->security == ES_SEC_NONE ? CURLUSESSL_NONE
	                                                              : CURLUSESSL_ALL));
	(void)curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	(void)curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca.len > 0) {
		struct curl_blob blob = { s->ca.data, s->ca.len, CURL_BLOB_COPY };
		(void)curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (s->cfg->username[0] != '\0') {
		(void)curl_easy_setopt(c, CURLOPT_USERNAME, s->cfg->username);
		(void)curl_easy_setopt(c, CURLOPT_PASSWORD,
		                       s->cfg->password != NULL ? s->cfg->password : "");
	}
	(void)curl_easy_setopt(c, CURLOPT_MAIL_FROM, s->from);
	(void)curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	(void)curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	(void)curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, secs);
	(void)curl_easy_setopt(c, CURLOPT_TIMEOUT, secs * 2);
	/* each reply, and the QUIT of a connection that went wrong (which
	 * otherwise waits 120 s when the transfer is cleaned up) */
	(void)curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT, secs);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf);
	(void)curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); /* to debug_cb only */
	(void)curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, debug_cb);
	(void)curl_easy_setopt(c, CURLOPT_DEBUGDATA, s);
}

static void plugin_close(struct smtp *s);

static int plugin_open(struct smtp **out, const struct es_config *cfg, struct es_err *err)
{
	struct smtp *s;

	*out = NULL;
	if (cfg->host[0] == '\0')
		return es_err_set(err, ES_ECONFIG, "mail.host is not set (nor given by a provider)");
	if (cfg->from[0] == '\0' || strpbrk(cfg->from, "<>\r\n") != NULL)
		return es_err_set(err, ES_ECONFIG, "mail.from is not set");
	if (cfg->security == ES_SEC_NONE && cfg->username[0] != '\0')
		return es_err_set(err, ES_ECONFIG,
		                  "mail.security = none with a username: refusing to send a password "
		                  "over a cleartext connection; use starttls or tls");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return es_err_set(err, ES_EOS, "cannot initialise libcurl");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	s->cfg = cfg;
	(void)snprintf(s->url, sizeof(s->url), "%s://%s:%ld",
	               cfg->security == ES_SEC_TLS ? "smtps" : "smtp", cfg->host, cfg->port);
	(void)snprintf(s->from, sizeof(s->from), "<%s>", cfg->from);
	if (cfg->ca_file[0] != '\0') {
		struct es_err ignored;
		(void)read_whole(SYSTEM_CA, &s->ca, &ignored); /* added to, not replaced */
		if (read_whole(cfg->ca_file, &s->ca, err) != 0) {
			plugin_close(s);
			return -1;
		}
	}
	s->curl = curl_easy_init();
	if (s->curl == NULL) {
		plugin_close(s);
		return es_err_set(err, ES_EOS, "cannot initialise libcurl");
	}
	set_connection_options(s);
	*out = s;
	return 0;
}

/* OpenSSL's X509_V_ERR_* codes (stable values; the helper does not link
 * OpenSSL) that mean "the chain does not end at a CA we trust": the
 * answer is ca_file. Others (expired, wrong name) are not. */
static bool untrusted_issuer(long verify)
{
	return verify == 2 /* UNABLE_TO_GET_ISSUER_CERT */ ||
	       verify == 18 /* DEPTH_ZERO_SELF_SIGNED_CERT */ ||
	       verify == 19 /* SELF_SIGNED_CERT_IN_CHAIN */ ||
	       verify == 20 /* UNABLE_TO_GET_ISSUER_CERT_LOCALLY */ ||
	       verify == 21 /* UNABLE_TO_VERIFY_LEAF_SIGNATURE */ ||
	       verify == 27 /* CERT_UNTRUSTED */;
}

/* A TLS failure from libcurl's code: TLS_FINE when rc is not one. */
static enum tls_why tls_failure(CURL *c, CURLcode rc)
{
	long verify = -1;

	switch (rc) {
	case CURLE_USE_SSL_FAILED:
		return TLS_NO_STARTTLS;
	case CURLE_PEER_FAILED_VERIFICATION: /* = CURLE_SSL_CACERT */
		if (curl_easy_getinfo(c, CURLINFO_SSL_VERIFYRESULT, &verify) == CURLE_OK &&
		    untrusted_issuer(verify))
			return TLS_UNTRUSTED;
		return TLS_BAD_CERT;
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return TLS_BAD_CERT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
		return TLS_HANDSHAKE;
	default:
		return TLS_FINE;
	}
}

static void classify(struct smtp *s, CURLcode rc, struct smtp_result *r)
{
	const char *step = "data";

	/* the error buffer says which certificate problem; strerror does not */
	(void)snprintf(r->detail, sizeof(r->detail), "%s",
	               s->errbuf[0] != '\0' ? s->errbuf : curl_easy_strerror(rc));
	r->tls_why = tls_failure(s->curl, rc);
	if (r->tls_why != TLS_FINE) {
		/* TLS is tried over a TCP connection that worked; nothing
		 * after it (login, mail) happened */
		step = "tls";
		r->connected = true;
		r->tls = false;
		r->authenticated = false;
	} else if (!r->connected)
		step = "connect";
	else if (s->cfg->security != ES_SEC_NONE && !r->tls) {
		step = "tls";
		r->tls_why = TLS_HANDSHAKE;
	} else if (rc == CURLE_LOGIN_DENIED || strcmp(s->last_cmd, "AUTH") == 0)
		step = "login";
	else if (strcmp(s->last_cmd, "MAIL") == 0)
		step = "sender";
	else if (strcmp(s->last_cmd, "RCPT") == 0)
		step = "recipient";
	(void)snprintf(r->failed_step, sizeof(r->failed_step), "%s", step);
	/* only a 5xx reply to our own message is final; connection, TLS and
	 * login problems are the school's settings or the network: keep the
	 * message and retry */
	r->permanent = r->code >= 500 && r->code < 600 &&
	               (strcmp(step, "sender") == 0 || strcmp(step, "recipient") == 0 ||
	                strcmp(step, "data") == 0);
}

/* Runs the transfer set up in s->curl and fills r with how it went. */
static void perform(struct smtp *s, struct smtp_result *r)
{
	CURLcode rc;
	long connects = -1;

	s->greeted = false; /* a new connection's first 220 is its greeting */
	s->tls_pending = false;
	s->errbuf[0] = '\0';
	rc = curl_easy_perform(s->curl);
	/* Whether this message went over the connection of the previous ones is
	 * curl's to say: it keeps the connection after a message the server
	 * refused (4xx or 5xx after DATA) and sends the next one over it, with
	 * no greeting. No new connection, yet a reply: that connection was
	 * greeted, secured and logged in before. (Guessing "a new connection
	 * after any failure" made the second 451 of a run look like a failure
	 * to connect, which stopped the run and showed an import's passwords.)
	 * Without a reply, nothing answered: a connection failure. */
	if (curl_easy_getinfo(s->curl, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK &&
	    connects == 0 && r->code != 0) {
		r->connected = true;
		r->tls = s->cfg->security != ES_SEC_NONE;
		r->authenticated = s->cfg->username[0] != '\0';
	}
	if (rc == CURLE_OK) {
		r->accepted = true;
	} else {
		long code = 0;
		if (curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code > 0)
			r->code = code;
		classify(s, rc, r);
	}
}

static void plugin_send(struct smtp *s, const char *to, const char *msg, size_t len,
                        struct smtp_result *r)
{
	struct upload up = { msg, len, 0 };
	struct curl_slist *rcpt = NULL;
	char rcpt_addr[300];
	CURL *c = s->curl;

	memset(r, 0, sizeof(*r));
	s->r = r;
	s->last_cmd[0] = '\0';
	s->quitting = false;
	(void)snprintf(rcpt_addr, sizeof(rcpt_addr), "<%s>", to);
	rcpt = curl_slist_append(NULL, rcpt_addr);
	if (rcpt == NULL) {
		(void)snprintf(r->detail, sizeof(r->detail), "out of memory");
		(void)snprintf(r->failed_step, sizeof(r->failed_step), "connect");
		s->r = NULL;
		return;
	}
	(void)curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	(void)curl_easy_setopt(c, CURLOPT_READDATA, &up);
	(void)curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	perform(s, r);
	curl_slist_free_all(rcpt);
	(void)curl_easy_setopt(c, CURLOPT_MAIL_RCPT, NULL);
	s->r = NULL;
}

static size_t discard_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	(void)buf;
	(void)arg;
	return size * nitems;
}

static void plugin_probe(struct smtp *s, struct smtp_result *r)
{
	CURL *c = s->curl;

	memset(r, 0, sizeof(*r));
	s->r = r;
	s->last_cmd[0] = '\0';
	s->quitting = false;
	/* no MAIL: greeting, EHLO, STARTTLS, AUTH, then NOOP */
	(void)curl_easy_setopt(c, CURLOPT_UPLOAD, 0L);
	(void)curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "NOOP");
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
	perform(s, r);
	(void)curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, NULL);
	(void)curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	s->r = NULL;
}

static void plugin_close(struct smtp *s)
{
	if (s == NULL)
		return;
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	es_buf_free(&s->ca);
	free(s);
	curl_global_cleanup();
}

/* What eschool_smtp.so exports (smtp_load.c loads it). */
__attribute__((visibility("default"))) const struct smtp_plugin eschool_smtp_plugin = {
	.head = PLUGIN_HEAD,
	.open = plugin_open,
	.send = plugin_send,
	.probe = plugin_probe,
	.close = plugin_close,
};
