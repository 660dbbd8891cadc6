/*
 * Fan-out: procq_map, procq_pmap, procq_race and bound tasks.
 */
#include "config.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect_tasks.h"
#include "util.h"

#define N_MAP 8

/* handles[i] belongs to args[i], whatever order the tasks finish in. */
START_TEST(test_map_order)
{
	procq_queue *q = collect_queue(4);
	procq_args args[N_MAP];
	procq_handle *hs[N_MAP];
	size_t i, j;

	for (i = 0; i < N_MAP; i++)
		args_pack(&args[i], "di", (N_MAP - 1 - i) * 0.03, (int)i);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_map(q, "sleep_ret", args, N_MAP, NULL, hs), 0);
	args_free(args, N_MAP);
	for (i = 0; i < N_MAP; i++) {
		ck_assert_ptr_nonnull(hs[i]);
		for (j = 0; j < i; j++)
			ck_assert_ptr_ne(hs[i], hs[j]);
	}
	for (i = 0; i < N_MAP; i++) {
		wait_done(hs[i], 10);
		ck_assert_int_eq(procq_handle_status(hs[i]), PROCQ_SUCCEEDED);
		ck_assert_int_eq(int_value(hs[i]), (int)i);
		ck_assert_str_eq(procq_handle_name(hs[i]), "sleep_ret");
	}
	procq_free(q);
}
END_TEST

/* NULL/0 arguments are an empty tuple; the options apply to every task. */
START_TEST(test_map_no_args_opts)
{
	procq_queue *q = collect_queue(2);
	procq_args args[3] = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
	procq_handle *hs[3];
	procq_summary *s = NULL;
	size_t i;

	ck_assert_int_eq(procq_map(q, "whoami", args, 3,
	    &(procq_opts){ .name = "who", .group = "mapped" }, hs), 0);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_succeeded(s), 3);
	for (i = 0; i < 3; i++) {
		char *name = NULL, *id = NULL;
		int attempt = 0;

		ck_assert_int_eq(procq_handle_status(hs[i]), PROCQ_SUCCEEDED);
		ck_assert_str_eq(procq_handle_name(hs[i]), "who");
		ck_assert_str_eq(procq_result_group(
		    procq_handle_result(hs[i])), "mapped");
		ck_assert_int_eq(procq_handle_value(hs[i], "ssi", &name, &id,
		    &attempt), 0);
		ck_assert_str_eq(id, procq_handle_id(hs[i]));
		free(name);
		free(id);
	}
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

static bool
all_null(procq_handle **hs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (hs[i] != NULL)
			return false;
	return true;
}

static void
fill_junk(procq_handle **hs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		hs[i] = (procq_handle *)(uintptr_t)0x1;
}

/* A bad argument tuple in the middle: no task of the call is submitted
 * (all are checked, then posted as one batch), every handle is NULL. */
START_TEST(test_map_error_cancels)
{
	procq_queue *q = collect_queue(2);
	char path[64];
	procq_args args[5];
	procq_handle *hs[5], *probe;
	procq_summary *s = NULL;
	procq_stats st;
	size_t i;

	make_tmpfile(path, sizeof path);
	for (i = 0; i < 5; i++)
		args_pack(&args[i], "s", path);
	/* bytes announced, none given */
	free((void *)args[3].data);
	args[3].data = NULL;
	args[3].len = 5;
	fill_junk(hs, 5);
	ck_assert_int_eq(procq_map(q, "marker", args, 5, NULL, hs),
	    PROCQ_EINVAL);
	ck_assert(all_null(hs, 5));
	ck_assert_int_eq(procq_stats_get(q, &st), 0);
	ck_assert_uint_eq(st.pending + st.active + st.scheduled, 0);
	ck_assert_uint_eq(st.completed, 0);	/* not even cancelled */

	/* not an array */
	free((void *)args[1].data);
	args[1].data = malloc(1);
	memcpy((void *)args[1].data, "\x07", 1);
	args[1].len = 1;
	fill_junk(hs, 5);
	ck_assert_int_eq(procq_map(q, "marker", args, 5, NULL, hs),
	    PROCQ_EINVAL);
	ck_assert(all_null(hs, 5));

	probe = submit_ok(q, "marker", NULL, "s", path);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_int_eq(procq_handle_status(probe), PROCQ_SUCCEEDED);
	/* only the probe ran */
	ck_assert_int_eq(file_size(path), 1);
	ck_assert_uint_eq(procq_summary_succeeded(s), 1);
	procq_summary_free(s);
	args_free(&args[0], 3);
	args_free(&args[4], 1);
	unlink(path);
	procq_free(q);
}
END_TEST

