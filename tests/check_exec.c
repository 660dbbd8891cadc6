/*
 * The exec start method: workers are a separate program
 * (tests/exec_worker.c) that names its tasks in its hello.  Values,
 * names checked at submit, crashes, timeouts, cancels, a program that
 * cannot be run, exits early or hangs, its environment and descriptors,
 * and the claim board.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tasks.h"
#include "util.h"

static procq_queue *
exec_queue(const procq_config *cfg)
{
	procq_config c = cfg != NULL ? *cfg : (procq_config){ 0 };

	c.start_method = PROCQ_START_EXEC;
	if (c.worker_path == NULL)
		c.worker_path = TEST_EXEC_WORKER;
	return new_queue_config(&c);
}

/*
 * The other half of check_hostile_caller's test_lock_held_at_fork: a
 * worker program starts from its own image, so locks the caller holds
 * while workers start (a mutex, stdout's) are nothing to it.  One
 * worker, replaced after each task: every task needs a new worker.
 */
START_TEST(test_locks_held_while_starting)
{
	static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
	procq_queue *q = exec_queue(&(procq_config){ .workers = 1,
	    .max_tasks_per_worker = 1, .spawn_timeout = 5 });
	procq_handle *h;

	ck_assert_int_eq(procq_start(q), 0);
	pthread_mutex_lock(&held);
	flockfile(stdout);
	for (int i = 0; i < 3; i++) {
		h = submit_ok(q, "ident", NULL, "i", i);
		wait_done(h, 30);
		ck_assert_msg(procq_handle_status(h) == PROCQ_SUCCEEDED,
		    "task %d: %s", i, procq_handle_error_message(h));
	}
	funlockfile(stdout);
	pthread_mutex_unlock(&held);
	procq_free(q);
}
END_TEST

/* The handle's error message contains want. */
static void
check_message(procq_handle *h, const char *want)
{
	const char *msg = procq_handle_error_message(h);

	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strstr(msg, want) != NULL, "message '%s' lacks '%s'",
	    msg, want);
}

START_TEST(test_values)
{
	procq_queue *q = exec_queue(&(procq_config){ .workers = 2 });
	procq_handle *h;
	int pid;

	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "double", NULL, "d", 21.0);
	wait_done(h, 20);
	ck_assert(double_value(h) == 42.0);
	h = submit_ok(q, "ident", NULL, "i", 7);
	wait_done(h, 20);
	ck_assert_int_eq(int_value(h), 7);
	/* a child of this process, not of a server */
	h = submit_ok(q, "getpid", NULL, "");
	wait_done(h, 20);
	pid = int_value(h);
	ck_assert_int_ne(pid, getpid());
	ck_assert_int_eq(proc_state(pid) != 0, 1);
	ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), 0);
	procq_free(q);
}
END_TEST

/* The program is run with the argv given, and the path as argv[0] when
 * none is. */
START_TEST(test_argv)
{
	char *const argv[] = { "procq-test-worker", "extra", NULL };
	procq_queue *q = exec_queue(&(procq_config){ .workers = 1,
	    .worker_argv = argv });
	procq_handle *h;
	const char *a0, *a1;
	size_t l0, l1;

	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "argv", NULL, "");
	wait_done(h, 20);
	ck_assert_int_eq(procq_handle_value(h, "SS", &a0, &l0, &a1, &l1),
	    0);
	ck_assert_int_eq(l0, strlen("procq-test-worker"));
	ck_assert_int_eq(memcmp(a0, "procq-test-worker", l0), 0);
	ck_assert_int_eq(memcmp(a1, "extra", l1), 0);
	procq_free(q);

	q = exec_queue(&(procq_config){ .workers = 1 });
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "argv", NULL, "");
	wait_done(h, 20);
	ck_assert_int_eq(procq_handle_value(h, "S", &a0, &l0), 0);
	ck_assert_int_eq(l0, strlen(TEST_EXEC_WORKER));
	ck_assert_int_eq(memcmp(a0, TEST_EXEC_WORKER, l0), 0);
	procq_free(q);
}
END_TEST

