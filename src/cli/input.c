/*
 * The jobs' input, read as jobs are submitted, so that the first job
 * starts at once and memory stays flat however long the input.
 *
 * Sources are the words after :::, the lines of a file (::::, -a; "-" is
 * standard input) or, when none is given, standard input.  Sources
 * linked by :::+ or ::::+ form a group whose values are paired by
 * position, as far as the shortest goes; with --link every source is
 * linked and the shorter ones wrap around instead.  The
 * groups are crossed, the first one varying slowest, as in GNU
 * parallel.  The first group is streamed when it is one source and
 * nothing needs the whole input (--shuf); every other source is read
 * whole before the first job, since its values are used many times.
 * With --colsep each value is split into columns, which become values
 * of their own.  With --pipe, standard input is cut into blocks that
 * end at a line (a record) boundary.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* A source's values, or a stream of them. */
struct stream {
	char **v; /* the values read whole */
	size_t n;
	size_t cap;
	FILE *fp;	  /* streamed: NULL once at its end */
	const char *what; /* for errors */
	bool own_fp;
	bool joins; /* -L, -l: a line ending in a blank goes on */
};

/* Linked sources: values paired by position. */
struct group {
	struct stream *s;
	size_t ns;
	size_t len; /* the longest; for a streamed
					 * group, the values read so far */
};

struct input {
	const struct cli_opts *o;
	struct group *g;
	size_t ng;
	size_t *pos;   /* the position in each group */
	bool streamed; /* g[0] is read as jobs start */
	bool whole;    /* every job's values read first */
	bool started;
	bool done;
	const char *sep; /* what ends an item */
	size_t sep_len;
	regex_t colsep;
	bool have_colsep;
	struct values *all; /* --shuf: every job's values */
	size_t nall;
	size_t next_all;
	FILE *pipe_fp;	   /* --pipe: NULL at its end */
	struct buf pipe;   /* --pipe: the input read, not yet cut
			    * from pipe_off on */
	size_t pipe_off;
	size_t want;	   /* --block, grown for a longer record */
	char *header;	   /* --pipe --header: before each block */
	size_t header_len;
	bool header_read;
	bool garbage_read; /* -N --regexp: the first record seen */
	bool round;	   /* read, blocks may be cut */
	bool cut_any;	   /* ... and were */
	struct batch *batch; /* several records per job */
	struct values *jobs; /* {##} with batch: every job's values */
	size_t njobs;
	size_t next_job;
	char **names;	     /* --header: the columns' */
	size_t nnames;
};

void
values_free(struct values *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	free(v->block);
	free(v->widths);
	memset(v, 0, sizeof *v);
}

static int
stream_push(struct stream *s, char *value)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **v = realloc(s->v, cap * sizeof *v);

		if (v == NULL)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = value;
	return 0;
}

static void
stream_close(struct stream *s)
{
	if (s->own_fp && s->fp != NULL)
		fclose(s->fp);
	s->fp = NULL;
}

/* One item of a file: up to a separator of any length, as -d may give. */
static ssize_t
read_item(FILE *fp, const char *sep, size_t sep_len, char **line)
{
	struct buf b = { 0 };
	char *part = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getdelim(&part, &cap, sep[sep_len - 1], fp)) > 0) {
		if (buf_append(&b, part, (size_t)len) != 0) {
			len = -1;
			errno = ENOMEM;
			break;
		}
		if (b.len >= sep_len &&
		    memcmp(b.data + b.len - sep_len, sep, sep_len) == 0) {
			b.len -= sep_len;
			break;
		}
	}
	free(part);
	if (b.data == NULL || (len < 0 && (errno == ENOMEM || ferror(fp))) ||
	    buf_append(&b, "", 1) != 0) {
		buf_free(&b);
		return -1;
	}
	*line = b.data;
	return (ssize_t)b.len - 1;
}

/* The next line of a file source: 1, 0 at its end, -1 on error. */
static int
stream_line(struct stream *s, const struct input *in, char **out)
{
	char *line = NULL;

	if (s->fp == NULL)
		return 0;
	errno = 0;
	if (read_item(s->fp, in->sep, in->sep_len, &line) < 0) {
		if (ferror(s->fp) || errno == ENOMEM) {
			usage_error("cannot read items from %s: %s", s->what,
			    strerror(errno ? errno : EIO));
			return -1;
		}
		stream_close(s);
		return 0;
	}
	*out = line;
	return 1;
}

