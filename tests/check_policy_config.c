/*
 * Queue configuration: validation by procq_create, the size limit and the
 * three submit calls, run modes, the failure policy and its per-run
 * override, run timeouts, and the rate cap.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy_tasks.h"
#include "util.h"

static const struct {
	const char *what;
	procq_config cfg;
} bad_configs[] = {
	{ "workers -1", { .workers = -1 } },
	{ "prefetch -1", { .prefetch = -1 } },
	{ "kill_grace NaN", { .kill_grace = NAN } },
	{ "max_frame 100", { .max_frame = 100 } },
	{ "max_frame 4095", { .max_frame = 4095 } },
	{ "size -1", { .size = -1 } },
	{ "timeout -1", { .timeout = -1 } },
	{ "timeout NaN", { .timeout = NAN } },
	{ "mode 2", { .mode = (procq_mode)2 } },
	{ "mode -1", { .mode = (procq_mode)-1 } },
	{ "fail_policy 3", { .fail_policy = (procq_fail_policy)3 } },
	{ "fail_policy -1", { .fail_policy = (procq_fail_policy)-1 } },
	{ "on_timeout 3", { .on_timeout = (procq_on_timeout)3 } },
	{ "on_timeout -1", { .on_timeout = (procq_on_timeout)-1 } },
	{ "rate -1", { .rate = -1 } },
	{ "rate NaN", { .rate = NAN } },
	{ "burst -1", { .burst = -1 } },
	{ "initargs_len without initargs", { .initargs_len = 3 } },
	{ "initargs truncated", { .initargs = "\x92\x01", .initargs_len = 2 } },
	{ "initargs two values", { .initargs = "\x91\x01\x02",
	    .initargs_len = 3 } },
	{ "max_tasks_per_worker -1", { .max_tasks_per_worker = -1 } },
	{ "max_cpu -1", { .max_cpu = -1 } },
	{ "max_cpu NaN", { .max_cpu = NAN } },
};

START_TEST(test_config_invalid)
{
	procq_queue *q;
	size_t i;
	int err;

	for (i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
		err = 12345;
		q = test_create(&bad_configs[i].cfg, &err);
		ck_assert_msg(q == NULL, "%s: queue created", bad_configs[i].what);
		ck_assert_msg(err == PROCQ_EINVAL, "%s: %s", bad_configs[i].what,
		    procq_strerror(err));
		ck_assert_ptr_null(test_create(&bad_configs[i].cfg, NULL));
	}
	if (SIZE_MAX > UINT32_MAX) {
		err = 0;
		q = test_create(&(procq_config){
		    .max_frame = (size_t)UINT32_MAX + 1 }, &err);
		ck_assert_ptr_null(q);
		ck_assert_int_eq(err, PROCQ_EINVAL);
	}
}
END_TEST

/* The limits of the valid ranges are accepted, and the defaults work. */
START_TEST(test_config_valid_bounds)
{
	const procq_config good[] = {
		{ 0 },
		{ .max_frame = 4096 },
		{ .max_frame = UINT32_MAX },
		{ .kill_grace = -1 },
		{ .initargs = "\x91\x07", .initargs_len = 2 },
		{ .initargs = "\x90", .initargs_len = 1 },
		{ .mode = PROCQ_MODE_INFINITE, .fail_policy = PROCQ_FAIL_FIRST,
		  .on_timeout = PROCQ_ON_TIMEOUT_CANCEL },
		{ .fail_policy = PROCQ_FAIL_CONTINUE,
		  .on_timeout = PROCQ_ON_TIMEOUT_COMPLETE },
		{ .size = 1, .timeout = 0.5, .rate = 0.5, .burst = 3,
		  .max_tasks_per_worker = 1, .max_cpu = 0.5 },
	};
	procq_queue *q;
	size_t i;
	int err;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		err = 12345;
		q = test_create(&good[i], &err);
		ck_assert_msg(q != NULL, "config %zu: %s", i, procq_strerror(err));
		ck_assert_int_eq(err, 0);
		procq_free(q);
	}
	q = test_create(NULL, &err);
	ck_assert_ptr_nonnull(q);
	procq_free(q);
}
END_TEST

