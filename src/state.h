/*
 * A task's state: where an unfinished task is, or that it is final.  Every
 * change of state goes through task_move(), which knows the legal moves
 * (state.c) and traces them under PROCQ_DEBUG (trace.c).
 */
#ifndef PROCQ_STATE_H
#define PROCQ_STATE_H

#include "procq.h"

enum task_state {
	TASK_LOOSE = 0,		/* in no place: being submitted, or between
				 * two places within one engine step */
	TASK_READY,		/* in q->ready */
	TASK_DELAYED,		/* in q->delayed: a retry delay or a start
				 * time runs */
	TASK_BACKLOG,		/* in its gate's backlog: its group is full */
	TASK_FUTURE,		/* a future, waiting to be completed */
	TASK_SENT,		/* in a worker's list behind the running task */
	TASK_RUNNING,		/* its worker's head: an attempt runs */
	TASK_DONE,		/* final: t->result is set */
	TASK_NSTATES
};

const char *task_state_name(enum task_state s);
void task_move(procq_handle *t, enum task_state to);
procq_status task_status(const procq_handle *t);

#endif
