/*
 * procq's side of the benchmark suite: one scenario per run, each printing
 * "RESULT procq <scenario> <metric> <value>" lines for bench/report.py.
 *
 *   procq-bench SCENARIO [-n N] [-w WORKERS] [-p PREFETCH] [-m METHOD] [-M]
 *   procq-bench --version
 *   mpirun -np RANKS procq-bench-mpi SCENARIO [-n N] [-w WORKERS] ...
 *
 * Scenarios: throughput, latency, crash, memory, respawn, cancel, scale,
 * checkpoint, scaling, large_values, service.  -M has throughput submit
 * with one procq_map() instead of a procq_submitf() per task.
 * Every count is checked: a wrong result or a lost task fails the run.
 *
 * procq-bench-mpi is this program built with BENCH_MPI and libprocq-mpi:
 * under mpirun its queues run their workers on the node agents of the
 * other ranks (procq_mpi(3)), WORKERS on each, and rank 0 prints the
 * same lines as procq-bench.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "procq.h"
#ifdef BENCH_MPI
#include <mpi.h>

#include "procq_mpi.h"
#endif

struct bench {
	long	n;		/* tasks or rounds; 0 = the scenario's own */
	int	workers;
	int	prefetch;	/* 0 = the queue's default */
	procq_start_method method;	/* 0 = the queue's default */
	const procq_transport *transport; /* NULL = workers on this host */
	int	hosts;		/* hosts that run WORKERS each: 1, or the
				   MPI ranks other than 0 */
	const char *checkpoint; /* a checkpoint store, or NULL */
	procq_mode mode;	/* 0 = PROCQ_MODE_FINITE */
	bool map;		/* throughput: procq_map(), not a loop */
};

/* The CPU time a task of the scaling scenario burns: enough work that the
 * curve shows the cores, short enough that procq's overhead shows too. */
#define BURN_US 100

/* The size of an argument and of a result in the large_values scenario. */
#define LARGE_SIZE (1024 * 1024)

/* Tasks per batch of the service scenario: a join every batch, and the
 * results of one batch held at a time. */
#define SERVICE_BATCH 10000

/* Batches run before the service's RSS is first read: the heap and the
 * engine's buffers take a few batches to reach their steady size. */
#define SERVICE_WARM 3

/* Set by the progress hook of the cancel scenario. */
struct started {
	pthread_mutex_t	lock;
	pthread_cond_t	cond;
	procq_handle	*h;
};

static int
task_double(procq_call *c)
{
	int64_t x;

	if (procq_call_unpack(c, "l", &x) != 0)
		return procq_call_fail(c, "ArgumentError", "expected [int]");
	return procq_call_return(c, "l", 2 * x);
}

/*
 * Returns its argument after burning BURN_US of CPU time: the thread's CPU
 * clock, not a sleep, so that a worker holds its core as real work would.
 */
static int
task_burn(procq_call *c)
{
	struct timespec t0, t;
	int64_t x;
	long ns;

	if (procq_call_unpack(c, "l", &x) != 0)
		return procq_call_fail(c, "ArgumentError", "expected [int]");
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	do {
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
		ns = (long)(t.tv_sec - t0.tv_sec) * 1000000000L +
		    (t.tv_nsec - t0.tv_nsec);
	} while (ns < BURN_US * 1000L);
	return procq_call_return(c, "l", x);
}

/* Returns its one binary argument as it came. */
static int
task_echo(procq_call *c)
{
	const void *p;
	size_t len;

	if (procq_call_unpack(c, "y", &p, &len) != 0)
		return procq_call_fail(c, "ArgumentError", "expected [bin]");
	return procq_call_return(c, "y", p, len);
}

static int
task_crash(procq_call *c)
{
	(void)c;
	raise(SIGSEGV);
	return 0;
}

/* Says it runs, then sleeps until killed. */
static int
task_sleeper(procq_call *c)
{
	procq_call_progress(c, "i", 1);
	for (;;)
		pause();
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, int err)
{
	fprintf(stderr, "procq-bench: %s: %s\n", what, procq_strerror(err));
	exit(1);
}

