/*
 * The queue: creation, configuration, registration, start and free.
 * Submission is in submit.c, runs and the lifecycle in run.c.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include "checkpoint.h"
#include "group.h"
#include "loop.h"
#include "notify.h"
#include "dispatch.h"
#include "queue.h"
#include "remote.h"
#include "result.h"
#include "run.h"
#include "wait.h"
#include "protocol.h"
#include "trace.h"
#include "clock.h"
#include "forkgen.h"

/* Long enough for an initializer that loads something, short enough that
 * a worker hung at birth is noticed while someone still waits. */
#define QUEUE_SPAWN_TIMEOUT	10.0

static bool
config_valid(const procq_config *c)
{
	if (c->workers < 0 || c->prefetch < 0 || !isfinite(c->kill_grace) ||
	    !isfinite(c->spawn_timeout))
		return false;
	if (c->max_frame != 0 &&
	    (c->max_frame < CHANNEL_MIN_FRAME || c->max_frame > UINT32_MAX))
		return false;
	if (c->size < 0 || !finite_nonneg(c->timeout) ||
	    !finite_nonneg(c->rate) || c->burst < 0 ||
	    c->max_tasks_per_worker < 0 || !finite_nonneg(c->max_cpu))
		return false;
	if ((unsigned)c->mode > PROCQ_MODE_INFINITE ||
	    (unsigned)c->fail_policy > PROCQ_FAIL_FIRST ||
	    (unsigned)c->on_timeout > PROCQ_ON_TIMEOUT_CANCEL)
		return false;
	if (c->initargs_len > 0 && (c->initargs == NULL ||
	    !protocol_check(c->initargs, c->initargs_len)))
		return false;
	if (c->max_files < 0 || c->max_procs < 0 ||
	    (c->ngroups > 0 && c->groups == NULL))
		return false;
	if ((unsigned)c->start_method > PROCQ_START_EXEC)
		return false;
	/* An exec'd worker runs the worker program's code, not the
	 * caller's: it has a path to run and no initializer to call. */
	if (c->start_method == PROCQ_START_EXEC &&
	    (c->worker_path == NULL || *c->worker_path == '\0' ||
	    c->initializer != NULL))
		return false;
	/* A remote worker runs its host's table of tasks; its fork server
	 * there is its start method. */
	if (c->transport != NULL &&
	    (c->initializer != NULL || c->start_method == PROCQ_START_EXEC ||
		c->transport->hosts == NULL || c->transport->spawn == NULL ||
		c->transport->signal == NULL || c->transport->reap == NULL))
		return false;
	return true;
}

/*
 * Whether the kernel leaves this process's children out of RLIMIT_NPROC:
 * it does for a real user ID of 0 and for CAP_SYS_RESOURCE or
 * CAP_SYS_ADMIN in the effective set (see fork(2)).
 */
static bool
config_nproc_exempt(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	const uint32_t exempt = 1u << CAP_SYS_RESOURCE | 1u << CAP_SYS_ADMIN;

	if (getuid() == 0)
		return true;
	if (syscall(SYS_capget, &hdr, data) != 0)
		return false;
	return (data[0].effective & exempt) != 0;
}

/* A user without a group runs in the user's own group, looked up here:
 * a worker forked from a threaded process must not call into NSS. */
static int
config_user_group(procq_config *cfg)
{
	struct passwd pw, *found = NULL;
	char buf[4096];

	if (getpwuid_r((uid_t)cfg->uid, &pw, buf, sizeof buf, &found) != 0 ||
	    found == NULL)
		return -1;
	cfg->gid = (unsigned)pw.pw_gid;
	return 0;
}

