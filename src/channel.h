/*
 * The channel: frames between the supervisor and a worker, whatever they
 * carry.  A frame is a 4-byte big-endian length followed by that many
 * bytes of payload; a length of 0, or one beyond the frame limit, is
 * refused from the header alone, before anything is allocated for it.
 *
 * The supervisor's end (struct channel, channel_event.c) lives on an
 * event loop: its descriptors are non-blocking, its input and output are
 * evbuffers, and output the pipe cannot take yet waits for the loop to
 * say it can.  The worker's end (struct channel_sync, channel.c) has one
 * thread and no loop, and no libevent: it waits for input in poll(2),
 * keeps it in a flat buffer, and writes its output whole, blocking.
 */
#ifndef PROCQ_CHANNEL_H
#define PROCQ_CHANNEL_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#define CHANNEL_HEADER		4
#define CHANNEL_MAX_FRAME	(64u << 20)	/* the default limit */
#define CHANNEL_MIN_FRAME	4096u		/* the lowest limit allowed */

/* What an input buffer holds next. */
enum channel_next {
	CHANNEL_PARTIAL,	/* less than a whole frame */
	CHANNEL_FRAME,		/* a whole frame */
	CHANNEL_EMPTY,		/* a length of 0 */
	CHANNEL_OVERSIZED	/* a length beyond the limit */
};

struct evbuffer;

struct channel {
	int		 rfd;		/* the peer's frames come in */
	int		 wfd;		/* frames go out; -1 once closed */
	size_t		 max_frame;
	struct evbuffer	*in;
	struct evbuffer	*out;
};

struct channel_sync {
	int		 rfd;		/* made non-blocking */
	int		 wfd;
	size_t		 max_frame;
	char		*in;
	size_t		 in_len;
	size_t		 in_pos;	/* where the next frame starts */
	size_t		 in_cap;
	bool		 eof;
	msgpack_sbuffer	 out;		/* frames are encoded straight in */
};

/* Both ends: frames built in a msgpack_sbuffer (by the protocol's
 * encoders), and found in input (channel_frame_next(), below). */
size_t channel_frame_begin(msgpack_sbuffer *sb);
int channel_frame_end(msgpack_sbuffer *sb, size_t start, size_t max_frame);
int channel_write_all(int fd, const char *p, size_t len);

/* The worker's end. */
void channel_sync_init(struct channel_sync *cs, int rfd, int wfd,
    size_t max_frame);
void channel_sync_wait(struct channel_sync *cs);
int channel_sync_read(struct channel_sync *cs);
enum channel_next channel_sync_next(struct channel_sync *cs,
    const char **payload, uint32_t *len);
int channel_sync_flush(struct channel_sync *cs);

/* The supervisor's end. */
void channel_init(struct channel *ch, int rfd, int wfd, size_t max_frame);
int channel_open(struct channel *ch);
void channel_close_write(struct channel *ch);
void channel_close(struct channel *ch);

bool channel_read(struct channel *ch);
enum channel_next channel_next(struct channel *ch, const char **payload,
    uint32_t *len);
void channel_consume(struct channel *ch, uint32_t len);
void channel_discard(struct channel *ch);

int channel_queue(struct channel *ch, const char *frame, size_t len);
int channel_flush(struct channel *ch, bool guard);

static inline uint32_t
channel_frame_length(const void *header)
{
	uint32_t be;

	memcpy(&be, header, sizeof be);
	return ntohl(be);
}

/*
 * What avail bytes of input starting with data hold: the length is judged
 * as soon as the header is in, so that a frame that can never be taken
 * condemns the peer before its bytes are waited for.  Only the header is
 * read from data.  Inline: both ends ask it of every frame.
 */
static inline enum channel_next
channel_frame_next(const void *data, size_t avail, size_t max_frame,
    uint32_t *len)
{
	if (avail < CHANNEL_HEADER)
		return CHANNEL_PARTIAL;
	*len = channel_frame_length(data);
	if (*len == 0)
		return CHANNEL_EMPTY;
	if (*len > max_frame)
		return CHANNEL_OVERSIZED;
	if (avail - CHANNEL_HEADER < *len)
		return CHANNEL_PARTIAL;
	return CHANNEL_FRAME;
}

#endif
