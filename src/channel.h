/*
 * The channel: frames between the supervisor and a worker, whatever they
 * carry.  A frame is a 4-byte big-endian length followed by that many
 * bytes of payload; a length of 0, or one beyond the frame limit, is
 * refused from the header alone, before anything is allocated for it.
 */
#ifndef PROCQ_CHANNEL_H
#define PROCQ_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define CHANNEL_HEADER		4
#define CHANNEL_MAX_FRAME	(64u << 20)	/* the default limit */
#define CHANNEL_MIN_FRAME	4096u		/* the lowest limit allowed */

size_t channel_frame_begin(msgpack_sbuffer *sb);
int channel_frame_end(msgpack_sbuffer *sb, size_t start, size_t max_frame);
uint32_t channel_frame_length(const void *header);

#endif