/* workers = 0 means one per online CPU. */
START_TEST(test_config_workers_default)
{
	procq_queue *q = policy_queue(&(procq_config){ 0 });
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	ck_assert_int_gt(cpus, 0);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_msg(wait_workers(q, (int)cpus, 10), "%d workers, %ld CPUs",
	    stats_of(q).workers, cpus);
	procq_free(q);
}
END_TEST

/* A submit on a thread of its own. */
struct submitter {
	pthread_t thread;
	procq_queue *q;
	double timeout;		/* < 0: procq_submit, else submit_timeout */
	procq_handle *h;
	int rc;
	atomic_int done;
};

static void *
submitter_main(void *arg)
{
	struct submitter *sb = arg;
	procq_args args;

	args_pack(&args, "i", 7);
	if (sb->timeout < 0)
		sb->rc = procq_submit(sb->q, "ident", args.data, args.len, NULL,
		    &sb->h);
	else
		sb->rc = procq_submit_timeout(sb->q, "ident", args.data,
		    args.len, NULL, sb->timeout, &sb->h);
	args_free(&args, 1);
	atomic_store(&sb->done, 1);
	return NULL;
}

static void
submitter_start(struct submitter *sb, procq_queue *q, double timeout)
{
	memset(sb, 0, sizeof *sb);
	sb->q = q;
	sb->timeout = timeout;
	atomic_init(&sb->done, 0);
	ck_assert_int_eq(pthread_create(&sb->thread, NULL, submitter_main, sb),
	    0);
}

static int
submitter_join(struct submitter *sb, double timeout)
{
	ck_assert_msg(wait_until(flag_is_set, &sb->done, timeout),
	    "the submit did not return within %.1f s", timeout);
	pthread_join(sb->thread, NULL);
	return sb->rc;
}

/* A full queue: a running gate task and a queued one, with size 2. */
static procq_queue *
full_queue(struct gate *g, procq_handle **hg, procq_handle **hq)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .size = 2 });

	ck_assert_int_eq(procq_start(q), 0);
	*hg = submit_ok(q, "gate", NULL, "s", g->path);
	ck_assert(gate_enter(g, 10));
	*hq = submit_ok(q, "ident", NULL, "i", 1);
	ck_assert_uint_eq(procq_active(q), 1);
	ck_assert_uint_eq(procq_pending(q), 1);
	return q;
}

START_TEST(test_size_try_and_timeout)
{
	struct gate g;
	procq_handle *hg, *hq, *h = NULL;
	procq_queue *q;
	procq_args args;
	double t0, dt;
	int rc;

	gate_create(&g);
	q = full_queue(&g, &hg, &hq);
	args_pack(&args, "i", 2);

	t0 = now();
	rc = procq_try_submit(q, "ident", args.data, args.len, NULL, &h);
	dt = now() - t0;
	ck_assert_int_eq(rc, PROCQ_EFULL);
	ck_assert_msg(dt < 1.0, "try_submit took %.3f s", dt);

	t0 = now();
	rc = procq_submit_timeout(q, "ident", args.data, args.len, NULL, 0.3,
	    &h);
	dt = now() - t0;
	ck_assert_int_eq(rc, PROCQ_EFULL);
	ck_assert_msg(dt >= 0.3 - TIMER_SLACK, "submit_timeout gave up after "
	    "%.3f s", dt);
	ck_assert_double_lt(dt, 5);
	/* nothing was added */
	ck_assert_uint_eq(procq_pending(q), 1);

	/* room again */
	gate_release(&g);
	wait_done(hq, 10);
	rc = procq_try_submit(q, "ident", args.data, args.len, NULL, &h);
	ck_assert_int_eq(rc, 0);
	wait_done(h, 10);
	ck_assert_int_eq(int_value(h), 2);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_SUCCEEDED);
	args_free(&args, 1);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/* A blocking submit waits while the queue is full, and goes through as
 * soon as a task finishes. */
