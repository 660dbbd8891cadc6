/*
 * Waiting on many handles: procq_wait and its modes, procq_as_completed,
 * done callbacks and futures.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect_tasks.h"
#include "util.h"

/* procq_wait() with both arrays, asserting it returned 0. */
struct part {
	procq_handle *done[8], *pending[8];
	size_t ndone, npending;
	double elapsed;
};

static void
wait_part(procq_handle *const *hs, size_t n, procq_wait_mode mode,
    double timeout, struct part *p)
{
	double t0 = now();
	int rc;

	ck_assert_uint_le(n, 8);
	memset(p, 0, sizeof *p);
	p->ndone = p->npending = 12345;
	rc = procq_wait(hs, n, mode, timeout, p->done, &p->ndone, p->pending,
	    &p->npending);
	p->elapsed = now() - t0;
	ck_assert_msg(rc == 0, "procq_wait: %s", procq_strerror(rc));
	ck_assert_uint_eq(p->ndone + p->npending, n);
}

START_TEST(test_wait_all)
{
	procq_queue *q = collect_queue(3);
	procq_handle *hs[3];
	struct part p;
	size_t i;

	hs[0] = submit_ok(q, "sleep_ret", NULL, "di", 0.15, 0);
	hs[1] = submit_ok(q, "sleep_ret", NULL, "di", 0.02, 1);
	hs[2] = submit_ok(q, "sleep_ret", NULL, "di", 0.08, 2);
	ck_assert_int_eq(procq_start(q), 0);
	wait_part(hs, 3, PROCQ_ALL_COMPLETED, 10, &p);
	ck_assert_uint_eq(p.ndone, 3);
	ck_assert_uint_eq(p.npending, 0);
	for (i = 0; i < 3; i++) {
		/* input order */
		ck_assert_ptr_eq(p.done[i], hs[i]);
		ck_assert(procq_handle_done(hs[i]));
		ck_assert_int_eq(int_value(hs[i]), (int)i);
	}
	procq_free(q);
}
END_TEST

START_TEST(test_wait_first_completed)
{
	procq_queue *q = collect_queue(3);
	procq_handle *hs[3];
	struct gate ga, gc;
	struct part p;

	gate_create(&ga);
	gate_create(&gc);
	ck_assert_int_eq(procq_start(q), 0);
	hs[0] = submit_ok(q, "gate", NULL, "s", ga.path);
	hs[2] = submit_ok(q, "gate", NULL, "s", gc.path);
	ck_assert(gate_enter(&ga, 10));
	ck_assert(gate_enter(&gc, 10));
	hs[1] = submit_ok(q, "sleep_ret", NULL, "di", 0.1, 1);
	wait_part(hs, 3, PROCQ_FIRST_COMPLETED, 10, &p);
	ck_assert_double_lt(p.elapsed, 5);
	ck_assert_uint_eq(p.ndone, 1);
	ck_assert_ptr_eq(p.done[0], hs[1]);
	ck_assert_uint_eq(p.npending, 2);
	ck_assert_ptr_eq(p.pending[0], hs[0]);
	ck_assert_ptr_eq(p.pending[1], hs[2]);
	ck_assert(!procq_handle_done(hs[0]));
	ck_assert(!procq_handle_done(hs[2]));
	gate_release(&ga);
	gate_release(&gc);
	procq_free(q);
	gate_destroy(&ga);
	gate_destroy(&gc);
}
END_TEST

/* A failure ends the wait while slower tasks that would succeed run on. */
START_TEST(test_wait_first_exception)
{
	procq_queue *q = collect_queue(3);
	procq_handle *hs[3];
	struct gate ga, gc;
	struct part p;

	gate_create(&ga);
	gate_create(&gc);
	ck_assert_int_eq(procq_start(q), 0);
	hs[0] = submit_ok(q, "gate", NULL, "s", ga.path);
	hs[2] = submit_ok(q, "gate", NULL, "s", gc.path);
	ck_assert(gate_enter(&ga, 10));
	ck_assert(gate_enter(&gc, 10));
	hs[1] = submit_ok(q, "fail", NULL, "i", 4);
	wait_part(hs, 3, PROCQ_FIRST_EXCEPTION, 10, &p);
	ck_assert_double_lt(p.elapsed, 5);
	ck_assert_uint_eq(p.ndone, 1);
	ck_assert_ptr_eq(p.done[0], hs[1]);
	ck_assert_int_eq(procq_handle_status(hs[1]), PROCQ_FAILED);
	ck_assert_ptr_eq(p.pending[0], hs[0]);
	ck_assert_ptr_eq(p.pending[1], hs[2]);
	gate_release(&ga);
	gate_release(&gc);
	procq_free(q);
	gate_destroy(&ga);
	gate_destroy(&gc);
}
END_TEST

/* A success or a cancellation is no exception: the wait goes on. */
START_TEST(test_wait_first_exception_not_early)
{
	procq_queue *q = collect_queue(2);
	procq_handle *hs[3];
	struct gate ga;
	struct part p;

	gate_create(&ga);
	ck_assert_int_eq(procq_start(q), 0);
	hs[0] = submit_ok(q, "gate", NULL, "s", ga.path);
	ck_assert(gate_enter(&ga, 10));
	hs[1] = submit_ok(q, "ident", NULL, "i", 1);
	hs[2] = submit_ok(q, "sleep_ret", &(procq_opts){ .delay = 30 }, "di",
	    0.0, 2);
	ck_assert_int_eq(procq_handle_cancel(hs[2]), 0);
	wait_done(hs[1], 10);
	wait_part(hs, 3, PROCQ_FIRST_EXCEPTION, 0.3, &p);
	ck_assert_double_ge(p.elapsed, 0.3 - TIMER_SLACK);
	ck_assert_uint_eq(p.ndone, 2);
	ck_assert_ptr_eq(p.done[0], hs[1]);
	ck_assert_ptr_eq(p.done[1], hs[2]);
	ck_assert_uint_eq(p.npending, 1);
	ck_assert_ptr_eq(p.pending[0], hs[0]);
	gate_release(&ga);
	procq_free(q);
	gate_destroy(&ga);
}
END_TEST