static void
on_progress(procq_handle *h, const msgpack_object *value, void *arg)
{
	struct started *s = arg;

	(void)value;
	pthread_mutex_lock(&s->lock);
	s->h = h;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static char *bench_worker_argv[] = { "procq-bench", "--worker", NULL };

static const procq_worker_task bench_tasks[] = {
	{ "double", task_double },
	{ "burn", task_burn },
	{ "echo", task_echo },
	{ "crash", task_crash },
	{ "sleeper", task_sleeper },
	{ NULL, NULL },
};

static procq_queue *
bench_queue(const struct bench *b, int workers, struct started *s)
{
	procq_config cfg = { .workers = workers,
		.prefetch = b->prefetch,
		.start_method = b->method,
		.transport = b->transport,
		.checkpoint = b->checkpoint,
		.mode = b->mode };
	procq_queue *q;
	int err;

	if (s != NULL) {
		cfg.on_progress = on_progress;
		cfg.hook_arg = s;
	}
	/* An exec'd worker is this program again, serving its table. */
	if (b->method == PROCQ_START_EXEC) {
		cfg.worker_path = "/proc/self/exe";
		cfg.worker_argv = bench_worker_argv;
	}
	if ((q = procq_create(&cfg, &err)) == NULL)
		die("create", err);
	/* The node agents' workers serve bench_tasks, given to
	 * procq_mpi_init(). */
	if (b->method == PROCQ_START_EXEC || b->transport != NULL)
		return q;
	if ((err = procq_register(q, "double", task_double)) != 0 ||
	    (err = procq_register(q, "burn", task_burn)) != 0 ||
	    (err = procq_register(q, "echo", task_echo)) != 0 ||
	    (err = procq_register(q, "crash", task_crash)) != 0 ||
	    (err = procq_register(q, "sleeper", task_sleeper)) != 0)
		die("register", err);
	return q;
}

/* Starts the workers and runs one task on each, off the clock: workers
 * is per host. */
static void
bench_warm(const struct bench *b, procq_queue *q, int workers)
{
	procq_summary *s = NULL;
	int err;

	if ((err = procq_start(q)) != 0)
		die("start", err);
	for (int i = 0; i < workers * b->hosts * 2; i++) {
		if ((err = procq_submitf(q, "double", NULL, NULL, "l",
		    (int64_t)i)) != 0)
			die("submit", err);
	}
	if ((err = procq_run(q, NULL, &s)) != 0)
		die("warm-up run", err);
	procq_summary_free(s);
	procq_clear_results(q);
}

/* Every task i must have returned factor * i: checked through the sum. */
static void
check_sum(const procq_summary *s, long n, int64_t factor)
{
	long long sum = 0;
	int64_t v;

	if (procq_summary_count(s) != (size_t)n || !procq_summary_ok(s)) {
		fprintf(stderr, "procq-bench: %zu results of %ld, ok %d\n",
		    procq_summary_count(s), n, procq_summary_ok(s));
		exit(1);
	}
	for (size_t i = 0; i < procq_summary_count(s); i++) {
		if (procq_result_unpack(procq_summary_result(s, i), "l",
		    &v) != 0) {
			fprintf(stderr, "procq-bench: a result is no integer\n");
			exit(1);
		}
		sum += v;
	}
	if (sum != (long long)factor * n * (n - 1) / 2) {
		fprintf(stderr, "procq-bench: wrong results\n");
		exit(1);
	}
}

/* Submits "double" of 0 to n - 1, runs them and checks the results. */
static procq_summary *
bench_doubles(procq_queue *q, long n)
{
	procq_summary *s = NULL;
	int err;

	for (long i = 0; i < n; i++) {
		if ((err = procq_submitf(q, "double", NULL, NULL, "l",
		    (int64_t)i)) != 0)
			die("submit", err);
	}
	if ((err = procq_run(q, NULL, &s)) != 0)
		die("run", err);
	check_sum(s, n, 2);
	return s;
}

/* Seconds to submit n trivial tasks to a warm queue and run them all. */
static double
bench_batch(const struct bench *b, long n)
{
	procq_queue *q = bench_queue(b, b->workers, NULL);
	procq_summary *s;
	double t0, t1;

	bench_warm(b, q, b->workers);
	t0 = now();
	s = bench_doubles(q, n);
	t1 = now();
	procq_summary_free(s);
	procq_free(q);
	return t1 - t0;
}

/* The msgpack array [i] at p: 1 to 10 bytes. */
static size_t
pack_index(unsigned char *p, uint32_t i)
{
	p[0] = 0x91;
	if (i < 128) {
		p[1] = (unsigned char)i;
		return 2;
	}
	p[1] = 0xce;
	p[2] = (unsigned char)(i >> 24);
	p[3] = (unsigned char)(i >> 16);
	p[4] = (unsigned char)(i >> 8);
	p[5] = (unsigned char)i;
	return 6;
}

/*
 * Seconds to map "double" over 0 to n - 1 with procq_map() on a warm
 * queue and take every value in order, as ProcessPoolExecutor.map()
 * hands them back: the arguments are packed on the clock.
 */
static double
bench_map(const struct bench *b, long n)
{
	procq_queue *q = bench_queue(b, b->workers, NULL);
	unsigned char *bytes = malloc((size_t)n * 6);
	procq_args *args = malloc((size_t)n * sizeof *args);
	procq_handle **h = malloc((size_t)n * sizeof *h);
	size_t off = 0;
	double t0, t1;
	int64_t v;
	int err;

	if (bytes == NULL || args == NULL || h == NULL)
		die("map", PROCQ_ENOMEM);
	bench_warm(b, q, b->workers);
	t0 = now();
	for (long i = 0; i < n; i++) {
		args[i].data = bytes + off;
		args[i].len = pack_index(bytes + off, (uint32_t)i);
		off += args[i].len;
	}
	if ((err = procq_map(q, "double", args, (size_t)n, NULL, h)) != 0)
		die("map", err);
	for (long i = 0; i < n; i++) {
		if ((err = procq_handle_wait(h[i], -1)) != 0)
			die("wait", err);
		if (procq_handle_value(h[i], "l", &v) != 0 || v != 2 * i) {
			fprintf(stderr, "procq-bench: wrong result\n");
			exit(1);
		}
	}
	t1 = now();
	procq_free(q);
	free(h);
	free(args);
	free(bytes);
	return t1 - t0;
}

static void
scenario_throughput(const struct bench *b)
{
	long n = b->n > 0 ? b->n : 400000;

	printf("RESULT procq throughput tasks_per_s %.0f\n",
	    n / (b->map ? bench_map(b, n) : bench_batch(b, n)));
}

static void
scenario_scale(const struct bench *b)
{
	static const struct { long n; const char *name; } sizes[] = {
		{ 10000, "10k" }, { 100000, "100k" }, { 1000000, "1m" }
	};

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		double secs = bench_batch(b, sizes[i].n);

		printf("RESULT procq scale us_per_task_%s %.3f\n",
		    sizes[i].name, secs * 1e6 / sizes[i].n);
		fflush(stdout);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
percentile(double *v, long n, double p)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[(long)(p * (double)(n - 1) + 0.5)];
}

static procq_handle *
submit_one(procq_queue *q, const char *name, int64_t x)
{
	procq_handle *h = NULL;
	int err;

	if ((err = procq_submitf(q, name, NULL, &h, "l", x)) != 0)
		die("submit", err);
	return h;
}

static void
wait_one(procq_handle *h)
{
	int err;

	if ((err = procq_handle_wait(h, -1)) != 0)
		die("wait", err);
}

static void
scenario_latency(const struct bench *b)
{
	long n = b->n > 0 ? b->n : 10000;
	procq_queue *q = bench_queue(b, b->workers, NULL);
	double *rtt = calloc((size_t)n, sizeof *rtt);
	int64_t v;

	if (rtt == NULL)
		die("latency", PROCQ_ENOMEM);
	bench_warm(b, q, b->workers);
	for (long i = 0; i < n; i++) {
		double t0 = now();
		procq_handle *h = submit_one(q, "double", i);

		wait_one(h);
		rtt[i] = now() - t0;
		if (procq_handle_value(h, "l", &v) != 0 || v != 2 * i) {
			fprintf(stderr, "procq-bench: wrong result\n");
			exit(1);
		}
	}
	printf("RESULT procq latency p50_us %.1f\n",
	    percentile(rtt, n, 0.50) * 1e6);
	printf("RESULT procq latency p99_us %.1f\n",
	    percentile(rtt, n, 0.99) * 1e6);
	free(rtt);
	procq_free(q);
}

/* Every tenth task kills its worker: the other nine must not notice. */
static void
scenario_crash(const struct bench *b)
{
	long n = b->n > 0 ? b->n : 10000;
	procq_queue *q = bench_queue(b, b->workers, NULL);
	procq_summary *s = NULL;
	size_t ok = 0, crashed = 0, other = 0;
	double t0, t1;
	int64_t v;
	int err;

	bench_warm(b, q, b->workers);
	t0 = now();
	for (long i = 0; i < n; i++)
		submit_one(q, i % 10 == 9 ? "crash" : "double", i);
	procq_run(q, NULL, &s);
	t1 = now();
	if (s == NULL)
		die("run", PROCQ_ENOMEM);
	for (size_t i = 0; i < procq_summary_count(s); i++) {
		const procq_result *r = procq_summary_result(s, i);

		if (procq_result_status(r) == PROCQ_SUCCEEDED &&
		    procq_result_unpack(r, "l", &v) == 0 && v % 20 != 18)
			ok++;
		else if (procq_result_status(r) == PROCQ_FAILED &&
		    procq_result_error_kind(r) == PROCQ_ERR_CRASH)
			crashed++;
		else
			other++;
	}
	err = procq_summary_count(s) == (size_t)n && other == 0 ? 0 : 1;
	printf("RESULT procq crash succeeded %zu\n", ok);
	printf("RESULT procq crash failed %zu\n", crashed + other);
	printf("RESULT procq crash lost %zu\n", (size_t)n - ok - crashed -
	    other);
	printf("RESULT procq crash tasks_per_s %.0f\n", n / (t1 - t0));
	procq_summary_free(s);
	procq_free(q);
	if (err != 0)
		exit(1);
}

static long
rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *fp = fopen("/proc/self/statm", "r");

	if (fp == NULL || fscanf(fp, "%ld %ld", &pages, &resident) != 2) {
		perror("procq-bench: /proc/self/statm");
		exit(1);
	}
	fclose(fp);
	return resident * sysconf(_SC_PAGESIZE);
}

