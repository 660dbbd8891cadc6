/*
 * What a forked worker writes back: its frames are read from the channel,
 * decoded (protocol.c), matched to the tasks on its slot, and reported to
 * the scheduler (transport.h).  A frame that breaks the rules condemns
 * the worker: it is killed for a protocol error.  Runs on the loop thread
 * with q->lock held, but for the reading itself (local_read_cb()).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "protocol.h"
#include "queue.h"
#include "trace.h"
#include "transport_local.h"
#include "clock.h"

static void
local_protocol_error(struct worker *w, const char *message)
{
	pool_kill(w, PROCQ_ERR_PROTOCOL, slot_head(&w->slot), message);
}

/* The task at the head left: the next one, if any, starts (as far as we
 * can tell: a worker runs its tasks in order). */
static void
local_head_done(struct worker *w, procq_handle *head)
{
	procq_handle *next = slot_head(&w->slot);

	if (next != NULL && next != head)
		local_started(w, next);
}

/* Its cell on the board is free once the task leaves the worker. */
static void
local_unclaim(struct worker *w, procq_handle *t)
{
	if (t->claim >= 0)
		board_release(&w->board, t->claim);
	t->claim = -1;
}

static char *
local_string(const char *p, size_t len)
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
local_result_error(struct worker *w, procq_handle *head,
    const struct protocol_failure *f)
{
	procq_error err = {
		.kind = PROCQ_ERR_TASK, .type = NULL,
		.message = NULL,
		.exit_status = -1, .signal = -1
	};
	char *type = NULL, *message = NULL;

	if (f == NULL ||
	    (type = local_string(f->type, f->type_len)) == NULL ||
	    (message = local_string(f->message, f->message_len)) == NULL) {
		free(type);
		local_protocol_error(w, "malformed error result from worker");
		return;
	}
	err.type = type;
	err.message = message;
	local_unclaim(w, head);
	dispatch_result(&w->slot, head, &err, NULL, 0);
	free(type);
	free(message);
	local_head_done(w, head);
}

/*
 * A second result for the task this worker ended last: the task wrote one
 * itself, or a process it forked did.  That task has its result and keeps
 * it; the worker cannot be trusted (two processes may be reading its
 * tasks) and is killed, and the task now at its head, which did nothing
 * wrong, goes back in line without an attempt charged.
 */
static void
local_duplicate(struct worker *w)
{
	char buf[128];

	snprintf(buf, sizeof buf, "worker sent a second result for task "
	    "%016" PRIx64, w->slot.q->id_base + w->last_id);
	pool_kill(w, PROCQ_ERR_PROTOCOL, NULL, buf);
}

static void
local_result(struct worker *w, const struct protocol_msg *msg)
{
	procq_handle *head = slot_head(&w->slot);
	struct protocol_result r;
	int rc;

	if ((rc = protocol_decode_result(msg, &r)) == PROTOCOL_MALFORMED) {
		local_protocol_error(w, "malformed result from worker");
		return;
	}
	if ((head == NULL || head->wire_id != r.id) && w->has_last &&
	    r.id == w->last_id) {
		local_duplicate(w);
		return;
	}
	if (head == NULL || head->wire_id != r.id) {
		local_protocol_error(w,
		    "result for a task the worker was not running");
		return;
	}
	w->has_last = true;
	w->last_id = r.id;
	if (!r.ok && !head->tombstone) {
		local_result_error(w, head, rc == 0 ? &r.error : NULL);
		return;
	}
	if (rc != 0 && !head->tombstone) {
		local_protocol_error(w, "malformed result value from worker");
		return;
	}
	local_unclaim(w, head);
	dispatch_result(&w->slot, head, NULL, r.value, r.value_len);
	local_head_done(w, head);
}

