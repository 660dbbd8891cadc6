/*
 * Hooks: on_start, on_complete and on_retry with their arguments, on
 * which thread they run, and hooks calling back into procq.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "policy_tasks.h"
#include "util.h"

#define LOG_MAX 64
#define LOG_MAGIC 0x600d600dU

struct hook_log;
typedef void (*hook_action)(struct hook_log *l, procq_handle *h);

struct hook_log {
	unsigned magic;
	pthread_mutex_t lock;
	pthread_t test_thread;
	int seq;		/* every hook call, in order */
	int bad_arg;		/* calls whose hook_arg was not this log */
	int on_test_thread;	/* calls made on the test's thread */
	int on_other_thread;

	int starts;
	procq_handle *start_h[LOG_MAX];
	int start_seq[LOG_MAX];

	int completes;
	procq_handle *complete_h[LOG_MAX];
	int complete_seq[LOG_MAX];
	procq_status complete_status[LOG_MAX];
	char complete_id[LOG_MAX][17];
	bool complete_done[LOG_MAX];	/* handle final inside the hook */

	int retries;
	procq_handle *retry_h[LOG_MAX];
	procq_error_kind retry_kind[LOG_MAX];
	char retry_type[LOG_MAX][32];
	char retry_message[LOG_MAX][64];
	int retry_exit[LOG_MAX];
	int retry_signal[LOG_MAX];

	/* what a test does inside on_start / on_complete */
	hook_action start_action;
	hook_action complete_action;
	double complete_nap;		/* seconds each on_complete takes */
	procq_queue *q;
	void *data;
	atomic_int acted;
};

static void
log_init(struct hook_log *l)
{
	memset(l, 0, sizeof *l);
	l->magic = LOG_MAGIC;
	pthread_mutex_init(&l->lock, NULL);
	l->test_thread = pthread_self();
	atomic_init(&l->acted, 0);
}

static void
log_destroy(struct hook_log *l)
{
	pthread_mutex_destroy(&l->lock);
}

/* Common bookkeeping of every hook call; returns the call's sequence
 * number.  Called with l->lock held. */
static int
log_call(struct hook_log *l, void *arg)
{
	if (arg != l || l->magic != LOG_MAGIC)
		l->bad_arg++;
	if (pthread_equal(pthread_self(), l->test_thread))
		l->on_test_thread++;
	else
		l->on_other_thread++;
	return l->seq++;
}

static void
on_start(procq_handle *h, void *arg)
{
	struct hook_log *l = arg;
	hook_action act;

	pthread_mutex_lock(&l->lock);
	int s = log_call(l, arg);
	if (l->starts < LOG_MAX) {
		l->start_h[l->starts] = h;
		l->start_seq[l->starts] = s;
	}
	l->starts++;
	act = l->start_action;
	pthread_mutex_unlock(&l->lock);
	if (act != NULL)
		act(l, h);
}

static void
on_complete(procq_handle *h, const procq_result *r, void *arg)
{
	struct hook_log *l = arg;
	hook_action act;
	double delay;
	int i;

	/* the handle's own call, outside the log's lock */
	bool done = procq_handle_done(h);

	pthread_mutex_lock(&l->lock);
	int s = log_call(l, arg);
	if ((i = l->completes) < LOG_MAX) {
		l->complete_h[i] = h;
		l->complete_seq[i] = s;
		l->complete_status[i] = procq_result_status(r);
		snprintf(l->complete_id[i], sizeof l->complete_id[i], "%s",
		    procq_result_id(r));
		l->complete_done[i] = done;
	}
	act = l->complete_action;
	delay = l->complete_nap;
	pthread_mutex_unlock(&l->lock);
	if (delay > 0)
		nap(delay);	/* a hook with work to do */
	if (act != NULL)
		act(l, h);
	pthread_mutex_lock(&l->lock);
	l->completes++;
	pthread_mutex_unlock(&l->lock);
}

static void
on_retry(procq_handle *h, const procq_error *err, void *arg)
{
	struct hook_log *l = arg;
	int i;

	pthread_mutex_lock(&l->lock);
	log_call(l, arg);
	if ((i = l->retries) < LOG_MAX) {
		l->retry_h[i] = h;
		l->retry_kind[i] = err->kind;
		snprintf(l->retry_type[i], sizeof l->retry_type[i], "%s",
		    err->type != NULL ? err->type : "(null)");
		snprintf(l->retry_message[i], sizeof l->retry_message[i], "%s",
		    err->message != NULL ? err->message : "(null)");
		l->retry_exit[i] = err->exit_status;
		l->retry_signal[i] = err->signal;
	}
	l->retries++;
	pthread_mutex_unlock(&l->lock);
}

