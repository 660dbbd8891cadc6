/*
 * The supervisor's event loop (loop.c): callbacks, wake-ups, and the
 * queue's lock around them.
 */
#ifndef PROCQ_LOOP_H
#define PROCQ_LOOP_H

#include <stdbool.h>
#include <time.h>

#include "procq.h"

struct procq_handle;

int loop_start(procq_queue *q);
void loop_wake(procq_queue *q);
void loop_kick(procq_queue *q);
bool loop_in_callback(const procq_queue *q);
void loop_task_final(procq_handle *t);
void loop_stop(procq_queue *q);
void loop_after(procq_queue *q);
void loop_leave(procq_queue *q);
void loop_enter(procq_queue *q);
bool loop_on_thread(const procq_queue *q);
bool loop_external_here(const procq_queue *q);
void queue_unlock(procq_queue *q);
void loop_wait(procq_queue *q, const struct timespec *deadline, int *rc);

#endif
