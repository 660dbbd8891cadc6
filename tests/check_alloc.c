/*
 * Allocation failures: each call of the API that allocates is run with
 * its first allocation failing, then its second, and so on until it runs
 * with none failing.  Every run with a failure must fail with
 * PROCQ_ENOMEM (or the call's own way of saying so) and leave nothing
 * behind: the queue goes on to run exactly the tasks whose submission
 * succeeded, and the leak checker of the sanitizer build finds nothing.
 *
 * The library and the worker are compiled into this program (see
 * tests/alloc.mk) and linked with --wrap for the functions that allocate,
 * so that only procq's own calls go through the wrappers below; libc,
 * libevent and msgpack-c keep their own allocator.  A failure is armed
 * for the calling thread of this process only: the supervisor's thread,
 * the fork server and the workers are never made to fail.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <msgpack.h>

#include "tasks.h"
#include "util.h"

/*
 * The failing allocator
 */

/* Allocations this thread makes before one fails; -1: none fails.  Only
 * in process fail_pid: a child forked while it is armed never fails. */
static _Thread_local long fail_in = -1;
static _Thread_local bool fail_fired;
static pid_t fail_pid;

/* The allocation after n more that succeed fails, once. */
static void
arm(long n)
{
	fail_pid = getpid();
	fail_fired = false;
	fail_in = n;
}

/* Disarms; true when an allocation failed since arm(). */
static bool
disarm(void)
{
	fail_in = -1;
	return fail_fired;
}

static bool
fault(void)
{
	if (fail_in < 0 || getpid() != fail_pid)
		return false;
	if (fail_in-- > 0)
		return false;
	fail_fired = true;
	errno = ENOMEM;
	return true;
}

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
char *__real_strdup(const char *);
char *__real_strndup(const char *, size_t);
int __real_vasprintf(char **, const char *, va_list);
FILE *__real_open_memstream(char **, size_t *);
struct event *__real_event_new(struct event_base *, evutil_socket_t, short,
    event_callback_fn, void *);
struct evbuffer *__real_evbuffer_new(void);
msgpack_zone *__real_msgpack_zone_new(size_t);
int __real_pthread_mutex_init(pthread_mutex_t *,
    const pthread_mutexattr_t *);
int __real_pthread_cond_init(pthread_cond_t *, const pthread_condattr_t *);
int __real_pthread_condattr_init(pthread_condattr_t *);

void *__wrap_malloc(size_t);
void *__wrap_calloc(size_t, size_t);
void *__wrap_realloc(void *, size_t);
char *__wrap_strdup(const char *);
char *__wrap_strndup(const char *, size_t);
int __wrap_vasprintf(char **, const char *, va_list);
FILE *__wrap_open_memstream(char **, size_t *);
struct event *__wrap_event_new(struct event_base *, evutil_socket_t, short,
    event_callback_fn, void *);
struct evbuffer *__wrap_evbuffer_new(void);
msgpack_zone *__wrap_msgpack_zone_new(size_t);
int __wrap_pthread_mutex_init(pthread_mutex_t *,
    const pthread_mutexattr_t *);
int __wrap_pthread_cond_init(pthread_cond_t *, const pthread_condattr_t *);
int __wrap_pthread_condattr_init(pthread_condattr_t *);

void *
__wrap_malloc(size_t n)
{
	return fault() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return fault() ? NULL : __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return fault() ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
	return fault() ? NULL : __real_strdup(s);
}

char *
__wrap_strndup(const char *s, size_t n)
{
	return fault() ? NULL : __real_strndup(s, n);
}

int
__wrap_vasprintf(char **sp, const char *fmt, va_list ap)
{
	return fault() ? -1 : __real_vasprintf(sp, fmt, ap);
}

FILE *
__wrap_open_memstream(char **bufp, size_t *sizep)
{
	return fault() ? NULL : __real_open_memstream(bufp, sizep);
}

struct event *
__wrap_event_new(struct event_base *base, evutil_socket_t fd, short what,
    event_callback_fn cb, void *arg)
{
	return fault() ? NULL : __real_event_new(base, fd, what, cb, arg);
}

struct evbuffer *
__wrap_evbuffer_new(void)
{
	return fault() ? NULL : __real_evbuffer_new();
}

msgpack_zone *
__wrap_msgpack_zone_new(size_t size)
{
	return fault() ? NULL : __real_msgpack_zone_new(size);
}

int
__wrap_pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
	return fault() ? ENOMEM : __real_pthread_mutex_init(m, a);
}

int
__wrap_pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a)
{
	return fault() ? ENOMEM : __real_pthread_cond_init(c, a);
}

int
__wrap_pthread_condattr_init(pthread_condattr_t *a)
{
	return fault() ? ENOMEM : __real_pthread_condattr_init(a);
}

/*
 * The tests
 */

/* Runs in each loop: the call with the n-th allocation failing, and the
 * failure asserted, until a run has none fail; at least one did. */
