#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "queue.h"
#include "result.h"

/*
 * The queue whose hooks this thread is running, if any: calls that would
 * wait for the engine refuse to from there, as from the supervisor
 * thread.  Thread-local by nature; the one piece of state outside a queue.
 */
static _Thread_local const procq_queue *hook_queue;

bool
hook_on_this_thread(const procq_queue *q)
{
	return hook_queue == q;
}

static struct hook_event *
hook_push(procq_queue *q, enum hook_kind kind, procq_handle *h)
{
	struct hook_list *l = &q->hooks;
	struct hook_event *ev;

	if (l->len == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;

		if ((ev = realloc(l->events, cap * sizeof *ev)) == NULL)
			return NULL;	/* a hook is lost, never the task */
		l->events = ev;
		l->cap = cap;
	}
	ev = &l->events[l->len++];
	q->hooks_recorded++;
	memset(ev, 0, sizeof *ev);
	ev->kind = kind;
	ev->handle = h;
	task_hold(h);	/* until the hook has run */
	return ev;
}

void
hook_start(procq_handle *t)
{
	if (t->q->cfg.on_start != NULL)
		hook_push(t->q, HOOK_START, t);
}

/* Done callbacks run like hooks: later, without the lock. */
static void
hook_callbacks(procq_handle *t)
{
	struct done_cb *cb, *next;

	for (cb = t->callbacks; cb != NULL; cb = next) {
		next = cb->next;
		hook_done(t, cb->fn, cb->arg);
		free(cb);
	}
	t->callbacks = NULL;
}

/* The task's done callbacks, then the queue's on_complete hook (not for a
 * future), are recorded to run: a final-task listener. */
void
hook_task_final(procq_handle *t)
{
	struct hook_event *ev;

	hook_callbacks(t);
	if (t->future || t->q->cfg.on_complete == NULL || t->result == NULL)
		return;
	if ((ev = hook_push(t->q, HOOK_COMPLETE, t)) != NULL)
		ev->result = result_ref(t->result);
}

void
hook_retry(procq_handle *t, const procq_error *err)
{
	struct hook_event *ev;

	if (t->q->cfg.on_retry == NULL)
		return;
	if ((ev = hook_push(t->q, HOOK_RETRY, t)) == NULL)
		return;
	ev->error.kind = err->kind;
	ev->error.type = err->type ? strdup(err->type) : NULL;
	ev->error.message = err->message ? strdup(err->message) : NULL;
	ev->error.exit_status = err->exit_status;
	ev->error.signal = err->signal;
	if (err->output_len > 0 &&
	    (ev->error.output = malloc(err->output_len)) != NULL) {
		memcpy((char *)ev->error.output, err->output, err->output_len);
		ev->error.output_len = err->output_len;
	}
}

void
hook_done(procq_handle *t, procq_done_fn fn, void *arg)
{
	struct hook_event *ev;

	if ((ev = hook_push(t->q, HOOK_DONE, t)) == NULL)
		return;
	ev->done_fn = fn;
	ev->done_arg = arg;
}

void
hook_progress(procq_handle *t, const char *data, size_t len)
{
	struct hook_event *ev;

	if (t->q->cfg.on_progress == NULL)
		return;
	if ((ev = hook_push(t->q, HOOK_PROGRESS, t)) == NULL)
		return;
	if ((ev->data = malloc(len)) == NULL) {
		t->q->hooks.len--;	/* drop it whole */
		t->q->hooks_recorded--;
		task_unhold(t);
		return;
	}
	memcpy(ev->data, data, len);
	ev->len = len;
}

bool
hook_pending(const procq_queue *q)
{
	return q->hooks.len > 0;
}

/* The number the next hook event recorded will get: every event before
 * it has been recorded already. */
uint64_t
hook_mark(const procq_queue *q)
{
	return q->hooks_recorded;
}

/* Have the events recorded before mark all run?  Those still listed are
 * the last ones recorded; a batch being run may not be the oldest (with
 * no owner, two threads may each run one). */
bool
hook_ran_through(const procq_queue *q, uint64_t mark)
{
	const struct hook_batch *b;

	if (q->hooks_recorded - q->hooks.len < mark)
		return false;
	for (b = q->hooks_batches; b != NULL; b = b->next) {
		if (b->first < mark)
			return false;
	}
	return true;
}

static void
hook_batch_unlink(procq_queue *q, struct hook_batch *batch)
{
	struct hook_batch **b;

	for (b = &q->hooks_batches; *b != batch; b = &(*b)->next)
		;
	*b = batch->next;
}

/* The progress value lives for the hook's call only. */
static void
hook_call_progress(const procq_config *cfg, struct hook_event *ev)
{
	msgpack_unpacked u;
	size_t off = 0;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, ev->data, ev->len, &off) ==
	    MSGPACK_UNPACK_SUCCESS)
		cfg->on_progress(ev->handle, &u.data, cfg->hook_arg);
	msgpack_unpacked_destroy(&u);
	free(ev->data);
}

static void
hook_call(const procq_config *cfg, struct hook_event *ev)
{
	switch (ev->kind) {
	case HOOK_DONE:
		ev->done_fn(ev->handle, ev->done_arg);
		break;
	case HOOK_PROGRESS:
		hook_call_progress(cfg, ev);
		break;
	case HOOK_START:
		cfg->on_start(ev->handle, cfg->hook_arg);
		break;
	case HOOK_COMPLETE:
		cfg->on_complete(ev->handle, ev->result, cfg->hook_arg);
		result_unref(ev->result);
		break;
	case HOOK_RETRY:
		cfg->on_retry(ev->handle, &ev->error, cfg->hook_arg);
		free((char *)ev->error.type);
		free((char *)ev->error.message);
		free((char *)ev->error.output);
		break;
	}
}

/*
 * Runs the recorded hooks with q->lock released, then takes it back.
 * Handles stay valid meanwhile: each event holds its handle until it has
 * run, and procq_reset() and procq_free() wait for hooks to be run.
 * Threads waiting on q->cond hear of each batch that has run: runs and
 * joins wait for the hooks of their tasks (hook_ran_through()).
 */
void
hook_run(procq_queue *q)
{
	struct hook_batch batch;
	struct hook_list l;

	const procq_queue *outer = hook_queue;

	while (q->hooks.len > 0) {
		l = q->hooks;
		memset(&q->hooks, 0, sizeof q->hooks);
		batch.first = q->hooks_recorded - l.len;
		batch.next = q->hooks_batches;
		/* cppcheck-suppress autoVariables ; unlinked before return */
		q->hooks_batches = &batch;
		q->hooks_running++;
		pthread_mutex_unlock(&q->lock);
		hook_queue = q;
		for (size_t i = 0; i < l.len; i++)
			hook_call(&q->cfg, &l.events[i]);
		hook_queue = outer;
		pthread_mutex_lock(&q->lock);
		for (size_t i = 0; i < l.len; i++)
			task_unhold(l.events[i].handle);
		free(l.events);
		hook_batch_unlink(q, &batch);
		q->hooks_running--;
		pthread_cond_broadcast(&q->cond);
	}
}

/* Drops hooks that can no longer run (the queue is being freed). */
void
hook_discard(procq_queue *q)
{
	for (size_t i = 0; i < q->hooks.len; i++) {
		struct hook_event *ev = &q->hooks.events[i];

		result_unref(ev->result);
		free((char *)ev->error.type);
		free((char *)ev->error.message);
		free((char *)ev->error.output);
		free(ev->data);
		task_unhold(ev->handle);
	}
	free(q->hooks.events);
	memset(&q->hooks, 0, sizeof q->hooks);
}