/* With no failure FIRST_EXCEPTION is ALL_COMPLETED. */
START_TEST(test_wait_first_exception_all)
{
	procq_queue *q = collect_queue(3);
	procq_handle *hs[3];
	struct part p;
	size_t i;

	ck_assert_int_eq(procq_start(q), 0);
	hs[0] = submit_ok(q, "sleep_ret", NULL, "di", 0.2, 0);
	hs[1] = submit_ok(q, "ident", NULL, "i", 1);
	hs[2] = submit_ok(q, "sleep_ret", NULL, "di", 0.1, 2);
	wait_part(hs, 3, PROCQ_FIRST_EXCEPTION, 10, &p);
	ck_assert_uint_eq(p.ndone, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_ptr_eq(p.done[i], hs[i]);
		ck_assert_int_eq(procq_handle_status(hs[i]), PROCQ_SUCCEEDED);
	}
	procq_free(q);
}
END_TEST

/* On timeout: 0, and the partition tells what finished. */
START_TEST(test_wait_timeout_partition)
{
	procq_queue *q = collect_queue(2);
	procq_handle *hs[2];
	struct gate ga;
	struct part p;
	size_t nd = 99, np = 99;
	double t0;

	gate_create(&ga);
	ck_assert_int_eq(procq_start(q), 0);
	hs[0] = submit_ok(q, "gate", NULL, "s", ga.path);
	hs[1] = submit_ok(q, "ident", NULL, "i", 1);
	ck_assert(gate_enter(&ga, 10));
	wait_done(hs[1], 10);
	wait_part(hs, 2, PROCQ_ALL_COMPLETED, 0.2, &p);
	ck_assert_double_ge(p.elapsed, 0.2 - TIMER_SLACK);
	ck_assert_double_lt(p.elapsed, 5);
	ck_assert_uint_eq(p.ndone, 1);
	ck_assert_ptr_eq(p.done[0], hs[1]);
	ck_assert_uint_eq(p.npending, 1);
	ck_assert_ptr_eq(p.pending[0], hs[0]);
	/* counts only; timeout 0 polls */
	t0 = now();
	ck_assert_int_eq(procq_wait(hs, 2, PROCQ_ALL_COMPLETED, 0, NULL, &nd,
	    NULL, &np), 0);
	ck_assert_double_lt(now() - t0, 1);
	ck_assert_uint_eq(nd, 1);
	ck_assert_uint_eq(np, 1);
	gate_release(&ga);
	wait_part(hs, 2, PROCQ_ALL_COMPLETED, PROCQ_FOREVER, &p);
	ck_assert_uint_eq(p.ndone, 2);
	procq_free(q);
	gate_destroy(&ga);
}
END_TEST

START_TEST(test_wait_empty_invalid)
{
	procq_queue *q = collect_queue(1);
	procq_handle *hs[2];
	size_t nd = 99, np = 99;
	double t0 = now();

	ck_assert_int_eq(procq_wait(NULL, 0, PROCQ_ALL_COMPLETED,
	    PROCQ_FOREVER, NULL, &nd, NULL, &np), 0);
	ck_assert_uint_eq(nd, 0);
	ck_assert_uint_eq(np, 0);
	ck_assert_double_lt(now() - t0, 1);
	/* no handle can complete: still at once (a bounded timeout so that
	 * a wait that does not return fails the test instead of hanging) */
	t0 = now();
	nd = np = 99;
	ck_assert_int_eq(procq_wait(NULL, 0, PROCQ_FIRST_COMPLETED, 2, NULL,
	    &nd, NULL, &np), 0);
	ck_assert_uint_eq(nd, 0);
	ck_assert_uint_eq(np, 0);
	ck_assert_int_eq(procq_wait(NULL, 0, PROCQ_FIRST_EXCEPTION, 2, NULL,
	    NULL, NULL, NULL), 0);
	ck_assert_double_lt(now() - t0, 1);

	hs[0] = submit_ok(q, "ident", NULL, "i", 1);
	hs[1] = NULL;
	ck_assert_int_eq(procq_wait(NULL, 1, PROCQ_ALL_COMPLETED, 1, NULL,
	    &nd, NULL, &np), PROCQ_EINVAL);
	ck_assert_int_eq(procq_wait(hs, 2, PROCQ_ALL_COMPLETED, 1, NULL, &nd,
	    NULL, &np), PROCQ_EINVAL);
	ck_assert_int_eq(procq_wait(hs, 1, PROCQ_ALL_COMPLETED, NAN, NULL, &nd,
	    NULL, &np), PROCQ_EINVAL);
	procq_free(q);
}
END_TEST

/*
 * Handles of two queues in one wait.  q1's worker is up and its loop idle
 * before q2 forks its fork server: GCC 12's AddressSanitizer does not
 * lock its allocator around fork(), so a server forked while q1's loop
 * thread allocated its channel buffers could inherit the allocator's lock
 * held, and q2's worker would block at its first large allocation.
 */
