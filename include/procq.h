/*
 * procq: run jobs in a pool of persistent worker processes supervised by
 * the caller.  A job that crashes, aborts, exits or hangs fails (or is
 * retried) alone; its worker is reaped and replaced.
 *
 * This is the whole public API.  See procq(7) for the guide and one man3
 * page per function.
 */
#ifndef PROCQ_H
#define PROCQ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PROCQ_VERSION_MAJOR 0
#define PROCQ_VERSION_MINOR 1
#define PROCQ_VERSION_PATCH 0

/* Wait forever, where a timeout in seconds is taken. */
#define PROCQ_FOREVER (-1.0)

/* Error codes: functions that can fail return 0 or one of these. */
enum {
	PROCQ_OK = 0,
	PROCQ_EINVAL = -1,	/* invalid argument or option value */
	PROCQ_ENOMEM = -2,	/* out of memory */
	PROCQ_ENOTASK = -3,	/* no task registered under that name */
	PROCQ_ECLOSED = -4,	/* queue is shut down */
	PROCQ_ESTATE = -5,	/* call not allowed in the queue's state */
	PROCQ_ETIMEDOUT = -6,	/* the wait timed out */
	PROCQ_ENOTDONE = -7,	/* the task has not finished */
	PROCQ_EEXIST = -8,	/* a task is already registered under that name */
	PROCQ_ESYS = -9,	/* a system call failed; errno says which */
	PROCQ_EFORMAT = -10,	/* a value does not match the format string */
	PROCQ_ETASK = -11,	/* the task did not succeed */
	PROCQ_EDONE = -12,	/* the task has already finished */
	PROCQ_EFULL = -13,	/* the queue holds its maximum of tasks */
	PROCQ_EBUSY = -14,	/* a run is in flight */
	PROCQ_EDEADLK = -15,	/* would block the supervisor thread (a hook) */
	PROCQ_EFORKED = -16,	/* called in a child forked from the queue's
				 * process: the queue is the parent's */
	PROCQ_ESTORE = -17,	/* the checkpoint store failed: see
				 * procq_checkpoint_error() */
	PROCQ_ENOTSTORE = -18,	/* the file is not a procq checkpoint store */
	PROCQ_ESTOREVERSION = -19, /* the store is of a newer procq */
	PROCQ_ECORRUPT = -20,	/* the checkpoint store is damaged */
	PROCQ_ECANCELLED = -21	/* the group was cancelled */
};

typedef enum procq_status {
	PROCQ_PENDING = 0,	/* queued, not started */
	PROCQ_RUNNING,		/* an attempt is running in a worker */
	PROCQ_RETRYING,		/* an attempt failed; waiting for the next */
	PROCQ_SUCCEEDED,	/* final: the task returned a value */
	PROCQ_FAILED,		/* final: every attempt failed */
	PROCQ_CANCELLED		/* final: cancelled before it finished */
} procq_status;

typedef enum procq_error_kind {
	PROCQ_ERR_NONE = 0,	/* no error: the task succeeded */
	PROCQ_ERR_TASK,		/* the task function reported a failure */
	PROCQ_ERR_CRASH,	/* the worker died (signal or exit) */
	PROCQ_ERR_TIMEOUT,	/* the attempt ran past its timeout */
	PROCQ_ERR_CANCELLED,	/* the task was cancelled */
	PROCQ_ERR_PROTOCOL,	/* the worker sent a malformed frame */
	PROCQ_ERR_SPAWN		/* no worker could be started for it */
} procq_error_kind;

typedef struct procq_queue procq_queue;
typedef struct procq_handle procq_handle;
typedef struct procq_result procq_result;
typedef struct procq_summary procq_summary;
typedef struct procq_call procq_call;
typedef struct procq_group procq_group;
typedef struct procq_iter procq_iter;
typedef struct procq_bound procq_bound;
typedef struct procq_transport procq_transport;
struct event_base;

/* A task function runs inside a worker: 0 is success, anything else a
 * failure (see procq_call_fail()). */
typedef int (*procq_fn)(procq_call *call);

