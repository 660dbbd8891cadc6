/*
 * Worker policies: the initializer, the kill grace period, recycling
 * after max_tasks_per_worker, and the memory and CPU limits.  Workers die
 * on purpose here.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy_tasks.h"
#include "util.h"

/* The initializer runs once per worker, with initargs, before any task. */
START_TEST(test_initializer_state)
{
	procq_args ia;
	procq_queue *q;
	procq_handle *h[6];
	int value, runs, i;

	args_pack(&ia, "i", 42);
	q = policy_queue(&(procq_config){ .workers = 2,
	    .initializer = init_keep, .initargs = ia.data,
	    .initargs_len = ia.len });
	args_free(&ia, 1);	/* the queue keeps its own copy */
	for (i = 0; i < 6; i++)
		h[i] = submit_ok(q, "init_value", NULL, "");
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	for (i = 0; i < 6; i++) {
		value = runs = -1;
		ck_assert_msg(procq_handle_value(h[i], "ii", &value, &runs) == 0,
		    "task %d: %s", i, message_of(h[i]));
		ck_assert_int_eq(value, 42);
		ck_assert_int_eq(runs, 1);
	}
	procq_free(q);
}
END_TEST

static procq_queue *
init_log_queue(const char *path, int fail_calls, procq_args *ia)
{
	args_pack(ia, "si", path, fail_calls);
	return policy_queue(&(procq_config){ .workers = 1,
	    .initializer = init_log, .initargs = ia->data,
	    .initargs_len = ia->len });
}

struct size_arg {
	const char *path;
	long max;
};

static bool
file_grew_past(void *p)
{
	struct size_arg *a = p;

	return file_size(a->path) > a->max;
}

/*
 * An initializer that always fails: the task handed to the worker fails
 * with its error, kind SPAWN; retries apply; respawns back off instead of
 * forking in a loop.
 */
START_TEST(test_initializer_fails)
{
	char path[128];
	procq_args ia;
	procq_queue *q;
	procq_handle *a, *b;
	struct size_arg grew;
	long calls;

	make_tmpfile(path, sizeof path);
	q = init_log_queue(path, -1, &ia);
	a = submit_ok(q, "nil", NULL, "");
	ck_assert_int_eq(procq_start(q), 0);
	wait_done(a, 10);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(a), PROCQ_ERR_SPAWN);
	ck_assert_str_eq(procq_handle_error_type(a), "SetupError");
	ck_assert_msg(strncmp(message_of(a), "call ", 5) == 0, "message: %s",
	    message_of(a));
	ck_assert_int_eq(procq_handle_attempts(a), 1);

	/* a task that keeps retrying keeps the pool respawning: slowly */
	b = submit_ok(q, "nil", &(procq_opts){ .retries = 1000 }, "");
	calls = file_size(path);
	grew.path = path;
	grew.max = calls + 20;
	ck_assert_msg(!wait_until(file_grew_past, &grew, 1.0),
	    "%ld initializer calls within a second", file_size(path) - calls);
	ck_assert(!procq_handle_done(b));
	ck_assert_msg(procq_handle_attempts(b) >= 2, "%d attempts",
	    procq_handle_attempts(b));
	ck_assert_int_eq(procq_handle_cancel(b), 0);
	wait_done(b, 10);
	ck_assert_int_eq(procq_handle_status(b), PROCQ_CANCELLED);
	procq_free(q);
	args_free(&ia, 1);
	unlink(path);
}
END_TEST

/* The queue keeps working: a later worker whose initializer succeeds runs
 * tasks normally. */
START_TEST(test_initializer_recovers)
{
	char path[128];
	procq_args ia;
	procq_queue *q;
	procq_handle *a, *b;

	make_tmpfile(path, sizeof path);
	q = init_log_queue(path, 1, &ia);
	a = submit_ok(q, "nil", NULL, "");
	ck_assert_int_eq(procq_start(q), 0);
	wait_done(a, 10);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(a), PROCQ_ERR_SPAWN);
	ck_assert_str_eq(procq_handle_error_type(a), "SetupError");
	ck_assert_str_eq(procq_handle_error_message(a), "call 1");
	b = submit_ok(q, "ident", NULL, "i", 5);
	wait_done(b, 10);
	ck_assert_msg(procq_handle_status(b) == PROCQ_SUCCEEDED, "%s: %s",
	    procq_status_name(procq_handle_status(b)), message_of(b));
	ck_assert_int_eq(int_value(b), 5);
	ck_assert_int_eq(file_size(path), 2);
	procq_free(q);
	args_free(&ia, 1);
	unlink(path);
}
END_TEST

