/*
 * A caller that makes the supervisor's life hard: it forks without exec
 * and uses the queue in the child, starts a queue with almost no
 * descriptors left, and creates and frees groups by the hundred thousand.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tasks.h"
#include "util.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A child of the test, reaped with a deadline. */
struct child {
	pid_t	pid;
	int	status;
	bool	reaped;
};

static bool
child_reaped(void *arg)
{
	struct child *c = arg;

	if (!c->reaped && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->reaped = true;
	return c->reaped;
}

/* Runs fn in a child and returns its exit status; a child that does not
 * exit in time, or dies of a signal, fails the test. */
static int
run_in_child(int (*fn)(void *), void *arg, double timeout)
{
	struct child c = { 0 };

	c.pid = fork();
	ck_assert_int_ge(c.pid, 0);
	if (c.pid == 0)
		test_child_exit(fn(arg));
	if (!wait_until(child_reaped, &c, timeout)) {
		kill(c.pid, SIGKILL);
		waitpid(c.pid, NULL, 0);
		ck_abort_msg("the child did not exit within %g s: a call "
		    "blocked in it", timeout);
	}
	ck_assert_msg(WIFEXITED(c.status), "the child died of signal %d",
	    WTERMSIG(c.status));
	return WEXITSTATUS(c.status);
}

/* The parent's queue still works: a batch of tasks all succeed. */
static void
check_queue_works(procq_queue *q, int n)
{
	procq_summary *s = NULL;
	procq_handle *h[16];
	int v;

	ck_assert_int_le(n, (int)NITEMS(h));
	for (int i = 0; i < n; i++)
		h[i] = submit_ok(q, "ident", NULL, "i", 100 + i);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_failed(s), 0);
	procq_summary_free(s);
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(procq_handle_status(h[i]), PROCQ_SUCCEEDED);
		ck_assert_int_eq(procq_handle_value(h[i], "i", &v), 0);
		ck_assert_int_eq(v, 100 + i);
	}
}

/* What the child of a fork is given.  It answers with its exit status:
 * 0, or the number of the first check that found a call not failing as
 * it should. */
struct forked {
	procq_queue	*q;
	procq_handle	*done;		/* a final handle of q */
	procq_group	*group;		/* a group of q with a task */
	procq_iter	*iter;		/* over done */
	procq_bound	*bound;
};

/* Exit status: bit 0, the submission did not fail; bit 1, shutdown did
 * not (if it returns at all). */
static int
forked_submit_and_stop(void *arg)
{
	struct forked *f = arg;
	procq_handle *h = f->done;	/* to be cleared */
	int bad = 0;

	if (procq_submitf(f->q, "ident", NULL, &h, "i", 7) != PROCQ_EFORKED ||
	    h != NULL)
		bad |= 1;
	if (procq_shutdown(f->q, 0) != PROCQ_EFORKED)
		bad |= 2;
	procq_free(f->q);
	return bad;
}

static int
forked_queue_calls(procq_queue *q)
{
	procq_stats st;
	int err = 0;

	if (procq_register(q, "x", task_nil) != PROCQ_EFORKED ||
	    procq_start(q) != PROCQ_EFORKED)
		return 1;
	if (procq_run(q, NULL, NULL) != PROCQ_EFORKED ||
	    procq_join(q, 0) != PROCQ_EFORKED ||
	    procq_cancel(q) != PROCQ_EFORKED ||
	    procq_reset(q) != PROCQ_EFORKED ||
	    procq_clear_results(q) != PROCQ_EFORKED)
		return 2;
	if (procq_stats_get(q, &st) != PROCQ_EFORKED ||
	    procq_results(q) != NULL || !procq_closed(q) ||
	    procq_active(q) != 0 || procq_pending(q) != 0)
		return 3;
	if (procq_notify_fd(q) != PROCQ_EFORKED ||
	    procq_future_create(q, "f", &err) != NULL || err != PROCQ_EFORKED)
		return 4;
	if (procq_map(q, "ident", NULL, 0, NULL, NULL) != PROCQ_EFORKED ||
	    procq_bind(q, "ident", NULL, &err) != NULL || err != PROCQ_EFORKED ||
	    procq_group_create(q, NULL, &err) != NULL || err != PROCQ_EFORKED)
		return 5;
	if (procq_checkpoint_sync(q, 0) != PROCQ_EFORKED ||
	    procq_checkpoint_error(q) != NULL)
		return 6;
	return 0;
}

