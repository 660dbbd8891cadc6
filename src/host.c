/*
 * A host of remote workers (host.h).  Its fork server is made when the
 * host opens, which libprocq-mpi does before MPI starts threads of its
 * own; every worker is forked from it with the setup the supervisor sent
 * (server.c reads it) and the program's table of tasks, and is reaped
 * through it.  The host relays nothing itself: the caller moves the
 * bytes of the pipes and watches the pidfds.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "board.h"
#include "channel.h"
#include "forkserver.h"
#include "host.h"
#include "protocol.h"
#include "registry.h"
#include "../worker/worker.h"

struct procq__host {
	struct registry		 registry;
	const char		**names;
	/* What a worker started without a setup runs under: the
	 * defaults.  Its template must point at one (limits.c reads it). */
	procq_config		 cfg;
	struct worker_ctx	 tmpl;
	struct forkserver	 server;
};

struct procq__host *
procq__host_open(const procq_worker_task *tasks, int *err)
{
	struct procq__host *h;
	int rc;

	if (tasks == NULL) {
		*err = PROCQ_EINVAL;
		return NULL;
	}
	if ((h = calloc(1, sizeof *h)) == NULL) {
		*err = PROCQ_ENOMEM;
		return NULL;
	}
	registry_init(&h->registry);
	forkserver_init(&h->server);
	h->tmpl.registry = &h->registry;
	h->tmpl.config = &h->cfg;
	h->tmpl.max_frame = CHANNEL_MAX_FRAME;
	h->tmpl.parent = getpid();
	h->tmpl.in_fd = h->tmpl.out_fd = h->tmpl.err_fd = -1;
	h->tmpl.board_fd = -1;
	rc = worker_task_table(tasks, &h->registry, &h->names, &h->tmpl);
	if (rc == 0 && forkserver_open(&h->server, &h->tmpl) != 0)
		rc = PROCQ_ESYS;
	if (rc != 0) {
		procq__host_close(h);
		*err = rc;
		return NULL;
	}
	*err = 0;
	return h;
}

static void
host_close_pair(int fds[2])
{
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* 0, or -1 with errno set. */
int
procq__host_spawn(struct procq__host *h, const char *setup,
    struct procq__host_worker *hw)
{
	int down[2] = { -1, -1 }, up[2] = { -1, -1 }, err[2] = { -1, -1 };
	struct worker_ctx ctx = h->tmpl;
	struct board board;
	int saved;
	pid_t pid = -1;

	memset(&board, 0, sizeof board);
	board.fd = -1;
	if (pipe2(down, O_CLOEXEC) != 0 || pipe2(up, O_CLOEXEC) != 0 ||
	    pipe2(err, O_CLOEXEC) != 0 || board_open(&board) != 0)
		goto fail;
	ctx.in_fd = down[0];
	ctx.out_fd = up[1];
	ctx.err_fd = err[1];
	ctx.board_fd = board.fd;
	pid = forkserver_spawn(&h->server, &ctx, setup);
	if (pid < 0)
		goto fail;
	close(down[0]);
	close(up[1]);
	close(err[1]);
	board_close(&board);
	hw->pid = pid;
	hw->in_fd = down[1];
	hw->out_fd = up[0];
	hw->err_fd = err[0];
#ifdef SYS_pidfd_open
	hw->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
	hw->pidfd = -1;
#endif
	if (hw->pidfd < 0) {
		saved = errno;
		procq__host_signal(h, pid, SIGKILL);
		procq__host_reap(h, pid, &(int){ 0 }, &(struct rusage){ 0 });
		close(hw->in_fd);
		close(hw->out_fd);
		close(hw->err_fd);
		errno = saved;
		return -1;
	}
	return 0;
fail:
	saved = errno;
	host_close_pair(down);
	host_close_pair(up);
	host_close_pair(err);
	if (board.fd >= 0 || board.cells != NULL)
		board_close(&board);
	errno = saved;
	return -1;
}

/* The worker and the process group it made at start. */
void
procq__host_signal(struct procq__host *h, pid_t pid, int sig)
{
	(void)h;
	if (pid <= 0)
		return;
	kill(pid, sig);
	kill(-pid, sig);
}

int
procq__host_reap(struct procq__host *h, pid_t pid, int *status,
    struct rusage *ru)
{
	kill(-pid, SIGKILL); /* what its tasks started */
	return forkserver_reap(&h->server, pid, status, ru);
}

void
procq__host_close(struct procq__host *h)
{
	if (h == NULL)
		return;
	forkserver_close(&h->server);
	registry_release(&h->registry);
	free(h->names);
	free(h);
}

int
procq__setup_failed_frame(msgpack_sbuffer *sb, const char *why)
{
	return protocol_encode_setup_failed(sb, UINT32_MAX, why) == 0 ? 0 : -1;
}
