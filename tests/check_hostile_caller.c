/*
 * A caller that makes the supervisor's life hard: it starts a queue with
 * almost no descriptors left.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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
		_exit(fn(arg));
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
		if ((q = procq_create(&cfg, NULL)) == NULL)
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

int
main(void)
{
	Suite *s = suite_create("hostile_caller");
	TCase *fds_tc = add_tcase(s, "descriptors", 60);

	tcase_add_test(fds_tc, test_start_short_of_descriptors);
	return run_suite(s);
}
