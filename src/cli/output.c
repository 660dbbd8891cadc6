/*
 * The jobs' output.  By default a job's standard output and error are
 * spooled (spool.c) until the job is final, then handed whole to the
 * writer thread (writer.c), stdout then stderr, so that jobs never
 * interleave; with --keep-order a job also waits for every earlier one.
 * Only the last attempt's output is printed: a retry starts afresh.
 *
 * With --line-buffer every complete line is handed over as it comes, in
 * batches: the lines of an attempt that fails have been printed by then
 * and stay.  A last line without its newline is given one.  With a tag
 * (--tag, --tagstring) every line begins with the tag and a tab.  With
 * --results a job's output goes to files in its directory instead.
 *
 * With --files a job's standard output goes to a file of its own, named
 * on procq's standard output once the job is final, in place of the
 * output; its standard error is printed as without.  With --ungroup
 * every chunk is handed over as it comes, lines of jobs mixed.
 *
 * All of it runs with c->lock held, but output_start() and output_stop();
 * nothing here waits for procq's standard output or error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

/* What a job has said so far. */
struct job_output {
	size_t		 seq;
	int		 attempt;	/* the attempt the output is from */
	struct spool	 sp[2];		/* stdout and stderr of the attempt;
					 * --line-buffer: their partial line */
	bool		 open[2];	/* a line is begun: no tag before more */
	int		 stored[2];	/* --results: the attempt in the file */
	char		*file;		/* --files: where stdout goes */
};

/* --keep-order: jobs final before an earlier one, a heap by seq. */
static struct {
	struct job_output **v;
	size_t		 n;
	size_t		 cap;
	size_t		 next;		/* the seq to print next */
} held;

/* A chunk with its tags; the hooks' scratch. */
static struct buf tagged;

static const char *const store_names[2] = { "stdout", "stderr" };

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
	char msg[PATH_MAX + 256];

	if (c->error != 0)
		return false;
	c->error = err;
	c->error_what = what;
	if (err != EPIPE) {
		progress_clear(c);
		snprintf(msg, sizeof msg, "procq: %s: %s\n", what,
		    strerror(err));
		writer_notice(msg);
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

static struct job_output *
output_new(size_t seq)
{
	struct job_output *jo;

	if ((jo = calloc(1, sizeof *jo)) != NULL)
		jo->seq = seq;
	return jo;
}

void
output_job_free(struct job_output *jo)
{
	if (jo == NULL)
		return;
	spool_free(&jo->sp[0]);
	spool_free(&jo->sp[1]);
	free(jo->file);
	free(jo);
}

/* The chunk with the tag and a tab before every line it begins; *len is
 * updated.  NULL when out of memory. */
static const char *
output_tag(const char *tag, bool *open, const char *p, size_t *len)
{
	const char *end = p + *len, *nl;
	size_t n;

	tagged.len = 0;
	while (p < end) {
		if (!*open && buf_append(&tagged, tag, strlen(tag)) != 0)
			return NULL;
		if (!*open && buf_append(&tagged, "\t", 1) != 0)
			return NULL;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl + 1 - p) : (size_t)(end - p);
		if (buf_append(&tagged, p, n) != 0)
			return NULL;
		*open = nl == NULL;
		p += n;
	}
	*len = tagged.len;
	return tagged.data;
}

/* --line-buffer: a partial line is ended and handed over. */
static void
output_line_end(struct cli *c, struct job_output *jo, int i)
{
	jo->open[i] = false;
	if (spool_empty(&jo->sp[i]))
		return;
	if (spool_append(&jo->sp[i], "\n", 1) != 0 ||
	    writer_queue(i + 1, &jo->sp[i]) != 0)
		cli_fail(c, "spooling output", errno);
}

/* A new attempt: the output of the last one is dropped, but what
 * --line-buffer printed of it. */
static void
output_attempt(struct cli *c, struct job_output *jo, int attempt)
{
	for (int i = 0; i < 2; i++) {
		if (c->opt.line_buffer)
			output_line_end(c, jo, i);
		spool_free(&jo->sp[i]);
		jo->open[i] = false;
	}
	jo->attempt = attempt;
}

