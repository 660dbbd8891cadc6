/*
 * Task functions, worker initializers and helpers of the policy suites
 * (tests/check_policy*.c), on top of the common ones in tasks.h and
 * util.h.
 *
 * Tasks (registered by register_policy_tasks()):
 *   stamp ()                returns the CLOCK_MONOTONIC time it started at
 *   gate_fail (s path)      like "gate", then fails: GateError "released"
 *   hog ()                  allocates and touches 1 MiB chunks until malloc
 *                           fails, then writes through the NULL it got
 *   burn (d seconds)        uses that much CPU time, then returns nil
 *   alloc_mib (i n)         allocates and touches n MiB, frees them
 *   init_value ()           [value kept by init_keep, times it ran]
 *
 * Initializers (procq_config.initializer):
 *   init_log (s path, i n)  appends one byte to path per call; fails with
 *                           SetupError "call K" while the file holds at
 *                           most n bytes (n < 0: always); BadName when its
 *                           call is not named "initializer"
 *   init_keep (i v)         keeps v for "init_value"
 *   init_ret ()             returns 7 without procq_call_fail()
 *   init_ignore_term ()     makes the worker ignore SIGTERM
 */
#ifndef PROCQ_TEST_POLICY_TASKS_H
#define PROCQ_TEST_POLICY_TASKS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "procq.h"

void register_policy_tasks(procq_queue *q);

int init_log(procq_call *c);
int init_keep(procq_call *c);
int init_ret(procq_call *c);
int init_ignore_term(procq_call *c);

/* A new queue with the common and the policy tasks registered. */
procq_queue *policy_queue(const procq_config *cfg);

/* procq_run() on a thread of its own. */
struct run_thread {
	pthread_t	 thread;
	procq_queue	*q;
	procq_run_opts	 opts;
	procq_summary	*summary;
	int		 rc;
	double		 elapsed;	/* seconds procq_run() took */
	atomic_bool	 done;
};
void run_thread_start(struct run_thread *rt, procq_queue *q,
    const procq_run_opts *opts);
/* wait_until() condition: the run has returned (arg: the run_thread). */
bool run_thread_returned(void *rt);
/* Joins the thread (asserting the run returned within timeout seconds)
 * and returns procq_run()'s result; rt->summary is the caller's. */
int run_thread_join(struct run_thread *rt, double timeout);

/* wait_until() condition: *(atomic_bool *)arg. */
bool flag_is_set(void *flag);

/* wait_until() condition: the handle is final (arg: a procq_handle). */
bool handle_is_done(void *h);

#endif /* PROCQ_TEST_POLICY_TASKS_H */
