/*
 * fanout: spread work over worker processes and collect it three ways.
 *
 *   1. A group of squares, at most two running at once, collected in the
 *      order they finish (procq_group_next), then in input order
 *      (procq_group_values).
 *   2. A group of health checks where one fails: procq_wait() with
 *      PROCQ_FIRST_EXCEPTION returns as soon as it does, and the checks
 *      still running are cancelled instead of waited for.
 *   3. A race between three mirrors (procq_race): the first to succeed
 *      wins, even if another one crashes sooner; the others are cancelled.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <procq.h>

/* Worker side: the tasks.  The sleeps stand in for real work. */

/* "square" [n, ms]: sleeps ms milliseconds, returns [n, n * n]. */
static int
square_task(procq_call *c)
{
	int64_t n;
	int ms;

	if (procq_call_unpack(c, "li", &n, &ms) != 0)
		return procq_call_fail(c, "ArgumentError", "bad arguments");
	nanosleep(&(struct timespec){ ms / 1000, ms % 1000 * 1000000L }, NULL);
	return procq_call_return(c, "ll", n, n * n);
}

enum outcome { UP, DOWN, CRASH };

/* "probe" [service, ms, outcome]: answers after ms, fails, or crashes. */
static int
probe_task(procq_call *c)
{
	const char *service;
	size_t len;
	int ms, outcome;

	if (procq_call_unpack(c, "Sii", &service, &len, &ms, &outcome) != 0)
		return procq_call_fail(c, "ArgumentError", "bad arguments");
	nanosleep(&(struct timespec){ ms / 1000, ms % 1000 * 1000000L }, NULL);
	if (outcome == CRASH)
		raise(SIGKILL);		/* as if the OOM killer struck */
	if (outcome == DOWN)
		return procq_call_fail(c, "ProbeFailed", "%.*s is down",
		    (int)len, service);
	return procq_call_return(c, "S", service, len);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 1. Squares: as they finish, then in input order. */
static int
squares(procq_queue *q)
{
	/* Sleeps, so that they finish in another order than they start. */
	static const int ms[] = { 250, 60, 120, 40, 150, 90 };
	enum { N = sizeof ms / sizeof ms[0] };
	procq_group_opts gopts = { .id = "squares", .concurrency = 2 };
	const msgpack_object *values[N];
	procq_summary *failures = NULL;
	procq_group *g;
	procq_handle *h;
	double t0 = now();
	int64_t n, v;
	int err = 0;

	if ((g = procq_group_create(q, &gopts, &err)) == NULL)
		return err;
	for (int i = 0; i < N && err == 0; i++)
		err = procq_group_submitf(g, "square", NULL, NULL, "ii", i + 1,
		    ms[i]);
	printf("squares, at most %d at once, as they finish:\n",
	    gopts.concurrency);
	while (err == 0 && (h = procq_group_next(g, PROCQ_FOREVER, &err)))
		if (procq_handle_value(h, "ll", &n, &v) == 0)
			printf("  +%.2f s  square(%lld) = %lld\n", now() - t0,
			    (long long)n, (long long)v);
	/* Every handle is final now: the values, in submission order. */
	if (err == 0 && (err = procq_group_values(g, values, &failures)) == 0) {
		printf("in input order:");
		for (int i = 0; i < N; i++)
			if (procq_unpack(values[i], "ll", &n, &v) == 0)
				printf(" %lld", (long long)v);
		printf("\n");
	} else if (failures != NULL) {
		procq_summary_display(failures, stdout);
		procq_summary_free(failures);
	}
	procq_group_free(g);	/* the handles stay with the queue */
	return err;
}

/* 2. Health checks: stop at the first failure, cancel the rest. */
static int
health_checks(procq_queue *q)
{
	static const struct { const char *name; int ms, outcome; } svc[] = {
		{ "web", 20, UP }, { "db", 80, DOWN },
		{ "cache", 3000, UP }, { "queue", 3000, UP }
	};
	enum { N = sizeof svc / sizeof svc[0] };
	procq_handle *h[N], *done[N];
	procq_summary *summary = NULL;
	procq_group *g;
	size_t ndone, npending;
	int err = 0;

	if ((g = procq_group_create(q, &(procq_group_opts){ .id = "checks" },
	    &err)) == NULL)
		return err;
	for (int i = 0; i < N && err == 0; i++) {
		procq_opts opts = { .name = svc[i].name };

		err = procq_group_submitf(g, "probe", &opts, &h[i], "sii",
		    svc[i].name, svc[i].ms, svc[i].outcome);
	}
	/* Returns once one check FAILED (or all are done, or 10 s passed). */
	if (err == 0)
		err = procq_wait(h, N, PROCQ_FIRST_EXCEPTION, 10.0, done,
		    &ndone, NULL, &npending);
	if (err == 0) {
		printf("checks, until the first failure:\n");
		for (size_t i = 0; i < ndone; i++)
			printf("  %-6s %s\n", procq_handle_name(done[i]),
			    procq_status_name(procq_handle_status(done[i])));
		/* No point waiting for the others: kill their workers. */
		printf("%zu still running, cancelled %zu\n", npending,
		    procq_group_cancel(g));
		if ((err = procq_group_wait(g, PROCQ_FOREVER, &summary)) == 0) {
			printf("checks: %zu succeeded, %zu failed, %zu "
			    "cancelled\n", procq_summary_succeeded(summary),
			    procq_summary_failed(summary),
			    procq_summary_cancelled(summary));
			/* One line per failed or cancelled check. */
			procq_summary_check(summary, PROCQ_CHECK_CANCELLED,
			    stdout);
		}
		procq_summary_free(summary);
	}
	procq_group_free(g);
	return err;
}

/* The argument tuple of a probe, packed for a procq_job. */
static procq_args
probe_args(msgpack_sbuffer *sb, const char *service, int ms, int outcome)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	procq_pack(&pk, "sii", service, ms, outcome);
	return (procq_args){ sb->data, sb->size };
}