/* The argument tuple [i] as msgpack: its length in bytes. */
static size_t
args_size(int64_t i)
{
	return 1 + (i < 128 ? 1 : i < 256 ? 2 : i < 65536 ? 3 : 5);
}

/* RSS per task queued on a queue not yet started, beyond its arguments. */
static void
scenario_memory(const struct bench *b)
{
	long n = b->n > 0 ? b->n : 1000000;
	procq_queue *q = bench_queue(b, b->workers, NULL);
	procq_summary *s = NULL;
	double args = 0;
	long before, after;
	int err;

	before = rss_bytes();
	for (long i = 0; i < n; i++) {
		if ((err = procq_submitf(q, "double", NULL, NULL, "l",
		    (int64_t)i)) != 0)
			die("submit", err);
		args += (double)args_size(i);
	}
	after = rss_bytes();
	printf("RESULT procq memory bytes_per_task %.1f\n",
	    (double)(after - before) / (double)n);
	printf("RESULT procq memory arg_bytes %.1f\n", args / (double)n);
	fflush(stdout);
	if ((err = procq_run(q, NULL, &s)) != 0)
		die("run", err);
	check_sum(s, n, 2);
	procq_summary_free(s);
	procq_free(q);
}

/* From a crash reported to the next result, on a queue of one worker. */
static void
scenario_respawn(const struct bench *b)
{
	long n = b->n > 0 ? b->n : 100;
	procq_queue *q = bench_queue(b, 1, NULL);
	double *gap = calloc((size_t)n, sizeof *gap);

	if (gap == NULL)
		die("respawn", PROCQ_ENOMEM);
	bench_warm(b, q, 1);
	for (long i = 0; i < n; i++) {
		procq_handle *h = submit_one(q, "crash", i);
		double t0;

		wait_one(h);
		if (procq_handle_error_kind(h) != PROCQ_ERR_CRASH) {
			fprintf(stderr, "procq-bench: the crash was no crash\n");
			exit(1);
		}
		t0 = now();
		wait_one(submit_one(q, "double", i));
		gap[i] = now() - t0;
		procq_clear_results(q);
	}
	printf("RESULT procq respawn respawn_us %.1f\n",
	    percentile(gap, n, 0.5) * 1e6);
	free(gap);
	procq_free(q);
}

