/*
 * Private structures of the supervisor.  Engine state belongs to the queue
 * and is guarded by q->lock: the supervisor thread takes it in every event
 * callback, API calls take it from any thread.
 */
#ifndef PROCQ_INTERNAL_H
#define PROCQ_INTERNAL_H

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "procq.h"
#include "board.h"
#include "heap.h"
#include "hook.h"
#include "rate.h"
#include "registry.h"
#include "channel.h"
#include "protocol.h"
#include "../worker/worker.h"

/* Where an unfinished task lives: exactly one place at a time. */
enum task_place {
	PLACE_NONE = 0,
	PLACE_READY,		/* in q->ready */
	PLACE_DELAYED,		/* in q->delayed, waiting for a retry delay */
	PLACE_WORKER,		/* in flight on t->worker */
	PLACE_BACKLOG,		/* in t->gate's backlog: its group is full */
	PLACE_FUTURE,		/* a future, waiting to be completed */
	PLACE_DONE		/* finished: t->result is set */
};

/* Someone waiting for handles to finish (procq_wait, as_completed,
 * groups): told the position of each handle as it becomes final. */
struct waiter {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	size_t			*ready;		/* positions, completion order */
	size_t			 nready;
	size_t			 cap;
	size_t			 failed;	/* how many ended FAILED */
};

struct waiter_link {
	struct waiter_link	*next;
	struct waiter		*waiter;
	size_t			 pos;
};

struct done_cb {
	struct done_cb		*next;
	procq_done_fn		 fn;
	void			*arg;
};

/* A group's admission control: concurrency and rate.  Owned by the queue,
 * since its tasks may outlive the procq_group; freed once the group is
 * freed and no unfinished task points at it (a final task never does). */
struct group_gate {
	TAILQ_ENTRY(group_gate)	 link;
	int			 limit;		/* 0 = no limit */
	int			 admitted;
	bool			 orphaned;	/* its group was freed */
	bool			 releasing;	/* in gate_release() */
	struct rate_gate	 rate;
	TAILQ_HEAD(, procq_handle) backlog;
};

struct procq_result {
	atomic_int		 refs;
	procq_status		 status;
	procq_error_kind	 kind;
	int			 attempts;
	int			 exit_status;
	int			 signal;
	double			 duration;
	double			 started;	/* monotonic; 0 if it never ran */
	double			 finished;	/* monotonic */
	const char		*id;
	const char		*name;
	const char		*task;
	const char		*group;
	const char		*error_type;
	const char		*error_message;
	bool			 detached;
	const char		*metadata;
	size_t			 metadata_len;
	const char		*output;	/* the worker's stderr, crashes */
	size_t			 output_len;
	const char		*value_data;	/* raw msgpack, or NULL */
	size_t			 value_len;
	msgpack_object		 value;
	msgpack_zone		*zone;		/* only for arrays and maps */
};

struct worker;

/*
 * One per submitted task, and kept small: a million may be queued.  The
 * argument bytes follow it in the same allocation.
 *
 * A handle is freed before the queue only once nothing points at it: the
 * caller released it, it is final, no worker's list has it, and holds is
 * zero.  Every other pointer kept beyond a call is counted in holds: each
 * heap entry (even one left behind), each pending hook event, each waiter
 * watching it (procq_wait, iterators, groups).
 */
struct procq_handle {
	procq_queue			*q;
	TAILQ_ENTRY(procq_handle)	 all_link;
	/* A worker's in-flight list, a gate's backlog, or, once the task
	 * can be freed, q->dead: never two at once. */
	TAILQ_ENTRY(procq_handle)	 worker_link;
	uint64_t			 seq;		/* FIFO order in the heap */
	uint64_t			 wire_id;
	double				 due;		/* retry time, monotonic */
	double				 started;	/* first attempt began */
	const struct registry_entry	*entry;
	const char			*name;		/* entry's, or owned */
	char				*group;
	double				 retry_delay;
	double				 backoff;
	double				 timeout;
	char				*metadata;
	size_t				 metadata_len;
	struct worker			*worker;
	struct group_gate		*gate;
	struct waiter_link		*waiters;
	struct done_cb			*callbacks;
	char				*progress;	/* latest report */
	size_t				 progress_len;
	procq_result			*result;
	int				 priority;
	int				 retries;
	int				 attempts;
	procq_status			 status;
	enum task_place			 place;
	uint32_t			 args_len;
	uint16_t			 holds;		/* see above */
	unsigned			 admitted : 1;	/* counted by gate */
	unsigned			 future : 1;
	unsigned			 cancel_requested : 1;
	unsigned			 cancel_sent : 1;
	unsigned			 tombstone : 1;	/* cancelled, still in a
							 * worker's pipe */
	unsigned			 must_complete : 1;
	unsigned			 detached : 1;
	unsigned			 name_owned : 1;
	unsigned			 released : 1;	/* the caller let go */
	unsigned			 polled : 1;	/* in q->completions */
	unsigned			 dead : 1;	/* in q->dead */
	short				 slot;		/* on the worker's board,
							 * or -1 */
	char				 id[17];
	char				 args[];	/* msgpack array */
};
TAILQ_HEAD(task_list, procq_handle);

