/*
 * A worker transport: how a task reaches a worker slot and how the slot's
 * news comes back.  The engine's scheduler (dispatch.c) chooses slots and
 * decides what every event means; a transport only moves tasks and
 * reports.  Forked workers on pipes are the first (transport_local.c).
 *
 * What a transport must do:
 *   - make its slots in open() (q->slots, q->nslots), each a struct slot
 *     it keeps inside its own record, and start workers in them in fill();
 *   - keep each slot's state, ready and spare up to date, and id for the
 *     trace;
 *   - report what happens as calls to the dispatch_*() functions below:
 *     started() when a task sent to a slot begins (the head of its
 *     in-flight list), result(), progress(), cancelled() for a task it
 *     was asked to drop, ready() once a worker can run tasks, and one
 *     died() for every worker that ends, however it ends, before the
 *     slot is emptied;
 *   - match what it hears to the tasks in the slot's in-flight list, and
 *     kill a slot whose worker breaks the rules (kill() on its own slot).
 *
 * What it may assume: every op and every report runs on the loop thread
 * (the engine's owner, command.c) with q->lock held, and its own libevent callbacks begin in loop_enter() and end in
 * loop_leave(); the scheduler links a task into the slot's list before
 * send(), and unlinks it (task_unlink()) whenever it leaves.  It never
 * finishes, retries or requeues a task itself: it reports, and the
 * engine decides.  It may read the queue's configuration and its wire
 * buffers (q->sbuf, q->zone), and a task's wire_id, entry, args,
 * attempts, tombstone, cancel_sent and claim, which are its to set.
 */
#ifndef PROCQ_TRANSPORT_H
#define PROCQ_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#include "procq.h"
#include "task.h"

enum slot_state {
	SLOT_EMPTY = 0,		/* no worker in it */
	SLOT_LIVE,		/* its worker takes tasks */
	SLOT_DYING		/* killed or lost; died() is to come */
};

/*
 * A worker slot as the engine sees it.  The transport writes the first
 * part and the scheduler the second; both read all of it.  Read on every
 * pick, so it is a plain struct: a transport's own record of the slot
 * (its process, its channel) stays private to the transport.
 */
struct slot {
	procq_queue		*q;
	enum slot_state		 state;
	bool			 ready;		/* can run tasks now */
	bool			 spare;		/* live, but given no tasks */
	long			 id;		/* the trace's name for it */
	const char *host;			/* where its worker runs: lives
						 * as long as the queue */
	int rank; /* the MPI rank there; 0 here */

	struct task_list	 inflight;	/* head = the running task */
	int			 ninflight;
	int			 dispatched;	/* tasks given to this worker */
	double			 head_since;	/* when the head started */
	bool			 stalled;	/* its head runs long */
	bool			 timing;	/* timeout_ev is armed */
	struct event		*timeout_ev;	/* the head's attempt */
};

/* The task the slot runs (or will run first), or NULL. */
static inline procq_handle *
slot_head(const struct slot *s)
{
	return TAILQ_FIRST(&s->inflight);
}

/* A slot the scheduler may give tasks to. */
static inline bool
slot_takes_tasks(const struct slot *s)
{
	return s->state == SLOT_LIVE && !s->spare;
}

struct transport_ops {
	/* Makes the slots, all empty.  -1 when out of memory. */
	int	(*open)(procq_queue *q);
	/* Starts workers in empty slots; at first all of them, later only
	 * while tasks wait (q->nready). */
	void	(*fill)(procq_queue *q);
	/* Sends t, just linked at the tail of s's list.  reclaimable: it
	 * waits behind another task, and the scheduler may want it back
	 * (reclaim()).  On failure the transport has killed s. */
	int	(*send)(struct slot *s, procq_handle *t, bool reclaimable);
	/* Asks s to drop the tombstones in its list not yet asked for
	 * (cancel_sent clear); each is answered with cancelled(). */
	void	(*cancel)(struct slot *s);
	/* Takes back t, sent ahead, if s has not started it: true if it is
	 * the scheduler's again (s will pass over it). */
	bool	(*reclaim)(struct slot *s, procq_handle *t);
	/* Ends s's worker for the reason given.  target is the task that
	 * answers for it, or NULL; died() follows. */
	void	(*kill)(struct slot *s, procq_error_kind kind,
		    procq_handle *target, const char *message);
	/* Lets s's idle worker go; died() follows. */
	void	(*dismiss)(struct slot *s);
	/* Ends s's worker now, died() included, without the loop: for a
	 * teardown on the thread of a caller's loop.  After kill(). */
	void	(*end_now)(struct slot *s);
	/* Writes what waits to be sent.  On procq's own loop thread it is
	 * called after q->lock is released: only that thread sends. */
	void	(*flush)(procq_queue *q);
	/*
	 * The owner is about to wait for events: from now on a worker must
	 * wake it for what it sends.  False when something came meanwhile
	 * without waking it: collect() that instead of waiting.  On procq's
	 * own loop thread, without q->lock.  Optional: a transport has
	 * sleep, awake, pending and collect, or none of them.
	 */
	bool	(*sleep)(procq_queue *q);
	/* The owner woke: workers may leave what they send for collect()
	 * without waking it. */
	void	(*awake)(procq_queue *q);
	/* Whether workers left something for collect().  On procq's own
	 * loop thread, without q->lock. */
	bool	(*pending)(procq_queue *q);
	/* Acts on what workers left without waking the owner.  In a
	 * callback. */
	void	(*collect)(procq_queue *q);
	/* Frees the slots once every worker is gone. */
	void	(*release)(procq_queue *q);
	/* In a child forked from the supervisor's process: lets go of the
	 * slots without touching the parent's workers or events. */
	void	(*forget)(procq_queue *q);
};

/* Forked workers on pipes. */
extern const struct transport_ops transport_local;

/*
 * What a transport reports; the scheduler (dispatch.c) acts on it.
 *
 * started:	t, now the head of s's list, begins: an attempt is
 *		counted and its timeout armed.
 * ready:	s's worker can run tasks (its initializer ran).
 * result:	t, the head, ended: with value when err is NULL, else
 *		the attempt failed with err.
 * progress:	t, the head, says how far it got.
 * cancelled:	s dropped t, a tombstone it was asked to drop.
 * died:	s's worker is gone, for the reason why.  charged: the
 *		running task answers for it (it crashed, or was killed
 *		for its own sake); else it goes back in line without an
 *		attempt charged.  Tasks sent ahead always go back.
 * unstartable:	no worker can be started: the next waiting task fails
 *		an attempt with why rather than wait for ever.
 */
void dispatch_started(struct slot *s, procq_handle *t);
void dispatch_ready(struct slot *s);
void dispatch_result(struct slot *s, procq_handle *t,
    const procq_error *err, const char *value, size_t value_len);
void dispatch_progress(struct slot *s, procq_handle *t, const char *value,
    size_t value_len);
void dispatch_cancelled(struct slot *s, procq_handle *t);
void dispatch_died(struct slot *s, const procq_error *why, bool charged);
void dispatch_unstartable(procq_queue *q, const procq_error *why);

#endif
