/*
 * The worker process: a plain blocking loop that reads TASK frames, runs
 * each task in order and writes its RESULT.  It runs in a child forked
 * from the supervisor thread, touches nothing of the parent's but the
 * (frozen) registry, and leaves only through _exit() (worker_exit()).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"
#include "../src/channel.h"
#include "../src/protocol.h"
#include "../src/ring.h"

/* Exit status of a worker that received a frame it cannot understand. */
#define WORKER_EXIT_PROTOCOL	70
/* The most a worker keeps allocated for return values between tasks. */
#define WORKER_KEEP_RET		65536
/* Seconds between looks for CANCEL frames while tasks are short. */
#define WORKER_READ_INTERVAL	50e-6

struct local_task {
	TAILQ_ENTRY(local_task)	 link;
	uint64_t		 id;
	int			 attempt;
	int			 slot;		/* on the board, or -1 */
	const char		*fn;
	size_t			 fn_len;
	const char		*args;
	size_t			 args_len;
	char			 payload[];	/* the TASK frame's bytes */
};
TAILQ_HEAD(local_list, local_task);

#if defined(__SANITIZE_ADDRESS__)
/*
 * Under AddressSanitizer a worker that leaves through exit() would report
 * the supervisor's memory, reachable only from threads the fork did not
 * copy, as leaked.  The leak check belongs to the supervisor process.
 */
static int worker_process;

int __lsan_is_turned_off(void);

int
__lsan_is_turned_off(void)
{
	return worker_process;
}
#endif

/*
 * Set in any process forked by a task (pthread_atfork's child handler,
 * registered once in the worker): such a process is not the worker and
 * must never write to the supervisor's pipe or go back to the task loop.
 * A flag rather than a getpid() per task: the check is on every task's
 * path.
 */
static volatile sig_atomic_t worker_is_copy;

/*
 * The result ring (ring.h), and the WAKE frame that tells a sleeping
 * supervisor to look at it, encoded once.  Of the process, not of
 * worker_state: progress reports are sent from inside tasks
 * (worker_write_all()).
 */
static struct ring_writer worker_ring;
static msgpack_sbuffer worker_wake;

static void
worker_mark_copy(void)
{
	worker_is_copy = 1;
}

/* A process forked by a task came back into procq's code (the task
 * returned in the child instead of calling _exit()): it ends here,
 * before it can write a second result or read its parent's tasks. */
static void
worker_leave_if_copy(void)
{
	static const char msg[] = "procq: a process forked by a task "
	    "returned from the task function; it exits here\n";
	ssize_t n;

	if (!worker_is_copy)
		return;
	n = write(STDERR_FILENO, msg, sizeof msg - 1);
	(void)n;
	worker_exit(0);
}

struct worker_state {
	const struct worker_ctx	*ctx;
	board_cell		*board;		/* claims, or NULL */
	struct channel_sync	 ch;		/* tasks in, results out */
	msgpack_sbuffer		 ret;		/* tasks' return values */
	msgpack_zone		 zone;
	struct local_list	 tasks;
};

void
worker_reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);	/* fails harmlessly for some */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void
worker_close_from(int lowfd)
{
#ifdef HAVE_CLOSE_RANGE
	if (close_range((unsigned)lowfd, ~0U, 0) == 0)
		return;
#endif
	for (long fd = lowfd, max = sysconf(_SC_OPEN_MAX); fd < max; fd++)
		close((int)fd);
}

/*
 * The worker could not be set up (no descriptor left, say): it tells the
 * supervisor on the result pipe as it was inherited, so that this counts
 * as a failure to start a worker, not as a crash of the task waiting for
 * it.
 */
void
worker_setup_failed(int fd, const char *what, int err)
{
	msgpack_sbuffer sb;
	char text[160];

	snprintf(text, sizeof text, "%s: %s", what, strerror(err));
	msgpack_sbuffer_init(&sb);
	if (protocol_encode_setup_failed(&sb, UINT32_MAX, text) == 0)
		channel_write_all(fd, sb.data, sb.size);
	worker_exit(WORKER_EXIT_PROTOCOL);
}

/*
 * The claim board: inherited mapped from a fork, or handed over as a
 * memory file by the fork server.  The result ring is in it when the file
 * is large enough (board_open()); *ring is set then.
 */
