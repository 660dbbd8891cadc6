/*
 * The keys a batch has done, as 64-bit hashes each with the row that
 * holds it (keyset.c): the checkpoint store's answer to "is this key
 * done?" without a read of the file, and the row to read when it is.
 * A hash found is only a "maybe": the store compares the row's key.
 */
#ifndef PROCQ_KEYSET_H
#define PROCQ_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keyset_slot {
	uint64_t hash; /* 0 = empty */
	int64_t row;   /* the row's rowid */
};

struct keyset {
	struct keyset_slot *slots;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

uint64_t keyset_hash(const char *key);
int keyset_add(struct keyset *ks, uint64_t h, int64_t row);
bool keyset_find(const struct keyset *ks, uint64_t h, int64_t *row);
void keyset_free(struct keyset *ks);

#endif
