/*
 * What a task finds in its worker process: only its own pipes open, stdin
 * at end of file, its own process group, death with the parent, default
 * signal dispositions and an empty mask, and none of the caller's
 * buffered output.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "tasks.h"
#include "util.h"

static int
task_fds(procq_call *c)
{
	msgpack_packer *pk = procq_call_packer(c);
	int fds[64], n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (d == NULL)
		return procq_call_fail(c, "OSError", "opendir");
	while ((e = readdir(d)) != NULL && n < 64) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd != dirfd(d))
			fds[n++] = fd;
	}
	closedir(d);
	msgpack_pack_array(pk, (size_t)n);
	for (int i = 0; i < n; i++)
		msgpack_pack_int(pk, fds[i]);
	return 0;
}

static int
task_process(procq_call *c)
{
	int sig = 0;
	char byte;

	prctl(PR_GET_PDEATHSIG, &sig);
	return procq_call_return(c, "iiiii", (int)getpid(), (int)getpgrp(),
	    sig, (int)read(STDIN_FILENO, &byte, 1),
	    fcntl(4, F_GETFD) & FD_CLOEXEC);
}

static int
task_signals(procq_call *c)
{
	struct sigaction sa;
	sigset_t mask;
	int blocked = 0;

	sigaction(SIGUSR1, NULL, &sa);
	sigprocmask(SIG_SETMASK, NULL, &mask);
	for (int sig = 1; sig < NSIG; sig++)
		blocked += sigismember(&mask, sig) == 1;
	return procq_call_return(c, "bi", sa.sa_handler == SIG_DFL, blocked);
}

static int
task_exit0(procq_call *c)
{
	exit(0);	/* flushes whatever stdio buffers the worker has */
}

static int
task_say_and_crash(procq_call *c)
{
	fprintf(stderr, "parsing record 17\nabout to crash\n");
	raise(SIGSEGV);
	return procq_call_fail(c, "Unreachable", "still alive");
}

/* Opens /dev/null until it cannot; returns how many it could. */
static int
task_open_many(procq_call *c)
{
	int n = 0;

	while (n < 256 && open("/dev/null", O_RDONLY) >= 0)
		n++;
	return procq_call_return(c, "ii", n, errno);
}