static int
forked_handle_calls(procq_handle *h)
{
	procq_handle *hs[1] = { h };
	size_t len = 1;
	int v;

	if (procq_handle_wait(h, 0) != PROCQ_EFORKED ||
	    procq_handle_done(h) || procq_handle_result(h) != NULL ||
	    procq_handle_value(h, "i", &v) != PROCQ_EFORKED)
		return 11;
	if (procq_handle_cancel(h) != PROCQ_EFORKED ||
	    procq_handle_on_done(h, done_noop, NULL) != PROCQ_EFORKED ||
	    procq_handle_id(h) != NULL ||
	    procq_handle_metadata(h, &len) != NULL || len != 0)
		return 12;
	if (procq_wait(hs, 1, PROCQ_ALL_COMPLETED, 0, NULL, NULL, NULL,
	    NULL) != PROCQ_EFORKED ||
	    procq_as_completed(hs, 1, 0, &v) != NULL || v != PROCQ_EFORKED)
		return 13;
	/* Returns, touching nothing: release has no error to report. */
	procq_handle_release(h);
	return 0;
}

/* The group's other ways in, a race and a handle's progress. */
static int
forked_more_calls(struct forked *f)
{
	static const unsigned char one[] = { 0x91, 0x01 };
	const procq_args args = { one, sizeof one };
	const procq_job job = { "ident", args, NULL };
	const msgpack_object *values[1];
	procq_handle *winner;
	int v;

	if (procq_group_map(f->group, "ident", &args, 1, NULL) !=
	    PROCQ_EFORKED ||
	    procq_group_jobs(f->group, &job, 1) != PROCQ_EFORKED ||
	    procq_group_add(f->group, f->done) != PROCQ_EFORKED ||
	    procq_group_values(f->group, values, NULL) != PROCQ_EFORKED)
		return 1;
	if (procq_race(f->q, &job, 1, 0, &winner, NULL) != PROCQ_EFORKED ||
	    procq_handle_progress(f->done, "i", &v) != PROCQ_EFORKED)
		return 1;
	return 0;
}

static int
forked_every_call(void *arg)
{
	struct forked *f = arg;
	int err = 0, rc;

	if ((rc = forked_queue_calls(f->q)) != 0 ||
	    (rc = forked_handle_calls(f->done)) != 0)
		return rc;
	if (procq_group_size(f->group) != 0 ||
	    procq_group_submitf(f->group, "ident", NULL, NULL, "i", 1) !=
	    PROCQ_EFORKED ||
	    procq_group_wait(f->group, 0, NULL) != PROCQ_EFORKED ||
	    procq_group_next(f->group, 0, &err) != NULL ||
	    err != PROCQ_EFORKED)
		return 21;
	if (procq_iter_next(f->iter, &err) != NULL || err != PROCQ_EFORKED ||
	    procq_bound_callf(f->bound, NULL, NULL, "i", 1) != PROCQ_EFORKED)
		return 22;
	if (forked_more_calls(f) != 0)
		return 24;
	/* The free functions release the child's memory, in the order the
	 * parent would free them. */
	procq_iter_free(f->iter, true);
	procq_group_free(f->group);
	procq_bound_free(f->bound);
	if (procq_shutdown(f->q, PROCQ_SHUTDOWN_FORCE) != PROCQ_EFORKED)
		return 23;
	procq_free(f->q);
	return 0;
}