#define EACH_FAILURE(n, call, on_failure) do {				\
	for ((n) = 0;; (n)++) {						\
		arm(n);							\
		call;							\
		if (!disarm())						\
			break;						\
		on_failure;						\
	}								\
	ck_assert_msg((n) > 0, "no allocation in " #call);		\
} while (0)

/* A call that posts a command to the supervisor and cannot allocate
 * its place in the list waits for the supervisor to run it instead, and
 * succeeds: on_failure of a call that does counts those. */
#define ENOMEM_OR_WAITED(rc, waited) do {				\
	if ((rc) == 0)							\
		(waited)++;						\
	else								\
		ck_assert_int_eq((rc), PROCQ_ENOMEM);			\
} while (0)

/* A submission to a queue not started yet that had an allocation fail:
 * it failed (0 returned), or it succeeded and its task, which the caller
 * placed itself and could not put in the ready heap, failed at once of a
 * MemoryError (1 returned). */
static int
not_submitted(int rc, procq_handle *h)
{
	if (rc != 0) {
		ck_assert_int_eq(rc, PROCQ_ENOMEM);
		ck_assert_ptr_null(h);
		return 0;
	}
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_str_eq(procq_handle_error_type(h), "MemoryError");
	return 1;
}

static procq_summary *
run_ok(procq_queue *q)
{
	procq_summary *s = NULL;
	int rc = procq_run(q, &(procq_run_opts){ .timeout = 20 }, &s);

	ck_assert_msg(rc == 0, "procq_run: %s", procq_strerror(rc));
	ck_assert_ptr_nonnull(s);
	return s;
}

/* procq_create(), with every configuration it copies. */
START_TEST(test_create_copies)
{
	static char *argv[] = { "worker", "--flag", NULL };
	static char *envp[] = { "A=1", "B=2", NULL };
	procq_args init;
	procq_config cfg = { .workers = 1, .start_method = PROCQ_START_EXEC,
	    .worker_path = "/nonexistent/worker", .worker_argv = argv,
	    .worker_envp = envp };
	procq_queue *q;
	long n;
	int err;

	args_pack(&init, "i", 1);
	cfg.initargs = init.data;
	cfg.initargs_len = init.len;
	EACH_FAILURE(n, (err = 0, q = procq_create(&cfg, &err)), {
		ck_assert_ptr_null(q);
		ck_assert_int_eq(err, PROCQ_ENOMEM);
	});
	ck_assert_ptr_nonnull(q);
	procq_free(q);
	/* and without a place for the error */
	arm(0);
	q = procq_create(&cfg, NULL);
	ck_assert(disarm());
	ck_assert_ptr_null(q);
	args_free(&init, 1);
}
END_TEST

static int
task_mine(procq_call *c)
{
	return procq_call_return(c, "i", 1);
}

/* procq_register(): a name that failed to register is unknown, and
 * registering it again succeeds. */
START_TEST(test_register)
{
	procq_queue *q;
	long n;
	int rc;

	if (test_exec(NULL))	/* registers a function of its own */
		return;
	q = test_create(&(procq_config){ .workers = 1 }, NULL);
	ck_assert_ptr_nonnull(q);
	EACH_FAILURE(n, rc = procq_register(q, "mine", task_mine),
	    ck_assert_int_eq(rc, PROCQ_ENOMEM));
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(procq_register(q, "mine", task_mine), PROCQ_EEXIST);
	procq_free(q);
}
END_TEST

/* A submission that fails leaves no task behind.  Before the queue
 * starts, the caller places the task itself: when the ready heap cannot
 * grow, the submission has succeeded and its task fails at once, of a
 * MemoryError.  The run sees exactly these and the one that succeeded. */
START_TEST(test_submit)
{
	static const char meta[] = "meta";
	procq_queue *q = new_queue(1, 0);
	procq_opts opts = { .name = "named", .group = "g", .retries = 1,
	    .metadata = meta, .metadata_len = sizeof meta };
	procq_handle *h;
	procq_summary *s;
	size_t placed = 0;
	long n;
	int rc;

	EACH_FAILURE(n, (h = NULL, rc = procq_submitf(q, "ident", &opts, &h,
	    "i", 5)), {
		if (rc == 0) {
			ck_assert_int_eq(procq_handle_status(h),
			    PROCQ_FAILED);
			ck_assert_str_eq(procq_handle_error_type(h),
			    "MemoryError");
			placed++;
			continue;
		}
		ck_assert_int_eq(rc, PROCQ_ENOMEM);
		ck_assert_ptr_null(h);
	});
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(placed, 1);
	s = run_ok(q);
	ck_assert_uint_eq(procq_summary_count(s), 1 + placed);
	ck_assert_uint_eq(procq_summary_succeeded(s), 1);
	procq_summary_free(s);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	procq_free(q);
}
END_TEST

/* The same for a task that goes ahead of one already waiting (a lower
 * priority value) and for a delayed one: each heap's first growth. */
