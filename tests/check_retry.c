/*
 * Retries, retry delays and backoff, per-attempt timeouts, the kill grace
 * period and cancellation.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

START_TEST(test_retries_exhausted)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = submit_ok(q, "fail", &(procq_opts){ .retries = 2 },
	    "i", 3);
	const procq_result *r;

	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	r = procq_handle_result(h);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(procq_result_status(r), PROCQ_FAILED);
	ck_assert_int_eq(procq_result_attempts(r), 3);
	ck_assert_int_eq(procq_handle_attempts(h), 3);
	ck_assert_int_eq(procq_result_error_kind(r), PROCQ_ERR_TASK);
	ck_assert_str_eq(procq_result_error_type(r), "ValueError");
	ck_assert_str_eq(procq_result_error_message(r), "bad 3");
	procq_free(q);
}
END_TEST

START_TEST(test_retry_succeeds)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = submit_ok(q, "flaky", &(procq_opts){ .retries = 5 },
	    "i", 3);
	int attempt = 0;

	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_attempts(h), 3);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_NONE);
	ck_assert_int_eq(procq_handle_value(h, "i", &attempt), 0);
	ck_assert_int_eq(attempt, 3);
	procq_free(q);
}
END_TEST

START_TEST(test_retry_not_enough)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = submit_ok(q, "flaky", &(procq_opts){ .retries = 1 },
	    "i", 3);
	procq_handle *h0 = submit_ok(q, "flaky", NULL, "i", 2);

	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_attempts(h), 2);
	ck_assert_str_eq(procq_handle_error_type(h), "Flaky");
	ck_assert_str_eq(procq_handle_error_message(h), "attempt 2");
	/* retries = 0: one attempt only */
	ck_assert_int_eq(procq_handle_status(h0), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_attempts(h0), 1);
	procq_free(q);
}
END_TEST

START_TEST(test_retry_delay_backoff)
{
	procq_queue *q = new_queue(2, 0);
	procq_handle *hb, *hf;
	double t0, tb, tf;

	ck_assert_int_eq(procq_start(q), 0);
	t0 = now();
	/* delays 0.15 then 0.3 */
	hb = submit_ok(q, "flaky", &(procq_opts){ .retries = 2,
	    .retry_delay = 0.15, .backoff = 2 }, "i", 3);
	/* backoff 0 means 1: delays 0.2 then 0.2 */
	hf = submit_ok(q, "flaky", &(procq_opts){ .retries = 2,
	    .retry_delay = 0.2 }, "i", 3);
	wait_done(hb, 10);
	tb = now() - t0;
	wait_done(hf, 10);
	tf = now() - t0;
	ck_assert_int_eq(procq_handle_status(hb), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_status(hf), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_attempts(hb), 3);
	ck_assert_int_eq(procq_handle_attempts(hf), 3);
	ck_assert_msg(tb >= 0.45 - TIMER_SLACK, "backoff: finished after %.3f s", tb);
	ck_assert_msg(tf >= 0.4 - TIMER_SLACK, "delay: finished after %.3f s", tf);
	procq_free(q);
}
END_TEST

/* A task waiting for its retry is RETRYING and does not hold a worker. */
START_TEST(test_retry_frees_worker)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *ha, *hb;
	procq_summary *s = NULL;

	ha = submit_ok(q, "flaky", &(procq_opts){ .retries = 1,
	    .retry_delay = 0.5 }, "i", 2);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(wait_status(ha, PROCQ_RETRYING, 10));
	ck_assert(!procq_handle_done(ha));
	ck_assert_int_eq(procq_handle_attempts(ha), 1);
	hb = submit_ok(q, "ident", NULL, "i", 1);
	wait_done(hb, 10);
	/* b ran on the only worker while a waited for its retry */
	ck_assert(!procq_handle_done(ha));
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_int_eq(procq_handle_status(ha), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_attempts(ha), 2);
	ck_assert_str_eq(procq_result_id(procq_summary_result(s, 0)),
	    procq_handle_id(hb));
	ck_assert_str_eq(procq_result_id(procq_summary_result(s, 1)),
	    procq_handle_id(ha));
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