/*
 * A large map is posted in chunks, so that its first tasks run while the
 * rest are made; its arguments are all checked first, so a bad last one
 * still submits nothing, on a started queue.
 */
#define N_LARGE 3000

START_TEST(test_map_large_bad_last)
{
	procq_queue *q = collect_queue(2);
	char path[64];
	procq_args *args = calloc(N_LARGE, sizeof *args);
	procq_handle **hs = calloc(N_LARGE, sizeof *hs);
	procq_stats st;

	ck_assert(args != NULL && hs != NULL);
	make_tmpfile(path, sizeof path);
	start_warm(q, 2);
	for (size_t i = 0; i < N_LARGE; i++)
		args_pack(&args[i], "s", path);
	free((void *)args[N_LARGE - 1].data);
	args[N_LARGE - 1].data = NULL; /* bytes announced, none given */
	ck_assert_int_eq(procq_map(q, "marker", args, N_LARGE, NULL, hs),
	    PROCQ_EINVAL);
	ck_assert(all_null(hs, N_LARGE));
	ck_assert_int_eq(procq_join(q, 30), 0);
	ck_assert_int_eq(procq_stats_get(q, &st), 0);
	ck_assert_uint_eq(st.completed, 0); /* not even cancelled */
	ck_assert_int_eq(file_size(path), 0);
	args_free(args, N_LARGE - 1);
	free(args);
	free(hs);
	unlink(path);
	procq_free(q);
}
END_TEST

static void
count_complete(procq_handle *h, const procq_result *r, void *arg)
{
	(void)h;
	(void)r;
	atomic_fetch_add((atomic_size_t *)arg, 1);
}

#define N_HUGE 100000

/* Tasks of a large map run before procq_map() returns: the first chunks
 * are posted while the rest are made.  (Posted whole at the end, none had
 * ended; how many have is a matter of speed: 485 in a run under
 * AddressSanitizer, thousands in a plain build.) */
START_TEST(test_map_large_runs_early)
{
	atomic_size_t done = 0;
	procq_config cfg = { .workers = 2,
		.on_complete = count_complete,
		.hook_arg = &done };
	procq_queue *q = collect_queue_config(&cfg);
	procq_args *args = calloc(N_HUGE, sizeof *args);
	procq_handle **hs = calloc(N_HUGE, sizeof *hs);
	size_t early;

	ck_assert(args != NULL && hs != NULL);
	start_warm(q, 2);
	for (size_t i = 0; i < N_HUGE; i++)
		args_pack(&args[i], "i", (int)i);
	ck_assert_int_eq(procq_map(q, "ident", args, N_HUGE, NULL, hs), 0);
	early = atomic_load(&done);
	ck_assert_int_eq(procq_join(q, 120), 0);
	for (size_t i = 0; i < N_HUGE; i += 997)
		ck_assert_int_eq(int_value(hs[i]), (int)i);
	ck_assert_uint_eq(atomic_load(&done), N_HUGE);
	ck_assert_msg(early > 0,
	    "%zu of %d tasks had ended when "
	    "procq_map() returned",
	    early, N_HUGE);
	args_free(args, N_HUGE);
	free(args);
	free(hs);
	procq_free(q);
}
END_TEST

