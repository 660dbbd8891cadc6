/*
 * The scheduler against a fake transport: no process, no pipe, no loop.
 * A queue is made and given tasks but never started; its slots are the
 * fake's, which records what the scheduler asks of it, and the tests
 * report events as a transport would (transport.h) and check what the
 * scheduler made of them.
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "../src/dispatch.h"
#include "../src/queue.h"
#include "../src/task.h"
#include "../src/transport.h"

#define NSLOTS	2
#define NTASKS	7
#define WINDOW	3

struct fake {
	struct slot	 slot;
	int		 sent;
	int		 cancels;
	int		 kills;
	procq_error_kind kill_kind;
	procq_handle	*kill_target;
};

static struct fake fakes[NSLOTS];
static struct slot *fake_slots[NSLOTS];

static struct fake *
fake_of(struct slot *s)
{
	return (struct fake *)s;
}

static int
fake_open(procq_queue *q)
{
	memset(fakes, 0, sizeof fakes);
	for (int i = 0; i < NSLOTS; i++) {
		fakes[i].slot.q = q;
		fakes[i].slot.state = SLOT_LIVE;
		fakes[i].slot.ready = true;
		fakes[i].slot.id = 100 + i;
		TAILQ_INIT(&fakes[i].slot.inflight);
		fake_slots[i] = &fakes[i].slot;
	}
	q->slots = fake_slots;
	q->nslots = NSLOTS;
	return 0;
}

static void
fake_fill(procq_queue *q)
{
	(void)q;
}

/* Like a worker that runs its tasks in order: the head starts at once. */
static int
fake_send(struct slot *s, procq_handle *t, bool reclaimable)
{
	fake_of(s)->sent++;
	t->claim = reclaimable ? 1 : -1;
	if (slot_head(s) == t)
		dispatch_started(s, t);
	return 0;
}

static void
fake_cancel(struct slot *s)
{
	procq_handle *t;

	TAILQ_FOREACH(t, &s->inflight, worker_link) {
		if (t->tombstone && !t->cancel_sent) {
			t->cancel_sent = 1;
			fake_of(s)->cancels++;
		}
	}
}

static bool
fake_reclaim(struct slot *s, procq_handle *t)
{
	(void)s;
	if (t->claim < 0)
		return false;
	t->claim = -1;
	return true;
}

static void
fake_kill(struct slot *s, procq_error_kind kind, procq_handle *target,
    const char *message)
{
	(void)message;
	fake_of(s)->kills++;
	fake_of(s)->kill_kind = kind;
	fake_of(s)->kill_target = target;
	s->state = SLOT_DYING;
}

static void
fake_dismiss(struct slot *s)
{
	s->state = SLOT_DYING;
}

static void
fake_end_now(struct slot *s)
{
	s->state = SLOT_EMPTY;
}

static void
fake_flush(procq_queue *q)
{
	(void)q;
}

static void
fake_release(procq_queue *q)
{
	q->slots = NULL;
	q->nslots = 0;
}

static const struct transport_ops fake_ops = {
	.open = fake_open, .fill = fake_fill, .send = fake_send,
	.cancel = fake_cancel,
	.reclaim = fake_reclaim, .kill = fake_kill, .dismiss = fake_dismiss,
	.end_now = fake_end_now, .flush = fake_flush,
	.release = fake_release, .forget = fake_release
};

static const procq_error crash = {
	.kind = PROCQ_ERR_CRASH, .type = "WorkerCrash",
	.message = "worker died: SIGSEGV", .exit_status = -1, .signal = 11
};

static const procq_error timeout = {
	.kind = PROCQ_ERR_TIMEOUT, .type = "Timeout",
	.message = "attempt timed out", .exit_status = -1, .signal = -1
};

static procq_queue *q;
static procq_handle *h[NTASKS];

static int
nothing(procq_call *call)
{
	(void)call;
	return 0;
}

/* NTASKS tasks given one retry each, and one round of dispatch: each
 * slot holds WINDOW of them, the first it got running. */
