/*
 * Groups: ids, the ways to fill one, waits and values, cancel,
 * completion-order iteration, the concurrency limit and the rate.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect_tasks.h"
#include "util.h"

/* Never a value: shows that nothing was stored. */
#define JUNK ((const msgpack_object *)(uintptr_t)0x1)

START_TEST(test_group_ids)
{
	procq_queue *q = collect_queue(1);
	procq_group *g1, *g2, *g3;
	char id[16];
	const char *gen;
	size_t i;
	int err = 12345;

	strcpy(id, "batch-1");
	g1 = procq_group_create(q, &(procq_group_opts){ .id = id }, &err);
	ck_assert_ptr_nonnull(g1);
	ck_assert_int_eq(err, 0);
	strcpy(id, "changed");
	/* the id was copied */
	ck_assert_str_eq(procq_group_id(g1), "batch-1");
	ck_assert_uint_eq(procq_group_size(g1), 0);
	ck_assert_ptr_null(procq_group_handle(g1, 0));

	g2 = procq_group_create(q, NULL, &err);
	g3 = procq_group_create(q, &(procq_group_opts){ .concurrency = 2 },
	    &err);
	ck_assert_ptr_nonnull(g2);
	ck_assert_ptr_nonnull(g3);
	gen = procq_group_id(g2);
	ck_assert_uint_eq(strlen(gen), 18);
	ck_assert_int_eq(strncmp(gen, "g-", 2), 0);
	for (i = 2; i < 18; i++)
		ck_assert_msg(isxdigit((unsigned char)gen[i]) &&
		    !isupper((unsigned char)gen[i]), "generated id %s", gen);
	ck_assert_str_ne(procq_group_id(g2), procq_group_id(g3));
	procq_group_free(g1);
	procq_group_free(g2);
	procq_group_free(g3);
	procq_free(q);
}
END_TEST

START_TEST(test_group_create_invalid)
{
	procq_queue *q = collect_queue(1);
	static const procq_group_opts bad[] = {
		{ .concurrency = -1 },
		{ .rate = -1 },
		{ .rate = NAN },
		{ .burst = -1 },
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err = 0;
		ck_assert_ptr_null(procq_group_create(q, &bad[i], &err));
		ck_assert_int_eq(err, PROCQ_EINVAL);
	}
	procq_free(q);
}
END_TEST

/* submit, submitf, map, jobs and add all put handles in the group, in
 * submission order, and the group's id overrides opts.group. */
