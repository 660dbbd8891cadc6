/*
 * Summaries: totals, lookups by id, name and group, lifetime independent
 * of the queue, and the printed report.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/*
 * Eight tasks:
 *   3 x "double" named "dbl" in group "a"     succeed
 *   1 x "fail"   named "bad" in group "a"     fails (ValueError: bad 9)
 *   2 x "double" in group "b"                 succeed
 *   1 x "double" named "solo", no group       succeeds
 *   1 x "nil", no group, cancelled before the run
 */
struct fixture {
	procq_queue *q;
	procq_summary *s;
	procq_handle *dbl[3], *bad, *b[2], *solo, *cancelled;
};

static void
fixture_run(struct fixture *f)
{
	procq_opts dbl = { .name = "dbl", .group = "a" };
	procq_opts bad = { .name = "bad", .group = "a" };
	procq_opts b = { .group = "b" };
	procq_opts solo = { .name = "solo" };
	int i;

	memset(f, 0, sizeof *f);
	f->q = new_queue(2, 0);
	for (i = 0; i < 3; i++)
		f->dbl[i] = submit_ok(f->q, "double", &dbl, "d", (double)i);
	f->bad = submit_ok(f->q, "fail", &bad, "i", 9);
	for (i = 0; i < 2; i++)
		f->b[i] = submit_ok(f->q, "double", &b, "d", 10.0 + i);
	f->solo = submit_ok(f->q, "double", &solo, "d", 100.0);
	f->cancelled = submit_ok(f->q, "nil", NULL, "");
	ck_assert_int_eq(procq_handle_cancel(f->cancelled), 0);
	ck_assert_int_eq(procq_run(f->q, NULL, &f->s), 0);
	ck_assert_ptr_nonnull(f->s);
}

static void
fixture_free(struct fixture *f)
{
	procq_summary_free(f->s);
	procq_free(f->q);
}

static void
check_totals(const procq_summary *s, size_t n, size_t ok, size_t failed,
    size_t cancelled)
{
	ck_assert_uint_eq(procq_summary_count(s), n);
	ck_assert_uint_eq(procq_summary_submitted(s), n);
	ck_assert_uint_eq(procq_summary_succeeded(s), ok);
	ck_assert_uint_eq(procq_summary_failed(s), failed);
	ck_assert_uint_eq(procq_summary_cancelled(s), cancelled);
	ck_assert(procq_summary_ok(s) == (failed == 0 && cancelled == 0));
}

START_TEST(test_totals)
{
	struct fixture f;
	size_t i, nok = 0;

	fixture_run(&f);
	check_totals(f.s, 8, 6, 1, 1);
	ck_assert_double_ge(procq_summary_duration(f.s), 0);
	for (i = 0; i < procq_summary_count(f.s); i++) {
		const procq_result *r = procq_summary_result(f.s, i);

		ck_assert_ptr_nonnull(r);
		if (procq_result_status(r) == PROCQ_SUCCEEDED)
			nok++;
	}
	ck_assert_uint_eq(nok, 6);
	ck_assert_ptr_null(procq_summary_result(f.s, 8));
	ck_assert_ptr_null(procq_summary_result(f.s, (size_t)-1));
	fixture_free(&f);
}
END_TEST

START_TEST(test_by_id)
{
	struct fixture f;
	procq_handle *all[8];
	const procq_result *r;
	int i;

	fixture_run(&f);
	all[0] = f.dbl[0]; all[1] = f.dbl[1]; all[2] = f.dbl[2];
	all[3] = f.bad; all[4] = f.b[0]; all[5] = f.b[1];
	all[6] = f.solo; all[7] = f.cancelled;
	for (i = 0; i < 8; i++) {
		r = procq_summary_by_id(f.s, procq_handle_id(all[i]));
		ck_assert_ptr_nonnull(r);
		ck_assert_str_eq(procq_result_id(r), procq_handle_id(all[i]));
		ck_assert_str_eq(procq_result_name(r),
		    procq_handle_name(all[i]));
		ck_assert_int_eq(procq_result_status(r),
		    procq_handle_status(all[i]));
	}
	r = procq_summary_by_id(f.s, procq_handle_id(f.bad));
	ck_assert_str_eq(procq_result_group(r), "a");
	ck_assert_str_eq(procq_result_task(r), "fail");
	ck_assert_str_eq(procq_result_error_type(r), "ValueError");
	ck_assert_str_eq(procq_result_error_message(r), "bad 9");
	r = procq_summary_by_id(f.s, procq_handle_id(f.solo));
	ck_assert_ptr_null(procq_result_group(r));
	ck_assert_ptr_null(procq_summary_by_id(f.s, "0000000000000000"));
	ck_assert_ptr_null(procq_summary_by_id(f.s, ""));
	fixture_free(&f);
}
END_TEST