START_TEST(test_submit_heaps)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *first, *h, *d;
	procq_summary *s;
	size_t placed = 0;
	long n;
	int rc;

	first = submit_ok(q, "ident", &(procq_opts){ .priority = 5 }, "i", 1);
	EACH_FAILURE(n, (h = NULL, rc = procq_submitf(q, "ident",
	    &(procq_opts){ .priority = 1 }, &h, "i", 2)),
	    placed += not_submitted(rc, h));
	ck_assert_int_eq(rc, 0);
	EACH_FAILURE(n, (d = NULL, rc = procq_submitf(q, "ident",
	    &(procq_opts){ .delay = 600 }, &d, "i", 3)),
	    placed += not_submitted(rc, d));
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(placed, 2);
	ck_assert_int_eq(procq_handle_cancel(d), 0);
	s = run_ok(q);
	ck_assert_uint_eq(procq_summary_succeeded(s), 2);
	ck_assert_uint_eq(procq_summary_cancelled(s), 1);
	procq_summary_free(s);
	ck_assert_int_eq(int_value(first), 1);
	ck_assert_int_eq(int_value(h), 2);
	procq_free(q);
}
END_TEST

/* The same on a started queue, where the supervisor takes the task. */
START_TEST(test_submit_started)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h;
	procq_summary *s;
	long n;
	int rc, v = 0;

	ck_assert_int_eq(procq_start(q), 0);
	EACH_FAILURE(n, (h = NULL, rc = procq_submitf(q, "ident", NULL, &h,
	    "i", 6)), {
		ck_assert_int_eq(rc, PROCQ_ENOMEM);
		ck_assert_ptr_null(h);
	});
	ck_assert_int_eq(rc, 0);
	wait_done(h, 10);
	ck_assert_int_eq(procq_handle_value(h, "i", &v), 0);
	ck_assert_int_eq(v, 6);
	s = run_ok(q);
	ck_assert_uint_eq(procq_summary_count(s), 1);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

/* Before an exec'd worker program has named its tasks, a name is taken
 * on trust and kept for the tasks that use it; arguments longer than the
 * tuple buffer a submission keeps on its stack are packed on the heap. */
START_TEST(test_submit_exec)
{
	char big[600];
	procq_queue *q;
	procq_handle *h, *h2, *h3, *h4;
	procq_summary *s;
	size_t placed = 0;
	long n;
	int rc;

	q = procq_create(&(procq_config){ .workers = 1,
	    .start_method = PROCQ_START_EXEC,
	    .worker_path = TEST_EXEC_WORKER }, NULL);
	ck_assert_ptr_nonnull(q);
	EACH_FAILURE(n, (h = NULL, rc = procq_submitf(q, "ident", NULL, &h,
	    "i", 1)), placed += not_submitted(rc, h));
	ck_assert_int_eq(rc, 0);
	/* a name taken already, found again; no format at all, no
	 * arguments */
	h4 = submit_ok(q, "ident", NULL, "i", 4);
	h2 = NULL;
	ck_assert_int_eq(procq_submitf(q, "getpid", NULL, &h2, NULL), 0);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	EACH_FAILURE(n, (h3 = NULL, rc = procq_submitf(q, "echo", NULL, &h3,
	    "s", big)), placed += not_submitted(rc, h3));
	ck_assert_int_eq(rc, 0);
	s = run_ok(q);
	ck_assert_uint_eq(procq_summary_succeeded(s), 4);
	ck_assert_uint_eq(procq_summary_count(s), 4 + placed);
	procq_summary_free(s);
	ck_assert_int_eq(int_value(h), 1);
	ck_assert_int_gt(int_value(h2), 0);
	ck_assert_int_eq(int_value(h4), 4);
	procq_free(q);
}
END_TEST

/* procq_start(): a start that fails leaves a queue that can be freed;
 * one that succeeds runs its tasks. */
START_TEST(test_start)
{
	procq_queue *q;
	procq_handle *h;
	long n;
	int rc;

	for (n = 0;; n++) {
		q = new_queue(2, 0);
		h = submit_ok(q, "ident", NULL, "i", 7);
		arm(n);
		rc = procq_start(q);
		if (!disarm())
			break;
		ck_assert_msg(rc == PROCQ_ENOMEM || rc == PROCQ_ESYS,
		    "allocation %ld: %s", n, procq_strerror(rc));
		procq_free(q);
	}
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(rc, 0);
	wait_done(h, 10);
	ck_assert_int_eq(int_value(h), 7);
	procq_free(q);
}
END_TEST

/* A queue that procq_run(), procq_join(), procq_shutdown() or
 * procq_race() must start to finish its tasks: when the start fails, run,
 * join and race fail with it (the race's tasks cancelled), and shutdown
 * cancels the tasks instead of waiting for ever. */
