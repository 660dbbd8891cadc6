/*
 * The physical limit for a process pool on this machine: one parent, one
 * forked child, two pipes and fixed-size messages, with no serialization,
 * no bookkeeping and no scheduling.  Whatever procq adds on top of this is
 * its own overhead.
 *
 *   bench/pingpong unbatched [-n N] [-s SIZE]
 *   bench/pingpong batched [-n N] [-s SIZE] [-b BATCH]
 *   bench/pingpong large [-n N] [-s SIZE]
 *
 * Each message carries a 64-bit number in its first 8 bytes; the child
 * answers with the number doubled so that the round trip does the same
 * (trivial) work as the "double" task of the other benchmarks, and the
 * parent checks every answer.  The large mode sends one message at a time
 * too, of 1 MiB by default, and reports the bytes moved both ways: the
 * limit for tasks whose arguments and results are large.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 1000
#define LARGE_WARMUP 10
#define LARGE_SIZE   (1024 * 1024)

enum mode {
	UNBATCHED,
	BATCHED,
	LARGE
};

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: pingpong unbatched|batched|large [-n N]"
	    " [-s SIZE] [-b BATCH]\n");
	exit(2);
}

static double
now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime");
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		p += w;
		len -= (size_t)w;
	}
}

/*
 * Returns 0 on end of file before the first byte, 1 once LEN bytes were
 * read; end of file in the middle of a message is an error.
 */
static int
read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, p + got, len - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (r == 0) {
			if (got == 0)
				return 0;
			fprintf(stderr, "pingpong: truncated message\n");
			exit(1);
		}
		got += (size_t)r;
	}
	return 1;
}

static void
put_u64(char *msg, uint64_t v)
{
	memcpy(msg, &v, sizeof(v));
}

static uint64_t
get_u64(const char *msg)
{
	uint64_t v;

	memcpy(&v, msg, sizeof(v));
	return v;
}

/*
 * The child answers whatever arrives, batch by batch; it mirrors the
 * parent's batch sizes so that every reply is a single write.
 */
