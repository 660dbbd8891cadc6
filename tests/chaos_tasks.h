/*
 * Task functions of the chaos suite.  They run inside worker processes.
 *
 *   chaos_grand (s path, s how)
 *                             forks a child that appends its pid to path
 *                             and then sleeps forever; once the pid is
 *                             written, crashes the worker: "segv" or "abort"
 *   chaos_victim (s path)     attempt 1: writes the worker's pid to path and
 *                             sleeps forever; later attempts return 7
 */
#ifndef PROCQ_TEST_CHAOS_TASKS_H
#define PROCQ_TEST_CHAOS_TASKS_H

#include "procq.h"

void register_chaos_tasks(procq_queue *q);

#endif /* PROCQ_TEST_CHAOS_TASKS_H */