/* The worker dropped a task sent ahead that was cancelled. */
static void
local_cancelled(struct worker *w, const struct protocol_msg *msg)
{
	procq_handle *t, *head = slot_head(&w->slot);
	uint64_t id;

	if (protocol_decode_cancelled(msg, &id) != 0) {
		local_protocol_error(w, "malformed cancel acknowledgement");
		return;
	}
	TAILQ_FOREACH(t, &w->slot.inflight, worker_link) {
		if (t->wire_id == id && t->tombstone && t->cancel_sent)
			break;
	}
	if (t == NULL) {
		local_protocol_error(w,
		    "cancel acknowledgement for an unknown task");
		return;
	}
	local_unclaim(w, t);
	dispatch_cancelled(&w->slot, t);
	local_head_done(w, head);
}

/* The worker skipped a task taken back from it: its cell is free.  A
 * skip procq did not ask for would leave a task unrun: the worker is
 * broken.  The scheduler took the task back when the cell was taken. */
static void
local_skipped(struct worker *w, const struct protocol_msg *msg)
{
	int cell;

	if (protocol_decode_skipped(msg, &cell) != 0 || cell >= BOARD_SLOTS ||
	    board_skipped(&w->board, cell) != 0)
		local_protocol_error(w, "worker skipped a task it was given");
}

static void
local_progress(struct worker *w, const struct protocol_msg *msg)
{
	procq_handle *head = slot_head(&w->slot);
	struct protocol_progress p;

	if (protocol_decode_progress(msg, &p) != 0) {
		local_protocol_error(w, "malformed progress report");
		return;
	}
	if (head == NULL || head->wire_id != p.id) {
		local_protocol_error(w,
		    "progress for a task the worker was not running");
		return;
	}
	dispatch_progress(&w->slot, head, p.value, p.value_len);
}

static void
local_init_failed(struct worker *w, const struct protocol_msg *msg)
{
	struct protocol_failure f;
	char *type = NULL, *message = NULL;

	if (protocol_decode_init_failed(msg, &f) != 0 ||
	    (type = local_string(f.type, f.type_len)) == NULL ||
	    (message = local_string(f.message, f.message_len)) == NULL)
		local_protocol_error(w, "malformed initializer failure");
	else {
		w->leaving = true;
		pool_init_failed(w, type, message);
	}
	free(type);
	free(message);
}

static void
local_setup_failed(struct worker *w, const struct protocol_msg *msg)
{
	struct protocol_failure f;
	char *message = NULL;

	if (protocol_decode_setup_failed(msg, &f) != 0 ||
	    (message = local_string(f.message, f.message_len)) == NULL)
		local_protocol_error(w, "malformed setup failure");
	else {
		w->leaving = true;
		pool_setup_failed(w, message);
	}
	free(message);
}

/*
 * The first hello of an exec'd worker program names its tasks: they
 * become the queue's registry, entries without a function (the program
 * has them).  Submitters read the registry holding commands.lock alone
 * (submit_resolve()), hence it is taken too; after q->lock, as always.
 * Out of memory, the names stay unknown and submits stay unchecked.
 */
static void
local_learn_names(struct worker *w, const struct protocol_msg *msg)
{
	procq_queue *q = w->slot.q;
	const msgpack_object *names;
	uint32_t n;
	char *name;
	int rc = 0;

	if (q->names_known || protocol_hello_names(msg, &names, &n) != 0)
		return;
	pthread_mutex_lock(&q->commands.lock);
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		if ((name = local_string(names[i].via.str.ptr,
		    names[i].via.str.size)) == NULL) {
			rc = PROCQ_ENOMEM;
			break;
		}
		rc = registry_add(&q->registry, name, NULL);
		if (rc == PROCQ_EEXIST)	/* said twice */
			rc = 0;
		free(name);
	}
	q->names_known = rc == 0;
	pthread_mutex_unlock(&q->commands.lock);
	TRACE_WORKER(&w->slot, "its program has %" PRIu32 " tasks", n);
}