enum implied {
	IMPLIED_RUN, IMPLIED_JOIN, IMPLIED_SHUTDOWN, IMPLIED_RACE, N_IMPLIED
};

START_TEST(test_start_implied)
{
	static const unsigned char eight[] = { 0x91, 0x08 };
	const procq_job job = { "ident", { eight, sizeof eight }, NULL };
	procq_queue *q;
	procq_handle *h;
	long n;
	int rc;

	for (n = 0;; n++) {
		q = new_queue(1, 0);
		h = submit_ok(q, "ident", NULL, "i", 8);
		arm(n);
		if (_i == IMPLIED_RUN)
			rc = procq_run(q, NULL, NULL);
		else if (_i == IMPLIED_JOIN)
			rc = procq_join(q, 20);
		else if (_i == IMPLIED_SHUTDOWN)
			rc = procq_shutdown(q, 0);
		else
			rc = procq_race(q, &job, 1, 20, NULL, NULL);
		if (!disarm())
			break;
		if (_i == IMPLIED_SHUTDOWN) {
			ck_assert_int_eq(rc, 0);
			ck_assert_msg(procq_handle_status(h) == PROCQ_CANCELLED ||
			    procq_handle_status(h) == PROCQ_SUCCEEDED,
			    "allocation %ld: %s", n,
			    procq_status_name(procq_handle_status(h)));
		} else if (rc != 0)
			ck_assert_msg(rc == PROCQ_ENOMEM || rc == PROCQ_ESYS,
			    "allocation %ld: %s", n, procq_strerror(rc));
		procq_free(q);
	}
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(int_value(h), 8);
	procq_free(q);
}
END_TEST

/* Groups: creation, submission, map, jobs, wait and values, on a
 * started queue (where the supervisor places the tasks). */
START_TEST(test_group)
{
	procq_queue *q = new_queue(2, 0);
	procq_group *g;
	procq_summary *s = NULL, *fails;
	const msgpack_object *values[2];
	procq_args args[3];
	procq_job jobs[2];
	size_t size, ran = 0, waited = 0;
	long n;
	int rc, err;

	ck_assert_int_eq(procq_start(q), 0);
	EACH_FAILURE(n, (err = 0, g = procq_group_create(q,
	    &(procq_group_opts){ .concurrency = 1 }, &err)), {
		ck_assert_ptr_null(g);
		ck_assert_int_eq(err, PROCQ_ENOMEM);
	});
	ck_assert_ptr_nonnull(g);
	EACH_FAILURE(n, rc = procq_group_submitf(g, "ident", NULL, NULL, "i",
	    0), ENOMEM_OR_WAITED(rc, waited));
	ck_assert_int_eq(rc, 0);
	for (int i = 0; i < 3; i++)
		args_pack(&args[i], "i", 1 + i);
	EACH_FAILURE(n, rc = procq_group_map(g, "ident", args, 3, NULL),
	    ENOMEM_OR_WAITED(rc, waited));
	ck_assert_int_eq(rc, 0);
	jobs[0] = (procq_job){ "ident", args[0], NULL };
	jobs[1] = (procq_job){ "ident", args[1], NULL };
	EACH_FAILURE(n, rc = procq_group_jobs(g, jobs, 2),
	    ENOMEM_OR_WAITED(rc, waited));
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(procq_group_wait(g, 20, NULL), 0);
	/* A map or jobs that failed half-way cancelled the tasks it had
	 * added; every other task ran.  The last, successful calls added
	 * 1 + 3 + 2. */
	size = procq_group_size(g);
	for (size_t i = 0; i < size; i++) {
		procq_status st = procq_handle_status(procq_group_handle(g, i));

		ck_assert_msg(st == PROCQ_SUCCEEDED || st == PROCQ_CANCELLED,
		    "task %zu: %s", i, procq_status_name(st));
		ran += st == PROCQ_SUCCEEDED;
	}
	ck_assert_uint_ge(ran, 6);
	EACH_FAILURE(n, rc = procq_group_wait(g, 5, &s), {
		ENOMEM_OR_WAITED(rc, waited);
		if (rc == 0) {
			ck_assert_uint_eq(procq_summary_succeeded(s), ran);
			procq_summary_free(s);
		} else
			ck_assert_ptr_null(s);
	});
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(procq_summary_succeeded(s), ran);
	ck_assert_uint_eq(procq_summary_count(s), size);
	procq_summary_free(s);
	procq_group_free(g);
	/* the values of a group where one task failed: a summary of it */
	g = procq_group_create(q, NULL, &err);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, NULL, "i", 1),
	    0);
	ck_assert_int_eq(procq_group_submitf(g, "fail", NULL, NULL, "s",
	    "no"), 0);
	ck_assert_int_eq(procq_group_wait(g, 20, NULL), 0);
	EACH_FAILURE(n, (fails = NULL, rc = procq_group_values(g, values,
	    &fails)), {
		ck_assert_int_eq(rc, PROCQ_ENOMEM);
		ck_assert_ptr_null(fails);
	});
	ck_assert_int_eq(rc, PROCQ_ETASK);
	ck_assert_uint_eq(procq_summary_count(fails), 1);
	procq_summary_free(fails);
	procq_group_free(g);
	args_free(args, 3);
	procq_free(q);
}
END_TEST

