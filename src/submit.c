/*
 * Submission: checking a task's options and arguments, waiting for room
 * under the queue's size limit, and placing the new task.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "command.h"
#include "group.h"
#include "loop.h"
#include "pack.h"
#include "queue.h"
#include "submit.h"
#include "protocol.h"
#include "clock.h"

static int
opts_check(const procq_opts *o)
{
	if (o->retries < 0 || !finite_nonneg(o->retry_delay) ||
	    !finite_nonneg(o->timeout) || !isfinite(o->backoff) ||
	    (o->backoff != 0 && o->backoff < 1))
		return PROCQ_EINVAL;
	if (!finite_nonneg(o->delay) || !finite_nonneg(o->run_at) ||
	    (o->delay > 0 && o->run_at > 0))
		return PROCQ_EINVAL;
	if (o->metadata_len > 0 && o->metadata == NULL)
		return PROCQ_EINVAL;
	return 0;
}

/* The argument tuple must be exactly one msgpack array. */
static int
args_check(const void *args, size_t args_len, size_t max_frame)
{
	unsigned char b;

	if (args_len == 0)
		return 0;
	if (args == NULL || args_len > max_frame - 64)
		return PROCQ_EINVAL;
	b = *(const unsigned char *)args;
	if (!((b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd))
		return PROCQ_EINVAL;
	return protocol_check(args, args_len) ? 0 : PROCQ_EINVAL;
}

/*
 * Waits for room under the size limit: timeout < 0 waits for ever, 0 not
 * at all.  The loop's thread (a hook) never waits: only the loop can make
 * room.  q->lock held.
 */
static int
submit_wait_room(procq_queue *q, double timeout)
{
	struct timespec deadline;
	int rc = 0;

	if (q->outstanding < (size_t)q->cfg.size)
		return 0;
	if (timeout == 0 || loop_on_thread(q))
		return PROCQ_EFULL;
	if (timeout > 0)
		deadline = procq_clock_deadline(timeout);
	q->finish_waiters++;
	while (!q->closed && q->outstanding >= (size_t)q->cfg.size && rc == 0)
		loop_wait(q, timeout > 0 ? &deadline : NULL, &rc);
	q->finish_waiters--;
	if (q->closed)
		return PROCQ_ECLOSED;
	return rc != 0 ? PROCQ_EFULL : 0;
}

/* Under a size limit, a task's place is counted (reserved) before it is
 * posted: two threads cannot both take the last one. */
static int
submit_reserve(procq_queue *q, double timeout)
{
	int rc;

	if (q->cfg.size == 0)
		return 0;
	pthread_mutex_lock(&q->lock);
	if ((rc = submit_wait_room(q, timeout)) == 0)
		q->outstanding++;
	pthread_mutex_unlock(&q->lock);
	return rc;
}

static void
submit_unreserve(procq_queue *q)
{
	if (q->cfg.size == 0)
		return;
	pthread_mutex_lock(&q->lock);
	q->outstanding--;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/*
 * An exec queue's name before its worker program has said which it has:
 * accepted, and kept for the tasks that use it.  A name the program
 * lacks fails at the worker ("UnknownTask").  commands.lock held.
 */
static const struct registry_entry *
submit_unchecked(procq_queue *q, const char *name)
{
	const struct registry_entry *entry;
	size_t len = strlen(name);

	if ((entry = registry_find(&q->unchecked, name, len)) != NULL)
		return entry;
	if (registry_add(&q->unchecked, name, NULL) != 0)
		return NULL;
	return registry_find(&q->unchecked, name, len);
}

/*
 * Finds the task function of a batch of new tasks.  The registry is read
 * under q->lock or commands.lock (command.c calls this with commands.lock
 * held, and q->lock too when there is no owner): the owner changes an exec
 * queue's registry only while it holds both, and a forked queue's never
 * after it starts.
 */
int
submit_resolve(procq_queue *q, struct task_list *batch, const char *name)
{
	const struct registry_entry *entry;
	procq_handle *t;

	entry = registry_find(&q->registry, name, strlen(name));
	if (entry == NULL && q->names_known)
		return PROCQ_ENOTASK;
	if (entry == NULL && (entry = submit_unchecked(q, name)) == NULL)
		return PROCQ_ENOMEM;
	TAILQ_FOREACH(t, batch, worker_link) {
		t->entry = entry;
		if (!t->name_owned)
			t->name = entry->name;
	}
	return 0;
}

/* The owner places a posted task: through its group's gate, or in the
 * ready or delayed heap.  Out of memory, it fails at once: every task
 * ends in a final state. */
void
submit_place(procq_queue *q, procq_handle *t)
{
	static const procq_error nomem = {
		.kind = PROCQ_ERR_SPAWN,
		.type = "MemoryError",
		.message = "out of memory placing the task"
	};
	int rc;

	t->seq = q->next_seq++;
	TAILQ_INSERT_TAIL(&q->tasks, t, all_link);
	if (checkpoint_resume(t))
		return;
	rc = t->gate != NULL ? gate_admit_or_hold(t) : task_enqueue(t);
	if (rc != 0)
		task_finish(t, PROCQ_FAILED, &nomem, NULL, 0);
}

/* A new task, not yet posted: only the caller's thread sees it. */
static int
submit_new(procq_queue *q, const char *name, const void *args, size_t args_len,
    const procq_opts *opts, struct group_gate *gate, procq_handle **out)
{
	procq_handle *t;
	int rc;

	*out = NULL;
	if ((t = task_new(q, NULL, args, args_len, opts)) == NULL)
		return PROCQ_ENOMEM;
	if ((rc = checkpoint_task_new(q, t, name, opts)) != 0) {
		task_free(t);
		return rc;
	}
	t->wire_id = q->next_id++;
	task_format_id(t);
	t->gate = gate;
	*out = t;
	return 0;
}

/*
 * Makes a new task and posts it to the engine; *handle is set before the
 * task can run, so that a hook never sees a handle its submitter does not
 * have yet.  The arguments are already checked.
 */
int
submit_post(procq_queue *q, const char *name, const void *args,
    size_t args_len, const procq_opts *opts, double timeout,
    struct group_gate *gate, procq_handle **handle)
{
	struct task_list batch;
	procq_handle *t;
	int rc;

	if ((rc = submit_new(q, name, args, args_len, opts, gate, &t)) != 0)
		return rc;
	if ((rc = submit_reserve(q, timeout)) != 0) {
		task_free(t);
		return rc;
	}
	if (handle != NULL)
		*handle = t;
	TAILQ_INIT(&batch);
	TAILQ_INSERT_TAIL(&batch, t, worker_link);
	if ((rc = command_submit(q, &batch, 1, name, q->cfg.size != 0)) != 0) {
		if (handle != NULL)
			*handle = NULL;
		submit_unreserve(q);
		task_free(t);
	}
	return rc;
}

/* No options are the defaults; no arguments an empty array. */
static void
submit_defaults(const void **args, size_t *args_len, const procq_opts **opts)
{
	static const procq_opts defaults;

	if (*opts == NULL)
		*opts = &defaults;
	if (*args_len == 0) {
		*args = "\x90";
		*args_len = 1;
	}
}

/*
 * Tasks a batch is posted in: the engine starts on the first ones while
 * the rest are made, which for a large batch is most of its time.
 */
#define SUBMIT_CHUNK 1024

/* What was posted of a batch that failed part-way is cancelled; what was
 * not is freed.  Every handle is then NULL. */
static void
submit_batch_undo(struct task_list *unposted, procq_handle **hs, size_t posted,
    size_t n)
{
	procq_handle *t;

	while ((t = TAILQ_FIRST(unposted)) != NULL) {
		TAILQ_REMOVE(unposted, t, worker_link);
		task_free(t);
	}
	for (size_t k = 0; k < posted; k++)
		procq_handle_cancel(hs[k]);
	memset(hs, 0, n * sizeof *hs);
}

/*
 * Posts n tasks of one function, SUBMIT_CHUNK at a time.  Every argument
 * is checked first, so that a bad one submits nothing; the name is checked
 * with the first chunk.  Only running out of memory, a store's failure or
 * a close by another thread can stop a later chunk: what was posted is
 * then cancelled.  The queue has no size limit: under one, tasks wait for
 * room one by one (submit_post()).
 */
int
submit_post_batch(procq_queue *q, const char *name, const procq_args *args,
    size_t n, const procq_opts *opts, struct group_gate *gate,
    procq_handle **hs)
{
	struct task_list batch;
	procq_handle *t;
	size_t posted = 0, made = 0;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const void *a = args[i].data;
		const procq_opts *o = opts;
		size_t len = args[i].len;

		rc = submit_prepare(q, &a, &len, &o, -1);
	}
	TAILQ_INIT(&batch);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const void *a = args[i].data;
		const procq_opts *o = opts;
		size_t len = args[i].len;

		submit_defaults(&a, &len, &o);
		if ((rc = submit_new(q, name, a, len, o, gate, &t)) != 0)
			break;
		TAILQ_INSERT_TAIL(&batch, t, worker_link);
		hs[i] = t;
		if (++made == SUBMIT_CHUNK || i + 1 == n) {
			if ((rc = command_submit(q, &batch, made, name,
				 false)) != 0)
				break;
			TAILQ_INIT(&batch);
			posted = i + 1;
			made = 0;
		}
	}
	if (rc != 0)
		submit_batch_undo(&batch, hs, posted, n);
	return rc;
}