/* What a worker with a memory limit said as it died (a LIMIT frame). */
enum memory_report {
	MEMORY_UNSAID = 0,
	MEMORY_EXHAUSTED,	/* its address space was (nearly) used up */
	MEMORY_ALLOC_FAILED	/* an allocation had just failed */
};

enum worker_state {
	WORKER_EMPTY = 0,	/* no process in this slot */
	WORKER_LIVE,		/* takes tasks */
	WORKER_DYING		/* killed or lost; waiting to be reaped */
};

struct worker {
	procq_queue		*q;
	enum worker_state	 state;
	pid_t			 pid;
	int			 pidfd;
	struct channel		 ch;		/* tasks out, results in */
	int			 err_fd;	/* the worker's stderr, or -1 */
	struct event		*err_ev;
	char			*tail;		/* the end of its stderr */
	size_t			 tail_len;
	size_t			 err_dropped;	/* this attempt's stderr bytes
						 * fd 2 could not take */
	bool			 hello;
	bool			 eof;
	bool			 spare;		/* ready, given no tasks */
	bool			 was_regular;	/* ran tasks, then the spare
						 * took its place */
	struct event		*read_ev;
	struct event		*write_ev;
	struct event		*pid_ev;
	struct event		*timeout_ev;	/* the running attempt's */
	struct event		*kill_ev;	/* SIGTERM grace, EOF grace */
	struct task_list	 inflight;	/* head = the running task */
	struct board		 board;		/* claims on tasks sent ahead */
	double			 head_since;	/* when the head started */
	int			 ninflight;
	int			 dispatched;	/* tasks ever handed to it */
	enum memory_report	 memory;	/* what it said of its limit */
	bool			 reaped_elsewhere; /* status unknown */
	bool			 setup_failed;	/* never became a worker */
	bool			 stalled;	/* its head runs long */
	bool			 has_last;
	uint64_t		 last_id;	/* of the last task it ended */
	/* Why this worker is being killed, and for which task. */
	procq_error_kind	 kill_kind;
	procq_handle		*kill_target;
	char			 kill_type[64];
	char			 kill_message[256];
};

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
	struct registry		 registry;
	enum queue_state	 state;
	bool			 closed;	/* no more submissions */
	pid_t			 pid;		/* the creator's process */
	unsigned		 forkgen;	/* its copy (forkgen.c): a
						 * child forked from it may
						 * not use the queue */

	struct event_base	*base;
	pthread_t		 thread;
	atomic_bool		 thread_running;
	int			 wake_fd;
	bool			 wake_pending;
	bool			 in_callback;	/* the loop is in a callback */
	bool			 finish_pending; /* q->cond to be broadcast */
	int			 finish_waiters; /* threads woken by any finish */
	double			 now;		/* loop_now(), or 0 */
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
	struct worker		*workers;
	int			 nworkers;
	int			 live_workers;
	double			 task_time;	/* average attempt, seconds */
	bool			 want_spare;	/* a worker has died */
	int			 spare_failures; /* spares dead before hello */

	struct task_list	 tasks;		/* every handle, for free */
	struct task_list	 dead;		/* to be freed by queue_reap() */
	size_t			 outstanding;	/* submitted, not final */
	uint64_t		 next_seq;
	uint64_t		 next_id;
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
	size_t			 tombstones;	/* cancelled tasks in pipes */
	TAILQ_HEAD(, group_gate) gates;
	size_t			 backlogged;	/* tasks in gate backlogs */
	int			 watchers;	/* groups and iterators alive */

	int			 notify_fd;	/* procq_notify_fd(), or -1 */
	procq_handle		**completions;	/* for procq_poll() */
	size_t			 ncompletions;
	size_t			 completions_cap;
	bool			 external_base;	/* cfg.event_base */

	msgpack_sbuffer		 sbuf;		/* frames being built */
	msgpack_zone		 zone;		/* frames being decoded */
};

/* A time or rate that must be a number, not negative. */
static inline bool
finite_nonneg(double x)
{
	return isfinite(x) && x >= 0;
}

/* pack.c */
int procq_format_count(const char *fmt);

/* result.c */
procq_result *result_new(const procq_handle *t, procq_status status,
    const procq_error *err, const char *value, size_t value_len,
    double duration);
procq_result *result_ref(procq_result *r);
void result_unref(procq_result *r);

/* summary.c */
procq_summary *summary_new(procq_result **results, size_t n,
    double duration);

/* task.c */
procq_handle *task_new(procq_queue *q, const struct registry_entry *entry,
    const void *args, size_t args_len, const procq_opts *opts);
