/*
 * Results: the immutable record of how a task ended.  One allocation holds
 * the record, its strings and the value bytes; a reference count lets
 * summaries outlive the queue.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "queue.h"
#include "protocol.h"
#include "result.h"
#include "task.h"

static size_t
result_strlen(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

static const char *
result_copy(char **cursor, const char *s)
{
	char *dst = *cursor;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	memcpy(dst, s, n);
	*cursor += n;
	return dst;
}

/* Only numbers, nil and booleans decode without zone memory: msgpack-c
 * allocates for strings, bytes and extensions too. */
static bool
value_needs_zone(const char *data)
{
	unsigned char b = (unsigned char)data[0];

	return !(b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 ||
	    b == 0xc3 || (b >= 0xca && b <= 0xd3));
}

/* The value was checked by whoever had it (protocol_check()): the dispatcher
 * for a worker's result, procq_future_set_value() for a future's. */
static int
result_decode(procq_result *r)
{
	size_t off = 0;

	if (protocol_decode_scalar(r->value_data, r->value_len, &r->value))
		return 0;
	if (value_needs_zone(r->value_data) &&
	    (r->zone = msgpack_zone_new(256)) == NULL)
		return -1;
	if (msgpack_unpack(r->value_data, r->value_len, &off, r->zone,
	    &r->value) != MSGPACK_UNPACK_SUCCESS)
		return -1;
	return 0;
}

procq_result *
result_new(const procq_handle *t, procq_status status,
    const procq_error *err, const char *value, size_t value_len,
    double duration)
{
	procq_result *r;
	size_t size;
	char *cursor;
	const char *type = err != NULL ? err->type : NULL;
	const char *message = err != NULL ? err->message : NULL;
	const char *task = t->entry != NULL ? t->entry->name : "future";
	size_t metadata_len = t->extra != NULL ? t->extra->metadata_len : 0;

	size = sizeof *r + result_strlen(t->id) + result_strlen(t->name) +
	    result_strlen(task) + result_strlen(t->group) +
	    result_strlen(t->host) + result_strlen(type) +
	    result_strlen(message) + value_len + metadata_len +
	    (err != NULL ? err->output_len + 1 : 0);
	if ((r = calloc(1, size)) == NULL)
		return NULL;
	atomic_init(&r->refs, 1);
	r->status = status;
	r->kind = err != NULL ? err->kind : PROCQ_ERR_NONE;
	r->attempts = t->attempts;
	r->exit_status = err != NULL ? err->exit_status : -1;
	r->signal = err != NULL ? err->signal : -1;
	r->duration = duration;
	r->started = t->started;
	r->finished = queue_now(t->q);
	r->value.type = MSGPACK_OBJECT_NIL;
	cursor = (char *)(r + 1);
	r->id = result_copy(&cursor, t->id);
	r->name = result_copy(&cursor, t->name);
	r->task = result_copy(&cursor, task);
	r->group = result_copy(&cursor, t->group);
	r->host = result_copy(&cursor, t->host);
	r->rank = t->host != NULL ? t->rank : -1;
	r->error_type = result_copy(&cursor, type);
	r->error_message = result_copy(&cursor, message);
	r->detached = t->detached;
	r->resumed = t->extra != NULL && t->extra->checkpoint != NULL &&
	    t->extra->checkpoint->resumed;
	if (err != NULL && err->output_len > 0) {
		memcpy(cursor, err->output, err->output_len);
		cursor[err->output_len] = '\0';
		r->output = cursor;
		r->output_len = err->output_len;
		cursor += err->output_len + 1;
	}
	if (metadata_len > 0) {
		memcpy(cursor, t->extra->metadata, metadata_len);
		r->metadata = cursor;
		r->metadata_len = metadata_len;
		cursor += metadata_len;
	}
	if (value != NULL && value_len > 0) {
		memcpy(cursor, value, value_len);
		r->value_data = cursor;
		r->value_len = value_len;
		if (result_decode(r) != 0) {
			result_unref(r);
			return NULL;
		}
	}
	return r;
}

/* A second reference to a result no other thread has seen yet: no
 * atomic read-modify-write, which the loop would pay once per task. */
procq_result *
result_ref_fresh(procq_result *r)
{
	atomic_store_explicit(&r->refs,
	    atomic_load_explicit(&r->refs, memory_order_relaxed) + 1,
	    memory_order_relaxed);
	return r;
}

procq_result *
result_ref(procq_result *r)
{
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
	return r;
}

void
result_unref(procq_result *r)
{
	if (r == NULL)
		return;
	if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (r->zone != NULL)
		msgpack_zone_free(r->zone);
	free(r);
}

const char *
procq_result_id(const procq_result *r)
{
	return r != NULL ? r->id : NULL;
}

const char *
procq_result_name(const procq_result *r)
{
	return r != NULL ? r->name : NULL;
}

const char *
procq_result_task(const procq_result *r)
{
	return r != NULL ? r->task : NULL;
}

const char *
procq_result_group(const procq_result *r)
{
	return r != NULL ? r->group : NULL;
}

procq_status
procq_result_status(const procq_result *r)
{
	return r != NULL ? r->status : PROCQ_PENDING;
}

procq_error_kind
procq_result_error_kind(const procq_result *r)
{
	return r != NULL ? r->kind : PROCQ_ERR_NONE;
}

const char *
procq_result_error_type(const procq_result *r)
{
	return r != NULL ? r->error_type : NULL;
}

const char *
procq_result_error_message(const procq_result *r)
{
	return r != NULL ? r->error_message : NULL;
}

int
procq_result_attempts(const procq_result *r)
{
	return r != NULL ? r->attempts : 0;
}

double
procq_result_duration(const procq_result *r)
{
	return r != NULL ? r->duration : 0.0;
}

int
procq_result_exit_status(const procq_result *r)
{
	return r != NULL ? r->exit_status : -1;
}

int
procq_result_signal(const procq_result *r)
{
	return r != NULL ? r->signal : -1;
}

const char *
procq_result_host(const procq_result *r)
{
	return r != NULL ? r->host : NULL;
}

int
procq_result_rank(const procq_result *r)
{
	return r != NULL ? r->rank : -1;
}

bool
procq_result_resumed(const procq_result *r)
{
	return r != NULL && r->resumed;
}

const void *
procq_result_data(const procq_result *r, size_t *len)
{
	if (len != NULL)
		*len = r != NULL ? r->value_len : 0;
	return r != NULL ? r->value_data : NULL;
}

const char *
procq_result_stderr(const procq_result *r, size_t *len)
{
	if (len != NULL)
		*len = r != NULL ? r->output_len : 0;
	return r != NULL ? r->output : NULL;
}

const void *
procq_result_metadata(const procq_result *r, size_t *len)
{
	if (len != NULL)
		*len = r != NULL ? r->metadata_len : 0;
	return r != NULL ? r->metadata : NULL;
}

const msgpack_object *
procq_result_value(const procq_result *r)
{
	if (r == NULL || r->status != PROCQ_SUCCEEDED)
		return NULL;
	return &r->value;
}

int
procq_result_unpack(const procq_result *r, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (r == NULL || fmt == NULL)
		return PROCQ_EINVAL;
	if (r->status != PROCQ_SUCCEEDED)
		return PROCQ_ETASK;
	va_start(ap, fmt);
	rc = procq_vunpack(&r->value, fmt, ap);
	va_end(ap);
	return rc;
}
