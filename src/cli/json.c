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

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t
json_utf8(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (*s >= 0xc2 && *s <= 0xdf)
		n = 2;
	else if (*s >= 0xe0 && *s <= 0xef) {
		n = 3;
		lo = *s == 0xe0 ? 0xa0 : 0x80;
		hi = *s == 0xed ? 0x9f : 0xbf;
	} else if (*s >= 0xf0 && *s <= 0xf4) {
		n = 4;
		lo = *s == 0xf0 ? 0x90 : 0x80;
		hi = *s == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

static void
json_str(FILE *fp, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	if (s == NULL) {
		fputs("null", fp);
		return;
	}
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", fp);
		else if (*s == '\t')
			fputs("\\t", fp);
		else if (*s < 0x20 || *s == 0x7f)
			fprintf(fp, "\\u%04x", *s);
		else if (*s < 0x80)
			fputc(*s, fp);
		else if ((n = json_utf8(s)) > 0) {
			fwrite(s, 1, n, fp);
			s += n - 1;
		} else
			fputs("\\ufffd", fp);
	}
	fputc('"', fp);
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
	json_str(fp, procq_error_kind_name(procq_result_error_kind(r)));
	fputs(",\"type\":", fp);
	json_str(fp, procq_result_error_type(r));
	fputs(",\"message\":", fp);
	json_str(fp, procq_result_error_message(r));
	fputc('}', fp);
}

static void
json_job(FILE *fp, const struct job *j, const procq_result *r)
{
	fprintf(fp, "{\"seq\":%zu,\"item\":", j->seq);
	json_str(fp, j->item);
	fputs(",\"name\":", fp);
	json_str(fp, j->name);
	fputs(",\"group\":", fp);
	json_str(fp, j->group);
	fputs(",\"id\":", fp);
	json_str(fp, procq_result_id(r));
	fputs(",\"status\":", fp);
	json_str(fp, procq_status_name(procq_result_status(r)));
	fprintf(fp, ",\"attempts\":%d,\"exit_status\":",
	    procq_result_attempts(r));
	json_int(fp, j->exit_status);
	fputs(",\"signal\":", fp);
	json_int(fp, j->signal);
	fprintf(fp, ",\"duration\":%.6f,\"error\":", procq_result_duration(r));
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