static int
task_ids(procq_call *c)
{
	return procq_call_return(c, "iii", (int)getuid(), (int)getgid(),
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
}

/* (n g0 g1): the worker's supplementary groups, the first two. */
static int
task_groups(procq_call *c)
{
	gid_t g[8] = { 0 };
	int n = getgroups(8, g);

	return procq_call_return(c, "iii", n, (int)g[0], (int)g[1]);
}

/* A RESULT frame for a task this worker was never given. */
static int
task_wrong_id(procq_call *c)
{
	static const char frame[] = "\x00\x00\x00\x08"
	    "\x93\x03\xce\x00\x0f\x42\x3f\xc3";	/* [3, 999999, true] */

	(void)c;
	if (write(4, frame, sizeof frame - 1) < 0)
		return -1;
	pause();
	return 0;
}

/* Dies in the middle of writing a frame. */
static int
task_truncated(procq_call *c)
{
	static const char part[] = "\x00\x00\x00\x64" "\x94\x03\x01";

	(void)c;
	if (write(4, part, sizeof part - 1) < 0)
		return -1;
	_exit(0);
}

/* Waits until the supervisor has read everything on fd 2 (a pipe to it),
 * so that the next write is read apart; up to 10 s. */
static void
stderr_read_by_supervisor(void)
{
	double end = now() + 10;
	int unread = 0;

	while (ioctl(STDERR_FILENO, FIONREAD, &unread) == 0 && unread > 0 &&
	    now() < end)
		nap(0.001);
}

/* (i n) Writes n lines of 20 bytes, "line N" and dots, to stderr, each
 * once the supervisor has read the one before, then dies of SIGSEGV. */
static int
task_lines_and_crash(procq_call *c)
{
	char line[32];
	int n = 0;

	if (procq_call_unpack(c, "i", &n) != 0)
		return procq_call_fail(c, "ArgError", "wants (i)");
	for (int i = 1; i <= n; i++) {
		snprintf(line, sizeof line, "line %d..............", i);
		line[19] = '\n';
		if (write(STDERR_FILENO, line, 20) != 20)
			return procq_call_fail(c, "OSError", "write");
		stderr_read_by_supervisor();
	}
	raise(SIGSEGV);
	return procq_call_fail(c, "Unreachable", "still alive");
}

/* The worker's soft and hard limits of open files, and whether it can
 * allocate 64 KiB. */
static int
task_limits(procq_call *c)
{
	struct rlimit files;
	void *p = malloc(64 * 1024);
	bool ok = p != NULL;

	free(p);
	if (getrlimit(RLIMIT_NOFILE, &files) != 0)
		return procq_call_fail(c, "OSError", "getrlimit");
	return procq_call_return(c, "uub", (uint64_t)files.rlim_cur,
	    (uint64_t)files.rlim_max, ok);
}

/* Prints to stdout and to a fully buffered stderr, without flushing. */
static int
task_print(procq_call *c)
{
	static char errbuf[BUFSIZ];

	setvbuf(stderr, errbuf, _IOFBF, sizeof errbuf);
	fputs("to stdout", stdout);
	fputs("to stderr", stderr);
	return procq_call_return(c, "n");
}

static int task_close_in(procq_call *c);

static const procq_worker_task env_tasks[] = {
	{ "say_and_crash", task_say_and_crash },
	{ "open_many", task_open_many },
	{ "ids", task_ids },
	{ "wrong_id", task_wrong_id },
	{ "truncated", task_truncated },
	{ "fds", task_fds },
	{ "process", task_process },
	{ "signals", task_signals },
	{ "exit0", task_exit0 },
	{ "family", task_family },
	{ "close_in", task_close_in },
	{ "lines_and_crash", task_lines_and_crash },
	{ "limits", task_limits },
	{ "print", task_print },
	{ "groups", task_groups },
	{ NULL, NULL }
};

static procq_queue *
env_queue_config(const procq_config *cfg)
{
	procq_queue *q = test_create_with(cfg, env_tasks, false, NULL);

	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(procq_start(q), 0);
	return q;
}

static procq_queue *
env_queue(void)
{
	return env_queue_config(&(procq_config){ .workers = 1 });
}

static procq_handle *
env_run(procq_queue *q, const char *name)
{
	procq_handle *h = NULL;

	ck_assert_int_eq(procq_submitf(q, name, NULL, &h, ""), 0);
	ck_assert_int_eq(procq_handle_wait(h, 20), 0);
	ck_assert_msg(procq_handle_status(h) == PROCQ_SUCCEEDED, "%s: %s",
	    name, procq_handle_error_message(h));
	return h;
}

START_TEST(test_worker_fds)
{
	int extra[4], n = 0;
	procq_queue *q;
	const msgpack_object *v;
	bool has3 = false, has4 = false;

	/* descriptors the caller has open must not reach the worker */
	for (int i = 0; i < 4; i++)
		extra[i] = open("/dev/null", O_RDONLY);
	q = env_queue();
	v = procq_result_value(procq_handle_result(env_run(q, "fds")));
	ck_assert_int_eq(v->type, MSGPACK_OBJECT_ARRAY);
	for (uint32_t i = 0; i < v->via.array.size; i++) {
		int64_t fd = v->via.array.ptr[i].via.i64;

		ck_assert_msg(fd <= 4, "fd %lld leaked into the worker",
		    (long long)fd);
		has3 |= fd == 3;
		has4 |= fd == 4;
		n++;
	}
	ck_assert(has3 && has4);
	ck_assert_int_le(n, 5);
	procq_free(q);
	for (int i = 0; i < 4; i++)
		close(extra[i]);
}
END_TEST

START_TEST(test_worker_process)
{
	procq_queue *q = env_queue();
	procq_handle *h = env_run(q, "process");
	int pid, pgid, deathsig, got, cloexec;

	ck_assert_int_eq(procq_handle_value(h, "iiiii", &pid, &pgid, &deathsig,
	    &got, &cloexec), 0);
	ck_assert_int_ne(pid, getpid());
	ck_assert_int_eq(pgid, pid);		/* its own process group */
	ck_assert_int_ne(deathsig, 0);		/* dies with the parent */
	ck_assert_int_eq(got, 0);		/* stdin: /dev/null */
	ck_assert_int_ne(cloexec, 0);		/* an exec'd program gets no pipe */
	procq_free(q);
}
END_TEST

START_TEST(test_worker_signals)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	sigset_t usr2, oldmask;
	procq_queue *q;
	procq_handle *h;
	bool dfl;
	int blocked;

	sigaction(SIGUSR1, &ign, &old);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, &oldmask);
	q = env_queue();
	h = env_run(q, "signals");
	ck_assert_int_eq(procq_handle_value(h, "bi", &dfl, &blocked), 0);
	ck_assert_msg(dfl, "SIGUSR1 is still ignored in the worker");
	ck_assert_int_eq(blocked, 0);
	procq_free(q);
	sigaction(SIGUSR1, &old, NULL);
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
}
END_TEST