/* After procq_start() the program's names are known: another fails at
 * submit and bind; procq_register() is refused. */
START_TEST(test_unknown_name)
{
	procq_queue *q = exec_queue(&(procq_config){ .workers = 1 });
	procq_handle *h = NULL;
	procq_bound *b;
	int err = 0;

	ck_assert_int_eq(procq_register(q, "mine", task_nil), PROCQ_EINVAL);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_submitf(q, "no-such-task", NULL, &h, ""),
	    PROCQ_ENOTASK);
	ck_assert_ptr_null(h);
	ck_assert_ptr_null(procq_bind(q, "no-such-task", NULL, &err));
	ck_assert_int_eq(err, PROCQ_ENOTASK);
	b = procq_bind(q, "ident", NULL, &err);
	ck_assert_ptr_nonnull(b);
	procq_bound_free(b);
	ck_assert_int_eq(procq_submitf(q, "ident", NULL, &h, "i", 1), 0);
	wait_done(h, 20);
	ck_assert_int_eq(int_value(h), 1);
	procq_free(q);
}
END_TEST

/* Only what the program's table has: one without "getenv" refuses it. */
START_TEST(test_names_from_program)
{
	char *const argv[] = { TEST_EXEC_WORKER, "table=common", NULL };
	procq_queue *q = exec_queue(&(procq_config){ .workers = 1,
	    .worker_argv = argv });
	procq_handle *h = NULL;

	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_submitf(q, "getenv", NULL, &h, "s", "HOME"),
	    PROCQ_ENOTASK);
	ck_assert_int_eq(procq_submitf(q, "ident", NULL, &h, "i", 2), 0);
	wait_done(h, 20);
	ck_assert_int_eq(int_value(h), 2);
	procq_free(q);
}
END_TEST

/* Before procq_start() no name can be checked: every one is accepted,
 * and one the program lacks fails at the worker. */
START_TEST(test_submit_before_start)
{
	procq_queue *q = exec_queue(&(procq_config){ .workers = 1 });
	procq_handle *known, *unknown;

	known = submit_ok(q, "ident", NULL, "i", 5);
	unknown = submit_ok(q, "no-such-task", NULL, "");
	ck_assert_int_eq(procq_start(q), 0);
	wait_done(known, 20);
	wait_done(unknown, 20);
	ck_assert_int_eq(int_value(known), 5);
	ck_assert_int_eq(procq_handle_status(unknown), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(unknown), PROCQ_ERR_TASK);
	ck_assert_str_eq(procq_handle_error_type(unknown), "UnknownTask");
	ck_assert_str_eq(procq_handle_name(unknown), "no-such-task");
	procq_free(q);
}
END_TEST

/* A crash fails its own task only; the worker is replaced. */
START_TEST(test_crash)
{
	procq_queue *q = exec_queue(&(procq_config){ .workers = 1 });
	procq_handle *h, *crash;
	int before, after;

	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "getpid", NULL, "");
	wait_done(h, 20);
	before = int_value(h);
	crash = submit_ok(q, "crash", NULL, "s", "segv-raise");
	h = submit_ok(q, "getpid", NULL, "");
	wait_done(crash, 20);
	wait_done(h, 20);
	ck_assert_int_eq(procq_handle_status(crash), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(crash), PROCQ_ERR_CRASH);
	if (!TEST_ASAN)
		check_message(crash, "worker died: SIGSEGV");
	after = int_value(h);
	ck_assert_int_ne(before, after);
	ck_assert_msg(wait_pid_gone(before, 10), "the crashed worker lingers");
	procq_free(q);
}
END_TEST

START_TEST(test_timeout)
{
	procq_queue *q = exec_queue(&(procq_config){ .workers = 1 });
	procq_handle *h;

	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "sleep", &(procq_opts){ .timeout = 0.2 }, "d", 60.0);
	wait_done(h, 20);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_TIMEOUT);
	h = submit_ok(q, "ident", NULL, "i", 3);
	wait_done(h, 20);
	ck_assert_int_eq(int_value(h), 3);
	procq_free(q);
}
END_TEST

