/*
 * Task functions and helpers of the fan-out and collection suites
 * (tests/check_collect_*.c), on top of the common ones in tasks.h and
 * util.h.
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

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "procq.h"

/* sleeps the given seconds, then returns n * n; fails with ValueError
 * "negative N" when n < 0 */
int collect_square(procq_call *c);

void register_collect_tasks(procq_queue *q);

/* A new queue with the common and the collect tasks registered. */
procq_queue *collect_queue(int workers);
procq_queue *collect_queue_config(const procq_config *cfg);

/* Starts q and waits until it has n live workers, so that tasks timed
 * afterwards do not include a worker's start. */
void start_warm(procq_queue *q, int n);

/* The integer a msgpack object holds (asserting it is one). */
long long obj_int(const msgpack_object *o);

/* Index of h in hs[n], or -1. */
int index_of(procq_handle *const *hs, size_t n, const procq_handle *h);

/* wait_until() condition: *(atomic_int *)arg != 0. */
bool flag_set(void *flag);

/* wait_until() condition: the handle is final. */
bool is_done(void *h);

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

#endif /* PROCQ_TEST_COLLECT_TASKS_H */
