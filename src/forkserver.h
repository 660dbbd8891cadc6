/*
 * The fork server (start method PROCQ_START_FORKSERVER): one small
 * single-threaded process, forked from the caller when the queue starts,
 * before procq's loop thread exists, that forks every worker after that.
 * The supervisor hands it a new worker's pipes and board over a Unix
 * socket (SCM_RIGHTS) and gets the worker's pid back; when the worker has
 * died it asks the server to reap it and gets its wait status back.
 * Workers are the server's children, so their pids stay procq's until
 * the supervisor has asked for them to be reaped.
 */
#ifndef PROCQ_FORKSERVER_H
#define PROCQ_FORKSERVER_H

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

struct worker_ctx;

struct forkserver {
	pid_t		pid;		/* 0 when there is none */
	int		pidfd;		/* the server's, or -1 */
	int		sock;		/* the supervisor's end, or -1 */
	unsigned	gen;		/* servers made so far: whose child a
					 * worker is */
};

/* The wire between the two: one request, one reply, each a datagram. */
enum forkserver_op {
	FORKSERVER_SPAWN = 1,	/* fds: in, out, board, and stderr if any */
	FORKSERVER_REAP		/* pid: a worker that has been SIGKILLed */
};

/* A remote worker's setup (remote.h) travels with its spawn request. */
#define FORKSERVER_SETUP_MAX 1024

struct forkserver_request {
	int	op;
	pid_t	pid;
	char setup[FORKSERVER_SETUP_MAX]; /* "" = the server's own */
};

struct forkserver_reply {
	pid_t		pid;		/* the new worker, or the reaped one */
	int		error;		/* errno of a failed fork or wait */
	int		status;		/* wait status of a reaped worker */
	struct rusage	ru;
};

void forkserver_init(struct forkserver *fs);
int forkserver_open(struct forkserver *fs, const struct worker_ctx *tmpl);
int forkserver_restart(struct forkserver *fs, const struct worker_ctx *tmpl);
pid_t forkserver_spawn(struct forkserver *fs, const struct worker_ctx *ctx,
    const char *setup);
int forkserver_reap(struct forkserver *fs, pid_t pid, int *status,
    struct rusage *ru);
bool forkserver_alive(const struct forkserver *fs);
void forkserver_close(struct forkserver *fs);
void forkserver_forget(struct forkserver *fs);

/* worker/server.c: the server's side, in the forked child. */
void forkserver_main(int sock, const struct worker_ctx *tmpl)
    __attribute__((noreturn));

#endif
