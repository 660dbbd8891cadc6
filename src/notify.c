/*
 * Completions for a caller's own event loop: a descriptor that is readable
 * while finished handles wait to be collected with procq_poll().
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "command.h"
#include "notify.h"
#include "queue.h"

/* A final task is queued for procq_poll(): a final-task listener. */
void
notify_task_final(procq_handle *t)
{
	procq_queue *q = t->q;
	uint64_t one = 1;

	if (q->notify_fd < 0 || t->released)
		return;	/* no one to collect it, or no one wants it */
	if (q->ncompletions == q->completions_cap) {
		size_t cap = q->completions_cap ? q->completions_cap * 2 : 64;
		procq_handle **c = realloc(q->completions, cap * sizeof *c);

		if (c == NULL)
			return;	/* still final: a wait or handle shows it */
		q->completions = c;
		q->completions_cap = cap;
	}
	q->completions[q->ncompletions++] = t;
	t->polled = 1;
	if (q->ncompletions == 1) {
		while (write(q->notify_fd, &one, sizeof one) < 0 &&
		    errno == EINTR)
			;
	}
}

/* Nothing left to collect: the descriptor stops being readable. */
static void
notify_drain(procq_queue *q)
{
	uint64_t n;

	if (q->notify_fd < 0)
		return;
	while (read(q->notify_fd, &n, sizeof n) < 0 && errno == EINTR)
		;
}

/* A released handle waiting to be collected is taken back: it must not
 * be handed out again.  Called with q->lock held. */
void
notify_forget(procq_handle *t)
{
	procq_queue *q = t->q;
	size_t i;

	if (!t->polled)
		return;
	t->polled = 0;
	for (i = 0; i < q->ncompletions && q->completions[i] != t; i++)
		;
	if (i == q->ncompletions)
		return;
	memmove(q->completions + i, q->completions + i + 1,
	    (q->ncompletions - i - 1) * sizeof *q->completions);
	if (--q->ncompletions == 0)
		notify_drain(q);
}

void
notify_release(procq_queue *q)
{
	if (q->notify_fd >= 0)
		close(q->notify_fd);
	q->notify_fd = -1;
	free(q->completions);
	q->completions = NULL;
	q->ncompletions = q->completions_cap = 0;
}

static int
notify_fd_cmd(procq_queue *q, void *arg)
{
	(void)arg;
	if (q->notify_fd < 0)
		q->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return q->notify_fd >= 0 ? q->notify_fd : PROCQ_ESYS;
}

int
procq_notify_fd(procq_queue *q)
{
	if (q == NULL)
		return PROCQ_EINVAL;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	return command_call(q, notify_fd_cmd, NULL);
}

struct poll_args {
	procq_handle	**done;
	size_t		  max;
	size_t		  k;
};

/* On the owner: the completions are its own, and a release its caller
 * made before is taken first. */
static int
poll_cmd(procq_queue *q, void *arg)
{
	struct poll_args *p = arg;
	size_t k = q->ncompletions < p->max ? q->ncompletions : p->max;

	for (size_t i = 0; i < k; i++)
		q->completions[i]->polled = 0;
	if (k > 0) {
		memcpy(p->done, q->completions, k * sizeof *p->done);
		memmove(q->completions, q->completions + k,
		    (q->ncompletions - k) * sizeof *p->done);
		q->ncompletions -= k;
	}
	if (q->ncompletions == 0)
		notify_drain(q);
	p->k = k;
	return 0;
}

size_t
procq_poll(procq_queue *q, procq_handle **done, size_t max)
{
	struct poll_args p = { done, max, 0 };

	if (q == NULL || (done == NULL && max > 0) || queue_forked(q))
		return 0;
	command_call(q, poll_cmd, &p);
	return p.k;
}
