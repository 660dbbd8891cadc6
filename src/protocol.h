/*
 * The protocol between the supervisor and its workers, shared by both
 * sides: the messages frames carry (channel.h).  Each frame holds one
 * msgpack array whose first element is the message type.
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
#ifndef PROCQ_PROTOCOL_H
#define PROCQ_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define PROTOCOL_VERSION	1
/* msgpack-c's unpacker follows containers this deep (its stack size). */
#define PROTOCOL_MAX_DEPTH	32

enum protocol_type {
	PROTOCOL_HELLO = 1,
	PROTOCOL_INIT_FAILED = 2,
	PROTOCOL_RESULT = 3,
	PROTOCOL_CANCELLED = 4,
	PROTOCOL_LIMIT = 5,
	PROTOCOL_PROGRESS = 6,
	PROTOCOL_SETUP_FAILED = 7,
	PROTOCOL_SKIPPED = 8,
	PROTOCOL_TASK = 10,
	PROTOCOL_CANCEL = 11
};

/* A decoded frame: its elements, borrowed from the frame's bytes. */
struct protocol_msg {
	int			 type;
	uint32_t		 argc;
	const msgpack_object	*argv;	/* argv[0] is the type */
};

bool protocol_check(const char *data, size_t len);
int protocol_decode(const char *data, size_t len, msgpack_zone *zone,
    struct protocol_msg *msg);
bool protocol_uint(const struct protocol_msg *msg, uint32_t i, uint64_t *out);
bool protocol_bytes(const struct protocol_msg *msg, uint32_t i,
    const char **ptr, size_t *len);

#endif
