/*
 * The exec start method: the worker is a separate program
 * (procq_config.worker_path) that calls procq_worker_main().
 */
#include "config.h"

#include <errno.h>

#include "spawn.h"
#include "queue.h"
#include "../worker/worker.h"

const char *
spawn_method_name(procq_start_method m)
{
	switch (m) {
	case PROCQ_START_FORKSERVER:
		return "fork server";
	case PROCQ_START_FORK:
		return "fork";
	case PROCQ_START_EXEC:
		return "exec";
	default:
		return "default";
	}
}

pid_t
spawn_exec(procq_queue *q, const struct worker_ctx *ctx)
{
	(void)q;
	(void)ctx;
	errno = ENOSYS;
	return -1;
}
