/*
 * Invalid input: every public function given each input that procq.h or
 * its man page documents as invalid (NULL pointers, negative, NaN or
 * infinite numbers, values outside an enum, unknown flags, bad format
 * strings, malformed msgpack), and called in each wrong state (closed
 * queue, started queue, unfinished handle, task handle given to a future
 * function, second completion...).  Each test asserts the documented
 * error, that accessors given NULL return a harmless value, and ends by
 * running a small clean batch to show the queue still works.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tasks.h"
#include "util.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A non-NULL pointer that must be overwritten with NULL on failure. */
static int sentinel_obj;
#define SENTINEL ((procq_handle *)(void *)&sentinel_obj)

/* Argument tuples: one valid, and the malformed kinds. */
static const unsigned char A_OK[] = { 0x91, 0x01 };		/* [1] */
static const unsigned char A_INT[] = { 0x01 };			/* 1 */
static const unsigned char A_TWO[] = { 0x90, 0x90 };		/* [] [] */
static const unsigned char A_TRUNC[] = { 0x92, 0x01 };		/* [1, */

static const struct bad_args {
	const char *what;
	const void *data;
	size_t len;
} bad_args[] = {
	{ "NULL data, len 3", NULL, 3 },
	{ "not an array", A_INT, sizeof A_INT },
	{ "two arrays", A_TWO, sizeof A_TWO },
	{ "truncated array", A_TRUNC, sizeof A_TRUNC },
};

/* Options out of range: every one is PROCQ_EINVAL wherever options are
 * taken (procq_submit(3)). */
static const struct bad_opts {
	const char *what;
	procq_opts o;
} bad_opts[] = {
	{ "retries -1", { .retries = -1 } },
	{ "retry_delay -1", { .retry_delay = -1 } },
	{ "retry_delay NaN", { .retry_delay = NAN } },
	{ "retry_delay inf", { .retry_delay = INFINITY } },
	{ "backoff NaN", { .backoff = NAN } },
	{ "backoff inf", { .backoff = INFINITY } },
	{ "backoff 0.5", { .backoff = 0.5 } },
	{ "backoff -2", { .backoff = -2 } },
	{ "timeout -1", { .timeout = -1 } },
	{ "timeout NaN", { .timeout = NAN } },
	{ "timeout inf", { .timeout = INFINITY } },
	{ "delay -1", { .delay = -1 } },
	{ "delay NaN", { .delay = NAN } },
	{ "delay inf", { .delay = INFINITY } },
	{ "run_at -1", { .run_at = -1 } },
	{ "run_at NaN", { .run_at = NAN } },
	{ "run_at inf", { .run_at = INFINITY } },
	{ "delay and run_at", { .delay = 1, .run_at = 1e9 } },
	{ "metadata_len without metadata", { .metadata_len = 3 } },
};

/* ------------------------------------------------------------------ */
/* Tasks of this suite (they run in the workers)                       */

/* Set by the initializer in the worker: what procq_call_progress()
 * returned there. */
static int init_progress_rc = 12345;

static int
t_init(procq_call *c)
{
	init_progress_rc = procq_call_progress(c, "i", 1);
	return 0;
}

static int
t_initrc(procq_call *c)
{
	return procq_call_return(c, "i", init_progress_rc);
}

static int
t_progress(procq_call *c)
{
	procq_call_progress(c, "i", 7);
	return procq_call_return(c, "i", 1);
}

static int
t_failnull(procq_call *c)
{
	return procq_call_fail(c, NULL, NULL);
}

/* Every worker-side function with each documented invalid input; returns
 * the codes as an array (the order of call_expect[]). */
static const int call_expect[] = {
	PROCQ_EINVAL,	/* unpack fmt NULL */
	PROCQ_EFORMAT,	/* unpack unknown conversion */
	PROCQ_EFORMAT,	/* unpack count mismatch */
	PROCQ_EFORMAT,	/* unpack type mismatch */
	PROCQ_EINVAL,	/* return fmt NULL */
	PROCQ_EFORMAT,	/* return fmt empty */
	PROCQ_EFORMAT,	/* return unknown conversion */
	PROCQ_EINVAL,	/* return_data NULL data */
	PROCQ_EINVAL,	/* return_data len 0 */
	PROCQ_EINVAL,	/* progress fmt NULL */
	PROCQ_EFORMAT,	/* progress fmt empty */
	PROCQ_EFORMAT,	/* progress unknown conversion */
	PROCQ_EINVAL,	/* progress larger than max_frame */
	0,		/* a valid unpack afterwards */
	-1,		/* procq_call_fail() would return -1 */
};

static int
t_callbad(procq_call *c)
{
	int rc[NELEM(call_expect)];
	static char big[8192];
	char *s = (char *)"untouched";
	int x = 0, y = 0;
	size_t i = 0;
	msgpack_packer *pk;

	rc[i++] = procq_call_unpack(c, NULL);
	rc[i++] = procq_call_unpack(c, "q", &x);
	rc[i++] = procq_call_unpack(c, "ii", &x, &y);
	rc[i++] = procq_call_unpack(c, "s", &s);
	rc[i++] = procq_call_return(c, NULL);
	rc[i++] = procq_call_return(c, "");
	rc[i++] = procq_call_return(c, "q", 1);
	rc[i++] = procq_call_return_data(c, NULL, 3);
	rc[i++] = procq_call_return_data(c, A_INT, 0);
	rc[i++] = procq_call_progress(c, NULL);
	rc[i++] = procq_call_progress(c, "");
	rc[i++] = procq_call_progress(c, "q", 1);
	rc[i++] = procq_call_progress(c, "y", big, sizeof big);
	rc[i] = procq_call_unpack(c, "i", &x);
	if (rc[i] == 0 && x != 1)
		rc[i] = 999;
	i++;
	rc[i++] = -1;
	/* The return value must be exactly this array, whatever the failed
	 * calls above left behind. */
	pk = procq_call_packer(c);
	msgpack_pack_array(pk, i);
	for (size_t j = 0; j < i; j++)
		msgpack_pack_int(pk, rc[j]);
	return 0;
}

