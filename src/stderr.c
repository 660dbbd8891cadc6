/*
 * A worker's standard error goes through a pipe to the supervisor, which
 * passes it on to the caller's standard error and keeps the last bytes: a
 * crash report then says what the job printed before it died.
 *
 * Passing it on never waits for the caller's standard error: a reader
 * that stalls (a stopped pager, a stuck logger) would otherwise stop the
 * loop, and with it every timeout and every call.  What fd 2 cannot take
 * at once is dropped, counted per attempt, and owned up to in the crash
 * report.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport_local.h"
#include "queue.h"
#include "sigpipe.h"

/* Room after the tail for the line that says what was dropped. */
#define STDERR_NOTE	192

/* How fd 2 is written without waiting for whoever reads it. */
enum stderr_how {
	STDERR_DISCARD,		/* fd 2 is closed */
	STDERR_PLAIN,		/* a file: a write never waits for a reader */
	STDERR_SEND,		/* a socket: send(MSG_DONTWAIT) */
	STDERR_PRIVATE,		/* a pipe or terminal, opened anew */
	STDERR_POLL		/* anything else: poll, then PIPE_BUF */
};

static size_t
stderr_cap(const procq_queue *q)
{
	return q->cfg.stderr_tail > 0 ? (size_t)q->cfg.stderr_tail : 4096;
}

static void
stderr_keep(struct worker *w, const char *p, size_t n)
{
	size_t cap = stderr_cap(w->slot.q);

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

/*
 * O_NONBLOCK must not be set on fd 2 itself: its open file description
 * is the caller's, shared with its other descriptors and processes.  A
 * pipe, FIFO or terminal is opened again through /proc instead, which
 * gives a description of procq's own, nonblocking; it is opened for each
 * batch and closed after it, so procq never holds on to a pipe that fd 2
 * has since left (its reader waiting for end of file).  A regular file is
 * not reopened (the caller's offset and O_APPEND must hold) and needs no
 * care: writing to it never waits for a reader.  A socket has
 * MSG_DONTWAIT.  Anything else, or a reopen that fails, gets poll() and
 * writes of PIPE_BUF, which wait only if another writer fills fd 2
 * between the two.
 */
static enum stderr_how
stderr_sink(int *fd)
{
	struct stat st;

	*fd = STDERR_FILENO;
	if (fstat(STDERR_FILENO, &st) != 0)
		return STDERR_DISCARD;
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		return STDERR_PLAIN;
	if (S_ISSOCK(st.st_mode))
		return STDERR_SEND;
	if (S_ISFIFO(st.st_mode) || isatty(STDERR_FILENO)) {
		*fd = open("/proc/self/fd/2",
		    O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (*fd >= 0)
			return STDERR_PRIVATE;
		*fd = STDERR_FILENO;
	}
	return STDERR_POLL;
}

/* One write that does not wait: what fd 2 took, 0 if it is full. */
static ssize_t
stderr_write_once(enum stderr_how how, int fd, const char *p, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int ready;

	switch (how) {
	case STDERR_SEND:
		return send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	case STDERR_POLL:
		if ((ready = poll(&pfd, 1, 0)) <= 0)
			return ready;
		if ((pfd.revents & POLLOUT) == 0) {
			errno = EPIPE;	/* POLLERR, POLLHUP: no reader */
			return -1;
		}
		return write(fd, p, n < PIPE_BUF ? n : PIPE_BUF);
	default:
		return write(fd, p, n);
	}
}

/* What the worker wrote is the caller's to see, as if it were not piped,
 * as far as fd 2 keeps up.  Returns how many bytes it could not take. */
static size_t
stderr_forward(const procq_queue *q, const char *p, size_t n)
{
	struct sigpipe_guard g;
	enum stderr_how how;
	size_t dropped = 0;
	ssize_t k = 0;
	int fd;

	if ((how = stderr_sink(&fd)) == STDERR_DISCARD)
		return 0;
	if (q->external_base)
		sigpipe_block(&g);
	while (n > 0) {
		k = stderr_write_once(how, fd, p, n);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0 || errno == EAGAIN || errno == EWOULDBLOCK)
			dropped = n;	/* else fd 2 is gone: nothing to tell */
		break;
	}
	if (q->external_base)
		sigpipe_unblock(&g, k < 0 && errno == EPIPE);
	if (how == STDERR_PRIVATE)
		close(fd);
	return dropped;
}

/* One read without waiting; at end of file or on an error, the event
 * goes: nothing more comes. */
static ssize_t
stderr_read(struct worker *w, char *buf, size_t len)
{
	ssize_t n;

	if (w->err_fd < 0)
		return 0;
	do
		n = read(w->err_fd, buf, len);
	while (n < 0 && errno == EINTR);
	if ((n == 0 || (n < 0 && errno != EAGAIN)) && w->err_ev != NULL)
		event_del(w->err_ev);
	return n;
}

/* Called with q->lock held. */
static void
stderr_account(struct worker *w, const char *p, size_t n, size_t dropped)
{
	stderr_keep(w, p, n);
	w->err_dropped += dropped;
}

/* Reads what is there, without waiting, up to a bound: a grandchild that
 * writes without end cannot keep the caller here.  Called with q->lock
 * held. */
void
stderr_drain(struct worker *w)
{
	char buf[16384];
	size_t budget = 1 << 20;
	ssize_t n;

	while (budget > 0 && (n = stderr_read(w, buf, sizeof buf)) > 0) {
		stderr_account(w, buf, (size_t)n,
		    stderr_forward(w->slot.q, buf, (size_t)n));
		budget -= (size_t)n < budget ? (size_t)n : budget;
	}
}

/*
 * On procq's own loop thread, which alone touches w->err_fd, reading and
 * passing on are done without q->lock: only the tail and the count of
 * dropped bytes are shared (the head's start resets them, from any
 * thread).  One read a callback, a pipe's worth: a worker that never stops
 * writing does not keep the loop from its other events.  (A caller's loop
 * does it all under the lock: another thread of the caller may free the
 * queue as soon as it is released.)
 */
static void
stderr_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	procq_queue *q = w->slot.q;
	char buf[65536];
	size_t dropped;
	ssize_t n;

	if (q->external_base) {
		pthread_mutex_lock(&q->lock);
		stderr_drain(w);
		pthread_mutex_unlock(&q->lock);
		return;
	}
	if ((n = stderr_read(w, buf, sizeof buf)) <= 0)
		return;
	dropped = stderr_forward(q, buf, (size_t)n);
	pthread_mutex_lock(&q->lock);
	stderr_account(w, buf, (size_t)n, dropped);
	pthread_mutex_unlock(&q->lock);
}