START_TEST(test_wait_two_queues)
{
	procq_queue *q1 = collect_queue(1), *q2 = collect_queue(1);
	procq_handle *hs[2];
	struct gate ga;
	struct part p;

	gate_create(&ga);
	ck_assert_int_eq(procq_start(q1), 0);
	hs[0] = submit_ok(q1, "ident", NULL, "i", 0);
	wait_part(hs, 1, PROCQ_ALL_COMPLETED, 10, &p);
	ck_assert_int_eq(int_value(hs[0]), 0);
	procq_handle_release(hs[0]);
	ck_assert_int_eq(procq_start(q2), 0);
	hs[0] = submit_ok(q1, "gate_ret", NULL, "si", ga.path, 1);
	ck_assert(gate_enter(&ga, 10));
	hs[1] = submit_ok(q2, "sleep_ret", NULL, "di", 0.05, 2);
	wait_part(hs, 2, PROCQ_FIRST_COMPLETED, 10, &p);
	ck_assert_uint_eq(p.ndone, 1);
	ck_assert_ptr_eq(p.done[0], hs[1]);
	ck_assert_ptr_eq(p.pending[0], hs[0]);
	gate_release(&ga);
	wait_part(hs, 2, PROCQ_ALL_COMPLETED, 10, &p);
	ck_assert_uint_eq(p.ndone, 2);
	ck_assert_int_eq(int_value(hs[0]), 1);
	ck_assert_int_eq(int_value(hs[1]), 2);
	procq_free(q1);
	procq_free(q2);
	gate_destroy(&ga);
}
END_TEST

/* Futures completed by another thread while the caller waits. */
START_TEST(test_wait_futures_thread)
{
	procq_queue *q = collect_queue(1);
	procq_handle *fs[2];
	struct setter s1, s2;
	atomic_int go1 = 0, go2 = 0;
	struct part p;
	int err = 0;

	fs[0] = procq_future_create(q, "f1", &err);
	fs[1] = procq_future_create(q, "f2", &err);
	ck_assert_ptr_nonnull(fs[0]);
	ck_assert_ptr_nonnull(fs[1]);
	setter_start(&s1, fs[0], 11, false, &go1);
	setter_start(&s2, fs[1], 0, true, &go2);
	atomic_store(&go1, 1);
	wait_part(fs, 2, PROCQ_FIRST_COMPLETED, 10, &p);
	ck_assert_double_lt(p.elapsed, 5);
	ck_assert_uint_eq(p.ndone, 1);
	ck_assert_ptr_eq(p.done[0], fs[0]);
	ck_assert_int_eq(setter_join(&s1), 0);
	atomic_store(&go2, 1);
	wait_part(fs, 2, PROCQ_ALL_COMPLETED, 10, &p);
	ck_assert_double_lt(p.elapsed, 5);
	ck_assert_uint_eq(p.ndone, 2);
	ck_assert_int_eq(setter_join(&s2), 0);
	ck_assert_int_eq(int_value(fs[0]), 11);
	ck_assert_int_eq(procq_handle_status(fs[1]), PROCQ_FAILED);
	procq_free(q);
}
END_TEST

/* A future and a task in one FIRST_EXCEPTION wait: the future's error ends
 * it. */
START_TEST(test_wait_future_exception)
{
	procq_queue *q = collect_queue(1);
	procq_handle *hs[2];
	struct gate ga;
	struct setter st;
	atomic_int go = 0;
	struct part p;
	int err = 0;

	gate_create(&ga);
	ck_assert_int_eq(procq_start(q), 0);
	hs[0] = submit_ok(q, "gate", NULL, "s", ga.path);
	hs[1] = procq_future_create(q, NULL, &err);
	ck_assert(gate_enter(&ga, 10));
	setter_start(&st, hs[1], 0, true, &go);
	atomic_store(&go, 1);
	wait_part(hs, 2, PROCQ_FIRST_EXCEPTION, 10, &p);
	ck_assert_int_eq(setter_join(&st), 0);
	ck_assert_uint_eq(p.ndone, 1);
	ck_assert_ptr_eq(p.done[0], hs[1]);
	ck_assert(!procq_handle_done(hs[0]));
	gate_release(&ga);
	procq_free(q);
	gate_destroy(&ga);
}
END_TEST

/* From a hook a wait that would block is refused; a poll is not. */
struct hook_wait {
	procq_handle	*held;
	procq_group	*g;		/* holds held */
	procq_iter	*it;		/* over held */
	atomic_int	 fired;
	int		 rc_block, rc_poll, rc_next, rc_iter, rc_gwait;
	size_t		 ndone, npending;
};

static void
hook_wait_complete(procq_handle *h, const procq_result *r, void *arg)
{
	struct hook_wait *hw = arg;
	procq_handle *hs[1];

	(void)r;
	/* any completion but the held task's own */
	if (hw->held == NULL || h == hw->held)
		return;
	hs[0] = hw->held;
	hw->rc_block = procq_wait(hs, 1, PROCQ_ALL_COMPLETED, 1, NULL, NULL,
	    NULL, NULL);
	hw->rc_poll = procq_wait(hs, 1, PROCQ_ALL_COMPLETED, 0, NULL,
	    &hw->ndone, NULL, &hw->npending);
	if (procq_group_next(hw->g, 1, &hw->rc_next) != NULL)
		hw->rc_next = 12345;
	hw->rc_gwait = procq_group_wait(hw->g, 1, NULL);
	if (procq_iter_next(hw->it, &hw->rc_iter) != NULL)
		hw->rc_iter = 12345;
	atomic_store(&hw->fired, 1);
}

