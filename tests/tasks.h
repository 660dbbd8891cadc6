/*
 * Task functions shared by the procq test suites.  They run inside worker
 * processes.
 *
 *   double (d x)            returns 2 * x
 *   ident (i n)             returns n
 *   echo (...)              returns its whole argument array, raw
 *   echo_obj (...)          returns its argument array via procq_call_args
 *   roundtrip (i l u d b s S y n)  unpacks every type and returns them all
 *   whoami ()               returns [name, id, attempt]
 *   map ()                  returns {"a": 1, "b": [true, nil]} as raw bytes
 *   packer ()               returns [1, "two", 3.5] via procq_call_packer
 *   nil ()                  returns 0 without a value
 *   fail (i n)              procq_call_fail(c, "ValueError", "bad %d", n)
 *   retcode (i n)           returns n without procq_call_fail
 *   flaky (i n)             fails while attempt < n, then returns attempt
 *   sleep (d seconds)       sleeps, then returns nil
 *   gate (s path)           reads the FIFO at path until end of file
 *   marker (s path)         appends one byte to path
 *   crash (s how)           dies: "segv-raise", "null", "abort", "exit3",
 *                           "exit0", "_exit0", "sigkill", "signal40"
 *   crash_once (s how)      crashes on attempt 1, returns 42 afterwards
 *   pidfile_sleep (s path)  writes its pid to path, sleeps forever
 *   grandchild (s path)     forks a child that sleeps forever, writes the
 *                           child's pid to path, sleeps forever
 *   garbage (s what)        writes a bad frame to the result pipe, sleeps:
 *                           "bytes" (invalid msgpack), "int" (not an array),
 *                           "huge" (length prefix of 1 GiB), "type" (array
 *                           of an unknown frame type)
 *   close_result_pipe ()    closes the result pipe, sleeps forever
 *   bigstr (i n)            returns a string of n bytes
 *   stubborn_gate (s gate, s pidfile)
 *                           ignores SIGTERM, writes its pid, then like gate
 *   env ()                  [open fds, own process group, bytes read from
 *                           stdin, empty signal mask, SIGUSR1 default]
 *   family (s path)         forks a grandchild that sleeps for ever, writes
 *                           "WORKER GRANDCHILD" (pids) to path, waits
 *   getpid ()               the worker's pid
 *   busy_loop ()            burns CPU for ever
 */
#ifndef PROCQ_TEST_TASKS_H
#define PROCQ_TEST_TASKS_H

#include "procq.h"

/* The worker's fixed pipe layout. */
#define WORKER_READ_FD 3
#define WORKER_WRITE_FD 4

void register_common_tasks(procq_queue *q);
/* The common tasks as a worker program's table, { NULL, NULL } last. */
const procq_worker_task *common_worker_tasks(void);

/* Registers each task of a table, asserting success. */
struct task_entry {
	const char	*name;
	procq_fn	 fn;
};
void register_tasks(procq_queue *q, const struct task_entry *tasks,
    size_t n);

/* "nil" and "family", for registering on their own: under other names,
 * or on a queue without the common tasks. */
int task_nil(procq_call *c);
int task_family(procq_call *c);
/* gate (s path): runs until the test releases the gate (util.h);
 * gate_crash: "gate", then SIGSEGV (check_engine). */
int task_gate(procq_call *c);
int task_gate_crash(procq_call *c);

#endif /* PROCQ_TEST_TASKS_H */
