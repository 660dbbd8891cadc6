/*
 * The dispatch engine: the spare worker kept once a worker has died, the
 * adaptive prefetch window (and a crash inside it), a fixed window, the
 * lazy ready and delayed heaps under mass cancellation (entries skipped
 * when they surface, compaction once stale ones outnumber live ones), and
 * what a handle keeps of its submission (name and arguments).
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tasks.h"
#include "util.h"

/* Initializer (s path): holds the worker for ever, before it says hello,
 * while the file at path is not empty. */
static int
init_hold(procq_call *c)
{
	char *path = NULL;
	long size;

	if (procq_call_unpack(c, "s", &path) != 0 || path == NULL)
		return procq_call_fail(c, "ArgError", "init_hold wants (s)");
	size = file_size(path);
	free(path);
	while (size > 0)
		pause();
	return 0;
}

/* Initializer (s how): the worker dies before it says hello, of SIGSEGV
 * ("segv") or by exiting with status 3 ("exit"). */
static int
init_die(procq_call *c)
{
	char *how = NULL;
	bool segv;

	if (procq_call_unpack(c, "s", &how) != 0 || how == NULL)
		return procq_call_fail(c, "ArgError", "init_die wants (s)");
	segv = strcmp(how, "segv") == 0;
	free(how);
	if (segv)
		raise(SIGSEGV);
	_exit(3);
}

/* A queue with the common tasks and this suite's own. */
static procq_queue *
engine_queue_config(const procq_config *cfg)
{
	procq_queue *q = new_queue_config(cfg);

	/* The exec'd test worker program has it in its own table. */
	if (!test_exec(cfg))
		ck_assert_int_eq(procq_register(q, "gate_crash",
		    task_gate_crash), 0);
	return q;
}

static procq_queue *
engine_queue(int workers, int prefetch)
{
	return engine_queue_config(&(procq_config){ .workers = workers,
	    .prefetch = prefetch });
}

static size_t
children(void)
{
	return list_children(NULL, 0);
}

/* Both workers of a queue of two are up. */
static bool
two_children(void *arg)
{
	(void)arg;
	return children() >= 2;
}

/* procq_run() with a deadline, so that a task that is never run fails
 * the test instead of hanging it; returns the summary. */
static procq_summary *
run_ok(procq_queue *q)
{
	procq_summary *s;
	int rc = procq_run(q, &(procq_run_opts){ .timeout = 10 }, &s);

	ck_assert_msg(rc == 0, "procq_run: %s", procq_strerror(rc));
	ck_assert_ptr_nonnull(s);
	return s;
}

static int
run_getpid(procq_queue *q)
{
	procq_handle *h = submit_ok(q, "getpid", NULL, "");

	wait_done(h, 10);
	return int_value(h);
}

/*
 * Spare worker
 */

/* Watches the queue's processes while the test waits for something:
 * every poll counts the children, so that a moment with too many of
 * them is seen. */
struct watch {
	procq_queue	*q;
	procq_handle	*h;		/* wait for it to finish, or */
	size_t		 want;		/* for this many children and */
	size_t		 most;		/* the most seen so far */
};

static size_t
watch_sample(struct watch *w)
{
	size_t n = children();

	if (n > w->most)
		w->most = n;
	return n;
}

static bool
watch_handle_done(void *p)
{
	struct watch *w = p;

	watch_sample(w);
	return procq_handle_done(w->h);
}

/* want children, of which exactly one counts as a worker. */
static bool
watch_children(void *p)
{
	struct watch *w = p;

	return watch_sample(w) == w->want && stats_of(w->q).workers == 1;
}

static void
watch_done(struct watch *w, procq_handle *h)
{
	w->h = h;
	ck_assert_msg(wait_until(watch_handle_done, w, 10),
	    "%s did not finish", procq_handle_name(h));
}

/* Ways a worker dies while it should live: each makes the queue keep a
 * spare from then on. */
enum death { DEATH_CRASH, DEATH_TIMEOUT, DEATH_CANCEL, N_DEATHS };

static void
kill_worker(struct watch *w, enum death how)
{
	procq_handle *h;

	switch (how) {
	case DEATH_CRASH:
		h = submit_ok(w->q, "crash", NULL, "s", "sigkill");
		watch_done(w, h);
		ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
		ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_CRASH);
		break;
	case DEATH_TIMEOUT:
		h = submit_ok(w->q, "sleep", &(procq_opts){ .timeout = 0.05 },
		    "d", 30.0);
		watch_done(w, h);
		ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
		ck_assert_int_eq(procq_handle_error_kind(h),
		    PROCQ_ERR_TIMEOUT);
		break;
	default:
		/* a running task is cancelled by killing its worker */
		h = submit_ok(w->q, "sleep", NULL, "d", 30.0);
		ck_assert(wait_status(h, PROCQ_RUNNING, 10));
		ck_assert_int_eq(procq_handle_cancel(h), 0);
		watch_done(w, h);
		ck_assert_int_eq(procq_handle_status(h), PROCQ_CANCELLED);
		break;
	}
}