START_TEST(test_group_fill)
{
	procq_queue *q = collect_queue(2), *q2 = collect_queue(1);
	procq_group *g;
	procq_handle *h0 = NULL, *h1 = NULL, *fut, *other, *h;
	procq_args a, margs[3], ja, jb;
	procq_job jobs[2];
	procq_summary *s = NULL;
	const procq_opts og = { .group = "other" };
	int err = 0;
	size_t i;

	g = procq_group_create(q, &(procq_group_opts){ .id = "fill" }, &err);
	ck_assert_ptr_nonnull(g);
	args_pack(&a, "i", 0);
	ck_assert_int_eq(procq_group_submit(g, "ident", a.data, a.len, &og,
	    &h0), 0);
	args_free(&a, 1);
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &h1, "i", 1), 0);
	for (i = 0; i < 3; i++)
		args_pack(&margs[i], "i", (int)i + 2);
	ck_assert_int_eq(procq_group_map(g, "ident", margs, 3, &og), 0);
	args_free(margs, 3);
	args_pack(&ja, "i", 5);
	args_pack(&jb, "d", 3.0);
	jobs[0] = (procq_job){ "ident", ja, &(procq_opts){ .name = "job5",
	    .group = "other" } };
	jobs[1] = (procq_job){ "double", jb, NULL };
	ck_assert_int_eq(procq_group_jobs(g, jobs, 2), 0);
	args_free(&ja, 1);
	args_free(&jb, 1);
	fut = procq_future_create(q, "fut", &err);
	ck_assert_ptr_nonnull(fut);
	ck_assert_int_eq(procq_group_add(g, fut), 0);
	ck_assert_uint_eq(procq_group_size(g), 8);

	/* errors leave the group as it was */
	ck_assert_int_eq(procq_group_add(g, fut), PROCQ_EEXIST);
	ck_assert_int_eq(procq_group_add(g, h0), PROCQ_EEXIST);
	other = submit_ok(q2, "ident", NULL, "i", 9);
	ck_assert_int_eq(procq_group_add(g, other), PROCQ_EINVAL);
	ck_assert_int_eq(procq_group_submitf(g, "no-such-task", NULL, &h,
	    "i", 1), PROCQ_ENOTASK);
	ck_assert_uint_eq(procq_group_size(g), 8);
	/* a map with a bad tuple in the middle submits none of its tasks */
	args_pack(&margs[0], "i", 1);
	margs[1] = (procq_args){ .data = "\x07", .len = 1 };
	args_pack(&margs[2], "i", 3);
	ck_assert_int_eq(procq_group_map(g, "ident", margs, 3, NULL),
	    PROCQ_EINVAL);
	ck_assert_int_eq(procq_group_map(g, "no-such-task", &margs[2], 1,
	    NULL), PROCQ_ENOTASK);
	args_free(&margs[0], 1);
	args_free(&margs[2], 1);
	ck_assert_uint_eq(procq_group_size(g), 8);

	ck_assert_ptr_eq(procq_group_handle(g, 0), h0);
	ck_assert_ptr_eq(procq_group_handle(g, 1), h1);
	ck_assert_ptr_eq(procq_group_handle(g, 7), fut);
	ck_assert_ptr_null(procq_group_handle(g, 8));
	ck_assert_str_eq(procq_handle_name(procq_group_handle(g, 5)), "job5");

	ck_assert_int_eq(procq_future_set_valuef(fut, "i", 7), 0);
	ck_assert_int_eq(procq_group_wait(g, 10, &s), 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(procq_summary_count(s), 8);
	ck_assert_uint_eq(procq_summary_succeeded(s), 8);
	for (i = 0; i < 8; i++) {
		const procq_result *r = procq_summary_result(s, i);

		h = procq_group_handle(g, i);
		/* results in submission order */
		ck_assert_str_eq(procq_result_id(r), procq_handle_id(h));
		if (i != 6)
			ck_assert_int_eq(obj_int(procq_result_value(r)),
			    (long long)i);
		if (i != 7)
			ck_assert_str_eq(procq_result_group(r), "fill");
	}
	ck_assert_double_eq(double_value(procq_group_handle(g, 6)), 6.0);
	procq_summary_free(s);
	procq_group_free(g);
	procq_free(q);
	procq_free(q2);
}
END_TEST

/* The group's summary holds its handles only; the wait starts the queue. */
START_TEST(test_group_wait_summary)
{
	procq_queue *q = collect_queue(2);
	procq_group *g, *g2;
	procq_handle *loose, *h;
	procq_summary *s = NULL, *bg;
	int err = 0;

	g = procq_group_create(q, NULL, &err);
	g2 = procq_group_create(q, NULL, &err);
	ck_assert_ptr_nonnull(g);
	ck_assert_ptr_nonnull(g2);
	loose = submit_ok(q, "ident", NULL, "i", 100);
	ck_assert_int_eq(procq_group_submitf(g, "fail", NULL, &h, "i", 3), 0);
	ck_assert_int_eq(procq_group_submitf(g2, "ident", NULL, NULL, "i", 5),
	    0);
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, NULL, "i", 4),
	    0);
	/* not started: the wait starts it */
	ck_assert_int_eq(procq_group_wait(g, 10, &s), 0);
	ck_assert_uint_eq(procq_summary_count(s), 2);
	ck_assert_uint_eq(procq_summary_failed(s), 1);
	ck_assert_uint_eq(procq_summary_succeeded(s), 1);
	ck_assert_double_ge(procq_summary_duration(s), 0);
	ck_assert_str_eq(procq_result_id(procq_summary_result(s, 0)),
	    procq_handle_id(h));
	ck_assert_ptr_null(procq_summary_by_id(s, procq_handle_id(loose)));
	bg = procq_summary_by_group(s, procq_group_id(g));
	ck_assert_uint_eq(procq_summary_count(bg), 2);
	procq_summary_free(bg);
	procq_summary_free(s);
	procq_group_free(g);
	procq_group_free(g2);
	procq_free(q);
}
END_TEST

