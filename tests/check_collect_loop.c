/*
 * Event-loop integration: procq_notify_fd and procq_poll in a poll(2)
 * loop, and the supervisor on the caller's libevent event_base.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "collect_tasks.h"
#include "util.h"

static bool
fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;

	while ((n = poll(&p, 1, 0)) == -1 && errno == EINTR)
		;
	ck_assert_int_ge(n, 0);
	return n == 1 && (p.revents & POLLIN) != 0;
}

#define N_LOOP 8

/* A poll(2) loop on the notify fd collects every completion (a future's
 * too) and never blocks in procq. */
START_TEST(test_poll_loop)
{
	procq_queue *q = collect_queue(3);
	procq_handle *hs[N_LOOP + 1], *got[4];
	bool seen[N_LOOP + 1] = { false };
	struct setter st;
	atomic_int go = 0;
	size_t i, collected = 0, n;
	double deadline, t0;
	int fd, fl, err = 0;

	fd = procq_notify_fd(q);
	ck_assert_int_ge(fd, 0);
	/* the same fd every time */
	ck_assert_int_eq(procq_notify_fd(q), fd);
	fl = fcntl(fd, F_GETFD);
	ck_assert_int_ne(fl, -1);
	ck_assert(fl & FD_CLOEXEC);
	fl = fcntl(fd, F_GETFL);
	ck_assert_int_ne(fl, -1);
	ck_assert(fl & O_NONBLOCK);
	ck_assert(!fd_readable(fd));
	ck_assert_uint_eq(procq_poll(q, got, 4), 0);

	ck_assert_int_eq(procq_start(q), 0);
	for (i = 0; i < N_LOOP; i++)
		hs[i] = submit_ok(q, "sleep_ret", NULL, "di",
		    (double)(i % 3) * 0.03, (int)i);
	hs[N_LOOP] = procq_future_create(q, NULL, &err);
	ck_assert_ptr_nonnull(hs[N_LOOP]);
	setter_start(&st, hs[N_LOOP], 99, false, &go);

	deadline = now() + 10;
	while (collected < N_LOOP + 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = deadline - now();
		int r;

		ck_assert_msg(left > 0, "collected %zu of %d", collected,
		    N_LOOP + 1);
		r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r == -1 && errno == EINTR)
			continue;
		ck_assert_int_ge(r, 0);
		if (r == 0)
			continue;
		t0 = now();
		n = procq_poll(q, got, 4);
		ck_assert_double_lt(now() - t0, 0.5);
		/* readable means something to collect */
		ck_assert_uint_ge(n, 1);
		ck_assert_uint_le(n, 4);
		for (i = 0; i < n; i++) {
			int k = index_of(hs, N_LOOP + 1, got[i]);

			ck_assert_int_ge(k, 0);
			ck_assert(!seen[k]);
			seen[k] = true;
			ck_assert(procq_handle_done(got[i]));
			collected++;
		}
		if (collected >= N_LOOP / 2)
			atomic_store(&go, 1);
	}
	ck_assert_int_eq(setter_join(&st), 0);
	/* nothing left: not readable, nothing to collect */
	ck_assert(!fd_readable(fd));
	ck_assert_uint_eq(procq_poll(q, got, 4), 0);
	for (i = 0; i < N_LOOP; i++)
		ck_assert_int_eq(int_value(hs[i]), (int)i);
	ck_assert_int_eq(int_value(hs[N_LOOP]), 99);
	procq_free(q);
}
END_TEST

/* Completion order; only completions after the first procq_notify_fd call
 * are recorded; max is honoured; the fd is closed by procq_free. */
START_TEST(test_poll_order)
{
	int fds_before = count_fds();
	procq_queue *q = collect_queue(1);
	procq_handle *early, *hs[4], *got[8];
	size_t i;
	int fd;

	early = submit_ok(q, "ident", NULL, "i", 0);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert(procq_handle_done(early));
	fd = procq_notify_fd(q);
	ck_assert_int_ge(fd, 0);
	ck_assert(!fd_readable(fd));
	ck_assert_uint_eq(procq_poll(q, got, 8), 0);
	for (i = 0; i < 4; i++)
		hs[i] = submit_ok(q, "ident", NULL, "i", (int)i + 1);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert(fd_readable(fd));
	ck_assert_uint_eq(procq_poll(q, got, 0), 0);
	ck_assert(fd_readable(fd));
	ck_assert_uint_eq(procq_poll(q, got, 3), 3);
	for (i = 0; i < 3; i++)
		ck_assert_ptr_eq(got[i], hs[i]);
	ck_assert(fd_readable(fd));
	ck_assert_uint_eq(procq_poll(q, got, 8), 1);
	ck_assert_ptr_eq(got[0], hs[3]);
	ck_assert(!fd_readable(fd));
	ck_assert_uint_eq(procq_poll(q, got, 8), 0);
	procq_free(q);
	ck_assert_int_eq(count_fds(), fds_before);
}
END_TEST

