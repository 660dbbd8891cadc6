/*
 * The forked-pipe transport's workers: forking them, killing them, and
 * reporting their deaths (the scheduler settles their tasks).  Death is
 * seen on a pidfd (or, without one, as EOF on the result pipe): procq
 * never takes SIGCHLD from its host.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"
#include "transport_local.h"
#include "queue.h"
#include "trace.h"
#include "clock.h"
#include "forkserver.h"
#include "remote.h"
#include "start_method.h"
#include "../worker/worker.h"

#ifndef P_PIDFD
#define P_PIDFD	3	/* Linux 5.4; not yet in every libc's headers */
#endif

/*
 * Is the worker still procq's child, not reaped by someone else (a
 * SIGCHLD handler of the program calling waitpid(-1), or SIGCHLD
 * ignored)?  Only then is its pid, and the process group named after it,
 * still procq's to signal.  Without a pidfd there is no telling: yes.
 */
bool
pool_owns(const struct worker *w)
{
	siginfo_t si;

	if (w->pid <= 0)
		return false;
	/* Its host's until it is reaped (remote.h). */
	if (w->slot.q->cfg.transport != NULL)
		return true;
	/* The server's child, reaped only when the supervisor asks; a
	 * server that died took its children's pids with it. */
	if (w->slot.q->cfg.start_method == PROCQ_START_FORKSERVER)
		return w->server_gen == w->slot.q->forkserver.gen &&
		    forkserver_alive(&w->slot.q->forkserver);
	if (w->pidfd < 0)
		return true;
	return waitid((idtype_t)P_PIDFD, (id_t)w->pidfd, &si,
	    WEXITED | WNOHANG | WNOWAIT) == 0 || errno != ECHILD;
}

/*
 * Signals a worker and the processes its tasks started: the worker
 * itself through its pidfd (a task may have moved it to another process
 * group), and the group it made at start, whose id is its pid.  Never the
 * group the worker is in now, which may be the caller's, and never a pid
 * procq no longer owns.
 */
void
pool_signal(struct worker *w, int sig)
{
	if (!pool_owns(w))
		return;
	if (w->slot.q->cfg.transport != NULL) {
		w->slot.q->cfg.transport->signal(w->pid, sig);
		return;
	}
#ifdef SYS_pidfd_send_signal
	if (w->pidfd < 0 ||
	    syscall(SYS_pidfd_send_signal, w->pidfd, sig, NULL, 0) != 0)
		kill(w->pid, sig);
#else
	kill(w->pid, sig);
#endif
	kill(-w->pid, sig);
}

/* What every worker of the queue is told; its descriptors are its own. */
static void
pool_ctx(procq_queue *q, struct worker_ctx *ctx)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->registry = &q->registry;
	ctx->id_base = q->id_base;
	ctx->max_frame = q->cfg.max_frame;
	ctx->parent = getpid();
	ctx->in_fd = ctx->out_fd = ctx->err_fd = ctx->board_fd = -1;
	ctx->initializer = q->cfg.initializer;
	ctx->initargs = q->cfg.initargs;
	ctx->initargs_len = q->cfg.initargs_len;
	ctx->max_memory = q->cfg.max_memory;
	ctx->max_cpu = q->cfg.max_cpu;
	ctx->config = &q->cfg;
}

/*
 * One slot more than there are workers: the spare, forked ahead of need
 * once a worker has died, so that the next death is replaced at once
 * instead of after a fork.  Which slot is the spare changes as spares
 * are promoted.
 */
