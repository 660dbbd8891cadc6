/*
 * A binary min-heap of entries ordered by key, then sequence.  The keys
 * live in the array, so sifting never touches the elements themselves:
 * with a million queued tasks, that is the difference between a cache
 * miss per level and none.  Removal is lazy: the owner marks an element
 * as gone and skips entries that no longer match it when they surface.
 */
#ifndef PROCQ_HEAP_H
#define PROCQ_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct heap_entry {
	double		 key;
	uint64_t	 seq;
	void		*elem;
};

struct heap {
	struct heap_entry	*items;
	size_t			 len;
	size_t			 cap;
};

typedef bool (*heap_keep_fn)(const struct heap_entry *e);

void heap_init(struct heap *h);
void heap_release(struct heap *h);
int heap_push(struct heap *h, double key, uint64_t seq, void *elem);
const struct heap_entry *heap_top(const struct heap *h);
void heap_pop(struct heap *h);
void heap_filter(struct heap *h, heap_keep_fn keep);

#endif
