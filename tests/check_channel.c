/*
 * The channel (src/channel.c, src/channel_event.c) on its own, its two
 * ends over a real pair of pipes: frames of every size arrive whole and
 * in order both ways, an empty or oversized length is refused from the
 * header, and a peer that is gone is seen as such.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>

#include "../src/channel.h"

#define MAX_FRAME	(1u << 20)

/* The supervisor's end on down[1]/up[0], the worker's on up[1]/down[0]. */
static struct channel ch;
static struct channel_sync cs;

static void
setup(void)
{
	int down[2], up[2];

	ck_assert_int_eq(pipe(down), 0);
	ck_assert_int_eq(pipe(up), 0);
	channel_init(&ch, up[0], down[1], MAX_FRAME);
	ck_assert_int_eq(channel_open(&ch), 0);
	channel_sync_init(&cs, down[0], up[1], MAX_FRAME);
	fcntl(up[1], F_SETFL, fcntl(up[1], F_GETFL) | O_NONBLOCK);
}

static void
teardown(void)
{
	channel_close(&ch);
	close(cs.rfd);
	if (cs.wfd >= 0)
		close(cs.wfd);
	free(cs.in);
	msgpack_sbuffer_destroy(&cs.out);
}

/* Frame i's payload: its size, and bytes that say which frame it is. */
static size_t
frame_size(int i)
{
	static const size_t sizes[] = { 1, 7, 4096, 65535, 65536, 65537,
	    300000, 3 };

	return sizes[i % (int)(sizeof sizes / sizeof sizes[0])];
}

static void
frame_fill(char *p, size_t len, int i)
{
	for (size_t k = 0; k < len; k++)
		p[k] = (char)(i * 31 + (int)k);
}

static void
frame_check(const char *p, size_t len, int i)
{
	ck_assert_uint_eq(len, frame_size(i));
	for (size_t k = 0; k < len; k++)
		ck_assert_msg(p[k] == (char)(i * 31 + (int)k),
		    "frame %d, byte %zu", i, k);
}

/* Appends frame i to sb. */
static void
frame_build(msgpack_sbuffer *sb, int i)
{
	size_t len = frame_size(i), start = channel_frame_begin(sb);
	char *p = malloc(len);

	ck_assert_ptr_nonnull(p);
	frame_fill(p, len, i);
	msgpack_sbuffer_write(sb, p, len);
	ck_assert_int_eq(channel_frame_end(sb, start, MAX_FRAME), 0);
	free(p);
}

START_TEST(test_frame_next)
{
	static const unsigned char empty[] = { 0, 0, 0, 0 };
	static const unsigned char big[] = { 0, 0x10, 0, 1 };
	static const unsigned char two[] = { 0, 0, 0, 2, 'a', 'b' };
	uint32_t len = 7;

	ck_assert_int_eq(channel_frame_next(two, 3, MAX_FRAME, &len),
	    CHANNEL_PARTIAL);
	ck_assert_int_eq(channel_frame_next(empty, 4, MAX_FRAME, &len),
	    CHANNEL_EMPTY);
	ck_assert_int_eq(channel_frame_next(big, 4, MAX_FRAME, &len),
	    CHANNEL_OVERSIZED);
	ck_assert_uint_eq(len, MAX_FRAME + 1);
	ck_assert_int_eq(channel_frame_next(two, 5, MAX_FRAME, &len),
	    CHANNEL_PARTIAL);
	ck_assert_int_eq(channel_frame_next(two, 6, MAX_FRAME, &len),
	    CHANNEL_FRAME);
	ck_assert_uint_eq(len, 2);
}
END_TEST

