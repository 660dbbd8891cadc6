/*
 * A forked worker's end: waiting for it, saying how it died (which limit
 * it ran into, if any), and reporting its death to the scheduler, which
 * settles its tasks.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "forkserver.h"
#include "remote.h"
#include "queue.h"
#include "start_method.h"
#include "trace.h"
#include "transport_local.h"

static double
crash_cpu_time(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
	    (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

/*
 * Names the limit a worker ran into, when it ran into one.  A worker that
 * ignored SIGXCPU is killed by its CPU timer (worker/limits.c) with
 * SIGKILL, which procq itself did not send (this is not a kill of its
 * own); the CPU time it used over its life must then be at least the
 * timer's max_cpu + 1 s.
 */
static const char *
crash_limit(const struct worker *w, int sig, const struct rusage *ru,
    char *buf, size_t len)
{
	const procq_config *cfg = &w->slot.q->cfg;

	if (cfg->max_cpu > 0 && (sig == SIGXCPU || (sig == SIGKILL &&
	    crash_cpu_time(ru) >= cfg->max_cpu + 1)))
		snprintf(buf, len, " (CPU time limit of %g s exceeded)",
		    cfg->max_cpu);
	else if (w->memory == MEMORY_EXHAUSTED)
		snprintf(buf, len, " (memory limit of %zu bytes exceeded)",
		    cfg->max_memory);
	else if (w->memory == MEMORY_ALLOC_FAILED)
		/* errno was ENOMEM when it died: the allocation that failed
		 * is the likely cause, but a stale errno cannot be ruled out */
		snprintf(buf, len, " (likely the memory limit of %zu bytes: "
		    "an allocation had failed)", cfg->max_memory);
	else
		return "";
	return buf;
}

/* "SIGSEGV", or "signal 42" for a signal without a name. */
static const char *
crash_signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev != NULL)
		snprintf(buf, len, "SIG%s", abbrev);
	else
		snprintf(buf, len, "signal %d", sig);
	return buf;
}

static void
crash_error(const struct worker *w, int status, const struct rusage *ru,
    procq_error *err, char *buf, size_t len)
{
	char limit[128];

	err->kind = PROCQ_ERR_CRASH;
	err->type = "WorkerCrash";
	err->exit_status = -1;
	err->signal = -1;
	if (w->reaped_elsewhere && w->slot.q->cfg.start_method ==
	    PROCQ_START_FORKSERVER) {
		snprintf(buf, len, "worker lost with the fork server: its "
		    "exit status is unknown");
	} else if (w->reaped_elsewhere) {
		snprintf(buf, len, "worker reaped by another part of the "
		    "program: its exit status is unknown");
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		char name[32];

		err->signal = sig;
		snprintf(buf, len, "worker died: %s%s%s",
		    crash_signal_name(sig, name, sizeof name),
		    WCOREDUMP(status) ? " (core dumped)" : "",
		    crash_limit(w, sig, ru, limit, sizeof limit));
	} else {
		err->exit_status = WEXITSTATUS(status);
		snprintf(buf, len, "worker exited with status %d%s",
		    err->exit_status,
		    crash_limit(w, 0, ru, limit, sizeof limit));
	}
	err->message = buf;
}

/*
 * Waits for a dead (or SIGKILLed) worker, and takes its resource usage.
 * The leader is a zombie until
 * waited for, so its group id cannot be reused: the processes its tasks
 * started are killed first.  False when someone else reaped the worker:
 * its status is lost, and neither its pid nor its group is procq's any
 * more.
 */
static bool
pool_wait(struct worker *w, int *status, struct rusage *ru)
{
	pid_t r;

	if (!pool_owns(w))
		return false;
	pool_signal(w, SIGKILL);
	if (w->slot.q->cfg.transport != NULL)
		return w->slot.q->cfg.transport->reap(w->pid, status, ru) == 0;
	if (w->slot.q->cfg.start_method == PROCQ_START_FORKSERVER)
		return forkserver_reap(&w->slot.q->forkserver, w->pid, status,
		    ru) == 0;
	while ((r = wait4(w->pid, status, 0, ru)) < 0 && errno == EINTR)
		;
	return r == w->pid;
}

/* For a teardown without the loop. */
void
pool_end_now(struct worker *w)
{
	pool_signal(w, SIGKILL);
	pool_reap(w);
}

/* A worker died while it should have lived (crash, kill, lost): from
 * now on a spare is kept ready. */
