/*
 * The scheduler: which slot gets which task, how many tasks a slot may
 * hold, taking back tasks that wait behind a long one, and what each
 * event a transport reports means for its task (retried, finished, given
 * back).  How a task reaches a slot, and how its news comes back, is the
 * transport's business (transport.h).  Everything here runs on the loop
 * thread with q->lock held.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "loop.h"
#include "queue.h"
#include "transport.h"
#include "clock.h"

static void
dispatch_disarm(struct slot *s)
{
	if (s->timing) {
		evtimer_del(s->timeout_ev);
		s->timing = false;
	}
}

/* The bookkeeping of a head that starts, without the loop's events. */
static void
dispatch_head_begin(struct slot *s, procq_handle *t)
{
	task_move(t, TASK_RUNNING);
	t->attempts++;
	t->host = s->host;
	t->rank = (short)s->rank;
	s->head_since = queue_now(s->q);
	if (t->started == 0)
		t->started = s->head_since;
}

/* The head of a slot's in-flight list is the task it is running. */
void
dispatch_started(struct slot *s, procq_handle *t)
{
	struct timeval tv;

	s->stalled = false;
	dispatch_disarm(s);
	if (t->tombstone)
		return;	/* a tombstone at the head is dealt with by a kill */
	dispatch_head_begin(s, t);
	if (s->ready)
		hook_start(t);	/* else once the worker is initialised */
	if (t->timeout > 0) {
		tv = procq_clock_timeval(t->timeout);
		if (evtimer_add(s->timeout_ev, &tv) == 0)
			s->timing = true;
	}
}

/* The head left; the transport says when the next one starts. */
static void
dispatch_head_left(struct slot *s)
{
	s->stalled = false;
	dispatch_disarm(s);
}

void
dispatch_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slot *s = arg;
	procq_queue *q = s->q;
	procq_handle *head;
	char msg[96];

	loop_enter(q);
	s->timing = false;
	head = slot_head(s);
	if (head != NULL && s->state == SLOT_LIVE) {
		snprintf(msg, sizeof msg, "attempt timed out after %g s",
		    head->timeout);
		q->transport->kill(s, PROCQ_ERR_TIMEOUT, head, msg);
	}
	loop_leave(q);
}

/*
 * How many tasks a slot may hold: the configured prefetch, or by default
 * as many as it runs in about DISPATCH_WINDOW_SPAN seconds (at least one,
 * at most DISPATCH_WINDOW_MAX).  Short tasks then travel in batches,
 * while a long one never leaves others waiting behind it for longer than
 * the span when another worker could run them.
 */
#define DISPATCH_WINDOW_SPAN	1e-3
#define DISPATCH_WINDOW_MAX	512

static int
dispatch_window(const procq_queue *q)
{
	double n;

	if (q->cfg.prefetch > 0)
		return q->cfg.prefetch;
	if (q->task_time <= 0)
		return 1;
	n = 1 + DISPATCH_WINDOW_SPAN / q->task_time;
	return n < DISPATCH_WINDOW_MAX ? (int)n : DISPATCH_WINDOW_MAX;
}

/*
 * A head that has run this long (a few windows' span) holds up the tasks
 * sent ahead of it: they are taken back when another worker could run
 * them (dispatch_check_stalls).  Only with the adaptive window: a fixed
 * prefetch is the caller's choice.
 */
#define DISPATCH_STALL		(4 * DISPATCH_WINDOW_SPAN)

/* The time the head took, seen from here: a moving average of it sets
 * the window. */
static void
dispatch_time_head(struct slot *s)
{
	procq_queue *q = s->q;
	double d = queue_now(q) - s->head_since;

	if (d < 0)
		d = 0;
	q->task_time = q->task_time > 0 ? q->task_time + (d - q->task_time) / 8 :
	    d + 1e-9;
}

/*
 * The live slot with the fewest tasks in flight and room for more.  A
 * slot whose head has already run longer than the window's span gets no
 * more: the window was sized for tasks that take a fraction of it, and
 * what is sent behind a long task waits (for ever, on a worker that
 * cannot give tasks back: remote.h).
 */
static struct slot *
dispatch_pick(procq_queue *q)
{
	struct slot *best = NULL;
	int window = dispatch_window(q);
	double now = queue_now(q);

	for (int i = 0; i < q->nslots; i++) {
		struct slot *s = q->slots[i];

		if (!slot_takes_tasks(s) || s->stalled ||
		    s->ninflight >= window)
			continue;
		if (s->ninflight > 0 && q->cfg.prefetch == 0 &&
		    now - s->head_since > DISPATCH_WINDOW_SPAN)
			continue;
		if (q->cfg.max_tasks_per_worker > 0 &&
		    s->dispatched >= q->cfg.max_tasks_per_worker)
			continue;
		if (best == NULL || s->ninflight < best->ninflight)
			best = s;
	}
	return best;
}

