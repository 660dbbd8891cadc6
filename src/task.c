/*
 * Tasks and their life: where an unfinished task waits (ready heap, delayed
 * heap, or a worker), how an attempt's failure turns into a retry or a
 * final result, and the one place where a task is finished.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "transport.h"
#include "queue.h"
#include "result.h"
#include "task.h"
#include "clock.h"
#include "group.h"

/* Is this heap entry still where its task waits?  The entries of tasks
 * that left stay behind until they surface (heap.h). */
static bool
task_entry_ready(const struct heap_entry *e)
{
	const procq_handle *t = e->elem;

	return t->state == TASK_READY && t->seq == e->seq;
}

static bool
task_entry_delayed(const struct heap_entry *e)
{
	const procq_handle *t = e->elem;

	return t->state == TASK_DELAYED && t->seq == e->seq;
}

/* The next ready task, lowest priority value first, FIFO within one;
 * taken out of the heap.  NULL when none is ready. */
procq_handle *
task_ready_pop(procq_queue *q)
{
	const struct heap_entry *e;

	while ((e = heap_top(&q->ready)) != NULL) {
		procq_handle *t = e->elem;
		bool live = task_entry_ready(e);

		heap_pop(&q->ready);
		if (live) {
			task_move(t, TASK_LOOSE);
			q->nready--;
		}
		task_unhold(t);
		if (live)
			return t;
	}
	return NULL;
}

/* The delayed task due first, left in its heap; NULL when none waits. */
procq_handle *
task_delayed_top(procq_queue *q)
{
	const struct heap_entry *e;

	while ((e = heap_top(&q->delayed)) != NULL) {
		procq_handle *t = e->elem;

		if (task_entry_delayed(e))
			return t;
		heap_pop(&q->delayed);
		task_unhold(t);
	}
	return NULL;
}

/* What heap_filter() keeps; a dropped entry no longer holds its task. */
static bool
task_keep_ready(const struct heap_entry *e)
{
	if (task_entry_ready(e))
		return true;
	task_unhold(e->elem);
	return false;
}

static bool
task_keep_delayed(const struct heap_entry *e)
{
	if (task_entry_delayed(e))
		return true;
	task_unhold(e->elem);
	return false;
}

/* Left-behind entries are dropped once they outnumber the live ones: a
 * mass cancel must not keep a million dead entries. */
static void
task_heaps_compact(procq_queue *q)
{
	if (q->ready.len > 1024 && q->ready.len > 2 * q->nready)
		heap_filter(&q->ready, task_keep_ready);
	if (q->delayed.len > 1024 && q->delayed.len > 2 * q->ndelayed)
		heap_filter(&q->delayed, task_keep_delayed);
}

/* Nothing points at the task any more: see struct procq_handle. */
static bool
task_unused(const procq_handle *t)
{
	return t->released && t->state == TASK_DONE && t->slot == NULL &&
	    t->holds == 0;
}

/*
 * Something keeps a pointer to the task beyond the call at hand: a heap
 * entry, a pending hook, a waiter.  The count is small to keep handles
 * small; one that would overflow sticks, and the task stays until the
 * queue goes.  q->lock held.
 */
void
task_hold(procq_handle *t)
{
	if (t->holds < UINT16_MAX)
		t->holds++;
}

void
task_unhold(procq_handle *t)
{
	if (t->holds == UINT16_MAX)
		return;
	t->holds--;
	task_collect(t);
}

/*
 * Lists a task nobody needs any more for queue_reap() to free.  It is not
 * freed here: whoever let go of it last (a heap pop, task_finish(), an
 * unlink) may still be looking at it.  q->lock held.
 */
void
task_collect(procq_handle *t)
{
	if (t->dead || !task_unused(t))
		return;
	t->dead = 1;
	TAILQ_INSERT_TAIL(&t->q->dead, t, worker_link);
}

/* A task's id: 16 lower-case hex digits, without printf's machinery (a
 * submit is short enough for it to show). */
void
task_format_id(procq_handle *t)
{
	static const char digits[] = "0123456789abcdef";
	uint64_t v = t->q->id_base + t->wire_id;

	for (int i = 15; i >= 0; i--, v >>= 4)
		t->id[i] = digits[v & 0xf];
	t->id[16] = '\0';
}

