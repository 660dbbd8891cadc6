/*
 * The fork server's side (src/forkserver.h): a plain blocking loop in a
 * single-threaded child of the caller, forking workers and reaping them
 * when the supervisor asks.  It never runs task code, allocates nothing
 * after it starts, and ends when the supervisor's end of its socket
 * closes: with the queue, or with the caller's process.  Its workers
 * then see their parent die, and take their process groups down.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker.h"
#include "../src/forkserver.h"

/* The server keeps its socket and the standard descriptors, which its
 * workers inherit; nothing else of the caller's. */
static void
server_close_fds(int sock)
{
#ifdef HAVE_CLOSE_RANGE
	if ((sock <= 3 || close_range(3, (unsigned)sock - 1, 0) == 0) &&
	    close_range((unsigned)sock + 1, ~0U, 0) == 0)
		return;
#endif
	for (long fd = 3, max = sysconf(_SC_OPEN_MAX); fd < max; fd++) {
		if (fd != sock)
			close((int)fd);
	}
}

static void
server_reply(int sock, const struct forkserver_reply *reply)
{
	if (send(sock, reply, sizeof *reply, MSG_NOSIGNAL) !=
	    (ssize_t)sizeof *reply)
		worker_exit(0);	/* the supervisor is gone */
}

static void
server_close_all(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* In a new remote worker (remote.h): the supervisor's setup in place of
 * the server's, with the server's table of tasks. */
static void
server_worker(const struct worker_ctx *ctx, const char *setup)
{
	static struct worker_setup ws;

	if (*setup == '\0')
		worker_main(ctx);
	memset(&ws, 0, sizeof ws);
	if (!worker_setup_parse(&ws, setup))
		worker_setup_failed(ctx->out_fd, "a remote worker's setup",
		    EINVAL);
	ws.ctx.parent = ctx->parent;
	ws.ctx.in_fd = ctx->in_fd;
	ws.ctx.out_fd = ctx->out_fd;
	ws.ctx.err_fd = ctx->err_fd;
	ws.ctx.board = NULL;
	ws.ctx.board_fd = ctx->board_fd;
	ws.ctx.registry = ctx->registry;
	ws.ctx.names = ctx->names;
	ws.ctx.nnames = ctx->nnames;
	ws.cfg.start_method = PROCQ_START_FORKSERVER;
	ws.ctx.config = &ws.cfg;
	worker_main(&ws.ctx);
}

static void
server_spawn(int sock, const struct worker_ctx *tmpl, const char *setup,
    const int *fds, int n)
{
	struct forkserver_reply reply = { 0 };
	struct worker_ctx ctx = *tmpl;
	pid_t pid;

	if (n < 3) {
		server_close_all(fds, n);
		reply.error = EPROTO;
		server_reply(sock, &reply);
		return;
	}
	ctx.parent = getpid();
	ctx.in_fd = fds[0];
	ctx.out_fd = fds[1];
	ctx.board = NULL;
	ctx.board_fd = fds[2];
	ctx.err_fd = n > 3 ? fds[3] : -1;
	if ((pid = fork()) == 0) {
		close(sock);
		server_worker(&ctx, setup);
	}
	if (pid > 0)
		setpgid(pid, pid);	/* the worker does it too */
	server_close_all(fds, n);
	reply.pid = pid > 0 ? pid : 0;
	reply.error = pid > 0 ? 0 : errno;
	server_reply(sock, &reply);
}

static void
server_reap(int sock, pid_t pid)
{
	struct forkserver_reply reply = { 0 };
	pid_t r;

	while ((r = wait4(pid, &reply.status, 0, &reply.ru)) < 0 &&
	    errno == EINTR)
		;
	reply.pid = r;
	reply.error = r < 0 ? errno : 0;
	server_reply(sock, &reply);
}

/* One request and the descriptors that came with it; 0 at EOF. */
static ssize_t
server_receive(int sock, struct forkserver_request *req, int *fds, int *n)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = req, .iov_len = sizeof *req };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf
	};
	struct cmsghdr *c;
	ssize_t r;

	*n = 0;
	while ((r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 &&
	    errno == EINTR)
		;
	for (c = CMSG_FIRSTHDR(&msg); r > 0 && c != NULL;
	    c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			*n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds, CMSG_DATA(c), (size_t)*n * sizeof(int));
		}
	}
	return r;
}

void
forkserver_main(int sock, const struct worker_ctx *tmpl)
{
	struct forkserver_request req;
	int fds[4], n;

	/* Output the caller had buffered is the caller's to print, even if
	 * an _exit() of this process flushes streams (a sanitizer's may). */
	__fpurge(stdout);
	__fpurge(stderr);
	prctl(PR_SET_NAME, "procq-server");
	/* Out of the caller's process group, so that a ^C meant for the
	 * caller does not end the server under the workers' feet. */
	setpgid(0, 0);
	worker_reset_signals();
	server_close_fds(sock);
	worker_release_heap();
	for (;;) {
		if (server_receive(sock, &req, fds, &n) !=
		    (ssize_t)sizeof req)
			worker_exit(0);	/* EOF: the queue or caller is gone */
		req.setup[sizeof req.setup - 1] = '\0';
		if (req.op == FORKSERVER_SPAWN)
			server_spawn(sock, tmpl, req.setup, fds, n);
		else if (req.op == FORKSERVER_REAP) {
			server_close_all(fds, n);
			server_reap(sock, req.pid);
		} else
			worker_exit(0);
	}
}
