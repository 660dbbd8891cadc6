/*
 * Crash isolation: every way a worker can die, retries after a crash, the
 * prefetch window, no leaked descriptors or zombies, the caller's own
 * children and signals left alone, and workers dying with their parent.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tasks.h"
#include "util.h"

static const struct crash_kind {
	const char *how;
	int sig;		/* procq_result_signal() */
	int status;		/* procq_result_exit_status() */
	const char *message;	/* NULL: only the kind is checked */
	bool sanitized;		/* a sanitizer may turn it into exit(1) */
} kinds[] = {
	{ "segv-raise", SIGSEGV, -1, "worker died: SIGSEGV", true },
	{ "null", 0, 0, NULL, true },
	{ "abort", SIGABRT, -1, "worker died: SIGABRT", false },
	{ "sigkill", SIGKILL, -1, "worker died: SIGKILL", false },
	{ "signal40", 40, -1, "worker died: signal 40", false },
	{ "exit3", -1, 3, "worker exited with status 3", false },
	{ "_exit3", -1, 3, "worker exited with status 3", false },
	{ "exit0", -1, 0, "worker exited with status 0", false },
	{ "_exit0", -1, 0, "worker exited with status 0", false },
};
#define N_KINDS ((int)(sizeof kinds / sizeof kinds[0]))

/* True when got is want, or want followed by " (core dumped)". */
static bool
signal_message(const char *got, const char *want)
{
	size_t n = strlen(want);

	return strncmp(got, want, n) == 0 &&
	    (got[n] == '\0' || strcmp(got + n, " (core dumped)") == 0);
}

static void
check_crash(procq_handle *h, const struct crash_kind *k, int attempts)
{
	const procq_result *r = procq_handle_result(h);
	const char *msg;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(procq_result_status(r), PROCQ_FAILED);
	ck_assert_int_eq(procq_result_error_kind(r), PROCQ_ERR_CRASH);
	ck_assert_str_eq(procq_result_error_type(r), "WorkerCrash");
	ck_assert_int_eq(procq_result_attempts(r), attempts);
	msg = procq_result_error_message(r);
	ck_assert_ptr_nonnull(msg);
	if (k->message == NULL)
		return;
	if (TEST_ASAN && k->sanitized &&
	    strcmp(msg, "worker exited with status 1") == 0) {
		ck_assert_int_eq(procq_result_exit_status(r), 1);
		ck_assert_int_eq(procq_result_signal(r), -1);
		return;
	}
	if (k->sig > 0) {
		ck_assert_msg(signal_message(msg, k->message),
		    "%s: message '%s'", k->how, msg);
		ck_assert_int_eq(procq_result_signal(r), k->sig);
		ck_assert_int_eq(procq_result_exit_status(r), -1);
	} else {
		ck_assert_str_eq(msg, k->message);
		ck_assert_int_eq(procq_result_exit_status(r), k->status);
		ck_assert_int_eq(procq_result_signal(r), -1);
	}
}

static void
check_double(procq_handle *h, double x)
{
	double v = 0;

	ck_assert_msg(procq_handle_status(h) == PROCQ_SUCCEEDED,
	    "double: %s: %s", procq_status_name(procq_handle_status(h)),
	    procq_handle_error_message(h));
	ck_assert_int_eq(procq_handle_attempts(h), 1);
	ck_assert_int_eq(procq_handle_value(h, "d", &v), 0);
	ck_assert_double_eq(v, 2 * x);
}

/* One crash kind among tasks that succeed. */
START_TEST(test_crash_kind)
{
	const struct crash_kind *k = &kinds[_i];
	procq_queue *q = new_queue(2, 0);
	procq_handle *hc, *hd[4];
	procq_summary *s = NULL;
	int i;

	hd[0] = submit_ok(q, "double", NULL, "d", 0.0);
	hc = submit_ok(q, "crash", NULL, "s", k->how);
	for (i = 1; i < 4; i++)
		hd[i] = submit_ok(q, "double", NULL, "d", (double)i);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	check_crash(hc, k, 1);
	for (i = 0; i < 4; i++)
		check_double(hd[i], (double)i);
	ck_assert_uint_eq(procq_summary_failed(s), 1);
	ck_assert_uint_eq(procq_summary_succeeded(s), 4);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

/* Every kind in the same run. */
START_TEST(test_crash_all_kinds)
{
	procq_queue *q = new_queue(2, 0);
	procq_handle *hc[N_KINDS], *hd[N_KINDS];
	int i;

	for (i = 0; i < N_KINDS; i++) {
		hc[i] = submit_ok(q, "crash", NULL, "s", kinds[i].how);
		hd[i] = submit_ok(q, "double", NULL, "d", (double)i);
	}
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	for (i = 0; i < N_KINDS; i++) {
		check_crash(hc[i], &kinds[i], 1);
		check_double(hd[i], (double)i);
	}
	procq_free(q);
}
END_TEST

START_TEST(test_crash_retry_succeeds)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h[3];
	int i, v;

	h[0] = submit_ok(q, "crash_once", &(procq_opts){ .retries = 1 }, "s",
	    "sigkill");
	h[1] = submit_ok(q, "crash_once", &(procq_opts){ .retries = 1 }, "s",
	    "abort");
	h[2] = submit_ok(q, "crash_once", &(procq_opts){ .retries = 1 }, "s",
	    "_exit3");
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(procq_handle_status(h[i]), PROCQ_SUCCEEDED);
		ck_assert_int_eq(procq_handle_attempts(h[i]), 2);
		ck_assert_int_eq(procq_handle_error_kind(h[i]),
		    PROCQ_ERR_NONE);
		v = 0;
		ck_assert_int_eq(procq_handle_value(h[i], "i", &v), 0);
		ck_assert_int_eq(v, 42);
	}
	procq_free(q);
}
END_TEST

