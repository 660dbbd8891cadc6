/*
 * The supervisor's side of the fork server (forkserver.h): making it,
 * asking it for a worker or a worker's wait status, and ending it.  Only
 * the engine's owner calls these, one call at a time, or the thread that
 * tears the queue down once there is no owner.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkserver.h"
#include "../worker/worker.h"

#ifndef P_PIDFD
#define P_PIDFD	3
#endif

/* The server answers at once; one that does not within this many
 * seconds is stopped or stuck, and is treated as gone. */
#define FORKSERVER_REPLY_TIMEOUT	10

/* Keeps fs->gen, which counts on across servers. */
void
forkserver_init(struct forkserver *fs)
{
	fs->pid = 0;
	fs->pidfd = -1;
	fs->sock = -1;
}

/*
 * Forks the server from the calling thread, the only one procq has at
 * this point.  Fails with errno set.
 */
int
forkserver_open(struct forkserver *fs, const struct worker_ctx *tmpl)
{
	struct timeval tv = { .tv_sec = FORKSERVER_REPLY_TIMEOUT };
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	if ((pid = fork()) == 0) {
		close(sv[0]);
		forkserver_main(sv[1], tmpl);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -1;
	}
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	fs->gen++;
	fs->pid = pid;
	fs->sock = sv[0];
#ifdef SYS_pidfd_open
	fs->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	return 0;
}

/*
 * True while the server lives.  Its workers' pids are procq's only then:
 * once it has gone, its children are reaped by someone else.
 */
bool
forkserver_alive(const struct forkserver *fs)
{
	siginfo_t si;

	if (fs->sock < 0 || fs->pid <= 0)
		return false;
	if (fs->pidfd < 0)
		return kill(fs->pid, 0) == 0;
	memset(&si, 0, sizeof si);
	return waitid((idtype_t)P_PIDFD, (id_t)fs->pidfd, &si,
	    WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0;
}

/* The server did not answer: whatever it was doing, it is of no use any
 * more.  It is killed, and later calls fail at once. */
static void
forkserver_lost(struct forkserver *fs)
{
	if (fs->sock >= 0)
		close(fs->sock);
	fs->sock = -1;
	if (fs->pid > 0)
		kill(fs->pid, SIGKILL);
}

static int
forkserver_call(struct forkserver *fs, const struct forkserver_request *req,
    const int *fds, int nfds, struct forkserver_reply *reply)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)req, .iov_len = sizeof *req };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fs->sock < 0) {
		errno = EPIPE;
		return -1;
	}
	if (nfds > 0) {
		memset(&ctl, 0, sizeof ctl);
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		ctl.hdr.cmsg_level = SOL_SOCKET;
		ctl.hdr.cmsg_type = SCM_RIGHTS;
		ctl.hdr.cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(&ctl.hdr), fds, nfds * sizeof(int));
	}
	while ((n = sendmsg(fs->sock, &msg, MSG_NOSIGNAL)) < 0 &&
	    errno == EINTR)
		;
	if (n != (ssize_t)sizeof *req)
		goto lost;
	while ((n = recv(fs->sock, reply, sizeof *reply, 0)) < 0 &&
	    errno == EINTR)
		;
	if (n == (ssize_t)sizeof *reply)
		return 0;
lost:
	forkserver_lost(fs);
	errno = EPIPE;
	return -1;
}

/*
 * The server died (killed from outside: it never runs task code): a new
 * one is forked, from the supervisor thread this time, so that the queue
 * goes on.  Its predecessor's workers died with it.
 */
int
forkserver_restart(struct forkserver *fs, const struct worker_ctx *tmpl)
{
	forkserver_close(fs);
	return forkserver_open(fs, tmpl);
}

/* A new worker with ctx's descriptors, and the setup given (a remote
 * worker's) or else the server's own; -1 with errno set if none. */
pid_t
forkserver_spawn(struct forkserver *fs, const struct worker_ctx *ctx,
    const char *setup)
{
	struct forkserver_request req = { .op = FORKSERVER_SPAWN };
	struct forkserver_reply reply;
	int fds[4] = { ctx->in_fd, ctx->out_fd, ctx->board_fd, ctx->err_fd };

	if (setup != NULL &&
	    snprintf(req.setup, sizeof req.setup, "%s", setup) >=
		(int)sizeof req.setup) {
		errno = E2BIG;
		return -1;
	}

	if (forkserver_call(fs, &req, fds, ctx->err_fd >= 0 ? 4 : 3,
	    &reply) != 0)
		return -1;
	if (reply.pid <= 0) {
		errno = reply.error;
		return -1;
	}
	return reply.pid;
}

/* Waits, through the server, for a worker that has been SIGKILLed. */
int
forkserver_reap(struct forkserver *fs, pid_t pid, int *status,
    struct rusage *ru)
{
	struct forkserver_request req = { .op = FORKSERVER_REAP, .pid = pid };
	struct forkserver_reply reply;

	if (forkserver_call(fs, &req, NULL, 0, &reply) != 0)
		return -1;
	if (reply.pid != pid) {
		errno = reply.error;
		return -1;
	}
	*status = reply.status;
	*ru = reply.ru;
	return 0;
}

/* The queue is done with it: EOF on its socket ends it, and it is reaped
 * here.  It is killed as well, in case a process forked from the caller
 * still holds the socket open. */
void
forkserver_close(struct forkserver *fs)
{
	if (fs->pid <= 0)
		return;
#ifdef PROCQ_COVERAGE
	/* Time for the server to write its coverage counters as it leaves. */
	if (fs->sock >= 0 && fs->pidfd >= 0) {
		struct pollfd pfd = { .fd = fs->pidfd, .events = POLLIN };

		close(fs->sock);
		fs->sock = -1;
		poll(&pfd, 1, 2000);
	}
#endif
	forkserver_lost(fs);
	while (waitpid(fs->pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (fs->pidfd >= 0)
		close(fs->pidfd);
	forkserver_init(fs);
}

/* In a child forked from the supervisor's process: the server is the
 * parent's.  Only the child's copies of its descriptors go. */
void
forkserver_forget(struct forkserver *fs)
{
	if (fs->sock >= 0)
		close(fs->sock);
	if (fs->pidfd >= 0)
		close(fs->pidfd);
	forkserver_init(fs);
}
