/*
 * Queue lifecycle: graceful and forced shutdown, procq_free() with work
 * pending, no leftover processes or descriptors, threads, and the worker
 * process environment.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tasks.h"
#include "util.h"

START_TEST(test_shutdown_drains_unstarted)
{
	procq_queue *q = new_queue(2, 0);
	procq_handle *h[10];
	int i;
	double v;

	for (i = 0; i < 10; i++)
		h[i] = submit_ok(q, "double", NULL, "d", (double)i);
	/* never started: shutdown starts it so that the work drains */
	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	for (i = 0; i < 10; i++) {
		ck_assert(procq_handle_done(h[i]));
		ck_assert_int_eq(procq_handle_status(h[i]), PROCQ_SUCCEEDED);
		v = -1;
		ck_assert_int_eq(procq_handle_value(h[i], "d", &v), 0);
		ck_assert_double_eq(v, 2.0 * i);
	}
	procq_free(q);
}
END_TEST

START_TEST(test_shutdown_drains_running)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h[6], *r;
	int i;

	ck_assert_int_eq(procq_start(q), 0);
	for (i = 0; i < 6; i++)
		h[i] = submit_ok(q, "sleep", NULL, "d", 0.02);
	r = submit_ok(q, "flaky", &(procq_opts){ .retries = 1,
	    .retry_delay = 0.1 }, "i", 2);
	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(procq_handle_status(h[i]), PROCQ_SUCCEEDED);
	/* a task waiting for its retry is unfinished work too */
	ck_assert_int_eq(procq_handle_status(r), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_attempts(r), 2);
	procq_free(q);
}
END_TEST

START_TEST(test_shutdown_force)
{
	procq_queue *q = new_queue(1, 0);
	struct gate g;
	procq_handle *hg, *hq[3], *hr;
	double t0;
	int i;

	gate_create(&g);
	/* runs first, then waits for its retry */
	hr = submit_ok(q, "fail", &(procq_opts){ .retries = 1,
	    .retry_delay = 60 }, "i", 1);
	hg = submit_ok(q, "gate", &(procq_opts){ .retries = 2 }, "s", g.path);
	for (i = 0; i < 3; i++)
		hq[i] = submit_ok(q, "nil", NULL, "");
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(wait_status(hr, PROCQ_RETRYING, 10));
	ck_assert(gate_enter(&g, 10));
	ck_assert(!procq_handle_done(hq[0]));

	t0 = now();
	ck_assert_int_eq(procq_shutdown(q, PROCQ_SHUTDOWN_FORCE), 0);
	ck_assert_double_lt(now() - t0, 5);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_attempts(hg), 1);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(procq_handle_status(hq[i]), PROCQ_CANCELLED);
		ck_assert_int_eq(procq_handle_attempts(hq[i]), 0);
		ck_assert_int_eq(procq_handle_error_kind(hq[i]),
		    PROCQ_ERR_CANCELLED);
	}
	ck_assert_int_eq(procq_handle_status(hr), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_attempts(hr), 1);
	ck_assert_int_eq(procq_handle_wait(hr, PROCQ_FOREVER), 0);
	ck_assert_int_eq(procq_handle_cancel(hr), PROCQ_EDONE);
	/* idempotent, and the queue is closed */
	ck_assert_int_eq(procq_shutdown(q, PROCQ_SHUTDOWN_FORCE), 0);
	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	ck_assert_int_eq(procq_submitf(q, "nil", NULL, NULL, ""),
	    PROCQ_ECLOSED);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/* procq_run() after a shutdown returns what finished since the last run. */
