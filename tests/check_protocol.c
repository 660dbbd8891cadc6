/*
 * The protocol (src/protocol.c) on its own: every message encodes to the
 * bytes procq has always sent, decodes back to what was encoded, and a
 * decoder refuses what the supervisor or the worker would have refused.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../src/protocol.h"

/* A whole frame, header included, as a string literal. */
#define FRAME(s)	(s), sizeof (s) - 1

static msgpack_sbuffer sb;
static msgpack_zone zone;

static void
setup(void)
{
	msgpack_sbuffer_init(&sb);
	msgpack_zone_init(&zone, 1024);
}

static void
teardown(void)
{
	msgpack_sbuffer_destroy(&sb);
	msgpack_zone_destroy(&zone);
}

/* What the last encoder appended is exactly this frame. */
static void
check_bytes(int rc, const char *want, size_t len)
{
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(sb.size, len);
	ck_assert_msg(memcmp(sb.data, want, len) == 0, "bytes differ");
}

/* Decodes the frame in sb, which must be one whole frame. */
static void
decode(struct protocol_msg *msg)
{
	ck_assert_uint_ge(sb.size, CHANNEL_HEADER);
	ck_assert_uint_eq(channel_frame_length(sb.data),
	    sb.size - CHANNEL_HEADER);
	msgpack_zone_clear(&zone);
	ck_assert_int_eq(protocol_decode(sb.data + CHANNEL_HEADER,
	    sb.size - CHANNEL_HEADER, &zone, msg), 0);
}

/* Frames a payload by hand and decodes it. */
static void
decode_payload(const char *payload, size_t len, struct protocol_msg *msg)
{
	size_t start;

	msgpack_sbuffer_clear(&sb);
	start = channel_frame_begin(&sb);
	msgpack_sbuffer_write(&sb, payload, len);
	ck_assert_int_eq(channel_frame_end(&sb, start, CHANNEL_MAX_FRAME), 0);
	decode(msg);
}

static bool
same(const char *p, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(p, s, len) == 0;
}

static const struct {
	struct protocol_task	 task;
	const char		*frame;
	size_t			 len;
} tasks[] = {
	{ { 7, "double", 6, "\x91\x01", 2, 1, -1 },
	    FRAME("\x00\x00\x00\x10\x96\x0a\x07\xa6" "double"
	    "\xc4\x02\x91\x01\x01\x00") },
	{ { 300, "f", 1, "\x90", 1, 3, 5 },
	    FRAME("\x00\x00\x00\x0c\x96\x0a\xcd\x01\x2c\xa1" "f"
	    "\xc4\x01\x90\x03\x06") },
	{ { 0x1234567890, "task", 4, "\xc0", 1, 201, 511 },
	    FRAME("\x00\x00\x00\x18\x96\x0a"
	    "\xcf\x00\x00\x00\x12\x34\x56\x78\x90\xa4" "task"
	    "\xc4\x01\xc0\xcc\xc9\xcd\x02\x00") },
};

START_TEST(test_task)
{
	const struct protocol_task *want = &tasks[_i].task;
	struct protocol_task t;
	struct protocol_msg msg;

	check_bytes(protocol_encode_task(&sb, CHANNEL_MAX_FRAME, want),
	    tasks[_i].frame, tasks[_i].len);
	decode(&msg);
	ck_assert_int_eq(protocol_decode_task(&msg, &t), 0);
	ck_assert_uint_eq(t.id, want->id);
	ck_assert(same(t.fn, t.fn_len, want->fn));
	ck_assert_uint_eq(t.args_len, want->args_len);
	ck_assert(memcmp(t.args, want->args, t.args_len) == 0);
	ck_assert_int_eq(t.attempt, want->attempt);
	ck_assert_int_eq(t.slot, want->slot);
	/* the strings point into the frame */
	ck_assert(t.fn > sb.data && t.fn + t.fn_len <= sb.data + sb.size);
	ck_assert(t.args > sb.data && t.args + t.args_len <= sb.data + sb.size);
}
END_TEST

/* A TASK without its slot element has none. */
START_TEST(test_task_without_slot)
{
	struct protocol_task t;
	struct protocol_msg msg;

	decode_payload(FRAME("\x95\x0a\x07\xa1" "f" "\xc4\x01\x90\x01"),
	    &msg);
	ck_assert_int_eq(protocol_decode_task(&msg, &t), 0);
	ck_assert_int_eq(t.slot, -1);
	ck_assert_int_eq(t.attempt, 1);
}
END_TEST

