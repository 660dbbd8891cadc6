/*
 * User hooks.  The engine records hook events under its lock and runs them
 * later with the lock released, so a hook may call any procq function.
 */
#ifndef PROCQ_HOOK_H
#define PROCQ_HOOK_H

#include <stddef.h>
#include <stdint.h>

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

/*
 * Hook events are numbered in the order recorded (q->hooks_recorded
 * counts them), so that a thread can wait for those recorded before a
 * point and no later ones: a batch being run is listed in
 * q->hooks_batches (on its runner's stack) with the number of its first
 * event.
 */
struct hook_batch {
	struct hook_batch	*next;
	uint64_t		 first;
};

void hook_start(procq_handle *t);
void hook_task_final(procq_handle *t);
void hook_retry(procq_handle *t, const procq_error *err);
void hook_done(procq_handle *t, procq_done_fn fn, void *arg);
void hook_progress(procq_handle *t, const char *data, size_t len);
bool hook_pending(const procq_queue *q);
uint64_t hook_mark(const procq_queue *q);
bool hook_ran_through(const procq_queue *q, uint64_t mark);
bool hook_on_this_thread(const procq_queue *q);
void hook_run(procq_queue *q);
void hook_discard(procq_queue *q);

#endif