/* Called after fork with the supervisor's end of the pipe in w->err_fd. */
int
stderr_open(struct worker *w)
{
	w->tail_len = 0;
	w->err_dropped = 0;
	if (w->err_fd < 0)
		return 0;
	evutil_make_socket_nonblocking(w->err_fd);
	if (w->tail == NULL &&
	    (w->tail = malloc(stderr_cap(w->slot.q) + STDERR_NOTE)) == NULL)
		return -1;
	w->err_ev = event_new(w->slot.q->base, w->err_fd, EV_READ | EV_PERSIST,
	    stderr_cb, w);
	if (w->err_ev == NULL || event_add(w->err_ev, NULL) != 0)
		return -1;
	return 0;
}

/*
 * The end of what the running attempt wrote, for its crash report; with
 * a line after it when some of it never reached the caller's standard
 * error, which the reader of the report would otherwise take for all
 * there was.  NULL when there is none.  Called with q->lock held, once
 * the worker is dead.
 */
const char *
stderr_report(struct worker *w, size_t *len)
{
	const char *nl;
	int k;

	*len = 0;
	if (w->tail == NULL || w->tail_len == 0)
		return NULL;
	*len = w->tail_len;
	if (w->err_dropped == 0)
		return w->tail;
	nl = w->tail[w->tail_len - 1] == '\n' ? "" : "\n";
	k = snprintf(w->tail + w->tail_len, STDERR_NOTE, "%s[procq: %zu "
	    "bytes of this worker's standard error were not passed on: the "
	    "caller's standard error did not keep up]\n", nl,
	    w->err_dropped);
	if (k > 0)
		*len += (size_t)k < STDERR_NOTE ? (size_t)k : STDERR_NOTE - 1;
	return w->tail;
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
	w->err_dropped = 0;
}
