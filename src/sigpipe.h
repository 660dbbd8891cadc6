/*
 * Writing to a pipe whose reader is gone raises SIGPIPE in the writing
 * thread, and SIGPIPE must never kill the caller.  procq's own thread
 * blocks every signal; on a caller's thread (its own event loop), SIGPIPE
 * is blocked around the write and, if the write raised it, taken back.
 */
#ifndef PROCQ_SIGPIPE_H
#define PROCQ_SIGPIPE_H

#include <signal.h>
#include <stdbool.h>

struct sigpipe_guard {
	sigset_t	old;
	bool		was_pending;
};

void sigpipe_block(struct sigpipe_guard *g);
void sigpipe_unblock(struct sigpipe_guard *g, bool raised);

#endif