START_TEST(test_group_wait_timeout)
{
	procq_queue *q = collect_queue(2);
	procq_group *g;
	procq_handle *fast = NULL, *held = NULL;
	procq_summary *s = NULL;
	struct gate gt;
	double t0, dt;
	int err = 0;

	gate_create(&gt);
	g = procq_group_create(q, NULL, &err);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &fast, "i", 1),
	    0);
	ck_assert_int_eq(procq_group_submitf(g, "gate", NULL, &held, "s",
	    gt.path), 0);
	wait_done(fast, 10);
	ck_assert(gate_enter(&gt, 10));
	t0 = now();
	ck_assert_int_eq(procq_group_wait(g, 0.2, &s), PROCQ_ETIMEDOUT);
	dt = now() - t0;
	ck_assert_double_ge(dt, 0.2 - TIMER_SLACK);
	ck_assert_double_lt(dt, 5);
	/* a summary of those final so far */
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(procq_summary_count(s), 1);
	ck_assert_str_eq(procq_result_id(procq_summary_result(s, 0)),
	    procq_handle_id(fast));
	procq_summary_free(s);
	ck_assert_int_eq(procq_group_wait(g, 0, NULL), PROCQ_ETIMEDOUT);
	gate_release(&gt);
	ck_assert_int_eq(procq_group_wait(g, 10, NULL), 0);
	ck_assert(procq_handle_done(held));
	procq_group_free(g);
	procq_free(q);
	gate_destroy(&gt);
}
END_TEST

START_TEST(test_group_values_ok)
{
	procq_queue *q = collect_queue(2);
	procq_group *g;
	procq_handle *held = NULL;
	const msgpack_object *vals[4];
	procq_summary *fail = NULL;
	struct gate gt;
	size_t i;
	int err = 0;

	gate_create(&gt);
	g = procq_group_create(q, NULL, &err);
	ck_assert_int_eq(procq_start(q), 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(procq_group_submitf(g, "sleep_ret", NULL,
		    NULL, "di", (3 - i) * 0.02, (int)i * 3), 0);
	ck_assert_int_eq(procq_group_submitf(g, "gate_ret", NULL, &held, "si",
	    gt.path, 42), 0);
	ck_assert(gate_enter(&gt, 10));
	for (i = 0; i < 4; i++)
		vals[i] = JUNK;
	ck_assert_int_eq(procq_group_values(g, vals, &fail), PROCQ_ENOTDONE);
	for (i = 0; i < 4; i++)
		ck_assert_ptr_eq(vals[i], JUNK);
	ck_assert_ptr_null(fail);
	gate_release(&gt);
	ck_assert_int_eq(procq_group_wait(g, 10, NULL), 0);
	ck_assert_int_eq(procq_group_values(g, vals, &fail), 0);
	ck_assert_ptr_null(fail);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(obj_int(vals[i]), (long long)i * 3);
		ck_assert_ptr_eq(vals[i], procq_result_value(
		    procq_handle_result(procq_group_handle(g, i))));
	}
	ck_assert_int_eq(obj_int(vals[3]), 42);
	procq_group_free(g);
	procq_free(q);
	gate_destroy(&gt);
}
END_TEST

