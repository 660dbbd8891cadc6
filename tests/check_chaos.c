/*
 * Chaos: a long random mix of successes, task errors, crashes, hangs past
 * their timeout, grandchildren, huge results, protocol garbage, retries
 * and cancellations from another thread.  Every task must end in exactly
 * one final state that fits what it did; afterwards no zombie, descriptor,
 * grandchild or memory is left behind, and the queue still works.  Also:
 * a worker killed from outside fails (or retries) its own task only.
 *
 * PROCQ_CHAOS_SEED and PROCQ_CHAOS_TASKS override the seed and the number
 * of tasks.
 */
#include "config.h"

#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chaos_tasks.h"
#include "tasks.h"
#include "util.h"

#define TEST_SANITIZED (TEST_ASAN || TEST_TSAN)

#define DEFAULT_SEED 20240611u
#define N_TASKS (TEST_SANITIZED ? 4000 : 20000)
#define N_MEMORY 800		/* tasks of each memory round */
#define N_CLEAN 1000
#define HUGE_LEN (3 << 20)
#define LOOP_TIMEOUT 0.25

enum kind {
	K_OK,		/* ident: succeeds */
	K_FAIL,		/* fail: procq_call_fail */
	K_SEGV,		/* crash segv-raise */
	K_ABORT,	/* crash abort */
	K_EXIT,		/* crash _exit3 */
	K_LOOP,		/* busy_loop with a per-attempt timeout */
	K_GRAND,	/* chaos_grand: forks a grandchild, then crashes */
	K_HUGE,		/* bigstr of a few MiB */
	K_GARBAGE,	/* garbage bytes on the result pipe, then pause */
	K_RETRY,	/* crash_once with retries: succeeds on attempt 2 */
	N_KIND
};

static const struct {
	const char *name;
	int weight;		/* per 10,000 */
} kinds[N_KIND] = {
	[K_OK] = { "ok", 6200 },
	[K_FAIL] = { "fail", 1000 },
	[K_SEGV] = { "segv", 500 },
	[K_ABORT] = { "abort", 500 },
	[K_EXIT] = { "_exit", 500 },
	[K_LOOP] = { "loop", 25 },
	[K_GRAND] = { "grandchild", 200 },
	[K_HUGE] = { "huge", 10 },
	[K_GARBAGE] = { "garbage", 300 },
	[K_RETRY] = { "retry", 765 },
};

/* xorshift64*: one stream per user, so runs repeat from the seed. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static unsigned
rnd_below(uint64_t *s, unsigned n)
{
	return (unsigned)((rnd(s) >> 33) % n);
}

static unsigned long
env_num(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtoul(v, NULL, 0) : dflt;
}

struct task {
	enum kind kind;
	int retries;
	int arg;
	procq_handle *h;
};

enum { C_NONE, C_OK, C_DONE, C_ERR };

struct canceller {
	struct task *t;
	_Atomic size_t nsub;	/* tasks published to the canceller */
	atomic_bool stop;
	uint64_t rng;
	size_t limit;
	unsigned char *state;	/* C_*: what procq_handle_cancel said */
	int err;		/* an unexpected return code, if any */
	size_t tried, cancelled;
	size_t running;		/* of them, tasks seen running just before */
};

/* Cancels tasks at random moments: half of them near the front of the
 * queue (running, prefetched or about to run), half anywhere. */
