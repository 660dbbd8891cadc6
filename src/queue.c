/*
 * The queue's public lifecycle: create, register, start, submit, run,
 * shutdown, free.  Every call takes q->lock; the supervisor thread does
 * the rest (loop.c).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "clock.h"

static int
config_resolve(const procq_config *in, procq_config *out)
{
	procq_config cfg = { 0 };
	long cpus;

	if (in != NULL)
		cfg = *in;
	if (cfg.workers < 0 || cfg.prefetch < 0 || isnan(cfg.kill_grace) ||
	    isinf(cfg.kill_grace))
		return PROCQ_EINVAL;
	if (cfg.max_frame != 0 &&
	    (cfg.max_frame < WIRE_MIN_FRAME || cfg.max_frame > UINT32_MAX))
		return PROCQ_EINVAL;
	if (cfg.workers == 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		cfg.workers = cpus > 0 ? (int)cpus : 1;
	}
	if (cfg.prefetch == 0)
		cfg.prefetch = 1;
	if (cfg.kill_grace == 0)
		cfg.kill_grace = 0.5;
	if (cfg.max_frame == 0)
		cfg.max_frame = WIRE_MAX_FRAME;
	*out = cfg;
	return 0;
}

static uint64_t
queue_id_base(void)
{
	uint64_t base;

	if (getrandom(&base, sizeof base, GRND_NONBLOCK) != sizeof base)
		base = (uint64_t)time(NULL) << 32 ^ (uint64_t)getpid();
	return base;
}

static int
queue_init_sync(procq_queue *q)
{
	pthread_condattr_t attr;
	int rc;

	if (pthread_condattr_init(&attr) != 0)
		return -1;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&q->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (rc != 0)
		return -1;
	if (pthread_mutex_init(&q->lock, NULL) != 0) {
		pthread_cond_destroy(&q->cond);
		return -1;
	}
	return 0;
}

procq_queue *
procq_create(const procq_config *config, int *err)
{
	procq_queue *q;
	procq_config cfg;
	int rc;

	if ((rc = config_resolve(config, &cfg)) != 0) {
		if (err != NULL)
			*err = rc;
		return NULL;
	}
	if ((q = calloc(1, sizeof *q)) == NULL || queue_init_sync(q) != 0) {
		free(q);
		if (err != NULL)
			*err = PROCQ_ENOMEM;
		return NULL;
	}
	q->cfg = cfg;
	q->pid = getpid();
	q->wake_fd = -1;
	q->id_base = queue_id_base();
	registry_init(&q->registry);
	heap_init(&q->ready, task_ready_less, task_set_index);
	heap_init(&q->delayed, task_delay_less, task_set_index);
	TAILQ_INIT(&q->tasks);
	msgpack_sbuffer_init(&q->sbuf);
	msgpack_zone_init(&q->zone, 4096);
	if (err != NULL)
		*err = 0;
	return q;
}

int
procq_register(procq_queue *q, const char *name, procq_fn fn)
{
	int rc;

	if (q == NULL || name == NULL || *name == '\0' || fn == NULL)
		return PROCQ_EINVAL;
	pthread_mutex_lock(&q->lock);
	if (q->state != QUEUE_NEW)
		rc = PROCQ_ESTATE;
	else
		rc = registry_add(&q->registry, name, fn);
	pthread_mutex_unlock(&q->lock);
	return rc;
}

static int
queue_start_locked(procq_queue *q)
{
	int rc;

	if (q->state != QUEUE_NEW)
		return q->state == QUEUE_STARTED ? 0 : PROCQ_ECLOSED;
	if ((rc = loop_start(q)) != 0)
		return rc;
	q->state = QUEUE_STARTED;
	q->run_started = procq_clock_now();
	loop_wake(q);
	return 0;
}

int
procq_start(procq_queue *q)
{
	int rc;

	if (q == NULL)
		return PROCQ_EINVAL;
	pthread_mutex_lock(&q->lock);
	rc = queue_start_locked(q);
	pthread_mutex_unlock(&q->lock);
	return rc;
}

static bool
finite_nonneg(double x)
{
	return isfinite(x) && x >= 0;
}

static int
opts_check(const procq_opts *o)
{
	if (o->retries < 0 || !finite_nonneg(o->retry_delay) ||
	    !finite_nonneg(o->timeout) || !isfinite(o->backoff) ||
	    (o->backoff != 0 && o->backoff < 1))
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
	return wire_check(args, args_len) ? 0 : PROCQ_EINVAL;
}

static int
queue_submit_locked(procq_queue *q, const char *name, const void *args,
    size_t args_len, const procq_opts *opts, procq_handle **handle)
{
	const struct registry_entry *entry;
	procq_handle *t;

	if (q->closed)
		return PROCQ_ECLOSED;
	entry = registry_find(&q->registry, name, strlen(name));
	if (entry == NULL)
		return PROCQ_ENOTASK;
	if ((t = task_new(q, entry, args, args_len, opts)) == NULL)
		return PROCQ_ENOMEM;
	t->wire_id = q->next_id++;
	snprintf(t->id, sizeof t->id, "%016" PRIx64, q->id_base + t->wire_id);
	t->seq = q->next_seq++;
	if (task_enqueue(t) != 0) {
		task_free(t);
		return PROCQ_ENOMEM;
	}
	TAILQ_INSERT_TAIL(&q->tasks, t, all_link);
	q->outstanding++;
	if (handle != NULL)
		*handle = t;
	return 0;
}

int
procq_submit(procq_queue *q, const char *name, const void *args,
    size_t args_len, const procq_opts *opts, procq_handle **handle)
{
	static const procq_opts defaults;
	static const char empty[] = "\x90";
	int rc;

	if (handle != NULL)
		*handle = NULL;
	if (q == NULL || name == NULL)
		return PROCQ_EINVAL;
	if (opts == NULL)
		opts = &defaults;
	if ((rc = opts_check(opts)) != 0)
		return rc;
	if ((rc = args_check(args, args_len, q->cfg.max_frame)) != 0)
		return rc;
	if (args_len == 0) {
		args = empty;
		args_len = 1;
	}
	pthread_mutex_lock(&q->lock);
	rc = queue_submit_locked(q, name, args, args_len, opts, handle);
	pthread_mutex_unlock(&q->lock);
	return rc;
}

int
procq_submitf(procq_queue *q, const char *name, const procq_opts *opts,
    procq_handle **handle, const char *fmt, ...)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	va_list ap;
	int n, rc;

	if (handle != NULL)
		*handle = NULL;
	if (fmt == NULL)
		fmt = "";
	if ((n = procq_format_count(fmt)) < 0)
		return PROCQ_EFORMAT;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	va_start(ap, fmt);
	rc = msgpack_pack_array(&pk, (size_t)n) == 0 ?
	    procq_vpack(&pk, fmt, ap) : PROCQ_ENOMEM;
	va_end(ap);
	if (rc == 0)
		rc = procq_submit(q, name, sb.data, sb.size, opts, handle);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

/* Blocks until nothing is outstanding; on the deadline, cancels what is
 * left and waits for that.  Called with q->lock held. */
