/*
 * The wire between supervisor and workers: malformed and oversized frames
 * from a worker, the frame size limit, large frames both ways and many
 * small ones through a prefetch window.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tasks.h"
#include "util.h"

/* What the "garbage" task writes, and what the task's error says. */
static const struct {
	const char *what;
	const char *message;
} bad_frames[] = {
	{ "bytes", "malformed" },
	{ "int", "" },
	{ "text", "" },
	{ "empty", "empty frame from worker" },
	{ "type", "unexpected message type 10" },
	{ "result", "malformed result from worker" },
	{ "cancelled", "malformed cancel acknowledgement" },
	{ "progress", "malformed progress report" },
	{ "skipped", "worker skipped a task it was given" },
	{ "stray_cancel", "cancel acknowledgement for an unknown task" },
	{ "stray_progress", "progress for a task the worker was not running" },
};
#define N_BAD ((int)(sizeof bad_frames / sizeof bad_frames[0]))

static void
check_protocol(procq_handle *h, int attempts)
{
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_msg(procq_handle_error_kind(h) == PROCQ_ERR_PROTOCOL,
	    "kind %s: %s", procq_error_kind_name(procq_handle_error_kind(h)),
	    procq_handle_error_message(h));
	ck_assert_str_eq(procq_handle_error_type(h), "ProtocolError");
	ck_assert_int_eq(procq_handle_attempts(h), attempts);
}

START_TEST(test_malformed_frame)
{
	const char *what = bad_frames[_i].what;
	procq_queue *q = new_queue(1, 0);
	procq_handle *hb, *hd;
	double t0 = now(), v = 0;

	hb = submit_ok(q, "garbage", NULL, "s", what);
	hd = submit_ok(q, "double", NULL, "d", 4.0);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_double_lt(now() - t0, 10);
	check_protocol(hb, 1);
	ck_assert_msg(strstr(procq_handle_error_message(hb),
	    bad_frames[_i].message) != NULL, "%s: message: %s", what,
	    procq_handle_error_message(hb));
	/* the queue keeps working on a new worker */
	ck_assert_int_eq(procq_handle_status(hd), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_value(hd, "d", &v), 0);
	ck_assert_double_eq(v, 8.0);
	procq_free(q);
}
END_TEST

START_TEST(test_protocol_error_retried)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = submit_ok(q, "garbage", &(procq_opts){ .retries = 1 },
	    "s", "bytes");

	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	check_protocol(h, 2);
	procq_free(q);
}
END_TEST

/*
 * A length prefix of 1 GiB with max_frame = 4096: refused from the prefix
 * alone.  Outside the sanitizer build the address space is limited to well
 * under 1 GiB more than is in use, so that an attempt to allocate the frame
 * would fail.
 */
START_TEST(test_oversized_frame)
{
	procq_queue *q = new_queue_config(&(procq_config){ .workers = 1,
	    .max_frame = 4096 });
	procq_handle *h, *hd;
	struct rlimit old, rl;
	bool limited = false;
	const char *msg;
	double t0;

	/* start the supervisor first: its thread's stack and heap are
	 * mapped before the limit is set */
	hd = submit_ok(q, "double", NULL, "d", 1.0);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_status(hd), PROCQ_SUCCEEDED);

	if (!TEST_ASAN && getenv("PROCQ_TEST_NO_RLIMIT") == NULL) {
		FILE *fp = fopen("/proc/self/statm", "r");
		unsigned long pages = 0;

		ck_assert_ptr_nonnull(fp);
		ck_assert_int_eq(fscanf(fp, "%lu", &pages), 1);
		fclose(fp);
		ck_assert_int_eq(getrlimit(RLIMIT_AS, &old), 0);
		rl = old;
		rl.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) +
		    (rlim_t)(512 << 20);
		if (old.rlim_cur == RLIM_INFINITY || rl.rlim_cur < old.rlim_cur)
			limited = setrlimit(RLIMIT_AS, &rl) == 0;
	}

	t0 = now();
	h = submit_ok(q, "garbage", NULL, "s", "huge");
	hd = submit_ok(q, "double", NULL, "d", 2.0);
	wait_done(h, 10);
	wait_done(hd, 10);
	if (limited)
		setrlimit(RLIMIT_AS, &old);
	ck_assert_double_lt(now() - t0, 10);
	check_protocol(h, 1);
	msg = procq_handle_error_message(h);
	ck_assert_msg(strstr(msg, "4096") != NULL &&
	    strstr(msg, "limit") != NULL, "message: %s", msg);
	ck_assert_msg(strstr(msg, "1073741824") != NULL, "message: %s", msg);
	ck_assert_int_eq(procq_handle_status(hd), PROCQ_SUCCEEDED);
	procq_free(q);
}
END_TEST