static void *
cancel_main(void *p)
{
	struct canceller *c = p;
	size_t lo = 0, k, i, n, cand[8];
	bool was;
	int rc;

	while (!atomic_load(&c->stop) && c->cancelled < c->limit) {
		nap(rnd_below(&c->rng, 8000) / 1e6);
		k = atomic_load(&c->nsub);
		if (k == 0)
			continue;
		while (lo < k && procq_handle_done(c->t[lo].h))
			lo++;
		if (rnd_below(&c->rng, 2) == 0 && lo < k) {
			/* a running task if there is one, else one close */
			for (i = lo, n = 0; i < k && i < lo + 64; i++) {
				procq_status st = procq_handle_status(c->t[i].h);

				if ((st == PROCQ_RUNNING || st ==
				    PROCQ_RETRYING) && n < 8)
					cand[n++] = i;
			}
			if (n > 0)
				i = cand[rnd_below(&c->rng, (unsigned)n)];
			else
				i = lo + rnd_below(&c->rng, 32);
			if (i >= k)
				i = k - 1;
		} else {
			i = rnd_below(&c->rng, (unsigned)k);
		}
		if (c->state[i] != C_NONE)
			continue;
		c->tried++;
		was = procq_handle_status(c->t[i].h) == PROCQ_RUNNING;
		rc = procq_handle_cancel(c->t[i].h);
		if (rc == 0) {
			c->state[i] = C_OK;
			c->cancelled++;
			c->running += was;
		} else if (rc == PROCQ_EDONE) {
			c->state[i] = C_DONE;
		} else {
			c->state[i] = C_ERR;
			c->err = rc;
		}
	}
	return NULL;
}

struct tally {
	size_t n[N_KIND];
	size_t st[N_KIND][3];	/* succeeded, failed, cancelled */
	size_t retried;		/* tasks submitted with retries > 0 */
	size_t attempts;	/* attempts made in all */
	size_t grandchildren;
	size_t cancel_tried, cancel_ok, cancel_running;
	size_t cancel_lost;	/* cancel returned 0, task succeeded */
	double secs;
};

static const char *
grand_path_fill(char *path, size_t size)
{
	make_tmpfile(path, size);
	return path;
}

static void
submit_task(procq_queue *q, struct task *t, const char *gpath)
{
	procq_opts o = { .retries = t->retries };

	switch (t->kind) {
	case K_OK:
		t->h = submit_ok(q, "ident", &o, "i", t->arg);
		break;
	case K_FAIL:
		t->h = submit_ok(q, "fail", &o, "i", t->arg);
		break;
	case K_SEGV:
		t->h = submit_ok(q, "crash", &o, "s", "segv-raise");
		break;
	case K_ABORT:
		t->h = submit_ok(q, "crash", &o, "s", "abort");
		break;
	case K_EXIT:
		t->h = submit_ok(q, "crash", &o, "s", "_exit3");
		break;
	case K_LOOP:
		o.timeout = LOOP_TIMEOUT;
		t->h = submit_ok(q, "busy_loop", &o, "");
		break;
	case K_GRAND:
		t->h = submit_ok(q, "chaos_grand", &o, "ss", gpath,
		    t->arg % 2 ? "abort" : "segv");
		break;
	case K_HUGE:
		t->h = submit_ok(q, "bigstr", &o, "i", HUGE_LEN + t->arg);
		break;
	case K_GARBAGE:
		/* the timeout only guards against a hang: it must not fire */
		o.timeout = 20;
		t->h = submit_ok(q, "garbage", &o, "s", "bytes");
		break;
	case K_RETRY:
		t->h = submit_ok(q, "crash_once", &o, "s",
		    t->arg % 3 == 0 ? "abort" :
		    t->arg % 3 == 1 ? "_exit3" : "sigkill");
		break;
	default:
		ck_abort_msg("kind %d", (int)t->kind);
	}
}

/* A report of one task for a failed assertion. */
static const char *
describe(const struct task *t, size_t i, char *buf, size_t size)
{
	snprintf(buf, size, "task %zu (%s, retries %d): %s, %s, %s: %s, "
	    "attempts %d", i, kinds[t->kind].name, t->retries,
	    procq_status_name(procq_handle_status(t->h)),
	    procq_error_kind_name(procq_handle_error_kind(t->h)),
	    procq_handle_error_type(t->h) ? procq_handle_error_type(t->h) : "-",
	    procq_handle_error_message(t->h) ?
	    procq_handle_error_message(t->h) : "-",
	    procq_handle_attempts(t->h));
	return buf;
}

