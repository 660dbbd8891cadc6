/*
 * Groups that act as one (procq_group(3)): fail-first for one group, what
 * a cancelled member does to its group (the three cancel modes), the
 * shield against each cancellation from outside, and members added and
 * removed while the group runs.  Every scene also holds tasks outside the
 * group (ungrouped, or of another group), running, sent ahead and queued,
 * and checks that they are untouched.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "procq.h"
#include "tasks.h"
#include "util.h"

/* gate_then (s path, s how): waits for the gate, then "fail"s with a
 * ValueError, "crash"es (SIGSEGV) or returns 1 ("ok").  Held at its gate
 * past its timeout, it times out. */
static int
task_gate_then(procq_call *c)
{
	char *path = NULL, *how = NULL;
	int rc = -1;

	if (procq_call_unpack(c, "ss", &path, &how) == 0 && path != NULL &&
	    how != NULL)
		rc = gate_pass(path);
	free(path);
	if (rc == -1) {
		free(how);
		return procq_call_fail(c, "ArgError", "gate_then wants (s s)");
	}
	if (strcmp(how, "crash") == 0)
		raise(SIGSEGV);
	rc = strcmp(how, "ok");
	free(how);
	if (rc != 0)
		return procq_call_fail(c, "ValueError", "failed on purpose");
	return procq_call_return(c, "i", 1);
}

static const procq_worker_task group_tasks[] = {
	{ "gate_then", task_gate_then },
	{ NULL, NULL }
};

/* Three warm workers taking two tasks each: the first three tasks run,
 * the next three are sent ahead (one behind each), the rest queue. */
static procq_queue *
scene_queue(procq_fail_policy policy)
{
	procq_config cfg = { .workers = 3, .prefetch = 2,
	    .fail_policy = policy };
	procq_queue *q;
	int err = 12345;

	q = test_create_with(&cfg, group_tasks, true, &err);
	ck_assert_msg(q != NULL, "procq_create: %s", procq_strerror(err));
	start_warm(q, 3);
	return q;
}

static procq_group *
group_new(procq_queue *q, const procq_group_opts *opts)
{
	int err = 12345;
	procq_group *g = procq_group_create(q, opts, &err);

	ck_assert_msg(g != NULL, "procq_group_create: %s",
	    procq_strerror(err));
	return g;
}

struct active_arg {
	procq_queue	*q;
	size_t		 n;
};

static bool
active_is(void *arg)
{
	struct active_arg *a = arg;

	return stats_of(a->q).active == a->n;
}

/* Waits until n tasks are running or sent ahead. */
static void
wait_active(procq_queue *q, size_t n)
{
	struct active_arg a = { q, n };

	ck_assert_msg(wait_until(active_is, &a, 10), "%zu tasks in flight",
	    n);
}

static void
assert_status(procq_handle *h, procq_status st)
{
	ck_assert_msg(procq_handle_status(h) == st, "%s is %s, not %s",
	    procq_handle_id(h), procq_status_name(procq_handle_status(h)),
	    procq_status_name(st));
}

/* Cancelled by its group's policy, before it started or not. */
static void
assert_cancelled_by(procq_handle *h, const char *why, bool started)
{
	assert_status(h, PROCQ_CANCELLED);
	ck_assert_msg(strstr(message_of(h), why) != NULL, "message \"%s\"",
	    message_of(h));
	if (!started)
		ck_assert_int_eq(procq_handle_attempts(h), 0);
}

/* Outsiders: each ends as if the group were not there. */
static void
assert_succeeds(procq_handle *h, int v)
{
	wait_done(h, 30);
	assert_status(h, PROCQ_SUCCEEDED);
	ck_assert_int_eq(int_value(h), v);
}

/*
 * The scene of the fail-first and cancel-mode tests: members R and K
 * running, P1 and P2 sent ahead (behind R and O), Q and M (must_complete)
 * queued; outside the group, O running, X (of another group) sent ahead
 * behind K, and U queued.
 */
