/*
 * procq(1): run a command once per item in a pool of procq workers.
 * Shared types of the command-line front end.
 */
#ifndef PROCQ_CLI_H
#define PROCQ_CLI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "procq.h"

/* Exit statuses beyond the count of failed jobs. */
#define CLI_EXIT_MAXFAIL	100	/* failed jobs are counted up to this */
#define CLI_EXIT_USAGE		101	/* bad options or input: nothing ran */
#define CLI_EXIT_INTERNAL	102	/* procq itself failed during the run */

/* The summary lists at most this many failed and cancelled jobs. */
#define CLI_LIST_FAILED		100
#define CLI_LIST_CANCELLED	20

/* The task that runs one command, registered under this name. */
#define CLI_TASK		"run"
/* argv[1] of procq run as its own worker program (--start-method exec):
 * an option the parser refuses, so that it is no valid command line. */
#define CLI_WORKER_MARK		"--procq-exec-worker"

/* Progress reports of the task: [attempt, stream, bytes] for output,
 * [attempt, CLI_STREAM_EXIT, exit status, signal] when the command ended. */
#define CLI_STREAM_EXIT		0
#define CLI_STREAM_OUT		1
#define CLI_STREAM_ERR		2

/* A growable byte buffer. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

/* buf.c */
int	 buf_append(struct buf *b, const void *p, size_t len);
void	 buf_free(struct buf *b);

/* The options, as parsed. */
struct cli_opts {
	int		 jobs;		/* workers; 0 = online CPUs */
	int		 retries;
	double		 retry_delay;
	double		 backoff;
	double		 timeout;	/* per attempt; 0 = none */
	double		 kill_grace;	/* 0 = the default, < 0 = at once */
	double		 rate;
	int		 burst;
	bool		 fail_fast;
	int		 priority;
	const char	*name;		/* template; NULL = the item */
	const char	*group;		/* template; NULL = no group */
	size_t		 max_mem;
	double		 max_cpu;
	bool		 shell;
	bool		 null_sep;	/* -0: items end with NUL */
	const char	*arg_file;
	bool		 keep_order;
	bool		 line_buffer;
	bool		 quiet;
	const char	*json;
	const char	*joblog;
	bool		 resume;	/* skip the jobs in the joblog */
	bool		 resume_failed;	/* ... but the failed ones */
	procq_start_method start_method; /* 0 = the library's default */
	bool mpi;			 /* workers on the other MPI ranks */
	char	       **command;	/* COMMAND [ARGS...] */
	int		 ncommand;
	char	       **items;		/* after :::, or NULL */
	int		 nitems;
	bool		 have_items;	/* ::: was given */
};

/* args.c: 0 to run, 1 when --help or --version was served, -1 on a usage
 * error (already reported). */
int	 args_parse(int argc, char **argv, struct cli_opts *o);
void	 usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* items.c: the list of items, from ::: or a file or standard input. */
struct items {
	char	**v;
	size_t	  n;
	size_t	  cap;
};

int	 items_load(const struct cli_opts *o, struct items *it);
void	 items_free(struct items *it);

/* template.c */
char	*template_expand(const char *tmpl, const char *item);
int	 template_command(const struct cli_opts *o, const char *item,
	    size_t seq, msgpack_sbuffer *sb);
char	*template_cmdline(const struct cli_opts *o, const char *item);

/* One job: a command run for one item. */
struct job {
	size_t		 seq;		/* position in the input, from 1 */
	char	       **args;		/* the job's input values ({1} {2} ...) */
	size_t		 nargs;
	char		*cmdline;	/* the command as one shell line */
	char		*name;		/* display name */
	char		*group;		/* NULL = none */
	double		 start;		/* wall clock of the last attempt's
					 * start; 0 = never started */
	uint64_t	 received;	/* stdout bytes of the last attempt */
	procq_handle	*h;		/* NULL until submitted */
	struct buf	 out;		/* output of the current attempt */
	struct buf	 err;
	struct buf	 out_line;	/* --line-buffer: a partial line */
	struct buf	 err_line;
	int		 attempt;	/* the attempt the output is from */
	int		 exit_attempt;	/* the attempt that reported exit */
	int		 exit_status;	/* -1 = none */
	int		 signal;	/* -1 = none */
	bool		 running;
	bool		 final;
	bool		 printed;
};

