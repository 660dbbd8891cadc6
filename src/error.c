#include "config.h"

#include "procq.h"

const char *
procq_strerror(int err)
{
	switch (err) {
	case PROCQ_OK:
		return "success";
	case PROCQ_EINVAL:
		return "invalid argument";
	case PROCQ_ENOMEM:
		return "out of memory";
	case PROCQ_ENOTASK:
		return "no task registered under that name";
	case PROCQ_ECLOSED:
		return "queue is shut down";
	case PROCQ_ESTATE:
		return "not allowed in the queue's current state";
	case PROCQ_ETIMEDOUT:
		return "timed out";
	case PROCQ_ENOTDONE:
		return "task has not finished";
	case PROCQ_EEXIST:
		return "a task is already registered under that name";
	case PROCQ_ESYS:
		return "system call failed";
	case PROCQ_EFORMAT:
		return "value does not match the format";
	case PROCQ_ETASK:
		return "task did not succeed";
	case PROCQ_EDONE:
		return "task has already finished";
	case PROCQ_EFULL:
		return "queue is full";
	case PROCQ_EBUSY:
		return "a run is in flight";
	case PROCQ_EDEADLK:
		return "would deadlock: called from the supervisor thread";
	case PROCQ_EFORKED:
		return "the queue belongs to the parent of this forked process";
	case PROCQ_ESTORE:
		return "the checkpoint store failed";
	case PROCQ_ENOTSTORE:
		return "the file is not a procq checkpoint store";
	case PROCQ_ESTOREVERSION:
		return "the checkpoint store was written by a newer procq";
	case PROCQ_ECORRUPT:
		return "the checkpoint store is damaged";
	case PROCQ_ECANCELLED:
		return "the group was cancelled";
	}
	return "unknown error";
}

const char *
procq_status_name(procq_status status)
{
	switch (status) {
	case PROCQ_PENDING:
		return "pending";
	case PROCQ_RUNNING:
		return "running";
	case PROCQ_RETRYING:
		return "retrying";
	case PROCQ_SUCCEEDED:
		return "succeeded";
	case PROCQ_FAILED:
		return "failed";
	case PROCQ_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

const char *
procq_error_kind_name(procq_error_kind kind)
{
	switch (kind) {
	case PROCQ_ERR_NONE:
		return "none";
	case PROCQ_ERR_TASK:
		return "task";
	case PROCQ_ERR_CRASH:
		return "crash";
	case PROCQ_ERR_TIMEOUT:
		return "timeout";
	case PROCQ_ERR_CANCELLED:
		return "cancelled";
	case PROCQ_ERR_PROTOCOL:
		return "protocol";
	case PROCQ_ERR_SPAWN:
		return "spawn";
	}
	return "unknown";
}