/* The final state of one task that was not cancelled fits its kind. */
static void
check_task(const struct task *t, size_t i)
{
	procq_handle *h = t->h;
	procq_status st = procq_handle_status(h);
	procq_error_kind ek = procq_handle_error_kind(h);
	int att = procq_handle_attempts(h);
	const procq_result *r = procq_handle_result(h);
	procq_error_kind want = PROCQ_ERR_NONE;
	const char *type = NULL;
	char buf[512];
	size_t len = 0;
	const char *data;
	int v = -1;

	ck_assert_ptr_nonnull(r);
	switch (t->kind) {
	case K_OK:
	case K_HUGE:
	case K_RETRY:
		break;
	case K_FAIL:
		want = PROCQ_ERR_TASK;
		type = "ValueError";
		break;
	case K_SEGV:
	case K_ABORT:
	case K_EXIT:
	case K_GRAND:
		want = PROCQ_ERR_CRASH;
		type = "WorkerCrash";
		break;
	case K_LOOP:
		want = PROCQ_ERR_TIMEOUT;
		type = "Timeout";
		break;
	case K_GARBAGE:
		want = PROCQ_ERR_PROTOCOL;
		type = "ProtocolError";
		break;
	default:
		break;
	}
	ck_assert_msg(st == (want == PROCQ_ERR_NONE ? PROCQ_SUCCEEDED :
	    PROCQ_FAILED) && ek == want, "%s",
	    describe(t, i, buf, sizeof buf));
	if (type != NULL)
		ck_assert_msg(strcmp(procq_handle_error_type(h), type) == 0,
		    "%s", describe(t, i, buf, sizeof buf));
	if (t->kind == K_RETRY) {
		ck_assert_msg(att == 2, "%s", describe(t, i, buf, sizeof buf));
		ck_assert_int_eq(procq_handle_value(h, "i", &v), 0);
		ck_assert_int_eq(v, 42);
	} else if (st == PROCQ_FAILED) {
		ck_assert_msg(att == t->retries + 1, "%s",
		    describe(t, i, buf, sizeof buf));
	} else {
		ck_assert_msg(att == 1, "%s", describe(t, i, buf, sizeof buf));
	}
	if (t->kind == K_OK) {
		ck_assert_int_eq(procq_handle_value(h, "i", &v), 0);
		ck_assert_int_eq(v, t->arg);
	} else if (t->kind == K_HUGE) {
		ck_assert_int_eq(procq_handle_value(h, "S", &data, &len), 0);
		ck_assert_uint_eq(len, (size_t)HUGE_LEN + (size_t)t->arg);
		ck_assert(data[0] == 'x' && data[len - 1] == 'x');
	} else if (t->kind == K_EXIT) {
		ck_assert_int_eq(procq_result_exit_status(r), 3);
	}
}

/* Every pid recorded in path (one a line) is gone; kills survivors. */
static size_t
check_grandchildren(const char *path)
{
	FILE *fp = fopen(path, "r");
	size_t n = 0, alive = 0;
	pid_t first = 0;
	int pid;

	ck_assert_ptr_nonnull(fp);
	while (fscanf(fp, "%d", &pid) == 1) {
		n++;
		if (!wait_pid_gone((pid_t)pid, 5)) {
			if (alive++ == 0)
				first = (pid_t)pid;
			kill((pid_t)pid, SIGKILL);
		}
	}
	fclose(fp);
	ck_assert_msg(alive == 0, "%zu of %zu grandchildren survived "
	    "(pid %d, state %c)", alive, n, (int)first, proc_state(first));
	return n;
}

/* One chaos round of n tasks; with clean, then a clean batch on the same
 * queue.  The queue is freed at the end. */
