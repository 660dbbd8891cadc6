/*
 * Workers on other ranks (procq_mpi_init(3)), run under mpirun by
 * tests/mpi.sh: rank 0 runs this suite, the other ranks serve as node
 * agents.  The suite runs without forking (MPI does not survive a fork
 * of rank 0), so every test leaves the process as it found it.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "procq.h"
#include "procq_mpi.h"
#include "tasks.h"
#include "util.h"

static int
task_echo(procq_call *c)
{
	int64_t v;

	if (procq_call_unpack(c, "l", &v) != 0)
		return procq_call_fail(c, "ValueError", "not an int");
	return procq_call_return(c, "l", v);
}

/* Its whole argument array back, as it came. */
static int
task_mirror(procq_call *c)
{
	size_t len = 0;
	const void *data = procq_call_args_data(c, &len);

	if (data == NULL)
		return procq_call_fail(c, "ArgError", "no argument bytes");
	return procq_call_return_data(c, data, len);
}

static int
task_host(procq_call *c)
{
	char name[256] = { 0 };

	gethostname(name, sizeof name - 1);
	return procq_call_return(c, "s", name);
}

/* Says something on stderr, then dies of SIGSEGV. */
static int
task_crash(procq_call *c)
{
	(void)c;
	fprintf(stderr, "about to crash on purpose\n");
	fflush(stderr);
	raise(SIGSEGV);
	return 0;
}

static int
task_hang(procq_call *c)
{
	(void)c;
	sleep_forever();
}

/* Crashes on its first attempt only. */
static int
task_flaky(procq_call *c)
{
	if (procq_call_attempt(c) == 1)
		abort();
	return procq_call_return(c, "l", (int64_t)procq_call_attempt(c));
}

/* Item i crashes when i % 10 == 9. */
static int
task_mix(procq_call *c)
{
	int64_t i;

	if (procq_call_unpack(c, "l", &i) != 0)
		return procq_call_fail(c, "ValueError", "not an int");
	if (i % 10 == 9)
		raise(SIGSEGV);
	return procq_call_return(c, "l", i * 2);
}

/* Reports its argument as progress, then returns it. */
static int
task_report(procq_call *c)
{
	int64_t v;

	if (procq_call_unpack(c, "l", &v) != 0 ||
	    procq_call_progress(c, "l", v * 10) != 0)
		return procq_call_fail(c, "ValueError", "cannot report");
	return procq_call_return(c, "l", v);
}

static const procq_worker_task mpi_tasks[] = {
	{ "echo", task_echo },
	{ "host", task_host },
	{ "crash", task_crash },
	{ "hang", task_hang },
	{ "flaky", task_flaky },
	{ "mix", task_mix },
	{ "report", task_report },
	{ "gate", task_gate },
	{ "mirror", task_mirror },
	{ NULL, NULL }
};

static procq_queue *
mpi_queue(int workers)
{
	procq_config cfg = {
		.workers = workers,
		.transport = procq_mpi_transport()
	};
	procq_queue *q;
	int err;

	ck_assert_ptr_nonnull(cfg.transport);
	q = procq_create(&cfg, &err);
	ck_assert_msg(q != NULL, "procq_create: %s", procq_strerror(err));
	ck_assert_int_eq(procq_start(q), 0);
	return q;
}

static procq_handle *
submit_int(procq_queue *q, const char *task, int64_t v, const procq_opts *o)
{
	procq_handle *h = NULL;

	ck_assert_int_eq(procq_submitf(q, task, o, &h, "l", v), 0);
	return h;
}

/* Every result comes back, right, from an agent's rank and host; both
 * agents take a share. */
START_TEST(test_mpi_results)
{
	procq_queue *q = mpi_queue(2);
	procq_handle *h[400];
	bool seen[3] = { false };

	for (int i = 0; i < 400; i++)
		h[i] = submit_int(q, "echo", i, NULL);
	for (int i = 0; i < 400; i++) {
		const procq_result *r;
		int64_t v;

		ck_assert_int_eq(procq_handle_wait(h[i], 30), 0);
		r = procq_handle_result(h[i]);
		ck_assert_int_eq(procq_result_status(r), PROCQ_SUCCEEDED);
		ck_assert_int_eq(procq_result_unpack(r, "l", &v), 0);
		ck_assert_int_eq(v, i);
		ck_assert_int_ge(procq_result_rank(r), 1);
		ck_assert_int_le(procq_result_rank(r), 2);
		ck_assert_ptr_nonnull(procq_result_host(r));
		seen[procq_result_rank(r)] = true;
		procq_handle_release(h[i]);
	}
	ck_assert(seen[1] && seen[2]);
	procq_free(q);
}
END_TEST

