/*
 * Runs and the rest of the lifecycle: run, join, shutdown, cancel, reset,
 * results and statistics.  Calls that block refuse to run on the
 * supervisor thread (from a hook), where they could only deadlock.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "checkpoint.h"
#include "command.h"
#include "loop.h"
#include "dispatch.h"
#include "hook.h"
#include "queue.h"
#include "result.h"
#include "run.h"
#include "clock.h"

/* What the queue's fail-first leaves alone. */
#define RUN_FAIL_FIRST_SPARES                                        \
	(CANCEL_SPARE_MUST_COMPLETE | CANCEL_SPARE_FUTURES |          \
	    CANCEL_SPARE_SHIELDED)

/* Under fail-first, a failed task cancels every other one but those that
 * must complete, futures and those of shielded groups: a final-task
 * listener. */
void
run_task_final(procq_handle *t)
{
	if (!t->future && task_status(t) == PROCQ_FAILED &&
	    queue_fail_policy(t->q) == PROCQ_FAIL_FIRST)
		task_cancel_all(t->q, RUN_FAIL_FIRST_SPARES);
}

/* True when the run is over: finite runs end when nothing is left,
 * infinite ones when the queue is also closed. */
static bool
run_over(const procq_queue *q)
{
	if (q->outstanding > 0)
		return false;
	return q->cfg.mode == PROCQ_MODE_FINITE || q->closed;
}

/* A run's deadline passed: what the on_timeout policy says is cancelled.
 * A future is the caller's: only a full stop cancels it. */
static int
run_timeout_cmd(procq_queue *q, void *arg)
{
	unsigned spare = CANCEL_SPARE_FUTURES | CANCEL_SPARE_SHIELDED;

	(void)arg;
	if (q->cfg.on_timeout == PROCQ_ON_TIMEOUT_COMPLETE)
		spare |= CANCEL_SPARE_MUST_COMPLETE;
	task_cancel_all(q, spare);
	return 0;
}

/*
 * Waits until the hooks and done callbacks recorded so far have run:
 * those of every task the caller has seen final.  The owner runs them
 * after the callback that made the tasks final has woken the caller, or,
 * with no owner, the thread that recorded them does; hooks that no owner
 * is left to run are run here, as queue_unlock() would.  Called with
 * q->lock held; PROCQ_ETIMEDOUT when the deadline (NULL: none) passes
 * first.
 */
static int
run_wait_hooks(procq_queue *q, const struct timespec *deadline)
{
	uint64_t mark = hook_mark(q);
	int rc = 0;

	while (!hook_ran_through(q, mark) && rc == 0) {
		if (!q->thread_running && hook_pending(q))
			hook_run(q);
		else
			loop_wait(q, deadline, &rc);
	}
	return hook_ran_through(q, mark) ? 0 : rc;
}

/*
 * Waits for the run to end, and for the hooks of its tasks (a hook may
 * submit more tasks, which the run waits for too); on the deadline,
 * cancels under the on_timeout policy and waits for that.  Called with
 * q->lock held, which it drops while the owner cancels.
 */
static int
run_wait(procq_queue *q, double timeout)
{
	struct timespec deadline;
	int rc = 0;

	if (timeout > 0)
		deadline = procq_clock_deadline(timeout);
	for (;;) {
		while (!run_over(q) && rc == 0)
			loop_wait(q, timeout > 0 ? &deadline : NULL, &rc);
		if (!run_over(q))
			break;
		run_wait_hooks(q, NULL);
		if (run_over(q))
			return 0;
	}
	pthread_mutex_unlock(&q->lock);
	command_call(q, run_timeout_cmd, NULL);
	pthread_mutex_lock(&q->lock);
	do {
		while (q->outstanding > 0)
			loop_wait(q, NULL, NULL);
		run_wait_hooks(q, NULL);
	} while (q->outstanding > 0);
	return PROCQ_ETIMEDOUT;
}

/* A summary of this run's results, detached tasks left out. */
static procq_summary *
run_summary(procq_queue *q, double duration, size_t *failed)
{
	size_t n = q->nresults - q->run_cursor, k = 0;
	procq_result **picked;
	procq_summary *s;

	*failed = 0;
	if ((picked = malloc((n ? n : 1) * sizeof *picked)) == NULL)
		return NULL;
	for (size_t i = q->run_cursor; i < q->nresults; i++) {
		procq_result *r = q->results[i];

		if (r->detached)
			continue;
		picked[k++] = r;
		if (r->status == PROCQ_FAILED)
			(*failed)++;
	}
	s = summary_new(picked, k, duration);
	free(picked);
	return s;
}

static int
run_opts_check(const procq_run_opts *o)
{
	if (!isfinite(o->timeout) || o->timeout < 0 ||
	    (unsigned)o->fail_policy > PROCQ_FAIL_FIRST)
		return PROCQ_EINVAL;
	return 0;
}

/* A run is in flight from here: fail-first reads its policy. */
static int
run_begin_cmd(procq_queue *q, void *arg)
{
	q->runs_active++;
	q->run_policy = *(const procq_fail_policy *)arg;
	return 0;
}