START_TEST(test_size_blocks)
{
	struct gate g;
	struct submitter sb, st;
	procq_handle *hg, *hq;
	procq_queue *q;

	gate_create(&g);
	q = full_queue(&g, &hg, &hq);
	submitter_start(&sb, q, -1);
	submitter_start(&st, q, 30);
	ck_assert_msg(!wait_until(flag_is_set, &sb.done, 0.3),
	    "procq_submit returned %s on a full queue", procq_strerror(sb.rc));
	ck_assert_msg(!atomic_load(&st.done),
	    "procq_submit_timeout returned %s on a full queue",
	    procq_strerror(st.rc));
	ck_assert_uint_eq(procq_pending(q), 1);

	/* the gate task and the queued one finish: room for both */
	gate_release(&g);
	ck_assert_int_eq(submitter_join(&sb, 10), 0);
	ck_assert_int_eq(submitter_join(&st, 10), 0);
	ck_assert_ptr_nonnull(sb.h);
	ck_assert_ptr_nonnull(st.h);
	ck_assert_int_eq(procq_join(q, 10), 0);
	ck_assert_int_eq(int_value(sb.h), 7);
	ck_assert_int_eq(int_value(st.h), 7);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_status(hq), PROCQ_SUCCEEDED);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/* A submit blocked for room gives up when the queue is shut down. */
START_TEST(test_size_closed_while_blocked)
{
	struct gate g;
	struct submitter sb;
	procq_handle *hg, *hq;
	procq_queue *q;

	gate_create(&g);
	q = full_queue(&g, &hg, &hq);
	submitter_start(&sb, q, -1);
	ck_assert(!wait_until(flag_is_set, &sb.done, 0.2));
	ck_assert_int_eq(procq_cancel(q), 0);
	ck_assert_int_eq(submitter_join(&sb, 10), PROCQ_ECLOSED);
	ck_assert_ptr_null(sb.h);
	wait_done(hg, 10);
	wait_done(hq, 10);
	ck_assert_int_eq(procq_handle_status(hq), PROCQ_CANCELLED);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/* Infinite mode: the run keeps going while other threads submit, until
 * the queue is shut down. */
START_TEST(test_mode_infinite_shutdown)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 2,
	    .mode = PROCQ_MODE_INFINITE });
	struct run_thread rt;
	procq_handle *h[5];
	int i;

	run_thread_start(&rt, q, NULL);
	for (i = 0; i < 3; i++)
		h[i] = submit_ok(q, "ident", NULL, "i", i);
	for (i = 0; i < 3; i++)
		wait_done(h[i], 10);
	ck_assert_msg(!wait_until(run_thread_returned, &rt, 0.2),
	    "an infinite run returned %s with nothing left",
	    procq_strerror(rt.rc));
	for (i = 3; i < 5; i++)
		h[i] = submit_ok(q, "ident", NULL, "i", i);
	for (i = 3; i < 5; i++)
		wait_done(h[i], 10);
	ck_assert(!run_thread_returned(&rt));
	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	ck_assert_int_eq(run_thread_join(&rt, 10), 0);
	ck_assert_ptr_nonnull(rt.summary);
	ck_assert_uint_eq(procq_summary_submitted(rt.summary), 5);
	ck_assert_uint_eq(procq_summary_succeeded(rt.summary), 5);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(int_value(h[i]), i);
	procq_summary_free(rt.summary);
	procq_free(q);
}
END_TEST

START_TEST(test_mode_infinite_cancel)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .mode = PROCQ_MODE_INFINITE });
	struct run_thread rt;
	struct gate g;
	procq_handle *hg;

	gate_create(&g);
	run_thread_start(&rt, q, NULL);
	hg = submit_ok(q, "gate", NULL, "s", g.path);
	ck_assert(gate_enter(&g, 10));
	ck_assert(!run_thread_returned(&rt));
	ck_assert_int_eq(procq_cancel(q), 0);
	ck_assert(procq_closed(q));
	ck_assert_int_eq(run_thread_join(&rt, 10), 0);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_CANCELLED);
	ck_assert_uint_eq(procq_summary_cancelled(rt.summary), 1);
	procq_summary_free(rt.summary);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/* An infinite run with a timeout ends on the timeout. */
