/*
 * Handles with a lifetime: procq_handle_release() before and after a task
 * ends, with groups, iterators, hooks and procq_poll() still holding the
 * handle, procq_clear_results() between runs, and a service that stays
 * flat in memory round after round.
 */
#include "config.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* Fewer tasks where each costs more; LIFETIME_TASKS overrides (valgrind). */
static size_t
round_size(size_t full)
{
	const char *env = getenv("LIFETIME_TASKS");

	if (env != NULL && atol(env) > 0)
		return (size_t)atol(env);
	return TEST_ASAN || TEST_TSAN ? full / 10 : full;
}

static procq_queue *
service_queue(int workers)
{
	procq_config cfg = { .workers = workers,
	    .mode = PROCQ_MODE_INFINITE };

	return new_queue_config(&cfg);
}

static void
submit_idents(procq_queue *q, procq_handle **hs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(procq_submitf(q, "ident", NULL, &hs[i], "i",
		    (int)i), 0);
}

/* A service that releases what it took stays flat: 10 rounds of 100,000
 * tasks, and the heap after the last is within 2 MB of the first. */
START_TEST(test_service_flat)
{
	size_t n = round_size(100000), first = 0, last = 0;
	procq_handle **hs = calloc(n, sizeof *hs);
	procq_queue *q = service_queue(2);
	procq_summary *s;

	ck_assert_ptr_nonnull(hs);
	ck_assert_int_eq(procq_start(q), 0);
	for (int round = 0; round < 10; round++) {
		submit_idents(q, hs, n);
		ck_assert_int_eq(procq_join(q, 60), 0);
		s = procq_results(q);
		ck_assert_uint_eq(procq_summary_succeeded(s), n);
		procq_summary_free(s);
		ck_assert_int_eq(procq_handle_value(hs[n - 1], "i", &(int){ 0 }),
		    0);
		for (size_t i = 0; i < n; i++)
			procq_handle_release(hs[i]);
		ck_assert_int_eq(procq_clear_results(q), 0);
		last = heap_in_use();
		if (round == 0)
			first = last;
	}
	if (first > 0 && last > 0)
		ck_assert_msg(last < first + 2 * 1024 * 1024,
		    "heap grew from %zu to %zu bytes", first, last);
	procq_free(q);
	free(hs);
}
END_TEST

static void
count_complete(procq_handle *h, const procq_result *r, void *arg)
{
	atomic_int *n = arg;

	/* The hook's handle is valid while it runs, released or not. */
	if (strcmp(procq_handle_id(h), procq_result_id(r)) == 0 &&
	    procq_handle_status(h) == procq_result_status(r))
		atomic_fetch_add(n, 1);
}

struct hook_count {
	atomic_int	*n;
	int		 want;
};

static bool
hooks_done(void *arg)
{
	struct hook_count *c = arg;

	return atomic_load(c->n) == c->want;
}

/* Released while it waits behind a busy worker: the task still runs, its
 * hook still sees the handle, its result is counted in the run's summary,
 * and the memory goes when it ends. */
START_TEST(test_release_before_final)
{
	size_t n = round_size(2000), before, after;
	atomic_int completed = 0;
	procq_config cfg = { .workers = 1, .on_complete = count_complete,
	    .hook_arg = &completed };
	procq_handle **hs = calloc(n, sizeof *hs), *hg;
	procq_queue *q = new_queue_config(&cfg);
	procq_summary *s;
	struct gate g;

	ck_assert_ptr_nonnull(hs);
	gate_create(&g);
	ck_assert_int_eq(procq_start(q), 0);
	hg = submit_ok(q, "gate", NULL, "s", g.path);
	ck_assert(gate_enter(&g, 10));
	submit_idents(q, hs, n);
	before = heap_in_use();
	for (size_t i = 0; i < n; i++)
		procq_handle_release(hs[i]);
	ck_assert(!procq_handle_done(hg));
	gate_release(&g);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_count(s), n + 1);
	ck_assert_uint_eq(procq_summary_succeeded(s), n + 1);
	procq_summary_free(s);
	/* The run returned after its tasks' hooks. */
	ck_assert(hooks_done(&(struct hook_count){ &completed, (int)n + 1 }));
	ck_assert_int_eq(procq_clear_results(q), 0);
	after = heap_in_use();
	if (before > 0)
		ck_assert_msg(after + n * 128 < before,
		    "heap went from %zu to %zu bytes", before, after);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_SUCCEEDED);
	procq_free(q);
	gate_destroy(&g);
	free(hs);
}
END_TEST

