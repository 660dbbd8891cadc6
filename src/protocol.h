/*
 * The protocol between the supervisor and its workers, shared by both
 * sides: the messages frames carry (channel.h).  Each frame holds one
 * msgpack array whose first element is the message type.
 *
 *   worker -> supervisor             supervisor -> worker
 *   HELLO       [1, version, pid]    TASK    [10, id, fn, bin args, attempt,
 *               [1, version, pid,             slot + 1 (0: none)]
 *                [names...]]
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
 * A worker program started by exec names its tasks in its HELLO, since
 * the supervisor has no table of its own; a forked worker, whose table
 * is the supervisor's, sends the three words alone.
 */
#ifndef PROCQ_PROTOCOL_H
#define PROCQ_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "channel.h"

#define PROTOCOL_VERSION	1
/* A failure's type and message are cut to this many bytes. */
#define PROTOCOL_MAX_TEXT	65536
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
	PROTOCOL_WAKE = 9,
	PROTOCOL_TASK = 10,
	PROTOCOL_CANCEL = 11
};

/*
 * What the decoders return besides 0: the message cannot be used, or (a
 * RESULT) its task id and outcome can, but not what follows them.
 */
#define PROTOCOL_MALFORMED	-1
#define PROTOCOL_BAD_BODY	-2

/* The most elements of an array decoded without msgpack_unpack(). */
#define PROTOCOL_FLAT_MAX	8

/* A decoded frame: its elements, borrowed from the frame's bytes. */
struct protocol_msg {
	int			 type;
	uint32_t		 argc;
	const msgpack_object	*argv;	/* argv[0] is the type */
	msgpack_object		 flat[PROTOCOL_FLAT_MAX];	/* argv of a
						 * frame of scalars */
};

/*
 * The messages, decoded.  Strings and values point into the frame, and
 * have no terminating NUL; a value is one packed msgpack value.
 */
struct protocol_task {
	uint64_t		 id;
	const char		*fn;
	size_t			 fn_len;
	const char		*args;
	size_t			 args_len;
	int			 attempt;
	int			 slot;		/* on the board, or -1 */
};

struct protocol_failure {
	const char		*type;		/* NULL for SETUP_FAILED */
	size_t			 type_len;
	const char		*message;
	size_t			 message_len;
};

struct protocol_result {
	uint64_t		 id;
	bool			 ok;
	const char		*value;		/* if ok */
	size_t			 value_len;
	struct protocol_failure	 error;		/* if not */
};

struct protocol_progress {
	uint64_t		 id;
	const char		*value;
	size_t			 value_len;
};

enum protocol_limit {
	PROTOCOL_LIMIT_MEMORY,		/* "memory" */
	PROTOCOL_LIMIT_ALLOCATION	/* "allocation" */
};

bool protocol_check(const char *data, size_t len);
bool protocol_decode_scalars(const char *data, size_t len,
    msgpack_object *items, uint32_t *n);
bool protocol_decode_scalar(const char *data, size_t len, msgpack_object *o);
int protocol_decode(const char *data, size_t len, msgpack_zone *zone,
    struct protocol_msg *msg);

/*
 * The encoders append one whole frame to sb and return 0, or leave sb as
 * it was and return -1 when the frame would exceed max_frame.  Text is
 * NUL-terminated.
 */
int protocol_encode_task(msgpack_sbuffer *sb, size_t max_frame,
    const struct protocol_task *t);
int protocol_encode_cancel(msgpack_sbuffer *sb, size_t max_frame,
    uint64_t id);
int protocol_encode_hello(msgpack_sbuffer *sb, size_t max_frame,
    int64_t pid, const char *const *names, size_t nnames);
int protocol_encode_init_failed(msgpack_sbuffer *sb, size_t max_frame,
    const char *type, const char *message);
int protocol_encode_result(msgpack_sbuffer *sb, size_t max_frame,
    uint64_t id, const char *value, size_t len);
int protocol_encode_result_error(msgpack_sbuffer *sb, size_t max_frame,
    uint64_t id, const char *type, const char *message);
int protocol_encode_cancelled(msgpack_sbuffer *sb, size_t max_frame,
    uint64_t id);
int protocol_encode_limit(msgpack_sbuffer *sb, size_t max_frame,
    enum protocol_limit what);
int protocol_encode_progress(msgpack_sbuffer *sb, size_t max_frame,
    uint64_t id, const char *value, size_t len);
int protocol_encode_setup_failed(msgpack_sbuffer *sb, size_t max_frame,
    const char *message);
int protocol_encode_skipped(msgpack_sbuffer *sb, size_t max_frame,
    int slot);
int protocol_encode_wake(msgpack_sbuffer *sb, size_t max_frame);

/* The decoders take a decoded frame of their type (or refuse it). */
int protocol_decode_task(const struct protocol_msg *msg,
    struct protocol_task *t);
int protocol_decode_cancel(const struct protocol_msg *msg, uint64_t *id);
int protocol_decode_hello(const struct protocol_msg *msg);
int protocol_hello_names(const struct protocol_msg *msg,
    const msgpack_object **names, uint32_t *nnames);
int protocol_decode_init_failed(const struct protocol_msg *msg,
    struct protocol_failure *f);
int protocol_decode_result(const struct protocol_msg *msg,
    struct protocol_result *r);
int protocol_decode_cancelled(const struct protocol_msg *msg, uint64_t *id);
int protocol_decode_limit(const struct protocol_msg *msg,
    enum protocol_limit *what);
int protocol_decode_progress(const struct protocol_msg *msg,
    struct protocol_progress *p);
int protocol_decode_setup_failed(const struct protocol_msg *msg,
    struct protocol_failure *f);
int protocol_decode_skipped(const struct protocol_msg *msg, int *slot);
int protocol_decode_wake(const struct protocol_msg *msg);

#endif