struct run_end {
	procq_summary	*summary;
	size_t		 failed;
	bool		 collect;	/* false: the run never started */
	bool		 timed_out;	/* its timeout expired */
};

/* The run's summary, and the next run starts from here. */
static int
run_end_cmd(procq_queue *q, void *arg)
{
	struct run_end *e = arg;
	double now = procq_clock_now();

	if (e->collect) {
		e->summary = run_summary(q, now - q->run_started, &e->failed);
		if (e->summary != NULL && e->timed_out)
			summary_set_run_timed_out(e->summary);
		q->run_cursor = q->nresults;
		q->run_started = now;
	}
	if (--q->runs_active == 0)
		q->run_policy = PROCQ_FAIL_DEFAULT;
	return 0;
}

int
procq_run(procq_queue *q, const procq_run_opts *opts,
    procq_summary **summary)
{
	static const procq_run_opts defaults;
	struct run_end end = { .collect = true };
	int rc = 0, store_rc;

	if (summary != NULL)
		*summary = NULL;
	if (opts == NULL)
		opts = &defaults;
	if (q == NULL || run_opts_check(opts) != 0)
		return PROCQ_EINVAL;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	if (loop_on_thread(q))
		return PROCQ_EDEADLK;
	command_call(q, run_begin_cmd, (void *)&opts->fail_policy);
	/* Starting may wait for the first workers. */
	pthread_mutex_lock(&q->lock);
	if (q->state == QUEUE_NEW && (rc = queue_start_locked(q)) != 0)
		end.collect = false;
	else
		rc = run_wait(q, opts->timeout > 0 ? opts->timeout :
		    q->cfg.timeout);
	end.timed_out = rc == PROCQ_ETIMEDOUT;
	pthread_mutex_unlock(&q->lock);
	command_call(q, run_end_cmd, &end);
	if (!end.collect)
		return rc;
	/* What the run reports as finished is in the store when it
	 * returns. */
	if ((store_rc = checkpoint_sync(q)) != 0 && rc == 0)
		rc = store_rc;
	if (end.summary == NULL)
		rc = PROCQ_ENOMEM;
	else if (rc == 0 && opts->strict && end.failed > 0)
		rc = PROCQ_ETASK;
	if (summary != NULL)
		*summary = end.summary;
	else
		procq_summary_free(end.summary);
	return rc;
}

int
procq_join(procq_queue *q, double timeout)
{
	struct timespec deadline;
	const struct timespec *until = NULL;
	int rc = 0;

	if (q == NULL || isnan(timeout))
		return PROCQ_EINVAL;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	if (loop_on_thread(q))
		return PROCQ_EDEADLK;
	if (timeout >= 0) {
		deadline = procq_clock_deadline(timeout);
		until = &deadline;
	}
	pthread_mutex_lock(&q->lock);
	if (q->state == QUEUE_NEW && q->outstanding > 0 &&
	    (rc = queue_start_locked(q)) != 0) {
		pthread_mutex_unlock(&q->lock);
		return rc;
	}
	/* Done when nothing is outstanding once the hooks of the tasks
	 * seen final have run: they may have submitted more. */
	for (;;) {
		while (q->outstanding > 0 && rc == 0)
			loop_wait(q, until, &rc);
		if (q->outstanding > 0)
			break;
		rc = run_wait_hooks(q, until);
		if (rc != 0 || q->outstanding == 0)
			break;
	}
	rc = q->outstanding == 0 && rc == 0 ? 0 : PROCQ_ETIMEDOUT;
	pthread_mutex_unlock(&q->lock);
	if (rc == 0)
		rc = checkpoint_sync(q);
	return rc;
}

/* No more submissions; threads waiting for room hear of it. */
static int
run_close_cmd(procq_queue *q, void *arg)
{
	(void)arg;
	command_close(q);
	pthread_cond_broadcast(&q->cond);
	return 0;
}

/* And every unfinished task is cancelled: a forced shutdown. */
static int
run_cancel_cmd(procq_queue *q, void *arg)
{
	run_close_cmd(q, arg);
	task_cancel_all(q, 0);
	return 0;
}

/* procq_cancel(): the same, but shielded groups are spared. */
static int
run_cancel_unshielded_cmd(procq_queue *q, void *arg)
{
	run_close_cmd(q, arg);
	task_cancel_all(q, CANCEL_SPARE_SHIELDED);
	return 0;
}

/* Shutdown on the thread of the caller's event loop: nothing can be
 * waited for there, so only a shutdown with nothing left to wait for (or a
 * forced one) is possible. */
