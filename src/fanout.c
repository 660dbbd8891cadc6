/*
 * One-call fan-out: map a task over many argument tuples, map in a queue
 * of its own (pmap), and race several jobs for the first success.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "queue.h"
#include "submit.h"
#include "result.h"

int
procq_map(procq_queue *q, const char *name, const procq_args *args,
    size_t n, const procq_opts *opts, procq_handle **handles)
{
	size_t i;
	int rc = 0;

	if (n > 0 && handles != NULL)
		memset(handles, 0, n * sizeof *handles);
	if (q == NULL || name == NULL || (n > 0 && (args == NULL ||
	    handles == NULL)))
		return PROCQ_EINVAL;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	if (q->cfg.size == 0)
		return submit_post_batch(q, name, args, n, opts, NULL, handles);
	for (i = 0; i < n && rc == 0; i++)
		rc = procq_submit(q, name, args[i].data, args[i].len, opts,
		    &handles[i]);
	if (rc == 0)
		return 0;
	/* All or nothing: what this call submitted is taken back. */
	for (size_t k = 0; k < i; k++) {
		if (handles[k] != NULL)
			procq_handle_cancel(handles[k]);
		handles[k] = NULL;
	}
	for (size_t k = i; k < n; k++)
		handles[k] = NULL;
	return rc;
}

/* A summary of the handles' results in the handles' order. */
static procq_summary *
summary_of_handles(procq_handle **hs, size_t n, double duration)
{
	procq_result **rs;
	procq_summary *s;

	if ((rs = malloc((n ? n : 1) * sizeof *rs)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		rs[i] = (procq_result *)procq_handle_result(hs[i]);
	s = summary_new(rs, n, duration);
	free(rs);
	return s;
}

int
procq_pmap(const char *name, procq_fn fn, const procq_args *args, size_t n,
    const procq_config *config, const procq_opts *opts,
    procq_summary **results)
{
	procq_summary *run = NULL;
	procq_handle **hs;
	procq_queue *q;
	int rc;

	if (results != NULL)
		*results = NULL;
	if (name == NULL || fn == NULL || (args == NULL && n > 0))
		return PROCQ_EINVAL;
	/* It must come back by itself: no run without end, no loop of the
	 * caller's to drive it. */
	if (config != NULL && (config->mode == PROCQ_MODE_INFINITE ||
	    config->event_base != NULL))
		return PROCQ_EINVAL;
	if ((hs = calloc(n ? n : 1, sizeof *hs)) == NULL)
		return PROCQ_ENOMEM;
	if ((q = procq_create(config, &rc)) == NULL) {
		free(hs);
		return rc;
	}
	/* Started first, so a size limit smaller than n drains as it fills. */
	if ((rc = procq_register(q, name, fn)) == 0 &&
	    (rc = procq_start(q)) == 0 &&
	    (rc = procq_map(q, name, args, n, opts, hs)) == 0 &&
	    (rc = procq_run(q, NULL, &run)) == 0) {
		procq_summary *s = summary_of_handles(hs, n,
		    procq_summary_duration(run));

		if (s == NULL)
			rc = PROCQ_ENOMEM;
		else if (procq_summary_succeeded(s) != n)
			rc = PROCQ_ETASK;
		if (s != NULL && results != NULL)
			*results = s;
		else
			procq_summary_free(s);
	}
	procq_summary_free(run);
	procq_free(q);	/* the results outlive it */
	free(hs);
	return rc;
}

/* Submits the race's jobs; on failure, takes back what it submitted. */
static int
race_submit(procq_queue *q, const procq_job *jobs, size_t n,
    procq_handle **hs)
{
	int rc = 0;
	size_t i;

	for (i = 0; i < n && rc == 0; i++)
		rc = procq_submit(q, jobs[i].name, jobs[i].args.data,
		    jobs[i].args.len, jobs[i].opts, &hs[i]);
	if (rc != 0)
		for (size_t k = 0; k < i; k++)
			if (hs[k] != NULL)
				procq_handle_cancel(hs[k]);
	return rc;
}

/* Waits for the first success among hs; NULL when none can come. */
static procq_handle *
race_wait(procq_handle **hs, size_t n, double timeout, int *rc)
{
	procq_handle *h, *winner = NULL;
	procq_iter *it;

	if ((it = procq_as_completed(hs, n, timeout, rc)) == NULL)
		return NULL;
	while (winner == NULL && (h = procq_iter_next(it, rc)) != NULL) {
		if (procq_handle_status(h) == PROCQ_SUCCEEDED)
			winner = h;
	}
	procq_iter_free(it, true);	/* the others lose: cancelled */
	return winner;
}

int
procq_race(procq_queue *q, const procq_job *jobs, size_t n, double timeout,
    procq_handle **winner, procq_summary **failures)
{
	procq_handle **hs;
	procq_handle *w;
	int rc;

	if (winner != NULL)
		*winner = NULL;
	if (failures != NULL)
		*failures = NULL;
	if (q == NULL || jobs == NULL || n == 0 || isnan(timeout))
		return PROCQ_EINVAL;
	if (queue_forked(q))
		return PROCQ_EFORKED;
	if ((hs = calloc(n, sizeof *hs)) == NULL)
		return PROCQ_ENOMEM;
	if ((rc = race_submit(q, jobs, n, hs)) != 0) {
		free(hs);
		return rc;
	}
	pthread_mutex_lock(&q->lock);
	if (q->state == QUEUE_NEW && !loop_on_thread(q))
		rc = queue_start_locked(q);
	pthread_mutex_unlock(&q->lock);
	if (rc != 0) {
		for (size_t i = 0; i < n; i++)
			procq_handle_cancel(hs[i]);
		free(hs);
		return rc;
	}
	w = race_wait(hs, n, timeout, &rc);
	if (w != NULL) {
		rc = 0;
		if (winner != NULL)
			*winner = w;
	} else if (rc == 0 || rc == PROCQ_ETIMEDOUT) {
		/* Wait for the cancelled ones, so the failures are whole. */
		procq_wait(hs, n, PROCQ_ALL_COMPLETED, PROCQ_FOREVER, NULL,
		    NULL, NULL, NULL);
		if (rc == 0)
			rc = PROCQ_ETASK;
		if (rc == PROCQ_ETASK && failures != NULL &&
		    (*failures = summary_of_handles(hs, n, -1)) == NULL)
			rc = PROCQ_ENOMEM;
	}
	free(hs);
	return rc;
}