/* The child of this process that is not pid (there are two). */
static pid_t
other_child(pid_t pid)
{
	pid_t kids[4];

	ck_assert_uint_eq(list_children(kids, 4), 2);
	return kids[0] == pid ? kids[1] : kids[0];
}

/* One worker: no spare until it dies; then one, uncounted, which takes
 * the next dead worker's place, and is replaced in turn. */
START_TEST(test_spare_after_death)
{
	enum death how = (enum death)_i;
	struct watch w = { .want = 2 };
	procq_queue *q;
	pid_t first, second, spare;
	int fds, round;

	/* warm up: anything opened once per process is opened now */
	q = engine_queue(1, 0);
	ck_assert_int_eq(procq_start(q), 0);
	kill_worker(&(struct watch){ .q = q }, DEATH_CRASH);
	procq_free(q);
	fds = count_fds();
	ck_assert_uint_eq(children(), 0);

	w.q = q = engine_queue(1, 0);
	ck_assert_int_eq(procq_start(q), 0);
	first = run_getpid(q);
	/* no death yet: no spare */
	ck_assert_uint_eq(children(), 1);
	ck_assert_int_eq(stats_of(q).workers, 1);

	kill_worker(&w, how);
	second = run_getpid(q);
	ck_assert_int_ne(second, first);
	ck_assert_msg(wait_until(watch_children, &w, 10),
	    "%zu children, %d workers after a death; want a worker and a "
	    "spare", children(), stats_of(q).workers);

	for (round = 0; round < 3; round++) {
		/* the spare, forked ahead of need, runs the next task */
		spare = other_child(second);
		kill_worker(&w, DEATH_CRASH);
		second = run_getpid(q);
		ck_assert_int_eq(second, spare);
		ck_assert_msg(wait_until(watch_children, &w, 10),
		    "round %d: no new spare", round);
	}
	/* never more than the worker and the spare (or the dead worker, a
	 * zombie until reaped, and the spare) */
	ck_assert_uint_le(w.most, 2);

	procq_free(q);
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_uint_eq(children(), 0);
}
END_TEST

/* The worker and the spare, told apart by who was there before. */
struct roles {
	pid_t	before[2];	/* in: the two children before a death */
	pid_t	killed;		/* in: a spare just killed */
	pid_t	worker;		/* in/out */
	pid_t	spare;		/* out */
};

/* Two children: one of before[] (the spare promoted after the worker
 * died) and one new spare. */
static bool
spare_promoted(void *arg)
{
	struct roles *r = arg;
	pid_t kids[3];
	bool old0, old1;

	if (list_children(kids, 3) != 2)
		return false;
	old0 = kids[0] == r->before[0] || kids[0] == r->before[1];
	old1 = kids[1] == r->before[0] || kids[1] == r->before[1];
	if (old0 == old1)
		return false;
	r->worker = old0 ? kids[0] : kids[1];
	r->spare = old0 ? kids[1] : kids[0];
	return true;
}

/* Two children: the worker and a spare other than the one killed. */
static bool
spare_replaced(void *arg)
{
	struct roles *r = arg;
	pid_t kids[3];

	if (list_children(kids, 3) != 2 ||
	    (kids[0] != r->worker && kids[1] != r->worker) ||
	    kids[0] == r->killed || kids[1] == r->killed)
		return false;
	r->spare = kids[0] == r->worker ? kids[1] : kids[0];
	return true;
}

static bool
worker_alone(void *arg)
{
	pid_t kid;

	return list_children(&kid, 1) == 1 && kid == *(pid_t *)arg;
}

static void
set_flag(const char *path, bool on)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	if (on)
		fputs("hold\n", fp);
	fclose(fp);
}

/*
 * A worker that never says hello (its initializer hangs) is killed at the
 * spawn timeout and counted as a failure to start a worker: the task
 * waiting for one goes back uncharged, and after three such failures it
 * fails with the spawn error (one attempt, as after three failed forks)
 * instead of waiting for ever.
 */
START_TEST(test_spawn_timeout)
{
	procq_args ia;
	char flag[128];
	procq_queue *q;
	procq_handle *h;
	const char *msg;

	if (test_exec(NULL))	/* an initializer: check_exec has its own */
		return;
	make_tmpfile(flag, sizeof flag);
	set_flag(flag, true);
	args_pack(&ia, "s", flag);
	q = engine_queue_config(&(procq_config){ .workers = 1,
	    .initializer = init_hold, .initargs = ia.data,
	    .initargs_len = ia.len, .spawn_timeout = 1.0 });
	args_free(&ia, 1);
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "getpid", NULL, "");
	wait_done(h, 30);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_SPAWN);
	msg = procq_handle_error_message(h);
	ck_assert_msg(strstr(msg, "did not say hello within 1 s") != NULL,
	    "message: %s", msg);
	ck_assert_int_eq(procq_handle_attempts(h), 1);

	/* The hang is over: the next worker says hello and runs tasks. */
	set_flag(flag, false);
	h = submit_ok(q, "getpid", NULL, "");
	wait_done(h, 30);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	procq_free(q);
	unlink(flag);
}
END_TEST

