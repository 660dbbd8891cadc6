/*
 * Waiting on many handles at once, possibly from several queues: a waiter
 * is linked to each handle it watches (a command to the handle's queue)
 * and told, by that queue's owner, the position of every handle that
 * becomes final.  Lock order: queue lock, then waiter lock; a waiter
 * never waits for a queue while holding its own lock.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "loop.h"
#include "queue.h"
#include "wait.h"
#include "clock.h"
#include "forkgen.h"

/* Someone waiting for handles to finish (procq_wait, as_completed,
 * groups): told the position of each handle as it becomes final.  Only
 * this file sees inside; a group uses it through the functions below. */
struct waiter {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	size_t			*ready;		/* positions, completion order */
	size_t			 nready;
	size_t			 cap;
	size_t			 failed;	/* how many ended FAILED */
};


int
waiter_init(struct waiter *w)
{
	pthread_condattr_t attr;

	memset(w, 0, sizeof *w);
	if (pthread_condattr_init(&attr) != 0)
		return -1;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&w->cond, &attr) != 0) {
		pthread_condattr_destroy(&attr);
		return -1;
	}
	pthread_condattr_destroy(&attr);
	if (pthread_mutex_init(&w->lock, NULL) != 0) {
		pthread_cond_destroy(&w->cond);
		return -1;
	}
	return 0;
}

void
waiter_release(struct waiter *w)
{
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w->ready);
}

struct waiter *
waiter_new(void)
{
	struct waiter *w = malloc(sizeof *w);

	if (w != NULL && waiter_init(w) != 0) {
		free(w);
		return NULL;
	}
	return w;
}

void
waiter_free(struct waiter *w)
{
	if (w == NULL)
		return;
	waiter_release(w);
	free(w);
}

/* In a forked child: memory only, since its lock may have been held at the
 * fork. */
void
waiter_free_forked(struct waiter *w)
{
	if (w == NULL)
		return;
	free(w->ready);
	free(w);
}

void
waiter_lock(struct waiter *w)
{
	pthread_mutex_lock(&w->lock);
}

void
waiter_unlock(struct waiter *w)
{
	pthread_mutex_unlock(&w->lock);
}

/* How many of the watched handles are final so far; w's lock held. */
size_t
waiter_count(const struct waiter *w)
{
	return w->nready;
}

/* The position of the i-th handle to become final; i < waiter_count(). */
size_t
waiter_position(const struct waiter *w, size_t i)
{
	return w->ready[i];
}

/* Makes room for n positions before their handles are watched, so that
 * recording one never allocates: a position that could not be recorded
 * would leave its waiter asleep until its deadline, or for ever.  w's
 * lock held, or w not yet seen by another thread. */
int
waiter_reserve(struct waiter *w, size_t n)
{
	size_t *ready;

	if (n <= w->cap)
		return 0;
	if ((ready = realloc(w->ready, n * sizeof *ready)) == NULL)
		return -1;
	w->ready = ready;
	w->cap = n;
	return 0;
}

/* Records that the handle at pos is final, in the room reserved for it.
 * Called with its queue's lock held. */
