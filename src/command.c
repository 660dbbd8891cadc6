/*
 * Commands to the engine.
 *
 * THE RULE.  Engine state (the queue, its tasks, workers and gates) is
 * changed by one thread only, its owner: procq's own loop thread, or the
 * thread that runs the caller's event_base.  The owner holds q->lock
 * while it changes anything, so that other threads may read engine state
 * under q->lock; no other thread changes it.  A thread that is not the
 * owner changes the engine by posting a command here: new tasks
 * (command_submit()) and commands whose caller needs no answer, such as
 * a release (command_post()), are posted and not waited for; every other
 * command is waited for (command_call()).  The owner takes everything posted at once
 * (command_run(), from the eventfd's callback) and a poster writes the
 * eventfd only when the owner has not been told yet: one wake-up for a
 * whole batch, whoever posts it.
 *
 * Before the queue starts, and after its loop has ended, there is no
 * owner: a call then runs its command itself, under q->lock.  On the
 * owner's own thread (in a hook, or on the caller's event loop) a command
 * also runs at once.
 *
 * cq->lock is taken after q->lock, never before, and held only to append
 * or take lists: no engine code runs under it.
 */
#include "config.h"

#include <stdlib.h>

#include "clock.h"
#include "command.h"
#include "loop.h"
#include "queue.h"

int
command_init(struct command_queue *cq)
{
	if (pthread_mutex_init(&cq->lock, NULL) != 0)
		return -1;
	if (pthread_cond_init(&cq->ran, NULL) != 0) {
		pthread_mutex_destroy(&cq->lock);
		return -1;
	}
	TAILQ_INIT(&cq->submits);
	cq->posts = NULL;
	cq->nposts = cq->posts_cap = 0;
	cq->head = NULL;
	cq->tail = &cq->head;
	cq->owner = false;
	cq->woken = false;
	cq->closed = false;
	atomic_init(&cq->posted, false);
	return 0;
}

void
command_destroy(struct command_queue *cq)
{
	free(cq->posts);
	pthread_cond_destroy(&cq->ran);
	pthread_mutex_destroy(&cq->lock);
}

/*
 * Decides where a command runs.  True: here, by the caller, with q->lock
 * held (on the owner's thread, or with no owner).  False: it is to be
 * posted, and cq->lock is held.
 */
/* Places the tasks of a list taken from cq->submits, in order. */
static void
command_place(procq_queue *q, struct task_list *submits)
{
	procq_handle *t;

	while ((t = TAILQ_FIRST(submits)) != NULL) {
		TAILQ_REMOVE(submits, t, worker_link);
		submit_place(q, t);
	}
}

/*
 * The owner, about to run a call of its own thread (a hook's, or one
 * from the caller's event loop), first places the tasks other threads
 * have posted, as command_run() would: a handle they have shared may be
 * one of them, and a command must find its task placed.  q->lock held.
 */
static void
command_place_posted(procq_queue *q)
{
	struct command_queue *cq = &q->commands;
	struct task_list submits;

	TAILQ_INIT(&submits);
	pthread_mutex_lock(&cq->lock);
	TAILQ_CONCAT(&submits, &cq->submits, worker_link);
	pthread_mutex_unlock(&cq->lock);
	command_place(q, &submits);
}

static bool
command_enter(procq_queue *q)
{
	struct command_queue *cq = &q->commands;

	if (loop_on_thread(q)) {
		pthread_mutex_lock(&q->lock);
		command_place_posted(q);
		return true;
	}
	pthread_mutex_lock(&cq->lock);
	if (cq->owner)
		return false;
	pthread_mutex_unlock(&cq->lock);
	/* No owner: under q->lock none can start before this is done. */
	pthread_mutex_lock(&q->lock);
	pthread_mutex_lock(&cq->lock);
	if (cq->owner) {
		pthread_mutex_unlock(&q->lock);
		return false;
	}
	pthread_mutex_unlock(&cq->lock);
	return true;
}

/* Ends a command run here: the loop, if any, acts on what changed. */
static void
command_leave_here(procq_queue *q)
{
	loop_wake(q);
	queue_unlock(q);
}

/*
 * Tells the owner, unless it was told; cq->lock held.  The eventfd is
 * written under the lock: an owner that ends takes the lock to say so
 * (command_own()) before its loop closes the descriptor, so a poster
 * never writes to a closed one, or to another file that took its number.
 */
