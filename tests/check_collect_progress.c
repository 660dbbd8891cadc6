/*
 * Progress reports: procq_call_progress in a task, the latest value
 * through procq_handle_progress / procq_handle_progress_data, every
 * report through the on_progress hook.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect_tasks.h"
#include "util.h"

#define MAX_REPORTS 8

/* What the hook saw, one entry per report. */
struct reports {
	pthread_mutex_t	 lock;
	int		 n;
	msgpack_object_type type[MAX_REPORTS];
	char		 str[MAX_REPORTS][16];	/* a string, or an array's
						 * first element */
	long long	 num[MAX_REPORTS];	/* an integer, or an array's
						 * second element */
	size_t		 size[MAX_REPORTS];	/* an array's size */
	procq_handle	*h[MAX_REPORTS];
};

static void
copy_str(char *dst, const msgpack_object *o)
{
	size_t n;

	dst[0] = '\0';
	if (o->type != MSGPACK_OBJECT_STR)
		return;
	n = o->via.str.size < 15 ? o->via.str.size : 15;
	memcpy(dst, o->via.str.ptr, n);
	dst[n] = '\0';
}

static void
on_progress(procq_handle *h, const msgpack_object *v, void *arg)
{
	struct reports *r = arg;
	int i;

	pthread_mutex_lock(&r->lock);
	if ((i = r->n++) < MAX_REPORTS && v != NULL) {
		r->h[i] = h;
		r->type[i] = v->type;
		if (v->type == MSGPACK_OBJECT_STR)
			copy_str(r->str[i], v);
		else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			r->num[i] = (long long)v->via.u64;
		else if (v->type == MSGPACK_OBJECT_ARRAY) {
			r->size[i] = v->via.array.size;
			if (v->via.array.size == 2) {
				copy_str(r->str[i], &v->via.array.ptr[0]);
				if (v->via.array.ptr[1].type ==
				    MSGPACK_OBJECT_POSITIVE_INTEGER)
					r->num[i] = (long long)
					    v->via.array.ptr[1].via.u64;
			}
		}
	}
	pthread_mutex_unlock(&r->lock);
}

static int
report_count(struct reports *r)
{
	int n;

	pthread_mutex_lock(&r->lock);
	n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static bool
progress_is_started(void *h)
{
	char *s = NULL;
	bool ok;

	if (procq_handle_progress(h, "s", &s) != 0)
		return false;
	ok = s != NULL && strcmp(s, "started") == 0;
	free(s);
	return ok;
}

static bool
progress_is_50(void *h)
{
	int v = 0;

	return procq_handle_progress(h, "i", &v) == 0 && v == 50;
}

/* The msgpack bytes of the string s. */
static size_t
packed_str(char *buf, size_t size, const char *s)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t n;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_str_with_body(&pk, s, strlen(s));
	n = sb.size;
	ck_assert_uint_le(n, size);
	memcpy(buf, sb.data, n);
	msgpack_sbuffer_destroy(&sb);
	return n;
}

