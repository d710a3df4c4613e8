/* One-time codes for address changes: see es_code.h. */
#include "es_code.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "es_bytes.h"
#include "es_fs.h"

/* libsodium's soname, from the library the build found (Makefile) */
#ifndef ES_SODIUM_SONAME
#define ES_SODIUM_SONAME "libsodium.so.23"
#endif

/* no 0/O, 1/I/L: read aloud or copied from a phone without doubt */
static const char alphabet[] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

int es_code_new(char out[ES_CODE_LEN + 1])
{
	for (size_t i = 0; i < ES_CODE_LEN; i++) {
		uint32_t k;

		if (es_random_below((uint32_t)(sizeof(alphabet) - 1), &k) != 0) {
			es_wipe(out, ES_CODE_LEN + 1);
			return -1;
		}
		out[i] = alphabet[k];
	}
	out[ES_CODE_LEN] = '\0';
	return 0;
}

bool es_code_normalize(const char *typed, char out[ES_CODE_LEN + 1])
{
	size_t n = 0;

	if (typed == NULL)
		return false;
	for (const char *p = typed; *p != '\0'; p++) {
		char ch = *p;

		if (ch == ' ' || ch == '-' || ch == '\t')
			continue;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (n >= ES_CODE_LEN || strchr(alphabet, ch) == NULL)
			return false;
		out[n++] = ch;
	}
	out[n] = '\0';
	return n == ES_CODE_LEN;
}

static int read_key(int fd, const char *path, unsigned char key[ES_CODE_KEY_LEN],
                    struct es_err *err)
{
	struct stat sb;
	size_t got = 0;

	if (fstat(fd, &sb) != 0)
		return es_err_errno(err, ES_EIO, errno, "cannot stat %s", path);
	if (!S_ISREG(sb.st_mode) || !es_fs_owner_ok(sb.st_uid) || (sb.st_mode & 077) != 0 ||
	    sb.st_size != ES_CODE_KEY_LEN)
		return es_err_set(err, ES_EDATA,
		                  "unsafe or corrupt %s: it must be a file of %d bytes, owned by "
		                  "root, mode 600 (remove it: a new key is made, and pending "
		                  "codes must be asked again)",
		                  path, ES_CODE_KEY_LEN);
	if (es_fs_read_all(fd, (char *)key, ES_CODE_KEY_LEN, &got) != 0 || got != ES_CODE_KEY_LEN)
		return es_err_errno(err, ES_EIO, errno, "cannot read %s", path);
	return 0;
}

int es_code_key(const char *state_dir, bool create, unsigned char key[ES_CODE_KEY_LEN],
                struct es_err *err)
{
	char path[4200], ebuf[128];
	int fd, rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/code.key", state_dir) >= sizeof(path))
		return es_err_set(err, ES_ECONFIG, "state_dir too long");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		unsigned char fresh[ES_CODE_KEY_LEN];

		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			int e;

			e = es_random(fresh, sizeof(fresh)) != 0 ? errno : 0;
			if (e == 0)
				e = es_fs_write_all(fd, (const char *)fresh, sizeof(fresh));
			if (e == 0 && es_fs_fsync(fd) != 0)
				e = errno;
			es_wipe(fresh, sizeof(fresh));
			if (e != 0) {
				const char *hint = es_fs_write_hint(e);

				(void)close(fd);
				(void)unlink(path); /* never a short key left behind */
				return es_err_set(err, ES_EIO, "cannot write %s: %s%s%s", path,
				                  strerror_r(e, ebuf, sizeof(ebuf)),
				                  hint[0] != '\0' ? "; " : "", hint);
			}
			(void)close(fd);
		} else if (errno != EEXIST) {
			int e = errno;
			const char *hint = es_fs_write_hint(e);

			return es_err_set(err, ES_EIO, "cannot create %s: %s%s%s", path,
			                  strerror_r(e, ebuf, sizeof(ebuf)), hint[0] != '\0' ? "; " : "",
			                  hint);
		}
		/* made now, or by a concurrent run: read it like any other */
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	}
	if (fd < 0)
		return es_err_errno(err, errno == ENOENT ? ES_ENOUSER : ES_EIO, errno,
		                    "cannot open %s", path);
	rc = read_key(fd, path, key, err);
	(void)close(fd);
	if (rc != 0)
		es_wipe(key, ES_CODE_KEY_LEN);
	return rc;
}

typedef int (*sodium_init_fn)(void);
typedef int (*generichash_fn)(unsigned char *out, size_t outlen, const unsigned char *in,
                              unsigned long long inlen, const unsigned char *key, size_t keylen);

static int digest(const unsigned char key[ES_CODE_KEY_LEN], const char *user, const char *code,
                  unsigned char out[32], struct es_err *err)
{
	/* user NUL code in one piece: BLAKE2b of the pieces in turn is the
	 * same as of their concatenation, so stored hashes stay valid */
	unsigned char in[256 + 1 + ES_CODE_LEN];
	size_t ulen = strlen(user), clen = strlen(code);
	void *lib;
	sodium_init_fn init;
	generichash_fn hash;
	int rc = -1;

	if (ulen >= 256 || clen > ES_CODE_LEN)
		return es_err_set(err, ES_EDATA, "user name or code too long to hash");
	lib = dlopen(ES_SODIUM_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL)
		return es_err_set(err, ES_EOS, "cannot load %s: %s", ES_SODIUM_SONAME, dlerror());
	init = (sodium_init_fn)dlsym(lib, "sodium_init");
	hash = (generichash_fn)dlsym(lib, "crypto_generichash");
	memcpy(in, user, ulen + 1);
	memcpy(in + ulen + 1, code, clen);
	if (init == NULL || hash == NULL || init() < 0)
		es_err_set(err, ES_EOS, "%s: libsodium cannot start", ES_SODIUM_SONAME);
	else if (hash(out, 32, in, ulen + 1 + clen, key, ES_CODE_KEY_LEN) != 0)
		es_err_set(err, ES_EOS, "%s: hashing failed", ES_SODIUM_SONAME);
	else
		rc = 0;
	es_wipe(in, sizeof(in));
	(void)dlclose(lib);
	return rc;
}

int es_code_hash(const unsigned char key[ES_CODE_KEY_LEN], const char *user, const char *code,
                 char hex[ES_CODE_HASH_HEX], struct es_err *err)
{
	unsigned char out[32];

	if (digest(key, user, code, out, err) != 0)
		return -1;
	es_hex(hex, out, sizeof(out));
	es_wipe(out, sizeof(out));
	return 0;
}

int es_code_matches(const unsigned char key[ES_CODE_KEY_LEN], const char *user,
                    const char *code, const char *stored_hex, struct es_err *err)
{
	unsigned char want[32], got[32];
	char norm[ES_CODE_LEN + 1];
	int rc = 0;

	if (stored_hex == NULL || !es_code_normalize(code, norm))
		return 0;
	if (es_unhex(want, sizeof(want), stored_hex) != 0)
		return 0;
	if (digest(key, user, norm, got, err) != 0)
		rc = -1;
	else
		rc = es_equal_ct(want, got, sizeof(want)) ? 1 : 0;
	es_wipe(got, sizeof(got));
	es_wipe(norm, sizeof(norm));
	return rc;
}