static void
chaos_round(size_t n, uint64_t seed, bool clean, struct tally *ty)
{
	uint64_t rng = seed;
	struct task *t = calloc(n, sizeof *t);
	struct canceller c = { 0 };
	procq_config cfg = { 0 };
	procq_summary *s = NULL;
	procq_queue *q;
	pthread_t th;
	char gpath[128], buf[512];
	size_t i, k, tot[3] = { 0 };
	double t0 = now();
	int rc;

	ck_assert_ptr_nonnull(t);
	memset(ty, 0, sizeof *ty);
	grand_path_fill(gpath, sizeof gpath);
	cfg.workers = 2 + (int)rnd_below(&rng, 3);
	cfg.prefetch = 1 + (int)rnd_below(&rng, 4);
	cfg.kill_grace = 0.2;
	q = new_queue_config(&cfg);
	register_chaos_tasks(q);
	printf("chaos: %zu tasks, seed %" PRIu64 ", %d workers, prefetch %d\n",
	    n, seed, cfg.workers, cfg.prefetch);

	for (i = 0; i < n; i++) {
		unsigned r = rnd_below(&rng, 10000), acc = 0;

		for (k = 0; k < N_KIND; k++) {
			acc += (unsigned)kinds[k].weight;
			if (r < acc)
				break;
		}
		t[i].kind = (enum kind)k;
		t[i].arg = (int)i;
		switch (t[i].kind) {
		case K_FAIL:
		case K_SEGV:
		case K_ABORT:
		case K_EXIT:
		case K_GARBAGE:
			if (rnd_below(&rng, 4) == 0)
				t[i].retries = 1 + (int)rnd_below(&rng, 2);
			break;
		case K_RETRY:
			t[i].retries = 1 + (int)rnd_below(&rng, 2);
			break;
		default:
			break;
		}
	}

	c.t = t;
	c.rng = seed ^ 0x9e3779b97f4a7c15ull;
	c.limit = n / 25;
	c.state = calloc(n, 1);
	ck_assert_ptr_nonnull(c.state);
	/*
	 * AddressSanitizer's allocator is not fork-safe: a worker forked while
	 * this thread allocates (submitting) can hang.  There, everything is
	 * submitted before the workers start, and this thread only waits once
	 * they run; the canceller allocates only under the queue's lock.
	 */
	if (!TEST_ASAN)
		ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, cancel_main, &c), 0);
	for (i = 0; i < n; i++) {
		submit_task(q, &t[i], gpath);
		atomic_store(&c.nsub, i + 1);
	}
	rc = procq_run(q, NULL, &s);
	atomic_store(&c.stop, true);
	ck_assert_int_eq(join_within(th, 30), 0);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(c.err == 0, "procq_handle_cancel: %s",
	    procq_strerror(c.err));

	for (i = 0; i < n; i++) {
		procq_status st = procq_handle_status(t[i].h);

		ck_assert_msg(procq_handle_done(t[i].h) &&
		    (st == PROCQ_SUCCEEDED || st == PROCQ_FAILED ||
		    st == PROCQ_CANCELLED), "%s",
		    describe(&t[i], i, buf, sizeof buf));
		if (c.state[i] == C_OK && st != PROCQ_SUCCEEDED) {
			ck_assert_msg(st == PROCQ_CANCELLED &&
			    procq_handle_error_kind(t[i].h) ==
			    PROCQ_ERR_CANCELLED && strcmp(
			    procq_handle_error_type(t[i].h), "Cancelled") == 0,
			    "cancelled %s",
			    describe(&t[i], i, buf, sizeof buf));
			k = 2;
		} else {
			/* A cancel that returned 0 may still lose to a value
			 * already in the pipe (procq_handle_cancel(3)); never
			 * to a failure. */
			if (c.state[i] == C_OK)
				ty->cancel_lost++;
			ck_assert_msg(st != PROCQ_CANCELLED,
			    "not cancelled, yet %s",
			    describe(&t[i], i, buf, sizeof buf));
			check_task(&t[i], i);
			k = st == PROCQ_SUCCEEDED ? 0 : 1;
		}
		ty->n[t[i].kind]++;
		ty->st[t[i].kind][k]++;
		tot[k]++;
		ty->attempts += (size_t)procq_handle_attempts(t[i].h);
		if (t[i].retries > 0)
			ty->retried++;
	}
	ck_assert_uint_eq(procq_summary_submitted(s), n);
	ck_assert_uint_eq(procq_summary_count(s), n);
	ck_assert_uint_eq(procq_summary_succeeded(s), tot[0]);
	ck_assert_uint_eq(procq_summary_failed(s), tot[1]);
	ck_assert_uint_eq(procq_summary_cancelled(s), tot[2]);
	ck_assert_uint_eq(tot[0] + tot[1] + tot[2], n);
	ck_assert_uint_eq(tot[2] + ty->cancel_lost, c.cancelled);
	procq_summary_free(s);
	ty->cancel_tried = c.tried;
	ty->cancel_ok = c.cancelled;
	ty->cancel_running = c.running;

	if (clean) {
		procq_handle **hc = calloc(N_CLEAN, sizeof *hc);
		int v;

		ck_assert_ptr_nonnull(hc);
		for (i = 0; i < N_CLEAN; i++)
			hc[i] = submit_ok(q, "ident", NULL, "i", (int)i);
		ck_assert_int_eq(procq_run(q, NULL, &s), 0);
		ck_assert_uint_eq(procq_summary_succeeded(s), N_CLEAN);
		ck_assert(procq_summary_ok(s));
		for (i = 0; i < N_CLEAN; i++) {
			v = -1;
			ck_assert_int_eq(procq_handle_value(hc[i], "i", &v), 0);
			ck_assert_int_eq(v, (int)i);
			ck_assert_int_eq(procq_handle_attempts(hc[i]), 1);
		}
		procq_summary_free(s);
		free(hc);
	}

	procq_free(q);
	ty->grandchildren = check_grandchildren(gpath);
	unlink(gpath);
	free(c.state);
	free(t);
	ty->secs = now() - t0;
}