/* A failed and a cancelled task: PROCQ_ETASK, both in the failures. */
START_TEST(test_group_values_failed)
{
	procq_queue *q = collect_queue(2);
	procq_group *g;
	procq_handle *ok = NULL, *bad = NULL, *gone = NULL;
	const msgpack_object *vals[3];
	procq_summary *fail = NULL;
	const procq_result *r;
	size_t i;
	int err = 0;

	g = procq_group_create(q, NULL, &err);
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &ok, "i", 1), 0);
	ck_assert_int_eq(procq_group_submitf(g, "fail", NULL, &bad, "i", 2), 0);
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &gone, "i", 3),
	    0);
	ck_assert_int_eq(procq_handle_cancel(gone), 0);
	ck_assert_int_eq(procq_group_wait(g, 10, NULL), 0);
	for (i = 0; i < 3; i++)
		vals[i] = JUNK;
	ck_assert_int_eq(procq_group_values(g, vals, &fail), PROCQ_ETASK);
	for (i = 0; i < 3; i++)
		ck_assert_ptr_eq(vals[i], JUNK);
	ck_assert_ptr_nonnull(fail);
	ck_assert_uint_eq(procq_summary_count(fail), 2);
	ck_assert_uint_eq(procq_summary_failed(fail), 1);
	ck_assert_uint_eq(procq_summary_cancelled(fail), 1);
	r = procq_summary_by_id(fail, procq_handle_id(bad));
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(procq_result_error_message(r), "bad 2");
	ck_assert_ptr_nonnull(procq_summary_by_id(fail, procq_handle_id(gone)));
	ck_assert_ptr_null(procq_summary_by_id(fail, procq_handle_id(ok)));
	procq_summary_free(fail);
	procq_group_free(g);
	procq_free(q);
}
END_TEST

/* Cancels what is unfinished (running or queued) and says how many. */
START_TEST(test_group_cancel)
{
	procq_queue *q = collect_queue(1);
	procq_group *g;
	procq_handle *done = NULL, *held = NULL, *queued[2] = { NULL, NULL };
	struct gate gt;
	int err = 0;

	gate_create(&gt);
	g = procq_group_create(q, NULL, &err);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &done, "i", 1),
	    0);
	wait_done(done, 10);
	ck_assert_int_eq(procq_group_submitf(g, "gate", NULL, &held, "s",
	    gt.path), 0);
	ck_assert(gate_enter(&gt, 10));
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &queued[0], "i",
	    2), 0);
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &queued[1], "i",
	    3), 0);
	ck_assert_uint_eq(procq_group_cancel(g), 3);
	ck_assert_int_eq(procq_group_wait(g, 10, NULL), 0);
	ck_assert_int_eq(procq_handle_status(done), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_status(held), PROCQ_CANCELLED);
	/* queued when the group was cancelled: they never ran */
	ck_assert_int_eq(procq_handle_status(queued[0]), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(queued[1]), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_attempts(queued[0]), 0);
	ck_assert_int_eq(procq_handle_attempts(queued[1]), 0);
	ck_assert_uint_eq(procq_group_cancel(g), 0);
	procq_group_free(g);
	procq_free(q);
	gate_destroy(&gt);
}
END_TEST

/* procq_group_next gives the handles in the order they finish. */
START_TEST(test_group_next_order)
{
	procq_queue *q = collect_queue(4);
	procq_group *g;
	procq_handle *hs[3], *pre, *h;
	struct gate gt[3];
	size_t i;
	int err = 0;
	static const int order[3] = { 1, 2, 0 };

	g = procq_group_create(q, NULL, &err);
	ck_assert_int_eq(procq_start(q), 0);
	for (i = 0; i < 3; i++) {
		gate_create(&gt[i]);
		ck_assert_int_eq(procq_group_submitf(g, "gate_ret", NULL,
		    &hs[i], "si", gt[i].path, (int)i), 0);
	}
	pre = submit_ok(q, "ident", NULL, "i", 9);
	wait_done(pre, 10);
	ck_assert_int_eq(procq_group_add(g, pre), 0);
	for (i = 0; i < 3; i++)
		ck_assert(gate_enter(&gt[i], 10));

	/* already final when added: first */
	err = 12345;
	ck_assert_ptr_eq(procq_group_next(g, 0, &err), pre);
	ck_assert_int_eq(err, 0);
	err = 0;
	ck_assert_ptr_null(procq_group_next(g, 0, &err));
	ck_assert_int_eq(err, PROCQ_ETIMEDOUT);
	for (i = 0; i < 3; i++) {
		gate_release(&gt[order[i]]);
		err = 12345;
		h = procq_group_next(g, 10, &err);
		ck_assert_int_eq(err, 0);
		ck_assert_ptr_eq(h, hs[order[i]]);
		ck_assert(procq_handle_done(h));
		ck_assert_int_eq(int_value(h), order[i]);
	}
	err = 12345;
	ck_assert_ptr_null(procq_group_next(g, 10, &err));
	ck_assert_int_eq(err, 0);
	procq_group_free(g);
	procq_free(q);
	for (i = 0; i < 3; i++)
		gate_destroy(&gt[i]);
}
END_TEST