static procq_queue *
hook_queue(struct hook_log *l, procq_config cfg)
{
	cfg.on_start = on_start;
	cfg.on_complete = on_complete;
	cfg.on_retry = on_retry;
	cfg.hook_arg = l;
	l->q = policy_queue(&cfg);
	return l->q;
}

static int
count_of(struct hook_log *l, int *field)
{
	int n;

	pthread_mutex_lock(&l->lock);
	n = *field;
	pthread_mutex_unlock(&l->lock);
	return n;
}

struct count_arg {
	struct hook_log *l;
	int *field;
	int n;
};

static bool
count_reached(void *p)
{
	struct count_arg *a = p;

	return count_of(a->l, a->field) >= a->n;
}

static bool
wait_count(struct hook_log *l, int *field, int n, double timeout)
{
	struct count_arg a = { l, field, n };

	return wait_until(count_reached, &a, timeout);
}

/* Index of h among the recorded starts / completes, -1 if absent. */
static int
find_h(procq_handle *const *hs, int n, procq_handle *h, int from)
{
	for (int i = from; i < n && i < LOG_MAX; i++)
		if (hs[i] == h)
			return i;
	return -1;
}

START_TEST(test_hook_arguments)
{
	struct hook_log l;
	procq_queue *q;
	procq_handle *ok, *flaky, *bad;
	int s1, s2, c;

	log_init(&l);
	q = hook_queue(&l, (procq_config){ .workers = 1 });
	ok = submit_ok(q, "ident", NULL, "i", 1);
	flaky = submit_ok(q, "flaky", &(procq_opts){ .retries = 1 }, "i", 2);
	bad = submit_ok(q, "fail", NULL, "i", 3);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	/* hooks may still be running when the run returns */
	ck_assert(wait_count(&l, &l.completes, 3, 10));

	pthread_mutex_lock(&l.lock);
	ck_assert_int_eq(l.bad_arg, 0);
	ck_assert_int_eq(l.on_test_thread, 0);
	/* one on_start per attempt */
	ck_assert_int_eq(l.starts, 4);
	ck_assert_int_ge(find_h(l.start_h, l.starts, ok, 0), 0);
	ck_assert_int_ge(find_h(l.start_h, l.starts, bad, 0), 0);
	s1 = find_h(l.start_h, l.starts, flaky, 0);
	ck_assert_int_ge(s1, 0);
	s2 = find_h(l.start_h, l.starts, flaky, s1 + 1);
	ck_assert_int_gt(s2, s1);

	/* one on_complete per task, with its final result */
	ck_assert_int_eq(l.completes, 3);
	for (int i = 0; i < 3; i++) {
		procq_handle *h = l.complete_h[i];

		ck_assert(h == ok || h == flaky || h == bad);
		ck_assert_str_eq(l.complete_id[i], procq_handle_id(h));
		ck_assert_int_eq(l.complete_status[i], procq_handle_status(h));
		ck_assert(l.complete_done[i]);
		/* after the task's (last) start */
		ck_assert_int_gt(l.complete_seq[i],
		    l.start_seq[find_h(l.start_h, l.starts, h,
		    h == flaky ? s2 : 0)]);
	}
	c = find_h(l.complete_h, l.completes, bad, 0);
	ck_assert_int_eq(l.complete_status[c], PROCQ_FAILED);
	c = find_h(l.complete_h, l.completes, flaky, 0);
	ck_assert_int_eq(l.complete_status[c], PROCQ_SUCCEEDED);

	/* one on_retry, between flaky's two starts */
	ck_assert_int_eq(l.retries, 1);
	ck_assert_ptr_eq(l.retry_h[0], flaky);
	ck_assert_int_eq(l.retry_kind[0], PROCQ_ERR_TASK);
	ck_assert_str_eq(l.retry_type[0], "Flaky");
	ck_assert_str_eq(l.retry_message[0], "attempt 1");
	ck_assert_int_eq(l.retry_exit[0], -1);
	ck_assert_int_eq(l.retry_signal[0], -1);
	pthread_mutex_unlock(&l.lock);
	procq_free(q);
	log_destroy(&l);
}
END_TEST

