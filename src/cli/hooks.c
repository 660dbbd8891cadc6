/*
 * The queue's hooks, on the supervisor thread: they keep the counts of
 * the progress bar, collect each job's output as its task reports it,
 * and, when a job is final, note it in the summary and write its joblog
 * line, its JSON record and its output.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "cli.h"

/* A job's seq travels with its task as metadata. */
static struct job *
hook_job(struct cli *c, procq_handle *h)
{
	const void *m;
	size_t len, seq;

	if ((m = procq_handle_metadata(h, &len)) == NULL || len != sizeof seq)
		return NULL;
	memcpy(&seq, m, sizeof seq);
	return jobs_get(c, seq);
}

static void
hook_start(procq_handle *h, void *arg)
{
	struct cli *c = arg;
	struct job *j;

	pthread_mutex_lock(&c->lock);
	if ((j = hook_job(c, h)) != NULL && !j->running) {
		j->running = true;
		j->start = cli_wallclock();
		j->started = cli_clock();
		j->received = 0;
		c->running++;
		if (c->opt.verbose)
			output_command(c, j);
		progress_draw(c);
	}
	pthread_mutex_unlock(&c->lock);
}

static void
hook_retry(procq_handle *h, const procq_error *err, void *arg)
{
	struct cli *c = arg;
	struct job *j;

	(void)err;
	pthread_mutex_lock(&c->lock);
	if ((j = hook_job(c, h)) != NULL && j->running) {
		j->running = false;
		c->running--;
		progress_draw(c);
	}
	pthread_mutex_unlock(&c->lock);
}

/* [attempt, stream, bytes], [attempt, 0, exit status, signal], or
 * [attempt, 3, seconds]: the command exited, its output still open. */
static void
hook_report(struct cli *c, struct job *j, const msgpack_object *v)
{
	int attempt, stream, code, sig;
	const void *p;
	double secs;
	size_t len;

	if (procq_unpack(v, "iiy", &attempt, &stream, &p, &len) == 0) {
		if (stream != CLI_STREAM_OUT && stream != CLI_STREAM_ERR)
			return;
		/* Received counts the last attempt's stdout. */
		if (attempt > j->received_attempt) {
			j->received = 0;
			j->received_attempt = attempt;
		}
		if (attempt == j->received_attempt && stream == CLI_STREAM_OUT)
			j->received += len;
		output_chunk(c, j, attempt, stream, p, len);
	} else if (procq_unpack(v, "iiii", &attempt, &stream, &code,
	    &sig) == 0 && stream == CLI_STREAM_EXIT &&
	    attempt >= j->exit_attempt) {
		j->exit_attempt = attempt;
		j->exit_status = code;
		j->signal = sig;
	} else if (procq_unpack(v, "iid", &attempt, &stream, &secs) == 0 &&
	    stream == CLI_STREAM_HELD) {
		j->held_attempt = attempt;
		j->held_after = secs;
	}
}

static void
hook_progress(procq_handle *h, const msgpack_object *v, void *arg)
{
	struct cli *c = arg;
	struct job *j;

	pthread_mutex_lock(&c->lock);
	if ((j = hook_job(c, h)) != NULL)
		hook_report(c, j, v);
	pthread_mutex_unlock(&c->lock);
}

/* The runtimes --timeout N% takes its median of; the totals are the
 * summary's (summary_note()). */
static void
hook_count(struct cli *c, const procq_result *r)
{
	if (procq_result_status(r) == PROCQ_SUCCEEDED && c->median != NULL &&
	    median_add(c->median, procq_result_duration(r)) != 0)
		cli_fail(c, "keeping runtimes", ENOMEM);
}

static void
hook_complete(procq_handle *h, const procq_result *r, void *arg)
{
	struct cli *c = arg;
	struct job *j;

	pthread_mutex_lock(&c->lock);
	if ((j = hook_job(c, h)) == NULL || j->final) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	if (j->running) {
		j->running = false;
		c->running--;
	}
	hook_count(c, r);
	/* How the last attempt's command ended, if it did, and what it
	 * printed. */
	j->attempts = procq_result_attempts(r);
	if (j->exit_attempt != j->attempts)
		j->exit_status = j->signal = -1;
	if (j->received_attempt != j->attempts)
		j->received = 0;
	summary_note(&c->summary, j, r);
	/* A job the checkpoint store had done is not run again and, as
	 * with --resume, gets no joblog line. */
	if (c->joblog != NULL && !procq_result_resumed(r) &&
	    joblog_write(c->joblog, j, r) != 0)
		cli_fail(c, "writing the joblog", errno);
	if (c->json.fp != NULL && json_job(&c->json, j, r) != 0)
		cli_fail(c, "writing the JSON summary", errno);
	halt_fail_fast(c, j, r);
	halt_check(c);
	output_final(c, j);	/* j->final from now */
	jobs_retire(c, j);
	progress_draw(c);
	pthread_mutex_unlock(&c->lock);
}

void
hooks_install(procq_config *cfg, struct cli *c)
{
	cfg->on_start = hook_start;
	cfg->on_retry = hook_retry;
	cfg->on_progress = hook_progress;
	cfg->on_complete = hook_complete;
	cfg->hook_arg = c;
}
