/*
 * A summary as JSON: every result with its status, attempts, error and
 * value, for programs that read what a run did.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "jsonstr.h"

static void
json_base64(FILE *fp, const unsigned char *p, size_t len)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	fputc('"', fp);
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		fputc(b64[v >> 18 & 63], fp);
		fputc(b64[v >> 12 & 63], fp);
		fputc(i + 1 < len ? b64[v >> 6 & 63] : '=', fp);
		fputc(i + 2 < len ? b64[v & 63] : '=', fp);
	}
	fputc('"', fp);
}

static void json_value(FILE *fp, const msgpack_object *o);

static void
json_key(FILE *fp, const msgpack_object *k)
{
	if (k->type == MSGPACK_OBJECT_STR)
		json_string(fp, k->via.str.ptr, k->via.str.size);
	else {
		/* JSON keys are strings: other keys are written as text. */
		char *buf = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&buf, &len);

		if (mem != NULL) {
			json_value(mem, k);
			fclose(mem);
			json_string(fp, buf, len);
		} else
			fputs("\"\"", fp);
		free(buf);
	}
}

static void
json_double(FILE *fp, double d)
{
	if (isfinite(d))
		fprintf(fp, "%.17g", d);
	else
		fputs("null", fp);	/* JSON has no NaN or infinity */
}

static void
json_value(FILE *fp, const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		fputs("null", fp);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(o->via.boolean ? "true" : "false", fp);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		fprintf(fp, "%" PRIu64, o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		fprintf(fp, "%" PRId64, o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		json_double(fp, o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		json_string(fp, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		json_base64(fp, (const unsigned char *)o->via.bin.ptr,
		    o->via.bin.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		fputc('[', fp);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i > 0)
				fputc(',', fp);
			json_value(fp, &o->via.array.ptr[i]);
		}
		fputc(']', fp);
		break;
	case MSGPACK_OBJECT_MAP:
		fputc('{', fp);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			if (i > 0)
				fputc(',', fp);
			json_key(fp, &o->via.map.ptr[i].key);
			fputc(':', fp);
			json_value(fp, &o->via.map.ptr[i].val);
		}
		fputc('}', fp);
		break;
	default:
		fputs("null", fp);	/* extension types */
		break;
	}
}

static void
json_int_or_null(FILE *fp, int v)
{
	if (v < 0)
		fputs("null", fp);
	else
		fprintf(fp, "%d", v);
}

static void
json_result(FILE *fp, const procq_result *r)
{
	fputs("{\"id\":", fp);
	json_cstring(fp, r->id);
	fputs(",\"name\":", fp);
	json_cstring(fp, r->name);
	fputs(",\"task\":", fp);
	json_cstring(fp, r->task);
	fputs(",\"group\":", fp);
	json_cstring(fp, r->group);
	fprintf(fp,
	    ",\"status\":\"%s\",\"attempts\":%d,\"resumed\":%s,"
	    "\"duration\":",
	    procq_status_name(r->status), r->attempts,
	    r->resumed ? "true" : "false");
	json_double(fp, r->duration);
	fputs(",\"host\":", fp);
	json_cstring(fp, r->host);
	fputs(",\"rank\":", fp);
	json_int_or_null(fp, r->rank);
	fputs(",\"error\":", fp);
	if (r->status == PROCQ_SUCCEEDED)
		fputs("null", fp);
	else {
		fprintf(fp, "{\"kind\":\"%s\",\"type\":",
		    procq_error_kind_name(r->kind));
		json_cstring(fp, r->error_type);
		fputs(",\"message\":", fp);
		json_cstring(fp, r->error_message);
		fputs(",\"exit_status\":", fp);
		json_int_or_null(fp, r->exit_status);
		fputs(",\"signal\":", fp);
		json_int_or_null(fp, r->signal);
		fputs(",\"stderr\":", fp);
		if (r->output != NULL)
			json_string(fp, r->output, r->output_len);
		else
			fputs("null", fp);
		fputc('}', fp);
	}
	fputs(",\"value\":", fp);
	if (r->status == PROCQ_SUCCEEDED)
		json_value(fp, &r->value);
	else
		fputs("null", fp);
	fputc('}', fp);
}

int
procq_summary_json(const procq_summary *s, FILE *fp)
{
	size_t n = procq_summary_count(s);

	if (s == NULL || fp == NULL)
		return PROCQ_EINVAL;
	fprintf(fp,
	    "{\"submitted\":%zu,\"succeeded\":%zu,\"failed\":%zu,"
	    "\"cancelled\":%zu,\"ok\":%s,\"run_timed_out\":%s,"
	    "\"duration\":",
	    procq_summary_submitted(s), procq_summary_succeeded(s),
	    procq_summary_failed(s), procq_summary_cancelled(s),
	    procq_summary_ok(s) ? "true" : "false",
	    procq_summary_run_timed_out(s) ? "true" : "false");
	json_double(fp, procq_summary_duration(s));
	fprintf(fp, ",\"resumed\":%zu,\"results\":[",
	    procq_summary_resumed(s));
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', fp);
		json_result(fp, procq_summary_result(s, i));
	}
	fputs("]}\n", fp);
	return fflush(fp) != 0 || ferror(fp) ? PROCQ_ESYS : 0;
}
