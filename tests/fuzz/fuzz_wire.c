/*
 * Fuzz target for the wire format: protocol_check(), protocol_decode(),
 * the decoders of each message and the frame splitting the supervisor
 * applies to a worker's output.
 *
 * The input is read twice: once as a frame payload, once as a stream of
 * length-prefixed frames.  Invariants checked:
 *   - what protocol_check() accepts, msgpack_unpack() decodes completely
 *     (success, every byte consumed), and no strict prefix or extension
 *     of it is accepted;
 *   - what protocol_decode() accepts is an array led by a type of 0..255;
 *   - a message decoder accepts only its own type, what it accepts points
 *     into the payload, and TASK and RESULT encode again to frames that
 *     decode the same;
 *   - an accepted value packed again is accepted and decodes equal;
 *   - a frame longer than the limit is refused before anything is
 *     allocated for it, and each payload is decoded from a buffer of
 *     exactly its length, so any overread is caught.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* protocol_uint() and protocol_bytes() are private to protocol.c. */
#include "../../src/protocol.c"
#include "fuzz.h"

#define FUZZ_MAX_FRAME	(1u << 20)

static msgpack_zone zone;

static void
pack(msgpack_sbuffer *sb, const msgpack_object *obj)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	CHECK(msgpack_pack_object(&pk, *obj) == 0);
}

/* Packed again, a value is accepted, and packing what that decodes to
 * gives the same bytes (compared as bytes: NaN is not equal to itself). */
static void
check_roundtrip(const msgpack_object *obj)
{
	msgpack_sbuffer sb, sb2;
	msgpack_object again;
	msgpack_zone z;
	size_t off = 0;

	pack(&sb, obj);
	CHECK(protocol_check(sb.data, sb.size));
	msgpack_zone_init(&z, 1024);
	CHECK(msgpack_unpack(sb.data, sb.size, &off, &z, &again) ==
	    MSGPACK_UNPACK_SUCCESS);
	CHECK(off == sb.size);
	pack(&sb2, &again);
	CHECK(sb2.size == sb.size && memcmp(sb.data, sb2.data, sb.size) == 0);
	msgpack_sbuffer_destroy(&sb2);
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&sb);
}

static void
check_within(const char *p, size_t n, const char *data, size_t len)
{
	CHECK(n == 0 || (p >= data && p + n <= data + len));
}

/* The frame sb holds, decoded with z. */
static void
decode_again(msgpack_sbuffer *sb, msgpack_zone *z, struct protocol_msg *msg)
{
	CHECK(sb->size > CHANNEL_HEADER);
	CHECK(channel_frame_length(sb->data) == sb->size - CHANNEL_HEADER);
	CHECK(protocol_decode(sb->data + CHANNEL_HEADER,
	    sb->size - CHANNEL_HEADER, z, msg) == 0);
}

static void
check_task(const struct protocol_task *t, const char *data, size_t len)
{
	struct protocol_task t2;
	struct protocol_msg msg;
	msgpack_sbuffer sb;
	msgpack_zone z;

	check_within(t->fn, t->fn_len, data, len);
	check_within(t->args, t->args_len, data, len);
	CHECK(t->slot >= -1);
	if (t->attempt < 0)
		return;	/* an attempt beyond INT_MAX does not come back */
	msgpack_sbuffer_init(&sb);
	msgpack_zone_init(&z, 1024);
	CHECK(protocol_encode_task(&sb, UINT32_MAX, t) == 0);
	decode_again(&sb, &z, &msg);
	CHECK(protocol_decode_task(&msg, &t2) == 0);
	CHECK(t2.id == t->id && t2.attempt == t->attempt &&
	    t2.slot == t->slot);
	CHECK(t2.fn_len == t->fn_len && t2.args_len == t->args_len);
	CHECK(t->fn_len == 0 || memcmp(t2.fn, t->fn, t->fn_len) == 0);
	CHECK(t->args_len == 0 || memcmp(t2.args, t->args, t->args_len) == 0);
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&sb);
}

