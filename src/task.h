/*
 * Tasks: the handle of each submitted task, where an unfinished one
 * waits, and the one place a task is finished (task.c).
 */
#ifndef PROCQ_TASK_H
#define PROCQ_TASK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "procq.h"
#include "registry.h"
#include "state.h"

struct group_gate;
struct waiter;
struct slot;
struct task_checkpoint;

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

/* How many modules may listen for final tasks (task_listen()). */
#define TASK_LISTENERS_MAX	8

/*
 * What few tasks have, kept apart so that their handles stay small: made
 * with the task when it has metadata or a checkpoint key, or by its
 * first progress report (task_extra()).  Written before the task is
 * posted, or by the owner under q->lock.
 */
struct task_extra {
	char *metadata;
	size_t metadata_len;
	char *progress; /* latest report */
	size_t progress_len;
	struct task_checkpoint *checkpoint; /* with a store only */
	struct group_gate **groups;	/* groups with a policy it is in */
	size_t ngroups;
	char *cancel_reason;		/* why its group cancelled it */
};

/*
 * One per submitted task, and kept small: a million may be queued.  The
 * argument bytes follow it in the same allocation.
 *
 * A handle is freed before the queue only once nothing points at it: the
 * caller released it, it is final, no slot's list has it, and holds is
 * zero.  Every other pointer kept beyond a call is counted in holds: each
 * heap entry (even one left behind), each pending hook event, each waiter
 * watching it (procq_wait, iterators, groups).
 */
struct procq_handle {
	procq_queue			*q;
	TAILQ_ENTRY(procq_handle)	 all_link;
	/* A slot's in-flight list, a gate's backlog, or, once the task
	 * can be freed, q->dead: never two at once. */
	TAILQ_ENTRY(procq_handle)	 worker_link;
	uint64_t			 seq;		/* FIFO order in the heap */
	uint64_t			 wire_id;
	double				 due;		/* retry time, monotonic */
	double				 started;	/* first attempt began */
	double				 created;	/* submitted: wall clock */
	const struct registry_entry	*entry;
	const char			*name;		/* entry's, or owned */
	char				*group;
	double				 retry_delay;
	double				 backoff;
	double				 timeout;
	struct task_extra *extra; /* or NULL: see above */
	struct slot			*slot;		/* sent to it */
	const char *host; /* where its last attempt
							 * ran (the slot's), or
							 * NULL */
	struct group_gate		*gate;
	struct waiter_link		*waiters;
	struct done_cb *callbacks;
	procq_result *result;
	int				 priority;
	int				 retries;
	int				 attempts;
	enum task_state			 state;		/* only task_move() sets
							 * it: see state.c */
	/* procq_status, published by task_move() for threads that read
	 * it without the lock; a final one is stored after the result. */
	_Atomic unsigned char		 status;
	/* Options that never change after the submit: read by any thread
	 * without the lock, so not bits of a word the owner writes. */
	bool				 must_complete;
	bool				 detached;
	uint32_t			 args_len;
	uint16_t			 holds;		/* see above */
	unsigned			 admitted : 1;	/* counted by gate */
	unsigned			 future : 1;
	unsigned			 cancel_requested : 1;
	unsigned			 cancel_sent : 1;
	unsigned			 tombstone : 1;	/* cancelled, still on a
							 * slot */
	unsigned			 name_owned : 1;
	unsigned			 released : 1;	/* the caller let go */
	unsigned			 polled : 1;	/* in q->completions */
	unsigned			 dead : 1;	/* in q->dead */
	unsigned			 shielded : 1;	/* in a shielded group */
	short				 claim;		/* the transport's ticket
							 * to take it back, or -1 */
	short rank;					/* and on which rank */
	char				 id[17];
	char				 args[];	/* msgpack array */
};
TAILQ_HEAD(task_list, procq_handle);

procq_handle *task_new(procq_queue *q, const struct registry_entry *entry,
    const void *args, size_t args_len, const procq_opts *opts);
void task_free(procq_handle *t);
struct task_extra *task_extra(procq_handle *t);
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
#define CANCEL_SPARE_SHIELDED		0x4
void task_cancel_all(procq_queue *q, unsigned spare);
procq_handle *task_ready_pop(procq_queue *q);
procq_handle *task_delayed_top(procq_queue *q);
void task_hold(procq_handle *t);
void task_unhold(procq_handle *t);
void task_collect(procq_handle *t);
void task_listen(procq_queue *q, void (*fn)(procq_handle *t));

/* The status published by the owner, and whether it is final: safe from
 * any thread without the lock.  Once final, the result and the attempt
 * count no longer change. */
static inline procq_status
task_published(const procq_handle *t)
{
	return (procq_status)atomic_load_explicit(
	    &((procq_handle *)t)->status, memory_order_acquire);
}

static inline bool
task_status_final(procq_status s)
{
	return s >= PROCQ_SUCCEEDED;
}

#endif
