/*
 * The must_complete matrix: how each way of stopping work treats
 * ordinary and must_complete tasks that are running, queued, or
 * scheduled (waiting for a delay).
 *
 *   event                         ordinary     must_complete
 *   graceful shutdown             completes    completes
 *   run timeout, on_timeout=complete  cancelled  completes
 *   run timeout, on_timeout=cancel    cancelled  cancelled
 *   fail_first trips              cancelled    spared
 *   handle cancel                 cancelled    cancelled
 *   force shutdown                cancelled    cancelled
 *   procq_cancel                  cancelled    cancelled
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "policy_tasks.h"
#include "util.h"

enum row {
	ROW_GRACEFUL,
	ROW_TIMEOUT_COMPLETE,
	ROW_TIMEOUT_CANCEL,
	ROW_FAIL_FIRST,
	ROW_HANDLE_CANCEL,
	ROW_FORCE_SHUTDOWN,
	ROW_QUEUE_CANCEL,
	ROW_COUNT
};

static const char *const row_names[ROW_COUNT] = {
	"graceful shutdown", "run timeout (complete)", "run timeout (cancel)",
	"fail_first", "handle cancel", "force shutdown", "procq_cancel",
};

enum { ORD, MC };				/* ordinary, must_complete */
enum { RUNNING, QUEUED, SCHEDULED, NSTATES };

static const char *const state_names[NSTATES] = {
	"running", "queued", "scheduled"
};

/* Run timeout, and a delay that outlasts it by a wide margin.  Scheduled
 * tasks that must run wait DELAY; ordinary ones that are to be cancelled
 * wait far longer, so that a slow machine cannot let them run first. */
#define RUN_TIMEOUT 0.25
#define DELAY 0.8
#define DELAY_LONG 60

struct matrix {
	enum row row;
	procq_queue *q;
	struct gate g[3];		/* aux, running ordinary, running mc */
	procq_handle *aux;		/* holds the third worker */
	procq_handle *h[2][NSTATES];
	double t_sched;			/* when the scheduled ones were */
};

/*
 * Three workers, each held by a gate task: an auxiliary one (which fails
 * when released, for fail_first), a running ordinary task and a running
 * must_complete one.  Behind them an ordinary and a must_complete task
 * queued, and two scheduled ahead.
 */
static void
matrix_setup(struct matrix *m, enum row row)
{
	procq_config cfg = { .workers = 3 };
	procq_stats st;
	int k;

	memset(m, 0, sizeof *m);
	m->row = row;
	if (row == ROW_TIMEOUT_COMPLETE)
		cfg.on_timeout = PROCQ_ON_TIMEOUT_COMPLETE;
	if (row == ROW_TIMEOUT_CANCEL)
		cfg.on_timeout = PROCQ_ON_TIMEOUT_CANCEL;
	if (row == ROW_FAIL_FIRST)
		cfg.fail_policy = PROCQ_FAIL_FIRST;
	m->q = policy_queue(&cfg);
	for (int i = 0; i < 3; i++)
		gate_create(&m->g[i]);
	ck_assert_int_eq(procq_start(m->q), 0);
	m->aux = submit_ok(m->q, row == ROW_FAIL_FIRST ? "gate_fail" : "gate",
	    NULL, "s", m->g[0].path);
	for (k = ORD; k <= MC; k++)
		m->h[k][RUNNING] = submit_ok(m->q, "gate", &(procq_opts){
		    .name = k == MC ? "run_mc" : "run_ord",
		    .must_complete = k == MC }, "s", m->g[1 + k].path);
	for (int i = 0; i < 3; i++)
		ck_assert(gate_enter(&m->g[i], 10));
	for (k = ORD; k <= MC; k++)
		m->h[k][QUEUED] = submit_ok(m->q, "ident", &(procq_opts){
		    .name = k == MC ? "queued_mc" : "queued_ord",
		    .must_complete = k == MC }, "i", 10 + k);
	m->t_sched = now();
	for (k = ORD; k <= MC; k++)
		m->h[k][SCHEDULED] = submit_ok(m->q, "ident", &(procq_opts){
		    .name = k == MC ? "scheduled_mc" : "scheduled_ord",
		    .must_complete = k == MC,
		    .delay = k == ORD && row != ROW_GRACEFUL ? DELAY_LONG : DELAY },
		    "i", 20 + k);
	st = stats_of(m->q);
	ck_assert_uint_eq(st.active, 3);
	ck_assert_uint_eq(st.pending, 2);
	ck_assert_uint_eq(st.scheduled, 2);
	for (k = ORD; k <= MC; k++) {
		ck_assert_int_eq(procq_handle_status(m->h[k][RUNNING]),
		    PROCQ_RUNNING);
		ck_assert_int_eq(procq_handle_status(m->h[k][QUEUED]),
		    PROCQ_PENDING);
		ck_assert_int_eq(procq_handle_status(m->h[k][SCHEDULED]),
		    PROCQ_PENDING);
	}
}

