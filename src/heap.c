#include "config.h"

#include <stdlib.h>

#include "heap.h"

void
heap_init(struct heap *h)
{
	h->items = NULL;
	h->len = 0;
	h->cap = 0;
}

void
heap_release(struct heap *h)
{
	free(h->items);
	heap_init(h);
}

static inline bool
heap_less(const struct heap_entry *a, const struct heap_entry *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	return a->seq < b->seq;
}

static void
heap_sift_up(struct heap *h, size_t i)
{
	struct heap_entry e = h->items[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!heap_less(&e, &h->items[parent]))
			break;
		h->items[i] = h->items[parent];
		i = parent;
	}
	h->items[i] = e;
}

static void
heap_sift_down(struct heap *h, size_t i)
{
	struct heap_entry e = h->items[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= h->len)
			break;
		if (child + 1 < h->len &&
		    heap_less(&h->items[child + 1], &h->items[child]))
			child++;
		if (!heap_less(&h->items[child], &e))
			break;
		h->items[i] = h->items[child];
		i = child;
	}
	h->items[i] = e;
}

int
heap_push(struct heap *h, double key, uint64_t seq, void *elem)
{
	if (h->len == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct heap_entry *items = realloc(h->items,
		    cap * sizeof *items);

		if (items == NULL)
			return -1;
		h->items = items;
		h->cap = cap;
	}
	h->items[h->len] = (struct heap_entry){ key, seq, elem };
	heap_sift_up(h, h->len++);
	return 0;
}

const struct heap_entry *
heap_top(const struct heap *h)
{
	return h->len ? &h->items[0] : NULL;
}

void
heap_pop(struct heap *h)
{
	if (h->len == 0)
		return;
	h->items[0] = h->items[--h->len];
	if (h->len > 0)
		heap_sift_down(h, 0);
}

/* Drops the entries keep() rejects and restores the order, in O(n). */
void
heap_filter(struct heap *h, heap_keep_fn keep)
{
	size_t n = 0;

	for (size_t i = 0; i < h->len; i++) {
		if (keep(&h->items[i]))
			h->items[n++] = h->items[i];
	}
	h->len = n;
	for (size_t i = n / 2; i-- > 0;)
		heap_sift_down(h, i);
}