static int
config_resolve(const procq_config *in, procq_config *out)
{
	procq_config cfg = { 0 };
	long cpus;

	if (in != NULL)
		cfg = *in;
	if (!config_valid(&cfg))
		return PROCQ_EINVAL;
	/* A limit the kernel would not enforce is refused, not pretended:
	 * workers that keep the caller's user keep its exemption too (a
	 * worker that switches to another user loses it). */
	if (cfg.max_procs > 0 && cfg.uid == 0 && config_nproc_exempt())
		return PROCQ_EINVAL;
	if ((cfg.checkpoint != NULL && *cfg.checkpoint == '\0') ||
	    (cfg.checkpoint_run != NULL &&
		(cfg.checkpoint == NULL || *cfg.checkpoint_run == '\0')))
		return PROCQ_EINVAL;
	if (cfg.workers == 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		cfg.workers = cpus > 0 ? (int)cpus : 1;
	}
	if (cfg.kill_grace == 0)
		cfg.kill_grace = 0.5;
	if (cfg.spawn_timeout == 0)
		cfg.spawn_timeout = QUEUE_SPAWN_TIMEOUT;
	if (cfg.max_frame == 0)
		cfg.max_frame = CHANNEL_MAX_FRAME;
	if (cfg.burst == 0)
		cfg.burst = 1;
	if (cfg.fail_policy == PROCQ_FAIL_DEFAULT)
		cfg.fail_policy = PROCQ_FAIL_CONTINUE;
	if (cfg.on_timeout == PROCQ_ON_TIMEOUT_DEFAULT)
		cfg.on_timeout = PROCQ_ON_TIMEOUT_COMPLETE;
	if (cfg.start_method == PROCQ_START_DEFAULT)
		cfg.start_method = PROCQ_START_FORKSERVER;
	if (cfg.uid != 0 && cfg.gid == 0 && config_user_group(&cfg) != 0)
		return PROCQ_EINVAL;
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

/* Deadlines are on the monotonic clock. */
static int
queue_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int rc;

	if (pthread_condattr_init(&attr) != 0)
		return -1;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return rc != 0 ? -1 : 0;
}

static int
queue_init_sync(procq_queue *q)
{
	if (queue_cond_init(&q->cond) != 0)
		return -1;
	if (pthread_mutex_init(&q->lock, NULL) != 0) {
		pthread_cond_destroy(&q->cond);
		return -1;
	}
	if (command_init(&q->commands) != 0)
		goto fail_commands;
	if (pthread_mutex_init(&q->final_lock, NULL) != 0)
		goto fail_final_lock;
	if (queue_cond_init(&q->final_cond) != 0)
		goto fail_final_cond;
	return 0;
fail_final_cond:
	pthread_mutex_destroy(&q->final_lock);
fail_final_lock:
	command_destroy(&q->commands);
fail_commands:
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	return -1;
}

/* The queue's own synchronisation, once nothing uses it. */
static void
queue_destroy_sync(procq_queue *q)
{
	pthread_cond_destroy(&q->final_cond);
	pthread_mutex_destroy(&q->final_lock);
	command_destroy(&q->commands);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
}

/* The queue keeps its own copy of the initializer's arguments; NULL
 * when there are none, or when the copy fails. */
static int
queue_copy_initargs(procq_queue *q)
{
	const void *initargs = q->cfg.initargs;
	void *copy;

	q->cfg.initargs = NULL;
	if (q->cfg.initargs_len == 0)
		return 0;
	if ((copy = malloc(q->cfg.initargs_len)) == NULL)
		return -1;
	memcpy(copy, initargs, q->cfg.initargs_len);
	q->cfg.initargs = copy;
	return 0;
}