/* From the cancel of a running task to its handle being final. */
static void
scenario_cancel(const struct bench *b)
{
	long n = b->n > 0 ? b->n : 100;
	struct started st = { .h = NULL };
	procq_queue *q;
	double *lat = calloc((size_t)n, sizeof *lat);
	int err;

	pthread_mutex_init(&st.lock, NULL);
	pthread_cond_init(&st.cond, NULL);
	q = bench_queue(b, b->workers, &st);
	if (lat == NULL)
		die("cancel", PROCQ_ENOMEM);
	bench_warm(b, q, b->workers);
	for (long i = 0; i < n; i++) {
		procq_handle *h = submit_one(q, "sleeper", i);
		double t0;

		pthread_mutex_lock(&st.lock);
		while (st.h != h)
			pthread_cond_wait(&st.cond, &st.lock);
		st.h = NULL;
		pthread_mutex_unlock(&st.lock);
		t0 = now();
		if ((err = procq_handle_cancel(h)) != 0)
			die("cancel", err);
		wait_one(h);
		lat[i] = now() - t0;
		if (procq_handle_status(h) != PROCQ_CANCELLED) {
			fprintf(stderr, "procq-bench: not cancelled\n");
			exit(1);
		}
		procq_clear_results(q);
	}
	printf("RESULT procq cancel cancel_us %.1f\n",
	    percentile(lat, n, 0.5) * 1e6);
	free(lat);
	procq_free(q);
}