START_TEST(test_run_after_shutdown)
{
	procq_queue *q = new_queue(1, 0);
	procq_summary *s = NULL;

	submit_ok(q, "nil", NULL, "");
	submit_ok(q, "nil", NULL, "");
	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(procq_summary_succeeded(s), 2);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

START_TEST(test_free_pending_started)
{
	procq_queue *q = new_queue(2, 0);
	pid_t kids[8];
	double t0;
	int i;

	for (i = 0; i < 2; i++)
		submit_ok(q, "sleep", NULL, "d", 30.0);
	for (i = 0; i < 5; i++)
		submit_ok(q, "nil", NULL, "");
	ck_assert_int_eq(procq_start(q), 0);
	t0 = now();
	procq_free(q);
	ck_assert_double_lt(now() - t0, 5);
	ck_assert_uint_eq(list_children(kids, 8), 0);
}
END_TEST

START_TEST(test_free_pending_unstarted)
{
	procq_queue *q = new_queue(2, 0);
	pid_t kids[8];
	double t0;
	int i;

	for (i = 0; i < 5; i++)
		submit_ok(q, "sleep", NULL, "d", 30.0);
	t0 = now();
	procq_free(q);
	ck_assert_double_lt(now() - t0, 5);
	ck_assert_uint_eq(list_children(kids, 8), 0);
}
END_TEST

START_TEST(test_free_unused)
{
	procq_queue *q;
	pid_t kids[8];

	q = test_create(NULL, NULL);
	ck_assert_ptr_nonnull(q);
	procq_free(q);
	q = new_queue(0, 0);		/* workers = online CPUs */
	ck_assert_uint_eq(list_children(kids, 8), 0);
	procq_free(q);
}
END_TEST

/* Repeated use leaks no descriptors and leaves no processes behind. */
START_TEST(test_free_releases_everything)
{
	procq_queue *q;
	procq_handle *h;
	pid_t kids[8];
	int fds, round;

	q = new_queue(2, 0);
	submit_ok(q, "nil", NULL, "");
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	procq_free(q);

	fds = count_fds();
	for (round = 0; round < 5; round++) {
		q = new_queue(2, 2);
		h = submit_ok(q, "double", NULL, "d", 1.0);
		submit_ok(q, "fail", NULL, "i", 1);
		submit_ok(q, "sleep", &(procq_opts){ .timeout = 0.05 }, "d", 30.0);
		ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
		ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
		ck_assert_int_eq(procq_shutdown(q, 0), 0);
		procq_free(q);
		ck_assert_int_eq(count_fds(), fds);
		ck_assert_msg(list_children(kids, 8) == 0,
		    "child %d (state %c) left after procq_free",
		    (int)kids[0], proc_state(kids[0]));
	}
}
END_TEST

#define N_THREADS 4
#define N_PER_THREAD 50

struct thread_arg {
	procq_queue *q;
	int t;
	int errors;
};

static void *
submitter(void *p)
{
	struct thread_arg *a = p;
	procq_handle *h[N_PER_THREAD];
	int i;

	for (i = 0; i < N_PER_THREAD; i++) {
		double x = a->t * 1000 + i;

		h[i] = NULL;
		if (procq_submitf(a->q, "double", NULL, &h[i], "d", x) != 0)
			a->errors++;
		/* wait for some at once, the rest at the end */
		if (i % 5 == 0 && h[i] != NULL) {
			double v = -1;

			if (procq_handle_wait(h[i], 30) != 0 ||
			    procq_handle_value(h[i], "d", &v) != 0 ||
			    v != 2 * x)
				a->errors++;
		}
	}
	for (i = 0; i < N_PER_THREAD; i++) {
		double v = -1;

		if (h[i] == NULL)
			continue;
		if (procq_handle_wait(h[i], 30) != 0 ||
		    procq_handle_value(h[i], "d", &v) != 0 ||
		    v != 2 * (a->t * 1000 + i))
			a->errors++;
	}
	return NULL;
}

START_TEST(test_threads)
{
	procq_queue *q = new_queue(2, 2);
	pthread_t th[N_THREADS];
	struct thread_arg arg[N_THREADS];
	procq_summary *s = NULL;
	int i;

	ck_assert_int_eq(procq_start(q), 0);
	for (i = 0; i < N_THREADS; i++) {
		arg[i] = (struct thread_arg){ .q = q, .t = i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, submitter,
		    &arg[i]), 0);
	}
	for (i = 0; i < N_THREADS; i++) {
		ck_assert_int_eq(join_within(th[i], 60), 0);
		ck_assert_int_eq(arg[i].errors, 0);
	}
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_succeeded(s), N_THREADS * N_PER_THREAD);
	ck_assert(procq_summary_ok(s));
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

struct waiter {
	procq_handle *h;
	int rc;
};