/* One task of a worker program's table (procq_worker_main()); the table
 * ends with { NULL, NULL }. */
typedef struct procq_worker_task {
	const char	*name;
	procq_fn	 fn;
} procq_worker_task;

/* What procq_run() waits for. */
typedef enum procq_mode {
	PROCQ_MODE_FINITE = 0,	/* until every submitted task is final */
	PROCQ_MODE_INFINITE	/* until the queue is shut down or cancelled */
} procq_mode;

/* How worker processes are started: procq(7), "Start methods". */
typedef enum procq_start_method {
	PROCQ_START_DEFAULT = 0,	/* = PROCQ_START_FORKSERVER */
	PROCQ_START_FORKSERVER,		/* forked by a single-threaded server
					 * made at procq_start() */
	PROCQ_START_FORK,		/* forked from the supervisor */
	PROCQ_START_EXEC		/* a separate program, worker_path */
} procq_start_method;

/* What a failed task does to the rest of the run. */
typedef enum procq_fail_policy {
	PROCQ_FAIL_DEFAULT = 0,	/* config: continue; run: the queue's policy */
	PROCQ_FAIL_CONTINUE,	/* the other tasks go on */
	PROCQ_FAIL_FIRST	/* the first failure cancels the remaining work
				 * (must_complete tasks are spared) */
} procq_fail_policy;

/* What a run timeout cancels. */
typedef enum procq_on_timeout {
	PROCQ_ON_TIMEOUT_DEFAULT = 0,	/* = PROCQ_ON_TIMEOUT_COMPLETE */
	PROCQ_ON_TIMEOUT_COMPLETE,	/* ordinary tasks; must_complete
					 * tasks run to completion */
	PROCQ_ON_TIMEOUT_CANCEL		/* everything */
} procq_on_timeout;

/* How an attempt failed: given to the on_retry hook. */
typedef struct procq_error {
	procq_error_kind	 kind;
	const char		*type;
	const char		*message;
	int			 exit_status;	/* -1 unless the worker exited */
	int			 signal;	/* -1 unless killed by a signal */
	const char		*output;	/* for a crash: the end of what
						 * the worker wrote to stderr */
	size_t			 output_len;
} procq_error;

/* Hooks run on the supervisor thread, never under the engine's lock. */
typedef void (*procq_start_hook)(procq_handle *h, void *arg);
typedef void (*procq_complete_hook)(procq_handle *h, const procq_result *r,
    void *arg);
typedef void (*procq_retry_hook)(procq_handle *h, const procq_error *err,
    void *arg);
typedef void (*procq_progress_hook)(procq_handle *h,
    const msgpack_object *value, void *arg);

/* A done callback: runs once, when the handle is final. */
typedef void (*procq_done_fn)(procq_handle *h, void *arg);

