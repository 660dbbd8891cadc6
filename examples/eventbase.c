/*
 * eventbase: run procq on the caller's own libevent event_base, with no
 * thread of procq's at all.
 *
 * With config.event_base set, the supervisor's events (worker pipes,
 * timeouts, retries) live on our base: procq only makes progress while we
 * dispatch it, and its hooks run inside our loop, on our thread, so they
 * can touch our state without locks.  A timer on the same base submits one
 * job every 50 ms; the on_complete hook reports each finished job and ends
 * the loop after the last one.
 *
 * Blocking calls (procq_run, procq_handle_wait with a timeout...) are off
 * limits on this thread: they would wait for a loop that cannot turn, so
 * they return PROCQ_EDEADLK.  Everything here is event-driven instead.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>
#include <procq.h>

static const int64_t numbers[] = { 27, 97, 871, 0, 6171, 703 };
#define NJOBS	(sizeof numbers / sizeof numbers[0])

struct state {
	struct event_base *base;
	procq_queue *q;
	size_t submitted, finished, succeeded;
	int err;
};

/* Worker side: "collatz" [n] returns how many steps n takes to reach 1. */
static int
collatz_task(procq_call *c)
{
	int64_t n, steps = 0;

	if (procq_call_unpack(c, "l", &n) != 0)
		return procq_call_fail(c, "ArgumentError", "expected [int]");
	while (n != 1) {		/* BUG: never ends for 0 */
		n = n % 2 == 0 ? n / 2 : 3 * n + 1;
		steps++;
	}
	return procq_call_return(c, "l", steps);
}

/* A hook: runs in our loop whenever a job is final. */
static void
on_complete(procq_handle *h, const procq_result *r, void *arg)
{
	struct state *st = arg;
	int64_t steps;

	(void)h;
	if (procq_result_unpack(r, "l", &steps) == 0) {
		printf("%s = %lld steps\n", procq_result_name(r),
		    (long long)steps);
		st->succeeded++;
	} else
		printf("%s %s: %s\n", procq_result_name(r),
		    procq_error_kind_name(procq_result_error_kind(r)),
		    procq_result_error_message(r));
	if (++st->finished == NJOBS)
		event_base_loopbreak(st->base);
}

/* The timer: submit the next job, if any. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct state *st = arg;
	procq_opts opts = { .timeout = 0.3 };
	char name[32];

	(void)fd;
	(void)what;
	if (st->submitted == NJOBS)
		return;
	snprintf(name, sizeof name, "collatz(%lld)",
	    (long long)numbers[st->submitted]);
	opts.name = name;
	if ((st->err = procq_submitf(st->q, "collatz", &opts, NULL, "l",
	    numbers[st->submitted])) != 0) {
		fprintf(stderr, "eventbase: %s\n", procq_strerror(st->err));
		event_base_loopbreak(st->base);
		return;
	}
	st->submitted++;
}

int
main(void)
{
	struct state st = { 0 };
	struct timeval every = { 0, 50 * 1000 };
	struct event *tick = NULL;
	procq_config config = { .workers = 2, .on_complete = on_complete,
	    .hook_arg = &st };
	int err = 0;

	if ((st.base = event_base_new()) == NULL ||
	    (tick = event_new(st.base, -1, EV_PERSIST, on_tick, &st)) == NULL) {
		fprintf(stderr, "eventbase: cannot set up libevent\n");
		goto out;
	}
	config.event_base = st.base;
	/* procq_start() forks the workers and adds procq's events to base. */
	if ((st.q = procq_create(&config, &err)) == NULL ||
	    (err = procq_register(st.q, "collatz", collatz_task)) != 0 ||
	    (err = procq_start(st.q)) != 0) {
		fprintf(stderr, "eventbase: %s\n", procq_strerror(err));
		goto out;
	}
	event_add(tick, &every);
	event_base_dispatch(st.base);	/* until on_complete breaks it */
	err = st.err;
	if (err == 0)
		printf("%zu jobs submitted, %zu succeeded, %zu failed\n",
		    st.submitted, st.succeeded, st.finished - st.succeeded);
out:
	/* Free the queue before the base its events live on. */
	procq_free(st.q);
	if (tick != NULL)
		event_free(tick);
	if (st.base != NULL)
		event_base_free(st.base);
	return err == 0 && st.finished == NJOBS ? EXIT_SUCCESS : EXIT_FAILURE;
}
