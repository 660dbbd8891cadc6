/* Starting a worker's process by each start method (procq(7), "Start
 * methods"): a fork is in pool.c, the fork server in forkserver.c, an
 * exec'd worker program here. */
#ifndef PROCQ_START_METHOD_H
#define PROCQ_START_METHOD_H

#include <sys/types.h>

#include "procq.h"

struct worker_ctx;

const char *spawn_method_name(procq_start_method m);
pid_t spawn_exec(procq_queue *q, const struct worker_ctx *ctx);
char *spawn_setup(const procq_queue *q, const struct worker_ctx *ctx);

#endif