/* The task reports the host it ran on; the result names the same. */
START_TEST(test_mpi_hostname)
{
	procq_queue *q = mpi_queue(1);
	procq_handle *h = NULL;
	const procq_result *r;
	const char *name = NULL;

	ck_assert_int_eq(procq_submitf(q, "host", NULL, &h, "n"), 0);
	ck_assert_int_eq(procq_handle_wait(h, 30), 0);
	r = procq_handle_result(h);
	ck_assert_int_eq(procq_result_status(r), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_result_unpack(r, "s", &name), 0);
	ck_assert_str_eq(name, procq_result_host(r));
	free((void *)name);
	procq_handle_release(h);
	procq_free(q);
}
END_TEST

/* A task that crashes on a remote rank fails alone, with the signal and
 * what it printed; the next task runs on a worker put in its place. */
START_TEST(test_mpi_crash)
{
	procq_queue *q = mpi_queue(1);
	procq_handle *bad = NULL, *good;
	const procq_result *r;
	const char *out;
	size_t len;

	ck_assert_int_eq(procq_submitf(q, "crash", NULL, &bad, "n"), 0);
	ck_assert_int_eq(procq_handle_wait(bad, 30), 0);
	r = procq_handle_result(bad);
	ck_assert_int_eq(procq_result_status(r), PROCQ_FAILED);
	ck_assert_int_eq(procq_result_error_kind(r), PROCQ_ERR_CRASH);
	ck_assert_int_eq(procq_result_signal(r), SIGSEGV);
	ck_assert_str_eq(procq_result_error_message(r),
	    "worker died: SIGSEGV");
	out = procq_result_stderr(r, &len);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(strstr(out, "about to crash on purpose"));
	ck_assert_int_ge(procq_result_rank(r), 1);
	good = submit_int(q, "echo", 7, NULL);
	ck_assert_int_eq(procq_handle_wait(good, 30), 0);
	ck_assert_int_eq(procq_handle_status(good), PROCQ_SUCCEEDED);
	procq_handle_release(bad);
	procq_handle_release(good);
	procq_free(q);
}
END_TEST

/* A hang past its timeout on a remote rank is killed there. */
START_TEST(test_mpi_timeout)
{
	procq_queue *q = mpi_queue(1);
	procq_handle *h = NULL;
	procq_opts o = { .timeout = 0.5 };
	const procq_result *r;

	ck_assert_int_eq(procq_submitf(q, "hang", &o, &h, "n"), 0);
	ck_assert_int_eq(procq_handle_wait(h, 30), 0);
	r = procq_handle_result(h);
	ck_assert_int_eq(procq_result_status(r), PROCQ_FAILED);
	ck_assert_int_eq(procq_result_error_kind(r), PROCQ_ERR_TIMEOUT);
	ck_assert_int_ge(procq_result_rank(r), 1);
	procq_handle_release(h);
	procq_free(q);
}
END_TEST

/* A running task on a remote rank is cancelled: its worker is killed. */
START_TEST(test_mpi_cancel)
{
	procq_queue *q = mpi_queue(1);
	procq_handle *h = NULL;

	ck_assert_int_eq(procq_submitf(q, "hang", NULL, &h, "n"), 0);
	ck_assert(wait_status(h, PROCQ_RUNNING, 30));
	ck_assert_int_eq(procq_handle_cancel(h), 0);
	ck_assert_int_eq(procq_handle_wait(h, 30), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_CANCELLED);
	procq_handle_release(h);
	procq_free(q);
}
END_TEST

/* A retry after a crash runs again, with its attempt number. */
START_TEST(test_mpi_retry)
{
	procq_queue *q = mpi_queue(1);
	procq_opts o = { .retries = 1 };
	procq_handle *h = NULL;
	const procq_result *r;
	int64_t attempt;

	ck_assert_int_eq(procq_submitf(q, "flaky", &o, &h, "n"), 0);
	ck_assert_int_eq(procq_handle_wait(h, 30), 0);
	r = procq_handle_result(h);
	ck_assert_int_eq(procq_result_status(r), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_result_attempts(r), 2);
	ck_assert_int_eq(procq_result_unpack(r, "l", &attempt), 0);
	ck_assert_int_eq(attempt, 2);
	procq_handle_release(h);
	procq_free(q);
}
END_TEST