static board_cell *
worker_map_board(const struct worker_ctx *ctx, bool *ring)
{
	struct stat st;
	size_t size = BOARD_SLOTS;
	void *p;

	if (ctx->board_fd >= 0 && fstat(ctx->board_fd, &st) == 0 &&
	    st.st_size >= (off_t)BOARD_FILE_SIZE)
		size = BOARD_FILE_SIZE;
	*ring = size == BOARD_FILE_SIZE;
	if (ctx->board != NULL || ctx->board_fd < 0)
		return ctx->board;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, ctx->board_fd,
	    0);
	if (p == MAP_FAILED)
		worker_setup_failed(ctx->out_fd, "cannot map the claim board",
		    errno);
	return p;
}

/* Descriptors: stdin from /dev/null, the pipes on 3 and 4, stdout and
 * stderr as inherited, nothing else. */
static void
worker_setup_fds(const struct worker_ctx *ctx)
{
	int in = fcntl(ctx->in_fd, F_DUPFD, 10);
	int out = in < 0 ? -1 : fcntl(ctx->out_fd, F_DUPFD, 10);
	int err = out < 0 || ctx->err_fd < 0 ? -1 :
	    fcntl(ctx->err_fd, F_DUPFD, 10);
	int null;

	if (in < 0 || out < 0 || (ctx->err_fd >= 0 && err < 0))
		worker_setup_failed(ctx->out_fd,
		    "cannot set up the worker's descriptors", errno);
	null = open("/dev/null", O_RDONLY);
	if (err >= 0)
		dup2(err, STDERR_FILENO);	/* read by the supervisor */
	if (null >= 0 && null != STDIN_FILENO)
		dup2(null, STDIN_FILENO);
	if (dup2(in, WORKER_IN_FD) < 0 || dup2(out, WORKER_OUT_FD) < 0)
		worker_setup_failed(ctx->out_fd,
		    "cannot set up the worker's descriptors", errno);
	worker_close_from(WORKER_OUT_FD + 1);
	/* A task that execs a program must not hand it our pipes. */
	fcntl(WORKER_IN_FD, F_SETFD, FD_CLOEXEC);
	fcntl(WORKER_OUT_FD, F_SETFD, FD_CLOEXEC);
}

/*
 * When the supervisor thread dies, the worker is told by a signal of its
 * own (a real-time one tasks are unlikely to use) and takes its process
 * group down with it: the processes a task started must not outlive the
 * caller either.  The group it made at start, whose id is its pid; not
 * the group it is in now, which a task may have changed to the caller's.
 */
static void
worker_orphaned(int sig)
{
	(void)sig;
	kill(-getpid(), SIGKILL);
	_exit(1);
}