/* With -L and -l, as in xargs and GNU parallel, a line that ends in a
 * blank goes on on the next one. */
static bool
goes_on(const struct stream *s, const char *v)
{
	size_t len = strlen(v);

	return s->joins && len > 0 && isspace((unsigned char)v[len - 1]);
}

/* Appends more to *v; frees more. */
static int
join_line(char **v, char *more)
{
	size_t len = strlen(*v);
	char *j = realloc(*v, len + strlen(more) + 1);

	if (j != NULL) {
		strcpy(j + len, more);
		*v = j;
	}
	free(more);
	return j != NULL ? 0 : -1;
}

/* The next value of a file source: 1, 0 at its end, -1 on error. */
static int
stream_read(struct stream *s, const struct input *in, char **out)
{
	char *more;
	int rc;

	if ((rc = stream_line(s, in, out)) <= 0)
		return rc;
	while (goes_on(s, *out) && (rc = stream_line(s, in, &more)) > 0)
		if (join_line(out, more) != 0) {
			usage_error("out of memory");
			rc = -1;
			break;
		}
	if (rc < 0) {
		free(*out);
		return -1;
	}
	return 1;
}

/* -r: GNU parallel's blank item, only white space. */
static bool
is_blank(const char *s)
{
	return s[strspn(s, " \t\n\r\f\v")] == '\0';
}

/* The next value of a file source that makes a job: -E ends the source
 * at its string, -r passes over blank values. */
static int
stream_next(struct stream *s, const struct input *in, char **out)
{
	const struct cli_opts *o = in->o;
	int rc;

	while ((rc = stream_read(s, in, out)) > 0) {
		if (o->eof_str != NULL && strcmp(*out, o->eof_str) == 0) {
			free(*out);
			stream_close(s);
			return 0;
		}
		if (!o->no_run_if_empty || !is_blank(*out))
			return 1;
		free(*out);
	}
	return rc;
}

static int
stream_open(struct stream *s, const struct source *src,
    const struct cli_opts *o)
{
	for (size_t i = 0; src->words != NULL && i < src->nwords; i++) {
		char *w;

		if (o->eof_str != NULL &&
		    strcmp(src->words[i], o->eof_str) == 0)
			break;
		if (o->no_run_if_empty && is_blank(src->words[i]))
			continue;
		if ((w = strdup(src->words[i])) != NULL && s->n > 0 &&
		    goes_on(s, s->v[s->n - 1])) {
			if (join_line(&s->v[s->n - 1], w) != 0)
				return -1;
		} else if (w == NULL || stream_push(s, w) != 0) {
			free(w);
			return -1;
		}
	}
	if (src->words != NULL)
		return 0;
	if (strcmp(src->path, "-") == 0) {
		s->fp = stdin;
		s->what = "the standard input";
		return 0;
	}
	s->what = src->path;
	if ((s->fp = fopen(src->path, "r")) == NULL) {
		usage_error("cannot read items from '%s': %s", src->path,
		    strerror(errno));
		return -1;
	}
	s->own_fp = true;
	return 0;
}

static int
stream_slurp(struct stream *s, const struct input *in)
{
	char *value;
	int rc;

	while ((rc = stream_next(s, in, &value)) > 0) {
		if (stream_push(s, value) != 0) {
			free(value);
			usage_error("out of memory");
			return -1;
		}
	}
	return rc;
}

/* Groups of linked sources; the standard input when there is none. */
static int
input_groups(struct input *in)
{
	static const struct source stdin_source = { .path = "-" };
	const struct cli_opts *o = in->o;
	const struct source *src = o->nsources ? o->sources : &stdin_source;
	size_t nsrc = o->nsources ? o->nsources : 1;

	if ((in->g = calloc(nsrc, sizeof *in->g)) == NULL)
		return -1;
	for (size_t i = 0; i < nsrc; i++) {
		struct group *g;

		if (i == 0 || (!src[i].linked && !o->link))
			in->ng++;
		g = &in->g[in->ng - 1];
		if (g->s == NULL &&
		    (g->s = calloc(nsrc, sizeof *g->s)) == NULL)
			return -1;
		g->s[g->ns].joins = o->batch.max_lines > 0;
		if (stream_open(&g->s[g->ns++], &src[i], o) != 0)
			return -1;
	}
	return 0;
}

