/* eschool check-dns DOMAIN [--selector S]: the sending domain's SPF,
 * DMARC and DKIM records, looked up with glibc's resolver (res_nquery) or
 * the [dns] server of the config, and judged by lib/es_dns. Exit 0 only
 * when all pass; 65 when one fails; 69 when DNS does not answer. */
#include "cli.h"
#include "commands.h"
#include "ui.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_dns.h"
#include "es_names.h"

/* The largest DNS message (its length is 16 bits over TCP): a buffer of
 * this size holds any answer, however many records a name has. */
#define DNS_MAX_MSG 65536


struct txts {
	char **v;
	size_t n, cap;
};

static void txts_free(struct txts *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

static int txts_add(struct txts *t, char *s)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **v = realloc(t->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = s;
	return 0;
}

/* glibc's resolver, pointed at [dns] server when there is one. */
static int resolver_open(const struct cli *ctx, struct __res_state *rs, char *shown,
                         size_t shownsz, struct es_err *err)
{
	const char *srv = ctx->cfg.dns_server;
	char addr[64];
	const char *colon;
	long port = 53;
	struct sockaddr_in sa;

	memset(rs, 0, sizeof(*rs));
	if (res_ninit(rs) != 0)
		return es_err_set(err, ES_EUNAVAIL,
		                  "cannot start the resolver: check /etc/resolv.conf, or set [dns] "
		                  "server in the config");
	rs->retrans = 2; /* seconds per try */
	rs->retry = 2;
	(void)snprintf(shown, shownsz, "the system's resolver");
	if (srv[0] == '\0')
		return 0;
	colon = strchr(srv, ':');
	if (srv[0] == '[' || (colon != NULL && strchr(colon + 1, ':') != NULL)) {
		res_nclose(rs);
		return es_err_set(err, ES_ECONFIG,
		                  "[dns] server = %s: only an IPv4 address (IP or IP:PORT) is supported",
		                  srv);
	}
	(void)snprintf(addr, sizeof(addr), "%.*s", colon != NULL ? (int)(colon - srv) : 63, srv);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
	    (colon != NULL && es_parse_long(colon + 1, 1, 65535, &port) != 0)) {
		res_nclose(rs);
		return es_err_set(err, ES_ECONFIG, "[dns] server = %s: not IP or IP:PORT", srv);
	}
	sa.sin_port = htons((uint16_t)port);
	rs->nscount = 1;
	rs->nsaddr_list[0] = sa;
	(void)snprintf(shown, shownsz, "%s", srv);
	return 0;
}

/* The TXT strings at name (each record's strings joined). 0 with none
 * when the name or the type does not exist; -1 when DNS did not answer. */
static int txt_lookup(struct __res_state *rs, const char *server, const char *name,
                      struct txts *out, struct es_err *err)
{
	unsigned char *answer;
	ns_msg msg;
	int len, rc = -1;

	txts_free(out);
	/* a large answer comes over TCP (the UDP one is truncated); glibc
	 * returns its whole length even when it did not fit the buffer, so
	 * the buffer holds the largest message and len is checked anyway */
	answer = malloc(DNS_MAX_MSG);
	if (answer == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	len = res_nquery(rs, name, ns_c_in, ns_t_txt, answer, DNS_MAX_MSG);
	if (len < 0) {
		if (rs->res_h_errno == HOST_NOT_FOUND || rs->res_h_errno == NO_DATA)
			rc = 0;
		else
			es_err_set(err, ES_EUNAVAIL,
			           "no answer from DNS (%s) for %s: %s; check the network or [dns] "
			           "server",
			           server, name,
			           rs->res_h_errno == TRY_AGAIN ? "timeout or server failure"
			                                        : "lookup refused");
		goto out;
	}
	if (len > DNS_MAX_MSG || ns_initparse(answer, len, &msg) < 0) {
		es_err_set(err, ES_EUNAVAIL, "bad DNS answer for %s from %s", name, server);
		goto out;
	}
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		ns_rr rr;
		const unsigned char *rd;
		size_t rdlen, pos = 0, o = 0;
		char *s;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_txt)
			continue;
		rd = ns_rr_rdata(rr);
		rdlen = ns_rr_rdlen(rr);
		s = malloc(rdlen + 1);
		if (s == NULL || txts_add(out, s) != 0) {
			free(s);
			txts_free(out);
			es_err_set(err, ES_EOS, "out of memory");
			goto out;
		}
		/* <length><bytes> character-strings, joined (RFC 7208 3.3) */
		while (pos < rdlen) {
			size_t l = rd[pos++];

			if (l > rdlen - pos)
				l = rdlen - pos;
			memcpy(s + o, rd + pos, l);
			o += l;
			pos += l;
		}
		s[o] = '\0';
		/* a NUL inside would cut the record: judge what is before it */
	}
	rc = 0;
