/*
 * PROCQ_DEBUG: a line on standard error for every move of a task's state
 * and every event in a worker's life, for a user chasing a stuck task.
 */
#ifndef PROCQ_TRACE_H
#define PROCQ_TRACE_H

#include <stdbool.h>

#include "state.h"

struct slot;

bool trace_wanted(void);
void trace_task(const procq_handle *t, enum task_state to);
void trace_worker(const struct slot *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An event of the worker in slot s, formatted only when traced. */
#define TRACE_WORKER(s, ...) do {					\
	if ((s)->q->trace)						\
		trace_worker((s), __VA_ARGS__);				\
} while (0)

#endif