/*
 * A worker that dies before it says hello could never run the task sent
 * to it: that is a failure to start a worker, not a crash of the task.
 * The task goes back in line uncharged while workers are retried, and
 * fails with PROCQ_ERR_SPAWN once they keep dying, with a message that
 * names the start method and how the worker ended.
 */
START_TEST(test_death_before_hello)
{
	static const char *const how[] = { "segv", "exit" };
	static const char *const seen[] = {
		"died of SIGSEGV before it said hello",
		"exited with status 3 before it said hello"
	};
	procq_config cfg = { .workers = 1, .initializer = init_die };
	procq_args ia;
	procq_queue *q;
	procq_handle *h;
	const char *msg;
	char want[96];

	if (test_exec(NULL))	/* an initializer: check_exec has its own */
		return;
	args_pack(&ia, "s", how[_i]);
	cfg.initargs = ia.data;
	cfg.initargs_len = ia.len;
	q = engine_queue_config(&cfg);
	args_free(&ia, 1);
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "getpid", NULL, "");
	wait_done(h, 30);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_SPAWN);
	msg = procq_handle_error_message(h);
	snprintf(want, sizeof want, "(start method %s) %s",
	    test_effective_start_method(&cfg) == PROCQ_START_FORK ? "fork" :
	    "fork server", seen[_i]);
	ck_assert_msg(strstr(msg, want) != NULL, "message: %s", msg);
	/* Three workers died before the task failed: none was charged to it
	 * as an attempt, only the failure to start one at all. */
	ck_assert_int_eq(procq_handle_attempts(h), 1);
	procq_free(q);
}
END_TEST

/*
 * The fork server is killed from outside (it runs no task code, so
 * nothing else ends it): its workers die with it, and the next worker
 * needed comes from a new server, so the queue goes on.
 */
START_TEST(test_server_killed)
{
	procq_queue *q;
	procq_handle *h;
	pid_t server = 0, now_server = 0, kids[4];
	size_t nkids;

	if (test_effective_start_method(NULL) != PROCQ_START_FORKSERVER)
		return;	/* no server */
	q = engine_queue(2, 0);
	ck_assert_int_eq(procq_start(q), 0);
	run_getpid(q);
	ck_assert_uint_eq(list_servers(getpid(), &server, 1), 1);
	/* One task ran; the other worker may still be on its way. */
	ck_assert(wait_until(two_children, NULL, 10));
	nkids = list_children(kids, 4);
	ck_assert_uint_ge(nkids, 2);
	ck_assert_int_eq(kill(server, SIGKILL), 0);
	for (size_t i = 0; i < nkids && i < 4; i++)
		ck_assert_msg(wait_pid_gone(kids[i], 10),
		    "a worker outlived its fork server");

	/* The workers are gone, but the supervisor may not have seen it
	 * yet: an attempt handed to one of them is lost with it, as with
	 * any worker that dies (one retry for each of the two). */
	h = submit_ok(q, "getpid", &(procq_opts){ .retries = 2 }, "");
	wait_done(h, 30);
	ck_assert_msg(procq_handle_status(h) == PROCQ_SUCCEEDED,
	    "after the server died: %s", procq_handle_error_message(h));
	ck_assert_uint_eq(list_servers(getpid(), &now_server, 1), 1);
	ck_assert_int_ne(now_server, server);
	procq_free(q);
	ck_assert_uint_eq(list_servers(getpid(), &now_server, 1), 0);
}
END_TEST

