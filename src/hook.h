/*
 * User hooks.  The engine records hook events under its lock and runs them
 * later with the lock released, so a hook may call any procq function.
 */
#ifndef PROCQ_HOOK_H
#define PROCQ_HOOK_H

#include <stddef.h>

#include "procq.h"

enum hook_kind {
	HOOK_START,
	HOOK_COMPLETE,
	HOOK_RETRY,
	HOOK_DONE,
	HOOK_PROGRESS
};

struct hook_event {
	enum hook_kind		 kind;
	procq_handle		*handle;
	procq_result		*result;	/* referenced, for COMPLETE */
	procq_error		 error;		/* strings owned, for RETRY */
	procq_done_fn		 done_fn;	/* for DONE */
	void			*done_arg;
	char			*data;		/* owned, for PROGRESS */
	size_t			 len;
};

struct hook_list {
	struct hook_event	*events;
	size_t			 len;
	size_t			 cap;
};

#endif
