/*
 * Hooks: on_start, on_complete and on_retry with their arguments, on
 * which thread they run, and hooks calling back into procq.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

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
	/* the run returns once its tasks' hooks have run */
	ck_assert_int_eq(count_of(&l, &l.completes), 3);

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
	ck_assert_int_eq(count_of(&l, &l.completes), 3);

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

/* What cancel_posted shares with the test's thread. */
struct posted {
	atomic_int in_hook;		/* the hook is waiting for b */
	_Atomic(procq_handle *) b;	/* submitted meanwhile, not placed */
	int cancel_rc;
};

static bool
posted_has_b(void *arg)
{
	struct posted *p = arg;

	return atomic_load(&p->b) != NULL;
}

/* In the first on_start: the owner is in this hook, so the task the test
 * submits meanwhile stays posted; the hook cancels it there. */
static void
cancel_posted(struct hook_log *l, procq_handle *h)
{
	struct posted *p = l->data;

	(void)h;
	if (atomic_load(&l->acted))
		return;
	atomic_store(&p->in_hook, 1);
	if (wait_until(posted_has_b, p, 10))
		p->cancel_rc = procq_handle_cancel(atomic_load(&p->b));
	atomic_store(&l->acted, 1);
}

/*
 * A hook cancels a task another thread has just submitted, before the
 * owner has taken the submit: the task is placed first, then cancelled,
 * and never runs.  (The cancel used to reach a task not yet placed, which
 * the owner then placed as if new.)
 */
START_TEST(test_hook_cancels_posted_submit)
{
	struct hook_log l;
	struct posted p = { .cancel_rc = 12345 };
	procq_handle *a, *b;
	procq_queue *q;

	atomic_init(&p.in_hook, 0);
	atomic_init(&p.b, NULL);
	log_init(&l);
	l.data = &p;
	l.start_action = cancel_posted;
	q = hook_queue(&l, (procq_config){ .workers = 1 });
	a = submit_ok(q, "ident", NULL, "i", 1);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(wait_until(flag_is_set, &p.in_hook, 10));
	b = submit_ok(q, "ident", NULL, "i", 2);
	atomic_store(&p.b, b);
	ck_assert(wait_until(flag_is_set, &l.acted, 10));
	ck_assert_int_eq(p.cancel_rc, 0);
	ck_assert_int_eq(procq_handle_wait(b, 10), 0);
	ck_assert_msg(procq_handle_status(b) == PROCQ_CANCELLED,
	    "the task cancelled before it was placed ended %s",
	    procq_status_name(procq_handle_status(b)));
	procq_handle_release(b);
	ck_assert_int_eq(procq_join(q, 10), 0);
	ck_assert_int_eq(procq_handle_status(a), PROCQ_SUCCEEDED);
	ck_assert_int_eq(count_of(&l, &l.starts), 1);
	ck_assert_int_eq(count_of(&l, &l.completes), 2);
	procq_free(q);
	log_destroy(&l);
}
END_TEST

/*
 * What the hooks and done callbacks of the tests below count, and when
 * an on_complete hook lets the test know it began, or waits (up to hold
 * seconds) for the run or join under test to return: long enough for
 * one that does not wait for the hook to return first.
 */
struct tally {
	atomic_int starts;
	atomic_int completes;
	atomic_int dones;
	atomic_int in_hook;
	atomic_int returned;
	double hold;
};

static void
tally_start(procq_handle *h, void *arg)
{
	struct tally *t = arg;

	(void)h;
	atomic_fetch_add(&t->starts, 1);
}

static void
tally_complete(procq_handle *h, const procq_result *r, void *arg)
{
	struct tally *t = arg;

	(void)h;
	(void)r;
	atomic_store(&t->in_hook, 1);
	if (t->hold > 0)
		wait_until(flag_is_set, &t->returned, t->hold);
	atomic_fetch_add(&t->completes, 1);
}

