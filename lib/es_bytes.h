/* Bytes: wiping, comparing, hex, base64 and randomness, on libc alone.
 *
 * The PAM module is loaded and unloaded by libpam at every login; linking
 * libsodium for these few helpers cost more than half of that load (about
 * 170 us of 310 here). The keyed hash of the address codes, the one piece
 * of real cryptography the module needs, is libsodium's, loaded only when
 * a code is checked (es_code.c). */
#ifndef ES_BYTES_H
#define ES_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wipes n bytes at p; the compiler may not drop it (explicit_bzero). */
void es_wipe(void *p, size_t n);

/* true when the n bytes at a and b are equal, in a time that does not
 * depend on where they differ. */
bool es_equal_ct(const void *a, const void *b, size_t n);

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void es_hex(char *out, const unsigned char *in, size_t n);

/* A hex digit's value (either case), or -1. */
int es_hex_digit(char c);

/* Decodes exactly 2*n hex digits (either case) of hex into out[n];
 * 0, or -1 (bad digit, wrong length: out wiped). */
int es_unhex(unsigned char *out, size_t n, const char *hex);

/* Base64 (RFC 4648, with padding, no line breaks) of n bytes: the length
 * of the text, then the room it needs with its NUL. */
#define ES_BASE64_LEN(n) ((((n) + 2) / 3) * 4)
#define ES_BASE64_SIZE(n) (ES_BASE64_LEN(n) + 1)
void es_base64(char *out, const unsigned char *in, size_t n);

/* n bytes from the kernel's random generator (getrandom); 0, or -1 with
 * errno. Never a weaker source: nothing random is better than that. */
int es_random(void *buf, size_t n);

/* A uniform number in [0, upper) (upper >= 1) into *out: 0, or -1. */
int es_random_below(uint32_t upper, uint32_t *out);

/* n random bytes in lower-case hex (2n+1 bytes at out): 0, or -1. */
int es_random_hex(char *out, size_t n);

#endif