/* resume.c: the seqs an earlier run's joblog holds (--resume), sorted. */
struct seqset {
	size_t	*v;
	size_t	 n;
	size_t	 cap;
};

int	 resume_load(const char *path, bool failed_only, struct seqset *skip);
bool	 seqset_has(const struct seqset *s, size_t seq);
void	 seqset_free(struct seqset *s);

/* summary.c: the counts of a run, and the failed and cancelled jobs it
 * lists, kept as each job becomes final. */
struct cli_totals {
	size_t	 submitted;	/* jobs that became final */
	size_t	 succeeded;
	size_t	 failed;
	size_t	 cancelled;
	double	 duration;	/* seconds; set at the end of the run */
};

struct cli_summary {
	struct cli_totals totals;
	struct buf	 listed;	/* the lines of the jobs listed */
	size_t		 failed_listed;
	size_t		 cancelled_listed;
};

bool	 summary_ok(const struct cli_totals *t);
void	 summary_note(struct cli_summary *s, const struct job *j,
    const procq_result *r);
void	 summary_print(const struct cli_summary *s, FILE *fp);
void	 summary_free(struct cli_summary *s);

/* json.c: the --json report, a job's record written as it becomes final. */
struct json_report {
	FILE	*fp;		/* NULL = no report */
	size_t	 njobs;		/* records written */
};

int	 json_begin(struct json_report *jr, FILE *fp);
int	 json_job(struct json_report *jr, const struct job *j,
    const procq_result *r);
int	 json_end(struct json_report *jr, const struct cli_totals *t,
    bool interrupted);

/* The state of a run, shared by the hooks (supervisor thread), the
 * watcher thread and the main thread; the hooks and the watcher hold
 * `lock` while they touch it. */
struct cli {
	struct cli_opts	 opt;
	struct job	*jobs;
	size_t		 njobs;		/* jobs submitted */
	procq_queue	*q;
	pthread_mutex_t	 lock;
	size_t		 next_print;	/* --keep-order: next job to print */
	size_t		 done;
	size_t		 failed;
	size_t		 running;
	double		 t0;
	bool		 progress;	/* draw the progress bar */
	bool		 bar_shown;	/* the bar is on the terminal */
	double		 bar_time;	/* when it was drawn */
	FILE		*joblog;
	struct json_report json;
	struct seqset	 skip;		/* --resume: seqs not to run */
	struct cli_summary summary;
	int		 error;		/* errno of the first I/O failure */
	const char	*error_what;
};

/* output.c */
void	 output_chunk(struct cli *c, struct job *j, int attempt, int stream,
	    const char *p, size_t len);
void	 output_final(struct cli *c, struct job *j);
void	 output_flush_all(struct cli *c);
bool	 cli_error(struct cli *c, const char *what, int err);
void	 cli_fail(struct cli *c, const char *what, int err);	/* hooks */
int	 write_all(int fd, const void *p, size_t len);

/* progress.c: call with c->lock held (but the clocks). */
double	 cli_clock(void);
double	 cli_wallclock(void);
void	 progress_draw(struct cli *c);
void	 progress_clear(struct cli *c);

/* joblog.c: GNU parallel's joblog. */
#define JOBLOG_HEADER \
	"Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\t" \
	"Exitval\tSignal\tCommand"

FILE	*joblog_open(const char *path, bool append);
int	 joblog_write(FILE *fp, const struct job *j, const procq_result *r);

/* hooks.c */
void	 hooks_install(procq_config *cfg, struct cli *c);

/* runner.c: the worker side. */
int	 runner_task(procq_call *call);
const char *signal_name(int sig, char *buf, size_t len);

/* watch.c: signals and the progress clock. */
int	 watch_start(struct cli *c);
int	 watch_stop(void);	/* the signal received, or 0 */

#endif