static int input_columns(struct input *in, const char *value,
    struct values *v);

/* --header: the first value of a source names its columns.  GNU
 * parallel takes its first line as it is, without -E or -r, and without
 * the \r of a DOS line end. */
static int
input_header(struct input *in, struct stream *s)
{
	struct values v = { 0 };
	char *first = NULL, **names;
	size_t len;
	int rc = 0;

	if (s->fp == NULL && s->n > 0) {
		first = s->v[0];
		memmove(s->v, s->v + 1, --s->n * sizeof *s->v);
	} else if ((rc = stream_read(s, in, &first)) <= 0)
		return rc;
	if ((len = strlen(first)) > 0 && first[len - 1] == '\r')
		first[len - 1] = '\0';
	if (input_columns(in, first, &v) != 0 ||
	    (names = realloc(in->names, (in->nnames + v.n) * sizeof *names)) ==
		NULL) {
		free(first);
		values_free(&v);
		usage_error("out of memory");
		return -1;
	}
	free(first);
	in->names = names;
	memcpy(names + in->nnames, v.v, v.n * sizeof *names);
	in->nnames += v.n;
	free(v.v);
	template_set_names(in->names, in->nnames);
	return 0;
}

/* Reads whole what must be; the longest source sets a group's length. */
static int
input_load(struct input *in)
{
	in->streamed = !in->whole && in->g[0].ns == 1 &&
	    in->g[0].s[0].fp != NULL;
	for (size_t i = 0; i < in->ng; i++) {
		struct group *g = &in->g[i];

		for (size_t k = 0; k < g->ns; k++) {
			if (in->o->header != NULL &&
			    input_header(in, &g->s[k]) != 0)
				return -1;
			if ((i > 0 || !in->streamed) &&
			    stream_slurp(&g->s[k], in) != 0)
				return -1;
			/* --link wraps the shorter sources around; :::+
			 * pairs as far as the shortest goes. */
			if (k == 0 ||
			    (in->o->link ? g->s[k].n > g->len :
					   g->s[k].n < g->len))
				g->len = g->s[k].n;
		}
		/* A group with an empty source has no pairs: no jobs. */
		for (size_t k = 0; k < g->ns; k++)
			if (g->s[k].n == 0 && g->s[k].fp == NULL)
				in->done = true;
	}
	return 0;
}

/* --trim: a copy of s[0, len) without its white space at the left
 * (l), the right (r), or both. */
static char *
trimmed(const char *how, const char *s, size_t len)
{
	static const char space[] = " \t\n\r\f\v";

	if (how != NULL && strchr(how, 'l') != NULL)
		while (len > 0 && strchr(space, *s) != NULL && *s != '\0') {
			s++;
			len--;
		}
	if (how != NULL && strchr(how, 'r') != NULL)
		while (len > 0 && strchr(space, s[len - 1]) != NULL &&
		    s[len - 1] != '\0')
			len--;
	return strndup(s, len);
}

/* Appends value, split into columns with --colsep. */
static int
input_columns(struct input *in, const char *value, struct values *v)
{
	const char *p = value;
	regmatch_t m;
	size_t len;
	char **nv;

	for (;;) {
		bool last = !in->have_colsep ||
		    regexec(&in->colsep, p, 1, &m,
			p == value ? 0 : REG_NOTBOL) != 0 ||
		    m.rm_eo == 0;

		len = last ? strlen(p) : (size_t)m.rm_so;
		if ((nv = realloc(v->v, (v->n + 1) * sizeof *nv)) == NULL)
			return -1;
		v->v = nv;
		if ((v->v[v->n] = trimmed(in->o->trim, p, len)) == NULL)
			return -1;
		v->n++;
		if (last)
			return 0;
		p += m.rm_eo;
	}
}

