/*
 * The job log: one tab-separated line per job, written when the job is
 * final: seq, item, status, attempts, exit status, signal, duration,
 * error, and the host its last attempt ran on ("rank N@host" under
 * --mpi; empty if it never ran).  Tabs, newlines and backslashes inside a field are escaped as
 * \t, \n and \\, so that a line is always one record.
 */
#include "config.h"

#include <stdio.h>

#include "cli.h"

FILE *
joblog_open(const char *path)
{
	return fopen(path, "w");
}

static void
joblog_field(FILE *fp, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '\t':
			fputs("\\t", fp);
			break;
		case '\n':
			fputs("\\n", fp);
			break;
		case '\r':
			fputs("\\r", fp);
			break;
		case '\\':
			fputs("\\\\", fp);
			break;
		default:
			fputc(*s, fp);
		}
	}
}

int
joblog_write(FILE *fp, const struct job *j, const procq_result *r)
{
	const char *type = procq_result_error_type(r);

	fprintf(fp, "%zu\t", j->seq);
	joblog_field(fp, j->args[0]);
	fprintf(fp, "\t%s\t%d\t%d\t%d\t%.3f\t",
	    procq_status_name(procq_result_status(r)),
	    procq_result_attempts(r), j->exit_status, j->signal,
	    procq_result_duration(r));
	if (type != NULL) {
		joblog_field(fp, type);
		fputs(": ", fp);
		joblog_field(fp, procq_result_error_message(r));
	}
	fputc('\t', fp);
	if (procq_result_host(r) != NULL && procq_result_rank(r) > 0)
		fprintf(fp, "rank %d@", procq_result_rank(r));
	joblog_field(fp, procq_result_host(r));
	fputc('\n', fp);
	return fflush(fp) != 0 || ferror(fp) ? -1 : 0;
}
