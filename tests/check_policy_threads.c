/*
 * Many threads at once submitting, cancelling and waiting on one queue
 * with a size limit, delays and a prefetch window.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "policy_tasks.h"
#include "util.h"

#define NTHREADS 8
#define PER_THREAD 25
#define NTASKS (NTHREADS * PER_THREAD)

struct shared {
	procq_queue *q;
	_Atomic(procq_handle *) h[NTASKS];
	atomic_int finished;		/* threads done */
	atomic_int cancel_ok;		/* cancels that returned 0 */
	atomic_int cancel_done;		/* cancels that returned EDONE */
	atomic_int bad;			/* unexpected return codes */
	atomic_int closed;		/* submits refused: PROCQ_ECLOSED */
	int cancel_queue_after;		/* thread 0 cancels q after that many
					 * submits; < 0 never */
};

struct worker_arg {
	struct shared *sh;
	int t;
};

static void *
thread_main(void *arg)
{
	struct worker_arg *wa = arg;
	struct shared *sh = wa->sh;
	unsigned seed = 1234u + (unsigned)wa->t;
	procq_handle *h;
	procq_stats st;
	int i, rc;

	for (i = 0; i < PER_THREAD; i++) {
		int idx = wa->t * PER_THREAD + i;
		procq_opts o = { .priority = i % 3 };

		if (i % 5 == 2)
			o.delay = 0.005 * (1 + i % 4);
		if (i % 7 == 3)
			o.must_complete = true;
		h = NULL;
		rc = procq_submitf(sh->q, "ident", &o, &h, "i", idx);
		if (rc == PROCQ_ECLOSED) {
			atomic_fetch_add(&sh->closed, 1);
			continue;
		}
		if (rc != 0 || h == NULL) {
			atomic_fetch_add(&sh->bad, 1);
			continue;
		}
		atomic_store(&sh->h[idx], h);
		if (wa->t == 0 && i + 1 == sh->cancel_queue_after &&
		    procq_cancel(sh->q) != 0)
			atomic_fetch_add(&sh->bad, 1);

		/* cancel one of ours, or one of another thread's */
		if (i % 3 == 0 || rand_r(&seed) % 4 == 0) {
			int other = i % 3 == 0 ? idx :
			    (int)(rand_r(&seed) % NTASKS);
			procq_handle *victim = atomic_load(&sh->h[other]);

			if (victim != NULL) {
				rc = procq_handle_cancel(victim);
				if (rc == 0)
					atomic_fetch_add(&sh->cancel_ok, 1);
				else if (rc == PROCQ_EDONE)
					atomic_fetch_add(&sh->cancel_done, 1);
				else
					atomic_fetch_add(&sh->bad, 1);
			}
		}
		if (i % 4 == 1) {
			if (procq_stats_get(sh->q, &st) != 0)
				atomic_fetch_add(&sh->bad, 1);
			(void)procq_pending(sh->q);
			(void)procq_active(sh->q);
		}
		/* wait for another thread's task now and then */
		if (i % 6 == 5) {
			h = atomic_load(&sh->h[rand_r(&seed) % NTASKS]);
			if (h != NULL && procq_handle_wait(h, 30) != 0)
				atomic_fetch_add(&sh->bad, 1);
		}
	}
	for (i = 0; i < PER_THREAD; i++) {
		h = atomic_load(&sh->h[wa->t * PER_THREAD + i]);
		if (h != NULL && procq_handle_wait(h, 30) != 0)
			atomic_fetch_add(&sh->bad, 1);
	}
	atomic_fetch_add(&sh->finished, 1);
	return NULL;
}

static bool
all_finished(void *p)
{
	return atomic_load(&((struct shared *)p)->finished) == NTHREADS;
}

