/*
 * A shell kept in the worker, for the commands that are one builtin of
 * the shell (shell.c says which: echo, printf, true and the like, with
 * plain words).  A new shell per job costs an exec and the shell's
 * start-up, many times what the builtin costs; the kept shell forks a
 * subshell per job instead, and the job runs in it as it would have run
 * in `SHELL -c LINE`: the same builtin of the same shell, started from
 * the same environment, with the job's variables exported, on line 1 (so
 * that its error messages read the same).  A builtin starts no process,
 * so what the subshell wrote is all in the pipes once it has exited.
 *
 * The shell runs KEPT_SCRIPT.  It reads one job per line on descriptor 3,
 * writes "r" on descriptor 4, runs the job in a subshell, then writes
 * "w STATUS" there.  The subshell closes 3 and 4 first: the job has the
 * descriptors it has under -c, the worker's standard input (/dev/null)
 * and the pipes of its output, which the worker reads as it reads a
 * command's.  None of these builtins exits with more than 2, so a status
 * over 128 is a signal's.  A shell found gone before its "r" never ran
 * the job: another is started for it (or, when a new one dies so, the
 * job runs as the others do).
 *
 * One kept shell per worker process, started with its first such job.
 * It is in the worker's process group, so a timeout or a cancel, which
 * signal that group, end it with the job; it ends as well when the worker
 * closes its standard input or dies (PR_SET_PDEATHSIG).  A shell that
 * cannot start is not tried again in that worker: its jobs run as the
 * others do, each with a shell of its own.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

/* On one line, so that the job's line number is 1, as under -c. */
#define KEPT_SCRIPT							\
	"while IFS= read -r __procq_job <&3; do echo r >&4; "		\
	"( exec 3<&- 4>&-; eval \"$__procq_job\" ); echo \"w $?\" >&4; "	\
	"done"

struct kept_shell {
	pid_t	 pid;		/* 0: none */
	char	*path;
	int	 jobs;		/* its descriptor 3 */
	int	 out;		/* its standard output and error */
	int	 err;
	int	 ends;		/* its descriptor 4 */
	bool	 failed;	/* could not start: not tried again */
	bool	 read;		/* it has read the job ("r") */
	unsigned long served;	/* jobs it has read */
	char	 line[64];	/* what has come of a line of ends */
	size_t	 len;
};

/* The worker's kept shell: a worker runs one task at a time. */
static struct kept_shell kept = { .jobs = -1,
	.out = -1,
	.err = -1,
	.ends = -1 };

/* Closes the shell's pipes and reaps it; *status its wait status, or
 * -1 when it was reaped elsewhere. */