/* The agents' workers name their tasks: an unknown name is refused. */
START_TEST(test_mpi_unknown_task)
{
	procq_queue *q = mpi_queue(1);
	procq_handle *h = NULL;

	ck_assert_int_eq(procq_submitf(q, "no-such-task", NULL, &h, "n"),
	    PROCQ_ENOTASK);
	ck_assert_int_eq(procq_register(q, "echo", task_echo), PROCQ_EINVAL);
	procq_free(q);
}
END_TEST

/*
 * Values of 1 MiB both ways, more than a pipe holds: the relay waits for
 * the worker's and the pool's pipes to drain, and every byte arrives.
 */
START_TEST(test_mpi_large_values)
{
	enum { SIZE = 1 << 20, N = 4 };
	procq_queue *q = mpi_queue(2);
	procq_handle *h[N];
	const void *back;
	size_t len;
	char *big = malloc(SIZE);
	procq_args a;

	ck_assert_ptr_nonnull(big);
	for (int i = 0; i < N; i++) {
		memset(big, 'a' + i, SIZE);
		args_pack(&a, "y", big, (size_t)SIZE);
		ck_assert_int_eq(procq_submit(q, "mirror", a.data, a.len, NULL,
		    &h[i]), 0);
		args_free(&a, 1);
	}
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(procq_handle_wait(h[i], 60), 0);
		ck_assert_int_eq(procq_handle_status(h[i]), PROCQ_SUCCEEDED);
		back = procq_result_data(procq_handle_result(h[i]), &len);
		ck_assert_ptr_nonnull(back);
		ck_assert_uint_gt(len, SIZE);
		ck_assert_int_eq(((const char *)back)[len - 1], 'a' + i);
		ck_assert_int_eq(((const char *)back)[len - SIZE], 'a' + i);
	}
	free(big);
	procq_free(q);
}
END_TEST

/*
 * A remote worker its host cannot start: a setup longer than the host's
 * fork server takes (here, 400 supplementary groups).  The agent says
 * why, and the task that waited fails with it; the agents go on.
 */
