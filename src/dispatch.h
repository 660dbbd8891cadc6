/*
 * Dispatch (dispatch.c): ready tasks to workers, and what workers send
 * back.
 */
#ifndef PROCQ_DISPATCH_H
#define PROCQ_DISPATCH_H

#include <event2/util.h>

#include "procq.h"
#include "task.h"

struct worker;

void dispatch_run(procq_queue *q);
/* One step of dispatch_run() and one of the read callback, on their own
 * for the dispatcher's fuzz target: hand t to w, decode w->in. */
void dispatch_assign(struct worker *w, procq_handle *t);
void dispatch_frames(struct worker *w);
void dispatch_send_cancels(procq_queue *q);
void dispatch_drain(struct worker *w);
void dispatch_read_cb(evutil_socket_t fd, short what, void *arg);
void dispatch_write_cb(evutil_socket_t fd, short what, void *arg);
void dispatch_flush(struct worker *w);
void dispatch_flush_all(procq_queue *q);
void dispatch_head_started(struct worker *w);
void dispatch_stall_cb(evutil_socket_t fd, short what, void *arg);

#endif
