/*
 * The queue (queue.c): the engine's state, owned by the queue and
 * guarded by q->lock (see HACKING.md for who takes it when).
 */
#ifndef PROCQ_QUEUE_H
#define PROCQ_QUEUE_H

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/event.h>
#include <msgpack.h>

#include "procq.h"
#include "heap.h"
#include "clock.h"
#include "command.h"
#include "forkserver.h"
#include "hook.h"
#include "rate.h"
#include "registry.h"
#include "task.h"

struct slot;
struct store;
struct transport_ops;

enum queue_state {
	QUEUE_NEW = 0,
	QUEUE_STARTED,
	QUEUE_STOPPING,		/* workers told to stop; loop about to end */
	QUEUE_STOPPED
};

struct procq_queue {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* a task finished; state moved */
	procq_config		 cfg;
	/* The task functions by name.  On an exec queue the worker program
	 * has the functions and names them in its first hello: until then
	 * names_known is false, and the registry is empty.  It changes
	 * then, on the owner with q->lock and commands.lock both held, so
	 * that a reader holding either one sees it whole. */
	struct registry		 registry;
	bool			 names_known;
	/* Names submitted to an exec queue before they were known, each
	 * kept for the tasks that point to it; changed under
	 * commands.lock. */
	struct registry		 unchecked;
	bool			 first_settled;	/* a worker said hello, or
						 * failed to start */
	char			 spawn_why[256]; /* why the last start
						 * failed, or "" */
	char hostname[256];			 /* where local workers run */
	enum queue_state	 state;
	bool			 closed;	/* no more submissions */
	pid_t			 pid;		/* the creator's process */
	bool			 trace;		/* PROCQ_DEBUG: see trace.c */
	double			 trace_epoch;	/* the queue's creation */
	unsigned		 forkgen;	/* its copy (forkgen.c): a
						 * child forked from it may
						 * not use the queue */

	struct event_base	*base;
	pthread_t		 thread;
	atomic_bool		 thread_running;
	int			 wake_fd;
	bool			 in_callback;	/* the loop is in a callback */
	bool			 dozing;	/* procq's loop waits for events,
						 * workers told to wake it */
	bool			 loop_ended;	/* procq's loop is to return */
	bool			 finish_pending; /* q->cond to be broadcast */
	int			 finish_waiters; /* threads woken by any finish */
	/* procq_handle_wait() sleeps here, not on the engine's lock: the
	 * owner broadcasts after a callback in which tasks became final
	 * while handle_waiters > 0. */
	pthread_mutex_t		 final_lock;
	pthread_cond_t		 final_cond;
	atomic_int		 handle_waiters;
	double			 now;		/* queue_now(), or 0 */
	struct event		*wake_ev;
	struct event		*delay_ev;	/* earliest retry in q->delayed */
	struct event		*spawn_ev;	/* retry after a failed fork */
	struct event		*stall_ev;	/* look for stalled heads */
	bool			 stall_armed;
	int			 spawn_failures;
	double			 spawn_backoff;	/* after a failed initializer */
	double			 spawn_after;	/* no spawn before this time */
	bool			 prewarmed;	/* the first workers were started */
	struct rate_gate	 rate;
	struct event		*rate_ev;	/* the gate reopens */

	struct heap		 ready;		/* by priority, then FIFO */
	struct heap		 delayed;	/* by due time */
	size_t			 nready;	/* live entries of each */
	size_t			 ndelayed;
	const struct transport_ops *transport;	/* how tasks reach slots */
	struct slot		**slots;	/* the transport's */
	struct forkserver	 forkserver;	/* its workers' maker, if the
						 * start method is the server */
	int			 nslots;
	int			 live_workers;
	double			 task_time;	/* average attempt, seconds */
	int			 cpus;		/* online at procq_create() */
	bool			 want_spare;	/* a worker has died */
	int			 spare_failures; /* spares dead before hello */

	struct command_queue	 commands;	/* to the owner: command.c */
	struct task_list	 tasks;		/* every placed handle */
	struct task_list	 dead;		/* to be freed by queue_reap() */
	/* Submitted (counted before posting), not final: written by
	 * posters and the owner, hence atomic. */
	_Atomic size_t		 outstanding;
	uint64_t		 next_seq;
	_Atomic uint64_t	 next_id;	/* taken by posters */
	uint64_t		 id_base;

	procq_result		**results;	/* completion order */
	size_t			 nresults;
	size_t			 results_cap;
	size_t			 run_cursor;	/* first result of this run */
	double			 run_started;
	int			 runs_active;	/* procq_run() calls in flight */
	procq_fail_policy	 run_policy;	/* of the run in flight */

	struct hook_list	 hooks;		/* recorded, not yet run */
	int			 hooks_running;
	uint64_t		 hooks_recorded; /* events ever recorded */
	struct hook_batch	*hooks_batches;	/* being run: hook.h */
	size_t			 tombstones;	/* cancelled tasks in pipes */
	TAILQ_HEAD(, group_gate) gates;
	size_t			 backlogged;	/* tasks in gate backlogs */
	atomic_int		 watchers;	/* groups and iterators alive */

	int			 notify_fd;	/* procq_notify_fd(), or -1 */
	procq_handle		**completions;	/* for procq_poll() */
	size_t			 ncompletions;
	size_t			 completions_cap;
	bool			 external_base;	/* cfg.event_base */
	struct store		*store;		/* cfg.checkpoint's, or NULL */

	/* Told that a task is final: see task_listen(). */
	void			(*final_listeners[TASK_LISTENERS_MAX])
				    (procq_handle *);
	int			 nfinal_listeners;

	msgpack_sbuffer		 sbuf;		/* frames being built */
	msgpack_zone		 zone;		/* frames being decoded */
};

/* A time or rate that must be a number, not negative. */
static inline bool
finite_nonneg(double x)
{
	return isfinite(x) && x >= 0;
}

/*
 * The time for the task events of a callback: a batch of results shares
 * one reading of the clock (the transport's read callback sets q->now,
 * loop_leave() clears it).  Engine code runs on the owner only, so no
 * other thread sees a callback's reading.
 */
static inline double
queue_now(const procq_queue *q)
{
	return q->now > 0 ? q->now : procq_clock_now();
}

bool queue_forked(const procq_queue *q);

/* Its workers run a table of tasks of their own (an exec'd worker
 * program, or workers on other hosts): the names come in their hello. */
static inline bool
queue_names_from_workers(const procq_queue *q)
{
	return q->cfg.start_method == PROCQ_START_EXEC ||
	    q->cfg.transport != NULL;
}
procq_fail_policy queue_fail_policy(const procq_queue *q);
int queue_start_locked(procq_queue *q);
void queue_free_tasks(procq_queue *q);
void queue_clear_results(procq_queue *q);
void queue_reap(procq_queue *q);

#endif