/* on_retry for a timed out attempt; on_complete for a cancelled task. */
START_TEST(test_hook_timeout_and_cancel)
{
	struct hook_log l;
	procq_queue *q;
	procq_handle *slow, *hg, *queued;
	struct gate g;
	int c;

	gate_create(&g);
	log_init(&l);
	q = hook_queue(&l, (procq_config){ .workers = 1 });
	ck_assert_int_eq(procq_start(q), 0);
	hg = submit_ok(q, "gate", NULL, "s", g.path);
	ck_assert(gate_enter(&g, 10));
	queued = submit_ok(q, "ident", NULL, "i", 1);
	ck_assert_int_eq(procq_handle_cancel(queued), 0);
	ck_assert(wait_count(&l, &l.completes, 1, 10));
	gate_release(&g);
	slow = submit_ok(q, "sleep", &(procq_opts){ .retries = 1,
	    .timeout = 0.1 }, "d", 30.0);
	ck_assert_int_eq(procq_join(q, 10), 0);
	ck_assert(wait_count(&l, &l.completes, 3, 10));

	pthread_mutex_lock(&l.lock);
	ck_assert_ptr_eq(l.complete_h[0], queued);
	ck_assert_int_eq(l.complete_status[0], PROCQ_CANCELLED);
	/* a cancelled queued task never started */
	ck_assert_int_eq(find_h(l.start_h, l.starts, queued, 0), -1);
	c = find_h(l.complete_h, l.completes, slow, 0);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(l.complete_status[c], PROCQ_FAILED);
	ck_assert_int_eq(l.retries, 1);
	ck_assert_ptr_eq(l.retry_h[0], slow);
	ck_assert_int_eq(l.retry_kind[0], PROCQ_ERR_TIMEOUT);
	ck_assert_str_eq(l.retry_type[0], "Timeout");
	ck_assert_msg(strncmp(l.retry_message[0], "attempt timed out after ",
	    24) == 0, "message: %s", l.retry_message[0]);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_SUCCEEDED);
	pthread_mutex_unlock(&l.lock);
	procq_free(q);
	log_destroy(&l);
	gate_destroy(&g);
}
END_TEST

/* What a hook got back from procq calls. */
struct calls {
	procq_handle *gate_h;	/* the hook acts when this one starts */
	procq_handle *queued;	/* cancelled from the hook */
	procq_handle *done;	/* already final */
	int cancel_rc, stats_rc, run_rc, join_rc, shutdown_rc, reset_rc;
	int wait_rc, wait_done_rc, submit_rc, clear_rc;
	procq_stats st;
	procq_summary *results;
	bool closed;
	double wait_took;
	procq_handle *submitted;
};

static void
call_everything(struct hook_log *l, procq_handle *h)
{
	struct calls *c = l->data;
	procq_queue *q = l->q;
	double t0;

	if (h != c->gate_h || atomic_load(&l->acted))
		return;
	c->cancel_rc = procq_handle_cancel(c->queued);
	c->stats_rc = procq_stats_get(q, &c->st);
	c->run_rc = procq_run(q, NULL, NULL);
	c->join_rc = procq_join(q, 1.0);
	c->shutdown_rc = procq_shutdown(q, 0);
	c->reset_rc = procq_reset(q);
	t0 = now();
	c->wait_rc = procq_handle_wait(h, 1.0);
	c->wait_took = now() - t0;
	c->wait_done_rc = procq_handle_wait(c->done, PROCQ_FOREVER);
	c->submit_rc = procq_submitf(q, "ident", NULL, &c->submitted, "i", 8);
	c->results = procq_results(q);
	c->closed = procq_closed(q);
	procq_free(q);		/* refused: the queue stays usable */
	atomic_store(&l->acted, 1);
}