/* Queue configuration; a zero-initialised struct means all defaults. */
typedef struct procq_config {
	int workers;		/* worker processes; 0 = online CPUs */
	int prefetch;		/* tasks in flight per worker; 0 = adaptive,
				 * as many as run in about 1 ms (1 to 512) */
	double kill_grace;	/* seconds from SIGTERM to SIGKILL; 0 = 0.5,
				 * negative = SIGKILL at once */
	size_t max_frame;	/* largest wire frame in bytes; 0 = 64 MiB */
	long size;		/* most unfinished tasks; 0 = no limit */
	double timeout;		/* default run timeout in seconds; 0 = none */
	procq_mode mode;
	procq_fail_policy fail_policy;
	procq_on_timeout on_timeout;
	double rate;		/* attempts started per second; 0 = no cap */
	int burst;		/* attempts allowed at once under rate; 0 = 1 */
	procq_fn initializer;	/* runs once in each worker before its tasks */
	const void *initargs;	/* msgpack array given to the initializer */
	size_t initargs_len;
	procq_start_hook on_start;
	procq_complete_hook on_complete;
	procq_retry_hook on_retry;
	void *hook_arg;		/* passed to every hook */
	int max_tasks_per_worker; /* recycle a worker after N; 0 = never */
	size_t max_memory;	/* address space a worker may add, bytes */
	double max_cpu;		/* CPU seconds per attempt; 0 = no limit */
	procq_progress_hook on_progress;
	struct event_base *event_base;	/* run the supervisor on this loop
				 * (the caller's) instead of a thread */
	long stderr_tail;	/* bytes of a worker's stderr kept for its
				 * crash report; 0 = 4096, negative = none */
	long max_files;		/* open files per worker; 0 = inherited */
	long max_procs;		/* processes of the worker's user; 0 = inherited */
	unsigned uid;		/* run workers as this user; 0 = unchanged */
	unsigned gid;		/* and group; 0 = the user's or unchanged */
	const unsigned *groups;	/* supplementary groups; NULL = none when
				 * uid or gid is set */
	size_t ngroups;
	bool no_new_privs;	/* workers may not gain privileges by exec
				 * (always so when uid or gid is set) */
	double spawn_timeout;	/* seconds a new worker has to say hello
				 * (its initializer included); 0 = 10,
				 * negative = no limit */
	procq_start_method start_method;
	const char *worker_path;	/* exec: the worker program */
	char *const *worker_argv;	/* exec: its argv; NULL = the path */
	char *const *worker_envp;	/* exec: its environment; NULL = the
					 * caller's at each start */
	const procq_transport *transport; /* where workers run: NULL = this
					 * host; procq_mpi_transport() */
	const char *checkpoint;	/* SQLite file of finished tasks: a rerun
				 * skips what succeeded; NULL = none */
	const char *checkpoint_run; /* the batch's name in that file;
				 * NULL = "default" */
} procq_config;

/* Per-task options; a zero-initialised struct means all defaults. */
typedef struct procq_opts {
	const char *name;	/* display name; NULL = the task name */
	const char *group;	/* group id; NULL = ungrouped */
	int priority;		/* lower runs first; FIFO within one priority */
	int retries;		/* attempts after the first; >= 0 */
	double retry_delay;	/* seconds before the first retry; >= 0 */
	double backoff;		/* delay multiplier per retry; 0 = 1, else >= 1 */
	double timeout;		/* seconds per attempt; 0 = none */
	double delay;		/* seconds from submission before it may run */
	double run_at;		/* wall-clock time (seconds since the epoch)
				 * before which it may not run; 0 = none */
	bool must_complete;	/* spared by run timeouts and fail_first */
	bool detached;		/* left out of run summaries */
	const void *metadata;	/* opaque bytes, copied, kept with the task */
	size_t metadata_len;
	const char *key;	/* its key in the checkpoint store; NULL = a
				 * digest of the task name and arguments */
} procq_opts;

/* Options of one procq_run(); NULL or zero-initialised = defaults. */
typedef struct procq_run_opts {
	double timeout;		/* seconds; 0 = the queue's timeout */
	bool strict;		/* return PROCQ_ETASK if any task failed */
	procq_fail_policy fail_policy;	/* 0 = the queue's policy */
} procq_run_opts;

/* A snapshot of the queue, from procq_stats_get(). */
typedef struct procq_stats {
	size_t pending;		/* waiting for a worker */
	size_t active;		/* running or handed to a worker */
	size_t scheduled;	/* waiting for a delay, run_at or retry */
	size_t completed;	/* final results held by the queue */
	int workers;		/* live worker processes */
	bool closed;		/* no more submissions */
} procq_stats;

/* One argument tuple: the msgpack bytes of an array; NULL/0 = none. */
typedef struct procq_args {
	const void *data;
	size_t len;
} procq_args;

/* One job of a heterogeneous group or a race. */
typedef struct procq_job {
	const char *name;
	procq_args args;
	const procq_opts *opts;	/* NULL = defaults */
} procq_job;

/* What a cancelled member does to its group: procq_group(3). */
typedef enum procq_group_cancel_mode {
	PROCQ_GROUP_CANCEL_IGNORE = 0,	/* nothing: the others go on */
	PROCQ_GROUP_CANCEL_RAISE,	/* it cancels the group, and the
					 * group's wait says so */
	PROCQ_GROUP_CANCEL_QUIET	/* it cancels the group quietly */
} procq_group_cancel_mode;

