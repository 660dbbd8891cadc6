/*
 * The run as JSON (--json): the totals, then every job in input order
 * with its item, name, group, status, attempts, exit status or signal,
 * duration and error, one job per line.  Strings that are not valid UTF-8 have each bad
 * byte replaced by U+FFFD.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../jsonstr.h"

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

int
json_begin(FILE *fp)
{
	return fputs("{\"jobs\":[", fp) < 0 ? -1 : 0;
}

int
json_job(FILE *fp, const struct job *j, const procq_result *r)
{
	fprintf(fp, "%s\n{\"seq\":%zu,\"item\":", ftell(fp) > 9 ? "," : "",
	    j->seq);
	json_cstring(fp, j->nargs > 0 ? j->args[0] : "");
	fputs(",\"args\":[", fp);
	for (size_t i = 0; i < j->nargs; i++) {
		if (i > 0)
			fputc(',', fp);
		json_cstring(fp, j->args[i]);
	}
	fputs("],\"command\":", fp);
	json_cstring(fp, j->cmdline);
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
		fprintf(fp, ",\"start\":%.3f", j->start);
	else
		fputs(",\"start\":null", fp);
	fprintf(fp, ",\"duration\":%.6f,\"host\":", procq_result_duration(r));
	json_cstring(fp, procq_result_host(r));
	fputs(",\"rank\":", fp);
	json_int(fp, procq_result_rank(r));
	fputs(",\"error\":", fp);
	json_error(fp, r);
	fputc('}', fp);
	return fflush(fp) != 0 || ferror(fp) ? -1 : 0;
}

int
json_end(FILE *fp, const struct cli *c, double duration, bool interrupted)
{
	fprintf(fp,
	    "\n],\"submitted\":%zu,\"succeeded\":%zu,\"failed\":%zu,"
	    "\"cancelled\":%zu,\"ok\":%s,\"interrupted\":%s,"
	    "\"duration\":%.6f}\n",
	    c->njobs, c->succeeded, c->failed, c->cancelled,
	    c->failed == 0 && c->cancelled == 0 ? "true" : "false",
	    interrupted ? "true" : "false", duration);
	return fflush(fp) != 0 || ferror(fp) ? -1 : 0;
}
