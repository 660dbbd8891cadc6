#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "heap.h"

void
heap_init(struct heap *h)
{
	memset(h, 0, sizeof *h);
}

void
heap_release(struct heap *h)
{
	free(h->items);
	free(h->lane);
	heap_init(h);
}

/* Forgets every entry, keeping the memory. */
void
heap_clear(struct heap *h)
{
	h->nitems = h->head = h->tail = h->len = 0;
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

		if (child >= h->nitems)
			break;
		if (child + 1 < h->nitems &&
		    heap_less(&h->items[child + 1], &h->items[child]))
			child++;
		if (!heap_less(&h->items[child], &e))
			break;
		h->items[i] = h->items[child];
		i = child;
	}
	h->items[i] = e;
}

static int
heap_push_tree(struct heap *h, const struct heap_entry *e)
{
	if (h->nitems == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct heap_entry *items = realloc(h->items,
		    cap * sizeof *items);

		if (items == NULL)
			return -1;
		h->items = items;
		h->cap = cap;
	}
	h->items[h->nitems] = *e;
	heap_sift_up(h, h->nitems++);
	return 0;
}

/* Room at the lane's tail: the consumed front is reused before the array
 * grows. */
static int
heap_lane_room(struct heap *h)
{
	struct heap_entry *lane;
	size_t cap;

	if (h->tail < h->lane_cap)
		return 0;
	if (h->head > 0 && h->head >= h->lane_cap / 2) {
		memmove(h->lane, h->lane + h->head,
		    (h->tail - h->head) * sizeof *h->lane);
		h->tail -= h->head;
		h->head = 0;
		return 0;
	}
	cap = h->lane_cap ? h->lane_cap * 2 : 64;
	if ((lane = realloc(h->lane, cap * sizeof *lane)) == NULL)
		return -1;
	h->lane = lane;
	h->lane_cap = cap;
	return 0;
}

int
heap_push(struct heap *h, double key, uint64_t seq, void *elem)
{
	struct heap_entry e = { key, seq, elem };

	if (h->head < h->tail && heap_less(&e, &h->lane[h->tail - 1])) {
		if (heap_push_tree(h, &e) != 0)
			return -1;
	} else {
		if (heap_lane_room(h) != 0)
			return -1;
		h->lane[h->tail++] = e;
	}
	h->len++;
	return 0;
}

const struct heap_entry *
heap_top(const struct heap *h)
{
	const struct heap_entry *lane = h->head < h->tail ?
	    &h->lane[h->head] : NULL;

	if (h->nitems == 0)
		return lane;
	if (lane == NULL || heap_less(&h->items[0], lane))
		return &h->items[0];
	return lane;
}

/*
 * Arrays kept once the heap has emptied, in entries: a burst of tasks
 * must not pin its memory for the rest of a long-lived queue's life, but
 * the usual few hundred should not be reallocated each time.
 */
#define HEAP_KEEP	4096

static void
heap_trim(struct heap *h)
{
	if (h->head == h->tail && h->lane_cap > HEAP_KEEP) {
		free(h->lane);
		h->lane = NULL;
		h->lane_cap = 0;
		h->head = h->tail = 0;
	}
	if (h->nitems == 0 && h->cap > HEAP_KEEP) {
		free(h->items);
		h->items = NULL;
		h->cap = 0;
	}
}

void
heap_pop(struct heap *h)
{
	const struct heap_entry *top = heap_top(h);

	if (top == NULL)
		return;
	h->len--;
	if (h->head < h->tail && top == &h->lane[h->head]) {
		if (++h->head == h->tail) {
			h->head = h->tail = 0;
			heap_trim(h);
		}
		return;
	}
	h->items[0] = h->items[--h->nitems];
	if (h->nitems > 0)
		heap_sift_down(h, 0);
	else
		heap_trim(h);
}

/* Drops the entries keep() rejects and restores the order, in O(n). */
void
heap_filter(struct heap *h, heap_keep_fn keep)
{
	size_t n = 0, t = 0;

	for (size_t i = 0; i < h->nitems; i++) {
		if (keep(&h->items[i]))
			h->items[n++] = h->items[i];
	}
	h->nitems = n;
	for (size_t i = n / 2; i-- > 0;)
		heap_sift_down(h, i);
	for (size_t i = h->head; i < h->tail; i++) {
		if (keep(&h->lane[i]))
			h->lane[t++] = h->lane[i];
	}
	h->head = 0;
	h->tail = t;
	h->len = n + t;
}