static void
tally_done(procq_handle *h, void *arg)
{
	struct tally *t = arg;

	(void)h;
	atomic_fetch_add(&t->dones, 1);
}

static procq_queue *
tally_queue(struct tally *t, procq_config cfg)
{
	cfg.on_start = tally_start;
	cfg.on_complete = tally_complete;
	cfg.hook_arg = t;
	return policy_queue(&cfg);
}

#define TALLY_ROUNDS	300
#define TALLY_TASKS	3

/*
 * A program that reads what its hooks and done callbacks collected, as
 * soon as a run (_i 0) or a join (_i 1) returns, finds it complete: they
 * wait for the hooks of the tasks they saw final, not only for the tasks.
 * Many rounds of a few quick tasks, for the hooks of a round's last task
 * to be still running when the task is final.
 */
START_TEST(test_waits_for_hooks)
{
	const char *call = _i == 0 ? "procq_run" : "procq_join";
	struct tally t = { 0 };
	procq_queue *q;
	procq_handle *h;
	int n;

	q = tally_queue(&t, (procq_config){ .workers = 2 });
	for (int r = 1; r <= TALLY_ROUNDS; r++) {
		for (int i = 0; i < TALLY_TASKS; i++) {
			h = submit_ok(q, "ident", NULL, "i", i);
			ck_assert_int_eq(procq_handle_on_done(h, tally_done, &t),
			    0);
			procq_handle_release(h);
		}
		if (_i == 0)
			ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
		else
			ck_assert_int_eq(procq_join(q, 10), 0);
		n = r * TALLY_TASKS;
		ck_assert_msg(atomic_load(&t.starts) == n &&
		    atomic_load(&t.completes) == n &&
		    atomic_load(&t.dones) == n,
		    "round %d: %s returned after %d on_start, %d on_complete "
		    "and %d done callbacks of %d tasks", r, call,
		    atomic_load(&t.starts), atomic_load(&t.completes),
		    atomic_load(&t.dones), n);
	}
	procq_free(q);
}
END_TEST

/* A run on its own thread that notes what it saw of the hooks as soon
 * as it returned. */
struct tally_run {
	pthread_t thread;
	procq_queue *q;
	struct tally *t;
	bool join;
	int rc;
	int seen;
	procq_summary *summary;
};

static void *
tally_run_main(void *arg)
{
	struct tally_run *tr = arg;

	if (tr->join)
		tr->rc = procq_join(tr->q, 10);
	else
		tr->rc = procq_run(tr->q, NULL, &tr->summary);
	tr->seen = atomic_load(&tr->t->completes);
	atomic_store(&tr->t->returned, 1);
	return NULL;
}

static void
tally_run_start(struct tally_run *tr, procq_queue *q, struct tally *t,
    bool join)
{
	memset(tr, 0, sizeof *tr);
	tr->q = q;
	tr->t = t;
	tr->join = join;
	ck_assert_int_eq(pthread_create(&tr->thread, NULL, tally_run_main,
	    tr), 0);
}

/* Calls procq_reset until it says a run is in flight (arg: the queue
 * holds nothing else that would make it busy). */
struct busy_probe {
	pthread_t thread;
	procq_queue *q;
	atomic_int busy;
};