static void
setup(void)
{
	procq_config cfg = { 0 };
	procq_opts opts = { 0 };
	int err;

	cfg.workers = NSLOTS;
	cfg.prefetch = WINDOW;
	q = procq_create(&cfg, &err);
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(procq_register(q, "task", nothing), 0);
	opts.retries = 1;
	for (int i = 0; i < NTASKS; i++)
		ck_assert_int_eq(procq_submit(q, "task", NULL, 0, &opts,
		    &h[i]), 0);
	q->transport = &fake_ops;
	ck_assert_int_eq(q->transport->open(q), 0);
	q->state = QUEUE_STARTED;	/* for dispatch_run() alone */
	dispatch_run(q);
	q->state = QUEUE_NEW;
}

static void
teardown(void)
{
	procq_handle *t;

	for (int i = 0; i < NSLOTS; i++) {
		while ((t = slot_head(fake_slots[i])) != NULL) {
			task_unlink(t);
			if (t->state == TASK_SENT || t->state == TASK_RUNNING)
				task_move(t, TASK_LOOSE);
		}
	}
	q->transport->release(q);
	task_cancel_all(q, 0);
	for (int i = 0; i < NTASKS; i++)
		procq_handle_release(h[i]);
	procq_free(q);
}

START_TEST(test_window)
{
	struct slot *s0 = fake_slots[0], *s1 = fake_slots[1];

	ck_assert_int_eq(s0->ninflight, WINDOW);
	ck_assert_int_eq(s1->ninflight, WINDOW);
	ck_assert_int_eq(fakes[0].sent + fakes[1].sent, 2 * WINDOW);
	ck_assert_uint_eq(q->nready, NTASKS - 2 * WINDOW);
	/* The fewest in flight first: the slots take turns. */
	ck_assert_ptr_eq(slot_head(s0), h[0]);
	ck_assert_ptr_eq(slot_head(s1), h[1]);
	ck_assert_int_eq(h[0]->state, TASK_RUNNING);
	ck_assert_int_eq(h[0]->attempts, 1);
	ck_assert_int_eq(h[2]->state, TASK_SENT);
	ck_assert_int_eq(h[2]->attempts, 0);
	/* A fixed prefetch: nothing sent ahead is to be taken back. */
	ck_assert_int_eq(h[2]->claim, -1);
}
END_TEST

/* A result finishes the head; the slot then has room for the task that
 * waited. */
START_TEST(test_result)
{
	struct slot *s0 = fake_slots[0];

	dispatch_result(s0, h[0], NULL, "\xc0", 1);
	ck_assert_int_eq(h[0]->state, TASK_DONE);
	ck_assert_int_eq(procq_handle_status(h[0]), PROCQ_SUCCEEDED);
	ck_assert_int_eq(s0->ninflight, WINDOW - 1);
	ck_assert_ptr_eq(slot_head(s0), h[2]);
	dispatch_started(s0, h[2]);
	ck_assert_int_eq(h[2]->state, TASK_RUNNING);
	q->state = QUEUE_STARTED;
	dispatch_run(q);
	q->state = QUEUE_NEW;
	ck_assert_int_eq(s0->ninflight, WINDOW);
	ck_assert_uint_eq(q->nready, 0);
}
END_TEST

/* A failed attempt with a retry left goes back in line, charged. */
START_TEST(test_result_failed)
{
	struct slot *s0 = fake_slots[0];
	procq_error err = {
		.kind = PROCQ_ERR_TASK, .type = "ValueError",
		.message = "bad", .exit_status = -1, .signal = -1
	};

	dispatch_result(s0, h[0], &err, NULL, 0);
	ck_assert_int_eq(h[0]->state, TASK_READY);
	ck_assert_int_eq(h[0]->attempts, 1);
	ck_assert_ptr_null(h[0]->slot);
}
END_TEST

/* The order the ready heap gives tasks back in; they go back after. */
static void
assert_ready_order(procq_handle *const *want, int n)
{
	procq_handle *got[NTASKS];

	for (int i = 0; i < n; i++)
		got[i] = task_ready_pop(q);
	for (int i = 0; i < n; i++) {
		ck_assert_ptr_eq(got[i], want[i]);
		ck_assert_int_eq(task_enqueue(got[i]), 0);
	}
}

/*
 * A worker that crashes: its running task answers for it (an attempt
 * spent, retried at the back of the line), the tasks sent ahead go back
 * without an attempt charged and keep their turn.
 */