/* A process's anonymous memory in its RAM, in KiB: shared pages count. */
static long
rss_anon_kib(pid_t pid)
{
	char path[64], line[128];
	long kib = -1;
	FILE *fp;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	while (fgets(line, sizeof line, fp) != NULL)
		if (sscanf(line, "RssAnon: %ld kB", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

#define FREED_BLOCKS 16384 /* of 4 KiB: 64 MiB */

/*
 * A fork server, and a worker forked from the caller, give back the free
 * memory of the heap they were forked with: while they shared it, the
 * caller's reuse of its free memory copied each page it wrote to.  Only
 * with glibc's allocator (a sanitizer's and valgrind's do not say how
 * much is in use, and ignore malloc_trim()).
 */
START_TEST(test_forked_heap_released)
{
	procq_start_method method = _i ? PROCQ_START_FORK :
					 PROCQ_START_FORKSERVER;
	void **blocks;
	procq_queue *q;
	pid_t pid = 0;
	long kib;

	if (heap_in_use() == 0)
		return;
	ck_assert_ptr_nonnull(blocks = calloc(FREED_BLOCKS, sizeof *blocks));
	for (size_t i = 0; i < FREED_BLOCKS; i++) {
		ck_assert_ptr_nonnull(blocks[i] = malloc(4096));
		memset(blocks[i], 1, 4096);
	}
	/* The last block keeps the freed ones from the heap's top. */
	for (size_t i = 0; i + 1 < FREED_BLOCKS; i++)
		free(blocks[i]);
	q = engine_queue_config(
	    &(procq_config){ .workers = 1, .start_method = method });
	ck_assert_int_eq(procq_start(q), 0);
	run_getpid(q);
	if (method == PROCQ_START_FORKSERVER)
		ck_assert_uint_eq(list_servers(getpid(), &pid, 1), 1);
	else
		ck_assert_uint_eq(list_children(&pid, 1), 1);
	kib = rss_anon_kib(pid);
	ck_assert_msg(kib >= 0 && kib < 32 * 1024,
	    "%s keeps %ld KiB of the caller's heap",
	    _i ? "the worker" : "the fork server", kib);
	procq_free(q);
	free(blocks[FREED_BLOCKS - 1]);
	free(blocks);
}
END_TEST

/* Spares that die before they are ready (here: killed while their
 * initializer holds them) stop being made after three in a row. */
START_TEST(test_spare_gives_up)
{
	struct watch w = { .want = 2 };
	struct roles r = { .killed = 0 };
	procq_args ia;
	char flag[128];
	procq_queue *q;
	procq_handle *h;
	int k;

	if (test_exec(NULL))	/* an initializer: not for exec */
		return;
	make_tmpfile(flag, sizeof flag);
	args_pack(&ia, "s", flag);
	w.q = q = engine_queue_config(&(procq_config){ .workers = 1,
	    .initializer = init_hold, .initargs = ia.data,
	    .initargs_len = ia.len, .spawn_timeout = PROCQ_FOREVER });
	args_free(&ia, 1);
	ck_assert_int_eq(procq_start(q), 0);
	run_getpid(q);

	/* From now on every new process holds in its initializer.  After
	 * a death, the next task brings a worker (which never gets to run
	 * it) and a spare; cancelling the task kills the worker, and the
	 * spare takes its place. */
	set_flag(flag, true);
	kill_worker(&w, DEATH_CRASH);
	h = submit_ok(q, "getpid", NULL, "");
	ck_assert(wait_status(h, PROCQ_RUNNING, 10));
	ck_assert(wait_until(watch_children, &w, 10));
	ck_assert_uint_eq(list_children(r.before, 2), 2);
	ck_assert_int_eq(procq_handle_cancel(h), 0);
	wait_done(h, 10);
	ck_assert_msg(wait_until(spare_promoted, &r, 10),
	    "the spare did not take the dead worker's place");

	for (k = 0; k < 3; k++) {
		r.killed = r.spare;
		ck_assert_int_eq(kill(r.killed, SIGKILL), 0);
		if (k < 2)
			ck_assert_msg(wait_until(spare_replaced, &r, 10),
			    "no spare after %d were killed", k + 1);
	}
	ck_assert(wait_until(worker_alone, &r.worker, 10));
	/* The last spare has been waited for, inside a loop callback that
	 * holds the queue's lock until it has forked any replacement: once
	 * a call has taken the lock, a replacement would be there. */
	ck_assert_int_eq(stats_of(q).workers, 1);
	ck_assert_msg(worker_alone(&r.worker),
	    "a spare was forked after three died unready");

	/* the queue still works, without a spare */
	set_flag(flag, false);
	kill_worker(&w, DEATH_TIMEOUT);
	run_getpid(q);
	ck_assert_uint_eq(children(), 1);
	procq_free(q);
	unlink(flag);
}
END_TEST

/* Workers that never die are never joined by a spare. */
START_TEST(test_no_spare_without_deaths)
{
	procq_queue *q = engine_queue(2, 0);
	procq_summary *s;
	int i;

	for (i = 0; i < 200; i++)
		submit_ok(q, "ident", NULL, "i", i);
	s = run_ok(q);
	ck_assert_uint_eq(procq_summary_succeeded(s), 200);
	procq_summary_free(s);
	ck_assert_uint_eq(children(), 2);
	ck_assert_int_eq(stats_of(q).workers, 2);
	procq_free(q);
}
END_TEST

/*
 * Prefetch window
 */

struct active_arg {
	procq_queue	*q;
	size_t		 least;
};

static bool
active_at_least(void *p)
{
	struct active_arg *a = p;

	return stats_of(a->q).active >= a->least;
}

#define WARM_TASKS	2000
#define BATCH		300
#define CRASH_AT	150

/*
 * One round of test_crash_in_adaptive_window: a batch whose task
 * CRASH_AT crashes while it is the head; returns how many tasks were
 * seen sent ahead of it (0 if none were within 5 s).  Whatever that
 * number, the crash fails that task alone.
 */
static size_t
crash_in_window(procq_queue *q)
{
	procq_handle *h[BATCH];
	procq_summary *s;
	struct active_arg a = { q, 2 };
	struct gate g;
	size_t ahead = 0;
	int i;

	/* a moving average of short attempts */
	for (i = 0; i < WARM_TASKS; i++)
		submit_ok(q, "ident", NULL, "i", i);
	s = run_ok(q);
	ck_assert_uint_eq(procq_summary_succeeded(s), WARM_TASKS);
	procq_summary_free(s);

	gate_create(&g);
	for (i = 0; i < BATCH; i++)
		h[i] = i == CRASH_AT ?
		    submit_ok(q, "gate_crash", NULL, "s", g.path) :
		    submit_ok(q, "ident", NULL, "i", i);
	ck_assert(gate_enter(&g, 10));
	/* a window of 1 would hold the gate task alone */
	if (wait_until(active_at_least, &a, 5))
		ahead = stats_of(q).active - 1;
	gate_release(&g);

	s = run_ok(q);
	gate_destroy(&g);
	ck_assert_uint_eq(procq_summary_count(s), BATCH);
	ck_assert_uint_eq(procq_summary_failed(s), 1);
	ck_assert_uint_eq(procq_summary_succeeded(s), BATCH - 1);
	ck_assert_uint_eq(procq_summary_cancelled(s), 0);
	ck_assert_int_eq(procq_handle_status(h[CRASH_AT]), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(h[CRASH_AT]),
	    PROCQ_ERR_CRASH);
	ck_assert_int_eq(procq_handle_attempts(h[CRASH_AT]), 1);
	for (i = 0; i < BATCH; i++) {
		if (i == CRASH_AT)
			continue;
		ck_assert_msg(int_value(h[i]) == i, "task %d", i);
		ck_assert_msg(procq_handle_attempts(h[i]) == 1,
		    "task %d (%zu sent ahead of the crash): %d attempts", i,
		    ahead, procq_handle_attempts(h[i]));
	}
	procq_summary_free(s);
	return ahead;
}

/*
 * With the default prefetch, short tasks open the window: tasks are sent
 * ahead of the one running.  When that one crashes, it alone fails; the
 * ones behind it run on the next worker without using an attempt.  How
 * short a task is depends on the machine: on a loaded one the window may
 * stay closed, and the round is tried again.  Under ThreadSanitizer even
 * trivial tasks may take longer than the window's span, and only the
 * crash's outcome is checked.
 */
START_TEST(test_crash_in_adaptive_window)
{
	procq_queue *q = engine_queue(1, 0);
	size_t ahead = 0;

	for (int round = 0; round < 3 && ahead == 0; round++)
		ahead = crash_in_window(q);
	ck_assert_msg(ahead > 0 || TEST_TSAN,
	    "no task sent ahead of the running one in 3 rounds");
	procq_free(q);
}
END_TEST

static const struct {
	int prefetch;
	size_t window;
} windows[] = {
	{ 0, 1 },	/* adaptive, nothing measured yet */
	{ 1, 1 },
	{ 3, 3 },
};
#define N_WINDOWS ((int)(sizeof windows / sizeof windows[0]))

/* Everything is queued before the start, so that the first dispatch sees
 * it all: once the gate task runs, the window has been filled. */
START_TEST(test_fixed_window)
{
	size_t window = windows[_i].window;
	procq_queue *q = engine_queue(1, windows[_i].prefetch);
	procq_handle *hg, *h[5];
	procq_summary *s;
	procq_stats st;
	struct gate g;
	int i;

	gate_create(&g);
	hg = submit_ok(q, "gate", NULL, "s", g.path);
	for (i = 0; i < 5; i++)
		h[i] = submit_ok(q, "ident", NULL, "i", i);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert(gate_enter(&g, 10));
	st = stats_of(q);
	ck_assert_uint_eq(st.active, window);
	ck_assert_uint_eq(st.pending, 6 - window);
	gate_release(&g);

	s = run_ok(q);
	ck_assert_uint_eq(procq_summary_succeeded(s), 6);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_SUCCEEDED);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(int_value(h[i]), i);
	procq_summary_free(s);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/*
 * Lazy heaps
 */

/* Cancel all but every keep-th task: a half leaves the stale heap entries
 * to be skipped as they surface, two thirds also compact the heap. */
static const int keeps[] = { 2, 3 };
#define N_KEEPS ((int)(sizeof keeps / sizeof keeps[0]))

static bool
kept(int i, int keep)
{
	return i % keep == 1;
}

#define MASS		5000
#define URGENT		10
#define URGENT_BASE	100000	/* their values: URGENT_BASE + j */

static int
mass_priority(int i)
{
	return i % 7 - 3;
}

/* Ascending priority, then submission order: the order in which one
 * worker with a window of 1 runs the tasks. */
static int
mass_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	int px = mass_priority(x), py = mass_priority(y);

	if (px != py)
		return px < py ? -1 : 1;
	return x < y ? -1 : x > y;
}

START_TEST(test_mass_cancel_queued)
{
	int keep = keeps[_i], nkept = 0, i;
	procq_queue *q = engine_queue(1, 1);
	procq_handle **h = calloc(MASS, sizeof *h);
	int *order = calloc(MASS, sizeof *order);
	procq_summary *s;
	const procq_result *r;
	size_t k = 0;
	int v;

	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_nonnull(order);
	for (i = 0; i < MASS; i++)
		h[i] = submit_ok(q, "ident", &(procq_opts){
		    .priority = mass_priority(i) }, "i", i);
	for (i = 0; i < MASS; i++) {
		if (kept(i, keep)) {
			order[nkept++] = i;
			continue;
		}
		ck_assert_int_eq(procq_handle_cancel(h[i]), 0);
		ck_assert_int_eq(procq_handle_status(h[i]), PROCQ_CANCELLED);
	}
	/* live tasks only, not heap entries */
	ck_assert_uint_eq(stats_of(q).pending, (size_t)nkept);
	ck_assert_uint_eq(procq_pending(q), (size_t)nkept);
	/* urgent ones behind the dead entries still come first */
	for (i = 0; i < URGENT; i++)
		submit_ok(q, "ident", &(procq_opts){ .priority = -10 }, "i",
		    URGENT_BASE + i);
	ck_assert_uint_eq(stats_of(q).pending, (size_t)nkept + URGENT);

	s = run_ok(q);
	/* the summary is in completion order: the cancelled first (they
	 * finished when cancelled), then the urgent tasks, then the rest
	 * by priority, first come first served within one */
	ck_assert_uint_eq(procq_summary_count(s), MASS + URGENT);
	ck_assert_uint_eq(procq_summary_cancelled(s), (size_t)(MASS - nkept));
	ck_assert_uint_eq(procq_summary_succeeded(s), (size_t)nkept + URGENT);
	for (i = 0; i < MASS - nkept; i++, k++) {
		r = procq_summary_result(s, k);
		ck_assert_int_eq(procq_result_status(r), PROCQ_CANCELLED);
		ck_assert_int_eq(procq_result_attempts(r), 0);
	}
	for (i = 0; i < URGENT; i++, k++) {
		v = -1;
		ck_assert_int_eq(procq_result_unpack(procq_summary_result(s, k),
		    "i", &v), 0);
		ck_assert_msg(v == URGENT_BASE + i, "result %zu: %d, want "
		    "urgent task %d", k, v, i);
	}
	qsort(order, (size_t)nkept, sizeof *order, mass_cmp);
	for (i = 0; i < nkept; i++, k++) {
		r = procq_summary_result(s, k);
		v = -1;
		ck_assert_int_eq(procq_result_unpack(r, "i", &v), 0);
		ck_assert_msg(v == order[i], "result %zu: task %d, want %d",
		    k, v, order[i]);
		ck_assert_int_eq(procq_result_attempts(r), 1);
	}
	for (i = 0; i < MASS; i++) {
		if (kept(i, keep))
			continue;
		ck_assert_int_eq(procq_handle_status(h[i]), PROCQ_CANCELLED);
		ck_assert_int_eq(procq_handle_attempts(h[i]), 0);
	}
	ck_assert_uint_eq(stats_of(q).pending, 0);
	procq_summary_free(s);
	procq_free(q);
	free(order);
	free(h);
}
END_TEST

static const struct {
	int n;
	int keep;
} delayed_sets[] = {
	{ 100, 2 },	/* stale entries skipped as they surface */
	{ 3000, 3 },	/* and a compaction of the delayed heap */
};
#define N_DELAYED_SETS ((int)(sizeof delayed_sets / sizeof delayed_sets[0]))
#define DELAY 0.2

START_TEST(test_cancel_delayed)
{
	int n = delayed_sets[_i].n, keep = delayed_sets[_i].keep, nkept = 0;
	procq_queue *q = engine_queue(1, 0);
	procq_handle **h = calloc((size_t)n, sizeof *h);
	procq_summary *s;
	procq_stats st;
	double t0;
	int i;

	ck_assert_ptr_nonnull(h);
	/* The delay runs from submission, but nothing is moved out of the
	 * delayed heap before the start: the counts below do not depend on
	 * how long submitting and cancelling take. */
	t0 = now();
	for (i = 0; i < n; i++)
		h[i] = submit_ok(q, "ident", &(procq_opts){ .delay = DELAY },
		    "i", i);
	ck_assert_uint_eq(stats_of(q).scheduled, (size_t)n);
	for (i = 0; i < n; i++) {
		if (kept(i, keep)) {
			nkept++;
			continue;
		}
		ck_assert_int_eq(procq_handle_cancel(h[i]), 0);
	}
	/* live tasks only, not heap entries */
	st = stats_of(q);
	ck_assert_uint_eq(st.scheduled, (size_t)nkept);
	ck_assert_uint_eq(st.pending, 0);

	s = run_ok(q);
	ck_assert_msg(now() - t0 >= DELAY - TIMER_SLACK,
	    "delayed tasks done after %.3f s", now() - t0);
	ck_assert_uint_eq(procq_summary_succeeded(s), (size_t)nkept);
	ck_assert_uint_eq(procq_summary_cancelled(s), (size_t)(n - nkept));
	st = stats_of(q);
	ck_assert_uint_eq(st.scheduled, 0);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_uint_eq(st.active, 0);
	for (i = 0; i < n; i++) {
		if (kept(i, keep)) {
			ck_assert_int_eq(int_value(h[i]), i);
			ck_assert_int_eq(procq_handle_attempts(h[i]), 1);
		} else {
			ck_assert_int_eq(procq_handle_status(h[i]),
			    PROCQ_CANCELLED);
			ck_assert_int_eq(procq_handle_attempts(h[i]), 0);
		}
	}
	procq_summary_free(s);
	procq_free(q);
	free(h);
}
END_TEST

/*
 * What a handle keeps
 */

START_TEST(test_handle_name)
{
	procq_queue *q = engine_queue(1, 0);
	char name[] = "my job";
	procq_handle *plain, *named;
	const procq_result *r;

	plain = submit_ok(q, "ident", NULL, "i", 1);
	named = submit_ok(q, "ident", &(procq_opts){ .name = name }, "i", 2);
	/* the handle has its own copy of the display name */
	memset(name, 'x', sizeof name - 1);
	ck_assert_str_eq(procq_handle_name(plain), "ident");
	ck_assert_str_eq(procq_handle_name(named), "my job");

	procq_summary_free(run_ok(q));
	ck_assert_str_eq(procq_handle_name(plain), "ident");
	ck_assert_str_eq(procq_handle_name(named), "my job");
	r = procq_handle_result(plain);
	ck_assert_str_eq(procq_result_name(r), "ident");
	ck_assert_str_eq(procq_result_task(r), "ident");
	r = procq_handle_result(named);
	ck_assert_str_eq(procq_result_name(r), "my job");
	ck_assert_str_eq(procq_result_task(r), "ident");
	ck_assert_int_eq(int_value(named), 2);
	procq_free(q);
}
END_TEST

static const size_t sizes[] = { 0, 1, 1000, 1 << 20 };
#define N_SIZES (sizeof sizes / sizeof sizes[0])

/* The arguments are copied into the handle at submission: the caller's
 * buffer can be reused at once, whatever its size, and a task may have
 * none at all. */
START_TEST(test_handle_args_copied)
{
	procq_queue *q = engine_queue(1, 0);
	procq_handle *h[N_SIZES], *none = NULL;
	char *want[N_SIZES];
	size_t want_len[N_SIZES], i, len;
	const void *data;

	for (i = 0; i < N_SIZES; i++) {
		msgpack_sbuffer sb;
		msgpack_packer pk;
		char *str = malloc(sizes[i] + 1);

		ck_assert_ptr_nonnull(str);
		memset(str, 'a' + (int)i, sizes[i]);
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 1);
		msgpack_pack_str_with_body(&pk, str, sizes[i]);
		free(str);
		ck_assert_int_eq(procq_submit(q, "echo", sb.data, sb.size,
		    NULL, &h[i]), 0);
		want_len[i] = sb.size;
		want[i] = malloc(sb.size);
		ck_assert_ptr_nonnull(want[i]);
		memcpy(want[i], sb.data, sb.size);
		/* reuse the buffer before anything runs: never msgpack */
		memset(sb.data, 0xc1, sb.size);
		msgpack_sbuffer_destroy(&sb);
	}
	ck_assert_int_eq(procq_submit(q, "nil", NULL, 0, NULL, &none), 0);

	procq_summary_free(run_ok(q));
	for (i = 0; i < N_SIZES; i++) {
		ck_assert_int_eq(procq_handle_status(h[i]), PROCQ_SUCCEEDED);
		data = procq_result_data(procq_handle_result(h[i]), &len);
		ck_assert_uint_eq(len, want_len[i]);
		ck_assert_mem_eq(data, want[i], len);
		free(want[i]);
	}
	ck_assert_int_eq(procq_handle_status(none), PROCQ_SUCCEEDED);
	procq_free(q);
}
END_TEST

/* Where h's result stands in the queue's completion order. */
static int
completion_index(procq_queue *q, procq_handle *h)
{
	procq_summary *s = procq_results(q);
	int found = -1;

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < procq_summary_count(s); i++) {
		if (strcmp(procq_result_id(procq_summary_result(s, i)),
		    procq_handle_id(h)) == 0)
			found = (int)i;
	}
	procq_summary_free(s);
	ck_assert_int_ge(found, 0);
	return found;
}