/* The values at the current positions. */
static int
input_compose(struct input *in, struct values *v)
{
	memset(v, 0, sizeof *v);
	for (size_t i = 0; i < in->ng; i++) {
		struct group *g = &in->g[i];

		for (size_t k = 0; k < g->ns; k++) {
			struct stream *s = &g->s[k];

			if (input_columns(in, s->v[in->pos[i] % s->n], v) !=
			    0) {
				values_free(v);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * Moves to the next combination: the last group fastest.  A streamed
 * first group reads its next value when it moves, and drops the one it
 * leaves, so that only one of its values is held at a time.
 */
static int
input_advance(struct input *in)
{
	size_t i = in->ng;
	char *value;
	int rc;

	while (i-- > 1) {
		if (++in->pos[i] < in->g[i].len)
			return 1;
		in->pos[i] = 0;
	}
	if (!in->streamed)
		return ++in->pos[0] < in->g[0].len;
	if ((rc = stream_next(&in->g[0].s[0], in, &value)) <= 0)
		return rc;
	free(in->g[0].s[0].v[0]);
	in->g[0].s[0].v[0] = value;
	return 1;
}

/* The first combination; a streamed group reads its first value. */
static int
input_first(struct input *in)
{
	struct stream *s = &in->g[0].s[0];
	char *value;
	int rc;

	if (in->done)
		return 0;
	if (!in->streamed)
		return 1;
	if ((rc = stream_next(s, in, &value)) <= 0)
		return rc;
	if (stream_push(s, value) != 0) {
		free(value);
		return -1;
	}
	return 1;
}

static int
input_combination(struct input *in, struct values *v)
{
	int rc;

	if (in->done)
		return 0;
	rc = in->started ? input_advance(in) : input_first(in);
	in->started = true;
	if (rc <= 0) {
		in->done = true;
		return rc;
	}
	if (input_compose(in, v) != 0) {
		usage_error("out of memory");
		return -1;
	}
	return 1;
}

/* Every combination first: for {##}, and for --shuf, which runs them in
 * a random order. */
static int
input_whole(struct input *in)
{
	struct values v, *all;
	size_t cap = 0;
	int rc;

	while ((rc = input_combination(in, &v)) > 0) {
		if (in->nall == cap) {
			cap = cap ? cap * 2 : 64;
			if ((all = realloc(in->all, cap * sizeof *all)) ==
			    NULL) {
				values_free(&v);
				usage_error("out of memory");
				return -1;
			}
			in->all = all;
		}
		in->all[in->nall++] = v;
	}
	if (rc < 0)
		return -1;
	template_set_total(in->nall);
	if (!in->o->shuf)
		return 0;
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	for (size_t i = in->nall; i > 1; i--) {
		size_t k = (size_t)random() % i;
		struct values t = in->all[i - 1];

		in->all[i - 1] = in->all[k];
		in->all[k] = t;
	}
	return 0;
}

/*
 * --colsep is a Perl regular expression in GNU parallel: its escapes \t
 * \n \r \s \d \w (and \S \D \W) become what they mean in POSIX's.
 */
static char *
colsep_regex(const char *perl)
{
	static const char esc[] = "tnrsdwSDW";
	static const char *const ere[] = { "\t", "\n", "\r", "[[:space:]]",
		"[0-9]", "[[:alnum:]_]", "[^[:space:]]", "[^0-9]",
		"[^[:alnum:]_]" };
	struct buf b = { 0 };
	const char *e;
	int rc = 0;

	for (const char *p = perl; *p != '\0' && rc == 0; p++) {
		if (*p == '\\' && p[1] != '\0' &&
		    (e = strchr(esc, p[1])) != NULL) {
			rc = buf_append(&b, ere[e - esc],
			    strlen(ere[e - esc]));
			p++;
		} else
			rc = buf_append(&b, p, 1);
	}
	if (rc != 0 || buf_append(&b, "", 1) != 0) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

static int
input_colsep(struct input *in, const char *colsep)
{
	char *re = colsep_regex(colsep), msg[128];
	int rc;

	if (re == NULL) {
		usage_error("out of memory");
		return -1;
	}
	rc = regcomp(&in->colsep, re, REG_EXTENDED);
	free(re);
	if (rc != 0) {
		regerror(rc, &in->colsep, msg, sizeof msg);
		usage_error("--colsep: '%s': %s", colsep, msg);
		return -1;
	}
	in->have_colsep = true;
	return 0;
}

/* {##} with several records per job counts the jobs: every batch is
 * made first. */
static int
input_batches(struct input *in)
{
	struct values v, *jobs;
	size_t cap = 0;
	int rc;

	while ((rc = batch_next(in->batch, &v)) > 0) {
		if (in->njobs == cap) {
			cap = cap ? cap * 2 : 64;
			if ((jobs = realloc(in->jobs, cap * sizeof *jobs)) ==
			    NULL) {
				values_free(&v);
				usage_error("out of memory");
				return -1;
			}
			in->jobs = jobs;
		}
		in->jobs[in->njobs++] = v;
	}
	if (rc < 0)
		return -1;
	/* in->jobs set says the list is made, an empty one too. */
	if (in->jobs == NULL &&
	    (in->jobs = malloc(sizeof *in->jobs)) == NULL) {
		usage_error("out of memory");
		return -1;
	}
	template_set_total(in->njobs);
	return 0;
}

int
input_open(const struct cli_opts *o, struct input **out)
{
	struct input *in;

	if ((in = calloc(1, sizeof *in)) == NULL) {
		usage_error("out of memory");
		return -1;
	}
	in->o = o;
	in->sep = o->delim != NULL ? o->delim : o->null_sep ? "" : "\n";
	in->sep_len = o->delim != NULL ? o->delim_len : 1;
	in->whole = o->shuf || template_wants_total();
	*out = in;
	if (o->pipe) {
		in->pipe_fp = stdin;
		in->want = o->block;
		return 0;
	}
	if (o->colsep != NULL && input_colsep(in, o->colsep) != 0)
		return -1;
	if (input_groups(in) != 0 ||
	    (in->pos = calloc(in->ng, sizeof *in->pos)) == NULL) {
		if (errno == ENOMEM)
			usage_error("out of memory");
		return -1;
	}
	if (input_load(in) != 0 || (in->whole && input_whole(in) != 0))
		return -1;
	if (o->batch.on && (in->batch = batch_new(o, in)) == NULL)
		return -1;
	if (in->whole && in->batch != NULL && input_batches(in) != 0)
		return -1;
	return 0;
}

/* --pipe: reads `more` bytes more, or to the end of the input. */
static int
pipe_fill(struct input *in, size_t more)
{
	struct buf *b = &in->pipe;
	size_t n;
	char *p;

	if (in->pipe_off > 0) {
		memmove(b->data, b->data + in->pipe_off,
		    b->len - in->pipe_off);
		b->len -= in->pipe_off;
		b->data[b->len] = '\0';
		in->pipe_off = 0;
	}
	if (in->pipe_fp == NULL || more == 0)
		return 0;
	if (more >= SIZE_MAX - b->len) {
		usage_error("out of memory");
		return -1;
	}
	/* One byte more for a NUL after the data: regexec() with
	 * REG_STARTEND needs none, but checkers of it read up to one. */
	if (b->cap < b->len + more) {
		if ((p = realloc(b->data, b->len + more + 1)) == NULL) {
			usage_error("out of memory");
			return -1;
		}
		b->data = p;
		b->cap = b->len + more;
	}
	n = fread(b->data + b->len, 1, more, in->pipe_fp);
	if (n < more) {
		if (ferror(in->pipe_fp)) {
			usage_error("cannot read the standard input: %s",
			    strerror(errno));
			return -1;
		}
		in->pipe_fp = NULL;
	}
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* --header: read as GNU parallel reads it, a block at a time until it
 * matches, none when the input ends first. */
static int
pipe_header(struct input *in)
{
	const struct records *r = in->o->records;
	size_t hlen = 0;

	in->header_read = true;
	if (!records_has_header(r))
		return 0;
	for (;;) {
		if (pipe_fill(in, in->o->block) != 0)
			return -1;
		if (records_header(r, in->pipe.data, in->pipe.len, &hlen))
			break;
		if (in->pipe_fp == NULL)
			return 0;
	}
	if ((in->header = malloc(hlen + 1)) == NULL) {
		usage_error("out of memory");
		return -1;
	}
	memcpy(in->header, in->pipe.data, hlen);
	in->header_len = hlen;
	in->pipe_off = hlen;
	return 0;
}

/* -L with --pipe: the most lines that make whole groups of n. */
static size_t
pipe_cut_lines(const char *p, size_t len, size_t n)
{
	size_t lines = 0, cut = 0;

	for (size_t i = 0; i < len; i++)
		if (p[i] == '\n' && ++lines % n == 0)
			cut = i + 1;
	return cut;
}

/* -N with --pipe: after the nth separator, counted as GNU parallel
 * counts them: strings anywhere past the start, even overlapping;
 * regular expressions one after the other, each record not empty. */
static size_t
pipe_cut_records(const struct records *r, bool regexp, const char *p,
    size_t len, size_t n)
{
	struct rec_match m = { 0 };
	size_t from = regexp ? 0 : 1, start = 0, k = 0;

	while (k < n && records_next(r, p, len, from, &m)) {
		if (!regexp || m.cut > start)
			k++;
		start = m.cut;
		from = regexp && m.eo > m.so ? m.eo : m.so + 1;
	}
	return k == n ? m.cut : 0;
}

/* As many whole records as are read: after the last separator. */
static size_t
pipe_cut_last(const struct records *r, const char *p, size_t len)
{
	struct rec_match m;
	size_t from = 0, cut = 0;

	while (records_next(r, p, len, from, &m)) {
		cut = m.cut;
		from = m.so + 1;
	}
	return cut;
}

/* Where the next block ends in p[0, len), as GNU parallel cuts what
 * it read: 0 for none. */
static size_t
pipe_cut(struct input *in, const char *p, size_t len)
{
	const struct cli_opts *o = in->o;
	const struct records *r = o->records;
	size_t lines = o->pipe_lines > 0 ? o->pipe_lines : 1, cut, n;

	if (o->pipe_lines > 0 && o->pipe_records == 0)
		return pipe_cut_lines(p, len, o->pipe_lines);
	if (o->pipe_records == 0)
		return in->pipe_fp == NULL ? 0 : pipe_cut_last(r, p, len);
	/* --regexp: what comes before the first recstart is a record, and
	 * a job, of its own. */
	if (o->regexp && !in->garbage_read) {
		in->garbage_read = true;
		if (!records_starts(r, p, len) &&
		    (cut = pipe_cut_records(r, true, p, len, 1)) > 0)
			return cut;
	}
	n = SIZE_MAX;
	if (o->pipe_records <= SIZE_MAX / lines)
		n = o->pipe_records * lines;
	return pipe_cut_records(r, o->regexp, p, len, n);
}

/* The job's standard input: the header, then the block (--rrs: less its
 * record separators). */
static int
pipe_block(struct input *in, size_t cut, struct values *v)
{
	const char *p = in->pipe.data + in->pipe_off;
	size_t hlen = in->header_len;
	char *block;

	if ((block = malloc(hlen + cut + 1)) == NULL) {
		usage_error("out of memory");
		return -1;
	}
	if (hlen > 0)
		memcpy(block, in->header, hlen);
	memcpy(block + hlen, p, cut);
	block[hlen + cut] = '\0'; /* as in pipe_fill() */
	in->pipe_off += cut;
	v->block = block;
	v->block_len = hlen + cut;
	if (in->o->rrs)
		v->block_len = hlen +
		    records_strip(in->o->records, block + hlen, cut);
	return 1;
}

/* Past the last newline of the white space at p[i], or i. */
static size_t
blank_lines(const char *p, size_t i, size_t len)
{
	size_t end = i;

	for (; i < len && isspace((unsigned char)p[i]); i++)
		if (p[i] == '\n')
			end = i + 1;
	return end;
}

/* -r with --pipe: GNU parallel drops the blank lines of what it read
 * (from a line's start through the last newline of the white space
 * there); true when nothing is left. */
static bool
pipe_drop_blank(struct input *in)
{
	char *p = in->pipe.data + in->pipe_off;
	size_t len = in->pipe.len - in->pipe_off, out = 0, i = 0, end;
	bool line_start = true;

	while (i < len) {
		if (line_start && (end = blank_lines(p, i, len)) > i) {
			i = end;
			continue;
		}
		line_start = p[i] == '\n';
		p[out++] = p[i++];
	}
	in->pipe.len = in->pipe_off + out;
	return out == 0;
}

/* GNU parallel's growth of a block too small for a record. */
static size_t
pipe_grow(size_t want)
{
	if (want > SIZE_MAX / 2)
		return SIZE_MAX;
	return want + (want * 3 + 9) / 10 + 1;
}

/*
 * --pipe: a block of --block bytes (-N, -L: of records, of lines),
 * ending after the last whole record.  The input is read in rounds, as
 * GNU parallel reads it (a regular expression may match less at the end
 * of what was read): each round reads up to a multiple of --block and
 * cuts one block, or with -N all it can; a round that cuts none makes
 * the block grow.  What is left at the end of the input is the last.
 */
static int
input_block(struct input *in, struct values *v)
{
	const struct cli_opts *o = in->o;
	size_t len, cut;

	memset(v, 0, sizeof *v);
	if (!in->header_read && pipe_header(in) != 0)
		return -1;
	for (;;) {
		len = in->pipe.len - in->pipe_off;
		if (in->round) {
			cut = pipe_cut(in, in->pipe.data + in->pipe_off, len);
			if (cut > 0) {
				in->cut_any = true;
				in->round = o->pipe_records > 0;
				return pipe_block(in, cut, v);
			}
			in->round = false;
			if (in->pipe_fp == NULL)
				return len > 0 ? pipe_block(in, len, v) : 0;
			if (!in->cut_any)
				in->want = pipe_grow(in->want);
		}
		in->cut_any = false;
		if (pipe_fill(in, in->want - len % in->want) != 0)
			return -1;
		if (o->no_run_if_empty && pipe_drop_blank(in) &&
		    in->pipe_fp != NULL)
			continue;
		in->round = true;
	}
}

static int
input_record_any(struct input *in, struct values *v)
{
	if (in->o->pipe)
		return input_block(in, v);
	if (in->whole) {
		if (in->all == NULL || in->next_all == in->nall)
			return 0;
		*v = in->all[in->next_all];
		memset(&in->all[in->next_all++], 0, sizeof *v);
		return 1;
	}
	return input_combination(in, v);
}

static bool
input_blank_bytes(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)p[i]))
			return false;
	return true;
}

/* -r: blank values were passed over as they were read, and blank lines
 * of --pipe's input; what is left is the white space the input may end
 * with, which makes no block, as in GNU parallel. */
int
input_record(struct input *in, struct values *v)
{
	int rc;

	while ((rc = input_record_any(in, v)) > 0 && in->o->no_run_if_empty &&
	    v->block != NULL && input_blank_bytes(v->block, v->block_len))
		values_free(v);
	return rc;
}

int
input_next(struct input *in, struct values *v)
{
	if (in->jobs != NULL) {
		if (in->next_job == in->njobs)
			return 0;
		*v = in->jobs[in->next_job];
		memset(&in->jobs[in->next_job++], 0, sizeof *v);
		return 1;
	}
	if (in->batch != NULL)
		return batch_next(in->batch, v);
	return input_record(in, v);
}

void
input_close(struct input *in)
{
	if (in == NULL)
		return;
	batch_free(in->batch);
	for (size_t i = in->next_job; i < in->njobs; i++)
		values_free(&in->jobs[i]);
	free(in->jobs);
	for (size_t i = 0; i < in->ng; i++) {
		for (size_t k = 0; k < in->g[i].ns; k++) {
			struct stream *s = &in->g[i].s[k];

			for (size_t n = 0; n < s->n; n++)
				free(s->v[n]);
			free(s->v);
			stream_close(s);
		}
		free(in->g[i].s);
	}
	for (size_t i = in->next_all; i < in->nall; i++)
		values_free(&in->all[i]);
	free(in->all);
	for (size_t i = 0; i < in->nnames; i++)
		free(in->names[i]);
	free(in->names);
	free(in->g);
	free(in->pos);
	buf_free(&in->pipe);
	free(in->header);
	if (in->have_colsep)
		regfree(&in->colsep);
	free(in);
}