/* 3. A race of mirrors: eu crashes first, us is slow, asia wins. */
static int
race(procq_queue *q)
{
	msgpack_sbuffer sb[3];
	procq_job jobs[3] = {
		{ "probe", probe_args(&sb[0], "mirror-eu", 30, CRASH), NULL },
		{ "probe", probe_args(&sb[1], "mirror-us", 1500, UP), NULL },
		{ "probe", probe_args(&sb[2], "mirror-asia", 150, UP), NULL }
	};
	procq_summary *failures = NULL;
	procq_handle *winner;
	char *name = NULL;
	double t0 = now();
	int err;

	err = procq_race(q, jobs, 3, 10.0, &winner, &failures);
	for (int i = 0; i < 3; i++)
		msgpack_sbuffer_destroy(&sb[i]);	/* procq copied them */
	if (err == 0 && procq_handle_value(winner, "s", &name) == 0)
		printf("race: %s won after %.2f s\n", name, now() - t0);
	else if (err == PROCQ_ETASK)
		procq_summary_display(failures, stdout);	/* all failed */
	free(name);		/* "s" unpacks a malloc'd copy */
	procq_summary_free(failures);
	return err;
}

int
main(void)
{
	procq_config config = { .workers = 4 };
	procq_queue *q;
	int err;

	if ((q = procq_create(&config, &err)) == NULL ||
	    (err = procq_register(q, "square", square_task)) != 0 ||
	    (err = procq_register(q, "probe", probe_task)) != 0 ||
	    (err = procq_start(q)) != 0 ||	/* the waits below need it */
	    (err = squares(q)) != 0 || (err = health_checks(q)) != 0 ||
	    (err = race(q)) != 0)
		fprintf(stderr, "fanout: %s\n", procq_strerror(err));
	procq_free(q);		/* kills the workers, frees the handles */
	return err == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
