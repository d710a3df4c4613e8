/* The sending domain's DNS records, judged (SPF, DMARC, DKIM): pure
 * functions over the TXT strings a lookup returned, so that they can be
 * tested and fuzzed without a resolver (the lookups are helper/cmd_dns.c). */
#ifndef ES_DNS_H
#define ES_DNS_H

#include <stdbool.h>
#include <stddef.h>

#include "es_config.h"

struct es_dns_verdict {
	bool ok;
	char found[512];   /* the record judged ("" when none) */
	char problem[512]; /* why it fails ("" when ok) */
	char note[256];    /* said even when ok (e.g. DMARC p=none) */
	char fix[768];     /* what to publish ("" when ok) */
	bool french;       /* the texts' language (the functions' last argument) */
	bool guess;        /* the fix is built from [mail] host: to check with the
	                      mail provider (note says so) */
};

/* Where the SPF mechanism to suggest comes from. */
enum es_spf_source {
	ES_SPF_FROM_PROVIDER, /* the provider preset's include: (sure) */
	ES_SPF_FROM_HOST,     /* a:HOST, ip4:ADDR or ip6:ADDR of [mail] host (a guess) */
	ES_SPF_UNKNOWN,       /* no host, or a local one (127.0.0.1, a private
	                         network): nothing the Internet sees */
};

/* The include: an SPF record needs for the provider's servers; NULL for a
 * custom server (nothing to require). */
const char *es_provider_spf_include(enum es_provider p);

/* The SPF mechanism that authorises the configured server: include:INCLUDE
 * when a provider preset gives one, else from host (an IPv4 or IPv6 literal
 * -> ip4:/ip6:, a name -> a:NAME). "" with ES_SPF_UNKNOWN when host is
 * empty, local or private. Never a record that authorises nobody. */
enum es_spf_source es_spf_mechanism(const char *include, const char *host, char *out,
                                    size_t outsz);

/* SPF: exactly one "v=spf1" record among txt, ending in ~all or -all (or
 * a redirect=), with include:`include` when include is not NULL, and
 * naming at least one server. host: [mail] host, for the record the fix
 * suggests when there is none (may be NULL). */
void es_spf_check(const char *domain, const char *const *txt, size_t n, const char *include,
                  const char *host, struct es_dns_verdict *v, bool french);

/* es_spf_check without a host. */
void es_spf_verdict(const char *domain, const char *const *txt, size_t n, const char *include,
                    struct es_dns_verdict *v, bool french);

/* DMARC (the TXT strings of _dmarc.DOMAIN): exactly one "v=DMARC1" record
 * with valid tags and p=none|quarantine|reject. rua: the address the fix
 * suggests for reports (may be NULL or ""). The record suggested starts at
 * p=none: a stricter policy before SPF and DKIM pass sends the school's
 * own mail to spam. */
void es_dmarc_verdict(const char *domain, const char *const *txt, size_t n, const char *rua,
                      struct es_dns_verdict *v, bool french);

/* DKIM (the TXT strings of SELECTOR._domainkey.DOMAIN): a key record with
 * a non-empty p= tag. */
void es_dkim_verdict(const char *domain, const char *selector, const char *const *txt, size_t n,
                     struct es_dns_verdict *v, bool french);

/* Copies a DNS string for display: bytes below 0x20 and 0x7f become '?'. */
void es_dns_printable(const char *in, size_t len, char *out, size_t outsz);

#endif