void task_free(procq_handle *t);
void task_format_id(procq_handle *t);
int task_enqueue(procq_handle *t);
void task_requeue(procq_handle *t);
extern const procq_error task_cancelled;
void task_unplace(procq_handle *t);
void task_unlink(procq_handle *t);
void task_finish(procq_handle *t, procq_status status,
    const procq_error *err, const char *value, size_t value_len);
void task_attempt_failed(procq_handle *t, const procq_error *err);
void task_cancel(procq_handle *t);
/* What task_cancel_all() leaves alone. */
#define CANCEL_SPARE_MUST_COMPLETE	0x1
#define CANCEL_SPARE_FUTURES		0x2
void task_cancel_all(procq_queue *q, unsigned spare);
procq_handle *task_ready_pop(procq_queue *q);
procq_handle *task_delayed_top(procq_queue *q);
void task_hold(procq_handle *t);
void task_unhold(procq_handle *t);
void task_collect(procq_handle *t);

/* queue.c */
bool queue_forked(const procq_queue *q);
procq_fail_policy queue_fail_policy(const procq_queue *q);
int queue_start_locked(procq_queue *q);
void queue_free_tasks(procq_queue *q);
void queue_clear_results(procq_queue *q);
void queue_reap(procq_queue *q);

/* wait.c */
int waiter_init(struct waiter *w);
void waiter_release(struct waiter *w);
void waiter_watch(struct waiter *w, procq_handle *h, size_t pos);
void waiter_unwatch(struct waiter *w, procq_handle *h);
void waiter_notify_all(procq_handle *t);

/* group.c */
int gate_admit_or_hold(procq_handle *t);
void gate_finished(procq_handle *t);
void gates_free(procq_queue *q);

/* notify.c */
void notify_completion(procq_handle *t);
void notify_forget(procq_handle *t);
void notify_release(procq_queue *q);

/* submit.c */
int submit_locked(procq_queue *q, const char *name, const void *args,
    size_t args_len, const procq_opts *opts, double timeout,
    struct group_gate *gate, procq_handle **handle);
int submit_prepare(procq_queue *q, const void **args, size_t *args_len,
    const procq_opts **opts, double timeout);
/* An argument tuple being packed; see pack_tuple(). */
struct tuple_buf {
	char	*data;
	size_t	 size;
	size_t	 cap;
	char	 local[256];
};
int pack_tuple(struct tuple_buf *tb, const char *fmt, va_list ap);
void tuple_buf_release(struct tuple_buf *tb);

/* hook.c */
void hook_start(procq_handle *t);
void hook_complete(procq_handle *t);
void hook_retry(procq_handle *t, const procq_error *err);
void hook_done(procq_handle *t, procq_done_fn fn, void *arg);
void hook_progress(procq_handle *t, const char *data, size_t len);
bool hook_pending(const procq_queue *q);
bool hook_on_this_thread(const procq_queue *q);
void hook_run(procq_queue *q);
void hook_discard(procq_queue *q);

/* loop.c */
int loop_start(procq_queue *q);
void loop_wake(procq_queue *q);
bool loop_in_callback(const procq_queue *q);
double loop_now(procq_queue *q);
void loop_signal_finished(procq_queue *q);
void loop_stop(procq_queue *q);
void loop_after(procq_queue *q);
void loop_leave(procq_queue *q);
void loop_enter(procq_queue *q);
bool loop_on_thread(const procq_queue *q);
bool loop_external_here(const procq_queue *q);
void queue_unlock(procq_queue *q);
void loop_wait(procq_queue *q, const struct timespec *deadline, int *rc);

/* stderr.c */
int stderr_open(struct worker *w);
void stderr_drain(struct worker *w);
const char *stderr_report(struct worker *w, size_t *len);
void stderr_close(struct worker *w);

/* pool.c */
int pool_init(procq_queue *q);
void pool_release(procq_queue *q);
void pool_forget(procq_queue *q);
void pool_fill(procq_queue *q);
void pool_stop(procq_queue *q);
void pool_kill(struct worker *w, procq_error_kind kind,
    procq_handle *target, const char *message);
void pool_lost(struct worker *w);
void pool_init_failed(struct worker *w, const char *type,
    const char *message);
void pool_retire(procq_queue *q);
void pool_reap_now(struct worker *w);
void pool_signal(struct worker *w, int sig);
void pool_requeue(procq_handle *t, bool started);
void pool_setup_failed(struct worker *w, const char *message);

/* dispatch.c */
void dispatch_run(procq_queue *q);
int dispatch_direct(procq_queue *q, procq_handle *t);
void dispatch_send_cancels(procq_queue *q);
void dispatch_drain(struct worker *w);
void dispatch_read_cb(evutil_socket_t fd, short what, void *arg);
void dispatch_write_cb(evutil_socket_t fd, short what, void *arg);
void dispatch_flush(struct worker *w);
void dispatch_flush_all(procq_queue *q);
void dispatch_head_started(struct worker *w);
void dispatch_stall_cb(evutil_socket_t fd, short what, void *arg);

#endif
