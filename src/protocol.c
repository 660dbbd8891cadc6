/*
 * The protocol (protocol.h): the check of a msgpack value, the decoding
 * of a frame into its elements, and each message's encoder and decoder.
 * Nothing else packs a message or picks one apart.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "protocol.h"

static uint64_t
protocol_be(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

/* The sizes of a value whose type byte (p[0], 0xc1..0xdf) carries a
 * length field or a fixed payload. */
static bool
protocol_check_header(const unsigned char *p, size_t avail, size_t *hdr,
    uint64_t *skip, uint64_t *items)
{
	static const unsigned char fixed[] = {
		/* c4..df: payload after the type byte */
		[0xcc - 0xc4] = 1, [0xcd - 0xc4] = 2,
		[0xce - 0xc4] = 4, [0xcf - 0xc4] = 8,
		[0xd0 - 0xc4] = 1, [0xd1 - 0xc4] = 2,
		[0xd2 - 0xc4] = 4, [0xd3 - 0xc4] = 8,
		[0xca - 0xc4] = 4, [0xcb - 0xc4] = 8,
		[0xd4 - 0xc4] = 2, [0xd5 - 0xc4] = 3,
		[0xd6 - 0xc4] = 5, [0xd7 - 0xc4] = 9,
		[0xd8 - 0xc4] = 17,
	};
	unsigned char b = p[0];
	uint64_t n;
	size_t width;

	switch (b) {
	case 0xc1:
		return false;	/* never used */
	case 0xc4: case 0xd9: case 0xc7:
		width = 1;
		break;
	case 0xc5: case 0xda: case 0xc8: case 0xdc: case 0xde:
		width = 2;
		break;
	case 0xc6: case 0xdb: case 0xc9: case 0xdd: case 0xdf:
		width = 4;
		break;
	default:
		*skip = fixed[b - 0xc4];
		return true;
	}
	if (avail - 1 < width)
		return false;
	n = protocol_be(p + 1, width);
	*hdr = 1 + width;
	if (b == 0xdc || b == 0xdd)
		*items = n;
	else if (b == 0xde || b == 0xdf)
		*items = 2 * n;
	else
		*skip = b >= 0xc7 && b <= 0xc9 ? n + 1 : n;	/* ext type */
	return true;
}

/*
 * Walks one msgpack value without allocating and says whether it is
 * complete, alone in the buffer, and decodable: no array or map may claim
 * more elements than there are bytes left (msgpack_unpack() sizes its zone
 * from those claims, so a hostile frame must not reach it unchecked), and
 * containers nest no deeper than msgpack-c's unpacker can follow.
 */
bool
protocol_check(const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;
	uint64_t left[PROTOCOL_MAX_DEPTH + 1];	/* items due per level */
	size_t pos = 0;
	int depth = 0;

	left[0] = 1;
	while (depth >= 0) {
		uint64_t skip = 0, items = 0;
		size_t hdr = 1;
		unsigned char b;
		bool container;

		if (left[depth] == 0) {
			depth--;
			continue;
		}
		left[depth]--;
		if (pos >= len)
			return false;
		b = p[pos];
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 ||
		    b == 0xc3)
			;
		else if (b >= 0x80 && b <= 0x8f)
			items = 2 * (uint64_t)(b & 0x0f);
		else if (b >= 0x90 && b <= 0x9f)
			items = b & 0x0f;
		else if (b >= 0xa0 && b <= 0xbf)
			skip = b & 0x1f;
		else if (!protocol_check_header(p + pos, len - pos, &hdr, &skip,
		    &items))
			return false;
		if (len - pos < hdr || skip > len - pos - hdr)
			return false;
		pos += hdr + (size_t)skip;
		/* msgpack-c counts every container, even an empty one, against
		 * its stack. */
		container = (b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf);
		if (container && depth == PROTOCOL_MAX_DEPTH)
			return false;
		if (items == 0)
			continue;
		if (items > len - pos)
			return false;
		left[++depth] = items;
	}
	return pos == len;
}