START_TEST(test_died_charged)
{
	struct slot *s0 = fake_slots[0];
	procq_handle *const order[] = { h[2], h[4], h[6], h[0] };

	dispatch_died(s0, &crash, true);
	ck_assert_int_eq(s0->ninflight, 0);
	ck_assert_int_eq(h[0]->state, TASK_READY);
	ck_assert_int_eq(h[0]->attempts, 1);
	for (int i = 2; i <= 4; i += 2) {
		ck_assert_int_eq(h[i]->state, TASK_READY);
		ck_assert_int_eq(h[i]->attempts, 0);
		ck_assert_ptr_null(h[i]->slot);
	}
	ck_assert_uint_eq(q->nready, 4);
	assert_ready_order(order, 4);
}
END_TEST

/* A worker killed for another's sake: its running task is a bystander,
 * given back with the attempt it had begun uncharged. */
START_TEST(test_died_bystander)
{
	struct slot *s1 = fake_slots[1];

	dispatch_died(s1, &timeout, false);
	ck_assert_int_eq(h[1]->state, TASK_READY);
	ck_assert_int_eq(h[1]->attempts, 0);
	ck_assert_ptr_null(h[1]->result);
}
END_TEST

/* With no retry left, the crash is the running task's result. */
START_TEST(test_died_final)
{
	struct slot *s0 = fake_slots[0];

	h[0]->retries = 0;
	dispatch_died(s0, &crash, true);
	ck_assert_int_eq(h[0]->state, TASK_DONE);
	ck_assert_int_eq(procq_handle_status(h[0]), PROCQ_FAILED);
	ck_assert_int_eq(h[2]->state, TASK_READY);
	ck_assert_int_eq(h[2]->attempts, 0);
}
END_TEST

/*
 * A task sent ahead and cancelled is final at once but stays on the slot
 * as a tombstone: the transport is asked to drop it, once, and it leaves
 * when the transport says it did.
 */
START_TEST(test_cancel_ahead)
{
	struct slot *s0 = fake_slots[0];

	procq_handle_cancel(h[2]);
	ck_assert_int_eq(procq_handle_status(h[2]), PROCQ_CANCELLED);
	ck_assert_uint_eq(q->tombstones, 1);
	dispatch_send_cancels(q);
	dispatch_send_cancels(q);
	ck_assert_int_eq(fakes[0].cancels, 1);
	ck_assert_int_eq(fakes[0].kills, 0);
	ck_assert_int_eq(s0->ninflight, WINDOW);
	dispatch_cancelled(s0, h[2]);
	ck_assert_uint_eq(q->tombstones, 0);
	ck_assert_int_eq(s0->ninflight, WINDOW - 1);
	ck_assert_ptr_null(h[2]->slot);
}
END_TEST

/* A cancelled running task costs its worker: the slot is killed for it,
 * and the death it reports settles it as cancelled. */
START_TEST(test_cancel_running)
{
	struct slot *s1 = fake_slots[1];
	procq_error why = {
		.kind = PROCQ_ERR_CANCELLED, .type = "Cancelled",
		.message = "cancelled", .exit_status = -1, .signal = -1
	};

	procq_handle_cancel(h[1]);
	ck_assert_int_eq(h[1]->state, TASK_RUNNING);
	dispatch_send_cancels(q);
	ck_assert_int_eq(fakes[1].kills, 1);
	ck_assert_int_eq(fakes[1].kill_kind, PROCQ_ERR_CANCELLED);
	ck_assert_ptr_eq(fakes[1].kill_target, h[1]);
	dispatch_died(s1, &why, true);
	ck_assert_int_eq(procq_handle_status(h[1]), PROCQ_CANCELLED);
	ck_assert_int_eq(h[3]->state, TASK_READY);
}
END_TEST

static Suite *
transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *tc = tcase_create("scheduler");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_result);
	tcase_add_test(tc, test_result_failed);
	tcase_add_test(tc, test_died_charged);
	tcase_add_test(tc, test_died_bystander);
	tcase_add_test(tc, test_died_final);
	tcase_add_test(tc, test_cancel_ahead);
	tcase_add_test(tc, test_cancel_running);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(transport_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
