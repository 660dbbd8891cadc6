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
/* GNU parallel's exit statuses: failed jobs are counted up to 100, 101
 * means more failed, 255 any other error (a usage error: nothing ran; or
 * procq itself failed during the run). */
#define CLI_EXIT_MAXFAIL	100
#define CLI_EXIT_MANYFAIL	101
#define CLI_EXIT_USAGE		255
#define CLI_EXIT_INTERNAL	255

/* The GNU parallel whose command lines procq runs: what --minversion
 * compares with. */
#define CLI_PARALLEL_VERSION	20221122LL

/* The constants and structures are laid out by hand. */
/* clang-format off */
/* The fewest jobs submitted ahead of the oldest unfinished one. */
#define CLI_WINDOW_MIN		64
/* -j 0: "as many as possible". */
#define CLI_JOBS_MANY		256
/* The most -j may ask for. */
#define CLI_JOBS_MAX		4096
/* --pipe: bytes per block unless --block says. */
#define CLI_BLOCK		(1024 * 1024)

/* The summary lists at most this many failed jobs, and cancelled. */
#define CLI_LIST_FAILED		100
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
#define CLI_OPT_UNDERSCORE	"_"	/* str: $_ for the command */
#define CLI_OPT_NICE		"nice"	/* int: the command's niceness */
#define CLI_OPT_MEMFREE		"memfree" /* uint: bytes (gate.c) */
#define CLI_OPT_LOAD		"load"	/* float: processes (gate.c) */
#define CLI_OPT_KEPT		"kept"	/* true: argv is [shell, -c, line]
					 * and the line one builtin (kept.c) */
#define CLI_OPT_FORK		"fork"	/* true: start the command with
					 * fork(), whose handlers give it
					 * the attempt's CPU limit */
/* A kept shell reads its jobs a byte at a time, as a shell reads a pipe:
 * a longer line costs it more than a shell of its own would. */
#define CLI_KEPT_LINE_MAX	2048

/* A growable byte buffer. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

/* buf.c */
int	 buf_append(struct buf *b, const void *p, size_t len);
void	 buf_free(struct buf *b);

/* Several values per job (batch.c): -n, -N, -L, -l, -m, -X, --xargs
 * and -s as given, then what they mean together (batch_resolve()). */
struct batch_opts {
	long		 n, N, L, l;	/* -1 = not given */
	bool		 m, X, xargs;
	size_t		 s;		/* 0 = not given */
	bool		 on;		/* any of them given */
	size_t		 max_args;	/* values per job; SIZE_MAX: as many
					 * as fit on a command line */
	bool		 no_args;	/* a value per job, none inserted */
	bool		 spread;	/* -m, -X: the last values spread over
					 * every job slot */
	bool		 context;	/* a word with {} repeated per value */
	size_t		 max_lines;	/* a line ending in a blank goes on
					 * on the next one */
};

