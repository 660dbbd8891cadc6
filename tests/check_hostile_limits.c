/*
 * A hostile task or a hostile environment against what the supervisor
 * promises: that the queue keeps going whoever stalls, and that the limits
 * it is given hold or are refused.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define LOUD_BYTES	(100 * 1024)

/* Writes 100 KB to its standard error, then waits to be killed. */
static int
task_loud_pause(procq_call *c)
{
	static char buf[LOUD_BYTES];

	(void)c;
	memset(buf, 'x', sizeof buf);
	if (!write_all(STDERR_FILENO, buf, sizeof buf))
		return -1;
	sleep_forever();
}

/* Ignores SIGXCPU and spins for 8 CPU-seconds, then succeeds. */
static int
task_spin_ignoring_xcpu(procq_call *c)
{
	double start;

	(void)c;
	signal(SIGXCPU, SIG_IGN);
	start = cpu_now();
	while (cpu_now() - start < 8.0)
		;
	return 0;
}

/* Spins for 0.2 CPU-seconds, then forks: the child's CPU time limit,
 * [soft, hard] (-1 = none). */
static int
task_fork_cpu_limit(procq_call *c)
{
	struct rlimit rl;
	double start = cpu_now(), soft, hard;
	int fds[2], status;
	pid_t pid;

	while (cpu_now() - start < 0.2)
		;
	if (pipe(fds) != 0 || (pid = fork()) < 0)
		return procq_call_fail(c, "OSError", "pipe or fork");
	if (pid == 0) {
		if (getrlimit(RLIMIT_CPU, &rl) != 0 ||
		    !write_all(fds[1], &rl, sizeof rl))
			test_child_exit(1);
		test_child_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &rl, sizeof rl) != (ssize_t)sizeof rl ||
	    waitpid(pid, &status, 0) != pid)
		return procq_call_fail(c, "OSError", "no limit from the child");
	close(fds[0]);
	soft = rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur;
	hard = rl.rlim_max == RLIM_INFINITY ? -1 : (double)rl.rlim_max;
	return procq_call_return(c, "dd", soft, hard);
}

/* Allocates 1 GB without looking at what malloc returned, and touches
 * every page of it. */
static int
task_alloc_unchecked(procq_call *c)
{
	size_t size = (size_t)1 << 30;
	volatile char *p = malloc(size);

	(void)c;
	for (size_t i = 0; i < size; i += 4096)
		p[i] = 1;
	return 0;
}

/* A LIMIT frame, [5, "memory"], then a wait to be killed. */
static int
task_raw_limit(procq_call *c)
{
	static const char frame[] = "\x00\x00\x00\x09"
	    "\x92\x05\xa6" "memory";

	(void)c;
	if (write(4, frame, sizeof frame - 1) < 0)
		return -1;
	sleep_forever();
}

static const procq_worker_task limits_tasks[] = {
	{ "loud_pause", task_loud_pause },
	{ "spin_ignoring_xcpu", task_spin_ignoring_xcpu },
	{ "alloc_unchecked", task_alloc_unchecked },
	{ "raw_limit", task_raw_limit },
	{ "fork_cpu_limit", task_fork_cpu_limit },
	{ NULL, NULL }
};

static procq_queue *
limits_queue(const procq_config *cfg)
{
	procq_queue *q = test_create_with(cfg, limits_tasks, true, NULL);

	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(procq_start(q), 0);
	return q;
}

struct stats_call {
	procq_queue *q;
	int rc;
};

static void *
stats_thread(void *arg)
{
	struct stats_call *sc = arg;
	procq_stats st;

	sc->rc = procq_stats_get(sc->q, &st);
	return NULL;
}

/* The pipe holds as much as it can: whoever writes to it next would
 * wait for a reader. */
static bool
pipe_full(void *arg)
{
	int fd = *(int *)arg, queued = 0, size = fcntl(fd, F_GETPIPE_SZ);

	return size > 0 && ioctl(fd, FIONREAD, &queued) == 0 &&
	    queued >= size;
}

/*
 * A caller's standard error that nobody reads (a stopped pager, a stuck
 * logger) holds up neither the queue nor a task's timeout: what it cannot
 * take is dropped, and the crash report says how much.
 */