START_TEST(test_crash_retries_exhausted)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = submit_ok(q, "crash", &(procq_opts){ .retries = 2 },
	    "s", "abort");

	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	check_crash(h, &kinds[2], 3);
	procq_free(q);
}
END_TEST

/* Several tasks in flight on one worker: only the one that was running
 * when it died fails; the ones behind it run again, without using up an
 * attempt. */
START_TEST(test_crash_prefetch)
{
	procq_queue *q = new_queue(1, 4);
	procq_handle *hc = NULL, *hi[8];
	int i, v;

	for (i = 0; i < 8; i++) {
		if (i == 2)
			hc = submit_ok(q, "crash", NULL, "s", "sigkill");
		hi[i] = submit_ok(q, "ident", NULL, "i", i);
	}
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	check_crash(hc, &kinds[3], 1);
	for (i = 0; i < 8; i++) {
		ck_assert_msg(procq_handle_status(hi[i]) == PROCQ_SUCCEEDED,
		    "task %d: %s", i, procq_handle_error_message(hi[i]));
		ck_assert_int_eq(procq_handle_attempts(hi[i]), 1);
		v = -1;
		ck_assert_int_eq(procq_handle_value(hi[i], "i", &v), 0);
		ck_assert_int_eq(v, i);
	}
	procq_free(q);
}
END_TEST

/* A worker dies while the supervisor is writing large frames to it: the
 * caller survives (no SIGPIPE) and the tasks run on the next worker. */
START_TEST(test_crash_during_big_write)
{
	procq_queue *q = new_queue(1, 4);
	size_t len = 4 << 20;
	char *big = malloc(len);
	procq_handle *hc, *he[3];
	const msgpack_object *v;
	int i;

	ck_assert_ptr_nonnull(big);
	memset(big, 'b', len);
	hc = submit_ok(q, "crash", NULL, "s", "sigkill");
	for (i = 0; i < 3; i++)
		he[i] = submit_ok(q, "echo", NULL, "S", big, len);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	check_crash(hc, &kinds[3], 1);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(procq_handle_status(he[i]), PROCQ_SUCCEEDED);
		v = procq_result_value(procq_handle_result(he[i]));
		ck_assert_int_eq(v->type, MSGPACK_OBJECT_ARRAY);
		ck_assert_uint_eq(v->via.array.size, 1);
		ck_assert_uint_eq(v->via.array.ptr[0].via.str.size, len);
		ck_assert_mem_eq(v->via.array.ptr[0].via.str.ptr, big, len);
	}
	free(big);
	procq_free(q);
}
END_TEST

#define N_CRASHES 200

/* Many crashes leak neither descriptors nor processes. */
START_TEST(test_many_crashes_no_leaks)
{
	static const char *const how[] = { "sigkill", "_exit0", "abort",
	    "_exit3" };
	procq_queue *q;
	procq_handle *h;
	procq_summary *s = NULL;
	pid_t kids[8];
	int fds, i;

	/* warm up: anything opened once per process is opened now */
	q = new_queue(1, 0);
	h = submit_ok(q, "crash", NULL, "s", "sigkill");
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	procq_free(q);

	fds = count_fds();
	ck_assert_uint_eq(list_children(kids, 8), 0);

	q = new_queue(2, 0);
	for (i = 0; i < N_CRASHES; i++)
		submit_ok(q, "crash", NULL, "s", how[i % 4]);
	h = submit_ok(q, "double", NULL, "d", 1.0);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_failed(s), N_CRASHES);
	ck_assert_uint_eq(procq_summary_succeeded(s), 1);
	for (i = 0; i < (int)procq_summary_count(s); i++) {
		const procq_result *r = procq_summary_result(s, (size_t)i);

		if (procq_result_status(r) == PROCQ_FAILED)
			ck_assert_int_eq(procq_result_error_kind(r),
			    PROCQ_ERR_CRASH);
	}
	check_double(h, 1.0);
	procq_summary_free(s);
	/* at most the two live workers and the spare while the queue
	 * exists */
	ck_assert_uint_le(list_children(kids, 8), 3);
	procq_free(q);

	ck_assert_int_eq(count_fds(), fds);
	ck_assert_msg(list_children(kids, 8) == 0,
	    "child %d (state %c) left after procq_free", (int)kids[0],
	    proc_state(kids[0]));
}
END_TEST

