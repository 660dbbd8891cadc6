/*
 * The one door of a task's state.  Each module still does its own
 * bookkeeping (a heap push, a worker's list, a gate's backlog) and then
 * says where the task now is through task_move(); nothing else assigns
 * t->state.
 *
 * The moves form a star around TASK_LOOSE: a task leaves its place
 * (task_unplace()) before it is put in another one or finished.  The only
 * direct move is TASK_SENT -> TASK_RUNNING, when a worker starts a task
 * it was sent ahead.  TASK_DONE is never left.  A build configured with
 * --enable-checks aborts on any other move, naming it.
 *
 * The public status is read off the state, and published beside it for
 * threads that read it without the lock (task_published()).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "queue.h"
#include "state.h"
#include "trace.h"
#include "result.h"

#define TO(s)	(1u << (s))

static const unsigned task_moves[TASK_NSTATES] = {
	[TASK_LOOSE] = TO(TASK_READY) | TO(TASK_DELAYED) | TO(TASK_BACKLOG) |
	    TO(TASK_FUTURE) | TO(TASK_SENT) | TO(TASK_DONE),
	[TASK_READY] = TO(TASK_LOOSE),
	[TASK_DELAYED] = TO(TASK_LOOSE),
	[TASK_BACKLOG] = TO(TASK_LOOSE),
	[TASK_FUTURE] = TO(TASK_LOOSE),
	[TASK_SENT] = TO(TASK_RUNNING) | TO(TASK_LOOSE),
	[TASK_RUNNING] = TO(TASK_LOOSE),
	[TASK_DONE] = 0
};

static const char *const task_state_names[TASK_NSTATES] = {
	[TASK_LOOSE] = "loose",
	[TASK_READY] = "ready",
	[TASK_DELAYED] = "delayed",
	[TASK_BACKLOG] = "backlog",
	[TASK_FUTURE] = "future",
	[TASK_SENT] = "sent",
	[TASK_RUNNING] = "running",
	[TASK_DONE] = "done"
};

const char *
task_state_name(enum task_state s)
{
	return (unsigned)s < TASK_NSTATES ? task_state_names[s] : "invalid";
}

#ifdef PROCQ_CHECKS
static void
task_move_illegal(const procq_handle *t, enum task_state to)
{
	fprintf(stderr, "procq: illegal task move %s -> %s (task %s)\n",
	    task_state_name(t->state), task_state_name(to), t->id);
	abort();
}
#endif

/* Moving to the state the task is in is no move: allowed, not traced. */
void
task_move(procq_handle *t, enum task_state to)
{
	procq_status status;

	if (t->state == to)
		return;
#ifdef PROCQ_CHECKS
	if ((unsigned)to >= TASK_NSTATES ||
	    (task_moves[t->state] & TO(to)) == 0)
		task_move_illegal(t, to);
#else
	(void)task_moves;
#endif
	if (t->q->trace)
		trace_task(t, to);
	t->state = to;
	status = task_status(t);
	/* A final status is stored sequentially consistent: a thread that
	 * counts itself a waiter and then reads the status either sees it
	 * final or is woken (loop_task_final()).  The others need only be
	 * seen in order; a full fence each would be most of a move's cost. */
	if (task_status_final(status))
		atomic_store(&t->status, (unsigned char)status);
	else
		atomic_store_explicit(&t->status, (unsigned char)status,
		    memory_order_release);
}

procq_status
task_status(const procq_handle *t)
{
	switch (t->state) {
	case TASK_RUNNING:
		return PROCQ_RUNNING;
	case TASK_DONE:
		/* Without a result only when even the failure to record one
		 * could not be recorded. */
		return t->result != NULL ? t->result->status : PROCQ_FAILED;
	default:
		return t->attempts > 0 ? PROCQ_RETRYING : PROCQ_PENDING;
	}
}