/* Options of a group; NULL or zero-initialised = defaults. */
typedef struct procq_group_opts {
	const char *id;		/* NULL = a generated id */
	int concurrency;	/* most of its tasks admitted at once; 0 = all */
	double rate;		/* its tasks admitted per second; 0 = no cap */
	int burst;		/* admitted at once under rate; 0 = 1 */
	procq_fail_policy fail_policy;	/* DEFAULT = CONTINUE; FIRST: its
					 * first failure cancels the rest */
	procq_group_cancel_mode cancel_mode;
	bool shield;		/* only its own cancel or a forced stop
				 * cancels its tasks */
} procq_group_opts;

/* When procq_wait() returns. */
typedef enum procq_wait_mode {
	PROCQ_ALL_COMPLETED = 0,
	PROCQ_FIRST_COMPLETED,
	PROCQ_FIRST_EXCEPTION	/* the first FAILED, else all completed */
} procq_wait_mode;

/* Flags of procq_summary_check(). */
#define PROCQ_CHECK_CANCELLED 0x1

/* Flags of procq_shutdown(). */
#define PROCQ_SHUTDOWN_FORCE 0x1

/* Errors and names */
const char *procq_strerror(int err);
const char *procq_status_name(procq_status status);
const char *procq_error_kind_name(procq_error_kind kind);

/* Queue */
procq_queue *procq_create(const procq_config *config, int *err);
int procq_register(procq_queue *q, const char *name, procq_fn fn);
int procq_start(procq_queue *q);
/* The worker program of an exec queue: never returns when procq started
 * it; 2 when it did not. */
int procq_worker_main(int argc, char **argv, const procq_worker_task *tasks);
int procq_submit(procq_queue *q, const char *name, const void *args,
    size_t args_len, const procq_opts *opts, procq_handle **handle);
int procq_submitf(procq_queue *q, const char *name, const procq_opts *opts,
    procq_handle **handle, const char *fmt, ...);
int procq_submit_timeout(procq_queue *q, const char *name, const void *args,
    size_t args_len, const procq_opts *opts, double timeout,
    procq_handle **handle);
int procq_try_submit(procq_queue *q, const char *name, const void *args,
    size_t args_len, const procq_opts *opts, procq_handle **handle);
int procq_run(procq_queue *q, const procq_run_opts *opts,
    procq_summary **summary);
int procq_join(procq_queue *q, double timeout);
int procq_shutdown(procq_queue *q, int flags);
int procq_cancel(procq_queue *q);
int procq_reset(procq_queue *q);
int procq_clear_results(procq_queue *q);
procq_summary *procq_results(procq_queue *q);
bool procq_closed(procq_queue *q);
int procq_stats_get(procq_queue *q, procq_stats *stats);
int procq_checkpoint_sync(procq_queue *q, double timeout);
const char *procq_checkpoint_error(procq_queue *q);
size_t procq_active(procq_queue *q);
size_t procq_pending(procq_queue *q);
void procq_free(procq_queue *q);

/* Fan-out */
int procq_map(procq_queue *q, const char *name, const procq_args *args,
    size_t n, const procq_opts *opts, procq_handle **handles);
int procq_pmap(const char *name, procq_fn fn, const procq_args *args,
    size_t n, const procq_config *config, const procq_opts *opts,
    procq_summary **results);
int procq_race(procq_queue *q, const procq_job *jobs, size_t n,
    double timeout, procq_handle **winner, procq_summary **failures);

/* Groups: owned by the caller, freed with procq_group_free(); their
 * handles belong to the queue. */
procq_group *procq_group_create(procq_queue *q, const procq_group_opts *opts,
    int *err);
int procq_group_submit(procq_group *g, const char *name, const void *args,
    size_t args_len, const procq_opts *opts, procq_handle **handle);
int procq_group_submitf(procq_group *g, const char *name,
    const procq_opts *opts, procq_handle **handle, const char *fmt, ...);
