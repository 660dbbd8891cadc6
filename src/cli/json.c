/*
 * The run as JSON (--json), written as it goes, so that nothing keeps
 * every job until the end: the opening, then each job's record on a line
 * of its own as the job becomes final (in the order jobs finish), then
 * the totals, which JSON allows after the array:
 *
 *	{"jobs":[
 *	{"seq":2,...},
 *	{"seq":1,...}
 *	],"submitted":2,...}
 *
 * Strings that are not valid UTF-8 have each bad byte replaced by U+FFFD.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../jsonstr.h"

static int
json_flush(FILE *fp)
{
	return fflush(fp) != 0 || ferror(fp) ? -1 : 0;
}

int
json_begin(struct json_report *jr, FILE *fp)
{
	jr->fp = fp;
	jr->njobs = 0;
	fputs("{\"jobs\":[", fp);
	return json_flush(fp);
}

static void
json_int(FILE *fp, int v)
{
	if (v < 0)
		fputs("null", fp);
	else
		fprintf(fp, "%d", v);
}

static void
json_error(FILE *fp, const procq_result *r)
{
	if (procq_result_status(r) == PROCQ_SUCCEEDED) {
		fputs("null", fp);
		return;
	}
	fputs("{\"kind\":", fp);
	json_cstring(fp, procq_error_kind_name(procq_result_error_kind(r)));
	fputs(",\"type\":", fp);
	json_cstring(fp, procq_result_error_type(r));
	fputs(",\"message\":", fp);
	json_cstring(fp, procq_result_error_message(r));
	fputc('}', fp);
}

/* "item" (the first value, as before there were several), "args" and
 * "command". */
static void
json_input(FILE *fp, const struct job *j)
{
	fputs(",\"item\":", fp);
	json_cstring(fp, j->nargs > 0 ? j->args[0] : NULL);
	fputs(",\"args\":[", fp);
	for (size_t i = 0; i < j->nargs; i++) {
		if (i > 0)
			fputc(',', fp);
		json_cstring(fp, j->args[i]);
	}
	fputs("],\"command\":", fp);
	json_cstring(fp, j->cmdline);
}

static void
json_record(FILE *fp, const struct job *j, const procq_result *r)
{
	fprintf(fp, "{\"seq\":%zu", j->seq);
	json_input(fp, j);
	fputs(",\"name\":", fp);
	json_cstring(fp, j->name);
	fputs(",\"group\":", fp);
	json_cstring(fp, j->group);
	fputs(",\"id\":", fp);
	json_cstring(fp, procq_result_id(r));
	fputs(",\"status\":", fp);
	json_cstring(fp, procq_status_name(procq_result_status(r)));
	fprintf(fp, ",\"attempts\":%d,\"exit_status\":",
	    procq_result_attempts(r));
	json_int(fp, j->exit_status);
	fputs(",\"signal\":", fp);
	json_int(fp, j->signal);
	if (j->start > 0)
		fprintf(fp, ",\"start\":%.6f", j->start);
	else
		fputs(",\"start\":null", fp);
	fprintf(fp, ",\"duration\":%.6f,\"host\":", procq_result_duration(r));
	json_cstring(fp, procq_result_host(r));
	fputs(",\"rank\":", fp);
	json_int(fp, procq_result_rank(r));
	fputs(",\"error\":", fp);
	json_error(fp, r);
	fprintf(fp, ",\"resumed\":%s}",
	    procq_result_resumed(r) ? "true" : "false");
}

/* On the supervisor thread, as the job becomes final. */
int
json_job(struct json_report *jr, const struct job *j, const procq_result *r)
{
	fputs(jr->njobs++ > 0 ? ",\n" : "\n", jr->fp);
	json_record(jr->fp, j, r);
	return json_flush(jr->fp);
}

int
json_end(struct json_report *jr, const struct cli_totals *t, bool interrupted)
{
	fprintf(jr->fp,
	    "\n],\"submitted\":%zu,\"succeeded\":%zu,"
	    "\"failed\":%zu,\"cancelled\":%zu,\"ok\":%s,\"interrupted\":%s,"
	    "\"resumed\":%zu,\"duration\":%.6f}\n",
	    t->submitted, t->succeeded, t->failed, t->cancelled,
	    summary_ok(t) ? "true" : "false", interrupted ? "true" : "false",
	    t->resumed, t->duration);
	return json_flush(jr->fp);
}
