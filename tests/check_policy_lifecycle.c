/*
 * The lifecycle calls: start, run options, join, shutdown, cancel, reset,
 * clear_results, closed and the statistics.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "policy_tasks.h"
#include "util.h"

START_TEST(test_start)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 2 });
	procq_stats st = stats_of(q);

	ck_assert_int_eq(st.workers, 0);
	ck_assert(!st.closed);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(wait_workers(q, 2, 10));
	ck_assert_int_eq(procq_start(q), 0);	/* again: no-op */
	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	st = stats_of(q);
	ck_assert_int_eq(st.workers, 0);
	ck_assert(st.closed);
	ck_assert_int_eq(procq_start(q), PROCQ_ECLOSED);
	procq_free(q);
}
END_TEST

START_TEST(test_run_opts_invalid)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	const procq_run_opts bad[] = {
		{ .timeout = -1 },
		{ .timeout = NAN },
		{ .fail_policy = (procq_fail_policy)3 },
		{ .fail_policy = (procq_fail_policy)-1 },
	};
	procq_handle *h = submit_ok(q, "ident", NULL, "i", 1);

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_int_eq(procq_run(q, &bad[i], NULL), PROCQ_EINVAL);
	/* nothing ran */
	ck_assert_int_eq(procq_handle_status(h), PROCQ_PENDING);
	ck_assert_int_eq(stats_of(q).workers, 0);
	procq_free(q);
}
END_TEST

/* strict: PROCQ_ETASK when a task of the run failed, not when one was
 * only cancelled; the summary comes either way. */
START_TEST(test_run_strict)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	const procq_run_opts strict = { .strict = true };
	procq_summary *s = NULL;
	procq_handle *bad, *c;
	const procq_result *r;

	submit_ok(q, "ident", NULL, "i", 1);
	bad = submit_ok(q, "fail", NULL, "i", 4);
	ck_assert_int_eq(procq_run(q, &strict, &s), PROCQ_ETASK);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(procq_summary_failed(s), 1);
	ck_assert_uint_eq(procq_summary_succeeded(s), 1);
	r = procq_summary_by_id(s, procq_handle_id(bad));
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(procq_result_error_message(r), "bad 4");
	procq_summary_free(s);

	/* the failure belongs to that run */
	submit_ok(q, "ident", NULL, "i", 2);
	ck_assert_int_eq(procq_run(q, &strict, &s), 0);
	ck_assert(procq_summary_ok(s));
	procq_summary_free(s);

	c = submit_ok(q, "ident", &(procq_opts){ .delay = 30 }, "i", 3);
	ck_assert_int_eq(procq_handle_cancel(c), 0);
	ck_assert_int_eq(procq_run(q, &strict, &s), 0);
	ck_assert_uint_eq(procq_summary_cancelled(s), 1);
	ck_assert(!procq_summary_ok(s));
	procq_summary_free(s);

	/* without strict a failure is only in the summary */
	submit_ok(q, "fail", NULL, "i", 5);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_failed(s), 1);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

/* join waits for the work without a summary; the workers stay. */
START_TEST(test_join)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_summary *s = NULL;
	procq_handle *a, *hg, *b;
	struct gate g;
	double t0, dt;

	gate_create(&g);
	/* join starts the queue when it has work */
	a = submit_ok(q, "getpid", NULL, "");
	ck_assert_int_eq(procq_join(q, 10), 0);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_SUCCEEDED);

	hg = submit_ok(q, "gate", NULL, "s", g.path);
	ck_assert(gate_enter(&g, 10));
	t0 = now();
	ck_assert_int_eq(procq_join(q, 0.2), PROCQ_ETIMEDOUT);
	dt = now() - t0;
	ck_assert_msg(dt >= 0.2 - TIMER_SLACK, "join gave up after %.3f s", dt);
	ck_assert_int_eq(procq_join(q, 0), PROCQ_ETIMEDOUT);
	/* a join timeout cancels nothing */
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_RUNNING);
	gate_release(&g);
	ck_assert_int_eq(procq_join(q, PROCQ_FOREVER), 0);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_join(q, 0), 0);

	b = submit_ok(q, "getpid", NULL, "");
	ck_assert_int_eq(procq_join(q, 10), 0);
	ck_assert_int_eq(int_value(a), int_value(b));
	ck_assert_int_eq(stats_of(q).workers, 1);
	ck_assert(!procq_closed(q));

	/* what finished meanwhile is in the next run's summary */
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_submitted(s), 3);
	procq_summary_free(s);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/* An idle queue that was never started stays so. */