int procq_group_map(procq_group *g, const char *name, const procq_args *args,
    size_t n, const procq_opts *opts);
int procq_group_jobs(procq_group *g, const procq_job *jobs, size_t n);
int procq_group_add(procq_group *g, procq_handle *h);
int procq_group_remove(procq_group *g, procq_handle *h);
const char *procq_group_id(const procq_group *g);
size_t procq_group_size(procq_group *g);
procq_handle *procq_group_handle(procq_group *g, size_t i);
int procq_group_wait(procq_group *g, double timeout,
    procq_summary **summary);
int procq_group_values(procq_group *g, const msgpack_object **values,
    procq_summary **failures);
size_t procq_group_cancel(procq_group *g);
procq_handle *procq_group_next(procq_group *g, double timeout, int *err);
void procq_group_free(procq_group *g);

/* Bound tasks: a task name with preset options. */
procq_bound *procq_bind(procq_queue *q, const char *name,
    const procq_opts *preset, int *err);
int procq_bound_call(procq_bound *b, const void *args, size_t args_len,
    const procq_opts *override, procq_handle **handle);
int procq_bound_callf(procq_bound *b, const procq_opts *override,
    procq_handle **handle, const char *fmt, ...);
int procq_bound_map(procq_bound *b, const procq_args *args, size_t n,
    const procq_opts *override, procq_handle **handles);
procq_group *procq_bound_group(procq_bound *b, const procq_args *args,
    size_t n, const procq_group_opts *group_opts, const procq_opts *override,
    int *err);
void procq_bound_free(procq_bound *b);

/* Waiting on many handles, from any queues. */
int procq_wait(procq_handle *const *handles, size_t n, procq_wait_mode mode,
    double timeout, procq_handle **done, size_t *ndone,
    procq_handle **pending, size_t *npending);
procq_iter *procq_as_completed(procq_handle *const *handles, size_t n,
    double timeout, int *err);
procq_handle *procq_iter_next(procq_iter *it, int *err);
void procq_iter_free(procq_iter *it, bool cancel_unfinished);

/* Futures: handles completed by the caller. */
procq_handle *procq_future_create(procq_queue *q, const char *name,
    int *err);
int procq_future_set_value(procq_handle *f, const void *data, size_t len);
int procq_future_set_valuef(procq_handle *f, const char *fmt, ...);
int procq_future_set_error(procq_handle *f, const char *type,
    const char *message);

/* Event-loop integration */
int procq_notify_fd(procq_queue *q);
size_t procq_poll(procq_queue *q, procq_handle **done, size_t max);

/* Handle: owned by its queue, valid until procq_free(). */
int procq_handle_wait(procq_handle *h, double timeout);
bool procq_handle_done(procq_handle *h);
procq_status procq_handle_status(procq_handle *h);
const procq_result *procq_handle_result(procq_handle *h);
int procq_handle_value(procq_handle *h, const char *fmt, ...);
procq_error_kind procq_handle_error_kind(procq_handle *h);
const char *procq_handle_error_type(procq_handle *h);
const char *procq_handle_error_message(procq_handle *h);
int procq_handle_attempts(procq_handle *h);
const void *procq_handle_metadata(procq_handle *h, size_t *len);
const char *procq_handle_id(const procq_handle *h);
const char *procq_handle_name(const procq_handle *h);
int procq_handle_cancel(procq_handle *h);
int procq_handle_on_done(procq_handle *h, procq_done_fn fn, void *arg);
int procq_handle_progress(procq_handle *h, const char *fmt, ...);
size_t procq_handle_progress_data(procq_handle *h, void *buf, size_t size);
bool procq_handle_is_future(const procq_handle *h);
int procq_handle_priority(const procq_handle *h);
bool procq_handle_must_complete(const procq_handle *h);
bool procq_handle_detached(const procq_handle *h);
const char *procq_handle_group(const procq_handle *h);
double procq_handle_created(const procq_handle *h);
double procq_handle_scheduled(const procq_handle *h);
void procq_handle_release(procq_handle *h);

