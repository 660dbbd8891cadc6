/*
 * The task, inside a worker: fork and exec the command, capture its
 * standard output and error through pipes and send them to the
 * supervisor as progress reports while it runs, then report how it ended.
 *
 * The command is a child of the worker and stays in the worker's process
 * group, so a timeout or a cancel, which signals that group, reaches it.
 * While the command runs the worker keeps SIGTERM blocked: it waits for
 * the command to finish (the kill grace is the command's), then dies of
 * the SIGTERM left pending, without reporting a result.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

/* Output goes out in reports of at most this many bytes. */
#define RUNNER_CHUNK	(64 * 1024)

const char *
signal_name(int sig, char *buf, size_t len)
{
#ifdef HAVE_SIGABBREV_NP
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev != NULL) {
		snprintf(buf, len, "SIG%s", abbrev);
		return buf;
	}
#endif
	snprintf(buf, len, "signal %d", sig);
	return buf;
}

static void
runner_free_argv(char **argv)
{
	if (argv == NULL)
		return;
	for (char **p = argv; *p != NULL; p++)
		free(*p);
	free(argv);
}

/* [seq, [argv...]] -> a NULL-terminated argv. */
static char **
runner_argv(procq_call *c, uint64_t *seq)
{
	const msgpack_object *words;
	char **argv;
	uint32_t n;

	const msgpack_object *opts;

	/* The options (a third element) are read by a later change. */
	if ((procq_call_unpack(c, "uo", seq, &words) != 0 &&
		procq_call_unpack(c, "uoo", seq, &words, &opts) != 0) ||
	    words->type != MSGPACK_OBJECT_ARRAY ||
	    (n = words->via.array.size) == 0 ||
	    (argv = calloc((size_t)n + 1, sizeof *argv)) == NULL)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *w = &words->via.array.ptr[i];

		/* Not strndup(): the string is not NUL-terminated. */
		if (w->type != MSGPACK_OBJECT_STR ||
		    (argv[i] = malloc((size_t)w->via.str.size + 1)) == NULL) {
			runner_free_argv(argv);
			return NULL;
		}
		memcpy(argv[i], w->via.str.ptr, w->via.str.size);
		argv[i][w->via.str.size] = '\0';
	}
	return argv;
}