/* A group with a policy: the engine's list of its members, made as the
 * supervisor places a task or as a handle is added, may fail to grow;
 * every task still ends, and a handle added is a member once. */
START_TEST(test_group_policy)
{
	procq_queue *q = new_queue(2, 0);
	procq_group_opts opts = { .fail_policy = PROCQ_FAIL_FIRST,
	    .shield = true };
	procq_group *g;
	procq_handle *h, *loose;
	procq_summary *s = NULL;
	size_t size;
	long n;
	int rc, err;

	ck_assert_int_eq(procq_start(q), 0);
	EACH_FAILURE(n, (err = 0, g = procq_group_create(q, &opts, &err)), {
		ck_assert_ptr_null(g);
		ck_assert_int_eq(err, PROCQ_ENOMEM);
	});
	ck_assert_ptr_nonnull(g);
	EACH_FAILURE(n, (h = NULL, rc = procq_group_submitf(g, "ident", NULL,
	    &h, "i", 1)), {
		if (rc != 0)
			ck_assert_int_eq(rc, PROCQ_ENOMEM);
	});
	ck_assert_int_eq(rc, 0);
	loose = submit_ok(q, "ident", NULL, "i", 2);
	wait_done(loose, 20);
	EACH_FAILURE(n, rc = procq_group_add(g, loose), {
		if (rc == 0)	/* a failure it waited through */
			ck_assert_int_eq(procq_group_remove(g, loose), 0);
		else
			ck_assert_int_eq(rc, PROCQ_ENOMEM);
	});
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(procq_group_add(g, loose), PROCQ_EEXIST);
	ck_assert_int_eq(procq_group_wait(g, 20, &s), 0);
	size = procq_group_size(g);
	ck_assert_uint_eq(procq_summary_count(s), size);
	ck_assert_ptr_eq(procq_group_handle(g, size - 1), loose);
	for (size_t i = 0; i < size; i++)
		ck_assert(procq_handle_done(procq_group_handle(g, i)));
	procq_summary_free(s);
	procq_group_free(g);
	procq_free(q);
}
END_TEST

/* A group's map on a queue with a size limit submits one task at a
 * time; one that fails cancels those it added. */
START_TEST(test_group_map_sized)
{
	procq_queue *q = new_queue_config(&(procq_config){ .workers = 2,
	    .size = 100 });
	procq_group *g;
	procq_args args[3];
	size_t size, ran = 0, waited = 0;
	long n;
	int rc;

	ck_assert_int_eq(procq_start(q), 0);
	g = procq_group_create(q, NULL, NULL);
	ck_assert_ptr_nonnull(g);
	for (int i = 0; i < 3; i++)
		args_pack(&args[i], "i", i);
	EACH_FAILURE(n, rc = procq_group_map(g, "ident", args, 3, NULL),
	    ENOMEM_OR_WAITED(rc, waited));
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(procq_group_wait(g, 20, NULL), 0);
	size = procq_group_size(g);
	for (size_t i = 0; i < size; i++) {
		procq_status st = procq_handle_status(procq_group_handle(g, i));

		ck_assert_msg(st == PROCQ_SUCCEEDED || st == PROCQ_CANCELLED,
		    "task %zu: %s", i, procq_status_name(st));
		ran += st == PROCQ_SUCCEEDED;
	}
	ck_assert_uint_ge(ran, 3);
	procq_group_free(g);
	args_free(args, 3);
	procq_free(q);
}
END_TEST

/* procq_map() on a queue with a size limit submits one task at a time:
 * one that fails cancels those before it, and no handle is given. */
START_TEST(test_map_sized)
{
	procq_queue *q = new_queue_config(&(procq_config){ .workers = 2,
	    .size = 100 });
	procq_handle *hs[3];
	procq_args args[3];
	size_t waited = 0;
	long n;
	int rc;

	ck_assert_int_eq(procq_start(q), 0);
	for (int i = 0; i < 3; i++)
		args_pack(&args[i], "i", 10 + i);
	EACH_FAILURE(n, (hs[0] = hs[1] = hs[2] = NULL, rc = procq_map(q,
	    "ident", args, 3, NULL, hs)), {
		ENOMEM_OR_WAITED(rc, waited);
		if (rc != 0)
			ck_assert(hs[0] == NULL && hs[1] == NULL &&
			    hs[2] == NULL);
	});
	ck_assert_int_eq(rc, 0);
	for (int i = 0; i < 3; i++) {
		wait_done(hs[i], 10);
		ck_assert_int_eq(int_value(hs[i]), 10 + i);
	}
	args_free(args, 3);
	procq_free(q);
}
END_TEST