/* The supervisor on the caller's event_base. */
struct loop_state {
	procq_queue	*q;
	procq_handle	*hs[8];
	size_t		 n, collected, spurious;
	bool		 seen[8];
	bool		 expired;
	int		 fd;
};

static void
on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct loop_state *ls = arg;
	procq_handle *got[8];
	size_t i, n;

	(void)fd;
	(void)what;
	n = procq_poll(ls->q, got, 8);
	if (n == 0)
		ls->spurious++;
	for (i = 0; i < n; i++) {
		int k = index_of(ls->hs, ls->n, got[i]);

		if (k >= 0 && !ls->seen[k]) {
			ls->seen[k] = true;
			ls->collected++;
		}
	}
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	((struct loop_state *)arg)->expired = true;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

struct done_here {
	pthread_t	 loop_thread;
	bool		 on_loop_thread;
	atomic_int	 called;
};

static void
on_done_here(procq_handle *h, void *arg)
{
	struct done_here *d = arg;

	(void)h;
	d->on_loop_thread = pthread_equal(pthread_self(), d->loop_thread);
	atomic_store(&d->called, 1);
}

struct waiter {
	pthread_t	 thread;
	procq_handle	*h;
	int		 rc;
	atomic_int	 returned;
};

static void *
waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->rc = procq_handle_wait(w->h, 10);
	atomic_store(&w->returned, 1);
	return NULL;
}

/* Dispatch the base until cond(arg) holds or the deadline event fires. */
static bool
dispatch_until(struct event_base *base, struct loop_state *ls,
    bool (*cond)(void *), void *arg)
{
	while (!cond(arg)) {
		if (ls->expired)
			return false;
		ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
	}
	return true;
}

static bool
all_collected(void *arg)
{
	struct loop_state *ls = arg;

	return ls->collected == ls->n;
}

static bool
gate_entered(void *arg)
{
	return gate_enter(arg, 0);
}

START_TEST(test_event_base)
{
	struct event_base *base;
	struct event *ev_fd, *ev_deadline, *ev_tick;
	struct timeval ten = { 10, 0 }, tick = { 0, 5000 };
	struct loop_state ls;
	struct waiter w = { 0 };
	procq_queue *q;
	procq_handle *held, *late;
	struct done_here cb = { .loop_thread = pthread_self() };
	procq_group *g;
	procq_iter *it;
	struct gate gt;
	size_t i;
	double t0;
	int err = 0;

	memset(&ls, 0, sizeof ls);
	gate_create(&gt);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	q = collect_queue_config(&(procq_config){ .workers = 2,
	    .event_base = base });
	ls.q = q;
	ck_assert_int_eq(procq_start(q), 0);
	ls.fd = procq_notify_fd(q);
	ck_assert_int_ge(ls.fd, 0);
	ev_fd = event_new(base, ls.fd, EV_READ | EV_PERSIST, on_notify, &ls);
	ev_deadline = evtimer_new(base, on_deadline, &ls);
	ev_tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	ck_assert_int_eq(event_add(ev_fd, NULL), 0);
	ck_assert_int_eq(event_add(ev_deadline, &ten), 0);
	ck_assert_int_eq(event_add(ev_tick, &tick), 0);

	ls.n = 6;
	for (i = 0; i < ls.n; i++)
		ls.hs[i] = submit_ok(q, "sleep_ret", NULL, "di",
		    (double)(i % 2) * 0.02, (int)i);
	ck_assert_msg(dispatch_until(base, &ls, all_collected, &ls),
	    "collected %zu of %zu", ls.collected, ls.n);
	for (i = 0; i < ls.n; i++)
		ck_assert_int_eq(int_value(ls.hs[i]), (int)i);

	/* a wait on a finished handle does not have to wait */
	ck_assert_int_eq(procq_handle_wait(ls.hs[0], 1), 0);

	held = submit_ok(q, "gate", NULL, "s", gt.path);
	ck_assert(dispatch_until(base, &ls, gate_entered, &gt));

	/* blocking calls from the loop's thread are refused */
	t0 = now();
	ck_assert_int_eq(procq_handle_wait(held, 1), PROCQ_EDEADLK);
	ck_assert_int_eq(procq_handle_wait(held, PROCQ_FOREVER),
	    PROCQ_EDEADLK);
	ck_assert_int_eq(procq_run(q, NULL, NULL), PROCQ_EDEADLK);
	ck_assert_int_eq(procq_wait(&held, 1, PROCQ_ALL_COMPLETED, 1, NULL,
	    NULL, NULL, NULL), PROCQ_EDEADLK);
	g = procq_group_create(q, NULL, &err);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(procq_group_add(g, held), 0);
	ck_assert_int_eq(procq_group_wait(g, 1, NULL), PROCQ_EDEADLK);
	ck_assert_ptr_null(procq_group_next(g, 1, &err));
	ck_assert_int_eq(err, PROCQ_EDEADLK);
	it = procq_as_completed(&held, 1, 1, &err);
	ck_assert_ptr_nonnull(it);
	ck_assert_ptr_null(procq_iter_next(it, &err));
	ck_assert_int_eq(err, PROCQ_EDEADLK);
	procq_iter_free(it, false);
	procq_group_free(g);
	ck_assert_double_lt(now() - t0, 0.9);
	ck_assert_int_eq(procq_handle_wait(held, 0), PROCQ_ETIMEDOUT);

	/* another thread's blocking wait works while the base runs; a done
	 * callback runs on the base's thread */
	late = submit_ok(q, "sleep_ret", NULL, "di", 0.05, 42);
	ck_assert_int_eq(procq_handle_on_done(late, on_done_here, &cb), 0);
	w.h = late;
	ck_assert_int_eq(pthread_create(&w.thread, NULL, waiter_main, &w), 0);
	ck_assert(dispatch_until(base, &ls, flag_is_set, &w.returned));
	ck_assert_int_eq(join_within(w.thread, 10), 0);
	ck_assert_int_eq(w.rc, 0);
	ck_assert_int_eq(int_value(late), 42);
	ck_assert(dispatch_until(base, &ls, flag_is_set, &cb.called));
	ck_assert(cb.on_loop_thread);

	/* force shutdown and free from the loop's thread */
	ck_assert(!procq_handle_done(held));
	ck_assert_int_eq(event_del(ev_fd), 0);
	ck_assert_int_eq(procq_shutdown(q, PROCQ_SHUTDOWN_FORCE), 0);
	ck_assert(procq_handle_done(held));
	ck_assert_int_eq(procq_handle_status(held), PROCQ_CANCELLED);
	procq_free(q);
	/* the workers were killed and reaped */
	ck_assert_uint_eq(list_children(NULL, 0), 0);
	event_free(ev_fd);
	event_free(ev_deadline);
	event_free(ev_tick);
	event_base_free(base);
	gate_destroy(&gt);
}
END_TEST