/* The options, as parsed. */
struct cli_opts {
	int		 jobs;		/* workers; 0 = online CPUs */
	int		 retries;
	double		 retry_delay;
	double		 backoff;
	double		 timeout;	/* per attempt; 0 = none */
	double		 timeout_pct;	/* --timeout N%: of the median; 0 = none */
	double		 kill_grace;	/* 0 = the default, < 0 = at once */
	double		 rate;
	int		 burst;
	double		 delay;		/* --delay: seconds between starts */
	bool		 fail_fast;
	int		 priority;
	const char	*name;		/* template; NULL = the values */
	const char	*group;		/* template; NULL = no group */
	size_t		 max_mem;
	double		 max_cpu;
	bool		 shell;		/* a shell runs the command line
					 * (all but --no-shell) */
	bool		 shell_always;	/* --shell: never skipped */
	char		*shell_path;	/* shell.c's choice */
	bool		 shell_skip;	/* the shell may be left out */
	bool		 shell_joins;	/* ... but not for a job of
					 * several values (shell.c) */
	bool		 shell_keep;	/* the command is one builtin: a
					 * shell kept in the worker runs it */
	char		*underscore;	/* $_ as the shell would set it,
					 * when it is skipped; or NULL */
	bool		 null_sep;	/* -0: items end with NUL */
	char		*delim;		/* -d: what ends an item; NULL =
					 * newline (or NUL with -0) */
	size_t		 delim_len;
	const char	*eof_str;	/* -E: a source ends at this item */
	const char	*trim;		/* --trim: n, l, r, lr or rl */
	const char	*header;	/* --header: first items name columns */
	bool		 plus;		/* --plus replacement strings */
	const char	*rs_names[7];	/* renamed strings: -I, --er...; by
					 * enum rs_name, NULL = the default */
	const char	*colsep;	/* --colsep: a regular expression */
	bool		 link;		/* --link: every source linked */
	bool		 shuf;
	bool		 dry_run;
	bool		 pipe;		/* --pipe: blocks of stdin as stdin */
	size_t		 block;		/* --block: bytes per block */
	const char	*recend;	/* --recend; NULL = not given */
	const char	*recstart;	/* --recstart; NULL = not given */
	bool		 regexp;	/* --regexp: both are regexes */
	bool		 rrs;		/* --rrs: separators removed */
	size_t		 pipe_records;	/* -N, -n: records per block; 0 =
					 * as many as --block holds */
	size_t		 pipe_lines;	/* -L, -l: lines per record */
	struct records	*records;	/* --pipe: what cuts the input */
	struct halt	*halt;		/* NULL = none */
	bool		 keep_order;
	bool		 line_buffer;
	bool		 tag;		/* --tag */
	const char	*tagstring;	/* --tagstring: template; NULL = none */
	const char	*results;	/* --results: a directory, or NULL */
	bool		 ungroup;	/* -u: output as it comes */
	bool		 no_run_if_empty; /* -r: blank items, and records and
					 * blocks, are no jobs */
	bool		 verbose;	/* -t: each command on stderr */
	bool		 files;		/* --files: stdout to files, named */
	const char	*tmpdir;	/* --tmpdir: NULL = $TMPDIR */
	int		 nice;		/* --nice: the commands' niceness */
	bool		 has_nice;
	size_t		 memfree;	/* --memfree: bytes; 0 = none */
	double		 load;		/* --load: running processes; 0 = none */
	bool		 quiet;
	const char	*json;
	const char	*joblog;
	bool		 resume;	/* skip the jobs in the joblog */
	bool		 resume_failed;	/* ... but the failed ones */
	const char	*checkpoint;	/* --checkpoint: a store, or NULL */
	procq_start_method start_method; /* 0 = the library's default */
	bool mpi;			 /* workers on the other MPI ranks */
	char	       **command;	/* COMMAND [ARGS...] */
	int		 ncommand;
	struct source	*sources;	/* in the order given */
	size_t		 nsources;
	struct batch_opts batch;	/* several values per job */
	const char	*jobs_arg;	/* -j, read once the unit of CPUs
					 * is known */
	const char	*load_arg;	/* --load, the same */
	unsigned	 info;		/* INFO_*: print it and exit */
	long long	 minversion;	/* --minversion */
	int		 shellquote;	/* --shellquote: times to quote */
	bool		 retry_failed;	/* --retry-failed */
	char		**retry_cmds;	/* ... the joblog's commands */
	size_t		 nretry_cmds;
	struct seqset	*retry_done;	/* ... the seqs not to run again */
};

/* What info.c prints (cli_opts.info). */
#define INFO_SOCKETS		0x01
#define INFO_CPUS		0x02
#define INFO_CORES		0x04
#define INFO_THREADS		0x08
#define INFO_LINE_MAX		0x10
#define INFO_MINVERSION		0x20

/* One input source: words after ::: or a file (::::, -a; "-" = stdin). */
struct source {
	char	       **words;		/* NULL: a file */
	size_t		 nwords;
	const char	*path;
	bool		 linked;	/* :::+ or ::::+: paired with the one
					 * before, not crossed */
};

/* --halt: when a count of failed or succeeded jobs is reached. */
struct halt {
	bool		 now;		/* kill the running jobs too */
	bool		 on_success;	/* success=, else fail= */
	double		 count;		/* jobs, or a percentage */
	bool		 percent;
};

/* shebang.c: procq run as a script's interpreter (--shebang first): the
 * arguments it stands for, in *argv until shebang_free().  0, or -1 on a
 * usage error (already reported). */