/*
 * A map of several chunks whose allocation fails after its first chunk
 * was posted: the call fails with no handle given, and the tasks it had
 * posted are cancelled (or ran): none is left waiting.
 */
#define N_CHUNKED 3000

START_TEST(test_map_fails_after_a_chunk)
{
	procq_queue *q = new_queue(2, 0);
	procq_args *args = calloc(N_CHUNKED, sizeof *args);
	procq_handle **hs = calloc(N_CHUNKED, sizeof *hs);
	procq_stats st;
	int rc;

	ck_assert(args != NULL && hs != NULL);
	ck_assert_int_eq(procq_start(q), 0);
	for (int i = 0; i < N_CHUNKED; i++)
		args_pack(&args[i], "i", i);
	arm(2500);
	rc = procq_map(q, "ident", args, N_CHUNKED, NULL, hs);
	ck_assert(disarm());
	ck_assert_int_eq(rc, PROCQ_ENOMEM);
	for (int i = 0; i < N_CHUNKED; i++)
		ck_assert_ptr_null(hs[i]);
	ck_assert_int_eq(procq_join(q, 60), 0);
	ck_assert_int_eq(procq_stats_get(q, &st), 0);
	ck_assert_uint_eq(st.pending + st.active + st.scheduled, 0);
	/* a chunk of 1024 was posted, and not all of the map */
	ck_assert_uint_ge(st.completed, 1024);
	ck_assert_uint_lt(st.completed, N_CHUNKED);
	args_free(args, N_CHUNKED);
	free(args);
	free(hs);
	procq_free(q);
}
END_TEST

/* Bound tasks and procq_map(), on a started queue. */
START_TEST(test_bound_and_map)
{
	procq_queue *q = new_queue(2, 0);
	procq_bound *b;
	procq_group *g;
	procq_handle *h = NULL, *hs[2] = { NULL, NULL };
	procq_args args[2];
	long n;
	int rc, err;

	ck_assert_int_eq(procq_start(q), 0);
	args_pack(&args[0], "i", 10);
	args_pack(&args[1], "i", 11);
	EACH_FAILURE(n, (err = 0, b = procq_bind(q, "ident",
	    &(procq_opts){ .name = "bound", .group = "bg", .retries = 1 },
	    &err)), {
		ck_assert_ptr_null(b);
		ck_assert_int_eq(err, PROCQ_ENOMEM);
	});
	ck_assert_ptr_nonnull(b);
	EACH_FAILURE(n, rc = procq_bound_callf(b,
	    &(procq_opts){ .name = "over" }, &h, "i", 9),
	    ck_assert_int_eq(rc, PROCQ_ENOMEM));
	ck_assert_int_eq(rc, 0);
	EACH_FAILURE(n, rc = procq_bound_map(b, args, 2, NULL, hs),
	    ck_assert_int_eq(rc, PROCQ_ENOMEM));
	ck_assert_int_eq(rc, 0);
	EACH_FAILURE(n, (err = 0, g = procq_bound_group(b, args, 2, NULL,
	    NULL, &err)), {
		if (g != NULL) {	/* its posts waited */
			ck_assert_int_eq(procq_group_wait(g, 20, NULL), 0);
			procq_group_free(g);
			continue;
		}
		ck_assert_int_eq(err, PROCQ_ENOMEM);
	});
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(procq_group_wait(g, 20, NULL), 0);
	procq_group_free(g);
	EACH_FAILURE(n, rc = procq_map(q, "ident", args, 2, NULL, hs),
	    ck_assert_int_eq(rc, PROCQ_ENOMEM));
	ck_assert_int_eq(rc, 0);
	wait_done(h, 10);
	ck_assert_int_eq(int_value(h), 9);
	wait_done(hs[1], 10);
	ck_assert_int_eq(int_value(hs[1]), 11);
	procq_bound_free(b);
	args_free(args, 2);
	procq_free(q);
}
END_TEST

/* Waiting: procq_wait(), procq_as_completed(), done callbacks and
 * futures.  A waiter's watch that cannot be posted to the supervisor is
 * run by it while the caller waits, and the call succeeds; otherwise a
 * failure fails the call.  A call that succeeds has heard of every
 * handle: a waiter used to drop the position of a handle when its list
 * could not grow, and then slept until its deadline. */
/* The iterator returns both handles of test_wait, and is freed. */
static void
iter_all(procq_iter *it)
{
	int err = -1;

	ck_assert_ptr_nonnull(it);
	ck_assert_ptr_nonnull(procq_iter_next(it, &err));
	ck_assert_ptr_nonnull(procq_iter_next(it, &err));
	ck_assert_ptr_null(procq_iter_next(it, &err));
	ck_assert_int_eq(err, 0);
	procq_iter_free(it, false);
}

