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

static void
json_job(FILE *fp, const struct job *j, const procq_result *r)
{
	fprintf(fp, "{\"seq\":%zu,\"item\":", j->seq);
	json_cstring(fp, j->item);
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
	fprintf(fp, ",\"duration\":%.6f,\"host\":", procq_result_duration(r));
	json_cstring(fp, procq_result_host(r));
	fputs(",\"rank\":", fp);
	json_int(fp, procq_result_rank(r));
	fputs(",\"error\":", fp);
	json_error(fp, r);
	fputc('}', fp);
}

int
json_write(FILE *fp, const struct cli *c, const procq_summary *s,
    bool interrupted)
{
	const char *sep = "\n";

	fprintf(fp, "{\"submitted\":%zu,\"succeeded\":%zu,\"failed\":%zu,"
	    "\"cancelled\":%zu,\"ok\":%s,\"interrupted\":%s,"
	    "\"duration\":%.6f,\"jobs\":[",
	    procq_summary_submitted(s), procq_summary_succeeded(s),
	    procq_summary_failed(s), procq_summary_cancelled(s),
	    procq_summary_ok(s) ? "true" : "false",
	    interrupted ? "true" : "false", procq_summary_duration(s));
	for (size_t i = 0; i < c->njobs; i++) {
		const procq_result *r = procq_handle_result(c->jobs[i].h);

		if (r == NULL)
			continue;
		fputs(sep, fp);
		json_job(fp, &c->jobs[i], r);
		sep = ",\n";
	}
	fputs(sep[0] == ',' ? "\n]}\n" : "]}\n", fp);
	return fflush(fp) != 0 || ferror(fp) ? -1 : 0;
}