static void
queue_free_strv(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static char **
queue_copy_strv(char *const *v)
{
	size_t n = 0;
	char **copy;

	while (v[n] != NULL)
		n++;
	if ((copy = calloc(n + 1, sizeof *copy)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if ((copy[i] = strdup(v[i])) == NULL) {
			queue_free_strv(copy);
			return NULL;
		}
	}
	return copy;
}

/* An exec queue keeps its own copy of the worker program's path,
 * arguments and environment: the caller's may not outlive the call. */
static int
queue_copy_exec(procq_queue *q)
{
	const char *path = q->cfg.worker_path;
	char *const *argv = q->cfg.worker_argv;
	char *const *envp = q->cfg.worker_envp;

	q->cfg.worker_path = NULL;
	q->cfg.worker_argv = q->cfg.worker_envp = NULL;
	if (q->cfg.start_method != PROCQ_START_EXEC)
		return 0;
	if ((q->cfg.worker_path = strdup(path)) == NULL)
		return -1;
	if (argv != NULL &&
	    (q->cfg.worker_argv = queue_copy_strv(argv)) == NULL)
		return -1;
	if (envp != NULL &&
	    (q->cfg.worker_envp = queue_copy_strv(envp)) == NULL)
		return -1;
	return 0;
}

static void
queue_free_exec(procq_queue *q)
{
	free((void *)q->cfg.worker_path);
	queue_free_strv((char **)q->cfg.worker_argv);
	queue_free_strv((char **)q->cfg.worker_envp);
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
	/* Both copies are made, failed or not: each leaves the queue's own
	 * copy or NULL in its fields, never the caller's, for the free. */
	rc = queue_copy_initargs(q);
	if (queue_copy_exec(q) != 0 || rc != 0) {
		free((void *)q->cfg.initargs);
		queue_free_exec(q);
		queue_destroy_sync(q);
		free(q);
		if (err != NULL)
			*err = PROCQ_ENOMEM;
		return NULL;
	}
	q->pid = getpid();
	if (gethostname(q->hostname, sizeof q->hostname) != 0)
		snprintf(q->hostname, sizeof q->hostname, "localhost");
	q->hostname[sizeof q->hostname - 1] = '\0';
	q->trace = trace_wanted();
	q->trace_epoch = procq_clock_now();
	q->forkgen = forkgen_current();
	q->wake_fd = -1;
	q->cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	q->run_started = procq_clock_now();
	q->id_base = queue_id_base();
	rate_init(&q->rate, cfg.rate, cfg.burst);
	registry_init(&q->registry);
	registry_init(&q->unchecked);
	/* A forked worker has the caller's functions: the registry is the
	 * whole truth from the start. */
	q->names_known = !queue_names_from_workers(q);
	heap_init(&q->ready);
	heap_init(&q->delayed);
	TAILQ_INIT(&q->tasks);
	TAILQ_INIT(&q->dead);
	TAILQ_INIT(&q->gates);
	/* Who hears that a task is final, in this order: its group's gate
	 * lets the next one in, runs and joins wake, waiters and procq_poll()
	 * see it, its callbacks and on_complete hook are recorded, its
	 * groups' policies may cancel their other members, and last the
	 * queue's fail-first may cancel the others. */
	task_listen(q, gate_task_final);
	task_listen(q, loop_task_final);
	task_listen(q, waiter_task_final);
	task_listen(q, notify_task_final);
	task_listen(q, hook_task_final);
	task_listen(q, group_policy_task_final);
	task_listen(q, run_task_final);
	task_listen(q, checkpoint_task_final);
	q->notify_fd = -1;
	msgpack_sbuffer_init(&q->sbuf);
	msgpack_zone_init(&q->zone, 4096);
	/* The caller's strings are not kept: the store has what it needs. */
	rc = checkpoint_open(q);
	q->cfg.checkpoint = NULL;
	q->cfg.checkpoint_run = NULL;
	if (rc != 0) {
		int saved = errno;	/* PROCQ_ESYS: the store's */

		procq_free(q);
		errno = saved;
		if (err != NULL)
			*err = rc;
		return NULL;
	}
	if (err != NULL)
		*err = 0;
	return q;
}

/*
 * True in a child forked from the process that created the queue, without
 * exec.  The supervisor thread and the workers are the parent's there, and
 * the queue's lock may have been held by a thread that does not exist in
 * the child: the check comes before the lock is taken.
 */
bool
queue_forked(const procq_queue *q)
{
	return forkgen_current() != q->forkgen;
}

int
procq_register(procq_queue *q, const char *name, procq_fn fn)
{
	int rc;

	/* An exec'd worker program has its own table of tasks
	 * (procq_worker_main()): a function of the caller's cannot run
	 * there. */
	if (q == NULL || name == NULL || *name == '\0' || fn == NULL ||
	    queue_names_from_workers(q))
		return PROCQ_EINVAL;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	pthread_mutex_lock(&q->lock);
	if (q->state != QUEUE_NEW)
		rc = PROCQ_ESTATE;
	else
		rc = registry_add(&q->registry, name, fn);
	pthread_mutex_unlock(&q->lock);
	return rc;
}

int
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
	/*
	 * The first workers are forked before this returns, so the caller's
	 * threads do not allocate while they are: an allocator that is not
	 * fork-safe (AddressSanitizer's) would hang a worker.  A caller's own
	 * event loop forks them when it next runs.
	 */
	while (!q->external_base && !q->prewarmed)
		pthread_cond_wait(&q->cond, &q->lock);
	/*
	 * An exec'd worker program says which tasks it has in its hello:
	 * once the first one has, a submit of a name it lacks fails at
	 * once.  A first worker that cannot start leaves the names unknown
	 * (submit_resolve() then accepts any name).
	 */
	while (!q->external_base && !q->names_known && !q->first_settled &&
	    q->thread_running)
		pthread_cond_wait(&q->cond, &q->lock);
	return 0;
}

int
procq_start(procq_queue *q)
{
	int rc;

	if (q == NULL)
		return PROCQ_EINVAL;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	pthread_mutex_lock(&q->lock);
	rc = queue_start_locked(q);
	pthread_mutex_unlock(&q->lock);
	return rc;
}

/* The failure policy in force: the run's, or the queue's between runs. */
procq_fail_policy
queue_fail_policy(const procq_queue *q)
{
	if (q->runs_active > 0 && q->run_policy != PROCQ_FAIL_DEFAULT)
		return q->run_policy;
	return q->cfg.fail_policy;
}

/*
 * Unlocks q->lock.  Hooks recorded by the caller's thread are run first
 * when no supervisor thread will run them (the queue is not started or
 * has stopped).
 */
void
queue_unlock(procq_queue *q)
{
	if (!q->thread_running && hook_pending(q) && !loop_on_thread(q))
		hook_run(q);
	queue_reap(q);
	pthread_mutex_unlock(&q->lock);
}

/*
 * Frees the tasks task_collect() listed.  Called with q->lock held, where
 * no caller up the stack holds a task pointer it has not counted: at the
 * end of an API call or of a loop callback.
 */
void
queue_reap(procq_queue *q)
{
	procq_handle *t;

	/* A listed task stays unused: nothing takes a new hold on a task
	 * that is final and released. */
	while ((t = TAILQ_FIRST(&q->dead)) != NULL) {
		TAILQ_REMOVE(&q->dead, t, worker_link);
		t->dead = 0;
		TAILQ_REMOVE(&q->tasks, t, all_link);
		task_free(t);
	}
}

void
queue_free_tasks(procq_queue *q)
{
	procq_handle *t;

	TAILQ_INIT(&q->dead);	/* its tasks are in q->tasks too */
	while ((t = TAILQ_FIRST(&q->tasks)) != NULL) {
		TAILQ_REMOVE(&q->tasks, t, all_link);
		task_free(t);
	}
	/* Only entries of finished tasks can be left in them. */
	heap_clear(&q->ready);
	heap_clear(&q->delayed);
}

void
queue_clear_results(procq_queue *q)
{
	for (size_t i = 0; i < q->nresults; i++)
		result_unref(q->results[i]);
	q->nresults = 0;
	q->run_cursor = 0;
}

/* The queue's own memory, once nothing else can use it. */
static void
queue_release(procq_queue *q)
{
	queue_free_tasks(q);
	queue_clear_results(q);
	gates_free(q);
	notify_release(q);
	free(q->results);
	free((void *)q->cfg.initargs);
	heap_release(&q->ready);
	heap_release(&q->delayed);
	registry_release(&q->registry);
	registry_release(&q->unchecked);
	queue_free_exec(q);
	msgpack_sbuffer_destroy(&q->sbuf);
	msgpack_zone_destroy(&q->zone);
}

/*
 * procq_free() in a forked child: the workers and the supervisor thread
 * are the parent's, and libevent's epoll instance is shared with it, so
 * nothing is signalled, waited for or written, and libevent's objects are
 * left alone (deleting an event here would unregister the parent's
 * descriptor).  The child's copies of procq's descriptors are closed: one
 * holding a worker's task pipe would keep that worker from seeing its end.
 */
static void
queue_free_forked(procq_queue *q)
{
	/* Held at the fork by a thread the child does not have: the queue
	 * may be half changed, and is left as it is. */
	if (pthread_mutex_trylock(&q->lock) != 0)
		return;
	dispatch_forget(q);
	if (q->wake_fd >= 0)
		close(q->wake_fd);
	hook_discard(q);
	queue_release(q);
	pthread_mutex_unlock(&q->lock);
	/* Not destroyed: a condition variable with waiters in the parent
	 * would wait for them for ever. */
	free(q);
}

void
procq_free(procq_queue *q)
{
	if (q == NULL)
		return;
	if (queue_forked(q)) {
		queue_free_forked(q);
		return;
	}
	if (loop_on_thread(q) && !loop_external_here(q))
		return;	/* from a hook: cannot free the running engine */
	procq_shutdown(q, PROCQ_SHUTDOWN_FORCE);
	pthread_mutex_lock(&q->lock);
	while (q->hooks_running > 0)
		pthread_cond_wait(&q->cond, &q->lock);
	hook_discard(q);
	pthread_mutex_unlock(&q->lock);
	checkpoint_close(q);
	queue_release(q);
	queue_destroy_sync(q);
	free(q);
}