/* Output the caller buffered before the fork is printed once, by the
 * caller, even when a task leaves through exit(). */
START_TEST(test_worker_stdio_not_duplicated)
{
	int pipefd[2], saved;
	char buf[256];
	ssize_t n, total = 0;
	procq_queue *q;
	procq_handle *h = NULL;

	ck_assert_int_eq(pipe(pipefd), 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(pipefd[1], STDOUT_FILENO);
	close(pipefd[1]);
	setvbuf(stdout, NULL, _IOFBF, BUFSIZ);
	fputs("once", stdout);		/* buffered, not yet written */
	q = env_queue();
	ck_assert_int_eq(procq_submitf(q, "exit0", NULL, &h, ""), 0);
	ck_assert_int_eq(procq_handle_wait(h, 20), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	procq_free(q);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	while ((n = read(pipefd[0], buf + total, sizeof buf - 1 - total)) > 0)
		total += n;
	close(pipefd[0]);
	buf[total] = '\0';
	ck_assert_str_eq(buf, "once");
}
END_TEST

/* The caller dies: its worker and what the task started go with it, and
 * so does the fork server when there is one. */
/* What a task printed through stdio and left in the buffers has been
 * written when its result comes: on stdout at once, and on stderr, which
 * the supervisor passes on to the caller's. */
struct err_pipe {
	int	fd;
	char	buf[256];
	size_t	len;
};

static bool
err_pipe_has_text(void *arg)
{
	struct err_pipe *e = arg;
	ssize_t n = read(e->fd, e->buf + e->len, sizeof e->buf - 1 - e->len);

	if (n > 0)
		e->len += (size_t)n;
	e->buf[e->len] = '\0';
	return strstr(e->buf, "to stderr") != NULL;
}

START_TEST(test_worker_stdio_flushed)
{
	int out[2], err[2], saved_out, saved_err;
	struct err_pipe e = { .len = 0 };
	char buf[256];
	ssize_t n;
	procq_queue *q;
	procq_handle *h = NULL;
	bool found;

	ck_assert_int_eq(pipe2(out, O_CLOEXEC | O_NONBLOCK), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC | O_NONBLOCK), 0);
	fflush(stdout);
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	ck_assert_int_eq(dup2(out[1], STDOUT_FILENO), STDOUT_FILENO);
	ck_assert_int_eq(dup2(err[1], STDERR_FILENO), STDERR_FILENO);
	close(out[1]);
	close(err[1]);
	q = env_queue();
	ck_assert_int_eq(procq_submitf(q, "print", NULL, &h, ""), 0);
	ck_assert_int_eq(procq_handle_wait(h, 20), 0);
	/* the worker still runs: nothing was flushed by its exit */
	n = read(out[0], buf, sizeof buf - 1);
	e.fd = err[0];
	found = wait_until(err_pipe_has_text, &e, 10);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	ck_assert_int_eq(n, 9);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "to stdout");
	ck_assert_msg(found, "stderr: %s", e.buf);
	procq_free(q);
	close(out[0]);
	close(err[0]);
}
END_TEST

