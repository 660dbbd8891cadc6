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

/* The summary lists at most this many cancelled jobs. */
#define CLI_LIST_CANCELLED	20

/* The task that runs one command, registered under this name. */
#define CLI_TASK		"run"
/* argv[1] of procq run as its own worker program (--start-method exec):
 * an option the parser refuses, so that it is no valid command line. */
#define CLI_WORKER_MARK		"--procq-exec-worker"

/* Progress reports of the task (runner.c says when each is sent):
 * [attempt, stream, bytes] for output, [attempt, CLI_STREAM_EXIT, exit
 * status, signal] when the command ended, and [attempt, CLI_STREAM_HELD,
 * seconds] when processes it started still hold its output open. */
#define CLI_STREAM_EXIT		0
#define CLI_STREAM_OUT		1
#define CLI_STREAM_ERR		2
#define CLI_STREAM_HELD		3

/* The task's arguments: [seq, [argv...]] or [seq, [argv...], options],
 * the options a map with these keys, each optional (runner.c). */
#define CLI_OPT_SLOT		"slot"	/* [[word, offset]...] */
#define CLI_OPT_STDIN		"stdin"	/* bin */

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

/* One job: a command run for one item. */
struct job {
	size_t		 seq;		/* position in the input, from 1 */
	const char	*item;
	char		*name;		/* display name */
	char		*group;		/* NULL = none */
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

/* progress.c: call with c->lock held (but cli_clock). */
double	 cli_clock(void);
void	 progress_draw(struct cli *c);
void	 progress_clear(struct cli *c);

/* joblog.c */
FILE	*joblog_open(const char *path);
int	 joblog_write(FILE *fp, const struct job *j, const procq_result *r);

/* json.c */
int	 json_write(FILE *fp, const struct cli *c, const procq_summary *s,
	    bool interrupted);

/* hooks.c */
void	 hooks_install(procq_config *cfg, struct cli *c);

/* Where the job slot number goes in a command: into argv[word], at
 * byte offset `offset` of the word as sent. */
struct slot_pos {
	uint32_t	 word;
	uint32_t	 offset;
};

/* The options of one run of a command. */
struct run_opts {
	const struct slot_pos *slot;	/* ascending; NULL = none */
	size_t		 nslot;
	const void	*in;		/* its standard input */
	size_t		 in_len;
	bool		 has_in;	/* else the worker's: /dev/null */
};

/* runner.c: the worker side, and how the supervisor packs a run's
 * options, the third element of the task's arguments. */
int	 runner_task(procq_call *call);
int	 runner_pack_opts(msgpack_packer *pk, const struct run_opts *o);
const char *signal_name(int sig, char *buf, size_t len);

/* slots.c: job slots.  slots_create() in procq before the queue starts,
 * with the number of workers (0: as many as online CPUs); slots_claim()
 * in a worker: its slot, 0 when there are none (--mpi), -1 (with why)
 * when it cannot take one. */
#define SLOTS_ENV		"PROCQ_SLOT_FILE"
int	 slots_create(int n);
int	 slots_claim(char *why, size_t len);

/* watch.c: signals and the progress clock. */
int	 watch_start(struct cli *c);
int	 watch_stop(void);	/* the signal received, or 0 */

#endif
