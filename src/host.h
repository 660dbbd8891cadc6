/*
 * A host of remote workers: the far side of a transport (remote.h), in
 * the process that runs them (libprocq-mpi's node agent).  Not public
 * API: the procq__ names are shared with libprocq-mpi only, which is
 * built and installed with this library.
 */
#ifndef PROCQ_HOST_H
#define PROCQ_HOST_H

#include <sys/resource.h>
#include <sys/types.h>

#include <msgpack.h>

#include "procq.h"

struct procq__host;

/* A worker started: the ends of its pipes on this side. */
struct procq__host_worker {
	pid_t			 pid;
	int			 in_fd;		/* write its tasks here */
	int			 out_fd;	/* read its results */
	int			 err_fd;	/* read its stderr */
	int			 pidfd;		/* readable once it is dead */
};

struct procq__host *procq__host_open(const procq_worker_task *tasks, int *err);
int procq__host_spawn(struct procq__host *h, const char *setup,
    struct procq__host_worker *hw);
void procq__host_signal(struct procq__host *h, pid_t pid, int sig);
int procq__host_reap(struct procq__host *h, pid_t pid, int *status,
    struct rusage *ru);
void procq__host_close(struct procq__host *h);

/*
 * The frame a worker that cannot start writes in place of its hello,
 * saying why, appended to sb: for the supervisor's side of a transport
 * that learns of such a worker from its host (libprocq-mpi's link).  0,
 * or -1 out of memory.
 */
int procq__setup_failed_frame(msgpack_sbuffer *sb, const char *why);

#endif