START_TEST(test_timeout)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h, *h2;
	double t0, dt, v = 0;
	const char *msg;

	ck_assert_int_eq(procq_start(q), 0);
	t0 = now();
	h = submit_ok(q, "sleep", &(procq_opts){ .timeout = 0.3 }, "d", 30.0);
	wait_done(h, 10);
	dt = now() - t0;
	ck_assert_double_ge(dt, 0.3 - TIMER_SLACK);
	ck_assert_double_lt(dt, 5);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_TIMEOUT);
	ck_assert_str_eq(procq_handle_error_type(h), "Timeout");
	msg = procq_handle_error_message(h);
	ck_assert_msg(strncmp(msg, "attempt timed out after ", 24) == 0,
	    "message: %s", msg);
	ck_assert_int_eq(procq_handle_attempts(h), 1);

	/* its worker was replaced */
	h2 = submit_ok(q, "double", NULL, "d", 5.0);
	wait_done(h2, 10);
	ck_assert_int_eq(procq_handle_value(h2, "d", &v), 0);
	ck_assert_double_eq(v, 10.0);
	procq_free(q);
}
END_TEST

START_TEST(test_timeout_retried)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = submit_ok(q, "sleep", &(procq_opts){ .timeout = 0.2,
	    .retries = 1 }, "d", 30.0);
	double t0 = now();

	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_double_ge(now() - t0, 0.4 - TIMER_SLACK);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_TIMEOUT);
	ck_assert_int_eq(procq_handle_attempts(h), 2);
	procq_free(q);
}
END_TEST

/* The timeout counts from the start of the attempt, not from submit. */
START_TEST(test_timeout_from_start)
{
	procq_queue *q = new_queue(1, 0);
	struct gate g;
	procq_handle *hg, *h;

	gate_create(&g);
	ck_assert_int_eq(procq_start(q), 0);
	hg = submit_ok(q, "gate", NULL, "s", g.path);
	ck_assert(gate_enter(&g, 10));
	h = submit_ok(q, "sleep", &(procq_opts){ .timeout = 0.3 }, "d", 0.01);
	/* queued for longer than its timeout */
	ck_assert_int_eq(procq_handle_wait(h, 0.5), PROCQ_ETIMEDOUT);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_PENDING);
	gate_release(&g);
	wait_done(hg, 10);
	wait_done(h, 10);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/* A timeout kills the worker's whole process group: a grandchild the task
 * forked dies too. */
START_TEST(test_timeout_kills_group)
{
	procq_queue *q = new_queue(1, 0);
	char path[128];
	procq_handle *h;
	pid_t gpid;
	bool gone;

	make_tmpfile(path, sizeof path);
	h = submit_ok(q, "grandchild", &(procq_opts){ .timeout = 1.0 }, "s",
	    path);
	ck_assert_int_eq(procq_start(q), 0);
	gpid = wait_pid_file(path, 10);
	ck_assert_msg(gpid > 0, "the task did not report its child");
	wait_done(h, 10);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_TIMEOUT);
	gone = wait_pid_gone(gpid, 5);
	if (!gone)
		kill(gpid, SIGKILL);
	unlink(path);
	ck_assert_msg(gone, "grandchild %d survived the timeout", (int)gpid);
	procq_free(q);
}
END_TEST

/* A task that ignores SIGTERM is killed after the grace period. */
START_TEST(test_kill_grace)
{
	procq_queue *q = new_queue_config(&(procq_config){ .workers = 1,
	    .kill_grace = 0.6 });
	char path[128];
	struct gate g;
	procq_handle *h, *h2;
	double t0, dt;
	pid_t pid;

	gate_create(&g);
	make_tmpfile(path, sizeof path);
	h = submit_ok(q, "stubborn_gate", NULL, "ss", g.path, path);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(gate_enter(&g, 10));
	pid = read_pid_file(path);
	ck_assert_int_gt(pid, 0);
	t0 = now();
	ck_assert_int_eq(procq_handle_cancel(h), 0);
	ck_assert(wait_pid_gone(pid, 5));
	dt = now() - t0;
	ck_assert_msg(dt >= 0.6 - TIMER_SLACK, "SIGKILL came after %.3f s", dt);
	wait_done(h, 5);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_CANCELLED);
	gate_release(&g);
	h2 = submit_ok(q, "nil", NULL, "");
	wait_done(h2, 10);
	ck_assert_int_eq(procq_handle_status(h2), PROCQ_SUCCEEDED);
	procq_free(q);
	unlink(path);
	gate_destroy(&g);
}
END_TEST

/* Negative kill_grace: SIGKILL at once, even for a task ignoring SIGTERM
 * (the default grace of 0.5 s would keep it alive longer). */
START_TEST(test_kill_grace_negative)
{
	procq_queue *q = new_queue_config(&(procq_config){ .workers = 1,
	    .kill_grace = -1 });
	char path[128];
	struct gate g;
	procq_handle *h;
	double t0, dt;
	pid_t pid;

	gate_create(&g);
	make_tmpfile(path, sizeof path);
	h = submit_ok(q, "stubborn_gate", NULL, "ss", g.path, path);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(gate_enter(&g, 10));
	pid = read_pid_file(path);
	ck_assert_int_gt(pid, 0);
	t0 = now();
	ck_assert_int_eq(procq_handle_cancel(h), 0);
	ck_assert(wait_pid_gone(pid, 5));
	dt = now() - t0;
	ck_assert_msg(dt < 0.45, "the worker died after %.3f s", dt);
	wait_done(h, 5);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_CANCELLED);
	procq_free(q);
	unlink(path);
	gate_destroy(&g);
}
END_TEST