procq_handle *
task_new(procq_queue *q, const struct registry_entry *entry,
    const void *args, size_t args_len, const procq_opts *opts)
{
	procq_handle *t;

	if (args_len > UINT32_MAX ||
	    (t = calloc(1, sizeof *t + args_len)) == NULL)
		return NULL;
	t->q = q;
	t->entry = entry;
	t->name = entry != NULL ? entry->name : "future";
	if (opts->name != NULL) {
		t->name = strdup(opts->name);
		t->name_owned = 1;
	}
	t->group = opts->group != NULL ? strdup(opts->group) : NULL;
	if (opts->metadata_len > 0 && task_extra(t) != NULL &&
	    (t->extra->metadata = malloc(opts->metadata_len)) != NULL) {
		memcpy(t->extra->metadata, opts->metadata, opts->metadata_len);
		t->extra->metadata_len = opts->metadata_len;
	}
	if (t->name == NULL || (opts->group != NULL && t->group == NULL) ||
	    (opts->metadata_len > 0 &&
		(t->extra == NULL || t->extra->metadata_len == 0))) {
		task_free(t);
		return NULL;
	}
	if (args_len > 0)
		memcpy(t->args, args, args_len);
	t->args_len = (uint32_t)args_len;
	t->priority = opts->priority;
	t->retries = opts->retries;
	t->retry_delay = opts->retry_delay;
	t->backoff = opts->backoff > 0 ? opts->backoff : 1.0;
	t->timeout = opts->timeout;
	t->must_complete = opts->must_complete;
	t->detached = opts->detached;
	t->claim = -1;
	t->created = procq_clock_wall();
	if (opts->delay > 0)
		t->due = procq_clock_now() + opts->delay;
	else if (opts->run_at > 0)
		t->due = procq_clock_now() + (opts->run_at - t->created);
	return t;
}

void
task_free(procq_handle *t)
{
	struct done_cb *cb;
	struct waiter_link *l;

	if (t == NULL)
		return;
	result_unref(t->result);
	while ((cb = t->callbacks) != NULL) {
		t->callbacks = cb->next;
		free(cb);
	}
	while ((l = t->waiters) != NULL) {
		t->waiters = l->next;
		free(l);
	}
	checkpoint_task_free(t);
	if (t->extra != NULL) {
		group_memberships_free(t);
		free(t->extra->cancel_reason);
		free(t->extra->progress);
		free(t->extra->metadata);
		free(t->extra);
	}
	if (t->name_owned)
		free((char *)t->name);
	free(t->group);
	free(t);
}

/* The task's extra part, made if it has none; NULL out of memory. */
struct task_extra *
task_extra(procq_handle *t)
{
	if (t->extra == NULL)
		t->extra = calloc(1, sizeof *t->extra);
	return t->extra;
}

/* Puts an unfinished task into the ready heap (or the delayed heap while a
 * retry delay runs) and tells the loop.  The task keeps its FIFO sequence,
 * so prefetched tasks given back by a dead worker keep their turn.  Called
 * with q->lock held. */
int
task_enqueue(procq_handle *t)
{
	procq_queue *q = t->q;
	if (t->due > 0 && t->due > procq_clock_now()) {
		if (heap_push(&q->delayed, t->due, t->seq, t) != 0)
			return PROCQ_ENOMEM;
		task_hold(t);
		task_move(t, TASK_DELAYED);
		q->ndelayed++;
		return 0;
	}
	if (heap_push(&q->ready, t->priority, t->seq, t) != 0)
		return PROCQ_ENOMEM;
	task_hold(t);
	task_move(t, TASK_READY);
	q->nready++;
	return 0;
}

const procq_error task_cancelled = {
	.kind = PROCQ_ERR_CANCELLED, .type = "Cancelled",
	.message = "cancelled", .exit_status = -1, .signal = -1
};

/* Puts a task that left its place back in line; a task that cannot be
 * queued for want of memory is finished, never lost. */
void
task_requeue(procq_handle *t)
{
	static const procq_error nomem = {
		.kind = PROCQ_ERR_TASK, .type = "MemoryError",
		.message = "out of memory queueing a task",
		.exit_status = -1, .signal = -1
	};

	if (task_enqueue(t) != 0)
		task_finish(t, PROCQ_FAILED, &nomem, NULL, 0);
}

/* Takes a task out of the heap or worker it waits in.  A tombstone stays
 * in its worker's list until the worker says what became of it. */
void
task_unplace(procq_handle *t)
{
	switch (t->state) {
	case TASK_READY:
		t->q->nready--;
		break;
	case TASK_DELAYED:
		t->q->ndelayed--;
		break;
	case TASK_SENT:
	case TASK_RUNNING:
		if (!t->tombstone)
			task_unlink(t);
		break;
	case TASK_BACKLOG:
		gate_leave_backlog(t);
		break;
	default:
		break;
	}
	task_move(t, TASK_LOOSE);
	task_heaps_compact(t->q);
}

/* Drops a task (or tombstone) from its slot's in-flight list.  What the
 * transport kept for it there (a claim) it let go of before reporting. */
void
task_unlink(procq_handle *t)
{
	if (t->slot == NULL)
		return;
	TAILQ_REMOVE(&t->slot->inflight, t, worker_link);
	t->slot->ninflight--;
	t->slot = NULL;
	if (t->tombstone) {
		t->tombstone = 0;
		t->q->tombstones--;
		pthread_cond_broadcast(&t->q->cond);
	}
	task_collect(t);
}

