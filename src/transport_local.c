/*
 * The forked-pipe transport: each slot is a worker process forked by
 * pool.c, with a pipe each way and a claim board shared with it.  Here:
 * the ops the scheduler calls (transport.h), and what goes to a worker,
 * TASK and CANCEL frames (their bytes are protocol.c's, their framing the
 * channel's).  What comes back is transport_local_read.c's.
 */
#include "config.h"

#include <string.h>

#include "loop.h"
#include "protocol.h"
#include "queue.h"
#include "trace.h"
#include "transport_local.h"

/* The frame encoded into q->sbuf from start goes on the worker's output;
 * encoded is what the encoder returned. */
static int
local_frame_out(struct worker *w, size_t start, int encoded)
{
	procq_queue *q = w->slot.q;
	int rc = -1;

	if (encoded == 0)
		rc = channel_queue(&w->ch, q->sbuf.data + start,
		    q->sbuf.size - start);
	q->sbuf.size = start;
	return rc;
}

/* Encodes t's TASK frame into q->sbuf. */
static int
local_pack_task(procq_queue *q, const procq_handle *t)
{
	struct protocol_task pt = {
		.id = t->wire_id,
		.fn = t->entry->name,
		.fn_len = strlen(t->entry->name),
		.args = t->args,
		.args_len = t->args_len,
		.attempt = t->attempts + 1,
		.slot = t->claim
	};

	return protocol_encode_task(&q->sbuf, q->cfg.max_frame, &pt);
}

/* A new head's crash report starts here. */
void
local_started(struct worker *w, procq_handle *t)
{
	w->tail_len = 0;
	w->err_dropped = 0;
	dispatch_started(&w->slot, t);
}

/* A task sent ahead gets a cell on the board when the scheduler may
 * want it back. */
static int
local_send(struct slot *s, procq_handle *t, bool reclaimable)
{
	struct worker *w = local_worker(s);
	procq_queue *q = s->q;
	size_t start = q->sbuf.size;

	/* A remote worker's board is on its own host: nothing sent to it
	 * is taken back. */
	t->claim = reclaimable && q->cfg.transport == NULL ?
	    (short)board_take_slot(&w->board) :
	    -1;
	if (local_frame_out(w, start, local_pack_task(q, t)) != 0) {
		pool_kill(w, PROCQ_ERR_SPAWN, NULL, "out of memory");
		return -1;
	}
	if (slot_head(s) == t)
		local_started(w, t);
	return 0;
}

static int
local_encode_cancel(struct worker *w, procq_handle *t)
{
	procq_queue *q = w->slot.q;
	size_t start = q->sbuf.size;

	return local_frame_out(w, start,
	    protocol_encode_cancel(&q->sbuf, q->cfg.max_frame, t->wire_id));
}

/* A CANCEL frame for each tombstone not yet asked for, sent at once. */
static void
local_cancel(struct slot *s)
{
	struct worker *w = local_worker(s);
	procq_handle *t;
	bool sent = false;

	TAILQ_FOREACH(t, &s->inflight, worker_link) {
		if (!t->tombstone || t->cancel_sent)
			continue;
		t->cancel_sent = 1;
		sent = local_encode_cancel(w, t) == 0 || sent;
	}
	if (sent)
		local_flush(w);
}

/* The worker will see the cell taken and skip the task; the cell stays
 * in use until it says so (SKIPPED). */
static bool
local_reclaim(struct slot *s, procq_handle *t)
{
	if (t->claim < 0 || !board_reclaim(&local_worker(s)->board, t->claim))
		return false;
	t->claim = -1;
	return true;
}

static void
local_kill(struct slot *s, procq_error_kind kind, procq_handle *target,
    const char *message)
{
	pool_kill(local_worker(s), kind, target, message);
}

static void
local_dismiss(struct slot *s)
{
	pool_dismiss(local_worker(s));
}

static void
local_end_now(struct slot *s)
{
	pool_end_now(local_worker(s));
}

/* Only a caller's thread needs the guard against SIGPIPE (sigpipe.h). */
void
local_flush(struct worker *w)
{
	if (w->ch.wfd < 0 || w->ch.out == NULL)
		return;
	if (channel_flush(&w->ch, w->slot.q->external_base) > 0)
		event_add(w->write_ev, NULL);
	else
		event_del(w->write_ev);
}

static void
local_flush_all(procq_queue *q)
{
	for (int i = 0; i < q->nslots; i++) {
		if (q->slots[i]->state == SLOT_LIVE)
			local_flush(local_worker(q->slots[i]));
	}
}

void
local_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->slot.q->lock);
	local_flush(w);
	pthread_mutex_unlock(&w->slot.q->lock);
}

/* Workers write to their pipes from now on, and the result rings are
 * looked at once more (ring.h). */
static bool
local_sleep(procq_queue *q)
{
	bool pending = false;

	for (int i = 0; q->slots != NULL && i < q->nslots; i++) {
		struct worker *w = local_worker(q->slots[i]);

		ring_set_awake(&w->ring, false);
		pending = pending || ring_pending(&w->ring);
	}
	return !pending;
}

static void
local_awake(procq_queue *q)
{
	for (int i = 0; q->slots != NULL && i < q->nslots; i++)
		ring_set_awake(&local_worker(q->slots[i])->ring, true);
}

static bool
local_pending(procq_queue *q)
{
	for (int i = 0; q->slots != NULL && i < q->nslots; i++) {
		if (ring_pending(&local_worker(q->slots[i])->ring))
			return true;
	}
	return false;
}

static void
local_collect(procq_queue *q)
{
	for (int i = 0; q->slots != NULL && i < q->nslots; i++) {
		struct worker *w = local_worker(q->slots[i]);

		/* The pipe first: its frames come before the ring's. */
		if (w->slot.state != SLOT_EMPTY && ring_pending(&w->ring))
			local_drain(w);
	}
}

/* clang-format off */
const struct transport_ops transport_local = {
	.open = pool_open,
	.fill = pool_fill,
	.send = local_send,
	.cancel = local_cancel,
	.reclaim = local_reclaim,
	.kill = local_kill,
	.dismiss = local_dismiss,
	.end_now = local_end_now,
	.flush = local_flush_all,
	.sleep = local_sleep,
	.awake = local_awake,
	.pending = local_pending,
	.collect = local_collect,
	.release = pool_release,
	.forget = pool_forget
};
/* clang-format on */
