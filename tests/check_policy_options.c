/*
 * Per-task policy options: delay, run_at, detached, metadata, and the
 * validation of every field of procq_opts.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy_tasks.h"
#include "util.h"

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char meta_bytes[] = { 'm', '\0', 'x', (char)0xff, '\n' };

static const struct {
	const char *what;
	procq_opts opts;
} bad_opts[] = {
	{ "retries -1", { .retries = -1 } },
	{ "retry_delay -0.5", { .retry_delay = -0.5 } },
	{ "retry_delay NaN", { .retry_delay = NAN } },
	{ "backoff 0.5", { .backoff = 0.5 } },
	{ "backoff -2", { .backoff = -2 } },
	{ "backoff NaN", { .backoff = NAN } },
	{ "timeout -1", { .timeout = -1 } },
	{ "timeout NaN", { .timeout = NAN } },
	{ "delay -0.1", { .delay = -0.1 } },
	{ "delay NaN", { .delay = NAN } },
	{ "delay inf", { .delay = INFINITY } },
	{ "run_at -1", { .run_at = -1 } },
	{ "run_at NaN", { .run_at = NAN } },
	{ "run_at inf", { .run_at = INFINITY } },
	{ "delay and run_at", { .delay = 1, .run_at = 4e9 } },
	{ "delay and past run_at", { .delay = 0.5, .run_at = 1 } },
	{ "metadata_len without metadata", { .metadata_len = 3 } },
};

/* Every invalid option is refused by every submit call, and nothing is
 * queued: an invalid value is never clamped into a valid one. */
START_TEST(test_opts_invalid)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_summary *s = NULL;
	procq_handle *h;
	procq_args args;
	size_t i;
	int rc;

	args_pack(&args, "i", 1);
	for (i = 0; i < sizeof bad_opts / sizeof bad_opts[0]; i++) {
		const procq_opts *o = &bad_opts[i].opts;

		h = NULL;
		rc = procq_submit(q, "ident", args.data, args.len, o, &h);
		ck_assert_msg(rc == PROCQ_EINVAL, "submit, %s: %s",
		    bad_opts[i].what, procq_strerror(rc));
		ck_assert_ptr_null(h);
		rc = procq_submitf(q, "ident", o, &h, "i", 1);
		ck_assert_msg(rc == PROCQ_EINVAL, "submitf, %s: %s",
		    bad_opts[i].what, procq_strerror(rc));
		rc = procq_try_submit(q, "ident", args.data, args.len, o, &h);
		ck_assert_msg(rc == PROCQ_EINVAL, "try_submit, %s: %s",
		    bad_opts[i].what, procq_strerror(rc));
		rc = procq_submit_timeout(q, "ident", args.data, args.len, o,
		    1.0, &h);
		ck_assert_msg(rc == PROCQ_EINVAL, "submit_timeout, %s: %s",
		    bad_opts[i].what, procq_strerror(rc));
		/* fire and forget too */
		rc = procq_submit(q, "ident", args.data, args.len, o, NULL);
		ck_assert_msg(rc == PROCQ_EINVAL, "submit without handle, "
		    "%s: %s", bad_opts[i].what, procq_strerror(rc));
	}
	/* a NaN wait is no timeout either */
	rc = procq_submit_timeout(q, "ident", args.data, args.len, NULL, NAN,
	    &h);
	ck_assert_int_eq(rc, PROCQ_EINVAL);
	ck_assert_uint_eq(procq_pending(q), 0);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_submitted(s), 0);
	procq_summary_free(s);
	args_free(&args, 1);
	procq_free(q);
}
END_TEST