START_TEST(test_by_name)
{
	struct fixture f;
	procq_summary *s;
	size_t i;

	fixture_run(&f);
	s = procq_summary_by_name(f.s, "dbl");
	ck_assert_ptr_nonnull(s);
	check_totals(s, 3, 3, 0, 0);
	for (i = 0; i < 3; i++)
		ck_assert_str_eq(procq_result_name(procq_summary_result(s, i)),
		    "dbl");
	procq_summary_free(s);

	s = procq_summary_by_name(f.s, "double");	/* no opts.name */
	check_totals(s, 2, 2, 0, 0);
	procq_summary_free(s);

	s = procq_summary_by_name(f.s, "bad");
	check_totals(s, 1, 0, 1, 0);
	ck_assert_ptr_nonnull(procq_summary_by_id(s, procq_handle_id(f.bad)));
	ck_assert_ptr_null(procq_summary_by_id(s, procq_handle_id(f.solo)));
	procq_summary_free(s);

	s = procq_summary_by_name(f.s, "no such name");
	ck_assert_ptr_nonnull(s);
	check_totals(s, 0, 0, 0, 0);
	ck_assert_ptr_null(procq_summary_result(s, 0));
	procq_summary_free(s);
	fixture_free(&f);
}
END_TEST

START_TEST(test_by_group)
{
	struct fixture f;
	procq_summary *s, *s2;

	fixture_run(&f);
	s = procq_summary_by_group(f.s, "a");
	ck_assert_ptr_nonnull(s);
	check_totals(s, 4, 3, 1, 0);
	/* a sub-summary of a sub-summary */
	s2 = procq_summary_by_name(s, "bad");
	check_totals(s2, 1, 0, 1, 0);
	procq_summary_free(s2);
	procq_summary_free(s);

	s = procq_summary_by_group(f.s, "b");
	check_totals(s, 2, 2, 0, 0);
	ck_assert_ptr_nonnull(procq_summary_by_id(s, procq_handle_id(f.b[1])));
	procq_summary_free(s);

	/* NULL: the ungrouped tasks */
	s = procq_summary_by_group(f.s, NULL);
	ck_assert_ptr_nonnull(s);
	check_totals(s, 2, 1, 0, 1);
	ck_assert_ptr_nonnull(procq_summary_by_id(s,
	    procq_handle_id(f.solo)));
	ck_assert_ptr_nonnull(procq_summary_by_id(s,
	    procq_handle_id(f.cancelled)));
	procq_summary_free(s);

	s = procq_summary_by_group(f.s, "zzz");
	ck_assert_ptr_nonnull(s);
	check_totals(s, 0, 0, 0, 0);
	procq_summary_free(s);
	fixture_free(&f);
}
END_TEST

/* A summary and the ones made from it are independent of the queue and of
 * each other. */
START_TEST(test_outlives_queue)
{
	struct fixture f;
	procq_summary *sub;
	const procq_result *r;
	char id[17];
	double v = 0;

	fixture_run(&f);
	snprintf(id, sizeof id, "%s", procq_handle_id(f.solo));
	sub = procq_summary_by_group(f.s, NULL);
	procq_free(f.q);
	f.q = NULL;

	r = procq_summary_by_id(f.s, id);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(procq_result_name(r), "solo");
	ck_assert_int_eq(procq_result_unpack(r, "d", &v), 0);
	ck_assert_double_eq(v, 200.0);
	procq_summary_free(f.s);

	r = procq_summary_by_id(sub, id);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(procq_result_task(r), "double");
	ck_assert_int_eq(procq_result_unpack(r, "d", &v), 0);
	ck_assert_double_eq(v, 200.0);
	ck_assert_int_eq(procq_result_value(r)->type, MSGPACK_OBJECT_FLOAT64);
	procq_summary_free(sub);
}
END_TEST

/* Lines of the report that contain needle. */
static int
count_lines_with(const char *text, const char *needle)
{
	const char *p = text;
	int n = 0;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		char *line = strndup(p, len);

		ck_assert_ptr_nonnull(line);
		if (strstr(line, needle) != NULL)
			n++;
		free(line);
		p += len;
		if (*p == '\n')
			p++;
	}
	return n;
}

