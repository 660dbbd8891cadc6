/*
 * Workers on other hosts (procq_config.transport): what the pool (pool.c)
 * asks of a library that carries a worker's bytes to another host and
 * back (libprocq-mpi).  To the pool a remote worker is a local one
 * without a process of its own here: three pipes on this side (tasks
 * down, results and standard error up), whose other ends the transport
 * relays to the worker's host, and a descriptor that becomes readable
 * once the worker is dead, in place of its pidfd.  Frames, windows,
 * timeouts and crash reports stay the pool's.
 *
 * The ops are called on the queue's loop thread with q->lock held; a
 * transport does its own work on a thread of its own.
 */
#ifndef PROCQ_REMOTE_H
#define PROCQ_REMOTE_H

#include <sys/resource.h>

#include "procq.h"

/* A worker to start: the transport keeps copies (dup) of the
 * descriptors it relays; the pool closes its own. */
struct remote_spawn {
	int			 in_fd;		/* read: the worker's tasks */
	int			 out_fd;	/* written: its results */
	int			 err_fd;	/* written: its stderr, or -1 */
	const char *setup; /* its setup (spawn_setup()) */
};

/* A worker started. */
struct remote_worker {
	long			 id;		/* > 0: the transport's name */
	int			 death_fd;	/* readable once dead; the
						 * pool closes it */
	int			 rank;
	const char		*host;		/* as long as the transport */
};

struct procq_transport {
	const char		*name;
	/* How many hosts run workers: a queue has config.workers on each. */
	int (*hosts)(void);
	/* Starts a worker on the host with the fewest.  0, or -1 with
	 * errno set. */
	int (*spawn)(const struct remote_spawn *rs, struct remote_worker *rw);
	/* Signals the worker and its process group on its host. */
	void (*signal)(long id, int sig);
	/* Waits until the worker is dead (its death_fd readable, or
	 * signal(SIGKILL) sent) for its wait status and usage, then forgets
	 * it.  0, or -1 when the status is unknown (its host is gone). */
	int (*reap)(long id, int *status, struct rusage *ru);
};

#endif