static void
worker_watch_parent(void)
{
	struct sigaction sa;

#if defined(__SANITIZE_THREAD__)
	/* ThreadSanitizer holds signals back until its next interceptor, which
	 * a busy task may never reach: the worker at least must die. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	return;
#endif
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = worker_orphaned;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGRTMAX - 1, &sa, NULL) != 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGRTMAX - 1) != 0)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/*
 * Gives back the free memory of the heap this process was forked with.
 * The caller's pages stay shared with a forked child until one side
 * writes to them; the caller goes on reusing its free memory, and every
 * first write to a page the child still shares copies the page and
 * flushes the other cores' TLBs.  A page the child has let go of is the
 * caller's alone again: its write costs no copy.  Called by what is
 * forked from the caller: the fork server, and a worker of
 * PROCQ_START_FORK (the server's workers are forked from a heap given
 * back already).
 */
void
worker_release_heap(void)
{
#ifdef HAVE_MALLOC_TRIM
	malloc_trim(0);
#endif
}

static void
worker_setup(struct worker_state *ws)
{
	const struct worker_ctx *ctx = ws->ctx;
	bool ring;

	/* Output the parent had buffered is the parent's to print: gone
	 * before any way out of here (a sanitizer's _exit() may flush). */
	__fpurge(stdout);
	__fpurge(stderr);
#if defined(__SANITIZE_ADDRESS__)
	worker_process = 1;
#endif
	prctl(PR_SET_NAME, "procq-worker");	/* what ps and top show */
	setpgid(0, 0);
	worker_reset_signals();
	worker_watch_parent();
	if (getppid() != ctx->parent)	/* the parent died before prctl */
		worker_exit(0);
	pthread_atfork(NULL, NULL, worker_mark_copy);
	ws->board = worker_map_board(ctx, &ring);
	ring_writer_init(&worker_ring, ring ? (void *)ws->board : NULL);
	msgpack_sbuffer_init(&worker_wake);
	if (ring && protocol_encode_wake(&worker_wake, ctx->max_frame) != 0)
		worker_setup_failed(ctx->out_fd, "cannot encode a wake frame",
		    ENOMEM);
	worker_setup_fds(ctx);
	limits_apply(ctx);
}

static void worker_out_of_memory(void) __attribute__((noreturn));

/* procq's own code here could not allocate. */
static void
worker_out_of_memory(void)
{
	limits_out_of_memory();
	worker_exit(WORKER_EXIT_PROTOCOL);
}

/*
 * Into the result ring when it may take them; else down the pipe, and
 * only once the ring is empty, which keeps the frames in order (ring.h).
 */
static void
worker_send(const char *p, size_t len)
{
	switch (ring_put(&worker_ring, p, len)) {
	case RING_PUT:
		return;
	case RING_PUT_WAKE:
		p = worker_wake.data;
		len = worker_wake.size;
		break;
	case RING_BUSY:
		ring_wait_empty(&worker_ring);
		break;
	case RING_NOT_PUT:
		break;
	}
	if (channel_write_all(WORKER_OUT_FD, p, len) != 0)
		worker_exit(0);	/* the supervisor is gone */
}

void
worker_write_all(const char *p, size_t len)
{
	worker_leave_if_copy();
	worker_send(p, len);
}

static void
worker_flush(struct worker_state *ws)
{
	worker_leave_if_copy();
	worker_send(ws->ch.out.data, ws->ch.out.size);
	ws->ch.out.size = 0;
}

static void
worker_send_error(struct worker_state *ws, uint64_t id, const char *type,
    const char *message)
{
	protocol_encode_result_error(&ws->ch.out, ws->ctx->max_frame, id, type,
	    message);
}

static void
worker_send_value(struct worker_state *ws, uint64_t id, const char *value,
    size_t len)
{
	char msg[128];

	if (protocol_encode_result(&ws->ch.out, ws->ctx->max_frame, id, value,
	    len) != 0) {
		snprintf(msg, sizeof msg, "result of %zu bytes exceeds the "
		    "frame limit of %zu bytes", len, ws->ctx->max_frame);
		worker_send_error(ws, id, "ResultTooLarge", msg);
	}
}

/* What a task printed goes out before its result.  Only stdout and
 * stderr: other streams may be the caller's, inherited with unflushed
 * bytes.  Most tasks print nothing: no need to take the streams' locks. */
static void
worker_flush_stdio(void)
{
	if (__fpending(stdout) > 0)
		fflush(stdout);
	if (__fpending(stderr) > 0)
		fflush(stderr);
}

/* The task keeps a copy of its frame, which its strings point into. */
static void
worker_take_task(struct worker_state *ws, const char *payload, size_t len,
    const struct protocol_msg *msg)
{
	struct local_task *lt;
	struct protocol_task t;

	if (protocol_decode_task(msg, &t) != 0 || t.slot >= BOARD_SLOTS ||
	    (t.slot >= 0 && ws->board == NULL))
		worker_exit(WORKER_EXIT_PROTOCOL);
	if ((lt = malloc(sizeof *lt + len)) == NULL)
		worker_out_of_memory();
	memcpy(lt->payload, payload, len);
	lt->id = t.id;
	lt->attempt = t.attempt;
	lt->slot = t.slot;
	lt->fn = lt->payload + (t.fn - payload);
	lt->fn_len = t.fn_len;
	lt->args = lt->payload + (t.args - payload);
	lt->args_len = t.args_len;
	TAILQ_INSERT_TAIL(&ws->tasks, lt, link);
}

/* A prefetched task that has not started is dropped and acknowledged; one
 * that already ran has had its result sent, so the cancel is moot. */
static void
worker_cancel(struct worker_state *ws, const struct protocol_msg *msg)
{
	struct local_task *lt;
	uint64_t id;

	if (protocol_decode_cancel(msg, &id) != 0)
		worker_exit(WORKER_EXIT_PROTOCOL);
	TAILQ_FOREACH(lt, &ws->tasks, link) {
		if (lt->id == id) {
			TAILQ_REMOVE(&ws->tasks, lt, link);
			free(lt);
			protocol_encode_cancelled(&ws->ch.out,
			    ws->ctx->max_frame, id);
			return;
		}
	}
}

static void
worker_frame(struct worker_state *ws, const char *payload, size_t len)
{
	struct protocol_msg msg;

	if (protocol_decode(payload, len, &ws->zone, &msg) != 0)
		worker_exit(WORKER_EXIT_PROTOCOL);
	if (msg.type == PROTOCOL_TASK)
		worker_take_task(ws, payload, len, &msg);
	else if (msg.type == PROTOCOL_CANCEL)
		worker_cancel(ws, &msg);
	else
		worker_exit(WORKER_EXIT_PROTOCOL);
	msgpack_zone_clear(&ws->zone);
}

static void
worker_frames(struct worker_state *ws)
{
	const char *payload;
	uint32_t len;
	enum channel_next next;

	while ((next = channel_sync_next(&ws->ch, &payload, &len)) ==
	    CHANNEL_FRAME)
		worker_frame(ws, payload, len);
	if (next != CHANNEL_PARTIAL)
		worker_exit(WORKER_EXIT_PROTOCOL);	/* empty or oversized */
}

/* Reads every frame available; waits for one when block is set. */
static void
worker_read(struct worker_state *ws, bool block)
{
	int more;

	if (block)
		channel_sync_wait(&ws->ch);
	do {
		if ((more = channel_sync_read(&ws->ch)) < 0)
			worker_out_of_memory();	/* its buffer cannot grow */
		worker_frames(ws);
	} while (more);
}

/* The arguments of a call: an array of a few scalars into items[]
 * (PROTOCOL_FLAT_MAX of them), anything else into the zone. */
static void
worker_unpack_args(const char *data, size_t len, msgpack_zone *zone,
    msgpack_object *args, msgpack_object *items)
{
	size_t off = 0;
	uint32_t n;

	if (protocol_decode_scalars(data, len, items, &n)) {
		args->type = MSGPACK_OBJECT_ARRAY;
		args->via.array.size = n;
		args->via.array.ptr = n > 0 ? items : NULL;
		return;
	}
	switch (msgpack_unpack(data, len, &off, zone, args)) {
	case MSGPACK_UNPACK_SUCCESS:
		return;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		worker_out_of_memory();
	default:
		worker_exit(WORKER_EXIT_PROTOCOL);
	}
}

static void
worker_run(struct worker_state *ws, struct local_task *lt)
{
	const struct registry_entry *e;
	msgpack_object items[PROTOCOL_FLAT_MAX];
	procq_call call;
	char msg[64];
	int rc;

	/* The supervisor took this task back while an earlier one ran:
	 * it is not ours to run any more. */
	if (lt->slot >= 0 && !board_claim(ws->board, lt->slot)) {
		protocol_encode_skipped(&ws->ch.out, ws->ctx->max_frame,
		    lt->slot);
		return;
	}
	e = registry_find(ws->ctx->registry, lt->fn, lt->fn_len);
	if (e == NULL) {
		worker_send_error(ws, lt->id, "UnknownTask",
		    "no task registered under that name in this worker");
		return;
	}
	/* The return buffer is kept from task to task: a trivial task then
	 * allocates nothing for its result. */
	call_init(&call, &ws->ret);
	call.name = e->name;
	call.id_value = ws->ctx->id_base + lt->id;
	call.attempt = lt->attempt;
	call.wire_id = lt->id;
	call.max_frame = ws->ctx->max_frame;
	call.can_report = true;
	call.args_data = lt->args;
	call.args_len = lt->args_len;
	worker_unpack_args(lt->args, lt->args_len, &ws->zone, &call.args,
	    items);
	limits_arm_cpu(ws->ctx);
	rc = e->fn(&call);
	worker_leave_if_copy();
	worker_flush_stdio();
	if (rc == 0 && ws->ret.size == 0)
		worker_send_value(ws, lt->id, "\xc0", 1);	/* nil */
	else if (rc == 0 && !protocol_check(ws->ret.data, ws->ret.size))
		worker_send_error(ws, lt->id, "TaskError",
		    "return value is not a single msgpack value nested at "
		    "most 32 deep");
	else if (rc == 0)
		worker_send_value(ws, lt->id, ws->ret.data, ws->ret.size);
	else {
		snprintf(msg, sizeof msg, "task returned %d", rc);
		worker_send_error(ws, lt->id,
		    call.error_type ? call.error_type : "TaskError",
		    call.error_message ? call.error_message : msg);
	}
	if (ws->ret.alloc > WORKER_KEEP_RET) {	/* one large value */
		msgpack_sbuffer_destroy(&ws->ret);
		msgpack_sbuffer_init(&ws->ret);
	}
	call_reset(&call);
	msgpack_zone_clear(&ws->zone);
}

/* A worker that cannot start says why instead of hello, and leaves. */
static void
worker_init_failed(struct worker_state *ws, const char *type,
    const char *text)
{
	protocol_encode_init_failed(&ws->ch.out, ws->ctx->max_frame, type,
	    text);
	worker_flush(ws);
	worker_exit(0);
}

/* Drops privileges, then runs the queue's initializer. */
static void
worker_init(struct worker_state *ws)
{
	const struct worker_ctx *ctx = ws->ctx;
	msgpack_object items[PROTOCOL_FLAT_MAX];
	procq_call call;
	char msg[256];
	int rc;

	if (limits_drop_privileges(ctx->config, msg, sizeof msg) != 0)
		worker_init_failed(ws, "PrivilegeError", msg);
	/* A change of user or group clears the parent-death signal: set it
	 * again, and look again whether the parent died meanwhile. */
	worker_watch_parent();
	if (getppid() != ctx->parent)
		worker_exit(0);
	if (ctx->initializer == NULL)
		return;
	call_init(&call, &ws->ret);
	call.name = "initializer";
	call.attempt = 1;
	call.args_data = ctx->initargs != NULL ? ctx->initargs : "\x90";
	call.args_len = ctx->initargs != NULL ? ctx->initargs_len : 1;
	worker_unpack_args(call.args_data, call.args_len, &ws->zone,
	    &call.args, items);
	rc = ctx->initializer(&call);
	worker_leave_if_copy();
	worker_flush_stdio();
	if (rc != 0) {
		const char *text = call.error_message;

		if (text == NULL) {
			snprintf(msg, sizeof msg, "initializer returned %d", rc);
			text = msg;
		}
		worker_init_failed(ws,
		    call.error_type ? call.error_type : "InitError", text);
	}
	call_reset(&call);
	msgpack_zone_clear(&ws->zone);
}

static double
worker_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
worker_main(const struct worker_ctx *ctx)
{
	struct worker_state ws = { .ctx = ctx };
	struct local_task *lt;
	double last_read = 0, t;

	worker_setup(&ws);
	channel_sync_init(&ws.ch, WORKER_IN_FD, WORKER_OUT_FD, ctx->max_frame);
	msgpack_sbuffer_init(&ws.ret);
	msgpack_zone_init(&ws.zone, 4096);
	TAILQ_INIT(&ws.tasks);
	worker_init(&ws);
	if (protocol_encode_hello(&ws.ch.out, ctx->max_frame, getpid(),
	    ctx->names, ctx->nnames) != 0)
		worker_init_failed(&ws, "SetupError",
		    "the worker program's task names exceed the frame limit");
	worker_flush(&ws);
	for (;;) {
		if ((lt = TAILQ_FIRST(&ws.tasks)) == NULL) {
			if (ws.ch.eof)
				worker_exit(0);
			worker_read(&ws, true);
			worker_flush(&ws);
			last_read = worker_clock();
			continue;
		}
		TAILQ_REMOVE(&ws.tasks, lt, link);
		worker_run(&ws, lt);
		free(lt);
		/* Cancels that came during the task are seen before the next
		 * one starts, and acknowledged in the same write as this
		 * result; between short tasks, a look every 50 us will do. */
		t = worker_clock();
		if (t - last_read >= WORKER_READ_INTERVAL) {
			worker_read(&ws, false);
			last_read = t;
		}
		worker_flush(&ws);
	}
}