/* Result: immutable record of how a task ended. */
const char *procq_result_id(const procq_result *r);
const char *procq_result_name(const procq_result *r);
const char *procq_result_task(const procq_result *r);
const char *procq_result_group(const procq_result *r);
procq_status procq_result_status(const procq_result *r);
procq_error_kind procq_result_error_kind(const procq_result *r);
const char *procq_result_error_type(const procq_result *r);
const char *procq_result_error_message(const procq_result *r);
int procq_result_attempts(const procq_result *r);
double procq_result_duration(const procq_result *r);
int procq_result_exit_status(const procq_result *r);
int procq_result_signal(const procq_result *r);
const char *procq_result_host(const procq_result *r);
int procq_result_rank(const procq_result *r);
bool procq_result_resumed(const procq_result *r);
const void *procq_result_data(const procq_result *r, size_t *len);
const void *procq_result_metadata(const procq_result *r, size_t *len);
const char *procq_result_stderr(const procq_result *r, size_t *len);
const msgpack_object *procq_result_value(const procq_result *r);
int procq_result_unpack(const procq_result *r, const char *fmt, ...);

/* Summary: owned by the caller, freed with procq_summary_free(); it and
 * its results stay valid after the queue is freed. */
size_t procq_summary_submitted(const procq_summary *s);
size_t procq_summary_succeeded(const procq_summary *s);
size_t procq_summary_failed(const procq_summary *s);
size_t procq_summary_cancelled(const procq_summary *s);
size_t procq_summary_resumed(const procq_summary *s);
bool procq_summary_ok(const procq_summary *s);
bool procq_summary_run_timed_out(const procq_summary *s);
double procq_summary_duration(const procq_summary *s);
size_t procq_summary_count(const procq_summary *s);
const procq_result *procq_summary_result(const procq_summary *s, size_t i);
const procq_result *procq_summary_first_failure(const procq_summary *s);
const procq_result *procq_summary_by_id(const procq_summary *s,
    const char *id);
procq_summary *procq_summary_by_name(const procq_summary *s,
    const char *name);
procq_summary *procq_summary_by_group(const procq_summary *s,
    const char *group);
int procq_summary_groups(const procq_summary *s, const char **ids,
    procq_summary **subs, size_t max, size_t *count);
void procq_summary_display(const procq_summary *s, FILE *fp);
int procq_summary_json(const procq_summary *s, FILE *fp);
int procq_summary_check(const procq_summary *s, int flags, FILE *fp);
size_t procq_summary_values(const procq_summary *s,
    const msgpack_object **values, size_t max);
procq_summary *procq_summary_successes(const procq_summary *s);
procq_summary *procq_summary_errors(const procq_summary *s);
procq_summary *procq_summary_cancellations(const procq_summary *s);
procq_summary *procq_summary_timed_out(const procq_summary *s);
void procq_summary_free(procq_summary *s);

/* Inside a task function (worker side). */
const char *procq_call_name(const procq_call *c);
const char *procq_call_id(const procq_call *c);
int procq_call_attempt(const procq_call *c);
const msgpack_object *procq_call_args(const procq_call *c);
const void *procq_call_args_data(const procq_call *c, size_t *len);
int procq_call_unpack(const procq_call *c, const char *fmt, ...);
int procq_call_return(procq_call *c, const char *fmt, ...);
int procq_call_return_data(procq_call *c, const void *data, size_t len);
msgpack_packer *procq_call_packer(procq_call *c);
int procq_call_progress(procq_call *c, const char *fmt, ...);
int procq_call_fail(procq_call *c, const char *type, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Format-string packing, shared by both sides. */
int procq_pack(msgpack_packer *pk, const char *fmt, ...);
int procq_vpack(msgpack_packer *pk, const char *fmt, va_list ap);
int procq_unpack(const msgpack_object *obj, const char *fmt, ...);
int procq_vunpack(const msgpack_object *obj, const char *fmt, va_list ap);

#ifdef __cplusplus
}
#endif

#endif /* PROCQ_H */
