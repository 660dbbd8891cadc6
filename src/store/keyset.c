/*
 * An open-addressing table of 64-bit key hashes and their rows, about 21
 * bytes a key: a store of a million done tasks costs its queue some
 * 20 MiB, and a new task's lookup no system call.
 */
#include "config.h"

#include <stdlib.h>

#include "store/keyset.h"

/* FNV-1a, then a final mix, so that keys that differ only at the end
 * still spread over the table. */
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

static struct keyset_slot *
keyset_slot(struct keyset_slot *slots, size_t cap, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);

	while (slots[i].hash != 0 && slots[i].hash != h)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int
keyset_grow(struct keyset *ks)
{
	size_t cap = ks->cap != 0 ? ks->cap * 2 : 1024;
	struct keyset_slot *slots;

	if ((slots = calloc(cap, sizeof *slots)) == NULL)
		return -1;
	for (size_t i = 0; i < ks->cap; i++)
		if (ks->slots[i].hash != 0)
			*keyset_slot(slots, cap,
			    ks->slots[i].hash) = ks->slots[i];
	free(ks->slots);
	ks->slots = slots;
	ks->cap = cap;
	return 0;
}

/* A hash already there keeps its row: either row holds a success. */
int
keyset_add(struct keyset *ks, uint64_t h, int64_t row)
{
	struct keyset_slot *slot;

	/* At most three quarters full. */
	if (4 * (ks->n + 1) > 3 * ks->cap && keyset_grow(ks) != 0)
		return -1;
	slot = keyset_slot(ks->slots, ks->cap, h);
	if (slot->hash == 0) {
		slot->hash = h;
		slot->row = row;
		ks->n++;
	}
	return 0;
}

bool
keyset_find(const struct keyset *ks, uint64_t h, int64_t *row)
{
	const struct keyset_slot *slot;

	if (ks->cap == 0)
		return false;
	slot = keyset_slot(ks->slots, ks->cap, h);
	if (slot->hash == 0)
		return false;
	*row = slot->row;
	return true;
}

void
keyset_free(struct keyset *ks)
{
	free(ks->slots);
	ks->slots = NULL;
	ks->cap = ks->n = 0;
}