struct shebang {
	char	**argv;
	char	 *words;
};

int	 shebang_args(int *argc, char ***argv, struct shebang *sb);
void	 shebang_free(struct shebang *sb);

/* args.c: 0 to run, 1 when --help, --version or another option that
 * prints and exits was served, 2 when that exits with 255 (--minversion
 * of a later parallel), -1 on a usage error (already reported). */
int	 args_parse(int argc, char **argv, struct cli_opts *o);
void	 cli_opts_free(struct cli_opts *o);
void	 usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* The input values of one job: a value per source (or per column with
 * --colsep), or a block of standard input with --pipe. */
struct values {
	char	       **v;
	size_t		 n;
	char		*block;		/* --pipe */
	size_t		 block_len;
	size_t		*widths;	/* several records: the values of each;
					 * NULL = one record */
	size_t		 nwidths;
};

void	 values_free(struct values *v);

/* input.c: the jobs' values, read as they are needed: input_next() a
 * job's, input_record() a combination of the sources' values. */
struct input;

/* input_next(): the input cannot go on, but the jobs before may run. */
#define INPUT_STOP		(-2)

int	 input_open(const struct cli_opts *o, struct input **in);
int	 input_next(struct input *in, struct values *v); /* 1, 0 at end, -1 */
int	 input_record(struct input *in, struct values *v);
void	 input_close(struct input *in);

/* records.c: --pipe's records and header. */
struct records;

/* A record separator found: the end of one record at [so, cut), the
 * start of the next at [cut, eo). */
struct rec_match {
	size_t	 so, cut, eo;
};

int	 records_new(const struct cli_opts *o, struct records **r);
void	 records_free(struct records *r);
bool	 records_next(const struct records *r, const char *buf, size_t len,
	    size_t from, struct rec_match *m);
bool	 records_starts(const struct records *r, const char *buf,
	    size_t len);
size_t	 records_strip(const struct records *r, char *buf, size_t len);
bool	 records_has_header(const struct records *r);
bool	 records_header(const struct records *r, const char *buf, size_t len,
	    size_t *hlen);

/* batch.c: several records per job. */
struct batch;

int	 batch_option(int ch, const char *arg, struct batch_opts *b);
void	 batch_opts_init(struct batch_opts *b);
int	 batch_resolve(struct cli_opts *o);
size_t	 batch_line_max(void);
struct batch *batch_new(const struct cli_opts *o, struct input *in);
int	 batch_next(struct batch *b, struct values *v);
void	 batch_free(struct batch *b);

/* template.c */
struct cli;
struct job;

/* The replacement strings that options rename. */
enum rs_name {
	RSN_VALUES,		/* {}	-I */
	RSN_NOEXT,		/* {.}	--er */
	RSN_BASE,		/* {/}	--bnr */
	RSN_DIR,		/* {//}	--dnr */
	RSN_BASE_NOEXT,		/* {/.}	--bner */
	RSN_SEQ,		/* {#}	--seqreplace */
	RSN_SLOT		/* {%}	--slotreplace */
};

int	 template_setup(const struct cli_opts *o);
const char *template_name(enum rs_name name);
bool	 template_wants_total(void);
void	 template_set_total(size_t njobs);
void	 template_set_names(char *const *names, size_t n);
char *const *template_names(size_t *n);
bool	 template_skips(const struct values *v);
char	*template_expand(const char *tmpl, const struct job *j);
int	 template_command(const struct cli_opts *o, struct job *j,
	    msgpack_sbuffer *sb);
bool	 template_valid(const char *tmpl);
size_t	 template_rs_at(const char *p, size_t *col);
size_t	 template_rs_width(const char *rs, const char *value, size_t seq);
bool	 template_plain(const char *word, bool *joins);
bool	 template_has_rs(const char *word);

/* shell.c: the shell, chosen as GNU parallel does, when a shell runs
 * the commands; and whether job j can run without it. */
int	 shell_setup(struct cli_opts *o);
bool	 shell_skipped(const struct cli_opts *o, const struct job *j);
bool	 shell_kept(const struct cli_opts *o, const struct job *j,
	    const char *line);

struct job_output;