/*
 * Submits are posted to the engine and not waited for; a call made after
 * them on the same thread still sees them in order: a cancel right after
 * a submit cancels that task, never a task the engine has not placed yet.
 * Behind a busy worker, tasks posted together keep their priorities.
 */
START_TEST(test_commands_in_order)
{
	procq_queue *q = engine_queue(1, 1);
	procq_handle *h, *busy, *later;
	struct gate g;

	ck_assert_int_eq(procq_start(q), 0);
	gate_create(&g);
	busy = submit_ok(q, "gate", NULL, "s", g.path);
	ck_assert(gate_enter(&g, 10));
	for (int i = 0; i < 200; i++) {
		h = submit_ok(q, "ident", NULL, "i", i);
		ck_assert_int_eq(procq_handle_cancel(h), 0);
		ck_assert_int_eq(procq_handle_status(h), PROCQ_CANCELLED);
		ck_assert_int_eq(procq_handle_attempts(h), 0);
	}
	later = submit_ok(q, "ident", &(procq_opts){ .priority = 5 }, "i", 5);
	h = submit_ok(q, "ident", &(procq_opts){ .priority = 0 }, "i", 0);
	ck_assert_int_eq(procq_handle_status(later), PROCQ_PENDING);
	gate_release(&g);
	wait_done(later, 10);
	wait_done(h, 10);
	ck_assert_int_eq(int_value(later), 5);
	ck_assert_int_eq(int_value(h), 0);
	ck_assert_int_lt(completion_index(q, h), completion_index(q, later));
	ck_assert_int_eq(procq_handle_status(busy), PROCQ_SUCCEEDED);
	gate_destroy(&g);
	procq_free(q);
}
END_TEST

