/*
 * The supervisor thread: one libevent loop that owns the workers' pipes,
 * pidfds and timers.  Other threads change engine state under q->lock and
 * then wake the loop through an eventfd; every callback ends in
 * loop_after(), which acts on whatever changed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "command.h"
#include "dispatch.h"
#include "loop.h"
#include "queue.h"
#include "transport.h"
#include "clock.h"

/* True on the supervisor thread, and on a thread running this queue's
 * hooks: places where waiting for the engine could only deadlock. */
bool
loop_on_thread(const procq_queue *q)
{
	if (hook_on_this_thread(q))
		return true;
	return q->thread_running && pthread_equal(pthread_self(), q->thread);
}

/* Moves retries whose delay has passed into the ready heap. */
static void
loop_release_due(procq_queue *q)
{
	double now = procq_clock_now();
	procq_handle *t;

	while ((t = task_delayed_top(q)) != NULL && t->due <= now) {
		task_unplace(t);
		t->due = 0;
		task_requeue(t);
	}
}

static void
loop_rearm_delay(procq_queue *q)
{
	procq_handle *t = task_delayed_top(q);
	struct timeval tv;

	if (t == NULL) {
		evtimer_del(q->delay_ev);
		return;
	}
	tv = procq_clock_timeval(t->due - procq_clock_now());
	evtimer_add(q->delay_ev, &tv);
}

static void loop_release(procq_queue *q);

/* How long the owner looks for a waiter's next command (command_linger):
 * about what waking the loop would cost. */
#define LOOP_LINGER	50e-6

/* A callback that runs what other threads posted. */
static void
loop_commands(procq_queue *q)
{
	loop_enter(q);
	command_run(q);
	loop_leave(q);
}

/* The workers are gone: the loop ends.  Procq's own thread leaves its
 * loop; on a caller's loop, procq's events leave it. */
static void
loop_finish(procq_queue *q)
{
	command_own(q, false);
	if (!q->external_base) {
		q->loop_ended = true;
		event_base_loopbreak(q->base);
		return;
	}
	loop_release(q);
	q->thread_running = false;
	q->state = QUEUE_STOPPED;
	pthread_cond_broadcast(&q->cond);
}

/* Runs at the end of every callback, with q->lock held: acts on whatever
 * the callback or another thread changed. */
void
loop_after(procq_queue *q)
{
	if (q->base == NULL)
		return;	/* an external loop's events are already gone */
	loop_release_due(q);
	dispatch_send_cancels(q);
	dispatch_retire(q);
	dispatch_run(q);
	loop_rearm_delay(q);
	if (q->state == QUEUE_STOPPING) {
		dispatch_stop(q);
		if (dispatch_slots_empty(q))
			loop_finish(q);
	}
}

/* Tells waiting threads that tasks became final: those on q->cond
 * (runs, joins, room) and those in procq_handle_wait(). */
static void
loop_broadcast_final(procq_queue *q)
{
	pthread_cond_broadcast(&q->cond);
	if (atomic_load(&q->handle_waiters) > 0) {
		pthread_mutex_lock(&q->final_lock);
		pthread_cond_broadcast(&q->final_cond);
		pthread_mutex_unlock(&q->final_lock);
	}
}

static void
loop_flush_finished(procq_queue *q)
{
	if (q->finish_pending) {
		q->finish_pending = false;
		loop_broadcast_final(q);
	}
}

/* Ends every callback: runs the hooks it recorded (with the lock
 * released), acts on the changes, and unlocks. */
void
loop_leave(procq_queue *q)
{
	bool wake, linger;

	/* Hooks first: a task's on_complete has run before the task that
	 * takes its worker starts. */
	for (;;) {
		if (hook_pending(q)) {
			loop_flush_finished(q);
			hook_run(q);
			continue;
		}
		loop_after(q);
		if (!hook_pending(q))
			break;
	}
	queue_reap(q);
	q->in_callback = false;
	q->now = 0;
	if (q->external_base) {
		loop_flush_finished(q);
		pthread_mutex_unlock(&q->lock);
		return;
	}
	/* Woken after the unlock, a waiter need not block again on the
	 * lock at once.  procq_free() joins this thread before q goes. */
	wake = q->finish_pending;
	q->finish_pending = false;
	linger = wake && q->outstanding == 0;
	pthread_mutex_unlock(&q->lock);
	if (wake)
		loop_broadcast_final(q);
	if (q->slots != NULL)
		dispatch_flush_all(q);
	if (linger && command_linger(q, LOOP_LINGER))
		loop_commands(q);
}

/* Starts every callback: changes made from here on are acted on by
 * loop_leave(), so they need not wake the loop. */
void
loop_enter(procq_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->in_callback = true;
	if (q->dozing) {	/* the first callback since procq's loop woke */
		q->dozing = false;
		q->transport->awake(q);
	}
}

static void
loop_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	procq_queue *q = arg;
	uint64_t n;

	while (read(fd, &n, sizeof n) < 0 && errno == EINTR)
		;
	loop_commands(q);
}

