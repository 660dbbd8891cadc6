/*
 * The result ring (src/ring.h): records published and taken in order
 * across the ring's end, refused when the rule says the pipe must take
 * them, taken up to the tail read before the pipe, and refused by the
 * supervisor when a worker scribbles on them.  Then through a queue:
 * results come back through the ring, a crash loses none it holds, a
 * worker that corrupts it is killed alone, and a WAKE frame may come
 * before hello.
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
#include "../worker/worker.h"

/* A board's file, as both sides see it: one mapping here. */
static char *
board_new(void)
{
	void *p = mmap(NULL, BOARD_FILE_SIZE, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

/* Everything published so far, as the supervisor takes it. */
static int
take(struct ring_reader *rr, const char **p, size_t *len)
{
	return ring_take(rr, ring_tail(rr), p, len);
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
	ck_assert_int_eq(take(&rr, &p, &len), 0);
	ring_set_awake(&rr, true);
	fill(a, sizeof a, 1);
	fill(b, sizeof b, 2);
	ck_assert_int_eq(ring_put(&rw, a, sizeof a), RING_PUT);
	ck_assert_int_eq(ring_put(&rw, b, sizeof b), RING_PUT);
	ck_assert(ring_pending(&rr));
	ck_assert_int_eq(take(&rr, &p, &len), 1);
	ck_assert_uint_eq(len, sizeof a + sizeof b);
	ck_assert_mem_eq(p, a, sizeof a);
	ck_assert_mem_eq(p + sizeof a, b, sizeof b);
	ck_assert(!ring_pending(&rr));
	ck_assert_int_eq(take(&rr, &p, &len), 0);
	ring_reader_free(&rr);
	munmap(board, BOARD_FILE_SIZE);
}
END_TEST

/*
 * An empty ring takes a record only while the supervisor is awake; one
 * that holds records takes more while they fit, asleep or not (asleep, the
 * worker must wake it).  A record that does not fit waits for the ring to
 * empty, then goes down the pipe; into an empty ring, it goes down the
 * pipe at once.
 */
START_TEST(test_pipe_only_when_empty)
{
	char *board = board_new(), buf[4096], *big;
	struct ring_writer rw;
	struct ring_reader rr;
	const char *p;
	size_t len;
	int put = 0;

	ring_writer_init(&rw, board);
	ring_reader_init(&rr, board);
	fill(buf, sizeof buf, 3);
	ck_assert_int_eq(ring_put(&rw, buf, 10), RING_NOT_PUT);	/* asleep */
	ck_assert_int_eq(ring_put(&rw, buf, 0), RING_NOT_PUT);
	ring_set_awake(&rr, true);
	ck_assert_int_eq(ring_put(&rw, buf, 10), RING_PUT);
	ring_set_awake(&rr, false);
	ck_assert_int_eq(ring_put(&rw, buf, 10), RING_PUT_WAKE);
	big = malloc(RING_SIZE / 2);
	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(ring_put(&rw, big, RING_SIZE / 2), RING_BUSY);
	ck_assert_int_eq(take(&rr, &p, &len), 1);
	ck_assert_uint_eq(len, 20);
	ring_wait_empty(&rw); /* returns: the ring is empty */
	ring_set_awake(&rr, true);
	ck_assert_int_eq(ring_put(&rw, big, RING_SIZE / 2), RING_NOT_PUT);
	free(big);
	while (ring_put(&rw, buf, sizeof buf) == RING_PUT)
		put++;
	ck_assert_int_ge(put, RING_SIZE / sizeof buf - 2);
	ck_assert_int_eq(ring_put(&rw, buf, sizeof buf), RING_BUSY);
	/* Taken some 16 KiB at a time: the copy stays small. */
	for (int taken = 0; taken < put; taken += (int)(len / sizeof buf)) {
		ck_assert_int_eq(take(&rr, &p, &len), 1);
		ck_assert_uint_le(len, 16384 + sizeof buf);
		ck_assert_uint_eq(len % sizeof buf, 0);
		for (size_t off = 0; off < len; off += sizeof buf)
			ck_assert_mem_eq(p + off, buf, sizeof buf);
	}
	ck_assert(!ring_pending(&rr));
	ck_assert_int_eq(ring_put(&rw, buf, sizeof buf), RING_PUT);
	ring_reader_free(&rr);
	munmap(board, BOARD_FILE_SIZE);
}
END_TEST

/* The supervisor takes what was published up to the tail it read before
 * its pipe; what came after waits for the next look. */
START_TEST(test_take_up_to_tail)
{
	char *board = board_new(), a[40], b[24];
	struct ring_writer rw;
	struct ring_reader rr;
	const char *p;
	size_t len;
	uint64_t tail;

	ring_writer_init(&rw, board);
	ring_reader_init(&rr, board);
	ring_set_awake(&rr, true);
	fill(a, sizeof a, 5);
	fill(b, sizeof b, 6);
	ck_assert_int_eq(ring_put(&rw, a, sizeof a), RING_PUT);
	tail = ring_tail(&rr);
	ck_assert_int_eq(ring_put(&rw, b, sizeof b), RING_PUT);
	ck_assert_int_eq(ring_take(&rr, tail, &p, &len), 1);
	ck_assert_uint_eq(len, sizeof a);
	ck_assert_mem_eq(p, a, sizeof a);
	ck_assert(ring_pending(&rr));
	ck_assert_int_eq(ring_take(&rr, tail, &p, &len), 0);
	ck_assert_int_eq(take(&rr, &p, &len), 1);
	ck_assert_uint_eq(len, sizeof b);
	ck_assert_mem_eq(p, b, sizeof b);
	ck_assert(!ring_pending(&rr));
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
		ck_assert_int_eq(take(&rr, &p, &len), 1);
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
	struct ring_control *ctl = RING_CONTROL(board);
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
	ck_assert_int_eq(take(&rr, &p, &len), 1);
	atomic_store(&ctl->tail, rr.head - 8);
	ck_assert_int_eq(take(&rr, &p, &len), -1);
	atomic_store(&ctl->tail, rr.head + RING_SIZE + 8);
	ck_assert_int_eq(take(&rr, &p, &len), -1);
	atomic_store(&ctl->tail, rr.head + 3);
	ck_assert_int_eq(take(&rr, &p, &len), -1);
	memcpy(RING_DATA(board) + rr.head % RING_SIZE, &huge, 4);
	atomic_store(&ctl->tail, rr.head + 8);
	ck_assert_int_eq(take(&rr, &p, &len), -1);
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
	return found == 0 ? NULL : RING_CONTROL(found);
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

/*
 * While the ring holds a result the supervisor has not taken, sends a
 * result for itself down the pipe, as a hostile task may, with the value
 * 2; then returns 7, a second result.  Returns 0 when the ring is empty.
 */
static int
task_result_if_held(procq_call *c)
{
	/* [3, id, true, bin(2)], the id a uint64 */
	char frame[4 + 15] = { 0, 0, 0, 15, (char)0x94, 3, (char)0xcf };
	struct ring_control *ctl = own_ring();

	if (ctl == NULL)
		return procq_call_fail(c, "RingError", "no board mapped");
	if (atomic_load(&ctl->tail) == atomic_load(&ctl->head))
		return procq_call_return(c, "i", 0);
	for (int i = 0; i < 8; i++)
		frame[7 + i] = (char)(c->wire_id >> (56 - 8 * i));
	memcpy(frame + 15, "\xc3\xc4\x01\x02", 4);
	if (write(WORKER_OUT_FD, frame, sizeof frame) < 0)
		return procq_call_fail(c, "OSError", "write");
	return procq_call_return(c, "i", 7);
}

/* While the ring holds a result the supervisor has not taken, writes
 * garbage to the pipe and waits to be killed.  Returns 0 when the ring
 * is empty. */
static int
task_garbage_if_held(procq_call *c)
{
	static const char garbage[] = { 0, 0, 0, 3, (char)0xc1, (char)0xc1,
		(char)0xc1 };
	struct ring_control *ctl = own_ring();

	if (ctl == NULL)
		return procq_call_fail(c, "RingError", "no board mapped");
	if (atomic_load(&ctl->tail) == atomic_load(&ctl->head))
		return procq_call_return(c, "i", 0);
	if (write(WORKER_OUT_FD, garbage, sizeof garbage) < 0)
		return procq_call_fail(c, "OSError", "write");
	for (;;)
		pause();
}

/* The WAKE frame, as the worker library writes it: a length of 2, then
 * [9]. */
static const char wake_frame[] = { 0, 0, 0, 2, (char)0x91, 9 };

/*
 * Publishes a record the supervisor must refuse (kind 0: a tail off a
 * record's boundary; 1: a record longer than the ring), and wakes the
 * supervisor for it.  It never returns: the worker's own next record
 * would go over the scribble.
 */
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
		memcpy(RING_DATA((char *)ctl - RING_CONTROL_OFFSET) +
		    tail % RING_SIZE, &huge, 4);
		atomic_store(&ctl->tail, tail + 8);
	}
	if (write(WORKER_OUT_FD, wake_frame, sizeof wake_frame) < 0)
		return procq_call_fail(c, "OSError", "write");
	for (;;)
		pause();
}

static const procq_worker_task ring_tasks[] = {
	{ "ring_tail", task_ring_tail }, { "ring_quietly", task_ring_quietly },
	{ "crash_if_held", task_crash_if_held },
	{ "ring_scribble", task_ring_scribble },
	{ "result_if_held", task_result_if_held },
	{ "garbage_if_held", task_garbage_if_held }, { NULL, NULL }
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
 * A caller that waits for each short task before it submits the next:
 * results come through the ring too, when the worker finishes before the
 * loop sleeps, or while it looks for a short task's result before it
 * sleeps (loop_await_results(); which of the two is a matter of time, and
 * the benchmark's latency scenario measures the second).  Short is a
 * matter of time too, which the sanitizers' builds do not keep to.
 */
START_TEST(test_one_at_a_time_through_ring)
{
	procq_config cfg = { .workers = 1 };
	procq_queue *q;
	double deadline = now() + 20;
	int64_t tail = 0, v;

	if (test_exec(&cfg) || TEST_ASAN || TEST_TSAN)
		return;
	q = ring_queue(0);
	for (int i = 0; tail == 0 && now() < deadline; i++) {
		procq_handle *h = submit_ok(q, "ring_tail", NULL, "i", i);

		ck_assert_int_eq(procq_handle_wait(h, 30), 0);
		ck_assert_int_eq(procq_handle_value(h, "l", &v), 0);
		tail = v;
		procq_handle_release(h);
	}
	ck_assert_msg(tail > 0, "no result of a lone task came through the "
	    "ring");
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

/*
 * The three tasks of the tests below, waited for: a leaves its result in
 * the ring without waking the supervisor, then b does what it does while
 * the ring may still hold a's result, then c.  Whatever b did, a keeps
 * its result and c runs, each with one attempt.
 */
struct held_run {
	procq_handle	*a, *b, *c;
};

static void
held_run(procq_queue *q, const char *task, struct held_run *r)
{
	r->a = submit_ok(q, "ring_quietly", NULL, "");
	r->b = submit_ok(q, task, NULL, "");
	r->c = submit_ok(q, "ident", NULL, "i", 5);
	wait_done(r->a, 30);
	wait_done(r->b, 30);
	wait_done(r->c, 30);
	ck_assert_msg(procq_handle_status(r->a) == PROCQ_SUCCEEDED, "%s",
	    message_of(r->a));
	ck_assert_int_eq(procq_handle_attempts(r->a), 1);
	ck_assert_int_eq(int_value(r->a), 1);
	ck_assert_msg(procq_handle_status(r->c) == PROCQ_SUCCEEDED, "%s",
	    message_of(r->c));
	ck_assert_int_eq(procq_handle_attempts(r->c), 1);
	ck_assert_int_eq(int_value(r->c), 5);
}

static void
held_run_release(struct held_run *r)
{
	procq_handle_release(r->a);
	procq_handle_release(r->b);
	procq_handle_release(r->c);
}

/*
 * A task sends a result for itself down the pipe while the ring holds the
 * result of the task before it: the pipe's frame is put after that one,
 * so the task before keeps its result and the task gets the result it
 * sent.  Its second result kills the worker, charging nobody: the task
 * after it runs again, with one attempt.
 */
START_TEST(test_own_result_among_ring_results)
{
	procq_config cfg = { .workers = 1 };
	struct held_run r;
	procq_queue *q;
	double deadline = now() + 60;
	bool held = false;

	if (test_exec(&cfg))
		return;
	q = ring_queue(4);
	while (!held && now() < deadline) {
		held_run(q, "result_if_held", &r);
		ck_assert_msg(procq_handle_status(r.b) == PROCQ_SUCCEEDED,
		    "%s", message_of(r.b));
		held = int_value(r.b) == 2;
		if (!held)
			ck_assert_int_eq(int_value(r.b), 0);
		held_run_release(&r);
	}
	ck_assert_msg(held, "the ring never held a result at the write");
	procq_free(q);
}
END_TEST

/*
 * A task writes garbage to the pipe while the ring holds the result of the
 * task before it, and stops: the task before keeps its result, the task
 * that wrote the garbage fails with a protocol error, and the task after
 * it runs on a new worker, with one attempt.
 */
START_TEST(test_garbage_among_ring_results)
{
	procq_config cfg = { .workers = 1 };
	struct held_run r;
	procq_queue *q;
	double deadline = now() + 60;
	bool held = false;

	if (test_exec(&cfg))
		return;
	q = ring_queue(4);
	while (!held && now() < deadline) {
		held_run(q, "garbage_if_held", &r);
		held = procq_handle_status(r.b) == PROCQ_FAILED;
		if (held)
			ck_assert_int_eq(procq_handle_error_kind(r.b),
			    PROCQ_ERR_PROTOCOL);
		else
			ck_assert_int_eq(int_value(r.b), 0);
		held_run_release(&r);
	}
	ck_assert_msg(held, "the ring never held a result at the write");
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

/* A LIMIT frame, [5, "memory"], as a worker's signal handler writes it. */
static const char limit_frame[] = { 0, 0, 0, 9, (char)0x92, 5, (char)0xa6,
	'm', 'e', 'm', 'o', 'r', 'y' };

/* The program of the workers below: it writes a WAKE frame, or a LIMIT
 * frame, before it serves, as a worker whose hello went into the ring
 * would write them to its pipe before the supervisor takes the hello. */
#define WAKE_FIRST_ARG "wake-first"
#define LIMIT_FIRST_ARG "limit-first"

static char first_arg0[] = "procq-test-worker";
static char first_arg1[] = TEST_WORKER_ARG;
static char wake_first_arg[] = WAKE_FIRST_ARG;
static char limit_first_arg[] = LIMIT_FIRST_ARG;
static char *first_argv[][4] = {
	{ first_arg0, first_arg1, wake_first_arg, NULL },
	{ first_arg0, first_arg1, limit_first_arg, NULL }
};

/* What the worker program writes before it serves, if anything. */
static int
write_first(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[2], WAKE_FIRST_ARG) == 0)
		return write(WORKER_OUT_FD, wake_frame, sizeof wake_frame) < 0;
	if (argc > 2 && strcmp(argv[2], LIMIT_FIRST_ARG) == 0)
		return write(WORKER_OUT_FD, limit_frame, sizeof limit_frame) <
		    0;
	return 0;
}

/* A WAKE or LIMIT frame may come before hello, which may be in the ring:
 * neither is taken for a hello that is not one. */
START_TEST(test_wake_before_hello)
{
	procq_config cfg = { .workers = 1, .start_method = PROCQ_START_EXEC,
		.worker_path = "/proc/self/exe", .worker_argv = first_argv[_i],
		.max_memory = 1ull << 40 };
	procq_queue *q;
	procq_handle *h;
	int err = 0;

	q = procq_create(&cfg, &err);
	ck_assert_msg(q != NULL, "procq_create: %s", procq_strerror(err));
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "ring_tail", NULL, "i", 1);
	wait_done(h, 30);
	ck_assert_msg(procq_handle_status(h) == PROCQ_SUCCEEDED, "%s",
	    message_of(h));
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

	if (write_first(argc, argv) != 0)
		return 1;
	if (test_serve_as_worker(argc, argv, ring_tasks, true) >= 0)
		return 1;
	s = suite_create("ring");
	tu = add_tcase(s, "ring", 60);
	tq = add_tcase(s, "queue", 120);
	tcase_add_test(tu, test_in_order);
	tcase_add_test(tu, test_pipe_only_when_empty);
	tcase_add_test(tu, test_take_up_to_tail);
	tcase_add_test(tu, test_wraps);
	tcase_add_test(tu, test_refuses_scribbles);
	tcase_add_test(tq, test_results_through_ring);
	tcase_add_test(tq, test_one_at_a_time_through_ring);
	tcase_add_test(tq, test_crash_keeps_ring_results);
	tcase_add_test(tq, test_own_result_among_ring_results);
	tcase_add_test(tq, test_garbage_among_ring_results);
	tcase_add_loop_test(tq, test_scribbled_ring_kills_worker, 0, 2);
	tcase_add_loop_test(tq, test_wake_before_hello, 0, 2);
	tcase_add_test(tq, test_small_file_limit);
	return run_suite(s);
}
