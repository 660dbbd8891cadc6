/*
 * The jobs' output.  Each job's standard output and error are kept until
 * the job is final, then written whole (stdout to stdout, stderr to
 * stderr), so that jobs never interleave; with --keep-order a job waits
 * for every earlier one.  With --line-buffer each complete line is
 * written as it comes, as "name: line".  Only the last attempt's output
 * is kept: a retry starts afresh.
 *
 * Everything here runs with c->lock held, but output_flush_all(), which
 * takes it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int
write_all(int fd, const void *p, size_t len)
{
	const char *s = p;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, s, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The first failure of procq itself ends the run: said once, the jobs
 * cancelled.  A reader that went away (EPIPE) needs no words.  Returns
 * whether this was the first. */
bool
cli_error(struct cli *c, const char *what, int err)
{
	if (c->error != 0)
		return false;
	c->error = err;
	c->error_what = what;
	if (err != EPIPE) {
		progress_clear(c);
		fprintf(stderr, "procq: %s: %s\n", what, strerror(err));
	}
	return true;
}

/* In a hook, procq_cancel() runs no hook itself: it may be called with
 * c->lock held. */
void
cli_fail(struct cli *c, const char *what, int err)
{
	if (cli_error(c, what, err))
		procq_cancel(c->q);
}

static void
output_write(struct cli *c, int fd, const char *p, size_t len)
{
	if (c->error != 0 || len == 0)
		return;
	if (write_all(fd, p, len) != 0)
		cli_fail(c, fd == STDOUT_FILENO ? "standard output" :
		    "standard error", errno);
}

/* "name: " partial line, then p, then a newline, in one write. */
static void
output_line(struct cli *c, struct job *j, int stream, const char *p,
    size_t len)
{
	struct buf *part = stream == CLI_STREAM_OUT ? &j->out_line :
	    &j->err_line;
	struct buf line = { 0 };

	if (buf_append(&line, j->name, strlen(j->name)) != 0 ||
	    buf_append(&line, ": ", 2) != 0 ||
	    buf_append(&line, part->data, part->len) != 0 ||
	    buf_append(&line, p, len) != 0 || buf_append(&line, "\n", 1) != 0)
		cli_fail(c, "buffering output", errno);
	else
		output_write(c, stream == CLI_STREAM_OUT ? STDOUT_FILENO :
		    STDERR_FILENO, line.data, line.len);
	buf_free(&line);
	part->len = 0;
}

/* --line-buffer: every complete line now, the rest kept for later. */
static void
output_lines(struct cli *c, struct job *j, int stream, const char *p,
    size_t len)
{
	struct buf *part = stream == CLI_STREAM_OUT ? &j->out_line :
	    &j->err_line;
	const char *nl;

	progress_clear(c);
	while (len > 0 && (nl = memchr(p, '\n', len)) != NULL) {
		output_line(c, j, stream, p, (size_t)(nl - p));
		len -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	if (len > 0 && buf_append(part, p, len) != 0)
		cli_fail(c, "buffering output", errno);
}

/* --line-buffer: a last line without its newline gets one. */
static void
output_partials(struct cli *c, struct job *j)
{
	if (j->out_line.len > 0) {
		progress_clear(c);
		output_line(c, j, CLI_STREAM_OUT, "", 0);
	}
	if (j->err_line.len > 0) {
		progress_clear(c);
		output_line(c, j, CLI_STREAM_ERR, "", 0);
	}
}

void
output_chunk(struct cli *c, struct job *j, int attempt, int stream,
    const char *p, size_t len)
{
	struct buf *b = stream == CLI_STREAM_OUT ? &j->out : &j->err;

	if (attempt < j->attempt || j->printed)
		return;		/* a late report of an earlier attempt */
	if (attempt > j->attempt) {
		if (c->opt.line_buffer)
			output_partials(c, j);
		j->out.len = j->err.len = 0;
		j->attempt = attempt;
	}
	if (c->opt.line_buffer)
		output_lines(c, j, stream, p, len);
	else if (buf_append(b, p, len) != 0)
		cli_fail(c, "buffering output", errno);
}

static void
output_job(struct cli *c, struct job *j)
{
	if (c->opt.line_buffer)
		output_partials(c, j);
	else if (j->out.len > 0 || j->err.len > 0) {
		progress_clear(c);
		output_write(c, STDOUT_FILENO, j->out.data, j->out.len);
		output_write(c, STDERR_FILENO, j->err.data, j->err.len);
	}
	buf_free(&j->out);
	buf_free(&j->err);
	buf_free(&j->out_line);
	buf_free(&j->err_line);
	j->printed = true;
}

/* The job is printed and may go; c->lock held. */
static void
output_done(struct cli *c, struct job *j)
{
	output_job(c, j);
	jobs_retire(c, j);
}

void
output_final(struct cli *c, struct job *j)
{
	struct job *next;

	j->final = true;
	if (!c->opt.keep_order) {
		output_done(c, j);
		return;
	}
	if (c->next_print == 0)
		c->next_print = 1;
	while ((next = jobs_get(c, c->next_print)) != NULL && next->final) {
		c->next_print++;
		output_done(c, next);
	}
}

/* A job that will not run (--resume): with --keep-order the next ones
 * do not wait for it.  It stands in the ring, empty, until printed. */
void
output_skip(struct cli *c, size_t seq)
{
	struct values none = { 0 };
	struct job *j;

	if (!c->opt.keep_order)
		return;
	while (!jobs_room(c, seq) && !c->stop)
		pthread_cond_wait(&c->changed, &c->lock);
	if (c->stop || (j = job_new(seq, &none)) == NULL)
		return;
	jobs_insert(c, j);
	output_final(c, j);
}

/* At the end: whatever is still held (earlier jobs never finished, or a
 * completion was missed), in input order.  The queue is shut down by
 * then, so a cli_fail() here has no hook left to run. */
void
output_flush_all(struct cli *c)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->window; i++) {
		struct job *j = c->ring[i];

		if (j != NULL && !j->printed)
			output_done(c, j);
	}
	pthread_mutex_unlock(&c->lock);
}
