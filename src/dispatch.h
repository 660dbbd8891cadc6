/*
 * Dispatch: the scheduler (dispatch.c), which gives ready tasks to worker
 * slots and acts on what their transport reports (transport.h), and the
 * slots' life as the loop and the API ask for it (dispatch_slots.c).
 */
#ifndef PROCQ_DISPATCH_H
#define PROCQ_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/util.h>

#include "procq.h"
#include "task.h"

struct slot;

void dispatch_run(procq_queue *q);
/* One step of dispatch_run(), on its own for the dispatcher's fuzz
 * target: hand t to s. */
void dispatch_assign(struct slot *s, procq_handle *t);
void dispatch_send_cancels(procq_queue *q);
void dispatch_flush_all(procq_queue *q);
void dispatch_stall_cb(evutil_socket_t fd, short what, void *arg);
void dispatch_timeout_cb(evutil_socket_t fd, short what, void *arg);

int dispatch_start(procq_queue *q);
void dispatch_release(procq_queue *q);
void dispatch_forget(procq_queue *q);
void dispatch_retire(procq_queue *q);
void dispatch_stop(procq_queue *q);
bool dispatch_slots_empty(const procq_queue *q);
void dispatch_teardown(procq_queue *q);
size_t dispatch_active(const procq_queue *q);
int dispatch_workers(const procq_queue *q);
int dispatch_busy(const procq_queue *q);

#endif
