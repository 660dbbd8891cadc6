/*
 * A hostile task or a hostile host against the supervisor: workers that
 * drop privileges, leave their process group, fork and return, write a
 * second result, hang with tasks queued behind them, cannot set up their
 * descriptors, or are reaped by someone else.  Every task still ends
 * exactly once, for its own reasons, and nothing outlives the caller.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <msgpack.h>

#include "util.h"
#include "../worker/worker.h"

/* Moves its worker into the process group of a child of its own (which
 * dies with it), writes the worker's pid to the file, then waits. */
static int
task_leave_group(procq_call *c)
{
	char *path = NULL;
	pid_t child, worker = getpid();

	if (procq_call_unpack(c, "s", &path) != 0 || path == NULL)
		return procq_call_fail(c, "ArgumentError", "expected [path]");
	if ((child = fork()) == 0) {
		/* The worker may have been killed before this took: then
		 * no signal would come. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 ||
		    getppid() != worker)
			_exit(0);
		setpgid(0, 0);
		sleep_forever();
	}
	setpgid(child, child);	/* whoever runs first */
	if (setpgid(0, child) != 0)
		return procq_call_fail(c, "OSError", "setpgid: %s",
		    strerror(errno));
	write_pid(path, getpid());
	free(path);
	sleep_forever();
}

/* Moves its worker into the caller's process group, writes the worker's
 * pid, then waits. */
static int
task_join_caller_group(procq_call *c)
{
	char *path = NULL;

	if (procq_call_unpack(c, "s", &path) != 0 || path == NULL)
		return procq_call_fail(c, "ArgumentError", "expected [path]");
	if (setpgid(0, getpgid(getppid())) != 0)
		return procq_call_fail(c, "OSError", "setpgid: %s",
		    strerror(errno));
	write_pid(path, getpid());
	free(path);
	sleep_forever();
}

/* Forks; the child returns from the task as if it were the worker. */
static int
task_fork_return(procq_call *c)
{
	pid_t child = fork();

	if (child < 0)
		return procq_call_fail(c, "OSError", "fork");
	if (child == 0)
		return procq_call_return(c, "i", 1);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	return procq_call_return(c, "i", 2);
}

/* Writes a RESULT frame for itself, then returns as usual: two results. */
static int
task_double_result(procq_call *c)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	unsigned char header[4];
	ssize_t n;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_sbuffer_write(&sb, "\0\0\0\0", 4);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, 3);
	msgpack_pack_uint64(&pk, c->wire_id);
	msgpack_pack_true(&pk);
	msgpack_pack_bin_with_body(&pk, "\xc0", 1);
	header[0] = (unsigned char)((sb.size - 4) >> 24);
	header[1] = (unsigned char)((sb.size - 4) >> 16);
	header[2] = (unsigned char)((sb.size - 4) >> 8);
	header[3] = (unsigned char)(sb.size - 4);
	memcpy(sb.data, header, 4);
	n = write(WORKER_OUT_FD, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	if (n < 0)
		return procq_call_fail(c, "OSError", "write");
	return procq_call_return(c, "i", 7);
}

static const procq_worker_task hostile_tasks[] = {
	{ "leave_group", task_leave_group },
	{ "join_caller_group", task_join_caller_group },
	{ "fork_return", task_fork_return },
	{ "double_result", task_double_result },
	{ NULL, NULL }
};

static procq_queue *
hostile_queue(const procq_config *cfg)
{
	procq_queue *q = test_create_with(cfg, hostile_tasks, true, NULL);

	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(procq_start(q), 0);
	return q;
}

static void *
free_thread(void *arg)
{
	procq_free(arg);
	return NULL;
}

/* procq_free() with a deadline: a hang fails the test, not the run. */
static void
free_within(procq_queue *q, double timeout)
{
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, free_thread, q), 0);
	ck_assert_msg(join_within(t, timeout) == 0,
	    "procq_free() still running after %g s", timeout);
}

/*
 * A caller running workers as another user is SIGKILLed: the workers and
 * what their tasks started still die with it.  A change of user or group
 * clears the parent-death signal, so it must be set after the change.
 */
