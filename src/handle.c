/*
 * The caller's view of one task.  Handles belong to the queue until the
 * caller releases them.  Calls are safe from any thread: the status, the
 * wait and the result read what the owner published (task_published()),
 * and the options what never changes after the submit, without the
 * engine's lock; the rest read under it; a cancel or a release is a
 * command to the owner.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "command.h"
#include "loop.h"
#include "notify.h"
#include "queue.h"
#include "result.h"
#include "clock.h"

/* Sleeps until h is final or the deadline (NULL: none) passes, without
 * the engine's lock: see loop_task_final() for why no wake-up is lost. */
static int
handle_sleep(procq_handle *h, const struct timespec *deadline)
{
	procq_queue *q = h->q;
	int err = 0;

	pthread_mutex_lock(&q->final_lock);
	atomic_fetch_add(&q->handle_waiters, 1);
	while (!task_status_final(task_published(h)) && err != ETIMEDOUT) {
		if (deadline == NULL)
			pthread_cond_wait(&q->final_cond, &q->final_lock);
		else
			err = pthread_cond_timedwait(&q->final_cond,
			    &q->final_lock, deadline);
	}
	atomic_fetch_sub(&q->handle_waiters, 1);
	pthread_mutex_unlock(&q->final_lock);
	return task_status_final(task_published(h)) ? 0 : PROCQ_ETIMEDOUT;
}

int
procq_handle_wait(procq_handle *h, double timeout)
{
	struct timespec deadline;

	if (h == NULL || isnan(timeout))
		return PROCQ_EINVAL;
	if (queue_forked(h->q))
		return PROCQ_EFORKED;
	if (task_status_final(task_published(h)))
		return 0;
	if (timeout == 0)
		return PROCQ_ETIMEDOUT;
	/* On the owner's thread (a hook) nothing could finish the task
	 * while we wait. */
	if (loop_on_thread(h->q))
		return PROCQ_EDEADLK;
	if (timeout < 0)
		return handle_sleep(h, NULL);
	deadline = procq_clock_deadline(timeout);
	return handle_sleep(h, &deadline);
}

bool
procq_handle_done(procq_handle *h)
{
	if (h == NULL || queue_forked(h->q))
		return false;
	return task_status_final(task_published(h));
}

procq_status
procq_handle_status(procq_handle *h)
{
	if (h == NULL || queue_forked(h->q))
		return PROCQ_PENDING;
	return task_published(h);
}

/* The result is immutable once the status is final. */
const procq_result *
procq_handle_result(procq_handle *h)
{
	if (h == NULL || queue_forked(h->q) ||
	    !task_status_final(task_published(h)))
		return NULL;
	return h->result;
}

int
procq_handle_value(procq_handle *h, const char *fmt, ...)
{
	const procq_result *r;
	va_list ap;
	int rc;

	if (h == NULL || fmt == NULL)
		return PROCQ_EINVAL;
	if (queue_forked(h->q))
		return PROCQ_EFORKED;
	if ((r = procq_handle_result(h)) == NULL)
		return procq_handle_done(h) ? PROCQ_ENOMEM : PROCQ_ENOTDONE;
	if (r->status != PROCQ_SUCCEEDED)
		return PROCQ_ETASK;
	va_start(ap, fmt);
	rc = procq_vunpack(&r->value, fmt, ap);
	va_end(ap);
	return rc;
}

procq_error_kind
procq_handle_error_kind(procq_handle *h)
{
	return procq_result_error_kind(procq_handle_result(h));
}

const char *
procq_handle_error_type(procq_handle *h)
{
	return procq_result_error_type(procq_handle_result(h));
}

const char *
procq_handle_error_message(procq_handle *h)
{
	return procq_result_error_message(procq_handle_result(h));
}

int
procq_handle_attempts(procq_handle *h)
{
	int attempts;

	if (h == NULL || queue_forked(h->q))
		return 0;
	if (task_status_final(task_published(h)))
		return h->attempts;	/* no longer changes */
	pthread_mutex_lock(&h->q->lock);
	attempts = h->attempts;
	pthread_mutex_unlock(&h->q->lock);
	return attempts;
}

/* Metadata is copied at submit and never changes. */
const void *
procq_handle_metadata(procq_handle *h, size_t *len)
{
	if (h == NULL || queue_forked(h->q)) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = h->extra != NULL ? h->extra->metadata_len : 0;
	return h->extra != NULL ? h->extra->metadata : NULL;
}

const char *
procq_handle_id(const procq_handle *h)
{
	return h != NULL && !queue_forked(h->q) ? h->id : NULL;
}

