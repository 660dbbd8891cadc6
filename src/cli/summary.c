/*
 * procq(1)'s summary of a run, kept as each job becomes final, since the
 * run keeps no list of every result: the counts, and the text of the
 * first failed and cancelled jobs in the order they became final, as many
 * as CLI_LIST_FAILED and CLI_LIST_CANCELLED; the others are counted.
 * Called with c->lock held.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The lines of stderr a failure shows at most. */
#define SUMMARY_STDERR_LINES 5

bool
summary_ok(const struct cli_totals *t)
{
	return t->failed == 0 && t->cancelled == 0;
}

/* The last lines a crashed or timed-out attempt wrote to stderr,
 * indented. */
static void
summary_stderr(FILE *fp, const char *p, size_t len)
{
	size_t start, lines = 0;
	const char *nl;

	if (len > 0 && p[len - 1] == '\n')
		len--;
	for (start = len; start > 0; start--)
		if (p[start - 1] == '\n' && ++lines == SUMMARY_STDERR_LINES)
			break;
	while (start < len) {
		nl = memchr(p + start, '\n', len - start);
		fprintf(fp, "      | %.*s\n",
		    (int)((nl != NULL ? (size_t)(nl - p) : len) - start),
		    p + start);
		start = nl != NULL ? (size_t)(nl - p) + 1 : len;
	}
}

static void
summary_line(FILE *fp, const struct job *j, const procq_result *r)
{
	const char *type = procq_result_error_type(r);
	const char *message = procq_result_error_message(r);
	const char *status = procq_status_name(procq_result_status(r));
	int attempts = procq_result_attempts(r);
	const char *tail;
	size_t len;

	/* Stopped by --timeout N%: the queue saw a cancel. */
	if (j->overdue) {
		status = "failed";
		type = "Timeout";
		message = "ran past --timeout of the median runtime";
	}
	fprintf(fp, "  %-9s %s %s", status, procq_result_id(r), j->name);
	if (j->group != NULL)
		fprintf(fp, " [%s]", j->group);
	fprintf(fp, " (attempt%s %d): %s: %s\n", attempts == 1 ? "" : "s",
	    attempts, type != NULL ? type : "Error",
	    message != NULL ? message : "");
	/* The job is over only when its output is closed (procq(1), Jobs). */
	if (j->held_attempt == attempts && j->exit_attempt == attempts &&
	    procq_result_status(r) == PROCQ_FAILED)
		fprintf(fp,
		    "      the command had exited with status %d after "
		    "%.1f s; a process it started kept its output open\n",
		    j->exit_status, j->held_after);
	if ((tail = procq_result_stderr(r, &len)) != NULL && len > 0)
		summary_stderr(fp, tail, len);
}

/* Whether the job's lines are kept; out of memory, it is only counted. */
static bool
summary_list(struct cli_summary *s, const struct job *j, const procq_result *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp;
	int rc;

	if ((fp = open_memstream(&text, &len)) == NULL)
		return false;
	summary_line(fp, j, r);
	rc = ferror(fp);
	if (fclose(fp) != 0 || rc != 0 ||
	    buf_append(&s->listed, text, len) != 0) {
		free(text);
		return false;
	}
	free(text);
	return true;
}

void
summary_note(struct cli_summary *s, const struct job *j, const procq_result *r)
{
	struct cli_totals *t = &s->totals;

	t->submitted++;
	switch (j->overdue ? PROCQ_FAILED : procq_result_status(r)) {
	case PROCQ_SUCCEEDED:
		t->succeeded++;
		t->resumed += procq_result_resumed(r);
		break;
	case PROCQ_CANCELLED:
		t->cancelled++;
		if (s->cancelled_listed < CLI_LIST_CANCELLED &&
		    summary_list(s, j, r))
			s->cancelled_listed++;
		break;
	default:
		t->failed++;
		if (s->failed_listed < CLI_LIST_FAILED &&
		    summary_list(s, j, r))
			s->failed_listed++;
		break;
	}
}

void
summary_print(const struct cli_summary *s, FILE *fp)
{
	const struct cli_totals *t = &s->totals;

	fprintf(fp, "%zu job%s: %zu succeeded", t->submitted,
	    t->submitted == 1 ? "" : "s", t->succeeded);
	if (t->resumed > 0)
		fprintf(fp, " (%zu done before)", t->resumed);
	fprintf(fp, ", %zu failed, %zu cancelled in %.3f s%s\n", t->failed,
	    t->cancelled, t->duration, summary_ok(t) ? "" : " (not ok)");
	if (s->listed.len > 0)
		fwrite(s->listed.data, 1, s->listed.len, fp);
	if (t->failed > s->failed_listed)
		fprintf(fp, "  ... and %zu more failed\n",
		    t->failed - s->failed_listed);
	if (t->cancelled > s->cancelled_listed)
		fprintf(fp, "  ... and %zu more cancelled\n",
		    t->cancelled - s->cancelled_listed);
}

void
summary_free(struct cli_summary *s)
{
	buf_free(&s->listed);
	memset(s, 0, sizeof *s);
}