START_TEST(test_mode_infinite_timeout)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .mode = PROCQ_MODE_INFINITE });
	procq_summary *s = NULL;
	procq_handle *h;
	double t0 = now();

	h = submit_ok(q, "ident", NULL, "i", 1);
	ck_assert_int_eq(procq_run(q, &(procq_run_opts){ .timeout = 0.3 }, &s),
	    PROCQ_ETIMEDOUT);
	ck_assert_double_ge(now() - t0, 0.3 - TIMER_SLACK);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(procq_summary_succeeded(s), 1);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	ck_assert(!procq_closed(q));
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

/*
 * One worker with a prefetch of 1, a failing task first (priority -1, one
 * retry) and three more behind it: when it fails, the others are still
 * queued (a larger window could have sent them ahead to the worker).  On a
 * started queue a detached gate task (left out of run summaries) holds
 * the worker until the whole batch is queued.
 */
static procq_handle *
submit_fail_batch(procq_queue *q, procq_handle *rest[3])
{
	bool started = stats_of(q).workers > 0;
	procq_handle *f, *hg = NULL;
	struct gate g;

	if (started) {
		gate_create(&g);
		hg = submit_ok(q, "gate", &(procq_opts){ .detached = true },
		    "s", g.path);
		ck_assert(gate_enter(&g, 10));
	}
	f = submit_ok(q, "fail", &(procq_opts){ .priority = -1,
	    .retries = 1 }, "i", 9);
	for (int i = 0; i < 3; i++)
		rest[i] = submit_ok(q, "ident", NULL, "i", i);
	if (started) {
		gate_release(&g);
		wait_done(hg, 10);
		ck_assert_int_eq(procq_handle_status(hg), PROCQ_SUCCEEDED);
		gate_destroy(&g);
	}
	return f;
}

static void
assert_failed_first(procq_handle *f, procq_handle *rest[3],
    procq_summary *s, bool cancelled)
{
	ck_assert_int_eq(procq_handle_status(f), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_attempts(f), 2);
	ck_assert_str_eq(procq_handle_error_message(f), "bad 9");
	for (int i = 0; i < 3; i++) {
		if (cancelled) {
			ck_assert_msg(procq_handle_status(rest[i]) ==
			    PROCQ_CANCELLED, "task %d ended %s", i,
			    procq_status_name(procq_handle_status(rest[i])));
			ck_assert_int_eq(procq_handle_attempts(rest[i]), 0);
		} else {
			ck_assert_msg(procq_handle_status(rest[i]) ==
			    PROCQ_SUCCEEDED, "task %d ended %s", i,
			    procq_status_name(procq_handle_status(rest[i])));
			ck_assert_int_eq(int_value(rest[i]), i);
		}
	}
	ck_assert_uint_eq(procq_summary_submitted(s), 4);
	ck_assert_uint_eq(procq_summary_failed(s), 1);
	ck_assert_uint_eq(procq_summary_cancelled(s), cancelled ? 3 : 0);
	ck_assert_uint_eq(procq_summary_succeeded(s), cancelled ? 0 : 3);
}

START_TEST(test_fail_continue_default)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .prefetch = 1 });
	procq_handle *f, *rest[3];
	procq_summary *s = NULL;

	f = submit_fail_batch(q, rest);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	assert_failed_first(f, rest, s, false);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

START_TEST(test_fail_first)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .prefetch = 1, .fail_policy = PROCQ_FAIL_FIRST });
	procq_handle *f, *rest[3], *later;
	procq_summary *s = NULL;

	f = submit_fail_batch(q, rest);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	assert_failed_first(f, rest, s, true);
	procq_summary_free(s);
	/* tasks submitted afterwards are not affected */
	later = submit_ok(q, "ident", NULL, "i", 5);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_status(later), PROCQ_SUCCEEDED);
	procq_free(q);
}
END_TEST

/* The run's policy overrides the queue's, for that run only. */
START_TEST(test_fail_first_run_override)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .prefetch = 1, .fail_policy = PROCQ_FAIL_CONTINUE });
	procq_handle *f, *rest[3];
	procq_summary *s = NULL;

	f = submit_fail_batch(q, rest);
	ck_assert_int_eq(procq_run(q, &(procq_run_opts){
	    .fail_policy = PROCQ_FAIL_FIRST }, &s), 0);
	assert_failed_first(f, rest, s, true);
	procq_summary_free(s);

	f = submit_fail_batch(q, rest);
	ck_assert_int_eq(procq_run(q, &(procq_run_opts){
	    .fail_policy = PROCQ_FAIL_DEFAULT }, &s), 0);
	assert_failed_first(f, rest, s, false);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

