/*
 * The checkpoint store, joined to the engine: the key of each new task
 * is looked up as it is submitted (on the submitting thread, so that the
 * engine's thread never reads the file); a task that succeeded in an
 * earlier run is finished as resumed when the owner places it; every
 * final task is handed to the store's writer.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "clock.h"
#include "queue.h"
#include "result.h"
#include "task.h"
#include "store/sha256.h"
#include "store/store.h"

static struct task_checkpoint *
task_checkpoint(const procq_handle *t)
{
	return t->extra != NULL ? t->extra->checkpoint : NULL;
}

int
checkpoint_open(procq_queue *q)
{
	if (q->cfg.checkpoint == NULL)
		return 0;
	return store_open(q->cfg.checkpoint, q->cfg.checkpoint_run, &q->store);
}

/* Everything final is committed before the file is closed. */
void
checkpoint_close(procq_queue *q)
{
	store_close(q->store);
	q->store = NULL;
}

/* The default key: a digest of the task name and its argument bytes,
 * the same in every run that submits the same call. */
#define CHECKPOINT_DIGEST_KEY_LEN (sizeof "sha256:" - 1 + 64)

static void
checkpoint_digest(const char *name, const procq_handle *t,
    char key[CHECKPOINT_DIGEST_KEY_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[32];
	struct sha256 c;
	char *p = key;

	sha256_init(&c);
	sha256_update(&c, name, strlen(name) + 1);
	sha256_update(&c, t->args, t->args_len);
	sha256_final(&c, digest);
	p += sprintf(p, "sha256:");
	for (int i = 0; i < 32; i++) {
		*p++ = hex[digest[i] >> 4];
		*p++ = hex[digest[i] & 0xf];
	}
	*p = '\0';
}

/* On the submitting thread, before the task is posted. */
int
checkpoint_task_new(procq_queue *q, procq_handle *t, const char *name,
    const procq_opts *opts)
{
	char digest[CHECKPOINT_DIGEST_KEY_LEN + 1];
	const char *key = opts->key;
	struct task_checkpoint *c;
	struct store_hit hit;
	size_t len;
	int found;

	if (q->store == NULL)
		return 0;
	if (key == NULL) {
		checkpoint_digest(name, t, digest);
		key = digest;
	}
	/* One allocation with its key: a store costs each task little. */
	len = strlen(key) + 1;
	if (task_extra(t) == NULL || (c = calloc(1, sizeof *c + len)) == NULL)
		return PROCQ_ENOMEM;
	memcpy(c->key, key, len);
	t->extra->checkpoint = c;
	c->submitted = procq_clock_wall();
	if ((found = store_lookup(q->store, c->key, &hit)) < 0)
		return found;
	if (found) {
		c->resumed = true;
		c->value = hit.value;
		c->value_len = hit.value_len;
	}
	return 0;
}

/* The owner places a task that succeeded before: it is final at once,
 * with the stored value and no attempt in this run.  q->lock held. */
bool
checkpoint_resume(procq_handle *t)
{
	struct task_checkpoint *c = task_checkpoint(t);

	if (c == NULL || !c->resumed)
		return false;
	task_finish(t, PROCQ_SUCCEEDED, NULL, c->value, c->value_len);
	free(c->value);
	c->value = NULL;
	c->value_len = 0;
	return true;
}

static const char *
checkpoint_status(procq_status status)
{
	switch (status) {
	case PROCQ_SUCCEEDED:
		return "succeeded";
	case PROCQ_FAILED:
		return "failed";
	default:
		return "cancelled";
	}
}

/* The writer is done with a result it borrowed. */
static void
checkpoint_release(void *arg)
{
	result_unref(arg);
}

/*
 * A final-task listener: the task is handed to the writer, which commits
 * it with others.  A resumed task is already in the store.  Out of
 * memory, the task is not recorded and runs again on a rerun; the first
 * such loss is reported like a failed write.  q->lock held.
 */
void
checkpoint_task_final(procq_handle *t)
{
	struct task_checkpoint *c = task_checkpoint(t);
	const procq_result *r = t->result;
	struct store_entry e;
	double offset;

	if (c == NULL || c->resumed || r == NULL || t->future)
		return;
	/* The result's times are monotonic; the store's are the wall
	 * clock's, which a reader of the file can use. */
	offset = procq_clock_wall() - procq_clock_now();
	memset(&e, 0, sizeof e);
	e.key = c->key;
	e.status = checkpoint_status(r->status);
	e.name = r->name;
	e.task = r->task;
	e.group = r->group;
	e.attempts = r->attempts;
	e.duration = r->duration;
	e.submitted = c->submitted;
	e.started = r->started > 0 ? r->started + offset : 0;
	e.finished = r->finished > 0 ? r->finished + offset :
				       procq_clock_wall();
	e.value = r->value_data;
	e.value_len = r->value_len;
	e.error_type = r->error_type;
	e.error_message = r->error_message;
	store_put(t->q->store, &e, checkpoint_release, result_ref(t->result));
}

void
checkpoint_task_free(procq_handle *t)
{
	struct task_checkpoint *c = task_checkpoint(t);

	if (c == NULL)
		return;
	free(c->value);
	free(c);
	t->extra->checkpoint = NULL;
}

/* At the end of a run: what it reports is durable when it returns. */
int
checkpoint_sync(procq_queue *q)
{
	return q->store != NULL ? store_sync(q->store, PROCQ_FOREVER) : 0;
}

int
procq_checkpoint_sync(procq_queue *q, double timeout)
{
	if (q == NULL || isnan(timeout))
		return PROCQ_EINVAL;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	if (q->store == NULL)
		return PROCQ_ESTATE;
	/* A task's status is published before the listeners hear of it,
	 * with q->lock held throughout: once the lock is had, every task
	 * the caller could have seen final has been put. */
	pthread_mutex_lock(&q->lock);
	pthread_mutex_unlock(&q->lock);
	return store_sync(q->store, timeout < 0 ? PROCQ_FOREVER : timeout);
}

const char *
procq_checkpoint_error(procq_queue *q)
{
	if (q == NULL || q->store == NULL || queue_forked(q))
		return NULL;
	return store_error(q->store);
}