START_TEST(test_join_idle)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });

	ck_assert_int_eq(procq_join(q, 5), 0);
	ck_assert_int_eq(procq_join(q, NAN), PROCQ_EINVAL);
	ck_assert_int_eq(stats_of(q).workers, 0);
	/* and can still be started */
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(wait_workers(q, 1, 10));
	procq_free(q);
}
END_TEST

START_TEST(test_shutdown_graceful)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 2 });
	procq_handle *h[4], *x = NULL;
	procq_summary *all;
	int i;

	h[0] = submit_ok(q, "sleep", NULL, "d", 0.2);
	h[1] = submit_ok(q, "sleep", &(procq_opts){ .delay = 0.1 }, "d", 0.0);
	h[2] = submit_ok(q, "flaky", &(procq_opts){ .retries = 1,
	    .retry_delay = 0.1 }, "i", 2);
	h[3] = submit_ok(q, "ident", NULL, "i", 3);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	for (i = 0; i < 4; i++)
		ck_assert_msg(procq_handle_status(h[i]) == PROCQ_SUCCEEDED,
		    "task %d ended %s", i,
		    procq_status_name(procq_handle_status(h[i])));
	ck_assert(procq_closed(q));
	ck_assert_int_eq(stats_of(q).workers, 0);
	ck_assert_int_eq(procq_submitf(q, "ident", NULL, &x, "i", 1),
	    PROCQ_ECLOSED);
	ck_assert_ptr_null(x);
	ck_assert_int_eq(procq_shutdown(q, 0), 0);	/* idempotent */
	ck_assert_int_eq(procq_shutdown(q, PROCQ_SHUTDOWN_FORCE), 0);
	ck_assert_int_eq(procq_shutdown(q, 0x10), PROCQ_EINVAL);
	all = procq_results(q);
	ck_assert_uint_eq(procq_summary_count(all), 4);
	procq_summary_free(all);
	procq_free(q);
}
END_TEST

START_TEST(test_shutdown_force)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_handle *hg, *hq, *hd;
	struct gate g;

	gate_create(&g);
	hg = submit_ok(q, "gate", NULL, "s", g.path);
	hq = submit_ok(q, "ident", NULL, "i", 1);
	hd = submit_ok(q, "ident", &(procq_opts){ .delay = 30 }, "i", 2);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(gate_enter(&g, 10));
	ck_assert_int_eq(procq_shutdown(q, PROCQ_SHUTDOWN_FORCE), 0);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(hq), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(hd), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_attempts(hq), 0);
	ck_assert_int_eq(procq_handle_attempts(hd), 0);
	ck_assert(procq_closed(q));
	ck_assert_int_eq(stats_of(q).workers, 0);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/* procq_cancel from another thread stops a run without waiting. */
START_TEST(test_cancel_from_thread)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	struct run_thread rt;
	procq_handle *hg, *hq, *hd, *x = NULL;
	struct gate g;

	gate_create(&g);
	hg = submit_ok(q, "gate", NULL, "s", g.path);
	hq = submit_ok(q, "ident", NULL, "i", 1);
	hd = submit_ok(q, "ident", &(procq_opts){ .delay = 30 }, "i", 2);
	run_thread_start(&rt, q, NULL);
	ck_assert(gate_enter(&g, 10));
	ck_assert(!procq_closed(q));
	ck_assert_int_eq(procq_cancel(q), 0);
	ck_assert(procq_closed(q));
	ck_assert(stats_of(q).closed);
	ck_assert_int_eq(run_thread_join(&rt, 10), 0);
	ck_assert_uint_eq(procq_summary_cancelled(rt.summary), 3);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(hq), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(hd), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_submitf(q, "ident", NULL, &x, "i", 1),
	    PROCQ_ECLOSED);
	ck_assert_int_eq(procq_cancel(q), 0);
	procq_summary_free(rt.summary);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/* reset: refused while a task is unfinished or a run is in progress. */
