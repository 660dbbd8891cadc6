/*
 * The result ring (src/ring.h): records published and taken in order
 * across the ring's end, refused when the rule says the pipe must take
 * them, and refused by the supervisor when a worker scribbles on them.
 * Then through a queue: results come back through the ring, a crash loses
 * none it holds, and a worker that corrupts it is killed alone.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ring.h"
#include "util.h"

/* A board's file, as both sides see it: one mapping here. */
static char *
board_new(void)
{
	void *p = mmap(NULL, BOARD_FILE_SIZE, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

static struct ring_control *
control_of(char *board)
{
	return (struct ring_control *)(board + RING_CONTROL_OFFSET);
}

/* A record of len bytes whose content says where it came from. */
static void
fill(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(seed * 31 + i);
}

START_TEST(test_in_order)
{
	char *board = board_new(), a[100], b[7];
	struct ring_writer rw;
	struct ring_reader rr;
	const char *p;
	size_t len;

	ring_writer_init(&rw, board);
	ring_reader_init(&rr, board);
	ck_assert(!ring_pending(&rr));
	ck_assert_int_eq(ring_take(&rr, &p, &len), 0);
	ring_set_awake(&rr, true);
	fill(a, sizeof a, 1);
	fill(b, sizeof b, 2);
	ck_assert_int_eq(ring_put(&rw, a, sizeof a), RING_PUT);
	ck_assert_int_eq(ring_put(&rw, b, sizeof b), RING_PUT);
	ck_assert(ring_pending(&rr));
	ck_assert_int_eq(ring_take(&rr, &p, &len), 1);
	ck_assert_uint_eq(len, sizeof a + sizeof b);
	ck_assert_mem_eq(p, a, sizeof a);
	ck_assert_mem_eq(p + sizeof a, b, sizeof b);
	ck_assert(!ring_pending(&rr));
	ck_assert_int_eq(ring_take(&rr, &p, &len), 0);
	ring_reader_free(&rr);
	munmap(board, BOARD_FILE_SIZE);
}
END_TEST

/* The pipe takes the bytes while the supervisor sleeps, while it has not
 * acted on everything written to the pipe, when the record is large, and
 * when the ring is full. */
START_TEST(test_pipe_when_ring_may_not)
{
	char *board = board_new(), buf[4096];
	struct ring_writer rw;
	struct ring_reader rr;
	const char *p;
	size_t len;
	int put = 0;

	ring_writer_init(&rw, board);
	ring_reader_init(&rr, board);
	fill(buf, sizeof buf, 3);
	ck_assert_int_eq(ring_put(&rw, buf, 10), RING_NOT_PUT);	/* asleep */
	ring_set_awake(&rr, true);
	rw.written = 40;	/* 40 bytes down the pipe, none acted on */
	ck_assert_int_eq(ring_put(&rw, buf, 10), RING_NOT_PUT);
	ring_consumed(&rr, 40);
	ck_assert_int_eq(ring_put(&rw, buf, 10), RING_PUT);
	ck_assert_int_eq(ring_put(&rw, buf, 0), RING_NOT_PUT);
	{
		char *big = malloc(RING_SIZE / 2);

		ck_assert_ptr_nonnull(big);
		ck_assert_int_eq(ring_put(&rw, big, RING_SIZE / 2),
		    RING_NOT_PUT);
		free(big);
	}
	while (ring_put(&rw, buf, sizeof buf) == RING_PUT)
		put++;
	ck_assert_int_ge(put, RING_SIZE / sizeof buf - 2);
	ck_assert_int_eq(ring_take(&rr, &p, &len), 1);
	ck_assert_uint_eq(len, 10 + (size_t)put * sizeof buf);
	for (int i = 0; i < put; i++)
		ck_assert_mem_eq(p + 10 + (size_t)i * sizeof buf, buf,
		    sizeof buf);
	ck_assert_int_eq(ring_put(&rw, buf, sizeof buf), RING_PUT);
	ring_reader_free(&rr);
	munmap(board, BOARD_FILE_SIZE);
}
END_TEST

/* Records of many sizes, taken one or a few at a time, around the ring's
 * end again and again. */
START_TEST(test_wraps)
{
	char *board = board_new(), buf[3000];
	struct ring_writer rw;
	struct ring_reader rr;
	const char *p;
	size_t len, sizes[3];

	ring_writer_init(&rw, board);
	ring_reader_init(&rr, board);
	ring_set_awake(&rr, true);
	for (unsigned i = 0; i < 2000; i++) {
		size_t n = 1 + (i % 3), off = 0;

		for (size_t k = 0; k < n; k++) {
			sizes[k] = 1 + (i * 977 + k * 131) % sizeof buf;
			fill(buf, sizes[k], i + (unsigned)k);
			ck_assert_int_eq(ring_put(&rw, buf, sizes[k]),
			    RING_PUT);
		}
		ck_assert_int_eq(ring_take(&rr, &p, &len), 1);
		for (size_t k = 0; k < n; k++) {
			fill(buf, sizes[k], i + (unsigned)k);
			ck_assert_mem_eq(p + off, buf, sizes[k]);
			off += sizes[k];
		}
		ck_assert_uint_eq(off, len);
	}
	ck_assert_uint_gt(rr.head, 4 * (uint64_t)RING_SIZE);
	ring_reader_free(&rr);
	munmap(board, BOARD_FILE_SIZE);
}
END_TEST

/* What a hostile worker can write: a tail before the head, beyond the
 * ring, not on a record's boundary, or a record running past the end. */
START_TEST(test_refuses_scribbles)
{
	char *board = board_new(), buf[64];
	struct ring_control *ctl = control_of(board);
	struct ring_writer rw;
	struct ring_reader rr;
	const char *p;
	size_t len;
	uint32_t huge = RING_SIZE;

	ring_writer_init(&rw, board);
	ring_reader_init(&rr, board);
	ring_set_awake(&rr, true);
	fill(buf, sizeof buf, 4);
	ck_assert_int_eq(ring_put(&rw, buf, sizeof buf), RING_PUT);
	ck_assert_int_eq(ring_take(&rr, &p, &len), 1);
	atomic_store(&ctl->tail, rr.head - 8);
	ck_assert_int_eq(ring_take(&rr, &p, &len), -1);
	atomic_store(&ctl->tail, rr.head + RING_SIZE + 8);
	ck_assert_int_eq(ring_take(&rr, &p, &len), -1);
	atomic_store(&ctl->tail, rr.head + 3);
	ck_assert_int_eq(ring_take(&rr, &p, &len), -1);
	memcpy(board + RING_DATA_OFFSET + rr.head % RING_SIZE, &huge, 4);
	atomic_store(&ctl->tail, rr.head + 8);
	ck_assert_int_eq(ring_take(&rr, &p, &len), -1);
	ring_reader_free(&rr);
	munmap(board, BOARD_FILE_SIZE);
}
END_TEST

/*
 * The worker's own view of its ring, for the tasks below: the board is the
 * memory file the worker mapped ("procq-board"), found in its maps.
 */
static struct ring_control *
own_ring(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long start, found = 0;

	if (f == NULL)
		return NULL;
	while (fgets(line, sizeof line, f) != NULL)
		if (strstr(line, "procq-board") != NULL &&
		    sscanf(line, "%lx-", &start) == 1)
			found = start;
	fclose(f);
	return found == 0 ? NULL :
			    (struct ring_control *)(found + RING_CONTROL_OFFSET);
}

/* Returns how many bytes its worker has published in the ring so far:
 * 0 when it has none. */
static int
task_ring_tail(procq_call *c)
{
	struct ring_control *ctl = own_ring();

	if (ctl == NULL)
		return procq_call_fail(c, "RingError", "no board mapped");
	return procq_call_return(c, "l", (int64_t)atomic_load(&ctl->tail));
}

/* Tells its worker the supervisor is awake, so that its result goes into
 * the ring without waking the supervisor. */
static int
task_ring_quietly(procq_call *c)
{
	struct ring_control *ctl = own_ring();

	if (ctl == NULL)
		return procq_call_fail(c, "RingError", "no board mapped");
	atomic_store(&ctl->awake, 1);
	return procq_call_return(c, "i", 1);
}

/* Crashes while the ring holds a result the supervisor has not taken;
 * returns 0 if it holds none. */
static int
task_crash_if_held(procq_call *c)
{
	struct ring_control *ctl = own_ring();

	if (ctl == NULL)
		return procq_call_fail(c, "RingError", "no board mapped");
	if (atomic_load(&ctl->tail) != atomic_load(&ctl->head))
		raise(SIGSEGV);
	return procq_call_return(c, "i", 0);
}

/* Publishes a record the supervisor must refuse (kind 0: a tail off a
 * record's boundary; 1: a record longer than the ring), then reports
 * progress down the pipe, which the ring's rule puts after it. */
static int
task_ring_scribble(procq_call *c)
{
	struct ring_control *ctl = own_ring();
	uint32_t huge = RING_SIZE;
	uint64_t tail;
	int kind = 0;

	if (ctl == NULL || procq_call_unpack(c, "i", &kind) != 0)
		return procq_call_fail(c, "RingError", "no board mapped");
	tail = atomic_load(&ctl->tail);
	if (kind == 0) {
		atomic_store(&ctl->tail, tail + 3);
	} else {
		memcpy((char *)ctl - RING_CONTROL_OFFSET + RING_DATA_OFFSET +
		    tail % RING_SIZE, &huge, 4);
		atomic_store(&ctl->tail, tail + 8);
	}
	procq_call_progress(c, "i", 1);
	return procq_call_return(c, "i", 1);
}

static const procq_worker_task ring_tasks[] = {
	{ "ring_tail", task_ring_tail },
	{ "ring_quietly", task_ring_quietly },
	{ "crash_if_held", task_crash_if_held },
	{ "ring_scribble", task_ring_scribble },
	{ NULL, NULL }
};

static procq_queue *
ring_queue(int prefetch)
{
	procq_config cfg = { .workers = 1, .prefetch = prefetch };
	procq_queue *q = test_create_with(&cfg, ring_tasks, true, NULL);

	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(procq_start(q), 0);
	return q;
}

/* While the supervisor is busy with a stream of tasks, results come back
 * through the ring, every one of them right. */
START_TEST(test_results_through_ring)
{
	procq_config cfg = { .workers = 1 };
	procq_queue *q;
	double deadline = now() + 60;
	int64_t tail = 0;

	if (test_exec(&cfg))
		return;
	q = ring_queue(16);
	while (tail == 0 && now() < deadline) {
		enum { N = 5000 };
		procq_handle *h[N];

		for (int i = 0; i < N; i++)
			h[i] = submit_ok(q, i % 2 ? "ring_tail" : "ident",
			    NULL, "i", i);
		for (int i = 0; i < N; i++) {
			int64_t v;

			wait_done(h[i], 60);
			if (i % 2 == 0) {
				ck_assert_int_eq(int_value(h[i]), i);
				continue;
			}
			ck_assert_int_eq(procq_handle_value(h[i], "l", &v), 0);
			if (v > tail)
				tail = v;
		}
		for (int i = 0; i < N; i++)
			procq_handle_release(h[i]);
	}
	ck_assert_msg(tail > 0, "no result came through the ring");
	procq_free(q);
}
END_TEST

/*
 * A worker crashes while its ring holds the result of the task before:
 * that task keeps its result, with one attempt; only the crash fails.
 */
START_TEST(test_crash_keeps_ring_results)
{
	procq_config cfg = { .workers = 1 };
	procq_queue *q;
	double deadline = now() + 60;
	bool crashed = false;

	if (test_exec(&cfg))
		return;
	q = ring_queue(4);
	while (!crashed && now() < deadline) {
		procq_handle *a = submit_ok(q, "ring_quietly", NULL, "");
		procq_handle *b = submit_ok(q, "crash_if_held", NULL, "");

		wait_done(a, 30);
		wait_done(b, 30);
		ck_assert_int_eq(procq_handle_status(a), PROCQ_SUCCEEDED);
		ck_assert_int_eq(procq_handle_attempts(a), 1);
		ck_assert_int_eq(int_value(a), 1);
		if (procq_handle_status(b) == PROCQ_FAILED) {
			ck_assert_int_eq(procq_handle_error_kind(b),
			    PROCQ_ERR_CRASH);
			crashed = true;
		} else {
			ck_assert_int_eq(int_value(b), 0);
		}
		procq_handle_release(a);
		procq_handle_release(b);
	}
	ck_assert_msg(crashed, "the ring never held a result at a crash");
	procq_free(q);
}
END_TEST

/* A worker that scribbles on its ring is killed for it, its task failing
 * with a protocol error; the next task runs on a new worker. */
START_TEST(test_scribbled_ring_kills_worker)
{
	procq_config cfg = { .workers = 1 };
	procq_handle *h, *next;
	procq_queue *q;

	if (test_exec(&cfg))
		return;
	q = ring_queue(1);
	h = submit_ok(q, "ring_scribble", NULL, "i", _i);
	next = submit_ok(q, "ident", NULL, "i", 7);
	wait_done(h, 30);
	wait_done(next, 30);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_PROTOCOL);
	ck_assert_msg(strstr(message_of(h), "result ring") != NULL, "%s",
	    message_of(h));
	ck_assert_int_eq(int_value(next), 7);
	procq_free(q);
}
END_TEST

/*
 * Under a file size limit too small for the ring, the board is made
 * without it (growing its file would raise SIGXFSZ, which kills) and the
 * results come down the pipe.
 */
START_TEST(test_small_file_limit)
{
	procq_config cfg = { .workers = 1 };
	pid_t pid;
	int status;

	if (test_exec(&cfg))
		return;
	if ((pid = fork_child()) == 0) {
		struct rlimit rl = { .rlim_cur = 64 * 1024,
			.rlim_max = 64 * 1024 };
		procq_handle *h[100];
		procq_queue *q;

		signal(SIGXFSZ, SIG_DFL);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			test_child_exit(10);
		q = ring_queue(16);
		for (int i = 0; i < 100; i++)
			h[i] = submit_ok(q, "ring_tail", NULL, "i", i);
		for (int i = 0; i < 100; i++) {
			int64_t v = -1;

			if (procq_handle_wait(h[i], 30) != 0 ||
			    procq_handle_value(h[i], "l", &v) != 0 || v != 0)
				test_child_exit(11);
		}
		procq_free(q);
		test_child_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child: status %#x", status);
}
END_TEST

int
main(int argc, char **argv)
{
	Suite *s;
	TCase *tu, *tq;

	if (test_serve_as_worker(argc, argv, ring_tasks, true) >= 0)
		return 1;
	s = suite_create("ring");
	tu = add_tcase(s, "ring", 60);
	tq = add_tcase(s, "queue", 120);
	tcase_add_test(tu, test_in_order);
	tcase_add_test(tu, test_pipe_when_ring_may_not);
	tcase_add_test(tu, test_wraps);
	tcase_add_test(tu, test_refuses_scribbles);
	tcase_add_test(tq, test_results_through_ring);
	tcase_add_test(tq, test_crash_keeps_ring_results);
	tcase_add_loop_test(tq, test_scribbled_ring_kills_worker, 0, 2);
	tcase_add_test(tq, test_small_file_limit);
	return run_suite(s);
}