START_TEST(test_progress_reports)
{
	struct reports rep;
	procq_queue *q;
	procq_handle *h;
	struct gate g1, g2;
	char buf[32], want[32], *s = NULL;
	const msgpack_object *o = NULL;
	const char *S;
	size_t slen, wlen;
	int v = 0;

	memset(&rep, 0, sizeof rep);
	pthread_mutex_init(&rep.lock, NULL);
	q = collect_queue_config(&(procq_config){ .workers = 1,
	    .on_progress = on_progress, .hook_arg = &rep });
	gate_create(&g1);
	gate_create(&g2);
	h = submit_ok(q, "progress_steps", NULL, "ss", g1.path, g2.path);
	/* nothing reported yet */
	ck_assert_int_eq(procq_handle_progress(h, "s", &s), PROCQ_ENOTDONE);
	ck_assert_uint_eq(procq_handle_progress_data(h, buf, sizeof buf), 0);
	ck_assert_int_eq(procq_start(q), 0);

	/* held at the first gate: "started" */
	ck_assert(gate_enter(&g1, 10));
	ck_assert(wait_until(progress_is_started, h, 10));
	ck_assert(!procq_handle_done(h));
	wlen = packed_str(want, sizeof want, "started");
	memset(buf, 0x5a, sizeof buf);
	ck_assert_uint_eq(procq_handle_progress_data(h, buf, sizeof buf), wlen);
	ck_assert_int_eq(memcmp(buf, want, wlen), 0);
	/* a short buffer gets what fits; the length is still the whole */
	memset(buf, 0x5a, sizeof buf);
	ck_assert_uint_eq(procq_handle_progress_data(h, buf, 3), wlen);
	ck_assert_int_eq(memcmp(buf, want, 3), 0);
	ck_assert_int_eq((unsigned char)buf[3], 0x5a);
	ck_assert_uint_eq(procq_handle_progress_data(h, NULL, 0), wlen);
	/* only copying conversions */
	ck_assert_int_eq(procq_handle_progress(h, "S", &S, &slen),
	    PROCQ_EFORMAT);
	ck_assert_int_eq(procq_handle_progress(h, "o", &o), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_handle_progress(h, "i", &v), PROCQ_EFORMAT);

	/* held at the second gate: 50 */
	gate_release(&g1);
	ck_assert(gate_enter(&g2, 10));
	ck_assert(wait_until(progress_is_50, h, 10));
	ck_assert(!procq_handle_done(h));
	ck_assert_int_eq(procq_handle_progress(h, "s", &s), PROCQ_EFORMAT);

	gate_release(&g2);
	wait_done(h, 10);
	ck_assert_int_eq(int_value(h), 7);
	/* the latest report stays */
	s = NULL;
	v = 0;
	ck_assert_int_eq(procq_handle_progress(h, "si", &s, &v), 0);
	ck_assert_str_eq(s, "almost");
	ck_assert_int_eq(v, 99);
	free(s);

	/* the hook saw every report, in order */
	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	ck_assert_int_eq(report_count(&rep), 3);
	ck_assert_ptr_eq(rep.h[0], h);
	ck_assert_ptr_eq(rep.h[2], h);
	ck_assert_int_eq(rep.type[0], MSGPACK_OBJECT_STR);
	ck_assert_str_eq(rep.str[0], "started");
	ck_assert_int_eq(rep.type[1], MSGPACK_OBJECT_POSITIVE_INTEGER);
	ck_assert_int_eq(rep.num[1], 50);
	ck_assert_int_eq(rep.type[2], MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(rep.size[2], 2);
	ck_assert_str_eq(rep.str[2], "almost");
	ck_assert_int_eq(rep.num[2], 99);
	procq_free(q);
	gate_destroy(&g1);
	gate_destroy(&g2);
	pthread_mutex_destroy(&rep.lock);
}
END_TEST

/* Progress of one task is not seen on another; a task that never reports
 * has none. */
START_TEST(test_progress_per_handle)
{
	procq_queue *q = collect_queue(2);
	procq_handle *h, *quiet;
	struct gate g1, g2;
	char buf[16];
	int v;

	gate_create(&g1);
	gate_create(&g2);
	ck_assert_int_eq(procq_start(q), 0);
	h = submit_ok(q, "progress_steps", NULL, "ss", g1.path, g2.path);
	quiet = submit_ok(q, "ident", NULL, "i", 3);
	ck_assert(gate_enter(&g1, 10));
	gate_release(&g1);
	ck_assert(gate_enter(&g2, 10));
	ck_assert(wait_until(progress_is_50, h, 10));
	wait_done(quiet, 10);
	ck_assert_int_eq(procq_handle_progress(quiet, "i", &v),
	    PROCQ_ENOTDONE);
	ck_assert_uint_eq(procq_handle_progress_data(quiet, buf, sizeof buf),
	    0);
	gate_release(&g2);
	wait_done(h, 10);
	procq_free(q);
	gate_destroy(&g1);
	gate_destroy(&g2);
}
END_TEST

static Suite *
progress_suite(void)
{
	Suite *s = suite_create("collect_progress");
	TCase *tc;

	tc = add_tcase(s, "progress", 30);
	tcase_add_test(tc, test_progress_reports);
	tcase_add_test(tc, test_progress_per_handle);
	return s;
}

int
main(void)
{
	return run_suite(progress_suite());
}