START_TEST(test_wait)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *hs[2], *done[2], *f;
	procq_iter *it;
	size_t ndone, waited = 0;
	long n;
	int rc, err;

	ck_assert_int_eq(procq_start(q), 0);
	hs[0] = submit_ok(q, "ident", NULL, "i", 1);
	hs[1] = submit_ok(q, "ident", NULL, "i", 2);
	wait_done(hs[1], 10);
	EACH_FAILURE(n, (ndone = 0, rc = procq_wait(hs, 2,
	    PROCQ_ALL_COMPLETED, 5, done, &ndone, NULL, NULL)), {
		ENOMEM_OR_WAITED(rc, waited);
		ck_assert_uint_eq(ndone, rc == 0 ? 2 : 0);
	});
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(ndone, 2);
	EACH_FAILURE(n, (err = 0, it = procq_as_completed(hs, 2, 5, &err)), {
		if (it != NULL)
			iter_all(it);
		else
			ck_assert_int_eq(err, PROCQ_ENOMEM);
	});
	iter_all(it);
	EACH_FAILURE(n, rc = procq_handle_on_done(hs[0], done_noop, NULL),
	    ck_assert_int_eq(rc, PROCQ_ENOMEM));
	ck_assert_int_eq(rc, 0);
	EACH_FAILURE(n, (err = 0, f = procq_future_create(q, "fut", &err)), {
		if (f != NULL) {	/* its post waited */
			ck_assert_int_eq(procq_future_set_valuef(f, "i", 0),
			    0);
			continue;
		}
		ck_assert_int_eq(err, PROCQ_ENOMEM);
	});
	ck_assert_ptr_nonnull(f);
	EACH_FAILURE(n, rc = procq_future_set_valuef(f, "s", "value"),
	    ck_assert_int_eq(rc, PROCQ_ENOMEM));
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(procq_handle_status(f), PROCQ_SUCCEEDED);
	procq_free(q);
}
END_TEST

/* Summaries and their views, and what they print. */
START_TEST(test_summary)
{
	procq_queue *q = new_queue(1, 0);
	procq_summary *s, *v, *subs[2] = { NULL, NULL };
	const char *ids[2] = { NULL, NULL };
	char *buf = NULL;
	size_t len = 0, groups;
	FILE *fp;
	long n;
	int rc;

	submit_ok(q, "ident", &(procq_opts){ .group = "g" }, "i", 1);
	submit_ok(q, "fail", NULL, "s", "no");
	submit_ok(q, "double", &(procq_opts){ .group = "h" }, "d", 1.0);
	procq_summary_free(run_ok(q));
	EACH_FAILURE(n, s = procq_results(q), ck_assert_ptr_null(s));
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(procq_summary_count(s), 3);
	EACH_FAILURE(n, v = procq_summary_by_name(s, "ident"),
	    ck_assert_ptr_null(v));
	ck_assert_uint_eq(procq_summary_count(v), 1);
	procq_summary_free(v);
	EACH_FAILURE(n, v = procq_summary_by_group(s, "g"),
	    ck_assert_ptr_null(v));
	ck_assert_uint_eq(procq_summary_count(v), 1);
	procq_summary_free(v);
	EACH_FAILURE(n, v = procq_summary_errors(s), ck_assert_ptr_null(v));
	ck_assert_uint_eq(procq_summary_count(v), 1);
	procq_summary_free(v);
	EACH_FAILURE(n, v = procq_summary_successes(s),
	    ck_assert_ptr_null(v));
	ck_assert_uint_eq(procq_summary_count(v), 2);
	procq_summary_free(v);
	/* all or nothing: no summary made, nothing stored */
	EACH_FAILURE(n, rc = procq_summary_groups(s, ids, subs, 2, &groups), {
		ck_assert_int_eq(rc, PROCQ_ENOMEM);
		ck_assert_uint_eq(groups, 0);
		ck_assert_ptr_null(ids[0]);
		ck_assert_ptr_null(subs[0]);
		ck_assert_ptr_null(subs[1]);
	});
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(groups, 2);
	ck_assert_str_eq(ids[0], "g");
	ck_assert_str_eq(ids[1], "h");
	ck_assert_uint_eq(procq_summary_count(subs[0]), 1);
	ck_assert_uint_eq(procq_summary_count(subs[1]), 1);
	procq_summary_free(subs[0]);
	procq_summary_free(subs[1]);
	fp = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(procq_summary_json(s, fp), 0);
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(buf, "\"ident\""));
	free(buf);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

/* procq_race(): one that fails, whose failures make a summary, and one
 * with a winner. */