/* The frame limit holds for what is built, and an empty frame is none. */
START_TEST(test_frame_build_limit)
{
	msgpack_sbuffer sb;
	size_t start;

	msgpack_sbuffer_init(&sb);
	start = channel_frame_begin(&sb);
	ck_assert_int_eq(channel_frame_end(&sb, start, 16), -1);
	ck_assert_uint_eq(sb.size, 0);
	start = channel_frame_begin(&sb);
	msgpack_sbuffer_write(&sb, "0123456789abcdefg", 17);
	ck_assert_int_eq(channel_frame_end(&sb, start, 16), -1);
	ck_assert_uint_eq(sb.size, 0);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

#define N_FRAMES	24

/* The worker's end writes, the supervisor's reads: both ends take turns,
 * since a pipe holds less than the frames do. */
START_TEST(test_worker_to_supervisor)
{
	msgpack_sbuffer all;
	const char *payload;
	size_t off = 0;
	uint32_t len;
	int got = 0;

	msgpack_sbuffer_init(&all);
	for (int i = 0; i < N_FRAMES; i++)
		frame_build(&all, i);
	while (got < N_FRAMES) {
		ssize_t n = off < all.size ?
		    write(cs.wfd, all.data + off, all.size - off) : 0;

		if (n > 0)
			off += (size_t)n;
		ck_assert(channel_read(&ch));
		while (channel_next(&ch, &payload, &len) == CHANNEL_FRAME) {
			ck_assert_ptr_nonnull(payload);
			frame_check(payload, len, got++);
			channel_consume(&ch, len);
		}
	}
	ck_assert_uint_eq(evbuffer_get_length(ch.in), 0);
	msgpack_sbuffer_destroy(&all);
}
END_TEST

START_TEST(test_supervisor_to_worker)
{
	msgpack_sbuffer sb;
	const char *payload;
	uint32_t len;
	int got = 0, left = 1, more;

	msgpack_sbuffer_init(&sb);
	for (int i = 0; i < N_FRAMES; i++) {
		frame_build(&sb, i);
		ck_assert_int_eq(channel_queue(&ch, sb.data, sb.size), 0);
		msgpack_sbuffer_clear(&sb);
	}
	while (got < N_FRAMES) {
		if (left > 0)
			left = channel_flush(&ch, false);
		ck_assert_int_ge(left, 0);
		do {
			more = channel_sync_read(&cs);
			ck_assert_int_ge(more, 0);
			while (channel_sync_next(&cs, &payload, &len) ==
			    CHANNEL_FRAME)
				frame_check(payload, len, got++);
		} while (more);
	}
	ck_assert_int_eq(left, 0);
	ck_assert_int_eq(channel_flush(&ch, false), 0);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Both ends judge a length as soon as its header is in. */
START_TEST(test_refused_lengths)
{
	static const char empty[] = { 0, 0, 0, 0 };
	static const char big[] = { 0x40, 0, 0, 0, 'x' };
	const char *payload;
	uint32_t len;

	ck_assert_int_eq(write(cs.wfd, big, sizeof big), (ssize_t)sizeof big);
	ck_assert(channel_read(&ch));
	ck_assert_int_eq(channel_next(&ch, &payload, &len), CHANNEL_OVERSIZED);
	ck_assert_uint_eq(len, 0x40000000);
	channel_discard(&ch);
	ck_assert_uint_eq(evbuffer_get_length(ch.in), 0);

	ck_assert_int_eq(write(ch.wfd, empty, sizeof empty),
	    (ssize_t)sizeof empty);
	ck_assert_int_eq(channel_sync_read(&cs), 0);
	ck_assert_int_eq(channel_sync_next(&cs, &payload, &len),
	    CHANNEL_EMPTY);
}
END_TEST

/* The worker's output goes whole; the supervisor sees EOF after it. */
START_TEST(test_sync_flush_and_eof)
{
	const char *payload;
	uint32_t len;

	frame_build(&cs.out, 1);
	frame_build(&cs.out, 7);
	ck_assert_int_eq(channel_sync_flush(&cs), 0);
	ck_assert_uint_eq(cs.out.size, 0);
	close(cs.wfd);
	cs.wfd = -1;
	ck_assert(channel_read(&ch));
	ck_assert_int_eq(channel_next(&ch, &payload, &len), CHANNEL_FRAME);
	frame_check(payload, len, 1);
	channel_consume(&ch, len);
	ck_assert_int_eq(channel_next(&ch, &payload, &len), CHANNEL_FRAME);
	frame_check(payload, len, 7);
	channel_consume(&ch, len);
	ck_assert_int_eq(channel_next(&ch, &payload, &len), CHANNEL_PARTIAL);
	ck_assert(!channel_read(&ch));

	channel_close_write(&ch);
	ck_assert_int_eq(ch.wfd, -1);
	ck_assert_int_eq(channel_sync_read(&cs), 0);
	ck_assert(cs.eof);
}
END_TEST

/* Writing to a peer that is gone drops the output, and SIGPIPE with the
 * guard is not delivered. */
START_TEST(test_flush_peer_gone)
{
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	frame_build(&sb, 2);
	ck_assert_int_eq(channel_queue(&ch, sb.data, sb.size), 0);
	close(cs.rfd);
	cs.rfd = open("/dev/null", O_RDONLY);
	ck_assert_int_eq(channel_flush(&ch, true), -1);
	ck_assert_uint_eq(evbuffer_get_length(ch.out), 0);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("channel");
	TCase *tc = tcase_create("ends");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_frame_next);
	tcase_add_test(tc, test_frame_build_limit);
	tcase_add_test(tc, test_worker_to_supervisor);
	tcase_add_test(tc, test_supervisor_to_worker);
	tcase_add_test(tc, test_refused_lengths);
	tcase_add_test(tc, test_sync_flush_and_eof);
	tcase_add_test(tc, test_flush_peer_gone);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