static void
register_suite_tasks(procq_queue *q)
{
	ck_assert_int_eq(procq_register(q, "progress", t_progress), 0);
	ck_assert_int_eq(procq_register(q, "failnull", t_failnull), 0);
	ck_assert_int_eq(procq_register(q, "callbad", t_callbad), 0);
	ck_assert_int_eq(procq_register(q, "initrc", t_initrc), 0);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static procq_queue *
mkq_config(const procq_config *cfg)
{
	procq_queue *q = new_queue_config(cfg);

	register_suite_tasks(q);
	return q;
}

static procq_queue *
mkq(void)
{
	return mkq_config(&(procq_config){ .workers = 1 });
}

/* Run two "double" tasks to completion on q: it still works. */
static void
clean_batch(procq_queue *q)
{
	procq_handle *h1, *h2;
	procq_summary *s = NULL;
	double v = 0;

	h1 = submit_ok(q, "double", NULL, "d", 1.5);
	h2 = submit_ok(q, "double", NULL, "d", 2.0);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_ptr_nonnull(s);
	procq_summary_free(s);
	ck_assert_int_eq(procq_handle_value(h1, "d", &v), 0);
	ck_assert_double_eq(v, 3.0);
	ck_assert_int_eq(procq_handle_value(h2, "d", &v), 0);
	ck_assert_double_eq(v, 4.0);
}

/* For tests that leave their queue closed: a new queue still works. */
static void
fresh_batch(void)
{
	procq_queue *q = mkq();

	clean_batch(q);
	procq_free(q);
}

/* A finished task of q: SUCCEEDED ("double") or FAILED ("fail"). */
static procq_handle *
finished(procq_queue *q, bool ok)
{
	procq_handle *h;

	h = ok ? submit_ok(q, "double", NULL, "d", 1.0) :
	    submit_ok(q, "fail", NULL, "i", 7);
	ck_assert_int_eq(procq_join(q, 20), 0);
	ck_assert(procq_handle_done(h));
	ck_assert_int_eq(procq_handle_status(h),
	    ok ? PROCQ_SUCCEEDED : PROCQ_FAILED);
	return h;
}

/* ------------------------------------------------------------------ */
/* Submission functions, table-driven                                   */

struct subctx {
	procq_queue *q;
	procq_group *g;
	procq_bound *b;
};

#define F_NAME	0x1	/* takes a task name */
#define F_ARGS	0x2	/* takes raw argument bytes */
#define F_HANDLE 0x4	/* stores one handle, NULL on failure */

typedef int (*subfn)(struct subctx *, const char *, const void *, size_t,
    const procq_opts *, procq_handle **);

static int
w_submit(struct subctx *x, const char *n, const void *a, size_t l,
    const procq_opts *o, procq_handle **h)
{
	return procq_submit(x->q, n, a, l, o, h);
}

static int
w_submitf(struct subctx *x, const char *n, const void *a, size_t l,
    const procq_opts *o, procq_handle **h)
{
	(void)a, (void)l;
	return procq_submitf(x->q, n, o, h, "i", 1);
}

static int
w_submit_timeout(struct subctx *x, const char *n, const void *a, size_t l,
    const procq_opts *o, procq_handle **h)
{
	return procq_submit_timeout(x->q, n, a, l, o, 1.0, h);
}

static int
w_try_submit(struct subctx *x, const char *n, const void *a, size_t l,
    const procq_opts *o, procq_handle **h)
{
	return procq_try_submit(x->q, n, a, l, o, h);
}

static int
w_map(struct subctx *x, const char *n, const void *a, size_t l,
    const procq_opts *o, procq_handle **h)
{
	procq_args args[2] = { { A_OK, sizeof A_OK }, { a, l } };

	return procq_map(x->q, n, args, 2, o, h);
}

static int
w_group_submit(struct subctx *x, const char *n, const void *a, size_t l,
    const procq_opts *o, procq_handle **h)
{
	return procq_group_submit(x->g, n, a, l, o, h);
}

static int
w_group_submitf(struct subctx *x, const char *n, const void *a, size_t l,
    const procq_opts *o, procq_handle **h)
{
	(void)a, (void)l;
	return procq_group_submitf(x->g, n, o, h, "i", 1);
}

static int
w_group_map(struct subctx *x, const char *n, const void *a, size_t l,
    const procq_opts *o, procq_handle **h)
{
	procq_args args[2] = { { A_OK, sizeof A_OK }, { a, l } };

	(void)h;
	return procq_group_map(x->g, n, args, 2, o);
}

static int
w_group_jobs(struct subctx *x, const char *n, const void *a, size_t l,
    const procq_opts *o, procq_handle **h)
{
	procq_job jobs[2] = {
		{ "ident", { A_OK, sizeof A_OK }, NULL },
		{ n, { a, l }, o },
	};

	(void)h;
	return procq_group_jobs(x->g, jobs, 2);
}

static int
w_bound_call(struct subctx *x, const char *n, const void *a, size_t l,
    const procq_opts *o, procq_handle **h)
{
	(void)n;
	return procq_bound_call(x->b, a, l, o, h);
}

static int
w_bound_callf(struct subctx *x, const char *n, const void *a, size_t l,
    const procq_opts *o, procq_handle **h)
{
	(void)n, (void)a, (void)l;
	return procq_bound_callf(x->b, o, h, "i", 1);
}

static int
w_bound_map(struct subctx *x, const char *n, const void *a, size_t l,
    const procq_opts *o, procq_handle **h)
{
	procq_args args[2] = { { A_OK, sizeof A_OK }, { a, l } };

	(void)n;
	return procq_bound_map(x->b, args, 2, o, h);
}

static int
w_bound_group(struct subctx *x, const char *n, const void *a, size_t l,
    const procq_opts *o, procq_handle **h)
{
	procq_args args[2] = { { A_OK, sizeof A_OK }, { a, l } };
	procq_group *g;
	int err = 12345;

	(void)n, (void)h;
	g = procq_bound_group(x->b, args, 2, NULL, o, &err);
	if (g != NULL) {
		procq_group_cancel(g);
		procq_group_free(g);
		return 0;
	}
	return err;
}

#define F_MAP 0x8	/* stores two handles */
#define F_OVERRIDE 0x10	/* options are an override of a binding: a NULL
			 * metadata keeps the preset's, whatever its len */
#define F_NEWGROUP 0x20	/* makes a new group: invalid options, which fail
			 * the first task, run into undefined behaviour in
			 * the library (see documented_but_failing) */

static const struct submitter {
	const char *what;
	subfn fn;
	int flags;
} submitters[] = {
	{ "procq_submit", w_submit, F_NAME | F_ARGS | F_HANDLE },
	{ "procq_submitf", w_submitf, F_NAME | F_HANDLE },
	{ "procq_submit_timeout", w_submit_timeout, F_NAME | F_ARGS | F_HANDLE },
	{ "procq_try_submit", w_try_submit, F_NAME | F_ARGS | F_HANDLE },
	{ "procq_map", w_map, F_NAME | F_ARGS | F_MAP },
	{ "procq_group_submit", w_group_submit, F_NAME | F_ARGS | F_HANDLE },
	{ "procq_group_submitf", w_group_submitf, F_NAME | F_HANDLE },
	{ "procq_group_map", w_group_map, F_NAME | F_ARGS },
	{ "procq_group_jobs", w_group_jobs, F_NAME | F_ARGS },
	{ "procq_bound_call", w_bound_call, F_ARGS | F_HANDLE | F_OVERRIDE },
	{ "procq_bound_callf", w_bound_callf, F_HANDLE | F_OVERRIDE },
	{ "procq_bound_map", w_bound_map, F_ARGS | F_MAP | F_OVERRIDE },
	{ "procq_bound_group", w_bound_group, F_ARGS | F_OVERRIDE | F_NEWGROUP },
};

/* Call submitter i with these inputs and assert the code; on failure
 * every handle it was to store must be NULL. */
static void
expect_sub(struct subctx *x, size_t i, const char *name, const void *a,
    size_t l, const procq_opts *o, int want, const char *what)
{
	const struct submitter *sb = &submitters[i];
	procq_handle *h[2] = { SENTINEL, SENTINEL };
	int rc;

	rc = sb->fn(x, name, a, l, o, h);
	ck_assert_msg(rc == want, "%s, %s: %d (%s), want %d (%s)", sb->what,
	    what, rc, procq_strerror(rc), want, procq_strerror(want));
	if (want != 0 && (sb->flags & F_HANDLE))
		ck_assert_msg(h[0] == NULL, "%s, %s: *handle not NULL",
		    sb->what, what);
	/* (a NULL name is not among the reasons procq_map(3) gives for
	 * clearing handles[]) */
	if (want != 0 && (sb->flags & F_MAP) && name != NULL)
		ck_assert_msg(h[0] == NULL && h[1] == NULL,
		    "%s, %s: handles not NULL", sb->what, what);
}

/* procq_group_map() and procq_group_jobs() leave the tasks they had
 * submitted before the failing one in the group, cancelled. */
static void
assert_all_cancelled(procq_group *g)
{
	/* handle 0 is the future of subctx_init() */
	for (size_t i = 1; i < procq_group_size(g); i++)
		ck_assert_int_eq(procq_handle_status(procq_group_handle(g, i)),
		    PROCQ_CANCELLED);
}

static void
subctx_init(struct subctx *x, procq_queue *q)
{
	procq_handle *f;
	int err = 12345;

	x->q = q;
	x->g = procq_group_create(q, NULL, &err);
	ck_assert_ptr_nonnull(x->g);
	ck_assert_int_eq(err, 0);
	/* Never empty: a failed procq_group_map() or procq_group_jobs() on
	 * an empty group runs into undefined behaviour in the library (see
	 * documented_but_failing). */
	f = procq_future_create(q, NULL, &err);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(procq_group_add(x->g, f), 0);
	x->b = procq_bind(q, "ident", NULL, &err);
	ck_assert_ptr_nonnull(x->b);
	ck_assert_int_eq(err, 0);
}

static void
subctx_free(struct subctx *x)
{
	procq_group_free(x->g);
	procq_bound_free(x->b);
}

START_TEST(test_submit_bad_opts)
{
	procq_queue *q = mkq();
	struct subctx x;
	procq_stats st;

	subctx_init(&x, q);
	for (size_t i = 0; i < NELEM(submitters); i++)
		for (size_t j = 0; j < NELEM(bad_opts); j++) {
			if ((submitters[i].flags & F_OVERRIDE) &&
			    bad_opts[j].o.metadata_len != 0)
				continue;
			if (submitters[i].flags & F_NEWGROUP)
				continue;
			expect_sub(&x, i, "ident", A_OK, sizeof A_OK,
			    &bad_opts[j].o, PROCQ_EINVAL, bad_opts[j].what);
		}
	/* nothing stayed queued, and the group holds nothing */
	ck_assert_int_eq(procq_stats_get(q, &st), 0);
	ck_assert_uint_eq(st.pending + st.scheduled + st.active, 0);
	assert_all_cancelled(x.g);
	subctx_free(&x);
	clean_batch(q);
	procq_free(q);
}
END_TEST

START_TEST(test_submit_bad_args_and_names)
{
	procq_queue *q = mkq();
	struct subctx x;
	procq_stats st;

	subctx_init(&x, q);
	for (size_t i = 0; i < NELEM(submitters); i++) {
		if (submitters[i].flags & F_ARGS)
			for (size_t j = 0; j < NELEM(bad_args); j++)
				expect_sub(&x, i, "ident", bad_args[j].data,
				    bad_args[j].len, NULL, PROCQ_EINVAL,
				    bad_args[j].what);
		if (submitters[i].flags & F_NAME) {
			expect_sub(&x, i, NULL, A_OK, sizeof A_OK, NULL,
			    PROCQ_EINVAL, "name NULL");
			expect_sub(&x, i, "no-such-task", A_OK, sizeof A_OK,
			    NULL, PROCQ_ENOTASK, "unknown name");
		}
	}
	ck_assert_int_eq(procq_stats_get(q, &st), 0);
	ck_assert_uint_eq(st.pending + st.scheduled + st.active, 0);
	assert_all_cancelled(x.g);
	subctx_free(&x);
	clean_batch(q);
	procq_free(q);
}
END_TEST

START_TEST(test_submit_args_too_large)
{
	/* max_frame 4096: arguments larger than 4096 - 64 bytes */
	procq_queue *q = mkq_config(&(procq_config){ .workers = 1,
	    .max_frame = 4096 });
	size_t len = 4 + 4096;
	unsigned char *big = calloc(1, len);
	struct subctx x;

	ck_assert_ptr_nonnull(big);
	big[0] = 0x91;			/* [bin16 of 4096 bytes] */
	big[1] = 0xc5;
	big[2] = 0x10;
	big[3] = 0x00;
	subctx_init(&x, q);
	for (size_t i = 0; i < NELEM(submitters); i++)
		if (submitters[i].flags & F_ARGS)
			expect_sub(&x, i, "ident", big, len, NULL,
			    PROCQ_EINVAL, "args larger than max_frame");
	subctx_free(&x);
	free(big);
	clean_batch(q);
	procq_free(q);
}
END_TEST

START_TEST(test_submit_closed)
{
	procq_queue *q;
	struct subctx x;

	/* after procq_shutdown(), and after procq_cancel() */
	for (int how = 0; how < 2; how++) {
		q = mkq();
		subctx_init(&x, q);
		if (how == 0)
			ck_assert_int_eq(procq_shutdown(q, 0), 0);
		else
			ck_assert_int_eq(procq_cancel(q), 0);
		ck_assert(procq_closed(q));
		for (size_t i = 0; i < NELEM(submitters); i++)
			expect_sub(&x, i, "ident", A_OK, sizeof A_OK, NULL,
			    PROCQ_ECLOSED, how ? "after cancel" :
			    "after shutdown");
		subctx_free(&x);
		procq_free(q);
	}
	fresh_batch();
}
END_TEST

START_TEST(test_submit_null_and_full)
{
	procq_queue *q = mkq_config(&(procq_config){ .workers = 1,
	    .size = 1 });
	procq_handle *h = SENTINEL, *first;

	/* q NULL */
	ck_assert_int_eq(procq_submit(NULL, "ident", A_OK, sizeof A_OK, NULL,
	    &h), PROCQ_EINVAL);
	ck_assert_ptr_null(h);
	h = SENTINEL;
	ck_assert_int_eq(procq_submitf(NULL, "ident", NULL, &h, "i", 1),
	    PROCQ_EINVAL);
	ck_assert_ptr_null(h);
	h = SENTINEL;
	ck_assert_int_eq(procq_submit_timeout(NULL, "ident", A_OK,
	    sizeof A_OK, NULL, 1, &h), PROCQ_EINVAL);
	ck_assert_ptr_null(h);
	h = SENTINEL;
	ck_assert_int_eq(procq_try_submit(NULL, "ident", A_OK, sizeof A_OK,
	    NULL, &h), PROCQ_EINVAL);
	ck_assert_ptr_null(h);

	/* submitf: unknown conversion */
	h = SENTINEL;
	ck_assert_int_eq(procq_submitf(q, "ident", NULL, &h, "q", 1),
	    PROCQ_EFORMAT);
	ck_assert_ptr_null(h);

	/* submit_timeout: timeout negative or NaN */
	/* (*handle is not cleared here: see documented_but_failing) */
	ck_assert_int_eq(procq_submit_timeout(q, "ident", A_OK, sizeof A_OK,
	    NULL, -1, &h), PROCQ_EINVAL);
	h = SENTINEL;
	ck_assert_int_eq(procq_submit_timeout(q, "ident", A_OK, sizeof A_OK,
	    NULL, NAN, &h), PROCQ_EINVAL);
	ck_assert_ptr_null(h);

	/* full: size 1 and one unfinished task (the queue is not started) */
	first = submit_ok(q, "ident", NULL, "i", 1);
	h = SENTINEL;
	ck_assert_int_eq(procq_try_submit(q, "ident", A_OK, sizeof A_OK,
	    NULL, &h), PROCQ_EFULL);
	ck_assert_ptr_null(h);
	h = SENTINEL;
	ck_assert_int_eq(procq_submit_timeout(q, "ident", A_OK, sizeof A_OK,
	    NULL, 0.05, &h), PROCQ_EFULL);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(procq_handle_cancel(first), 0);
	ck_assert_int_eq(procq_start(q), 0);	/* room needs a running queue */
	clean_batch(q);
	procq_free(q);
}
END_TEST

/* procq_map(), procq_pmap(), procq_race(): their own pointer and count
 * arguments. */
static int
t_local_double(procq_call *c)
{
	double d;

	if (procq_call_unpack(c, "d", &d) != 0)
		return procq_call_fail(c, "TypeError", "want d");
	return procq_call_return(c, "d", 2 * d);
}

START_TEST(test_fanout)
{
	procq_queue *q = mkq();
	procq_args args[2] = { { A_OK, sizeof A_OK }, { A_OK, sizeof A_OK } };
	procq_args bad[2] = { { A_OK, sizeof A_OK }, { A_INT, 1 } };
	procq_handle *hs[2], *w;
	procq_summary *s, *f;
	procq_job jobs[2] = {
		{ "ident", { A_OK, sizeof A_OK }, NULL },
		{ "no-such-task", { A_OK, sizeof A_OK }, NULL },
	};
	procq_job jnull[1] = { { NULL, { A_OK, sizeof A_OK }, NULL } };
	procq_job jbadopt[1] = { { "ident", { A_OK, sizeof A_OK },
	    &bad_opts[0].o } };
	procq_stats st;

	/* procq_map */
	ck_assert_int_eq(procq_map(NULL, "ident", args, 2, NULL, hs),
	    PROCQ_EINVAL);
	ck_assert_int_eq(procq_map(q, "ident", NULL, 2, NULL, hs),
	    PROCQ_EINVAL);
	ck_assert_int_eq(procq_map(q, "ident", args, 2, NULL, NULL),
	    PROCQ_EINVAL);
	hs[0] = hs[1] = SENTINEL;
	ck_assert_int_eq(procq_map(q, "ident", bad, 2, NULL, hs),
	    PROCQ_EINVAL);
	ck_assert_ptr_null(hs[0]);
	ck_assert_ptr_null(hs[1]);
	/* nothing stays submitted */
	ck_assert_int_eq(procq_stats_get(q, &st), 0);
	ck_assert_uint_eq(st.pending + st.scheduled + st.active, 0);

	/* procq_pmap: results set to NULL on every error but ETASK */
	s = (procq_summary *)SENTINEL;
	ck_assert_int_eq(procq_pmap(NULL, t_local_double, args, 2, NULL,
	    NULL, &s), PROCQ_EINVAL);
	ck_assert_ptr_null(s);
	s = (procq_summary *)SENTINEL;
	ck_assert_int_eq(procq_pmap("d", NULL, args, 2, NULL, NULL, &s),
	    PROCQ_EINVAL);
	ck_assert_ptr_null(s);
	s = (procq_summary *)SENTINEL;
	ck_assert_int_eq(procq_pmap("d", t_local_double, NULL, 2, NULL, NULL,
	    &s), PROCQ_EINVAL);
	ck_assert_ptr_null(s);
	s = (procq_summary *)SENTINEL;
	ck_assert_int_eq(procq_pmap("d", t_local_double, bad, 2, NULL, NULL,
	    &s), PROCQ_EINVAL);
	ck_assert_ptr_null(s);
	s = (procq_summary *)SENTINEL;
	ck_assert_int_eq(procq_pmap("d", t_local_double, args, 2,
	    &(procq_config){ .mode = PROCQ_MODE_INFINITE }, NULL, &s),
	    PROCQ_EINVAL);
	ck_assert_ptr_null(s);
	s = (procq_summary *)SENTINEL;
	ck_assert_int_eq(procq_pmap("d", t_local_double, args, 2,
	    &(procq_config){ .workers = -1 }, NULL, &s), PROCQ_EINVAL);
	ck_assert_ptr_null(s);
	s = (procq_summary *)SENTINEL;
	ck_assert_int_eq(procq_pmap("d", t_local_double, args, 2, NULL,
	    &bad_opts[0].o, &s), PROCQ_EINVAL);
	ck_assert_ptr_null(s);

	/* procq_race: winner NULL and failures NULL on errors */
	w = SENTINEL;
	f = (procq_summary *)SENTINEL;
	ck_assert_int_eq(procq_race(NULL, jobs, 1, 5, &w, &f), PROCQ_EINVAL);
	ck_assert_ptr_null(w);
	ck_assert_ptr_null(f);
	w = SENTINEL;
	ck_assert_int_eq(procq_race(q, jobs, 0, 5, &w, NULL), PROCQ_EINVAL);
	ck_assert_ptr_null(w);
	w = SENTINEL;
	ck_assert_int_eq(procq_race(q, NULL, 1, 5, &w, NULL), PROCQ_EINVAL);
	ck_assert_ptr_null(w);
	w = SENTINEL;
	ck_assert_int_eq(procq_race(q, jobs, 1, NAN, &w, NULL),
	    PROCQ_EINVAL);
	ck_assert_ptr_null(w);
	w = SENTINEL;
	ck_assert_int_eq(procq_race(q, jnull, 1, 5, &w, NULL), PROCQ_EINVAL);
	ck_assert_ptr_null(w);
	w = SENTINEL;
	ck_assert_int_eq(procq_race(q, jbadopt, 1, 5, &w, NULL),
	    PROCQ_EINVAL);
	ck_assert_ptr_null(w);
	w = SENTINEL;
	ck_assert_int_eq(procq_race(q, jobs, 2, 5, &w, NULL), PROCQ_ENOTASK);
	ck_assert_ptr_null(w);

	clean_batch(q);
	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	w = SENTINEL;
	ck_assert_int_eq(procq_race(q, jobs, 1, 5, &w, NULL), PROCQ_ECLOSED);
	ck_assert_ptr_null(w);
	procq_free(q);
	fresh_batch();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Names and errors                                                    */

START_TEST(test_names)
{
	static const int errs[] = { 1, 42, -16, -1000, INT32_MIN, INT32_MAX };
	static const int vals[] = { -1, 6, 7, 99, INT32_MAX };

	for (size_t i = 0; i < NELEM(errs); i++)
		ck_assert_ptr_nonnull(procq_strerror(errs[i]));
	for (size_t i = 0; i < NELEM(vals); i++) {
		ck_assert_ptr_nonnull(procq_status_name((procq_status)vals[i]));
		ck_assert_ptr_nonnull(
		    procq_error_kind_name((procq_error_kind)vals[i]));
	}
	/* Every code procq returns has words of its own. */
	for (int e = PROCQ_EINVAL; e >= PROCQ_ECANCELLED; e--) {
		ck_assert_str_ne(procq_strerror(e), "unknown error");
		for (int f = e + 1; f <= PROCQ_EINVAL; f++)
			ck_assert_str_ne(procq_strerror(e), procq_strerror(f));
	}
	ck_assert_str_eq(procq_strerror(PROCQ_ECANCELLED - 1), "unknown error");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Queue: procq_create(), procq_register(), procq_start()              */

static const unsigned char I_TRAIL[] = { 0x91, 0x01, 0x01 };

static int
bad_config_init(procq_call *c)
{
	(void)c;
	return 0;
}

static const struct bad_config {
	const char *what;
	procq_config c;
} bad_configs[] = {
	{ "workers -1", { .workers = -1 } },
	{ "prefetch -1", { .prefetch = -1 } },
	{ "size -1", { .size = -1 } },
	{ "burst -1", { .burst = -1 } },
	{ "max_tasks_per_worker -1", { .max_tasks_per_worker = -1 } },
	{ "kill_grace NaN", { .kill_grace = NAN } },
	{ "kill_grace inf", { .kill_grace = INFINITY } },
	{ "kill_grace -inf", { .kill_grace = -INFINITY } },
	{ "spawn_timeout NaN", { .spawn_timeout = NAN } },
	{ "spawn_timeout inf", { .spawn_timeout = INFINITY } },
	{ "timeout -1", { .timeout = -1 } },
	{ "timeout NaN", { .timeout = NAN } },
	{ "timeout inf", { .timeout = INFINITY } },
	{ "rate -1", { .rate = -1 } },
	{ "rate NaN", { .rate = NAN } },
	{ "rate inf", { .rate = INFINITY } },
	{ "max_cpu -1", { .max_cpu = -1 } },
	{ "max_cpu NaN", { .max_cpu = NAN } },
	{ "max_cpu inf", { .max_cpu = INFINITY } },
	{ "max_frame 1", { .max_frame = 1 } },
	{ "max_frame 4095", { .max_frame = 4095 } },
#if SIZE_MAX > UINT32_MAX
	{ "max_frame 2^32", { .max_frame = (size_t)UINT32_MAX + 1 } },
#endif
	{ "mode 2", { .mode = (procq_mode)2 } },
	{ "mode -1", { .mode = (procq_mode)-1 } },
	{ "fail_policy 3", { .fail_policy = (procq_fail_policy)3 } },
	{ "fail_policy -1", { .fail_policy = (procq_fail_policy)-1 } },
	{ "on_timeout 3", { .on_timeout = (procq_on_timeout)3 } },
	{ "on_timeout -1", { .on_timeout = (procq_on_timeout)-1 } },
	{ "initargs_len without initargs", { .initargs_len = 2 } },
	{ "initargs two values", { .initargs = I_TRAIL,
	    .initargs_len = sizeof I_TRAIL } },
	{ "initargs truncated", { .initargs = A_TRUNC,
	    .initargs_len = sizeof A_TRUNC } },
	{ "ngroups without groups", { .ngroups = 2 } },
	{ "start_method past exec", { .start_method =
	    (procq_start_method)(PROCQ_START_EXEC + 1) } },
	{ "exec with an initializer", { .start_method = PROCQ_START_EXEC,
	    .worker_path = "/bin/true", .initializer = bad_config_init } },
	/* no group to take from a user that does not exist */
	{ "uid of no user", { .uid = 3999999999u } },
};

START_TEST(test_queue_create)
{
	procq_queue *q;
	int err;

	for (size_t i = 0; i < NELEM(bad_configs); i++) {
		err = 12345;
		q = procq_create(&bad_configs[i].c, &err);
		ck_assert_msg(q == NULL, "procq_create(%s) succeeded",
		    bad_configs[i].what);
		ck_assert_msg(err == PROCQ_EINVAL, "procq_create(%s): %d",
		    bad_configs[i].what, err);
		/* err may be NULL */
		ck_assert_ptr_null(procq_create(&bad_configs[i].c, NULL));
	}
	procq_free(NULL);	/* does nothing */
	fresh_batch();
}
END_TEST

START_TEST(test_queue_register_start)
{
	procq_queue *q = mkq();

	ck_assert_int_eq(procq_register(NULL, "x", t_progress), PROCQ_EINVAL);
	ck_assert_int_eq(procq_register(q, NULL, t_progress), PROCQ_EINVAL);
	ck_assert_int_eq(procq_register(q, "x", NULL), PROCQ_EINVAL);
	ck_assert_int_eq(procq_register(q, "", t_progress), PROCQ_EINVAL);
	ck_assert_int_eq(procq_register(q, "double", t_progress),
	    PROCQ_EEXIST);
	ck_assert_int_eq(procq_start(NULL), PROCQ_EINVAL);
	ck_assert_int_eq(procq_start(q), 0);
	/* after start */
	ck_assert_int_eq(procq_register(q, "late", t_progress), PROCQ_ESTATE);
	clean_batch(q);
	procq_free(q);

	/* after shutdown, never started */
	q = mkq();
	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	ck_assert_int_eq(procq_register(q, "late", t_progress), PROCQ_ESTATE);
	ck_assert_int_eq(procq_start(q), PROCQ_ECLOSED);
	procq_free(q);

	/* after shutdown of a started queue */
	q = mkq();
	clean_batch(q);
	ck_assert_int_eq(procq_shutdown(q, PROCQ_SHUTDOWN_FORCE), 0);
	ck_assert_int_eq(procq_register(q, "late", t_progress), PROCQ_ESTATE);
	ck_assert_int_eq(procq_start(q), PROCQ_ECLOSED);
	procq_free(q);
	fresh_batch();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Run and lifecycle                                                   */

static const struct bad_run {
	const char *what;
	procq_run_opts o;
} bad_runs[] = {
	{ "timeout -1", { .timeout = -1 } },
	{ "timeout NaN", { .timeout = NAN } },
	{ "timeout inf", { .timeout = INFINITY } },
	{ "fail_policy 3", { .fail_policy = (procq_fail_policy)3 } },
	{ "fail_policy -1", { .fail_policy = (procq_fail_policy)-1 } },
};

START_TEST(test_run_args)
{
	procq_queue *q = mkq();
	procq_summary *s;
	procq_stats st;

	s = (procq_summary *)SENTINEL;
	ck_assert_int_eq(procq_run(NULL, NULL, &s), PROCQ_EINVAL);
	ck_assert_ptr_null(s);
	for (size_t i = 0; i < NELEM(bad_runs); i++) {
		s = (procq_summary *)SENTINEL;
		ck_assert_msg(procq_run(q, &bad_runs[i].o, &s) == PROCQ_EINVAL,
		    "procq_run(%s)", bad_runs[i].what);
		ck_assert_ptr_null(s);
	}
	ck_assert_int_eq(procq_join(NULL, 1), PROCQ_EINVAL);
	ck_assert_int_eq(procq_join(q, NAN), PROCQ_EINVAL);
	ck_assert_int_eq(procq_shutdown(NULL, 0), PROCQ_EINVAL);
	ck_assert_int_eq(procq_shutdown(q, 0x2), PROCQ_EINVAL);
	ck_assert_int_eq(procq_shutdown(q, -1), PROCQ_EINVAL);
	ck_assert(!procq_closed(q));
	ck_assert_int_eq(procq_cancel(NULL), PROCQ_EINVAL);
	ck_assert_int_eq(procq_reset(NULL), PROCQ_EINVAL);
	ck_assert_int_eq(procq_clear_results(NULL), PROCQ_EINVAL);
	ck_assert_ptr_null(procq_results(NULL));
	ck_assert(procq_closed(NULL));
	ck_assert_int_eq(procq_stats_get(NULL, &st), PROCQ_EINVAL);
	ck_assert_int_eq(procq_stats_get(q, NULL), PROCQ_EINVAL);
	ck_assert_uint_eq(procq_active(NULL), 0);
	ck_assert_uint_eq(procq_pending(NULL), 0);
	clean_batch(q);
	procq_free(q);
}
END_TEST

static void *
run_thread(void *arg)
{
	static int rc;

	rc = procq_run(arg, NULL, NULL);
	return &rc;
}

static bool
has_workers(void *arg)
{
	procq_stats st;

	return procq_stats_get(arg, &st) == 0 && st.workers > 0;
}

START_TEST(test_reset_busy)
{
	procq_queue *q = mkq();
	procq_handle *h;
	procq_group *g;
	procq_iter *it;
	pthread_t t;
	int err;

	/* a task unfinished (queue not started) */
	h = submit_ok(q, "ident", NULL, "i", 1);
	ck_assert_int_eq(procq_reset(q), PROCQ_EBUSY);
	ck_assert_int_eq(procq_join(q, 20), 0);
	/* a group holding a handle */
	g = procq_group_create(q, NULL, &err);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(procq_group_add(g, h), 0);
	ck_assert_int_eq(procq_reset(q), PROCQ_EBUSY);
	procq_group_free(g);
	/* an iterator holding a handle */
	it = procq_as_completed(&h, 1, 1, &err);
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(procq_reset(q), PROCQ_EBUSY);
	procq_iter_free(it, false);
	ck_assert_int_eq(procq_reset(q), 0);
	clean_batch(q);
	procq_free(q);

	/* a run in progress, with nothing unfinished */
	q = mkq_config(&(procq_config){ .workers = 1,
	    .mode = PROCQ_MODE_INFINITE });
	ck_assert_int_eq(pthread_create(&t, NULL, run_thread, q), 0);
	ck_assert(wait_until(has_workers, q, 10));
	ck_assert_int_eq(procq_reset(q), PROCQ_EBUSY);
	ck_assert_int_eq(procq_cancel(q), 0);
	ck_assert_int_eq(join_within(t, 10), 0);
	procq_free(q);
	fresh_batch();
}
END_TEST

/* Blocking calls from a hook: PROCQ_EDEADLK. */
struct dl {
	procq_queue *q;
	procq_handle *f;	/* a future nobody completes */
	int calls;
	int rc[9];
	int over;	/* set (atomically) when the hook has made its calls */
};

static bool
dl_over(void *arg)
{
	struct dl *d = arg;

	return __atomic_load_n(&d->over, __ATOMIC_ACQUIRE) != 0;
}

static void
dl_hook(procq_handle *h, const procq_result *r, void *arg)
{
	struct dl *d = arg;
	procq_group *g;
	procq_iter *it;
	size_t nd, np;
	int err;

	(void)h, (void)r;
	if (d->calls++ != 0)
		return;
	d->rc[0] = procq_run(d->q, NULL, NULL);
	d->rc[1] = procq_join(d->q, 1);
	d->rc[2] = procq_shutdown(d->q, 0);
	d->rc[3] = procq_reset(d->q);
	d->rc[4] = procq_handle_wait(d->f, 1);
	d->rc[5] = procq_wait(&d->f, 1, PROCQ_ALL_COMPLETED, 1, NULL, &nd,
	    NULL, &np);
	it = procq_as_completed(&d->f, 1, 1, &err);
	d->rc[6] = 12345;
	if (it != NULL) {
		if (procq_iter_next(it, &d->rc[6]) != NULL)
			d->rc[6] = 54321;
		procq_iter_free(it, false);
	}
	g = procq_group_create(d->q, NULL, &err);
	d->rc[7] = d->rc[8] = 12345;
	if (g != NULL) {
		if (procq_group_add(g, d->f) == 0) {
			d->rc[7] = procq_group_wait(g, 1, NULL);
			if (procq_group_next(g, 1, &d->rc[8]) != NULL)
				d->rc[8] = 54321;
		}
		procq_group_free(g);
	}
	__atomic_store_n(&d->over, 1, __ATOMIC_RELEASE);
}

START_TEST(test_deadlock_from_hook)
{
	static const char *what[] = { "procq_run", "procq_join",
	    "procq_shutdown", "procq_reset", "procq_handle_wait", "procq_wait",
	    "procq_iter_next", "procq_group_wait", "procq_group_next" };
	struct dl d = { 0 };
	procq_queue *q;
	int err;

	q = mkq_config(&(procq_config){ .workers = 1, .on_complete = dl_hook,
	    .hook_arg = &d });
	d.q = q;
	d.f = procq_future_create(q, NULL, &err);
	ck_assert_ptr_nonnull(d.f);
	submit_ok(q, "ident", NULL, "i", 1);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	/* procq_run() returns once the hook has run */
	ck_assert(dl_over(&d));
	for (size_t i = 0; i < NELEM(d.rc); i++) {
		ck_assert_msg(d.rc[i] == PROCQ_EDEADLK,
		    "%s from a hook: %d (%s)", what[i], d.rc[i],
		    procq_strerror(d.rc[i]));
	}
	ck_assert(!procq_handle_done(d.f));
	ck_assert(!procq_closed(q));
	clean_batch(q);
	procq_free(q);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Handles                                                             */

START_TEST(test_handle_null)
{
	procq_queue *q = mkq();
	size_t len = 99;
	char buf[8];
	int x = 0;

	ck_assert_int_eq(procq_handle_wait(NULL, 0), PROCQ_EINVAL);
	ck_assert(!procq_handle_done(NULL));
	ck_assert_int_eq(procq_handle_status(NULL), PROCQ_PENDING);
	ck_assert_ptr_null(procq_handle_result(NULL));
	ck_assert_int_eq(procq_handle_value(NULL, "i", &x), PROCQ_EINVAL);
	ck_assert_int_eq(procq_handle_error_kind(NULL), PROCQ_ERR_NONE);
	ck_assert_ptr_null(procq_handle_error_type(NULL));
	ck_assert_ptr_null(procq_handle_error_message(NULL));
	ck_assert_int_eq(procq_handle_attempts(NULL), 0);
	ck_assert_ptr_null(procq_handle_metadata(NULL, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_null(procq_handle_metadata(NULL, NULL));
	ck_assert_ptr_null(procq_handle_id(NULL));
	ck_assert_ptr_null(procq_handle_name(NULL));
	ck_assert_int_eq(procq_handle_cancel(NULL), PROCQ_EINVAL);
	ck_assert_int_eq(procq_handle_on_done(NULL, done_noop, NULL),
	    PROCQ_EINVAL);
	ck_assert_int_eq(procq_handle_progress(NULL, "i", &x), PROCQ_EINVAL);
	ck_assert_uint_eq(procq_handle_progress_data(NULL, buf, sizeof buf),
	    0);
	ck_assert(!procq_handle_is_future(NULL));
	clean_batch(q);
	procq_free(q);
}
END_TEST

START_TEST(test_handle_states)
{
	procq_queue *q = mkq();
	procq_handle *p, *ok, *bad, *pr;
	const char *sp;
	size_t n;
	char *s;
	int x = 77;
	double d;

	/* unfinished: the queue is not started */
	p = submit_ok(q, "ident", NULL, "i", 5);
	ck_assert_int_eq(procq_handle_wait(p, NAN), PROCQ_EINVAL);
	ck_assert_int_eq(procq_handle_wait(p, 0), PROCQ_ETIMEDOUT);
	ck_assert_ptr_null(procq_handle_result(p));
	ck_assert_int_eq(procq_handle_value(p, "i", &x), PROCQ_ENOTDONE);
	ck_assert_int_eq(x, 77);
	ck_assert_int_eq(procq_handle_error_kind(p), PROCQ_ERR_NONE);
	ck_assert_ptr_null(procq_handle_error_type(p));
	ck_assert_int_eq(procq_handle_progress(p, "i", &x), PROCQ_ENOTDONE);
	ck_assert_uint_eq(procq_handle_progress_data(p, NULL, 0), 0);
	ck_assert_int_eq(procq_handle_on_done(p, NULL, NULL), PROCQ_EINVAL);
	ck_assert(!procq_handle_is_future(p));
	/* cancelled once, then already final */
	ck_assert_int_eq(procq_handle_cancel(p), 0);
	ck_assert_int_eq(procq_handle_cancel(p), PROCQ_EDONE);
	ck_assert_int_eq(procq_handle_value(p, "i", &x), PROCQ_ETASK);

	ok = finished(q, true);
	bad = finished(q, false);
	pr = submit_ok(q, "progress", NULL, "");
	ck_assert_int_eq(procq_join(q, 20), 0);

	ck_assert_int_eq(procq_handle_cancel(ok), PROCQ_EDONE);
	ck_assert_int_eq(procq_handle_cancel(bad), PROCQ_EDONE);
	ck_assert_int_eq(procq_handle_value(ok, NULL), PROCQ_EINVAL);
	ck_assert_int_eq(procq_handle_value(ok, "q", &x), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_handle_value(ok, "s", &s), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_handle_value(ok, "dd", &d, &d), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_handle_value(bad, "d", &d), PROCQ_ETASK);
	ck_assert_int_eq(procq_handle_status(pr), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_progress(pr, NULL), PROCQ_EINVAL);
	ck_assert_int_eq(procq_handle_progress(pr, "q", &x), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_handle_progress(pr, "S", &sp, &n),
	    PROCQ_EFORMAT);
	ck_assert_int_eq(procq_handle_progress(pr, "y", &sp, &n),
	    PROCQ_EFORMAT);
	ck_assert_int_eq(procq_handle_progress(pr, "o", &sp), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_handle_progress(pr, "s", &s), PROCQ_EFORMAT);
	x = 0;
	ck_assert_int_eq(procq_handle_progress(pr, "i", &x), 0);
	ck_assert_int_eq(x, 7);
	clean_batch(q);
	procq_free(q);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Results                                                             */

START_TEST(test_result)
{
	procq_queue *q = mkq();
	const procq_result *r, *rb;
	size_t len = 99;
	int x = 77;
	char *s;

	ck_assert_ptr_null(procq_result_id(NULL));
	ck_assert_ptr_null(procq_result_name(NULL));
	ck_assert_ptr_null(procq_result_task(NULL));
	ck_assert_ptr_null(procq_result_group(NULL));
	ck_assert_int_eq(procq_result_status(NULL), PROCQ_PENDING);
	ck_assert_int_eq(procq_result_error_kind(NULL), PROCQ_ERR_NONE);
	ck_assert_ptr_null(procq_result_error_type(NULL));
	ck_assert_ptr_null(procq_result_error_message(NULL));
	ck_assert_int_eq(procq_result_attempts(NULL), 0);
	ck_assert(procq_result_duration(NULL) == 0);
	ck_assert_int_eq(procq_result_exit_status(NULL), -1);
	ck_assert_int_eq(procq_result_signal(NULL), -1);
	ck_assert_ptr_null(procq_result_data(NULL, &len));
	ck_assert_uint_eq(len, 0);
	len = 99;
	ck_assert_ptr_null(procq_result_metadata(NULL, &len));
	ck_assert_uint_eq(len, 0);
	len = 99;
	ck_assert_ptr_null(procq_result_stderr(NULL, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_null(procq_result_value(NULL));
	ck_assert_int_eq(procq_result_unpack(NULL, "i", &x), PROCQ_EINVAL);

	r = procq_handle_result(finished(q, true));
	rb = procq_handle_result(finished(q, false));
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(rb);
	ck_assert_int_eq(procq_result_unpack(r, NULL), PROCQ_EINVAL);
	ck_assert_int_eq(procq_result_unpack(r, "q", &x), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_result_unpack(r, "s", &s), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_result_unpack(r, "i", &x), PROCQ_EFORMAT);
	ck_assert_int_eq(x, 77);
	ck_assert_int_eq(procq_result_unpack(rb, "d", &x), PROCQ_ETASK);
	len = 99;
	ck_assert_ptr_null(procq_result_data(rb, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_null(procq_result_value(rb));
	clean_batch(q);
	procq_free(q);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Summaries                                                           */

START_TEST(test_summary)
{
	procq_queue *q = mkq();
	procq_summary *s;
	const msgpack_object *v[2];
	FILE *fp, *full;

	fp = tmpfile();
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(procq_summary_submitted(NULL), 0);
	ck_assert_uint_eq(procq_summary_succeeded(NULL), 0);
	ck_assert_uint_eq(procq_summary_failed(NULL), 0);
	ck_assert_uint_eq(procq_summary_cancelled(NULL), 0);
	ck_assert(!procq_summary_ok(NULL));
	ck_assert(procq_summary_duration(NULL) == 0);
	ck_assert_uint_eq(procq_summary_count(NULL), 0);
	ck_assert_ptr_null(procq_summary_result(NULL, 0));
	ck_assert_ptr_null(procq_summary_by_id(NULL, "x"));
	ck_assert_ptr_null(procq_summary_by_name(NULL, "x"));
	ck_assert_ptr_null(procq_summary_by_group(NULL, "x"));
	procq_summary_display(NULL, fp);
	ck_assert_int_eq(procq_summary_json(NULL, fp), PROCQ_EINVAL);
	ck_assert_int_eq(procq_summary_check(NULL, 0, fp), PROCQ_EINVAL);
	ck_assert_uint_eq(procq_summary_values(NULL, v, 2), 0);
	ck_assert_ptr_null(procq_summary_successes(NULL));
	ck_assert_ptr_null(procq_summary_errors(NULL));
	ck_assert_ptr_null(procq_summary_cancellations(NULL));
	ck_assert_ptr_null(procq_summary_timed_out(NULL));
	procq_summary_free(NULL);

	submit_ok(q, "double", NULL, "d", 1.0);
	submit_ok(q, "fail", NULL, "i", 1);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_count(s), 2);
	ck_assert_ptr_null(procq_summary_result(s, 2));
	ck_assert_ptr_null(procq_summary_result(s, (size_t)-1));
	ck_assert_ptr_null(procq_summary_by_id(s, NULL));
	ck_assert_ptr_null(procq_summary_by_id(s, "no-such-id"));
	ck_assert_ptr_null(procq_summary_by_name(s, NULL));
	ck_assert_int_eq(procq_summary_json(s, NULL), PROCQ_EINVAL);
	ck_assert_int_eq(procq_summary_check(s, 0x2, NULL), PROCQ_EINVAL);
	ck_assert_int_eq(procq_summary_check(s, -1, NULL), PROCQ_EINVAL);
	ck_assert_int_eq(procq_summary_check(s, 0, NULL), PROCQ_ETASK);
	ck_assert_uint_eq(procq_summary_values(s, NULL, 0), 1);
	full = fopen("/dev/full", "w");
	if (full != NULL) {
		ck_assert_int_eq(procq_summary_json(s, full), PROCQ_ESYS);
		fclose(full);
	}
	procq_summary_free(s);
	fclose(fp);
	clean_batch(q);
	procq_free(q);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Format-string packing                                               */

START_TEST(test_pack)
{
	int (*const packs[])(msgpack_packer *, const char *, ...) = {
		procq_pack, vpack };
	int (*const unpacks[])(const msgpack_object *, const char *, ...) = {
		procq_unpack, vunpack };
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_object one = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER,
	    .via.u64 = 1 };
	msgpack_object big = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER,
	    .via.u64 = (uint64_t)1 << 40 };
	msgpack_object neg = { .type = MSGPACK_OBJECT_NEGATIVE_INTEGER,
	    .via.i64 = -1 };
	msgpack_object el[2] = { one, one };
	msgpack_object arr = { .type = MSGPACK_OBJECT_ARRAY,
	    .via.array = { .size = 2, .ptr = el } };
	const msgpack_object *op = &one;
	int x, y;
	uint64_t u;
	char *s;
	procq_queue *q = mkq();

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(packs[i](NULL, "i", 1), PROCQ_EFORMAT);
		ck_assert_int_eq(packs[i](&pk, NULL), PROCQ_EFORMAT);
		ck_assert_int_eq(packs[i](&pk, "q", 1), PROCQ_EFORMAT);
		ck_assert_int_eq(packs[i](&pk, "o", op), PROCQ_EFORMAT);
		ck_assert_int_eq(packs[i](&pk, "i%", 1), PROCQ_EFORMAT);

		x = y = 77;
		u = 77;
		ck_assert_int_eq(unpacks[i](NULL, "i", &x), PROCQ_EFORMAT);
		ck_assert_int_eq(unpacks[i](&one, NULL), PROCQ_EFORMAT);
		ck_assert_int_eq(unpacks[i](&one, "q", &x), PROCQ_EFORMAT);
		ck_assert_int_eq(unpacks[i](&one, "ii", &x, &y),
		    PROCQ_EFORMAT);
		ck_assert_int_eq(unpacks[i](&one, "s", &s), PROCQ_EFORMAT);
		ck_assert_int_eq(unpacks[i](&one, "n"), PROCQ_EFORMAT);
		ck_assert_int_eq(unpacks[i](&big, "i", &x), PROCQ_EFORMAT);
		ck_assert_int_eq(unpacks[i](&neg, "u", &u), PROCQ_EFORMAT);
		ck_assert_int_eq(unpacks[i](&arr, "i", &x), PROCQ_EFORMAT);
		ck_assert_int_eq(unpacks[i](&arr, "iii", &x, &y, &x),
		    PROCQ_EFORMAT);
		ck_assert_int_eq(unpacks[i](&arr, "is", &x, &s),
		    PROCQ_EFORMAT);
		ck_assert_int_eq(unpacks[i](&arr, "o", &op), PROCQ_EFORMAT);
		/* nothing written on failure */
		ck_assert_int_eq(x, 77);
		ck_assert_int_eq(y, 77);
		ck_assert_uint_eq(u, 77);
		ck_assert_ptr_eq(op, &one);
	}
	msgpack_sbuffer_destroy(&sb);
	clean_batch(q);
	procq_free(q);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Worker side: procq_call_*                                           */

START_TEST(test_call_null)
{
	procq_queue *q = mkq();
	size_t len = 99;
	int x = 77;

	/* In the test process itself, with a NULL call. */
	ck_assert_ptr_null(procq_call_name(NULL));
	ck_assert_ptr_null(procq_call_id(NULL));
	ck_assert_int_eq(procq_call_attempt(NULL), 0);
	ck_assert_ptr_null(procq_call_args(NULL));
	ck_assert_ptr_null(procq_call_args_data(NULL, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(procq_call_unpack(NULL, "i", &x),
	    PROCQ_EINVAL);
	ck_assert_int_eq(x, 77);
	ck_assert_int_eq(procq_call_return(NULL, "i", 1),
	    PROCQ_EINVAL);
	ck_assert_int_eq(procq_call_return_data(NULL, A_OK, sizeof A_OK),
	    PROCQ_EINVAL);
	ck_assert_ptr_null(procq_call_packer(NULL));
	ck_assert_int_eq(procq_call_progress(NULL, "i", 1),
	    PROCQ_EINVAL);
	ck_assert_int_eq(procq_call_fail(NULL, "T", "m %d", 1), -1);
	ck_assert_int_eq(procq_call_fail(NULL, NULL, NULL), -1);
	clean_batch(q);
	procq_free(q);
}
END_TEST

START_TEST(test_call_worker)
{
	procq_queue *q = mkq_config(&(procq_config){ .workers = 1,
	    .max_frame = 4096, .initializer = t_init });
	procq_handle *h, *hf, *hi;
	const msgpack_object *v;
	int rc = 12345;

	h = submit_ok(q, "callbad", NULL, "i", 1);
	hf = submit_ok(q, "failnull", NULL, "");
	hi = submit_ok(q, "initrc", NULL, "");
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);

	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	v = procq_result_value(procq_handle_result(h));
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(v->type, MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(v->via.array.size, NELEM(call_expect));
	for (size_t i = 0; i < NELEM(call_expect); i++) {
		int64_t got = v->via.array.ptr[i].via.i64;

		if (v->via.array.ptr[i].type ==
		    MSGPACK_OBJECT_POSITIVE_INTEGER)
			got = (int64_t)v->via.array.ptr[i].via.u64;
		ck_assert_msg(got == call_expect[i],
		    "worker-side call %zu: %lld, want %d", i, (long long)got,
		    call_expect[i]);
	}
	/* procq_call_fail(c, NULL, NULL): "TaskError" and an empty message */
	ck_assert_int_eq(procq_handle_status(hf), PROCQ_FAILED);
	ck_assert_str_eq(procq_handle_error_type(hf), "TaskError");
	ck_assert_str_eq(procq_handle_error_message(hf), "");
	/* procq_call_progress() from the initializer */
	ck_assert_int_eq(procq_handle_value(hi, "i", &rc), 0);
	ck_assert_int_eq(rc, PROCQ_ESTATE);
	clean_batch(q);
	procq_free(q);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Groups                                                              */

static const struct bad_gopts {
	const char *what;
	procq_group_opts o;
} bad_gopts[] = {
	{ "concurrency -1", { .concurrency = -1 } },
	{ "burst -1", { .burst = -1 } },
	{ "rate -1", { .rate = -1 } },
	{ "rate NaN", { .rate = NAN } },
	{ "rate inf", { .rate = INFINITY } },
};

START_TEST(test_group)
{
	procq_queue *q = mkq(), *q2 = mkq();
	procq_group *g, *gp;
	procq_handle *ok, *bad, *other, *p, *h, *f;
	procq_summary *s;
	const msgpack_object *vals[4];
	procq_job jobs[1] = { { NULL, { A_OK, sizeof A_OK }, NULL } };
	int err;

	err = 12345;
	ck_assert_ptr_null(procq_group_create(NULL, NULL, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	ck_assert_ptr_null(procq_group_create(NULL, NULL, NULL));
	for (size_t i = 0; i < NELEM(bad_gopts); i++) {
		err = 12345;
		ck_assert_msg(procq_group_create(q, &bad_gopts[i].o, &err) ==
		    NULL && err == PROCQ_EINVAL, "procq_group_create(%s): %d",
		    bad_gopts[i].what, err);
		ck_assert_ptr_null(procq_group_create(q, &bad_gopts[i].o,
		    NULL));
	}

	/* g NULL */
	h = SENTINEL;
	ck_assert_int_eq(procq_group_submit(NULL, "ident", A_OK, sizeof A_OK,
	    NULL, &h), PROCQ_EINVAL);
	ck_assert_ptr_null(h);
	h = SENTINEL;
	ck_assert_int_eq(procq_group_submitf(NULL, "ident", NULL, &h, "i", 1),
	    PROCQ_EINVAL);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(procq_group_map(NULL, "ident", NULL, 0, NULL),
	    PROCQ_EINVAL);
	ck_assert_int_eq(procq_group_jobs(NULL, NULL, 0), PROCQ_EINVAL);
	ck_assert_int_eq(procq_group_add(NULL, SENTINEL), PROCQ_EINVAL);
	ck_assert_ptr_null(procq_group_id(NULL));
	ck_assert_uint_eq(procq_group_size(NULL), 0);
	ck_assert_ptr_null(procq_group_handle(NULL, 0));
	s = (procq_summary *)SENTINEL;
	ck_assert_int_eq(procq_group_wait(NULL, 1, &s), PROCQ_EINVAL);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(procq_group_values(NULL, vals, NULL), PROCQ_EINVAL);
	ck_assert_uint_eq(procq_group_cancel(NULL), 0);
	err = 12345;
	ck_assert_ptr_null(procq_group_next(NULL, 0, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	ck_assert_ptr_null(procq_group_next(NULL, 0, NULL));
	procq_group_free(NULL);

	g = procq_group_create(q, NULL, &err);
	ck_assert_ptr_nonnull(g);
	/* not empty: see subctx_init() */
	f = procq_future_create(q, NULL, &err);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(procq_group_add(g, f), 0);
	/* pointer and count arguments */
	ck_assert_int_eq(procq_group_map(g, "ident", NULL, 2, NULL),
	    PROCQ_EINVAL);
	ck_assert_int_eq(procq_group_jobs(g, NULL, 2), PROCQ_EINVAL);
	ck_assert_int_eq(procq_group_jobs(g, jobs, 1), PROCQ_EINVAL);
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, NULL, "q", 1),
	    PROCQ_EFORMAT);
	ck_assert_int_eq(procq_group_add(g, NULL), PROCQ_EINVAL);
	other = submit_ok(q2, "ident", NULL, "i", 1);
	ck_assert_int_eq(procq_group_add(g, other), PROCQ_EINVAL);
	ck_assert_uint_eq(procq_group_size(g), 1);
	ck_assert_ptr_eq(procq_group_handle(g, 0), f);
	ck_assert_ptr_null(procq_group_handle(g, 1));
	err = 12345;
	ck_assert_ptr_null(procq_group_next(g, NAN, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	s = (procq_summary *)SENTINEL;
	ck_assert_int_eq(procq_group_wait(g, NAN, &s), PROCQ_EINVAL);
	ck_assert_ptr_null(s);

	/* an unfinished handle (queue not started): values not done */
	ck_assert_int_eq(procq_group_submitf(g, "ident", NULL, &p, "i", 1),
	    0);
	ck_assert_int_eq(procq_group_add(g, p), PROCQ_EEXIST);
	ck_assert_ptr_null(procq_group_handle(g, 2));
	ck_assert_ptr_null(procq_group_handle(g, (size_t)-1));
	vals[0] = (const msgpack_object *)SENTINEL;
	s = (procq_summary *)SENTINEL;
	ck_assert_int_eq(procq_group_values(g, vals, &s), PROCQ_ENOTDONE);
	ck_assert_ptr_eq(vals[0], (const msgpack_object *)SENTINEL);
	ck_assert_int_eq(procq_group_values(g, NULL, NULL), PROCQ_EINVAL);
	ck_assert_int_eq(procq_future_set_value(f, NULL, 0), 0);
	ck_assert_int_eq(procq_group_wait(g, 20, NULL), 0);
	/* a failure: ETASK, values untouched */
	bad = finished(q, false);
	ok = finished(q, true);
	ck_assert_int_eq(procq_group_add(g, ok), 0);
	ck_assert_int_eq(procq_group_add(g, bad), 0);
	ck_assert_int_eq(procq_group_add(g, bad), PROCQ_EEXIST);
	s = NULL;
	ck_assert_int_eq(procq_group_values(g, vals, &s), PROCQ_ETASK);
	ck_assert_ptr_eq(vals[0], (const msgpack_object *)SENTINEL);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(procq_summary_count(s), 1);
	procq_summary_free(s);
	ck_assert_uint_eq(procq_group_cancel(g), 0);
	procq_group_free(g);

	/* closed queue */
	gp = procq_group_create(q2, NULL, &err);
	ck_assert_ptr_nonnull(gp);
	ck_assert_int_eq(procq_shutdown(q2, PROCQ_SHUTDOWN_FORCE), 0);
	h = SENTINEL;
	ck_assert_int_eq(procq_group_submit(gp, "ident", A_OK, sizeof A_OK,
	    NULL, &h), PROCQ_ECLOSED);
	ck_assert_ptr_null(h);
	procq_group_free(gp);
	procq_free(q2);
	clean_batch(q);
	procq_free(q);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bound tasks                                                         */

START_TEST(test_bound)
{
	procq_queue *q = mkq();
	procq_bound *b;
	procq_handle *h, *hs[2];
	procq_args args[2] = { { A_OK, sizeof A_OK }, { A_OK, sizeof A_OK } };
	int err;

	err = 12345;
	ck_assert_ptr_null(procq_bind(NULL, "ident", NULL, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	err = 12345;
	ck_assert_ptr_null(procq_bind(q, NULL, NULL, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	err = 12345;
	ck_assert_ptr_null(procq_bind(q, "no-such-task", NULL, &err));
	ck_assert_int_eq(err, PROCQ_ENOTASK);
	ck_assert_ptr_null(procq_bind(q, "no-such-task", NULL, NULL));
	for (size_t i = 0; i < NELEM(bad_opts); i++) {
		err = 12345;
		ck_assert_msg(procq_bind(q, "ident", &bad_opts[i].o, &err) ==
		    NULL && err == PROCQ_EINVAL, "procq_bind(%s): %d",
		    bad_opts[i].what, err);
	}

	h = SENTINEL;
	ck_assert_int_eq(procq_bound_call(NULL, A_OK, sizeof A_OK, NULL, &h),
	    PROCQ_EINVAL);
	ck_assert_ptr_null(h);
	h = SENTINEL;
	ck_assert_int_eq(procq_bound_callf(NULL, NULL, &h, "i", 1),
	    PROCQ_EINVAL);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(procq_bound_map(NULL, args, 2, NULL, hs),
	    PROCQ_EINVAL);
	err = 12345;
	ck_assert_ptr_null(procq_bound_group(NULL, args, 2, NULL, NULL,
	    &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	procq_bound_free(NULL);

	b = procq_bind(q, "ident", NULL, &err);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(procq_bound_callf(b, NULL, NULL, "q", 1),
	    PROCQ_EFORMAT);
	ck_assert_int_eq(procq_bound_map(b, NULL, 2, NULL, hs), PROCQ_EINVAL);
	ck_assert_int_eq(procq_bound_map(b, args, 2, NULL, NULL),
	    PROCQ_EINVAL);
	err = 12345;
	ck_assert_ptr_null(procq_bound_group(b, NULL, 2, NULL, NULL, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	for (size_t i = 0; i < NELEM(bad_gopts); i++) {
		err = 12345;
		ck_assert_msg(procq_bound_group(b, args, 2, &bad_gopts[i].o,
		    NULL, &err) == NULL && err == PROCQ_EINVAL,
		    "procq_bound_group(%s): %d", bad_gopts[i].what, err);
	}
	clean_batch(q);
	procq_bound_free(b);
	procq_free(q);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Waiting: procq_wait(), procq_as_completed(), procq_iter_*()         */

START_TEST(test_wait_iter)
{
	procq_queue *q = mkq();
	procq_handle *h[2], *withnull[2], *done[2], *pend[2];
	size_t nd = 99, np = 99;
	procq_iter *it;
	int err;

	h[0] = finished(q, true);
	h[1] = finished(q, false);
	withnull[0] = h[0];
	withnull[1] = NULL;

	ck_assert_int_eq(procq_wait(NULL, 2, PROCQ_ALL_COMPLETED, 1, done,
	    &nd, pend, &np), PROCQ_EINVAL);
	ck_assert_int_eq(procq_wait(withnull, 2, PROCQ_ALL_COMPLETED, 1, done,
	    &nd, pend, &np), PROCQ_EINVAL);
	ck_assert_int_eq(procq_wait(h, 2, (procq_wait_mode)3, 1, done, &nd,
	    pend, &np), PROCQ_EINVAL);
	ck_assert_int_eq(procq_wait(h, 2, (procq_wait_mode)-1, 1, done, &nd,
	    pend, &np), PROCQ_EINVAL);
	ck_assert_int_eq(procq_wait(h, 2, PROCQ_ALL_COMPLETED, NAN, done, &nd,
	    pend, &np), PROCQ_EINVAL);
	/* n 0: handles may be NULL */
	ck_assert_int_eq(procq_wait(NULL, 0, PROCQ_ALL_COMPLETED, 1, NULL,
	    &nd, NULL, &np), 0);
	ck_assert_uint_eq(nd, 0);
	ck_assert_uint_eq(np, 0);

	err = 12345;
	ck_assert_ptr_null(procq_as_completed(NULL, 2, 1, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	err = 12345;
	ck_assert_ptr_null(procq_as_completed(withnull, 2, 1, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	err = 12345;
	ck_assert_ptr_null(procq_as_completed(h, 2, NAN, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	ck_assert_ptr_null(procq_as_completed(h, 2, NAN, NULL));
	err = 12345;
	ck_assert_ptr_null(procq_iter_next(NULL, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	ck_assert_ptr_null(procq_iter_next(NULL, NULL));
	procq_iter_free(NULL, true);
	procq_iter_free(NULL, false);

	/* past the end */
	it = procq_as_completed(h, 2, 1, &err);
	ck_assert_ptr_nonnull(it);
	ck_assert_ptr_nonnull(procq_iter_next(it, NULL));
	ck_assert_ptr_nonnull(procq_iter_next(it, NULL));
	err = 12345;
	ck_assert_ptr_null(procq_iter_next(it, &err));
	ck_assert_int_eq(err, 0);
	ck_assert_ptr_null(procq_iter_next(it, &err));
	ck_assert_int_eq(err, 0);
	procq_iter_free(it, true);
	clean_batch(q);
	procq_free(q);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Futures                                                             */

START_TEST(test_future)
{
	procq_queue *q = mkq();
	procq_handle *f, *t, *g;
	int err;
	err = 12345;
	ck_assert_ptr_null(procq_future_create(NULL, "f", &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	ck_assert_ptr_null(procq_future_create(NULL, "f", NULL));

	/* NULL handle */
	ck_assert_int_eq(procq_future_set_value(NULL, A_OK, sizeof A_OK),
	    PROCQ_EINVAL);
	ck_assert_int_eq(procq_future_set_valuef(NULL, "i", 1), PROCQ_EINVAL);
	ck_assert_int_eq(procq_future_set_error(NULL, "T", "m"),
	    PROCQ_EINVAL);

	/* a task handle, unfinished and finished, is not a future */
	t = submit_ok(q, "ident", NULL, "i", 1);
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(procq_future_set_value(t, A_OK, sizeof A_OK),
		    PROCQ_EINVAL);
		ck_assert_int_eq(procq_future_set_valuef(t, "i", 1),
		    PROCQ_EINVAL);
		ck_assert_int_eq(procq_future_set_error(t, "T", "m"),
		    PROCQ_EINVAL);
		if (k == 0) {
			ck_assert_int_eq(procq_handle_status(t),
			    PROCQ_PENDING);
			ck_assert_int_eq(procq_join(q, 20), 0);
		}
	}
	ck_assert_int_eq(procq_handle_status(t), PROCQ_SUCCEEDED);

	/* bad values leave the future pending */
	f = procq_future_create(q, NULL, &err);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(err, 0);
	ck_assert_int_eq(procq_future_set_value(f, NULL, 3), PROCQ_EINVAL);
	ck_assert_int_eq(procq_future_set_value(f, A_OK, 0), PROCQ_EINVAL);
	ck_assert_int_eq(procq_future_set_value(f, A_TWO, sizeof A_TWO),
	    PROCQ_EINVAL);
	ck_assert_int_eq(procq_future_set_value(f, A_TRUNC, sizeof A_TRUNC),
	    PROCQ_EINVAL);
	ck_assert_int_eq(procq_future_set_valuef(f, NULL), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_future_set_valuef(f, ""), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_future_set_valuef(f, "q", 1), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_handle_status(f), PROCQ_PENDING);
	ck_assert_int_eq(procq_handle_value(f, "i", &err), PROCQ_ENOTDONE);

	/* second completion: EDONE, whichever way */
	ck_assert_int_eq(procq_future_set_valuef(f, "i", 5), 0);
	ck_assert_int_eq(procq_future_set_value(f, A_OK, sizeof A_OK),
	    PROCQ_EDONE);
	ck_assert_int_eq(procq_future_set_valuef(f, "i", 6), PROCQ_EDONE);
	ck_assert_int_eq(procq_future_set_error(f, "T", "m"), PROCQ_EDONE);
	ck_assert_int_eq(procq_handle_cancel(f), PROCQ_EDONE);
	ck_assert_int_eq(procq_handle_value(f, "i", &err), 0);
	ck_assert_int_eq(err, 5);

	/* a cancelled future */
	g = procq_future_create(q, "g", &err);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(procq_handle_cancel(g), 0);
	ck_assert_int_eq(procq_handle_cancel(g), PROCQ_EDONE);
	ck_assert_int_eq(procq_future_set_value(g, NULL, 0), PROCQ_EDONE);
	ck_assert_int_eq(procq_future_set_error(g, NULL, NULL), PROCQ_EDONE);
	ck_assert_int_eq(procq_handle_status(g), PROCQ_CANCELLED);
	clean_batch(q);
	procq_free(q);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Event-loop integration                                              */

START_TEST(test_notify)
{
	procq_queue *q = mkq();
	procq_handle *done[4];

	ck_assert_int_eq(procq_notify_fd(NULL), PROCQ_EINVAL);
	ck_assert_uint_eq(procq_poll(NULL, done, 4), 0);
	ck_assert_uint_eq(procq_poll(NULL, NULL, 0), 0);
	ck_assert_int_ge(procq_notify_fd(q), 0);
	finished(q, true);
	ck_assert_uint_eq(procq_poll(q, NULL, 0), 0);
	ck_assert_uint_eq(procq_poll(q, done, 0), 0);
	ck_assert_uint_eq(procq_poll(q, done, 4), 1);
	clean_batch(q);
	procq_free(q);
}
END_TEST

/* ------------------------------------------------------------------ */

/*
 * Documented behaviour the library once lacked: an empty group's calls
 * and a negative submit timeout.
 */
START_TEST(test_empty_group_and_negative_timeout)
{
	procq_queue *q = mkq();
	procq_handle *h;

	/* procq_submit(3): "On failure no task is queued and, if handle is
	 * not NULL, *handle is set to NULL" -- a negative timeout of
	 * procq_submit_timeout() included. */
	h = SENTINEL;
	ck_assert_int_eq(procq_submit_timeout(q, "ident", A_OK, sizeof A_OK,
	    NULL, -1, &h), PROCQ_EINVAL);
	ck_assert_ptr_null(h);
	h = SENTINEL;
	ck_assert_int_eq(procq_submit_timeout(q, "ident", A_OK, sizeof A_OK,
	    NULL, -0.5, &h), PROCQ_EINVAL);
	ck_assert_ptr_null(h);

	/* No undefined behaviour (UBSan watches) on an empty group: a
	 * procq_group_map() or procq_group_jobs() whose first task is
	 * invalid, a procq_bound_group() with an invalid override, and
	 * procq_group_cancel(), procq_group_wait() and procq_group_values()
	 * on a group with no handle. */
	{
		procq_args args[1] = { { A_OK, sizeof A_OK } };
		procq_job jobs[1] = { { NULL, { A_OK, sizeof A_OK }, NULL } };
		const msgpack_object *v[1];
		procq_bound *b;
		procq_group *g;
		int err;

		g = procq_group_create(q, NULL, &err);
		ck_assert_int_eq(procq_group_map(g, "ident", args, 1,
		    &bad_opts[0].o), PROCQ_EINVAL);
		ck_assert_int_eq(procq_group_jobs(g, jobs, 1), PROCQ_EINVAL);
		ck_assert_uint_eq(procq_group_cancel(g), 0);
		ck_assert_int_eq(procq_group_wait(g, 0, NULL), 0);
		ck_assert_int_eq(procq_group_values(g, v, NULL), 0);
		procq_group_free(g);
		b = procq_bind(q, "ident", NULL, &err);
		ck_assert_ptr_null(procq_bound_group(b, args, 1, NULL,
		    &bad_opts[0].o, &err));
		ck_assert_int_eq(err, PROCQ_EINVAL);
		procq_bound_free(b);
	}
	clean_batch(q);
	procq_free(q);
}
END_TEST


static Suite *
invalid_suite(void)
{
	Suite *s = suite_create("invalid");
	TCase *tc;

	tc = add_tcase(s, "queue", 30);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_queue_create);
	tcase_add_test(tc, test_queue_register_start);

	tc = add_tcase(s, "submit", 30);
	tcase_add_test(tc, test_submit_bad_opts);
	tcase_add_test(tc, test_submit_bad_args_and_names);
	tcase_add_test(tc, test_submit_args_too_large);
	tcase_add_test(tc, test_submit_closed);
	tcase_add_test(tc, test_submit_null_and_full);
	tcase_add_test(tc, test_fanout);

	tc = add_tcase(s, "run", 30);
	tcase_add_test(tc, test_run_args);
	tcase_add_test(tc, test_reset_busy);
	tcase_add_test(tc, test_deadlock_from_hook);

	tc = add_tcase(s, "handle", 30);
	tcase_add_test(tc, test_handle_null);
	tcase_add_test(tc, test_handle_states);

	tc = add_tcase(s, "result", 30);
	tcase_add_test(tc, test_result);

	tc = add_tcase(s, "summary", 30);
	tcase_add_test(tc, test_summary);

	tc = add_tcase(s, "pack", 30);
	tcase_add_test(tc, test_pack);

	tc = add_tcase(s, "call", 30);
	tcase_add_test(tc, test_call_null);
	tcase_add_test(tc, test_call_worker);

	tc = add_tcase(s, "group", 30);
	tcase_add_test(tc, test_group);

	tc = add_tcase(s, "bound", 30);
	tcase_add_test(tc, test_bound);

	tc = add_tcase(s, "wait", 30);
	tcase_add_test(tc, test_wait_iter);

	tc = add_tcase(s, "future", 30);
	tcase_add_test(tc, test_future);

	tc = add_tcase(s, "notify", 30);
	tcase_add_test(tc, test_notify);
	tcase_add_test(tc, test_empty_group_and_negative_timeout);
	return s;
}

int
main(void)
{
	return run_suite(invalid_suite());
}