static void
dispatch_link(struct slot *s, procq_handle *t)
{
	t->slot = s;
	task_move(t, TASK_SENT);
	t->cancel_sent = 0;
	TAILQ_INSERT_TAIL(&s->inflight, t, worker_link);
	s->ninflight++;
	s->dispatched++;
}

/* Tasks now wait behind a head: look again in a while whether the head
 * has stalled. */
static void
dispatch_watch_stalls(procq_queue *q)
{
	struct timeval tv;

	if (q->stall_armed || q->cfg.prefetch > 0 || q->stall_ev == NULL)
		return;
	tv = procq_clock_timeval(DISPATCH_STALL);
	if (evtimer_add(q->stall_ev, &tv) == 0)
		q->stall_armed = true;
}

/* A task sent ahead may be taken back if the one before it runs long:
 * only with the adaptive window. */
void
dispatch_assign(struct slot *s, procq_handle *t)
{
	procq_queue *q = s->q;
	bool ahead;

	dispatch_link(s, t);
	ahead = s->ninflight > 1;
	if (q->transport->send(s, t, ahead && q->cfg.prefetch == 0) != 0)
		return;	/* the transport killed the slot */
	if (ahead)
		dispatch_watch_stalls(q);
}

/* Gives a task back to the ready heap without charging it an attempt. */
static void
dispatch_requeue(procq_handle *t, bool started)
{
	if (started)
		t->attempts--;
	if (t->cancel_requested) {
		task_finish(t, PROCQ_CANCELLED, &task_cancelled, NULL, 0);
		return;
	}
	task_unplace(t);
	t->due = 0;
	task_requeue(t);
}

/* A slot, other than s, that could run more tasks now. */
static bool
dispatch_other_has_room(const procq_queue *q, const struct slot *s)
{
	int window = dispatch_window(q);
	int max = q->cfg.max_tasks_per_worker;

	for (int i = 0; i < q->nslots; i++) {
		const struct slot *o = q->slots[i];

		if (o != s && slot_takes_tasks(o) && o->ready && !o->stalled &&
		    o->ninflight < window && (max == 0 || o->dispatched < max))
			return true;
	}
	return false;
}

/* Takes back from a stalled slot the tasks it has not started: they go
 * back in line, in their turn. */
static void
dispatch_reclaim(struct slot *s)
{
	procq_handle *t, *next, *head = slot_head(s);

	for (t = TAILQ_NEXT(head, worker_link); t != NULL; t = next) {
		next = TAILQ_NEXT(t, worker_link);
		if (!t->tombstone && s->q->transport->reclaim(s, t))
			dispatch_requeue(t, false);
	}
}

/* Tasks wait behind s's head that the transport could take back. */
static bool
dispatch_has_waiting(const struct slot *s)
{
	const procq_handle *t, *head = slot_head(s);

	for (t = TAILQ_NEXT(head, worker_link); t != NULL;
	    t = TAILQ_NEXT(t, worker_link)) {
		if (!t->tombstone && t->claim >= 0)
			return true;
	}
	return false;
}

/*
 * Tasks sent ahead never wait long behind a long (or hung) task while
 * another worker could run them: a slot whose head has run longer than
 * DISPATCH_STALL is given nothing more, and gives back what it has not
 * started, if its transport can take it back (a remote worker's cannot:
 * remote.h).  Looked at every DISPATCH_STALL while tasks wait behind
 * heads.
 */
static void
dispatch_check_stalls(procq_queue *q)
{
	double now = procq_clock_now();
	bool again = false;

	for (int i = 0; i < q->nslots; i++) {
		struct slot *s = q->slots[i];

		if (s->state != SLOT_LIVE || s->ninflight < 2)
			continue;
		if (now - s->head_since > DISPATCH_STALL)
			s->stalled = true;
		if (s->stalled && dispatch_has_waiting(s) &&
		    dispatch_other_has_room(q, s))
			dispatch_reclaim(s);
		else
			again = true;
	}
	if (again)
		dispatch_watch_stalls(q);
}

