/*
 * The worker pool (pool.c): the supervisor's record of each worker
 * process, and forking, killing and reaping them; a worker's standard
 * error (stderr.c).
 */
#ifndef PROCQ_POOL_H
#define PROCQ_POOL_H

#include <stdbool.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "procq.h"
#include "board.h"
#include "channel.h"
#include "task.h"

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

int stderr_open(struct worker *w);
void stderr_drain(struct worker *w);
const char *stderr_report(struct worker *w, size_t *len);
void stderr_close(struct worker *w);

#endif
