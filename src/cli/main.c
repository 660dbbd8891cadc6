/*
 * procq(1): procq [options] [--] COMMAND [ARGS...] [::: ITEM...]
 *
 * Reads every item, submits one "run" task per item to a queue, runs the
 * queue to the end and prints the summary.  The hooks (hooks.c) print the
 * output as jobs finish; a watcher thread (watch.c) turns a signal into a
 * clean cancel.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#ifdef HAVE_MPI
#include "procq_mpi.h"
#endif

/* The tasks of procq run as its own worker program. */
static const procq_worker_task worker_tasks[] = {
	{ CLI_TASK, runner_task },
	{ NULL, NULL }
};

/*
 * --mpi: every rank runs the same command line; the ranks other than 0
 * become node agents in here and never return.  Before the items are
 * read: only rank 0 has the input.
 */
static int
main_mpi_init(struct cli *c, int *argc, char ***argv)
{
#ifdef HAVE_MPI
	int rc;

	if (!c->opt.mpi)
		return 0;
	if ((rc = procq_mpi_init(argc, argv, worker_tasks)) != 0) {
		usage_error("--mpi: %s", procq_strerror(rc));
		return -1;
	}
	if (procq_mpi_transport() == NULL) {
		usage_error("--mpi: no other ranks to run jobs on "
			    "(mpirun -np 2 or more)");
		procq_mpi_finalize();
		return -1;
	}
#else
	(void)c;
	(void)argc;
	(void)argv;
#endif
	return 0;
}

static procq_queue *
main_queue(struct cli *c)
{
	static char *const worker_argv[] = {
		"procq", CLI_WORKER_MARK, NULL
	};
	const struct cli_opts *o = &c->opt;
	procq_config cfg;
	procq_queue *q;
	int err = 0;

	memset(&cfg, 0, sizeof cfg);
	cfg.workers = o->jobs;
	cfg.kill_grace = o->kill_grace;
	cfg.rate = o->rate;
	cfg.burst = o->burst;
	cfg.fail_policy = o->fail_fast ? PROCQ_FAIL_FIRST : PROCQ_FAIL_CONTINUE;
	cfg.max_memory = o->max_mem;
	cfg.max_cpu = o->max_cpu;
	cfg.start_method = o->start_method;
#ifdef HAVE_MPI
	cfg.transport = o->mpi ? procq_mpi_transport() : NULL;
#endif
	if (o->start_method == PROCQ_START_EXEC) {
		/* procq itself is the worker program (main_worker()). */
		cfg.worker_path = "/proc/self/exe";
		cfg.worker_argv = worker_argv;
	}
	hooks_install(&cfg, c);
	if ((q = procq_create(&cfg, &err)) == NULL) {
		usage_error("cannot create the queue: %s", procq_strerror(err));
		return NULL;
	}
	/* An exec'd worker program, or a remote host, has the table. */
	if (o->start_method != PROCQ_START_EXEC && !o->mpi &&
	    (err = procq_register(q, CLI_TASK, runner_task)) != 0) {
		usage_error("cannot register the task: %s", procq_strerror(err));
		procq_free(q);
		return NULL;
	}
	return q;
}

/* Every job's name and group, before anything runs. */
static int
main_jobs(struct cli *c, const struct items *it)
{
	const struct cli_opts *o = &c->opt;

	if (it->n > 0 && (c->jobs = calloc(it->n, sizeof *c->jobs)) == NULL)
		return -1;
	c->njobs = it->n;
	for (size_t i = 0; i < it->n; i++) {
		struct job *j = &c->jobs[i];

		j->seq = i + 1;
		j->item = it->v[i];
		j->exit_status = j->signal = -1;
		j->name = o->name ? template_expand(o->name, j->item) :
		    strdup(j->item);
		if (o->group != NULL &&
		    (j->group = template_expand(o->group, j->item)) == NULL)
			return -1;
		if (j->name == NULL)
			return -1;
	}
	return 0;
}

static void
main_free_jobs(struct cli *c)
{
	for (size_t i = 0; i < c->njobs; i++) {
		struct job *j = &c->jobs[i];

		free(j->name);
		free(j->group);
		buf_free(&j->out);
		buf_free(&j->err);
		buf_free(&j->out_line);
		buf_free(&j->err_line);
	}
	free(c->jobs);
}

/* A failure of the main thread: procq_cancel() may run hooks here, so
 * without c->lock. */
static void
main_fail(struct cli *c, const char *what, int err)
{
	bool first;

	pthread_mutex_lock(&c->lock);
	first = cli_error(c, what, err);
	pthread_mutex_unlock(&c->lock);
	if (first)
		procq_cancel(c->q);
}