START_TEST(test_mpi_spawn_refused)
{
	static unsigned groups[400];
	procq_config cfg = {
		.workers = 1,
		.transport = procq_mpi_transport(),
		.groups = groups,
		.ngroups = sizeof groups / sizeof groups[0]
	};
	procq_queue *q;
	procq_handle *h;
	const char *msg;
	int err;

	for (size_t i = 0; i < cfg.ngroups; i++)
		groups[i] = 100000 + (unsigned)i;
	q = procq_create(&cfg, &err);
	ck_assert_msg(q != NULL, "procq_create: %s", procq_strerror(err));
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_int(q, "echo", 1, NULL);
	ck_assert_int_eq(procq_handle_wait(h, 60), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_SPAWN);
	msg = procq_handle_error_message(h);
	ck_assert_msg(strstr(msg, "could not start it: ") != NULL &&
	    strstr(msg, strerror(E2BIG)) != NULL, "message: %s", msg);
	procq_free(q);
	/* The agents still start workers for a setup that fits. */
	q = mpi_queue(1);
	h = submit_int(q, "echo", 2, NULL);
	ck_assert_int_eq(procq_handle_wait(h, 60), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	procq_free(q);
}
END_TEST

/* 20,000 tasks, every tenth crashing: each ends once, as it should. */
START_TEST(test_mpi_crash_mix)
{
	procq_queue *q = mpi_queue(2);
	procq_summary *s = NULL;
	procq_handle *h;

	for (int64_t i = 0; i < 20000; i++) {
		h = submit_int(q, "mix", i, NULL);
		procq_handle_release(h);
	}
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(procq_summary_submitted(s), 20000);
	ck_assert_uint_eq(procq_summary_succeeded(s), 18000);
	ck_assert_uint_eq(procq_summary_failed(s), 2000);
	ck_assert_uint_eq(procq_summary_cancelled(s), 0);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

/* A group of remote tasks: its wait, values and progress reports, with
 * a concurrency limit of its own. */
START_TEST(test_mpi_group_progress)
{
	procq_queue *q = mpi_queue(2);
	procq_group_opts go = { .concurrency = 2 };
	const msgpack_object *values[50];
	procq_summary *s = NULL;
	procq_group *g;
	int err;

	g = procq_group_create(q, &go, &err);
	ck_assert_ptr_nonnull(g);
	for (int64_t i = 0; i < 50; i++)
		ck_assert_int_eq(procq_group_submitf(g, "report", NULL, NULL,
		    "l", i), 0);
	ck_assert_int_eq(procq_group_wait(g, 60, &s), 0);
	ck_assert_uint_eq(procq_summary_succeeded(s), 50);
	procq_summary_free(s);
	ck_assert_uint_eq(procq_group_size(g), 50);
	ck_assert_int_eq(procq_group_values(g, values, NULL), 0);
	for (size_t i = 0; i < 50; i++) {
		procq_handle *h = procq_group_handle(g, i);
		int64_t p = -1;

		ck_assert_int_eq(values[i]->type,
		    MSGPACK_OBJECT_POSITIVE_INTEGER);
		ck_assert_uint_eq(values[i]->via.u64, i);
		ck_assert_int_eq(procq_handle_progress(h, "l", &p), 0);
		ck_assert_int_eq(p, (int64_t)i * 10);
	}
	procq_group_free(g);
	procq_free(q);
}
END_TEST

/*
 * A long task on one agent's worker: tasks submitted once it has run
 * long go to the other agent rather than wait behind it.  Tasks sent
 * ahead to a remote worker cannot be taken back, so a slot whose task has
 * run longer than the window's span is given no more (dispatch_pick()).
 */
START_TEST(test_mpi_long_task)
{
	procq_queue *q = mpi_queue(1);
	procq_handle *held = NULL, *h[300];
	double until;
	struct gate g;

	gate_create(&g);
	ck_assert_int_eq(procq_submitf(q, "gate", NULL, &held, "s", g.path),
	    0);
	ck_assert(gate_enter(&g, 30));
	/* Short tasks on the other worker open the window. */
	for (int i = 0; i < 100; i++)
		h[i] = submit_int(q, "echo", i, NULL);
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(procq_handle_wait(h[i], 30), 0);
		procq_handle_release(h[i]);
	}
	/* Now none of these may wait behind the held task. */
	for (int i = 0; i < 300; i++)
		h[i] = submit_int(q, "echo", i, NULL);
	until = now() + 20;
	for (int i = 0; i < 300; i++) {
		double left = until - now();

		ck_assert_msg(procq_handle_wait(h[i], left > 0 ? left : 0) == 0,
		    "task %d waits behind the held one", i);
		procq_handle_release(h[i]);
	}
	ck_assert(!procq_handle_done(held));
	gate_release(&g);
	ck_assert_int_eq(procq_handle_wait(held, 30), 0);
	ck_assert_int_eq(procq_handle_status(held), PROCQ_SUCCEEDED);
	procq_handle_release(held);
	gate_destroy(&g);
	procq_free(q);
}
END_TEST

/* MPI is started once: a second start is refused, whatever it asks. */
START_TEST(test_mpi_init_twice)
{
	char *args[] = { "mpi_suite", NULL }, **argv = args;
	int argc = 1;

	ck_assert_int_eq(procq_mpi_init(&argc, &argv, mpi_tasks),
	    PROCQ_EINVAL);
	ck_assert_int_eq(procq_mpi_init(&argc, &argv, NULL), PROCQ_EINVAL);
}
END_TEST

static Suite *
mpi_suite(void)
{
	Suite *s = suite_create("mpi");
	TCase *tc = add_tcase(s, "remote", 120);

	tcase_add_test(tc, test_mpi_results);
	tcase_add_test(tc, test_mpi_hostname);
	tcase_add_test(tc, test_mpi_crash);
	tcase_add_test(tc, test_mpi_timeout);
	tcase_add_test(tc, test_mpi_cancel);
	tcase_add_test(tc, test_mpi_retry);
	tcase_add_test(tc, test_mpi_unknown_task);
	tcase_add_test(tc, test_mpi_spawn_refused);
	tcase_add_test(tc, test_mpi_large_values);
	tcase_add_test(tc, test_mpi_group_progress);
	tcase_add_test(tc, test_mpi_long_task);
	tcase_add_test(tc, test_mpi_crash_mix);
	tcase_add_test(tc, test_mpi_init_twice);
	return s;
}

/*
 * Without mpirun, in a program that started MPI itself: with threads
 * procq uses that MPI, and leaves it to the program to end; without
 * (MPI_THREAD_SINGLE) it refuses to start.  Exit status 0 if so.
 */
static int
alone_after_mpi(int *argc, char ***argv, int wanted)
{
	int provided = MPI_THREAD_SINGLE, rc, bad = 0;

	if (MPI_Init_thread(argc, argv, wanted, &provided) != MPI_SUCCESS)
		return EXIT_FAILURE;
	rc = procq_mpi_init(argc, argv, mpi_tasks);
	if (provided >= MPI_THREAD_SERIALIZED)
		bad = rc != 0 || procq_mpi_transport() != NULL ||
		    procq_mpi_finalize() != 0;
	else
		bad = rc != PROCQ_ESYS || procq_mpi_finalize() != PROCQ_ESTATE;
	if (bad)
		fprintf(stderr, "mpi_suite: after MPI_Init_thread(%d): %s\n",
		    wanted, procq_strerror(rc));
	MPI_Finalize();
	return bad ? EXIT_FAILURE : EXIT_SUCCESS;
}

/*
 * Without mpirun, in a program that started MPI itself and then has no
 * descriptor left to give: procq_mpi_init() cannot open its link, fails
 * with PROCQ_ESYS, and leaves MPI as it found it (the program ends it).
 */
static int
alone_without_descriptors(int *argc, char ***argv)
{
	int provided = MPI_THREAD_SINGLE, rc, fd, bad;
	struct rlimit old, none;

	if (MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided) !=
	    MPI_SUCCESS || provided < MPI_THREAD_SERIALIZED ||
	    getrlimit(RLIMIT_NOFILE, &old) != 0)
		return EXIT_FAILURE;
	/* The lowest free descriptor is the limit: none is left. */
	if ((fd = dup(0)) < 0)
		return EXIT_FAILURE;
	close(fd);
	none = old;
	none.rlim_cur = (rlim_t)fd;
	if (setrlimit(RLIMIT_NOFILE, &none) != 0)
		return EXIT_FAILURE;
	rc = procq_mpi_init(argc, argv, mpi_tasks);
	setrlimit(RLIMIT_NOFILE, &old);
	bad = rc != PROCQ_ESYS || procq_mpi_finalize() != PROCQ_ESTATE;
	if (bad)
		fprintf(stderr, "mpi_suite: without descriptors: %s\n",
		    procq_strerror(rc));
	MPI_Finalize();
	return bad ? EXIT_FAILURE : EXIT_SUCCESS;
}

