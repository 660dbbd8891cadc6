/*
 * Futures: handles that no worker runs, completed by the caller from any
 * thread.  Setting one is a command to the queue's owner, which finishes
 * it through task_finish(), so they work wherever a task's handle does.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "loop.h"
#include "pack.h"
#include "queue.h"
#include "protocol.h"

/* The owner learns of a new future: the queue frees it with the rest. */
static void
future_place(procq_queue *q, void *a, void *b, size_t n)
{
	procq_handle *t = a;

	(void)b;
	(void)n;
	TAILQ_INSERT_TAIL(&q->tasks, t, all_link);
}

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
	t->wire_id = q->next_id++;
	task_format_id(t);
	command_post(q, future_place, t, NULL, 0);
	if (err != NULL)
		*err = 0;
	return t;
}

struct future_end {
	procq_handle		*f;
	procq_status		 status;
	const procq_error	*err;
	const char		*value;
	size_t			 len;
};

static int
future_finish_cmd(procq_queue *q, void *arg)
{
	const struct future_end *e = arg;

	(void)q;
	if (e->f->state == TASK_DONE)
		return PROCQ_EDONE;
	task_finish(e->f, e->status, e->err, e->value, e->len);
	return 0;
}

static int
future_finish(procq_handle *f, procq_status status, const procq_error *err,
    const char *value, size_t len)
{
	struct future_end e = { f, status, err, value, len };

	if (f == NULL || !f->future)
		return PROCQ_EINVAL;
	if (queue_forked(f->q))
		return PROCQ_EFORKED;
	return command_call(f->q, future_finish_cmd, &e);
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