START_TEST(test_wait_hook_edeadlk)
{
	struct hook_wait hw = { 0 };
	procq_queue *q = collect_queue_config(&(procq_config){ .workers = 2,
	    .on_complete = hook_wait_complete, .hook_arg = &hw });
	procq_handle *held;
	struct gate ga;
	int err = 0;

	gate_create(&ga);
	ck_assert_int_eq(procq_start(q), 0);
	hw.g = procq_group_create(q, NULL, &err);
	ck_assert_ptr_nonnull(hw.g);
	held = submit_ok(q, "gate", NULL, "s", ga.path);
	ck_assert_int_eq(procq_group_add(hw.g, held), 0);
	hw.it = procq_as_completed(&held, 1, 20, &err);
	ck_assert_ptr_nonnull(hw.it);
	hw.held = held;
	ck_assert(gate_enter(&ga, 10));
	submit_ok(q, "ident", NULL, "i", 1);
	ck_assert(wait_until(flag_is_set, &hw.fired, 10));
	ck_assert_int_eq(hw.rc_block, PROCQ_EDEADLK);
	ck_assert_int_eq(hw.rc_poll, 0);
	ck_assert_uint_eq(hw.ndone, 0);
	ck_assert_uint_eq(hw.npending, 1);
	ck_assert_int_eq(hw.rc_next, PROCQ_EDEADLK);
	ck_assert_int_eq(hw.rc_gwait, PROCQ_EDEADLK);
	ck_assert_int_eq(hw.rc_iter, PROCQ_EDEADLK);
	gate_release(&ga);
	ck_assert_ptr_eq(procq_iter_next(hw.it, &err), held);
	procq_iter_free(hw.it, false);
	procq_group_free(hw.g);
	procq_free(q);
	gate_destroy(&ga);
}
END_TEST

/* Already final ones first (input order), then in completion order. */
START_TEST(test_as_completed_order)
{
	procq_queue *q = collect_queue(3);
	procq_handle *hs[5], *d1, *d2, *h;
	struct gate gt[3];
	procq_iter *it;
	size_t i;
	int err = 12345;
	static const int release[3] = { 2, 0, 1 };

	ck_assert_int_eq(procq_start(q), 0);
	d1 = submit_ok(q, "ident", NULL, "i", 10);
	d2 = submit_ok(q, "ident", NULL, "i", 20);
	wait_done(d1, 10);
	wait_done(d2, 10);
	for (i = 0; i < 3; i++)
		gate_create(&gt[i]);
	hs[0] = submit_ok(q, "gate_ret", NULL, "si", gt[0].path, 0);
	hs[1] = d2;
	hs[2] = submit_ok(q, "gate_ret", NULL, "si", gt[1].path, 1);
	hs[3] = d1;
	hs[4] = submit_ok(q, "gate_ret", NULL, "si", gt[2].path, 2);
	for (i = 0; i < 3; i++)
		ck_assert(gate_enter(&gt[i], 10));
	it = procq_as_completed(hs, 5, PROCQ_FOREVER, &err);
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(err, 0);
	ck_assert_ptr_eq(procq_iter_next(it, &err), d2);
	ck_assert_int_eq(err, 0);
	ck_assert_ptr_eq(procq_iter_next(it, &err), d1);
	for (i = 0; i < 3; i++) {
		gate_release(&gt[release[i]]);
		err = 12345;
		h = procq_iter_next(it, &err);
		ck_assert_int_eq(err, 0);
		ck_assert_ptr_nonnull(h);
		ck_assert(procq_handle_done(h));
		ck_assert_int_eq(int_value(h), release[i]);
	}
	err = 12345;
	ck_assert_ptr_null(procq_iter_next(it, &err));
	ck_assert_int_eq(err, 0);
	procq_iter_free(it, false);
	procq_free(q);
	for (i = 0; i < 3; i++)
		gate_destroy(&gt[i]);
}
END_TEST

START_TEST(test_as_completed_timeout)
{
	procq_queue *q = collect_queue(2);
	procq_handle *hs[2];
	struct gate ga;
	procq_iter *it;
	double t0, dt;
	int err = 0;

	gate_create(&ga);
	ck_assert_int_eq(procq_start(q), 0);
	hs[0] = submit_ok(q, "gate", NULL, "s", ga.path);
	hs[1] = submit_ok(q, "ident", NULL, "i", 1);
	ck_assert(gate_enter(&ga, 10));
	wait_done(hs[1], 10);
	t0 = now();
	it = procq_as_completed(hs, 2, 0.3, &err);
	ck_assert_ptr_nonnull(it);
	ck_assert_ptr_eq(procq_iter_next(it, &err), hs[1]);
	ck_assert_int_eq(err, 0);
	ck_assert_ptr_null(procq_iter_next(it, &err));
	dt = now() - t0;
	ck_assert_int_eq(err, PROCQ_ETIMEDOUT);
	ck_assert_double_ge(dt, 0.3 - TIMER_SLACK);
	ck_assert_double_lt(dt, 5);
	/* the timeout is overall: the next call does not wait again */
	t0 = now();
	err = 0;
	ck_assert_ptr_null(procq_iter_next(it, &err));
	ck_assert_int_eq(err, PROCQ_ETIMEDOUT);
	ck_assert_double_lt(now() - t0, 0.25);
	procq_iter_free(it, false);
	/* not cancelled */
	ck_assert(!procq_handle_done(hs[0]));
	gate_release(&ga);
	wait_done(hs[0], 10);
	ck_assert_int_eq(procq_handle_status(hs[0]), PROCQ_SUCCEEDED);
	procq_free(q);
	gate_destroy(&ga);
}
END_TEST

