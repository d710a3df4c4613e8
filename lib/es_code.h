/* One-time codes for address changes (set-email / verify-email, and the
 * PAM module's prompt): 8 characters from an alphabet without look-alikes,
 * stored only as a keyed hash (BLAKE2b keyed with state_dir/code.key, 32
 * random bytes, root-only), compared in constant time. */
#ifndef ES_CODE_H
#define ES_CODE_H

#include <stdbool.h>
#include <stddef.h>

#include "es_err.h"

#define ES_CODE_LEN 8
#define ES_CODE_KEY_LEN 32
#define ES_CODE_HASH_HEX 65 /* 32 bytes in hex, NUL */

/* A fresh code (the kernel's random), NUL-terminated: 0, or -1 (errno). */
int es_code_new(char out[ES_CODE_LEN + 1]);

/* What a person typed, as a code: case folded, spaces and dashes dropped.
 * false when it cannot be a code. */
bool es_code_normalize(const char *typed, char out[ES_CODE_LEN + 1]);

/* The hashing key: read from state_dir/code.key, created first when
 * `create` (the helper; the module only reads). ES_EDATA for a key file
 * that is not root's, is readable by others or has the wrong size. */
int es_code_key(const char *state_dir, bool create, unsigned char key[ES_CODE_KEY_LEN],
                struct es_err *err);

/* hex(BLAKE2b-256(key, user NUL code)), libsodium's crypto_generichash,
 * loaded for the call (dlopen): the module's logins that check no code
 * never map libsodium. 0, or -1 with err (libsodium missing). */
int es_code_hash(const unsigned char key[ES_CODE_KEY_LEN], const char *user, const char *code,
                 char hex[ES_CODE_HASH_HEX], struct es_err *err);

/* 1 when code (normalised) hashes to stored_hex (compared in constant
 * time), 0 when it does not, -1 with err when it could not be hashed. */
int es_code_matches(const unsigned char key[ES_CODE_KEY_LEN], const char *user,
                    const char *code, const char *stored_hex, struct es_err *err);

#endif