struct scene {
	procq_queue	*q;
	procq_group	*g;
	procq_group	*other;
	struct gate	 gr, gk, go;
	procq_handle	*r, *k, *o, *p1, *p2, *x, *qd, *m, *u;
};

static void
scene_start(struct scene *sc, const procq_group_opts *opts,
    const char *k_how, double k_timeout)
{
	procq_opts must = { .must_complete = true };
	procq_opts kopts = { .timeout = k_timeout };

	memset(sc, 0, sizeof *sc);
	gate_create(&sc->gr);
	gate_create(&sc->gk);
	gate_create(&sc->go);
	sc->q = scene_queue(PROCQ_FAIL_DEFAULT);
	sc->g = group_new(sc->q, opts);
	sc->other = group_new(sc->q, NULL);
	sc->r = group_submit_ok(sc->g, "gate_then", NULL, "ss", sc->gr.path,
	    "ok");
	sc->k = group_submit_ok(sc->g, "gate_then", &kopts, "ss", sc->gk.path,
	    k_how);
	sc->o = submit_ok(sc->q, "gate", NULL, "s", sc->go.path);
	/* One behind each: a task sent ahead of K's end may run before
	 * the supervisor hears of that end, so X, not a member, is K's. */
	sc->p1 = group_submit_ok(sc->g, "ident", NULL, "i", 1);
	sc->x = group_submit_ok(sc->other, "ident", NULL, "i", 3);
	sc->p2 = group_submit_ok(sc->g, "ident", NULL, "i", 2);
	sc->qd = group_submit_ok(sc->g, "ident", NULL, "i", 4);
	sc->m = group_submit_ok(sc->g, "ident", &must, "i", 5);
	sc->u = submit_ok(sc->q, "ident", NULL, "i", 6);
	ck_assert(gate_enter(&sc->gr, 10));
	ck_assert(gate_enter(&sc->gk, 10));
	ck_assert(gate_enter(&sc->go, 10));
	wait_active(sc->q, 6);
}

/* The outsiders finish as they would have, and the queue takes more. */
static void
scene_outsiders_untouched(struct scene *sc)
{
	procq_handle *after;

	if (sc->go.wfd != -1)
		assert_status(sc->o, PROCQ_RUNNING);
	gate_release(&sc->go);
	wait_done(sc->o, 30);
	assert_status(sc->o, PROCQ_SUCCEEDED);
	assert_succeeds(sc->x, 3);
	assert_succeeds(sc->u, 6);
	ck_assert(!procq_closed(sc->q));
	after = submit_ok(sc->q, "ident", NULL, "i", 7);
	assert_succeeds(after, 7);
}

static void
scene_end(struct scene *sc)
{
	procq_group_free(sc->g);
	procq_group_free(sc->other);
	procq_free(sc->q);
	gate_destroy(&sc->gr);
	gate_destroy(&sc->gk);
	gate_destroy(&sc->go);
}

/* The first failure of a fail-first group, by each way a task can fail. */
static const struct {
	const char		*how;
	double			 timeout;
	procq_error_kind	 kind;
} firsts[] = {
	{ "fail", 0, PROCQ_ERR_TASK },
	{ "crash", 0, PROCQ_ERR_CRASH },
	{ "hang", 2, PROCQ_ERR_TIMEOUT },
};

/*
 * The first member to fail cancels the others (running, sent ahead and
 * queued), spares the one that must complete, and the group's summary
 * names it; nothing outside the group notices.
 */
