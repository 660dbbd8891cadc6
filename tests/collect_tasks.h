/*
 * Task functions of the fan-out and collection suites
 * (tests/check_collect_*.c), on top of the common tasks of tasks.h; their
 * helpers are util.h's.
 *
 * Tasks (registered by register_collect_tasks()):
 *   sleep_ret (d seconds, i v)   sleeps, then returns v
 *   span (d seconds)             sleeps; returns [start, end], CLOCK_MONOTONIC
 *                                times taken inside the worker
 *   gate_ret (s path, i v)       like "gate", then returns v
 *   progress_steps (s gate1, s gate2)
 *                                reports progress "started", waits for
 *                                gate1, reports 50, waits for gate2,
 *                                reports ["almost", 99], returns 7
 *   square (i n, d seconds)      collect_square(), below
 */
#ifndef PROCQ_TEST_COLLECT_TASKS_H
#define PROCQ_TEST_COLLECT_TASKS_H

#include "procq.h"

/* sleeps the given seconds, then returns n * n; fails with ValueError
 * "negative N" when n < 0 */
int collect_square(procq_call *c);

void register_collect_tasks(procq_queue *q);

/* A new queue with the common and the collect tasks registered. */
procq_queue *collect_queue(int workers);
procq_queue *collect_queue_config(const procq_config *cfg);

#endif /* PROCQ_TEST_COLLECT_TASKS_H */
