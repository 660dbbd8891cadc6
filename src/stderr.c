/*
 * A worker's standard error goes through a pipe to the supervisor, which
 * passes it on to the caller's standard error and keeps the last bytes: a
 * crash report then says what the job printed before it died.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "sigpipe.h"

static size_t
stderr_cap(const procq_queue *q)
{
	return q->cfg.stderr_tail > 0 ? (size_t)q->cfg.stderr_tail : 4096;
}

static void
stderr_keep(struct worker *w, const char *p, size_t n)
{
	size_t cap = stderr_cap(w->q);

	if (n >= cap) {
		memcpy(w->tail, p + n - cap, cap);
		w->tail_len = cap;
		return;
	}
	if (w->tail_len + n > cap) {
		size_t drop = w->tail_len + n - cap;

		memmove(w->tail, w->tail + drop, w->tail_len - drop);
		w->tail_len -= drop;
	}
	memcpy(w->tail + w->tail_len, p, n);
	w->tail_len += n;
}

/* What the worker wrote is the caller's to see, as if it were not piped. */
static void
stderr_forward(const procq_queue *q, const char *p, size_t n)
{
	struct sigpipe_guard g;
	ssize_t k = 0;

	if (q->external_base)
		sigpipe_block(&g);
	while (n > 0 && ((k = write(STDERR_FILENO, p, n)) > 0 ||
	    (k < 0 && errno == EINTR))) {
		if (k > 0) {
			p += k;
			n -= (size_t)k;
		}
	}
	if (q->external_base)
		sigpipe_unblock(&g, k < 0 && errno == EPIPE);
}

/* Reads what is there, without waiting. */
void
stderr_drain(struct worker *w)
{
	char buf[16384];
	ssize_t n;

	while (w->err_fd >= 0) {
		n = read(w->err_fd, buf, sizeof buf);
		if (n > 0) {
			stderr_keep(w, buf, (size_t)n);
			stderr_forward(w->q, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno != EAGAIN)
			event_del(w->err_ev);	/* EOF: nothing more comes */
		break;
	}
}

static void
stderr_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->q->lock);
	stderr_drain(w);
	pthread_mutex_unlock(&w->q->lock);
}

/* Called after fork with the supervisor's end of the pipe in w->err_fd. */
int
stderr_open(struct worker *w)
{
	if (w->err_fd < 0)
		return 0;
	evutil_make_socket_nonblocking(w->err_fd);
	if (w->tail == NULL &&
	    (w->tail = malloc(stderr_cap(w->q))) == NULL)
		return -1;
	w->tail_len = 0;
	w->err_ev = event_new(w->q->base, w->err_fd, EV_READ | EV_PERSIST,
	    stderr_cb, w);
	if (w->err_ev == NULL || event_add(w->err_ev, NULL) != 0)
		return -1;
	return 0;
}

void
stderr_close(struct worker *w)
{
	if (w->err_ev != NULL)
		event_free(w->err_ev);
	w->err_ev = NULL;
	if (w->err_fd >= 0)
		close(w->err_fd);
	w->err_fd = -1;
	free(w->tail);
	w->tail = NULL;
	w->tail_len = 0;
}