START_TEST(test_cancel_queued)
{
	procq_queue *q = new_queue(1, 0);
	char path[128];
	struct gate g;
	procq_handle *hg, *hm, *hm2;
	const procq_result *r;

	gate_create(&g);
	make_tmpfile(path, sizeof path);
	ck_assert_int_eq(procq_start(q), 0);
	hg = submit_ok(q, "gate", NULL, "s", g.path);
	ck_assert(gate_enter(&g, 10));
	hm = submit_ok(q, "marker", &(procq_opts){ .retries = 3 }, "s", path);
	ck_assert_int_eq(procq_handle_status(hm), PROCQ_PENDING);
	ck_assert_int_eq(procq_handle_cancel(hm), 0);
	/* a queued task is final at once */
	ck_assert(procq_handle_done(hm));
	ck_assert_int_eq(procq_handle_wait(hm, 0), 0);
	ck_assert_int_eq(procq_handle_status(hm), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_attempts(hm), 0);
	ck_assert_int_eq(procq_handle_error_kind(hm), PROCQ_ERR_CANCELLED);
	ck_assert_str_eq(procq_handle_error_type(hm), "Cancelled");
	ck_assert_str_eq(procq_handle_error_message(hm), "cancelled");
	r = procq_handle_result(hm);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(procq_result_attempts(r), 0);
	ck_assert_int_eq(procq_handle_cancel(hm), PROCQ_EDONE);

	gate_release(&g);
	/* a later marker runs: by the time it is done the cancelled one
	 * would have run too */
	hm2 = submit_ok(q, "marker", NULL, "s", path);
	wait_done(hm2, 10);
	wait_done(hg, 10);
	ck_assert_int_eq(procq_handle_status(hm2), PROCQ_SUCCEEDED);
	ck_assert_int_eq(file_size(path), 1);
	ck_assert_int_eq(procq_handle_status(hm), PROCQ_CANCELLED);
	procq_free(q);
	unlink(path);
	gate_destroy(&g);
}
END_TEST

/*
 * With a prefetch window, a queued task (PENDING) may already sit in the
 * worker's pipe.  Cancelling it must still work as for any queued task:
 * final CANCELLED at once, no attempt counted, and its worker keeps going.
 */
START_TEST(test_cancel_prefetched)
{
	procq_queue *q = new_queue(1, 4);
	char path[128];
	struct gate g;
	procq_handle *hg, *hm, *hm2;
	bool at_once;

	gate_create(&g);
	make_tmpfile(path, sizeof path);
	hg = submit_ok(q, "gate", NULL, "s", g.path);
	hm = submit_ok(q, "marker", NULL, "s", path);
	hm2 = submit_ok(q, "marker", NULL, "s", path);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(gate_enter(&g, 10));
	ck_assert_int_eq(procq_handle_status(hm), PROCQ_PENDING);
	ck_assert_int_eq(procq_handle_cancel(hm), 0);
	/* final while the worker is still busy with the gate */
	at_once = procq_handle_wait(hm, 2) == 0;
	gate_release(&g);
	wait_done(hm, 10);
	wait_done(hm2, 10);
	wait_done(hg, 10);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_status(hm2), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_attempts(hm2), 1);
	ck_assert_msg(procq_handle_status(hm) == PROCQ_CANCELLED,
	    "cancelled while PENDING, it ended %s",
	    procq_status_name(procq_handle_status(hm)));
	ck_assert_int_eq(procq_handle_attempts(hm), 0);
	ck_assert_int_eq(procq_result_attempts(procq_handle_result(hm)), 0);
	ck_assert_msg(at_once, "a cancelled PENDING task was not final until "
	    "its worker was free");
	procq_free(q);
	unlink(path);
	gate_destroy(&g);
}
END_TEST

