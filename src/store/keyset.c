/*
 * An open-addressing set of 64-bit key hashes, about 11 bytes a key: a
 * store of a million done tasks costs its queue some 16 MiB, and a new
 * task's lookup no system call.
 */
#include "config.h"

#include <stdlib.h>

#include "store/keyset.h"

/* FNV-1a, then a final mix: keys that differ only at the end (the hex
 * digests of the default keys do not) still spread. */
uint64_t
keyset_hash(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0';
	     p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h != 0 ? h : 1; /* 0 marks an empty slot */
}

static void
keyset_put(uint64_t *slots, size_t cap, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);

	while (slots[i] != 0 && slots[i] != h)
		i = (i + 1) & (cap - 1);
	slots[i] = h;
}

static int
keyset_grow(struct keyset *ks)
{
	size_t cap = ks->cap != 0 ? ks->cap * 2 : 1024;
	uint64_t *slots;

	if ((slots = calloc(cap, sizeof *slots)) == NULL)
		return -1;
	for (size_t i = 0; i < ks->cap; i++)
		if (ks->slots[i] != 0)
			keyset_put(slots, cap, ks->slots[i]);
	free(ks->slots);
	ks->slots = slots;
	ks->cap = cap;
	return 0;
}

int
keyset_add(struct keyset *ks, uint64_t h)
{
	/* At most three quarters full. */
	if (4 * (ks->n + 1) > 3 * ks->cap && keyset_grow(ks) != 0)
		return -1;
	if (!keyset_has(ks, h)) {
		keyset_put(ks->slots, ks->cap, h);
		ks->n++;
	}
	return 0;
}

bool
keyset_has(const struct keyset *ks, uint64_t h)
{
	size_t i;

	if (ks->cap == 0)
		return false;
	for (i = (size_t)h & (ks->cap - 1); ks->slots[i] != 0;
	     i = (i + 1) & (ks->cap - 1))
		if (ks->slots[i] == h)
			return true;
	return false;
}

void
keyset_free(struct keyset *ks)
{
	free(ks->slots);
	ks->slots = NULL;
	ks->cap = ks->n = 0;
}
