/*
 * A priority queue of entries ordered by key, then sequence: a binary
 * min-heap, and beside it a FIFO lane for entries that arrive in order.
 * A queue whose tasks share one priority is then a plain FIFO, pushed and
 * popped in O(1); what arrives out of order (a higher priority, a task
 * given back by a dead worker) goes to the heap, in O(log n).  The keys
 * live in the arrays, so ordering never touches the elements.  Removal
 * is lazy: the owner marks an element as gone and skips entries that no
 * longer match it when they surface.
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
	struct heap_entry	*items;		/* the binary heap */
	size_t			 nitems;
	size_t			 cap;
	struct heap_entry	*lane;		/* in order: lane[head..tail) */
	size_t			 head;
	size_t			 tail;
	size_t			 lane_cap;
	size_t			 len;		/* entries in both */
};

typedef bool (*heap_keep_fn)(const struct heap_entry *e);

void heap_init(struct heap *h);
void heap_release(struct heap *h);
void heap_clear(struct heap *h);
int heap_push(struct heap *h, double key, uint64_t seq, void *elem);
const struct heap_entry *heap_top(const struct heap *h);
void heap_pop(struct heap *h);
void heap_filter(struct heap *h, heap_keep_fn keep);

#endif