START_TEST(test_fail_first)
{
	procq_group_opts opts = { .fail_policy = PROCQ_FAIL_FIRST };
	const procq_result *first;
	procq_summary *s = NULL;
	struct scene sc;

	scene_start(&sc, &opts, firsts[_i].how, firsts[_i].timeout);
	if (firsts[_i].timeout == 0)
		gate_release(&sc.gk);
	ck_assert_int_eq(procq_group_wait(sc.g, 30, &s), 0);

	assert_status(sc.k, PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(sc.k), firsts[_i].kind);
	assert_cancelled_by(sc.r, "failed first", true);
	ck_assert_ptr_nonnull(strstr(message_of(sc.r), procq_handle_id(sc.k)));
	assert_cancelled_by(sc.p1, "failed first", false);
	assert_cancelled_by(sc.p2, "failed first", false);
	assert_cancelled_by(sc.qd, "failed first", false);
	assert_status(sc.m, PROCQ_SUCCEEDED);

	ck_assert_uint_eq(procq_summary_count(s), 6);
	ck_assert_uint_eq(procq_summary_failed(s), 1);
	ck_assert_uint_eq(procq_summary_cancelled(s), 4);
	ck_assert_uint_eq(procq_summary_succeeded(s), 1);
	first = procq_summary_first_failure(s);
	ck_assert_ptr_nonnull(first);
	ck_assert_str_eq(procq_result_id(first), procq_handle_id(sc.k));
	procq_summary_free(s);

	scene_outsiders_untouched(&sc);
	scene_end(&sc);
}
END_TEST

/* Without fail-first (the default), a failure is one result among
 * others. */
START_TEST(test_fail_continue)
{
	procq_summary *s = NULL;
	struct scene sc;

	scene_start(&sc, NULL, "fail", 0);
	gate_release(&sc.gk);
	wait_done(sc.k, 30);
	assert_status(sc.o, PROCQ_RUNNING);
	gate_release(&sc.gr);
	gate_release(&sc.go);	/* P2 waits behind O */
	ck_assert_int_eq(procq_group_wait(sc.g, 30, &s), 0);
	assert_status(sc.k, PROCQ_FAILED);
	assert_succeeds(sc.r, 1);
	assert_succeeds(sc.p1, 1);
	assert_succeeds(sc.p2, 2);
	assert_succeeds(sc.qd, 4);
	ck_assert_uint_eq(procq_summary_failed(s), 1);
	ck_assert_ptr_null(procq_summary_first_failure(s));
	procq_summary_free(s);
	scene_outsiders_untouched(&sc);
	scene_end(&sc);
}
END_TEST

struct canceller {
	procq_handle	*h;
	int		 rc;
};

static void *
cancel_main(void *arg)
{
	struct canceller *c = arg;

	c->rc = procq_handle_cancel(c->h);
	return NULL;
}

/* procq_handle_cancel() of h from a thread of its own. */
static void
cancel_from_thread(procq_handle *h)
{
	struct canceller c = { h, 12345 };
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, cancel_main, &c), 0);
	ck_assert_int_eq(join_within(t, 10), 0);
	ck_assert_int_eq(c.rc, 0);
}

/* What the first cancelled member (cancelled by another thread) does to
 * its group under each cancel mode. */
START_TEST(test_cancel_modes)
{
	procq_group_cancel_mode mode = (procq_group_cancel_mode)_i;
	procq_group_opts opts = { .cancel_mode = mode };
	procq_summary *s = NULL;
	struct scene sc;
	int rc;

	scene_start(&sc, &opts, "ok", 0);
	cancel_from_thread(sc.k);
	wait_done(sc.k, 30);
	assert_status(sc.k, PROCQ_CANCELLED);
	if (mode == PROCQ_GROUP_CANCEL_IGNORE) {
		assert_status(sc.o, PROCQ_RUNNING);
		gate_release(&sc.gr);
		gate_release(&sc.go);	/* P2 waits behind O */
	}
	rc = procq_group_wait(sc.g, 30, &s);
	ck_assert_ptr_nonnull(s);
	if (mode == PROCQ_GROUP_CANCEL_IGNORE) {
		ck_assert_int_eq(rc, 0);
		assert_succeeds(sc.r, 1);
		assert_succeeds(sc.p1, 1);
		assert_succeeds(sc.p2, 2);
		assert_succeeds(sc.qd, 4);
		ck_assert_uint_eq(procq_summary_cancelled(s), 1);
	} else {
		ck_assert_int_eq(rc, mode == PROCQ_GROUP_CANCEL_RAISE ?
		    PROCQ_ECANCELLED : 0);
		assert_cancelled_by(sc.r, "was cancelled first", true);
		ck_assert_ptr_nonnull(strstr(message_of(sc.r),
		    procq_handle_id(sc.k)));
		assert_cancelled_by(sc.p1, "was cancelled first", false);
		assert_cancelled_by(sc.p2, "was cancelled first", false);
		assert_cancelled_by(sc.qd, "was cancelled first", false);
		/* must_complete spares a task from failures, not from a
		 * cancellation */
		assert_cancelled_by(sc.m, "was cancelled first", false);
		ck_assert_uint_eq(procq_summary_cancelled(s), 6);
	}
	ck_assert_ptr_null(procq_summary_first_failure(s));
	procq_summary_free(s);
	scene_outsiders_untouched(&sc);
	scene_end(&sc);
}
END_TEST