static void
output_group(struct cli *c, struct job *j, int i, const char *p, size_t len)
{
	struct job_output *jo = j->out;

	if (j->tag != NULL &&
	    (p = output_tag(j->tag, &jo->open[i], p, &len)) == NULL)
		cli_fail(c, "buffering output", errno);
	else if (spool_append(&jo->sp[i], p, len) != 0)
		cli_fail(c, "spooling output", errno);
}

/*
 * --line-buffer: the complete lines go to the writer at once, the rest
 * waits in the job's spool.  A line begun in an earlier chunk goes as a
 * piece of its own, the others join what the writer has yet to write.
 */
static int
output_lines(struct job *j, int i, const char *p, size_t len)
{
	struct job_output *jo = j->out;
	struct spool *part = &jo->sp[i];
	const char *end, *last, *first;

	if (j->tag != NULL &&
	    (p = output_tag(j->tag, &jo->open[i], p, &len)) == NULL)
		return -1;
	end = p + len;
	if ((last = memrchr(p, '\n', len)) == NULL)
		return spool_append(part, p, len);
	last++;
	if (!spool_empty(part)) {
		first = (const char *)memchr(p, '\n', len) + 1;
		if (spool_append(part, p, (size_t)(first - p)) != 0 ||
		    writer_queue(i + 1, part) != 0)
			return -1;
		p = first;
	}
	if (last > p && writer_append(i + 1, p, (size_t)(last - p)) != 0)
		return -1;
	return spool_append(part, last, (size_t)(end - last));
}

/* Reported once, the first failure of --results. */
static void
output_store_fail(struct cli *c, const char *dir, int err)
{
	static char what[PATH_MAX + 64];

	if (c->error != 0)
		return;
	snprintf(what, sizeof what, "--results '%s'", dir);
	cli_fail(c, what, err);
}

/* mkdir -p */
static int
output_mkdirs(const char *dir)
{
	char *path, *s;
	int rc = 0;

	if ((path = strdup(dir)) == NULL)
		return -1;
	for (s = path + 1; rc == 0 && *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0777) != 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (rc == 0 && mkdir(path, 0777) != 0 && errno != EEXIST)
		rc = -1;
	free(path);
	return rc;
}

/* dir/name for writing, dir made when missing. */
static int
output_store_open(const char *dir, const char *name, int flags)
{
	char *path;
	int fd, err;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -1;
	flags |= O_WRONLY | O_CREAT | O_CLOEXEC;
	if ((fd = open(path, flags, 0666)) < 0 && errno == ENOENT &&
	    output_mkdirs(dir) == 0)
		fd = open(path, flags, 0666);
	err = errno;
	free(path);
	errno = err;
	return fd;
}

