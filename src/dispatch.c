/*
 * Moving tasks between the ready heap and the workers: TASK and CANCEL
 * frames out, RESULT, CANCELLED and the rest back, and what each message
 * means to the engine (its bytes are protocol.c's, its frames the
 * channel's).  Everything here runs on the supervisor thread with q->lock
 * held.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "loop.h"
#include "pool.h"
#include "queue.h"
#include "protocol.h"
#include "trace.h"
#include "clock.h"

/* The frame encoded into q->sbuf from start goes on the worker's output;
 * encoded is what the encoder returned. */
static int
dispatch_frame_out(struct worker *w, size_t start, int encoded)
{
	procq_queue *q = w->q;
	int rc = -1;

	if (encoded == 0)
		rc = channel_queue(&w->ch, q->sbuf.data + start,
		    q->sbuf.size - start);
	q->sbuf.size = start;
	return rc;
}

/* Encodes t's TASK frame into q->sbuf. */
static int
dispatch_pack_task(procq_queue *q, const procq_handle *t)
{
	struct protocol_task pt = {
		.id = t->wire_id,
		.fn = t->entry->name,
		.fn_len = strlen(t->entry->name),
		.args = t->args,
		.args_len = t->args_len,
		.attempt = t->attempts + 1,
		.slot = t->slot
	};

	return protocol_encode_task(&q->sbuf, q->cfg.max_frame, &pt);
}

static int
dispatch_encode_task(struct worker *w, procq_handle *t)
{
	size_t start = w->q->sbuf.size;

	return dispatch_frame_out(w, start, dispatch_pack_task(w->q, t));
}

static int
dispatch_encode_cancel(struct worker *w, procq_handle *t)
{
	procq_queue *q = w->q;
	size_t start = q->sbuf.size;

	return dispatch_frame_out(w, start,
	    protocol_encode_cancel(&q->sbuf, q->cfg.max_frame, t->wire_id));
}

/* The bookkeeping of a head that starts, without the loop's events. */
static void
dispatch_head_begin(struct worker *w, procq_handle *t)
{
	task_move(t, TASK_RUNNING);
	t->attempts++;
	w->tail_len = 0;	/* its crash report starts here */
	w->err_dropped = 0;
	w->head_since = loop_now(w->q);
	if (t->started == 0)
		t->started = w->head_since;
}

/* The head of a worker's in-flight list is the task it is running. */
void
dispatch_head_started(struct worker *w)
{
	procq_handle *t = TAILQ_FIRST(&w->inflight);
	struct timeval tv;

	w->stalled = false;
	evtimer_del(w->timeout_ev);
	if (t == NULL || t->tombstone)
		return;	/* a tombstone at the head is dealt with by a kill */
	dispatch_head_begin(w, t);
	if (w->hello)
		hook_start(t);	/* else once the worker is initialised */
	if (t->timeout > 0) {
		tv = procq_clock_timeval(t->timeout);
		evtimer_add(w->timeout_ev, &tv);
	}
}

/* Only a caller's thread needs the guard against SIGPIPE (sigpipe.h). */
void
dispatch_flush(struct worker *w)
{
	if (w->ch.wfd < 0 || w->ch.out == NULL)
		return;
	if (channel_flush(&w->ch, w->q->external_base) > 0)
		event_add(w->write_ev, NULL);
	else
		event_del(w->write_ev);
}

void
dispatch_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->q->lock);
	dispatch_flush(w);
	pthread_mutex_unlock(&w->q->lock);
}

/*
 * How many tasks a worker may hold: the configured prefetch, or by
 * default as many as it runs in about DISPATCH_WINDOW_SPAN seconds (at
 * least one, at most DISPATCH_WINDOW_MAX).  Short tasks then travel in
 * batches, while a long one never leaves others waiting behind it for
 * longer than the span when another worker could run them.
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
dispatch_time_head(struct worker *w)
{
	procq_queue *q = w->q;
	double d = loop_now(q) - w->head_since;

	if (d < 0)
		d = 0;
	q->task_time = q->task_time > 0 ? q->task_time + (d - q->task_time) / 8 :
	    d + 1e-9;
}

/* The live worker with the fewest tasks in flight and room for more. */
static struct worker *
dispatch_pick(procq_queue *q)
{
	struct worker *best = NULL;
	int window = dispatch_window(q);

	for (int i = 0; i < q->nworkers; i++) {
		struct worker *w = &q->workers[i];

		if (w->state != WORKER_LIVE || w->spare || w->stalled ||
		    w->ninflight >= window)
			continue;
		if (q->cfg.max_tasks_per_worker > 0 &&
		    w->dispatched >= q->cfg.max_tasks_per_worker)
			continue;
		if (best == NULL || w->ninflight < best->ninflight)
			best = w;
	}
	return best;
}