/* An on_complete hook that holds on the task named "hold" until told. */
struct hold {
	pthread_mutex_t	lock;
	pthread_cond_t	cond;
	bool		entered;
	bool		released;
};

static void
hold_hook(procq_handle *h, const procq_result *r, void *arg)
{
	struct hold *hd = arg;

	(void)r;
	if (strcmp(procq_handle_name(h), "hold") != 0)
		return;
	pthread_mutex_lock(&hd->lock);
	hd->entered = true;
	pthread_cond_broadcast(&hd->cond);
	while (!hd->released)
		pthread_cond_wait(&hd->cond, &hd->lock);
	pthread_mutex_unlock(&hd->lock);
}

static bool
hold_entered(void *arg)
{
	struct hold *hd = arg;
	bool in;

	pthread_mutex_lock(&hd->lock);
	in = hd->entered;
	pthread_mutex_unlock(&hd->lock);
	return in;
}

/*
 * With a prefetch of 1, a task's on_complete hook returns before another
 * task starts in its worker: a task submitted while the hook runs is not
 * handed to the idle worker by procq_submit().
 */
START_TEST(test_direct_waits_for_hooks)
{
	struct hold hd = { .entered = false, .released = false };
	procq_queue *q;
	procq_handle *a, *b;

	pthread_mutex_init(&hd.lock, NULL);
	pthread_cond_init(&hd.cond, NULL);
	q = engine_queue_config(&(procq_config){ .workers = 1, .prefetch = 1,
	    .on_complete = hold_hook, .hook_arg = &hd });
	ck_assert_int_eq(procq_start(q), 0);
	wait_done(submit_ok(q, "ident", NULL, "i", -1), 10);
	a = submit_ok(q, "ident", &(procq_opts){ .name = "hold" }, "i", 1);
	ck_assert(wait_until(hold_entered, &hd, 10));
	b = submit_ok(q, "ident", NULL, "i", 2);
	ck_assert_int_eq(procq_handle_status(b), PROCQ_PENDING);
	pthread_mutex_lock(&hd.lock);
	hd.released = true;
	pthread_cond_broadcast(&hd.cond);
	pthread_mutex_unlock(&hd.lock);
	wait_done(b, 10);
	ck_assert_int_eq(int_value(a), 1);
	ck_assert_int_eq(int_value(b), 2);
	procq_free(q);
	pthread_cond_destroy(&hd.cond);
	pthread_mutex_destroy(&hd.lock);
}
END_TEST