/* Tasks finishing by themselves in another order than submitted, with
 * the forever timeout. */
START_TEST(test_group_next_forever)
{
	procq_queue *q = collect_queue(3);
	procq_group *g;
	procq_handle *hs[3], *h;
	size_t i, n = 0;
	int err = 0, seen[3] = { 0, 0, 0 };

	g = procq_group_create(q, NULL, &err);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(procq_group_submitf(g, "sleep_ret", NULL,
		    &hs[i], "di", 0.3 - i * 0.1, (int)i), 0);
	ck_assert_int_eq(procq_start(q), 0);
	while ((h = procq_group_next(g, PROCQ_FOREVER, &err)) != NULL) {
		int k = index_of(hs, 3, h);

		ck_assert_int_ge(k, 0);
		ck_assert(procq_handle_done(h));
		ck_assert_int_eq(seen[k], 0);
		seen[k] = 1;
		n++;
	}
	ck_assert_int_eq(err, 0);
	ck_assert_uint_eq(n, 3);
	procq_group_free(g);
	procq_free(q);
}
END_TEST

START_TEST(test_group_next_timeout)
{
	procq_queue *q = collect_queue(1);
	procq_group *g;
	struct gate gt;
	double t0, dt;
	int err = 0;

	gate_create(&gt);
	g = procq_group_create(q, NULL, &err);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_group_submitf(g, "gate", NULL, NULL, "s",
	    gt.path), 0);
	ck_assert(gate_enter(&gt, 10));
	t0 = now();
	ck_assert_ptr_null(procq_group_next(g, 0.2, &err));
	dt = now() - t0;
	ck_assert_int_eq(err, PROCQ_ETIMEDOUT);
	ck_assert_double_ge(dt, 0.2 - TIMER_SLACK);
	ck_assert_double_lt(dt, 5);
	gate_release(&gt);
	ck_assert_ptr_nonnull(procq_group_next(g, 10, &err));
	ck_assert_int_eq(err, 0);
	procq_group_free(g);
	procq_free(q);
	gate_destroy(&gt);
}
END_TEST

/* Concurrency 2: while two of the group's tasks are held, the third stays
 * in the backlog although workers are idle; it starts when one ends. */
START_TEST(test_group_concurrency_gates)
{
	procq_queue *q = collect_queue(4);
	procq_group *g;
	procq_handle *hs[3], *probe;
	struct gate gt[3];
	procq_stats st;
	size_t i;
	int err = 0;

	g = procq_group_create(q, &(procq_group_opts){ .concurrency = 2 },
	    &err);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(procq_start(q), 0);
	for (i = 0; i < 3; i++) {
		gate_create(&gt[i]);
		ck_assert_int_eq(procq_group_submitf(g, "gate", NULL, &hs[i],
		    "s", gt[i].path), 0);
	}
	ck_assert(gate_enter(&gt[0], 10));
	ck_assert(gate_enter(&gt[1], 10));
	/* an ungrouped task submitted later runs on an idle worker */
	probe = submit_ok(q, "ident", NULL, "i", 1);
	wait_done(probe, 10);
	ck_assert_int_eq(procq_handle_status(hs[2]), PROCQ_PENDING);
	ck_assert_int_eq(procq_stats_get(q, &st), 0);
	ck_assert_uint_eq(st.active, 2);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_uint_eq(st.scheduled, 1);
	gate_release(&gt[0]);
	ck_assert(gate_enter(&gt[2], 10));
	wait_done(hs[0], 10);
	ck_assert(!procq_handle_done(hs[1]));
	gate_release(&gt[1]);
	gate_release(&gt[2]);
	ck_assert_int_eq(procq_group_wait(g, 10, NULL), 0);
	procq_group_free(g);
	procq_free(q);
	for (i = 0; i < 3; i++)
		gate_destroy(&gt[i]);
}
END_TEST