/* A new store's path in $TMPDIR, and its removal with SQLite's files. */
static char *
store_path(void)
{
	const char *tmp = getenv("TMPDIR");
	static char path[256];
	int fd;

	snprintf(path, sizeof path, "%s/procq-bench-XXXXXX.db",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if ((fd = mkstemps(path, 3)) < 0) {
		perror("procq-bench: mkstemps");
		exit(1);
	}
	close(fd);
	return path;
}

static void
store_remove(const char *path)
{
	char other[300];

	unlink(path);
	snprintf(other, sizeof other, "%s-wal", path);
	unlink(other);
	snprintf(other, sizeof other, "%s-shm", path);
	unlink(other);
}

/*
 * Trivial tasks with a checkpoint store against without, in turns in one
 * process (three batches each, the median of each kind); then the time
 * to rerun a batch of which 999 in 1,000 tasks are done: opening and
 * checking the store, looking every task up, and running the rest.
 */
static void
scenario_checkpoint(const struct bench *b)
{
	long n = b->n > 0 ? b->n : 200000;
	long total = b->n > 0 ? b->n : 1000000, done = total - total / 1000;
	double plain[3], stored[3], t0, t1;
	struct bench with = *b;
	procq_summary *s = NULL;
	procq_queue *q;

	for (int i = 0; i < 3; i++) {
		plain[i] = n / bench_batch(b, n);
		with.checkpoint = store_path();
		stored[i] = n / bench_batch(&with, n);
		store_remove(with.checkpoint);
	}
	qsort(plain, 3, sizeof plain[0], cmp_double);
	qsort(stored, 3, sizeof stored[0], cmp_double);
	printf("RESULT procq checkpoint tasks_per_s_plain %.0f\n", plain[1]);
	printf("RESULT procq checkpoint tasks_per_s_store %.0f\n", stored[1]);
	printf("RESULT procq checkpoint store_ratio %.3f\n",
	    stored[1] / plain[1]);
	fflush(stdout);

	/* The batch that died: its first 999 in 1,000 tasks are done. */
	with.checkpoint = store_path();
	bench_batch(&with, done);
	t0 = now();
	q = bench_queue(&with, b->workers, NULL);
	s = bench_doubles(q, total);
	t1 = now();
	if (procq_summary_resumed(s) != (size_t)done) {
		fprintf(stderr, "procq-bench: %zu resumed of %ld\n",
		    procq_summary_resumed(s), done);
		exit(1);
	}
	procq_summary_free(s);
	procq_free(q);
	store_remove(with.checkpoint);
	printf("RESULT procq checkpoint resume_s %.3f\n", t1 - t0);
}

/*
 * Tasks of BURN_US of CPU time each on 1, 2, 4 and 8 workers.  The
 * efficiency is the rate against the ideal of min(workers, CPUs) cores
 * doing nothing but the tasks: what is missing is procq's overhead.
 */
static void
scenario_scaling(const struct bench *b)
{
	static const int pools[] = { 1, 2, 4, 8 };
	long n = b->n > 0 ? b->n : 10000;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus < 1)
		cpus = 1;
	for (size_t i = 0; i < sizeof pools / sizeof pools[0]; i++) {
		int w = pools[i];
		long cores = (long)w * b->hosts;
		procq_queue *q = bench_queue(b, w, NULL);
		procq_summary *s = NULL;
		double t0, rate;
		int err;

		if (cores > cpus)
			cores = cpus;
		bench_warm(b, q, w);
		t0 = now();
		for (long j = 0; j < n; j++) {
			if ((err = procq_submitf(q, "burn", NULL, NULL, "l",
				 (int64_t)j)) != 0)
				die("submit", err);
		}
		if ((err = procq_run(q, NULL, &s)) != 0)
			die("run", err);
		rate = n / (now() - t0);
		check_sum(s, n, 1);
		procq_summary_free(s);
		procq_free(q);
		printf("RESULT procq scaling tasks_per_s_w%d %.0f\n", w, rate);
		printf("RESULT procq scaling efficiency_w%d %.3f\n", w,
		    rate / ((double)cores * 1e6 / BURN_US));
		fflush(stdout);
	}
}