static void
matrix_release(struct matrix *m)
{
	for (int i = 0; i < 3; i++)
		gate_release(&m->g[i]);
}

static void
matrix_free(struct matrix *m)
{
	procq_free(m->q);
	for (int i = 0; i < 3; i++)
		gate_destroy(&m->g[i]);
}

static void
expect(struct matrix *m, int k, int s, procq_status want)
{
	procq_handle *h = m->h[k][s];
	procq_status got = procq_handle_status(h);

	ck_assert_msg(got == want, "%s: %s %s task ended %s, not %s (%s)",
	    row_names[m->row], k == MC ? "must_complete" : "ordinary",
	    state_names[s], procq_status_name(got), procq_status_name(want),
	    message_of(h));
	if (want == PROCQ_CANCELLED) {
		ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_CANCELLED);
		/* a queued or scheduled task never ran */
		ck_assert_int_eq(procq_handle_attempts(h), s == RUNNING);
	}
	if (want == PROCQ_SUCCEEDED && s == RUNNING)	/* a gate: nil */
		ck_assert_int_eq(procq_handle_value(h, "n"), 0);
	else if (want == PROCQ_SUCCEEDED)
		ck_assert_int_eq(int_value(h), 10 * s + k);
}

/* Every task of kind k ended want. */
static void
expect_all(struct matrix *m, int k, procq_status want)
{
	for (int s = 0; s < NSTATES; s++)
		expect(m, k, s, want);
}

static void
wait_all(struct matrix *m, int k)
{
	for (int s = 0; s < NSTATES; s++)
		wait_done(m->h[k][s], 10);
}

struct shutdown_thread {
	pthread_t thread;
	procq_queue *q;
	int rc;
	atomic_int done;
};

static void *
shutdown_main(void *arg)
{
	struct shutdown_thread *t = arg;

	t->rc = procq_shutdown(t->q, 0);
	atomic_store(&t->done, 1);
	return NULL;
}

static bool
closed_cond(void *q)
{
	return procq_closed(q);
}

static void
row_graceful(struct matrix *m)
{
	struct shutdown_thread t = { .q = m->q };

	atomic_init(&t.done, 0);
	ck_assert_int_eq(pthread_create(&t.thread, NULL, shutdown_main, &t), 0);
	ck_assert(wait_until(closed_cond, m->q, 10));
	/* shutting down, with everything still to do */
	ck_assert_uint_eq(stats_of(m->q).scheduled, 2);
	for (int k = ORD; k <= MC; k++) {
		ck_assert_int_eq(procq_handle_status(m->h[k][RUNNING]),
		    PROCQ_RUNNING);
		ck_assert_int_eq(procq_handle_status(m->h[k][QUEUED]),
		    PROCQ_PENDING);
		ck_assert_int_eq(procq_handle_status(m->h[k][SCHEDULED]),
		    PROCQ_PENDING);
	}
	ck_assert(!atomic_load(&t.done));
	matrix_release(m);
	ck_assert(wait_until(flag_is_set, &t.done, 10));
	pthread_join(t.thread, NULL);
	ck_assert_int_eq(t.rc, 0);
	expect_all(m, ORD, PROCQ_SUCCEEDED);
	expect_all(m, MC, PROCQ_SUCCEEDED);
}

static void
row_timeout(struct matrix *m, bool spare)
{
	struct run_thread rt;

	run_thread_start(&rt, m->q, &(procq_run_opts){
	    .timeout = RUN_TIMEOUT });
	wait_done(m->h[ORD][RUNNING], 10);
	wait_all(m, ORD);
	expect_all(m, ORD, PROCQ_CANCELLED);
	if (spare) {
		/* the run waits for the must_complete tasks */
		ck_assert_int_eq(procq_handle_status(m->h[MC][RUNNING]),
		    PROCQ_RUNNING);
		ck_assert(!procq_handle_done(m->h[MC][SCHEDULED]));
		ck_assert(!run_thread_returned(&rt));
		matrix_release(m);
		ck_assert_int_eq(run_thread_join(&rt, 10), PROCQ_ETIMEDOUT);
		expect_all(m, MC, PROCQ_SUCCEEDED);
		ck_assert_msg(now() - m->t_sched >= DELAY - TIMER_SLACK,
		    "the run returned %.3f s after the scheduled "
		    "must_complete task was submitted, before it could run",
		    now() - m->t_sched);
	} else {
		ck_assert_int_eq(run_thread_join(&rt, 10), PROCQ_ETIMEDOUT);
		expect_all(m, MC, PROCQ_CANCELLED);
	}
	ck_assert_double_ge(rt.elapsed, RUN_TIMEOUT - TIMER_SLACK);
	ck_assert_ptr_nonnull(rt.summary);
	ck_assert_uint_eq(procq_summary_cancelled(rt.summary), spare ? 4 : 7);
	procq_summary_free(rt.summary);
}