out:
	free(answer);
	return rc;
}

struct check {
	const char *what, *name;
	char name_buf[300];
	struct es_dns_verdict v;
};

static void print_check(const struct check *c)
{
	printf("  %s %-6s %s\n", c->v.ok ? "✓" : "✗", c->what, c->name);
	if (c->v.found[0] != '\0') /* a DKIM key is long: its start is enough */
		printf("           %s %.100s%s\n", _("found:"), c->v.found,
		       strlen(c->v.found) > 100 ? "..." : "");
	if (!c->v.ok)
		printf("           %s\n           %s %s\n", c->v.problem, _("fix:"),
		       c->v.fix);
	if (c->v.guess) /* the one note in the reader's language: it warns */
		printf("           %s\n",
		       _("(a guess from [mail] host: ask your mail provider which servers send for "
		         "the domain; it may give an include: to use instead)"));
	else if (c->v.note[0] != '\0')
		printf("           %s\n", c->v.note);
}

static int json_check(struct es_buf *b, const struct check *c, bool first)
{
	int rc = es_buf_printf(b, "%s{\"record\":\"%s\",\"name\":", first ? "" : ",", c->what);

	rc |= es_buf_json_str(b, c->name) | es_buf_printf(b, ",\"ok\":%s", c->v.ok ? "true" : "false");
	rc |= es_buf_puts(b, ",\"found\":") |
	      (c->v.found[0] ? es_buf_json_str(b, c->v.found) : es_buf_puts(b, "null"));
	rc |= es_buf_puts(b, ",\"problem\":") |
	      (c->v.ok ? es_buf_puts(b, "null") : es_buf_json_str(b, c->v.problem));
	rc |= es_buf_puts(b, ",\"fix\":") |
	      (c->v.ok ? es_buf_puts(b, "null") : es_buf_json_str(b, c->v.fix));
	rc |= es_buf_puts(b, ",\"note\":") |
	      (c->v.note[0] ? es_buf_json_str(b, c->v.note) : es_buf_puts(b, "null"));
	return rc | es_buf_puts(b, "}");
}

/* DKIM: the selector given, else the usual ones until one has a key;
 * none found: the problem names those tried and the fix the record. */
static int check_dkim(const struct cli *ctx, struct __res_state *rs, const char *server,
                      const char *domain, const char *selector, struct check *c,
                      struct es_err *err)
{
	struct txts t = { NULL, 0, 0 };

	c->what = "DKIM";
	for (size_t i = 0; i < (selector != NULL ? 1 : ctx->cfg.n_dkim_selectors); i++) {
		const char *sel = selector != NULL ? selector : ctx->cfg.dkim_selectors[i];

		(void)snprintf(c->name_buf, sizeof(c->name_buf), "%s._domainkey.%s", sel,
		               domain);
		c->name = c->name_buf;
		if (txt_lookup(rs, server, c->name, &t, err) != 0) {
			txts_free(&t);
			return -1;
		}
		es_dkim_verdict(domain, sel, (const char *const *)t.v, t.n, &c->v, ui_french());
		txts_free(&t);
		if (c->v.ok || c->v.found[0] != '\0')
			break;
	}
	if (selector == NULL && !c->v.ok && c->v.found[0] == '\0') {
		char tried[400];
		size_t o = 0;

		tried[0] = '\0';
		for (size_t i = 0; i < ctx->cfg.n_dkim_selectors && o < sizeof(tried); i++) {
			int w = snprintf(tried + o, sizeof(tried) - o, "%s%s", i ? ", " : "",
			                 ctx->cfg.dkim_selectors[i]);
			if (w < 0)
				break;
			o += (size_t)w;
		}
		(void)snprintf(c->v.problem, sizeof(c->v.problem),
		               _("no DKIM key found (selectors tried: %s)"), tried);
		(void)snprintf(c->v.fix, sizeof(c->v.fix),
		               _("publish the key your provider gives you at SELECTOR._domainkey.%s, "
		                 "then run: eschool check-dns %s --selector SELECTOR"),
		               domain, domain);
		c->name = "SELECTOR._domainkey";
	}
	return 0;
}

