/*
 * --resume and --resume-failed: the seqs that the joblog of an earlier
 * run holds, for this run to skip.  As GNU parallel reads its joblog, a
 * seq is done when any of its lines says so (a job rerun by
 * --resume-failed adds a line and leaves the old one); a log that does
 * not exist yet holds nothing, so that the first run of a script that
 * always resumes runs everything.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Seq, Host, Starttime, JobRuntime, Send, Receive, Exitval, Signal:
 * the fields before the command, which may hold tabs. */
#define RESUME_FIELDS	8

static int
seqset_add(struct seqset *s, size_t seq)
{
	size_t cap;
	size_t *v;

	if (s->n == s->cap) {
		cap = s->cap > 0 ? 2 * s->cap : 256;
		if (cap > SIZE_MAX / sizeof *v ||
		    (v = realloc(s->v, cap * sizeof *v)) == NULL)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = seq;
	return 0;
}

static int
seq_compare(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorted, each seq once, for seqset_has(). */
static void
seqset_sort(struct seqset *s)
{
	size_t n = 0;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof *s->v, seq_compare);
	for (size_t i = 1; i < s->n; i++)
		if (s->v[i] != s->v[n])
			s->v[++n] = s->v[i];
	s->n = n + 1;
}

bool
seqset_has(const struct seqset *s, size_t seq)
{
	return s->n > 0 &&
	    bsearch(&seq, s->v, s->n, sizeof *s->v, seq_compare) != NULL;
}

void
seqset_free(struct seqset *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* A whole field that is a whole number. */
static bool
field_int(const char *s, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return end != s && *end == '\0' && errno == 0;
}

/* A whole field that is a finite number (JobRuntime is padded). */
static bool
field_number(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	return end != s && *end == '\0' && errno == 0 && isfinite(v);
}

/* Splits off the fields before the command, in place. */
static bool
resume_fields(char *line, char *field[RESUME_FIELDS])
{
	char *tab;

	for (int i = 0; i < RESUME_FIELDS; i++) {
		if ((tab = strchr(line, '\t')) == NULL)
			return false;
		*tab = '\0';
		field[i] = line;
		line = tab + 1;
	}
	return true;
}

/* One line after the header: whether it is a job's, and which; *command
 * (unless NULL) its command, which goes on to the end of the line. */
static bool
resume_line(char *line, size_t *seq, bool *succeeded, char **command)
{
	char *field[RESUME_FIELDS];
	long long n, code, sig;

	if (!resume_fields(line, field) || !field_int(field[0], &n) ||
	    n <= 0 || (unsigned long long)n > SIZE_MAX || *field[1] == '\0' ||
	    !field_int(field[6], &code) || !field_int(field[7], &sig))
		return false;
	for (int i = 2; i < 6; i++)
		if (!field_number(field[i]))
			return false;
	*seq = (size_t)n;
	*succeeded = code == 0 && sig == 0;
	if (command != NULL)
		*command = field[RESUME_FIELDS - 1] +
		    strlen(field[RESUME_FIELDS - 1]) + 1;
	return true;
}

static void
resume_bad(const char *opt, const char *path, size_t lineno)
{
	if (lineno == 1) {
		usage_error("%s: '%s' is not a joblog: no header line", opt,
		    path);
		return;
	}
	usage_error("%s: '%s' is not a joblog: line %zu is not a job's", opt,
	    path, lineno);
}

/* What to do with a job's line of a joblog: (arg, its seq, whether it
 * succeeded, its command, the command's length; a newline of the command
 * is a NUL byte). */
typedef int joblog_fn(void *, size_t, bool, char *, size_t);

/* Reads the joblog, its header first, calling fn for each job's line;
 * errors are reported for opt. */
static int
joblog_lines(FILE *fp, const char *path, const char *opt, joblog_fn *fn,
    void *arg)
{
	char *line = NULL, *cmd;
	size_t cap = 0, lineno = 0, seq;
	bool succeeded, ok;
	ssize_t len;
	int rc = 0;

	while (rc == 0 && (len = getline(&line, &cap, fp)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (++lineno == 1)
			ok = strcmp(line, JOBLOG_HEADER) == 0;
		else
			ok = resume_line(line, &seq, &succeeded, &cmd);
		if (!ok) {
			resume_bad(opt, path, lineno);
			rc = -1;
		} else if (lineno > 1 &&
		    fn(arg, seq, succeeded, cmd, (size_t)(line + len - cmd)) !=
			0) {
			usage_error("out of memory");
			rc = -1;
		}
	}
	if (rc == 0 && ferror(fp)) {
		usage_error("cannot read the joblog '%s': %s", path,
		    strerror(errno));
		rc = -1;
	}
	free(line);
	return rc;
}

/* The joblog at path, read as joblog_lines() reads it: 1 once read, 0
 * when there is none yet, -1 on an error (reported). */
static int
joblog_read(const char *path, const char *opt, joblog_fn *fn, void *arg)
{
	FILE *fp;
	int rc;

	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		usage_error("cannot read the joblog '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	rc = joblog_lines(fp, path, opt, fn, arg);
	fclose(fp);
	return rc == 0 ? 1 : -1;
}

struct resume_read {
	struct seqset	*skip;
	bool		 failed_only;
};

static int
resume_note(void *arg, size_t seq, bool succeeded, char *cmd, size_t len)
{
	struct resume_read *rr = arg;

	(void)cmd;
	(void)len;
	if (succeeded || !rr->failed_only)
		return seqset_add(rr->skip, seq);
	return 0;
}

/* --resume skips every seq the log holds, --resume-failed those that
 * succeeded (Exitval and Signal 0).  Errors are reported: a usage
 * error. */
int
resume_load(const char *path, bool failed_only, struct seqset *skip)
{
	int rc;

	memset(skip, 0, sizeof *skip);
	rc = joblog_read(path, failed_only ? "--resume-failed" : "--resume",
	    resume_note,
	    &(struct resume_read){ .skip = skip, .failed_only = failed_only });
	if (rc < 0) {
		seqset_free(skip);
		return -1;
	}
	seqset_sort(skip);
	return 0;
}

/*
 * --retry-failed: the commands of the jobs that failed, from the joblog
 * (a newline of a command is a NUL byte there), at the place of their
 * seq; the seqs to skip are those that succeeded, and those the log has
 * no line for (their place holds "").  As GNU parallel, a job that failed
 * and then succeeded is done; of several failures, the last command is
 * run.
 */
struct retry_log {
	char		**cmds;
	size_t		 n;
	struct seqset	 done;
};

static int
retry_note(void *arg, size_t seq, bool succeeded, char *cmd, size_t len)
{
	struct retry_log *r = arg;
	char **v;

	if (seq == 0) /* resume_line() gives none, but say so */
		return -1;
	if (seq > r->n) {
		if (seq > SIZE_MAX / sizeof *v ||
		    (v = realloc(r->cmds, seq * sizeof *v)) == NULL)
			return -1;
		memset(v + r->n, 0, (seq - r->n) * sizeof *v);
		r->cmds = v;
		r->n = seq;
	}
	if (succeeded)
		return seqset_add(&r->done, seq);
	for (size_t i = 0; i < len; i++)
		if (cmd[i] == '\0')
			cmd[i] = '\n';
	free(r->cmds[seq - 1]);
	if ((r->cmds[seq - 1] = strndup(cmd, len)) == NULL)
		return -1;
	return 0;
}

/* The places no failure holds: "", and skipped. */
static int
retry_fill(struct retry_log *r)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->cmds[i] != NULL)
			continue;
		if ((r->cmds[i] = strdup("")) == NULL ||
		    seqset_add(&r->done, i + 1) != 0) {
			usage_error("out of memory");
			return -1;
		}
	}
	seqset_sort(&r->done);
	return 0;
}

/* 1 when the joblog was read into *cmds, *n and *done, 0 when there is
 * none (the command line runs, as in parallel), -1 on an error
 * (reported). */
int
retry_load(const char *path, char ***cmds, size_t *n, struct seqset *done)
{
	struct retry_log r = { 0 };
	int rc;

	if ((rc = joblog_read(path, "--retry-failed", retry_note, &r)) == 0)
		return 0;
	rc = rc < 0 ? -1 : retry_fill(&r);
	if (rc != 0) {
		for (size_t i = 0; i < r.n; i++)
			free(r.cmds[i]);
		free(r.cmds);
		seqset_free(&r.done);
		return -1;
	}
	*cmds = r.cmds;
	*n = r.n;
	*done = r.done;
	return 1;
}