static void *
busy_probe_main(void *arg)
{
	struct busy_probe *p = arg;
	double deadline = now() + 10;

	while (procq_reset(p->q) == 0 && now() < deadline)
		;
	atomic_store(&p->busy, 1);
	return NULL;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Runs the caller's loop until *flag is set, up to 10 s. */
static bool
dispatch_until_set(struct event_base *base, atomic_int *flag)
{
	double deadline = now() + 10;

	while (!atomic_load(flag) && now() < deadline)
		ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
	return atomic_load(flag) != 0;
}

/*
 * On the caller's event loop, a call on the loop's thread outside procq's
 * callbacks can end a task: its hooks wait for the next callback, the
 * same that runs the run's last command.  The run still returns after
 * them.
 */
START_TEST(test_run_waits_for_hooks_event_base)
{
	struct event_base *base;
	struct event *tick;
	struct timeval five_ms = { 0, 5000 };
	struct tally t = { .hold = 0.5 };
	struct tally_run tr;
	struct busy_probe probe = { .busy = 0 };
	procq_queue *q;

	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	ck_assert_int_eq(event_add(tick, &five_ms), 0);
	q = tally_queue(&t, (procq_config){ .workers = 1,
	    .mode = PROCQ_MODE_INFINITE, .event_base = base });
	ck_assert_int_eq(procq_start(q), 0);
	tally_run_start(&tr, q, &t, false);
	probe.q = q;
	ck_assert_int_eq(pthread_create(&probe.thread, NULL, busy_probe_main,
	    &probe), 0);
	ck_assert(dispatch_until_set(base, &probe.busy));
	ck_assert_int_eq(join_within(probe.thread, 10), 0);

	/* Here, on the loop's thread: the task is cancelled at once, and
	 * the run is over (closed, nothing unfinished). */
	submit_ok(q, "ident", &(procq_opts){ .delay = 30 }, "i", 1);
	ck_assert_int_eq(procq_cancel(q), 0);
	/* Pacing, not a wait for an outcome: the run's thread, woken by
	 * the cancel, posts its last command meanwhile, so that the next
	 * callback runs it before the hooks.  Without the pause the loop
	 * may run the hooks first, and a run that does not wait for them
	 * would pass; with it or without, one that does passes. */
	nap(0.05);
	ck_assert(dispatch_until_set(base, &t.returned));
	ck_assert_int_eq(join_within(tr.thread, 10), 0);
	ck_assert_int_eq(tr.rc, 0);
	ck_assert_msg(tr.seen == 1, "procq_run returned before on_complete "
	    "of its cancelled task ran");
	ck_assert_uint_eq(procq_summary_cancelled(tr.summary), 1);
	procq_summary_free(tr.summary);
	procq_free(q);
	event_free(tick);
	event_base_free(base);
}
END_TEST

static void *
cancel_main(void *arg)
{
	ck_assert_int_eq(procq_cancel(arg), 0);
	return NULL;
}

/*
 * With no owner, hooks run on the thread whose call recorded them (here,
 * a cancel of a queue never started): a run (_i 0) or a join (_i 1) on
 * another thread waits for them there.
 */
START_TEST(test_waits_for_hooks_no_owner)
{
	struct tally t = { .hold = 0.5 };
	struct tally_run tr;
	pthread_t canceller;
	procq_queue *q;

	q = tally_queue(&t, (procq_config){ .workers = 1 });
	submit_ok(q, "ident", NULL, "i", 1);
	ck_assert_int_eq(pthread_create(&canceller, NULL, cancel_main, q), 0);
	ck_assert(wait_until(flag_is_set, &t.in_hook, 10));
	tally_run_start(&tr, q, &t, _i == 1);
	ck_assert_int_eq(join_within(tr.thread, 10), 0);
	ck_assert_int_eq(join_within(canceller, 10), 0);
	ck_assert_int_eq(tr.rc, 0);
	ck_assert_msg(tr.seen == 1, "%s returned while on_complete ran on "
	    "another thread", _i == 0 ? "procq_run" : "procq_join");
	if (tr.summary != NULL)
		ck_assert_uint_eq(procq_summary_cancelled(tr.summary), 1);
	procq_summary_free(tr.summary);
	procq_free(q);
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
	tcase_add_test(tc, test_hook_cancels_posted_submit);

	tc = add_tcase(s, "waited_for", 60);
	tcase_add_loop_test(tc, test_waits_for_hooks, 0, 2);
	tcase_add_test(tc, test_run_waits_for_hooks_event_base);
	tcase_add_loop_test(tc, test_waits_for_hooks_no_owner, 0, 2);
	return s;
}

int
main(void)
{
	return run_suite(hooks_suite());
}
