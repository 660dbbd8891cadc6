/*
 * Submission: checking a task's options and arguments, waiting for room
 * under the queue's size limit, and placing the new task.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
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
 * at all.  The supervisor thread (a hook) never waits: only the loop can
 * make room.
 */
static int
submit_wait_room(procq_queue *q, double timeout)
{
	struct timespec deadline;
	int rc = 0;

	if (q->cfg.size == 0 || q->outstanding < (size_t)q->cfg.size)
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

/* Places a new task; q->lock held, arguments already checked. */
int
submit_locked(procq_queue *q, const char *name, const void *args,
    size_t args_len, const procq_opts *opts, double timeout,
    struct group_gate *gate, procq_handle **handle)
{
	const struct registry_entry *entry;
	procq_handle *t;
	int rc;

	if (q->closed)
		return PROCQ_ECLOSED;
	entry = registry_find(&q->registry, name, strlen(name));
	if (entry == NULL)
		return PROCQ_ENOTASK;
	if ((rc = submit_wait_room(q, timeout)) != 0)
		return rc;
	if ((t = task_new(q, entry, args, args_len, opts)) == NULL)
		return PROCQ_ENOMEM;
	t->wire_id = q->next_id++;
	task_format_id(t);
	t->seq = q->next_seq++;
	t->gate = gate;
	if (gate != NULL)
		rc = gate_admit_or_hold(t);
	else
		rc = dispatch_direct(q, t) == 0 ? 0 : task_enqueue(t);
	if (rc != 0) {
		task_free(t);
		return PROCQ_ENOMEM;
	}
	TAILQ_INSERT_TAIL(&q->tasks, t, all_link);
	q->outstanding++;
	if (handle != NULL)
		*handle = t;
	return 0;
}

/* Checks what can be checked without the lock; fills in defaults. */
int
submit_prepare(procq_queue *q, const void **args, size_t *args_len,
    const procq_opts **opts, double timeout)
{
	static const procq_opts defaults;
	int rc;

	if (q == NULL || isnan(timeout))
		return PROCQ_EINVAL;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	if (*opts == NULL)
		*opts = &defaults;
	if ((rc = opts_check(*opts)) != 0)
		return rc;
	if ((rc = args_check(*args, *args_len, q->cfg.max_frame)) != 0)
		return rc;
	if (*args_len == 0) {
		*args = "\x90";	/* no arguments: an empty array */
		*args_len = 1;
	}
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
	pthread_mutex_lock(&q->lock);
	rc = submit_locked(q, name, args, args_len, opts, timeout, NULL,
	    handle);
	pthread_mutex_unlock(&q->lock);
	return rc;
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