/* Abandoning the iteration with cancel_unfinished cancels the rest. */
START_TEST(test_as_completed_abandon)
{
	procq_queue *q = collect_queue(2);
	procq_handle *hs[4];
	struct gate ga;
	procq_iter *it;
	int err = 0;
	size_t i;

	gate_create(&ga);
	ck_assert_int_eq(procq_start(q), 0);
	hs[0] = submit_ok(q, "gate", NULL, "s", ga.path);
	ck_assert(gate_enter(&ga, 10));
	hs[1] = submit_ok(q, "sleep_ret", NULL, "di", 0.05, 1);
	hs[2] = submit_ok(q, "sleep_ret", NULL, "di", 30.0, 2);
	hs[3] = submit_ok(q, "sleep_ret", NULL, "di", 30.0, 3);
	it = procq_as_completed(hs, 4, 20, &err);
	ck_assert_ptr_nonnull(it);
	ck_assert_ptr_eq(procq_iter_next(it, &err), hs[1]);
	ck_assert(wait_status(hs[2], PROCQ_RUNNING, 10));
	procq_iter_free(it, true);
	for (i = 0; i < 4; i++)
		wait_done(hs[i], 10);
	ck_assert_int_eq(procq_handle_status(hs[0]), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(hs[1]), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_status(hs[2]), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(hs[3]), PROCQ_CANCELLED);
	procq_free(q);
	gate_destroy(&ga);
}
END_TEST

/* A handle cancelled during the iteration comes out as it becomes final. */
START_TEST(test_as_completed_cancel_during)
{
	procq_queue *q = collect_queue(2);
	procq_handle *hs[2];
	struct gate ga, gb;
	procq_iter *it;
	int err = 0;

	gate_create(&ga);
	gate_create(&gb);
	ck_assert_int_eq(procq_start(q), 0);
	hs[0] = submit_ok(q, "gate", NULL, "s", ga.path);
	hs[1] = submit_ok(q, "gate", NULL, "s", gb.path);
	ck_assert(gate_enter(&ga, 10));
	ck_assert(gate_enter(&gb, 10));
	it = procq_as_completed(hs, 2, 20, &err);
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(procq_handle_cancel(hs[1]), 0);
	ck_assert_ptr_eq(procq_iter_next(it, &err), hs[1]);
	ck_assert_int_eq(procq_handle_status(hs[1]), PROCQ_CANCELLED);
	gate_release(&ga);
	ck_assert_ptr_eq(procq_iter_next(it, &err), hs[0]);
	ck_assert_int_eq(procq_handle_status(hs[0]), PROCQ_SUCCEEDED);
	ck_assert_ptr_null(procq_iter_next(it, &err));
	ck_assert_int_eq(err, 0);
	procq_iter_free(it, true);
	procq_free(q);
	gate_destroy(&ga);
	gate_destroy(&gb);
}
END_TEST

START_TEST(test_as_completed_futures)
{
	procq_queue *q = collect_queue(1);
	procq_handle *fs[2];
	struct setter s0, s1;
	atomic_int go0 = 0, go1 = 0;
	procq_iter *it;
	int err = 0;

	fs[0] = procq_future_create(q, NULL, &err);
	fs[1] = procq_future_create(q, NULL, &err);
	it = procq_as_completed(fs, 2, 20, &err);
	ck_assert_ptr_nonnull(it);
	setter_start(&s1, fs[1], 1, false, &go1);
	setter_start(&s0, fs[0], 0, false, &go0);
	atomic_store(&go1, 1);
	ck_assert_ptr_eq(procq_iter_next(it, &err), fs[1]);
	atomic_store(&go0, 1);
	ck_assert_ptr_eq(procq_iter_next(it, &err), fs[0]);
	ck_assert_ptr_null(procq_iter_next(it, &err));
	ck_assert_int_eq(err, 0);
	ck_assert_int_eq(setter_join(&s0), 0);
	ck_assert_int_eq(setter_join(&s1), 0);
	procq_iter_free(it, false);
	procq_free(q);
}
END_TEST