/* The heap has given back at least drop bytes below from. */
struct heap_drop {
	size_t	from;
	size_t	drop;
};

static bool
heap_dropped(void *arg)
{
	const struct heap_drop *d = arg;

	return heap_in_use() + d->drop < d->from;
}

/* Released once final, the handles are freed as soon as the engine takes
 * the releases; the results stay collected for the run until
 * procq_clear_results(). */
START_TEST(test_release_after_final)
{
	size_t n = round_size(2000), before, after;
	procq_handle **hs = calloc(n, sizeof *hs);
	procq_queue *q = new_queue(2, 0);
	procq_summary *s;

	ck_assert_ptr_nonnull(hs);
	submit_idents(q, hs, n);
	ck_assert_int_eq(procq_join(q, 60), 0);
	before = heap_in_use();
	for (size_t i = 0; i < n; i++)
		procq_handle_release(hs[i]);
	if (before > 0 && !wait_until(heap_dropped,
	    &(struct heap_drop){ before, n * 128 }, 10)) {
		after = heap_in_use();
		ck_abort_msg("heap went from %zu to %zu bytes", before, after);
	}
	s = procq_results(q);
	ck_assert_uint_eq(procq_summary_succeeded(s), n);
	procq_summary_free(s);
	procq_free(q);
	free(hs);
}
END_TEST

START_TEST(test_release_null)
{
	procq_handle_release(NULL);
}
END_TEST

/* A group holds its members: released by the caller, they stay readable
 * through the group until it is freed. */
START_TEST(test_release_in_group)
{
	procq_queue *q = new_queue(2, 0);
	procq_group *g = procq_group_create(q, NULL, NULL);
	procq_handle *h[4], *got;
	procq_summary *s;
	struct gate gt;
	int v, err;

	gate_create(&gt);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &h[0], "i", 7),
	    0);
	ck_assert_int_eq(procq_group_submitf(g, "gate", NULL, &h[1], "s",
	    gt.path), 0);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_handle_wait(h[0], 10), 0);
	ck_assert(gate_enter(&gt, 10));
	procq_handle_release(h[0]);	/* final */
	procq_handle_release(h[1]);	/* running */
	gate_release(&gt);
	ck_assert_int_eq(procq_group_wait(g, 10, &s), 0);
	ck_assert_uint_eq(procq_summary_succeeded(s), 2);
	procq_summary_free(s);
	got = procq_group_handle(g, 0);
	ck_assert_int_eq(procq_handle_value(got, "i", &v), 0);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(procq_handle_status(procq_group_handle(g, 1)),
	    PROCQ_SUCCEEDED);
	ck_assert_ptr_nonnull(procq_group_next(g, 1, &err));
	ck_assert_ptr_nonnull(procq_group_next(g, 1, &err));
	procq_group_free(g);
	procq_free(q);
	gate_destroy(&gt);
}
END_TEST

/* An iterator holds what it was given, released or not. */
START_TEST(test_release_in_iterator)
{
	procq_queue *q = new_queue(2, 0);
	procq_handle *hs[3], *h;
	procq_iter *it;
	struct gate g;
	size_t seen = 0;
	int err;

	gate_create(&g);
	hs[0] = submit_ok(q, "ident", NULL, "i", 1);
	hs[1] = submit_ok(q, "gate", NULL, "s", g.path);
	hs[2] = submit_ok(q, "ident", NULL, "i", 3);
	ck_assert_int_eq(procq_start(q), 0);
	it = procq_as_completed(hs, 3, 10, &err);
	ck_assert_ptr_nonnull(it);
	ck_assert(gate_enter(&g, 10));
	for (int i = 0; i < 3; i++)
		procq_handle_release(hs[i]);
	gate_release(&g);
	while ((h = procq_iter_next(it, &err)) != NULL) {
		ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
		ck_assert_str_eq(procq_result_id(procq_handle_result(h)),
		    procq_handle_id(h));
		seen++;
	}
	ck_assert_int_eq(err, 0);
	ck_assert_uint_eq(seen, 3);
	procq_iter_free(it, false);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

struct releaser {
	procq_handle	*h;
	struct gate	*g;
};

/* Releases the handle the main thread waits on, then lets its task end. */
static void *
release_then_open(void *arg)
{
	struct releaser *r = arg;
	struct timespec pause = { 0, 200 * 1000 * 1000 };

	procq_handle_release(r->h);
	nanosleep(&pause, NULL);
	gate_release(r->g);
	return NULL;
}

/* procq_wait() holds its handles until it returns: released by another
 * thread meanwhile, the handle outlives the wait. */
START_TEST(test_release_while_waited)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h, *done[1];
	struct releaser r;
	struct gate g;
	pthread_t t;
	size_t ndone = 0;

	gate_create(&g);
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "gate", NULL, "s", g.path);
	ck_assert(gate_enter(&g, 10));
	r = (struct releaser){ h, &g };
	ck_assert_int_eq(pthread_create(&t, NULL, release_then_open, &r), 0);
	ck_assert_int_eq(procq_wait(&h, 1, PROCQ_ALL_COMPLETED, 10, done,
	    &ndone, NULL, NULL), 0);
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(join_within(t, 10), 0);
	ck_assert_int_eq(procq_join(q, 10), 0);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