static void
run_threads(struct shared *sh)
{
	pthread_t th[NTHREADS];
	struct worker_arg wa[NTHREADS];
	int t;

	for (t = 0; t < NTHREADS; t++) {
		wa[t].sh = sh;
		wa[t].t = t;
		ck_assert_int_eq(pthread_create(&th[t], NULL, thread_main,
		    &wa[t]), 0);
	}
	ck_assert_msg(wait_until(all_finished, sh, 60), "%d of %d threads "
	    "finished", atomic_load(&sh->finished), NTHREADS);
	for (t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
}

/* Tallies the handles: every one final, the values right. */
static void
tally(struct shared *sh, size_t *n, size_t *succeeded, size_t *cancelled)
{
	*n = *succeeded = *cancelled = 0;
	for (int idx = 0; idx < NTASKS; idx++) {
		procq_handle *h = atomic_load(&sh->h[idx]);
		procq_status st;

		if (h == NULL)
			continue;
		(*n)++;
		ck_assert_msg(procq_handle_done(h), "task %d is %s", idx,
		    procq_status_name(procq_handle_status(h)));
		st = procq_handle_status(h);
		if (st == PROCQ_SUCCEEDED) {
			(*succeeded)++;
			ck_assert_int_eq(int_value(h), idx);
		} else {
			ck_assert_msg(st == PROCQ_CANCELLED, "task %d ended %s: "
			    "%s", idx, procq_status_name(st), message_of(h));
			(*cancelled)++;
		}
	}
}

static procq_queue *
threads_queue(void)
{
	return policy_queue(&(procq_config){ .workers = 2, .prefetch = 2,
	    .size = 12 });
}

START_TEST(test_threads)
{
	struct shared *sh = calloc(1, sizeof *sh);
	size_t n, ok, cancelled;
	procq_summary *s = NULL;
	procq_stats st;

	ck_assert_ptr_nonnull(sh);
	sh->q = threads_queue();
	sh->cancel_queue_after = -1;
	ck_assert_int_eq(procq_start(sh->q), 0);
	run_threads(sh);
	ck_assert_int_eq(atomic_load(&sh->bad), 0);
	ck_assert_int_eq(atomic_load(&sh->closed), 0);

	tally(sh, &n, &ok, &cancelled);
	ck_assert_uint_eq(n, NTASKS);
	ck_assert_uint_eq(ok + cancelled, NTASKS);
	ck_assert_int_gt(cancelled, 0);
	ck_assert_int_gt(ok, 0);
	/* a cancel under way may lose to the result, never the reverse */
	ck_assert_uint_le(cancelled, (size_t)atomic_load(&sh->cancel_ok));

	st = stats_of(sh->q);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_uint_eq(st.active, 0);
	ck_assert_uint_eq(st.scheduled, 0);
	ck_assert_uint_eq(st.completed, NTASKS);
	ck_assert_int_eq(procq_run(sh->q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_submitted(s), NTASKS);
	ck_assert_uint_eq(procq_summary_count(s), NTASKS);
	ck_assert_uint_eq(procq_summary_succeeded(s), ok);
	ck_assert_uint_eq(procq_summary_cancelled(s), cancelled);
	ck_assert_uint_eq(procq_summary_failed(s), 0);
	for (int idx = 0; idx < NTASKS; idx++)
		ck_assert_ptr_nonnull(procq_summary_by_id(s,
		    procq_handle_id(atomic_load(&sh->h[idx]))));
	procq_summary_free(s);
	procq_free(sh->q);
	free(sh);
}
END_TEST

/* The same, with one thread cancelling the whole queue midway. */
START_TEST(test_threads_queue_cancel)
{
	struct shared *sh = calloc(1, sizeof *sh);
	size_t n, ok, cancelled;
	procq_summary *all;

	ck_assert_ptr_nonnull(sh);
	sh->q = threads_queue();
	sh->cancel_queue_after = 10;
	ck_assert_int_eq(procq_start(sh->q), 0);
	run_threads(sh);
	ck_assert_int_eq(atomic_load(&sh->bad), 0);
	ck_assert(procq_closed(sh->q));

	tally(sh, &n, &ok, &cancelled);
	ck_assert_uint_eq(n + (size_t)atomic_load(&sh->closed), NTASKS);
	ck_assert_uint_eq(ok + cancelled, n);
	ck_assert_int_gt(atomic_load(&sh->closed), 0);
	all = procq_results(sh->q);
	ck_assert_uint_eq(procq_summary_count(all), n);
	ck_assert_uint_eq(procq_summary_succeeded(all), ok);
	ck_assert_uint_eq(procq_summary_cancelled(all), cancelled);
	procq_summary_free(all);
	ck_assert_uint_eq(procq_pending(sh->q) + procq_active(sh->q), 0);
	procq_free(sh->q);
	free(sh);
}
END_TEST

static Suite *
threads_suite(void)
{
	Suite *s = suite_create("policy_threads");
	TCase *tc;

	tc = add_tcase(s, "threads", 60);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_threads_queue_cancel);
	return s;
}

int
main(void)
{
	return run_suite(threads_suite());
}