/* In the child: never returns. */
static void
runner_exec(char **argv, uint64_t seq, int attempt, int out, int err,
    int status, pid_t parent)
{
	char num[32];
	sigset_t none;
	int e;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
		_exit(126);
	/* A command outlives no worker. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	snprintf(num, sizeof num, "%llu", (unsigned long long)seq);
	setenv("PROCQ_SEQ", num, 1);
	snprintf(num, sizeof num, "%d", attempt);
	setenv("PROCQ_ATTEMPT", num, 1);
	execvp(argv[0], argv);
	e = errno;
	if (write(status, &e, sizeof e) < 0)
		_exit(126);
	_exit(e == ENOENT ? 127 : 126);
}

static int
runner_report(procq_call *c, int stream, const char *p, size_t len)
{
	return procq_call_progress(c, "iiy", procq_call_attempt(c), stream,
	    p, len);
}

/* Reads what the pipe holds and reports it; 1 at end of file. */
static int
runner_drain(procq_call *c, int fd, int stream)
{
	static char chunk[RUNNER_CHUNK];
	size_t len = 0;
	ssize_t n;
	int eof = 0;

	for (;;) {
		n = read(fd, chunk + len, sizeof chunk - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			eof = n == 0 || errno != EAGAIN;
			break;
		}
		len += (size_t)n;
		if (len == sizeof chunk) {
			runner_report(c, stream, chunk, len);
			len = 0;
		}
	}
	if (len > 0)
		runner_report(c, stream, chunk, len);
	return eof;
}

/* Until both pipes are at end of file: the command and everything it
 * started that kept them have finished. */
static void
runner_collect(procq_call *c, int out, int err)
{
	struct pollfd pfd[2] = {
		{ .fd = out, .events = POLLIN },
		{ .fd = err, .events = POLLIN }
	};
	static const int stream[2] = { CLI_STREAM_OUT, CLI_STREAM_ERR };

	fcntl(out, F_SETFL, O_NONBLOCK);
	fcntl(err, F_SETFL, O_NONBLOCK);
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			if (runner_drain(c, pfd[i].fd, stream[i])) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
}

/* The exec's errno, or 0 once the command runs. */
static int
runner_exec_error(int fd)
{
	ssize_t n;
	int e = 0;

	while ((n = read(fd, &e, sizeof e)) < 0 && errno == EINTR)
		;
	close(fd);
	return n == (ssize_t)sizeof e ? e : 0;
}

static int
runner_result(procq_call *c, const char *cmd, int status, int exec_errno)
{
	int attempt = procq_call_attempt(c);
	int code = -1, sig = -1;
	char name[32], msg[256];

	if (WIFEXITED(status))
		code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		sig = WTERMSIG(status);
	procq_call_progress(c, "iiii", attempt, CLI_STREAM_EXIT, code, sig);
	if (exec_errno != 0) {
		snprintf(msg, sizeof msg, "procq: cannot run '%s': %s\n", cmd,
		    strerror(exec_errno));
		runner_report(c, CLI_STREAM_ERR, msg, strlen(msg));
		return procq_call_fail(c, "ExecError", "cannot run '%s': %s",
		    cmd, strerror(exec_errno));
	}
	if (code == 0)
		return 0;
	if (code > 0)
		return procq_call_fail(c, "ExitStatus", "exit status %d", code);
	return procq_call_fail(c, "Signal", "killed by %s%s",
	    signal_name(sig, name, sizeof name),
	    WCOREDUMP(status) ? " (core dumped)" : "");
}

static int
runner_wait(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static int
runner_pipes(int out[2], int err[2], int st[2])
{
	out[0] = out[1] = err[0] = err[1] = st[0] = st[1] = -1;
	if (pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0 &&
	    pipe2(st, O_CLOEXEC) == 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return -1;
}

/* Starts the command; SIGTERM stays blocked in the worker. */
static pid_t
runner_start(char **argv, uint64_t seq, int attempt, int *out_fd,
    int *err_fd, int *st_fd)
{
	sigset_t term;
	int out[2], err[2], st[2], saved;
	pid_t pid, parent = getpid();

	if (runner_pipes(out, err, st) != 0)
		return -1;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	if ((pid = fork()) == 0)
		runner_exec(argv, seq, attempt, out[1], err[1], st[1], parent);
	saved = errno;
	close(out[1]);
	close(err[1]);
	close(st[1]);
	if (pid < 0) {
		close(out[0]);
		close(err[0]);
		close(st[0]);
		errno = saved;
		return -1;
	}
	*out_fd = out[0];
	*err_fd = err[0];
	*st_fd = st[0];
	return pid;
}

/* The command is gone: a SIGTERM that came meanwhile (a timeout or a
 * cancel) ends the worker now. */
static void
runner_release_term(void)
{
	sigset_t term;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_UNBLOCK, &term, NULL);
}

int
runner_task(procq_call *c)
{
	int out, err, st, status = 0, exec_errno, rc = 0;
	uint64_t seq;
	char **argv;
	pid_t pid;

	if ((argv = runner_argv(c, &seq)) == NULL)
		return procq_call_fail(c, "ArgumentError",
		    "malformed command arguments");
	pid = runner_start(argv, seq, procq_call_attempt(c), &out, &err, &st);
	if (pid < 0) {
		rc = procq_call_fail(c, "SpawnError", "cannot start '%s': %s",
		    argv[0], strerror(errno));
		runner_release_term();
		runner_free_argv(argv);
		return rc;
	}
	exec_errno = runner_exec_error(st);
	runner_collect(c, out, err);
	if (runner_wait(pid, &status) != 0)
		rc = procq_call_fail(c, "SpawnError", "lost '%s': %s", argv[0],
		    strerror(errno));
	runner_release_term();
	if (rc == 0)
		rc = runner_result(c, argv[0], status, exec_errno);
	runner_free_argv(argv);
	return rc;
}