static void
family_dies_as(unsigned uid, unsigned gid)
{
	char path[128];
	int worker = 0, grandchild = 0;
	bool worker_gone, grandchild_gone;
	pid_t caller;
	FILE *fp;

	make_tmpfile(path, sizeof path);
	ck_assert_int_eq(chmod(path, 0666), 0);	/* the worker's user */
	if ((caller = fork_child()) == 0) {
		procq_queue *q = hostile_queue(&(procq_config){ .workers = 2,
		    .uid = uid, .gid = gid });

		procq_submitf(q, "family", NULL, NULL, "s", path);
		sleep_forever();
	}
	ck_assert_int_gt(caller, 0);
	ck_assert_msg(wait_until(file_nonempty, path, 20),
	    "the task never wrote its pids");
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fscanf(fp, "%d %d", &worker, &grandchild), 2);
	fclose(fp);
	kill(caller, SIGKILL);
	waitpid(caller, NULL, 0);
	worker_gone = wait_pid_gone(worker, 5);
	grandchild_gone = wait_pid_gone(grandchild, 5);
	if (!worker_gone)
		kill(worker, SIGKILL);
	if (!grandchild_gone)
		kill(grandchild, SIGKILL);
	unlink(path);
	ck_assert_msg(worker_gone, "a worker running as %u:%u outlived its "
	    "caller", uid, gid);
	ck_assert_msg(grandchild_gone, "a process its task started outlived "
	    "the caller");
}

START_TEST(test_dies_with_caller_after_uid_drop)
{
#if defined(__SANITIZE_THREAD__)
	return;	/* the workers there die by SIGKILL, their children stay */
#endif
	if (getuid() != 0)
		return;	/* only root can switch users */
	family_dies_as(65534, 65534);
}
END_TEST

START_TEST(test_dies_with_caller_after_gid_drop)
{
#if defined(__SANITIZE_THREAD__)
	return;
#endif
	if (getuid() != 0)
		return;
	family_dies_as(0, 65534);
}
END_TEST

/* A task that moved its worker to another process group still times
 * out, and the queue can still be freed. */
START_TEST(test_group_leaver_times_out)
{
	procq_queue *q = hostile_queue(&(procq_config){ .workers = 1 });
	procq_handle *h;
	char path[128];

	make_tmpfile(path, sizeof path);
	h = submit_ok(q, "leave_group", &(procq_opts){ .timeout = 0.5 }, "s",
	    path);
	ck_assert_msg(procq_handle_wait(h, 15) == 0,
	    "the task is still %s long after its timeout",
	    procq_status_name(procq_handle_status(h)));
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_TIMEOUT);
	h = submit_ok(q, "ident", NULL, "i", 5);
	wait_done(h, 15);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	free_within(q, 15);
	unlink(path);
}
END_TEST

/* ... and can be cancelled. */
START_TEST(test_group_leaver_cancelled)
{
	procq_queue *q = hostile_queue(&(procq_config){ .workers = 1 });
	procq_handle *h;
	char path[128];

	make_tmpfile(path, sizeof path);
	h = submit_ok(q, "leave_group", NULL, "s", path);
	ck_assert_msg(wait_until(file_nonempty, path, 15),
	    "the task never left its group");
	ck_assert_int_eq(procq_handle_cancel(h), 0);
	ck_assert_msg(procq_handle_wait(h, 15) == 0,
	    "a cancelled task is still %s",
	    procq_status_name(procq_handle_status(h)));
	ck_assert_int_eq(procq_handle_status(h), PROCQ_CANCELLED);
	free_within(q, 15);
	unlink(path);
}
END_TEST

/*
 * A worker whose task joined the caller's process group must not kill
 * that group when the caller dies: only its own (the one it made).  The
 * caller here is a child with a group of its own and a bystander in it.
 */
START_TEST(test_orphan_spares_callers_group)
{
	char path[128];
	pid_t caller, bystander = 0, worker;
	int fds[2];
	bool bystander_alive, worker_gone;

#if defined(__SANITIZE_THREAD__)
	return;	/* the workers there die by SIGKILL alone */
#endif
	make_tmpfile(path, sizeof path);
	ck_assert_int_eq(pipe(fds), 0);
	if ((caller = fork_child()) == 0) {
		procq_queue *q;
		pid_t b;

		setpgid(0, 0);
		if ((b = fork()) == 0) {	/* must outlive the caller */
			sleep_forever();
		}
		if (write(fds[1], &b, sizeof b) != sizeof b)
			_exit(1);
		q = hostile_queue(&(procq_config){ .workers = 1 });
		procq_submitf(q, "join_caller_group", NULL, NULL, "s", path);
		sleep_forever();
	}
	ck_assert_int_gt(caller, 0);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &bystander, sizeof bystander),
	    sizeof bystander);
	close(fds[0]);
	ck_assert_msg(wait_until(file_nonempty, path, 20),
	    "the task never joined the caller's group");
	worker = read_pid_file(path);
	kill(caller, SIGKILL);
	waitpid(caller, NULL, 0);
	worker_gone = wait_pid_gone(worker, 5);
	bystander_alive = !pid_gone(bystander);
	kill(bystander, SIGKILL);
	if (!worker_gone)
		kill(worker, SIGKILL);
	unlink(path);
	ck_assert_msg(worker_gone, "the worker outlived its caller");
	ck_assert_msg(bystander_alive, "the orphaned worker killed the "
	    "caller's process group");
}
END_TEST