/* A string or bin of n bytes after a header of hdr bytes, as
 * msgpack_unpack() gives it: pointing into the frame. */
static size_t
protocol_flat_bytes(const unsigned char *p, size_t avail, size_t hdr,
    uint64_t n, msgpack_object_type type, msgpack_object *o)
{
	if (avail < hdr || n > avail - hdr)
		return 0;
	o->type = type;
	o->via.bin.size = (uint32_t)n;
	o->via.bin.ptr = (const char *)p + hdr;
	return hdr + (size_t)n;
}

/* An integer of width bytes after the type byte. */
static size_t
protocol_flat_int(const unsigned char *p, size_t avail, size_t width,
    bool is_signed, msgpack_object *o)
{
	uint64_t v;

	if (avail - 1 < width)
		return 0;
	v = protocol_be(p + 1, width);
	if (is_signed && width < 8 && (v >> (8 * width - 1)) != 0)
		v |= ~(uint64_t)0 << (8 * width);	/* sign-extended */
	if (is_signed && (int64_t)v < 0) {
		o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
		o->via.i64 = (int64_t)v;
	} else {
		o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o->via.u64 = v;
	}
	return 1 + width;
}

/* A string or bin whose length takes width bytes after the type byte. */
static size_t
protocol_flat_sized(const unsigned char *p, size_t avail, size_t width,
    msgpack_object_type type, msgpack_object *o)
{
	if (avail - 1 < width)
		return 0;
	return protocol_flat_bytes(p, avail, 1 + width,
	    protocol_be(p + 1, width), type, o);
}

/*
 * Reads the integer, boolean, nil, string or bin at p as msgpack_unpack()
 * would, and returns its size: 0 for anything else (a container, a
 * float, an ext) and for a value cut short.  avail > 0.
 */
static size_t
protocol_flat_scalar(const unsigned char *p, size_t avail, msgpack_object *o)
{
	unsigned char b = p[0];

	if (b <= 0x7f) {
		o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o->via.u64 = b;
		return 1;
	}
	if (b >= 0xe0) {
		o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
		o->via.i64 = (int8_t)b;
		return 1;
	}
	if (b >= 0xa0 && b <= 0xbf)
		return protocol_flat_bytes(p, avail, 1, b & 0x1f,
		    MSGPACK_OBJECT_STR, o);
	switch (b) {
	case 0xc0:
		o->type = MSGPACK_OBJECT_NIL;
		return 1;
	case 0xc2:
	case 0xc3:
		o->type = MSGPACK_OBJECT_BOOLEAN;
		o->via.boolean = b == 0xc3;
		return 1;
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf:
		return protocol_flat_int(p, avail, (size_t)1 << (b - 0xcc),
		    false, o);
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3:
		return protocol_flat_int(p, avail, (size_t)1 << (b - 0xd0),
		    true, o);
	case 0xd9:
	case 0xda:
	case 0xdb:
		return protocol_flat_sized(p, avail, (size_t)1 << (b - 0xd9),
		    MSGPACK_OBJECT_STR, o);
	case 0xc4:
	case 0xc5:
	case 0xc6:
		return protocol_flat_sized(p, avail, (size_t)1 << (b - 0xc4),
		    MSGPACK_OBJECT_BIN, o);
	default:
		return 0;
	}
}

/*
 * An array of at most PROTOCOL_FLAT_MAX scalars, which is most of what
 * crosses the pipes (every TASK and RESULT frame, most argument tuples),
 * decoded into items[] as msgpack_unpack() would decode it, without
 * walking it twice and without a zone.  False for anything else, which
 * the caller gives to msgpack_unpack().
 */
bool
protocol_decode_scalars(const char *data, size_t len, msgpack_object *items,
    uint32_t *n)
{
	const unsigned char *p = (const unsigned char *)data;
	size_t pos = 1, k;
	uint32_t count;

	if (len == 0 || p[0] < 0x90 || p[0] > 0x90 + PROTOCOL_FLAT_MAX)
		return false;
	count = p[0] & 0x0f;
	for (uint32_t i = 0; i < count; i++, pos += k) {
		if (pos >= len)
			return false;
		k = protocol_flat_scalar(p + pos, len - pos, &items[i]);
		if (k == 0)
			return false;
	}
	if (pos != len)
		return false;
	*n = count;
	return true;
}

