/*
 * Several input records per job, as GNU parallel puts them:
 *
 *	-n N	up to N records per job		-N N	the same, in context
 *	-L N	N lines per job, in context	-l N	the same, not so
 *	-m, -X	as many as fit on the line	--xargs	the same, not spread
 *	-s N	the longest command line
 *
 * In context (-N, -X, -L) a word with {} in it is repeated for each
 * value (template.c).
 *
 * A record is a combination of the sources' values (input.c); a job's
 * values are its records' one after the other, so that {n} is the nth
 * of them.  With -m and -X, the records left when the input ends are
 * spread over every job slot.
 *
 * Whether a record still fits is decided by GNU parallel's own measure
 * of a command line, not by the line's real length: the two differ a
 * little, and the same measure makes the same jobs.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* A replacement string of the command, and what it adds to the line. */
struct key {
	const char *rs; /* its text */
	size_t len;
	size_t col;   /* template_rs_at() */
	size_t count; /* times in the command */
	size_t width; /* of the job's records, replaced */
};

struct batch {
	const struct cli_opts *o;
	struct input *in;
	struct values *back; /* records put back: [head, nback) */
	size_t head;
	size_t nback;
	size_t back_cap;
	struct values *rec; /* the job's records */
	size_t nrec;
	size_t rec_cap;
	size_t max_args;
	size_t limit; /* the line's length must stay below */
	size_t slots;
	bool spread_done;
	size_t seq;   /* jobs made */
	size_t nread; /* records read */
	bool stopped; /* by a record too long */
	struct key *keys;
	size_t nkeys;
	size_t plain;	/* text outside groups with replacement
			 * strings, spaces between words */
	size_t context; /* text in such groups */
	size_t groups;
};

/* A whole number, with GNU parallel's suffixes: k m g t are powers of
 * 1000, K M G T of 1024. */
static int
parse_count(const char *opt, const char *s, long min, long *out)
{
	static const char si[] = "kmgt", bin[] = "KMGT";
	const char *p = NULL;
	char *end = (char *)s;
	long long v;

	errno = 0;
	v = isdigit((unsigned char)*s) ? strtoll(s, &end, 10) : -1;
	if (v >= 0 && *end != '\0' && end[1] == '\0' &&
	    ((p = strchr(si, *end)) != NULL ||
		(p = strchr(bin, *end)) != NULL)) {
		long long base = strchr(si, *end) != NULL ? 1000 : 1024;
		const char *set = base == 1000 ? si : bin;

		for (long i = 0; i <= p - set && v >= 0; i++)
			v = v > LONG_MAX / base ? -1 : v * base;
		end++;
	}
	if (v < min || v > LONG_MAX || *end != '\0' || errno != 0) {
		usage_error("%s: expected a whole number >= %ld (k, K, M... "
			    "as in GNU parallel), not '%s'",
		    opt, min, s);
		return -1;
	}
	*out = (long)v;
	return 0;
}

void
batch_opts_init(struct batch_opts *b)
{
	memset(b, 0, sizeof *b);
	b->n = b->N = b->L = b->l = -1;
}

/* An option of the family: 'x' is --xargs; -l has an optional value. */
int
batch_option(int ch, const char *arg, struct batch_opts *b)
{
	long v;

	b->on = true;
	switch (ch) {
	case 'n':
		return parse_count("--max-args", arg, 0, &b->n);
	case 'N':
		return parse_count("--max-replace-args", arg, 0, &b->N);
	case 'L':
		return parse_count("-L", arg, 0, &b->L);
	case 'l':
		if (arg != NULL && parse_count("--max-lines", arg, 0, &b->l))
			return -1;
		/* None, or 0: one line, as in GNU parallel. */
		if (arg == NULL || b->l == 0)
			b->l = 1;
		return 0;
	case 'm':
		b->m = true;
		return 0;
	case 'X':
		b->X = true;
		return 0;
	case 'x':
		b->xargs = true;
		return 0;
	case 's':
		if (parse_count("--max-chars", arg, 1, &v) != 0)
			return -1;
		b->s = (size_t)v;
		return 0;
	}
	return -1;
}

/* With --pipe, as in GNU parallel: -N (or -n) records per block, -L (or
 * -l) lines per record; the job's values are its block alone. */