START_TEST(test_hook_calls_procq)
{
	struct hook_log l;
	struct calls c = { 0 };
	procq_queue *q;
	struct gate g;

	gate_create(&g);
	log_init(&l);
	l.data = &c;
	l.start_action = call_everything;
	q = hook_queue(&l, (procq_config){ .workers = 1 });
	/* every handle is known before the queue starts */
	c.done = submit_ok(q, "ident", NULL, "i", 1);
	ck_assert_int_eq(procq_handle_cancel(c.done), 0);
	c.gate_h = submit_ok(q, "gate", NULL, "s", g.path);
	c.queued = submit_ok(q, "ident", NULL, "i", 2);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(gate_enter(&g, 10));
	ck_assert(wait_until(flag_is_set, &l.acted, 10));

	ck_assert_int_eq(c.cancel_rc, 0);
	ck_assert_int_eq(procq_handle_status(c.queued), PROCQ_CANCELLED);
	ck_assert_int_eq(c.stats_rc, 0);
	ck_assert_uint_eq(c.st.active, 1);
	ck_assert_int_eq(c.st.workers, 1);
	ck_assert_int_eq(c.run_rc, PROCQ_EDEADLK);
	ck_assert_int_eq(c.join_rc, PROCQ_EDEADLK);
	ck_assert_int_eq(c.shutdown_rc, PROCQ_EDEADLK);
	ck_assert_int_eq(c.reset_rc, PROCQ_EDEADLK);
	ck_assert_int_eq(c.wait_done_rc, 0);
	ck_assert_int_eq(c.submit_rc, 0);
	ck_assert_ptr_nonnull(c.results);
	ck_assert_uint_ge(procq_summary_count(c.results), 1);
	ck_assert(!c.closed);
	ck_assert(!procq_closed(q));
	ck_assert_msg(c.wait_rc == PROCQ_EDEADLK, "procq_handle_wait on an "
	    "unfinished task from a hook: %s after %.3f s (the supervisor "
	    "thread was blocked)", procq_strerror(c.wait_rc), c.wait_took);

	gate_release(&g);
	ck_assert_int_eq(procq_join(q, 10), 0);
	ck_assert_int_eq(procq_handle_status(c.gate_h), PROCQ_SUCCEEDED);
	ck_assert_int_eq(int_value(c.submitted), 8);
	procq_summary_free(c.results);
	procq_free(q);
	log_destroy(&l);
	gate_destroy(&g);
}
END_TEST

static void
cancel_queue(struct hook_log *l, procq_handle *h)
{
	(void)h;
	if (atomic_load(&l->acted))
		return;
	((struct calls *)l->data)->cancel_rc = procq_cancel(l->q);
	atomic_store(&l->acted, 1);
}

/* procq_cancel(q) from a hook stops the run under way. */
START_TEST(test_hook_cancels_queue)
{
	struct hook_log l;
	struct calls c = { .cancel_rc = 12345 };
	procq_summary *s = NULL;
	procq_handle *h[4];
	procq_queue *q;
	struct gate g;
	int i;

	gate_create(&g);
	log_init(&l);
	l.data = &c;
	l.start_action = cancel_queue;
	q = hook_queue(&l, (procq_config){ .workers = 1 });
	h[0] = submit_ok(q, "gate", NULL, "s", g.path);
	for (i = 1; i < 4; i++)
		h[i] = submit_ok(q, "ident", NULL, "i", i);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert(atomic_load(&l.acted));
	ck_assert_int_eq(c.cancel_rc, 0);
	ck_assert(procq_closed(q));
	for (i = 0; i < 4; i++)
		ck_assert_msg(procq_handle_status(h[i]) == PROCQ_CANCELLED,
		    "task %d ended %s", i,
		    procq_status_name(procq_handle_status(h[i])));
	ck_assert_uint_eq(procq_summary_cancelled(s), 4);
	procq_summary_free(s);
	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	ck_assert_int_eq(count_of(&l, &l.completes), 4);
	procq_free(q);
	log_destroy(&l);
	gate_destroy(&g);
}
END_TEST

struct full_calls {
	procq_handle *gate_h;
	int submit_rc, timeout_rc, try_rc;
	double took;
};

static void
submit_when_full(struct hook_log *l, procq_handle *h)
{
	struct full_calls *c = l->data;
	double t0;

	if (h != c->gate_h || atomic_load(&l->acted))
		return;
	t0 = now();
	c->submit_rc = procq_submitf(l->q, "ident", NULL, NULL, "i", 1);
	c->timeout_rc = procq_submit_timeout(l->q, "ident", NULL, 0, NULL, 5.0,
	    NULL);
	c->try_rc = procq_try_submit(l->q, "ident", NULL, 0, NULL, NULL);
	c->took = now() - t0;
	atomic_store(&l->acted, 1);
}

/* From a hook a submit never waits for room. */
START_TEST(test_hook_submit_full)
{
	struct hook_log l;
	struct full_calls c = { 0 };
	procq_handle *queued;
	procq_queue *q;
	struct gate g;

	gate_create(&g);
	log_init(&l);
	l.data = &c;
	l.start_action = submit_when_full;
	q = hook_queue(&l, (procq_config){ .workers = 1, .size = 2 });
	c.gate_h = submit_ok(q, "gate", NULL, "s", g.path);
	queued = submit_ok(q, "ident", NULL, "i", 1);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(gate_enter(&g, 10));
	ck_assert(wait_until(flag_is_set, &l.acted, 10));
	ck_assert_int_eq(c.submit_rc, PROCQ_EFULL);
	ck_assert_int_eq(c.timeout_rc, PROCQ_EFULL);
	ck_assert_int_eq(c.try_rc, PROCQ_EFULL);
	ck_assert_msg(c.took < 2.0, "the submits took %.3f s", c.took);
	gate_release(&g);
	ck_assert_int_eq(procq_join(q, 10), 0);
	ck_assert_int_eq(procq_handle_status(queued), PROCQ_SUCCEEDED);
	procq_free(q);
	log_destroy(&l);
	gate_destroy(&g);
}
END_TEST