/* procq_group_cancel() is the group's cancellation: its wait says so
 * under PROCQ_GROUP_CANCEL_RAISE alone. */
START_TEST(test_group_cancel_reported)
{
	procq_group_cancel_mode mode = (procq_group_cancel_mode)_i;
	procq_group_opts opts = { .cancel_mode = mode };
	procq_queue *q = scene_queue(PROCQ_FAIL_DEFAULT);
	procq_group *g = group_new(q, &opts);
	procq_handle *h, *out;
	struct gate gt;

	gate_create(&gt);
	h = group_submit_ok(g, "gate", NULL, "s", gt.path);
	out = submit_ok(q, "ident", NULL, "i", 8);
	ck_assert(gate_enter(&gt, 10));
	ck_assert_uint_eq(procq_group_cancel(g), 1);
	ck_assert_int_eq(procq_group_wait(g, 30, NULL),
	    mode == PROCQ_GROUP_CANCEL_RAISE ? PROCQ_ECANCELLED : 0);
	assert_status(h, PROCQ_CANCELLED);
	assert_succeeds(out, 8);
	procq_group_free(g);
	procq_free(q);
	gate_destroy(&gt);
}
END_TEST

/*
 * A shielded group against each cancellation from outside: its running
 * member S and its queued member T run to the end while the outsiders
 * are cancelled.
 */
enum outside { BY_CANCEL, BY_RUN_TIMEOUT, BY_QUEUE_FAIL_FIRST, NOUTSIDE };

START_TEST(test_shield)
{
	enum outside by = (enum outside)_i;
	procq_group_opts opts = { .shield = true };
	procq_queue *q = scene_queue(by == BY_QUEUE_FAIL_FIRST ?
	    PROCQ_FAIL_FIRST : PROCQ_FAIL_DEFAULT);
	procq_group *g = group_new(q, &opts);
	procq_handle *s, *t, *o, *f, *u;
	struct run_thread rt;
	struct gate gs, go, gf;

	gate_create(&gs);
	gate_create(&go);
	gate_create(&gf);
	s = group_submit_ok(g, "gate_then", NULL, "ss", gs.path, "ok");
	o = submit_ok(q, "gate", NULL, "s", go.path);
	f = submit_ok(q, "gate_then", NULL, "ss", gf.path, "fail");
	t = group_submit_ok(g, "ident", NULL, "i", 12);
	u = submit_ok(q, "ident", NULL, "i", 13);
	ck_assert(gate_enter(&gs, 10));
	ck_assert(gate_enter(&go, 10));
	ck_assert(gate_enter(&gf, 10));
	switch (by) {
	case BY_CANCEL:
		ck_assert_int_eq(procq_cancel(q), 0);
		break;
	case BY_RUN_TIMEOUT:
		run_thread_start(&rt, q, &(procq_run_opts){ .timeout = 0.2 });
		break;
	default:
		gate_release(&gf);
		break;
	}
	ck_assert(wait_status(o, PROCQ_CANCELLED, 30));
	ck_assert(wait_status(u, PROCQ_CANCELLED, 30));
	assert_status(s, PROCQ_RUNNING);
	gate_release(&gs);
	assert_succeeds(s, 1);
	assert_succeeds(t, 12);
	if (by == BY_RUN_TIMEOUT) {
		ck_assert_int_eq(run_thread_join(&rt, 30), PROCQ_ETIMEDOUT);
		ck_assert(procq_summary_run_timed_out(rt.summary));
		procq_summary_free(rt.summary);
	}
	if (by != BY_QUEUE_FAIL_FIRST)
		ck_assert(wait_status(f, PROCQ_CANCELLED, 30));
	else
		assert_status(f, PROCQ_FAILED);
	ck_assert_int_eq(procq_group_wait(g, 30, NULL), 0);
	procq_group_free(g);
	procq_free(q);
	gate_destroy(&gs);
	gate_destroy(&go);
	gate_destroy(&gf);
}
END_TEST