/*
 * Tasks sent ahead to a worker whose task hangs are given back to a worker
 * that can run them.  The adaptive window is grown first by short tasks.
 */
START_TEST(test_stalled_worker_gives_back)
{
	/* The claim board reaches a worker by each way of starting one: as
	 * the suite's start method, and as a worker program's descriptor. */
	procq_queue *q = new_queue_config(&(procq_config){ .workers = 2,
	    .start_method = _i == 0 ? PROCQ_START_DEFAULT : PROCQ_START_EXEC });
	enum { N = 2000 };
	procq_handle **hs = calloc(N, sizeof *hs);
	struct gate g;
	procq_handle *hung;
	double deadline;
	size_t late = 0;

	ck_assert_ptr_nonnull(hs);
	ck_assert_int_eq(procq_start(q), 0);
	for (int i = 0; i < N; i++)
		hs[i] = submit_ok(q, "ident", NULL, "i", i);
	for (int i = 0; i < N; i++)
		wait_done(hs[i], 30);
	gate_create(&g);
	hung = submit_ok(q, "gate", NULL, "s", g.path);
	ck_assert(gate_enter(&g, 15));
	for (int i = 0; i < N; i++)
		hs[i] = submit_ok(q, "ident", NULL, "i", i);
	deadline = now() + 20;
	for (int i = 0; i < N; i++) {
		double left = deadline - now();

		if (procq_handle_wait(hs[i], left > 0 ? left : 0) != 0)
			late++;
	}
	gate_release(&g);
	wait_done(hung, 15);
	ck_assert_msg(late == 0, "%zu short tasks waited behind a hung one "
	    "while a worker was free", late);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(procq_handle_status(hs[i]), PROCQ_SUCCEEDED);
	procq_free(q);
	gate_destroy(&g);
	free(hs);
}
END_TEST

/* A task forks and the child returns from the task function: the child
 * ends there, and no other task pays for it. */
START_TEST(test_forked_child_returns)
{
	procq_queue *q = hostile_queue(&(procq_config){ .workers = 1 });

	for (int round = 0; round < 5; round++) {
		procq_handle *hs[20];
		int v;

		for (int i = 0; i < 20; i++)
			hs[i] = i % 4 == 0 ?
			    submit_ok(q, "fork_return", NULL, "") :
			    submit_ok(q, "ident", NULL, "i", i);
		for (int i = 0; i < 20; i++) {
			wait_done(hs[i], 20);
			ck_assert_msg(procq_handle_status(hs[i]) ==
			    PROCQ_SUCCEEDED, "round %d, task %d (%s): %s",
			    round, i, i % 4 == 0 ? "fork_return" : "ident",
			    procq_handle_error_message(hs[i]));
			ck_assert_int_eq(procq_handle_value(hs[i], "i", &v), 0);
			ck_assert_int_eq(v, i % 4 == 0 ? 2 : i);
		}
	}
	procq_free(q);
}
END_TEST

/* A task writes a result for itself and then returns: the worker is not
 * trusted any more, but the next task is not charged for it. */
START_TEST(test_duplicate_result_spares_next)
{
	procq_queue *q = hostile_queue(&(procq_config){ .workers = 1,
	    .prefetch = 4 });

	for (int round = 0; round < 3; round++) {
		procq_handle *dup, *next[3];
		int v;

		dup = submit_ok(q, "double_result", NULL, "");
		for (int i = 0; i < 3; i++)
			next[i] = submit_ok(q, "ident", NULL, "i", i);
		wait_done(dup, 20);
		ck_assert_int_eq(procq_handle_status(dup), PROCQ_SUCCEEDED);
		for (int i = 0; i < 3; i++) {
			wait_done(next[i], 20);
			ck_assert_msg(procq_handle_status(next[i]) ==
			    PROCQ_SUCCEEDED, "round %d: an innocent task "
			    "failed: %s", round,
			    procq_handle_error_message(next[i]));
			ck_assert_int_eq(procq_handle_attempts(next[i]), 1);
			ck_assert_int_eq(procq_handle_value(next[i], "i", &v),
			    0);
			ck_assert_int_eq(v, i);
		}
	}
	procq_free(q);
}
END_TEST

/*
 * A worker that cannot set up its descriptors is a worker that could not
 * start: the task waiting for it is not charged a crash.  The caller's
 * descriptor table is filled so that a new worker's pipes fit, but not
 * the worker's own copies of them.
 */