START_TEST(test_task_malformed)
{
	static const struct {
		const char	*payload;
		size_t		 len;
	} bad[] = {
		{ FRAME("\x94\x0a\x07\xa1" "f" "\xc4\x01\x90") },
		{ FRAME("\x97\x0a\x07\xa1" "f" "\xc4\x01\x90\x01\x00\x00") },
		{ FRAME("\x96\x0a\xff\xa1" "f" "\xc4\x01\x90\x01\x00") },
		{ FRAME("\x96\x0a\x07\x01\xc4\x01\x90\x01\x00") },
		{ FRAME("\x96\x0a\x07\xa1" "f" "\x01\x01\x00") },
		{ FRAME("\x96\x0a\x07\xa1" "f" "\xc4\x01\x90\xc0\x00") },
		{ FRAME("\x96\x0a\x07\xa1" "f" "\xc4\x01\x90\x01\xff") },
		{ FRAME("\x96\x0a\x07\xa1" "f" "\xc4\x01\x90\x01"
		    "\xce\x80\x00\x00\x00") },
		{ FRAME("\x92\x0b\x07") },	/* a CANCEL */
	};
	struct protocol_task t;
	struct protocol_msg msg;

	decode_payload(bad[_i].payload, bad[_i].len, &msg);
	ck_assert_int_eq(protocol_decode_task(&msg, &t), PROTOCOL_MALFORMED);
}
END_TEST

START_TEST(test_cancel)
{
	struct protocol_msg msg;
	uint64_t id;

	check_bytes(protocol_encode_cancel(&sb, CHANNEL_MAX_FRAME, 70000),
	    FRAME("\x00\x00\x00\x07\x92\x0b\xce\x00\x01\x11\x70"));
	decode(&msg);
	ck_assert_int_eq(protocol_decode_cancel(&msg, &id), 0);
	ck_assert_uint_eq(id, 70000);
	ck_assert_int_eq(protocol_decode_cancelled(&msg, &id),
	    PROTOCOL_MALFORMED);
}
END_TEST