int
pool_open(procq_queue *q)
{
	const procq_transport *remote = q->cfg.transport;
	int n = q->cfg.workers * (remote != NULL ? remote->hosts() : 1) + 1;
	struct worker *workers = calloc((size_t)n, sizeof *workers);
	struct worker_ctx tmpl;

	forkserver_init(&q->forkserver);
	q->slots = calloc((size_t)n, sizeof *q->slots);
	if (n < 2 || workers == NULL || q->slots == NULL) {
		free(workers);
		free(q->slots);
		q->slots = NULL;
		return -1;
	}
	/* Before the loop thread exists: see forkserver.h.  Remote workers
	 * come from their hosts' servers. */
	if (q->cfg.start_method == PROCQ_START_FORKSERVER && remote == NULL) {
		pool_ctx(q, &tmpl);
		if (forkserver_open(&q->forkserver, &tmpl) != 0) {
			free(workers);
			free(q->slots);
			q->slots = NULL;
			return -1;
		}
	}
	q->nslots = n;
	for (int i = 0; i < n; i++) {
		struct worker *w = &workers[i];

		w->slot.q = q;
		w->slot.host = q->hostname;
		w->pidfd = w->err_fd = w->board.fd = -1;
		channel_init(&w->ch, -1, -1, q->cfg.max_frame);
		w->slot.spare = i == n - 1;
		TAILQ_INIT(&w->slot.inflight);
		q->slots[i] = &w->slot;
	}
	return 0;
}

/* Reaps a worker already sent SIGKILL; how it ended is not wanted. */
static void
pool_wait_gone(struct worker *w)
{
	struct rusage ru;
	int status;

	if (w->slot.q->cfg.transport != NULL)
		w->slot.q->cfg.transport->reap(w->pid, &status, &ru);
	else
		waitpid(w->pid, NULL, 0);
}

/* The workers are one array, the first slot's the first. */
static void
pool_free(procq_queue *q)
{
	free(local_worker(q->slots[0]));
	free(q->slots);
	q->slots = NULL;
	q->nslots = 0;
}

static struct worker *
pool_spare(procq_queue *q)
{
	for (int i = 0; i < q->nslots; i++) {
		if (q->slots[i]->spare)
			return local_worker(q->slots[i]);
	}
	return NULL;
}

/* A live spare takes the place of w, empty or on its way out; w's slot
 * becomes the spare's, to be forked again once it is empty. */
static bool
pool_promote_spare(struct worker *w)
{
	struct worker *spare = pool_spare(w->slot.q);

	if (w->slot.spare || spare == NULL || spare->slot.state != SLOT_LIVE)
		return false;
	spare->slot.spare = false;
	w->slot.spare = true;
	TRACE_WORKER(&spare->slot, "takes the place of worker %ld",
	    (long)w->pid);
	w->was_regular = true;
	return true;
}

/* A worker stops taking tasks: the spare takes over now rather than
 * after the worker has been reaped. */
static void
pool_hand_over(struct worker *w)
{
	if (w->slot.q->state == QUEUE_STARTED)
		pool_promote_spare(w);
}

void
pool_close(struct worker *w)
{
	struct event **evs[] = {
		&w->read_ev, &w->write_ev, &w->pid_ev, &w->kill_ev,
		&w->hello_ev
	};

	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
		if (*evs[i] != NULL)
			event_free(*evs[i]);
		*evs[i] = NULL;
	}
	channel_close(&w->ch);
	if (w->pidfd >= 0)
		close(w->pidfd);
	w->pidfd = -1;
	stderr_close(w);
	ring_reader_free(&w->ring);
	board_close(&w->board);
	w->slot.state = SLOT_EMPTY;
	w->slot.id = 0;
	w->pid = 0;
}

void
pool_release(procq_queue *q)
{
	if (q->slots == NULL)
		return;
	for (int i = 0; i < q->nslots; i++) {
		struct worker *w = local_worker(q->slots[i]);

		/* Only reached once the loop has reaped every worker; a
		 * leftover would be a bug, but must not become a zombie. */
		if (w->pid > 0 && pool_owns(w)) {
			pool_signal(w, SIGKILL);
			pool_wait_gone(w);
		}
		pool_close(w);
	}
	pool_free(q);
	forkserver_close(&q->forkserver);
}

/*
 * In a child forked from the supervisor's process: the workers are the
 * parent's.  Only the child's copies of their descriptors are closed, so
 * that none keeps a worker's pipe open; no worker is signalled or reaped,
 * and their events, which live in the parent's epoll instance, stay.
 */