/* Checks what can be checked without the lock; fills in defaults. */
int
submit_prepare(procq_queue *q, const void **args, size_t *args_len,
    const procq_opts **opts, double timeout)
{
	int rc;

	if (q == NULL || isnan(timeout))
		return PROCQ_EINVAL;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	if (*opts != NULL && (rc = opts_check(*opts)) != 0)
		return rc;
	if ((rc = args_check(*args, *args_len, q->cfg.max_frame)) != 0)
		return rc;
	submit_defaults(args, args_len, opts);
	return 0;
}

static int
submit_common(procq_queue *q, const char *name, const void *args,
    size_t args_len, const procq_opts *opts, double timeout,
    procq_handle **handle)
{
	int rc;

	if (handle != NULL)
		*handle = NULL;
	if (name == NULL)
		return PROCQ_EINVAL;
	if ((rc = submit_prepare(q, &args, &args_len, &opts, timeout)) != 0)
		return rc;
	return submit_post(q, name, args, args_len, opts, timeout, NULL,
	    handle);
}

int
procq_submit(procq_queue *q, const char *name, const void *args,
    size_t args_len, const procq_opts *opts, procq_handle **handle)
{
	return submit_common(q, name, args, args_len, opts, PROCQ_FOREVER,
	    handle);
}

