/*
 * Completions for a caller's own event loop (notify.c).
 */
#ifndef PROCQ_NOTIFY_H
#define PROCQ_NOTIFY_H

#include "procq.h"

void notify_task_final(procq_handle *t);
void notify_forget(procq_handle *t);
void notify_release(procq_queue *q);

#endif