/*
 * A fork of an idle, started queue: in the child a submission fails and
 * never reaches the parent's workers, shutdown and free return at once;
 * the parent's queue goes on as if nothing happened.
 */
START_TEST(test_fork_child_cannot_use_queue)
{
	procq_queue *q = new_queue(2, 1);
	struct forked f = { .q = q };
	int status;

	ck_assert_int_eq(procq_start(q), 0);
	f.done = submit_ok(q, "ident", NULL, "i", 1);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	status = run_in_child(forked_submit_and_stop, &f, 10);
	ck_assert_msg(status == 0, "in the child, %s%s did not fail with "
	    "PROCQ_EFORKED", status & 1 ? "procq_submitf " : "",
	    status & 2 ? "procq_shutdown" : "");
	check_queue_works(q, 16);
	procq_free(q);
}
END_TEST

/* Every kind of call, on the queue and on its handles, groups, iterators
 * and bound tasks, fails in the child; their free functions return. */
START_TEST(test_fork_every_call_fails)
{
	procq_queue *q = new_queue(2, 1);
	struct forked f = { .q = q };
	int err, status;

	ck_assert_int_eq(procq_start(q), 0);
	f.done = submit_ok(q, "ident", NULL, "i", 1);
	wait_done(f.done, 10);
	f.group = procq_group_create(q, &(procq_group_opts){
	    .concurrency = 1 }, &err);
	ck_assert_ptr_nonnull(f.group);
	ck_assert_int_eq(procq_group_submitf(f.group, "ident", NULL, NULL,
	    "i", 2), 0);
	ck_assert_int_eq(procq_group_wait(f.group, 10, NULL), 0);
	f.iter = procq_as_completed(&f.done, 1, 10, &err);
	ck_assert_ptr_nonnull(f.iter);
	f.bound = procq_bind(q, "ident", NULL, &err);
	ck_assert_ptr_nonnull(f.bound);
	status = run_in_child(forked_every_call, &f, 10);
	ck_assert_msg(status == 0, "in the child, calls of check %d did not "
	    "fail with PROCQ_EFORKED", status);
	ck_assert_ptr_eq(procq_iter_next(f.iter, &err), f.done);
	procq_iter_free(f.iter, false);
	procq_bound_free(f.bound);
	procq_group_free(f.group);
	check_queue_works(q, 8);
	procq_free(q);
}
END_TEST

/* The descriptors open before the queue was made. */
static bool open_before[1024];

static void
mark_open(bool *open, size_t n)
{
	for (size_t fd = 0; fd < n; fd++)
		open[fd] = fcntl((int)fd, F_GETFD) >= 0;
}

/*
 * procq_free() in the child.  Exit status: 0 if what stays open of the
 * descriptors made since open_before is libevent's alone (its epoll
 * instance, a timerfd and its signal pipe); else the first of procq's
 * kinds found (a pidfd, the board's memory file, an eventfd, the fork
 * server's socket) plus 10, or 1 for too many.
 */
static int
forked_free(void *arg)
{
	static const char *const procqs[] = {
		"anon_inode:[pidfd]", "/memfd:procq-board", "anon_inode:[eventfd]",
		"socket:"
	};
	char path[64], target[256];
	int left = 0;
	ssize_t n;

	procq_free(arg);
	for (int fd = 0; fd < (int)NITEMS(open_before); fd++) {
		if (open_before[fd] || fcntl(fd, F_GETFD) < 0)
			continue;
		left++;
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		if ((n = readlink(path, target, sizeof target - 1)) < 0)
			continue;
		target[n] = '\0';
		for (size_t k = 0; k < NITEMS(procqs); k++)
			if (strncmp(target, procqs[k], strlen(procqs[k])) == 0)
				return 10 + (int)k;
	}
	return left <= 4 ? 0 : 1;
}

/* Is the queue's loop thread (the test's only one) asleep in
 * epoll_wait(2), holding no lock?  Told by /proc. */