/* One scalar that fills data, decoded as by protocol_decode_scalars(). */
bool
protocol_decode_scalar(const char *data, size_t len, msgpack_object *o)
{
	return len > 0 &&
	    protocol_flat_scalar((const unsigned char *)data, len, o) == len;
}

/* Decodes one frame's payload into msg; its objects live in msg or zone
 * and point into data.  -1 if the payload is not a well-formed message. */
int
protocol_decode(const char *data, size_t len, msgpack_zone *zone,
    struct protocol_msg *msg)
{
	msgpack_object obj;
	size_t off = 0;
	const msgpack_object *type;

	if (protocol_decode_scalars(data, len, msg->flat, &msg->argc) &&
	    msg->argc > 0)
		msg->argv = msg->flat;
	else {
		if (!protocol_check(data, len))
			return -1;
		if (msgpack_unpack(data, len, &off, zone, &obj) !=
		    MSGPACK_UNPACK_SUCCESS)
			return -1;
		if (obj.type != MSGPACK_OBJECT_ARRAY ||
		    obj.via.array.size == 0)
			return -1;
		msg->argc = obj.via.array.size;
		msg->argv = obj.via.array.ptr;
	}
	type = &msg->argv[0];
	if (type->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    type->via.u64 > 255)
		return -1;
	msg->type = (int)type->via.u64;
	return 0;
}

