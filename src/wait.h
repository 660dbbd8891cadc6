/*
 * Waiters (wait.c): someone waiting for many handles at once.
 */
#ifndef PROCQ_WAIT_H
#define PROCQ_WAIT_H

#include <pthread.h>
#include <stddef.h>

#include "task.h"

/* Someone waiting for handles to finish (procq_wait, as_completed,
 * groups): told the position of each handle as it becomes final. */
struct waiter {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	size_t			*ready;		/* positions, completion order */
	size_t			 nready;
	size_t			 cap;
	size_t			 failed;	/* how many ended FAILED */
};

int waiter_init(struct waiter *w);
void waiter_release(struct waiter *w);
void waiter_watch(struct waiter *w, procq_handle *h, size_t pos);
void waiter_unwatch(struct waiter *w, procq_handle *h);
void waiter_task_final(procq_handle *t);

#endif