static bool
loop_asleep(void *arg)
{
	char path[320], buf[64];
	struct dirent *de;
	bool asleep = false;
	long nr;
	DIR *d;
	FILE *f;

	(void)arg;
	if ((d = opendir("/proc/self/task")) == NULL)
		return false;
	while (!asleep && (de = readdir(d)) != NULL) {
		snprintf(path, sizeof path, "/proc/self/task/%s/comm",
		    de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof buf, f) == NULL ||
		    strcmp(buf, "procq-loop\n") != 0) {
			fclose(f);
			continue;
		}
		fclose(f);
		snprintf(path, sizeof path, "/proc/self/task/%s/syscall",
		    de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		asleep = fscanf(f, "%ld", &nr) == 1 &&
		    (nr == SYS_epoll_wait || nr == SYS_epoll_pwait);
		fclose(f);
	}
	closedir(d);
	return asleep;
}

/*
 * procq_free() in a forked child closes the child's copies of the
 * queue's descriptors (the workers' pipes, pidfds and boards, the fork
 * server's socket, the wake-up eventfd): a child that kept a worker's
 * task pipe open would keep that worker from seeing its end.  libevent's
 * own stay, as the parent's epoll instance is shared with the child.
 * The fork waits for the loop to sleep, so that it finds the queue's
 * lock free: forked while the loop holds it, the child leaves the queue
 * as it is (see procq_create(3)).
 */
START_TEST(test_fork_child_closes_descriptors)
{
	procq_queue *q;
	int status;

	mark_open(open_before, NITEMS(open_before));
	q = new_queue(2, 1);
	ck_assert_int_eq(procq_start(q), 0);
	check_queue_works(q, 4);
	ck_assert(wait_until(loop_asleep, NULL, 10));
	status = run_in_child(forked_free, q, 10);
	ck_assert_msg(status == 0, "the child kept %s open",
	    status == 1 ? "more than libevent's descriptors" :
	    status == 10 ? "a pidfd" : status == 11 ? "a board" :
	    status == 12 ? "an eventfd" : "a socket");
	check_queue_works(q, 4);
	procq_free(q);
}
END_TEST

/* Held by a thread of the caller while workers are started. */
static pthread_mutex_t held_at_fork = PTHREAD_MUTEX_INITIALIZER;

static int
init_takes_lock(procq_call *c)
{
	(void)c;
	pthread_mutex_lock(&held_at_fork);
	pthread_mutex_unlock(&held_at_fork);
	return 0;
}

static int
init_takes_stdout(procq_call *c)
{
	(void)c;
	flockfile(stdout);
	funlockfile(stdout);
	return 0;
}

static const struct {
	procq_start_method	 method;
	bool			 stdout_lock;	/* else held_at_fork */
} lock_cases[] = {
	{ PROCQ_START_FORK, false },
	{ PROCQ_START_FORKSERVER, false },
	{ PROCQ_START_FORKSERVER, true },
};

/*
 * The hazard of forking a threaded program, and why the fork server is
 * the default: a worker forked while one of the caller's threads holds a
 * lock (a mutex of its own, or stdout's) inherits the lock held, with no
 * thread to release it, and hangs the first time it takes it.  With
 * fork, the spawn timeout reports it instead of the queue waiting for
 * ever.  The fork server was made at start, when the lock was free, and
 * its workers never see it held.  (stdout's lock held at a fork does
 * not hang the child: glibc's fork() resets the locks of its streams in
 * the child.)  One worker, replaced after each task,
 * so that the second task needs a worker started while the lock is held.
 */