static int
batch_pipe(struct cli_opts *o)
{
	struct batch_opts *b = &o->batch;
	long n = b->N >= 0 ? b->N : b->n, lines = b->L >= 0 ? b->L : b->l;

	if (b->m || b->X || b->xargs || b->s > 0) {
		usage_error("--pipe: -m, -X, --xargs and -s do not apply "
			    "(-N: records per block)");
		return -1;
	}
	o->pipe_records = n > 0 ? (size_t)n : 0;
	o->pipe_lines = lines > 0 ? (size_t)lines : 0;
	b->on = false;
	return 0;
}

/* What the options mean together, in GNU parallel's order: -l and -L
 * stand for -n when it is not given (or 0), -N for any of them. */
int
batch_resolve(struct cli_opts *o)
{
	struct batch_opts *b = &o->batch;
	bool fill = b->m || b->X || b->xargs;
	long v = b->n;

	if (!b->on)
		return 0;
	if (o->pipe)
		return batch_pipe(o);
	if (v <= 0 && b->l >= 0)
		v = b->l;
	if (v <= 0 && b->L >= 0)
		v = b->L;
	if (b->N >= 0)
		v = b->N;
	b->no_args = v == 0;
	if (b->no_args && fill) {
		usage_error("a job per value with none inserted (-n 0, -N 0, "
			    "-L 0) cannot be combined with -m, -X or --xargs");
		return -1;
	}
	b->max_args = v > 0 ? (size_t)v : fill ? SIZE_MAX : 1;
	b->spread = b->m || b->X;
	b->context = b->X || b->N >= 0 || (b->L >= 0 && !fill);
	b->max_lines = (size_t)(b->L >= 0 ? b->L : b->l >= 0 ? b->l : 0);
	return 0;
}

/*
 * The longest line GNU parallel finds it can run (its
 * --max-line-length-allowed).  It finds it by a coarse search, running
 * ever longer lines through the shell; the same search here, with the
 * kernel's limit on one argument (the line given to the shell: 32
 * pages) in place of the runs, finds the same number.
 */