static int
queue_grow_results(procq_queue *q)
{
	procq_result **results;
	size_t cap;

	if (q->nresults < q->results_cap)
		return 0;
	cap = q->results_cap ? q->results_cap * 2 : 256;
	if ((results = realloc(q->results, cap * sizeof *results)) == NULL)
		return -1;
	q->results = results;
	q->results_cap = cap;
	return 0;
}

/*
 * The one place a task is finished: it leaves wherever it was, gets its
 * result, and waiters are woken.  Called with q->lock held.
 */
void
task_finish(procq_handle *t, procq_status status,
    const procq_error *err, const char *value, size_t value_len)
{
	procq_queue *q = t->q;
	double duration = t->started > 0 ? queue_now(q) - t->started : 0;
	static const procq_error nomem = {
		.kind = PROCQ_ERR_TASK, .type = "MemoryError",
		.message = "out of memory recording the result",
		.exit_status = -1, .signal = -1
	};
	procq_error because;

	if (t->state == TASK_DONE)
		return;
	if (status == PROCQ_CANCELLED && t->extra != NULL &&
	    t->extra->cancel_reason != NULL) {
		/* Its group cancelled it: the result says why. */
		because = err != NULL ? *err : task_cancelled;
		because.message = t->extra->cancel_reason;
		err = &because;
	}
	task_unplace(t);
	t->result = result_new(t, status, err, value, value_len, duration);
	if (t->result == NULL)
		t->result = result_new(t, PROCQ_FAILED, &nomem, NULL, 0,
		    duration);
	/* Recorded before the move publishes the result to other threads,
	 * which may take references of their own from then on. */
	if (!t->future && t->result != NULL && queue_grow_results(q) == 0)
		q->results[q->nresults++] = result_ref_fresh(t->result);
	task_move(t, TASK_DONE);
	if (!t->future)
		q->outstanding--;
	for (int i = 0; i < q->nfinal_listeners; i++)
		q->final_listeners[i](t);
	/* Released before it ended: its hooks hold it until they ran. */
	task_collect(t);
}

/*
 * Modules above this one hear that a task became final through the
 * listeners they register here, called in the order registered, with
 * q->lock held, once per task.  The task has its result and has left
 * every place; a listener may finish or cancel other tasks.
 */
void
task_listen(procq_queue *q, void (*fn)(procq_handle *t))
{
	/* A listener dropped would break the engine quietly: the table is
	 * filled once, in procq_create(), and sized for it. */
	if (q->nfinal_listeners == TASK_LISTENERS_MAX)
		abort();
	q->final_listeners[q->nfinal_listeners++] = fn;
}

/* An attempt failed: retry it under its policy, or finish it failed. */
void
task_attempt_failed(procq_handle *t, const procq_error *err)
{
	double delay;

	if (err->kind == PROCQ_ERR_CANCELLED || t->cancel_requested) {
		task_finish(t, PROCQ_CANCELLED,
		    err->kind == PROCQ_ERR_CANCELLED ? err : &task_cancelled,
		    NULL, 0);
		return;
	}
	if (t->attempts > t->retries) {
		task_finish(t, PROCQ_FAILED, err, NULL, 0);
		return;
	}
	task_unplace(t);
	hook_retry(t, err);
	delay = t->retry_delay * pow(t->backoff, t->attempts - 1);
	t->due = delay > 0 ? procq_clock_now() + delay : 0;
	t->seq = t->q->next_seq++;
	task_requeue(t);
}

/*
 * Cancels one unfinished task.  A queued one is finished at once, and so
 * is one prefetched by a worker but not started: it stays behind as a
 * tombstone until the worker drops it.  A running one is marked, and the
 * loop kills its worker.
 */
void
task_cancel(procq_handle *t)
{
	bool on_worker = t->state == TASK_SENT || t->state == TASK_RUNNING;

	if (on_worker && slot_head(t->slot) == t) {
		t->cancel_requested = 1;	/* loop_after() kills it */
		return;
	}
	if (on_worker) {
		t->tombstone = 1;
		t->q->tombstones++;
	}
	task_finish(t, PROCQ_CANCELLED, &task_cancelled, NULL, 0);
}

/* Every unfinished task is cancelled, but for those spared: the sweep
 * behind force shutdown, procq_cancel(), fail_first and run timeouts. */
void
task_cancel_all(procq_queue *q, unsigned spare)
{
	procq_handle *t;

	/* Cancelling finishes tasks but leaves them in q->tasks. */
	TAILQ_FOREACH(t, &q->tasks, all_link) {
		if (t->state == TASK_DONE)
			continue;
		if ((spare & CANCEL_SPARE_MUST_COMPLETE) && t->must_complete)
			continue;
		if ((spare & CANCEL_SPARE_FUTURES) && t->future)
			continue;
		if ((spare & CANCEL_SPARE_SHIELDED) && t->shielded)
			continue;
		task_cancel(t);
	}
}