/* The limits of the valid ranges are accepted. */
START_TEST(test_opts_valid_bounds)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 2 });
	const procq_opts good[] = {
		{ .backoff = 0 },
		{ .backoff = 1, .retries = 0, .retry_delay = 0 },
		{ .delay = 0, .run_at = 0 },
		{ .delay = 0.01 },
		{ .run_at = 1 },	/* long past: ready at once */
		{ .metadata = "x", .metadata_len = 0 },
		{ .metadata = NULL, .metadata_len = 0, .timeout = 0 },
		{ .must_complete = true, .detached = true },
	};
	procq_handle *h[sizeof good / sizeof good[0]];
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++)
		h[i] = submit_ok(q, "ident", &good[i], "i", (int)i);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		ck_assert_int_eq(procq_handle_status(h[i]), PROCQ_SUCCEEDED);
		ck_assert_int_eq(int_value(h[i]), (int)i);
	}
	procq_free(q);
}
END_TEST

/* A delayed task waits without a worker, counted as scheduled. */
START_TEST(test_delay)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_handle *a, *b;
	procq_stats st;
	double t0;

	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(wait_workers(q, 1, 10));
	t0 = now();
	a = submit_ok(q, "stamp", &(procq_opts){ .delay = 0.4 }, "");
	st = stats_of(q);
	ck_assert_uint_eq(st.scheduled, 1);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_uint_eq(st.active, 0);
	ck_assert_uint_eq(procq_pending(q), 1);
	ck_assert_uint_eq(procq_active(q), 0);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_PENDING);
	ck_assert(!procq_handle_done(a));

	/* it holds no worker: a later task runs meanwhile */
	b = submit_ok(q, "stamp", NULL, "");
	wait_done(b, 10);
	ck_assert_int_eq(procq_handle_status(b), PROCQ_SUCCEEDED);
	ck_assert_msg(!procq_handle_done(a), "the delayed task ran after "
	    "%.3f s", now() - t0);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_PENDING);
	ck_assert_int_eq(procq_handle_attempts(a), 0);

	wait_done(a, 10);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_SUCCEEDED);
	ck_assert_msg(double_value(a) - t0 >= 0.4 - TIMER_SLACK,
	    "started %.3f s after submission", double_value(a) - t0);
	ck_assert_double_lt(double_value(b), double_value(a));
	st = stats_of(q);
	ck_assert_uint_eq(st.scheduled, 0);
	ck_assert_uint_eq(st.completed, 2);
	procq_free(q);
}
END_TEST

/* The delay counts from submission, also on a queue not started yet. */
START_TEST(test_delay_before_start)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_handle *a;
	double t0 = now();

	a = submit_ok(q, "stamp", &(procq_opts){ .delay = 0.3 }, "");
	ck_assert_uint_eq(stats_of(q).scheduled, 1);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_SUCCEEDED);
	ck_assert_double_ge(double_value(a) - t0, 0.3 - TIMER_SLACK);
	procq_free(q);
}
END_TEST

/* When due, a delayed task takes its place by priority, ahead of a lower
 * priority task that was queued before it. */
START_TEST(test_delay_priority)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_handle *hg, *low, *high;
	procq_stats st;
	struct gate g;

	gate_create(&g);
	ck_assert_int_eq(procq_start(q), 0);
	hg = submit_ok(q, "gate", NULL, "s", g.path);
	ck_assert(gate_enter(&g, 10));
	low = submit_ok(q, "stamp", &(procq_opts){ .priority = 10 }, "");
	high = submit_ok(q, "stamp", &(procq_opts){ .priority = 0,
	    .delay = 0.1 }, "");
	st = stats_of(q);
	ck_assert_uint_eq(st.pending, 1);
	ck_assert_uint_eq(st.scheduled, 1);
	ck_assert_uint_eq(procq_pending(q), 2);
	/* wait until the delayed one is ready too */
	ck_assert(wait_scheduled(q, 0, 10));
	st = stats_of(q);
	ck_assert_uint_eq(st.pending, 2);
	gate_release(&g);
	ck_assert_int_eq(procq_join(q, 10), 0);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_SUCCEEDED);
	ck_assert_msg(double_value(high) < double_value(low),
	    "the priority 0 task ran after the priority 10 one");
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