START_TEST(test_stderr_stalled_reader)
{
	struct stats_call sc = { .rc = -1 };
	procq_queue *q;
	procq_handle *h;
	const procq_result *r;
	const char *out = NULL;
	size_t len = 0;
	pthread_t th;
	int p[2], saved, joined = -1;
	bool full, failed, started;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ge(saved = dup(STDERR_FILENO), 0);
	q = limits_queue(&(procq_config){ .workers = 1 });
	sc.q = q;
	/* From here until fd 2 is restored, no assertion may fail. */
	dup2(p[1], STDERR_FILENO);
	h = submit_ok(q, "loud_pause", &(procq_opts){ .timeout = 1 }, "");
	full = wait_until(pipe_full, &p[0], 5);
	started = pthread_create(&th, NULL, stats_thread, &sc) == 0;
	if (started)
		joined = join_within(th, 5);
	/* Any call would wait as long as procq_stats_get() does. */
	failed = joined == 0 && wait_status(h, PROCQ_FAILED, 5);
	if (failed) {
		r = procq_handle_result(h);
		out = procq_result_stderr(r, &len);
	}
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[0]);	/* a write still under way ends in EPIPE */
	close(p[1]);
	ck_assert_msg(full, "the task's standard error never reached fd 2");
	ck_assert(started);
	ck_assert_msg(joined == 0, "procq_stats_get() blocked");
	ck_assert_int_eq(sc.rc, 0);
	ck_assert_msg(failed, "the 1 s timeout did not fire");
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_TIMEOUT);
	ck_assert_ptr_nonnull(out);
	ck_assert_msg(strstr(out, "were not passed on") != NULL &&
	    strstr(out, "did not keep up") != NULL,
	    "stderr tail: ...%.*s", len > 300 ? 300 : (int)len,
	    len > 300 ? out + len - 300 : out);
	procq_free(q);
}
END_TEST

/* A task that ignores SIGXCPU is still held to max_cpu, and the error
 * names the CPU limit. */
START_TEST(test_cpu_limit_sigxcpu_ignored)
{
	procq_queue *q = limits_queue(&(procq_config){ .workers = 1,
	    .max_cpu = 1 });
	procq_handle *h, *after;
	const char *msg;

	h = submit_ok(q, "spin_ignoring_xcpu", NULL, "");
	wait_done(h, 25);
	msg = message_of(h);
	ck_assert_msg(procq_handle_status(h) == PROCQ_FAILED,
	    "the task spun 8 CPU-seconds under max_cpu = 1");
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_CRASH);
	ck_assert_msg(strstr(msg, "CPU time limit of 1 s") != NULL,
	    "message: %s", msg);
	/* The next task in a new worker is held to the limit afresh. */
	after = submit_ok(q, "ident", NULL, "i", 7);
	wait_done(after, 10);
	ck_assert_msg(procq_handle_status(after) == PROCQ_SUCCEEDED, "%s",
	    message_of(after));
	procq_free(q);
}
END_TEST

/*
 * A process the task forks counts its CPU time from zero: its limit is
 * what the attempt has left, rounded up (1 s of 1 once the worker has
 * spun 0.2 s), with SIGKILL (the hard limit) a second later; not the
 * worker's limit, which also counts the CPU time it had used before.
 */
START_TEST(test_cpu_limit_forked)
{
	procq_queue *q = limits_queue(&(procq_config){ .workers = 1,
	    .max_cpu = 1 });
	procq_handle *h;
	double soft = 0, hard = 0;

	/* The worker has used some CPU time before the attempt. */
	h = submit_ok(q, "ident", NULL, "i", 1);
	wait_done(h, 10);
	h = submit_ok(q, "fork_cpu_limit", NULL, "");
	wait_done(h, 10);
	ck_assert_msg(procq_handle_value(h, "dd", &soft, &hard) == 0, "%s",
	    message_of(h));
	ck_assert_msg(soft == 1 && hard == 2, "the child's limit: %g s, "
	    "hard %g s", soft, hard);
	procq_free(q);
}
END_TEST

/*
 * The kernel does not hold root to RLIMIT_NPROC: a root caller whose
 * workers stay root is refused max_procs rather than given a limit that
 * does not hold.  Workers that switch to another user are held to it.
 */