START_TEST(test_cancel_running)
{
	procq_queue *q = exec_queue(&(procq_config){ .workers = 1 });
	struct gate g;
	procq_handle *h;

	gate_create(&g);
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "gate", NULL, "s", g.path);
	ck_assert(gate_enter(&g, 15));
	ck_assert_int_eq(procq_handle_cancel(h), 0);
	wait_done(h, 20);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_CANCELLED);
	h = submit_ok(q, "ident", NULL, "i", 4);
	wait_done(h, 20);
	ck_assert_int_eq(int_value(h), 4);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

/*
 * Worker programs that never become workers: one that cannot be run, one
 * that exits before its hello (procq_start() does not wait for ever), and
 * one that hangs past the spawn timeout.  Each is a failure to start a
 * worker, not a crash of the task, and the message says what was seen.
 */
static const struct {
	const char	*path;		/* NULL = the test worker */
	const char	*arg;		/* its first argument, or NULL */
	double		 spawn_timeout;
	const char	*message;
} no_worker[] = {
	{ "/nonexistent/procq-worker", NULL, 0,
	    "cannot execute /nonexistent/procq-worker: "
	    "No such file or directory" },
	{ NULL, "exit-early", 0, "could not start a worker: the worker "
	    "(start method exec) exited with status 3 before it said hello" },
	{ NULL, "hang", 0.3,
	    "the worker (start method exec) did not say hello" },
};

START_TEST(test_no_worker)
{
	char *const argv[] = { TEST_EXEC_WORKER, (char *)no_worker[_i].arg,
	    NULL };
	procq_queue *q = exec_queue(&(procq_config){ .workers = 1,
	    .worker_path = no_worker[_i].path,
	    .worker_argv = no_worker[_i].arg != NULL ? argv : NULL,
	    .spawn_timeout = no_worker[_i].spawn_timeout });
	procq_handle *h;

	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "ident", NULL, "i", 1);
	wait_done(h, 30);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_SPAWN);
	check_message(h, no_worker[_i].message);
	procq_free(q);
}
END_TEST

/* The value of the variable name in a worker, or NULL (unset); the
 * returned string is the handle's. */
static char *
worker_getenv(procq_queue *q, const char *name)
{
	procq_handle *h = submit_ok(q, "getenv", NULL, "s", name);
	const char *v;
	size_t len;
	char *copy = NULL;

	wait_done(h, 20);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	if (procq_handle_value(h, "n") == 0)
		return NULL;
	ck_assert_int_eq(procq_handle_value(h, "S", &v, &len), 0);
	/* Not NUL-terminated: strndup() may look past len for one. */
	copy = malloc(len + 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, v, len);
	copy[len] = '\0';
	return copy;
}

/* worker_envp is the whole environment; the setup variable reaches no
 * task. */
START_TEST(test_environment_given)
{
	char *const envp[] = { "PROCQ_TEST_GIVEN=yes", NULL };
	procq_queue *q = exec_queue(&(procq_config){ .workers = 1,
	    .worker_envp = envp });
	char *v;

	ck_assert_int_eq(setenv("PROCQ_TEST_CALLER", "1", 1), 0);
	ck_assert_int_eq(procq_start(q), 0);
	v = worker_getenv(q, "PROCQ_TEST_GIVEN");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "yes");
	free(v);
	ck_assert_ptr_null(worker_getenv(q, "PROCQ_TEST_CALLER"));
	ck_assert_ptr_null(worker_getenv(q, "PROCQ_WORKER_SETUP"));
	procq_free(q);
	unsetenv("PROCQ_TEST_CALLER");
}
END_TEST

/* Without worker_envp, the caller's environment as it is when a worker
 * starts; a setup variable of the caller's own is replaced. */