START_TEST(test_reset_busy)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_handle *hg;
	struct gate g;

	gate_create(&g);
	hg = submit_ok(q, "gate", NULL, "s", g.path);
	ck_assert_int_eq(procq_reset(q), PROCQ_EBUSY);	/* queued */
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(gate_enter(&g, 10));
	ck_assert_int_eq(procq_reset(q), PROCQ_EBUSY);	/* running */
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_RUNNING);
	gate_release(&g);
	wait_done(hg, 10);
	ck_assert_int_eq(procq_reset(q), 0);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

START_TEST(test_reset_busy_run)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .mode = PROCQ_MODE_INFINITE });
	struct run_thread rt;

	/* the run starts the queue: once there are workers, it is in
	 * progress, with nothing unfinished */
	run_thread_start(&rt, q, NULL);
	ck_assert(wait_workers(q, 1, 10));
	ck_assert_uint_eq(procq_pending(q) + procq_active(q), 0);
	ck_assert_int_eq(procq_reset(q), PROCQ_EBUSY);
	ck_assert_int_eq(procq_cancel(q), 0);
	ck_assert_int_eq(run_thread_join(&rt, 10), 0);
	procq_summary_free(rt.summary);
	ck_assert_int_eq(procq_reset(q), 0);
	procq_free(q);
}
END_TEST

/* After reset the queue runs a new batch, with nothing of the old one. */
START_TEST(test_reset_new_batch)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_summary *s = NULL, *all;
	procq_handle *h;
	procq_stats st;
	int pid;

	submit_ok(q, "ident", NULL, "i", 1);
	submit_ok(q, "fail", NULL, "i", 2);
	h = submit_ok(q, "getpid", NULL, "");
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	pid = int_value(h);
	all = procq_results(q);
	ck_assert_uint_eq(procq_summary_count(all), 3);
	procq_summary_free(all);

	ck_assert_int_eq(procq_reset(q), 0);
	all = procq_results(q);
	ck_assert_ptr_nonnull(all);
	ck_assert_uint_eq(procq_summary_count(all), 0);
	procq_summary_free(all);
	st = stats_of(q);
	ck_assert_uint_eq(st.completed, 0);
	ck_assert_uint_eq(st.pending + st.scheduled + st.active, 0);
	ck_assert(!st.closed);

	h = submit_ok(q, "getpid", NULL, "");
	submit_ok(q, "ident", NULL, "i", 4);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_submitted(s), 2);
	ck_assert_uint_eq(procq_summary_succeeded(s), 2);
	ck_assert(procq_summary_ok(s));
	ck_assert_int_eq(int_value(h), pid);	/* same worker */
	procq_summary_free(s);
	all = procq_results(q);
	ck_assert_uint_eq(procq_summary_count(all), 2);
	procq_summary_free(all);
	procq_free(q);
}
END_TEST

/* reset does not reopen a closed queue. */
START_TEST(test_reset_closed)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_handle *x = NULL;

	submit_ok(q, "ident", NULL, "i", 1);
	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	ck_assert_int_eq(procq_reset(q), 0);
	ck_assert(procq_closed(q));
	ck_assert_int_eq(procq_submitf(q, "ident", NULL, &x, "i", 1),
	    PROCQ_ECLOSED);
	ck_assert_uint_eq(stats_of(q).completed, 0);
	procq_free(q);
}
END_TEST

START_TEST(test_clear_results)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_summary *s = NULL, *all;
	procq_handle *a, *b, *c;

	a = submit_ok(q, "ident", NULL, "i", 1);
	b = submit_ok(q, "ident", NULL, "i", 2);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_uint_eq(stats_of(q).completed, 2);
	ck_assert_int_eq(procq_clear_results(q), 0);
	ck_assert_uint_eq(stats_of(q).completed, 0);
	all = procq_results(q);
	ck_assert_uint_eq(procq_summary_count(all), 0);
	procq_summary_free(all);
	/* handles keep theirs */
	ck_assert_ptr_nonnull(procq_handle_result(a));
	ck_assert_int_eq(int_value(a), 1);
	ck_assert_int_eq(int_value(b), 2);

	/* a task that finished before the clear is not in the next run */
	c = submit_ok(q, "ident", NULL, "i", 3);
	wait_done(c, 10);
	ck_assert_int_eq(procq_clear_results(q), 0);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_submitted(s), 0);
	ck_assert_ptr_null(procq_summary_by_id(s, procq_handle_id(c)));
	ck_assert_int_eq(int_value(c), 3);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