START_TEST(test_fail_continue_run_override)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .prefetch = 1, .fail_policy = PROCQ_FAIL_FIRST });
	procq_handle *f, *rest[3];
	procq_summary *s = NULL;

	f = submit_fail_batch(q, rest);
	ck_assert_int_eq(procq_run(q, &(procq_run_opts){
	    .fail_policy = PROCQ_FAIL_CONTINUE }, &s), 0);
	assert_failed_first(f, rest, s, false);
	procq_summary_free(s);

	f = submit_fail_batch(q, rest);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	assert_failed_first(f, rest, s, true);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

/* config.timeout is the default run timeout. */
START_TEST(test_config_timeout)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .timeout = 0.3 });
	procq_summary *s = NULL;
	struct gate g;
	procq_handle *hg;
	double t0, dt;

	gate_create(&g);
	hg = submit_ok(q, "gate", NULL, "s", g.path);
	t0 = now();
	ck_assert_int_eq(procq_run(q, NULL, &s), PROCQ_ETIMEDOUT);
	dt = now() - t0;
	ck_assert_msg(dt >= 0.3 - TIMER_SLACK, "the run ended after %.3f s",
	    dt);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(procq_summary_cancelled(s), 1);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_CANCELLED);
	procq_summary_free(s);

	/* the run's own timeout wins */
	hg = submit_ok(q, "gate", NULL, "s", g.path);
	t0 = now();
	ck_assert_int_eq(procq_run(q, &(procq_run_opts){ .timeout = 0.6 },
	    NULL), PROCQ_ETIMEDOUT);
	dt = now() - t0;
	ck_assert_msg(dt >= 0.6 - TIMER_SLACK, "the run ended after %.3f s",
	    dt);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_CANCELLED);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/*
 * on_timeout: the default is "complete" (must_complete tasks finish before
 * the run returns), "cancel" cancels them too.
 */
static void
on_timeout_case(procq_on_timeout mode, bool spared)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 2,
	    .on_timeout = mode });
	procq_summary *s = NULL;
	procq_handle *hg, *hm;
	struct gate g;
	double t0, dt;

	gate_create(&g);
	hg = submit_ok(q, "gate", NULL, "s", g.path);
	hm = submit_ok(q, "sleep", &(procq_opts){ .must_complete = true }, "d",
	    0.6);
	t0 = now();
	ck_assert_int_eq(procq_run(q, &(procq_run_opts){ .timeout = 0.2 }, &s),
	    PROCQ_ETIMEDOUT);
	dt = now() - t0;
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_CANCELLED);
	if (spared) {
		ck_assert_int_eq(procq_handle_status(hm), PROCQ_SUCCEEDED);
		ck_assert_msg(dt >= 0.6 - TIMER_SLACK, "the run returned after "
		    "%.3f s, before its must_complete task", dt);
		ck_assert_uint_eq(procq_summary_succeeded(s), 1);
		ck_assert_uint_eq(procq_summary_cancelled(s), 1);
	} else {
		ck_assert_int_eq(procq_handle_status(hm), PROCQ_CANCELLED);
		ck_assert_uint_eq(procq_summary_cancelled(s), 2);
	}
	ck_assert_double_ge(dt, 0.2 - TIMER_SLACK);
	procq_summary_free(s);
	procq_free(q);
	gate_destroy(&g);
}

START_TEST(test_on_timeout_default)
{
	on_timeout_case(PROCQ_ON_TIMEOUT_DEFAULT, true);
}
END_TEST

START_TEST(test_on_timeout_cancel)
{
	on_timeout_case(PROCQ_ON_TIMEOUT_CANCEL, false);
}
END_TEST

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* When the supervisor started each task: what the rate gate decides.
 * A worker's own clock would add its delay in beginning the task, which
 * under valgrind on a loaded machine reaches tens of milliseconds. */
struct start_log {
	pthread_mutex_t	lock;
	double		t[16];
	int		n;
};

