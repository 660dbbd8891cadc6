/*
 * Futures: handles that no worker runs, completed by the caller from any
 * thread.  They share the queue's lock and finish through task_finish(),
 * so they work wherever a task's handle does.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "pack.h"
#include "queue.h"
#include "protocol.h"

procq_handle *
procq_future_create(procq_queue *q, const char *name, int *err)
{
	procq_opts opts = { .name = name };
	procq_handle *t;

	if (q == NULL || queue_forked(q)) {
		if (err != NULL)
			*err = q == NULL ? PROCQ_EINVAL : PROCQ_EFORKED;
		return NULL;
	}
	if ((t = task_new(q, NULL, "\x90", 1, &opts)) == NULL) {
		if (err != NULL)
			*err = PROCQ_ENOMEM;
		return NULL;
	}
	t->future = 1;
	task_move(t, TASK_FUTURE);
	queue_lock(q);
	t->wire_id = q->next_id++;
	task_format_id(t);
	TAILQ_INSERT_TAIL(&q->tasks, t, all_link);
	pthread_mutex_unlock(&q->lock);
	if (err != NULL)
		*err = 0;
	return t;
}

static int
future_finish(procq_handle *f, procq_status status, const procq_error *err,
    const char *value, size_t len)
{
	procq_queue *q;
	int rc = 0;

	if (f == NULL || !f->future)
		return PROCQ_EINVAL;
	q = f->q;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	queue_lock(q);
	if (f->state == TASK_DONE)
		rc = PROCQ_EDONE;
	else
		task_finish(f, status, err, value, len);
	queue_unlock(q);
	return rc;
}

int
procq_future_set_value(procq_handle *f, const void *data, size_t len)
{
	if ((data == NULL) != (len == 0))
		return PROCQ_EINVAL;
	if (data == NULL) {
		data = "\xc0";	/* nil */
		len = 1;
	}
	if (!protocol_check(data, len))
		return PROCQ_EINVAL;
	return future_finish(f, PROCQ_SUCCEEDED, NULL, data, len);
}

int
procq_future_set_valuef(procq_handle *f, const char *fmt, ...)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	va_list ap;
	int n, rc;

	if (fmt == NULL || (n = procq_format_count(fmt)) <= 0)
		return PROCQ_EFORMAT;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rc = n > 1 && msgpack_pack_array(&pk, (size_t)n) != 0 ? PROCQ_ENOMEM : 0;
	va_start(ap, fmt);
	if (rc == 0)
		rc = procq_vpack(&pk, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = procq_future_set_value(f, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

int
procq_future_set_error(procq_handle *f, const char *type, const char *message)
{
	procq_error err = {
		.kind = PROCQ_ERR_TASK,
		.type = type != NULL ? type : "TaskError",
		.message = message != NULL ? message : "",
		.exit_status = -1, .signal = -1
	};

	return future_finish(f, PROCQ_FAILED, &err, NULL, 0);
}

bool
procq_handle_is_future(const procq_handle *h)
{
	return h != NULL && !queue_forked(h->q) && h->future;
}
