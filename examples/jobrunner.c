/*
 * jobrunner: run shell commands in parallel, each with a time limit, and
 * report how every one of them ended.
 *
 *   jobrunner [-j WORKERS] [-t SECONDS] [-o SUMMARY.json] [-c] [COMMAND...]
 *
 * The commands come from the arguments, or else from standard input, one a
 * line (blank lines and lines starting with '#' are skipped).  Each runs
 * as `/bin/sh -c COMMAND` in a child of a procq worker; its standard output
 * is captured (the first 4 KiB) and becomes the task's value, its standard
 * error goes to ours.  A command that exits non-zero or dies of a signal
 * fails its task; one that runs past the time limit is killed along with
 * everything it started, since procq kills the worker's process group.
 *
 * jobrunner prints a summary of the run and, with -o, writes it as JSON.
 * It exits 0 when every command ran, whatever they returned (with -c: 1
 * when one failed), and 2 on a usage or system error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <procq.h>

#define OUTPUT_MAX	4096

/* Worker side. */

/* Read fd to the end, keeping the first size - 1 bytes; returns the length. */
static size_t
read_output(int fd, char *buf, size_t size)
{
	char sink[512];
	size_t len = 0;
	ssize_t n;

	for (;;) {
		/* Keep reading past the limit, or the command would block. */
		if (len < size - 1)
			n = read(fd, buf + len, size - 1 - len);
		else
			n = read(fd, sink, sizeof sink);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len < size - 1)
			len += (size_t)n;
	}
	while (len > 0 && buf[len - 1] == '\n')	/* the last newline(s) */
		len--;
	buf[len] = '\0';
	return len;
}

/* "sh" [command]: runs it, returns its output. */
static int
sh_task(procq_call *c)
{
	static char out[OUTPUT_MAX];
	size_t len;
	int fds[2], status;
	char *copy;
	pid_t pid;

	/* "s" gives a NUL-terminated copy to exec with. */
	if (procq_call_unpack(c, "s", &copy) != 0 || copy == NULL)
		return procq_call_fail(c, "ArgumentError", "expected [str]");
	if (pipe(fds) != 0 || (pid = fork()) < 0) {
		/* The worker outlives the task: leave nothing behind. */
		free(copy);
		return procq_call_fail(c, "SystemError", "%s", strerror(errno));
	}
	if (pid == 0) {
		/* The child: stdout into the pipe, stdin stays /dev/null. */
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl("/bin/sh", "sh", "-c", copy, (char *)NULL);
		_exit(127);
	}
	free(copy);
	close(fds[1]);
	len = read_output(fds[0], out, sizeof out);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return procq_call_fail(c, "SystemError", "waitpid: %s",
			    strerror(errno));
	if (WIFSIGNALED(status))
		return procq_call_fail(c, "CommandKilled",
		    "killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	if (WEXITSTATUS(status) != 0)
		return procq_call_fail(c, "CommandFailed",
		    "exited with status %d", WEXITSTATUS(status));
	return procq_call_return(c, "S", out, len);
}

static int
submit(procq_queue *q, const char *cmd, double timeout)
{
	/* The command is its own display name; procq copies both.  No
	 * handle: the run's summary will say what became of it. */
	procq_opts opts = { .name = cmd, .timeout = timeout };

	return procq_submitf(q, "sh", &opts, NULL, "s", cmd);
}

/* Submit every line of fp that holds a command. */
static int
submit_lines(procq_queue *q, FILE *fp, double timeout)
{
	char *line = NULL;
	size_t size = 0;
	ssize_t n;
	int err = 0;

	while (err == 0 && (n = getline(&line, &size, fp)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (line[strspn(line, " \t")] != '\0' && line[0] != '#')
			err = submit(q, line, timeout);
	}
	free(line);
	return err;
}

static int
usage(void)
{
	fprintf(stderr, "usage: jobrunner [-j workers] [-t seconds] "
	    "[-o summary.json] [-c] [command...]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	procq_config config = { 0 };	/* workers 0: one per CPU */
	procq_summary *s = NULL;
	procq_queue *q;
	const char *json = NULL;
	double timeout = 0;		/* none */
	bool check = false;
	FILE *fp;
	int opt, err, status = 2;

	while ((opt = getopt(argc, argv, "j:t:o:c")) != -1) {
		switch (opt) {
		case 'j': config.workers = atoi(optarg); break;
		case 't': timeout = strtod(optarg, NULL); break;
		case 'o': json = optarg; break;
		case 'c': check = true; break;
		default: return usage();
		}
	}
	/* procq checks the values: -j -1 or -t -1 are PROCQ_EINVAL. */
	if ((q = procq_create(&config, &err)) == NULL ||
	    (err = procq_register(q, "sh", sh_task)) != 0)
		goto out;
	for (int i = optind; i < argc && err == 0; i++)
		err = submit(q, argv[i], timeout);
	if (err == 0 && optind == argc)
		err = submit_lines(q, stdin, timeout);
	if (err == 0) {
		fflush(stdout);		/* before the workers fork */
		err = procq_run(q, NULL, &s);
	}
	if (err != 0)
		goto out;
	procq_summary_display(s, stdout);
	/* -c: did any command fail? */
	status = check && procq_summary_check(s, 0, NULL) != 0 ? 1 : 0;
	if (json != NULL) {
		if ((fp = fopen(json, "w")) == NULL) {
			perror(json);
			status = 2;
		} else {
			int rc = procq_summary_json(s, fp);

			if (fclose(fp) != 0 || rc != 0) {
				perror(json);
				status = 2;
			}
		}
	}
out:
	if (err != 0)
		fprintf(stderr, "jobrunner: %s\n", procq_strerror(err));
	procq_summary_free(s);
	procq_free(q);
	return status;
}
