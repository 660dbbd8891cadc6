/*
 * The job log, in GNU parallel's format, so that what reads parallel's
 * joblogs (parallel --resume among them) reads procq's: a header, then
 * one line per job as it finishes, nine fields separated by tabs: Seq,
 * Host, Starttime, JobRuntime, Send, Receive, Exitval, Signal, Command.
 * The numbers are written as parallel writes them.  A cancelled job has
 * no line, as a job parallel kills when it halts has none: a resumed run
 * runs it again.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cli.h"

/* Appending (--resume) writes the header only to a new or empty log. */
FILE *
joblog_open(const char *path, bool append)
{
	struct stat st;
	FILE *fp;
	int err;

	if ((fp = fopen(path, append ? "a" : "w")) == NULL)
		return NULL;
	if (fstat(fileno(fp), &st) != 0)
		goto fail;
	if (st.st_size == 0 &&
	    (fputs(JOBLOG_HEADER "\n", fp) == EOF || fflush(fp) != 0))
		goto fail;
	return fp;
fail:
	err = errno;
	fclose(fp);
	errno = err;
	return NULL;
}

/* parallel names the local host ':'; a remote one by its name. */
static void
joblog_host(FILE *fp, const procq_result *r)
{
	const char *host = procq_result_host(r);

	if (host == NULL || *host == '\0' || procq_result_rank(r) <= 0) {
		fputc(':', fp);
		return;
	}
	/* A field of the line: no blank inside. */
	for (; *host != '\0'; host++)
		fputc(isspace((unsigned char)*host) ? '_' : *host, fp);
}

/* Exitval and Signal as parallel reads them: 0 and 0 only for a job
 * that succeeded (--resume-failed skips those); 0 and the signal for a
 * command a signal killed; -1 for a command that did not end by itself
 * (a timeout, its worker's death) or never ran. */
static void
joblog_exit(FILE *fp, const struct job *j, const procq_result *r)
{
	int code = -1, sig = 0;

	if (procq_result_status(r) == PROCQ_SUCCEEDED)
		code = 0;
	else if (j->signal > 0) {
		code = 0;
		sig = j->signal;
	} else if (j->exit_status > 0)
		code = j->exit_status;
	fprintf(fp, "%d\t%d\t", code, sig);
}

/* parallel writes a newline of the command as a NUL byte, so that a
 * line is always one job. */
static void
joblog_command(FILE *fp, const char *cmd)
{
	for (; cmd != NULL && *cmd != '\0'; cmd++)
		fputc(*cmd == '\n' ? '\0' : *cmd, fp);
}

int
joblog_write(FILE *fp, const struct job *j, const procq_result *r)
{
	double end = cli_wallclock();
	double start = j->start > 0 ? j->start : end;
	double runtime = end > start ? end - start : 0;

	if (procq_result_status(r) == PROCQ_CANCELLED)
		return 0;
	fprintf(fp, "%zu\t", j->seq);
	joblog_host(fp, r);
	/* Starttime rounded, JobRuntime truncated to the millisecond and
	 * padded to 10, as parallel has them. */
	fprintf(fp, "\t%.3f\t%10.3f\t0\t%ju\t", start,
	    floor(runtime * 1000) / 1000, (uintmax_t)j->received);
	joblog_exit(fp, j, r);
	joblog_command(fp, j->cmdline);
	fputc('\n', fp);
	return fflush(fp) != 0 || ferror(fp) ? -1 : 0;
}