START_TEST(test_lock_held_at_fork)
{
	procq_start_method m = lock_cases[_i].method;
	bool on_stdout = lock_cases[_i].stdout_lock;
	procq_queue *q;
	procq_handle *h;

	q = new_queue_config(&(procq_config){ .workers = 1,
	    .initializer = on_stdout ? init_takes_stdout : init_takes_lock,
	    .max_tasks_per_worker = 1, .spawn_timeout = 1.0,
	    .start_method = m });
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "ident", NULL, "i", 1);
	wait_done(h, 30);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);

	if (on_stdout)
		flockfile(stdout);
	else
		pthread_mutex_lock(&held_at_fork);
	h = submit_ok(q, "ident", NULL, "i", 2);
	wait_done(h, 30);
	if (m == PROCQ_START_FORK) {
		ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
		ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_SPAWN);
		ck_assert_msg(strstr(procq_handle_error_message(h),
		    "(start method fork) did not say hello") != NULL,
		    "reported as: %s", procq_handle_error_message(h));
	} else {
		ck_assert_msg(procq_handle_status(h) == PROCQ_SUCCEEDED,
		    "reported as: %s", procq_handle_error_message(h));
	}
	if (on_stdout)
		funlockfile(stdout);
	else
		pthread_mutex_unlock(&held_at_fork);

	h = submit_ok(q, "ident", NULL, "i", 3);
	wait_done(h, 30);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	procq_free(q);
}
END_TEST

/*
 * procq_start() with the descriptor limit just above what is open, for
 * several margins, each with a new queue: it starts, or fails with
 * PROCQ_ESYS and EMFILE, and the process goes on.  Exit status: 0, or
 * 10 + the margin that failed (libevent's own exit is 1).
 */
static int
start_short_of_descriptors(void *arg)
{
	static const int margins[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 12 };
	procq_config cfg = { .workers = 1 };
	struct rlimit old, low;
	procq_queue *q;
	int rc, e;

	(void)arg;
	if (getrlimit(RLIMIT_NOFILE, &old) != 0)
		return 2;
	for (size_t i = 0; i < NITEMS(margins); i++) {
		if ((q = test_create(&cfg, NULL)) == NULL)
			return 3;
		low = old;
		low.rlim_cur = (rlim_t)(count_fds() + margins[i]);
		if (setrlimit(RLIMIT_NOFILE, &low) != 0)
			return 4;
		errno = 0;
		rc = procq_start(q);
		e = errno;
		if (setrlimit(RLIMIT_NOFILE, &old) != 0)
			return 4;
		if (rc != 0 && (rc != PROCQ_ESYS || e != EMFILE))
			return 10 + margins[i];
		procq_free(q);
	}
	return 0;
}

START_TEST(test_start_short_of_descriptors)
{
	int status = run_in_child(start_short_of_descriptors, NULL, 30);

	ck_assert_msg(status == 0, "procq_start under a descriptor limit: %s "
	    "(exit status %d)", status == 1 ? "the process exited" :
	    status >= 10 ? "not PROCQ_ESYS with EMFILE" : "setup failed",
	    status);
}
END_TEST

/* Creates n groups with opts, one task in each, waits for them and frees
 * them, in batches; the queue is reset after each. */
static void
groups_cycle(procq_queue *q, const procq_group_opts *opts, int n)
{
	enum { BATCH = 250 };
	procq_group *gs[BATCH];
	int err, k;

	for (int first = 0; first < n; first += k) {
		k = n - first < BATCH ? n - first : BATCH;
		for (int i = 0; i < k; i++) {
			gs[i] = procq_group_create(q, opts, &err);
			ck_assert_msg(gs[i] != NULL, "group: %s",
			    procq_strerror(err));
			ck_assert_int_eq(procq_group_submitf(gs[i], "ident",
			    NULL, NULL, "i", i), 0);
		}
		for (int i = 0; i < k; i++) {
			ck_assert_int_eq(procq_group_wait(gs[i], 30, NULL), 0);
			procq_group_free(gs[i]);
		}
		ck_assert_int_eq(procq_reset(q), 0);
	}
}

/*
 * Memory in use grows by less than this over 20,000 groups: far less
 * than the 1.6 MB their gates would hold (80 bytes each), but room for
 * buffers that come and go with the work, 128 KiB at a time (the two
 * measures have differed by -128, +128 and +256 KiB from run to run).
 */