/* Waits for the echo of task i and checks it against what was sent: buf
 * as it is now, but for the stamp in its first bytes. */
static void
large_check(procq_handle *h, int64_t i, const unsigned char *buf)
{
	const unsigned char *p;
	size_t len;
	int64_t stamp;

	wait_one(h);
	if (procq_handle_value(h, "y", &p, &len) != 0 || len != LARGE_SIZE) {
		fprintf(stderr,
		    "procq-bench: task %lld returned no %d bytes\n",
		    (long long)i, LARGE_SIZE);
		exit(1);
	}
	memcpy(&stamp, p, sizeof stamp);
	if (stamp != i ||
	    memcmp(p + sizeof stamp, buf + sizeof stamp,
		LARGE_SIZE - sizeof stamp) != 0) {
		fprintf(stderr,
		    "procq-bench: task %lld returned other bytes\n",
		    (long long)i);
		exit(1);
	}
}

/*
 * LARGE_SIZE arguments, each echoed back as the result, with a few tasks
 * in flight per worker: MB (10^6 bytes) a second of arguments and results
 * together.  The default frame limit, 64 MiB, takes them.  Each task's
 * handle and result are given back once it is checked, so that the caller
 * holds a window of values, not all of them.
 */
static void
scenario_large_values(const struct bench *b)
{
	long n = b->n > 0 ? b->n : 200;
	long window = 4L * b->workers * b->hosts;
	procq_queue *q = bench_queue(b, b->workers, NULL);
	procq_handle **hs = calloc((size_t)window, sizeof *hs);
	unsigned char *buf = malloc(LARGE_SIZE);
	double t0, t1;
	int err;

	if (hs == NULL || buf == NULL)
		die("large_values", PROCQ_ENOMEM);
	for (size_t i = 0; i < LARGE_SIZE; i++)
		buf[i] = (unsigned char)(i * 7 + 1);
	bench_warm(b, q, b->workers);
	t0 = now();
	for (long i = 0; i < n + window; i++) {
		procq_handle **slot = &hs[i % window];
		int64_t stamp = i;

		if (i >= window) {
			large_check(*slot, i - window, buf);
			procq_handle_release(*slot);
			*slot = NULL;
		}
		if (i < n) {
			memcpy(buf, &stamp, sizeof stamp);
			if ((err = procq_submitf(q, "echo", NULL, slot, "y",
				 buf, (size_t)LARGE_SIZE)) != 0)
				die("submit", err);
		}
		if (i % window == window - 1)
			procq_clear_results(q);
	}
	t1 = now();
	printf("RESULT procq large_values mb_per_s %.1f\n",
	    2.0 * (double)n * LARGE_SIZE / 1e6 / (t1 - t0));
	free(buf);
	free(hs);
	procq_free(q);
}