/* A graceful shutdown with work outstanding would block the loop's
 * thread: refused. */
START_TEST(test_event_base_graceful_refused)
{
	struct event_base *base = event_base_new();
	procq_queue *q;
	procq_handle *held;
	struct gate g;
	struct event *ev_tick;
	struct timeval tick = { 0, 5000 };
	double deadline;

	gate_create(&g);
	ck_assert_ptr_nonnull(base);
	q = collect_queue_config(&(procq_config){ .workers = 1,
	    .event_base = base });
	ck_assert_int_eq(procq_start(q), 0);
	ev_tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	ck_assert_int_eq(event_add(ev_tick, &tick), 0);
	held = submit_ok(q, "gate", NULL, "s", g.path);
	deadline = now() + 10;
	while (!gate_enter(&g, 0)) {
		ck_assert(now() < deadline);
		ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
	}
	ck_assert_int_eq(procq_join(q, 1), PROCQ_EDEADLK);
	ck_assert_int_eq(procq_shutdown(q, 0), PROCQ_EDEADLK);
	ck_assert(!procq_handle_done(held));
	gate_release(&g);
	deadline = now() + 10;
	while (!procq_handle_done(held)) {
		ck_assert(now() < deadline);
		ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
	}
	ck_assert_int_eq(procq_handle_status(held), PROCQ_SUCCEEDED);
	procq_free(q);
	event_free(ev_tick);
	event_base_free(base);
	gate_destroy(&g);
}
END_TEST

/* procq_free straight from the base's thread, a task still running: the
 * workers are killed and reaped before it returns. */
START_TEST(test_event_base_free_running)
{
	struct event_base *base = event_base_new();
	struct event *ev_tick;
	struct timeval tick = { 0, 5000 };
	procq_queue *q;
	struct gate g;
	double deadline;

	gate_create(&g);
	ck_assert_ptr_nonnull(base);
	q = collect_queue_config(&(procq_config){ .workers = 2,
	    .event_base = base });
	ck_assert_int_eq(procq_start(q), 0);
	ev_tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	ck_assert_int_eq(event_add(ev_tick, &tick), 0);
	submit_ok(q, "gate", NULL, "s", g.path);
	deadline = now() + 10;
	while (!gate_enter(&g, 0)) {
		ck_assert(now() < deadline);
		ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
	}
	ck_assert_uint_ge(list_children(NULL, 0), 1);
	procq_free(q);
	ck_assert_uint_eq(list_children(NULL, 0), 0);
	/* the base still works without procq's events */
	ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
	event_free(ev_tick);
	event_base_free(base);
	gate_destroy(&g);
}
END_TEST

static Suite *
loop_suite(void)
{
	Suite *s = suite_create("collect_loop");
	TCase *tc;

	tc = add_tcase(s, "notify", 30);
	tcase_add_test(tc, test_poll_loop);
	tcase_add_test(tc, test_poll_order);

	tc = add_tcase(s, "event_base", 30);
	tcase_add_test(tc, test_event_base);
	tcase_add_test(tc, test_event_base_graceful_refused);
	tcase_add_test(tc, test_event_base_free_running);
	return s;
}

int
main(void)
{
	return run_suite(loop_suite());
}