/* The n bytes at p as a string.  Not strndup(): the bytes are not
 * NUL-terminated, and a strict string check reads on to the NUL. */
static char *
text_of(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s != NULL && n > 0)
		memcpy(s, p, n);
	if (s != NULL)
		s[n] = '\0';
	return s;
}

static void
check_result(const struct protocol_result *r, const char *data, size_t len)
{
	struct protocol_result r2;
	struct protocol_msg msg;
	msgpack_sbuffer sb;
	msgpack_zone z;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_zone_init(&z, 1024);
	if (r->ok) {
		check_within(r->value, r->value_len, data, len);
		rc = protocol_encode_result(&sb, UINT32_MAX, r->id, r->value,
		    r->value_len);
	} else {
		char *type, *message;

		check_within(r->error.type, r->error.type_len, data, len);
		check_within(r->error.message, r->error.message_len, data,
		    len);
		/* The encoder takes text: what precedes a NUL goes. */
		type = text_of(r->error.type, r->error.type_len);
		message = text_of(r->error.message, r->error.message_len);
		CHECK(type != NULL && message != NULL);
		rc = protocol_encode_result_error(&sb, UINT32_MAX, r->id, type,
		    message);
		free(type);
		free(message);
	}
	CHECK(rc == 0);
	decode_again(&sb, &z, &msg);
	CHECK(protocol_decode_result(&msg, &r2) == 0);
	CHECK(r2.id == r->id && r2.ok == r->ok);
	if (r->ok)
		CHECK(r2.value_len == r->value_len &&
		    memcmp(r2.value, r->value, r->value_len) == 0);
	else
		CHECK(r2.error.type_len <= r->error.type_len &&
		    r2.error.message_len <= r->error.message_len);
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&sb);
}

/* Every message decoder on one decoded frame. */
static void
check_messages(const struct protocol_msg *msg, const char *data, size_t len)
{
	struct protocol_task t;
	struct protocol_result r;
	struct protocol_progress p;
	struct protocol_failure f;
	enum protocol_limit what;
	uint64_t id;
	int slot, rc, accepted = 0;

	if (protocol_decode_task(msg, &t) == 0) {
		accepted++;
		check_task(&t, data, len);
	}
	rc = protocol_decode_result(msg, &r);
	if (rc != PROTOCOL_MALFORMED)
		CHECK(msg->type == PROTOCOL_RESULT);
	if (rc == 0) {
		accepted++;
		check_result(&r, data, len);
	}
	if (protocol_decode_progress(msg, &p) == 0) {
		accepted++;
		check_within(p.value, p.value_len, data, len);
		CHECK(protocol_check(p.value, p.value_len));
	}
	if (protocol_decode_init_failed(msg, &f) == 0) {
		accepted++;
		check_within(f.type, f.type_len, data, len);
		check_within(f.message, f.message_len, data, len);
	}
	if (protocol_decode_setup_failed(msg, &f) == 0) {
		accepted++;
		CHECK(f.type == NULL);
		check_within(f.message, f.message_len, data, len);
	}
	accepted += protocol_decode_cancel(msg, &id) == 0;
	accepted += protocol_decode_cancelled(msg, &id) == 0;
	accepted += protocol_decode_hello(msg) == 0;
	accepted += protocol_decode_limit(msg, &what) == 0;
	if (protocol_decode_skipped(msg, &slot) == 0) {
		accepted++;
		CHECK(slot >= 0);
	}
	CHECK(accepted <= 1);
}