START_TEST(test_run_at_future)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_handle *a;
	double t0;

	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(wait_workers(q, 1, 10));
	t0 = now();
	a = submit_ok(q, "stamp", &(procq_opts){ .run_at = wall_now() + 0.3 },
	    "");
	ck_assert_uint_eq(stats_of(q).scheduled, 1);
	ck_assert_uint_eq(stats_of(q).pending, 0);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_PENDING);
	wait_done(a, 10);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_SUCCEEDED);
	ck_assert_msg(double_value(a) - t0 >= 0.3 - TIMER_SLACK,
	    "started %.3f s after submission", double_value(a) - t0);
	procq_free(q);
}
END_TEST

/* A run_at in the past is ready at once. */
START_TEST(test_run_at_past)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_handle *a, *b;
	procq_stats st;

	a = submit_ok(q, "stamp", &(procq_opts){ .run_at = wall_now() - 60 },
	    "");
	b = submit_ok(q, "stamp", &(procq_opts){ .run_at = 1 }, "");
	st = stats_of(q);
	ck_assert_uint_eq(st.pending, 2);
	ck_assert_uint_eq(st.scheduled, 0);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_status(b), PROCQ_SUCCEEDED);
	procq_free(q);
}
END_TEST

/* A detached task runs, but only its handle and procq_results() show it. */
START_TEST(test_detached)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_handle *a, *d, *df;
	procq_summary *s = NULL, *all;

	a = submit_ok(q, "ident", NULL, "i", 1);
	d = submit_ok(q, "ident", &(procq_opts){ .detached = true }, "i", 2);
	df = submit_ok(q, "fail", &(procq_opts){ .detached = true }, "i", 3);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(procq_summary_submitted(s), 1);
	ck_assert_uint_eq(procq_summary_count(s), 1);
	ck_assert_uint_eq(procq_summary_succeeded(s), 1);
	ck_assert_uint_eq(procq_summary_failed(s), 0);
	ck_assert(procq_summary_ok(s));
	ck_assert_ptr_nonnull(procq_summary_by_id(s, procq_handle_id(a)));
	ck_assert_ptr_null(procq_summary_by_id(s, procq_handle_id(d)));
	ck_assert_ptr_null(procq_summary_by_id(s, procq_handle_id(df)));
	/* the handles tell */
	ck_assert_int_eq(procq_handle_status(d), PROCQ_SUCCEEDED);
	ck_assert_int_eq(int_value(d), 2);
	ck_assert_int_eq(procq_handle_status(df), PROCQ_FAILED);
	ck_assert_str_eq(procq_handle_error_message(df), "bad 3");
	/* and so does procq_results() */
	all = procq_results(q);
	ck_assert_ptr_nonnull(all);
	ck_assert_uint_eq(procq_summary_count(all), 3);
	ck_assert_ptr_nonnull(procq_summary_by_id(all, procq_handle_id(d)));
	ck_assert_ptr_nonnull(procq_summary_by_id(all, procq_handle_id(df)));
	ck_assert_uint_eq(procq_summary_failed(all), 1);
	procq_summary_free(all);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

static void
assert_meta(const void *m, size_t len)
{
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(len, sizeof meta_bytes);
	ck_assert(memcmp(m, meta_bytes, sizeof meta_bytes) == 0);
}

/* Metadata are copied at submission and kept with the task and its
 * result; summaries keep them after the queue is gone. */
START_TEST(test_metadata)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	char buf[sizeof meta_bytes];
	procq_handle *h, *plain, *empty;
	procq_summary *s = NULL;
	const procq_result *r;
	const void *m;
	size_t len;

	memcpy(buf, meta_bytes, sizeof buf);
	h = submit_ok(q, "ident", &(procq_opts){ .metadata = buf,
	    .metadata_len = sizeof buf }, "i", 1);
	memset(buf, 0, sizeof buf);	/* the queue has its own copy */
	plain = submit_ok(q, "ident", NULL, "i", 2);
	empty = submit_ok(q, "ident", &(procq_opts){ .metadata = buf,
	    .metadata_len = 0 }, "i", 3);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);

	r = procq_handle_result(h);
	len = 99;
	m = procq_result_metadata(r, &len);
	assert_meta(m, len);
	len = 99;
	ck_assert_ptr_null(procq_result_metadata(procq_handle_result(plain),
	    &len));
	ck_assert_uint_eq(len, 0);
	len = 99;
	ck_assert_ptr_null(procq_result_metadata(procq_handle_result(empty),
	    &len));
	ck_assert_uint_eq(len, 0);

	procq_free(q);
	r = procq_summary_by_id(s, procq_result_id(r));
	ck_assert_ptr_nonnull(r);
	len = 99;
	m = procq_result_metadata(r, &len);
	assert_meta(m, len);
	procq_summary_free(s);
}
END_TEST