/* The highest number of [start, end) spans overlapping at one instant. */
static int
max_overlap(const double (*span)[2], size_t n)
{
	size_t i, j;
	int best = 0;

	for (i = 0; i < n; i++) {
		int c = 0;

		for (j = 0; j < n; j++)
			if (span[j][0] <= span[i][0] && span[i][0] < span[j][1])
				c++;
		if (c > best)
			best = c;
	}
	return best;
}

static void
span_of(procq_handle *h, double out[2])
{
	ck_assert_int_eq(procq_handle_value(h, "dd", &out[0], &out[1]), 0);
}

/* Never more than K running at once, measured inside the workers. */
START_TEST(test_group_concurrency_spans)
{
	procq_queue *q = collect_queue(4);
	procq_group *g;
	procq_args args[6];
	double span[6][2];
	size_t i;
	int err = 0;

	g = procq_group_create(q, &(procq_group_opts){ .concurrency = 2 },
	    &err);
	for (i = 0; i < 6; i++)
		args_pack(&args[i], "d", 0.12);
	ck_assert_int_eq(procq_group_map(g, "span", args, 6, NULL), 0);
	args_free(args, 6);
	ck_assert_int_eq(procq_group_wait(g, 20, NULL), 0);
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(procq_handle_status(procq_group_handle(g, i)),
		    PROCQ_SUCCEEDED);
		span_of(procq_group_handle(g, i), span[i]);
	}
	ck_assert_int_le(max_overlap((const double (*)[2])span, 6), 2);
	procq_group_free(g);
	procq_free(q);
}
END_TEST

/* The backlog is admitted in submission order. */
START_TEST(test_group_concurrency_order)
{
	procq_queue *q = collect_queue(3);
	procq_group *g;
	double span[6][2];
	size_t i;
	int err = 0;

	g = procq_group_create(q, &(procq_group_opts){ .concurrency = 1 },
	    &err);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(procq_group_submitf(g, "span", &(procq_opts){
		    .priority = -(int)i }, NULL, "d", 0.01), 0);
	ck_assert_int_eq(procq_group_wait(g, 20, NULL), 0);
	for (i = 0; i < 6; i++) {
		span_of(procq_group_handle(g, i), span[i]);
		if (i > 0)
			ck_assert_msg(span[i][0] >= span[i - 1][1],
			    "task %zu started before task %zu ended", i, i - 1);
	}
	procq_group_free(g);
	procq_free(q);
}
END_TEST

/* A task waiting for its retry still holds its place under the limit. */
START_TEST(test_group_concurrency_retrying)
{
	procq_queue *q = collect_queue(2);
	procq_group *g;
	procq_handle *flaky = NULL, *next = NULL, *probe;
	int err = 0;

	g = procq_group_create(q, &(procq_group_opts){ .concurrency = 1 },
	    &err);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_group_submitf(g, "flaky",
	    &(procq_opts){ .retries = 1, .retry_delay = 30 }, &flaky, "i", 2),
	    0);
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &next, "i", 1),
	    0);
	ck_assert(wait_status(flaky, PROCQ_RETRYING, 10));
	probe = submit_ok(q, "ident", NULL, "i", 2);
	wait_done(probe, 10);
	ck_assert_int_eq(procq_handle_status(next), PROCQ_PENDING);
	ck_assert_int_eq(procq_handle_cancel(flaky), 0);
	wait_done(next, 10);
	ck_assert_int_eq(int_value(next), 1);
	procq_group_free(g);
	procq_free(q);
}
END_TEST

/* Sorts the start times of n span results into starts. */
static void
sorted_starts(procq_group *g, size_t n, double *starts)
{
	double span[2], t;
	size_t i, j;

	for (i = 0; i < n; i++) {
		span_of(procq_group_handle(g, i), span);
		starts[i] = span[0];
		for (j = i; j > 0 && starts[j - 1] > starts[j]; j--) {
			t = starts[j];
			starts[j] = starts[j - 1];
			starts[j - 1] = t;
		}
	}
}

