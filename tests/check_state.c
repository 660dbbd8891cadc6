/*
 * A task's states, on their own: state.c and trace.c compiled into this
 * program with the state checks on.  Every legal move is taken and the
 * public status read off each state; every illegal move aborts; a traced
 * move writes one line in the documented form.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "../src/transport.h"
#include "../src/queue.h"
#include "../src/result.h"
#include "../src/task.h"
#include "../src/trace.h"

/* A handle and a queue with only the fields state.c and trace.c read. */
struct fixture {
	procq_queue	q;
	procq_handle	t;
	procq_result	r;
};

static void
fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof *f);
	f->q.pid = 4711;
	f->t.q = &f->q;
	f->t.name = "square";
	snprintf(f->t.id, sizeof f->t.id, "%016x", 3);
}

START_TEST(test_every_path)
{
	struct fixture f;
	procq_handle *t = &f.t;

	fixture_init(&f);
	ck_assert_int_eq(t->state, TASK_LOOSE);
	ck_assert_int_eq(task_status(t), PROCQ_PENDING);
	/* Queued, sent ahead, started, crashed and given back. */
	task_move(t, TASK_READY);
	ck_assert_int_eq(task_status(t), PROCQ_PENDING);
	task_move(t, TASK_LOOSE);
	task_move(t, TASK_SENT);
	ck_assert_int_eq(task_status(t), PROCQ_PENDING);
	task_move(t, TASK_RUNNING);
	t->attempts = 1;
	ck_assert_int_eq(task_status(t), PROCQ_RUNNING);
	task_move(t, TASK_LOOSE);
	ck_assert_int_eq(task_status(t), PROCQ_RETRYING);
	/* A retry delay, a full group, then done. */
	task_move(t, TASK_DELAYED);
	ck_assert_int_eq(task_status(t), PROCQ_RETRYING);
	task_move(t, TASK_LOOSE);
	task_move(t, TASK_BACKLOG);
	ck_assert_int_eq(task_status(t), PROCQ_RETRYING);
	task_move(t, TASK_LOOSE);
	f.r.status = PROCQ_SUCCEEDED;
	t->result = &f.r;
	task_move(t, TASK_DONE);
	ck_assert_int_eq(task_status(t), PROCQ_SUCCEEDED);
	/* Staying is no move. */
	task_move(t, TASK_DONE);
	ck_assert_int_eq(t->state, TASK_DONE);
}
END_TEST

START_TEST(test_future_path)
{
	struct fixture f;

	fixture_init(&f);
	task_move(&f.t, TASK_FUTURE);
	ck_assert_int_eq(task_status(&f.t), PROCQ_PENDING);
	task_move(&f.t, TASK_LOOSE);
	task_move(&f.t, TASK_DONE);
	/* No result could be recorded at all: reported failed. */
	ck_assert_int_eq(task_status(&f.t), PROCQ_FAILED);
}
END_TEST

/* The moves task_move() must refuse, as (from, to) pairs. */
static const enum task_state illegal[][2] = {
	{ TASK_LOOSE, TASK_RUNNING },
	{ TASK_READY, TASK_SENT },
	{ TASK_READY, TASK_DONE },
	{ TASK_READY, TASK_DELAYED },
	{ TASK_DELAYED, TASK_READY },
	{ TASK_BACKLOG, TASK_READY },
	{ TASK_FUTURE, TASK_DONE },
	{ TASK_SENT, TASK_READY },
	{ TASK_SENT, TASK_DONE },
	{ TASK_RUNNING, TASK_SENT },
	{ TASK_RUNNING, TASK_DONE },
	{ TASK_RUNNING, TASK_READY },
	{ TASK_DONE, TASK_LOOSE },
	{ TASK_DONE, TASK_READY },
	{ TASK_LOOSE, TASK_NSTATES }
};
#define N_ILLEGAL ((int)(sizeof illegal / sizeof illegal[0]))

START_TEST(test_illegal_move)
{
	struct fixture f;

	fixture_init(&f);
	f.t.state = illegal[_i][0];
	/* Its message would only clutter the log of a passing test. */
	if (freopen("/dev/null", "w", stderr) == NULL)
		ck_abort_msg("cannot silence stderr");
	task_move(&f.t, illegal[_i][1]);
	ck_abort_msg("illegal move %s -> %s was taken",
	    task_state_name(illegal[_i][0]), task_state_name(illegal[_i][1]));
}
END_TEST

/* Reads what trace_task() wrote to a pipe standing in for stderr. */
START_TEST(test_trace_line)
{
	struct fixture f;
	struct slot s = { 0 };
	char line[512];
	int fds[2], saved;
	ssize_t n;

	fixture_init(&f);
	f.q.trace = true;
	s.q = &f.q;
	s.id = 4713;
	ck_assert_int_eq(pipe(fds), 0);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
	task_move(&f.t, TASK_READY);
	task_move(&f.t, TASK_LOOSE);
	f.t.slot = &s;
	task_move(&f.t, TASK_SENT);
	trace_worker(&s, "killed (%s): %s", "Timeout", "too slow");
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fds[1]);
	n = read(fds[0], line, sizeof line - 1);
	close(fds[0]);
	ck_assert_int_gt(n, 0);
	line[n] = '\0';
	ck_assert_msg(strstr(line, "procq 4711 +") == line, "%s", line);
	ck_assert_msg(strstr(line, " task 0000000000000003 square: "
	    "loose -> ready\n") != NULL, "%s", line);
	ck_assert_msg(strstr(line, " task 0000000000000003 square: "
	    "loose -> sent (worker 4713)\n") != NULL, "%s", line);
	ck_assert_msg(strstr(line, " worker 4713: killed (Timeout): "
	    "too slow\n") != NULL, "%s", line);
}
END_TEST

/* An untraced queue writes nothing. */
START_TEST(test_untraced)
{
	struct fixture f;
	int fds[2], saved;
	char c;

	fixture_init(&f);
	ck_assert_int_eq(pipe(fds), 0);
	saved = dup(STDERR_FILENO);
	ck_assert_int_eq(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
	task_move(&f.t, TASK_READY);
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 0);
	close(fds[0]);
}
END_TEST

START_TEST(test_trace_wanted)
{
	ck_assert_int_eq(unsetenv("PROCQ_DEBUG"), 0);
	ck_assert(!trace_wanted());
	ck_assert_int_eq(setenv("PROCQ_DEBUG", "", 1), 0);
	ck_assert(!trace_wanted());
	ck_assert_int_eq(setenv("PROCQ_DEBUG", "0", 1), 0);
	ck_assert(!trace_wanted());
	ck_assert_int_eq(setenv("PROCQ_DEBUG", "1", 1), 0);
	ck_assert(trace_wanted());
	ck_assert_int_eq(unsetenv("PROCQ_DEBUG"), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("moves");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_every_path);
	tcase_add_test(tc, test_future_path);
	tcase_add_loop_test_raise_signal(tc, test_illegal_move, SIGABRT, 0,
	    N_ILLEGAL);
	tcase_add_test(tc, test_trace_line);
	tcase_add_test(tc, test_untraced);
	tcase_add_test(tc, test_trace_wanted);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