START_TEST(test_map_errors)
{
	procq_queue *q = collect_queue(1);
	procq_args args[2];
	procq_handle *hs[2];

	args_pack(&args[0], "i", 1);
	args_pack(&args[1], "i", 2);
	fill_junk(hs, 2);
	ck_assert_int_eq(procq_map(q, "no-such-task", args, 2, NULL, hs),
	    PROCQ_ENOTASK);
	ck_assert(all_null(hs, 2));
	fill_junk(hs, 2);
	ck_assert_int_eq(procq_map(q, "ident", args, 2,
	    &(procq_opts){ .retries = -1 }, hs), PROCQ_EINVAL);
	ck_assert(all_null(hs, 2));
	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	fill_junk(hs, 2);
	ck_assert_int_eq(procq_map(q, "ident", args, 2, NULL, hs),
	    PROCQ_ECLOSED);
	ck_assert(all_null(hs, 2));
	args_free(args, 2);
	procq_free(q);
}
END_TEST

/* With a size limit the map waits for room instead of failing. */
START_TEST(test_map_blocks_on_size)
{
	procq_queue *q = collect_queue_config(&(procq_config){ .workers = 2,
	    .size = 2 });
	procq_args args[6];
	procq_handle *hs[6];
	size_t i;

	for (i = 0; i < 6; i++)
		args_pack(&args[i], "di", 0.02, (int)i);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_map(q, "sleep_ret", args, 6, NULL, hs), 0);
	args_free(args, 6);
	for (i = 0; i < 6; i++) {
		wait_done(hs[i], 10);
		ck_assert_int_eq(int_value(hs[i]), (int)i);
	}
	procq_free(q);
}
END_TEST

/* Results in input order, though later inputs finish first. */
START_TEST(test_pmap_ordered)
{
	procq_args args[N_MAP];
	procq_summary *s = NULL;
	size_t i;

	for (i = 0; i < N_MAP; i++)
		args_pack(&args[i], "id", (int)i, (N_MAP - 1 - i) * 0.03);
	ck_assert_int_eq(procq_pmap("sq", collect_square, args, N_MAP,
	    &(procq_config){ .workers = 4 }, &(procq_opts){ .group = "pm" },
	    &s), 0);
	args_free(args, N_MAP);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(procq_summary_count(s), N_MAP);
	ck_assert_uint_eq(procq_summary_succeeded(s), N_MAP);
	ck_assert(procq_summary_ok(s));
	ck_assert_double_ge(procq_summary_duration(s), 0);
	for (i = 0; i < N_MAP; i++) {
		const procq_result *r = procq_summary_result(s, i);

		ck_assert_int_eq(procq_result_status(r), PROCQ_SUCCEEDED);
		ck_assert_int_eq(obj_int(procq_result_value(r)),
		    (long long)(i * i));
		ck_assert_str_eq(procq_result_task(r), "sq");
		ck_assert_str_eq(procq_result_group(r), "pm");
	}
	procq_summary_free(s);
}
END_TEST

/* NULL config: defaults. */
START_TEST(test_pmap_defaults)
{
	procq_args args[3];
	procq_summary *s = NULL;
	size_t i;

	for (i = 0; i < 3; i++)
		args_pack(&args[i], "id", (int)i + 1, 0.0);
	ck_assert_int_eq(procq_pmap("sq", collect_square, args, 3, NULL, NULL,
	    &s), 0);
	args_free(args, 3);
	ck_assert_uint_eq(procq_summary_count(s), 3);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(obj_int(procq_result_value(
		    procq_summary_result(s, i))),
		    (long long)((i + 1) * (i + 1)));
	procq_summary_free(s);
}
END_TEST

