/*
 * A set of 64-bit hashes of keys (keyset.c): the checkpoint store's
 * answer to "may this key be done?" without a read of the file.  A hash
 * found is only a "maybe": the store then reads the row.
 */
#ifndef PROCQ_KEYSET_H
#define PROCQ_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keyset {
	uint64_t *slots; /* 0 = empty */
	size_t cap;	 /* a power of two, or 0 */
	size_t n;
};

uint64_t keyset_hash(const char *key);
int keyset_add(struct keyset *ks, uint64_t h);
bool keyset_has(const struct keyset *ks, uint64_t h);
void keyset_free(struct keyset *ks);

#endif
