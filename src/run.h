/*
 * Runs and the lifecycle (run.c).
 */
#ifndef PROCQ_RUN_H
#define PROCQ_RUN_H

#include "procq.h"

void run_task_final(procq_handle *t);

#endif
