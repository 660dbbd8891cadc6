/*
 * Stopping a run early: --halt (when enough jobs failed or succeeded)
 * and --timeout N% (a job past N% of the median runtime of the jobs that
 * succeeded so far).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* "now|soon,fail|success=N|N%", or GNU parallel's old 0, 1 and 2. */
int
halt_parse(const char *s, struct halt *h)
{
	const char *p;
	char *end;

	memset(h, 0, sizeof *h);
	if (strcmp(s, "0") == 0)
		return 0;
	if (strcmp(s, "1") == 0 || strcmp(s, "2") == 0) {
		h->now = s[0] == '2';
		h->count = 1;
		return 0;
	}
	if (strncmp(s, "now,", 4) == 0)
		h->now = true;
	else if (strncmp(s, "soon,", 5) != 0)
		return -1;
	p = strchr(s, ',') + 1;
	if (strncmp(p, "fail=", 5) == 0)
		p += 5;
	else if (strncmp(p, "success=", 8) == 0) {
		h->on_success = true;
		p += 8;
	} else
		return -1;
	h->count = strtod(p, &end);
	if (end == p || h->count <= 0)
		return -1;
	if (*end == '%' && end[1] == '\0' && h->count <= 100)
		h->percent = true;
	else if (*end != '\0' || h->count != (double)(size_t)h->count)
		return -1;
	return 0;
}

/* Cancels the jobs of the ring that are not final nor halted already,
 * but except and, unless running, those running.  On the queue's thread
 * (a hook): the handles may be used with c->lock held. */
static void
halt_cancel_ring(struct cli *c, const struct job *except, bool running)
{
	for (size_t i = 0; i < c->window; i++) {
		struct job *j = c->ring[i];

		if (j == NULL || j == except || j->final || j->halted ||
		    (j->running && !running))
			continue;
		j->halted = true;
		/* One still being submitted is cancelled by the main
		 * thread once it has its handle. */
		if (j->h != NULL)
			procq_handle_cancel(j->h);
	}
}

/*
 * --fail-fast: the queue's fail-first cancelled the jobs it had when this
 * one failed, not those submitted since (the main thread submits as the
 * ring makes room): they are cancelled here, and so is every later one
 * (main_submit()).
 */
void
halt_fail_fast(struct cli *c, const struct job *failed, const procq_result *r)
{
	if (!c->opt.fail_fast || procq_result_status(r) != PROCQ_FAILED)
		return;
	c->failed_fast = true;
	halt_cancel_ring(c, failed, true);
}

/*
 * Whether the run must stop, after a job became final.  A percentage is
 * of the jobs known: every job once the input has been read, else those
 * submitted so far.
 */
void
halt_check(struct cli *c)
{
	const struct halt *h = c->opt.halt;
	double n, of;

	if (h == NULL || c->stop)
		return;
	n = (double)(h->on_success ? c->summary.totals.succeeded :
				     c->summary.totals.failed);
	of = (double)c->njobs;
	if (h->percent ? n * 100 < h->count * of || of == 0 : n < h->count)
		return;
	c->stop = true;
	c->halted = true;
	pthread_cond_broadcast(&c->changed);
	/* --halt soon lets the running jobs finish. */
	if (h->now)
		procq_cancel(c->q);
	else
		halt_cancel_ring(c, NULL, false);
}

/*
 * The median of the runtimes so far: a max-heap of the lower half and a
 * min-heap of the upper half, so that adding one costs O(log n).
 */
struct median {
	double *lo; /* max-heap */
	double *hi; /* min-heap */
	size_t nlo;
	size_t nhi;
	size_t cap;
};

struct median *
median_new(void)
{
	return calloc(1, sizeof(struct median));
}

void
median_free(struct median *m)
{
	if (m == NULL)
		return;
	free(m->lo);
	free(m->hi);
	free(m);
}

/* sign 1: a max-heap; -1: a min-heap. */
static void
heap_push(double *v, size_t *n, double x, int sign)
{
	size_t i = (*n)++;

	while (i > 0 && sign * (x - v[(i - 1) / 2]) > 0) {
		v[i] = v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	v[i] = x;
}

static double
heap_pop(double *v, size_t *n, int sign)
{
	double top = v[0], x = v[--(*n)];
	size_t i = 0, k;

	while ((k = 2 * i + 1) < *n) {
		if (k + 1 < *n && sign * (v[k + 1] - v[k]) > 0)
			k++;
		if (sign * (v[k] - x) <= 0)
			break;
		v[i] = v[k];
		i = k;
	}
	v[i] = x;
	return top;
}

int
median_add(struct median *m, double x)
{
	if (m->nlo + 1 > m->cap || m->nhi + 1 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		double *lo = realloc(m->lo, cap * sizeof *lo), *hi;

		if (lo == NULL)
			return -1;
		m->lo = lo;
		if ((hi = realloc(m->hi, cap * sizeof *hi)) == NULL)
			return -1;
		m->hi = hi;
		m->cap = cap;
	}
	if (m->nlo == 0 || x <= m->lo[0])
		heap_push(m->lo, &m->nlo, x, 1);
	else
		heap_push(m->hi, &m->nhi, x, -1);
	if (m->nlo > m->nhi + 1)
		heap_push(m->hi, &m->nhi, heap_pop(m->lo, &m->nlo, 1), -1);
	else if (m->nhi > m->nlo)
		heap_push(m->lo, &m->nlo, heap_pop(m->hi, &m->nhi, -1), 1);
	return 0;
}

double
median_get(const struct median *m)
{
	if (m->nlo == 0)
		return 0;
	if (m->nlo > m->nhi)
		return m->lo[0];
	return (m->lo[0] + m->hi[0]) / 2;
}

/*
 * --timeout N%: on the watcher thread, cancels the jobs running past N%
 * of the median; they count as failed (hooks.c).  The job is pinned while
 * its handle is used without c->lock, which the queue's own thread may
 * be waiting for.
 */
void
overdue_check(struct cli *c)
{
	double now = cli_clock(), limit;

	pthread_mutex_lock(&c->lock);
	limit = median_get(c->median) * c->opt.timeout_pct / 100;
	for (size_t i = 0; limit > 0 && i < c->window; i++) {
		struct job *j = c->ring[i];

		if (j == NULL || !j->running || j->overdue || j->h == NULL ||
		    now - j->started <= limit)
			continue;
		j->overdue = true;
		j->pins++;
		pthread_mutex_unlock(&c->lock);
		procq_handle_cancel(j->h);
		pthread_mutex_lock(&c->lock);
		j->pins--;
		jobs_retire(c, j);
	}
	pthread_mutex_unlock(&c->lock);
}