static void *
wait_forever(void *p)
{
	struct waiter *w = p;

	w->rc = procq_handle_wait(w->h, PROCQ_FOREVER);
	return NULL;
}

/* Threads blocked in procq_handle_wait() wake up when the task is
 * cancelled, and when procq_run() runs concurrently. */
START_TEST(test_cancel_wakes_waiters)
{
	procq_queue *q = new_queue(1, 0);
	struct gate g;
	struct waiter w[2];
	pthread_t th[2];
	int i;

	gate_create(&g);
	w[0].h = submit_ok(q, "gate", NULL, "s", g.path);
	w[1].h = submit_ok(q, "nil", NULL, "");	/* queued behind it */
	for (i = 0; i < 2; i++) {
		w[i].rc = 12345;
		ck_assert_int_eq(pthread_create(&th[i], NULL, wait_forever,
		    &w[i]), 0);
	}
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(gate_enter(&g, 10));
	ck_assert_int_eq(procq_handle_cancel(w[1].h), 0);
	ck_assert_int_eq(join_within(th[1], 10), 0);
	ck_assert_int_eq(w[1].rc, 0);
	ck_assert_int_eq(procq_handle_cancel(w[0].h), 0);
	ck_assert_int_eq(join_within(th[0], 10), 0);
	ck_assert_int_eq(w[0].rc, 0);
	ck_assert_int_eq(procq_handle_status(w[0].h), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(w[1].h), PROCQ_CANCELLED);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/* Workers: own process group, stdin /dev/null, no inherited descriptor
 * but their pipe ends, default signal dispositions and an empty mask. */
START_TEST(test_worker_environment)
{
	procq_queue *q;
	procq_handle *h;
	const msgpack_object *v, *fds = NULL;
	struct sigaction sa, old_sa;
	sigset_t set, old_set;
	bool own_pgrp = false, empty_mask = false, usr1_default = false;
	int64_t nread = -1;
	int extra, i;

	/* an inheritable descriptor, an ignored and a blocked signal */
	extra = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(extra, 0);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old_sa), 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &set, &old_set), 0);

	q = new_queue(1, 0);
	h = submit_ok(q, "env", NULL, "");
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_msg(procq_handle_status(h) == PROCQ_SUCCEEDED, "%s",
	    procq_handle_error_message(h));
	v = procq_result_value(procq_handle_result(h));
	ck_assert_int_eq(procq_unpack(v, "oblbb", &fds, &own_pgrp, &nread,
	    &empty_mask, &usr1_default), 0);
	ck_assert_int_eq(fds->type, MSGPACK_OBJECT_ARRAY);
	for (i = 0; i < (int)fds->via.array.size; i++) {
		int64_t fd = fds->via.array.ptr[i].via.i64;

		ck_assert_msg(fd <= WORKER_WRITE_FD,
		    "descriptor %d open in the worker", (int)fd);
	}
	ck_assert_uint_eq(fds->via.array.size, 5);
	ck_assert_msg(own_pgrp, "worker not in its own process group");
	ck_assert_msg(nread == 0, "stdin is not /dev/null: read %d",
	    (int)nread);
	ck_assert_msg(empty_mask, "worker signal mask not empty");
	ck_assert_msg(usr1_default, "SIGUSR1 still ignored in the worker");
	procq_free(q);

	close(extra);
	sigaction(SIGUSR1, &old_sa, NULL);
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);
}
END_TEST

static Suite *
lifecycle_suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc;

	tc = add_tcase(s, "shutdown", 30);
	tcase_add_test(tc, test_shutdown_drains_unstarted);
	tcase_add_test(tc, test_shutdown_drains_running);
	tcase_add_test(tc, test_shutdown_force);
	tcase_add_test(tc, test_run_after_shutdown);

	tc = add_tcase(s, "free", 30);
	tcase_add_test(tc, test_free_pending_started);
	tcase_add_test(tc, test_free_pending_unstarted);
	tcase_add_test(tc, test_free_unused);
	tcase_add_test(tc, test_free_releases_everything);

	tc = add_tcase(s, "threads", 60);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_cancel_wakes_waiters);

	tc = add_tcase(s, "worker", 30);
	tcase_add_test(tc, test_worker_environment);
	return s;
}

int
main(void)
{
	return run_suite(lifecycle_suite());
}