START_TEST(test_handle_metadata)
{
	procq_queue *q;
	char buf[sizeof meta_bytes];
	procq_handle *h, *plain;
	const void *m;
	size_t len;

	q = policy_queue(&(procq_config){ .workers = 1 });
	memcpy(buf, meta_bytes, sizeof buf);
	h = submit_ok(q, "ident", &(procq_opts){ .metadata = buf,
	    .metadata_len = sizeof buf }, "i", 1);
	memset(buf, 0, sizeof buf);
	plain = submit_ok(q, "ident", NULL, "i", 2);
	/* kept with the task from submission on */
	len = 99;
	m = procq_handle_metadata(h, &len);
	assert_meta(m, len);
	len = 99;
	ck_assert_ptr_null(procq_handle_metadata(plain, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	len = 99;
	m = procq_handle_metadata(h, &len);
	assert_meta(m, len);
	procq_free(q);
}
END_TEST

/* What a handle tells of the options of a task submitted without a time:
 * the same from submission to the end; never scheduled. */
START_TEST(test_handle_options)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_handle *h, *both, *hg;
	double w0, w1;
	struct gate g;

	gate_create(&g);
	w0 = wall_now();
	h = submit_ok(q, "ident", &(procq_opts){ .priority = 7 }, "i", 1);
	both = submit_ok(q, "ident", &(procq_opts){ .priority = -3,
	    .must_complete = true, .detached = true }, "i", 2);
	w1 = wall_now();
	ck_assert_int_eq(procq_handle_priority(h), 7);
	ck_assert(!procq_handle_must_complete(h));
	ck_assert(!procq_handle_detached(h));
	ck_assert_ptr_null(procq_handle_group(h));
	ck_assert_double_ge(procq_handle_created(h), w0);
	ck_assert_double_le(procq_handle_created(h), w1);
	ck_assert_double_le(procq_handle_created(h),
	    procq_handle_created(both));
	ck_assert_double_eq(procq_handle_scheduled(h), 0);
	ck_assert_int_eq(procq_handle_priority(both), -3);
	ck_assert(procq_handle_must_complete(both));
	ck_assert(procq_handle_detached(both));

	/* running */
	ck_assert_int_eq(procq_start(q), 0);
	hg = submit_ok(q, "gate", &(procq_opts){ .priority = -10 }, "s",
	    g.path);
	ck_assert(gate_enter(&g, 10));
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_RUNNING);
	ck_assert_double_eq(procq_handle_scheduled(hg), 0);
	ck_assert_int_eq(procq_handle_priority(hg), -10);
	gate_release(&g);

	/* final */
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_priority(h), 7);
	ck_assert(procq_handle_must_complete(both));
	ck_assert(procq_handle_detached(both));
	ck_assert_double_ge(procq_handle_created(h), w0);
	ck_assert_double_le(procq_handle_created(h), w1);
	ck_assert_double_eq(procq_handle_scheduled(h), 0);
	ck_assert_double_eq(procq_handle_scheduled(hg), 0);

	ck_assert_int_eq(procq_handle_priority(NULL), 0);
	ck_assert(!procq_handle_must_complete(NULL));
	ck_assert(!procq_handle_detached(NULL));
	ck_assert_ptr_null(procq_handle_group(NULL));
	ck_assert_double_eq(procq_handle_created(NULL), 0);
	ck_assert_double_eq(procq_handle_scheduled(NULL), 0);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/* A delayed task and one with a run_at time are scheduled for that time,
 * whether the queue has started (_i 1) or not; once final, no longer. */
