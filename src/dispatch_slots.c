/*
 * The slots' life as the loop and the API see it: made and freed with
 * the loop, workers retired and stopped, a teardown without the loop,
 * and what procq_stats_get() counts.  Each goes to the transport
 * (q->transport) for the work.  Called with q->lock held.
 */
#include "config.h"

#include <stdlib.h>

#include "dispatch.h"
#include "queue.h"
#include "transport.h"

/* Each slot gets the timer of its head's timeout; the slots are the
 * forked-pipe transport's, the only one so far. */
int
dispatch_start(procq_queue *q)
{
	q->transport = &transport_local;
	if (q->transport->open(q) != 0)
		return -1;
	for (int i = 0; i < q->nslots; i++) {
		struct slot *s = q->slots[i];

		s->timeout_ev = evtimer_new(q->base, dispatch_timeout_cb, s);
		if (s->timeout_ev == NULL)
			return -1;
	}
	return 0;
}

void
dispatch_release(procq_queue *q)
{
	if (q->transport == NULL || q->slots == NULL)
		return;
	for (int i = 0; i < q->nslots; i++) {
		if (q->slots[i]->timeout_ev != NULL)
			event_free(q->slots[i]->timeout_ev);
		q->slots[i]->timeout_ev = NULL;
	}
	q->transport->release(q);
}

/* In a forked child: the timers live in the parent's event base. */
void
dispatch_forget(procq_queue *q)
{
	if (q->transport != NULL && q->slots != NULL)
		q->transport->forget(q);
}

/* Workers that have run their share of tasks are replaced once idle. */
void
dispatch_retire(procq_queue *q)
{
	int max = q->cfg.max_tasks_per_worker;

	if (max == 0)
		return;
	for (int i = 0; i < q->nslots; i++) {
		struct slot *s = q->slots[i];

		if (s->state == SLOT_LIVE && s->ninflight == 0 &&
		    s->dispatched >= max)
			q->transport->dismiss(s);
	}
}

/* The queue stops: idle workers go. */
void
dispatch_stop(procq_queue *q)
{
	for (int i = 0; i < q->nslots; i++) {
		struct slot *s = q->slots[i];

		if (s->state == SLOT_LIVE && s->ninflight == 0)
			q->transport->dismiss(s);
	}
}

bool
dispatch_slots_empty(const procq_queue *q)
{
	for (int i = 0; i < q->nslots; i++) {
		if (q->slots[i]->state != SLOT_EMPTY)
			return false;
	}
	return true;
}

/* Every worker ends now, its running task cancelled: for a teardown
 * without the loop. */
void
dispatch_teardown(procq_queue *q)
{
	for (int i = 0; i < q->nslots; i++) {
		struct slot *s = q->slots[i];

		if (s->state == SLOT_EMPTY)
			continue;
		q->transport->kill(s, PROCQ_ERR_CANCELLED, slot_head(s),
		    "cancelled");
		q->transport->end_now(s);
	}
}

/* Tasks on slots, running or sent ahead, but for cancelled ones. */
size_t
dispatch_active(const procq_queue *q)
{
	size_t n = 0;

	for (int i = 0; i < q->nslots; i++)
		n += (size_t)q->slots[i]->ninflight;
	return n - q->tombstones;
}

/* Slots running a task: workers busy now. */
int
dispatch_busy(const procq_queue *q)
{
	int n = 0;

	for (int i = 0; i < q->nslots; i++) {
		if (q->slots[i]->ninflight > 0)
			n++;
	}
	return n;
}

/* The spare runs nothing: it is not counted. */
int
dispatch_workers(const procq_queue *q)
{
	int n = 0;

	for (int i = 0; i < q->nslots; i++) {
		if (slot_takes_tasks(q->slots[i]))
			n++;
	}
	return n;
}
