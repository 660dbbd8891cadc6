/*
 * The task, inside a worker: start the command (vfork() and exec, see
 * runner_start()), capture its
 * standard output and error through pipes and send them to the
 * supervisor as progress reports while it runs, then report how it ended.
 *
 * Its arguments are [seq, [argv...]] or [seq, [argv...], options], the
 * options a map whose keys are each optional:
 *   "slot"   [[word, offset]...]: the job slot number (slots.c), in
 *            decimal, goes into argv[word] at byte offset `offset` of the
 *            word as sent; [word, offset, width] pads it with zeros to
 *            `width` digits.  The positions come in ascending order;
 *            several may name the same place.  Where there are no slots (--mpi)
 *            the task fails.
 *   "stdin"  bin: what the command reads on its standard input, through
 *            a pipe closed after the last byte, or once the command reads
 *            no more.  Without it the command reads the worker's standard
 *            input, /dev/null.
 *   "nice"   int: the command's niceness, set as GNU parallel sets it: a
 *            niceness the worker may not take leaves the worker's.
 *   "memfree" uint, "load" float: the command starts only once the
 *            machine has that many bytes free and fewer processes
 *            running (gate.c).
 *   "kept"   true: the command is one builtin of the shell, for the
 *            worker's kept shell (kept.c).
 *   "fork"   true: the command starts with fork(), not vfork(), so that
 *            the library's fork handlers give it the attempt's CPU limit
 *            (--max-cpu).
 * Other keys are refused: a later procq may mean something by them.
 *
 * Its progress reports:
 *   [attempt, 1 or 2, bytes]       the command's standard output (1) or
 *                                  error (2), in chunks
 *   [attempt, 0, status, signal]   as soon as the command has exited (its
 *                                  status, else -1) or was killed (the
 *                                  signal, else -1), ahead of what the
 *                                  processes it started may still write;
 *                                  not when procq is ending the attempt
 *                                  (a timeout, a cancel) as it exits
 *   [attempt, 3, seconds]          right after that when such processes
 *                                  hold its standard output or error
 *                                  open: the job lasts until they close
 *                                  them, or until the attempt times out.
 *                                  seconds: how long the command ran.
 *
 * The command is a child of the worker and stays in the worker's process
 * group, so a timeout or a cancel, which signals that group, reaches it.
 * While the command runs the worker keeps SIGTERM blocked: it waits for
 * the command to finish (the kill grace is the command's), then dies of
 * the SIGTERM left pending, without reporting a result.  SIGPIPE is
 * blocked as well: a command that exits without reading all of its input
 * must not kill the worker that writes it.
 *
 * The CPU time limit (--max-cpu) is the library's: a process a task forks
 * gets what the attempt has left as its own RLIMIT_CPU.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

/* Output goes out in reports of at most this many bytes. */
#define RUNNER_CHUNK	(64 * 1024)
/* Without a pidfd: how often to look whether the command has exited, in
 * milliseconds. */
#define RUNNER_REAP_MS	10

/* The task's arguments, unpacked: they point into the call's. */
struct runner_args {
	uint64_t		 seq;
	const msgpack_object	*words;
	const msgpack_object	*slot;		/* positions, or NULL */
	const char		*in;
	size_t			 in_len;
	bool			 has_in;
	const msgpack_object	*underscore;	/* a string, or NULL */
	int64_t			 nice;
	bool			 has_nice;
	uint64_t		 memfree;
	double			 load;
	bool			 kept;
	bool			 fork;
};

/* What the child needs to become the command. */
struct runner_child {
	char	**argv;
	char	**envp;		/* the worker's environment and vars */
	struct runner_vars vars;
	uint64_t  seq;
	int	  attempt;
	int	  slot;		/* 0 = none */
	char	 *underscore;	/* $_, or NULL */
	int	  out;		/* its stdout, stderr and stdin, or -1 */
	int	  err;
	int	  in;
	int	  status;	/* tells the exec's errno */
	pid_t	  parent;
	int	  nice;
	bool	  has_nice;
};

/* A command while it runs. */
struct runner_proc {
	pid_t		 pid;
	int		 pidfd;		/* -1: waitpid() polled instead */
	int		 out;		/* read ends; -1 at end of file */
	int		 err;
	int		 in;		/* write end of its stdin; -1 closed */
	const char	*in_data;	/* what is left to write there */
	size_t		 in_left;
	double		 started;
	double		 ran;		/* seconds, once it has exited */
	bool		 exited;
	bool		 lost;		/* reaped elsewhere: no status */
	int		 status;
};