START_TEST(test_handle_scheduled_delay)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_handle *d, *at, *soon;
	double w0, w1, when = wall_now() + 40;

	if (_i == 1)
		ck_assert_int_eq(procq_start(q), 0);
	w0 = wall_now();
	d = submit_ok(q, "ident", &(procq_opts){ .delay = 30 }, "i", 1);
	w1 = wall_now();
	at = submit_ok(q, "ident", &(procq_opts){ .run_at = when }, "i", 2);
	soon = submit_ok(q, "ident", &(procq_opts){ .delay = 0.05 }, "i", 3);
	ck_assert_int_eq(procq_handle_status(d), PROCQ_PENDING);
	ck_assert_double_ge(procq_handle_scheduled(d), w0 + 30 - 0.01);
	ck_assert_double_le(procq_handle_scheduled(d), w1 + 30 + 0.01);
	ck_assert_double_ge(procq_handle_scheduled(d),
	    procq_handle_created(d) + 30 - 0.01);
	ck_assert_double_le(procq_handle_scheduled(d),
	    procq_handle_created(d) + 30 + 0.01);
	ck_assert_int_eq(procq_handle_status(at), PROCQ_PENDING);
	ck_assert_msg(fabs(procq_handle_scheduled(at) - when) < 0.01,
	    "run_at %.3f, scheduled %.3f", when, procq_handle_scheduled(at));

	/* its time came: it ran */
	if (_i == 0)
		ck_assert_int_eq(procq_start(q), 0);
	wait_done(soon, 10);
	ck_assert_int_eq(procq_handle_status(soon), PROCQ_SUCCEEDED);
	ck_assert_double_eq(procq_handle_scheduled(soon), 0);

	ck_assert_int_eq(procq_handle_cancel(d), 0);
	ck_assert_int_eq(procq_handle_cancel(at), 0);
	ck_assert_double_eq(procq_handle_scheduled(d), 0);
	ck_assert_double_eq(procq_handle_scheduled(at), 0);
	procq_free(q);
}
END_TEST

/* A task waiting for its retry delay is scheduled for its next attempt. */
START_TEST(test_handle_scheduled_retry)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_handle *h;
	double w0, w1, at;

	ck_assert_int_eq(procq_start(q), 0);
	w0 = wall_now();
	h = submit_ok(q, "fail", &(procq_opts){ .retries = 1,
	    .retry_delay = 30 }, "i", 1);
	ck_assert(wait_status(h, PROCQ_RETRYING, 10));
	w1 = wall_now();
	at = procq_handle_scheduled(h);
	ck_assert_msg(at >= w0 + 30 - 0.01 && at <= w1 + 30 + 0.01,
	    "retry scheduled %.3f s after the submission, %.3f s after it "
	    "was seen retrying", at - w0, at - w1);
	ck_assert_int_eq(procq_handle_attempts(h), 1);
	ck_assert_int_eq(procq_handle_cancel(h), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_CANCELLED);
	ck_assert_double_eq(procq_handle_scheduled(h), 0);
	procq_free(q);
}
END_TEST

/* The group of a task: its option, or the group it was submitted
 * through; procq_group_add() leaves it alone.  A group's rate schedules
 * the tasks it holds back. */
