/*
 * Fuzz target for the supervisor's dispatcher and the forked-pipe
 * transport under it: what a hostile or broken worker may write on its
 * result pipe.
 *
 * Each input builds a real queue (one worker slot, one registered task)
 * that is never started: the worker slot is wired by hand the way
 * pool_spawn() leaves it, with tasks handed to it the way dispatch_run()
 * does (dispatch_assign()), its pid that of a child forked once at
 * start-up that only waits in its own process group (so the kills of
 * pool_kill() reach nothing else).  The rest of the input is appended to
 * the worker's input buffer and local_frames() decodes it, reporting to
 * the scheduler.  The engine's bookkeeping is checked afterwards, and
 * everything is freed: leaks across inputs are caught.
 *
 * The first input byte chooses the set-up:
 *   bits 0-1  tasks handed to the worker: 1 + (bits % 3)
 *   bit 2     each task may be retried once
 *   bit 3     each task has a timeout
 *   bit 4     the worker has already said hello
 *   bit 5     the second task is cancelled (a tombstone, CANCEL sent)
 *   bit 6     fail_first policy (a failure cancels everything)
 *   bit 7     the smallest frame limit instead of the default
 */
#include "config.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dispatch.h"
#include "transport_local.h"
#include "queue.h"
#include "result.h"
#include "task.h"
#include "channel.h"
#include "fuzz.h"

#define MAX_TASKS	3

static pid_t victim;
static struct event_base *base;

static int
dummy_task(procq_call *call)
{
	(void)call;
	return 0;
}

static void
on_start(procq_handle *h, void *arg)
{
	(void)h;
	(void)arg;
}

static void
on_complete(procq_handle *h, const procq_result *r, void *arg)
{
	(void)h;
	(void)r;
	(void)arg;
}

static void
on_retry(procq_handle *h, const procq_error *err, void *arg)
{
	(void)h;
	(void)err;
	(void)arg;
}

static void
on_progress(procq_handle *h, const msgpack_object *value, void *arg)
{
	(void)h;
	(void)value;
	(void)arg;
}

static void
never_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	abort();	/* the loop is never run */
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* The worker's stand-in: the leader of its own process group. */
	victim = fork();
	CHECK(victim >= 0);
	if (victim == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	setpgid(victim, victim);	/* whoever runs first */
	CHECK(getpgid(victim) == victim);
	CHECK(getpgid(victim) != getpgrp());
	base = event_base_new();
	CHECK(base != NULL);
	return 0;
}

/* The worker slot as pool_spawn() leaves it, without a process of its own
 * or pipes. */
static void
worker_wire(struct worker *w, bool hello)
{
	w->slot.state = SLOT_LIVE;
	w->pid = victim;
	w->slot.id = victim;
	w->slot.ready = hello;
	channel_init(&w->ch, -1, -1, w->slot.q->cfg.max_frame);
	CHECK(channel_open(&w->ch) == 0);
	w->read_ev = event_new(base, -1, EV_READ | EV_PERSIST, never_cb, w);
	w->write_ev = event_new(base, -1, EV_WRITE | EV_PERSIST, never_cb, w);
	w->slot.timeout_ev = evtimer_new(base, never_cb, &w->slot);
	w->kill_ev = evtimer_new(base, never_cb, w);
	CHECK(w->read_ev != NULL &&
	    w->write_ev != NULL && w->slot.timeout_ev != NULL &&
	    w->kill_ev != NULL);
	w->slot.q->live_workers++;
}