static void
start_logged(procq_handle *h, void *arg)
{
	struct start_log *log = arg;
	struct timespec ts;

	(void)h;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&log->lock);
	if (log->n < 16)
		log->t[log->n++] = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	pthread_mutex_unlock(&log->lock);
}

/* Start times of n "stamp" tasks, sorted, on a queue with warm workers. */
static void
rate_stamps(const procq_config *base, double *stamps, int n)
{
	struct start_log log = { .lock = PTHREAD_MUTEX_INITIALIZER };
	procq_config cfg = *base;
	procq_queue *q;

	ck_assert_int_le(n, 16);
	cfg.on_start = start_logged;
	cfg.hook_arg = &log;
	q = policy_queue(&cfg);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(wait_workers(q, cfg.workers, 10));
	for (int i = 0; i < n; i++)
		submit_ok(q, "stamp", NULL, "");
	ck_assert_int_eq(procq_join(q, 30), 0);
	procq_free(q);	/* every hook has run */
	ck_assert_int_eq(log.n, n);
	memcpy(stamps, log.t, (size_t)n * sizeof *stamps);
	qsort(stamps, (size_t)n, sizeof *stamps, cmp_double);
}

/* rate 20/s, burst 1: ten starts take at least 9 intervals. */
START_TEST(test_rate)
{
	double st[10];

	rate_stamps(&(procq_config){ .workers = 4, .rate = 20, .burst = 1 },
	    st, 10);
	ck_assert_msg(st[9] - st[0] >= 0.4, "10 tasks started within %.3f s "
	    "at 20 per second", st[9] - st[0]);
}
END_TEST

/* rate 2/s, burst 3: three start at once, the fourth waits a slot. */
START_TEST(test_rate_burst)
{
	double st[4];

	rate_stamps(&(procq_config){ .workers = 4, .rate = 2, .burst = 3 },
	    st, 4);
	ck_assert_msg(st[2] - st[0] < 0.45, "the burst of 3 was spread over "
	    "%.3f s", st[2] - st[0]);
	ck_assert_msg(st[3] - st[0] >= 0.4, "the 4th task started %.3f s "
	    "after the 1st at 2 per second", st[3] - st[0]);
}
END_TEST

/* A retry takes a slot of its own. */
START_TEST(test_rate_retry)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .rate = 5, .burst = 1 });
	procq_handle *h;
	double t0;

	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(wait_workers(q, 1, 10));
	t0 = now();
	h = submit_ok(q, "flaky", &(procq_opts){ .retries = 2 }, "i", 3);
	wait_done(h, 10);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	ck_assert_int_eq(int_value(h), 3);
	ck_assert_msg(now() - t0 >= 0.4 - TIMER_SLACK, "3 attempts within "
	    "%.3f s at 5 per second", now() - t0);
	procq_free(q);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("policy_config");
	TCase *tc;

	tc = add_tcase(s, "validation", 30);
	tcase_add_test(tc, test_config_invalid);
	tcase_add_test(tc, test_config_valid_bounds);
	tcase_add_test(tc, test_config_workers_default);

	tc = add_tcase(s, "size", 30);
	tcase_add_test(tc, test_size_try_and_timeout);
	tcase_add_test(tc, test_size_blocks);
	tcase_add_test(tc, test_size_closed_while_blocked);

	tc = add_tcase(s, "mode", 30);
	tcase_add_test(tc, test_mode_infinite_shutdown);
	tcase_add_test(tc, test_mode_infinite_cancel);
	tcase_add_test(tc, test_mode_infinite_timeout);

	tc = add_tcase(s, "fail_policy", 30);
	tcase_add_test(tc, test_fail_continue_default);
	tcase_add_test(tc, test_fail_first);
	tcase_add_test(tc, test_fail_first_run_override);
	tcase_add_test(tc, test_fail_continue_run_override);

	tc = add_tcase(s, "run_timeout", 30);
	tcase_add_test(tc, test_config_timeout);
	tcase_add_test(tc, test_on_timeout_default);
	tcase_add_test(tc, test_on_timeout_cancel);

	tc = add_tcase(s, "rate", 30);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_rate_burst);
	tcase_add_test(tc, test_rate_retry);
	return s;
}

int
main(void)
{
	return run_suite(config_suite());
}