void
pool_forget(procq_queue *q)
{
	if (q->slots == NULL)
		return;
	for (int i = 0; i < q->nslots; i++) {
		struct worker *w = local_worker(q->slots[i]);
		int fds[] = { w->pidfd, w->ch.wfd, w->ch.rfd, w->err_fd };

		for (size_t k = 0; k < sizeof fds / sizeof fds[0]; k++) {
			if (fds[k] >= 0)
				close(fds[k]);
		}
		free(w->tail);
		if (w->board.fd >= 0)
			close(w->board.fd);
	}
	pool_free(q);
	forkserver_forget(&q->forkserver);
}

static void
pool_pid_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	procq_queue *q = w->slot.q;

	loop_enter(q);
	pool_reap(w);
	loop_leave(q);
}

/*
 * A new worker has not said hello in time: hung before it could run a
 * task (a lock held at the fork, an initializer that never returns).  A
 * failure to start a worker, not of the task it was given, which goes
 * back in line uncharged; repeated, the next task fails with it.
 */
static void
pool_hello_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	procq_queue *q = w->slot.q;
	char msg[128];

	loop_enter(q);
	if (w->slot.state == SLOT_LIVE && !w->slot.ready) {
		snprintf(msg, sizeof msg, "the worker (start method %s) did "
		    "not say hello within %g s: it was silent",
		    spawn_method_name(q->cfg.start_method),
		    q->cfg.spawn_timeout);
		pool_setup_failed(w, msg);
	}
	loop_leave(q);
}

static void
pool_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	procq_queue *q = w->slot.q;

	loop_enter(q);
	if (w->slot.state == SLOT_LIVE)	/* EOF without death: broken */
		pool_kill(w, PROCQ_ERR_PROTOCOL, slot_head(&w->slot),
		    "worker closed its result pipe");
	else if (w->pid > 0)
		pool_signal(w, SIGKILL);
	loop_leave(q);
}

static int
pool_events(struct worker *w)
{
	struct event_base *base = w->slot.q->base;
	int buffers = channel_open(&w->ch);

	w->read_ev = event_new(base, w->ch.rfd, EV_READ | EV_PERSIST,
	    local_read_cb, w);
	w->write_ev = event_new(base, w->ch.wfd, EV_WRITE | EV_PERSIST,
	    local_write_cb, w);
	w->kill_ev = evtimer_new(base, pool_kill_cb, w);
	w->hello_ev = evtimer_new(base, pool_hello_cb, w);
	if (w->pidfd >= 0)
		w->pid_ev = event_new(base, w->pidfd, EV_READ, pool_pid_cb, w);
	if (buffers != 0 || w->read_ev == NULL || w->write_ev == NULL ||
	    w->kill_ev == NULL || w->hello_ev == NULL ||
	    (w->pidfd >= 0 && w->pid_ev == NULL))
		return -1;
	if (event_add(w->read_ev, NULL) != 0)
		return -1;
	if (w->slot.q->cfg.spawn_timeout > 0) {
		struct timeval tv =
		    procq_clock_timeval(w->slot.q->cfg.spawn_timeout);

		if (evtimer_add(w->hello_ev, &tv) != 0)
			return -1;
	}
	if (w->pid_ev != NULL && event_add(w->pid_ev, NULL) != 0)
		return -1;
	return 0;
}

static int
pool_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* Starts the worker's process by the queue's start method; -1 with
 * errno set if it could not be started. */
static pid_t
pool_start_process(procq_queue *q, const struct worker_ctx *ctx)
{
	struct worker_ctx tmpl;
	pid_t pid;

	switch (q->cfg.start_method) {
	case PROCQ_START_FORKSERVER:
		if (!forkserver_alive(&q->forkserver)) {
			pool_ctx(q, &tmpl);
			if (forkserver_restart(&q->forkserver, &tmpl) != 0)
				return -1;
		}
		return forkserver_spawn(&q->forkserver, ctx, NULL);
	case PROCQ_START_EXEC:
		return spawn_exec(q, ctx);
	default:
		if ((pid = fork()) == 0) {
			worker_release_heap();
			worker_main(ctx);
		}
		return pid;
	}
}