/* The line holding id also holds a and b. */
static void
check_line(const char *text, const char *id, const char *a, const char *b)
{
	const char *p = strstr(text, id), *start, *end;
	char *line;

	ck_assert_msg(p != NULL, "%s not in the report:\n%s", id, text);
	for (start = p; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(p, '\n');
	line = strndup(start, end != NULL ? (size_t)(end - start) :
	    strlen(start));
	ck_assert_ptr_nonnull(line);
	ck_assert_msg(strstr(line, a) != NULL && strstr(line, b) != NULL,
	    "line: %s", line);
	free(line);
}

START_TEST(test_display)
{
	struct fixture f;
	char *text = NULL, *first;
	size_t size = 0;
	FILE *fp;
	int i;

	fixture_run(&f);
	fp = open_memstream(&text, &size);
	ck_assert_ptr_nonnull(fp);
	procq_summary_display(f.s, fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_gt(size, 0);

	/* the header: totals 8 submitted, 6 succeeded, 1 failed, 1
	 * cancelled */
	first = strndup(text, strcspn(text, "\n"));
	ck_assert_msg(strstr(first, "8") && strstr(first, "6") &&
	    strstr(first, "1"), "header: %s", first);
	free(first);

	/* one line per failed or cancelled task, with its id, name, error
	 * type and message */
	ck_assert_int_eq(count_lines_with(text, procq_handle_id(f.bad)), 1);
	ck_assert_int_eq(count_lines_with(text, "ValueError"), 1);
	ck_assert_int_eq(count_lines_with(text, "bad 9"), 1);
	check_line(text, procq_handle_id(f.bad), "ValueError", "bad 9");
	ck_assert_int_eq(count_lines_with(text,
	    procq_handle_id(f.cancelled)), 1);
	check_line(text, procq_handle_id(f.cancelled), "Cancelled",
	    "cancelled");
	/* nothing for the tasks that succeeded */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(count_lines_with(text,
		    procq_handle_id(f.dbl[i])), 0);
	ck_assert_int_eq(count_lines_with(text, procq_handle_id(f.solo)), 0);
	free(text);

	/* an empty summary prints its header */
	{
		procq_summary *e = procq_summary_by_name(f.s, "none");

		fp = open_memstream(&text, &size);
		procq_summary_display(e, fp);
		fclose(fp);
		ck_assert_uint_gt(size, 0);
		ck_assert_int_eq(count_lines_with(text, "ValueError"), 0);
		free(text);
		procq_summary_free(e);
	}
	fixture_free(&f);
}
END_TEST

/* The line of a failed task holds the id, the name, the group, the
 * attempts, the error type and the message together. */
START_TEST(test_display_failure_line)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = submit_ok(q, "fail", &(procq_opts){ .name = "named-task",
	    .group = "the-group", .retries = 2 }, "i", 31337);
	procq_summary *s = NULL;
	char *text = NULL, *line, *eol;
	size_t size = 0;
	FILE *fp;

	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	fp = open_memstream(&text, &size);
	procq_summary_display(s, fp);
	fclose(fp);
	line = strstr(text, procq_handle_id(h));
	ck_assert_msg(line != NULL, "report:\n%s", text);
	while (line > text && line[-1] != '\n')
		line--;
	if ((eol = strchr(line, '\n')) != NULL)
		*eol = '\0';
	ck_assert_msg(strstr(line, "named-task") != NULL, "line: %s", line);
	ck_assert_msg(strstr(line, "the-group") != NULL, "line: %s", line);
	ck_assert_msg(strstr(line, "3") != NULL, "line: %s", line);
	ck_assert_msg(strstr(line, "ValueError") != NULL, "line: %s", line);
	ck_assert_msg(strstr(line, "bad 31337") != NULL, "line: %s", line);
	free(text);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

/* A mass of cancellations is listed up to 20 of them, then counted. */
START_TEST(test_display_many_cancelled)
{
	procq_queue *q = new_queue(1, 0);
	procq_summary *s = NULL;
	char *text = NULL;
	size_t size = 0;
	FILE *fp;

	for (int i = 0; i < 23; i++)
		submit_ok(q, "ident", NULL, "i", i);
	ck_assert_int_eq(procq_cancel(q), 0);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_cancelled(s), 23);
	fp = open_memstream(&text, &size);
	ck_assert_ptr_nonnull(fp);
	procq_summary_display(s, fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(count_lines_with(text, "Cancelled"), 20);
	ck_assert_int_eq(count_lines_with(text, "... and 3 more cancelled"),
	    1);
	free(text);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

/* JSON text is UTF-8: well-formed sequences of 2, 3 and 4 bytes pass as
 * they are; each byte of a malformed one becomes U+FFFD. */
static const struct {
	const char *in;
	const char *out;
} json_cases[] = {
	{ "\xc3\xa9", "\xc3\xa9" },
	{ "\xe2\x82\xac", "\xe2\x82\xac" },
	{ "\xee\x80\x80", "\xee\x80\x80" },		/* U+E000 */
	{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
	{ "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },	/* U+10FFFF */
	{ "\x80", "\\ufffd" },			/* a continuation byte */
	{ "\xf5\x80", "\\ufffd\\ufffd" },		/* starts nothing */
	{ "\xe2\x82", "\\ufffd\\ufffd" },		/* cut short */
	{ "\xc3(", "\\ufffd(" },			/* interrupted */
	{ "\xe0\x80\x80", "\\ufffd\\ufffd\\ufffd" },	/* overlong */
	{ "\xf0\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd" },
	{ "\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd" },	/* a surrogate */
	{ "\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd" }, /* > U+10FFFF */
	{ "a\rb\"\\\t\x01", "a\\rb\\\"\\\\\\t\\u0001" },
};
#define N_JSON_CASES (sizeof json_cases / sizeof json_cases[0])

/* Values in procq_summary_json(): a map's keys that are not strings
 * are written as text, a NaN as null (JSON has none), an extension type
 * as null. */
START_TEST(test_json_values)
{
	/* {"k": 1, 7: true, "n": NaN, "e": ext 1 [0]} */
	static const char value[] = "\x84\xa1k\x01\x07\xc3"
	    "\xa1n\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"
	    "\xa1" "e\xd4\x01\x00";
	procq_queue *q = new_queue(1, 0);
	procq_group *g = procq_group_create(q, NULL, NULL);
	procq_handle *f;
	procq_summary *s = NULL;
	char *text = NULL;
	size_t size = 0;
	FILE *fp;
	int err;

	ck_assert_ptr_nonnull(g);
	f = procq_future_create(q, "f", &err);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(procq_group_add(g, f), 0);
	ck_assert_int_eq(procq_future_set_value(f, value, sizeof value - 1),
	    0);
	ck_assert_int_eq(procq_group_wait(g, 10, &s), 0);
	fp = open_memstream(&text, &size);
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(procq_summary_json(s, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_msg(strstr(text, "\"value\":{\"k\":1,\"7\":true,"
	    "\"n\":null,\"e\":null}") != NULL, "json: %s", text);
	free(text);
	procq_summary_free(s);
	procq_group_free(g);
	procq_free(q);
}
END_TEST

/* Error messages in procq_summary_json(), from futures. */
START_TEST(test_json_strings)
{
	procq_queue *q = new_queue(1, 0);
	procq_group *g = procq_group_create(q, NULL, NULL);
	procq_summary *s = NULL;
	char *text = NULL, want[128];
	size_t size = 0;
	FILE *fp;
	int err;

	ck_assert_ptr_nonnull(g);
	for (size_t i = 0; i < N_JSON_CASES; i++) {
		procq_handle *f = procq_future_create(q, "f", &err);

		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(procq_group_add(g, f), 0);
		ck_assert_int_eq(procq_future_set_error(f, "T",
		    json_cases[i].in), 0);
	}
	ck_assert_int_eq(procq_group_wait(g, 10, &s), 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(procq_summary_count(s), N_JSON_CASES);
	fp = open_memstream(&text, &size);
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(procq_summary_json(s, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
	for (size_t i = 0; i < N_JSON_CASES; i++) {
		snprintf(want, sizeof want, "\"message\":\"%s\"",
		    json_cases[i].out);
		ck_assert_msg(strstr(text, want) != NULL, "case %zu: no %s",
		    i, want);
	}
	free(text);
	procq_summary_free(s);
	procq_group_free(g);
	procq_free(q);
}
END_TEST

static Suite *
summary_suite(void)
{
	Suite *s = suite_create("summary");
	TCase *tc;

	tc = add_tcase(s, "lookups", 30);
	tcase_add_test(tc, test_totals);
	tcase_add_test(tc, test_by_id);
	tcase_add_test(tc, test_by_name);
	tcase_add_test(tc, test_by_group);
	tcase_add_test(tc, test_outlives_queue);

	tc = add_tcase(s, "display", 30);
	tcase_add_test(tc, test_display);
	tcase_add_test(tc, test_display_failure_line);
	tcase_add_test(tc, test_display_many_cancelled);
	tcase_add_test(tc, test_json_strings);
	tcase_add_test(tc, test_json_values);
	return s;
}

int
main(void)
{
	return run_suite(summary_suite());
}