static int
queue_drain(procq_queue *q, double timeout)
{
	struct timespec deadline;
	int rc = 0;

	if (timeout > 0)
		deadline = procq_clock_deadline(timeout);
	while (q->outstanding > 0 && rc == 0)
		loop_wait(q, timeout > 0 ? &deadline : NULL, &rc);
	if (q->outstanding == 0)
		return 0;
	task_cancel_all(q);
	while (q->outstanding > 0)
		loop_wait(q, NULL, NULL);
	return PROCQ_ETIMEDOUT;
}

int
procq_run(procq_queue *q, const procq_run_opts *opts,
    procq_summary **summary)
{
	double timeout = opts != NULL ? opts->timeout : 0;
	double now;
	int rc;

	if (summary != NULL)
		*summary = NULL;
	if (q == NULL || !finite_nonneg(timeout))
		return PROCQ_EINVAL;
	pthread_mutex_lock(&q->lock);
	if (q->state == QUEUE_NEW && (rc = queue_start_locked(q)) != 0) {
		pthread_mutex_unlock(&q->lock);
		return rc;
	}
	rc = queue_drain(q, timeout);
	now = procq_clock_now();
	if (summary != NULL) {
		*summary = summary_new(q->results + q->run_cursor,
		    q->nresults - q->run_cursor, now - q->run_started);
		if (*summary == NULL)
			rc = PROCQ_ENOMEM;
	}
	q->run_cursor = q->nresults;
	q->run_started = now;
	pthread_mutex_unlock(&q->lock);
	return rc;
}

int
procq_shutdown(procq_queue *q, int flags)
{
	if (q == NULL || (flags & ~PROCQ_SHUTDOWN_FORCE) != 0)
		return PROCQ_EINVAL;
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	if (flags & PROCQ_SHUTDOWN_FORCE)
		task_cancel_all(q);
	/* Queued work must drain; if no worker can be had, it is cancelled
	 * rather than waited for forever. */
	if (q->state == QUEUE_NEW && q->outstanding > 0 &&
	    queue_start_locked(q) != 0)
		task_cancel_all(q);
	if (q->state == QUEUE_NEW)
		q->state = QUEUE_STOPPED;
	while (q->outstanding > 0)
		loop_wait(q, NULL, NULL);
	if (q->state == QUEUE_STARTED)
		loop_stop(q);
	while (q->state != QUEUE_STOPPED)
		loop_wait(q, NULL, NULL);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void
procq_free(procq_queue *q)
{
	procq_handle *t;

	if (q == NULL)
		return;
	procq_shutdown(q, PROCQ_SHUTDOWN_FORCE);
	while ((t = TAILQ_FIRST(&q->tasks)) != NULL) {
		TAILQ_REMOVE(&q->tasks, t, all_link);
		task_free(t);
	}
	for (size_t i = 0; i < q->nresults; i++)
		result_unref(q->results[i]);
	free(q->results);
	heap_release(&q->ready);
	heap_release(&q->delayed);
	registry_release(&q->registry);
	msgpack_sbuffer_destroy(&q->sbuf);
	msgpack_zone_destroy(&q->zone);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q);
}
