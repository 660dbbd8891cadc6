/*
 * Waiters (wait.c): someone waiting for many handles at once.
 */
#ifndef PROCQ_WAIT_H
#define PROCQ_WAIT_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "task.h"

/* Someone waiting for handles to finish (procq_wait, as_completed,
 * groups): told the position of each handle as it becomes final.  Its
 * lock also guards what its owner keeps beside it (a group's list). */
struct waiter;

struct waiter *waiter_new(void);
void waiter_free(struct waiter *w);
void waiter_free_forked(struct waiter *w);
void waiter_lock(struct waiter *w);
void waiter_unlock(struct waiter *w);
size_t waiter_count(const struct waiter *w);
size_t waiter_position(const struct waiter *w, size_t i);
int waiter_sleep(struct waiter *w, const struct timespec *deadline);
void waiter_wake(struct waiter *w);
int waiter_init(struct waiter *w);
int waiter_reserve(struct waiter *w, size_t n);
void waiter_release(struct waiter *w);
void waiter_watch(struct waiter *w, procq_handle *h, size_t pos);
void waiter_unwatch_all(struct waiter *w, procq_handle *const *hs,
    size_t n);
void waiter_task_final(procq_handle *t);

#endif