/* A command's pipes. */
enum {
	RUNNER_OUT,
	RUNNER_ERR,
	RUNNER_STATUS,
	RUNNER_IN,
	RUNNER_PIPES
};

const char *
signal_name(int sig, char *buf, size_t len)
{
#ifdef HAVE_SIGABBREV_NP
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev != NULL) {
		snprintf(buf, len, "SIG%s", abbrev);
		return buf;
	}
#endif
	snprintf(buf, len, "signal %d", sig);
	return buf;
}

double
runner_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
runner_pack_str(msgpack_packer *pk, const char *s)
{
	return msgpack_pack_str_with_body(pk, s, strlen(s));
}

static int
runner_pack_slot(msgpack_packer *pk, const struct run_opts *o)
{
	if (runner_pack_str(pk, CLI_OPT_SLOT) != 0 ||
	    msgpack_pack_array(pk, o->nslot) != 0)
		return -1;
	for (size_t i = 0; i < o->nslot; i++) {
		bool padded = o->slot[i].width > 0;

		if (msgpack_pack_array(pk, padded ? 3 : 2) != 0 ||
		    msgpack_pack_uint32(pk, o->slot[i].word) != 0 ||
		    msgpack_pack_uint32(pk, o->slot[i].offset) != 0 ||
		    (padded && msgpack_pack_uint32(pk, o->slot[i].width) != 0))
			return -1;
	}
	return 0;
}

static int
runner_pack_in(msgpack_packer *pk, const struct run_opts *o)
{
	if (runner_pack_str(pk, CLI_OPT_STDIN) != 0)
		return -1;
	return msgpack_pack_bin_with_body(pk, o->in, o->in_len);
}

/* --nice, --memfree and --load, each when given. */
static int
runner_pack_start(msgpack_packer *pk, const struct run_opts *o)
{
	if (o->has_nice &&
	    (runner_pack_str(pk, CLI_OPT_NICE) != 0 ||
		msgpack_pack_int(pk, o->nice) != 0))
		return -1;
	if (o->memfree > 0 &&
	    (runner_pack_str(pk, CLI_OPT_MEMFREE) != 0 ||
		msgpack_pack_uint64(pk, o->memfree) != 0))
		return -1;
	if (o->load > 0 &&
	    (runner_pack_str(pk, CLI_OPT_LOAD) != 0 ||
		msgpack_pack_double(pk, o->load) != 0))
		return -1;
	return 0;
}

int
runner_pack_opts(msgpack_packer *pk, const struct run_opts *o)
{
	size_t n = (o->nslot > 0) + o->has_in + (o->underscore != NULL) +
	    o->has_nice + (o->memfree > 0) + (o->load > 0) + o->kept + o->fork;

	if (msgpack_pack_map(pk, n) != 0)
		return -1;
	if (o->nslot > 0 && runner_pack_slot(pk, o) != 0)
		return -1;
	if (o->has_in && runner_pack_in(pk, o) != 0)
		return -1;
	if (o->underscore != NULL &&
	    (runner_pack_str(pk, CLI_OPT_UNDERSCORE) != 0 ||
		runner_pack_str(pk, o->underscore) != 0))
		return -1;
	if (o->kept &&
	    (runner_pack_str(pk, CLI_OPT_KEPT) != 0 ||
		msgpack_pack_true(pk) != 0))
		return -1;
	if (o->fork &&
	    (runner_pack_str(pk, CLI_OPT_FORK) != 0 ||
		msgpack_pack_true(pk) != 0))
		return -1;
	return runner_pack_start(pk, o);
}

static bool
runner_is(const msgpack_object *o, const char *s)
{
	size_t len = strlen(s);

	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == len &&
	    memcmp(o->via.str.ptr, s, len) == 0;
}