static int
run_shutdown_here(procq_queue *q, int flags)
{
	pthread_mutex_lock(&q->lock);
	if (!(flags & PROCQ_SHUTDOWN_FORCE) && q->outstanding > 0) {
		pthread_mutex_unlock(&q->lock);
		return PROCQ_EDEADLK;
	}
	command_close(q);
	if (q->state == QUEUE_STARTED)
		loop_stop(q);
	else if (q->state == QUEUE_NEW)
		q->state = QUEUE_STOPPED;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

int
procq_shutdown(procq_queue *q, int flags)
{
	if (q == NULL || (flags & ~PROCQ_SHUTDOWN_FORCE) != 0)
		return PROCQ_EINVAL;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	if (loop_external_here(q))
		return run_shutdown_here(q, flags);
	if (loop_on_thread(q))
		return PROCQ_EDEADLK;
	command_call(q, (flags & PROCQ_SHUTDOWN_FORCE) ? run_cancel_cmd :
	    run_close_cmd, NULL);
	pthread_mutex_lock(&q->lock);
	/* Queued work must drain; if no worker can be had, it is cancelled
	 * rather than waited for forever. */
	if (q->state == QUEUE_NEW && q->outstanding > 0 &&
	    queue_start_locked(q) != 0)
		task_cancel_all(q, 0);
	if (q->state == QUEUE_NEW)
		q->state = QUEUE_STOPPED;
	while (q->outstanding > 0)
		loop_wait(q, NULL, NULL);
	if (q->state == QUEUE_STARTED)
		loop_stop(q);
	while (q->state != QUEUE_STOPPED)
		loop_wait(q, NULL, NULL);
	queue_unlock(q);
	return 0;
}

/* Force-stops the queue without waiting: safe from any thread and from
 * inside a hook. */
int
procq_cancel(procq_queue *q)
{
	if (q == NULL)
		return PROCQ_EINVAL;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	return command_call(q, run_cancel_unshielded_cmd, NULL);
}

/* Unfinished futures are cancelled, so their waiters and callbacks hear
 * of it before the handles go. */
static void
cancel_futures(procq_queue *q)
{
	procq_handle *t;

	TAILQ_FOREACH(t, &q->tasks, all_link) {
		if (t->future && t->state != TASK_DONE)
			task_cancel(t);
	}
}

/* Groups and iterators hold handles that reset would free. */
static int
reset_begin_cmd(procq_queue *q, void *arg)
{
	(void)arg;
	if (q->outstanding > 0 || q->runs_active > 0 || q->watchers > 0)
		return PROCQ_EBUSY;
	cancel_futures(q);
	return 0;
}

static int
reset_end_cmd(procq_queue *q, void *arg)
{
	(void)arg;
	if (hook_pending(q))
		hook_run(q);	/* no loop: they run here */
	queue_free_tasks(q);
	queue_clear_results(q);
	q->ncompletions = 0;	/* they pointed at the freed handles */
	q->run_started = procq_clock_now();
	return 0;
}

int
procq_reset(procq_queue *q)
{
	int rc = 0;

	if (q == NULL)
		return PROCQ_EINVAL;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	if (loop_on_thread(q))
		return PROCQ_EDEADLK;
	if ((rc = command_call(q, reset_begin_cmd, NULL)) != 0)
		return rc;
	/* Recorded hooks point at the handles about to go. */
	pthread_mutex_lock(&q->lock);
	while (q->thread_running && (hook_pending(q) ||
	    q->hooks_running > 0 || q->tombstones > 0))
		loop_wait(q, NULL, NULL);
	pthread_mutex_unlock(&q->lock);
	return command_call(q, reset_end_cmd, NULL);
}

static int
clear_results_cmd(procq_queue *q, void *arg)
{
	(void)arg;
	queue_clear_results(q);
	return 0;
}

int
procq_clear_results(procq_queue *q)
{
	if (q == NULL)
		return PROCQ_EINVAL;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	return command_call(q, clear_results_cmd, NULL);
}

procq_summary *
procq_results(procq_queue *q)
{
	procq_summary *s;

	if (q == NULL || queue_forked(q))
		return NULL;
	pthread_mutex_lock(&q->lock);
	s = summary_new(q->results, q->nresults,
	    procq_clock_now() - q->run_started);
	pthread_mutex_unlock(&q->lock);
	return s;
}

bool
procq_closed(procq_queue *q)
{
	bool closed;

	if (q == NULL || queue_forked(q))
		return true;
	pthread_mutex_lock(&q->lock);
	closed = q->closed;
	pthread_mutex_unlock(&q->lock);
	return closed;
}

/* On the owner, so that the tasks its caller submitted are counted. */
static int
stats_cmd(procq_queue *q, void *arg)
{
	procq_stats *st = arg;

	st->pending = q->nready;
	st->scheduled = q->ndelayed + q->backlogged;
	st->active = dispatch_active(q);
	st->completed = q->nresults;
	st->workers = dispatch_workers(q);
	st->closed = q->closed;
	return 0;
}

int
procq_stats_get(procq_queue *q, procq_stats *st)
{
	if (q == NULL || st == NULL)
		return PROCQ_EINVAL;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	return command_call(q, stats_cmd, st);
}

size_t
procq_active(procq_queue *q)
{
	procq_stats st;

	return procq_stats_get(q, &st) == 0 ? st.active : 0;
}

size_t
procq_pending(procq_queue *q)
{
	procq_stats st;

	return procq_stats_get(q, &st) == 0 ? st.pending + st.scheduled : 0;
}