START_TEST(test_as_completed_empty_invalid)
{
	procq_iter *it;
	int err = 12345;

	it = procq_as_completed(NULL, 0, PROCQ_FOREVER, &err);
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(err, 0);
	err = 12345;
	ck_assert_ptr_null(procq_iter_next(it, &err));
	ck_assert_int_eq(err, 0);
	procq_iter_free(it, true);
	err = 0;
	ck_assert_ptr_null(procq_as_completed(NULL, 2, 1, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
}
END_TEST

/* Done callbacks. */
#define MAX_CALLS 16
struct calls {
	pthread_mutex_t	 lock;
	int		 order[MAX_CALLS];
	int		 n;
	bool		 was_done[MAX_CALLS];
	procq_status	 status[MAX_CALLS];
	bool		 on_caller[MAX_CALLS];
	bool		 stats_ok[MAX_CALLS];
	pthread_t	 caller;
	procq_queue	*q;		/* set: the callback calls into it */
};

struct call_arg {
	struct calls	*c;
	int		 tag;
};

static void
calls_init(struct calls *c, procq_queue *q)
{
	memset(c, 0, sizeof *c);
	pthread_mutex_init(&c->lock, NULL);
	c->caller = pthread_self();
	c->q = q;
}

static int
calls_count(struct calls *c)
{
	int n;

	pthread_mutex_lock(&c->lock);
	n = c->n;
	pthread_mutex_unlock(&c->lock);
	return n;
}

struct calls_at_least {
	struct calls	*c;
	int		 n;
};

static bool
calls_reached(void *p)
{
	struct calls_at_least *a = p;

	return calls_count(a->c) >= a->n;
}

static bool
wait_calls(struct calls *c, int n, double timeout)
{
	struct calls_at_least a = { c, n };

	return wait_until(calls_reached, &a, timeout);
}

static void
on_done_cb(procq_handle *h, void *arg)
{
	struct call_arg *ca = arg;
	struct calls *c = ca->c;
	procq_status st = procq_handle_status(h);
	bool done = procq_handle_done(h) && procq_handle_result(h) != NULL;
	bool stats_ok = true;
	procq_stats s;

	if (c->q != NULL)
		stats_ok = procq_stats_get(c->q, &s) == 0 &&
		    procq_active(c->q) < 1000;
	pthread_mutex_lock(&c->lock);
	if (c->n < MAX_CALLS) {
		c->order[c->n] = ca->tag;
		c->was_done[c->n] = done;
		c->status[c->n] = st;
		c->on_caller[c->n] = pthread_equal(pthread_self(), c->caller);
		c->stats_ok[c->n] = stats_ok;
	}
	c->n++;
	pthread_mutex_unlock(&c->lock);
}

/* Once, after completion, on the supervisor thread, not under the lock:
 * the callback reads the handle's status and the queue's stats. */
START_TEST(test_on_done_once)
{
	procq_queue *q = collect_queue(2);
	struct calls c;
	struct call_arg ca;
	struct gate ga;
	procq_handle *h, *probe;

	calls_init(&c, q);
	ca = (struct call_arg){ &c, 1 };
	gate_create(&ga);
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "gate", NULL, "s", ga.path);
	ck_assert(gate_enter(&ga, 10));
	ck_assert_int_eq(procq_handle_on_done(h, on_done_cb, &ca), 0);
	ck_assert_int_eq(calls_count(&c), 0);
	gate_release(&ga);
	ck_assert(wait_calls(&c, 1, 10));
	ck_assert(procq_handle_done(h));
	/* more completions: no second call */
	probe = submit_ok(q, "ident", NULL, "i", 1);
	wait_done(probe, 10);
	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	ck_assert_int_eq(calls_count(&c), 1);
	ck_assert(c.was_done[0]);
	ck_assert_int_eq(c.status[0], PROCQ_SUCCEEDED);
	ck_assert(!c.on_caller[0]);
	ck_assert(c.stats_ok[0]);
	procq_free(q);
	ck_assert_int_eq(calls_count(&c), 1);
	gate_destroy(&ga);
	pthread_mutex_destroy(&c.lock);
}
END_TEST

/* Already final: the callback runs at once, in the caller's thread. */
START_TEST(test_on_done_already)
{
	procq_queue *q = collect_queue(1);
	struct calls c;
	struct call_arg ca[2];
	procq_handle *h;

	calls_init(&c, q);
	ca[0] = (struct call_arg){ &c, 1 };
	ca[1] = (struct call_arg){ &c, 2 };
	h = submit_ok(q, "fail", NULL, "i", 1);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_on_done(h, on_done_cb, &ca[0]), 0);
	ck_assert_int_eq(calls_count(&c), 1);
	ck_assert_int_eq(procq_handle_on_done(h, on_done_cb, &ca[1]), 0);
	ck_assert_int_eq(calls_count(&c), 2);
	ck_assert_int_eq(c.order[0], 1);
	ck_assert_int_eq(c.order[1], 2);
	ck_assert(c.on_caller[0]);
	ck_assert(c.was_done[0]);
	ck_assert_int_eq(c.status[0], PROCQ_FAILED);
	ck_assert(c.stats_ok[0]);
	procq_free(q);
	pthread_mutex_destroy(&c.lock);
}
END_TEST

/* Several callbacks run in the order they were registered. */
START_TEST(test_on_done_order)
{
	procq_queue *q = collect_queue(1);
	struct calls c;
	struct call_arg ca[4];
	struct gate ga;
	procq_handle *h;
	int i;

	calls_init(&c, q);
	gate_create(&ga);
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "gate", NULL, "s", ga.path);
	ck_assert(gate_enter(&ga, 10));
	for (i = 0; i < 4; i++) {
		ca[i] = (struct call_arg){ &c, 10 + i };
		ck_assert_int_eq(procq_handle_on_done(h, on_done_cb, &ca[i]),
		    0);
	}
	ck_assert_int_eq(procq_handle_cancel(h), 0);
	ck_assert(wait_calls(&c, 4, 10));
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(c.order[i], 10 + i);
		ck_assert_int_eq(c.status[i], PROCQ_CANCELLED);
		ck_assert(c.stats_ok[i]);
	}
	procq_free(q);
	ck_assert_int_eq(calls_count(&c), 4);
	gate_destroy(&ga);
	pthread_mutex_destroy(&c.lock);
}
END_TEST

