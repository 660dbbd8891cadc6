/*
 * Helpers shared by the procq test suites: deadlines, fd and child-process
 * accounting, FIFO gates, temporary files, what task functions need in a
 * worker, queues, handles and threads seen from the test, and the suite
 * runner.  Each is defined once, in util.c.
 */
#ifndef PROCQ_TEST_UTIL_H
#define PROCQ_TEST_UTIL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include <check.h>

#include "procq.h"

/* Compiled with AddressSanitizer? */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

/* Compiled with ThreadSanitizer? */
#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif
#ifndef TEST_TSAN
#define TEST_TSAN 0
#endif

/* Lower bounds on elapsed time allow this much: the supervisor's timers
 * run on a clock that may be a few milliseconds coarser than now(). */
#define TIMER_SLACK 0.02

/* Seconds on the monotonic clock. */
double now(void);

/* CPU time this process has used, in seconds. */
double cpu_now(void);

/* Sleeps s seconds, through signals; nothing when s <= 0.  For tasks that
 * must take time and for pacing; a test that waits for something polls
 * for it with wait_until(). */
void nap(double s);

/* Poll cond(arg) until it is true or timeout seconds have passed; returns
 * the last value of cond.  The interval starts at 1 ms and grows to 20 ms. */
bool wait_until(bool (*cond)(void *), void *arg, double timeout);

/* Wait until the handle's status is st, up to timeout seconds. */
bool wait_status(procq_handle *h, procq_status st, double timeout);

/* Bytes the allocator has handed out and not had back, or 0 where it does
 * not say (sanitizers, valgrind): assertions on it are skipped then. */
size_t heap_in_use(void);

/* Number of open file descriptors of this process. */
int count_fds(void);

/* Workers of this process (zombies included), up to max of them; returns
 * how many there are in total.  A worker is a child of this process, or
 * of one of its fork servers; the servers themselves are not counted. */
size_t list_children(pid_t *pids, size_t max);

/* The fork servers (procq(7), "Start methods") of process parent. */
size_t list_servers(pid_t parent, pid_t *pids, size_t max);

/* The start method new_queue() and new_queue_config() give a queue whose
 * configuration leaves it unset: PROCQ_TEST_START_METHOD ("fork",
 * "forkserver", "exec"), or procq's default; and the method a configuration
 * ends up with. */
procq_start_method test_start_method(void);
/*
 * A queue of a suite's own tasks (a table ended by a NULL name), and the
 * common ones (tests/tasks.h) if common is set: each registered, or,
 * under the exec start method, served by the suite's own program run
 * again as the worker program.  Such a suite's main() begins with
 * test_serve_as_worker() with the same table and flag, which serves them
 * and does not return when the program was started as a worker, and
 * returns -1 when it was not.
 */
#define TEST_WORKER_ARG "--procq-test-worker"

/* _exit(2) for a child the test forked, which first writes its coverage
 * counters in a coverage build (as worker_exit() does for workers), so
 * that what the child ran is counted. */
void test_child_exit(int status) __attribute__((noreturn));

/* fork(2) for a test's stand-in caller: the child is SIGKILLed when the
 * test ends, however it ends, instead of lingering. */
pid_t fork_child(void);
procq_queue *test_create_with(const procq_config *cfg,
    const procq_worker_task *tasks, bool common, int *err);
int test_serve_as_worker(int argc, char **argv,
    const procq_worker_task *tasks, bool common);

/* procq_create() with that start method when cfg leaves it unset. */
procq_queue *test_create(const procq_config *cfg, int *err);
procq_start_method test_effective_start_method(const procq_config *cfg);
/* Workers of this configuration are the exec'd test worker program
 * (tests/exec_worker.c): a test that registers functions of its own or
 * has an initializer returns at once, as they cannot run there. */
bool test_exec(const procq_config *cfg);

/* Process state letter from /proc/PID/stat ('R', 'S', 'Z'...), or 0 when
 * the process does not exist. */
char proc_state(pid_t pid);

/* True when pid no longer runs: it does not exist or it is a zombie.  It
 * never reaps: a zombie worker is the library's to reap. */
bool pid_gone(pid_t pid);

/* pid_gone() polled with a deadline. */
bool wait_pid_gone(pid_t pid, double timeout);

/* Create an empty temporary file; path receives its name (size >= 64). */
void make_tmpfile(char *path, size_t size);

/* Read a decimal pid written by a task into path; 0 when not there yet. */
pid_t read_pid_file(const char *path);

/* Wait until path holds a pid; 0 on timeout. */
pid_t wait_pid_file(const char *path, double timeout);

/* Size of the file at path, -1 if it does not exist. */
long file_size(const char *path);

/* wait_until() condition: the file at path (arg) is not empty. */
bool file_nonempty(void *path);

/* A gate is a FIFO that the "gate" task opens for reading and reads until
 * end of file: the task runs exactly as long as the test holds the gate.
 * gate_create() makes a FIFO in a new temporary directory. */
struct gate {
	char dir[64];
	char path[96];
	int wfd;		/* write end, -1 until entered */
};
void gate_create(struct gate *g);
/* Wait until the gate task is running (its reader has opened the FIFO)
 * and hold it; false on timeout. */
