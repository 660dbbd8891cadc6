#include "config.h"

#include <stdlib.h>

#include "heap.h"

void
heap_init(struct heap *h, heap_less_fn less, heap_index_fn set_index)
{
	h->items = NULL;
	h->len = 0;
	h->cap = 0;
	h->less = less;
	h->set_index = set_index;
}

void
heap_release(struct heap *h)
{
	free(h->items);
	h->items = NULL;
	h->len = h->cap = 0;
}

static void
heap_place(struct heap *h, size_t i, void *elem)
{
	h->items[i] = elem;
	h->set_index(elem, i);
}

static void
heap_sift_up(struct heap *h, size_t i)
{
	void *elem = h->items[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!h->less(elem, h->items[parent]))
			break;
		heap_place(h, i, h->items[parent]);
		i = parent;
	}
	heap_place(h, i, elem);
}

static void
heap_sift_down(struct heap *h, size_t i)
{
	void *elem = h->items[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= h->len)
			break;
		if (child + 1 < h->len &&
		    h->less(h->items[child + 1], h->items[child]))
			child++;
		if (!h->less(h->items[child], elem))
			break;
		heap_place(h, i, h->items[child]);
		i = child;
	}
	heap_place(h, i, elem);
}

int
heap_push(struct heap *h, void *elem)
{
	if (h->len == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		void **items = realloc(h->items, cap * sizeof *items);

		if (items == NULL)
			return -1;
		h->items = items;
		h->cap = cap;
	}
	h->items[h->len] = elem;
	heap_sift_up(h, h->len++);
	return 0;
}

void *
heap_top(const struct heap *h)
{
	return h->len ? h->items[0] : NULL;
}

void *
heap_pop(struct heap *h)
{
	void *top;

	if (h->len == 0)
		return NULL;
	top = h->items[0];
	heap_remove(h, 0);
	return top;
}

void
heap_remove(struct heap *h, size_t index)
{
	void *last;

	if (index >= h->len)
		return;
	last = h->items[--h->len];
	if (index == h->len)
		return;
	h->items[index] = last;
	h->set_index(last, index);
	/* The moved element may belong above or below its new place. */
	if (index > 0 && h->less(last, h->items[(index - 1) / 2]))
		heap_sift_up(h, index);
	else
		heap_sift_down(h, index);
}