/* A future's callback runs when another thread completes it. */
START_TEST(test_on_done_future)
{
	procq_queue *q = collect_queue(1);
	struct calls c;
	struct call_arg ca;
	struct setter st;
	procq_handle *f;
	int err = 0;

	calls_init(&c, q);
	ca = (struct call_arg){ &c, 5 };
	f = procq_future_create(q, NULL, &err);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(procq_handle_on_done(f, on_done_cb, &ca), 0);
	ck_assert_int_eq(calls_count(&c), 0);
	setter_start(&st, f, 3, false, NULL);
	ck_assert_int_eq(setter_join(&st), 0);
	ck_assert(wait_calls(&c, 1, 10));
	ck_assert_int_eq(c.status[0], PROCQ_SUCCEEDED);
	ck_assert(c.was_done[0]);
	ck_assert_int_eq(procq_future_set_valuef(f, "i", 4), PROCQ_EDONE);
	procq_free(q);
	ck_assert_int_eq(calls_count(&c), 1);
	pthread_mutex_destroy(&c.lock);
}
END_TEST

/* Futures. */
START_TEST(test_future_value)
{
	procq_queue *q = collect_queue(1);
	procq_handle *f, *f2, *f3, *t;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char *str = NULL;
	int err = 12345, i = 0;

	f = procq_future_create(q, NULL, &err);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(err, 0);
	ck_assert(procq_handle_is_future(f));
	ck_assert_str_eq(procq_handle_name(f), "future");
	ck_assert_uint_eq(strlen(procq_handle_id(f)), 16);
	ck_assert_int_eq(procq_handle_status(f), PROCQ_PENDING);
	ck_assert(!procq_handle_done(f));
	ck_assert_int_eq(procq_handle_wait(f, 0), PROCQ_ETIMEDOUT);
	ck_assert_int_eq(procq_handle_value(f, "i", &i), PROCQ_ENOTDONE);

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_str_with_body(&pk, "hello", 5);
	ck_assert_int_eq(procq_future_set_value(f, sb.data, sb.size), 0);
	msgpack_sbuffer_destroy(&sb);
	wait_done(f, 0);
	ck_assert_int_eq(procq_handle_status(f), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_value(f, "s", &str), 0);
	ck_assert_str_eq(str, "hello");
	free(str);
	/* a second completion is refused and changes nothing */
	ck_assert_int_eq(procq_future_set_valuef(f, "i", 1), PROCQ_EDONE);
	ck_assert_int_eq(procq_future_set_error(f, "E", "e"), PROCQ_EDONE);
	ck_assert_int_eq(procq_future_set_value(f, NULL, 0), PROCQ_EDONE);
	ck_assert_int_eq(procq_handle_status(f), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_cancel(f), PROCQ_EDONE);

	/* nil; several conversions make an array */
	f2 = procq_future_create(q, "f2", &err);
	ck_assert_str_eq(procq_handle_name(f2), "f2");
	ck_assert_int_eq(procq_future_set_value(f2, NULL, 0), 0);
	ck_assert_int_eq(procq_handle_value(f2, "n"), 0);
	f3 = procq_future_create(q, NULL, &err);
	ck_assert_int_eq(procq_future_set_valuef(f3, "si", "x", 9), 0);
	ck_assert_int_eq(procq_handle_value(f3, "si", &str, &i), 0);
	ck_assert_str_eq(str, "x");
	ck_assert_int_eq(i, 9);
	free(str);

	t = submit_ok(q, "ident", NULL, "i", 1);
	ck_assert(!procq_handle_is_future(t));
	ck_assert_int_eq(procq_future_set_valuef(t, "i", 2), PROCQ_EINVAL);
	ck_assert_int_eq(procq_future_set_value(t, NULL, 0), PROCQ_EINVAL);
	ck_assert_int_eq(procq_future_set_error(t, "E", "e"), PROCQ_EINVAL);
	ck_assert_int_eq(procq_handle_status(t), PROCQ_PENDING);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(int_value(t), 1);
	procq_free(q);
}
END_TEST

START_TEST(test_future_error)
{
	procq_queue *q = collect_queue(1);
	procq_handle *f;
	const procq_result *r;
	int err = 0;

	f = procq_future_create(q, "ferr", &err);
	ck_assert_int_eq(procq_future_set_error(f, "LookupError",
	    "no such key"), 0);
	ck_assert_int_eq(procq_handle_status(f), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(f), PROCQ_ERR_TASK);
	ck_assert_str_eq(procq_handle_error_type(f), "LookupError");
	ck_assert_str_eq(procq_handle_error_message(f), "no such key");
	r = procq_handle_result(f);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(procq_result_name(r), "ferr");
	ck_assert_str_eq(procq_result_id(r), procq_handle_id(f));
	ck_assert_int_eq(procq_future_set_valuef(f, "i", 1), PROCQ_EDONE);
	procq_free(q);
}
END_TEST

START_TEST(test_future_cancel)
{
	procq_queue *q = collect_queue(1);
	procq_handle *f;
	int err = 0;

	f = procq_future_create(q, NULL, &err);
	ck_assert_int_eq(procq_handle_cancel(f), 0);
	wait_done(f, 10);
	ck_assert_int_eq(procq_handle_status(f), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_error_kind(f), PROCQ_ERR_CANCELLED);
	ck_assert_int_eq(procq_future_set_valuef(f, "i", 1), PROCQ_EDONE);
	ck_assert_int_eq(procq_handle_cancel(f), PROCQ_EDONE);
	procq_free(q);
}
END_TEST