static void
command_tell(procq_queue *q)
{
	struct command_queue *cq = &q->commands;

	if (cq->woken)
		return;
	cq->woken = true;
	loop_kick(q);
}

/* Ends a post, cq->lock held. */
static void
command_leave_posted(procq_queue *q)
{
	struct command_queue *cq = &q->commands;

	atomic_store_explicit(&cq->posted, true, memory_order_release);
	command_tell(q);
	pthread_mutex_unlock(&cq->lock);
}

/* Has the owner run a callback, for a change made on its own thread
 * outside one (the caller's event loop): the same one wake-up as a post. */
void
command_wake(procq_queue *q)
{
	struct command_queue *cq = &q->commands;

	pthread_mutex_lock(&cq->lock);
	if (cq->owner)
		command_tell(q);
	pthread_mutex_unlock(&cq->lock);
}

/*
 * Runs fn(q, arg) on the owner, q->lock held, and returns what it
 * returned.  The caller waits: a command from a hook that another thread
 * waits for would never run, so hooks never wait for each other's calls.
 */
int
command_call(procq_queue *q, command_fn fn, void *arg)
{
	struct command_queue *cq = &q->commands;
	struct command c = { .fn = fn, .arg = arg };

	if (command_enter(q)) {
		c.rc = fn(q, arg);
		command_leave_here(q);
		return c.rc;
	}
	*cq->tail = &c;
	cq->tail = &c.next;
	atomic_store_explicit(&cq->posted, true, memory_order_release);
	command_tell(q);
	while (!c.done)
		pthread_cond_wait(&cq->ran, &cq->lock);
	pthread_mutex_unlock(&cq->lock);
	return c.rc;
}

/*
 * New tasks are counted as outstanding before they are posted, so that a
 * join or a shutdown waits for them (counted: the caller did already),
 * and their function is found (the registry may be read here: see
 * submit_resolve()).
 */
static int
command_admit(procq_queue *q, struct task_list *batch, size_t n,
    const char *name, bool counted)
{
	int rc;

	if (q->commands.closed)
		return PROCQ_ECLOSED;
	if ((rc = submit_resolve(q, batch, name)) != 0)
		return rc;
	if (!counted)
		q->outstanding += n;
	return 0;
}

/*
 * Posts a batch of n new tasks of the function name, in order; the owner
 * places them (submit_place()).  On success the batch belongs to the
 * queue; on an error nothing of it was taken.
 */
int
command_submit(procq_queue *q, struct task_list *batch, size_t n,
    const char *name, bool counted)
{
	struct command_queue *cq = &q->commands;
	procq_handle *t;
	int rc;

	if (!command_enter(q)) {
		rc = command_admit(q, batch, n, name, counted);
		if (rc != 0) {
			pthread_mutex_unlock(&cq->lock);
			return rc;
		}
		TAILQ_CONCAT(&cq->submits, batch, worker_link);
		command_leave_posted(q);
		return 0;
	}
	pthread_mutex_lock(&cq->lock);
	rc = command_admit(q, batch, n, name, counted);
	pthread_mutex_unlock(&cq->lock);
	while (rc == 0 && (t = TAILQ_FIRST(batch)) != NULL) {
		TAILQ_REMOVE(batch, t, worker_link);
		submit_place(q, t);
	}
	command_leave_here(q);
	return rc;
}

static int
command_post_grow(struct command_queue *cq)
{
	size_t cap = cq->posts_cap ? cq->posts_cap * 2 : 64;
	struct post *grown;

	if ((grown = realloc(cq->posts, cap * sizeof *grown)) == NULL)
		return -1;
	cq->posts = grown;
	cq->posts_cap = cap;
	return 0;
}

static int
command_post_run(procq_queue *q, void *arg)
{
	struct post *p = arg;

	p->fn(q, p->a, p->b, p->n);
	return 0;
}

/* Posts fn(q, a, b, n), to run on the owner in order with the others.
 * Out of memory, the caller waits for the owner instead. */