static void
kept_stop(int *status)
{
	int st = -1;

	runner_close(&kept.jobs);
	runner_close(&kept.out);
	runner_close(&kept.err);
	runner_close(&kept.ends);
	if (kept.pid > 0) {
		while (waitpid(kept.pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	if (status != NULL)
		*status = st;
	kept.pid = 0;
	kept.len = 0;
	kept.served = 0;
	free(kept.path);
	kept.path = NULL;
}

/* In the child: becomes the kept shell, with fds[i] as descriptor i + 1
 * and the worker's standard input; never returns. */
static void
kept_exec(const char *path, int fds[4], int error, pid_t parent)
{
	char *argv[] = { (char *)path, "-c", KEPT_SCRIPT, NULL };
	sigset_t none;
	int high[4];

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Out of the way first: a pipe may be 1 to 4 already. */
	for (int i = 0; i < 4; i++) {
		if ((high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10)) < 0)
			_exit(126);
	}
	for (int i = 0; i < 4; i++) {
		if (dup2(high[i], i + 1) < 0)
			_exit(126);
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	unsetenv(SLOTS_ENV);
	execvp(path, argv);
	runner_child_failed(error, errno);
}

static void
kept_close_pairs(int p[][2], int n)
{
	for (int i = 0; i < n; i++) {
		runner_close(&p[i][0]);
		runner_close(&p[i][1]);
	}
}

/* Its jobs, output, error, ends, and the exec's errno. */
static int
kept_pipes(int p[5][2])
{
	for (int i = 0; i < 5; i++)
		p[i][0] = p[i][1] = -1;
	for (int i = 0; i < 5; i++) {
		if (pipe2(p[i], O_CLOEXEC) != 0) {
			kept_close_pairs(p, 5);
			return -1;
		}
	}
	return 0;
}

static int
kept_start(const char *path)
{
	int p[5][2], child[4], e;
	pid_t parent = getpid(), pid;

	if ((kept.path = strdup(path)) == NULL || kept_pipes(p) != 0)
		goto fail;
	child[0] = p[1][1];
	child[1] = p[2][1];
	child[2] = p[0][0];
	child[3] = p[3][1];
	if ((pid = fork()) == 0)
		kept_exec(path, child, p[4][1], parent);
	kept.pid = pid > 0 ? pid : 0;
	kept.jobs = p[0][1];
	kept.out = p[1][0];
	kept.err = p[2][0];
	kept.ends = p[3][0];
	p[0][1] = p[1][0] = p[2][0] = p[3][0] = -1;
	runner_close(&p[4][1]);
	/* Without a child, its end is closed: the read ends at once. */
	e = runner_exec_error(p[4][0]);
	p[4][0] = -1;
	kept_close_pairs(p, 5);
	if (pid < 0 || e != 0)
		goto fail;
	if (fcntl(kept.out, F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(kept.err, F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(kept.ends, F_SETFL, O_NONBLOCK) != 0)
		goto fail;
	return 0;
fail:
	kept_stop(NULL);
	kept.failed = true;
	return -1;
}

/*
 * The job as the kept shell reads it: the variables runner.c gives a
 * command (runner_vars(); numbers, which need no quotes), and the line.
 */
static char *
kept_text(const struct kept_job *j)
{
	static const char unset[] = "; unset __procq_job; ";
	struct runner_vars v;
	struct buf b = { 0 };
	int rc;

	if (runner_vars(&v, j->seq, j->attempt, j->slot, NULL) != 0)
		return NULL;
	rc = buf_append(&b, "export", 6);
	for (int i = 0; i < v.n && rc == 0; i++)
		rc = buf_append(&b, " ", 1) != 0 ||
		    buf_append(&b, v.var[i], strlen(v.var[i])) != 0;
	runner_vars_free(&v);
	if (rc == 0)
		rc = buf_append(&b, unset, strlen(unset)) != 0 ||
		    buf_append(&b, j->line, strlen(j->line)) != 0 ||
		    buf_append(&b, "\n", 2) != 0;
	if (rc != 0) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* Writes the job to the shell: -1 when it has gone (SIGPIPE is blocked). */
static int
kept_send(const char *text)
{
	size_t left = strlen(text);
	ssize_t n;

	while (left > 0) {
		n = write(kept.jobs, text, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		text += n;
		left -= (size_t)n;
	}
	return 0;
}

/* One line of descriptor 4: 1 when it tells the job's end. */
static int
kept_line(const char *s, int *status)
{
	int v;

	if (strcmp(s, "r") == 0) {
		kept.read = true;
		kept.served++;
		return 0;
	}
	if (s[0] != 'w' || s[1] != ' ' || sscanf(s + 2, "%d", &v) != 1 ||
	    v < 0 || v > 255)
		return -1;
	if (v > 128 && v - 128 < NSIG)
		*status = W_EXITCODE(0, v - 128);
	else
		*status = W_EXITCODE(v, 0);
	return 1;
}

/*
 * Reads what has come on descriptor 4; 1 once the job has ended, its
 * wait status in *status.  -1 at end of file, or on a line the script
 * does not write: the shell has gone.
 */
static int
kept_ends(int *status)
{
	char *nl;
	ssize_t n;
	int rc;

	for (;;) {
		n = read(kept.ends, kept.line + kept.len,
		    sizeof kept.line - 1 - kept.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		kept.len += (size_t)n;
		kept.line[kept.len] = '\0';
		while ((nl = strchr(kept.line, '\n')) != NULL) {
			*nl = '\0';
			if ((rc = kept_line(kept.line, status)) != 0) {
				kept.len = 0;
				return rc;
			}
			kept.len -= (size_t)(nl + 1 - kept.line);
			memmove(kept.line, nl + 1, kept.len + 1);
		}
		if (kept.len == sizeof kept.line - 1)
			return -1;
	}
}

/* Reads the job's output as it comes, until the job has ended (0) or the
 * shell has gone (-1). */
static int
kept_collect(procq_call *c, int *status)
{
	struct pollfd pfd[3];
	int rc = 0;

	while (rc == 0) {
		pfd[0] = (struct pollfd){ .fd = kept.out, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = kept.err, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = kept.ends, .events = POLLIN };
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		/* A shell that has gone leaves its pipes at end of file:
		 * stop polling them. */
		if (pfd[0].revents != 0 &&
		    runner_drain(c, kept.out, CLI_STREAM_OUT) != 0)
			runner_close(&kept.out);
		if (pfd[1].revents != 0 &&
		    runner_drain(c, kept.err, CLI_STREAM_ERR) != 0)
			runner_close(&kept.err);
		if (pfd[2].revents != 0)
			rc = kept_ends(status);
	}
	if (rc < 0)
		return -1;
	/* The subshell has exited: all it wrote is in the pipes. */
	if (kept.out < 0 || kept.err < 0 ||
	    runner_drain(c, kept.out, CLI_STREAM_OUT) != 0 ||
	    runner_drain(c, kept.err, CLI_STREAM_ERR) != 0)
		return -1;
	return 0;
}

/* Starts the kept shell if there is none (or another one): -1 if it
 * cannot. */
static int
kept_ready(const char *shell)
{
	if (kept.pid > 0 && strcmp(kept.path, shell) != 0)
		kept_stop(NULL);
	if (kept.pid > 0)
		return 0;
	return kept.failed ? -1 : kept_start(shell);
}

/* Sends the job and reads it through: 0 once it has run, its wait status
 * in *status; 1 when the shell had gone before it read the job. */
static int
kept_attempt(procq_call *c, const char *text, int *status)
{
	kept.read = false;
	if (kept_send(text) == 0 && kept_collect(c, status) == 0)
		return 0;
	if (kept.read || runner_ending()) {
		kept_stop(status);
		return 0;
	}
	/* A shell that dies before it reads its first job will not run
	 * any. */
	if (kept.served == 0)
		kept.failed = true;
	kept_stop(NULL);
	return 1;
}

/*
 * Runs the job in the kept shell: 0 once it has run, its wait status in
 * *status (or -1 when it was lost: the shell was reaped elsewhere), and
 * how long it ran in *ran; -1 when no kept shell can run it, and nothing
 * of it has run.  SIGTERM and SIGPIPE are blocked (runner_block()).
 */
int
kept_run(procq_call *c, const struct kept_job *j, int *status, double *ran)
{
	char *text = kept_text(j);
	double started = runner_clock();
	int rc = 1;

	if (text == NULL)
		return -1;
	/* A shell that died between jobs is found as the job is written, or
	 * before it reads it: another one runs it. */
	for (int tries = 0; tries < 2 && rc == 1; tries++) {
		if (kept_ready(j->shell) != 0)
			break;
		rc = kept_attempt(c, text, status);
	}
	free(text);
	*ran = runner_clock() - started;
	return rc == 0 ? 0 : -1;
}