START_TEST(test_environment_inherited)
{
	procq_queue *q = exec_queue(&(procq_config){ .workers = 1 });
	char *v;

	ck_assert_int_eq(setenv("PROCQ_TEST_CALLER", "before-start", 1), 0);
	ck_assert_int_eq(setenv("PROCQ_WORKER_SETUP", "bogus", 1), 0);
	ck_assert_int_eq(procq_start(q), 0);
	v = worker_getenv(q, "PROCQ_TEST_CALLER");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "before-start");
	free(v);
	ck_assert_ptr_null(worker_getenv(q, "PROCQ_WORKER_SETUP"));
	procq_free(q);
	unsetenv("PROCQ_TEST_CALLER");
	unsetenv("PROCQ_WORKER_SETUP");
}
END_TEST

/* The pipes close on exec in the worker: no program a task runs holds
 * them. */
START_TEST(test_pipes_close_on_exec)
{
	procq_queue *q = exec_queue(&(procq_config){ .workers = 1 });
	procq_handle *h;
	int in, out;

	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "cloexec", NULL, "");
	wait_done(h, 20);
	ck_assert_int_eq(procq_handle_value(h, "bb", &in, &out), 0);
	ck_assert(in);
	ck_assert(out);
	procq_free(q);
}
END_TEST

