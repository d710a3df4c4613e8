/* Bytes on libc alone: see es_bytes.h. */
#include "es_bytes.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

void es_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

bool es_equal_ct(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(x[i] ^ y[i]);
	return d == 0;
}

void es_hex(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int es_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int es_unhex(unsigned char *out, size_t n, const char *hex)
{
	if (strnlen(hex, 2 * n + 1) != 2 * n) {
		es_wipe(out, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int hi = es_hex_digit(hex[2 * i]), lo = es_hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			es_wipe(out, n);
			return -1;
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void es_base64(char *out, const unsigned char *in, size_t n)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, i = 0;

	for (; i + 3 <= n; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];

		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
		out[o++] = abc[v & 63];
	}
	if (i < n) {
		unsigned long v = (unsigned long)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned long)in[i + 1] << 8;
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
		if (i + 1 == n)
			out[o - 1] = '='; /* one byte: two characters, two pads */
		out[o++] = '=';
	}
	out[o] = '\0';
}

int es_random(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

int es_random_below(uint32_t upper, uint32_t *out)
{
	uint32_t limit, v;

	if (upper < 2) {
		*out = 0;
		return 0;
	}
	/* 2^32 mod upper values drawn first are refused: none more likely */
	limit = (uint32_t)(-upper) % upper;
	do {
		if (es_random(&v, sizeof(v)) != 0)
			return -1;
	} while (v < limit);
	*out = v % upper;
	return 0;
}

int es_random_hex(char *out, size_t n)
{
	unsigned char raw[32];

	if (n > sizeof(raw)) {
		errno = EINVAL;
		return -1;
	}
	if (es_random(raw, n) != 0)
		return -1;
	es_hex(out, raw, n);
	es_wipe(raw, n);
	return 0;
}