void
dispatch_stall_cb(evutil_socket_t fd, short what, void *arg)
{
	procq_queue *q = arg;

	loop_enter(q);
	q->stall_armed = false;
	if (q->state == QUEUE_STARTED)
		dispatch_check_stalls(q);
	loop_leave(q);
}

/* Hands ready tasks to slots, lowest priority value first, as fast as
 * the rate gate allows. */
void
dispatch_run(procq_queue *q)
{
	struct slot *s;
	procq_handle *t;
	struct timeval tv;
	double wait;

	if (q->state != QUEUE_STARTED)
		return;
	q->transport->fill(q);
	while (q->nready > 0 && (s = dispatch_pick(q)) != NULL) {
		if (q->rate.interval > 0 &&
		    !rate_take(&q->rate, procq_clock_now(), &wait)) {
			tv = procq_clock_timeval(wait);
			evtimer_add(q->rate_ev, &tv);
			break;
		}
		if ((t = task_ready_pop(q)) != NULL)
			dispatch_assign(s, t);
	}
	if (q->external_base)
		dispatch_flush_all(q);	/* else once the lock is dropped */
}

/* Writes what is waiting for the workers.  On procq's own loop thread it
 * runs after the lock is released (loop_leave): only that thread adds to
 * or writes a worker's output. */
void
dispatch_flush_all(procq_queue *q)
{
	if (q->nslots > 0)
		q->transport->flush(q);
}

/*
 * Acts on cancels of in-flight tasks: a running one costs its worker (the
 * process group is killed); one sent ahead is dropped by the worker when
 * asked, which it acknowledges.
 */
void
dispatch_send_cancels(procq_queue *q)
{
	for (int i = 0; i < q->nslots; i++) {
		struct slot *s = q->slots[i];
		procq_handle *head = slot_head(s);

		if (s->state != SLOT_LIVE || head == NULL)
			continue;
		/* A cancelled task at the head is running, or about to: only
		 * a kill stops it.  Its worker is killed only now, after the
		 * whole read batch, where an acknowledgement would have been. */
		if (head->cancel_requested || head->tombstone) {
			q->transport->kill(s, PROCQ_ERR_CANCELLED, head,
			    "cancelled");
			continue;
		}
		if (q->tombstones > 0)
			q->transport->cancel(s);
	}
}

/* The transport's reports (transport.h). */

void
dispatch_ready(struct slot *s)
{
	procq_handle *head = slot_head(s);

	if (head != NULL && !head->tombstone)
		hook_start(head);
}

void
dispatch_result(struct slot *s, procq_handle *t, const procq_error *err,
    const char *value, size_t value_len)
{
	dispatch_time_head(s);
	if (t->tombstone)
		task_unlink(t);	/* it ran before the cancel reached it */
	else if (err != NULL)
		task_attempt_failed(t, err);
	else
		task_finish(t, PROCQ_SUCCEEDED, NULL, value, value_len);
	dispatch_head_left(s);
}

/* The handle keeps the latest report. */
void
dispatch_progress(struct slot *s, procq_handle *t, const char *value,
    size_t value_len)
{
	char *copy;

	(void)s;
	if (t->tombstone || task_extra(t) == NULL ||
	    (copy = malloc(value_len)) == NULL)
		return;
	memcpy(copy, value, value_len);
	free(t->extra->progress);
	t->extra->progress = copy;
	t->extra->progress_len = value_len;
	hook_progress(t, value, value_len);
}

void
dispatch_cancelled(struct slot *s, procq_handle *t)
{
	bool head = slot_head(s) == t;

	task_unlink(t);
	if (head)
		dispatch_head_left(s);
}

/* Settles the tasks of a slot whose worker is gone: the running one
 * failed for the reason given, or is a bystander and goes back; those
 * sent ahead go back without an attempt charged. */
void
dispatch_died(struct slot *s, const procq_error *why, bool charged)
{
	procq_handle *t;

	dispatch_head_left(s);
	if ((t = slot_head(s)) != NULL && !t->tombstone) {
		if (charged)
			task_attempt_failed(t, why);
		else
			dispatch_requeue(t, t->state == TASK_RUNNING);
	}
	while ((t = slot_head(s)) != NULL) {
		if (t->tombstone)
			task_unlink(t);
		else
			dispatch_requeue(t, false);
	}
	s->dispatched = 0;	/* the next worker in the slot starts afresh */
}

void
dispatch_unstartable(procq_queue *q, const procq_error *why)
{
	procq_handle *t = task_ready_pop(q);

	if (t != NULL) {
		t->attempts++;
		task_attempt_failed(t, why);
	}
}
