/* Validation of the values eschool accepts, and derivation of usernames
 * from people's names. */
#ifndef ESCHOOL_NAMES_H
#define ESCHOOL_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "es_err.h"

/* shadow's rules (Debian's default, without --badname): [a-z_][a-z0-9_-]*
 * with an optional trailing '$', at most 32 bytes, not "." or "..". false
 * for NULL. So a valid name is one harmless path component: es_state
 * relies on it for every file it names after a user. */
bool es_valid_username(const char *s);

/* A name eschool creates for a group (a role's groups, and a role's own
 * name): es_valid_username's rule without the trailing '$', which marks
 * Samba machine accounts, not groups. */
bool es_valid_groupname(const char *s);

/* A user or group name that already exists and may come from a directory
 * (exempt_users, exempt_group): letters of either case, digits, '_', '.'
 * and '-', not starting with '-', not "." or "..", an optional trailing '$',
 * at most 32 bytes. Looser than es_valid_username on purpose: eschool only
 * compares it, never creates it. */
bool es_valid_existing_name(const char *s);

/* The one address check, for every address eschool accepts or sends to
 * (the configuration, set-email, CSV imports, es_mime's From and To):
 * local@domain with a dot-atom local part (letters, digits and
 * !#$%&'*+/=?^_`{|}~- ; dots neither first, last nor doubled; at most 64
 * bytes), a domain as es_valid_domain wants it, at most 254 bytes in all.
 * No quoted local parts, no IP literals. */
bool es_valid_email(const char *s);

/* A host name of two labels or more: letters, digits and inner dashes,
 * labels of 1..63, 253 in all (selectors pass too: one label is refused). */
bool es_valid_domain(const char *d);

/* Folds UTF-8 text to lowercase ASCII with a built-in table for the Latin
 * letters (é→e, œ→oe, ß→ss, æ→ae, ø→o, ł→l, ș→s ...), never by the locale.
 * ASCII digits and punctuation are kept, control characters, invalid bytes
 * and characters with no folding (Greek, Cyrillic ...) are dropped. Writes
 * at most outsz-1 bytes and never splits a folding. */
void es_fold_ascii(const char *utf8, char *out, size_t outsz);

/* Derives a base username from a full name: the initial of the given name
 * followed by the family name, folded to [a-z0-9]. The family name is what
 * comes before a comma ("Dupré, Élodie"), else the words written in
 * capitals when some are not ("DUPRÉ Élodie", as French school software
 * exports names), else every word after the first ("Élodie Dupré" ->
 * "edupre", "Jean-Luc Le Gall" -> "jlegall"). Never empty (falls
 * back to "user"), starts with a letter, at most 28 bytes so that a numeric
 * suffix still fits in 32. */
void es_username_base(const char *fullname, char *out, size_t outsz);

/* Makes base unique: base, base2, base3 ... until taken(candidate, arg)
 * returns false. Returns -1 when no candidate under 32 bytes is free. */
int es_username_unique(const char *base, bool (*taken)(const char *, void *),
                       void *arg, char *out, size_t outsz);

/* A class's group name (class_groups): "c-" and the class folded to
 * [a-z0-9] (es_fold_ascii), an ordinal's letters after its leading number
 * dropped: "1ère G1" -> "c-1g1", "Terminale B" -> "c-terminaleb". At most
 * ES_CLASS_GROUP_BASE_MAX bytes, so that "-99" still fits in 32. -1 when
 * nothing of the class is left ("—"): no group. */
#define ES_CLASS_GROUP_BASE_MAX 28
int es_class_group_base(const char *klass, char *out, size_t outsz);

/* base, then base-2, base-3 ... until taken(candidate, arg) is false;
 * -1 when none under 32 bytes is free. */
int es_class_group_unique(const char *base, bool (*taken)(const char *, void *), void *arg,
                          char *out, size_t outsz);

/* The name a person is greeted by, from the parts a roster gives:
 * es_name_display("Élodie", "DUPRÉ") is "Élodie Dupré". A part written
 * all in capitals is cased as French names are written: each word and
 * each piece after '-' or an apostrophe capitalised ("N'DIAYE" ->
 * "N'Diaye", "MÜLLER-ŒSTERGAARD" -> "Müller-Œstergaard"), the particles
 * de, du, des and d' in lowercase unless alone ("DE LA FONTAINE" ->
 * "de La Fontaine"); a part in mixed case is kept as written. Casing uses
 * a built-in table for the Latin letters, never the locale. Either part
 * may be NULL or empty. */
void es_name_display(const char *first, const char *last, char *out, size_t outsz);

/* Splits a full name as French school software writes it, the family
 * name in capitals first ("DUPRÉ Élodie", "DE LA FONTAINE Anaïs"), or
 * last ("Élodie DUPRÉ"), or before a comma ("Dupré, Élodie": letters,
 * spaces, hyphens, apostrophes and dots only, one comma). Returns
 * true and fills first and last; false (nothing written) when
 * a part does not fit or the name
 * is not written so ("Élodie Dupré" says nothing of which is which). */
bool es_name_split(const char *full, char *first, size_t firstsz, char *last, size_t lastsz);

/* The name a full name is greeted by: split (es_name_split) and put in
 * order when it can be, cased when written in capitals: "DUPRÉ Élodie",
 * "Dupré, Élodie" and "Élodie Dupré" are all "Élodie Dupré". */
void es_name_greeting(const char *full, char *out, size_t outsz);

#endif
