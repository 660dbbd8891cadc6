/*
 * The run's summary, kept as jobs finish, since the run keeps no list of
 * its jobs: the totals, then a line per failed job (the first
 * CLI_LIST_FAILED) and per cancelled job (the first CLI_LIST_CANCELLED).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static char *
summary_line(const struct job *j, const procq_result *r)
{
	const char *type = procq_result_error_type(r);
	const char *msg = procq_result_error_message(r);
	int attempts = procq_result_attempts(r);
	char *line = NULL;
	char group[256] = "";

	if (j->group != NULL)
		snprintf(group, sizeof group, " [%s]", j->group);
	if (j->overdue) {
		type = "Timeout";
		msg = "ran past --timeout of the median runtime";
	}
	if (asprintf(&line, "  %-9s %s%s (attempt%s %d): %s: %s\n",
		j->overdue ? "failed" :
			     procq_status_name(procq_result_status(r)),
		j->name, group, attempts == 1 ? "" : "s", attempts,
		type != NULL ? type : "Error", msg != NULL ? msg : "") < 0)
		return NULL;
	return line;
}

void
summary_note(struct cli_summary *s, const struct job *j, const procq_result *r)
{
	procq_status st = procq_result_status(r);
	char **lines, *line;

	if (st == PROCQ_SUCCEEDED)
		return;
	if (st == PROCQ_CANCELLED && !j->overdue &&
	    s->ncancelled++ >= CLI_LIST_CANCELLED)
		return;
	if (s->nlines >= CLI_LIST_FAILED ||
	    (line = summary_line(j, r)) == NULL ||
	    (lines = realloc(s->lines, (s->nlines + 1) * sizeof *lines)) ==
		NULL) {
		if (st != PROCQ_CANCELLED || j->overdue)
			s->nfailed++;
		return;
	}
	s->lines = lines;
	s->lines[s->nlines++] = line;
}

void
summary_print(const struct cli *c, FILE *fp, double duration)
{
	bool ok = c->failed == 0 && c->cancelled == 0;

	fprintf(fp,
	    "%zu job%s: %zu succeeded, %zu failed, %zu cancelled "
	    "in %.3f s%s\n",
	    c->njobs, c->njobs == 1 ? "" : "s", c->succeeded, c->failed,
	    c->cancelled, duration, ok ? "" : " (not ok)");
	for (size_t i = 0; i < c->summary.nlines; i++)
		fputs(c->summary.lines[i], fp);
	if (c->summary.nfailed > 0)
		fprintf(fp, "  ... and %zu more failed\n", c->summary.nfailed);
	if (c->cancelled > CLI_LIST_CANCELLED)
		fprintf(fp, "  ... and %zu more cancelled\n",
		    c->cancelled - CLI_LIST_CANCELLED);
}

void
summary_free(struct cli_summary *s)
{
	for (size_t i = 0; i < s->nlines; i++)
		free(s->lines[i]);
	free(s->lines);
	memset(s, 0, sizeof *s);
}