START_TEST(test_worker_family_dies_with_caller)
{
	char path[128];
	int worker = 0, grandchild = 0;
	bool worker_gone, grandchild_gone, server_gone = true;
	pid_t caller, server = 0;
	FILE *fp;

#if defined(__SANITIZE_THREAD__)
	return;	/* the workers there die by SIGKILL, their children stay */
#endif
	make_tmpfile(path, sizeof path);
	if ((caller = fork_child()) == 0) {
		procq_queue *q = env_queue();

		procq_submitf(q, "family", NULL, NULL, "s", path);
		pause();
		_exit(0);
	}
	ck_assert_int_gt(caller, 0);
	ck_assert_msg(wait_until(file_nonempty, path, 20),
	    "the task never wrote its pids");
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fscanf(fp, "%d %d", &worker, &grandchild), 2);
	fclose(fp);
	ck_assert_uint_eq(list_servers(caller, &server, 1),
	    test_effective_start_method(NULL) == PROCQ_START_FORKSERVER);
	kill(caller, SIGKILL);
	waitpid(caller, NULL, 0);
	worker_gone = wait_pid_gone(worker, 5);
	grandchild_gone = wait_pid_gone(grandchild, 5);
	if (server > 0)
		server_gone = wait_pid_gone(server, 5);
	/* Whatever the verdict, nothing is left running behind the test. */
	if (!worker_gone)
		kill(worker, SIGKILL);
	if (!grandchild_gone)
		kill(grandchild, SIGKILL);
	if (!server_gone)
		kill(server, SIGKILL);
	unlink(path);
	ck_assert_msg(worker_gone, "the worker outlived its caller");
	ck_assert_msg(grandchild_gone,
	    "a process the task started outlived the caller");
	ck_assert_msg(server_gone, "the fork server outlived its caller");
}
END_TEST

/* A crash report carries what the job printed before it died. */
START_TEST(test_worker_stderr_in_crash_report)
{
	procq_queue *q = env_queue_config(&(procq_config){ .workers = 1 });
	procq_handle *h = NULL;
	const procq_result *r;
	const char *out;
	size_t len;

	ck_assert_int_eq(procq_submitf(q, "say_and_crash", NULL, &h, ""), 0);
	ck_assert_int_eq(procq_handle_wait(h, 20), 0);
	r = procq_handle_result(h);
	ck_assert_int_eq(procq_result_error_kind(r), PROCQ_ERR_CRASH);
	out = procq_result_stderr(r, &len);
	ck_assert_ptr_nonnull(out);
	ck_assert_msg(strstr(out, "about to crash") != NULL,
	    "stderr tail: %.*s", (int)len, out);
	procq_free(q);
}
END_TEST

/* What the on_retry hook was given of a crashed attempt's stderr. */
struct retry_output {
	pthread_mutex_t	 lock;
	char		 text[256];
	int		 calls;
};

static void
keep_retry_output(procq_handle *h, const procq_error *err, void *arg)
{
	struct retry_output *ro = arg;
	size_t n = err->output_len < sizeof ro->text - 1 ? err->output_len :
	    sizeof ro->text - 1;

	(void)h;
	pthread_mutex_lock(&ro->lock);
	if (err->output != NULL)
		memcpy(ro->text, err->output, n);
	ro->text[n] = '\0';
	ro->calls++;
	pthread_mutex_unlock(&ro->lock);
}