/* A non-empty array of strings. */
static bool
runner_words_ok(const msgpack_object *words)
{
	if (words->type != MSGPACK_OBJECT_ARRAY || words->via.array.size == 0)
		return false;
	for (uint32_t i = 0; i < words->via.array.size; i++) {
		if (words->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
			return false;
	}
	return true;
}

/* [word, offset] pairs, or [word, offset, width], within the words, in
 * ascending order. */
static bool
runner_slot_ok(const msgpack_object *slot, const msgpack_object *words)
{
	uint64_t word = 0, offset = 0, w, o, width;

	if (slot->type != MSGPACK_OBJECT_ARRAY)
		return false;
	for (uint32_t i = 0; i < slot->via.array.size; i++) {
		const msgpack_object *pos = &slot->via.array.ptr[i];

		if ((procq_unpack(pos, "uu", &w, &o) != 0 &&
			(procq_unpack(pos, "uuu", &w, &o, &width) != 0 ||
			    width > 32)) ||
		    w >= words->via.array.size ||
		    o > words->via.array.ptr[w].via.str.size || w < word ||
		    (w == word && o < offset))
			return false;
		word = w;
		offset = o;
	}
	return true;
}

/* "nice", "memfree" or "load", well formed. */
static bool
runner_start_opt(const msgpack_object *k, const msgpack_object *v,
    struct runner_args *a)
{
	if (runner_is(k, CLI_OPT_NICE) &&
	    (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
		v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) &&
	    v->via.i64 >= -20 && v->via.i64 <= 19) {
		a->nice = v->via.i64;
		a->has_nice = true;
		return true;
	}
	if (runner_is(k, CLI_OPT_MEMFREE) &&
	    v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		a->memfree = v->via.u64;
		return true;
	}
	if (runner_is(k, CLI_OPT_LOAD) &&
	    (v->type == MSGPACK_OBJECT_FLOAT64 ||
		v->type == MSGPACK_OBJECT_FLOAT32) &&
	    v->via.f64 > 0) {
		a->load = v->via.f64;
		return true;
	}
	return false;
}

/* "kept": the words are [shell, -c, line], the line of one line. */
static bool
runner_kept_ok(const struct runner_args *a)
{
	const msgpack_object *w = a->words->via.array.ptr;

	return a->words->via.array.size == 3 && runner_is(&w[1], "-c") &&
	    memchr(w[2].via.str.ptr, '\n', w[2].via.str.size) == NULL &&
	    memchr(w[2].via.str.ptr, '\0', w[2].via.str.size) == NULL;
}

static int
runner_opts(const msgpack_object *m, struct runner_args *a, char *why,
    size_t len)
{
	if (m->type != MSGPACK_OBJECT_MAP) {
		snprintf(why, len, "the options are not a map");
		return -1;
	}
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		const msgpack_object *v = &m->via.map.ptr[i].val;

		if (runner_is(k, CLI_OPT_SLOT) && runner_slot_ok(v, a->words))
			a->slot = v;
		else if (runner_is(k, CLI_OPT_STDIN) &&
		    v->type == MSGPACK_OBJECT_BIN) {
			a->in = v->via.bin.ptr;
			a->in_len = v->via.bin.size;
			a->has_in = true;
		} else if (runner_is(k, CLI_OPT_UNDERSCORE) &&
		    v->type == MSGPACK_OBJECT_STR)
			a->underscore = v;
		else if (runner_is(k, CLI_OPT_KEPT) &&
		    v->type == MSGPACK_OBJECT_BOOLEAN && runner_kept_ok(a))
			a->kept = v->via.boolean;
		else if (runner_is(k, CLI_OPT_FORK) &&
		    v->type == MSGPACK_OBJECT_BOOLEAN)
			a->fork = v->via.boolean;
		else if (runner_start_opt(k, v, a))
			continue;
		else if (runner_is(k, CLI_OPT_SLOT) ||
		    runner_is(k, CLI_OPT_STDIN) ||
		    runner_is(k, CLI_OPT_UNDERSCORE) ||
		    runner_is(k, CLI_OPT_KEPT) || runner_is(k, CLI_OPT_FORK) ||
		    runner_is(k, CLI_OPT_NICE) ||
		    runner_is(k, CLI_OPT_MEMFREE) ||
		    runner_is(k, CLI_OPT_LOAD)) {
			snprintf(why, len, "malformed option '%.*s'",
			    (int)k->via.str.size, k->via.str.ptr);
			return -1;
		} else if (k->type == MSGPACK_OBJECT_STR) {
			snprintf(why, len, "unknown option '%.*s'",
			    (int)k->via.str.size, k->via.str.ptr);
			return -1;
		} else {
			snprintf(why, len, "an option's name is not a string");
			return -1;
		}
	}
	return 0;
}

