/*
 * The channel (channel.h): the framing both ends share, and the worker's
 * end.  Nothing here needs libevent.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"

/* Reserves room for the length prefix; returns where the frame starts. */
size_t
channel_frame_begin(msgpack_sbuffer *sb)
{
	size_t start = sb->size;

	msgpack_sbuffer_write(sb, "\0\0\0\0", CHANNEL_HEADER);
	return start;
}

/* Fills in the length prefix; -1 (and the frame dropped) if it is too big
 * or could not be written. */
int
channel_frame_end(msgpack_sbuffer *sb, size_t start, size_t max_frame)
{
	size_t len;
	uint32_t be;

	if (sb->size < start + CHANNEL_HEADER)
		return -1;
	len = sb->size - start - CHANNEL_HEADER;
	if (len > max_frame || len == 0) {
		sb->size = start;
		return -1;
	}
	be = htonl((uint32_t)len);
	memcpy(sb->data + start, &be, sizeof be);
	return 0;
}

/* 0, or -1 if the descriptor stopped taking bytes (the reader is gone). */
int
channel_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void
channel_sync_init(struct channel_sync *cs, int rfd, int wfd,
    size_t max_frame)
{
	memset(cs, 0, sizeof *cs);
	cs->rfd = rfd;
	cs->wfd = wfd;
	cs->max_frame = max_frame;
	msgpack_sbuffer_init(&cs->out);
	/* Reads go on until one comes back short: the last must not block. */
	fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
}

/* Until there is input (or EOF). */
void
channel_sync_wait(struct channel_sync *cs)
{
	struct pollfd pfd = { .fd = cs->rfd, .events = POLLIN };

	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
}

/*
 * One read(2) into room for at least 64 KiB more, once the frames already
 * taken are dropped: what channel_sync_next() returned is only good until
 * here.  1 if the read filled the room (more may be waiting), 0 if not
 * (the pipe is empty, at EOF or broken), -1 if the buffer cannot grow.
 */
int
channel_sync_read(struct channel_sync *cs)
{
	size_t want;
	ssize_t n;

	if (cs->in_pos > 0) {
		memmove(cs->in, cs->in + cs->in_pos, cs->in_len - cs->in_pos);
		cs->in_len -= cs->in_pos;
		cs->in_pos = 0;
	}
	if (cs->in_cap - cs->in_len < 65536) {
		size_t cap = cs->in_cap ? cs->in_cap * 2 : 131072;
		char *in = realloc(cs->in, cap);

		if (in == NULL)
			return -1;
		cs->in = in;
		cs->in_cap = cap;
	}
	want = cs->in_cap - cs->in_len;
	do
		n = read(cs->rfd, cs->in + cs->in_len, want);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		cs->eof = true;
	if (n <= 0)
		return 0;
	cs->in_len += (size_t)n;
	return (size_t)n == want;
}

/* Takes the next frame from the input; its payload stays where it is
 * until the next read. */
enum channel_next
channel_sync_next(struct channel_sync *cs, const char **payload,
    uint32_t *len)
{
	enum channel_next next;

	if (cs->in_len - cs->in_pos < CHANNEL_HEADER)
		return CHANNEL_PARTIAL;
	next = channel_frame_next(cs->in + cs->in_pos,
	    cs->in_len - cs->in_pos, cs->max_frame, len);
	if (next == CHANNEL_FRAME) {
		*payload = cs->in + cs->in_pos + CHANNEL_HEADER;
		cs->in_pos += CHANNEL_HEADER + (size_t)*len;
	}
	return next;
}

/* Writes all the output: 0, or -1 if the peer is gone. */
int
channel_sync_flush(struct channel_sync *cs)
{
	int rc = channel_write_all(cs->wfd, cs->out.data, cs->out.size);

	cs->out.size = 0;
	return rc;
}