/* The on_retry hook of a crashed attempt gets what it printed. */
START_TEST(test_worker_stderr_to_on_retry)
{
	struct retry_output ro = { .lock = PTHREAD_MUTEX_INITIALIZER };
	procq_queue *q = env_queue_config(&(procq_config){ .workers = 1,
	    .on_retry = keep_retry_output, .hook_arg = &ro });
	procq_handle *h = NULL;

	ck_assert_int_eq(procq_submitf(q, "say_and_crash",
	    &(procq_opts){ .retries = 1 }, &h, ""), 0);
	ck_assert_int_eq(procq_handle_wait(h, 20), 0);
	ck_assert_int_eq(procq_handle_attempts(h), 2);
	/* The hook ran before the second attempt began. */
	pthread_mutex_lock(&ro.lock);
	ck_assert_int_eq(ro.calls, 1);
	ck_assert_msg(strstr(ro.text, "about to crash") != NULL,
	    "on_retry's output: %s", ro.text);
	pthread_mutex_unlock(&ro.lock);
	procq_free(q);
}
END_TEST

/*
 * The caller's standard error as a socket and as a character device (not
 * a terminal): what a worker writes reaches it all the same, and the
 * crash report keeps the end of it, stderr_tail bytes (here 50: the last
 * two lines and half of the one before, which was read apart from them).
 * As a pipe nobody reads any more, it takes nothing and raises no
 * SIGPIPE in the caller, and the crash report is the same.
 */
enum { SINK_SOCKET, SINK_DEVNULL, SINK_PIPE_NO_READER, N_SINKS };

START_TEST(test_worker_stderr_sinks)
{
	procq_queue *q;
	procq_handle *h = NULL;
	const char *out;
	char got[128];
	size_t len, have = 0;
	int saved, sv[2] = { -1, -1 }, fd;
	ssize_t k;

	if (_i == SINK_SOCKET) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0, sv), 0);
		fd = sv[0];
	} else if (_i == SINK_PIPE_NO_READER) {
		ck_assert_int_eq(pipe2(sv, O_CLOEXEC), 0);
		close(sv[0]);
		fd = sv[1];
	} else
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	q = env_queue_config(&(procq_config){ .workers = 1,
	    .stderr_tail = 50 });
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	ck_assert_int_eq(procq_submitf(q, "lines_and_crash", NULL, &h, "i", 3),
	    0);
	ck_assert_int_eq(procq_handle_wait(h, 20), 0);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_CRASH);
	out = procq_result_stderr(procq_handle_result(h), &len);
	ck_assert_ptr_nonnull(out);
	ck_assert_msg(len == 50 && memcmp(out + 9, "\nline 2", 7) == 0,
	    "stderr tail: %.*s", (int)len, out);
	if (_i == SINK_SOCKET) {
		close(sv[0]);
		while (have < sizeof got - 1 &&
		    (k = read(sv[1], got + have, sizeof got - 1 - have)) > 0)
			have += (size_t)k;
		got[have] = '\0';
		ck_assert_msg(have == 60 && strncmp(got, "line 1", 6) == 0,
		    "the socket got: %s", got);
		close(sv[1]);
	} else
		close(fd);
	procq_free(q);
}
END_TEST

/* procq_summary_display() shows the last five lines of a crashed task's
 * standard error, procq_summary_json() all it kept. */