static void
done_cb(procq_handle *h, void *arg)
{
	atomic_int *n = arg;

	if (procq_handle_status(h) == PROCQ_SUCCEEDED &&
	    strlen(procq_handle_id(h)) == 16)
		atomic_fetch_add(n, 1);
}

/* A done callback still to run holds its handle. */
START_TEST(test_release_with_callback)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h;
	atomic_int calls = 0;
	struct gate g;

	gate_create(&g);
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "gate", NULL, "s", g.path);
	ck_assert_int_eq(procq_handle_on_done(h, done_cb, &calls), 0);
	ck_assert(gate_enter(&g, 10));
	procq_handle_release(h);
	gate_release(&g);
	ck_assert_int_eq(procq_join(q, 10), 0);
	/* the join returned after the callback */
	ck_assert(hooks_done(&(struct hook_count){ &calls, 1 }));
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/* procq_poll() never hands out a handle that was released, before or
 * after it ended. */
START_TEST(test_release_not_polled)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *hs[4], *got[8];
	struct pollfd p;
	struct gate g;
	size_t n;
	int fd;

	gate_create(&g);
	fd = procq_notify_fd(q);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(procq_start(q), 0);
	hs[0] = submit_ok(q, "ident", NULL, "i", 0);
	ck_assert_int_eq(procq_handle_wait(hs[0], 10), 0);
	hs[1] = submit_ok(q, "gate", NULL, "s", g.path);
	hs[2] = submit_ok(q, "ident", NULL, "i", 2);
	hs[3] = submit_ok(q, "ident", NULL, "i", 3);
	ck_assert(gate_enter(&g, 10));
	procq_handle_release(hs[0]);	/* final, not yet polled */
	procq_handle_release(hs[2]);	/* not yet run */
	/* The only completion was taken back: nothing to poll, and the
	 * descriptor is quiet once the engine has taken the releases. */
	ck_assert_uint_eq(procq_poll(q, got, 8), 0);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 0), 0);
	gate_release(&g);
	ck_assert_int_eq(procq_join(q, 10), 0);
	n = procq_poll(q, got, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_eq(got[0], hs[1]);
	ck_assert_ptr_eq(got[1], hs[3]);
	procq_handle_release(hs[1]);	/* polled already */
	ck_assert_uint_eq(procq_poll(q, got, 8), 0);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/* Released tasks that wait for retries, and queued ones cancelled in
 * bulk: the heap entries they leave behind hold them until dropped. */
START_TEST(test_release_heap_entries)
{
	size_t n = 3000;
	procq_opts retry = { .retries = 2, .retry_delay = 0.01 };
	procq_queue *q = new_queue(2, 0);
	procq_group *g = procq_group_create(q, NULL, NULL);
	procq_handle *h;
	procq_summary *s;
	struct gate gt;

	gate_create(&gt);
	ck_assert_int_eq(procq_start(q), 0);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(procq_submitf(q, "flaky", &retry, &h, "i", 2),
		    0);
		procq_handle_release(h);
	}
	ck_assert_int_eq(procq_join(q, 30), 0);
	s = procq_results(q);
	ck_assert_uint_eq(procq_summary_succeeded(s), 20);
	procq_summary_free(s);

	ck_assert_int_eq(procq_group_submitf(g, "gate", NULL, NULL, "s",
	    gt.path), 0);
	ck_assert_int_eq(procq_group_submitf(g, "gate", NULL, NULL, "s",
	    gt.path), 0);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &h, "i",
		    (int)i), 0);
		procq_handle_release(h);
	}
	ck_assert_uint_ge(procq_group_cancel(g), n);
	procq_group_free(g);
	/* Entries of the freed tasks may still be in the ready heap. */
	for (int i = 0; i < 10; i++)
		submit_ok(q, "ident", NULL, "i", i);
	gate_release(&gt);
	ck_assert_int_eq(procq_join(q, 30), 0);
	procq_free(q);
	gate_destroy(&gt);
}
END_TEST