static bool
protocol_uint(const struct protocol_msg *msg, uint32_t i, uint64_t *out)
{
	if (i >= msg->argc ||
	    msg->argv[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return false;
	*out = msg->argv[i].via.u64;
	return true;
}

static bool
protocol_bytes(const struct protocol_msg *msg, uint32_t i, const char **ptr,
    size_t *len)
{
	const msgpack_object *o;

	if (i >= msg->argc)
		return false;
	o = &msg->argv[i];
	if (o->type != MSGPACK_OBJECT_STR && o->type != MSGPACK_OBJECT_BIN)
		return false;
	*ptr = o->via.bin.ptr;
	*len = o->via.bin.size;
	return true;
}

/* Text only: a failure's type and message are never bin. */
static bool
protocol_str(const struct protocol_msg *msg, uint32_t i, const char **ptr,
    size_t *len)
{
	return i < msg->argc && msg->argv[i].type == MSGPACK_OBJECT_STR &&
	    protocol_bytes(msg, i, ptr, len);
}

/* A TASK's slot travels as slot + 1, 0 for none. */
static bool
protocol_slot(const struct protocol_msg *msg, uint32_t i, int *slot)
{
	uint64_t v;

	if (!protocol_uint(msg, i, &v) || v > INT_MAX)
		return false;
	*slot = (int)v - 1;
	return true;
}

static void
protocol_pack_text(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strnlen(s, PROTOCOL_MAX_TEXT));
}

/*
 * Starts a frame holding an array of n elements, the type first.  Inlined
 * into each encoder, so that the packer's writes are seen to go to an
 * sbuffer and become plain stores instead of calls through a pointer.
 */
static inline __attribute__((always_inline)) size_t
protocol_begin(msgpack_sbuffer *sb, msgpack_packer *pk, int type, size_t n)
{
	size_t start = channel_frame_begin(sb);

	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(pk, n);
	msgpack_pack_uint8(pk, (uint8_t)type);
	return start;
}

int
protocol_encode_task(msgpack_sbuffer *sb, size_t max_frame,
    const struct protocol_task *t)
{
	msgpack_packer pk;
	size_t start = protocol_begin(sb, &pk, PROTOCOL_TASK, 6);

	msgpack_pack_uint64(&pk, t->id);
	msgpack_pack_str_with_body(&pk, t->fn, t->fn_len);
	msgpack_pack_bin_with_body(&pk, t->args, t->args_len);
	msgpack_pack_int(&pk, t->attempt);
	msgpack_pack_uint32(&pk, (uint32_t)(t->slot + 1));
	return channel_frame_end(sb, start, max_frame);
}

int
protocol_encode_cancel(msgpack_sbuffer *sb, size_t max_frame, uint64_t id)
{
	msgpack_packer pk;
	size_t start = protocol_begin(sb, &pk, PROTOCOL_CANCEL, 2);

	msgpack_pack_uint64(&pk, id);
	return channel_frame_end(sb, start, max_frame);
}

/* With names (nnames > 0), the tasks the worker program has. */
int
protocol_encode_hello(msgpack_sbuffer *sb, size_t max_frame, int64_t pid,
    const char *const *names, size_t nnames)
{
	msgpack_packer pk;
	size_t start = protocol_begin(sb, &pk, PROTOCOL_HELLO,
	    nnames > 0 ? 4 : 3);

	msgpack_pack_uint8(&pk, PROTOCOL_VERSION);
	msgpack_pack_int64(&pk, pid);
	if (nnames > 0) {
		msgpack_pack_array(&pk, nnames);
		for (size_t i = 0; i < nnames; i++)
			protocol_pack_text(&pk, names[i]);
	}
	return channel_frame_end(sb, start, max_frame);
}

int
protocol_encode_init_failed(msgpack_sbuffer *sb, size_t max_frame,
    const char *type, const char *message)
{
	msgpack_packer pk;
	size_t start = protocol_begin(sb, &pk, PROTOCOL_INIT_FAILED, 3);

	protocol_pack_text(&pk, type);
	protocol_pack_text(&pk, message);
	return channel_frame_end(sb, start, max_frame);
}

int
protocol_encode_result(msgpack_sbuffer *sb, size_t max_frame, uint64_t id,
    const char *value, size_t len)
{
	msgpack_packer pk;
	size_t start = protocol_begin(sb, &pk, PROTOCOL_RESULT, 4);

	msgpack_pack_uint64(&pk, id);
	msgpack_pack_true(&pk);
	msgpack_pack_bin_with_body(&pk, value, len);
	return channel_frame_end(sb, start, max_frame);
}

int
protocol_encode_result_error(msgpack_sbuffer *sb, size_t max_frame,
    uint64_t id, const char *type, const char *message)
{
	msgpack_packer pk;
	size_t start = protocol_begin(sb, &pk, PROTOCOL_RESULT, 5);

	msgpack_pack_uint64(&pk, id);
	msgpack_pack_false(&pk);
	protocol_pack_text(&pk, type);
	protocol_pack_text(&pk, message);
	return channel_frame_end(sb, start, max_frame);
}

int
protocol_encode_cancelled(msgpack_sbuffer *sb, size_t max_frame, uint64_t id)
{
	msgpack_packer pk;
	size_t start = protocol_begin(sb, &pk, PROTOCOL_CANCELLED, 2);

	msgpack_pack_uint64(&pk, id);
	return channel_frame_end(sb, start, max_frame);
}

int
protocol_encode_limit(msgpack_sbuffer *sb, size_t max_frame,
    enum protocol_limit what)
{
	msgpack_packer pk;
	size_t start = protocol_begin(sb, &pk, PROTOCOL_LIMIT, 2);

	protocol_pack_text(&pk,
	    what == PROTOCOL_LIMIT_MEMORY ? "memory" : "allocation");
	return channel_frame_end(sb, start, max_frame);
}

int
protocol_encode_progress(msgpack_sbuffer *sb, size_t max_frame, uint64_t id,
    const char *value, size_t len)
{
	msgpack_packer pk;
	size_t start = protocol_begin(sb, &pk, PROTOCOL_PROGRESS, 3);

	msgpack_pack_uint64(&pk, id);
	msgpack_pack_bin_with_body(&pk, value, len);
	return channel_frame_end(sb, start, max_frame);
}

int
protocol_encode_setup_failed(msgpack_sbuffer *sb, size_t max_frame,
    const char *message)
{
	msgpack_packer pk;
	size_t start = protocol_begin(sb, &pk, PROTOCOL_SETUP_FAILED, 2);

	protocol_pack_text(&pk, message);
	return channel_frame_end(sb, start, max_frame);
}

int
protocol_encode_skipped(msgpack_sbuffer *sb, size_t max_frame, int slot)
{
	msgpack_packer pk;
	size_t start = protocol_begin(sb, &pk, PROTOCOL_SKIPPED, 2);

	msgpack_pack_uint32(&pk, (uint32_t)slot);
	return channel_frame_end(sb, start, max_frame);
}

/* Says nothing but "look at the result ring" (ring.h). */
int
protocol_encode_wake(msgpack_sbuffer *sb, size_t max_frame)
{
	msgpack_packer pk;
	size_t start = protocol_begin(sb, &pk, PROTOCOL_WAKE, 1);

	return channel_frame_end(sb, start, max_frame);
}

/* The slot is checked against the board by the worker. */
int
protocol_decode_task(const struct protocol_msg *msg, struct protocol_task *t)
{
	uint64_t attempt;

	t->slot = -1;
	if (msg->type != PROTOCOL_TASK || msg->argc < 5 || msg->argc > 6 ||
	    !protocol_uint(msg, 1, &t->id) ||
	    !protocol_bytes(msg, 2, &t->fn, &t->fn_len) ||
	    !protocol_bytes(msg, 3, &t->args, &t->args_len) ||
	    !protocol_uint(msg, 4, &attempt) ||
	    (msg->argc == 6 && !protocol_slot(msg, 5, &t->slot)))
		return PROTOCOL_MALFORMED;
	t->attempt = (int)attempt;
	return 0;
}

int
protocol_decode_cancel(const struct protocol_msg *msg, uint64_t *id)
{
	if (msg->type != PROTOCOL_CANCEL || !protocol_uint(msg, 1, id))
		return PROTOCOL_MALFORMED;
	return 0;
}

/* A task's name: text, not empty, no NUL inside (it becomes a C
 * string). */
static bool
protocol_name(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size > 0 &&
	    memchr(o->via.str.ptr, '\0', o->via.str.size) == NULL;
}

/* The version check: 0 if the worker speaks this protocol, and the names
 * it may bring are names. */
int
protocol_decode_hello(const struct protocol_msg *msg)
{
	uint64_t version;
	const msgpack_object *names;

	if (msg->type != PROTOCOL_HELLO || msg->argc < 3 || msg->argc > 4 ||
	    !protocol_uint(msg, 1, &version) || version != PROTOCOL_VERSION)
		return PROTOCOL_MALFORMED;
	if (msg->argc == 3)
		return 0;
	names = &msg->argv[3];
	if (names->type != MSGPACK_OBJECT_ARRAY)
		return PROTOCOL_MALFORMED;
	for (uint32_t i = 0; i < names->via.array.size; i++) {
		if (!protocol_name(&names->via.array.ptr[i]))
			return PROTOCOL_MALFORMED;
	}
	return 0;
}

/* The task names of a hello that protocol_decode_hello() accepted: each
 * a MSGPACK_OBJECT_STR; none (0 of them) from a forked worker. */
int
protocol_hello_names(const struct protocol_msg *msg,
    const msgpack_object **names, uint32_t *nnames)
{
	*names = NULL;
	*nnames = 0;
	if (msg->type != PROTOCOL_HELLO || msg->argc < 3)
		return PROTOCOL_MALFORMED;
	if (msg->argc == 3)
		return 0;
	if (msg->argv[3].type != MSGPACK_OBJECT_ARRAY)
		return PROTOCOL_MALFORMED;
	*names = msg->argv[3].via.array.ptr;
	*nnames = msg->argv[3].via.array.size;
	return 0;
}

int
protocol_decode_init_failed(const struct protocol_msg *msg,
    struct protocol_failure *f)
{
	if (msg->type != PROTOCOL_INIT_FAILED || msg->argc != 3 ||
	    !protocol_str(msg, 1, &f->type, &f->type_len) ||
	    !protocol_str(msg, 2, &f->message, &f->message_len))
		return PROTOCOL_MALFORMED;
	return 0;
}

/*
 * PROTOCOL_BAD_BODY leaves r->id and r->ok set: the supervisor matches
 * the id first, since a result for the wrong task says more than a bad
 * value does.
 */
int
protocol_decode_result(const struct protocol_msg *msg,
    struct protocol_result *r)
{
	if (msg->type != PROTOCOL_RESULT || !protocol_uint(msg, 1, &r->id) ||
	    msg->argc < 3 || msg->argv[2].type != MSGPACK_OBJECT_BOOLEAN)
		return PROTOCOL_MALFORMED;
	r->ok = msg->argv[2].via.boolean;
	if (r->ok) {
		if (msg->argc != 4 ||
		    !protocol_bytes(msg, 3, &r->value, &r->value_len) ||
		    !protocol_check(r->value, r->value_len))
			return PROTOCOL_BAD_BODY;
	} else if (msg->argc != 5 ||
	    !protocol_str(msg, 3, &r->error.type, &r->error.type_len) ||
	    !protocol_str(msg, 4, &r->error.message, &r->error.message_len))
		return PROTOCOL_BAD_BODY;
	return 0;
}

int
protocol_decode_cancelled(const struct protocol_msg *msg, uint64_t *id)
{
	if (msg->type != PROTOCOL_CANCELLED || msg->argc != 2 ||
	    !protocol_uint(msg, 1, id))
		return PROTOCOL_MALFORMED;
	return 0;
}

/* Only the words procq sends: anything else would report a limit that
 * was never hit. */
int
protocol_decode_limit(const struct protocol_msg *msg,
    enum protocol_limit *what)
{
	const char *p;
	size_t len;

	if (msg->type != PROTOCOL_LIMIT || msg->argc != 2 ||
	    !protocol_bytes(msg, 1, &p, &len))
		return PROTOCOL_MALFORMED;
	if (len == 6 && memcmp(p, "memory", 6) == 0)
		*what = PROTOCOL_LIMIT_MEMORY;
	else if (len == 10 && memcmp(p, "allocation", 10) == 0)
		*what = PROTOCOL_LIMIT_ALLOCATION;
	else
		return PROTOCOL_MALFORMED;
	return 0;
}

int
protocol_decode_progress(const struct protocol_msg *msg,
    struct protocol_progress *p)
{
	if (msg->type != PROTOCOL_PROGRESS || msg->argc != 3 ||
	    !protocol_uint(msg, 1, &p->id) ||
	    !protocol_bytes(msg, 2, &p->value, &p->value_len) ||
	    !protocol_check(p->value, p->value_len))
		return PROTOCOL_MALFORMED;
	return 0;
}

int
protocol_decode_setup_failed(const struct protocol_msg *msg,
    struct protocol_failure *f)
{
	if (msg->type != PROTOCOL_SETUP_FAILED || msg->argc != 2 ||
	    !protocol_str(msg, 1, &f->message, &f->message_len))
		return PROTOCOL_MALFORMED;
	f->type = NULL;
	f->type_len = 0;
	return 0;
}

/* The slot itself, not slot + 1: only TASK has none to say. */
int
protocol_decode_skipped(const struct protocol_msg *msg, int *slot)
{
	uint64_t v;

	if (msg->type != PROTOCOL_SKIPPED || msg->argc != 2 ||
	    !protocol_uint(msg, 1, &v) || v > INT_MAX)
		return PROTOCOL_MALFORMED;
	*slot = (int)v;
	return 0;
}

int
protocol_decode_wake(const struct protocol_msg *msg)
{
	return msg->type == PROTOCOL_WAKE && msg->argc == 1 ?
	    0 :
	    PROTOCOL_MALFORMED;
}