START_TEST(test_worker_stderr_in_summary)
{
	procq_queue *q = env_queue();
	procq_handle *h = NULL;
	procq_summary *s;
	char *text = NULL;
	size_t size = 0;
	FILE *fp;

	ck_assert_int_eq(procq_submitf(q, "lines_and_crash", NULL, &h, "i", 7),
	    0);
	ck_assert_int_eq(procq_handle_wait(h, 20), 0);
	s = procq_results(q);
	ck_assert_ptr_nonnull(s);
	fp = open_memstream(&text, &size);
	ck_assert_ptr_nonnull(fp);
	procq_summary_display(s, fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_msg(strstr(text, "line 2.") == NULL &&
	    strstr(text, "      | line 3.") != NULL &&
	    strstr(text, "      | line 7.") != NULL, "display: %s", text);
	free(text);
	fp = open_memstream(&text, &size);
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(procq_summary_json(s, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_msg(strstr(text, "\"stderr\":\"line 1.") != NULL,
	    "json: %s", text);
	free(text);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

START_TEST(test_worker_max_files)
{
	procq_queue *q = env_queue_config(&(procq_config){ .workers = 1,
	    .max_files = 16 });
	procq_handle *h = NULL;
	int n, err;

	ck_assert_int_eq(procq_submitf(q, "open_many", NULL, &h, ""), 0);
	ck_assert_int_eq(procq_handle_wait(h, 20), 0);
	ck_assert_int_eq(procq_handle_value(h, "ii", &n, &err), 0);
	ck_assert_int_le(n, 16);
	ck_assert_int_eq(err, EMFILE);
	procq_free(q);
}
END_TEST

/*
 * A limit of open files past the hard one is held to it; an allowance of
 * memory small or large (the worker's probe for an exhausted address
 * space is 256 KiB at least, 16 MiB at most).  The worker ends as usual.
 */
static const size_t memory_allowances[] = { 0, 1 << 20, (size_t)1 << 30 };

START_TEST(test_worker_limits_clamped)
{
	static const long huge = 1L << 40;
	procq_queue *q;
	procq_handle *h = NULL;
	uint64_t files, files_max;
	bool alloc_ok = false;

	if (memory_allowances[_i] > 0 && (TEST_ASAN || TEST_TSAN))
		return;	/* no address space limit under the sanitizers */
	q = env_queue_config(&(procq_config){ .workers = 1,
	    .max_files = huge, .max_memory = memory_allowances[_i] });
	ck_assert_int_eq(procq_submitf(q, "limits", NULL, &h, ""), 0);
	ck_assert_int_eq(procq_handle_wait(h, 20), 0);
	ck_assert_msg(procq_handle_status(h) == PROCQ_SUCCEEDED, "%s",
	    procq_handle_error_message(h));
	ck_assert_int_eq(procq_handle_value(h, "uub", &files, &files_max,
	    &alloc_ok), 0);
	ck_assert(files_max == RLIM_INFINITY ? files == (uint64_t)huge :
	    files == files_max);
	ck_assert(alloc_ok);
	procq_free(q);
}
END_TEST

/* As root, workers can run as another user, without a way back. */
START_TEST(test_worker_drops_privileges)
{
	procq_queue *q;
	procq_handle *h = NULL;
	int uid, gid, nnp;

	if (getuid() != 0)
		return;	/* only root can switch users */
	q = env_queue_config(&(procq_config){ .workers = 1, .uid = 65534,
	    .gid = 65534 });
	ck_assert_int_eq(procq_submitf(q, "ids", NULL, &h, ""), 0);
	ck_assert_int_eq(procq_handle_wait(h, 20), 0);
	ck_assert_msg(procq_handle_status(h) == PROCQ_SUCCEEDED, "%s",
	    procq_handle_error_message(h));
	ck_assert_int_eq(procq_handle_value(h, "iii", &uid, &gid, &nnp), 0);
	ck_assert_int_eq(uid, 65534);
	ck_assert_int_eq(gid, 65534);
	ck_assert_int_eq(nnp, 1);
	procq_free(q);
}
END_TEST

/* As root, a user without a group given runs with the user's own group,
 * and with the supplementary groups given; forked or exec'd (the groups
 * go to the worker program in its setup). */
START_TEST(test_worker_user_group_and_groups)
{
	static const unsigned groups[] = { 65533, 65534 };
	procq_queue *q;
	procq_handle *h = NULL;
	int uid, gid, nnp, n, g0, g1;

	if (getuid() != 0)
		return;	/* only root can switch users */
	q = env_queue_config(&(procq_config){ .workers = 1, .uid = 65534,
	    .groups = groups, .ngroups = 2,
	    .start_method = _i ? PROCQ_START_EXEC : PROCQ_START_DEFAULT });
	ck_assert_int_eq(procq_submitf(q, "ids", NULL, &h, ""), 0);
	ck_assert_int_eq(procq_handle_wait(h, 20), 0);
	ck_assert_msg(procq_handle_status(h) == PROCQ_SUCCEEDED, "%s",
	    procq_handle_error_message(h));
	ck_assert_int_eq(procq_handle_value(h, "iii", &uid, &gid, &nnp), 0);
	ck_assert_int_eq(uid, 65534);
	ck_assert_int_eq(gid, 65534);	/* nobody's group */
	ck_assert_int_eq(procq_submitf(q, "groups", NULL, &h, ""), 0);
	ck_assert_int_eq(procq_handle_wait(h, 20), 0);
	ck_assert_int_eq(procq_handle_value(h, "iii", &n, &g0, &g1), 0);
	ck_assert_int_eq(n, 2);
	ck_assert((g0 == 65533 && g1 == 65534) ||
	    (g0 == 65534 && g1 == 65533));
	procq_free(q);
}
END_TEST

/* Hostile or broken workers: a result for a task id the worker was
 * never given, a frame cut short by the worker's death.  Each fails its
 * own task only. */
START_TEST(test_worker_broken_frames)
{
	procq_queue *q = env_queue_config(&(procq_config){ .workers = 1 });
	procq_handle *h = NULL, *ok = NULL;

	ck_assert_int_eq(procq_submitf(q, "wrong_id", NULL, &h, ""), 0);
	ck_assert_int_eq(procq_handle_wait(h, 20), 0);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_PROTOCOL);
	ck_assert_msg(strstr(procq_handle_error_message(h), "not running") !=
	    NULL, "%s", procq_handle_error_message(h));
	ck_assert_int_eq(procq_submitf(q, "truncated", NULL, &h, ""), 0);
	ck_assert_int_eq(procq_handle_wait(h, 20), 0);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_CRASH);
	ck_assert_int_eq(procq_submitf(q, "ids", NULL, &ok, ""), 0);
	ck_assert_int_eq(procq_handle_wait(ok, 20), 0);
	ck_assert_int_eq(procq_handle_status(ok), PROCQ_SUCCEEDED);
	procq_free(q);
}
END_TEST

/* A task that closes its own task pipe and waits: the next frame the
 * supervisor writes to it meets a closed pipe. */
static int
task_close_in(procq_call *c)
{
	close(3);
	procq_call_progress(c, "s", "closed");
	pause();
	return 0;
}

/* SIGPIPE never reaches the caller: on a caller's own event loop the
 * supervisor writes from the caller's thread, to a worker whose task pipe
 * is closed. */
START_TEST(test_caller_survives_sigpipe)
{
	struct event_base *base = event_base_new();
	procq_queue *q;
	procq_handle *h = NULL, *next = NULL;
	double deadline;

	ck_assert_ptr_nonnull(base);
	q = test_create_with(&(procq_config){ .workers = 1, .prefetch = 2,
	    .event_base = base }, env_tasks, false, NULL);
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_submitf(q, "close_in", &(procq_opts){
	    .timeout = 0.5 }, &h, ""), 0);
	deadline = now() + 20;
	while (procq_handle_progress_data(h, NULL, 0) == 0 && now() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	/* Once the pipe is closed, this one is written into it. */
	ck_assert_int_eq(procq_submitf(q, "ids", NULL, &next, ""), 0);
	while (!procq_handle_done(next) && now() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert(procq_handle_done(h));
	ck_assert_int_eq(procq_handle_status(next), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_shutdown(q, PROCQ_SHUTDOWN_FORCE), 0);
	procq_free(q);
	event_base_free(base);
}
END_TEST

static void
on_alarm(int sig)
{
	(void)sig;
}

/* Signals that interrupt system calls do not break procq's calls. */
START_TEST(test_calls_survive_signals)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct itimerval every = { { 0, 500 }, { 0, 500 } }, off = { 0 };
	procq_queue *q;
	procq_handle *hs[200];
	procq_summary *s = NULL;

	sigemptyset(&sa.sa_mask);	/* no SA_RESTART: calls see EINTR */
	sigaction(SIGALRM, &sa, &old);
	setitimer(ITIMER_REAL, &every, NULL);
	q = env_queue_config(&(procq_config){ .workers = 2 });
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(procq_submitf(q, "ids", NULL, &hs[i], ""), 0);
	ck_assert_int_eq(procq_handle_wait(hs[199], 30), 0);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_succeeded(s), 200);
	procq_summary_free(s);
	procq_free(q);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
}
END_TEST

/* Every descriptor procq opens in the caller is close-on-exec: a program
 * the caller execs inherits none of them. */
START_TEST(test_caller_fds_cloexec)
{
	bool before[1024] = { false };
	procq_queue *q;
	procq_handle *h = NULL;
	DIR *d;
	struct dirent *e;
	int checked = 0;

	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((e = readdir(d)) != NULL) {
			int fd = atoi(e->d_name);

			if (e->d_name[0] != '.' && fd >= 0 && fd < 1024)
				before[fd] = true;
		}
		closedir(d);
	}
	q = env_queue_config(&(procq_config){ .workers = 2 });
	ck_assert_int_ge(procq_notify_fd(q), 0);
	ck_assert_int_eq(procq_submitf(q, "ids", NULL, &h, ""), 0);
	ck_assert_int_eq(procq_handle_wait(h, 20), 0);
	d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dirfd(d) || fd < 0 ||
		    fd >= 1024 || before[fd])
			continue;
		ck_assert_msg(fcntl(fd, F_GETFD) & FD_CLOEXEC,
		    "fd %d is not close-on-exec", fd);
		checked++;
	}
	closedir(d);
	ck_assert_int_gt(checked, 3);	/* pipes, pidfds, eventfds, epoll */
	procq_free(q);
}
END_TEST