START_TEST(test_handle_group)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_group *g, *slow;
	procq_handle *in, *opt, *plain, *first, *second;
	const procq_result *r;
	double w0, w1;
	int err = 0;

	g = procq_group_create(q, &(procq_group_opts){ .id = "batch" }, &err);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(procq_group_submitf(g, "ident", &(procq_opts){
	    .group = "ignored" }, &in, "i", 1), 0);
	opt = submit_ok(q, "ident", &(procq_opts){ .group = "mine" }, "i", 2);
	plain = submit_ok(q, "ident", NULL, "i", 3);
	ck_assert_str_eq(procq_handle_group(in), "batch");
	ck_assert_str_eq(procq_handle_group(in), procq_group_id(g));
	ck_assert_str_eq(procq_handle_group(opt), "mine");
	ck_assert_ptr_null(procq_handle_group(plain));
	ck_assert_int_eq(procq_group_add(g, plain), 0);
	ck_assert_ptr_null(procq_handle_group(plain));

	/* one task admitted every 100 s: the second waits for its turn */
	slow = procq_group_create(q, &(procq_group_opts){ .rate = 0.01 },
	    &err);
	ck_assert_ptr_nonnull(slow);
	w0 = wall_now();
	ck_assert_int_eq(procq_group_submitf(slow, "ident", NULL, &first, "i",
	    4), 0);
	ck_assert_int_eq(procq_group_submitf(slow, "ident", NULL, &second,
	    "i", 5), 0);
	w1 = wall_now();
	ck_assert_str_eq(procq_handle_group(second), procq_group_id(slow));
	ck_assert_double_eq(procq_handle_scheduled(first), 0);
	ck_assert_double_ge(procq_handle_scheduled(second), w0 + 100 - 0.01);
	ck_assert_double_le(procq_handle_scheduled(second), w1 + 100 + 0.01);
	ck_assert_int_eq(procq_handle_cancel(second), 0);

	ck_assert_int_eq(procq_join(q, 10), 0);
	ck_assert_int_eq(procq_handle_status(first), PROCQ_SUCCEEDED);
	r = procq_handle_result(in);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(procq_result_group(r), procq_handle_group(in));
	ck_assert_str_eq(procq_handle_group(in), "batch");
	procq_group_free(slow);
	procq_group_free(g);
	procq_free(q);
}
END_TEST

/* A future has the default options and is never scheduled. */
START_TEST(test_handle_options_future)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1 });
	procq_handle *f;
	double w0, w1;
	int err = 0;

	w0 = wall_now();
	f = procq_future_create(q, "later", &err);
	w1 = wall_now();
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(procq_handle_priority(f), 0);
	ck_assert(!procq_handle_must_complete(f));
	ck_assert(!procq_handle_detached(f));
	ck_assert_ptr_null(procq_handle_group(f));
	ck_assert_double_ge(procq_handle_created(f), w0);
	ck_assert_double_le(procq_handle_created(f), w1);
	ck_assert_double_eq(procq_handle_scheduled(f), 0);
	ck_assert_int_eq(procq_future_set_valuef(f, "i", 5), 0);
	ck_assert_double_eq(procq_handle_scheduled(f), 0);
	ck_assert_double_ge(procq_handle_created(f), w0);
	procq_free(q);
}
END_TEST

static Suite *
options_suite(void)
{
	Suite *s = suite_create("policy_options");
	TCase *tc;

	tc = add_tcase(s, "validation", 30);
	tcase_add_test(tc, test_opts_invalid);
	tcase_add_test(tc, test_opts_valid_bounds);

	tc = add_tcase(s, "schedule", 30);
	tcase_add_test(tc, test_delay);
	tcase_add_test(tc, test_delay_before_start);
	tcase_add_test(tc, test_delay_priority);
	tcase_add_test(tc, test_run_at_future);
	tcase_add_test(tc, test_run_at_past);

	tc = add_tcase(s, "detached_metadata", 30);
	tcase_add_test(tc, test_detached);
	tcase_add_test(tc, test_metadata);
	tcase_add_test(tc, test_handle_metadata);

	tc = add_tcase(s, "handle_options", 30);
	tcase_add_test(tc, test_handle_options);
	tcase_add_loop_test(tc, test_handle_scheduled_delay, 0, 2);
	tcase_add_test(tc, test_handle_scheduled_retry);
	tcase_add_test(tc, test_handle_group);
	tcase_add_test(tc, test_handle_options_future);
	return s;
}

int
main(void)
{
	return run_suite(options_suite());
}