/* A failure: PROCQ_ETASK, and still every result in input order. */
START_TEST(test_pmap_failure)
{
	procq_args args[6];
	procq_summary *s = NULL;
	const procq_result *r;
	size_t i;

	for (i = 0; i < 6; i++)
		args_pack(&args[i], "id", i == 2 ? -1 : i == 4 ? -4 : (int)i,
		    (6 - i) * 0.01);
	ck_assert_int_eq(procq_pmap("sq", collect_square, args, 6,
	    &(procq_config){ .workers = 3 }, NULL, &s), PROCQ_ETASK);
	args_free(args, 6);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(procq_summary_count(s), 6);
	ck_assert_uint_eq(procq_summary_failed(s), 2);
	ck_assert_uint_eq(procq_summary_succeeded(s), 4);
	ck_assert(!procq_summary_ok(s));
	for (i = 0; i < 6; i++) {
		r = procq_summary_result(s, i);
		if (i == 2 || i == 4) {
			ck_assert_int_eq(procq_result_status(r), PROCQ_FAILED);
			ck_assert_str_eq(procq_result_error_type(r),
			    "ValueError");
			ck_assert_str_eq(procq_result_error_message(r),
			    i == 2 ? "negative -1" : "negative -4");
		} else {
			ck_assert_int_eq(procq_result_status(r),
			    PROCQ_SUCCEEDED);
			ck_assert_int_eq(obj_int(procq_result_value(r)),
			    (long long)(i * i));
		}
	}
	procq_summary_free(s);
}
END_TEST

struct pmap_thread {
	pthread_t	 thread;
	procq_args	*args;
	size_t		 n;
	procq_config	 cfg;
	procq_summary	*s;
	int		 rc;
};

static void *
pmap_main(void *arg)
{
	struct pmap_thread *pt = arg;

	pt->rc = procq_pmap("sq", collect_square, pt->args, pt->n, &pt->cfg,
	    NULL, &pt->s);
	return NULL;
}

/* More inputs than the queue's size limit: the map waits for room as the
 * queue works, it does not block for ever. */
START_TEST(test_pmap_size_limit)
{
	struct pmap_thread pt = { 0 };
	procq_args args[6];
	size_t i;

	for (i = 0; i < 6; i++)
		args_pack(&args[i], "id", (int)i, 0.01);
	pt.args = args;
	pt.n = 6;
	pt.cfg = (procq_config){ .workers = 2, .size = 2 };
	ck_assert_int_eq(pthread_create(&pt.thread, NULL, pmap_main, &pt), 0);
	ck_assert_msg(join_within(pt.thread, 10) == 0,
	    "procq_pmap still blocked");
	args_free(args, 6);
	ck_assert_int_eq(pt.rc, 0);
	ck_assert_uint_eq(procq_summary_count(pt.s), 6);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(obj_int(procq_result_value(
		    procq_summary_result(pt.s, i))), (long long)(i * i));
	procq_summary_free(pt.s);
}
END_TEST

START_TEST(test_pmap_errors)
{
	procq_args args[1];
	procq_summary *s;

	args_pack(&args[0], "id", 1, 0.0);
	s = (procq_summary *)(uintptr_t)0x1;
	ck_assert_int_eq(procq_pmap("sq", collect_square, args, 1,
	    &(procq_config){ .workers = -1 }, NULL, &s), PROCQ_EINVAL);
	ck_assert_ptr_null(s);
	s = (procq_summary *)(uintptr_t)0x1;
	ck_assert_int_eq(procq_pmap("sq", collect_square, args, 1, NULL,
	    &(procq_opts){ .retries = -2 }, &s), PROCQ_EINVAL);
	ck_assert_ptr_null(s);
	args_free(args, 1);
}
END_TEST

/* The fastest success wins; the others are cancelled. */
START_TEST(test_race_winner)
{
	procq_queue *q = collect_queue(3);
	procq_args a[3];
	procq_job jobs[3];
	procq_handle *winner = NULL;
	procq_summary *fail = NULL, *all;
	double t0;
	size_t i;

	args_pack(&a[0], "di", 30.0, 1);
	args_pack(&a[1], "di", 0.05, 2);
	args_pack(&a[2], "di", 30.0, 3);
	for (i = 0; i < 3; i++)
		jobs[i] = (procq_job){ "sleep_ret", a[i], NULL };
	ck_assert_int_eq(procq_start(q), 0);
	t0 = now();
	ck_assert_int_eq(procq_race(q, jobs, 3, 20, &winner, &fail), 0);
	ck_assert_double_lt(now() - t0, 10);
	args_free(a, 3);
	ck_assert_ptr_nonnull(winner);
	ck_assert_ptr_null(fail);
	ck_assert_int_eq(procq_handle_status(winner), PROCQ_SUCCEEDED);
	ck_assert_int_eq(int_value(winner), 2);
	/* the losers were cancelled: nothing keeps the queue busy */
	ck_assert_int_eq(procq_join(q, 10), 0);
	all = procq_results(q);
	ck_assert_uint_eq(procq_summary_count(all), 3);
	ck_assert_uint_eq(procq_summary_succeeded(all), 1);
	ck_assert_uint_eq(procq_summary_cancelled(all), 2);
	procq_summary_free(all);
	procq_free(q);
}
END_TEST