/* One job: a command run for one set of values. */
struct job {
	size_t		 seq;		/* position in the input, from 1 */
	char	       **args;		/* the input values ({1} {2} ...) */
	size_t		 nargs;
	char		*block;		/* --pipe: the job's standard input */
	size_t		 block_len;
	bool		 context;	/* -X, -N, -L: a word with {} is
					 * repeated for each value */
	size_t		*widths;	/* struct values' */
	size_t		 nwidths;
	char		*cmdline;	/* the command as one line */
	char		*name;		/* display name */
	char		*group;		/* NULL = none */
	char		*tag;		/* prefix of output lines; NULL = none */
	char		*results;	/* --results: its directory, or NULL */
	procq_handle	*h;		/* NULL until submitted */
	double		 start;		/* wall-clock start of the last
					 * attempt; 0 = never started */
	double		 started;	/* the same on cli_clock() */
	uint64_t	 received;	/* stdout bytes of the last attempt */
	int		 received_attempt; /* the attempt received is of */
	struct job_output *out;		/* output.c's; NULL until output */
	int		 attempts;	/* when final: attempts made */
	int		 exit_attempt;	/* the attempt that reported exit */
	int		 exit_status;	/* -1 = none */
	int		 signal;	/* -1 = none */
	int		 held_attempt;	/* the attempt whose command exited
					 * while its output stayed open */
	double		 held_after;	/* when, in seconds from its start */
	int		 pins;		/* threads using h outside c->lock */
	bool		 submitting;	/* the main thread holds it */
	bool		 running;
	bool		 final;
	bool		 overdue;	/* cancelled by --timeout N% */
	bool		 halted;	/* to be cancelled by --halt soon */
};

/* resume.c: the seqs an earlier run's joblog holds (--resume), sorted. */
struct seqset {
	size_t	*v;
	size_t	 n;
	size_t	 cap;
};

/* summary.c: the counts of a run, and the failed and cancelled jobs it
 * lists, kept as each job becomes final. */
struct cli_totals {
	size_t	 submitted;	/* jobs that became final */
	size_t	 succeeded;
	size_t	 failed;
	size_t	 cancelled;
	size_t	 resumed;	/* of succeeded: done in an earlier run */
	double	 duration;	/* seconds; set at the end of the run */
};

struct cli_summary {
	struct cli_totals totals;
	struct buf	 listed;	/* the lines of the jobs listed */
	size_t		 failed_listed;
	size_t		 cancelled_listed;
};

/* json.c: the --json report, a job's record written as it becomes final. */
struct json_report {
	FILE	*fp;		/* NULL = no report */
	size_t	 njobs;		/* records written */
};

/* The state of a run, shared by the hooks (supervisor thread), the
 * watcher thread and the main thread; each holds `lock` while it touches
 * it, and none calls into the queue with it held but from a hook. */
struct cli {
	struct cli_opts	 opt;
	struct job     **ring;		/* live jobs by seq % window */
	size_t		 window;
	pthread_cond_t	 changed;	/* a job left the ring */
	size_t		 njobs;		/* jobs submitted */
	int		 workers;	/* -j, or fewer for a short input */
	size_t		 live;		/* jobs in the ring */
	bool		 input_done;	/* every job was submitted */
	bool		 stop;		/* submit no more: halted or failed */
	bool		 halted;	/* by --halt */
	bool		 failed_fast;	/* --fail-fast: a job has failed */
	procq_queue	*q;
	pthread_mutex_t	 lock;
	struct input	*in;
	struct values	*ahead;		/* read before the queue was made */
	size_t		 nahead;
	size_t		 ahead_next;
	size_t		 running;
	struct median	*median;	/* --timeout N%: succeeded runtimes */
	double		 t0;
	bool		 progress;	/* draw the progress bar */
	FILE		*joblog;
	struct json_report json;
	struct seqset	 skip;		/* --resume: seqs not to run */
	struct cli_summary summary;
	int		 error;		/* errno of the first I/O failure */
	const char	*error_what;
	bool		 input_stopped;	/* INPUT_STOP: exit status 255 */
};

/* clang-format on */