static Suite *
engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc;

	tc = add_tcase(s, "spare", 30);
	tcase_add_loop_test(tc, test_spare_after_death, 0, N_DEATHS);
	tcase_add_test(tc, test_spare_gives_up);
	tcase_add_test(tc, test_spawn_timeout);
	tcase_add_loop_test(tc, test_death_before_hello, 0, 2);
	tcase_add_test(tc, test_server_killed);
	tcase_add_test(tc, test_no_spare_without_deaths);
	tcase_add_loop_test(tc, test_forked_heap_released, 0, 2);

	tc = add_tcase(s, "window", 30);
	tcase_add_test(tc, test_commands_in_order);
	tcase_add_test(tc, test_direct_waits_for_hooks);
	tcase_add_test(tc, test_crash_in_adaptive_window);
	tcase_add_loop_test(tc, test_fixed_window, 0, N_WINDOWS);

	tc = add_tcase(s, "heaps", 30);
	tcase_add_loop_test(tc, test_mass_cancel_queued, 0, N_KEEPS);
	tcase_add_loop_test(tc, test_cancel_delayed, 0, N_DELAYED_SETS);

	tc = add_tcase(s, "handle", 30);
	tcase_add_test(tc, test_handle_name);
	tcase_add_test(tc, test_handle_args_copied);
	return s;
}

int
main(void)
{
	return run_suite(engine_suite());
}