int dns_check_domain(struct cli *ctx, const char *domain, const char *selector, bool print,
                 bool *all_ok, struct es_err *err)
{
	struct __res_state rs;
	struct check checks[3];
	struct txts t = { NULL, 0, 0 };
	char server[160];
	int rc = -1;

	*all_ok = false;
	if (!es_valid_domain(domain))
		return es_err_set(err, ES_EDATA, "invalid domain '%s'", domain);
	if (resolver_open(ctx, &rs, server, sizeof(server), err) != 0)
		return -1;
	memset(checks, 0, sizeof(checks));
	/* SPF */
	checks[0].what = "SPF";
	checks[0].name = domain;
	if (txt_lookup(&rs, server, domain, &t, err) != 0)
		goto out;
	es_spf_check(domain, (const char *const *)t.v, t.n,
	             es_provider_spf_include(ctx->cfg.provider), ctx->cfg.host, &checks[0].v,
	             ui_french());
	txts_free(&t);
	/* DMARC */
	checks[1].what = "DMARC";
	(void)snprintf(checks[1].name_buf, sizeof(checks[1].name_buf), "_dmarc.%s", domain);
	checks[1].name = checks[1].name_buf;
	if (txt_lookup(&rs, server, checks[1].name, &t, err) != 0)
		goto out;
	es_dmarc_verdict(domain, (const char *const *)t.v, t.n, ctx->cfg.admin_email, &checks[1].v,
	                 ui_french());
	txts_free(&t);
	if (check_dkim(ctx, &rs, server, domain, selector, &checks[2], err) != 0)
		goto out;
	*all_ok = checks[0].v.ok && checks[1].v.ok && checks[2].v.ok;
	rc = 0;
	if (!print)
		goto out;
	if (ctx->json) {
		struct es_buf b = { 0 };
		int w = es_buf_puts(&b, "{\"domain\":") | es_buf_json_str(&b, domain) |
		        es_buf_printf(&b, ",\"ok\":%s,\"checks\":[", *all_ok ? "true" : "false");

		for (size_t i = 0; i < 3; i++)
			w |= json_check(&b, &checks[i], i == 0);
		w |= es_buf_puts(&b, "]}\n");
		if (w == 0)
			(void)fwrite(b.data, 1, b.len, stdout);
		es_buf_free(&b);
	} else {
		printf(_("DNS records of %s (via %s):\n"),
		       domain, server);
		for (size_t i = 0; i < 3; i++)
			print_check(&checks[i]);
	}
out:
	txts_free(&t);
	res_nclose(&rs);
	return rc;
}

/* A DKIM selector: labels of letters, digits, '-' and '_' (RFC 6376 3.1). */
static bool valid_selector(const char *s)
{
	size_t label = 0, n = strlen(s);

	if (n == 0 || n > 200)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		           c == '-' || c == '_') {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

int cmd_check_dns(struct cli *ctx, const struct args *a)
{
	const char *selector = arg_value(a, "selector");
	struct es_err err = { 0 };
	bool ok;

	if (selector != NULL && !valid_selector(selector)) {
		ui_warn("invalid selector '%s'", selector);
		return ES_EUSAGE;
	}
	if (dns_check_domain(ctx, a->positional[0], selector, true, &ok, &err) != 0)
		return ui_fail(&err);
	return ok ? 0 : ES_EDATA;
}
