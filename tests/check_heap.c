/*
 * The ready and delayed queues' structure (src/heap.c), on its own: a
 * heap with a FIFO lane beside it must give back every entry in (key,
 * seq) order however pushes, pops and filters interleave, whether entries
 * arrive in order (the lane), out of order (the heap) or mixed.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include <check.h>

#include "../src/heap.h"

/* A reference: the live entries, found by linear search. */
struct model {
	struct heap_entry	*e;
	size_t			 n;
};

static uint64_t rng_state;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static bool
entry_less(const struct heap_entry *a, const struct heap_entry *b)
{
	return a->key != b->key ? a->key < b->key : a->seq < b->seq;
}

static size_t
model_min(const struct model *m)
{
	size_t best = 0;

	for (size_t i = 1; i < m->n; i++) {
		if (entry_less(&m->e[i], &m->e[best]))
			best = i;
	}
	return best;
}

static void
check_top(const struct heap *h, const struct model *m)
{
	const struct heap_entry *top = heap_top(h);

	ck_assert_uint_eq(h->len, m->n);
	if (m->n == 0) {
		ck_assert_ptr_null(top);
		return;
	}
	ck_assert_ptr_nonnull(top);
	ck_assert(top->seq == m->e[model_min(m)].seq);
}

/* Entries whose seq is odd are dropped by the filter below. */
static bool
keep_even(const struct heap_entry *e)
{
	return e->seq % 2 == 0;
}

static void
model_filter(struct model *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++) {
		if (keep_even(&m->e[i]))
			m->e[n++] = m->e[i];
	}
	m->n = n;
}

/*
 * mode 0: one key, rising seqs (all in the lane); 1: random keys; 2: a
 * few keys and now and then an old seq (a task given back).
 */
static double
pick_key(int mode)
{
	return mode == 0 ? 0 : mode == 1 ? (double)(rng() % 1000) :
	    (double)(rng() % 3);
}

START_TEST(test_heap_order)
{
	struct heap h;
	struct model m = { calloc(20000, sizeof *m.e), 0 };
	uint64_t seq = 1000;

	ck_assert_ptr_nonnull(m.e);
	rng_state = 0x9e3779b97f4a7c15ULL + (uint64_t)_i;
	heap_init(&h);
	for (int step = 0; step < 20000; step++) {
		uint64_t r = rng() % 100;

		if (r < 55 && m.n < 20000) {
			struct heap_entry e = { pick_key(_i), seq++, NULL };

			if (_i == 2 && rng() % 10 == 0)
				e.seq = rng() % 1000;	/* an old turn */
			ck_assert_int_eq(heap_push(&h, e.key, e.seq, NULL), 0);
			m.e[m.n++] = e;
		} else if (r < 99 && m.n > 0) {
			size_t i = model_min(&m);

			check_top(&h, &m);
			heap_pop(&h);
			m.e[i] = m.e[--m.n];
		} else {
			heap_filter(&h, keep_even);
			model_filter(&m);
		}
		check_top(&h, &m);
	}
	while (m.n > 0) {
		size_t i = model_min(&m);

		check_top(&h, &m);
		heap_pop(&h);
		m.e[i] = m.e[--m.n];
	}
	check_top(&h, &m);
	heap_clear(&h);
	ck_assert_ptr_null(heap_top(&h));
	heap_release(&h);
	free(m.e);
}
END_TEST

/* A burst does not pin its memory: once the heap is empty, arrays grown
 * for 100,000 entries, in order (the lane) or not (the tree), are let
 * go, and the heap works on. */
START_TEST(test_heap_burst_released)
{
	struct heap h;

	heap_init(&h);
	for (int i = 0; i < 100000; i++) {
		double key = _i == 0 ? 0 : (double)(100000 - i);

		ck_assert_int_eq(heap_push(&h, key, (uint64_t)i, NULL), 0);
	}
	ck_assert_uint_ge(h.lane_cap + h.cap, 100000);
	while (heap_top(&h) != NULL)
		heap_pop(&h);
	ck_assert_uint_le(h.lane_cap + h.cap, 4096);
	ck_assert_int_eq(heap_push(&h, 1, 1, NULL), 0);
	ck_assert_ptr_nonnull(heap_top(&h));
	heap_pop(&h);
	ck_assert_ptr_null(heap_top(&h));
	heap_release(&h);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("heap");
	TCase *tc = tcase_create("order");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_heap_order, 0, 3);
	tcase_add_loop_test(tc, test_heap_burst_released, 0, 2);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