/* The group's own cancel and a forced shutdown pass the shield. */
START_TEST(test_shield_own_cancel_and_force)
{
	procq_group_opts opts = { .shield = true };
	procq_queue *q = scene_queue(PROCQ_FAIL_DEFAULT);
	procq_group *g = group_new(q, &opts);
	procq_group *g2 = group_new(q, &opts);
	procq_handle *s, *t, *s2;
	struct gate gs, gs2;

	gate_create(&gs);
	gate_create(&gs2);
	s = group_submit_ok(g, "gate", NULL, "s", gs.path);
	s2 = group_submit_ok(g2, "gate", NULL, "s", gs2.path);
	t = group_submit_ok(g, "ident", NULL, "i", 1);
	ck_assert(gate_enter(&gs, 10));
	ck_assert(gate_enter(&gs2, 10));
	wait_done(t, 30);
	ck_assert_uint_eq(procq_group_cancel(g), 1);
	ck_assert(wait_status(s, PROCQ_CANCELLED, 30));
	assert_status(s2, PROCQ_RUNNING);
	ck_assert_int_eq(procq_shutdown(q, PROCQ_SHUTDOWN_FORCE), 0);
	assert_status(s2, PROCQ_CANCELLED);
	procq_group_free(g);
	procq_group_free(g2);
	procq_free(q);
	gate_destroy(&gs);
	gate_destroy(&gs2);
}
END_TEST

/*
 * A member taken out while it runs is no longer the group's: the group's
 * first failure does not cancel it, the group's wait and summary leave
 * it out, and it runs to its own end.
 */
START_TEST(test_remove_running)
{
	procq_group_opts opts = { .fail_policy = PROCQ_FAIL_FIRST };
	procq_queue *q = scene_queue(PROCQ_FAIL_DEFAULT);
	procq_group *g = group_new(q, &opts);
	procq_handle *a, *b, *c;
	procq_summary *s = NULL;
	struct gate ga, gb;

	gate_create(&ga);
	gate_create(&gb);
	a = group_submit_ok(g, "gate_then", NULL, "ss", ga.path, "fail");
	b = group_submit_ok(g, "gate_then", NULL, "ss", gb.path, "ok");
	c = group_submit_ok(g, "gate", NULL, "s", gb.path);
	ck_assert(gate_enter(&ga, 10));
	ck_assert(gate_enter(&gb, 10));
	ck_assert_int_eq(procq_group_remove(g, b), 0);
	ck_assert_uint_eq(procq_group_size(g), 2);
	ck_assert_ptr_eq(procq_group_handle(g, 0), a);
	ck_assert_ptr_eq(procq_group_handle(g, 1), c);
	gate_release(&ga);
	ck_assert_int_eq(procq_group_wait(g, 30, &s), 0);
	assert_status(a, PROCQ_FAILED);
	assert_cancelled_by(c, "failed first", true);
	assert_status(b, PROCQ_RUNNING);
	ck_assert_uint_eq(procq_summary_count(s), 2);
	ck_assert_ptr_null(procq_summary_by_id(s, procq_handle_id(b)));
	procq_summary_free(s);
	gate_release(&gb);
	assert_succeeds(b, 1);
	procq_group_free(g);
	procq_free(q);
	gate_destroy(&ga);
	gate_destroy(&gb);
}
END_TEST

