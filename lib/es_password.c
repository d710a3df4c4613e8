/* Initial passwords: drawn with libsodium, hashed with libxcrypt.
 *
 * MUST: draw every character with randombytes_uniform (uniform, no modulo
 * bias); wipe the crypt_data scratch area, which holds the password, before
 * freeing it. MUST NOT: log, print or copy a password anywhere but the
 * caller's buffer. */
#include "es_password.h"
#include "es_util.h"

#include <crypt.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* 24 capitals without I and O, 25 small letters without l, digits 2-9. */
const char es_pw_alphabet[ES_PW_ALPHABET_LEN + 1] = "ABCDEFGHJKLMNPQRSTUVWXYZ"
                              "abcdefghijkmnopqrstuvwxyz"
                              "23456789";
_Static_assert(sizeof(es_pw_alphabet) == ES_PW_ALPHABET_LEN + 1, "alphabet length");

/* Pronounceable: consonant-vowel syllables, then two digits. Letters that
 * are easily misread (l, q, y, o next to 0) are left out. */
static const char pron_consonants[] = "bcdfghjkmnprstvwxz";
static const char pron_vowels[] = "aeiu";
static const char pron_digits[] = "23456789";
#define PRON_DIGITS 2

int es_pw_init(struct es_err *err)
{
	if (sodium_init() < 0)
		return es_err_set(err, ES_ESOFTWARE, "libsodium failed to initialise");
	return 0;
}

static char pick(const char *set, size_t setlen)
{
	return set[randombytes_uniform((uint32_t)setlen)];
}

int es_pw_generate(enum es_pw_style style, size_t len, char *out, size_t outsz,
                   struct es_err *err)
{
	size_t i;

	if (len < ES_PW_MIN_LEN || len > ES_PW_MAX_LEN || outsz <= len)
		return es_err_set(err, ES_ESOFTWARE, "password length %zu out of range %d..%d",
		                  len, ES_PW_MIN_LEN, ES_PW_MAX_LEN);
	if (style == ES_PW_RANDOM) {
		for (i = 0; i < len; i++)
			out[i] = pick(es_pw_alphabet, sizeof(es_pw_alphabet) - 1);
	} else {
		size_t letters = len - PRON_DIGITS;

		for (i = 0; i < letters; i++) {
			if (i % 2 == 0)
				out[i] = pick(pron_consonants, sizeof(pron_consonants) - 1);
			else
				out[i] = pick(pron_vowels, sizeof(pron_vowels) - 1);
		}
		for (; i < len; i++)
			out[i] = pick(pron_digits, sizeof(pron_digits) - 1);
	}
	out[len] = '\0';
	return 0;
}

double es_pw_entropy_bits(enum es_pw_style style, size_t len)
{
	size_t letters, consonants, vowels;

	if (len < ES_PW_MIN_LEN || len > ES_PW_MAX_LEN)
		return 0.0;
	if (style == ES_PW_RANDOM)
		return (double)len * log2((double)(sizeof(es_pw_alphabet) - 1));
	letters = len - PRON_DIGITS;
	consonants = (letters + 1) / 2;
	vowels = letters / 2;
	return (double)consonants * log2((double)(sizeof(pron_consonants) - 1)) +
	       (double)vowels * log2((double)(sizeof(pron_vowels) - 1)) +
	       PRON_DIGITS * log2((double)(sizeof(pron_digits) - 1));
}

int es_pw_hash(enum es_pw_hash method, const char *password, char *out, size_t outsz,
               struct es_err *err)
{
	const char *prefix = method == ES_HASH_SHA512 ? "$6$" : "$y$";
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	int rc = -1;

	/* count 0: the method's default cost, as pam_unix uses without rounds= */
	if (crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return es_err_errno(err, ES_ESOFTWARE, errno,
		                    "cannot make a %s salt (libxcrypt)", prefix);
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL)
		return es_err_set(err, ES_EOS, "out of memory");
	h = crypt_rn(password, salt, cd, (int)sizeof(*cd));
	if (h == NULL || h[0] == '*') {
		es_err_set(err, ES_ESOFTWARE, "password hashing failed (libxcrypt, %s)", prefix);
		goto out;
	}
	if (es_strlcpy(out, h, outsz) != 0) {
		es_err_set(err, ES_ESOFTWARE, "password hash longer than %zu bytes", outsz);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}