int
main(int argc, char **argv)
{
	Suite *s = suite_create("worker_env");
	TCase *tc = add_tcase(s, "env", 30);

	if (test_serve_as_worker(argc, argv, env_tasks, false) >= 0)
		return 1;	/* a worker program that could not serve */

	tcase_add_test(tc, test_worker_fds);
	tcase_add_test(tc, test_worker_process);
	tcase_add_test(tc, test_worker_signals);
	tcase_add_test(tc, test_worker_stdio_not_duplicated);
	tcase_add_test(tc, test_worker_stdio_flushed);
	tcase_add_test(tc, test_worker_family_dies_with_caller);
	tcase_add_test(tc, test_worker_stderr_in_crash_report);
	tcase_add_test(tc, test_worker_stderr_to_on_retry);
	tcase_add_loop_test(tc, test_worker_stderr_sinks, 0, N_SINKS);
	tcase_add_test(tc, test_worker_stderr_in_summary);
	tcase_add_test(tc, test_worker_max_files);
	tcase_add_loop_test(tc, test_worker_limits_clamped, 0,
	    (int)(sizeof memory_allowances / sizeof memory_allowances[0]));
	tcase_add_test(tc, test_worker_drops_privileges);
	tcase_add_loop_test(tc, test_worker_user_group_and_groups, 0, 2);
	tcase_add_test(tc, test_worker_broken_frames);
	tcase_add_test(tc, test_caller_fds_cloexec);
	tcase_add_test(tc, test_caller_survives_sigpipe);
	tcase_add_test(tc, test_calls_survive_signals);
	return run_suite(s);
}