static void
row_fail_first(struct matrix *m)
{
	procq_handle *later;

	gate_release(&m->g[0]);		/* the aux task fails */
	wait_done(m->aux, 10);
	ck_assert_int_eq(procq_handle_status(m->aux), PROCQ_FAILED);
	ck_assert_str_eq(procq_handle_error_type(m->aux), "GateError");
	wait_all(m, ORD);
	expect_all(m, ORD, PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(m->h[MC][RUNNING]),
	    PROCQ_RUNNING);
	ck_assert(!procq_handle_done(m->h[MC][SCHEDULED]));
	/* later submissions are not affected */
	later = submit_ok(m->q, "ident", NULL, "i", 5);
	matrix_release(m);
	ck_assert_int_eq(procq_join(m->q, 10), 0);
	expect_all(m, MC, PROCQ_SUCCEEDED);
	ck_assert_int_eq(int_value(later), 5);
}

static void
row_handle_cancel(struct matrix *m)
{
	/* queued and scheduled ones are final at once (cancelled first: a
	 * running task's cancel frees a worker that could take them) */
	for (int k = ORD; k <= MC; k++) {
		ck_assert_int_eq(procq_handle_cancel(m->h[k][QUEUED]), 0);
		ck_assert(procq_handle_done(m->h[k][QUEUED]));
		ck_assert_int_eq(procq_handle_cancel(m->h[k][SCHEDULED]), 0);
		ck_assert(procq_handle_done(m->h[k][SCHEDULED]));
	}
	for (int k = ORD; k <= MC; k++)
		ck_assert_int_eq(procq_handle_cancel(m->h[k][RUNNING]), 0);
	wait_all(m, ORD);
	wait_all(m, MC);
	expect_all(m, ORD, PROCQ_CANCELLED);
	expect_all(m, MC, PROCQ_CANCELLED);
	/* the aux task was left alone */
	ck_assert(!procq_handle_done(m->aux));
	matrix_release(m);
	wait_done(m->aux, 10);
	ck_assert_int_eq(procq_handle_status(m->aux), PROCQ_SUCCEEDED);
}

static void
row_force_shutdown(struct matrix *m)
{
	ck_assert_int_eq(procq_shutdown(m->q, PROCQ_SHUTDOWN_FORCE), 0);
	expect_all(m, ORD, PROCQ_CANCELLED);
	expect_all(m, MC, PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(m->aux), PROCQ_CANCELLED);
}

static void
row_queue_cancel(struct matrix *m)
{
	ck_assert_int_eq(procq_cancel(m->q), 0);
	for (int k = ORD; k <= MC; k++) {
		ck_assert(procq_handle_done(m->h[k][QUEUED]));
		ck_assert(procq_handle_done(m->h[k][SCHEDULED]));
	}
	wait_all(m, ORD);
	wait_all(m, MC);
	wait_done(m->aux, 10);
	expect_all(m, ORD, PROCQ_CANCELLED);
	expect_all(m, MC, PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(m->aux), PROCQ_CANCELLED);
}

START_TEST(test_matrix)
{
	struct matrix m;

	matrix_setup(&m, (enum row)_i);
	switch ((enum row)_i) {
	case ROW_GRACEFUL:
		row_graceful(&m);
		break;
	case ROW_TIMEOUT_COMPLETE:
		row_timeout(&m, true);
		break;
	case ROW_TIMEOUT_CANCEL:
		row_timeout(&m, false);
		break;
	case ROW_FAIL_FIRST:
		row_fail_first(&m);
		break;
	case ROW_HANDLE_CANCEL:
		row_handle_cancel(&m);
		break;
	case ROW_FORCE_SHUTDOWN:
		row_force_shutdown(&m);
		break;
	case ROW_QUEUE_CANCEL:
		row_queue_cancel(&m);
		break;
	default:
		ck_abort_msg("no row %d", _i);
	}
	matrix_free(&m);
}
END_TEST

static Suite *
matrix_suite(void)
{
	Suite *s = suite_create("policy_matrix");
	TCase *tc;

	tc = add_tcase(s, "must_complete", 30);
	tcase_add_loop_test(tc, test_matrix, 0, ROW_COUNT);
	return s;
}

int
main(void)
{
	return run_suite(matrix_suite());
}
