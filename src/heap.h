/*
 * A binary min-heap of pointers.  Each element records its own position
 * (through the index callback) so that it can be removed in O(log n) when
 * a queued task is cancelled.
 */
#ifndef PROCQ_HEAP_H
#define PROCQ_HEAP_H

#include <stdbool.h>
#include <stddef.h>

typedef bool (*heap_less_fn)(const void *a, const void *b);
typedef void (*heap_index_fn)(void *elem, size_t index);

struct heap {
	void		**items;
	size_t		  len;
	size_t		  cap;
	heap_less_fn	  less;
	heap_index_fn	  set_index;
};

void heap_init(struct heap *h, heap_less_fn less, heap_index_fn set_index);
void heap_release(struct heap *h);
int heap_push(struct heap *h, void *elem);
void *heap_top(const struct heap *h);
void *heap_pop(struct heap *h);
void heap_remove(struct heap *h, size_t index);

#endif