/* [seq, [argv...]] or [seq, [argv...], options]. */
static bool
runner_args_ok(const msgpack_object *args)
{
	const msgpack_object *v;

	if (args->type != MSGPACK_OBJECT_ARRAY || args->via.array.size < 2 ||
	    args->via.array.size > 3)
		return false;
	v = args->via.array.ptr;
	return v[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    runner_words_ok(&v[1]);
}

static int
runner_parse(procq_call *c, struct runner_args *a, char *why, size_t len)
{
	const msgpack_object *args = procq_call_args(c), *v;

	memset(a, 0, sizeof *a);
	if (!runner_args_ok(args)) {
		snprintf(why, len, "not [seq, argv] or [seq, argv, options]");
		return -1;
	}
	v = args->via.array.ptr;
	a->seq = v[0].via.u64;
	a->words = &v[1];
	if (args->via.array.size == 3)
		return runner_opts(&v[2], a, why, len);
	return 0;
}

static void
runner_free_argv(char **argv)
{
	if (argv == NULL)
		return;
	for (char **p = argv; *p != NULL; p++)
		free(*p);
	free(argv);
}

static int
runner_append(struct buf *b, const char *p, size_t len)
{
	return len > 0 ? buf_append(b, p, len) : 0;
}

/* Word i of the command, with the slot number at each of its positions,
 * NUL-terminated (a msgpack string is not). */
static char *
runner_word(const struct runner_args *a, uint32_t i, int slot)
{
	const msgpack_object *w = &a->words->via.array.ptr[i];
	const char *word = w->via.str.ptr;
	uint32_t npos = a->slot != NULL ? a->slot->via.array.size : 0;
	struct buf b = { 0 };
	size_t at = 0, off;
	char num[48];
	int width;

	for (uint32_t k = 0; k < npos; k++) {
		const msgpack_object *pos;

		pos = a->slot->via.array.ptr[k].via.array.ptr;
		if (pos[0].via.u64 != i)
			continue;
		off = (size_t)pos[1].via.u64;
		width = a->slot->via.array.ptr[k].via.array.size > 2 ?
		    (int)pos[2].via.u64 :
		    0;
		snprintf(num, sizeof num, "%0*d", width, slot);
		if (runner_append(&b, word + at, off - at) != 0 ||
		    runner_append(&b, num, strlen(num)) != 0)
			goto fail;
		at = off;
	}
	if (runner_append(&b, word + at, w->via.str.size - at) != 0 ||
	    buf_append(&b, "", 1) != 0)
		goto fail;
	return b.data;
fail:
	buf_free(&b);
	return NULL;
}

/* A NULL-terminated argv, of one word at least (runner_words_ok()). */
static char **
runner_argv(const struct runner_args *a, int slot)
{
	uint32_t n = a->words->via.array.size;
	char **argv;

	if (n == 0 || (argv = calloc((size_t)n + 1, sizeof *argv)) == NULL)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		if ((argv[i] = runner_word(a, i, slot)) == NULL) {
			runner_free_argv(argv);
			return NULL;
		}
	}
	return argv;
}

/* In the child: tells the worker why the command could not start. */
_Noreturn void
runner_child_failed(int status, int e)
{
	if (write(status, &e, sizeof e) < 0)
		_exit(126);
	_exit(e == ENOENT ? 127 : 126);
}

/* "NAME=VALUE" as the next of the command's own variables. */
static int
runner_var(struct runner_vars *v, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;

	if ((v->var[v->n] = malloc(len)) == NULL)
		return -1;
	snprintf(v->var[v->n++], len, "%s=%s", name, value);
	return 0;
}

static int
runner_var_num(struct runner_vars *v, const char *name, unsigned long long n)
{
	char num[32];

	snprintf(num, sizeof num, "%llu", n);
	return runner_var(v, name, num);
}

/* The command's variables, under procq's names and GNU parallel's
 * (PARALLEL_PID comes from procq's own environment: main.c), and $_ when
 * underscore is not NULL; the kept shell's jobs get them too (kept.c). */