/* The library reaps its own workers only, and takes no signals. */
START_TEST(test_caller_children_and_signals)
{
	struct sigaction sa;
	procq_queue *q;
	pid_t kid;
	int st = 0, i;

	kid = fork();
	ck_assert_int_ge(kid, 0);
	if (kid == 0)
		_exit(7);

	q = new_queue(2, 0);
	for (i = 0; i < 10; i++)
		submit_ok(q, "crash", NULL, "s", i % 2 ? "sigkill" : "_exit0");
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);

	ck_assert_int_eq(sigaction(SIGCHLD, NULL, &sa), 0);
	ck_assert_msg(sa.sa_handler == SIG_DFL && !(sa.sa_flags & SA_SIGINFO),
	    "SIGCHLD disposition changed");
	ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
	ck_assert_msg(sa.sa_handler == SIG_DFL && !(sa.sa_flags & SA_SIGINFO),
	    "SIGPIPE disposition changed");
	procq_free(q);

	ck_assert_int_eq(waitpid(kid, &st, 0), kid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 7);
}
END_TEST

static bool
worker_reaped(void *p)
{
	pid_t pid = *(pid_t *)p;

	/* as a subreaper we inherit the orphaned workers: reap them */
	if (waitpid(pid, NULL, WNOHANG) == pid)
		return true;
	return kill(pid, 0) == -1 && errno == ESRCH;
}

/* When the process owning the queue is killed, its workers go too. */
START_TEST(test_parent_killed)
{
	char path[2][128];
	pid_t mid, wp[2];
	bool gone[2];
	int i;

	if (test_exec(NULL))	/* registers a function of its own */
		return;
	make_tmpfile(path[0], sizeof path[0]);
	make_tmpfile(path[1], sizeof path[1]);
	/* orphans come to this process, so that they can be waited for
	 * whatever init does with them */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	mid = fork();
	ck_assert_int_ge(mid, 0);
	if (mid == 0) {
		procq_queue *q = test_create(&(procq_config){ .workers = 2 },
		    NULL);

		if (q == NULL)
			_exit(1);
		register_common_tasks(q);
		for (i = 0; i < 2; i++)
			if (procq_submitf(q, "pidfile_sleep", NULL, NULL, "s",
			    path[i]) != 0)
				_exit(1);
		if (procq_start(q) != 0)
			_exit(1);
		sleep_forever();
	}
	wp[0] = wait_pid_file(path[0], 10);
	wp[1] = wait_pid_file(path[1], 10);
	unlink(path[0]);
	unlink(path[1]);
	if (wp[0] == 0 || wp[1] == 0)
		kill(mid, SIGKILL);
	ck_assert_msg(wp[0] > 0 && wp[1] > 0, "workers did not start");
	ck_assert_int_ne(wp[0], wp[1]);
	ck_assert_int_ne(wp[0], mid);

	ck_assert_int_eq(kill(mid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(mid, NULL, 0), mid);
	for (i = 0; i < 2; i++) {
		gone[i] = wait_until(worker_reaped, &wp[i], 5);
		if (!gone[i]) {
			kill(wp[i], SIGKILL);
			waitpid(wp[i], NULL, 0);
		}
	}
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	ck_assert_msg(gone[0] && gone[1], "worker survived its parent");
}
END_TEST

static Suite *
crash_suite(void)
{
	Suite *s = suite_create("crash");
	TCase *tc;

	tc = add_tcase(s, "kinds", 30);
	tcase_add_loop_test(tc, test_crash_kind, 0, N_KINDS);
	tcase_add_test(tc, test_crash_all_kinds);
	tcase_add_test(tc, test_crash_retry_succeeds);
	tcase_add_test(tc, test_crash_retries_exhausted);
	tcase_add_test(tc, test_crash_prefetch);
	tcase_add_test(tc, test_crash_during_big_write);

	tc = add_tcase(s, "resources", 60);
	tcase_add_test(tc, test_many_crashes_no_leaks);
	tcase_add_test(tc, test_caller_children_and_signals);
	tcase_add_test(tc, test_parent_killed);
	return s;
}

int
main(void)
{
	return run_suite(crash_suite());
}
