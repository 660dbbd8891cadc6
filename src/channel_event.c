/*
 * The supervisor's end of a channel (channel.h), on its event loop:
 * non-blocking pipes and evbuffers.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/util.h>

#include "channel.h"
#include "sigpipe.h"

/* A channel over rfd and wfd (-1: none), without buffers yet. */
void
channel_init(struct channel *ch, int rfd, int wfd, size_t max_frame)
{
	ch->rfd = rfd;
	ch->wfd = wfd;
	ch->max_frame = max_frame;
	ch->in = ch->out = NULL;
	if (rfd >= 0)
		evutil_make_socket_nonblocking(rfd);
	if (wfd >= 0)
		evutil_make_socket_nonblocking(wfd);
}

/* Its buffers: -1 if they could not be had. */
int
channel_open(struct channel *ch)
{
	ch->in = evbuffer_new();
	ch->out = evbuffer_new();
	return ch->in != NULL && ch->out != NULL ? 0 : -1;
}

/* EOF to the peer: nothing more will be written. */
void
channel_close_write(struct channel *ch)
{
	if (ch->wfd >= 0)
		close(ch->wfd);
	ch->wfd = -1;
}

void
channel_close(struct channel *ch)
{
	if (ch->in != NULL)
		evbuffer_free(ch->in);
	if (ch->out != NULL)
		evbuffer_free(ch->out);
	ch->in = ch->out = NULL;
	channel_close_write(ch);
	if (ch->rfd >= 0)
		close(ch->rfd);
	ch->rfd = -1;
}

/* One read(2) straight into the input buffer (evbuffer_read() would ask
 * the pipe's size first).  Returns what read() returned. */
static ssize_t
channel_read_once(struct channel *ch, size_t want)
{
	struct evbuffer_iovec v;
	ssize_t n;

	if (evbuffer_reserve_space(ch->in, (ev_ssize_t)want, &v, 1) < 1) {
		errno = ENOMEM;
		return -1;
	}
	do
		n = read(ch->rfd, v.iov_base, want);
	while (n < 0 && errno == EINTR);
	v.iov_len = n > 0 ? (size_t)n : 0;
	evbuffer_commit_space(ch->in, &v, 1);
	return n;
}

/*
 * Reads what the peer has written, up to a fair share per call; a short
 * read means the pipe is empty, no need to be told so by EAGAIN.  False
 * when the pipe gave EOF or failed (errno is taken at once: what runs
 * afterwards may change it).
 */
bool
channel_read(struct channel *ch)
{
	const size_t want = 65536;
	size_t budget = 1 << 20;
	ssize_t n;

	while (budget > 0) {
		if ((n = channel_read_once(ch, want)) <= 0)
			return n < 0 && errno == EAGAIN;
		budget -= (size_t)n < budget ? (size_t)n : budget;
		if ((size_t)n < want)
			break;
	}
	return true;
}

/*
 * The next frame in the input.  A whole one is made contiguous and left
 * in place until channel_consume(): *payload is NULL if it could not be
 * (no memory).  *len is set but for CHANNEL_PARTIAL.
 */
enum channel_next
channel_next(struct channel *ch, const char **payload, uint32_t *len)
{
	unsigned char header[CHANNEL_HEADER], *p;
	enum channel_next next;
	size_t have;

	if (ch->in == NULL ||
	    (have = evbuffer_get_length(ch->in)) < CHANNEL_HEADER)
		return CHANNEL_PARTIAL;
	evbuffer_copyout(ch->in, header, sizeof header);
	next = channel_frame_next(header, have, ch->max_frame, len);
	if (next == CHANNEL_FRAME) {
		p = evbuffer_pullup(ch->in, CHANNEL_HEADER + (ev_ssize_t)*len);
		*payload = p != NULL ? (const char *)p + CHANNEL_HEADER : NULL;
	}
	return next;
}

/* Drops the frame channel_next() returned. */
void
channel_consume(struct channel *ch, uint32_t len)
{
	if (ch->in != NULL)
		evbuffer_drain(ch->in, CHANNEL_HEADER + (size_t)len);
}

/* Drops all input: the peer is condemned, nothing it sent counts. */
void
channel_discard(struct channel *ch)
{
	evbuffer_drain(ch->in, evbuffer_get_length(ch->in));
}

/* A whole frame, as the protocol encoded it, joins the output. */
int
channel_queue(struct channel *ch, const char *frame, size_t len)
{
	return evbuffer_add(ch->out, frame, len);
}

/*
 * Writes what the output holds, as much as the pipe takes.  Returns 1 if
 * some is left (the pipe is full: wait until it can take more), 0 if
 * not, -1 if the peer is gone or broken: the output is dropped, and its
 * death settles the rest.  guard is for a caller's thread, which SIGPIPE
 * must not kill (sigpipe.h).
 */
int
channel_flush(struct channel *ch, bool guard)
{
	struct sigpipe_guard g;
	int n;

	if (evbuffer_get_length(ch->out) == 0)
		return 0;
	if (guard)
		sigpipe_block(&g);
	n = evbuffer_write(ch->out, ch->wfd);
	if (guard)
		sigpipe_unblock(&g, n < 0 && errno == EPIPE);
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		evbuffer_drain(ch->out, evbuffer_get_length(ch->out));
		return -1;
	}
	return evbuffer_get_length(ch->out) > 0;
}