/*
 * Runs k trivial tasks on a service queue, checks and forgets them.  Each
 * handle is released at once, for the queue to free the task once it is
 * final: a task submitted without a handle is kept until procq_free() (or
 * procq_reset(), which a service never reaches).
 */
static void
service_batch(procq_queue *q, long k)
{
	procq_summary *s;
	procq_handle *h;
	int err;

	for (long i = 0; i < k; i++) {
		if ((err = procq_submitf(q, "double", NULL, &h, "l",
			 (int64_t)i)) != 0)
			die("submit", err);
		procq_handle_release(h);
	}
	if ((err = procq_join(q, PROCQ_FOREVER)) != 0)
		die("join", err);
	if ((s = procq_results(q)) == NULL)
		die("results", PROCQ_ENOMEM);
	check_sum(s, k, 2);
	procq_summary_free(s);
	procq_clear_results(q);
}

/*
 * A service (procq(7), "Runs and modes"): a queue in PROCQ_MODE_INFINITE
 * fed batch after batch, its handles released and its results cleared
 * after each batch, as procq_clear_results(3) says a queue that is never
 * idle does.  Its memory must stay flat: the RSS after SERVICE_WARM
 * batches against the RSS at the end.  Batches are small so that the
 * tasks one batch has queued at its peak, which depend on how far the
 * caller got ahead of the workers, move the RSS little.
 */
static void
scenario_service(const struct bench *b)
{
	long n = b->n > 0 ? b->n : 10000000;
	long batch = n < SERVICE_BATCH ? n : SERVICE_BATCH;
	struct bench svc = *b;
	procq_queue *q;
	long start, end;
	double t0, t1;
	int err;

	svc.mode = PROCQ_MODE_INFINITE;
	q = bench_queue(&svc, b->workers, NULL);
	if ((err = procq_start(q)) != 0)
		die("start", err);
	for (int i = 0; i < SERVICE_WARM; i++)
		service_batch(q, batch);
	/* statm's resident pages: the VmRSS of /proc/self/status. */
	start = rss_bytes();
	t0 = now();
	for (long done = 0; done < n; done += batch)
		service_batch(q, n - done < batch ? n - done : batch);
	t1 = now();
	end = rss_bytes();
	/* Closes the service: procq_shutdown(3) waits for what is left
	 * (nothing) and stops the workers. */
	if ((err = procq_shutdown(q, 0)) != 0)
		die("shutdown", err);
	procq_free(q);
	printf("RESULT procq service tasks_per_s %.0f\n", n / (t1 - t0));
	printf("RESULT procq service rss_start_kib %ld\n", start / 1024);
	printf("RESULT procq service rss_end_kib %ld\n", end / 1024);
}