int
procq_submit_timeout(procq_queue *q, const char *name, const void *args,
    size_t args_len, const procq_opts *opts, double timeout,
    procq_handle **handle)
{
	if (timeout < 0) {
		if (handle != NULL)
			*handle = NULL;
		return PROCQ_EINVAL;
	}
	return submit_common(q, name, args, args_len, opts, timeout, handle);
}

int
procq_try_submit(procq_queue *q, const char *name, const void *args,
    size_t args_len, const procq_opts *opts, procq_handle **handle)
{
	return submit_common(q, name, args, args_len, opts, 0, handle);
}

/* Grows a tuple buffer: the first bytes live in the struct itself. */
static int
tuple_buf_write(void *data, const char *buf, size_t len)
{
	struct tuple_buf *tb = data;
	char *grown;
	size_t cap;

	if (len > tb->cap - tb->size) {
		cap = tb->cap * 2 > tb->size + len ? tb->cap * 2 :
		    tb->size + len;
		grown = tb->data == tb->local ? malloc(cap) :
		    realloc(tb->data, cap);
		if (grown == NULL)
			return -1;
		if (tb->data == tb->local)
			memcpy(grown, tb->local, tb->size);
		tb->data = grown;
		tb->cap = cap;
	}
	memcpy(tb->data + tb->size, buf, len);
	tb->size += len;
	return 0;
}

void
tuple_buf_release(struct tuple_buf *tb)
{
	if (tb->data != tb->local)
		free(tb->data);
	tb->data = tb->local;
	tb->size = 0;
}

/* Packs the arguments of a ...f() call into an array, in tb, which the
 * caller releases in every case.  Most tuples fit in tb itself: a submit
 * then allocates nothing for its arguments. */
int
pack_tuple(struct tuple_buf *tb, const char *fmt, va_list ap)
{
	msgpack_packer pk;
	int n;

	tb->data = tb->local;
	tb->size = 0;
	tb->cap = sizeof tb->local;
	if (fmt == NULL)
		fmt = "";
	if ((n = procq_format_count(fmt)) < 0)
		return PROCQ_EFORMAT;
	msgpack_packer_init(&pk, tb, tuple_buf_write);
	if (msgpack_pack_array(&pk, (size_t)n) != 0)
		return PROCQ_ENOMEM;
	return procq_vpack(&pk, fmt, ap);
}

int
procq_submitf(procq_queue *q, const char *name, const procq_opts *opts,
    procq_handle **handle, const char *fmt, ...)
{
	struct tuple_buf tb;
	va_list ap;
	int rc;

	if (handle != NULL)
		*handle = NULL;
	va_start(ap, fmt);
	rc = pack_tuple(&tb, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = procq_submit(q, name, tb.data, tb.size, opts, handle);
	tuple_buf_release(&tb);
	return rc;
}