#define GROUPS 20000
#define GROWTH_MAX (512 * 1024)

static void
check_groups_reclaimed(procq_queue *q, const procq_group_opts *opts,
    const char *what)
{
	size_t before, after;

	groups_cycle(q, opts, 500);	/* the queue's arrays reach size */
	before = heap_in_use();
	groups_cycle(q, opts, GROUPS);
	after = heap_in_use();
	if (before == 0 && after == 0)
		return;	/* a sanitizer's allocator: nothing to measure */
	ck_assert_msg(after < before + GROWTH_MAX,
	    "%d groups with a %s: %zu bytes more in use", GROUPS, what,
	    after - before);
}

START_TEST(test_group_gate_reclaimed)
{
	procq_queue *q = new_queue(2, 0);

	ck_assert_int_eq(procq_start(q), 0);
	check_groups_reclaimed(q, &(procq_group_opts){ .concurrency = 1 },
	    "concurrency limit");
	check_groups_reclaimed(q, &(procq_group_opts){ .rate = 1e6 },
	    "rate");
	procq_free(q);
}
END_TEST

/*
 * A group freed while one task runs and others wait in its backlog: the
 * backlog is admitted (and spaced by the rate), tasks cancelled after the
 * free end cancelled, the others succeed, and the gate goes with the last
 * of them (under AddressSanitizer, a use after that is caught).
 */
START_TEST(test_group_freed_with_backlog)
{
	procq_queue *q = new_queue(2, 1);
	procq_handle *h[5];
	struct gate gt;
	procq_group *g;
	int err, v;

	gate_create(&gt);
	ck_assert_int_eq(procq_start(q), 0);
	g = procq_group_create(q, &(procq_group_opts){ .concurrency = 1,
	    .rate = 2 }, &err);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(procq_group_submitf(g, "gate", NULL, &h[0], "s",
	    gt.path), 0);
	for (int i = 1; i < 5; i++)
		ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &h[i],
		    "i", i), 0);
	ck_assert(gate_enter(&gt, 10));
	ck_assert_int_eq(procq_handle_status(h[1]), PROCQ_PENDING);
	procq_group_free(g);
	/* At 2 a second, the last two wait a second or more. */
	ck_assert_int_eq(procq_handle_cancel(h[3]), 0);
	ck_assert_int_eq(procq_handle_cancel(h[4]), 0);
	gate_release(&gt);
	for (int i = 0; i < 5; i++)
		wait_done(h[i], 10);
	ck_assert_int_eq(procq_handle_status(h[0]), PROCQ_SUCCEEDED);
	for (int i = 1; i < 3; i++) {
		ck_assert_int_eq(procq_handle_value(h[i], "i", &v), 0);
		ck_assert_int_eq(v, i);
	}
	ck_assert_int_eq(procq_handle_status(h[3]), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(h[4]), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_reset(q), 0);
	check_queue_works(q, 4);
	procq_free(q);
	gate_destroy(&gt);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("hostile_caller");
	TCase *fork_tc = add_tcase(s, "fork", 60);
	TCase *fds_tc = add_tcase(s, "descriptors", 60);
	TCase *groups_tc = add_tcase(s, "groups", 300);

	tcase_add_test(fork_tc, test_fork_child_cannot_use_queue);
	tcase_add_test(fork_tc, test_fork_every_call_fails);
	tcase_add_test(fork_tc, test_fork_child_closes_descriptors);
	tcase_add_loop_test(fork_tc, test_lock_held_at_fork, 0,
	    (int)(sizeof lock_cases / sizeof lock_cases[0]));
	tcase_add_test(fds_tc, test_start_short_of_descriptors);
	tcase_add_test(groups_tc, test_group_gate_reclaimed);
	tcase_add_test(groups_tc, test_group_freed_with_backlog);
	return run_suite(s);
}
