/*
 * The wire protocol between the supervisor and its workers, shared by both
 * sides.  A frame is a 4-byte big-endian length followed by one msgpack
 * array whose first element is the message type.
 *
 *   worker -> supervisor             supervisor -> worker
 *   HELLO       [1, version, pid]    TASK    [10, id, fn, bin args, attempt,
 *                                             slot + 1 (0: none)]
 *   INIT_FAILED [2, type, message]   CANCEL  [11, id]
 *   RESULT      [3, id, true, bin value]
 *               [3, id, false, type, message]
 *   CANCELLED   [4, id]
 *   LIMIT       [5, "memory"]        (sent as the worker dies: its
 *               [5, "allocation"]     address space is used up, or an
 *                                     allocation had just failed)
 *   PROGRESS    [6, id, bin value]
 *   SETUP_FAILED [7, message]        (instead of HELLO: no worker)
 *   SKIPPED     [8, slot]            (a task taken back, see board.h)
 *
 * Values travel as opaque bin payloads so neither side re-encodes them.
 */
#ifndef PROCQ_WIRE_H
#define PROCQ_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define WIRE_VERSION		1
#define WIRE_HEADER		4
#define WIRE_MAX_FRAME		(64u << 20)
#define WIRE_MIN_FRAME		4096u
/* msgpack-c's unpacker follows containers this deep (its stack size). */
#define WIRE_MAX_DEPTH		32

enum wire_type {
	WIRE_HELLO = 1,
	WIRE_INIT_FAILED = 2,
	WIRE_RESULT = 3,
	WIRE_CANCELLED = 4,
	WIRE_LIMIT = 5,
	WIRE_PROGRESS = 6,
	WIRE_SETUP_FAILED = 7,
	WIRE_SKIPPED = 8,
	WIRE_TASK = 10,
	WIRE_CANCEL = 11
};

/* A decoded frame: its elements, borrowed from the frame's bytes. */
struct wire_msg {
	int			 type;
	uint32_t		 argc;
	const msgpack_object	*argv;	/* argv[0] is the type */
};

size_t wire_frame_begin(msgpack_sbuffer *sb);
int wire_frame_end(msgpack_sbuffer *sb, size_t start, size_t max_frame);
uint32_t wire_frame_length(const void *header);
bool wire_check(const char *data, size_t len);
int wire_decode(const char *data, size_t len, msgpack_zone *zone,
    struct wire_msg *msg);
bool wire_uint(const struct wire_msg *msg, uint32_t i, uint64_t *out);
bool wire_bytes(const struct wire_msg *msg, uint32_t i, const char **ptr,
    size_t *len);

#endif