/* Run by hand, the worker program says what it is and exits with 2. */
START_TEST(test_run_by_hand)
{
	char buf[512];
	size_t got = 0;
	ssize_t n;
	int fds[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	unsetenv("PROCQ_WORKER_SETUP");
	if ((pid = fork()) == 0) {
		dup2(fds[1], STDERR_FILENO);
		execl(TEST_EXEC_WORKER, TEST_EXEC_WORKER, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	close(fds[1]);
	while (got < sizeof buf - 1 &&
	    (n = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 2);
	ck_assert_msg(strstr(buf, "procq worker program") != NULL,
	    "stderr: %s", buf);
}
END_TEST

/*
 * procq_worker_main() on its own, in a child of the test that plays the
 * supervisor: its setup variable, its task table, and the frames it
 * refuses.
 */

/* The status a worker exits with when its supervisor breaks the protocol
 * (WORKER_EXIT_PROTOCOL in worker/worker.c). */
#define EXIT_PROTOCOL 70
/* A claim board: at least BOARD_SLOTS bytes (src/board.h). */
#define BOARD_SIZE 4096

static int
task_nothing(procq_call *c)
{
	return procq_call_return(c, "n");
}

static const procq_worker_task good_table[] = {
	{ "nothing", task_nothing }, { NULL, NULL }
};
static const procq_worker_task twice_table[] = {
	{ "nothing", task_nothing }, { "nothing", task_nothing },
	{ NULL, NULL }
};
static const procq_worker_task unnamed_table[] = {
	{ "", task_nothing }, { NULL, NULL }
};
/* 45 names of 100 bytes: a hello of more than the 4096 bytes a frame
 * may have here. */
#define NAME_90 "name-name-name-name-name-name-name-name-name-name-" \
	"name-name-name-name-name-name-name-name-"
#define LONG_NAME(n) { NAME_90 "long-" #n, task_nothing }
static const procq_worker_task long_table[] = {
	LONG_NAME(10000), LONG_NAME(10001), LONG_NAME(10002),
	LONG_NAME(10003), LONG_NAME(10004), LONG_NAME(10005),
	LONG_NAME(10006), LONG_NAME(10007), LONG_NAME(10008),
	LONG_NAME(10009), LONG_NAME(10010), LONG_NAME(10011),
	LONG_NAME(10012), LONG_NAME(10013), LONG_NAME(10014),
	LONG_NAME(10015), LONG_NAME(10016), LONG_NAME(10017),
	LONG_NAME(10018), LONG_NAME(10019), LONG_NAME(10020),
	LONG_NAME(10021), LONG_NAME(10022), LONG_NAME(10023),
	LONG_NAME(10024), LONG_NAME(10025), LONG_NAME(10026),
	LONG_NAME(10027), LONG_NAME(10028), LONG_NAME(10029),
	LONG_NAME(10030), LONG_NAME(10031), LONG_NAME(10032),
	LONG_NAME(10033), LONG_NAME(10034), LONG_NAME(10035),
	LONG_NAME(10036), LONG_NAME(10037), LONG_NAME(10038),
	LONG_NAME(10039), LONG_NAME(10040), LONG_NAME(10041),
	LONG_NAME(10042), LONG_NAME(10043), LONG_NAME(10044),
	{ NULL, NULL }
};

/* A setup of every field, of a child of this process; "%s" are the
 * setup's max_files and groups. */
#define SETUP_FORMAT "v=1 id_base=1 max_frame=4096 parent=%ld " \
	"max_memory=0 max_cpu=0x0p+0 max_files=%s max_procs=0 uid=0 gid=0 " \
	"no_new_privs=0 groups=%s"

static const struct {
	const char *setup;		/* NULL: SETUP_FORMAT with these: */
	const char *max_files;
	const char *groups;
	const procq_worker_task *table;
	const char *frame;		/* written once the worker says hello */
	size_t len;
	int status;			/* the worker's exit status */
	const char *says;		/* on stderr (status 2) or in its
					 * setup failure */
} by_hand[] = {
	{ "v=1 id_base=1", NULL, NULL, good_table, NULL, 0, 2, "setup" },
	{ "v=1 junk", NULL, NULL, good_table, NULL, 0, 2, "setup" },
	{ "v=1 other=1", NULL, NULL, good_table, NULL, 0, 2, "setup" },
	{ "v=2", NULL, NULL, good_table, NULL, 0, 2, "setup" },
	{ NULL, "many", "", good_table, NULL, 0, 2, "setup" },
	{ NULL, "0", "1,x", good_table, NULL, 0, 2, "setup" },
	{ NULL, "0", "1,2", NULL, NULL, 0, EXIT_PROTOCOL,
	    "no task table" },
	{ NULL, "0", "", twice_table, NULL, 0, EXIT_PROTOCOL,
	    "task table: File exists" },
	{ NULL, "0", "", unnamed_table, NULL, 0, EXIT_PROTOCOL,
	    "task table: Invalid argument" },
	/* an empty frame; bytes that are not msgpack; a HELLO; a CANCEL
	 * and a TASK without their fields */
	{ NULL, "0", "", good_table, "\x00\x00\x00\x00", 4, EXIT_PROTOCOL,
	    NULL },
	{ NULL, "0", "", good_table, "\x00\x00\x00\x01\xc1", 5,
	    EXIT_PROTOCOL, NULL },
	{ NULL, "0", "", good_table, "\x00\x00\x00\x02\x91\x01", 6,
	    EXIT_PROTOCOL, NULL },
	{ NULL, "0", "", good_table, "\x00\x00\x00\x02\x91\x0b", 6,
	    EXIT_PROTOCOL, NULL },
	{ NULL, "0", "", good_table, "\x00\x00\x00\x02\x91\x0a", 6,
	    EXIT_PROTOCOL, NULL },
	/* task names that do not fit in a hello */
	{ NULL, "0", "", long_table, NULL, 0, 0, "exceed the frame limit" },
	/* a TASK whose arguments are not msgpack; one whose claim cell
	 * (512, sent as 513) is past the board's last */
	{ NULL, "0", "", good_table, "\x00\x00\x00\x0f\x95\x0a\x07\xa7"
	    "nothing" "\xc4\x01\xc1\x01", 19, EXIT_PROTOCOL, NULL },
	{ NULL, "0", "", good_table, "\x00\x00\x00\x13\x96\x0a\x07\xa7"
	    "nothing" "\xc4\x02\x91\x01\x01\xcd\x02\x01", 23,
	    EXIT_PROTOCOL, NULL },
};

struct reaped {
	pid_t	pid;
	int	status;
};

static bool
reaped(void *arg)
{
	struct reaped *r = arg;

	return waitpid(r->pid, &r->status, WNOHANG) == r->pid;
}

/* Reads fd to its end into buf (NUL-terminated; NULs inside are
 * replaced, so that a frame's text can be searched). */
static void
read_all(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size - 1 && (n = read(fd, buf + got,
	    size - 1 - got)) > 0)
		got += (size_t)n;
	for (size_t i = 0; i < got; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[got] = '\0';
}

START_TEST(test_worker_main_by_hand)
{
	char setup[512], text[1024], hello[4];
	int in[2], out[2], err[2], board;
	struct reaped r = { 0 };

	if (by_hand[_i].setup != NULL)
		snprintf(setup, sizeof setup, "%s", by_hand[_i].setup);
	else
		snprintf(setup, sizeof setup, SETUP_FORMAT, (long)getpid(),
		    by_hand[_i].max_files, by_hand[_i].groups);
	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	board = memfd_create("board", MFD_CLOEXEC);
	ck_assert_int_ge(board, 0);
	ck_assert_int_eq(ftruncate(board, BOARD_SIZE), 0);
	if ((r.pid = fork_child()) == 0) {
		char *argv[] = { "worker", NULL };

		if (dup2(in[0], 3) != 3 || dup2(out[1], 4) != 4 ||
		    dup2(board, 5) != 5 || dup2(err[1], 2) != 2 ||
		    setenv("PROCQ_WORKER_SETUP", setup, 1) != 0)
			test_child_exit(127);
		test_child_exit(procq_worker_main(1, argv,
		    by_hand[_i].table));
	}
	ck_assert_int_gt(r.pid, 0);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	close(board);
	if (by_hand[_i].frame != NULL) {
		/* the length of its hello, then the frame */
		ck_assert_int_eq(read(out[0], hello, sizeof hello),
		    sizeof hello);
		ck_assert(write_all(in[1], by_hand[_i].frame,
		    by_hand[_i].len));
	}
	ck_assert_msg(wait_until(reaped, &r, 10), "the worker did not exit");
	close(in[1]);
	ck_assert_msg(WIFEXITED(r.status), "the worker died of signal %d",
	    WTERMSIG(r.status));
	ck_assert_int_eq(WEXITSTATUS(r.status), by_hand[_i].status);
	if (by_hand[_i].status == 2) {
		read_all(err[0], text, sizeof text);
		ck_assert_msg(strstr(text, "is not a procq worker's setup") !=
		    NULL, "stderr: %s", text);
	} else if (by_hand[_i].says != NULL) {
		read_all(out[0], text, sizeof text);
		ck_assert_msg(strstr(text, by_hand[_i].says) != NULL,
		    "frames: %s", text);
	}
	close(out[0]);
	close(err[0]);
}
END_TEST

static Suite *
exec_suite(void)
{
	Suite *s = suite_create("exec");
	TCase *tc;

	tc = add_tcase(s, "tasks", 30);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_locks_held_while_starting);
	tcase_add_test(tc, test_argv);
	tcase_add_test(tc, test_unknown_name);
	tcase_add_test(tc, test_names_from_program);
	tcase_add_test(tc, test_submit_before_start);
	tcase_add_test(tc, test_crash);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_cancel_running);

	tc = add_tcase(s, "program", 60);
	tcase_add_loop_test(tc, test_no_worker, 0,
	    (int)(sizeof no_worker / sizeof no_worker[0]));
	tcase_add_test(tc, test_environment_given);
	tcase_add_test(tc, test_environment_inherited);
	tcase_add_test(tc, test_pipes_close_on_exec);
	tcase_add_test(tc, test_run_by_hand);
	tcase_add_loop_test(tc, test_worker_main_by_hand, 0,
	    (int)(sizeof by_hand / sizeof by_hand[0]));
	return s;
}

int
main(void)
{
	return run_suite(exec_suite());
}