static void
child(int in, int out, long n, size_t size, long batch)
{
	char *buf = malloc((size_t)batch * size);
	long left = n;

	if (buf == NULL)
		die("malloc");
	for (;;) {
		long k = left > 0 && left < batch ? left : batch;
		size_t len = (size_t)k * size;

		if (!read_all(in, buf, len))
			break;
		for (long i = 0; i < k; i++) {
			char *msg = buf + (size_t)i * size;

			put_u64(msg, 2 * get_u64(msg));
		}
		write_all(out, buf, len);
		left -= k;
	}
	free(buf);
	_exit(0);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank, as the other benchmarks compute it. */
static double
percentile(const double *sorted, long n, int pct)
{
	long rank = (n * pct + 99) / 100;

	return sorted[rank > 0 ? rank - 1 : 0];
}

static void
check(const char *msg, uint64_t sent)
{
	if (get_u64(msg) != 2 * sent) {
		fprintf(stderr, "pingpong: wrong answer for %llu\n",
		    (unsigned long long)sent);
		exit(1);
	}
}

static void
round_trip(int out, int in, char *msg, size_t size, uint64_t v)
{
	put_u64(msg, v);
	write_all(out, msg, size);
	if (!read_all(in, msg, size)) {
		fprintf(stderr, "pingpong: the child went away\n");
		exit(1);
	}
	check(msg, v);
}

static void
run_unbatched(int out, int in, long n, size_t size)
{
	char *msg = calloc(1, size);
	double *rtt = malloc((size_t)n * sizeof(*rtt));
	double start, end;

	if (msg == NULL || rtt == NULL)
		die("malloc");
	for (long i = 0; i < WARMUP; i++)
		round_trip(out, in, msg, size, (uint64_t)i);
	start = now();
	for (long i = 0; i < n; i++) {
		double t0 = now();

		round_trip(out, in, msg, size, (uint64_t)i);
		rtt[i] = now() - t0;
	}
	end = now();
	qsort(rtt, (size_t)n, sizeof(*rtt), cmp_double);
	printf("RESULT pipe_unbatched latency p50_us %.2f\n",
	    percentile(rtt, n, 50) * 1e6);
	printf("RESULT pipe_unbatched latency p99_us %.2f\n",
	    percentile(rtt, n, 99) * 1e6);
	printf("RESULT pipe_unbatched throughput tasks_per_s %.0f\n",
	    (double)n / (end - start));
	free(rtt);
	free(msg);
}

static void
run_batched(int out, int in, long n, size_t size, long batch)
{
	char *buf = calloc((size_t)batch, size);
	long done = 0;
	double start, end;

	if (buf == NULL)
		die("calloc");
	start = now();
	while (done < n) {
		long k = n - done < batch ? n - done : batch;
		size_t len = (size_t)k * size;

		for (long i = 0; i < k; i++)
			put_u64(buf + (size_t)i * size, (uint64_t)(done + i));
		write_all(out, buf, len);
		if (!read_all(in, buf, len)) {
			fprintf(stderr, "pingpong: the child went away\n");
			exit(1);
		}
		for (long i = 0; i < k; i++)
			check(buf + (size_t)i * size, (uint64_t)(done + i));
		done += k;
	}
	end = now();
	printf("RESULT pipe_batched throughput tasks_per_s %.0f\n",
	    (double)n / (end - start));
	free(buf);
}

/* MB (10^6 bytes) a second, counting each message there and back. */
static void
run_large(int out, int in, long n, size_t size)
{
	char *msg = malloc(size);
	double start, end;

	if (msg == NULL)
		die("malloc");
	for (size_t i = 0; i < size; i++)
		msg[i] = (char)(i * 7 + 1);
	for (long i = 0; i < LARGE_WARMUP; i++)
		round_trip(out, in, msg, size, (uint64_t)i);
	start = now();
	for (long i = 0; i < n; i++)
		round_trip(out, in, msg, size, (uint64_t)i);
	end = now();
	printf("RESULT pipe_large large_values mb_per_s %.1f\n",
	    2.0 * (double)n * (double)size / 1e6 / (end - start));
	free(msg);
}

static long
parse_long(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v <= 0) {
		fprintf(stderr, "pingpong: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	enum mode mode;
	long n = 0, size = 0, batch = 256;
	int req[2], rep[2], status, opt;
	pid_t pid;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "unbatched") == 0)
		mode = UNBATCHED;
	else if (strcmp(argv[1], "batched") == 0)
		mode = BATCHED;
	else if (strcmp(argv[1], "large") == 0)
		mode = LARGE;
	else
		usage();
	/* The mode takes argv[0]'s place so that getopt skips it. */
	while ((opt = getopt(argc - 1, argv + 1, "n:s:b:")) != -1) {
		switch (opt) {
		case 'n':
			n = parse_long(optarg, "N");
			break;
		case 's':
			size = parse_long(optarg, "SIZE");
			break;
		case 'b':
			batch = parse_long(optarg, "BATCH");
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	if (n == 0)
		n = mode == UNBATCHED ? 100000 : mode == LARGE ? 200 : 2000000;
	if (size == 0)
		size = mode == LARGE ? LARGE_SIZE : 64;
	if (size < (long)sizeof(uint64_t)) {
		fprintf(stderr, "pingpong: SIZE must be at least %zu\n",
		    sizeof(uint64_t));
		return 2;
	}
	if (mode != BATCHED)
		batch = 1;

	/* A dead peer must show up as EPIPE and an error, not as a signal. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal");
	if (pipe(req) != 0 || pipe(rep) != 0)
		die("pipe");
	/* Flush before fork so that nothing buffered is printed twice. */
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (close(req[1]) != 0 || close(rep[0]) != 0)
			die("close");
		child(req[0], rep[1], mode == BATCHED ? n : -1, (size_t)size,
		    batch);
	}
	if (close(req[0]) != 0 || close(rep[1]) != 0)
		die("close");

	if (mode == UNBATCHED)
		run_unbatched(req[1], rep[0], n, (size_t)size);
	else if (mode == LARGE)
		run_large(req[1], rep[0], n, (size_t)size);
	else
		run_batched(req[1], rep[0], n, (size_t)size, batch);

	/* End of file on its input tells the child to leave. */
	if (close(req[1]) != 0)
		die("close");
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "pingpong: the child failed\n");
		return 1;
	}
	if (close(rep[0]) != 0)
		die("close");
	if (fflush(stdout) != 0)
		die("stdout");
	return 0;
}