const char *
procq_handle_name(const procq_handle *h)
{
	return h != NULL && !queue_forked(h->q) ? h->name : NULL;
}

int
procq_handle_priority(const procq_handle *h)
{
	return h != NULL && !queue_forked(h->q) ? h->priority : 0;
}

bool
procq_handle_must_complete(const procq_handle *h)
{
	return h != NULL && !queue_forked(h->q) && h->must_complete;
}

bool
procq_handle_detached(const procq_handle *h)
{
	return h != NULL && !queue_forked(h->q) && h->detached;
}

const char *
procq_handle_group(const procq_handle *h)
{
	return h != NULL && !queue_forked(h->q) ? h->group : NULL;
}

double
procq_handle_created(const procq_handle *h)
{
	return h != NULL && !queue_forked(h->q) ? h->created : 0;
}

/*
 * When a task waiting for a time may run, on the wall clock.  The engine
 * keeps it on the monotonic clock (t->due), which the owner changes: read
 * under the lock.  Once it has passed, the task waits for a worker or
 * its group's gate, not for a time.
 */
double
procq_handle_scheduled(const procq_handle *h)
{
	double due, mono, wall;
	bool waits;

	if (h == NULL || queue_forked(h->q))
		return 0;
	pthread_mutex_lock(&h->q->lock);
	due = h->due;
	waits = h->state == TASK_LOOSE || h->state == TASK_DELAYED ||
	    h->state == TASK_BACKLOG;
	pthread_mutex_unlock(&h->q->lock);
	if (!waits || due <= 0)
		return 0;
	mono = procq_clock_now();
	wall = procq_clock_wall();
	return due > mono ? wall + (due - mono) : 0;
}

/*
 * The owner's side of procq_handle_release(): the task is freed once it
 * is final and nothing inside the queue still points at it; until then
 * it runs on as before.  An unfinished future is cancelled: no one is
 * left to complete it.
 */
static void
handle_let_go(procq_queue *q, void *a, void *b, size_t n)
{
	procq_handle *h = a;

	(void)q;
	(void)b;
	(void)n;
	h->released = 1;
	notify_forget(h);
	if (h->future && h->state != TASK_DONE)
		task_cancel(h);
	task_collect(h);
}

void
procq_handle_release(procq_handle *h)
{
	/* In a forked child the handle is the parent's copy, and its lock
	 * may have been held at the fork: leave it alone. */
	if (h == NULL || queue_forked(h->q))
		return;
	command_post(h->q, handle_let_go, h, NULL, 0);
}

static int
handle_cancel_cmd(procq_queue *q, void *arg)
{
	procq_handle *h = arg;

	(void)q;
	if (h->state == TASK_DONE)
		return PROCQ_EDONE;
	task_cancel(h);
	return 0;
}

int
procq_handle_cancel(procq_handle *h)
{
	if (h == NULL)
		return PROCQ_EINVAL;
	if (queue_forked(h->q))
		return PROCQ_EFORKED;
	return command_call(h->q, handle_cancel_cmd, h);
}

/* Reads the latest progress report: only conversions that copy, since the
 * report may be replaced as soon as the lock is released. */
int
procq_handle_progress(procq_handle *h, const char *fmt, ...)
{
	msgpack_unpacked u;
	size_t off = 0;
	va_list ap;
	int rc;

	if (h == NULL || fmt == NULL)
		return PROCQ_EINVAL;
	if (queue_forked(h->q))
		return PROCQ_EFORKED;
	if (strpbrk(fmt, "Syo") != NULL)
		return PROCQ_EFORMAT;
	msgpack_unpacked_init(&u);
	pthread_mutex_lock(&h->q->lock);
	if (h->extra == NULL || h->extra->progress == NULL)
		rc = PROCQ_ENOTDONE;
	else if (msgpack_unpack_next(&u, h->extra->progress,
		     h->extra->progress_len, &off) != MSGPACK_UNPACK_SUCCESS)
		rc = PROCQ_EFORMAT;
	else {
		va_start(ap, fmt);
		rc = procq_vunpack(&u.data, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&h->q->lock);
	msgpack_unpacked_destroy(&u);
	return rc;
}

size_t
procq_handle_progress_data(procq_handle *h, void *buf, size_t size)
{
	size_t len;

	if (h == NULL || queue_forked(h->q))
		return 0;
	pthread_mutex_lock(&h->q->lock);
	len = h->extra != NULL ? h->extra->progress_len : 0;
	if (buf != NULL && len > 0)
		memcpy(buf, h->extra->progress, len < size ? len : size);
	pthread_mutex_unlock(&h->q->lock);
	return len;
}