static void
print_tally(const struct tally *ty)
{
	size_t k;

	printf("chaos: %-10s %7s %9s %7s %9s\n", "kind", "tasks", "succeeded",
	    "failed", "cancelled");
	for (k = 0; k < N_KIND; k++)
		printf("chaos: %-10s %7zu %9zu %7zu %9zu\n", kinds[k].name,
		    ty->n[k], ty->st[k][0], ty->st[k][1], ty->st[k][2]);
	printf("chaos: %zu attempts, %zu tasks with retries, %zu grandchildren,"
	    " %zu/%zu cancels returned 0 (%zu of running tasks, %zu lost to"
	    " a value already sent), %.1f s\n",
	    ty->attempts, ty->retried, ty->grandchildren, ty->cancel_ok,
	    ty->cancel_tried, ty->cancel_running, ty->cancel_lost, ty->secs);
	fflush(stdout);
}

/* Anything opened once per process is opened now. */
static void
warm_up(void)
{
	procq_queue *q = new_queue(1, 0);

	submit_ok(q, "crash", NULL, "s", "sigkill");
	submit_ok(q, "ident", NULL, "i", 1);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	procq_free(q);
}

START_TEST(test_chaos)
{
	uint64_t seed = env_num("PROCQ_CHAOS_SEED", DEFAULT_SEED);
	size_t n = env_num("PROCQ_CHAOS_TASKS", N_TASKS);
	struct tally ty;
	pid_t kids[8];
	size_t m1, m2;
	int fds;

	printf("chaos: seed %" PRIu64 "\n", seed);
	warm_up();
	fds = count_fds();
	ck_assert_uint_eq(list_children(kids, 8), 0);

	chaos_round(n, seed, true, &ty);
	print_tally(&ty);
	ck_assert_msg(list_children(kids, 8) == 0,
	    "child %d (state %c) left after procq_free", (int)kids[0],
	    proc_state(kids[0]));
	ck_assert_int_eq(count_fds(), fds);

	/* memory: two identical smaller rounds end with the same heap */
	if (TEST_SANITIZED)
		return;
	chaos_round(N_MEMORY, seed + 1, false, &ty);
	m1 = heap_in_use();
	chaos_round(N_MEMORY, seed + 1, false, &ty);
	m2 = heap_in_use();
	printf("chaos: heap in use %zu then %zu bytes\n", m1, m2);
	ck_assert_msg(m2 <= m1 + (1 << 20),
	    "heap grew from %zu to %zu bytes over one round", m1, m2);
	ck_assert_uint_eq(list_children(kids, 8), 0);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

#define N_BYSTANDERS 400

/* Workers killed from outside in the middle of a task: that task retries
 * (or fails, without retries); every other task succeeds at once. */
START_TEST(test_external_kill)
{
#if TEST_ASAN
	return;	/* it submits while workers are replaced: see chaos_round */
#endif
	procq_config cfg = { .workers = 3, .prefetch = 2 };
	procq_handle *hr, *hf, *hb[N_BYSTANDERS];
	char pr[128], pf[128];
	procq_queue *q;
	pid_t kids[8], wr, wf;
	int fds, i, v;

	warm_up();
	fds = count_fds();
	make_tmpfile(pr, sizeof pr);
	make_tmpfile(pf, sizeof pf);
	q = new_queue_config(&cfg);
	register_chaos_tasks(q);
	ck_assert_int_eq(procq_start(q), 0);
	hr = submit_ok(q, "chaos_victim", &(procq_opts){ .retries = 1 }, "s",
	    pr);
	hf = submit_ok(q, "chaos_victim", NULL, "s", pf);
	for (i = 0; i < N_BYSTANDERS / 2; i++)
		hb[i] = submit_ok(q, "ident", NULL, "i", i);

	wr = wait_pid_file(pr, 20);
	ck_assert_msg(wr > 0, "first victim did not start: %s, %s: %s",
	    procq_status_name(procq_handle_status(hr)),
	    procq_error_kind_name(procq_handle_error_kind(hr)),
	    procq_handle_error_message(hr) ? procq_handle_error_message(hr) :
	    "-");
	ck_assert_int_eq(kill(wr, SIGKILL), 0);
	for (; i < N_BYSTANDERS; i++)
		hb[i] = submit_ok(q, "ident", NULL, "i", i);
	wf = wait_pid_file(pf, 20);
	ck_assert_msg(wf > 0, "second victim did not start");
	ck_assert_int_ne(wf, wr);
	ck_assert_int_eq(kill(wf, SIGKILL), 0);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);

	ck_assert_msg(procq_handle_status(hr) == PROCQ_SUCCEEDED,
	    "retried victim: %s: %s", procq_status_name(procq_handle_status(hr)),
	    procq_handle_error_message(hr));
	ck_assert_int_eq(procq_handle_attempts(hr), 2);
	v = 0;
	ck_assert_int_eq(procq_handle_value(hr, "i", &v), 0);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(procq_handle_status(hf), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(hf), PROCQ_ERR_CRASH);
	ck_assert_int_eq(procq_result_signal(procq_handle_result(hf)), SIGKILL);
	ck_assert_int_eq(procq_handle_attempts(hf), 1);
	for (i = 0; i < N_BYSTANDERS; i++) {
		ck_assert_msg(procq_handle_status(hb[i]) == PROCQ_SUCCEEDED,
		    "bystander %d: %s: %s", i,
		    procq_status_name(procq_handle_status(hb[i])),
		    procq_handle_error_message(hb[i]));
		ck_assert_int_eq(procq_handle_attempts(hb[i]), 1);
		v = -1;
		ck_assert_int_eq(procq_handle_value(hb[i], "i", &v), 0);
		ck_assert_int_eq(v, i);
	}
	procq_free(q);
	unlink(pr);
	unlink(pf);
	ck_assert_uint_eq(list_children(kids, 8), 0);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

static Suite *
chaos_suite(void)
{
	Suite *s = suite_create("chaos");
	TCase *tc;

	tc = add_tcase(s, "chaos", 300);
	tcase_add_test(tc, test_chaos);
	tcase_add_test(tc, test_external_kill);
	return s;
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_suite(chaos_suite());
}