/* Tells the owner that commands wait (command.c decides when). */
void
loop_kick(procq_queue *q)
{
	uint64_t one = 1;

	while (write(q->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

static void
loop_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	procq_queue *q = arg;

	loop_enter(q);
	loop_leave(q);
}

/* In a callback of the loop's own thread, changes are acted on when it
 * ends (loop_leave). */
bool
loop_in_callback(const procq_queue *q)
{
	return q->in_callback && pthread_equal(pthread_self(), q->thread);
}

/* Tells threads waiting on q->cond that tasks finished: once per
 * callback, however many finished in it.  Runs and joins wait for the
 * last task only: they are not woken for each.  A final-task listener. */
void
loop_task_final(procq_handle *t)
{
	procq_queue *q = t->q;

	if (q->finish_waiters == 0 && q->outstanding > 0 &&
	    atomic_load(&q->handle_waiters) == 0)
		return;
	if (loop_in_callback(q))
		q->finish_pending = true;
	else
		loop_broadcast_final(q);
}

/* Has the loop act on a change made outside its callbacks: a command run
 * on the owner's own thread, or the queue's start. */
void
loop_wake(procq_queue *q)
{
	if (!q->thread_running || loop_in_callback(q))
		return;	/* no loop, or loop_leave() will see to it */
	command_wake(q);
}

/* What workers left without waking the loop (transport_ops.collect). */
static void
loop_collect(procq_queue *q)
{
	loop_enter(q);
	q->now = procq_clock_now();
	q->transport->collect(q);
	loop_leave(q);
}

/* A task shorter than this on average is short: the owner looks for its
 * result for up to twice its average before it sleeps
 * (loop_await_results()). */
#define LOOP_AWAIT	50e-6

/*
 * Whether the owner should look for results before it sleeps: a thread
 * waits for tasks that run now, they are short, and a core is free for
 * the owner (fewer workers busy than cores: it never takes a core from
 * a running task).
 */
static bool
loop_worth_awaiting(procq_queue *q)
{
	bool waited;
	int busy;

	if (q->task_time <= 0 || q->task_time > LOOP_AWAIT)
		return false;
	if ((busy = dispatch_busy(q)) == 0 || busy >= q->cpus)
		return false;
	if (atomic_load(&q->handle_waiters) > 0)
		return true;
	pthread_mutex_lock(&q->lock);
	waited = q->finish_waiters > 0;
	pthread_mutex_unlock(&q->lock);
	return waited;
}

/*
 * A thread waits for a short task that runs now: the owner stays awake and
 * looks at the result rings for about two of the task's average time, so
 * that the result costs the worker no write(2) and the owner no wake-up.
 * True when something came; false after the time, or when commands were
 * posted (the loop's eventfd has them).
 */
static bool
loop_await_results(procq_queue *q)
{
	const struct transport_ops *ops = q->transport;
	double until;

	if (!loop_worth_awaiting(q))
		return false;
	until = procq_clock_now() + 2 * q->task_time;
	do {
		if (ops->pending(q))
			return true;
	} while (!command_posted(q) && procq_clock_now() < until);
	return false;
}

/*
 * One round of events at a time, so that the transport hears when the
 * loop sleeps and when it wakes: while the loop is awake, workers need
 * not wake it (a result ring, ring.h), and before it sleeps it looks at
 * what they left.
 */
static void *
loop_main(void *arg)
{
	procq_queue *q = arg;
	const struct transport_ops *ops = q->transport;

	/* So that top -H and debuggers tell it from the caller's threads. */
	pthread_setname_np(pthread_self(), "procq-loop");
	if (ops->sleep == NULL) {
		event_base_loop(q->base, 0);
		return NULL;
	}
	while (!q->loop_ended) {
		if (loop_await_results(q) || !ops->sleep(q)) {
			ops->awake(q);
			loop_collect(q);
			event_base_loop(q->base, EVLOOP_NONBLOCK);
			continue;
		}
		q->dozing = true;
		event_base_loop(q->base, EVLOOP_ONCE);
		if (q->dozing) {	/* woken for no callback of procq's */
			q->dozing = false;
			ops->awake(q);
		}
	}
	return NULL;
}

static void
loop_release(procq_queue *q)
{
	dispatch_release(q);
	if (q->wake_ev != NULL)
		event_free(q->wake_ev);
	if (q->delay_ev != NULL)
		event_free(q->delay_ev);
	if (q->spawn_ev != NULL)
		event_free(q->spawn_ev);
	if (q->rate_ev != NULL)
		event_free(q->rate_ev);
	if (q->stall_ev != NULL)
		event_free(q->stall_ev);
	if (q->wake_fd >= 0)
		close(q->wake_fd);
	if (q->base != NULL && !q->external_base)
		event_base_free(q->base);
	q->wake_ev = q->delay_ev = q->spawn_ev = q->rate_ev = NULL;
	q->stall_ev = NULL;
	q->stall_armed = false;
	q->wake_fd = -1;
	q->base = NULL;
}

/* The supervisor thread takes no signals: those belong to the host. */
static int
loop_spawn_thread(procq_queue *q)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&q->thread, NULL, loop_main, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* Timeouts are promised in milliseconds: ask for a precise clock. */
static struct event_base *
loop_base_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/*
 * Descriptors a new event base opens: epoll's, a timerfd for the precise
 * timer, the pair of its signal handling and, when the caller has made
 * libevent thread-aware, the eventfd that wakes it.
 */
#define LOOP_BASE_FDS 5

/*
 * libevent ends the process (exit(1)) when it cannot open the pair of its
 * signal handling, so a base is created only when that many descriptors
 * are free: fd is duplicated until they are known to be, then the
 * duplicates are closed for the base to take (a thread of the caller
 * that opens descriptors at that very moment can still take them first).
 * -1 with errno set when they are not free.
 */
static int
loop_fds_available(int fd, int n)
{
	int dups[LOOP_BASE_FDS];
	int k, saved, rc = 0;

	for (k = 0; k < n; k++) {
		if ((dups[k] = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
			rc = -1;
			break;
		}
	}
	saved = errno;
	while (k-- > 0)
		close(dups[k]);
	errno = saved;
	return rc;
}

/* Called with q->lock held.  Fails with errno set. */
int
loop_start(procq_queue *q)
{
	int rc, saved;

	q->external_base = q->cfg.event_base != NULL;
	q->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->wake_fd < 0)
		goto fail;
	if (q->external_base)
		q->base = q->cfg.event_base;
	else if (loop_fds_available(q->wake_fd, LOOP_BASE_FDS) == 0)
		q->base = loop_base_new();
	if (q->base == NULL)
		goto fail;
	q->wake_ev = event_new(q->base, q->wake_fd, EV_READ | EV_PERSIST,
	    loop_wake_cb, q);
	q->delay_ev = evtimer_new(q->base, loop_delay_cb, q);
	q->rate_ev = evtimer_new(q->base, loop_delay_cb, q);
	q->spawn_ev = evtimer_new(q->base, loop_delay_cb, q);
	q->stall_ev = evtimer_new(q->base, dispatch_stall_cb, q);
	if (q->wake_ev == NULL || q->delay_ev == NULL || q->rate_ev == NULL ||
	    q->spawn_ev == NULL || q->stall_ev == NULL ||
	    event_add(q->wake_ev, NULL) != 0 || dispatch_start(q) != 0)
		goto fail;
	q->loop_ended = false;
	q->dozing = false;
	if (q->external_base)
		q->thread = pthread_self();	/* the caller runs the loop */
	else if ((rc = loop_spawn_thread(q)) != 0) {
		errno = rc;
		goto fail;
	}
	q->thread_running = true;
	command_own(q, true);
	return 0;
fail:
	saved = errno;
	loop_release(q);
	errno = saved;
	return PROCQ_ESYS;
}

/* On the thread that runs the caller's event loop, outside any hook. */
bool
loop_external_here(const procq_queue *q)
{
	return q->external_base && q->thread_running &&
	    !hook_on_this_thread(q) && pthread_equal(pthread_self(), q->thread);
}

/*
 * Stops the workers at once, without the loop: for a caller's event loop
 * whose own thread shuts procq down, so no callback would come.  Every
 * unfinished task is cancelled.  Called with q->lock held.
 */
static void
loop_teardown_now(procq_queue *q)
{
	command_own(q, false);
	task_cancel_all(q, 0);
	dispatch_teardown(q);
	hook_run(q);
	loop_release(q);
	q->thread_running = false;
	q->state = QUEUE_STOPPED;
	pthread_cond_broadcast(&q->cond);
}

/* The owner stops the workers; the loop ends once they are gone
 * (loop_after()). */
static int
loop_stopping_cmd(procq_queue *q, void *arg)
{
	(void)arg;
	q->state = QUEUE_STOPPING;
	return 0;
}

/*
 * Stops the workers and the supervisor thread, once nothing is
 * outstanding.  Called with q->lock held; drops it while joining.
 */
void
loop_stop(procq_queue *q)
{
	if (loop_external_here(q)) {
		loop_teardown_now(q);
		return;
	}
	pthread_mutex_unlock(&q->lock);
	command_call(q, loop_stopping_cmd, NULL);
	pthread_mutex_lock(&q->lock);
	if (q->external_base) {
		/* The caller's loop reaps the workers and says when. */
		while (q->state != QUEUE_STOPPED)
			pthread_cond_wait(&q->cond, &q->lock);
		return;
	}
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	pthread_mutex_lock(&q->lock);
	q->thread_running = false;
	loop_release(q);
	q->state = QUEUE_STOPPED;
	pthread_cond_broadcast(&q->cond);
}

/* Waits on q->cond; *rc becomes PROCQ_ETIMEDOUT when the deadline passes. */
void
loop_wait(procq_queue *q, const struct timespec *deadline, int *rc)
{
	int err;

	if (deadline == NULL) {
		pthread_cond_wait(&q->cond, &q->lock);
		return;
	}
	err = pthread_cond_timedwait(&q->cond, &q->lock, deadline);
	if (err == ETIMEDOUT && rc != NULL)
		*rc = PROCQ_ETIMEDOUT;
}