int
main(int argc, char **argv)
{
	SRunner *sr;
	int rc, failed;

	if (argc > 1 && strcmp(argv[1], "--alone-after-mpi") == 0)
		return alone_after_mpi(&argc, &argv, MPI_THREAD_MULTIPLE);
	if (argc > 1 && strcmp(argv[1], "--alone-after-mpi-single") == 0)
		return alone_after_mpi(&argc, &argv, MPI_THREAD_SINGLE);
	if (argc > 1 && strcmp(argv[1], "--alone-without-descriptors") == 0)
		return alone_without_descriptors(&argc, &argv);
	/* Before the start: nothing to end, and no start without tasks. */
	if (procq_mpi_finalize() != PROCQ_ESTATE ||
	    procq_mpi_init(&argc, &argv, NULL) != PROCQ_EINVAL) {
		fprintf(stderr, "mpi_suite: a misuse before the start was "
		    "not refused\n");
		return EXIT_FAILURE;
	}
	if ((rc = procq_mpi_init(&argc, &argv, mpi_tasks)) != 0) {
		fprintf(stderr, "procq_mpi_init: %s\n", procq_strerror(rc));
		return EXIT_FAILURE;
	}
	/* Started without mpirun, it is rank 0 of one: no agents. */
	if (argc > 1 && strcmp(argv[1], "--alone") == 0) {
		if (procq_mpi_transport() != NULL || procq_mpi_finalize() != 0) {
			fprintf(stderr, "mpi_suite: alone, yet agents\n");
			return EXIT_FAILURE;
		}
		return EXIT_SUCCESS;
	}
	sr = srunner_create(mpi_suite());
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (procq_mpi_finalize() != 0 || procq_mpi_finalize() != PROCQ_ESTATE) {
		fprintf(stderr, "mpi_suite: procq_mpi_finalize() twice\n");
		failed++;
	}
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
