/*
 * The worker pool: forking workers, killing them, and settling their
 * tasks when they die.  Death is seen on a pidfd (or, without one, as EOF
 * on the result pipe): procq never takes SIGCHLD from its host.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "clock.h"

static void pool_reap(struct worker *w);

/*
 * One slot more than there are workers: the spare, forked ahead of need
 * once a worker has died, so that the next death is replaced at once
 * instead of after a fork.  Which slot is the spare changes as spares
 * are promoted.
 */
int
pool_init(procq_queue *q)
{
	q->workers = calloc((size_t)q->cfg.workers + 1, sizeof *q->workers);
	if (q->workers == NULL)
		return -1;
	q->nworkers = q->cfg.workers + 1;
	for (int i = 0; i < q->nworkers; i++) {
		struct worker *w = &q->workers[i];

		w->q = q;
		w->pidfd = w->to_fd = w->from_fd = w->err_fd = -1;
		w->spare = i == q->cfg.workers;
		TAILQ_INIT(&w->inflight);
	}
	return 0;
}

static struct worker *
pool_spare(procq_queue *q)
{
	for (int i = 0; i < q->nworkers; i++) {
		if (q->workers[i].spare)
			return &q->workers[i];
	}
	return NULL;
}

/* A live spare takes the place of w, empty or on its way out; w's slot
 * becomes the spare's, to be forked again once it is empty. */
static bool
pool_promote_spare(struct worker *w)
{
	struct worker *spare = pool_spare(w->q);

	if (w->spare || spare == NULL || spare->state != WORKER_LIVE)
		return false;
	spare->spare = false;
	w->spare = true;
	w->was_regular = true;
	return true;
}

/* A worker stops taking tasks: the spare takes over now rather than
 * after the worker has been reaped. */
static void
pool_hand_over(struct worker *w)
{
	if (w->q->state == QUEUE_STARTED)
		pool_promote_spare(w);
}

static void
worker_close(struct worker *w)
{
	struct event **evs[] = {
		&w->read_ev, &w->write_ev, &w->pid_ev, &w->timeout_ev,
		&w->kill_ev
	};

	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
		if (*evs[i] != NULL)
			event_free(*evs[i]);
		*evs[i] = NULL;
	}
	if (w->in != NULL)
		evbuffer_free(w->in);
	if (w->out != NULL)
		evbuffer_free(w->out);
	w->in = w->out = NULL;
	if (w->pidfd >= 0)
		close(w->pidfd);
	if (w->to_fd >= 0)
		close(w->to_fd);
	if (w->from_fd >= 0)
		close(w->from_fd);
	w->pidfd = w->to_fd = w->from_fd = -1;
	stderr_close(w);
	w->state = WORKER_EMPTY;
	w->pid = 0;
}

void
pool_release(procq_queue *q)
{
	if (q->workers == NULL)
		return;
	for (int i = 0; i < q->nworkers; i++) {
		struct worker *w = &q->workers[i];

		/* Only reached once the loop has reaped every worker; a
		 * leftover would be a bug, but must not become a zombie. */
		if (w->pid > 0) {
			kill(-w->pid, SIGKILL);
			waitpid(w->pid, NULL, 0);
		}
		worker_close(w);
	}
	free(q->workers);
	q->workers = NULL;
	q->nworkers = 0;
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
	if (q->workers == NULL)
		return;
	for (int i = 0; i < q->nworkers; i++) {
		struct worker *w = &q->workers[i];
		int fds[] = { w->pidfd, w->to_fd, w->from_fd, w->err_fd };

		for (size_t k = 0; k < sizeof fds / sizeof fds[0]; k++) {
			if (fds[k] >= 0)
				close(fds[k]);
		}
		free(w->tail);
	}
	free(q->workers);
	q->workers = NULL;
	q->nworkers = 0;
}

static void
pool_pid_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	procq_queue *q = w->q;

	loop_enter(q);
	pool_reap(w);
	loop_leave(q);
}

static void
pool_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	procq_queue *q = w->q;

	loop_enter(q);
	if (w->state == WORKER_LIVE)	/* EOF without death: broken */
		pool_kill(w, PROCQ_ERR_PROTOCOL, TAILQ_FIRST(&w->inflight),
		    "worker closed its result pipe");
	else if (w->pid > 0)
		kill(-w->pid, SIGKILL);
	loop_leave(q);
}

static void
pool_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	procq_queue *q = w->q;
	procq_handle *head;
	char msg[96];

	loop_enter(q);
	head = TAILQ_FIRST(&w->inflight);
	if (head != NULL && w->state == WORKER_LIVE) {
		snprintf(msg, sizeof msg, "attempt timed out after %g s",
		    head->timeout);
		pool_kill(w, PROCQ_ERR_TIMEOUT, head, msg);
	}
	loop_leave(q);
}