/* Rate 5 per second, burst 1: admission slots 0.2 s apart from the
 * first submission; a start may be late for its slot, never early. */
START_TEST(test_group_rate)
{
	procq_queue *q = collect_queue(4);
	procq_group *g;
	double starts[4], t0;
	size_t i;
	int err = 0;

	start_warm(q, 4);
	g = procq_group_create(q, &(procq_group_opts){ .rate = 5 }, &err);
	ck_assert_ptr_nonnull(g);
	t0 = now();
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(procq_group_submitf(g, "span", NULL, NULL, "d",
		    0.0), 0);
	ck_assert_int_eq(procq_group_wait(g, 20, NULL), 0);
	sorted_starts(g, 4, starts);
	for (i = 1; i < 4; i++)
		ck_assert_msg(starts[i] - t0 >= 0.2 * i - TIMER_SLACK,
		    "start %zu %.3f s after the submissions (starts %.3f %.3f "
		    "%.3f %.3f)", i, starts[i] - t0, starts[0] - t0,
		    starts[1] - t0, starts[2] - t0, starts[3] - t0);
	procq_group_free(g);
	procq_free(q);
}
END_TEST

/* Burst 2 under rate 4: two at once, then slots 0.25 s apart. */
START_TEST(test_group_rate_burst)
{
	procq_queue *q = collect_queue(4);
	procq_group *g;
	double starts[4], t0;
	size_t i;
	int err = 0;

	start_warm(q, 4);
	g = procq_group_create(q, &(procq_group_opts){ .rate = 4, .burst = 2 },
	    &err);
	ck_assert_ptr_nonnull(g);
	t0 = now();
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(procq_group_submitf(g, "span", NULL, NULL, "d",
		    0.0), 0);
	ck_assert_int_eq(procq_group_wait(g, 20, NULL), 0);
	sorted_starts(g, 4, starts);
	ck_assert_msg(starts[2] - t0 >= 0.25 - TIMER_SLACK &&
	    starts[3] - t0 >= 0.5 - TIMER_SLACK,
	    "starts %.3f %.3f %.3f %.3f s after the submissions",
	    starts[0] - t0, starts[1] - t0, starts[2] - t0, starts[3] - t0);
	procq_group_free(g);
	procq_free(q);
}
END_TEST

/* Freeing a group leaves its tasks running and admits its backlog. */
START_TEST(test_group_free_backlog)
{
	procq_queue *q = collect_queue(2);
	procq_group *g;
	procq_handle *held = NULL, *later = NULL;
	struct gate gt;
	int err = 0;

	gate_create(&gt);
	g = procq_group_create(q, &(procq_group_opts){ .concurrency = 1 },
	    &err);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_group_submitf(g, "gate", NULL, &held, "s",
	    gt.path), 0);
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &later, "i", 5),
	    0);
	ck_assert(gate_enter(&gt, 10));
	ck_assert_int_eq(procq_handle_status(later), PROCQ_PENDING);
	procq_group_free(g);
	wait_done(later, 10);
	ck_assert_int_eq(int_value(later), 5);
	ck_assert(!procq_handle_done(held));
	gate_release(&gt);
	wait_done(held, 10);
	ck_assert_int_eq(procq_handle_status(held), PROCQ_SUCCEEDED);
	ck_assert_str_ne(procq_handle_id(held), "");
	procq_free(q);
	gate_destroy(&gt);
}
END_TEST

/* Under a limit of 1: cancelling the running task admits the next one;
 * cancelling the group takes the backlog too, which then never runs. */