/* After procq_clear_results(), the next run's summary has that run's
 * results alone. */
START_TEST(test_clear_then_next_run)
{
	procq_queue *q = new_queue(2, 0);
	procq_handle *hs[3];
	procq_summary *s;

	for (int i = 0; i < 3; i++)
		hs[i] = submit_ok(q, "ident", NULL, "i", i);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_count(s), 3);
	procq_summary_free(s);
	for (int i = 0; i < 3; i++)
		procq_handle_release(hs[i]);
	ck_assert_int_eq(procq_clear_results(q), 0);
	s = procq_results(q);
	ck_assert_uint_eq(procq_summary_count(s), 0);
	procq_summary_free(s);
	submit_ok(q, "ident", NULL, "i", 10);
	hs[0] = submit_ok(q, "fail", NULL, "i", 11);
	procq_handle_release(hs[0]);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_count(s), 2);
	ck_assert_uint_eq(procq_summary_succeeded(s), 1);
	ck_assert_uint_eq(procq_summary_failed(s), 1);
	procq_summary_free(s);
	s = procq_results(q);
	ck_assert_uint_eq(procq_summary_count(s), 2);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

/* An unfinished future released is cancelled: no one is left to
 * complete it. */
START_TEST(test_release_future)
{
	procq_queue *q = new_queue(1, 0);
	procq_group *g = procq_group_create(q, NULL, NULL);
	procq_handle *f;
	int err;

	f = procq_future_create(q, "later", &err);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(procq_group_add(g, f), 0);
	procq_handle_release(f);
	ck_assert_int_eq(procq_handle_status(procq_group_handle(g, 0)),
	    PROCQ_CANCELLED);
	ck_assert_int_eq(procq_group_wait(g, 0, NULL), 0);
	procq_group_free(g);
	procq_free(q);
}
END_TEST

/* procq_free() frees what was released and what was not, finished or
 * not (the sanitizers and valgrind check it). */
START_TEST(test_free_mixed)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *hs[6];
	struct gate g;

	gate_create(&g);
	ck_assert_int_eq(procq_start(q), 0);
	hs[0] = submit_ok(q, "ident", NULL, "i", 0);
	hs[1] = submit_ok(q, "ident", NULL, "i", 1);
	ck_assert_int_eq(procq_handle_wait(hs[1], 10), 0);
	hs[2] = submit_ok(q, "gate", NULL, "s", g.path);
	ck_assert(gate_enter(&g, 10));
	hs[3] = submit_ok(q, "ident", NULL, "i", 3);
	hs[4] = submit_ok(q, "ident", NULL, "i", 4);
	procq_handle_release(hs[0]);
	procq_handle_release(hs[2]);
	procq_handle_release(hs[3]);
	ck_assert_int_eq(procq_handle_cancel(hs[4]), 0);
	gate_release(&g);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

static Suite *
lifetime_suite(void)
{
	Suite *s = suite_create("lifetime");
	TCase *tc;

	tc = add_tcase(s, "release", 60);
	tcase_add_test(tc, test_release_before_final);
	tcase_add_test(tc, test_release_after_final);
	tcase_add_test(tc, test_release_null);
	tcase_add_test(tc, test_release_in_group);
	tcase_add_test(tc, test_release_in_iterator);
	tcase_add_test(tc, test_release_with_callback);
	tcase_add_test(tc, test_release_while_waited);
	tcase_add_test(tc, test_release_not_polled);
	tcase_add_test(tc, test_release_heap_entries);
	tcase_add_test(tc, test_clear_then_next_run);
	tcase_add_test(tc, test_release_future);
	tcase_add_test(tc, test_free_mixed);

	tc = add_tcase(s, "service", 300);
	tcase_add_test(tc, test_service_flat);
	return s;
}

int
main(void)
{
	return run_suite(lifetime_suite());
}