/* The engine's bookkeeping after a batch of frames. */
static void
check_state(procq_queue *q, struct worker *w)
{
	procq_handle *t;
	int n = 0;
	size_t tombstones = 0, outstanding = 0;

	TAILQ_FOREACH(t, &w->slot.inflight, worker_link) {
		n++;
		CHECK(t->slot == &w->slot);
		if (t->tombstone)
			CHECK(t->state == TASK_DONE);
		else
			CHECK(t->state == TASK_SENT ||
			    t->state == TASK_RUNNING);
	}
	CHECK(n == w->slot.ninflight);
	TAILQ_FOREACH(t, &q->tasks, all_link) {
		if (t->tombstone)
			tombstones++;
		if (t->state != TASK_DONE)
			outstanding++;
		if (t->state == TASK_SENT || t->state == TASK_RUNNING ||
		    t->tombstone)
			CHECK(t->slot == &w->slot);
		else
			CHECK(t->slot == NULL);
		CHECK((t->state == TASK_DONE) == (t->result != NULL));
	}
	CHECK(tombstones == q->tombstones);
	CHECK(outstanding == q->outstanding);
	CHECK(q->live_workers == (w->slot.state == SLOT_LIVE ? 1 : 0));
	/* Every complete frame was consumed: what is left is less than a
	 * frame, or a length the dispatcher refuses. */
	if (w->kill_kind == PROCQ_ERR_PROTOCOL)
		CHECK(evbuffer_get_length(w->ch.in) == 0);
	else if (evbuffer_get_length(w->ch.in) >= CHANNEL_HEADER) {
		size_t len = channel_frame_length(evbuffer_pullup(w->ch.in,
		    CHANNEL_HEADER));

		CHECK(len == 0 || len > q->cfg.max_frame ||
		    evbuffer_get_length(w->ch.in) < CHANNEL_HEADER + len);
	}
	CHECK(w->slot.state == SLOT_LIVE || w->kill_kind != PROCQ_ERR_NONE);
}

/* What the reaper would do, without reaping: the worker's tasks leave
 * it, then the queue is freed (cancelling whatever is unfinished). */
static void
teardown(procq_queue *q, struct worker *w)
{
	procq_handle *t;

	while ((t = slot_head(&w->slot)) != NULL) {
		task_unlink(t);
		if (t->state == TASK_SENT || t->state == TASK_RUNNING)
			task_move(t, TASK_LOOSE);
	}
	CHECK(q->tombstones == 0);
	w->pid = 0;	/* not ours to reap */
	dispatch_release(q);
	/* procq_free() would start the engine for unfinished work: there
	 * must be none left once everything is cancelled. */
	task_cancel_all(q, 0);
	CHECK(q->outstanding == 0);
	procq_free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	procq_config cfg = { 0 };
	procq_opts opts = { 0 };
	procq_handle *h[MAX_TASKS] = { 0 };
	procq_queue *q;
	struct worker *w;
	unsigned flags;
	int ntasks, err;

	if (size == 0)
		return 0;
	flags = data[0];
	data++;
	size--;
	ntasks = 1 + (int)(flags & 3) % MAX_TASKS;

	cfg.workers = 1;
	cfg.start_method = PROCQ_START_FORK;	/* no server: nothing forks */
	cfg.prefetch = MAX_TASKS;
	cfg.max_frame = (flags & 0x80) ? CHANNEL_MIN_FRAME : 0;
	cfg.fail_policy = (flags & 0x40) ? PROCQ_FAIL_FIRST : PROCQ_FAIL_CONTINUE;
	cfg.on_start = on_start;
	cfg.on_complete = on_complete;
	cfg.on_retry = on_retry;
	cfg.on_progress = on_progress;
	q = procq_create(&cfg, &err);
	CHECK(q != NULL);
	CHECK(procq_register(q, "task", dummy_task) == 0);
	opts.retries = (flags & 0x04) ? 1 : 0;
	opts.timeout = (flags & 0x08) ? 60.0 : 0;
	for (int i = 0; i < ntasks; i++)
		CHECK(procq_submit(q, "task", NULL, 0, &opts, &h[i]) == 0);

	q->transport = &transport_local;
	CHECK(q->transport->open(q) == 0);
	w = local_worker(q->slots[0]);
	worker_wire(w, (flags & 0x10) != 0);
	/* Handed out as dispatch_run() does: wire ids 0, 1, 2. */
	for (int i = 0; i < ntasks; i++) {
		procq_handle *t = task_ready_pop(q);

		CHECK(t == h[i]);
		dispatch_assign(&w->slot, t);
	}
	if ((flags & 0x20) && ntasks > 1) {
		task_cancel(h[1]);
		dispatch_send_cancels(q);
		CHECK(h[1]->tombstone && h[1]->cancel_sent);
	}
	check_state(q, w);

	CHECK(evbuffer_add(w->ch.in, data, size) == 0);
	local_frames(w);
	check_state(q, w);
	/* As the loop does after each read batch. */
	dispatch_send_cancels(q);
	check_state(q, w);

	teardown(q, w);
	return 0;
}
