/*
 * What a task function sees of its call: its arguments, and where its
 * return value or failure goes.  Runs inside a worker process.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"
#include "../src/protocol.h"

/* ret, the buffer for the return value, is the worker's: it is emptied
 * here, and kept from call to call. */
void
call_init(procq_call *c, msgpack_sbuffer *ret)
{
	memset(c, 0, sizeof *c);
	msgpack_sbuffer_clear(ret);
	c->ret = ret;
	msgpack_packer_init(&c->packer, ret, msgpack_sbuffer_write);
	c->args.type = MSGPACK_OBJECT_NIL;
}

void
call_reset(procq_call *c)
{
	free(c->error_type);
	free(c->error_message);
	c->error_type = c->error_message = NULL;
}

const char *
procq_call_name(const procq_call *c)
{
	return c != NULL ? c->name : NULL;
}

/* Most tasks never ask: the id is formatted on demand. */
const char *
procq_call_id(const procq_call *c)
{
	procq_call *mc = (procq_call *)c;	/* never a const object */

	if (c == NULL)
		return NULL;
	if (mc->id[0] == '\0' && mc->id_value != 0)
		snprintf(mc->id, sizeof mc->id, "%016" PRIx64, mc->id_value);
	return c->id;
}

int
procq_call_attempt(const procq_call *c)
{
	return c != NULL ? c->attempt : 0;
}

const msgpack_object *
procq_call_args(const procq_call *c)
{
	return c != NULL ? &c->args : NULL;
}

const void *
procq_call_args_data(const procq_call *c, size_t *len)
{
	if (len != NULL)
		*len = c != NULL ? c->args_len : 0;
	return c != NULL ? c->args_data : NULL;
}

int
procq_call_unpack(const procq_call *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (c == NULL || fmt == NULL)
		return PROCQ_EINVAL;
	va_start(ap, fmt);
	rc = procq_vunpack(&c->args, fmt, ap);
	va_end(ap);
	return rc;
}

/* A later return replaces an earlier one. */
msgpack_packer *
procq_call_packer(procq_call *c)
{
	if (c == NULL)
		return NULL;
	msgpack_sbuffer_clear(c->ret);
	return &c->packer;
}

int
procq_call_return(procq_call *c, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	if (c == NULL || fmt == NULL)
		return PROCQ_EINVAL;
	n = procq_format_count(fmt);
	if (n <= 0)
		return PROCQ_EFORMAT;
	msgpack_sbuffer_clear(c->ret);
	if (n > 1 && msgpack_pack_array(&c->packer, (size_t)n) != 0)
		return PROCQ_ENOMEM;
	va_start(ap, fmt);
	rc = procq_vpack(&c->packer, fmt, ap);
	va_end(ap);
	if (rc != 0)
		msgpack_sbuffer_clear(c->ret);
	return rc;
}

int
procq_call_return_data(procq_call *c, const void *data, size_t len)
{
	if (c == NULL || data == NULL || len == 0)
		return PROCQ_EINVAL;
	msgpack_sbuffer_clear(c->ret);
	if (msgpack_sbuffer_write(c->ret, data, len) != 0)
		return PROCQ_ENOMEM;
	return 0;
}

int
procq_call_fail(procq_call *c, const char *type, const char *fmt, ...)
{
	va_list ap;
	char *message = NULL;

	if (c == NULL)
		return -1;
	free(c->error_type);
	free(c->error_message);
	c->error_type = strdup(type != NULL ? type : "TaskError");
	if (fmt != NULL) {
		va_start(ap, fmt);
		if (vasprintf(&message, fmt, ap) < 0)
			message = NULL;
		va_end(ap);
	}
	c->error_message = message != NULL ? message : strdup("");
	return -1;
}

/* Sent at once: the supervisor sees it while the task still runs. */
int
procq_call_progress(procq_call *c, const char *fmt, ...)
{
	msgpack_sbuffer value, frame;
	msgpack_packer pk;
	va_list ap;
	int n, rc;

	if (c == NULL || fmt == NULL)
		return PROCQ_EINVAL;
	if (!c->can_report)
		return PROCQ_ESTATE;
	if ((n = procq_format_count(fmt)) <= 0)
		return PROCQ_EFORMAT;
	msgpack_sbuffer_init(&value);
	msgpack_packer_init(&pk, &value, msgpack_sbuffer_write);
	rc = n > 1 && msgpack_pack_array(&pk, (size_t)n) != 0 ? PROCQ_ENOMEM : 0;
	va_start(ap, fmt);
	if (rc == 0)
		rc = procq_vpack(&pk, fmt, ap);
	va_end(ap);
	msgpack_sbuffer_init(&frame);
	if (rc == 0) {
		if (protocol_encode_progress(&frame, c->max_frame, c->wire_id,
		    value.data, value.size) != 0)
			rc = PROCQ_EINVAL;	/* larger than a frame */
		else
			worker_write_all(frame.data, frame.size);
	}
	msgpack_sbuffer_destroy(&frame);
	msgpack_sbuffer_destroy(&value);
	return rc;
}
