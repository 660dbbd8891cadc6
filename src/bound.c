/*
 * Bound tasks: a task name with preset options, called with per-call
 * overrides.  A zero field of the override keeps the preset's.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "submit.h"

struct procq_bound {
	procq_queue	*q;
	char		*name;
	procq_opts	 preset;	/* strings copied */
	char		*opt_name;
	char		*opt_group;
	void		*metadata;
};

static procq_opts
bound_merge(const procq_bound *b, const procq_opts *o)
{
	procq_opts m = b->preset;

	if (o == NULL)
		return m;
	if (o->name != NULL)
		m.name = o->name;
	if (o->group != NULL)
		m.group = o->group;
	if (o->priority != 0)
		m.priority = o->priority;
	if (o->retries != 0)
		m.retries = o->retries;
	if (o->retry_delay != 0)
		m.retry_delay = o->retry_delay;
	if (o->backoff != 0)
		m.backoff = o->backoff;
	if (o->timeout != 0)
		m.timeout = o->timeout;
	if (o->delay != 0 || o->run_at != 0) {
		m.delay = o->delay;
		m.run_at = o->run_at;
	}
	if (o->must_complete)
		m.must_complete = true;
	if (o->detached)
		m.detached = true;
	if (o->metadata != NULL) {
		m.metadata = o->metadata;
		m.metadata_len = o->metadata_len;
	}
	return m;
}

static char *
bound_strdup(const char *s, bool *failed)
{
	char *copy;

	if (s == NULL)
		return NULL;
	if ((copy = strdup(s)) == NULL)
		*failed = true;
	return copy;
}

procq_bound *
procq_bind(procq_queue *q, const char *name, const procq_opts *preset,
    int *err)
{
	procq_bound *b;
	bool failed = false;
	int rc = PROCQ_ENOMEM;

	if (q == NULL || name == NULL) {
		rc = PROCQ_EINVAL;
		goto fail;
	}
	if (queue_forked(q)) {
		rc = PROCQ_EFORKED;
		goto fail;
	}
	pthread_mutex_lock(&q->lock);
	/* An exec queue's names are checked once its worker program has
	 * told them (submit_resolve()). */
	rc = registry_find(&q->registry, name, strlen(name)) != NULL ||
	    !q->names_known ? 0 : PROCQ_ENOTASK;
	pthread_mutex_unlock(&q->lock);
	if (rc != 0)
		goto fail;
	/* The preset is checked as any submission's options would be. */
	if (preset != NULL &&
	    (rc = submit_prepare(q, &(const void *){ NULL }, &(size_t){ 0 },
	    &preset, 0)) != 0)
		goto fail;
	rc = PROCQ_ENOMEM;
	if ((b = calloc(1, sizeof *b)) == NULL)
		goto fail;
	b->q = q;
	b->preset = preset != NULL ? *preset : (procq_opts){ 0 };
	b->name = bound_strdup(name, &failed);
	b->opt_name = bound_strdup(b->preset.name, &failed);
	b->opt_group = bound_strdup(b->preset.group, &failed);
	if (b->preset.metadata_len > 0 &&
	    (b->metadata = malloc(b->preset.metadata_len)) != NULL)
		memcpy(b->metadata, b->preset.metadata, b->preset.metadata_len);
	else if (b->preset.metadata_len > 0)
		failed = true;
	b->preset.name = b->opt_name;
	b->preset.group = b->opt_group;
	b->preset.metadata = b->metadata;
	if (failed) {
		procq_bound_free(b);
		goto fail;
	}
	if (err != NULL)
		*err = 0;
	return b;
fail:
	if (err != NULL)
		*err = rc;
	return NULL;
}

void
procq_bound_free(procq_bound *b)
{
	if (b == NULL)
		return;
	free(b->name);
	free(b->opt_name);
	free(b->opt_group);
	free(b->metadata);
	free(b);
}

int
procq_bound_call(procq_bound *b, const void *args, size_t args_len,
    const procq_opts *override, procq_handle **handle)
{
	procq_opts o;

	if (b == NULL) {
		if (handle != NULL)
			*handle = NULL;
		return PROCQ_EINVAL;
	}
	o = bound_merge(b, override);
	return procq_submit(b->q, b->name, args, args_len, &o, handle);
}

int
procq_bound_callf(procq_bound *b, const procq_opts *override,
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
		rc = procq_bound_call(b, tb.data, tb.size, override, handle);
	tuple_buf_release(&tb);
	return rc;
}

int
procq_bound_map(procq_bound *b, const procq_args *args, size_t n,
    const procq_opts *override, procq_handle **handles)
{
	procq_opts o;

	if (b == NULL)
		return PROCQ_EINVAL;
	o = bound_merge(b, override);
	return procq_map(b->q, b->name, args, n, &o, handles);
}

procq_group *
procq_bound_group(procq_bound *b, const procq_args *args, size_t n,
    const procq_group_opts *group_opts, const procq_opts *override, int *err)
{
	procq_group *g;
	procq_opts o;
	int rc;

	if (b == NULL) {
		if (err != NULL)
			*err = PROCQ_EINVAL;
		return NULL;
	}
	if ((g = procq_group_create(b->q, group_opts, err)) == NULL)
		return NULL;
	o = bound_merge(b, override);
	if ((rc = procq_group_map(g, b->name, args, n, &o)) != 0) {
		procq_group_free(g);
		if (err != NULL)
			*err = rc;
		return NULL;
	}
	return g;
}