START_TEST(test_cancel_running)
{
	procq_queue *q = new_queue(1, 0);
	struct gate g;
	procq_handle *hg, *h2;
	double t0, v = 0;

	gate_create(&g);
	hg = submit_ok(q, "gate", &(procq_opts){ .retries = 3 }, "s", g.path);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(gate_enter(&g, 10));
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_RUNNING);
	t0 = now();
	ck_assert_int_eq(procq_handle_cancel(hg), 0);
	wait_done(hg, 5);
	ck_assert_double_lt(now() - t0, 5);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_CANCELLED);
	/* cancellation is never retried */
	ck_assert_int_eq(procq_handle_attempts(hg), 1);
	ck_assert_int_eq(procq_handle_error_kind(hg), PROCQ_ERR_CANCELLED);
	ck_assert_str_eq(procq_handle_error_type(hg), "Cancelled");
	ck_assert_str_eq(procq_handle_error_message(hg), "cancelled");
	ck_assert_int_eq(procq_handle_cancel(hg), PROCQ_EDONE);
	gate_release(&g);

	/* the worker was replaced */
	h2 = submit_ok(q, "double", NULL, "d", 0.5);
	wait_done(h2, 10);
	ck_assert_int_eq(procq_handle_value(h2, "d", &v), 0);
	ck_assert_double_eq(v, 1.0);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

START_TEST(test_cancel_running_sleep)
{
	procq_queue *q = new_queue(2, 0);
	procq_handle *h, *h2;

	h = submit_ok(q, "sleep", &(procq_opts){ .retries = 3 }, "d", 30.0);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(wait_status(h, PROCQ_RUNNING, 10));
	ck_assert_int_eq(procq_handle_cancel(h), 0);
	wait_done(h, 5);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_attempts(h), 1);
	h2 = submit_ok(q, "nil", NULL, "");
	wait_done(h2, 10);
	ck_assert_int_eq(procq_handle_status(h2), PROCQ_SUCCEEDED);
	procq_free(q);
}
END_TEST

/* Cancel while waiting for a retry: final at once, not retried. */
START_TEST(test_cancel_retrying)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = submit_ok(q, "fail", &(procq_opts){ .retries = 3,
	    .retry_delay = 30 }, "i", 1);

	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(wait_status(h, PROCQ_RETRYING, 10));
	ck_assert_int_eq(procq_handle_cancel(h), 0);
	wait_done(h, 5);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_attempts(h), 1);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_CANCELLED);
	procq_free(q);
}
END_TEST

START_TEST(test_cancel_done)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *ok = submit_ok(q, "nil", NULL, "");
	procq_handle *bad = submit_ok(q, "fail", NULL, "i", 1);

	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_cancel(ok), PROCQ_EDONE);
	ck_assert_int_eq(procq_handle_cancel(bad), PROCQ_EDONE);
	ck_assert_int_eq(procq_handle_status(ok), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_status(bad), PROCQ_FAILED);
	procq_free(q);
}
END_TEST

/* A cancelled task shows in the run's summary. */
START_TEST(test_cancel_in_summary)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *a = submit_ok(q, "nil", NULL, "");
	procq_handle *b = submit_ok(q, "nil", NULL, "");
	procq_summary *s = NULL;
	const procq_result *r;

	ck_assert_int_eq(procq_handle_cancel(b), 0);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_submitted(s), 2);
	ck_assert_uint_eq(procq_summary_succeeded(s), 1);
	ck_assert_uint_eq(procq_summary_cancelled(s), 1);
	ck_assert_uint_eq(procq_summary_failed(s), 0);
	ck_assert(!procq_summary_ok(s));
	r = procq_summary_by_id(s, procq_handle_id(b));
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(procq_result_status(r), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_result_error_kind(r), PROCQ_ERR_CANCELLED);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_SUCCEEDED);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

static Suite *
retry_suite(void)
{
	Suite *s = suite_create("retry");
	TCase *tc;

	tc = add_tcase(s, "retries", 30);
	tcase_add_test(tc, test_retries_exhausted);
	tcase_add_test(tc, test_retry_succeeds);
	tcase_add_test(tc, test_retry_not_enough);
	tcase_add_test(tc, test_retry_delay_backoff);
	tcase_add_test(tc, test_retry_frees_worker);

	tc = add_tcase(s, "timeouts", 30);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_timeout_retried);
	tcase_add_test(tc, test_timeout_from_start);
	tcase_add_test(tc, test_timeout_kills_group);
	tcase_add_test(tc, test_kill_grace);
	tcase_add_test(tc, test_kill_grace_negative);

	tc = add_tcase(s, "cancel", 30);
	tcase_add_test(tc, test_cancel_queued);
	tcase_add_test(tc, test_cancel_prefetched);
	tcase_add_test(tc, test_cancel_running);
	tcase_add_test(tc, test_cancel_running_sleep);
	tcase_add_test(tc, test_cancel_retrying);
	tcase_add_test(tc, test_cancel_done);
	tcase_add_test(tc, test_cancel_in_summary);
	return s;
}

int
main(void)
{
	return run_suite(retry_suite());
}
