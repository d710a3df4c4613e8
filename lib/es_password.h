/* Initial password generation (libsodium) and hashing (libxcrypt).
 *
 * Every character is drawn with randombytes_uniform(), which has no modulo
 * bias. Passwords live in caller buffers that the caller wipes with
 * sodium_memzero() as soon as they are delivered. */
#ifndef ESCHOOL_PASSWORD_H
#define ESCHOOL_PASSWORD_H

#include <stddef.h>

#include "es_config.h"
#include "es_err.h"

#define ES_PW_MIN_LEN 8
#define ES_PW_MAX_LEN 64
#define ES_HASH_MAX 256

/* The unambiguous alphabet of the random style: no 0/O/1/l/I. */
#define ES_PW_ALPHABET_LEN 57
extern const char es_pw_alphabet[ES_PW_ALPHABET_LEN + 1];

/* Calls sodium_init() once; -1 when libsodium cannot start. */
int es_pw_init(struct es_err *err);

/* Writes a NUL-terminated password of len characters (ES_PW_MIN_LEN ..
 * ES_PW_MAX_LEN) into out (outsz > len). */
int es_pw_generate(enum es_pw_style style, size_t len, char *out, size_t outsz,
                   struct es_err *err);

/* Entropy in bits of a password of this style and length (for the manual
 * and `eschool --version -v`). */
double es_pw_entropy_bits(enum es_pw_style style, size_t len);

/* Hashes password with a fresh salt, in the crypt(5) format pam_unix reads
 * ("$y$..." or "$6$..."). Thread-safe (crypt_rn with a local crypt_data). */
int es_pw_hash(enum es_pw_hash method, const char *password, char *out,
               size_t outsz, struct es_err *err);

#endif
