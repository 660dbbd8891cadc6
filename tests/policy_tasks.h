/*
 * Task functions and worker initializers of the policy suites
 * (tests/check_policy*.c), on top of the common tasks of tasks.h; their
 * helpers are util.h's.
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

#include "procq.h"

void register_policy_tasks(procq_queue *q);

int init_log(procq_call *c);
int init_keep(procq_call *c);
int init_ret(procq_call *c);
int init_ignore_term(procq_call *c);

/* A new queue with the common and the policy tasks registered. */
procq_queue *policy_queue(const procq_config *cfg);

#endif /* PROCQ_TEST_POLICY_TASKS_H */
