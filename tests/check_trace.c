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

/* Runs a task that succeeds and one that crashes with the trace on and
 * fd 2 sent to a file; returns what was written there (to be freed). */
static char *
traced_run(char *ok_id, char *crash_id)
{
	char path[64], *text;
	procq_queue *q;
	procq_handle *ok, *bad;
	int fd, saved;
	long size;
	FILE *fp;

	make_tmpfile(path, sizeof path);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(setenv("PROCQ_DEBUG", "1", 1), 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	q = new_queue(1, 0);
	ck_assert_int_eq(procq_start(q), 0);
	ok = submit_ok(q, "double", NULL, "d", 21.0);
	wait_done(ok, 30);
	bad = submit_ok(q, "crash", NULL, "s", "segv-raise");
	wait_done(bad, 30);
	snprintf(ok_id, 17, "%s", procq_handle_id(ok));
	snprintf(crash_id, 17, "%s", procq_handle_id(bad));
	procq_free(q);
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fd);
	unsetenv("PROCQ_DEBUG");
	size = file_size(path);
	ck_assert_int_gt(size, 0);
	text = calloc(1, (size_t)size + 1);
	ck_assert_ptr_nonnull(text);
	fp = fopen(path, "re");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fread(text, 1, (size_t)size, fp), (size_t)size);
	fclose(fp);
	unlink(path);
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
	char path[64];
	procq_queue *q;
	procq_handle *h;
	int fd, saved;

	unsetenv("PROCQ_DEBUG");
	make_tmpfile(path, sizeof path);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	saved = dup(STDERR_FILENO);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	q = new_queue(1, 0);
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "double", NULL, "d", 21.0);
	wait_done(h, 30);
	procq_free(q);
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fd);
	ck_assert_int_eq(file_size(path), 0);
	unlink(path);
}
END_TEST

/* A trace line longer than its buffer (512 bytes) is cut, and still
 * ends with its newline: here a task with a name of 600 bytes. */
START_TEST(test_debug_cuts_long_lines)
{
	char name[601], path[64], *text;
	procq_config cfg = { .workers = 1 };
	procq_queue *q;
	procq_handle *h;
	size_t longest = 0;
	int fd, saved;
	long size;
	FILE *fp;

	if (test_exec(&cfg))
		return;	/* an exec'd worker program names its own tasks */
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	make_tmpfile(path, sizeof path);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	saved = dup(STDERR_FILENO);
	ck_assert_int_eq(setenv("PROCQ_DEBUG", "1", 1), 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	q = new_queue_config(&cfg);
	ck_assert_int_eq(procq_register(q, name, task_nil), 0);
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, name, NULL, "");
	wait_done(h, 30);
	procq_free(q);
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fd);
	unsetenv("PROCQ_DEBUG");
	size = file_size(path);
	text = calloc(1, (size_t)size + 1);
	ck_assert_ptr_nonnull(text);
	fp = fopen(path, "re");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fread(text, 1, (size_t)size, fp), (size_t)size);
	fclose(fp);
	unlink(path);
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