/* Writes p to dir/name, after what it holds when append. */
static int
output_store_write(const char *dir, const char *name, bool append,
    const char *p, size_t len)
{
	int fd, err;

	fd = output_store_open(dir, name, append ? O_APPEND : O_TRUNC);
	if (fd < 0)
		return -1;
	if (write_all(fd, p, len) != 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return close(fd);
}

/* --results: the output goes to its file as it comes; a new attempt
 * starts the file again. */
static void
output_store(struct cli *c, struct job *j, int i, const char *p, size_t len)
{
	struct job_output *jo = j->out;
	bool append = jo->stored[i] == jo->attempt;

	if (output_store_write(j->results, store_names[i], append, p, len)) {
		output_store_fail(c, j->results, errno);
		return;
	}
	jo->stored[i] = jo->attempt;
}

static int
output_store_int(const char *dir, const char *name, long long v)
{
	char text[32];
	int n = snprintf(text, sizeof text, "%lld", v);

	return output_store_write(dir, name, false, text, (size_t)n);
}

/* --results of a final job: its files of output (empty when its last
 * attempt said nothing) and its seq, as GNU parallel has them (the exit
 * status is the joblog's).  Nothing for a job that never ran. */
static void
output_store_final(struct cli *c, struct job *j, struct job_output *jo)
{
	int attempt = j->attempts > 0 ? j->attempts : jo ? jo->attempt : 0;
	int rc = 0;

	if (attempt == 0)
		return;
	for (int i = 0; rc == 0 && i < 2; i++)
		if (jo == NULL || jo->stored[i] != attempt)
			rc = output_store_write(j->results, store_names[i],
			    false, "", 0);
	if (rc == 0)
		rc = output_store_int(j->results, "seq", (long long)j->seq);
	if (rc != 0)
		output_store_fail(c, j->results, errno);
}

/* --files: a new file, as GNU parallel names them, in $TMPDIR. */
static char *
output_file_new(void)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if (asprintf(&path, "%s/parXXXXXX.par", dir) < 0)
		return NULL;
	if ((fd = mkstemps(path, 4)) < 0) {
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

/* --files: stdout goes to the job's file, started again by a new
 * attempt. */
static void
output_file(struct cli *c, struct job_output *jo, const char *p, size_t len)
{
	bool append = jo->stored[0] == jo->attempt;
	int fd, err;

	if (jo->file == NULL && (jo->file = output_file_new()) == NULL) {
		cli_fail(c, "--files: creating a file", errno);
		return;
	}
	fd = open(jo->file,
	    O_WRONLY | O_CLOEXEC | (append ? O_APPEND : O_TRUNC));
	if (fd < 0 || write_all(fd, p, len) != 0) {
		err = errno;
		if (fd >= 0)
			close(fd);
		cli_fail(c, "--files: writing a file", err);
		return;
	}
	if (close(fd) != 0) {
		cli_fail(c, "--files: writing a file", errno);
		return;
	}
	jo->stored[0] = jo->attempt;
}

/* --files of a final job that ran: the name of the file of its last
 * attempt's stdout (empty when it said nothing), after its tag; with
 * --results, the stdout file there. */
static void
output_file_final(struct cli *c, struct job *j, struct job_output *jo)
{
	int attempt = j->attempts > 0 ? j->attempts : jo->attempt;
	struct buf line = { 0 };
	char *store = NULL;
	const char *name;

	if (attempt == 0)
		return;
	if (j->results == NULL && jo->stored[0] != attempt) {
		jo->attempt = attempt;
		output_file(c, jo, "", 0);
		if (c->error != 0)
			return;
	}
	if (j->results != NULL &&
	    asprintf(&store, "%s/%s", j->results, store_names[0]) < 0) {
		cli_fail(c, "buffering output", errno);
		return;
	}
	name = store != NULL ? store : jo->file;
	if ((j->tag != NULL && buf_append(&line, j->tag, strlen(j->tag))) ||
	    (j->tag != NULL && buf_append(&line, "\t", 1)) ||
	    buf_append(&line, name, strlen(name)) ||
	    buf_append(&line, "\n", 1) ||
	    spool_append(&jo->sp[0], line.data, line.len) != 0)
		cli_fail(c, "spooling output", errno);
	buf_free(&line);
	free(store);
}

/* -t: the command, on stderr as it starts (each attempt), after the
 * output queued before: a piece of its own. */
void
output_command(struct cli *c, const struct job *j)
{
	struct spool sp = { 0 };

	if (c->error != 0)
		return;
	if (spool_append(&sp, j->cmdline, strlen(j->cmdline)) != 0 ||
	    spool_append(&sp, "\n", 1) != 0 ||
	    writer_queue(STDERR_FILENO, &sp) != 0)
		cli_fail(c, "spooling output", errno);
	spool_free(&sp);
}

void
output_chunk(struct cli *c, struct job *j, int attempt, int stream,
    const char *p, size_t len)
{
	int i = stream - 1;

	if ((stream != CLI_STREAM_OUT && stream != CLI_STREAM_ERR) ||
	    c->error != 0)
		return;
	if (j->out == NULL && (j->out = output_new(j->seq)) == NULL) {
		cli_fail(c, "buffering output", errno);
		return;
	}
	if (attempt < j->out->attempt)
		return;		/* a late report of an earlier attempt */
	if (attempt > j->out->attempt)
		output_attempt(c, j->out, attempt);
	if (j->results != NULL)
		output_store(c, j, i, p, len);
	else if (c->opt.files && stream == CLI_STREAM_OUT)
		output_file(c, j->out, p, len);
	else if (c->opt.ungroup) {
		if (writer_append(stream, p, len) != 0)
			cli_fail(c, "spooling output", errno);
	} else if (c->opt.line_buffer) {
		if (output_lines(j, i, p, len) != 0)
			cli_fail(c, "spooling output", errno);
	} else
		output_group(c, j, i, p, len);
}

/* The job's output to the writer, and it is freed. */
static void
output_print(struct cli *c, struct job_output *jo)
{
	for (int i = 0; i < 2 && c->error == 0; i++)
		if (!spool_empty(&jo->sp[i]) &&
		    writer_queue(i + 1, &jo->sp[i]) != 0)
			cli_fail(c, "spooling output", errno);
	output_job_free(jo);
}

static void
held_swap(size_t a, size_t b)
{
	struct job_output *t = held.v[a];

	held.v[a] = held.v[b];
	held.v[b] = t;
}

static int
held_push(struct job_output *jo)
{
	struct job_output **v;
	size_t i, up, cap;

	if (held.n == held.cap) {
		cap = held.cap ? held.cap * 2 : 64;
		if ((v = reallocarray(held.v, cap, sizeof *v)) == NULL)
			return -1;
		held.v = v;
		held.cap = cap;
	}
	held.v[i = held.n++] = jo;
	for (; i > 0 && held.v[up = (i - 1) / 2]->seq > jo->seq; i = up)
		held_swap(i, up);
	return 0;
}

static struct job_output *
held_pop(void)
{
	struct job_output *top = held.v[0];
	size_t i = 0, kid;

	held.v[0] = held.v[--held.n];
	while ((kid = 2 * i + 1) < held.n) {
		if (kid + 1 < held.n &&
		    held.v[kid + 1]->seq < held.v[kid]->seq)
			kid++;
		if (held.v[i]->seq <= held.v[kid]->seq)
			break;
		held_swap(i, kid);
		i = kid;
	}
	return top;
}

/* A final job (or a skipped seq): printed now, or with --keep-order once
 * every earlier one is. */
static void
output_done(struct cli *c, struct job_output *jo)
{
	if (!c->opt.keep_order) {
		output_print(c, jo);
		return;
	}
	if (held_push(jo) != 0) {
		cli_fail(c, "buffering output", errno);
		output_job_free(jo);
		return;
	}
	while (held.n > 0 && held.v[0]->seq <= held.next) {
		jo = held_pop();
		if (jo->seq == held.next)
			held.next++;
		output_print(c, jo);
	}
}

/* Takes the job's output; the job itself may be freed after. */
void
output_final(struct cli *c, struct job *j)
{
	struct job_output *jo = j->out;

	j->final = true;
	j->out = NULL;
	if (jo == NULL && (jo = output_new(j->seq)) == NULL) {
		cli_fail(c, "buffering output", errno);
		return;
	}
	/* The last attempt said nothing: what is held is an earlier one's. */
	if (j->attempts > jo->attempt)
		output_attempt(c, jo, j->attempts);
	if (j->results != NULL)
		output_store_final(c, j, jo);
	for (int i = 0; i < 2; i++) {
		if (c->opt.line_buffer)
			output_line_end(c, jo, i);
		else if (jo->open[i] && spool_append(&jo->sp[i], "\n", 1) != 0)
			cli_fail(c, "spooling output", errno);
	}
	/* After: --line-buffer would end its line again. */
	if (c->opt.files)
		output_file_final(c, j, jo);
	output_done(c, jo);
}

/* A seq that will never run: --keep-order does not wait for it. */
void
output_skip(struct cli *c, size_t seq)
{
	struct job_output *jo;

	if (!c->opt.keep_order)
		return;
	if ((jo = output_new(seq)) == NULL) {
		cli_fail(c, "buffering output", errno);
		return;
	}
	output_done(c, jo);
}

int
output_start(struct cli *c)
{
	held.next = 1;
	return writer_start(c, c->progress);
}

/* What is still held (jobs after one that never became final), in seq
 * order, then everything the writer has. */
void
output_stop(struct cli *c)
{
	pthread_mutex_lock(&c->lock);
	while (held.n > 0)
		output_print(c, held_pop());
	free(held.v);
	memset(&held, 0, sizeof held);
	buf_free(&tagged);
	pthread_mutex_unlock(&c->lock);
	writer_stop();
}