/* A running task added to a fail-first group is cancelled with it; one
 * added to a shielded group is shielded from then on. */
START_TEST(test_add_running)
{
	procq_group_opts ff = { .fail_policy = PROCQ_FAIL_FIRST };
	procq_group_opts sh = { .shield = true };
	procq_queue *q = scene_queue(PROCQ_FAIL_DEFAULT);
	procq_group *g = group_new(q, &ff), *gs = group_new(q, &sh);
	procq_handle *a, *h, *k;
	struct gate ga, gh, gk;

	gate_create(&ga);
	gate_create(&gh);
	gate_create(&gk);
	h = submit_ok(q, "gate", NULL, "s", gh.path);
	k = submit_ok(q, "gate_then", NULL, "ss", gk.path, "ok");
	a = group_submit_ok(g, "gate_then", NULL, "ss", ga.path, "fail");
	ck_assert(gate_enter(&gh, 10));
	ck_assert(gate_enter(&gk, 10));
	ck_assert(gate_enter(&ga, 10));
	ck_assert_int_eq(procq_group_add(g, h), 0);
	ck_assert_int_eq(procq_group_add(g, h), PROCQ_EEXIST);
	ck_assert_int_eq(procq_group_add(gs, k), 0);
	gate_release(&ga);
	ck_assert_int_eq(procq_group_wait(g, 30, NULL), 0);
	assert_status(a, PROCQ_FAILED);
	assert_cancelled_by(h, "failed first", true);
	ck_assert_int_eq(procq_cancel(q), 0);
	assert_status(k, PROCQ_RUNNING);
	gate_release(&gk);
	assert_succeeds(k, 1);
	procq_group_free(g);
	procq_group_free(gs);
	procq_free(q);
	gate_destroy(&ga);
	gate_destroy(&gh);
	gate_destroy(&gk);
}
END_TEST

/* procq_group_next() gives only members: one removed before or after it
 * was given no longer counts. */
START_TEST(test_remove_and_next)
{
	procq_queue *q = scene_queue(PROCQ_FAIL_DEFAULT);
	procq_group *g = group_new(q, NULL);
	procq_handle *x, *y, *z, *h;
	const msgpack_object *values[3];
	int err = 12345;

	x = group_submit_ok(g, "ident", NULL, "i", 1);
	y = group_submit_ok(g, "ident", NULL, "i", 2);
	z = group_submit_ok(g, "ident", NULL, "i", 3);
	ck_assert_int_eq(procq_group_wait(g, 30, NULL), 0);
	h = procq_group_next(g, 0, &err);
	ck_assert_int_eq(err, 0);
	ck_assert_int_eq(procq_group_remove(g, h), 0);
	ck_assert_int_eq(procq_group_remove(g, h), PROCQ_EINVAL);
	ck_assert_int_eq(procq_group_remove(g, h == z ? y : z), 0);
	ck_assert_uint_eq(procq_group_size(g), 1);
	h = procq_group_next(g, 0, &err);
	ck_assert_int_eq(err, 0);
	ck_assert_ptr_nonnull(h);
	ck_assert(h == x || h == y);
	ck_assert_ptr_eq(procq_group_handle(g, 0), h);
	ck_assert_ptr_null(procq_group_next(g, 0, &err));
	ck_assert_int_eq(err, 0);
	ck_assert_int_eq(procq_group_values(g, values, NULL), 0);
	ck_assert_int_eq(obj_int(values[0]), int_value(h));
	/* back in: at the end, and given again */
	ck_assert_int_eq(procq_group_add(g, z), 0);
	ck_assert_uint_eq(procq_group_size(g), 2);
	ck_assert_ptr_eq(procq_group_next(g, 0, &err), z);
	ck_assert_int_eq(procq_group_remove(g, NULL), PROCQ_EINVAL);
	ck_assert_int_eq(procq_group_remove(NULL, z), PROCQ_EINVAL);
	procq_group_free(g);
	procq_free(q);
}
END_TEST

