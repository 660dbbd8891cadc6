/*
 * The channel (channel.h): the framing both ends share.  Nothing here
 * needs libevent.
 */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

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

uint32_t
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
 * read from data.
 */
enum channel_next
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
