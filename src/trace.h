/*
 * PROCQ_DEBUG: a line on standard error for every move of a task's state
 * and every event in a worker's life, for a user chasing a stuck task.
 */
#ifndef PROCQ_TRACE_H
#define PROCQ_TRACE_H

#include <stdbool.h>

#include "state.h"

struct worker;

bool trace_wanted(void);
void trace_task(const procq_handle *t, enum task_state to);
void trace_worker(const struct worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A worker event, formatted only when traced. */
#define TRACE_WORKER(w, ...) do {					\
	if ((w)->q->trace)						\
		trace_worker((w), __VA_ARGS__);				\
} while (0)

#endif