/* Results up to the limit pass; a larger one fails alone. */
START_TEST(test_result_size_limit)
{
	procq_queue *q = new_queue_config(&(procq_config){ .workers = 1,
	    .max_frame = 4096 });
	procq_handle *small, *big, *after;
	const char *str = NULL;
	size_t len = 0;

	small = submit_ok(q, "bigstr", NULL, "i", 3000);
	big = submit_ok(q, "bigstr", NULL, "i", 10000);
	after = submit_ok(q, "bigstr", NULL, "i", 10);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_status(small), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_value(small, "S", &str, &len), 0);
	ck_assert_uint_eq(len, 3000);
	ck_assert_int_eq(procq_handle_status(big), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_status(after), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_value(after, "S", &str, &len), 0);
	ck_assert_uint_eq(len, 10);
	procq_free(q);
}
END_TEST

/* Frames much larger than a pipe buffer, both ways. */
START_TEST(test_large_frames)
{
	procq_queue *q = new_queue(2, 2);
	size_t len = 3 << 20;
	char *big = malloc(len);
	procq_handle *he[4], *hs;
	const msgpack_object *v;
	const char *str = NULL;
	size_t slen = 0;
	int i;

	ck_assert_ptr_nonnull(big);
	for (i = 0; i < (int)len; i++)
		big[i] = (char)('a' + i % 26);
	for (i = 0; i < 4; i++)
		he[i] = submit_ok(q, "echo", NULL, "y", big, len);
	hs = submit_ok(q, "bigstr", NULL, "i", 5 << 20);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(procq_handle_status(he[i]), PROCQ_SUCCEEDED);
		v = procq_result_value(procq_handle_result(he[i]));
		ck_assert_uint_eq(v->via.array.size, 1);
		ck_assert_uint_eq(v->via.array.ptr[0].via.bin.size, len);
		ck_assert(memcmp(v->via.array.ptr[0].via.bin.ptr, big, len) ==
		    0);
	}
	ck_assert_int_eq(procq_handle_status(hs), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_value(hs, "S", &str, &slen), 0);
	ck_assert_uint_eq(slen, 5 << 20);
	ck_assert(str[0] == 'x' && str[slen - 1] == 'x');
	free(big);
	procq_free(q);
}
END_TEST

#define N_SMALL 2000

/* Many tiny tasks through a prefetch window: every value arrives, once. */
START_TEST(test_many_small_tasks)
{
	procq_queue *q = new_queue(2, 8);
	procq_handle **h = calloc(N_SMALL, sizeof *h);
	procq_summary *s = NULL;
	int i, v;

	ck_assert_ptr_nonnull(h);
	for (i = 0; i < N_SMALL; i++)
		h[i] = submit_ok(q, "ident", NULL, "i", i);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_count(s), N_SMALL);
	ck_assert_uint_eq(procq_summary_succeeded(s), N_SMALL);
	for (i = 0; i < N_SMALL; i++) {
		v = -1;
		ck_assert_int_eq(procq_handle_value(h[i], "i", &v), 0);
		ck_assert_int_eq(v, i);
		ck_assert_int_eq(procq_handle_attempts(h[i]), 1);
	}
	procq_summary_free(s);
	free(h);
	procq_free(q);
}
END_TEST

