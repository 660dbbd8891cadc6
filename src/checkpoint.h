/*
 * The checkpoint store as the engine sees it (checkpoint.c): a key for
 * each new task, a task that succeeded before finished as resumed, and
 * each final task handed to the store's writer.
 */
#ifndef PROCQ_CHECKPOINT_H
#define PROCQ_CHECKPOINT_H

#include <stdbool.h>

#include "procq.h"

struct store;

/* Kept with a task only when its queue has a store. */
struct task_checkpoint {
	double submitted; /* wall clock */
	bool resumed;	  /* succeeded in an earlier run */
	void *value;	  /* its stored value, until placed */
	size_t value_len;
	char key[]; /* its key, in the same allocation */
};

int checkpoint_open(procq_queue *q);
void checkpoint_close(procq_queue *q);
int checkpoint_task_new(procq_queue *q, procq_handle *t, const char *name,
    const procq_opts *opts);
bool checkpoint_resume(procq_handle *t);
void checkpoint_task_final(procq_handle *t);
void checkpoint_task_free(procq_handle *t);
int checkpoint_sync(procq_queue *q);

#endif
