/*
 * SHA-256 (FIPS 180-4), for the checkpoint store's default task keys:
 * a key must not collide for different tasks, or a task would be
 * skipped as done.
 */
#ifndef PROCQ_SHA256_H
#define PROCQ_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len; /* bytes hashed so far */
	unsigned char buf[64];
	size_t nbuf;
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, unsigned char digest[32]);

#endif