/* One payload, in a buffer of exactly len bytes. */
static void
check_payload(const char *data, size_t len)
{
	struct protocol_msg msg;
	msgpack_object obj;
	size_t off = 0;
	bool ok = protocol_check(data, len);
	msgpack_unpack_return ret;
	int rc;

	rc = protocol_decode(data, len, &zone, &msg);
	msgpack_zone_clear(&zone);
	if (!ok) {
		CHECK(rc != 0);
		return;
	}
	/* Complete, alone and honest: msgpack_unpack() agrees. */
	ret = msgpack_unpack(data, len, &off, &zone, &obj);
	if (ret != MSGPACK_UNPACK_SUCCESS)
		fprintf(stderr, "protocol_check() accepted %zu bytes that "
		    "msgpack_unpack() refuses (%d)\n", len, (int)ret);
	CHECK(ret == MSGPACK_UNPACK_SUCCESS);
	CHECK(off == len);
	check_roundtrip(&obj);
	if (rc == 0) {
		uint64_t u;
		const char *p;
		size_t n;

		CHECK(obj.type == MSGPACK_OBJECT_ARRAY);
		CHECK(obj.via.array.size > 0);
		CHECK(obj.via.array.ptr[0].type ==
		    MSGPACK_OBJECT_POSITIVE_INTEGER);
		CHECK(obj.via.array.ptr[0].via.u64 <= 255);
		msgpack_zone_clear(&zone);
		CHECK(protocol_decode(data, len, &zone, &msg) == 0);
		CHECK(msg.argc == obj.via.array.size);
		CHECK(msg.type >= 0 && msg.type <= 255);
		CHECK(protocol_uint(&msg, 0, &u) && u == (uint64_t)msg.type);
		for (uint32_t i = 0; i <= msg.argc; i++) {
			if (protocol_uint(&msg, i, &u))
				CHECK(i < msg.argc);
			if (protocol_bytes(&msg, i, &p, &n)) {
				CHECK(i < msg.argc);
				CHECK(n == 0 || (p >= data && p + n <= data + len));
			}
		}
		check_messages(&msg, data, len);
	} else
		CHECK(obj.type != MSGPACK_OBJECT_ARRAY ||
		    obj.via.array.size == 0 ||
		    obj.via.array.ptr[0].type !=
		    MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    obj.via.array.ptr[0].via.u64 > 255);
	msgpack_zone_clear(&zone);
	/* msgpack is prefix-free: no strict prefix is a whole value, and
	 * nothing may follow the value. */
	CHECK(!protocol_check(data, len - 1));
	{
		char *more = malloc(len + 1);

		CHECK(more != NULL);
		memcpy(more, data, len);
		more[len] = '\xc0';
		CHECK(!protocol_check(more, len + 1));
		free(more);
	}
}

/* The supervisor's frame splitter over the input as a byte stream. */
static void
split_frames(const uint8_t *data, size_t size)
{
	size_t pos = 0;

	while (size - pos >= CHANNEL_HEADER) {
		uint32_t len = channel_frame_length(data + pos);
		char *copy;

		if (len == 0 || len > FUZZ_MAX_FRAME)
			return;	/* refused: nothing allocated */
		if (size - pos - CHANNEL_HEADER < len)
			return;	/* incomplete: wait for more */
		copy = malloc(len);
		CHECK(copy != NULL);
		memcpy(copy, data + pos + CHANNEL_HEADER, len);
		check_payload(copy, len);
		/* Framing the payload again gives back the same header. */
		{
			msgpack_sbuffer sb;
			size_t start;

			msgpack_sbuffer_init(&sb);
			start = channel_frame_begin(&sb);
			msgpack_sbuffer_write(&sb, copy, len);
			CHECK(channel_frame_end(&sb, start,
			    FUZZ_MAX_FRAME) == 0);
			CHECK(sb.size == CHANNEL_HEADER + len);
			CHECK(memcmp(sb.data, data + pos, sb.size) == 0);
			msgpack_sbuffer_destroy(&sb);
		}
		free(copy);
		pos += CHANNEL_HEADER + len;
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	msgpack_zone_init(&zone, 4096);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;

	if (size > FUZZ_MAX_FRAME)
		return 0;
	/* protocol_check() of nothing is false, and must not read. */
	CHECK(!protocol_check(NULL, 0));
	if (size > 0) {
		copy = malloc(size);
		CHECK(copy != NULL);
		memcpy(copy, data, size);
		check_payload(copy, size);
		free(copy);
	}
	split_frames(data, size);
	msgpack_zone_clear(&zone);
	return 0;
}