/* Every finished task's on_complete has run when procq_shutdown returns,
 * even when the hooks take a while. */
START_TEST(test_hooks_done_by_shutdown)
{
	struct hook_log l;
	procq_queue *q;
	int i;

	log_init(&l);
	l.complete_nap = 0.02;
	q = hook_queue(&l, (procq_config){ .workers = 2 });
	for (i = 0; i < 10; i++)
		submit_ok(q, "ident", NULL, "i", i);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	ck_assert_int_eq(count_of(&l, &l.completes), 10);
	ck_assert_int_eq(count_of(&l, &l.starts), 10);
	procq_free(q);
	log_destroy(&l);
}
END_TEST

START_TEST(test_hooks_done_by_free)
{
	struct hook_log l;
	procq_queue *q;
	procq_handle *h[6];
	int i;

	log_init(&l);
	l.complete_nap = 0.02;
	q = hook_queue(&l, (procq_config){ .workers = 2 });
	for (i = 0; i < 6; i++)
		h[i] = submit_ok(q, "ident", NULL, "i", i);
	ck_assert_int_eq(procq_start(q), 0);
	for (i = 0; i < 6; i++)
		wait_done(h[i], 10);
	procq_free(q);
	ck_assert_int_eq(count_of(&l, &l.completes), 6);
	log_destroy(&l);
}
END_TEST

/* With no supervisor thread, a hook runs on the thread whose call
 * finished the task. */
START_TEST(test_hooks_without_supervisor)
{
	struct hook_log l;
	procq_queue *q;
	procq_handle *a, *b, *c;

	log_init(&l);
	q = hook_queue(&l, (procq_config){ .workers = 1 });
	a = submit_ok(q, "ident", NULL, "i", 1);
	b = submit_ok(q, "ident", NULL, "i", 2);
	c = submit_ok(q, "ident", NULL, "i", 3);

	ck_assert_int_eq(procq_cancel(q), 0);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(b), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(c), PROCQ_CANCELLED);
	ck_assert_int_eq(count_of(&l, &l.completes), 3);
	ck_assert_int_eq(count_of(&l, &l.on_test_thread), 3);
	ck_assert_int_eq(count_of(&l, &l.starts), 0);
	procq_free(q);
	log_destroy(&l);
}
END_TEST

START_TEST(test_hook_handle_cancel_unstarted)
{
	struct hook_log l;
	procq_queue *q;
	procq_handle *a;

	log_init(&l);
	q = hook_queue(&l, (procq_config){ .workers = 1 });
	a = submit_ok(q, "ident", NULL, "i", 1);
	ck_assert_int_eq(procq_handle_cancel(a), 0);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_CANCELLED);
	ck_assert_msg(count_of(&l, &l.completes) == 1, "on_complete of a "
	    "task cancelled on a queue that is not started had not run when "
	    "procq_handle_cancel returned");
	ck_assert_int_eq(count_of(&l, &l.on_test_thread), 1);
	procq_free(q);
	ck_assert_int_eq(count_of(&l, &l.completes), 1);
	log_destroy(&l);
}
END_TEST

static Suite *
hooks_suite(void)
{
	Suite *s = suite_create("policy_hooks");
	TCase *tc;

	tc = add_tcase(s, "arguments", 30);
	tcase_add_test(tc, test_hook_arguments);
	tcase_add_test(tc, test_hook_timeout_and_cancel);

	tc = add_tcase(s, "reentry", 30);
	tcase_add_test(tc, test_hook_calls_procq);
	tcase_add_test(tc, test_hook_cancels_queue);
	tcase_add_test(tc, test_hook_submit_full);

	tc = add_tcase(s, "when", 30);
	tcase_add_test(tc, test_hooks_done_by_shutdown);
	tcase_add_test(tc, test_hooks_done_by_free);
	tcase_add_test(tc, test_hooks_without_supervisor);
	tcase_add_test(tc, test_hook_handle_cancel_unstarted);
	return s;
}

int
main(void)
{
	return run_suite(hooks_suite());
}
