/* One-time codes for address changes: see es_code.h. */
#include "es_code.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "es_fs.h"

/* no 0/O, 1/I/L: read aloud or copied from a phone without doubt */
static const char alphabet[] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

void es_code_new(char out[ES_CODE_LEN + 1])
{
	for (size_t i = 0; i < ES_CODE_LEN; i++)
		out[i] = alphabet[randombytes_uniform((uint32_t)(sizeof(alphabet) - 1))];
	out[ES_CODE_LEN] = '\0';
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

			randombytes_buf(fresh, sizeof(fresh));
			e = es_fs_write_all(fd, (const char *)fresh, sizeof(fresh));
			if (e == 0 && es_fs_fsync(fd) != 0)
				e = errno;
			sodium_memzero(fresh, sizeof(fresh));
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
		sodium_memzero(key, ES_CODE_KEY_LEN);
	return rc;
}

static void digest(const unsigned char key[ES_CODE_KEY_LEN], const char *user, const char *code,
                   unsigned char out[32])
{
	crypto_generichash_state h;

	(void)crypto_generichash_init(&h, key, ES_CODE_KEY_LEN, 32);
	(void)crypto_generichash_update(&h, (const unsigned char *)user, strlen(user) + 1);
	(void)crypto_generichash_update(&h, (const unsigned char *)code, strlen(code));
	(void)crypto_generichash_final(&h, out, 32);
	sodium_memzero(&h, sizeof(h));
}

void es_code_hash(const unsigned char key[ES_CODE_KEY_LEN], const char *user, const char *code,
                  char hex[ES_CODE_HASH_HEX])
{
	unsigned char out[32];

	digest(key, user, code, out);
	(void)sodium_bin2hex(hex, ES_CODE_HASH_HEX, out, sizeof(out));
	sodium_memzero(out, sizeof(out));
}

bool es_code_matches(const unsigned char key[ES_CODE_KEY_LEN], const char *user,
                     const char *code, const char *stored_hex)
{
	unsigned char want[32], got[32];
	char norm[ES_CODE_LEN + 1];
	size_t len = 0;
	bool ok;

	if (stored_hex == NULL || !es_code_normalize(code, norm))
		return false;
	if (sodium_hex2bin(want, sizeof(want), stored_hex, strlen(stored_hex), NULL, &len, NULL) !=
	        0 ||
	    len != sizeof(want))
		return false;
	digest(key, user, norm, got);
	ok = sodium_memcmp(want, got, sizeof(want)) == 0;
	sodium_memzero(got, sizeof(got));
	sodium_memzero(norm, sizeof(norm));
	return ok;
}