void
command_post(procq_queue *q, post_fn fn, void *a, void *b, size_t n)
{
	struct command_queue *cq = &q->commands;
	struct post p = { fn, a, b, n };

	if (command_enter(q)) {
		fn(q, a, b, n);
		command_leave_here(q);
		return;
	}
	if (cq->nposts == cq->posts_cap && command_post_grow(cq) != 0) {
		pthread_mutex_unlock(&cq->lock);
		command_call(q, command_post_run, &p);
		return;
	}
	cq->posts[cq->nposts++] = p;
	command_leave_posted(q);
}

/* The commands run by the last command_run() are done: their callers go
 * on. */
static void
command_done(struct command_queue *cq, struct command *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&cq->lock);
	for (; c != NULL; c = c->next)
		c->done = true;
	pthread_cond_broadcast(&cq->ran);
	pthread_mutex_unlock(&cq->lock);
}

/*
 * The owner runs everything posted, q->lock held: new tasks first, then
 * the posted commands, then the commands waited for, so that each thread's calls
 * take effect in the order it made them.
 */
void
command_run(procq_queue *q)
{
	struct command_queue *cq = &q->commands;
	struct task_list submits;
	struct post *posts;
	struct command *c, *first;
	size_t nposts;

	TAILQ_INIT(&submits);
	pthread_mutex_lock(&cq->lock);
	TAILQ_CONCAT(&submits, &cq->submits, worker_link);
	posts = cq->posts;
	nposts = cq->nposts;
	cq->posts = NULL;
	cq->nposts = cq->posts_cap = 0;
	first = cq->head;
	cq->head = NULL;
	cq->tail = &cq->head;
	cq->woken = false;
	atomic_store_explicit(&cq->posted, false, memory_order_relaxed);
	pthread_mutex_unlock(&cq->lock);

	command_place(q, &submits);
	for (size_t i = 0; i < nposts; i++)
		posts[i].fn(q, posts[i].a, posts[i].b, posts[i].n);
	free(posts);
	for (c = first; c != NULL; c = c->next)
		c->rc = c->fn(q, c->arg);
	/* What the commands let go of is freed before their
	 * callers go on: procq_clear_results() returns the memory. */
	queue_reap(q);
	command_done(cq, first);
}

/*
 * The owner, idle after waking a thread that waited for a task, looks
 * for that thread's next command for a moment before it goes back to
 * sleep in the loop: a caller that submits one task at a time and waits
 * for each would otherwise pay a wake-up of the loop on every round trip.
 * Meanwhile the owner counts as told, so posters write no eventfd.  Only
 * with nothing outstanding: it never takes a core from a running task.
 * True when something was posted; the caller then runs it.
 */
bool
command_linger(procq_queue *q, double seconds)
{
	struct command_queue *cq = &q->commands;
	double until = procq_clock_now() + seconds;
	bool posted;

	pthread_mutex_lock(&cq->lock);
	if (cq->woken || !cq->owner) {
		pthread_mutex_unlock(&cq->lock);
		return false;	/* the eventfd is written already */
	}
	cq->woken = true;
	pthread_mutex_unlock(&cq->lock);
	while (!atomic_load_explicit(&cq->posted, memory_order_acquire) &&
	    procq_clock_now() < until)
		;
	pthread_mutex_lock(&cq->lock);
	posted = atomic_load_explicit(&cq->posted, memory_order_relaxed);
	if (!posted)
		cq->woken = false;
	pthread_mutex_unlock(&cq->lock);
	return posted;
}

/* Something was posted that the owner has not taken: a hint, read
 * without the lock. */
bool
command_posted(procq_queue *q)
{
	return atomic_load_explicit(&q->commands.posted, memory_order_acquire);
}

/*
 * The loop starts or ends owning the engine; q->lock held.  An owner
 * that ends runs what was posted before it did: nothing posted is lost.
 */
void
command_own(procq_queue *q, bool owner)
{
	struct command_queue *cq = &q->commands;

	pthread_mutex_lock(&cq->lock);
	cq->owner = owner;
	pthread_mutex_unlock(&cq->lock);
	if (!owner)
		command_run(q);
}

/* No more submissions; q->lock held. */
void
command_close(procq_queue *q)
{
	struct command_queue *cq = &q->commands;

	q->closed = true;
	pthread_mutex_lock(&cq->lock);
	cq->closed = true;
	pthread_mutex_unlock(&cq->lock);
}