static void
waiter_notify(struct waiter *w, size_t pos, procq_status status)
{
	pthread_mutex_lock(&w->lock);
	w->ready[w->nready++] = pos;
	if (status == PROCQ_FAILED)
		w->failed++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* The waiter holds h until it unwatches it, final or not: its owner
 * (procq_wait, an iterator, a group) keeps the pointer.  On the engine's
 * owner, posted by waiter_watch(). */
static void
waiter_watch_post(procq_queue *q, void *a, void *b, size_t pos)
{
	struct waiter *w = a;
	procq_handle *h = b;
	struct waiter_link *l;

	(void)q;
	task_hold(h);
	if (h->state == TASK_DONE)
		waiter_notify(w, pos, task_status(h));
	else if ((l = malloc(sizeof *l)) != NULL) {
		l->waiter = w;
		l->pos = pos;
		l->next = h->waiters;
		h->waiters = l;
	} else
		waiter_notify(w, pos, task_status(h));	/* better early than never */
}

/* A handle already final when watched: w has heard of it already. */
static void
waiter_hold_post(procq_queue *q, void *a, void *b, size_t pos)
{
	(void)q;
	(void)a;
	(void)pos;
	task_hold(b);
}

/* w hears of h, at position pos, once h is final: at once, on this
 * thread, if it is, so that a call made next sees it. */
void
waiter_watch(struct waiter *w, procq_handle *h, size_t pos)
{
	procq_status status = task_published(h);

	if (task_status_final(status)) {
		waiter_notify(w, pos, status);
		command_post(h->q, waiter_hold_post, w, h, pos);
		return;
	}
	command_post(h->q, waiter_watch_post, w, h, pos);
}

struct unwatch {
	struct waiter		*w;
	procq_handle *const	*hs;
	size_t			 n;
	bool			 held;	/* each counted in q->watchers */
};

static int
waiter_unwatch_cmd(procq_queue *q, void *arg)
{
	const struct unwatch *u = arg;
	struct waiter_link **lp, *l;

	for (size_t i = 0; i < u->n; i++) {
		procq_handle *h = u->hs[i];

		for (lp = &h->waiters; (l = *lp) != NULL; lp = &l->next) {
			if (l->waiter == u->w) {
				*lp = l->next;
				free(l);
				break;
			}
		}
		task_unhold(h);
		if (u->held)
			q->watchers--;
	}
	return 0;
}

/*
 * Lets go of the n handles w watched, waiting until the owner of each
 * one's queue no longer points at w: w may be freed when this returns,
 * and a handle the caller released may be freed too.  One command for
 * each run of handles of one queue.
 */
static void
waiter_unwatch_runs(struct waiter *w, procq_handle *const *hs, size_t n,
    bool held)
{
	size_t i, j;

	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && hs[j]->q == hs[i]->q; j++)
			;
		command_call(hs[i]->q, waiter_unwatch_cmd,
		    &(struct unwatch){ w, hs + i, j - i, held });
	}
}

void
waiter_unwatch_all(struct waiter *w, procq_handle *const *hs, size_t n)
{
	waiter_unwatch_runs(w, hs, n, false);
}

/* Everyone waiting for the task hears it is final: a final-task
 * listener. */
void
waiter_task_final(procq_handle *t)
{
	struct waiter_link *l, *next;

	for (l = t->waiters; l != NULL; l = next) {
		next = l->next;
		waiter_notify(l->waiter, l->pos, task_status(t));
		free(l);
	}
	t->waiters = NULL;
}

static bool
wait_satisfied(const struct waiter *w, size_t n, procq_wait_mode mode)
{
	switch (mode) {
	case PROCQ_FIRST_COMPLETED:
		return w->nready > 0;
	case PROCQ_FIRST_EXCEPTION:
		return w->failed > 0 || w->nready >= n;
	default:
		return w->nready >= n;
	}
}

/* Would waiting on these handles block a thread the engine needs? */
static bool
wait_would_deadlock(procq_handle *const *hs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (loop_on_thread(hs[i]->q))
			return true;
	}
	return false;
}

/* Handles of a queue created by the parent of a forked child cannot be
 * waited for there (queue_forked(), with one reading for them all). */
static int
wait_args_check(procq_handle *const *hs, size_t n, double timeout)
{
	unsigned self;

	if ((hs == NULL && n > 0) || isnan(timeout))
		return PROCQ_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (hs[i] == NULL)
			return PROCQ_EINVAL;
	}
	self = n > 0 ? forkgen_current() : 0;
	for (size_t i = 0; i < n; i++) {
		if (hs[i]->q->forkgen != self)
			return PROCQ_EFORKED;
	}
	return 0;
}

/* Wakes whoever sleeps in waiter_sleep() for a change of its owner's
 * (a group's) making; w's lock held. */
void
waiter_wake(struct waiter *w)
{
	pthread_cond_broadcast(&w->cond);
}

/* Sleeps until a handle is final or the deadline (NULL: none) passes;
 * w's lock held.  Returns 0, or ETIMEDOUT. */
int
waiter_sleep(struct waiter *w, const struct timespec *deadline)
{
	if (deadline == NULL)
		return pthread_cond_wait(&w->cond, &w->lock);
	return pthread_cond_timedwait(&w->cond, &w->lock, deadline);
}