size_t
batch_line_max(void)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t max = 32 * (size_t)(page > 0 ? page : 4096);
	size_t lo, hi = 324;

	do {
		lo = hi;
		hi *= 16;
	} while (hi < max);
	while (lo + 1 < hi && (double)lo / (double)hi <= 0.99) {
		size_t mid = lo + (hi - lo) / 2;

		if (mid < max)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* GNU parallel's longest command line: half of the longest line it can
 * run, less 3000 bytes for its wrapping. */
static size_t
default_limit(void)
{
	size_t lo = batch_line_max();

	return lo > 3000 ? (lo - 3000) / 2 : 1;
}

static int
key_count(struct batch *b, const char *rs, size_t len, size_t col, bool once)
{
	struct key *k;
	size_t i;

	for (i = 0; i < b->nkeys; i++)
		if (b->keys[i].len == len &&
		    memcmp(b->keys[i].rs, rs, len) == 0)
			break;
	if (i == b->nkeys) {
		if ((k = realloc(b->keys, (i + 1) * sizeof *k)) == NULL)
			return -1;
		b->keys = k;
		b->keys[b->nkeys++] = (struct key){ .rs = rs,
			.len = len,
			.col = col };
	}
	if (!once)
		b->keys[i].count++;
	else if (b->keys[i].count == 0)
		b->keys[i].count = 1;
	return 0;
}

/* A word of the command: its replacement strings, the text beside them
 * in their blank-delimited groups, and the rest.  Returns the strings
 * found, or -1. */
static long
measure_word(struct batch *b, const char *w)
{
	static const char blanks[] = " \t\n\r\f\v";
	size_t n, len, col, text;
	long found = 0, before;

	while (*w != '\0') {
		n = strspn(w, blanks);
		b->plain += n;
		w += n;
		n = strcspn(w, blanks);
		text = 0;
		before = found;
		for (const char *q = w; q < w + n;) {
			if (*q != '{' ||
			    (len = template_rs_at(q, &col)) == 0) {
				text++;
				q++;
				continue;
			}
			if (key_count(b, q, len, col, false) != 0)
				return -1;
			found++;
			q += len;
		}
		if (found > before) {
			b->context += text;
			b->groups++;
		} else
			b->plain += text;
		w += n;
	}
	return found;
}

/* A template beside the command (--tag): its strings count once. */
static int
measure_once(struct batch *b, const char *t)
{
	size_t len, col;

	for (; (t = strchr(t, '{')) != NULL; t++)
		if ((len = template_rs_at(t, &col)) > 0 &&
		    key_count(b, t, len, col, true) != 0)
			return -1;
	return 0;
}

/* The command as GNU parallel measures it, {} added when it has no
 * replacement string; --tag's strings count too, once each. */
static int
measure_command(struct batch *b)
{
	const struct cli_opts *o = b->o;
	const char *values = template_name(RSN_VALUES);
	const char *tag = o->tagstring ? o->tagstring : o->tag ? values : NULL;
	size_t words = (size_t)o->ncommand;
	long found = 0, n;

	for (int i = 0; i < o->ncommand; i++) {
		if ((n = measure_word(b, o->command[i])) < 0)
			return -1;
		found += n;
	}
	if (tag != NULL && measure_once(b, tag) != 0)
		return -1;
	if (found == 0) {
		if (measure_word(b, values) < 0)
			return -1;
		words++;
	}
	b->plain += words - 1;
	return 0;
}

/* What a record adds to each string's width, or takes away. */
static void
account(struct batch *b, const struct values *r, bool add)
{
	for (size_t i = 0; i < b->nkeys; i++) {
		struct key *k = &b->keys[i];
		size_t w = 0;

		if (k->col > 0 && k->col <= r->n)
			w = template_rs_width(k->rs, r->v[k->col - 1],
			    b->seq + 1);
		for (size_t v = 0; k->col == 0 && v < r->n; v++)
			w += template_rs_width(k->rs, r->v[v], b->seq + 1);
		if (add)
			k->width += w;
		else
			k->width -= w;
	}
}

/* GNU parallel's length of the job's command line: a group with {} is
 * counted once per value with -X, the strings' widths as many times as
 * they occur. */
static size_t
line_length(const struct batch *b)
{
	const struct batch_opts *bo = &b->o->batch;
	size_t values = b->nrec * b->rec[0].n, len = b->plain;

	if (bo->context)
		len += values * b->context + (values - 1) * b->groups;
	else
		len += b->context;
	for (size_t i = 0; i < b->nkeys; i++) {
		const struct key *k = &b->keys[i];

		len += k->count *
		    (bo->context ? k->width : values - 1 + k->width);
	}
	return len;
}

/* p with room for want elements of size; NULL (p kept) when out of
 * memory. */
static void *
grow(void *p, size_t *cap, size_t want, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *np;

	if (want <= *cap)
		return p;
	while (n < want)
		n *= 2;
	if ((np = realloc(p, n * size)) != NULL)
		*cap = n;
	return np;
}

/* The next record: one put back, else the input's. */
static int
record_get(struct batch *b, struct values *r)
{
	int rc;

	if (b->head < b->nback) {
		*r = b->back[b->head++];
		if (b->head == b->nback)
			b->head = b->nback = 0;
		return 1;
	}
	if ((rc = input_record(b->in, r)) > 0)
		b->nread++;
	return rc;
}

/* Puts a record back, to be read next. */
static int
record_unget(struct batch *b, struct values *r)
{
	struct values *back;

	if (b->head == 0) {
		if ((back = grow(b->back, &b->back_cap, b->nback + 1,
			 sizeof *back)) == NULL)
			return -1;
		b->back = back;
		memmove(b->back + 1, b->back, b->nback * sizeof *b->back);
		b->head++;
		b->nback++;
	}
	b->back[--b->head] = *r;
	memset(r, 0, sizeof *r);
	return 0;
}

/* 1 when the input has no record left, 0 when it has, -1. */
static int
input_ended(struct batch *b)
{
	struct values r, *back;
	int rc;

	if (b->head < b->nback)
		return 0;
	if ((rc = record_get(b, &r)) <= 0)
		return rc < 0 ? -1 : 1;
	if ((back = grow(b->back, &b->back_cap, 1, sizeof *back)) == NULL) {
		values_free(&r);
		return -1;
	}
	b->back = back;
	b->head = 0;
	b->nback = 1;
	b->back[0] = r;
	return 0;
}

static int
job_push(struct batch *b, struct values *r)
{
	struct values *rec;

	if ((rec = grow(b->rec, &b->rec_cap, b->nrec + 1, sizeof *rec)) ==
	    NULL)
		return -1;
	b->rec = rec;
	b->rec[b->nrec++] = *r;
	memset(r, 0, sizeof *r);
	account(b, &b->rec[b->nrec - 1], true);
	return 0;
}

/* The last record back to the input. */
static int
job_unget_last(struct batch *b)
{
	struct values *r = &b->rec[b->nrec - 1];

	account(b, r, false);
	if (record_unget(b, r) != 0)
		return -1;
	b->nrec--;
	return 0;
}

/* A record that alone is too long: an error, as in GNU parallel. */
static void
too_long(struct batch *b, size_t len)
{
	const struct values *r = &b->rec[0];
	struct buf s = { 0 };

	for (size_t i = 0; i < r->n && s.len <= 50; i++)
		if ((i > 0 && buf_append(&s, " ", 1) != 0) ||
		    buf_append(&s, r->v[i], strlen(r->v[i])) != 0)
			break;
	usage_error("command line too long (%zu >= %zu) at input %zu: "
		    "%.*s%s",
	    len, b->limit, b->nread, (int)(s.len > 50 ? 50 : s.len),
	    s.data ? s.data : "", s.len > 50 ? "..." : "");
	buf_free(&s);
}

/* -m, -X: the records of the last line, when the input has ended, go to
 * every job slot, as many to each; later jobs take no more. */
static int
spread(struct batch *b)
{
	int rc;

	if (!b->o->batch.spread || b->spread_done)
		return 0;
	if ((rc = input_ended(b)) <= 0)
		return rc;
	b->spread_done = true;
	if (b->nrec < 2)
		return 0;
	b->max_args = (b->nrec + b->slots - 1) / b->slots;
	while (b->nrec > b->max_args)
		if (job_unget_last(b) != 0)
			return -1;
	return 0;
}

/* The job's records into one set of values; the records are emptied. */
static int
job_values(struct batch *b, struct values *v)
{
	size_t n = 0;

	for (size_t i = 0; i < b->nrec; i++)
		n += b->rec[i].n;
	if ((v->v = calloc(n, sizeof *v->v)) == NULL ||
	    (v->widths = calloc(b->nrec, sizeof *v->widths)) == NULL) {
		free(v->v);
		v->v = NULL;
		return -1;
	}
	v->nwidths = b->nrec;
	for (size_t i = 0; i < b->nrec; i++) {
		v->widths[i] = b->rec[i].n;
		memcpy(v->v + v->n, b->rec[i].v, b->rec[i].n * sizeof *v->v);
		v->n += b->rec[i].n;
		free(b->rec[i].v);
		memset(&b->rec[i], 0, sizeof b->rec[i]);
	}
	for (size_t i = 0; i < b->nkeys; i++)
		b->keys[i].width = 0;
	b->nrec = 0;
	b->seq++;
	return 0;
}

/* The next job's values: 1, 0 at the end, -1 or INPUT_STOP (reported). */
int
batch_next(struct batch *b, struct values *v)
{
	struct values r;
	size_t len;
	int rc;

	memset(v, 0, sizeof *v);
	if (b->stopped)
		return 0;
	if (b->o->batch.no_args) {
		if ((rc = record_get(b, &r)) > 0) {
			values_free(&r);
			b->seq++;
		}
		return rc;
	}
	while ((rc = record_get(b, &r)) > 0) {
		if (job_push(b, &r) != 0) {
			values_free(&r);
			goto nomem;
		}
		if ((len = line_length(b)) >= b->limit) {
			if (b->nrec == 1) {
				too_long(b, len);
				b->stopped = true;
				return INPUT_STOP;
			}
			if (job_unget_last(b) != 0)
				goto nomem;
			break;
		}
		if (b->nrec >= b->max_args)
			break;
	}
	if (rc < 0)
		return -1;
	if (b->nrec == 0)
		return 0;
	if (spread(b) != 0 || job_values(b, v) != 0)
		goto nomem;
	return 1;
nomem:
	usage_error("out of memory");
	return -1;
}

struct batch *
batch_new(const struct cli_opts *o, struct input *in)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct batch *b = calloc(1, sizeof *b);

	if (b == NULL) {
		usage_error("out of memory");
		return NULL;
	}
	b->o = o;
	b->in = in;
	b->max_args = o->batch.max_args;
	b->slots = o->jobs > 0 ? (size_t)o->jobs : cpus > 0 ? (size_t)cpus : 1;
	b->limit = default_limit();
	if (o->batch.s > b->limit)
		fprintf(stderr,
		    "procq: -s %zu is more than the longest "
		    "command line, %zu: %zu is used\n",
		    o->batch.s, b->limit, b->limit);
	else if (o->batch.s > 0)
		b->limit = o->batch.s;
	if (measure_command(b) != 0) {
		usage_error("out of memory");
		batch_free(b);
		return NULL;
	}
	return b;
}

void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = b->head; i < b->nback; i++)
		values_free(&b->back[i]);
	for (size_t i = 0; i < b->nrec; i++)
		values_free(&b->rec[i]);
	free(b->back);
	free(b->rec);
	free(b->keys);
	free(b);
}