static void
pool_note_death(struct worker *w, bool was_live)
{
	procq_queue *q = w->slot.q;

	if (q->state != QUEUE_STARTED)
		return;
	if (w->slot.spare && !w->was_regular) {
		if (!w->slot.ready)
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

static void
pool_trace_reaped(const struct worker *w, int status)
{
	if (!w->slot.q->trace)
		return;
	if (w->reaped_elsewhere)
		trace_worker(&w->slot, "reaped by another part of the program");
	else if (WIFSIGNALED(status))
		trace_worker(&w->slot, "reaped: killed by signal %d (SIG%s)",
		    WTERMSIG(status), sigabbrev_np(WTERMSIG(status)) != NULL ?
		    sigabbrev_np(WTERMSIG(status)) : "?");
	else
		trace_worker(&w->slot, "reaped: exit status %d",
		    WEXITSTATUS(status));
}

/*
 * Why the worker ended: the reason it was killed, or how it crashed, with
 * the end of what the job printed.  True when the running task answers
 * for it: a crash, or a kill for its own sake.
 */
static bool
pool_death(struct worker *w, int status, const struct rusage *ru,
    procq_error *err, char *buf, size_t len)
{
	procq_handle *head = slot_head(&w->slot);
	bool charged = true;

	if (w->kill_kind != PROCQ_ERR_NONE) {
		err->kind = w->kill_kind;
		err->type = w->kill_type;
		err->message = w->kill_message;
		err->exit_status = -1;
		err->signal = -1;
		charged = w->kill_targeted && head != NULL &&
		    head->wire_id == w->kill_target;
	} else
		crash_error(w, status, ru, err, buf, len);
	err->output = NULL;
	err->output_len = 0;
	if (charged && (err->kind == PROCQ_ERR_CRASH ||
	    err->kind == PROCQ_ERR_TIMEOUT))
		err->output = stderr_report(w, &err->output_len);
	return charged;
}

/*
 * A new worker died before it said hello: it never could run a task, so
 * this is a failure to start a worker, not a crash of the task sent to
 * it, which goes back in line uncharged.  The message names the start
 * method and what was seen.
 */
static void
pool_died_unready(struct worker *w, int status)
{
	const char *method = spawn_method_name(w->slot.q->cfg.start_method);
	char seen[64], name[32];

	if (w->reaped_elsewhere)
		snprintf(seen, sizeof seen, "ended (reaped elsewhere)");
	else if (WIFSIGNALED(status))
		snprintf(seen, sizeof seen, "died of %s",
		    crash_signal_name(WTERMSIG(status), name, sizeof name));
	else
		snprintf(seen, sizeof seen, "exited with status %d",
		    WEXITSTATUS(status));
	w->kill_kind = PROCQ_ERR_SPAWN;
	w->kill_targeted = false;
	snprintf(w->kill_type, sizeof w->kill_type, "SpawnError");
	snprintf(w->kill_message, sizeof w->kill_message, "the worker (start "
	    "method %s) %s before it said hello", method, seen);
	w->setup_failed = true;
}

/* The worker has exited: read what it wrote before dying (a result in the
 * pipe wins over a cancel or timeout), reap it, report it. */
void
pool_reap(struct worker *w)
{
	procq_queue *q = w->slot.q;
	procq_handle *t;
	procq_error err;
	struct rusage ru = { 0 };
	char buf[256];
	int status = 0;
	bool was_live = w->slot.state == SLOT_LIVE, charged;

	if (w->kill_kind != PROCQ_ERR_PROTOCOL && !w->eof)
		local_drain(w);
	stderr_drain(w);
	w->reaped_elsewhere = !pool_wait(w, &status, &ru);
	pool_trace_reaped(w, status);
	/* A spare has no task to spare, and its own count of deaths
	 * before ready (pool_note_death()). */
	if (was_live && !w->slot.ready && !w->slot.spare &&
	    w->kill_kind == PROCQ_ERR_NONE)
		pool_died_unready(w, status);
	if (was_live && w->slot.state == SLOT_LIVE)
		q->live_workers--;
	w->slot.state = SLOT_DYING;
	pool_note_death(w, was_live);
	charged = pool_death(w, status, &ru, &err, buf, sizeof buf);
	/* The board goes with the worker, and the claims on it. */
	TAILQ_FOREACH(t, &w->slot.inflight, worker_link)
		t->claim = -1;
	dispatch_died(&w->slot, &err, charged);
	pool_first_settled(q);
	if (w->setup_failed && q->state == QUEUE_STARTED)
		pool_spawn_failed(q, w->kill_message);
	pool_close(w);
}
