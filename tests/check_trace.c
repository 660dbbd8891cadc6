/*
 * PROCQ_DEBUG on a real queue: a task's whole life and its worker's, one
 * line per move, on the caller's standard error.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tasks.h"
#include "util.h"

/* fd 2 sent to a file while a test runs, with or without the trace. */
struct capture {
	char	path[64];
	int	fd;
	int	saved;
};

static void
capture_begin(struct capture *c, bool debug)
{
	make_tmpfile(c->path, sizeof c->path);
	c->fd = open(c->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	ck_assert_int_ge(c->fd, 0);
	c->saved = dup(STDERR_FILENO);
	ck_assert_int_ge(c->saved, 0);
	if (debug)
		ck_assert_int_eq(setenv("PROCQ_DEBUG", "1", 1), 0);
	else
		unsetenv("PROCQ_DEBUG");
	ck_assert_int_eq(dup2(c->fd, STDERR_FILENO), STDERR_FILENO);
}

/* fd 2 back; what was written (to be freed), and its size. */
static char *
capture_end(struct capture *c, long *size)
{
	char *text;
	FILE *fp;

	ck_assert_int_eq(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
	close(c->saved);
	close(c->fd);
	unsetenv("PROCQ_DEBUG");
	*size = file_size(c->path);
	ck_assert_int_ge(*size, 0);
	text = calloc(1, (size_t)*size + 1);
	ck_assert_ptr_nonnull(text);
	fp = fopen(c->path, "re");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fread(text, 1, (size_t)*size, fp), (size_t)*size);
	fclose(fp);
	unlink(c->path);
	return text;
}

/* Runs a task that succeeds and one that crashes with the trace on and
 * fd 2 sent to a file; returns what was written there (to be freed). */
static char *
traced_run(char *ok_id, char *crash_id)
{
	struct capture c;
	procq_queue *q;
	procq_handle *ok, *bad;
	char *text;
	long size;

	capture_begin(&c, true);
	q = new_queue(1, 0);
	ck_assert_int_eq(procq_start(q), 0);
	ok = submit_ok(q, "double", NULL, "d", 21.0);
	wait_done(ok, 30);
	bad = submit_ok(q, "crash", NULL, "s", "segv-raise");
	wait_done(bad, 30);
	snprintf(ok_id, 17, "%s", procq_handle_id(ok));
	snprintf(crash_id, 17, "%s", procq_handle_id(bad));
	procq_free(q);
	text = capture_end(&c, &size);
	ck_assert_int_gt(size, 0);
	return text;
}

/* A line of text holding both needles, in that order. */
static bool
has_line(const char *text, const char *a, const char *b)
{
	for (const char *l = text; l != NULL && *l != '\0';) {
		const char *end = strchr(l, '\n'), *p;

		if (end == NULL)
			end = l + strlen(l);
		p = memmem(l, (size_t)(end - l), a, strlen(a));
		if (p != NULL && memmem(p, (size_t)(end - p), b,
		    strlen(b)) != NULL)
			return true;
		l = *end != '\0' ? end + 1 : NULL;
	}
	return false;
}

START_TEST(test_debug_traces_a_life)
{
	char ok[17], bad[17], task_ok[64], task_bad[64];
	char *text = traced_run(ok, bad);

	snprintf(task_ok, sizeof task_ok, "task %s double: ", ok);
	snprintf(task_bad, sizeof task_bad, "task %s crash: ", bad);
	ck_assert_msg(has_line(text, "worker ", ": forked"), "%s", text);
	ck_assert_msg(has_line(text, "worker ", ": said hello"), "%s", text);
	ck_assert_msg(has_line(text, task_ok, "-> sent (worker "), "%s", text);
	ck_assert_msg(has_line(text, task_ok, "sent -> running (worker "),
	    "%s", text);
	ck_assert_msg(has_line(text, task_ok, "running -> loose"), "%s",
	    text);
	ck_assert_msg(has_line(text, task_ok, "loose -> done"), "%s", text);
	ck_assert_msg(has_line(text, task_bad, "sent -> running"), "%s", text);
	ck_assert_msg(has_line(text, task_bad, "loose -> done"), "%s", text);
	ck_assert_msg(has_line(text, ": reaped: killed by signal ",
	    "(SIGSEGV)"), "%s", text);
	ck_assert_msg(strncmp(text, "procq ", 6) == 0, "%s", text);
	free(text);
}
END_TEST

/* Without PROCQ_DEBUG the same run writes no trace. */
START_TEST(test_quiet_without_debug)
{
	struct capture c;
	procq_queue *q;
	procq_handle *h;
	long size;

	capture_begin(&c, false);
	q = new_queue(1, 0);
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "double", NULL, "d", 21.0);
	wait_done(h, 30);
	procq_free(q);
	free(capture_end(&c, &size));
	ck_assert_int_eq(size, 0);
}
END_TEST

/* A trace line longer than its buffer (512 bytes) is cut, and still
 * ends with its newline: here a task with a name of 600 bytes. */
START_TEST(test_debug_cuts_long_lines)
{
	char name[601], *text;
	procq_config cfg = { .workers = 1 };
	struct capture c;
	procq_queue *q;
	procq_handle *h;
	size_t longest = 0;
	long size;

	if (test_exec(&cfg))
		return;	/* an exec'd worker program names its own tasks */
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	capture_begin(&c, true);
	q = new_queue_config(&cfg);
	ck_assert_int_eq(procq_register(q, name, task_nil), 0);
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, name, NULL, "");
	wait_done(h, 30);
	procq_free(q);
	text = capture_end(&c, &size);
	ck_assert_msg(size > 0 && text[size - 1] == '\n', "%s", text);
	for (char *l = text, *end; *l != '\0'; l = end + 1) {
		end = strchr(l, '\n');
		ck_assert_ptr_nonnull(end);
		ck_assert_msg(strncmp(l, "procq ", 6) == 0, "%.80s", l);
		if ((size_t)(end - l) > longest)
			longest = (size_t)(end - l);
	}
	/* 510 bytes and the newline: the task's lines were cut. */
	ck_assert_uint_eq(longest, 510);
	free(text);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("trace");
	TCase *tc = add_tcase(s, "debug", 60);

	tcase_add_test(tc, test_debug_traces_a_life);
	tcase_add_test(tc, test_quiet_without_debug);
	tcase_add_test(tc, test_debug_cuts_long_lines);
	return run_suite(s);
}