int
runner_vars(struct runner_vars *v, uint64_t seq, int attempt, int slot,
    const char *underscore)
{
	int rc;

	v->n = 0;
	rc = runner_var_num(v, "PROCQ_SEQ", seq) != 0 ||
	    runner_var_num(v, "PARALLEL_SEQ", seq) != 0 ||
	    runner_var_num(v, "PROCQ_ATTEMPT", (unsigned)attempt) != 0;
	if (rc == 0 && slot > 0)
		rc = runner_var_num(v, "PROCQ_SLOT", (unsigned)slot) != 0 ||
		    runner_var_num(v, "PARALLEL_JOBSLOT", (unsigned)slot) != 0;
	if (rc == 0 && underscore != NULL)
		rc = runner_var(v, "_", underscore);
	if (rc != 0)
		runner_vars_free(v);
	return rc;
}

void
runner_vars_free(struct runner_vars *v)
{
	for (int i = 0; i < v->n; i++)
		free(v->var[i]);
	v->n = 0;
}

/* Whether the environment's entry e sets the variable of "NAME=...". */
static bool
runner_same_var(const char *e, const char *var)
{
	size_t len = strcspn(var, "=");

	return strncmp(e, var, len) == 0 && e[len] == '=';
}

/* Which of the command's variables, not yet placed, e sets; -1 if none. */
static int
runner_var_of(const struct runner_vars *v, const bool *used, const char *e)
{
	for (int i = 0; i < v->n; i++) {
		if (!used[i] && runner_same_var(e, v->var[i]))
			return i;
	}
	return -1;
}

/*
 * The command's environment, made before the child is started (a vfork()
 * child must not change the worker's memory): the worker's, with the
 * command's variables as setenv() would have set them, in place of a
 * variable of that name or else at the end, and without the table of
 * slots, which is procq's.
 */
static int
runner_envp(struct runner_child *ch)
{
	bool used[RUNNER_VARS] = { false };
	size_t n = 0, k = 0;
	int i;

	if (runner_vars(&ch->vars, ch->seq, ch->attempt, ch->slot,
		ch->underscore) != 0)
		return -1;
	while (environ[n] != NULL)
		n++;
	if ((ch->envp = calloc(n + RUNNER_VARS + 1, sizeof *ch->envp)) == NULL)
		return -1;
	for (char **e = environ; *e != NULL; e++) {
		if (runner_same_var(*e, SLOTS_ENV "="))
			continue;
		if ((i = runner_var_of(&ch->vars, used, *e)) >= 0)
			used[i] = true;
		ch->envp[k++] = i >= 0 ? ch->vars.var[i] : *e;
	}
	for (i = 0; i < ch->vars.n; i++) {
		if (!used[i])
			ch->envp[k++] = ch->vars.var[i];
	}
	return 0;
}

static void
runner_envp_free(struct runner_child *ch)
{
	free(ch->envp);
	ch->envp = NULL;
	runner_vars_free(&ch->vars);
}

/* In the child, which shares the worker's memory until the exec (see
 * runner_start()): changes none of it. */
static _Noreturn void
runner_exec(const struct runner_child *ch)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(ch->out, STDOUT_FILENO) < 0 ||
	    dup2(ch->err, STDERR_FILENO) < 0 ||
	    (ch->in >= 0 && dup2(ch->in, STDIN_FILENO) < 0))
		_exit(126);
	/* As GNU parallel does: a niceness not allowed leaves the worker's. */
	if (ch->has_nice)
		setpriority(PRIO_PROCESS, 0, ch->nice);
	/* A command outlives no worker. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != ch->parent)
		_exit(126);
	execvpe(ch->argv[0], ch->argv, ch->envp);
	runner_child_failed(ch->status, errno);
}

static int
runner_report(procq_call *c, int stream, const char *p, size_t len)
{
	return procq_call_progress(c, "iiy", procq_call_attempt(c), stream,
	    p, len);
}

/* Reads what the pipe holds and reports it; 1 at end of file. */
int
runner_drain(procq_call *c, int fd, int stream)
{
	static char chunk[RUNNER_CHUNK];
	size_t len = 0;
	ssize_t n;
	int eof = 0;

	for (;;) {
		n = read(fd, chunk + len, sizeof chunk - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			eof = n == 0 || errno != EAGAIN;
			break;
		}
		len += (size_t)n;
		if (len == sizeof chunk) {
			runner_report(c, stream, chunk, len);
			len = 0;
		}
	}
	if (len > 0)
		runner_report(c, stream, chunk, len);
	return eof;
}