static void
dispatch_link(struct worker *w, procq_handle *t)
{
	t->worker = w;
	task_move(t, TASK_SENT);
	t->cancel_sent = 0;
	/* A task sent ahead gets a slot on the board, so that it can be
	 * taken back if the one before it runs long. */
	t->slot = w->ninflight > 0 && w->q->cfg.prefetch == 0 ?
	    (short)board_take_slot(&w->board) : -1;
	TAILQ_INSERT_TAIL(&w->inflight, t, worker_link);
	w->ninflight++;
	w->dispatched++;
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

void
dispatch_assign(struct worker *w, procq_handle *t)
{
	dispatch_link(w, t);
	if (dispatch_encode_task(w, t) != 0) {
		pool_kill(w, PROCQ_ERR_SPAWN, NULL, "out of memory");
		return;
	}
	if (w->ninflight == 1)
		dispatch_head_started(w);
	else
		dispatch_watch_stalls(w->q);
}

/* A worker, other than w, that could run more tasks now. */
static bool
dispatch_other_has_room(const procq_queue *q, const struct worker *w)
{
	int window = dispatch_window(q);
	int max = q->cfg.max_tasks_per_worker;

	for (int i = 0; i < q->nworkers; i++) {
		const struct worker *o = &q->workers[i];

		if (o != w && o->state == WORKER_LIVE && !o->spare &&
		    o->hello && !o->stalled && o->ninflight < window &&
		    (max == 0 || o->dispatched < max))
			return true;
	}
	return false;
}

/* Takes back from a stalled worker the tasks it has not started: they
 * go back in line, in their turn, and the worker will skip them. */
static void
dispatch_reclaim(struct worker *w)
{
	procq_handle *t, *next, *head = TAILQ_FIRST(&w->inflight);

	for (t = TAILQ_NEXT(head, worker_link); t != NULL; t = next) {
		next = TAILQ_NEXT(t, worker_link);
		if (t->tombstone || t->slot < 0 ||
		    !board_reclaim(&w->board, t->slot))
			continue;
		t->slot = -1;	/* the slot waits for the worker's SKIPPED */
		pool_requeue(t, false);
	}
}

/* Tasks wait behind w's head that could be taken back. */
static bool
dispatch_has_waiting(const struct worker *w)
{
	const procq_handle *t, *head = TAILQ_FIRST(&w->inflight);

	for (t = TAILQ_NEXT(head, worker_link); t != NULL;
	    t = TAILQ_NEXT(t, worker_link)) {
		if (!t->tombstone && t->slot >= 0)
			return true;
	}
	return false;
}

/*
 * Tasks sent ahead never wait long behind a long (or hung) task while
 * another worker could run them: a worker whose head has run longer than
 * DISPATCH_STALL is given nothing more, and gives back what it has not
 * started.  Looked at every DISPATCH_STALL while tasks wait behind heads.
 */
static void
dispatch_check_stalls(procq_queue *q)
{
	double now = procq_clock_now();
	bool again = false;

	for (int i = 0; i < q->nworkers; i++) {
		struct worker *w = &q->workers[i];

		if (w->state != WORKER_LIVE || w->ninflight < 2 ||
		    !dispatch_has_waiting(w))
			continue;
		if (now - w->head_since > DISPATCH_STALL)
			w->stalled = true;
		if (w->stalled && dispatch_other_has_room(q, w))
			dispatch_reclaim(w);
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

/* Hands ready tasks to workers, lowest priority value first, as fast as
 * the rate gate allows. */
void
dispatch_run(procq_queue *q)
{
	struct worker *w;
	procq_handle *t;
	struct timeval tv;
	double wait;

	if (q->state != QUEUE_STARTED)
		return;
	pool_fill(q);
	while (q->nready > 0 && (w = dispatch_pick(q)) != NULL) {
		if (q->rate.interval > 0 &&
		    !rate_take(&q->rate, procq_clock_now(), &wait)) {
			tv = procq_clock_timeval(wait);
			evtimer_add(q->rate_ev, &tv);
			break;
		}
		if ((t = task_ready_pop(q)) != NULL)
			dispatch_assign(w, t);
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
	for (int i = 0; i < q->nworkers; i++) {
		if (q->workers[i].state == WORKER_LIVE)
			dispatch_flush(&q->workers[i]);
	}
}

/*
 * Acts on cancels of in-flight tasks: a running one costs its worker (the
 * process group is killed); a prefetched one is dropped by the worker on a
 * CANCEL frame, which it acknowledges.
 */
void
dispatch_send_cancels(procq_queue *q)
{
	for (int i = 0; i < q->nworkers; i++) {
		struct worker *w = &q->workers[i];
		procq_handle *t, *head = TAILQ_FIRST(&w->inflight);
		bool sent = false;

		if (w->state != WORKER_LIVE || head == NULL)
			continue;
		/* A cancelled task at the head is running, or about to: only
		 * a kill stops it.  Its worker is killed only now, after the
		 * whole read batch, where an acknowledgement would have been. */
		if (head->cancel_requested || head->tombstone) {
			pool_kill(w, PROCQ_ERR_CANCELLED, head, "cancelled");
			continue;
		}
		if (q->tombstones == 0)
			continue;	/* no CANCEL frame to send */
		TAILQ_FOREACH(t, &w->inflight, worker_link) {
			if (!t->tombstone || t->cancel_sent)
				continue;
			t->cancel_sent = 1;
			sent = dispatch_encode_cancel(w, t) == 0 || sent;
		}
		if (sent)
			dispatch_flush(w);
	}
}

static void
dispatch_protocol_error(struct worker *w, const char *message)
{
	pool_kill(w, PROCQ_ERR_PROTOCOL, TAILQ_FIRST(&w->inflight), message);
}

/* Removing the head starts the next one (as far as we can tell). */
static void
dispatch_head_done(struct worker *w, procq_handle *head)
{
	if (TAILQ_FIRST(&w->inflight) != head)
		dispatch_head_started(w);
}

static char *
dispatch_string(const char *p, size_t len)
{
	char *s;

	/* not strndup(): the bytes have no terminating NUL to look for */
	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	if (len > 0)	/* an empty string may have no bytes */
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/* f is NULL when the failure could not be decoded. */
static void
dispatch_result_error(struct worker *w, procq_handle *head,
    const struct protocol_failure *f)
{
	procq_error err = {
		.kind = PROCQ_ERR_TASK, .type = NULL,
		.message = NULL,
		.exit_status = -1, .signal = -1
	};
	char *type = NULL, *message = NULL;

	if (f == NULL ||
	    (type = dispatch_string(f->type, f->type_len)) == NULL ||
	    (message = dispatch_string(f->message, f->message_len)) == NULL) {
		free(type);
		dispatch_protocol_error(w, "malformed error result from worker");
		return;
	}
	err.type = type;
	err.message = message;
	task_attempt_failed(head, &err);
	free(type);
	free(message);
}

/*
 * A second result for the task this worker ended last: the task wrote one
 * itself, or a process it forked did.  That task has its result and keeps
 * it; the worker cannot be trusted (two processes may be reading its
 * tasks) and is killed, and the task now at its head, which did nothing
 * wrong, goes back in line without an attempt charged.
 */
static void
dispatch_duplicate(struct worker *w)
{
	char buf[128];

	snprintf(buf, sizeof buf, "worker sent a second result for task "
	    "%016" PRIx64, w->q->id_base + w->last_id);
	pool_kill(w, PROCQ_ERR_PROTOCOL, NULL, buf);
}

static void
dispatch_result(struct worker *w, const struct protocol_msg *msg)
{
	procq_handle *head = TAILQ_FIRST(&w->inflight);
	struct protocol_result r;
	int rc;

	if ((rc = protocol_decode_result(msg, &r)) == PROTOCOL_MALFORMED) {
		dispatch_protocol_error(w, "malformed result from worker");
		return;
	}
	if ((head == NULL || head->wire_id != r.id) && w->has_last &&
	    r.id == w->last_id) {
		dispatch_duplicate(w);
		return;
	}
	if (head == NULL || head->wire_id != r.id) {
		dispatch_protocol_error(w,
		    "result for a task the worker was not running");
		return;
	}
	w->has_last = true;
	w->last_id = r.id;
	dispatch_time_head(w);
	if (head->tombstone) {
		/* It ran before the cancel reached it; it stays cancelled. */
		task_unlink(head);
		dispatch_head_done(w, head);
		return;
	}
	if (!r.ok)
		dispatch_result_error(w, head, rc == 0 ? &r.error : NULL);
	else if (rc != 0) {
		dispatch_protocol_error(w, "malformed result value from worker");
		return;
	} else
		task_finish(head, PROCQ_SUCCEEDED, NULL, r.value, r.value_len);
	dispatch_head_done(w, head);
}

/* The worker dropped a prefetched task that was cancelled. */
static void
dispatch_cancelled(struct worker *w, const struct protocol_msg *msg)
{
	procq_handle *t, *head = TAILQ_FIRST(&w->inflight);
	uint64_t id;

	if (protocol_decode_cancelled(msg, &id) != 0) {
		dispatch_protocol_error(w, "malformed cancel acknowledgement");
		return;
	}
	TAILQ_FOREACH(t, &w->inflight, worker_link) {
		if (t->wire_id == id && t->tombstone && t->cancel_sent)
			break;
	}
	if (t == NULL) {
		dispatch_protocol_error(w,
		    "cancel acknowledgement for an unknown task");
		return;
	}
	task_unlink(t);
	dispatch_head_done(w, head);
}

/* The worker skipped a task taken back from it: its slot is free.  A
 * skip procq did not ask for would leave a task unrun: the worker is
 * broken. */
static void
dispatch_skipped(struct worker *w, const struct protocol_msg *msg)
{
	int slot;

	if (protocol_decode_skipped(msg, &slot) != 0 || slot >= BOARD_SLOTS ||
	    board_skipped(&w->board, slot) != 0)
		dispatch_protocol_error(w, "worker skipped a task it was "
		    "given");
}

/* The running task reports progress: the handle keeps the latest. */
static void
dispatch_progress(struct worker *w, const struct protocol_msg *msg)
{
	procq_handle *head = TAILQ_FIRST(&w->inflight);
	struct protocol_progress p;
	char *copy;

	if (protocol_decode_progress(msg, &p) != 0) {
		dispatch_protocol_error(w, "malformed progress report");
		return;
	}
	if (head == NULL || head->wire_id != p.id) {
		dispatch_protocol_error(w,
		    "progress for a task the worker was not running");
		return;
	}
	if (head->tombstone || (copy = malloc(p.value_len)) == NULL)
		return;
	memcpy(copy, p.value, p.value_len);
	free(head->progress);
	head->progress = copy;
	head->progress_len = p.value_len;
	hook_progress(head, p.value, p.value_len);
}

static void
dispatch_init_failed(struct worker *w, const struct protocol_msg *msg)
{
	struct protocol_failure f;
	char *type = NULL, *message = NULL;

	if (protocol_decode_init_failed(msg, &f) != 0 ||
	    (type = dispatch_string(f.type, f.type_len)) == NULL ||
	    (message = dispatch_string(f.message, f.message_len)) == NULL)
		dispatch_protocol_error(w, "malformed initializer failure");
	else
		pool_init_failed(w, type, message);
	free(type);
	free(message);
}

static void
dispatch_setup_failed(struct worker *w, const struct protocol_msg *msg)
{
	struct protocol_failure f;
	char *message = NULL;

	if (protocol_decode_setup_failed(msg, &f) != 0 ||
	    (message = dispatch_string(f.message, f.message_len)) == NULL)
		dispatch_protocol_error(w, "malformed setup failure");
	else
		pool_setup_failed(w, message);
	free(message);
}

static void
dispatch_hello(struct worker *w, const struct protocol_msg *msg)
{
	if (msg->type == PROTOCOL_INIT_FAILED) {
		dispatch_init_failed(w, msg);
		return;
	}
	if (msg->type == PROTOCOL_SETUP_FAILED) {
		dispatch_setup_failed(w, msg);
		return;
	}
	if (protocol_decode_hello(msg) != 0) {
		dispatch_protocol_error(w, "worker did not say hello");
		return;
	}
	w->hello = true;
	TRACE_WORKER(w, "said hello");
	w->q->spawn_backoff = 0;
	w->q->spawn_failures = 0;
	if (TAILQ_FIRST(&w->inflight) != NULL &&
	    !TAILQ_FIRST(&w->inflight)->tombstone)
		hook_start(TAILQ_FIRST(&w->inflight));
}

/* The worker says it is dying of its memory limit: its address space is
 * used up, or an allocation had just failed.  Only a worker that has one
 * may say so. */
static void
dispatch_limit(struct worker *w, const struct protocol_msg *msg)
{
	enum protocol_limit what;

	if (w->q->cfg.max_memory == 0) {
		dispatch_protocol_error(w,
		    "limit report from a worker without a memory limit");
		return;
	}
	if (protocol_decode_limit(msg, &what) != 0)
		dispatch_protocol_error(w, "malformed limit report");
	else if (what == PROTOCOL_LIMIT_MEMORY)
		w->memory = MEMORY_EXHAUSTED;
	else
		w->memory = MEMORY_ALLOC_FAILED;
}

static void
dispatch_message(struct worker *w, const struct protocol_msg *msg)
{
	char buf[64];

	if (!w->hello) {
		dispatch_hello(w, msg);
		return;
	}
	switch (msg->type) {
	case PROTOCOL_RESULT:
		dispatch_result(w, msg);
		break;
	case PROTOCOL_CANCELLED:
		dispatch_cancelled(w, msg);
		break;
	case PROTOCOL_LIMIT:
		dispatch_limit(w, msg);
		break;
	case PROTOCOL_PROGRESS:
		dispatch_progress(w, msg);
		break;
	case PROTOCOL_SKIPPED:
		dispatch_skipped(w, msg);
		break;
	default:
		snprintf(buf, sizeof buf, "unexpected message type %d",
		    msg->type);
		dispatch_protocol_error(w, buf);
		break;
	}
}

/* Decodes every complete frame in the worker's input.  A length beyond the
 * limit condemns the worker before anything is allocated for it. */
void
dispatch_frames(struct worker *w)
{
	procq_queue *q = w->q;
	struct protocol_msg msg;
	const char *data;
	uint32_t len;
	char buf[96];

	while (w->kill_kind != PROCQ_ERR_PROTOCOL) {
		switch (channel_next(&w->ch, &data, &len)) {
		case CHANNEL_PARTIAL:
			return;
		case CHANNEL_EMPTY:
			dispatch_protocol_error(w, "empty frame from worker");
			return;
		case CHANNEL_OVERSIZED:
			snprintf(buf, sizeof buf, "frame of %u bytes from "
			    "worker exceeds the limit of %zu bytes", len,
			    w->ch.max_frame);
			dispatch_protocol_error(w, buf);
			return;
		case CHANNEL_FRAME:
			break;
		}
		if (data == NULL ||
		    protocol_decode(data, len, &q->zone, &msg) != 0)
			dispatch_protocol_error(w, "malformed frame from worker");
		else
			dispatch_message(w, &msg);
		msgpack_zone_clear(&q->zone);
		channel_consume(&w->ch, len);
	}
}

/* Reads and acts on what the worker has written.  Called with q->lock
 * held. */
void
dispatch_drain(struct worker *w)
{
	bool open;

	if (w->ch.rfd < 0 || w->eof || w->kill_kind == PROCQ_ERR_PROTOCOL)
		return;
	open = channel_read(&w->ch);
	dispatch_frames(w);
	if (!open)
		pool_lost(w);	/* EOF, or the pipe is unusable */
}

/*
 * On procq's own loop thread, which alone touches a worker's input, the
 * reading is done before taking the lock: no system call holds up the
 * threads that submit.  (A caller's loop reads under the lock: another
 * thread of the caller may free the queue as soon as it is released.)
 */
void
dispatch_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	procq_queue *q = w->q;
	bool open;

	if (q->external_base) {
		loop_enter(q);
		dispatch_drain(w);
		loop_leave(q);
		return;
	}
	open = channel_read(&w->ch);
	loop_enter(q);
	q->now = procq_clock_now();	/* one reading for the whole batch */
	if (w->state != WORKER_EMPTY && w->kill_kind != PROCQ_ERR_PROTOCOL)
		dispatch_frames(w);
	/* What comes meanwhile is the next callback's. */
	if (!open && w->state != WORKER_EMPTY && !w->eof)
		pool_lost(w);	/* EOF, or the pipe is unusable */
	loop_leave(q);
}