static bool
deadline_passed(const struct timespec *deadline)
{
	struct timespec now;

	if (deadline == NULL)
		return false;
	/* A clock that cannot be read ends the wait rather than prolong it. */
	if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
		return true;
	return now.tv_sec > deadline->tv_sec ||
	    (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

static void
wait_partition(procq_handle *const *hs, size_t n, const bool *final,
    procq_handle **done, size_t *ndone, procq_handle **pending,
    size_t *npending)
{
	size_t d = 0, p = 0;

	for (size_t i = 0; i < n; i++) {
		if (final[i]) {
			if (done != NULL)
				done[d] = hs[i];
			d++;
		} else {
			if (pending != NULL)
				pending[p] = hs[i];
			p++;
		}
	}
	if (ndone != NULL)
		*ndone = d;
	if (npending != NULL)
		*npending = p;
}

int
procq_wait(procq_handle *const *hs, size_t n, procq_wait_mode mode,
    double timeout, procq_handle **done, size_t *ndone,
    procq_handle **pending, size_t *npending)
{
	struct timespec deadline, *dl = NULL;
	struct waiter w;
	bool *final;
	int rc;

	if ((rc = wait_args_check(hs, n, timeout)) != 0 ||
	    (unsigned)mode > PROCQ_FIRST_EXCEPTION)
		return rc != 0 ? rc : PROCQ_EINVAL;
	if (n == 0) {
		/* Nothing to wait for, in any mode. */
		wait_partition(hs, 0, NULL, done, ndone, pending, npending);
		return 0;
	}
	if ((final = calloc(n ? n : 1, sizeof *final)) == NULL)
		return PROCQ_ENOMEM;
	if (waiter_init(&w) != 0) {
		free(final);
		return PROCQ_ENOMEM;
	}
	if (waiter_reserve(&w, n) != 0) {
		waiter_release(&w);
		free(final);
		return PROCQ_ENOMEM;
	}
	if (timeout >= 0) {
		deadline = procq_clock_deadline(timeout);
		dl = &deadline;
	}
	for (size_t i = 0; i < n; i++)
		waiter_watch(&w, hs[i], i);
	pthread_mutex_lock(&w.lock);
	if (!wait_satisfied(&w, n, mode) && timeout != 0 &&
	    wait_would_deadlock(hs, n))
		rc = PROCQ_EDEADLK;
	while (rc == 0 && !wait_satisfied(&w, n, mode) && timeout != 0 &&
	    !deadline_passed(dl))
		waiter_sleep(&w, dl);
	pthread_mutex_unlock(&w.lock);
	waiter_unwatch_all(&w, hs, n);
	for (size_t i = 0; i < w.nready; i++)
		final[w.ready[i]] = true;
	if (rc == 0)
		wait_partition(hs, n, final, done, ndone, pending, npending);
	waiter_release(&w);
	free(final);
	return rc;
}

/* An iterator holds handles: their queues must not be reset under it. */
static void
iter_hold(procq_queue *q, int delta)
{
	q->watchers += delta;
}

struct procq_iter {
	unsigned	  forkgen;	/* the creator's: see iter_forked() */
	procq_handle	**handles;
	size_t		  n;
	size_t		  pos;		/* next entry of w.ready to return */
	bool		 *returned;
	struct waiter	  w;
	bool		  has_deadline;
	struct timespec	  deadline;
};

procq_iter *
procq_as_completed(procq_handle *const *hs, size_t n, double timeout,
    int *err)
{
	procq_iter *it;
	int rc;

	if ((rc = wait_args_check(hs, n, timeout)) != 0) {
		if (err != NULL)
			*err = rc;
		return NULL;
	}
	if ((it = calloc(1, sizeof *it)) == NULL ||
	    (it->handles = malloc((n ? n : 1) * sizeof *hs)) == NULL ||
	    (it->returned = calloc(n ? n : 1, sizeof *it->returned)) == NULL ||
	    waiter_init(&it->w) != 0) {
		if (it != NULL) {
			free(it->handles);
			free(it->returned);
		}
		free(it);
		if (err != NULL)
			*err = PROCQ_ENOMEM;
		return NULL;
	}
	if (waiter_reserve(&it->w, n) != 0) {
		waiter_release(&it->w);
		free(it->handles);
		free(it->returned);
		free(it);
		if (err != NULL)
			*err = PROCQ_ENOMEM;
		return NULL;
	}
	if (n > 0)
		memcpy(it->handles, hs, n * sizeof *hs);
	it->forkgen = forkgen_current();
	it->n = n;
	if ((it->has_deadline = timeout >= 0))
		it->deadline = procq_clock_deadline(timeout);
	for (size_t i = 0; i < n; i++) {
		iter_hold(hs[i]->q, 1);
		waiter_watch(&it->w, hs[i], i);
	}
	if (err != NULL)
		*err = 0;
	return it;
}

/* An iterator made before a fork: in the child, its handles and its lock
 * are copies of the parent's. */
static bool
iter_forked(const procq_iter *it)
{
	return it->forkgen != forkgen_current();
}

procq_handle *
procq_iter_next(procq_iter *it, int *err)
{
	const struct timespec *deadline;
	procq_handle *h = NULL;
	int rc = 0;

	if (it == NULL || iter_forked(it)) {
		if (err != NULL)
			*err = it == NULL ? PROCQ_EINVAL : PROCQ_EFORKED;
		return NULL;
	}
	deadline = it->has_deadline ? &it->deadline : NULL;
	pthread_mutex_lock(&it->w.lock);
	if (it->pos < it->n && it->pos == it->w.nready &&
	    wait_would_deadlock(it->handles, it->n))
		rc = PROCQ_EDEADLK;
	while (rc == 0 && it->pos < it->n && it->pos == it->w.nready &&
	    !deadline_passed(deadline))
		waiter_sleep(&it->w, deadline);
	if (rc == 0 && it->pos < it->w.nready) {
		size_t i = it->w.ready[it->pos++];

		it->returned[i] = true;
		h = it->handles[i];
	} else if (rc == 0 && it->pos < it->n)
		rc = PROCQ_ETIMEDOUT;
	pthread_mutex_unlock(&it->w.lock);
	if (err != NULL)
		*err = rc;
	return h;
}

void
procq_iter_free(procq_iter *it, bool cancel_unfinished)
{
	if (it == NULL)
		return;
	if (iter_forked(it)) {
		/* Memory only: its queues and its lock are the parent's. */
		free(it->w.ready);
		free(it->handles);
		free(it->returned);
		free(it);
		return;
	}
	/* Cancelled while still held: a released handle may go as soon as
	 * it is unwatched. */
	for (size_t i = 0; cancel_unfinished && i < it->n; i++) {
		if (!it->returned[i])
			procq_handle_cancel(it->handles[i]);
	}
	/* The handles may be freed as soon as they are unwatched: their
	 * queues count the iterator off on the way. */
	waiter_unwatch_runs(&it->w, it->handles, it->n, true);
	waiter_release(&it->w);
	free(it->handles);
	free(it->returned);
	free(it);
}

struct on_done {
	procq_handle	*h;
	struct done_cb	*cb;
};

/* Attaches the callback to its unfinished task; PROCQ_EDONE if final. */
static int
on_done_cmd(procq_queue *q, void *arg)
{
	const struct on_done *d = arg;
	struct done_cb *cb = d->cb, **tail;
	procq_handle *h = d->h;

	(void)q;
	if (h->state == TASK_DONE)
		return PROCQ_EDONE;
	for (tail = &h->callbacks; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = cb;
	return 0;
}

int
procq_handle_on_done(procq_handle *h, procq_done_fn fn, void *arg)
{
	struct done_cb *cb;
	procq_queue *q;

	if (h == NULL || fn == NULL)
		return PROCQ_EINVAL;
	q = h->q;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	if ((cb = malloc(sizeof *cb)) == NULL)
		return PROCQ_ENOMEM;
	cb->fn = fn;
	cb->arg = arg;
	cb->next = NULL;
	if (command_call(q, on_done_cmd, &(struct on_done){ h, cb }) == 0)
		return 0;	/* cppcheck-suppress memleak ; task owns cb */
	free(cb);
	fn(h, arg);	/* already final: at once, in this thread */
	return 0;
}