static void
local_hello(struct worker *w, const struct protocol_msg *msg)
{
	if (msg->type == PROTOCOL_INIT_FAILED) {
		local_init_failed(w, msg);
		return;
	}
	if (msg->type == PROTOCOL_SETUP_FAILED) {
		local_setup_failed(w, msg);
		return;
	}
	if (protocol_decode_hello(msg) != 0) {
		local_protocol_error(w, "worker did not say hello");
		return;
	}
	w->slot.ready = true;
	if (w->hello_ev != NULL)	/* none in the dispatcher's fuzz target */
		evtimer_del(w->hello_ev);
	TRACE_WORKER(&w->slot, "said hello");
	if (queue_names_from_workers(w->slot.q))
		local_learn_names(w, msg);
	pool_first_settled(w->slot.q);
	w->slot.q->spawn_backoff = 0;
	w->slot.q->spawn_failures = 0;
	dispatch_ready(&w->slot);
}

/* The worker says it is dying of its memory limit: its address space is
 * used up, or an allocation had just failed.  Only a worker that has one
 * may say so. */
static void
local_limit(struct worker *w, const struct protocol_msg *msg)
{
	enum protocol_limit what;

	if (w->slot.q->cfg.max_memory == 0) {
		local_protocol_error(w,
		    "limit report from a worker without a memory limit");
		return;
	}
	if (protocol_decode_limit(msg, &what) != 0)
		local_protocol_error(w, "malformed limit report");
	else if (what == PROTOCOL_LIMIT_MEMORY)
		w->memory = MEMORY_EXHAUSTED;
	else
		w->memory = MEMORY_ALLOC_FAILED;
}

static void
local_message(struct worker *w, const struct protocol_msg *msg)
{
	char buf[64];

	/* WAKE and LIMIT say nothing of tasks, and come down the pipe
	 * whatever the ring holds: before hello, when hello went into the
	 * ring (ring.h). */
	if (msg->type == PROTOCOL_WAKE) {
		if (protocol_decode_wake(msg) != 0)
			local_protocol_error(w, "malformed wake frame");
		return;
	}
	if (msg->type == PROTOCOL_LIMIT) {
		local_limit(w, msg);
		return;
	}
	if (!w->slot.ready) {
		local_hello(w, msg);
		return;
	}
	switch (msg->type) {
	case PROTOCOL_RESULT:
		local_result(w, msg);
		break;
	case PROTOCOL_CANCELLED:
		local_cancelled(w, msg);
		break;
	case PROTOCOL_PROGRESS:
		local_progress(w, msg);
		break;
	case PROTOCOL_SKIPPED:
		local_skipped(w, msg);
		break;
	default:
		snprintf(buf, sizeof buf, "unexpected message type %d",
		    msg->type);
		local_protocol_error(w, buf);
		break;
	}
}

/* Acts on one frame from the worker. */
static void
local_frame(struct worker *w, const char *data, uint32_t len)
{
	procq_queue *q = w->slot.q;
	struct protocol_msg msg;

	if (data == NULL || protocol_decode(data, len, &q->zone, &msg) != 0)
		local_protocol_error(w, "malformed frame from worker");
	else
		local_message(w, &msg);
	msgpack_zone_clear(&q->zone);
}

/* A frame's header that refuses it condemns the worker: false. */
static bool
local_frame_allowed(struct worker *w, enum channel_next next, uint32_t len)
{
	char buf[96];

	switch (next) {
	case CHANNEL_EMPTY:
		local_protocol_error(w, "empty frame from worker");
		return false;
	case CHANNEL_OVERSIZED:
		snprintf(buf, sizeof buf,
		    "frame of %u bytes from "
		    "worker exceeds the limit of %zu bytes",
		    len, w->ch.max_frame);
		local_protocol_error(w, buf);
		return false;
	default:
		return true;
	}
}

/* Acts on frames taken from the worker's result ring. */
static void
local_ring_frames(struct worker *w, const char *p, size_t len)
{
	enum channel_next next;
	size_t off = 0;
	uint32_t n = 0;

	w->in_ring = true;
	while (off < len && w->kill_kind != PROCQ_ERR_PROTOCOL) {
		next = channel_frame_next(p + off, len - off, w->ch.max_frame,
		    &n);
		if (next == CHANNEL_PARTIAL) {
			local_protocol_error(w,
			    "partial frame in the worker's result ring");
			break;
		}
		if (!local_frame_allowed(w, next, n))
			break;
		local_frame(w, p + off + CHANNEL_HEADER, n);
		off += CHANNEL_HEADER + (size_t)n;
	}
	w->in_ring = false;
}