/* A worker on another host (remote.h): the far ends of its pipes go to
 * the transport, and its death is told on a descriptor of the
 * transport's, in place of a pidfd.  Its id stands for its pid. */
static pid_t
pool_start_remote(struct worker *w, const struct worker_ctx *ctx)
{
	procq_queue *q = w->slot.q;
	struct remote_spawn rs = { .in_fd = ctx->in_fd,
		.out_fd = ctx->out_fd,
		.err_fd = ctx->err_fd };
	struct remote_worker rw;
	char *setup;
	int rc;

	if ((setup = spawn_setup(q, ctx)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rs.setup = setup + strlen(WORKER_SETUP_ENV) + 1; /* "NAME=" */
	rc = q->cfg.transport->spawn(&rs, &rw);
	free(setup);
	if (rc != 0)
		return -1;
	w->pidfd = rw.death_fd;
	w->slot.host = rw.host;
	w->slot.rank = rw.rank;
	return (pid_t)rw.id;
}

/* The pipes of a new worker: tasks down, results up, and its stderr
 * unless no tail is kept.  The child's ends are in ctx. */
static int
pool_pipes(procq_queue *q, struct worker_ctx *ctx, int *down_w, int *up_r,
    int *err_r)
{
	int down[2], up[2], err[2] = { -1, -1 };

	if (pipe2(down, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(up, O_CLOEXEC) != 0) {
		close(down[0]);
		close(down[1]);
		return -1;
	}
	if (q->cfg.stderr_tail >= 0 && pipe2(err, O_CLOEXEC) != 0) {
		close(down[0]);
		close(down[1]);
		close(up[0]);
		close(up[1]);
		return -1;
	}
	ctx->in_fd = down[0];
	ctx->out_fd = up[1];
	ctx->err_fd = err[1];
	*down_w = down[1];
	*up_r = up[0];
	*err_r = err[0];
	return 0;
}

static void
pool_close_child_ends(const struct worker_ctx *ctx)
{
	close(ctx->in_fd);
	close(ctx->out_fd);
	if (ctx->err_fd >= 0)
		close(ctx->err_fd);
}

/* Starts one worker in slot w.  Called on the supervisor thread, so that
 * the children of a fork have their parent-death signal follow this
 * thread's life. */
static int
pool_spawn(struct worker *w)
{
	procq_queue *q = w->slot.q;
	struct worker_ctx ctx;
	int down_w, up_r, err_r, saved;
	pid_t pid;

	q->spawn_why[0] = '\0';
	if (board_open(&w->board) != 0)
		return -1;
	pool_ctx(q, &ctx);
	if (pool_pipes(q, &ctx, &down_w, &up_r, &err_r) != 0) {
		board_close(&w->board);
		return -1;
	}
	ctx.board = w->board.cells;
	ctx.board_fd = w->board.fd;
	pid = q->cfg.transport != NULL ? pool_start_remote(w, &ctx) :
					 pool_start_process(q, &ctx);
	saved = errno;
	pool_close_child_ends(&ctx);
	board_close_fd(&w->board);
	if (pid < 0) {
		close(down_w);
		close(up_r);
		if (err_r >= 0)
			close(err_r);
		board_close(&w->board);
		errno = saved;
		return -1;
	}
	w->err_fd = err_r;
	/* A remote worker's board, and its ring, are on its own host. */
	ring_reader_init(&w->ring,
	    q->cfg.transport == NULL && board_has_ring(&w->board) ?
		(void *)w->board.cells :
		NULL);
	if (q->cfg.start_method != PROCQ_START_FORKSERVER &&
	    q->cfg.transport == NULL)
		setpgid(pid, pid);	/* the child does it too: whoever
					 * runs first */
	w->pid = pid;
	w->server_gen = q->forkserver.gen;
	w->slot.id = (long)pid;
	channel_init(&w->ch, up_r, down_w, q->cfg.max_frame);
	if (q->cfg.transport == NULL)
		w->pidfd = pool_pidfd(pid);
	w->slot.state = SLOT_LIVE;
	w->slot.ready = false;
	w->eof = false;
	w->kill_kind = PROCQ_ERR_NONE;
	w->kill_targeted = false;
	w->kill_type[0] = '\0';
	w->kill_message[0] = '\0';
	w->was_regular = false;
	w->memory = MEMORY_UNSAID;
	w->reaped_elsewhere = false;
	w->setup_failed = false;
	w->leaving = false;
	w->has_last = false;
	q->live_workers++;
	TRACE_WORKER(&w->slot, "forked");
	if (pool_events(w) != 0 || stderr_open(w) != 0) {
		pool_kill(w, PROCQ_ERR_SPAWN, NULL, "out of memory");
		return 0;	/* reaped through the usual path */
	}
	return 0;
}

/* A fork failed: try again later, and if no worker at all is alive, fail
 * the next task rather than let it wait forever. */
void
pool_spawn_failed(procq_queue *q, const char *why)
{
	procq_error err = {
		.kind = PROCQ_ERR_SPAWN, .type = "SpawnError",
		.message = "could not start a worker",
		.exit_status = -1, .signal = -1
	};
	struct timeval tv = procq_clock_timeval(0.1);
	char buf[256];

	if (why != NULL) {
		snprintf(buf, sizeof buf, "could not start a worker: %s", why);
		err.message = buf;
	}

	q->spawn_failures++;
	evtimer_add(q->spawn_ev, &tv);
	pool_first_settled(q);
	if (q->live_workers == 0 && q->spawn_failures >= 3)
		dispatch_unstartable(q, &err);
}

/* The first worker said hello, or a worker failed to start or died:
 * procq_start() on an exec queue stops waiting for the names of the
 * worker program's tasks. */
void
pool_first_settled(procq_queue *q)
{
	if (q->first_settled)
		return;
	q->first_settled = true;
	pthread_cond_broadcast(&q->cond);
}

/* Forks the spare once workers have been seen to die, unless spares
 * themselves keep dying before they are ready. */
static void
pool_fill_spare(procq_queue *q)
{
	struct worker *w = pool_spare(q);

	if (w == NULL || w->slot.state != SLOT_EMPTY || !q->want_spare ||
	    q->spare_failures >= 3)
		return;
	if (pool_spawn(w) != 0)
		q->spare_failures++;
}

/* Starts workers in empty slots: all of them at start, later only while
 * there is work waiting; a spare takes an empty slot when there is one. */
void
pool_fill(procq_queue *q)
{
	double now = procq_clock_now();
	struct timeval tv;

	if (q->state != QUEUE_STARTED)
		return;
	if (evtimer_pending(q->spawn_ev, NULL))
		return;
	if (now < q->spawn_after) {
		/* Initializers have been failing: do not respawn in a loop. */
		tv = procq_clock_timeval(q->spawn_after - now);
		evtimer_add(q->spawn_ev, &tv);
		return;
	}
	for (int i = 0; i < q->nslots; i++) {
		struct worker *w = local_worker(q->slots[i]);

		if (w->slot.state != SLOT_EMPTY || w->slot.spare ||
		    pool_promote_spare(w))
			continue;
		if (q->prewarmed && q->nready == 0)
			break;
		if (pool_spawn(w) != 0) {
			/* The start method's own words (the program that
			 * could not be run), or the failed call's. */
			pool_spawn_failed(q, q->spawn_why[0] != '\0' ?
			    q->spawn_why : strerror(errno));
			break;
		}
	}
	if (q->spawn_failures == 0)
		pool_fill_spare(q);
	if (!q->prewarmed) {
		q->prewarmed = true;	/* procq_start() waits for this */
		pthread_cond_broadcast(&q->cond);
	}
}

/* Asks an idle worker to leave: EOF on its task pipe ends its loop. */
void
pool_dismiss(struct worker *w)
{
	struct timeval tv = procq_clock_timeval(2.0);

	TRACE_WORKER(&w->slot, "dismissed after %d tasks", w->slot.dispatched);
	w->slot.state = SLOT_DYING;
	w->slot.q->live_workers--;
	pool_hand_over(w);
	event_del(w->write_ev);
	channel_close_write(&w->ch);
	evtimer_add(w->kill_ev, &tv);
}

/* The initializer failed in this worker: the task that was waiting for it
 * fails with the initializer's error, and respawns slow down. */
void
pool_init_failed(struct worker *w, const char *type, const char *message)
{
	procq_queue *q = w->slot.q;

	pool_kill(w, PROCQ_ERR_SPAWN, slot_head(&w->slot), message);
	snprintf(w->kill_type, sizeof w->kill_type, "%s", type);
	q->spawn_backoff = q->spawn_backoff > 0 ?
	    q->spawn_backoff * 2 : 0.05;
	if (q->spawn_backoff > 5.0)
		q->spawn_backoff = 5.0;
	q->spawn_after = procq_clock_now() + q->spawn_backoff;
}

/*
 * The new worker could not set itself up (it said so instead of hello):
 * a failure to start a worker, like a failed fork, not a crash of the
 * task it was given, which goes back in line without an attempt charged.
 */
void
pool_setup_failed(struct worker *w, const char *message)
{
	pool_kill(w, PROCQ_ERR_SPAWN, NULL, message);
	w->setup_failed = true;
}

/*
 * Kills a worker's whole process group, remembering why and for which
 * task; the task is settled when the worker is reaped.  A polite SIGTERM
 * comes first unless the worker is broken.
 */
void
pool_kill(struct worker *w, procq_error_kind kind, procq_handle *target,
    const char *message)
{
	struct timeval tv = procq_clock_timeval(w->slot.q->cfg.kill_grace);

	if (w->slot.state != SLOT_LIVE)
		return;
	w->slot.state = SLOT_DYING;
	w->slot.q->live_workers--;
	pool_hand_over(w);
	w->kill_kind = kind;
	w->kill_targeted = target != NULL;
	w->kill_target = target != NULL ? target->wire_id : 0;
	snprintf(w->kill_type, sizeof w->kill_type, "%s",
	    kind == PROCQ_ERR_TIMEOUT ? "Timeout" :
	    kind == PROCQ_ERR_CANCELLED ? "Cancelled" :
	    kind == PROCQ_ERR_SPAWN ? "SpawnError" : "ProtocolError");
	snprintf(w->kill_message, sizeof w->kill_message, "%s", message);
	TRACE_WORKER(&w->slot, "killed (%s): %s", w->kill_type, message);
	if (kind == PROCQ_ERR_PROTOCOL) {
		event_del(w->read_ev);
		channel_discard(&w->ch);
	}
#ifdef PROCQ_COVERAGE
	/* A worker that said why it cannot start leaves by itself: in a
	 * coverage build, time to write its counters first (HACKING.md). */
	if (w->leaving) {
		evtimer_add(w->kill_ev, &(struct timeval){ .tv_sec = 2 });
		return;
	}
#endif
	if (kind == PROCQ_ERR_PROTOCOL || w->slot.q->cfg.kill_grace < 0) {
		pool_signal(w, SIGKILL);
		return;
	}
	pool_signal(w, SIGTERM);
	evtimer_add(w->kill_ev, &tv);
}

/* The worker's pipe hit EOF.  Its death is what counts: wait for the
 * pidfd, or reap now when there is none. */
void
pool_lost(struct worker *w)
{
	struct timeval tv = procq_clock_timeval(1.0);

	TRACE_WORKER(&w->slot, "its pipe closed");
	w->eof = true;
	event_del(w->read_ev);
	if (w->slot.state == SLOT_LIVE)
		pool_hand_over(w);	/* it is dead or about to be */
	if (w->pidfd < 0) {
		pool_signal(w, SIGKILL);
		pool_reap(w);
		return;
	}
	if (w->slot.state == SLOT_LIVE)
		evtimer_add(w->kill_ev, &tv);
}
