/*
 * The live jobs: submitted and not yet retired.  They sit in a ring
 * indexed by seq modulo its size, which is the most jobs submitted ahead
 * of the oldest live one: the main thread waits for room before it reads
 * more input, so memory stays flat however long the input.  Everything
 * here runs with c->lock held.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

int
jobs_init(struct cli *c, size_t window)
{
	if ((c->ring = calloc(window, sizeof *c->ring)) == NULL)
		return -1;
	c->window = window;
	return 0;
}

void
jobs_fini(struct cli *c)
{
	for (size_t i = 0; i < c->window; i++)
		job_free(c->ring[i]);
	free(c->ring);
	c->ring = NULL;
}

/* Takes the values. */
struct job *
job_new(size_t seq, struct values *v)
{
	struct job *j = calloc(1, sizeof *j);

	if (j == NULL)
		return NULL;
	j->seq = seq;
	j->args = v->v;
	j->nargs = v->n;
	j->block = v->block;
	j->block_len = v->block_len;
	j->widths = v->widths;
	j->nwidths = v->nwidths;
	memset(v, 0, sizeof *v);
	j->exit_status = j->signal = -1;
	return j;
}

void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	for (size_t i = 0; i < j->nargs; i++)
		free(j->args[i]);
	free(j->args);
	free(j->block);
	free(j->widths);
	free(j->cmdline);
	free(j->name);
	free(j->group);
	free(j->tag);
	free(j->results);
	output_job_free(j->out);
	free(j);
}

struct job *
jobs_get(struct cli *c, size_t seq)
{
	struct job *j = c->ring[seq % c->window];

	return j != NULL && j->seq == seq ? j : NULL;
}

bool
jobs_room(struct cli *c, size_t seq)
{
	return c->ring[seq % c->window] == NULL;
}

void
jobs_insert(struct cli *c, struct job *j)
{
	c->ring[j->seq % c->window] = j;
	c->live++;
}

/*
 * Frees a job once it is final (its output handed over) and no thread
 * holds its handle;
 * whoever lets go last calls this.  The handle is released with it: a
 * hook calls this on the queue's own thread, where the queue can be
 * called with c->lock held.
 */
void
jobs_retire(struct cli *c, struct job *j)
{
	if (!j->final || j->submitting || j->pins > 0)
		return;
	if (c->ring[j->seq % c->window] == j) {
		c->ring[j->seq % c->window] = NULL;
		c->live--;
	}
	if (j->h != NULL)
		procq_handle_release(j->h);
	job_free(j);
	pthread_cond_broadcast(&c->changed);
}