/* Each statistic, in a state where it is not zero. */
START_TEST(test_stats)
{
	/* A prefetch of 1 keeps the last two tasks in the queue. */
	procq_queue *q = policy_queue(&(procq_config){ .workers = 2,
	    .prefetch = 1 });
	procq_handle *g1h, *g2h, *r, *d, *q1, *q2;
	struct gate g1, g2;
	procq_stats st;

	gate_create(&g1);
	gate_create(&g2);
	st = stats_of(q);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_uint_eq(st.active, 0);
	ck_assert_uint_eq(st.scheduled, 0);
	ck_assert_uint_eq(st.completed, 0);
	ck_assert_int_eq(st.workers, 0);
	ck_assert(!st.closed);
	ck_assert_int_eq(procq_stats_get(NULL, &st), PROCQ_EINVAL);
	ck_assert_int_eq(procq_stats_get(q, NULL), PROCQ_EINVAL);

	g1h = submit_ok(q, "gate", NULL, "s", g1.path);
	ck_assert_uint_eq(stats_of(q).pending, 1);	/* not started */
	ck_assert_uint_eq(procq_pending(q), 1);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(gate_enter(&g1, 10));
	/* a retry waiting for its delay is scheduled */
	r = submit_ok(q, "fail", &(procq_opts){ .retries = 1,
	    .retry_delay = 30 }, "i", 1);
	ck_assert(wait_status(r, PROCQ_RETRYING, 10));
	g2h = submit_ok(q, "gate", NULL, "s", g2.path);
	ck_assert(gate_enter(&g2, 10));
	d = submit_ok(q, "ident", &(procq_opts){ .delay = 30 }, "i", 2);
	q1 = submit_ok(q, "ident", NULL, "i", 3);
	q2 = submit_ok(q, "ident", NULL, "i", 4);

	st = stats_of(q);
	ck_assert_uint_eq(st.pending, 2);
	ck_assert_uint_eq(st.active, 2);
	ck_assert_uint_eq(st.scheduled, 2);
	ck_assert_uint_eq(st.completed, 0);
	ck_assert_int_eq(st.workers, 2);
	ck_assert(!st.closed);
	ck_assert_uint_eq(procq_active(q), 2);
	ck_assert_uint_eq(procq_pending(q), 4);

	ck_assert_int_eq(procq_handle_cancel(q1), 0);
	st = stats_of(q);
	ck_assert_uint_eq(st.pending, 1);
	ck_assert_uint_eq(st.completed, 1);

	ck_assert_int_eq(procq_cancel(q), 0);
	ck_assert(stats_of(q).closed);
	ck_assert_int_eq(procq_join(q, 10), 0);
	st = stats_of(q);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_uint_eq(st.active, 0);
	ck_assert_uint_eq(st.scheduled, 0);
	ck_assert_uint_eq(st.completed, 6);
	ck_assert(st.closed);
	ck_assert_uint_eq(procq_active(q), 0);
	ck_assert_uint_eq(procq_pending(q), 0);
	ck_assert_int_eq(procq_handle_status(d), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(q2), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(r), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(g1h), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(g2h), PROCQ_CANCELLED);
	procq_free(q);
	gate_destroy(&g1);
	gate_destroy(&g2);
}
END_TEST

static Suite *
lifecycle_suite(void)
{
	Suite *s = suite_create("policy_lifecycle");
	TCase *tc;

	tc = add_tcase(s, "run", 30);
	tcase_add_test(tc, test_start);
	tcase_add_test(tc, test_run_opts_invalid);
	tcase_add_test(tc, test_run_strict);
	tcase_add_test(tc, test_join);
	tcase_add_test(tc, test_join_idle);

	tc = add_tcase(s, "stop", 30);
	tcase_add_test(tc, test_shutdown_graceful);
	tcase_add_test(tc, test_shutdown_force);
	tcase_add_test(tc, test_cancel_from_thread);

	tc = add_tcase(s, "reset", 30);
	tcase_add_test(tc, test_reset_busy);
	tcase_add_test(tc, test_reset_busy_run);
	tcase_add_test(tc, test_reset_new_batch);
	tcase_add_test(tc, test_reset_closed);
	tcase_add_test(tc, test_clear_results);

	tc = add_tcase(s, "stats", 30);
	tcase_add_test(tc, test_stats);
	return s;
}

int
main(void)
{
	return run_suite(lifecycle_suite());
}