/*
 * Takes records from the worker's result ring (ring.h) up to tail, every
 * one or only the first, and acts on their frames: false when there were
 * none (or the worker is condemned).
 */
static bool
local_ring_take(struct worker *w, uint64_t tail, bool one)
{
	const char *p;
	size_t len;
	bool took = false;
	int rc;

	do {
		if (w->in_ring || w->kill_kind == PROCQ_ERR_PROTOCOL)
			break;
		if (one)
			rc = ring_take_one(&w->ring, tail, &p, &len);
		else
			rc = ring_take(&w->ring, tail, &p, &len);
		if (rc == -1)
			local_protocol_error(w,
			    "malformed result ring from worker");
		else if (rc == -2)
			local_protocol_error(w,
			    "out of memory for the worker's results");
		if (rc <= 0)
			break;
		local_ring_frames(w, p, len);
		took = true;
	} while (!one);
	return took;
}

/* Acts on the frames the worker published in its result ring up to tail,
 * which was read before its pipe: they come after every frame the pipe
 * held then. */
void
local_ring(struct worker *w, uint64_t tail)
{
	(void)local_ring_take(w, tail, false);
}

/* Where a frame from the pipe stands against the ring's records. */
enum local_turn {
	LOCAL_IN_TURN,		/* before them all, or of no task */
	LOCAL_AHEAD,		/* of a task after the head */
	LOCAL_BAD		/* condemns the worker */
};

/* The id a RESULT, PROGRESS or CANCELLED frame speaks of. */
static bool
local_frame_id(const struct protocol_msg *msg, uint64_t *id)
{
	struct protocol_result r;
	struct protocol_progress p;

	if (msg->type == PROTOCOL_RESULT &&
	    protocol_decode_result(msg, &r) != PROTOCOL_MALFORMED) {
		*id = r.id;
		return true;
	}
	if (msg->type == PROTOCOL_PROGRESS &&
	    protocol_decode_progress(msg, &p) == 0) {
		*id = p.id;
		return true;
	}
	return msg->type == PROTOCOL_CANCELLED &&
	    protocol_decode_cancelled(msg, id) == 0;
}

/* A well-formed frame that speaks of no task; or the worker's first,
 * which comes before all else. */
static bool
local_frame_of_no_task(const struct worker *w, const struct protocol_msg *msg)
{
	enum protocol_limit what;
	int cell;

	switch (msg->type) {
	case PROTOCOL_HELLO:
	case PROTOCOL_INIT_FAILED:
	case PROTOCOL_SETUP_FAILED:
		return !w->slot.ready;
	case PROTOCOL_SKIPPED:
		return protocol_decode_skipped(msg, &cell) == 0;
	case PROTOCOL_LIMIT:
		return protocol_decode_limit(msg, &what) == 0;
	case PROTOCOL_WAKE:
		return protocol_decode_wake(msg) == 0;
	default:
		return false;
	}
}

static enum local_turn
local_frame_turn(struct worker *w, const char *data, uint32_t len)
{
	procq_queue *q = w->slot.q;
	procq_handle *t, *head = slot_head(&w->slot);
	struct protocol_msg msg;
	enum local_turn turn = LOCAL_BAD;
	uint64_t id;

	if (data == NULL || protocol_decode(data, len, &q->zone, &msg) != 0)
		;	/* LOCAL_BAD */
	else if (local_frame_of_no_task(w, &msg))
		turn = LOCAL_IN_TURN;
	else if (!local_frame_id(&msg, &id))
		turn = LOCAL_BAD;
	else if (msg.type == PROTOCOL_CANCELLED) {
		TAILQ_FOREACH(t, &w->slot.inflight, worker_link) {
			if (t->wire_id == id && t->tombstone && t->cancel_sent)
				turn = LOCAL_IN_TURN;
		}
	} else if ((head != NULL && head->wire_id == id) ||
	    (w->has_last && id == w->last_id))
		turn = LOCAL_IN_TURN;
	else
		turn = LOCAL_AHEAD;
	msgpack_zone_clear(&q->zone);
	return turn;
}