START_TEST(test_race)
{
	procq_queue *q = new_queue(2, 0);
	procq_summary *fails;
	procq_handle *winner;
	procq_args args[2];
	procq_job lose[2], win[2];
	size_t waited = 0;
	long n;
	int rc;

	ck_assert_int_eq(procq_start(q), 0);
	args_pack(&args[0], "s", "no");
	args_pack(&args[1], "i", 3);
	lose[0] = lose[1] = (procq_job){ "fail", args[0], NULL };
	win[0] = (procq_job){ "fail", args[0], NULL };
	win[1] = (procq_job){ "ident", args[1], NULL };
	EACH_FAILURE(n, (fails = NULL, rc = procq_race(q, lose, 2, 20, NULL,
	    &fails)), {
		if (rc == PROCQ_ETASK) {	/* a post waited */
			waited++;
			ck_assert_uint_eq(procq_summary_count(fails), 2);
			procq_summary_free(fails);
			continue;
		}
		ck_assert_int_eq(rc, PROCQ_ENOMEM);
		ck_assert_ptr_null(fails);
	});
	ck_assert_int_eq(rc, PROCQ_ETASK);
	ck_assert_uint_eq(procq_summary_failed(fails), 2);
	procq_summary_free(fails);
	EACH_FAILURE(n, (winner = NULL, rc = procq_race(q, win, 2, 20, &winner,
	    NULL)), ENOMEM_OR_WAITED(rc, waited));
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(int_value(winner), 3);
	args_free(args, 2);
	procq_free(q);
}
END_TEST

/* procq_pmap(): its own queue, made, started and run here. */
START_TEST(test_pmap)
{
	procq_args args[2];
	procq_summary *s;
	long n;
	int rc;

	args_pack(&args[0], "i", 1);
	args_pack(&args[1], "i", 2);
	EACH_FAILURE(n, (s = NULL, rc = procq_pmap("mine", task_mine, args, 2,
	    &(procq_config){ .workers = 1 }, NULL, &s)), {
		ck_assert_msg(rc == PROCQ_ENOMEM || rc == PROCQ_ESYS,
		    "allocation %ld: %s", n, procq_strerror(rc));
		ck_assert_ptr_null(s);
	});
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(procq_summary_succeeded(s), 2);
	procq_summary_free(s);
	args_free(args, 2);
}
END_TEST

/* procq_unpack(): when a string cannot be copied, the ones copied before
 * it are freed and the pointers cleared. */
START_TEST(test_unpack_strings)
{
	procq_args a;
	msgpack_unpacked u;
	char *s1 = NULL, *s2 = NULL;
	const char *str;
	const void *bin;
	size_t len;
	long n;
	int rc, i = 0;

	args_pack(&a, "sis", "one", 2, "three");
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(msgpack_unpack_next(&u, a.data, a.len, NULL),
	    MSGPACK_UNPACK_SUCCESS);
	EACH_FAILURE(n, rc = procq_unpack(&u.data, "sis", &s1, &i, &s2), {
		ck_assert_int_eq(rc, PROCQ_ENOMEM);
		ck_assert_ptr_null(s1);
		ck_assert_ptr_null(s2);
	});
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(s1, "one");
	ck_assert_str_eq(s2, "three");
	free(s1);
	free(s2);
	msgpack_unpacked_destroy(&u);
	args_free(&a, 1);
	/* the conversions between them that copy nothing are skipped */
	args_pack(&a, "sSyns", "one", "two", (size_t)3, "bin", (size_t)3,
	    "three");
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(msgpack_unpack_next(&u, a.data, a.len, NULL),
	    MSGPACK_UNPACK_SUCCESS);
	EACH_FAILURE(n, (s1 = s2 = NULL, rc = procq_unpack(&u.data,
	    "s Syn s", &s1, &str, &len, &bin, &len, &s2)), {
		ck_assert_int_eq(rc, PROCQ_ENOMEM);
		ck_assert_ptr_null(s1);
		ck_assert_ptr_null(s2);
	});
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(s2, "three");
	free(s1);
	free(s2);
	msgpack_unpacked_destroy(&u);
	args_free(&a, 1);
}
END_TEST

static Suite *
alloc_suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc;

	tc = add_tcase(s, "queue", 30);
	tcase_add_test(tc, test_create_copies);
	tcase_add_test(tc, test_register);
	tcase_add_test(tc, test_submit);
	tcase_add_test(tc, test_submit_heaps);
	tcase_add_test(tc, test_submit_started);
	tcase_add_test(tc, test_submit_exec);
	tcase_add_test(tc, test_start);
	tcase_add_loop_test(tc, test_start_implied, 0, N_IMPLIED);

	tc = add_tcase(s, "api", 30);
	tcase_add_test(tc, test_group);
	tcase_add_test(tc, test_group_policy);
	tcase_add_test(tc, test_group_map_sized);
	tcase_add_test(tc, test_bound_and_map);
	tcase_add_test(tc, test_map_sized);
	tcase_add_test(tc, test_map_fails_after_a_chunk);
	tcase_add_test(tc, test_wait);
	tcase_add_test(tc, test_summary);
	tcase_add_test(tc, test_race);
	tcase_add_test(tc, test_pmap);
	tcase_add_test(tc, test_unpack_strings);
	return s;
}

int
main(void)
{
	return run_suite(alloc_suite());
}