/* jobs.c: the ring of live jobs; c->lock held. */
int	 jobs_init(struct cli *c, size_t window);
void	 jobs_fini(struct cli *c);
struct job *job_new(size_t seq, struct values *v);
void	 job_free(struct job *j);
struct job *jobs_get(struct cli *c, size_t seq);
void	 jobs_insert(struct cli *c, struct job *j);
bool	 jobs_room(struct cli *c, size_t seq);
void	 jobs_retire(struct cli *c, struct job *j);

/* halt.c: --halt and --timeout N%. */
int	 halt_parse(const char *s, struct halt *h);
void	 halt_check(struct cli *c);		/* hooks, c->lock held */
void	 halt_fail_fast(struct cli *c, const struct job *failed,
    const procq_result *r);			/* hooks, c->lock held */
struct median *median_new(void);
void	 median_free(struct median *m);
int	 median_add(struct median *m, double v);
double	 median_get(const struct median *m);	/* 0 = none yet */
void	 overdue_check(struct cli *c);		/* watcher */

/*
 * output.c: the jobs' output, written by a thread of its own.  The hooks
 * call output_chunk(), output_final() and output_skip() with c->lock
 * held; none of them waits for a write.  output_start() comes after
 * procq_start() (no thread may exist when the fork server is made) and
 * before any job starts; output_stop(), without c->lock, after the queue
 * is shut down.
 */
int	 output_start(struct cli *c);
void	 output_stop(struct cli *c);
void	 output_chunk(struct cli *c, struct job *j, int attempt, int stream,
	    const char *p, size_t len);
void	 output_final(struct cli *c, struct job *j);
void	 output_skip(struct cli *c, size_t seq);
void	 output_command(struct cli *c, const struct job *j);
void	 output_job_free(struct job_output *jo);
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

/* json.c */
int	 json_begin(struct json_report *jr, FILE *fp);
int	 json_job(struct json_report *jr, const struct job *j,
    const procq_result *r);
int	 json_end(struct json_report *jr, const struct cli_totals *t,
    bool interrupted);

/* resume.c */
int	 resume_load(const char *path, bool failed_only, struct seqset *skip);
int	 retry_load(const char *path, char ***cmds, size_t *n, struct seqset *done);
bool	 seqset_has(const struct seqset *s, size_t seq);
void	 seqset_free(struct seqset *s);

/* cpus.c: the CPUs as GNU parallel counts them; cpus_count() in the
 * unit chosen (threads unless told), what -j and --load count. */
enum cpus_unit {
	CPUS_THREADS,
	CPUS_CORES,
	CPUS_SOCKETS
};

struct cpu_counts {
	long	 sockets;
	long	 cores;
	long	 threads;
};

void	 cpus_use(enum cpus_unit unit);
void	 cpus_read(struct cpu_counts *c);
long	 cpus_count(void);

/* info.c: the options that print a fact and exit; as args_parse(). */
int	 info_run(const struct cli_opts *o);

/* results.c: the --results directory of a job. */
char	*results_dir(const char *dir, const struct job *j);

/* summary.c; c->lock held. */
bool	 summary_ok(const struct cli_totals *t);
void	 summary_note(struct cli_summary *s, const struct job *j,
    const procq_result *r);
void	 summary_print(const struct cli_summary *s, FILE *fp);
void	 summary_free(struct cli_summary *s);

/* hooks.c */
void	 hooks_install(procq_config *cfg, struct cli *c);

/* Where the job slot number goes in a command: into argv[word], at
 * byte offset `offset` of the word as sent; zero-padded to `width`
 * digits when that is not 0 ({0%}). */
struct slot_pos {
	uint32_t	 word;
	uint32_t	 offset;
	uint32_t	 width;
};

/* How a replacement string edits a value (template.c, plus.c); a and b
 * point into the template. */