/* procq_handle_wait on a future another thread completes. */
START_TEST(test_future_wait_thread)
{
	procq_queue *q = collect_queue(1);
	struct setter st;
	atomic_int go = 0;
	procq_handle *f;
	int err = 0;

	f = procq_future_create(q, NULL, &err);
	setter_start(&st, f, 21, false, &go);
	atomic_store(&go, 1);
	ck_assert_int_eq(procq_handle_wait(f, 10), 0);
	ck_assert_int_eq(setter_join(&st), 0);
	ck_assert_int_eq(int_value(f), 21);
	procq_free(q);
}
END_TEST

START_TEST(test_future_bad_format)
{
	procq_queue *q = collect_queue(1);
	procq_handle *f;
	int err = 0;

	f = procq_future_create(q, NULL, &err);
	ck_assert_int_eq(procq_future_set_valuef(f, "?", 1), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_handle_status(f), PROCQ_PENDING);
	ck_assert_int_eq(procq_future_set_valuef(f, "i", 1), 0);
	procq_free(q);
}
END_TEST

struct run_arg {
	pthread_t	 thread;
	procq_queue	*q;
	procq_summary	*s;
	int		 rc;
};

static void *
run_main(void *p)
{
	struct run_arg *ra = p;

	ra->rc = procq_run(ra->q, NULL, &ra->s);
	return NULL;
}

/* procq_run and procq_join do not wait for futures; run summaries and
 * procq_results leave them out. */
START_TEST(test_future_not_counted)
{
	procq_queue *q = collect_queue(1);
	procq_handle *f, *t;
	struct run_arg ra = { 0 };
	procq_summary *all, *s = NULL;
	int err = 0, joined;

	f = procq_future_create(q, NULL, &err);
	t = submit_ok(q, "ident", NULL, "i", 1);
	ra.q = q;
	ck_assert_int_eq(pthread_create(&ra.thread, NULL, run_main, &ra), 0);
	joined = join_within(ra.thread, 10);
	if (joined != 0) {
		/* let the run end so that the failure is reported */
		procq_future_set_value(f, NULL, 0);
		ck_assert_int_eq(join_within(ra.thread, 10), 0);
	}
	ck_assert_msg(joined == 0, "procq_run waited for a future");
	ck_assert_int_eq(ra.rc, 0);
	ck_assert_uint_eq(procq_summary_count(ra.s), 1);
	ck_assert_ptr_nonnull(procq_summary_by_id(ra.s, procq_handle_id(t)));
	procq_summary_free(ra.s);
	ck_assert(!procq_handle_done(f));
	ck_assert_int_eq(procq_join(q, 5), 0);
	ck_assert_int_eq(procq_future_set_valuef(f, "i", 5), 0);
	all = procq_results(q);
	ck_assert_uint_eq(procq_summary_count(all), 1);
	ck_assert_ptr_null(procq_summary_by_id(all, procq_handle_id(f)));
	procq_summary_free(all);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_count(s), 0);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

/* procq_free cancels an unfinished future: its callback sees it. */
START_TEST(test_future_free_cancels)
{
	procq_queue *q = collect_queue(1);
	struct calls c;
	struct call_arg ca;
	procq_handle *f;
	int err = 0;

	calls_init(&c, NULL);
	ca = (struct call_arg){ &c, 1 };
	f = procq_future_create(q, NULL, &err);
	ck_assert_int_eq(procq_handle_on_done(f, on_done_cb, &ca), 0);
	procq_free(q);
	ck_assert_int_eq(calls_count(&c), 1);
	ck_assert_int_eq(c.status[0], PROCQ_CANCELLED);
	pthread_mutex_destroy(&c.lock);
}
END_TEST

static Suite *
wait_suite(void)
{
	Suite *s = suite_create("collect_wait");
	TCase *tc;

	tc = add_tcase(s, "wait", 30);
	tcase_add_test(tc, test_wait_all);
	tcase_add_test(tc, test_wait_first_completed);
	tcase_add_test(tc, test_wait_first_exception);
	tcase_add_test(tc, test_wait_first_exception_not_early);
	tcase_add_test(tc, test_wait_first_exception_all);
	tcase_add_test(tc, test_wait_timeout_partition);
	tcase_add_test(tc, test_wait_empty_invalid);
	tcase_add_test(tc, test_wait_two_queues);
	tcase_add_test(tc, test_wait_futures_thread);
	tcase_add_test(tc, test_wait_future_exception);
	tcase_add_test(tc, test_wait_hook_edeadlk);

	tc = add_tcase(s, "as_completed", 30);
	tcase_add_test(tc, test_as_completed_order);
	tcase_add_test(tc, test_as_completed_timeout);
	tcase_add_test(tc, test_as_completed_abandon);
	tcase_add_test(tc, test_as_completed_cancel_during);
	tcase_add_test(tc, test_as_completed_futures);
	tcase_add_test(tc, test_as_completed_empty_invalid);

	tc = add_tcase(s, "on_done", 30);
	tcase_add_test(tc, test_on_done_once);
	tcase_add_test(tc, test_on_done_already);
	tcase_add_test(tc, test_on_done_order);
	tcase_add_test(tc, test_on_done_future);

	tc = add_tcase(s, "futures", 30);
	tcase_add_test(tc, test_future_value);
	tcase_add_test(tc, test_future_error);
	tcase_add_test(tc, test_future_cancel);
	tcase_add_test(tc, test_future_wait_thread);
	tcase_add_test(tc, test_future_bad_format);
	tcase_add_test(tc, test_future_not_counted);
	tcase_add_test(tc, test_future_free_cancels);
	return s;
}

int
main(void)
{
	return run_suite(wait_suite());
}
