/*
 * The forked-pipe transport's own: its record of each worker process,
 * shared by its files only (transport_local.c: the ops and what goes
 * out; transport_local_read.c: what comes back; pool.c: forking and
 * killing; pool_reap.c: reaping; stderr.c: a worker's standard error).
 * The engine sees a worker only as the struct slot inside it
 * (transport.h).
 */
#ifndef PROCQ_TRANSPORT_LOCAL_H
#define PROCQ_TRANSPORT_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "procq.h"
#include "board.h"
#include "channel.h"
#include "ring.h"
#include "transport.h"

/* What a worker with a memory limit said as it died (a LIMIT frame). */
enum memory_report {
	MEMORY_UNSAID = 0,
	MEMORY_EXHAUSTED,	/* its address space was (nearly) used up */
	MEMORY_ALLOC_FAILED	/* an allocation had just failed */
};

struct worker {
	struct slot		 slot;		/* the engine's view of it */
	pid_t			 pid;
	int			 pidfd;
	unsigned		 server_gen;	/* its fork server's, if any */
	struct channel		 ch;		/* tasks out, results in */
	int			 err_fd;	/* the worker's stderr, or -1 */
	struct event		*err_ev;
	char			*tail;		/* the end of its stderr */
	size_t			 tail_len;
	size_t			 err_dropped;	/* this attempt's stderr bytes
						 * fd 2 could not take */
	bool			 eof;
	bool			 was_regular;	/* ran tasks, then the spare
						 * took its place */
	struct event		*read_ev;
	struct event		*write_ev;
	struct event		*pid_ev;
	struct event		*kill_ev;	/* SIGTERM grace, EOF grace */
	struct event		*hello_ev;	/* the spawn timeout */
	struct board		 board;		/* claims on tasks sent ahead */
	struct ring_reader	 ring;		/* frames left in the board's
						 * file; none if remote */
	bool			 in_ring;	/* acting on the ring's frames */
	bool			 ring_due;	/* its records up to ring_before
						 * come after the pipe's */
	uint64_t		 ring_before;	/* its ring's tail before the
						 * pipe was read */
	enum memory_report	 memory;	/* what it said of its limit */
	bool			 reaped_elsewhere; /* status unknown */
	bool			 setup_failed;	/* never became a worker */
	bool			 leaving;	/* said why, and leaves */
	bool			 has_last;
	uint64_t		 last_id;	/* of the last task it ended */
	/* Why this worker is being killed, and for which task (by wire id:
	 * the task may be gone by the time the worker is reaped). */
	procq_error_kind	 kill_kind;
	bool			 kill_targeted;
	uint64_t		 kill_target;
	char			 kill_type[64];
	char			 kill_message[256];
};

static inline struct worker *
local_worker(struct slot *s)
{
	return (struct worker *)((char *)s - offsetof(struct worker, slot));
}

/* transport_local.c */
void local_started(struct worker *w, procq_handle *t);
void local_flush(struct worker *w);
void local_write_cb(evutil_socket_t fd, short what, void *arg);

/* transport_local_read.c */
void local_frames(struct worker *w);
void local_ring(struct worker *w, uint64_t tail);
void local_drain(struct worker *w);
void local_read_cb(evutil_socket_t fd, short what, void *arg);

/* pool.c */
int pool_open(procq_queue *q);
bool pool_owns(const struct worker *w);
void pool_close(struct worker *w);
void pool_spawn_failed(procq_queue *q, const char *why);
void pool_first_settled(procq_queue *q);
void pool_release(procq_queue *q);
void pool_forget(procq_queue *q);
void pool_fill(procq_queue *q);
void pool_kill(struct worker *w, procq_error_kind kind,
    procq_handle *target, const char *message);
void pool_dismiss(struct worker *w);
void pool_end_now(struct worker *w);
void pool_lost(struct worker *w);
void pool_init_failed(struct worker *w, const char *type,
    const char *message);
void pool_setup_failed(struct worker *w, const char *message);
void pool_signal(struct worker *w, int sig);

/* pool_reap.c */
void pool_reap(struct worker *w);

/* stderr.c */
int stderr_open(struct worker *w);
void stderr_drain(struct worker *w);
const char *stderr_report(struct worker *w, size_t *len);
void stderr_close(struct worker *w);

#endif