/* A member given and then removed leaves the count of those given: the
 * next call waits for the member still running. */
START_TEST(test_remove_given_then_wait)
{
	procq_queue *q = scene_queue(PROCQ_FAIL_DEFAULT);
	procq_group *g = group_new(q, NULL);
	procq_handle *a, *w;
	struct gate gw;
	int err = 12345;

	gate_create(&gw);
	a = group_submit_ok(g, "ident", NULL, "i", 1);
	wait_done(a, 30);
	w = group_submit_ok(g, "gate_then", NULL, "ss", gw.path, "ok");
	ck_assert(gate_enter(&gw, 10));
	ck_assert_ptr_eq(procq_group_next(g, 0, &err), a);
	ck_assert_int_eq(procq_group_remove(g, a), 0);
	ck_assert_ptr_null(procq_group_next(g, 0, &err));
	ck_assert_int_eq(err, PROCQ_ETIMEDOUT);
	gate_release(&gw);
	ck_assert_ptr_eq(procq_group_next(g, 30, &err), w);
	ck_assert_int_eq(err, 0);
	procq_group_free(g);
	procq_free(q);
	gate_destroy(&gw);
}
END_TEST

/* One thread adds handles while another removes each as soon as it
 * sees it: every add is matched by one removal.  The tasks wait an hour,
 * so that each add links the group's waiter to its task, and are
 * cancelled once the group is freed: a link left behind would be
 * followed then (ASan watches). */
#define NCHURN 300

struct churn {
	procq_group	*g;
	atomic_int	 removed;
};

static void *
churn_remove(void *arg)
{
	struct churn *c = arg;
	procq_handle *h;

	while (atomic_load(&c->removed) < NCHURN) {
		if ((h = procq_group_handle(c->g, 0)) == NULL)
			continue;
		ck_assert_int_eq(procq_group_remove(c->g, h), 0);
		atomic_fetch_add(&c->removed, 1);
	}
	return NULL;
}

START_TEST(test_add_remove_threads)
{
	procq_group_opts opts = { .fail_policy = PROCQ_FAIL_FIRST };
	procq_opts later = { .delay = 3600 };
	procq_queue *q = scene_queue(PROCQ_FAIL_DEFAULT);
	procq_handle *hs[NCHURN];
	struct churn c;
	pthread_t t;

	c.g = group_new(q, &opts);
	atomic_init(&c.removed, 0);
	for (int i = 0; i < NCHURN; i++)
		hs[i] = submit_ok(q, "ident", &later, "i", i);
	ck_assert_int_eq(pthread_create(&t, NULL, churn_remove, &c), 0);
	for (int i = 0; i < NCHURN; i++)
		ck_assert_int_eq(procq_group_add(c.g, hs[i]), 0);
	ck_assert_int_eq(join_within(t, 30), 0);
	ck_assert_uint_eq(procq_group_size(c.g), 0);
	procq_group_free(c.g);
	ck_assert_int_eq(procq_cancel(q), 0);
	for (int i = 0; i < NCHURN; i++)
		assert_status(hs[i], PROCQ_CANCELLED);
	procq_free(q);
}
END_TEST

/*
 * A task in two groups: the failure that trips the first group cancels
 * it, and that cancellation trips the second group's cancel mode, which
 * cancels the second group's own member.  A handle already failed when
 * it is added sets off nothing.
 */