struct race_thread {
	pthread_t	 thread;
	procq_queue	*q;
	procq_job	*jobs;
	size_t		 n;
	double		 timeout;
	procq_handle	*winner;
	procq_summary	*failures;
	int		 rc;
	atomic_int	 returned;
};

static void *
race_main(void *arg)
{
	struct race_thread *rt = arg;

	rt->rc = procq_race(rt->q, rt->jobs, rt->n, rt->timeout, &rt->winner,
	    &rt->failures);
	atomic_store(&rt->returned, 1);
	return NULL;
}

static bool
one_completed(void *q)
{
	procq_stats st;

	return procq_stats_get(q, &st) == 0 && st.completed >= 1;
}

/* The fastest job crashes; a slower one that succeeds wins. */
START_TEST(test_race_crash_first)
{
	procq_queue *q = collect_queue(3);
	struct race_thread rt = { 0 };
	struct gate g;
	procq_args a[3];
	procq_job jobs[3];
	procq_summary *all;
	const procq_result *r;
	size_t i;

	gate_create(&g);
	args_pack(&a[0], "s", "sigkill");
	args_pack(&a[1], "si", g.path, 2);
	args_pack(&a[2], "di", 30.0, 3);
	jobs[0] = (procq_job){ "crash", a[0], NULL };
	jobs[1] = (procq_job){ "gate_ret", a[1], NULL };
	jobs[2] = (procq_job){ "sleep_ret", a[2], NULL };
	ck_assert_int_eq(procq_start(q), 0);
	rt.q = q;
	rt.jobs = jobs;
	rt.n = 3;
	rt.timeout = 20;
	ck_assert_int_eq(pthread_create(&rt.thread, NULL, race_main, &rt), 0);
	ck_assert(gate_enter(&g, 10));
	/* the crash is final while the gate job is held */
	ck_assert(wait_until(one_completed, q, 10));
	ck_assert(!atomic_load(&rt.returned));
	gate_release(&g);
	ck_assert_int_eq(join_within(rt.thread, 10), 0);
	ck_assert_int_eq(rt.rc, 0);
	ck_assert_ptr_nonnull(rt.winner);
	ck_assert_int_eq(int_value(rt.winner), 2);
	ck_assert_int_eq(procq_join(q, 10), 0);
	all = procq_results(q);
	ck_assert_uint_eq(procq_summary_count(all), 3);
	ck_assert_uint_eq(procq_summary_succeeded(all), 1);
	ck_assert_uint_eq(procq_summary_failed(all), 1);
	ck_assert_uint_eq(procq_summary_cancelled(all), 1);
	for (i = 0; i < 3; i++) {
		r = procq_summary_result(all, i);
		if (procq_result_status(r) == PROCQ_FAILED) {
			ck_assert_int_eq(procq_result_error_kind(r),
			    PROCQ_ERR_CRASH);
			ck_assert_str_eq(procq_result_task(r), "crash");
		}
	}
	procq_summary_free(all);
	args_free(a, 3);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/* Every job fails: PROCQ_ETASK and a summary of every failure. */
START_TEST(test_race_all_fail)
{
	procq_queue *q = collect_queue(3);
	procq_args a[3];
	procq_job jobs[3];
	procq_handle *winner = NULL;
	procq_summary *fail = NULL, *named;
	size_t i, nvalue = 0, ncrash = 0;

	args_pack(&a[0], "i", 1);
	args_pack(&a[1], "s", "sigkill");
	args_pack(&a[2], "i", 2);
	jobs[0] = (procq_job){ "fail", a[0], NULL };
	jobs[1] = (procq_job){ "crash", a[1], NULL };
	jobs[2] = (procq_job){ "fail", a[2], &(procq_opts){ .name = "f2" } };
	ck_assert_int_eq(procq_race(q, jobs, 3, 20, &winner, &fail),
	    PROCQ_ETASK);
	args_free(a, 3);
	ck_assert_ptr_nonnull(fail);
	ck_assert_uint_eq(procq_summary_count(fail), 3);
	ck_assert_uint_eq(procq_summary_failed(fail), 3);
	for (i = 0; i < 3; i++) {
		const procq_result *r = procq_summary_result(fail, i);
		const char *type = procq_result_error_type(r);

		ck_assert_int_eq(procq_result_status(r), PROCQ_FAILED);
		if (strcmp(type, "ValueError") == 0)
			nvalue++;
		else if (strcmp(type, "WorkerCrash") == 0)
			ncrash++;
	}
	ck_assert_uint_eq(nvalue, 2);
	ck_assert_uint_eq(ncrash, 1);
	named = procq_summary_by_name(fail, "f2");
	ck_assert_uint_eq(procq_summary_count(named), 1);
	procq_summary_free(named);
	procq_summary_free(fail);
	procq_free(q);
}
END_TEST

/* No success within the timeout: PROCQ_ETIMEDOUT, everything cancelled. */
START_TEST(test_race_timeout)
{
	procq_queue *q = collect_queue(2);
	procq_args a[3];
	procq_job jobs[3];
	procq_handle *winner = NULL;
	procq_summary *fail = NULL, *all;
	double t0, dt;
	size_t i;

	for (i = 0; i < 3; i++) {
		args_pack(&a[i], "di", 30.0, (int)i);
		jobs[i] = (procq_job){ "sleep_ret", a[i], NULL };
	}
	ck_assert_int_eq(procq_start(q), 0);
	t0 = now();
	ck_assert_int_eq(procq_race(q, jobs, 3, 0.3, &winner, &fail),
	    PROCQ_ETIMEDOUT);
	dt = now() - t0;
	args_free(a, 3);
	ck_assert_double_ge(dt, 0.3 - TIMER_SLACK);
	ck_assert_double_lt(dt, 5);
	ck_assert_int_eq(procq_join(q, 10), 0);
	all = procq_results(q);
	ck_assert_uint_eq(procq_summary_count(all), 3);
	ck_assert_uint_eq(procq_summary_cancelled(all), 3);
	procq_summary_free(all);
	if (fail != NULL)
		procq_summary_free(fail);
	procq_free(q);
}
END_TEST

START_TEST(test_bind_errors)
{
	procq_queue *q = collect_queue(1);
	int err = 0;

	ck_assert_ptr_null(procq_bind(q, "no-such-task", NULL, &err));
	ck_assert_int_eq(err, PROCQ_ENOTASK);
	err = 0;
	ck_assert_ptr_null(procq_bind(q, "ident",
	    &(procq_opts){ .retries = -1 }, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	err = 0;
	ck_assert_ptr_null(procq_bind(q, "ident",
	    &(procq_opts){ .timeout = NAN }, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	procq_free(q);
}
END_TEST

/* The preset applies to every call: retries, name, group, metadata. */
START_TEST(test_bound_preset)
{
	procq_queue *q = collect_queue(2);
	procq_bound *b;
	procq_handle *h1 = NULL, *h2 = NULL;
	procq_args a;
	const void *meta;
	size_t mlen = 0;
	int err = 0;

	b = procq_bind(q, "flaky", &(procq_opts){ .name = "fl", .group = "pg",
	    .retries = 3, .metadata = "meta", .metadata_len = 4 }, &err);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(err, 0);
	ck_assert_int_eq(procq_bound_callf(b, NULL, &h1, "i", 3), 0);
	args_pack(&a, "i", 2);
	ck_assert_int_eq(procq_bound_call(b, a.data, a.len, NULL, &h2), 0);
	args_free(&a, 1);
	ck_assert_int_eq(procq_start(q), 0);
	wait_done(h1, 10);
	wait_done(h2, 10);
	ck_assert_int_eq(procq_handle_status(h1), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_attempts(h1), 3);
	ck_assert_int_eq(int_value(h1), 3);
	ck_assert_int_eq(int_value(h2), 2);
	ck_assert_str_eq(procq_handle_name(h1), "fl");
	ck_assert_str_eq(procq_result_group(procq_handle_result(h1)), "pg");
	meta = procq_handle_metadata(h1, &mlen);
	ck_assert_uint_eq(mlen, 4);
	ck_assert_int_eq(memcmp(meta, "meta", 4), 0);
	procq_bound_free(b);
	/* the handles outlive the binding */
	ck_assert_str_eq(procq_handle_name(h2), "fl");
	procq_free(q);
}
END_TEST

/* Non-zero override fields win; zero ones keep the preset. */
START_TEST(test_bound_override)
{
	procq_queue *q = collect_queue(2);
	procq_bound *b;
	procq_handle *keep = NULL, *fewer = NULL, *regroup = NULL;
	int err = 0;

	b = procq_bind(q, "flaky", &(procq_opts){ .name = "fl", .group = "pg",
	    .retries = 3 }, &err);
	ck_assert_ptr_nonnull(b);
	/* new name; retries 0 in the override keeps the preset's 3 */
	ck_assert_int_eq(procq_bound_callf(b, &(procq_opts){ .name = "other" },
	    &keep, "i", 3), 0);
	/* retries 1 replaces 3: attempt 2 still fails */
	ck_assert_int_eq(procq_bound_callf(b, &(procq_opts){ .retries = 1 },
	    &fewer, "i", 3), 0);
	ck_assert_int_eq(procq_bound_callf(b, &(procq_opts){ .group = "og" },
	    &regroup, "i", 1), 0);
	ck_assert_int_eq(procq_start(q), 0);
	wait_done(keep, 10);
	wait_done(fewer, 10);
	wait_done(regroup, 10);
	ck_assert_int_eq(procq_handle_status(keep), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_attempts(keep), 3);
	ck_assert_str_eq(procq_handle_name(keep), "other");
	ck_assert_str_eq(procq_result_group(procq_handle_result(keep)), "pg");
	ck_assert_int_eq(procq_handle_status(fewer), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_attempts(fewer), 2);
	ck_assert_str_eq(procq_handle_name(fewer), "fl");
	ck_assert_str_eq(procq_result_group(procq_handle_result(regroup)),
	    "og");
	ck_assert_str_eq(procq_handle_name(regroup), "fl");
	procq_bound_free(b);
	procq_free(q);
}
END_TEST

/* The other fields an override can set: priority, must_complete,
 * detached and metadata.  A detached task is left out of the run's
 * summary; the override's metadata replaces the preset's. */
START_TEST(test_bound_override_rest)
{
	procq_queue *q = collect_queue(1);
	procq_summary *s = NULL;
	procq_bound *b;
	procq_handle *h = NULL, *kept = NULL;
	const void *meta;
	size_t len = 0;
	int err = 0, v = 0;

	b = procq_bind(q, "ident", &(procq_opts){ .metadata = "pre",
	    .metadata_len = 3 }, &err);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(procq_bound_callf(b, &(procq_opts){ .priority = -1,
	    .must_complete = true, .detached = true, .metadata = "over",
	    .metadata_len = 4 }, &h, "i", 5), 0);
	ck_assert_int_eq(procq_bound_callf(b, NULL, &kept, "i", 6), 0);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_count(s), 1);
	ck_assert_ptr_eq(procq_summary_result(s, 0), procq_handle_result(kept));
	procq_summary_free(s);
	ck_assert_int_eq(procq_handle_value(h, "i", &v), 0);
	ck_assert_int_eq(v, 5);
	meta = procq_handle_metadata(h, &len);
	ck_assert(len == 4 && memcmp(meta, "over", 4) == 0);
	meta = procq_handle_metadata(kept, &len);
	ck_assert(len == 3 && memcmp(meta, "pre", 3) == 0);
	procq_bound_free(b);
	procq_free(q);
}
END_TEST

START_TEST(test_bound_map)
{
	procq_queue *q = collect_queue(3);
	procq_bound *b;
	procq_args args[5];
	procq_handle *hs[5];
	size_t i;
	int err = 0;

	b = procq_bind(q, "sleep_ret", &(procq_opts){ .name = "bm" }, &err);
	ck_assert_ptr_nonnull(b);
	for (i = 0; i < 5; i++)
		args_pack(&args[i], "di", (5 - i) * 0.02, (int)i * 10);
	ck_assert_int_eq(procq_bound_map(b, args, 5,
	    &(procq_opts){ .group = "bmg" }, hs), 0);
	args_free(args, 5);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(int_value(hs[i]), (int)i * 10);
		ck_assert_str_eq(procq_handle_name(hs[i]), "bm");
		ck_assert_str_eq(procq_result_group(
		    procq_handle_result(hs[i])), "bmg");
	}
	procq_bound_free(b);
	procq_free(q);
}
END_TEST

START_TEST(test_bound_group)
{
	procq_queue *q = collect_queue(3);
	procq_bound *b;
	procq_group *g;
	procq_args args[4];
	const msgpack_object *vals[4];
	procq_summary *fail = NULL;
	size_t i;
	int err = 0;

	b = procq_bind(q, "ident", &(procq_opts){ .name = "bi",
	    .group = "preset-group" }, &err);
	ck_assert_ptr_nonnull(b);
	for (i = 0; i < 4; i++)
		args_pack(&args[i], "i", (int)i + 100);
	g = procq_bound_group(b, args, 4, &(procq_group_opts){ .id = "bg" },
	    &(procq_opts){ .name = "ov" }, &err);
	args_free(args, 4);
	ck_assert_ptr_nonnull(g);
	ck_assert_str_eq(procq_group_id(g), "bg");
	ck_assert_uint_eq(procq_group_size(g), 4);
	ck_assert_int_eq(procq_group_wait(g, 10, NULL), 0);
	ck_assert_int_eq(procq_group_values(g, vals, &fail), 0);
	for (i = 0; i < 4; i++) {
		procq_handle *h = procq_group_handle(g, i);

		ck_assert_int_eq(obj_int(vals[i]), (long long)i + 100);
		ck_assert_str_eq(procq_handle_name(h), "ov");
		/* the group's id overrides the preset's group */
		ck_assert_str_eq(procq_result_group(procq_handle_result(h)),
		    "bg");
	}
	procq_group_free(g);
	procq_bound_free(b);
	procq_free(q);
}
END_TEST

static Suite *
fanout_suite(void)
{
	Suite *s = suite_create("collect_fanout");
	TCase *tc;

	tc = add_tcase(s, "map", 30);
	tcase_add_test(tc, test_map_order);
	tcase_add_test(tc, test_map_no_args_opts);
	tcase_add_test(tc, test_map_error_cancels);
	tcase_add_test(tc, test_map_errors);
	tcase_add_test(tc, test_map_large_bad_last);
	tcase_add_test(tc, test_map_large_runs_early);
	tcase_add_test(tc, test_map_blocks_on_size);

	tc = add_tcase(s, "pmap", 30);
	tcase_add_test(tc, test_pmap_ordered);
	tcase_add_test(tc, test_pmap_defaults);
	tcase_add_test(tc, test_pmap_failure);
	tcase_add_test(tc, test_pmap_size_limit);
	tcase_add_test(tc, test_pmap_errors);

	tc = add_tcase(s, "race", 30);
	tcase_add_test(tc, test_race_winner);
	tcase_add_test(tc, test_race_crash_first);
	tcase_add_test(tc, test_race_all_fail);
	tcase_add_test(tc, test_race_timeout);

	tc = add_tcase(s, "bound", 30);
	tcase_add_test(tc, test_bind_errors);
	tcase_add_test(tc, test_bound_preset);
	tcase_add_test(tc, test_bound_override);
	tcase_add_test(tc, test_bound_override_rest);
	tcase_add_test(tc, test_bound_map);
	tcase_add_test(tc, test_bound_group);
	return s;
}

int
main(void)
{
	return run_suite(fanout_suite());
}
