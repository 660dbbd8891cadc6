#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "sigpipe.h"

void
sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t pipe_set, pending;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
}

/* raised: the write failed with EPIPE.  A SIGPIPE that was pending before
 * is the caller's and stays. */
void
sigpipe_unblock(struct sigpipe_guard *g, bool raised)
{
	struct timespec zero = { 0, 0 };
	sigset_t pipe_set;
	int saved = errno;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (raised && !g->was_pending)
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 &&
		    errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
	errno = saved;
}