START_TEST(test_groups_overlap)
{
	procq_group_opts ff = { .fail_policy = PROCQ_FAIL_FIRST };
	procq_group_opts raise = { .cancel_mode = PROCQ_GROUP_CANCEL_RAISE };
	procq_opts later = { .delay = 3600 };
	procq_queue *q = scene_queue(PROCQ_FAIL_DEFAULT);
	procq_group *a = group_new(q, &ff), *b = group_new(q, &raise);
	procq_handle *shared, *own, *f, *waiting, *failed;
	procq_summary *s = NULL;
	struct gate gs, go, gf;

	gate_create(&gs);
	gate_create(&go);
	gate_create(&gf);
	failed = submit_ok(q, "fail", NULL, "i", 1);
	wait_done(failed, 30);
	shared = group_submit_ok(a, "gate", NULL, "s", gs.path);
	own = group_submit_ok(b, "gate", NULL, "s", go.path);
	f = group_submit_ok(a, "gate_then", NULL, "ss", gf.path, "fail");
	waiting = group_submit_ok(a, "ident", &later, "i", 2);
	ck_assert(gate_enter(&gs, 10));
	ck_assert(gate_enter(&go, 10));
	ck_assert(gate_enter(&gf, 10));
	ck_assert_int_eq(procq_group_add(b, shared), 0);
	/* a trip would have cancelled the waiting task before this returns */
	ck_assert_int_eq(procq_group_add(a, failed), 0);
	assert_status(waiting, PROCQ_PENDING);

	gate_release(&gf);
	ck_assert_int_eq(procq_group_wait(a, 30, &s), 0);
	ck_assert_str_eq(procq_result_id(procq_summary_first_failure(s)),
	    procq_handle_id(f));
	assert_cancelled_by(shared, "failed first", true);
	assert_cancelled_by(waiting, "failed first", false);
	procq_summary_free(s);
	ck_assert_int_eq(procq_group_wait(b, 30, NULL), PROCQ_ECANCELLED);
	assert_cancelled_by(own, "was cancelled first", true);
	ck_assert_ptr_nonnull(strstr(message_of(own), procq_handle_id(shared)));
	procq_group_free(a);
	procq_group_free(b);
	procq_free(q);
	gate_destroy(&gs);
	gate_destroy(&go);
	gate_destroy(&gf);
}
END_TEST

START_TEST(test_opts_invalid)
{
	procq_queue *q = scene_queue(PROCQ_FAIL_DEFAULT);
	int err = 12345;

	ck_assert_ptr_null(procq_group_create(q, &(procq_group_opts){
	    .fail_policy = (procq_fail_policy)7 }, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	err = 12345;
	ck_assert_ptr_null(procq_group_create(q, &(procq_group_opts){
	    .cancel_mode = (procq_group_cancel_mode)9 }, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	procq_free(q);
}
END_TEST

int
main(int argc, char **argv)
{
	Suite *s = suite_create("group_policy");
	TCase *tc = add_tcase(s, "policy", 60);

	if (test_serve_as_worker(argc, argv, group_tasks, true) >= 0)
		return 1;	/* a worker program that could not serve */

	tcase_add_loop_test(tc, test_fail_first, 0,
	    (int)(sizeof firsts / sizeof firsts[0]));
	tcase_add_test(tc, test_fail_continue);
	tcase_add_loop_test(tc, test_cancel_modes, PROCQ_GROUP_CANCEL_IGNORE,
	    PROCQ_GROUP_CANCEL_QUIET + 1);
	tcase_add_loop_test(tc, test_group_cancel_reported,
	    PROCQ_GROUP_CANCEL_IGNORE, PROCQ_GROUP_CANCEL_QUIET + 1);
	tcase_add_loop_test(tc, test_shield, 0, NOUTSIDE);
	tcase_add_test(tc, test_shield_own_cancel_and_force);
	tcase_add_test(tc, test_remove_running);
	tcase_add_test(tc, test_add_running);
	tcase_add_test(tc, test_remove_and_next);
	tcase_add_test(tc, test_remove_given_then_wait);
	tcase_add_test(tc, test_add_remove_threads);
	tcase_add_test(tc, test_groups_overlap);
	tcase_add_test(tc, test_opts_invalid);
	return run_suite(s);
}