bool gate_enter(struct gate *g, double timeout);
/* Release the gate task (it returns); no-op when not held. */
void gate_release(struct gate *g);
/* Release and remove the FIFO and its directory. */
void gate_destroy(struct gate *g);

/*
 * Inside a worker, for the task functions.
 */

/* write(2) until all of buf is written; false on an error. */
bool write_all(int fd, const void *buf, size_t len);

/* Writes "PID\n" in one write(2) to the existing file at path, over what
 * it held (write_pid) or after it (append_pid), so that read_pid_file()
 * never sees half a line. */
bool write_pid(const char *path, pid_t pid);
bool append_pid(const char *path, pid_t pid);

/* Waits for ever: only a signal that kills ends it. */
void sleep_forever(void) __attribute__((noreturn));

/* The task's side of a gate: opens the FIFO at path and reads it until
 * end of file, that is until the test releases the gate.  0, or -1 with
 * errno set when the FIFO cannot be opened. */
int gate_pass(const char *path);

/*
 * In the test: queues, handles, threads and the suite runner.
 */

/* A new queue with the common tasks registered, or a failed assertion. */
procq_queue *new_queue(int workers, int prefetch);
procq_queue *new_queue_config(const procq_config *cfg);

/* Packs the conversions of fmt as one msgpack array, an argument tuple or
 * initargs, into a (malloc'd), asserting success; free with args_free(). */
void args_pack(procq_args *a, const char *fmt, ...);
void args_vpack(procq_args *a, const char *fmt, va_list ap);
void args_free(procq_args *a, size_t n);

/* procq_vpack() and procq_vunpack() called the way procq_pack() and
 * procq_unpack() are, so that one test can run through both. */
int vpack(msgpack_packer *pk, const char *fmt, ...);
int vunpack(const msgpack_object *o, const char *fmt, ...);

/* Like procq_submitf(), asserting success; returns the handle.  (A
 * function, not a macro around procq_submitf(), so that compound-literal
 * options with several fields can be passed.) */
procq_handle *submit_ok(procq_queue *q, const char *name,
    const procq_opts *opts, const char *fmt, ...);
/* The same through a group (procq_group_submit()). */
procq_handle *group_submit_ok(procq_group *g, const char *name,
    const procq_opts *opts, const char *fmt, ...);

/* Wait for h up to timeout seconds, asserting it finished. */
void wait_done(procq_handle *h, double timeout);

/* The integer / double value of a finished handle, asserting it
 * succeeded with one. */
int int_value(procq_handle *h);
double double_value(procq_handle *h);

/* The error message of a finished task, "" when it has none (for
 * ck_assert messages and strstr()). */
const char *message_of(procq_handle *h);

/* A stats snapshot, asserting success. */
procq_stats stats_of(procq_queue *q);

/* Wait until the queue has n live workers / n scheduled tasks. */
bool wait_workers(procq_queue *q, int n, double timeout);
bool wait_scheduled(procq_queue *q, size_t n, double timeout);

/* Starts q and waits until it has n live workers, so that tasks timed
 * afterwards do not include a worker's start. */
void start_warm(procq_queue *q, int n);

/* The integer a msgpack object holds (asserting it is one). */
long long obj_int(const msgpack_object *o);

/* Index of h in hs[n], or -1. */
int index_of(procq_handle *const *hs, size_t n, const procq_handle *h);

/* wait_until() condition: *(atomic_int *)arg != 0. */
bool flag_is_set(void *flag);

/* procq_run() on a thread of its own. */
struct run_thread {
	pthread_t	 thread;
	procq_queue	*q;
	procq_run_opts	 opts;
	procq_summary	*summary;
	int		 rc;
	double		 elapsed;	/* seconds procq_run() took */
	atomic_int	 done;
};
void run_thread_start(struct run_thread *rt, procq_queue *q,
    const procq_run_opts *opts);
/* wait_until() condition: the run has returned (arg: the run_thread). */
bool run_thread_returned(void *rt);
/* Joins the thread (asserting the run returned within timeout seconds)
 * and returns procq_run()'s result; rt->summary is the caller's. */
int run_thread_join(struct run_thread *rt, double timeout);

/* A thread that completes a future after an optional trigger: it waits
 * (up to 10 s) until *trigger is non-zero when trigger is not NULL, then
 * sets the value i (error when is_error: type "FutErr", message "boom"). */
struct setter {
	pthread_t	 thread;
	procq_handle	*f;
	int		 value;
	bool		 is_error;
	atomic_int	*trigger;
	int		 rc;
};
void setter_start(struct setter *s, procq_handle *f, int value,
    bool is_error, atomic_int *trigger);
int setter_join(struct setter *s);

/* A procq_done_fn that does nothing. */
void done_noop(procq_handle *h, void *arg);

/* pthread_join() with a deadline: 0, or ETIMEDOUT when the thread is
 * still running after timeout seconds. */
int join_within(pthread_t t, double timeout);

/* Run a suite with the environment's verbosity and fork mode; returns the
 * exit status for main(). */
int run_suite(Suite *s);

/* A test case with a timeout, added to s. */
TCase *add_tcase(Suite *s, const char *name, double timeout);

#endif /* PROCQ_TEST_UTIL_H */
