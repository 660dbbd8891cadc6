/*
 * procq(1): procq [options] [--] COMMAND [ARGS...] [::: ITEM...]
 *
 * Reads the input as jobs start, submits one "run" task per job to a
 * queue, waits for every job and prints the summary.  The hooks (hooks.c) print the
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
 * become node agents in here and never return.  Before the input is
 * read: only rank 0 has it.
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

static bool
main_store_error(int err)
{
	return err == PROCQ_ESTORE || err == PROCQ_ENOTSTORE ||
	    err == PROCQ_ESTOREVERSION || err == PROCQ_ECORRUPT ||
	    err == PROCQ_ESYS;
}

static procq_queue *
main_queue(struct cli *c, int workers)
{
	static char *const worker_argv[] = {
		"procq", CLI_WORKER_MARK, NULL
	};
	const struct cli_opts *o = &c->opt;
	procq_config cfg;
	procq_queue *q;
	int err = 0;

	memset(&cfg, 0, sizeof cfg);
	/* Jobs are submitted as the input is read: the queue runs until
	 * it is shut down, not until it is idle. */
	cfg.mode = PROCQ_MODE_INFINITE;
	cfg.workers = workers;
	cfg.kill_grace = o->kill_grace;
	cfg.rate = o->delay > 0 ? 1 / o->delay : o->rate;
	cfg.burst = o->delay > 0 ? 1 : o->burst;
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
	/* One batch name for every command line: a job's key is its
	 * command, the same whatever line made it. */
	cfg.checkpoint = o->checkpoint;
	cfg.checkpoint_run = o->checkpoint != NULL ? "procq" : NULL;
	hooks_install(&cfg, c);
	if ((q = procq_create(&cfg, &err)) == NULL) {
		if (o->checkpoint != NULL && main_store_error(err))
			usage_error("--checkpoint %s: %s%s%s", o->checkpoint,
			    procq_strerror(err), err == PROCQ_ESYS ? ": " : "",
			    err == PROCQ_ESYS ? strerror(errno) : "");
		else
			usage_error("cannot create the queue: %s",
			    procq_strerror(err));
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

/* The tag of a job's output lines (the values, as GNU parallel tags)
 * and its --results directory. */
static int
main_job_output(const struct cli_opts *o, struct job *j)
{
	if (o->tagstring != NULL)
		j->tag = template_expand(o->tagstring, j);
	else if (o->tag)
		j->tag = template_expand(template_name(RSN_VALUES), j);
	if ((o->tagstring != NULL || o->tag) && j->tag == NULL)
		return -1;
	if (o->results != NULL &&
	    (j->results = results_dir(o->results, j)) == NULL)
		return -1;
	return 0;
}

/* A job's name, group, tag and results, from its values. */
static struct job *
main_job(const struct cli_opts *o, size_t seq, struct values *v)
{
	struct job *j = job_new(seq, v);

	if (j == NULL)
		return NULL;
	j->context = o->batch.context;
	j->name = o->name != NULL ?
	    template_expand(o->name, j) :
	    template_expand(template_name(o->pipe ? RSN_SEQ : RSN_VALUES), j);
	if (j->name == NULL ||
	    (o->group != NULL &&
		(j->group = template_expand(o->group, j)) == NULL) ||
	    main_job_output(o, j) != 0) {
		job_free(j);
		return NULL;
	}
	return j;
}

/* A failure of the main thread: procq_cancel() waits for the queue's
 * thread, which may be waiting for c->lock in a hook. */
static void
main_fail(struct cli *c, const char *what, int err)
{
	bool first;

	pthread_mutex_lock(&c->lock);
	first = cli_error(c, what, err);
	c->stop = true;
	pthread_mutex_unlock(&c->lock);
	if (first)
		procq_cancel(c->q);
}

static int
main_submit_one(struct cli *c, struct job *j, msgpack_sbuffer *sb,
    procq_handle **h)
{
	const struct cli_opts *o = &c->opt;
	procq_opts po;
	char *key = NULL;
	int rc;

	memset(&po, 0, sizeof po);
	po.name = j->name;
	po.group = j->group;
	po.priority = o->priority;
	po.retries = o->retries;
	po.retry_delay = o->retry_delay;
	po.backoff = o->backoff;
	po.timeout = o->timeout;
	po.metadata = &j->seq;
	po.metadata_len = sizeof j->seq;
	/* --checkpoint: a job is its command, and with --pipe, where every
	 * block has the same command, the block's number too. */
	if (o->checkpoint != NULL && o->pipe) {
		if (asprintf(&key, "block %zu: %s", j->seq, j->cmdline) < 0)
			return PROCQ_ENOMEM;
		po.key = key;
	} else if (o->checkpoint != NULL)
		po.key = j->cmdline;
	rc = procq_submit(c->q, CLI_TASK, sb->data, sb->size, &po, h);
	free(key);
	return rc;
}

/*
 * Waits for the job's place in the ring, puts it there and submits it.
 * Until the main thread lets go of it (submitting), a job that is
 * already final stays: its handle is not known yet.  Returns the queue's
 * error, or -1 when the run stopped meanwhile.
 */
static int
main_submit(struct cli *c, struct job *j)
{
	procq_handle *h = NULL;
	msgpack_sbuffer sb;
	bool cancel;
	int rc;

	msgpack_sbuffer_init(&sb);
	if (template_command(&c->opt, j, &sb) != 0) {
		msgpack_sbuffer_destroy(&sb);
		job_free(j);
		return PROCQ_ENOMEM;
	}
	pthread_mutex_lock(&c->lock);
	while (!jobs_room(c, j->seq) && !c->stop)
		pthread_cond_wait(&c->changed, &c->lock);
	if (c->stop) {
		pthread_mutex_unlock(&c->lock);
		msgpack_sbuffer_destroy(&sb);
		job_free(j);
		return -1;
	}
	j->submitting = true;
	jobs_insert(c, j);
	c->njobs++;
	pthread_mutex_unlock(&c->lock);
	rc = main_submit_one(c, j, &sb, &h);
	msgpack_sbuffer_destroy(&sb);
	pthread_mutex_lock(&c->lock);
	j->submitting = false;
	j->h = h;
	if (rc != 0) {
		c->njobs--;
		output_final(c, j); /* never ran: nothing to wait for */
	}
	cancel = rc == 0 && (j->halted || c->failed_fast) && !j->final;
	if (cancel)
		j->pins++;
	jobs_retire(c, j);
	pthread_mutex_unlock(&c->lock);
	if (cancel) {
		procq_handle_cancel(h);
		pthread_mutex_lock(&c->lock);
		j->pins--;
		jobs_retire(c, j);
		pthread_mutex_unlock(&c->lock);
	}
	return rc;
}

static bool
main_stopped(struct cli *c)
{
	bool stop;

	pthread_mutex_lock(&c->lock);
	stop = c->stop;
	pthread_mutex_unlock(&c->lock);
	return stop;
}

/* The values read ahead to size the pool, then the rest of the input. */
static int
main_values(struct cli *c, struct values *v)
{
	if (c->ahead_next < c->nahead) {
		*v = c->ahead[c->ahead_next];
		memset(&c->ahead[c->ahead_next++], 0, sizeof *v);
		return 1;
	}
	return input_next(c->in, v);
}

/* Reads the input and submits a job for each; stops early when the run
 * was stopped (interrupted, halted, failed) meanwhile. */
static void
main_feed(struct cli *c)
{
	struct values v;
	struct job *j;
	size_t seq = 0;
	int rc = 0;

	while (!main_stopped(c) && (rc = main_values(c, &v)) > 0) {
		/* --resume: done in an earlier run; or skipped by
		 * {choose_k} or {uniq}. */
		if (seqset_has(&c->skip, ++seq) || template_skips(&v)) {
			values_free(&v);
			pthread_mutex_lock(&c->lock);
			output_skip(c, seq);
			pthread_mutex_unlock(&c->lock);
			continue;
		}
		if ((j = main_job(&c->opt, seq, &v)) == NULL) {
			values_free(&v);
			main_fail(c, "submitting jobs", ENOMEM);
			return;
		}
		if ((rc = main_submit(c, j)) == PROCQ_ECLOSED || rc < 0)
			return;
		if (rc != 0) {
			main_fail(c, "submitting jobs", rc == PROCQ_ENOMEM ?
			    ENOMEM : EINVAL);
			return;
		}
	}
	if (rc == INPUT_STOP) {
		pthread_mutex_lock(&c->lock);
		c->input_stopped = true;
		pthread_mutex_unlock(&c->lock);
	} else if (rc < 0)
		main_fail(c, "reading the input", EIO);
}

/* Waits for every job to be retired. */
static void
main_drain(struct cli *c)
{
	pthread_mutex_lock(&c->lock);
	c->input_done = true;
	while (c->live > 0)
		pthread_cond_wait(&c->changed, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

/* The files named by --joblog and --json, opened before anything runs;
 * a resumed joblog is read first, then appended to. */
static int
main_open(struct cli *c)
{
	const struct cli_opts *o = &c->opt;
	bool resume = o->resume || o->resume_failed || o->retry_failed;
	FILE *fp;

	if (o->retry_done != NULL) {
		/* --retry-failed read the joblog already. */
		c->skip = *o->retry_done;
		memset(o->retry_done, 0, sizeof *o->retry_done);
	} else if ((o->resume || o->resume_failed) &&
	    resume_load(o->joblog, o->resume_failed, &c->skip) != 0)
		return -1;
	if (o->joblog != NULL &&
	    (c->joblog = joblog_open(o->joblog, resume)) == NULL) {
		usage_error("cannot write the joblog '%s': %s", o->joblog,
		    strerror(errno));
		return -1;
	}
	if (o->json == NULL)
		return 0;
	if ((fp = fopen(o->json, "w")) == NULL ||
	    json_begin(&c->json, fp) != 0) {
		if (fp != NULL)
			fclose(fp);
		usage_error("cannot write the JSON summary '%s': %s", o->json,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Runs every job; returns the signal that interrupted the run, or 0. */
static int
main_run(struct cli *c)
{
	int rc, sig;

	/* Job slots, before any worker starts and while no other thread
	 * reads the environment it sets; workers on other hosts (--mpi)
	 * have none. */
	if (!c->opt.mpi && slots_create(c->workers) != 0) {
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
	if (output_start(c) != 0) {
		main_fail(c, "starting", errno);
		return 0;
	}
	if (watch_start(c) != 0) {
		main_fail(c, "starting", errno);
		output_stop(c);
		return 0;
	}
	c->t0 = cli_clock();
	main_feed(c);
	main_drain(c);
	c->summary.totals.duration = cli_clock() - c->t0;
	/* Every hook has run once the queue is shut down. */
	procq_shutdown(c->q, 0);
	sig = watch_stop();
	output_stop(c);
	pthread_mutex_lock(&c->lock);
	progress_clear(c);
	pthread_mutex_unlock(&c->lock);
	return sig;
}

/* The hooks are done: the totals are final. */
static int
main_report(struct cli *c, int sig)
{
	size_t failed = c->summary.totals.failed;

	if (!c->opt.quiet)
		summary_print(&c->summary, stderr);
	if (c->json.fp != NULL &&
	    json_end(&c->json, &c->summary.totals, sig != 0) != 0 &&
	    c->error == 0) {
		fprintf(stderr, "procq: writing '%s': %s\n", c->opt.json,
		    strerror(errno));
		c->error = errno ? errno : EIO;
	}
	if (sig != 0)
		return 128 + sig;
	if (c->error != 0 || c->input_stopped)
		return CLI_EXIT_INTERNAL;
	return failed > CLI_EXIT_MAXFAIL ? CLI_EXIT_MANYFAIL : (int)failed;
}

/* --dry-run: the command of each job, one per line; nothing runs. */
static int
main_dry_run(struct cli *c)
{
	struct values v;
	struct job *j;
	size_t seq = 0;
	int rc;

	while ((rc = main_values(c, &v)) > 0) {
		msgpack_sbuffer sb;

		if (template_skips(&v)) {
			values_free(&v);
			seq++;
			continue;
		}
		msgpack_sbuffer_init(&sb);
		if ((j = main_job(&c->opt, ++seq, &v)) == NULL ||
		    template_command(&c->opt, j, &sb) != 0) {
			msgpack_sbuffer_destroy(&sb);
			job_free(j);
			usage_error("out of memory");
			return CLI_EXIT_INTERNAL;
		}
		msgpack_sbuffer_destroy(&sb);
		rc = printf("%s\n", j->cmdline);
		/* -t says each command on stderr as well, as parallel does. */
		if (c->opt.verbose)
			fprintf(stderr, "%s\n", j->cmdline);
		job_free(j);
		if (rc < 0)
			break;
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		return CLI_EXIT_INTERNAL;
	return rc < 0 || c->input_stopped ? CLI_EXIT_USAGE : 0;
}

/*
 * Reads up to as many values as there would be workers: a run of fewer
 * items starts no more workers than it has jobs.  Returns the workers
 * to start, or -1.
 */
static int
main_read_ahead(struct cli *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int want = c->opt.jobs > 0 ? c->opt.jobs : cpus > 0 ? (int)cpus : 1;
	int rc = 1;

	if ((c->ahead = calloc((size_t)want, sizeof *c->ahead)) == NULL) {
		usage_error("out of memory");
		return -1;
	}
	while (c->nahead < (size_t)want &&
	    (rc = input_next(c->in, &c->ahead[c->nahead])) > 0)
		c->nahead++;
	/* The jobs before run, as in GNU parallel. */
	if (rc == INPUT_STOP) {
		c->input_stopped = true;
		rc = 0;
	}
	if (rc < 0)
		return -1;
	return rc == 0 && c->nahead < (size_t)want ?
	    (c->nahead > 0 ? (int)c->nahead : 1) :
	    want;
}

static void
main_free(struct cli *c)
{
	for (size_t i = c->ahead_next; i < c->nahead; i++)
		values_free(&c->ahead[i]);
	free(c->ahead);
	input_close(c->in);
	if (c->ring != NULL)
		jobs_fini(c);
	median_free(c->median);
	summary_free(&c->summary);
	seqset_free(&c->skip);
	cli_opts_free(&c->opt);
	pthread_cond_destroy(&c->changed);
	pthread_mutex_destroy(&c->lock);
}

/* GNU parallel's PARALLEL_PID, for the commands: set before the queue
 * exists, so that every worker inherits it. */
static int
main_setenv_pid(void)
{
	char pid[24];

	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	if (setenv("PARALLEL_PID", pid, 1) != 0) {
		usage_error("out of memory");
		return -1;
	}
	return 0;
}

/* The queue and what the run needs beside it; 0 or a usage error. */
static int
main_prepare(struct cli *c, int workers)
{
	size_t window = (size_t)workers * 4;

	if (c->opt.pipe) /* each job holds a block */
		window = (size_t)workers * 2;
	if (window < CLI_WINDOW_MIN)
		window = CLI_WINDOW_MIN;
	if (jobs_init(c, window) != 0 ||
	    (c->opt.timeout_pct > 0 && (c->median = median_new()) == NULL)) {
		usage_error("out of memory");
		return -1;
	}
	if (main_open(c) != 0 || main_setenv_pid() != 0 ||
	    (c->q = main_queue(c, workers)) == NULL)
		return -1;
	c->progress = !c->opt.quiet && isatty(STDERR_FILENO);
	c->workers = workers;
	return 0;
}

int
main(int argc, char **argv)
{
	struct shebang sb;
	struct cli c;
	int rc, sig, workers, status = CLI_EXIT_USAGE;

	/* Started by a queue of its own as a worker: nothing else runs. */
	if (argc > 1 && strcmp(argv[1], CLI_WORKER_MARK) == 0)
		return procq_worker_main(argc, argv, worker_tasks);
	if (shebang_args(&argc, &argv, &sb) != 0) {
		shebang_free(&sb);
		return CLI_EXIT_USAGE;
	}
	memset(&c, 0, sizeof c);
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.changed, NULL);
	if ((rc = args_parse(argc, argv, &c.opt)) != 0) {
		main_free(&c);
		shebang_free(&sb);
		return rc == 1 ? 0 : CLI_EXIT_USAGE;
	}
	if (main_mpi_init(&c, &argc, &argv) != 0) {
		main_free(&c);
		shebang_free(&sb);
		return CLI_EXIT_USAGE;
	}
	if (input_open(&c.opt, &c.in) != 0 ||
	    (workers = main_read_ahead(&c)) < 0)
		goto out;
	if (c.opt.dry_run) {
		status = main_dry_run(&c);
		goto out;
	}
	if (main_prepare(&c, workers) != 0)
		goto out;
	sig = main_run(&c);
	status = main_report(&c, sig);
out:
	if (c.q != NULL)
		procq_free(c.q);
	if (c.joblog != NULL && fclose(c.joblog) != 0 && status == 0)
		status = CLI_EXIT_INTERNAL;
	if (c.json.fp != NULL && fclose(c.json.fp) != 0 && status == 0)
		status = CLI_EXIT_INTERNAL;
#ifdef HAVE_MPI
	if (c.opt.mpi)
		procq_mpi_finalize();
#endif
	main_free(&c);
	shebang_free(&sb);
	return status;
}