static const struct scenario {
	const char *name;
	void (*fn)(const struct bench *);
} scenarios[] = {
	{ "throughput", scenario_throughput },
	{ "latency", scenario_latency },
	{ "crash", scenario_crash },
	{ "memory", scenario_memory },
	{ "respawn", scenario_respawn },
	{ "cancel", scenario_cancel },
	{ "scale", scenario_scale },
	{ "checkpoint", scenario_checkpoint },
	{ "scaling", scenario_scaling },
	{ "large_values", scenario_large_values },
	{ "service", scenario_service },
};

#ifdef BENCH_MPI
/* Rank 0 goes on with the other ranks as its hosts; they serve as node
 * agents inside procq_mpi_init() and never return. */
static void
bench_mpi_init(struct bench *b, int *argc, char ***argv)
{
	int err, size;

	if ((err = procq_mpi_init(argc, argv, bench_tasks)) != 0)
		die("procq_mpi_init", err);
	if ((b->transport = procq_mpi_transport()) == NULL) {
		fprintf(stderr, "procq-bench: no other MPI ranks to run "
		    "workers on (mpirun -np 2 or more)\n");
		procq_mpi_finalize();
		exit(2);
	}
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	b->hosts = size - 1;
}
#endif

static void
usage(void)
{
	fprintf(stderr,
	    "usage: procq-bench SCENARIO [-n N] [-w WORKERS] "
	    "[-p PREFETCH] [-m forkserver|fork|exec] [-M]\n"
	    "       procq-bench --version\n"
#ifdef BENCH_MPI
	    "       mpirun -np RANKS procq-bench-mpi SCENARIO [-n N] "
	    "[-w WORKERS] [-p PREFETCH]\n"
#endif
	    "scenarios: throughput latency crash memory respawn cancel "
	    "scale checkpoint\n"
	    "           scaling large_values service\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct bench b = { .workers = 2, .hosts = 1 };
	const char *name;
	int opt;

	if (argc == 2 && strcmp(argv[1], "--worker") == 0)
		return procq_worker_main(argc, argv, bench_tasks);
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("procq %d.%d.%d\n", PROCQ_VERSION_MAJOR,
		    PROCQ_VERSION_MINOR, PROCQ_VERSION_PATCH);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-')
		usage();
	name = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "n:w:p:m:M")) != -1) {
		switch (opt) {
		case 'M':
			b.map = true;
			break;
		case 'n':
			b.n = atol(optarg);
			break;
		case 'w':
			b.workers = atoi(optarg);
			break;
		case 'p':
			b.prefetch = atoi(optarg);
			break;
		case 'm':
			if (strcmp(optarg, "forkserver") == 0)
				b.method = PROCQ_START_FORKSERVER;
			else if (strcmp(optarg, "fork") == 0)
				b.method = PROCQ_START_FORK;
			else if (strcmp(optarg, "exec") == 0)
				b.method = PROCQ_START_EXEC;
			else
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || b.n < 0 || b.workers < 1 || b.prefetch < 0)
		usage();
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
		if (strcmp(name, scenarios[i].name) != 0)
			continue;
#ifdef BENCH_MPI
		/* The agents fork their workers their own way. */
		if (b.method != 0)
			usage();
		bench_mpi_init(&b, &argc, &argv);
		scenarios[i].fn(&b);
		procq_mpi_finalize();
#else
		scenarios[i].fn(&b);
#endif
		return 0;
	}
	usage();
	return 2;
}
