/*
 * Throughput of trivial tasks: N tasks that return their argument doubled,
 * all submitted, then run; with a handle and a result for every task.
 *
 *   bench/throughput [N [WORKERS [PREFETCH]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "procq.h"

static int
task_double(procq_call *c)
{
	int64_t x;

	if (procq_call_unpack(c, "l", &x) != 0)
		return procq_call_fail(c, "ArgumentError", "expected [int]");
	return procq_call_return(c, "l", 2 * x);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200000;
	int workers = argc > 2 ? atoi(argv[2]) : 2;
	int prefetch = argc > 3 ? atoi(argv[3]) : 1;
	procq_queue *q;
	procq_summary *s = NULL;
	double t0, t1, t2;
	int err;

	q = procq_create(&(procq_config){ .workers = workers,
	    .prefetch = prefetch }, &err);
	if (q == NULL || procq_register(q, "double", task_double) != 0) {
		fprintf(stderr, "throughput: %s\n", procq_strerror(err));
		return 1;
	}
	t0 = now();
	for (int i = 0; i < n; i++) {
		if (procq_submitf(q, "double", NULL, NULL, "l",
		    (int64_t)i) != 0) {
			fprintf(stderr, "throughput: submit failed\n");
			return 1;
		}
	}
	t1 = now();
	if (procq_run(q, NULL, &s) != 0 || !procq_summary_ok(s)) {
		fprintf(stderr, "throughput: the run failed\n");
		return 1;
	}
	t2 = now();
	printf("%d tasks, %d workers, prefetch %d: submit %.0f/s, "
	    "run %.0f/s, overall %.0f tasks/s\n", n, workers, prefetch,
	    n / (t1 - t0), n / (t2 - t1), n / (t2 - t0));
	procq_summary_free(s);
	procq_free(q);
	return 0;
}