/* Acts on the ring's records that are due before the rest of the pipe:
 * one, or all.  False when none was left. */
static bool
local_ring_due(struct worker *w, bool one)
{
	if (w->ring_due && (!local_ring_take(w, w->ring_before, one) || !one))
		w->ring_due = false;
	return w->ring_due;
}

/*
 * Acts on one frame from the pipe.  procq's own frames come before every
 * record in the ring (ring.h), but a task may write to the pipe itself
 * while the ring holds results of the tasks before it.  Such a frame is
 * put in its place: while it speaks of a task after the head, the ring's
 * records are acted on first, one at a time, so a result a task sent for
 * itself is its own; one that condemns the worker is judged after all of
 * them, so a task that sends garbage and stops is the one charged.
 */
static void
local_pipe_frame(struct worker *w, const char *data, uint32_t len)
{
	enum local_turn turn = LOCAL_IN_TURN;

	if (w->ring_due)
		turn = local_frame_turn(w, data, len);
	if (turn == LOCAL_BAD)
		(void)local_ring_due(w, false);
	while (turn == LOCAL_AHEAD && local_ring_due(w, true))
		turn = local_frame_turn(w, data, len);
	local_frame(w, data, len);
}

/* Decodes every complete frame in the worker's input.  A length beyond
 * the limit condemns the worker before anything is allocated for it. */
void
local_frames(struct worker *w)
{
	enum channel_next next;
	const char *data;
	uint32_t len;

	while (w->kill_kind != PROCQ_ERR_PROTOCOL) {
		next = channel_next(&w->ch, &data, &len);
		if (next == CHANNEL_PARTIAL)
			break;
		if (next != CHANNEL_FRAME)
			(void)local_ring_due(w, false);	/* as below */
		if (!local_frame_allowed(w, next, len))
			break;
		local_pipe_frame(w, data, len);
		channel_consume(&w->ch, len);
	}
}

/*
 * After a read of the pipe that began once tail was read: its frames,
 * then the ring's up to tail.  At EOF the worker publishes no more: the
 * ring's every record is taken, and the worker is lost.
 */
static void
local_frames_then_ring(struct worker *w, uint64_t tail, bool open)
{
	/* Only records the ring held before the read are weighed against
	 * the pipe's frames: with none, each frame is decoded once. */
	w->ring_before = tail;
	w->ring_due = !w->in_ring && tail != w->ring.head;
	local_frames(w);
	w->ring_due = false;
	local_ring(w, open ? tail : ring_tail(&w->ring));
	if (!open)
		pool_lost(w); /* EOF, or the pipe is unusable */
}

/* Reads and acts on what the worker has written.  Called with q->lock
 * held. */
void
local_drain(struct worker *w)
{
	uint64_t tail;
	bool open;

	if (w->ch.rfd < 0 || w->eof || w->kill_kind == PROCQ_ERR_PROTOCOL)
		return;
	tail = ring_tail(&w->ring);
	open = channel_read(&w->ch);
	local_frames_then_ring(w, tail, open);
}

/*
 * On procq's own loop thread, which alone touches a worker's input, the
 * reading is done before taking the lock: no system call holds up the
 * threads that submit.  (A caller's loop reads under the lock: another
 * thread of the caller may free the queue as soon as it is released.)
 */
void
local_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	procq_queue *q = w->slot.q;
	uint64_t tail;
	bool open;

	if (q->external_base) {
		loop_enter(q);
		local_drain(w);
		loop_leave(q);
		return;
	}
	tail = ring_tail(&w->ring);
	open = channel_read(&w->ch);
	loop_enter(q);
	q->now = procq_clock_now(); /* one reading for the whole batch */
	/* What comes meanwhile is the next callback's. */
	if (w->slot.state != SLOT_EMPTY && !w->eof &&
	    w->kill_kind != PROCQ_ERR_PROTOCOL)
		local_frames_then_ring(w, tail, open);
	else if (!open && w->slot.state != SLOT_EMPTY && !w->eof)
		pool_lost(w);
	loop_leave(q);
}