static int
pool_events(struct worker *w)
{
	struct event_base *base = w->q->base;

	w->in = evbuffer_new();
	w->out = evbuffer_new();
	w->read_ev = event_new(base, w->from_fd, EV_READ | EV_PERSIST,
	    dispatch_read_cb, w);
	w->write_ev = event_new(base, w->to_fd, EV_WRITE | EV_PERSIST,
	    dispatch_write_cb, w);
	w->timeout_ev = evtimer_new(base, pool_timeout_cb, w);
	w->kill_ev = evtimer_new(base, pool_kill_cb, w);
	if (w->pidfd >= 0)
		w->pid_ev = event_new(base, w->pidfd, EV_READ, pool_pid_cb, w);
	if (w->in == NULL || w->out == NULL || w->read_ev == NULL ||
	    w->write_ev == NULL || w->timeout_ev == NULL ||
	    w->kill_ev == NULL || (w->pidfd >= 0 && w->pid_ev == NULL))
		return -1;
	if (event_add(w->read_ev, NULL) != 0)
		return -1;
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

/* Forks one worker into slot w.  Called on the supervisor thread, so that
 * the children's parent-death signal follows this thread's life. */
static int
pool_spawn(struct worker *w)
{
	procq_queue *q = w->q;
	int down[2], up[2], err[2] = { -1, -1 };
	struct worker_ctx ctx;
	pid_t pid;

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
	ctx.registry = &q->registry;
	ctx.id_base = q->id_base;
	ctx.max_frame = q->cfg.max_frame;
	ctx.parent = getpid();
	ctx.in_fd = down[0];
	ctx.out_fd = up[1];
	ctx.initializer = q->cfg.initializer;
	ctx.initargs = q->cfg.initargs;
	ctx.initargs_len = q->cfg.initargs_len;
	ctx.max_memory = q->cfg.max_memory;
	ctx.max_cpu = q->cfg.max_cpu;
	ctx.err_fd = err[1];
	ctx.config = &q->cfg;
	if ((pid = fork()) == 0)
		worker_main(&ctx);
	close(down[0]);
	close(up[1]);
	if (err[1] >= 0)
		close(err[1]);
	if (pid < 0) {
		close(down[1]);
		close(up[0]);
		if (err[0] >= 0)
			close(err[0]);
		return -1;
	}
	w->err_fd = err[0];
	setpgid(pid, pid);	/* the child does it too: whoever runs first */
	w->pid = pid;
	w->to_fd = down[1];
	w->from_fd = up[0];
	w->pidfd = pool_pidfd(pid);
	w->state = WORKER_LIVE;
	w->hello = false;
	w->eof = false;
	w->kill_kind = PROCQ_ERR_NONE;
	w->kill_target = NULL;
	w->kill_type[0] = '\0';
	w->kill_message[0] = '\0';
	w->dispatched = 0;
	w->was_regular = false;
	w->memory_exhausted = false;
	evutil_make_socket_nonblocking(w->to_fd);
	evutil_make_socket_nonblocking(w->from_fd);
	q->live_workers++;
	if (pool_events(w) != 0 || stderr_open(w) != 0) {
		pool_kill(w, PROCQ_ERR_SPAWN, NULL, "out of memory");
		return 0;	/* reaped through the usual path */
	}
	return 0;
}

/* A fork failed: try again later, and if no worker at all is alive, fail
 * the next task rather than let it wait forever. */
static void
pool_spawn_failed(procq_queue *q)
{
	static const procq_error err = {
		.kind = PROCQ_ERR_SPAWN, .type = "SpawnError",
		.message = "could not start a worker",
		.exit_status = -1, .signal = -1
	};
	struct timeval tv = procq_clock_timeval(0.1);
	procq_handle *t;

	q->spawn_failures++;
	evtimer_add(q->spawn_ev, &tv);
	if (q->live_workers == 0 && q->spawn_failures >= 3 &&
	    (t = task_ready_pop(q)) != NULL) {
		t->attempts++;
		task_attempt_failed(t, &err);
	}
}

/* Forks the spare once workers have been seen to die, unless spares
 * themselves keep dying before they are ready. */
static void
pool_fill_spare(procq_queue *q)
{
	struct worker *w = pool_spare(q);

	if (w == NULL || w->state != WORKER_EMPTY || !q->want_spare ||
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
	for (int i = 0; i < q->nworkers; i++) {
		struct worker *w = &q->workers[i];

		if (w->state != WORKER_EMPTY || w->spare ||
		    pool_promote_spare(w))
			continue;
		if (q->prewarmed && q->nready == 0)
			break;
		if (pool_spawn(w) != 0) {
			pool_spawn_failed(q);
			break;
		}
		q->spawn_failures = 0;
	}
	if (q->spawn_failures == 0)
		pool_fill_spare(q);
	if (!q->prewarmed) {
		q->prewarmed = true;	/* procq_start() waits for this */
		pthread_cond_broadcast(&q->cond);
	}
}

/* Asks an idle worker to leave: EOF on its task pipe ends its loop. */
static void
pool_dismiss(struct worker *w)
{
	struct timeval tv = procq_clock_timeval(2.0);

	w->state = WORKER_DYING;
	w->q->live_workers--;
	pool_hand_over(w);
	event_del(w->write_ev);
	close(w->to_fd);
	w->to_fd = -1;
	evtimer_add(w->kill_ev, &tv);
}

void
pool_stop(procq_queue *q)
{
	for (int i = 0; i < q->nworkers; i++) {
		struct worker *w = &q->workers[i];

		if (w->state == WORKER_LIVE && w->ninflight == 0)
			pool_dismiss(w);
	}
}

/* Workers that have run their share of tasks are replaced once idle. */
void
pool_retire(procq_queue *q)
{
	int max = q->cfg.max_tasks_per_worker;

	if (max == 0)
		return;
	for (int i = 0; i < q->nworkers; i++) {
		struct worker *w = &q->workers[i];

		if (w->state == WORKER_LIVE && w->ninflight == 0 &&
		    w->dispatched >= max)
			pool_dismiss(w);
	}
}

/* The initializer failed in this worker: the task that was waiting for it
 * fails with the initializer's error, and respawns slow down. */
void
pool_init_failed(struct worker *w, const char *type, const char *message)
{
	procq_queue *q = w->q;

	pool_kill(w, PROCQ_ERR_SPAWN, TAILQ_FIRST(&w->inflight), message);
	snprintf(w->kill_type, sizeof w->kill_type, "%s", type);
	q->spawn_backoff = q->spawn_backoff > 0 ?
	    q->spawn_backoff * 2 : 0.05;
	if (q->spawn_backoff > 5.0)
		q->spawn_backoff = 5.0;
	q->spawn_after = procq_clock_now() + q->spawn_backoff;
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
	struct timeval tv = procq_clock_timeval(w->q->cfg.kill_grace);

	if (w->state != WORKER_LIVE)
		return;
	w->state = WORKER_DYING;
	w->q->live_workers--;
	pool_hand_over(w);
	w->kill_kind = kind;
	w->kill_target = target;
	snprintf(w->kill_type, sizeof w->kill_type, "%s",
	    kind == PROCQ_ERR_TIMEOUT ? "Timeout" :
	    kind == PROCQ_ERR_CANCELLED ? "Cancelled" :
	    kind == PROCQ_ERR_SPAWN ? "SpawnError" : "ProtocolError");
	snprintf(w->kill_message, sizeof w->kill_message, "%s", message);
	evtimer_del(w->timeout_ev);
	if (kind == PROCQ_ERR_PROTOCOL) {
		event_del(w->read_ev);
		evbuffer_drain(w->in, evbuffer_get_length(w->in));
	}
	if (kind == PROCQ_ERR_PROTOCOL || w->q->cfg.kill_grace < 0) {
		kill(-w->pid, SIGKILL);
		return;
	}
	kill(-w->pid, SIGTERM);
	evtimer_add(w->kill_ev, &tv);
}

/* The worker's pipe hit EOF.  Its death is what counts: wait for the
 * pidfd, or reap now when there is none. */
void
pool_lost(struct worker *w)
{
	struct timeval tv = procq_clock_timeval(1.0);

	w->eof = true;
	event_del(w->read_ev);
	if (w->state == WORKER_LIVE)
		pool_hand_over(w);	/* it is dead or about to be */
	if (w->pidfd < 0) {
		kill(-w->pid, SIGKILL);
		pool_reap(w);
		return;
	}
	if (w->state == WORKER_LIVE)
		evtimer_add(w->kill_ev, &tv);
}

/* Names the limit a worker ran into, when it ran into one. */
static const char *
crash_limit(const struct worker *w, int sig, char *buf, size_t len)
{
	const procq_config *cfg = &w->q->cfg;

	if (sig == SIGXCPU && cfg->max_cpu > 0)
		snprintf(buf, len, " (CPU time limit of %g s exceeded)",
		    cfg->max_cpu);
	else if (w->memory_exhausted)
		snprintf(buf, len, " (memory limit of %zu bytes exceeded)",
		    cfg->max_memory);
	else
		return "";
	return buf;
}

static void
crash_error(const struct worker *w, int status, procq_error *err,
    char *buf, size_t len)
{
	char limit[96];

	err->kind = PROCQ_ERR_CRASH;
	err->type = "WorkerCrash";
	err->exit_status = -1;
	err->signal = -1;
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		const char *abbrev = sigabbrev_np(sig);

		err->signal = sig;
		if (abbrev != NULL)
			snprintf(buf, len, "worker died: SIG%s%s%s", abbrev,
			    WCOREDUMP(status) ? " (core dumped)" : "",
			    crash_limit(w, sig, limit, sizeof limit));
		else
			snprintf(buf, len, "worker died: signal %d%s%s", sig,
			    WCOREDUMP(status) ? " (core dumped)" : "",
			    crash_limit(w, sig, limit, sizeof limit));
	} else {
		err->exit_status = WEXITSTATUS(status);
		snprintf(buf, len, "worker exited with status %d%s",
		    err->exit_status, crash_limit(w, 0, limit, sizeof limit));
	}
	err->message = buf;
}

/* Gives a task back to the ready heap without charging it an attempt. */
static void
pool_requeue(procq_handle *t, bool started)
{
	if (started)
		t->attempts--;
	if (t->cancel_requested) {
		task_finish(t, PROCQ_CANCELLED, &task_cancelled, NULL, 0);
		return;
	}
	task_unplace(t);
	t->status = t->attempts > 0 ? PROCQ_RETRYING : PROCQ_PENDING;
	t->due = 0;
	task_requeue(t);
}

/* Settles the running task of a dead worker: it failed for the reason
 * the worker was killed, or crashed; a bystander is given back. */
static void
pool_settle_head(struct worker *w, procq_handle *head, int status)
{
	procq_error err;
	char buf[256];

	if (w->kill_target != NULL && w->kill_target != head) {
		pool_requeue(head, true);
		return;
	}
	if (w->kill_kind != PROCQ_ERR_NONE && w->kill_target == head) {
		err.kind = w->kill_kind;
		err.type = w->kill_type;
		err.message = w->kill_message;
		err.exit_status = -1;
		err.signal = -1;
	} else
		crash_error(w, status, &err, buf, sizeof buf);
	/* What the job printed before it died belongs in the report. */
	err.output = NULL;
	err.output_len = 0;
	if ((err.kind == PROCQ_ERR_CRASH || err.kind == PROCQ_ERR_TIMEOUT) &&
	    w->tail_len > 0) {
		err.output = w->tail;
		err.output_len = w->tail_len;
	}
	task_attempt_failed(head, &err);
}

/* For a teardown without the loop: the worker was just SIGKILLed. */
void
pool_reap_now(struct worker *w)
{
	pool_reap(w);
}

/* A worker died while it should have lived (crash, kill, lost): from
 * now on a spare is kept ready. */
static void
pool_note_death(struct worker *w, bool was_live)
{
	procq_queue *q = w->q;

	if (q->state != QUEUE_STARTED)
		return;
	if (w->spare && !w->was_regular) {
		if (!w->hello)
			q->spare_failures++;
		else
			q->spare_failures = 0;
		return;
	}
	/* A worker whose initializer failed is no reason for a spare. */
	if (w->kill_kind != PROCQ_ERR_SPAWN &&
	    (was_live || w->kill_kind != PROCQ_ERR_NONE))
		q->want_spare = true;
}

/* The worker has exited: read what it wrote before dying (a result in the
 * pipe wins over a cancel or timeout), reap it, settle its tasks. */
static void
pool_reap(struct worker *w)
{
	procq_queue *q = w->q;
	procq_handle *t;
	int status = 0;
	bool was_live = w->state == WORKER_LIVE;

	if (w->kill_kind != PROCQ_ERR_PROTOCOL && !w->eof)
		dispatch_drain(w);
	stderr_drain(w);
	/* The leader is a zombie until waited for, so its group id cannot be
	 * reused: clean up grandchildren before reaping it. */
	kill(-w->pid, SIGKILL);
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (was_live && w->state == WORKER_LIVE)
		q->live_workers--;
	w->state = WORKER_DYING;
	pool_note_death(w, was_live);
	if ((t = TAILQ_FIRST(&w->inflight)) != NULL && !t->tombstone)
		pool_settle_head(w, t, status);
	while ((t = TAILQ_FIRST(&w->inflight)) != NULL) {
		if (t->tombstone)
			task_unlink(t);
		else
			pool_requeue(t, false);
	}
	worker_close(w);
}