START_TEST(test_max_procs_root)
{
	procq_queue *q;
	int err = 0, status;
	pid_t pid;

	q = test_create(&(procq_config){ .workers = 1, .max_procs = 64 },
	    &err);
	if (getuid() != 0) {
		ck_assert_msg(q != NULL, "procq_create: %s",
		    procq_strerror(err));
		procq_free(q);
		return;
	}
	ck_assert_msg(q == NULL, "max_procs accepted for root workers");
	ck_assert_int_eq(err, PROCQ_EINVAL);
	q = test_create(&(procq_config){ .workers = 1, .max_procs = 64,
	    .uid = 65534, .gid = 65534 }, &err);
	ck_assert_msg(q != NULL, "procq_create: %s", procq_strerror(err));
	procq_free(q);
	/* A caller that is not root, and has no capability that lifts the
	 * limit, is held to it: accepted (in a child that gives up root). */
	if ((pid = fork_child()) == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			test_child_exit(2);
		q = test_create(&(procq_config){ .workers = 1,
		    .max_procs = 64 }, &err);
		procq_free(q);
		test_child_exit(q != NULL ? 0 : 1);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "as user 65534, max_procs was refused (status %#x)", status);
}
END_TEST

/* A worker that dies of the NULL a failed malloc returned is said to
 * have likely run into its memory limit. */
START_TEST(test_memory_failed_allocation)
{
	procq_queue *q = limits_queue(&(procq_config){ .workers = 1,
	    .max_memory = 100 << 20 });
	procq_handle *h;
	const char *msg;

	h = submit_ok(q, "alloc_unchecked", NULL, "");
	wait_done(h, 20);
	msg = message_of(h);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_CRASH);
	ck_assert_msg(strstr(msg,
	    "likely the memory limit of 104857600 bytes") != NULL,
	    "message: %s", msg);
	procq_free(q);
}
END_TEST

/*
 * A limit too small for the worker to take a task in: the crash names it
 * (the worker's own buffer for tasks could not grow).  The task is large:
 * the heap a worker inherits may have room for a small one.  Not under
 * the fork start method: forked from the supervisor thread, the worker
 * allocates in that thread's arena, reserved ahead (64 MiB) and so
 * already counted in the address space the limit adds to.
 */
START_TEST(test_memory_too_small_for_worker)
{
	procq_config cfg = { .workers = 1, .max_memory = 1024 };
	size_t len = 16 << 20;
	char *big;
	procq_queue *q;
	procq_handle *h;
	const char *msg;

	if (test_effective_start_method(&cfg) == PROCQ_START_FORK)
		return;
	q = limits_queue(&cfg);
	ck_assert_ptr_nonnull(big = malloc(len + 1));
	memset(big, 'x', len);
	big[len] = '\0';
	h = submit_ok(q, "echo", NULL, "s", big);
	free(big);
	wait_done(h, 20);
	msg = message_of(h);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_CRASH);
	ck_assert_msg(strstr(msg, "memory limit of 1024 bytes") != NULL,
	    "message: %s", msg);
	procq_free(q);
}
END_TEST

/* A LIMIT report from a worker that has no limit is a lie: the task
 * fails with a protocol error at once. */
START_TEST(test_limit_frame_without_limit)
{
	procq_queue *q = limits_queue(&(procq_config){ .workers = 1 });
	procq_handle *h;

	h = submit_ok(q, "raw_limit", &(procq_opts){ .timeout = 5 }, "");
	wait_done(h, 20);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_msg(procq_handle_error_kind(h) == PROCQ_ERR_PROTOCOL,
	    "kind %d: %s", procq_handle_error_kind(h), message_of(h));
	procq_free(q);
}
END_TEST

static Suite *
hostile_limits_suite(void)
{
	Suite *s = suite_create("hostile_limits");
	TCase *tc;

	tc = add_tcase(s, "stderr", 30);
	tcase_add_test(tc, test_stderr_stalled_reader);

	tc = add_tcase(s, "limits", 40);
	tcase_add_test(tc, test_cpu_limit_sigxcpu_ignored);
	tcase_add_test(tc, test_cpu_limit_forked);
	tcase_add_test(tc, test_max_procs_root);
	/* The sanitizers' shadow memory does not fit an address space
	 * limit. */
	if (!TEST_ASAN && !TEST_TSAN) {
		tcase_add_test(tc, test_memory_failed_allocation);
		tcase_add_test(tc, test_memory_too_small_for_worker);
	}
	tcase_add_test(tc, test_limit_frame_without_limit);
	return s;
}

int
main(int argc, char **argv)
{
	if (test_serve_as_worker(argc, argv, limits_tasks, true) >= 0)
		return 1;	/* a worker program that could not serve */
	return run_suite(hostile_limits_suite());
}