/* Without procq_call_fail(): InitError, "initializer returned N"; each
 * retry is another attempt that fails the same way. */
START_TEST(test_initializer_default_error)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .initializer = init_ret });
	procq_handle *a;

	a = submit_ok(q, "nil", &(procq_opts){ .retries = 2 }, "");
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(a), PROCQ_ERR_SPAWN);
	ck_assert_str_eq(procq_handle_error_type(a), "InitError");
	ck_assert_str_eq(procq_handle_error_message(a),
	    "initializer returned 7");
	ck_assert_int_eq(procq_handle_attempts(a), 3);
	procq_free(q);
}
END_TEST

/*
 * A task that ignores SIGTERM outlives its timeout by the grace period:
 * timeout 0.2 s + kill_grace 0.3 s.  (The initializer makes the worker
 * ignore SIGTERM before any task runs.)
 */
START_TEST(test_kill_grace_timeout)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .kill_grace = 0.3, .initializer = init_ignore_term });
	procq_handle *h, *h2;
	double t0, dt;

	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(wait_workers(q, 1, 10));
	t0 = now();
	h = submit_ok(q, "sleep", &(procq_opts){ .timeout = 0.2 }, "d", 30.0);
	wait_done(h, 10);
	dt = now() - t0;
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_TIMEOUT);
	ck_assert_msg(dt >= 0.5 - TIMER_SLACK, "final after %.3f s", dt);
	h2 = submit_ok(q, "ident", NULL, "i", 1);
	wait_done(h2, 10);
	ck_assert_int_eq(procq_handle_status(h2), PROCQ_SUCCEEDED);
	procq_free(q);
}
END_TEST

/* With 1 worker retired after 2 tasks, 6 tasks see 3 workers. */
static void
recycle_case(int prefetch)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .prefetch = prefetch, .max_tasks_per_worker = 2 });
	procq_handle *h[6];
	int pid[6], i;

	for (i = 0; i < 6; i++)
		h[i] = submit_ok(q, "getpid", NULL, "");
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	for (i = 0; i < 6; i++)
		pid[i] = int_value(h[i]);
	for (i = 0; i < 6; i += 2) {
		ck_assert_msg(pid[i] == pid[i + 1], "tasks %d and %d ran in "
		    "%d and %d", i, i + 1, pid[i], pid[i + 1]);
		if (i > 0)
			ck_assert_msg(pid[i] != pid[i - 1], "tasks %d and %d "
			    "both ran in %d", i - 1, i, pid[i]);
	}
	ck_assert_int_ne(pid[0], pid[4]);
	procq_free(q);
}

START_TEST(test_max_tasks_per_worker)
{
	recycle_case(0);
}
END_TEST

START_TEST(test_max_tasks_per_worker_prefetch)
{
	recycle_case(4);
}
END_TEST

/* A worker that runs out of its memory allowance says so; a task within
 * it succeeds. */
START_TEST(test_max_memory)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .max_memory = 64 << 20 });
	procq_handle *ok, *hog, *after;
	const char *msg;

	ok = submit_ok(q, "alloc_mib", NULL, "i", 16);
	hog = submit_ok(q, "hog", NULL, "");
	after = submit_ok(q, "alloc_mib", NULL, "i", 16);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_msg(procq_handle_status(ok) == PROCQ_SUCCEEDED, "%s",
	    message_of(ok));
	ck_assert_msg(procq_handle_status(after) == PROCQ_SUCCEEDED, "%s",
	    message_of(after));
	ck_assert_int_eq(procq_handle_status(hog), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(hog), PROCQ_ERR_CRASH);
	msg = message_of(hog);
	ck_assert_msg(strstr(msg, "memory limit") != NULL &&
	    strstr(msg, "67108864") != NULL, "message: %s", msg);
	procq_free(q);
}
END_TEST

/* A busy loop past max_cpu dies of SIGXCPU, and says why. */
START_TEST(test_max_cpu)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .max_cpu = 1 });
	procq_handle *h, *h2;
	const procq_result *r;
	const char *msg;
	double t0 = now();

	h = submit_ok(q, "busy_loop", NULL, "");
	ck_assert_int_eq(procq_start(q), 0);
	wait_done(h, 15);
	ck_assert_msg(now() - t0 >= 1.0 - TIMER_SLACK, "killed after %.3f s",
	    now() - t0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_CRASH);
	r = procq_handle_result(h);
	ck_assert_int_eq(procq_result_signal(r), SIGXCPU);
	msg = message_of(h);
	ck_assert_msg(strstr(msg, "SIGXCPU") != NULL &&
	    strstr(msg, "CPU time limit") != NULL, "message: %s", msg);
	h2 = submit_ok(q, "ident", NULL, "i", 3);
	wait_done(h2, 10);
	ck_assert_int_eq(procq_handle_status(h2), PROCQ_SUCCEEDED);
	procq_free(q);
}
END_TEST