START_TEST(test_worker_without_descriptors)
{
	/* Forked from this process, the worker shares its descriptor
	 * limit; the fork server was made before the limit was lowered. */
	procq_queue *q = new_queue_config(&(procq_config){ .workers = 1,
	    .start_method = PROCQ_START_FORK });
	struct rlimit old, rl;
	procq_handle *h;
	int fds[4096], n = 0, maxfd = 0, fd;

	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "ident", NULL, "i", 1);
	wait_done(h, 15);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	for (fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			maxfd = fd;
	rl = old;
	rl.rlim_cur = (rlim_t)maxfd + 1 + 16;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	while (n < 4096 && (fd = dup(0)) >= 0)
		fds[n++] = fd;
	ck_assert_int_eq(errno, EMFILE);
	/* Three free: with the worker's four back after it dies, a new
	 * worker's six pipe ends fit and its own first copy, no more. */
	for (int i = 0; i < 3; i++)
		close(fds[--n]);
	h = submit_ok(q, "crash", NULL, "s", "segv-raise");
	wait_done(h, 15);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_CRASH);
	h = submit_ok(q, "ident", NULL, "i", 2);
	wait_done(h, 30);
	while (n > 0)
		close(fds[--n]);
	setrlimit(RLIMIT_NOFILE, &old);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_msg(procq_handle_error_kind(h) == PROCQ_ERR_SPAWN,
	    "reported as: %s", procq_handle_error_message(h));
	ck_assert_msg(strstr(procq_handle_error_message(h), strerror(EMFILE)) !=
	    NULL, "reported as: %s", procq_handle_error_message(h));
	h = submit_ok(q, "ident", NULL, "i", 3);
	wait_done(h, 30);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_attempts(h), 1);
	procq_free(q);
}
END_TEST

static void
reap_all(int sig)
{
	int saved = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

/* Crashes while something else in the program reaps children: each is
 * reported truthfully, and the queue goes on. */
static void
crashes_while_reaped(bool ignore)
{
	procq_queue *q = new_queue(2, 0);
	struct sigaction sa, old;
	enum { N = 30 };
	procq_handle *hs[N], *h;
	int other = 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ignore ? SIG_IGN : reap_all;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGCHLD, &sa, &old), 0);
	ck_assert_int_eq(procq_start(q), 0);
	for (int i = 0; i < N; i++)
		hs[i] = submit_ok(q, "crash", NULL, "s", "segv-raise");
	for (int i = 0; i < N; i++)
		wait_done(hs[i], 30);
	h = submit_ok(q, "ident", NULL, "i", 9);
	wait_done(h, 30);
	for (int i = 0; i < N; i++) {
		const char *msg = procq_handle_error_message(hs[i]);

		ck_assert_int_eq(procq_handle_error_kind(hs[i]),
		    PROCQ_ERR_CRASH);
		if (strstr(msg, "reaped by another part of the program") !=
		    NULL)
			other++;
		else
			ck_assert_msg(strcmp(msg, "worker died: SIGSEGV") == 0,
			    "crash %d reported as: %s", i, msg);
	}
	/* This process's children are reaped by the kernel when SIGCHLD is
	 * ignored; the fork server's workers are its own to reap. */
	if (test_effective_start_method(NULL) == PROCQ_START_FORKSERVER)
		ck_assert_int_eq(other, 0);
	else if (ignore)
		ck_assert_int_eq(other, N);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	procq_free(q);
	sigaction(SIGCHLD, &old, NULL);
}

START_TEST(test_crashes_reaped_by_handler)
{
	crashes_while_reaped(false);
}
END_TEST

START_TEST(test_crashes_with_sigchld_ignored)
{
	crashes_while_reaped(true);
}
END_TEST

int
main(int argc, char **argv)
{
	Suite *s;
	TCase *tc;

	if (test_serve_as_worker(argc, argv, hostile_tasks, true) >= 0)
		return 1;	/* a worker program that could not serve */
	s = suite_create("hostile_worker");
	tc = add_tcase(s, "hostile_worker", 120);

	tcase_add_test(tc, test_dies_with_caller_after_uid_drop);
	tcase_add_test(tc, test_dies_with_caller_after_gid_drop);
	tcase_add_test(tc, test_group_leaver_times_out);
	tcase_add_test(tc, test_group_leaver_cancelled);
	tcase_add_test(tc, test_orphan_spares_callers_group);
	tcase_add_loop_test(tc, test_stalled_worker_gives_back, 0, 2);
	tcase_add_test(tc, test_forked_child_returns);
	tcase_add_test(tc, test_duplicate_result_spares_next);
	tcase_add_test(tc, test_worker_without_descriptors);
	tcase_add_test(tc, test_crashes_reaped_by_handler);
	tcase_add_test(tc, test_crashes_with_sigchld_ignored);
	return run_suite(s);
}