static void
runner_read(procq_call *c, int *fd, int stream)
{
	if (*fd >= 0 && runner_drain(c, *fd, stream)) {
		close(*fd);
		*fd = -1;
	}
}

/* Writes what the pipe takes; closes it after the last byte, or when the
 * command no longer reads (EPIPE: SIGPIPE is blocked). */
static void
runner_feed(struct runner_proc *p)
{
	ssize_t n;

	while (p->in_left > 0) {
		n = write(p->in, p->in_data, p->in_left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		p->in_data += n;
		p->in_left -= (size_t)n;
	}
	close(p->in);
	p->in = -1;
}

/* procq is ending the attempt (a timeout, a cancel): the SIGTERM it sent
 * the worker's process group is what the command died of, and the
 * attempt's end is procq's to tell. */
bool
runner_ending(void)
{
	sigset_t pending;

	return sigpending(&pending) == 0 &&
	    sigismember(&pending, SIGTERM) == 1;
}

/*
 * The command has exited: what it wrote is in the pipes now, and goes
 * out before its status.  A pipe still open after that is held by a
 * process it started, which the job waits for: the supervisor hears it.
 */
static void
runner_exited(procq_call *c, struct runner_proc *p)
{
	int attempt = procq_call_attempt(c), code = -1, sig = -1;

	runner_read(c, &p->out, CLI_STREAM_OUT);
	runner_read(c, &p->err, CLI_STREAM_ERR);
	if (p->lost || runner_ending())
		return;
	if (WIFEXITED(p->status))
		code = WEXITSTATUS(p->status);
	else if (WIFSIGNALED(p->status))
		sig = WTERMSIG(p->status);
	procq_call_progress(c, "iiii", attempt, CLI_STREAM_EXIT, code, sig);
	if (p->out >= 0 || p->err >= 0)
		procq_call_progress(c, "iid", attempt, CLI_STREAM_HELD,
		    p->ran);
}

/* Whether the command has exited; flags 0 waits until it has. */
static void
runner_reap(procq_call *c, struct runner_proc *p, int flags)
{
	pid_t r;

	while ((r = waitpid(p->pid, &p->status, flags)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return;
	p->exited = true;
	p->ran = runner_clock() - p->started;
	p->lost = r < 0;
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
	runner_exited(c, p);
}

static void
runner_poll_set(const struct runner_proc *p, struct pollfd pfd[4])
{
	pfd[0] = (struct pollfd){ .fd = p->out, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = p->err, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = p->in, .events = POLLOUT };
	pfd[3] = (struct pollfd){ .fd = p->pidfd, .events = POLLIN };
}

/* Until the command has exited and both pipes are at end of file: the
 * command and everything it started that kept them have finished. */
static void
runner_collect(procq_call *c, struct runner_proc *p)
{
	struct pollfd pfd[4];
	int timeout;

	while (p->out >= 0 || p->err >= 0 || !p->exited) {
		runner_poll_set(p, pfd);
		timeout = p->exited || p->pidfd >= 0 ? -1 : RUNNER_REAP_MS;
		if (poll(pfd, 4, timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents != 0)
			runner_read(c, &p->out, CLI_STREAM_OUT);
		if (pfd[1].revents != 0)
			runner_read(c, &p->err, CLI_STREAM_ERR);
		if (pfd[2].revents != 0)
			runner_feed(p);
		if (!p->exited && (pfd[3].revents != 0 || p->pidfd < 0))
			runner_reap(c, p, WNOHANG);
	}
	if (!p->exited)
		runner_reap(c, p, 0);
	if (p->in >= 0)
		close(p->in);
	if (p->out >= 0)
		close(p->out);
	if (p->err >= 0)
		close(p->err);
}

/* The exec's errno, or 0 once the command runs; closes fd. */
int
runner_exec_error(int fd)
{
	ssize_t n;
	int e = 0;

	while ((n = read(fd, &e, sizeof e)) < 0 && errno == EINTR)
		;
	close(fd);
	return n == (ssize_t)sizeof e ? e : 0;
}

/* Why exec failed, naming --max-mem when it left too little room. */
static const char *
runner_exec_why(int e, char *buf, size_t len)
{
	struct rlimit rl;

	if (e != ENOMEM || getrlimit(RLIMIT_AS, &rl) != 0 ||
	    rl.rlim_cur == RLIM_INFINITY)
		return strerror(e);
	snprintf(buf, len, "%s (the --max-mem limit is too small)",
	    strerror(e));
	return buf;
}

static int
runner_result(procq_call *c, const char *cmd, const struct runner_proc *p,
    int exec_errno)
{
	char name[32], msg[256], buf[128];
	const char *why;

	if (p->lost)
		return procq_call_fail(c, "SpawnError", "lost '%s': %s", cmd,
		    strerror(ECHILD));
	if (exec_errno != 0) {
		why = runner_exec_why(exec_errno, buf, sizeof buf);
		snprintf(msg, sizeof msg, "procq: cannot run '%s': %s\n", cmd,
		    why);
		runner_report(c, CLI_STREAM_ERR, msg, strlen(msg));
		return procq_call_fail(c, "ExecError", "cannot run '%s': %s",
		    cmd, why);
	}
	if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0)
		return 0;
	if (WIFEXITED(p->status))
		return procq_call_fail(c, "ExitStatus", "exit status %d",
		    WEXITSTATUS(p->status));
	return procq_call_fail(c, "Signal", "killed by %s%s",
	    signal_name(WTERMSIG(p->status), name, sizeof name),
	    WCOREDUMP(p->status) ? " (core dumped)" : "");
}

void
runner_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void
runner_close_pipes(int fds[RUNNER_PIPES][2])
{
	for (int i = 0; i < RUNNER_PIPES; i++) {
		runner_close(&fds[i][0]);
		runner_close(&fds[i][1]);
	}
}

/* The pipes of a command: stdin only when it is given one. */
static int
runner_pipes(int fds[RUNNER_PIPES][2], bool has_in)
{
	for (int i = 0; i < RUNNER_PIPES; i++)
		fds[i][0] = fds[i][1] = -1;
	for (int i = 0; i < (has_in ? RUNNER_PIPES : RUNNER_IN); i++) {
		if (pipe2(fds[i], O_CLOEXEC) != 0) {
			runner_close_pipes(fds);
			return -1;
		}
	}
	if (has_in && fcntl(fds[RUNNER_IN][1], F_SETFL, O_NONBLOCK) != 0) {
		runner_close_pipes(fds);
		return -1;
	}
	return 0;
}

static int
runner_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

/* The worker's side of a started command. */
static void
runner_started(struct runner_proc *p, const struct runner_args *a,
    int fds[RUNNER_PIPES][2], pid_t pid)
{
	memset(p, 0, sizeof *p);
	p->pid = pid;
	p->pidfd = runner_pidfd(pid);
	p->started = runner_clock();
	p->out = fds[RUNNER_OUT][0];
	p->err = fds[RUNNER_ERR][0];
	p->in = fds[RUNNER_IN][1];
	p->in_data = a->in;
	p->in_left = a->in_len;
	fcntl(p->out, F_SETFL, O_NONBLOCK);
	fcntl(p->err, F_SETFL, O_NONBLOCK);
	if (p->in >= 0 && p->in_left == 0) {
		close(p->in);
		p->in = -1;
	}
}

void
runner_block(int how)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGPIPE);
	sigprocmask(how, &set, NULL);
}

/*
 * vfork(): the child borrows the worker's memory until it execs, which
 * spares copying the worker's page tables and the faults that copying on
 * write costs after fork() (a tenth of the time of a short job).  The
 * child changes none of that memory but errno (runner_exec()), and runs
 * with the worker's signal handlers until the exec: the worker catches
 * no signal another process sends it, only faults and its own parent's
 * death (worker_reset_signals(), worker_watch_parent()), which a child
 * does not get.  A macro: the child must not return from the function
 * that called vfork().  The clang analyser reports every vfork(); it sees
 * the fork() it stands for.
 */
#ifdef __clang_analyzer__
#define runner_vfork()	fork()
#else
#define runner_vfork()	vfork()
#endif

/* Starts the command; SIGTERM and SIGPIPE stay blocked in the worker.
 * The descriptor that tells the exec's errno in *status. */
static int
runner_start(struct runner_proc *p, const struct runner_args *a,
    struct runner_child *ch, int *status)
{
	int fds[RUNNER_PIPES][2], saved;
	pid_t pid;

	if (runner_pipes(fds, a->has_in) != 0)
		return -1;
	ch->out = fds[RUNNER_OUT][1];
	ch->err = fds[RUNNER_ERR][1];
	ch->status = fds[RUNNER_STATUS][1];
	ch->in = fds[RUNNER_IN][0];
	ch->parent = getpid();
	runner_block(SIG_BLOCK);
	/* The library's CPU limit reaches a child through its fork
	 * handlers, which vfork() does not run. */
	if ((pid = a->fork ? fork() : runner_vfork()) == 0)
		runner_exec(ch);
	saved = errno;
	runner_close(&fds[RUNNER_OUT][1]);
	runner_close(&fds[RUNNER_ERR][1]);
	runner_close(&fds[RUNNER_STATUS][1]);
	runner_close(&fds[RUNNER_IN][0]);
	if (pid < 0) {
		runner_close_pipes(fds);
		errno = saved;
		return -1;
	}
	*status = fds[RUNNER_STATUS][0];
	runner_started(p, a, fds, pid);
	return 0;
}

/* The command is gone: a SIGPIPE raised by writing its input is dropped,
 * and a SIGTERM that came meanwhile (a timeout or a cancel) ends the
 * worker now. */
void
runner_release(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t pipe_set;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
		;
	runner_block(SIG_UNBLOCK);
}

static int
runner_run(procq_call *c, const struct runner_args *a, char **argv, int slot)
{
	struct runner_child ch;
	struct runner_proc p;
	int status, exec_errno, rc;

	memset(&ch, 0, sizeof ch);
	ch.argv = argv;
	ch.seq = a->seq;
	ch.attempt = procq_call_attempt(c);
	ch.slot = slot;
	ch.nice = (int)a->nice;
	ch.has_nice = a->has_nice;
	if (a->underscore != NULL &&
	    (ch.underscore = strndup(a->underscore->via.str.ptr,
		 a->underscore->via.str.size)) == NULL)
		return procq_call_fail(c, "MemoryError", "out of memory");

	if (runner_envp(&ch) != 0 || runner_start(&p, a, &ch, &status) != 0) {
		rc = procq_call_fail(c, "SpawnError", "cannot start '%s': %s",
		    argv[0], strerror(errno));
		runner_release();
		runner_envp_free(&ch);
		free(ch.underscore);
		return rc;
	}
	runner_envp_free(&ch);
	free(ch.underscore);
	exec_errno = runner_exec_error(status);
	runner_collect(c, &p);
	runner_release();
	return runner_result(c, argv[0], &p, exec_errno);
}

/* A command of one builtin, in the worker's kept shell (kept.c): true
 * once it has run there, its outcome in *rc; false when it must run as
 * the others do. */
static bool
runner_kept(procq_call *c, const struct runner_args *a, char **argv, int slot,
    int *rc)
{
	struct kept_job j = { .shell = argv[0],
		.line = argv[2],
		.seq = a->seq,
		.attempt = procq_call_attempt(c),
		.slot = slot };
	struct runner_proc p;

	memset(&p, 0, sizeof p);
	p.out = p.err = p.in = p.pidfd = -1;
	runner_block(SIG_BLOCK);
	if (kept_run(c, &j, &p.status, &p.ran) != 0) {
		runner_release();
		return false;
	}
	p.exited = true;
	p.lost = p.status < 0;
	runner_exited(c, &p);
	runner_release();
	*rc = runner_result(c, argv[0], &p, 0);
	return true;
}

int
runner_task(procq_call *c)
{
	struct runner_args a;
	char why[160], **argv;
	int slot, rc;

	if (runner_parse(c, &a, why, sizeof why) != 0)
		return procq_call_fail(c, "ArgumentError",
		    "malformed command arguments: %s", why);
	if ((slot = slots_claim(why, sizeof why)) < 0)
		return procq_call_fail(c, "SlotError", "%s", why);
	if (a.slot != NULL && slot == 0)
		return procq_call_fail(c, "SlotError",
		    "no job slot here: workers on other hosts have none");
	if (a.memfree > 0 || a.load > 0)
		gate_wait((size_t)a.memfree, a.load);
	if ((argv = runner_argv(&a, slot)) == NULL)
		return procq_call_fail(c, "SpawnError",
		    "cannot start the command: %s", strerror(ENOMEM));
	if (!a.kept || !runner_kept(c, &a, argv, slot, &rc))
		rc = runner_run(c, &a, argv, slot);
	runner_free_argv(argv);
	return rc;
}