START_TEST(test_group_concurrency_cancel)
{
	procq_queue *q = collect_queue(2);
	procq_group *g;
	procq_handle *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	struct gate ga, gb;
	procq_stats st;
	int err = 0;

	gate_create(&ga);
	gate_create(&gb);
	g = procq_group_create(q, &(procq_group_opts){ .concurrency = 1 },
	    &err);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_group_submitf(g, "gate", NULL, &a, "s",
	    ga.path), 0);
	ck_assert_int_eq(procq_group_submitf(g, "gate", NULL, &b, "s",
	    gb.path), 0);
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &c, "i", 3),
	    0);
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &d, "i", 4),
	    0);
	ck_assert(gate_enter(&ga, 10));
	ck_assert_int_eq(procq_stats_get(q, &st), 0);
	ck_assert_uint_eq(st.scheduled, 3);
	ck_assert_int_eq(procq_handle_cancel(a), 0);
	/* a's place goes to b */
	ck_assert(gate_enter(&gb, 10));
	wait_done(a, 10);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(c), PROCQ_PENDING);
	ck_assert_uint_eq(procq_group_cancel(g), 3);
	ck_assert_int_eq(procq_group_wait(g, 10, NULL), 0);
	ck_assert_int_eq(procq_handle_status(b), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(c), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(d), PROCQ_CANCELLED);
	/* in the backlog when the group was cancelled: they never ran */
	ck_assert_int_eq(procq_handle_attempts(c), 0);
	ck_assert_int_eq(procq_handle_attempts(d), 0);
	ck_assert_int_eq(procq_stats_get(q, &st), 0);
	ck_assert_uint_eq(st.scheduled + st.pending + st.active, 0);
	procq_group_free(g);
	procq_free(q);
	gate_destroy(&ga);
	gate_destroy(&gb);
}
END_TEST

/* A future in a group: next, wait and values see it when it is set from
 * another thread. */
START_TEST(test_group_future)
{
	procq_queue *q = collect_queue(1);
	procq_group *g;
	procq_handle *f, *t = NULL;
	struct setter st;
	atomic_int go = 0;
	const msgpack_object *vals[2];
	procq_summary *fail = NULL;
	int err = 0;

	g = procq_group_create(q, NULL, &err);
	ck_assert_int_eq(procq_start(q), 0);
	f = procq_future_create(q, NULL, &err);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(procq_group_add(g, f), 0);
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &t, "i", 1), 0);
	ck_assert_ptr_eq(procq_group_next(g, 10, &err), t);
	setter_start(&st, f, 77, false, &go);
	atomic_store(&go, 1);
	ck_assert_ptr_eq(procq_group_next(g, 10, &err), f);
	ck_assert_int_eq(setter_join(&st), 0);
	ck_assert_int_eq(procq_group_wait(g, 10, NULL), 0);
	ck_assert_int_eq(procq_group_values(g, vals, &fail), 0);
	ck_assert_int_eq(obj_int(vals[0]), 77);
	ck_assert_int_eq(obj_int(vals[1]), 1);
	procq_group_free(g);
	procq_free(q);
}
END_TEST

static Suite *
group_suite(void)
{
	Suite *s = suite_create("collect_group");
	TCase *tc;

	tc = add_tcase(s, "make", 30);
	tcase_add_test(tc, test_group_ids);
	tcase_add_test(tc, test_group_create_invalid);
	tcase_add_test(tc, test_group_fill);
	tcase_add_test(tc, test_group_future);

	tc = add_tcase(s, "collect", 30);
	tcase_add_test(tc, test_group_wait_summary);
	tcase_add_test(tc, test_group_wait_timeout);
	tcase_add_test(tc, test_group_values_ok);
	tcase_add_test(tc, test_group_values_failed);
	tcase_add_test(tc, test_group_cancel);
	tcase_add_test(tc, test_group_next_order);
	tcase_add_test(tc, test_group_next_forever);
	tcase_add_test(tc, test_group_next_timeout);

	tc = add_tcase(s, "limits", 30);
	tcase_add_test(tc, test_group_concurrency_gates);
	tcase_add_test(tc, test_group_concurrency_spans);
	tcase_add_test(tc, test_group_concurrency_order);
	tcase_add_test(tc, test_group_concurrency_retrying);
	tcase_add_test(tc, test_group_concurrency_cancel);
	tcase_add_test(tc, test_group_rate);
	tcase_add_test(tc, test_group_rate_burst);
	tcase_add_test(tc, test_group_free_backlog);
	return s;
}

int
main(void)
{
	return run_suite(group_suite());
}