START_TEST(test_hello)
{
	struct protocol_msg msg;

	const char *names[] = { "a", "bc" };
	const msgpack_object *got;
	uint32_t n;

	check_bytes(protocol_encode_hello(&sb, CHANNEL_MAX_FRAME, 123456,
	    NULL, 0),
	    FRAME("\x00\x00\x00\x08\x93\x01\x01\xce\x00\x01\xe2\x40"));
	decode(&msg);
	ck_assert_int_eq(protocol_decode_hello(&msg), 0);
	ck_assert_int_eq(protocol_hello_names(&msg, &got, &n), 0);
	ck_assert_uint_eq(n, 0);
	msgpack_sbuffer_clear(&sb);
	/* an exec'd worker program names its tasks */
	check_bytes(protocol_encode_hello(&sb, CHANNEL_MAX_FRAME, 123456,
	    names, 2),
	    FRAME("\x00\x00\x00\x0e\x94\x01\x01\xce\x00\x01\xe2\x40"
	    "\x92\xa1\x61\xa2\x62\x63"));
	decode(&msg);
	ck_assert_int_eq(protocol_decode_hello(&msg), 0);
	ck_assert_int_eq(protocol_hello_names(&msg, &got, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(got[1].via.str.size, 2);
	ck_assert_int_eq(memcmp(got[1].via.str.ptr, "bc", 2), 0);
	/* names that are not an array of names */
	decode_payload(FRAME("\x94\x01\x01\x05\xa1\x61"), &msg);
	ck_assert_int_eq(protocol_decode_hello(&msg), PROTOCOL_MALFORMED);
	decode_payload(FRAME("\x94\x01\x01\x05\x91\x07"), &msg);
	ck_assert_int_eq(protocol_decode_hello(&msg), PROTOCOL_MALFORMED);
	decode_payload(FRAME("\x94\x01\x01\x05\x91\xa0"), &msg);
	ck_assert_int_eq(protocol_decode_hello(&msg), PROTOCOL_MALFORMED);
	decode_payload(FRAME("\x94\x01\x01\x05\x91\xa2\x61\x00"), &msg);
	ck_assert_int_eq(protocol_decode_hello(&msg), PROTOCOL_MALFORMED);
	decode_payload(FRAME("\x95\x01\x01\x05\x90\x90"), &msg);
	ck_assert_int_eq(protocol_decode_hello(&msg), PROTOCOL_MALFORMED);
	/* another version, or a word too few, is no hello */
	decode_payload(FRAME("\x93\x01\x02\x05"), &msg);
	ck_assert_int_eq(protocol_decode_hello(&msg), PROTOCOL_MALFORMED);
	decode_payload(FRAME("\x92\x01\x01"), &msg);
	ck_assert_int_eq(protocol_decode_hello(&msg), PROTOCOL_MALFORMED);
}
END_TEST

START_TEST(test_result)
{
	struct protocol_result r;
	struct protocol_msg msg;

	check_bytes(protocol_encode_result(&sb, CHANNEL_MAX_FRAME, 9, "\xc0",
	    1), FRAME("\x00\x00\x00\x07\x94\x03\x09\xc3\xc4\x01\xc0"));
	decode(&msg);
	ck_assert_int_eq(protocol_decode_result(&msg, &r), 0);
	ck_assert_uint_eq(r.id, 9);
	ck_assert(r.ok);
	ck_assert(same(r.value, r.value_len, "\xc0"));

	msgpack_sbuffer_clear(&sb);
	check_bytes(protocol_encode_result_error(&sb, CHANNEL_MAX_FRAME, 9,
	    "TaskError", ""), FRAME("\x00\x00\x00\x0f\x95\x03\x09\xc2\xa9"
	    "TaskError" "\xa0"));
	decode(&msg);
	ck_assert_int_eq(protocol_decode_result(&msg, &r), 0);
	ck_assert_uint_eq(r.id, 9);
	ck_assert(!r.ok);
	ck_assert(same(r.error.type, r.error.type_len, "TaskError"));
	ck_assert_uint_eq(r.error.message_len, 0);
}
END_TEST

/* A bad id or outcome leaves nothing to go on; a bad value or failure
 * after a sound id and outcome still says which task it was. */
START_TEST(test_result_malformed)
{
	struct protocol_result r;
	struct protocol_msg msg;

	decode_payload(FRAME("\x94\x03\xa1" "x" "\xc3\xc4\x01\xc0"), &msg);
	ck_assert_int_eq(protocol_decode_result(&msg, &r), PROTOCOL_MALFORMED);
	decode_payload(FRAME("\x94\x03\x09\x01\xc4\x01\xc0"), &msg);
	ck_assert_int_eq(protocol_decode_result(&msg, &r), PROTOCOL_MALFORMED);
	decode_payload(FRAME("\x92\x03\x09"), &msg);
	ck_assert_int_eq(protocol_decode_result(&msg, &r), PROTOCOL_MALFORMED);

	/* not one msgpack value */
	decode_payload(FRAME("\x94\x03\x09\xc3\xc4\x02\xc0\xc0"), &msg);
	ck_assert_int_eq(protocol_decode_result(&msg, &r), PROTOCOL_BAD_BODY);
	ck_assert_uint_eq(r.id, 9);
	ck_assert(r.ok);
	decode_payload(FRAME("\x95\x03\x09\xc3\xc4\x01\xc0\xc0"), &msg);
	ck_assert_int_eq(protocol_decode_result(&msg, &r), PROTOCOL_BAD_BODY);
	/* a failure's type and message are text, not bin */
	decode_payload(FRAME("\x95\x03\x09\xc2\xc4\x01" "T" "\xa0"), &msg);
	ck_assert_int_eq(protocol_decode_result(&msg, &r), PROTOCOL_BAD_BODY);
	ck_assert(!r.ok);
	decode_payload(FRAME("\x94\x03\x09\xc2\xa1" "T"), &msg);
	ck_assert_int_eq(protocol_decode_result(&msg, &r), PROTOCOL_BAD_BODY);
}
END_TEST

START_TEST(test_cancelled)
{
	struct protocol_msg msg;
	uint64_t id;

	check_bytes(protocol_encode_cancelled(&sb, CHANNEL_MAX_FRAME, 3),
	    FRAME("\x00\x00\x00\x03\x92\x04\x03"));
	decode(&msg);
	ck_assert_int_eq(protocol_decode_cancelled(&msg, &id), 0);
	ck_assert_uint_eq(id, 3);
	decode_payload(FRAME("\x93\x04\x03\x03"), &msg);
	ck_assert_int_eq(protocol_decode_cancelled(&msg, &id),
	    PROTOCOL_MALFORMED);
}
END_TEST

START_TEST(test_limit)
{
	enum protocol_limit what;
	struct protocol_msg msg;

	check_bytes(protocol_encode_limit(&sb, UINT32_MAX,
	    PROTOCOL_LIMIT_MEMORY), FRAME("\x00\x00\x00\x09\x92\x05\xa6"
	    "memory"));
	decode(&msg);
	ck_assert_int_eq(protocol_decode_limit(&msg, &what), 0);
	ck_assert_int_eq(what, PROTOCOL_LIMIT_MEMORY);

	msgpack_sbuffer_clear(&sb);
	check_bytes(protocol_encode_limit(&sb, UINT32_MAX,
	    PROTOCOL_LIMIT_ALLOCATION), FRAME("\x00\x00\x00\x0d\x92\x05\xaa"
	    "allocation"));
	decode(&msg);
	ck_assert_int_eq(protocol_decode_limit(&msg, &what), 0);
	ck_assert_int_eq(what, PROTOCOL_LIMIT_ALLOCATION);

	decode_payload(FRAME("\x92\x05\xa3" "cpu"), &msg);
	ck_assert_int_eq(protocol_decode_limit(&msg, &what),
	    PROTOCOL_MALFORMED);
	decode_payload(FRAME("\x92\x05\xc4\x06" "memory"), &msg);
	ck_assert_int_eq(protocol_decode_limit(&msg, &what), 0);
}
END_TEST

START_TEST(test_progress)
{
	struct protocol_progress p;
	struct protocol_msg msg;

	check_bytes(protocol_encode_progress(&sb, CHANNEL_MAX_FRAME, 255,
	    "\x92\x01\x02", 3), FRAME("\x00\x00\x00\x09\x93\x06\xcc\xff\xc4"
	    "\x03\x92\x01\x02"));
	decode(&msg);
	ck_assert_int_eq(protocol_decode_progress(&msg, &p), 0);
	ck_assert_uint_eq(p.id, 255);
	ck_assert(same(p.value, p.value_len, "\x92\x01\x02"));
	decode_payload(FRAME("\x93\x06\x01\xc4\x01\x92"), &msg);
	ck_assert_int_eq(protocol_decode_progress(&msg, &p),
	    PROTOCOL_MALFORMED);
}
END_TEST

START_TEST(test_failures)
{
	struct protocol_failure f;
	struct protocol_msg msg;

	check_bytes(protocol_encode_init_failed(&sb, CHANNEL_MAX_FRAME,
	    "InitError", "no"), FRAME("\x00\x00\x00\x0f\x93\x02\xa9"
	    "InitError" "\xa2" "no"));
	decode(&msg);
	ck_assert_int_eq(protocol_decode_init_failed(&msg, &f), 0);
	ck_assert(same(f.type, f.type_len, "InitError"));
	ck_assert(same(f.message, f.message_len, "no"));

	msgpack_sbuffer_clear(&sb);
	check_bytes(protocol_encode_setup_failed(&sb, UINT32_MAX, "x: y"),
	    FRAME("\x00\x00\x00\x07\x92\x07\xa4" "x: y"));
	decode(&msg);
	ck_assert_int_eq(protocol_decode_setup_failed(&msg, &f), 0);
	ck_assert_ptr_null(f.type);
	ck_assert(same(f.message, f.message_len, "x: y"));

	decode_payload(FRAME("\x93\x02\xa1" "T" "\xc4\x01" "m"), &msg);
	ck_assert_int_eq(protocol_decode_init_failed(&msg, &f),
	    PROTOCOL_MALFORMED);
	decode_payload(FRAME("\x93\x07\xa1" "m" "\xa1" "m"), &msg);
	ck_assert_int_eq(protocol_decode_setup_failed(&msg, &f),
	    PROTOCOL_MALFORMED);
}
END_TEST

/* Long text is cut, not refused. */
START_TEST(test_text_cut)
{
	size_t len = PROTOCOL_MAX_TEXT + 100;
	char *text = malloc(len + 1);
	struct protocol_result r;
	struct protocol_msg msg;

	ck_assert_ptr_nonnull(text);
	memset(text, 'a', len);
	text[len] = '\0';
	ck_assert_int_eq(protocol_encode_result_error(&sb, CHANNEL_MAX_FRAME,
	    1, "T", text), 0);
	decode(&msg);
	ck_assert_int_eq(protocol_decode_result(&msg, &r), 0);
	ck_assert_uint_eq(r.error.message_len, PROTOCOL_MAX_TEXT);
	free(text);
}
END_TEST

START_TEST(test_skipped)
{
	struct protocol_msg msg;
	int slot;

	check_bytes(protocol_encode_skipped(&sb, CHANNEL_MAX_FRAME, 300),
	    FRAME("\x00\x00\x00\x05\x92\x08\xcd\x01\x2c"));
	decode(&msg);
	ck_assert_int_eq(protocol_decode_skipped(&msg, &slot), 0);
	ck_assert_int_eq(slot, 300);
	decode_payload(FRAME("\x92\x08\xcf\x00\x00\x00\x01\x00\x00\x00\x00"),
	    &msg);
	ck_assert_int_eq(protocol_decode_skipped(&msg, &slot),
	    PROTOCOL_MALFORMED);
}
END_TEST

/* WAKE says nothing more than its type: anything more is malformed. */
START_TEST(test_wake)
{
	struct protocol_msg msg;

	check_bytes(protocol_encode_wake(&sb, CHANNEL_MAX_FRAME),
	    FRAME("\x00\x00\x00\x02\x91\x09"));
	decode(&msg);
	ck_assert_int_eq(protocol_decode_wake(&msg), 0);
	decode_payload(FRAME("\x92\x09\x00"), &msg);
	ck_assert_int_eq(protocol_decode_wake(&msg), PROTOCOL_MALFORMED);
	decode_payload(FRAME("\x91\x08"), &msg);
	ck_assert_int_eq(protocol_decode_wake(&msg), PROTOCOL_MALFORMED);
}
END_TEST

/* A frame beyond the limit is not written at all; what sb held stays. */
START_TEST(test_frame_limit)
{
	char value[64];
	size_t before;

	memset(value, 0xc0, sizeof value);
	ck_assert_int_eq(protocol_encode_cancel(&sb, CHANNEL_MAX_FRAME, 1), 0);
	before = sb.size;
	ck_assert_int_eq(protocol_encode_result(&sb, 32, 1, value,
	    sizeof value), -1);
	ck_assert_uint_eq(sb.size, before);
	ck_assert_int_eq(protocol_encode_result(&sb, 80, 1, value,
	    sizeof value), 0);
	ck_assert_uint_eq(channel_frame_length(sb.data + before),
	    sb.size - before - CHANNEL_HEADER);
}
END_TEST

/* A frame that decodes is an array led by a small unsigned type. */
START_TEST(test_decode_refuses)
{
	static const struct {
		const char	*payload;
		size_t		 len;
	} bad[] = {
		{ FRAME("\x90") },
		{ FRAME("\x01") },
		{ FRAME("\x91\xff") },
		{ FRAME("\x91\xcd\x01\x00") },
		{ FRAME("\x91\xa1" "x") },
		{ FRAME("\x92\x01") },		/* short */
		{ FRAME("\x91\x01\xc0") },	/* trailing */
	};
	struct protocol_msg msg;

	msgpack_zone_clear(&zone);
	ck_assert_int_eq(protocol_decode(bad[_i].payload, bad[_i].len, &zone,
	    &msg), -1);
}
END_TEST

/* Each decoder on its own, given each way its message can be wrong:
 * the wrong type first (a caller that dispatched on the type never does
 * this, but the check is the decoder's own), then each field in turn. */
enum decoder {
	D_CANCEL, D_HELLO, D_NAMES, D_INIT_FAILED, D_RESULT, D_CANCELLED,
	D_LIMIT, D_PROGRESS, D_SETUP_FAILED, D_SKIPPED, D_WAKE
};

static const struct {
	enum decoder	 decoder;
	const char	*payload;
	size_t		 len;
} refused[] = {
	{ D_CANCEL, FRAME("\x92\x04\x01") },		/* not CANCEL */
	{ D_CANCEL, FRAME("\x92\x0b\xa1" "x") },	/* id not a uint */
	{ D_HELLO, FRAME("\x93\x02\x01\x05") },	/* not HELLO */
	{ D_HELLO, FRAME("\x92\x01\x01") },		/* too few */
	{ D_HELLO, FRAME("\x95\x01\x01\x05\x90\x90") }, /* too many */
	{ D_HELLO, FRAME("\x93\x01\xa1" "v" "\x05") }, /* version text */
	{ D_HELLO, FRAME("\x93\x01\x63\x05") },	/* version 99 */
	{ D_HELLO, FRAME("\x94\x01\x01\x05\x01") },	/* names not array */
	{ D_HELLO, FRAME("\x94\x01\x01\x05\x91\x01") }, /* a name a number */
	{ D_HELLO, FRAME("\x94\x01\x01\x05\x91\xa0") }, /* an empty name */
	{ D_HELLO, FRAME("\x94\x01\x01\x05\x91\xa2" "a\0") }, /* a NUL */
	{ D_NAMES, FRAME("\x93\x02\x01\x05") },	/* not HELLO */
	{ D_NAMES, FRAME("\x92\x01\x01") },		/* too few */
	{ D_NAMES, FRAME("\x94\x01\x01\x05\x01") },	/* names not array */
	{ D_INIT_FAILED, FRAME("\x93\x07\xa1" "t" "\xa1" "m") }, /* SETUP */
	{ D_INIT_FAILED, FRAME("\x92\x02\xa1" "t") },	/* too few */
	{ D_INIT_FAILED, FRAME("\x93\x02\x01\xa1" "m") }, /* type a number */
	{ D_INIT_FAILED, FRAME("\x93\x02\xa1" "t" "\x01") }, /* message */
	{ D_RESULT, FRAME("\x94\x04\x01\xc3\xc4\x01\xc0") }, /* not RESULT */
	{ D_RESULT, FRAME("\x94\x03\x01\x01\xc4\x01\xc0") }, /* ok a number */
	{ D_RESULT, FRAME("\x94\x03\x01\xc3\x01") },	/* value a number */
	{ D_RESULT, FRAME("\x94\x03\x01\xc3\xc4\x01\xc1") }, /* never msgpack */
	{ D_RESULT, FRAME("\x95\x03\x01\xc2\xa1" "T" "\x01") }, /* message */
	{ D_CANCELLED, FRAME("\x92\x0b\x01") },	/* not CANCELLED */
	{ D_CANCELLED, FRAME("\x92\x04\xa1" "x") },	/* id not a uint */
	{ D_LIMIT, FRAME("\x92\x04\xa6" "memory") },	/* not LIMIT */
	{ D_LIMIT, FRAME("\x91\x05") },		/* too few */
	{ D_LIMIT, FRAME("\x92\x05\x01") },		/* a number */
	{ D_LIMIT, FRAME("\x92\x05\xa6" "memorz") },	/* not the word */
	{ D_LIMIT, FRAME("\x92\x05\xaa" "allocatiom") },
	{ D_PROGRESS, FRAME("\x93\x04\x01\xc4\x01\xc0") }, /* not PROGRESS */
	{ D_PROGRESS, FRAME("\x92\x06\x01") },	/* too few */
	{ D_PROGRESS, FRAME("\x93\x06\xa1" "x" "\xc4\x01\xc0") }, /* id */
	{ D_PROGRESS, FRAME("\x93\x06\x01\x01") },	/* value a number */
	{ D_SETUP_FAILED, FRAME("\x92\x02\xa1" "m") },	/* not SETUP */
	{ D_SETUP_FAILED, FRAME("\x93\x07\xa1" "m" "\xa1" "m") }, /* too many */
	{ D_SETUP_FAILED, FRAME("\x92\x07\xc4\x01" "m") }, /* bin, not text */
	{ D_SKIPPED, FRAME("\x92\x04\x01") },	/* not SKIPPED */
	{ D_SKIPPED, FRAME("\x93\x08\x01\x01") },	/* too many */
	{ D_SKIPPED, FRAME("\x92\x08\xa1" "x") },	/* slot not a uint */
	{ D_SKIPPED, FRAME("\x92\x08\xce\x80\x00\x00\x00") }, /* > INT_MAX */
	{ D_WAKE, FRAME("\x91\x04") },		/* not WAKE */
	{ D_WAKE, FRAME("\x92\x09\x01") },		/* too many */
};

START_TEST(test_decoders_refuse)
{
	struct protocol_failure f;
	struct protocol_progress p;
	struct protocol_result r;
	struct protocol_msg msg;
	const msgpack_object *names;
	enum protocol_limit what;
	uint32_t nnames;
	uint64_t id;
	int slot, rc = 0;

	decode_payload(refused[_i].payload, refused[_i].len, &msg);
	switch (refused[_i].decoder) {
	case D_CANCEL:
		rc = protocol_decode_cancel(&msg, &id);
		break;
	case D_HELLO:
		rc = protocol_decode_hello(&msg);
		break;
	case D_NAMES:
		rc = protocol_hello_names(&msg, &names, &nnames);
		break;
	case D_INIT_FAILED:
		rc = protocol_decode_init_failed(&msg, &f);
		break;
	case D_RESULT:
		rc = protocol_decode_result(&msg, &r);
		break;
	case D_CANCELLED:
		rc = protocol_decode_cancelled(&msg, &id);
		break;
	case D_LIMIT:
		rc = protocol_decode_limit(&msg, &what);
		break;
	case D_PROGRESS:
		rc = protocol_decode_progress(&msg, &p);
		break;
	case D_SETUP_FAILED:
		rc = protocol_decode_setup_failed(&msg, &f);
		break;
	case D_SKIPPED:
		rc = protocol_decode_skipped(&msg, &slot);
		break;
	case D_WAKE:
		rc = protocol_decode_wake(&msg);
		break;
	}
	ck_assert_msg(rc != 0, "case %d was accepted", _i);
}
END_TEST

/*
 * protocol_check() on its own: the headers of longer strings, arrays,
 * maps and extensions, cut or claiming more than there is, and nesting
 * deeper than msgpack-c follows.
 */
START_TEST(test_check_refuses)
{
	static const struct {
		const char	*bytes;
		size_t		 len;
		bool		 ok;
	} values[] = {
		{ FRAME("\xc5\x00"), false },		/* bin16 cut in its header */
		{ FRAME("\xc5\x00\x01" "x"), true },
		{ FRAME("\xc5\x00\x02" "x"), false },	/* shorter than said */
		{ FRAME("\xdc\x00\x01\xc0"), true },	/* array16 */
		{ FRAME("\xdc\x00\x05\xc0"), false },	/* claims 5 */
		{ FRAME("\xde\x00\x01\xc0\xc0"), true },	/* map16 */
		{ FRAME("\xde\x00\x02\xc0\xc0"), false },
		{ FRAME("\xc7\x01\x05" "x"), true },	/* ext8: type, 1 byte */
		{ FRAME("\xc7\x02\x05" "x"), false },
		{ FRAME("\xd4\x05" "x"), true },		/* fixext1 */
		{ FRAME("\xd4\x05"), false },
		{ FRAME("\xc1"), false },			/* never used */
		{ FRAME("\xc0\xc0"), false },		/* two values */
	};
	char deep[PROTOCOL_MAX_DEPTH + 2];

	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
		ck_assert_msg(protocol_check(values[i].bytes, values[i].len) ==
		    values[i].ok, "value %zu", i);
	/* As deep as msgpack-c follows, then one deeper. */
	memset(deep, 0x91, sizeof deep);
	deep[PROTOCOL_MAX_DEPTH] = (char)0xc0;
	ck_assert(protocol_check(deep, PROTOCOL_MAX_DEPTH + 1));
	deep[PROTOCOL_MAX_DEPTH] = (char)0x91;
	deep[PROTOCOL_MAX_DEPTH + 1] = (char)0xc0;
	ck_assert(!protocol_check(deep, PROTOCOL_MAX_DEPTH + 2));
}
END_TEST

/*
 * A frame of scalars is decoded without msgpack_unpack(): into the same
 * objects msgpack_unpack() makes, for every width of every scalar type,
 * and every frame cut short is refused, as msgpack_unpack() refuses it.
 */
START_TEST(test_flat_as_unpack)
{
	static char big[70000];
	msgpack_packer pk;
	msgpack_object obj;
	struct protocol_msg msg;
	size_t off = 0;

	memset(big, 'x', sizeof big);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	/* [3, ...] with 7 elements after the type, each frame a set */
	for (int set = 0; set < 4; set++) {
		msgpack_sbuffer_clear(&sb);
		msgpack_pack_array(&pk, 8);
		msgpack_pack_uint8(&pk, 3);
		switch (set) {
		case 0:
			msgpack_pack_uint8(&pk, 200);
			msgpack_pack_uint16(&pk, 60000);
			msgpack_pack_uint32(&pk, 4000000000u);
			msgpack_pack_uint64(&pk, UINT64_MAX);
			msgpack_pack_int8(&pk, -100);
			msgpack_pack_int16(&pk, -30000);
			msgpack_pack_int64(&pk, INT64_MIN);
			break;
		case 1:
			msgpack_pack_int8(&pk, -1);
			msgpack_pack_int32(&pk, -2000000000);
			msgpack_pack_true(&pk);
			msgpack_pack_false(&pk);
			msgpack_pack_nil(&pk);
			msgpack_pack_str_with_body(&pk, "", 0);
			msgpack_pack_str_with_body(&pk, big, 31);
			break;
		case 2:
			msgpack_pack_str_with_body(&pk, big, 32);
			msgpack_pack_str_with_body(&pk, big, 256);
			msgpack_pack_str_with_body(&pk, big, 65536);
			msgpack_pack_bin_with_body(&pk, big, 0);
			msgpack_pack_bin_with_body(&pk, big, 255);
			msgpack_pack_bin_with_body(&pk, big, 256);
			msgpack_pack_bin_with_body(&pk, big, 65536);
			break;
		default:
			/* packed as wide as they may be: [3] header as 0xcc 3 */
			sb.size = 0;
			msgpack_sbuffer_write(&sb, FRAME("\x98\xcc\x03\xd0\x05"
			    "\xd1\x00\x07\xd2\x00\x00\x00\x09\xd3\x00\x00"
			    "\x00\x00\x00\x00\x00\x0b\xd9\x00\xc4\x01z\xa1y"));
			break;
		}
		msgpack_zone_clear(&zone);
		off = 0;
		ck_assert_int_eq(msgpack_unpack(sb.data, sb.size, &off, &zone,
		    &obj), MSGPACK_UNPACK_SUCCESS);
		ck_assert_int_eq(protocol_decode(sb.data, sb.size, &zone,
		    &msg), 0);
		ck_assert_ptr_eq(msg.argv, msg.flat);	/* the flat path */
		ck_assert_uint_eq(msg.argc, obj.via.array.size);
		for (uint32_t i = 0; i < msg.argc; i++) {
			ck_assert_int_eq(msg.argv[i].type,
			    obj.via.array.ptr[i].type);
			ck_assert_msg(msgpack_object_equal(msg.argv[i],
			    obj.via.array.ptr[i]), "set %d, element %u", set,
			    i);
		}
		for (size_t cut = 0; cut < sb.size; cut++)
			ck_assert_int_eq(protocol_decode(sb.data, cut, &zone,
			    &msg), -1);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("protocol");
	TCase *tc = tcase_create("messages");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_task, 0,
	    (int)(sizeof tasks / sizeof tasks[0]));
	tcase_add_test(tc, test_task_without_slot);
	tcase_add_loop_test(tc, test_task_malformed, 0, 9);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_hello);
	tcase_add_test(tc, test_result);
	tcase_add_test(tc, test_result_malformed);
	tcase_add_test(tc, test_cancelled);
	tcase_add_test(tc, test_limit);
	tcase_add_test(tc, test_progress);
	tcase_add_test(tc, test_failures);
	tcase_add_test(tc, test_text_cut);
	tcase_add_test(tc, test_skipped);
	tcase_add_test(tc, test_wake);
	tcase_add_test(tc, test_frame_limit);
	tcase_add_loop_test(tc, test_decode_refuses, 0, 7);
	tcase_add_loop_test(tc, test_decoders_refuse, 0,
	    sizeof refused / sizeof refused[0]);
	tcase_add_test(tc, test_check_refuses);
	tcase_add_test(tc, test_flat_as_unpack);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
