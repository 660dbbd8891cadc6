/*
 * Groups and their gates (group.c): a gate admits a group's tasks under
 * its concurrency limit and rate.
 */
#ifndef PROCQ_GROUP_H
#define PROCQ_GROUP_H

#include "task.h"

int gate_admit_or_hold(procq_handle *t);
void gate_leave_backlog(procq_handle *t);
void gate_task_final(procq_handle *t);
void gates_free(procq_queue *q);

#endif