/* The limit is per attempt: tasks under it add up past it in one worker. */
START_TEST(test_max_cpu_per_attempt)
{
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .max_cpu = 1 });
	procq_handle *h[3];
	int i;

	for (i = 0; i < 3; i++)
		h[i] = submit_ok(q, "burn", NULL, "d", 0.45);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	for (i = 0; i < 3; i++)
		ck_assert_msg(procq_handle_status(h[i]) == PROCQ_SUCCEEDED,
		    "task %d: %s", i, message_of(h[i]));
	procq_free(q);
}
END_TEST

/* on_retry gets how a crashed attempt ended. */
struct retry_log {
	pthread_mutex_t lock;
	int calls;
	procq_handle *h;
	procq_error_kind kind;
	char type[64];
	char message[128];
	int exit_status;
	int signal;
};

static void
record_retry(procq_handle *h, const procq_error *err, void *arg)
{
	struct retry_log *l = arg;

	pthread_mutex_lock(&l->lock);
	l->calls++;
	l->h = h;
	l->kind = err->kind;
	snprintf(l->type, sizeof l->type, "%s", err->type ? err->type : "");
	snprintf(l->message, sizeof l->message, "%s",
	    err->message ? err->message : "");
	l->exit_status = err->exit_status;
	l->signal = err->signal;
	pthread_mutex_unlock(&l->lock);
}

START_TEST(test_on_retry_crash)
{
	struct retry_log l = { .lock = PTHREAD_MUTEX_INITIALIZER };
	procq_queue *q = policy_queue(&(procq_config){ .workers = 1,
	    .on_retry = record_retry, .hook_arg = &l });
	procq_handle *h;

	h = submit_ok(q, "crash_once", &(procq_opts){ .retries = 1 }, "s",
	    "exit3");
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	pthread_mutex_lock(&l.lock);
	ck_assert_int_eq(l.calls, 1);
	ck_assert_ptr_eq(l.h, h);
	ck_assert_int_eq(l.kind, PROCQ_ERR_CRASH);
	ck_assert_str_eq(l.type, "WorkerCrash");
	ck_assert_str_eq(l.message, "worker exited with status 3");
	ck_assert_int_eq(l.exit_status, 3);
	ck_assert_int_eq(l.signal, -1);
	pthread_mutex_unlock(&l.lock);

	h = submit_ok(q, "crash_once", &(procq_opts){ .retries = 1 }, "s",
	    "sigkill");
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	pthread_mutex_lock(&l.lock);
	ck_assert_int_eq(l.calls, 2);
	ck_assert_ptr_eq(l.h, h);
	ck_assert_int_eq(l.kind, PROCQ_ERR_CRASH);
	ck_assert_int_eq(l.exit_status, -1);
	ck_assert_int_eq(l.signal, SIGKILL);
	ck_assert_str_eq(l.message, "worker died: SIGKILL");
	pthread_mutex_unlock(&l.lock);
	procq_free(q);
}
END_TEST

static Suite *
workers_suite(void)
{
	Suite *s = suite_create("policy_workers");
	TCase *tc;

	tc = add_tcase(s, "initializer", 30);
	tcase_add_test(tc, test_initializer_state);
	tcase_add_test(tc, test_initializer_fails);
	tcase_add_test(tc, test_initializer_recovers);
	tcase_add_test(tc, test_initializer_default_error);

	tc = add_tcase(s, "kill", 30);
	tcase_add_test(tc, test_kill_grace_timeout);
	tcase_add_test(tc, test_on_retry_crash);

	tc = add_tcase(s, "recycle", 30);
	tcase_add_test(tc, test_max_tasks_per_worker);
	tcase_add_test(tc, test_max_tasks_per_worker_prefetch);

	tc = add_tcase(s, "limits", 30);
	/* The sanitizers' shadow memory does not fit an address space
	 * limit. */
	if (!TEST_ASAN && !TEST_TSAN)
		tcase_add_test(tc, test_max_memory);
	tcase_add_test(tc, test_max_cpu);
	tcase_add_test(tc, test_max_cpu_per_attempt);
	return s;
}

int
main(void)
{
	return run_suite(workers_suite());
}