enum edit_op {
	EDIT_NONE,
	EDIT_NOEXT,		/* {.} */
	EDIT_BASE,		/* {/} */
	EDIT_DIR,		/* {//} */
	EDIT_BASE_NOEXT,	/* {/.} */
	EDIT_DIRPART,		/* {+/} */
	EDIT_EXT1,		/* {+.} */
	EDIT_EXT2,		/* {+..} */
	EDIT_EXT3,		/* {+...} */
	EDIT_NOEXT2,		/* {..} */
	EDIT_NOEXT3,		/* {...} */
	EDIT_BASE_NOEXT2,	/* {/..} */
	EDIT_BASE_NOEXT3,	/* {/...} */
	EDIT_DEFAULT,		/* {:-a} */
	EDIT_SKIP,		/* {:n} */
	EDIT_SUBSTR,		/* {:n:m} */
	EDIT_PREFIX,		/* {#a} */
	EDIT_PREFIX_LONG,	/* {##a} */
	EDIT_SUFFIX,		/* {%a} */
	EDIT_SUFFIX_LONG,	/* {%%a} */
	EDIT_SUBST,		/* {/a/b} */
	EDIT_SUBST_ALL,		/* {//a/b} */
	EDIT_SUBST_START,	/* {/#a/b} */
	EDIT_SUBST_END,		/* {/%a/b} */
	EDIT_UPPER,		/* {^a} */
	EDIT_UPPER_ALL,		/* {^^a} */
	EDIT_LOWER,		/* {,a} */
	EDIT_LOWER_ALL		/* {,,a} */
};

struct edit {
	enum edit_op	 op;
	const char	*a;
	size_t		 alen;
	const char	*b;
	size_t		 blen;
	size_t		 n, m;
};

/* What a --plus string stands for. */
enum plus_kind {
	PLUS_NONE,
	PLUS_EDIT,		/* an edit of the values */
	PLUS_TOTAL,		/* {##} */
	PLUS_SEQ0,		/* {0#} */
	PLUS_SLOT0,		/* {0%} */
	PLUS_SLOT,		/* {slot} */
	PLUS_CHOOSE_K,		/* {choose_k} */
	PLUS_UNIQ,		/* {uniq} */
	PLUS_REFUSED
};

/* plus.c: s follows the opening brace (and the position, if any); the
 * length through the closing brace, 0 when s starts none. */
size_t	 plus_parse(const char *s, enum plus_kind *kind, struct edit *e);
char	*plus_apply(const char *v, const struct edit *e);
bool	 plus_valid(const struct edit *e, const char *tmpl);

/* The options of one run of a command. */
struct run_opts {
	const struct slot_pos *slot;	/* ascending; NULL = none */
	size_t		 nslot;
	const void	*in;		/* its standard input */
	size_t		 in_len;
	bool		 has_in;	/* else the worker's: /dev/null */
	const char	*underscore;	/* $_ to set; NULL = leave it */
	int		 nice;
	bool		 has_nice;
	size_t		 memfree;	/* 0 = none */
	double		 load;		/* 0 = none */
	bool		 kept;		/* a kept shell may run it */
	bool		 fork;		/* --max-cpu: fork(), not vfork() */
};

/* runner.c: the worker side, and how the supervisor packs a run's
 * options, the third element of the task's arguments. */
int	 runner_task(procq_call *call);
int	 runner_pack_opts(msgpack_packer *pk, const struct run_opts *o);
/* ... and what kept.c shares of it. */
#define RUNNER_VARS	6
struct runner_vars {			/* a command's own variables */
	char	*var[RUNNER_VARS];	/* "NAME=VALUE" */
	int	 n;
};
int	 runner_vars(struct runner_vars *v, uint64_t seq, int attempt, int slot,
    const char *underscore);
void	 runner_vars_free(struct runner_vars *v);
_Noreturn void runner_child_failed(int status, int e);
int	 runner_exec_error(int fd);
void	 runner_close(int *fd);
double	 runner_clock(void);
void	 runner_block(int how);
void	 runner_release(void);
bool	 runner_ending(void);
int	 runner_drain(procq_call *c, int fd, int stream);

/* kept.c: a shell kept in the worker, for commands of one builtin. */
struct kept_job {
	const char	*shell;		/* the shell's path */
	const char	*line;		/* the command line: no newline */
	uint64_t	 seq;
	int		 attempt;
	int		 slot;		/* 0 = none */
};
int	 kept_run(procq_call *c, const struct kept_job *j, int *status,
    double *ran);
const char *signal_name(int sig, char *buf, size_t len);

/* gate.c: in a worker, waits until --memfree and --load let a command
 * start. */
void	 gate_wait(size_t memfree, double load);

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