static int
main_submit_one(struct cli *c, size_t i)
{
	const struct cli_opts *o = &c->opt;
	struct job *j = &c->jobs[i];
	msgpack_sbuffer sb;
	procq_opts po;
	int rc;

	memset(&po, 0, sizeof po);
	po.name = j->name;
	po.group = j->group;
	po.priority = o->priority;
	po.retries = o->retries;
	po.retry_delay = o->retry_delay;
	po.backoff = o->backoff;
	po.timeout = o->timeout;
	po.metadata = &i;
	po.metadata_len = sizeof i;
	msgpack_sbuffer_init(&sb);
	if (template_command(o, j->item, j->seq, &sb) != 0)
		rc = PROCQ_ENOMEM;
	else
		rc = procq_submit(c->q, CLI_TASK, sb.data, sb.size, &po, &j->h);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

/* Stops early when the run was cancelled meanwhile. */
static void
main_submit(struct cli *c)
{
	int rc;

	for (size_t i = 0; i < c->njobs; i++) {
		if ((rc = main_submit_one(c, i)) == PROCQ_ECLOSED)
			return;
		if (rc != 0) {
			main_fail(c, "submitting jobs", rc == PROCQ_ENOMEM ?
			    ENOMEM : EINVAL);
			return;
		}
	}
}

/* The files named by --joblog and --json, opened before anything runs. */
static int
main_open(struct cli *c, FILE **json)
{
	const struct cli_opts *o = &c->opt;

	if (o->joblog != NULL && (c->joblog = joblog_open(o->joblog)) == NULL) {
		usage_error("cannot write the joblog '%s': %s", o->joblog,
		    strerror(errno));
		return -1;
	}
	if (o->json != NULL && (*json = fopen(o->json, "w")) == NULL) {
		usage_error("cannot write the JSON summary '%s': %s", o->json,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Runs every job; returns the signal that interrupted the run, or 0. */
static int
main_run(struct cli *c, procq_summary **summary)
{
	int rc, sig;

	/* Job slots, before any worker starts and while no other thread
	 * reads the environment it sets; workers on other hosts (--mpi)
	 * have none. */
	if (!c->opt.mpi && slots_create(c->opt.jobs) != 0) {
		main_fail(c, "creating the job slots", errno);
		return 0;
	}
	/* Before the watcher thread exists: the fork server is forked here,
	 * and a lock that thread held at that moment (the allocator's, as
	 * it starts) would stay locked in every worker. */
	if ((rc = procq_start(c->q)) != 0) {
		main_fail(c, "starting", rc == PROCQ_ENOMEM ? ENOMEM : EIO);
		return 0;
	}
	if (watch_start(c) != 0) {
		main_fail(c, "starting", errno);
		return 0;
	}
	c->t0 = cli_clock();
	main_submit(c);
	if ((rc = procq_run(c->q, NULL, summary)) != 0 && *summary == NULL)
		main_fail(c, "running jobs", rc == PROCQ_ENOMEM ? ENOMEM : EIO);
	/* Every hook has run once the queue is shut down. */
	procq_shutdown(c->q, 0);
	sig = watch_stop();
	output_flush_all(c);
	pthread_mutex_lock(&c->lock);
	progress_clear(c);
	pthread_mutex_unlock(&c->lock);
	return sig;
}

/* The summary; past a few, cancelled jobs (an interrupted run of many
 * items) are counted rather than listed. */
static void
main_summary(const procq_summary *s)
{
	size_t cancelled = procq_summary_cancelled(s);

	if (cancelled <= CLI_LIST_CANCELLED) {
		procq_summary_display(s, stderr);
		return;
	}
	fprintf(stderr, "%zu tasks: %zu succeeded, %zu failed, %zu cancelled "
	    "in %.3f s (not ok)\n", procq_summary_submitted(s),
	    procq_summary_succeeded(s), procq_summary_failed(s), cancelled,
	    procq_summary_duration(s));
	procq_summary_check(s, 0, stderr);
	fprintf(stderr, "  (%zu cancelled jobs not listed)\n", cancelled);
}

static int
main_report(struct cli *c, const procq_summary *s, FILE *json, int sig)
{
	size_t failed;

	if (s != NULL && !c->opt.quiet)
		main_summary(s);
	if (json != NULL && s != NULL &&
	    json_write(json, c, s, sig != 0) != 0 && c->error == 0) {
		fprintf(stderr, "procq: writing '%s': %s\n", c->opt.json,
		    strerror(errno));
		c->error = errno ? errno : EIO;
	}
	if (sig != 0)
		return 128 + sig;
	if (c->error != 0 || s == NULL)
		return CLI_EXIT_INTERNAL;
	failed = procq_summary_failed(s);
	return failed > CLI_EXIT_MAXFAIL ? CLI_EXIT_MAXFAIL : (int)failed;
}

int
main(int argc, char **argv)
{
	struct cli c;
	struct items it = { 0 };
	procq_summary *summary = NULL;
	FILE *json = NULL;
	int rc, sig, status = CLI_EXIT_USAGE;

	/* Started by a queue of its own as a worker: nothing else runs. */
	if (argc > 1 && strcmp(argv[1], CLI_WORKER_MARK) == 0)
		return procq_worker_main(argc, argv, worker_tasks);
	memset(&c, 0, sizeof c);
	pthread_mutex_init(&c.lock, NULL);
	if ((rc = args_parse(argc, argv, &c.opt)) != 0)
		return rc > 0 ? 0 : CLI_EXIT_USAGE;
	if (main_mpi_init(&c, &argc, &argv) != 0)
		return CLI_EXIT_USAGE;
	if (items_load(&c.opt, &it) != 0 || main_open(&c, &json) != 0)
		goto out;
	if (main_jobs(&c, &it) != 0) {
		usage_error("out of memory");
		goto out;
	}
	if ((c.q = main_queue(&c)) == NULL)
		goto out;
	c.progress = !c.opt.quiet && isatty(STDERR_FILENO);
	sig = main_run(&c, &summary);
	status = main_report(&c, summary, json, sig);
out:
	if (c.q != NULL)
		procq_free(c.q);
	procq_summary_free(summary);
	main_free_jobs(&c);
	items_free(&it);
	if (c.joblog != NULL && fclose(c.joblog) != 0 && status == 0)
		status = CLI_EXIT_INTERNAL;
	if (json != NULL && fclose(json) != 0 && status == 0)
		status = CLI_EXIT_INTERNAL;
#ifdef HAVE_MPI
	if (c.opt.mpi)
		procq_mpi_finalize();
#endif
	pthread_mutex_destroy(&c.lock);
	return status;
}