/* A worker that closes its result pipe and lives on is killed once the
 * pipe has been closed for a second: its task fails as a protocol error,
 * and the queue goes on with a new worker. */
START_TEST(test_result_pipe_closed)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h, *hd;
	double v = 0;

	h = submit_ok(q, "close_result_pipe", NULL, "");
	hd = submit_ok(q, "double", NULL, "d", 4.0);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	check_protocol(h, 1);
	ck_assert_msg(strstr(procq_handle_error_message(h),
	    "worker closed its result pipe") != NULL, "message: %s",
	    procq_handle_error_message(h));
	ck_assert_int_eq(procq_handle_value(hd, "d", &v), 0);
	ck_assert_double_eq(v, 8.0);
	procq_free(q);
}
END_TEST

/*
 * What a worker program writes in place of its hello, which a task
 * cannot forge: the program is this one, run with BAD_FIRST_ARG and the
 * frame's index.  The supervisor kills the worker for it, and the task
 * that waited for the worker fails with the reason.
 */
#define BAD_FIRST_ARG "--bad-first-frame"

static const struct {
	const char *bytes;
	size_t len;
	const char *message;
} bad_first[] = {
	/* [1]: a hello without its version and pid */
	{ "\x00\x00\x00\x02\x91\x01", 6, "worker did not say hello" },
	/* [2], [7]: an initializer's and a setup's failure without why */
	{ "\x00\x00\x00\x02\x91\x02", 6, "malformed initializer failure" },
	{ "\x00\x00\x00\x02\x91\x07", 6, "malformed setup failure" },
	/* [9, 1]: a wake with a field too many */
	{ "\x00\x00\x00\x03\x92\x09\x01", 7, "malformed wake frame" },
	/* [5, 1]: a limit report that names no limit */
	{ "\x00\x00\x00\x03\x92\x05\x01", 7, "malformed limit report" },
};
#define N_BAD_FIRST ((int)(sizeof bad_first / sizeof bad_first[0]))

/* The worker program: writes the frame, then waits for the end. */
static int
bad_first_worker(const char *index)
{
	int i = atoi(index);
	char c;

	if (i < 0 || i >= N_BAD_FIRST ||
	    write(WORKER_WRITE_FD, bad_first[i].bytes, bad_first[i].len) < 0)
		return 1;
	while (read(WORKER_READ_FD, &c, 1) > 0)
		;
	return 0;
}

START_TEST(test_malformed_first_frame)
{
	char arg0[] = "check_wire", arg1[] = BAD_FIRST_ARG, arg2[16];
	char *argv[] = { arg0, arg1, arg2, NULL };
	procq_config cfg = { .workers = 1, .start_method = PROCQ_START_EXEC,
		.worker_path = "/proc/self/exe", .worker_argv = argv,
		.max_memory = 1ull << 40 };
	procq_queue *q;
	procq_handle *h;

	snprintf(arg2, sizeof arg2, "%d", _i);
	q = new_queue_config(&cfg);
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "ident", NULL, "i", 1);
	wait_done(h, 30);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_msg(strstr(procq_handle_error_message(h),
	    bad_first[_i].message) != NULL, "%d: %s", _i,
	    procq_handle_error_message(h));
	procq_free(q);
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc;

	tc = add_tcase(s, "bad frames", 30);
	tcase_add_loop_test(tc, test_malformed_frame, 0, N_BAD);
	tcase_add_test(tc, test_protocol_error_retried);
	tcase_add_test(tc, test_oversized_frame);
	tcase_add_test(tc, test_result_pipe_closed);
	tcase_add_loop_test(tc, test_malformed_first_frame, 0, N_BAD_FIRST);

	tc = add_tcase(s, "sizes", 60);
	tcase_add_test(tc, test_result_size_limit);
	tcase_add_test(tc, test_large_frames);
	tcase_add_test(tc, test_many_small_tasks);
	return s;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], BAD_FIRST_ARG) == 0)
		return bad_first_worker(argv[2]);
	return run_suite(wire_suite());
}
