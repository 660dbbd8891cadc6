/*
 * Submitting, running and reading values: the format and raw paths both
 * ways, handles, API errors, priorities and procq_run().
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks.h"
#include "util.h"

#define N_DOUBLE 20

START_TEST(test_submitf_values)
{
	procq_queue *q = new_queue(2, 0);
	procq_handle *h[N_DOUBLE];
	procq_summary *s = NULL;
	int i;

	for (i = 0; i < N_DOUBLE; i++) {
		h[i] = NULL;
		ck_assert_int_eq(procq_submitf(q, "double", NULL, &h[i], "d",
		    i * 1.5), 0);
		ck_assert_ptr_nonnull(h[i]);
	}
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(procq_summary_submitted(s), N_DOUBLE);
	ck_assert_uint_eq(procq_summary_succeeded(s), N_DOUBLE);
	ck_assert_uint_eq(procq_summary_failed(s), 0);
	ck_assert_uint_eq(procq_summary_cancelled(s), 0);
	ck_assert_uint_eq(procq_summary_count(s), N_DOUBLE);
	ck_assert(procq_summary_ok(s));

	for (i = 0; i < N_DOUBLE; i++) {
		const procq_result *r;
		double v = -1;

		ck_assert(procq_handle_done(h[i]));
		ck_assert_int_eq(procq_handle_status(h[i]), PROCQ_SUCCEEDED);
		ck_assert_int_eq(procq_handle_error_kind(h[i]), PROCQ_ERR_NONE);
		ck_assert_int_eq(procq_handle_attempts(h[i]), 1);
		ck_assert_int_eq(procq_handle_value(h[i], "d", &v), 0);
		ck_assert_double_eq(v, 2 * i * 1.5);

		r = procq_handle_result(h[i]);
		ck_assert_ptr_nonnull(r);
		ck_assert_str_eq(procq_result_id(r), procq_handle_id(h[i]));
		ck_assert_str_eq(procq_result_task(r), "double");
		ck_assert_str_eq(procq_result_name(r), "double");
		ck_assert_ptr_null(procq_result_group(r));
		ck_assert_int_eq(procq_result_status(r), PROCQ_SUCCEEDED);
		ck_assert_int_eq(procq_result_attempts(r), 1);
		ck_assert_double_ge(procq_result_duration(r), 0);

		/* the summary holds its own copy of the same result */
		r = procq_summary_by_id(s, procq_handle_id(h[i]));
		ck_assert_ptr_nonnull(r);
		v = -1;
		ck_assert_int_eq(procq_result_unpack(r, "d", &v), 0);
		ck_assert_double_eq(v, 2 * i * 1.5);
	}
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

/* Raw bytes both ways: arguments packed here, returned untouched by
 * procq_call_args_data() + procq_call_return_data(). */
START_TEST(test_raw_submit_echo)
{
	procq_queue *q = new_queue(1, 0);
	msgpack_sbuffer sb;
	msgpack_packer pk;
	procq_handle *h = NULL, *h2 = NULL;
	const procq_result *r;
	const msgpack_object *v;
	const void *data;
	size_t len = 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, 3);
	msgpack_pack_str_with_body(&pk, "abc", 3);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int(&pk, -1);
	msgpack_pack_double(&pk, 0.5);

	ck_assert_int_eq(procq_submit(q, "echo", sb.data, sb.size, NULL, &h),
	    0);
	ck_assert_int_eq(procq_submit(q, "echo_obj", sb.data, sb.size, NULL,
	    &h2), 0);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	wait_done(h, 0);
	wait_done(h2, 0);

	r = procq_handle_result(h);
	ck_assert_int_eq(procq_result_status(r), PROCQ_SUCCEEDED);
	data = procq_result_data(r, &len);
	ck_assert_uint_eq(len, sb.size);
	ck_assert_mem_eq(data, sb.data, sb.size);
	v = procq_result_value(r);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(v->type, MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(v->via.array.size, 3);
	ck_assert_int_eq(v->via.array.ptr[0].via.i64, 3);
	ck_assert_int_eq(v->via.array.ptr[1].type, MSGPACK_OBJECT_STR);
	ck_assert_mem_eq(v->via.array.ptr[1].via.str.ptr, "abc", 3);
	ck_assert_int_eq(v->via.array.ptr[2].type, MSGPACK_OBJECT_ARRAY);
	ck_assert_int_eq(v->via.array.ptr[2].via.array.ptr[0].via.i64, -1);

	/* procq_call_args() + procq_call_packer() give the same value */
	r = procq_handle_result(h2);
	ck_assert_int_eq(procq_result_status(r), PROCQ_SUCCEEDED);
	ck_assert(msgpack_object_equal(*procq_result_value(r), *v));

	msgpack_sbuffer_destroy(&sb);
	procq_free(q);
}
END_TEST

/* A return value must be one msgpack value: the worker fails the task
 * instead of sending bytes the caller could not read. */
START_TEST(test_return_not_one_value)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = NULL;

	ck_assert_int_eq(procq_submit(q, "two_values", NULL, 0, NULL, &h), 0);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	wait_done(h, 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(h), PROCQ_ERR_TASK);
	ck_assert_str_eq(procq_handle_error_type(h), "TaskError");
	ck_assert_ptr_nonnull(strstr(procq_handle_error_message(h),
	    "not a single msgpack value"));
	procq_free(q);
}
END_TEST

START_TEST(test_raw_submit_null_args)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = NULL;
	const msgpack_object *v;

	ck_assert_int_eq(procq_submit(q, "echo", NULL, 0, NULL, &h), 0);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	v = procq_result_value(procq_handle_result(h));
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(v->type, MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(v->via.array.size, 0);
	ck_assert_int_eq(procq_handle_value(h, ""), 0);
	procq_free(q);
}
END_TEST

START_TEST(test_return_data_map)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = submit_ok(q, "map", NULL, "");
	const msgpack_object *v, *b = NULL;
	int a = 0;

	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	v = procq_result_value(procq_handle_result(h));
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(v->type, MSGPACK_OBJECT_MAP);
	ck_assert_uint_eq(v->via.map.size, 2);
	ck_assert_mem_eq(v->via.map.ptr[0].key.via.str.ptr, "a", 1);
	ck_assert_int_eq(procq_unpack(&v->via.map.ptr[0].val, "i", &a), 0);
	ck_assert_int_eq(a, 1);
	b = &v->via.map.ptr[1].val;
	ck_assert_int_eq(b->type, MSGPACK_OBJECT_ARRAY);
	{
		bool t = false;

		ck_assert_int_eq(procq_unpack(b, "bn", &t), 0);
		ck_assert(t);
	}
	/* a map is not an array: "o" takes it whole */
	ck_assert_int_eq(procq_handle_value(h, "o", &b), 0);
	ck_assert_ptr_eq(b, v);
	ck_assert_int_eq(procq_handle_value(h, "i", &a), PROCQ_EFORMAT);
	procq_free(q);
}
END_TEST

START_TEST(test_call_packer)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = submit_ok(q, "packer", NULL, "");
	int one = 0;
	const char *two = NULL;
	size_t two_len = 0;
	double three = 0;

	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_value(h, "iSd", &one, &two, &two_len,
	    &three), 0);
	ck_assert_int_eq(one, 1);
	ck_assert_uint_eq(two_len, 3);
	ck_assert_mem_eq(two, "two", 3);
	ck_assert_double_eq(three, 3.5);
	procq_free(q);
}
END_TEST

/* A scalar string result (not inside an array). */
START_TEST(test_string_result)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = submit_ok(q, "bigstr", NULL, "i", 300);
	procq_summary *s = NULL;
	char *str = NULL;
	const char *zc = NULL;
	size_t len = 0;

	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_handle_value(h, "s", &str), 0);
	ck_assert_uint_eq(strlen(str), 300);
	free(str);
	ck_assert_int_eq(procq_handle_value(h, "S", &zc, &len), 0);
	ck_assert_uint_eq(len, 300);
	ck_assert_int_eq(procq_result_value(procq_handle_result(h))->type,
	    MSGPACK_OBJECT_STR);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

START_TEST(test_nil_return)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = submit_ok(q, "nil", NULL, "");
	int i = 0;

	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_result_value(procq_handle_result(h))->type,
	    MSGPACK_OBJECT_NIL);
	ck_assert_int_eq(procq_handle_value(h, "n"), 0);
	ck_assert_int_eq(procq_handle_value(h, "i", &i), PROCQ_EFORMAT);
	procq_free(q);
}
END_TEST

/* Every conversion through the wire and back: submitf packs, the worker
 * unpacks with procq_call_unpack() and returns with procq_call_return(),
 * procq_handle_value() unpacks. */
START_TEST(test_roundtrip_every_type)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h;
	int i = 0;
	int64_t l = 0;
	uint64_t u = 0;
	double d = 0;
	bool b = false;
	char *s = NULL;
	const char *S = NULL;
	const void *y = NULL;
	size_t Slen = 0, ylen = 0;

	h = submit_ok(q, "roundtrip", NULL, "iludbsSyn", INT_MIN,
	    (int64_t)INT64_MIN, (uint64_t)UINT64_MAX, -1e300, 1, "text",
	    "with\0nul", (size_t)8, "\x00\x01\xfe", (size_t)3);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert_msg(procq_handle_status(h) == PROCQ_SUCCEEDED, "%s: %s",
	    procq_handle_error_type(h), procq_handle_error_message(h));
	ck_assert_int_eq(procq_handle_value(h, "iludbsSyn", &i, &l, &u, &d, &b,
	    &s, &S, &Slen, &y, &ylen), 0);
	ck_assert_int_eq(i, INT_MIN);
	ck_assert(l == INT64_MIN);
	ck_assert(u == UINT64_MAX);
	ck_assert_double_eq(d, -1e300);
	ck_assert(b);
	ck_assert_str_eq(s, "text");
	free(s);
	ck_assert_uint_eq(Slen, 8);
	ck_assert_mem_eq(S, "with\0nul", 8);
	ck_assert_uint_eq(ylen, 3);
	ck_assert_mem_eq(y, "\x00\x01\xfe", 3);
	procq_free(q);
}
END_TEST

START_TEST(test_call_identity)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h, *h2;
	procq_opts o = { .name = "shown as" };
	char *name = NULL, *id = NULL;
	int attempt = 0;
	const procq_result *r;

	h = submit_ok(q, "whoami", NULL, "");
	h2 = submit_ok(q, "whoami", &o, "");
	ck_assert_str_eq(procq_handle_name(h), "whoami");
	ck_assert_str_eq(procq_handle_name(h2), "shown as");
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);

	ck_assert_int_eq(procq_handle_value(h, "ssi", &name, &id, &attempt),
	    0);
	ck_assert_str_eq(name, "whoami");
	ck_assert_str_eq(id, procq_handle_id(h));
	ck_assert_int_eq(attempt, 1);
	free(name);
	free(id);

	ck_assert_int_eq(procq_handle_value(h2, "ssi", &name, &id, &attempt),
	    0);
	ck_assert_str_eq(id, procq_handle_id(h2));
	free(name);
	free(id);
	r = procq_handle_result(h2);
	ck_assert_str_eq(procq_result_name(r), "shown as");
	ck_assert_str_eq(procq_result_task(r), "whoami");
	procq_free(q);
}
END_TEST

#define N_IDS 64

START_TEST(test_handle_ids)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h[N_IDS];
	int i, j;

	for (i = 0; i < N_IDS; i++) {
		const char *id;

		h[i] = submit_ok(q, "nil", NULL, "");
		id = procq_handle_id(h[i]);
		ck_assert_ptr_nonnull(id);
		ck_assert_uint_eq(strlen(id), 16);
		for (j = 0; j < 16; j++)
			ck_assert_msg(isxdigit((unsigned char)id[j]) &&
			    !isupper((unsigned char)id[j]), "id %s", id);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(id, procq_handle_id(h[j]));
	}
	procq_free(q);
}
END_TEST

START_TEST(test_handle_before_done)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = submit_ok(q, "double", NULL, "d", 2.0);
	double v = 0, t0;

	/* the queue is not started: submitting alone does not run it */
	ck_assert_int_eq(procq_handle_status(h), PROCQ_PENDING);
	ck_assert(!procq_handle_done(h));
	ck_assert_ptr_null(procq_handle_result(h));
	ck_assert_int_eq(procq_handle_attempts(h), 0);
	ck_assert_int_eq(procq_handle_value(h, "d", &v), PROCQ_ENOTDONE);
	ck_assert_int_eq(procq_handle_wait(h, 0), PROCQ_ETIMEDOUT);
	t0 = now();
	ck_assert_int_eq(procq_handle_wait(h, 0.1), PROCQ_ETIMEDOUT);
	ck_assert_double_ge(now() - t0, 0.1 - TIMER_SLACK);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_PENDING);

	ck_assert_int_eq(procq_start(q), 0);
	wait_done(h, 10);
	ck_assert_int_eq(procq_handle_value(h, "d", &v), 0);
	ck_assert_double_eq(v, 4.0);
	ck_assert_int_eq(procq_handle_wait(h, 0), 0);
	ck_assert_int_eq(procq_handle_wait(h, PROCQ_FOREVER), 0);
	procq_free(q);
}
END_TEST

START_TEST(test_task_failure)
{
	procq_queue *q = new_queue(2, 0);
	procq_handle *hf = submit_ok(q, "fail", NULL, "i", 7);
	procq_handle *hr = submit_ok(q, "retcode", NULL, "i", 5);
	procq_handle *hok = submit_ok(q, "double", NULL, "d", 1.0);
	const procq_result *r;
	procq_summary *s = NULL;
	double v;

	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_failed(s), 2);
	ck_assert_uint_eq(procq_summary_succeeded(s), 1);
	ck_assert(!procq_summary_ok(s));
	procq_summary_free(s);

	ck_assert_int_eq(procq_handle_status(hf), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(hf), PROCQ_ERR_TASK);
	ck_assert_str_eq(procq_handle_error_type(hf), "ValueError");
	ck_assert_str_eq(procq_handle_error_message(hf), "bad 7");
	ck_assert_int_eq(procq_handle_attempts(hf), 1);
	ck_assert_int_eq(procq_handle_value(hf, "d", &v), PROCQ_ETASK);
	r = procq_handle_result(hf);
	ck_assert_int_eq(procq_result_error_kind(r), PROCQ_ERR_TASK);
	ck_assert_str_eq(procq_result_error_type(r), "ValueError");
	ck_assert_str_eq(procq_result_error_message(r), "bad 7");
	ck_assert_int_eq(procq_result_signal(r), -1);
	ck_assert_int_eq(procq_result_exit_status(r), -1);
	ck_assert_int_eq(procq_result_unpack(r, "d", &v), PROCQ_ETASK);

	ck_assert_int_eq(procq_handle_status(hr), PROCQ_FAILED);
	ck_assert_int_eq(procq_handle_error_kind(hr), PROCQ_ERR_TASK);
	ck_assert_str_eq(procq_handle_error_type(hr), "TaskError");
	ck_assert_str_eq(procq_handle_error_message(hr), "task returned 5");

	ck_assert_int_eq(procq_handle_status(hok), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_result_signal(procq_handle_result(hok)), -1);
	ck_assert_int_eq(procq_result_exit_status(procq_handle_result(hok)),
	    -1);
	procq_free(q);
}
END_TEST

START_TEST(test_submit_errors)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = NULL;
	procq_summary *s = NULL;
	static const procq_opts bad[] = {
		{ .retries = -1 },
		{ .retry_delay = -0.5 },
		{ .retry_delay = NAN },
		{ .backoff = 0.5 },
		{ .backoff = -1 },
		{ .backoff = NAN },
		{ .timeout = -1 },
		{ .timeout = NAN },
	};
	size_t i;

	/* An exec queue knows its names once it has started (check_exec). */
	if (!test_exec(NULL)) {
		ck_assert_int_eq(procq_submitf(q, "no such task", NULL, &h,
		    ""), PROCQ_ENOTASK);
		ck_assert_int_eq(procq_submit(q, "no such task", NULL, 0,
		    NULL, &h), PROCQ_ENOTASK);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(procq_submitf(q, "nil", &bad[i], &h, "") ==
		    PROCQ_EINVAL, "bad option set %zu accepted", i);
		ck_assert_msg(procq_submit(q, "nil", NULL, 0, &bad[i], &h) ==
		    PROCQ_EINVAL, "bad option set %zu accepted", i);
	}
	/* limits that are valid */
	ck_assert_int_eq(procq_submitf(q, "nil", &(procq_opts){ .backoff = 1,
	    .retry_delay = 0, .timeout = 0, .retries = 0 }, &h, ""), 0);
	/* fire and forget: no handle */
	ck_assert_int_eq(procq_submitf(q, "nil", NULL, NULL, ""), 0);
	ck_assert_int_eq(procq_submit(q, "nil", NULL, 0, NULL, NULL), 0);
	/* the argument bytes must be one msgpack array */
	ck_assert_int_eq(procq_submit(q, "nil", "\x07", 1, NULL, &h),
	    PROCQ_EINVAL);
	ck_assert_int_eq(procq_submit(q, "nil", "\x92\x01", 2, NULL, &h),
	    PROCQ_EINVAL);
	ck_assert_int_eq(procq_submit(q, "nil", NULL, 3, NULL, &h),
	    PROCQ_EINVAL);
	/* a bad format string */
	ck_assert_int_eq(procq_submitf(q, "nil", NULL, &h, "z", 1),
	    PROCQ_EFORMAT);

	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_submitted(s), 3);
	ck_assert_uint_eq(procq_summary_succeeded(s), 3);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

START_TEST(test_register_errors)
{
	procq_queue *q;
	int err = 0;

	q = procq_create(NULL, &err);
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(procq_register(q, "null", NULL), PROCQ_EINVAL);
	ck_assert_int_eq(procq_register(q, "dup", task_nil), 0);
	ck_assert_int_eq(procq_register(q, "dup", task_nil), PROCQ_EEXIST);
	procq_free(q);
	if (test_exec(NULL))	/* no registry of the caller's */
		return;

	q = new_queue(1, 0);
	ck_assert_int_eq(procq_register(q, "double", task_nil),
	    PROCQ_EEXIST);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_register(q, "late", task_nil),
	    PROCQ_ESTATE);
	/* the queue still works */
	{
		procq_handle *h = submit_ok(q, "double", NULL, "d", 3.0);
		double v = 0;

		wait_done(h, 10);
		ck_assert_int_eq(procq_handle_value(h, "d", &v), 0);
		ck_assert_double_eq(v, 6.0);
	}
	procq_free(q);
}
END_TEST

/* A task submitted before the queue starts keeps its function's entry
 * while more names are registered: the registry grows without moving
 * entries (a use after free under AddressSanitizer and valgrind before). */
START_TEST(test_register_after_submit)
{
	procq_queue *q;
	procq_handle *h;
	char name[32];

	if (test_exec(NULL))	/* no registry of the caller's */
		return;
	q = new_queue(1, 0);
	h = submit_ok(q, "double", NULL, "d", 4.0);
	double v = 0;

	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof name, "late%d", i);
		ck_assert_int_eq(procq_register(q, name, task_nil), 0);
	}
	ck_assert_int_eq(procq_start(q), 0);
	wait_done(h, 10);
	ck_assert_int_eq(procq_handle_value(h, "d", &v), 0);
	ck_assert_double_eq(v, 8.0);
	ck_assert_str_eq(procq_handle_name(h), "double");
	procq_free(q);
}
END_TEST

START_TEST(test_create_errors)
{
	int err = 0;

	ck_assert_ptr_null(procq_create(&(procq_config){ .workers = -1 },
	    &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	err = 0;
	ck_assert_ptr_null(procq_create(&(procq_config){ .prefetch = -2 },
	    &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
}
END_TEST

START_TEST(test_submit_after_shutdown)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = submit_ok(q, "double", NULL, "d", 1.0);
	procq_handle *h2 = NULL;

	ck_assert_int_eq(procq_shutdown(q, 0), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_submitf(q, "double", NULL, &h2, "d", 1.0),
	    PROCQ_ECLOSED);
	ck_assert_int_eq(procq_submit(q, "nil", NULL, 0, NULL, &h2),
	    PROCQ_ECLOSED);
	ck_assert_int_eq(procq_shutdown(q, 0), 0);	/* idempotent */
	ck_assert_int_eq(procq_shutdown(q, PROCQ_SHUTDOWN_FORCE), 0);
	procq_free(q);
}
END_TEST

/* Completion order of a one-worker queue, read back from the summary. */
static void
check_order(procq_summary *s, size_t first, const int *expect, size_t n)
{
	size_t i;

	ck_assert_uint_eq(procq_summary_count(s), first + n);
	for (i = 0; i < n; i++) {
		const procq_result *r = procq_summary_result(s, first + i);
		int v = -1;

		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(procq_result_unpack(r, "i", &v), 0);
		ck_assert_msg(v == expect[i], "position %zu: task %d, "
		    "expected %d", i, v, expect[i]);
	}
	ck_assert_ptr_null(procq_summary_result(s, first + n));
}

static const int prio_of[] = { 5, 1, 5, 0, 1, -3, 5, 0, 2, 1, 5, -3 };
static const int prio_order[] = { 5, 11, 3, 7, 1, 4, 9, 8, 0, 2, 6, 10 };
#define N_PRIO ((int)(sizeof prio_of / sizeof prio_of[0]))

START_TEST(test_priorities_before_start)
{
	procq_queue *q = new_queue(1, 0);
	procq_summary *s = NULL;
	int i;

	for (i = 0; i < N_PRIO; i++)
		submit_ok(q, "ident", &(procq_opts){ .priority = prio_of[i] },
		    "i", i);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	check_order(s, 0, prio_order, N_PRIO);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

START_TEST(test_priorities_while_busy)
{
	procq_queue *q = new_queue(1, 0);
	procq_summary *s = NULL;
	struct gate g;
	procq_handle *hg;
	int i;

	gate_create(&g);
	ck_assert_int_eq(procq_start(q), 0);
	/* the gate's priority is the lowest of all: it runs first only
	 * because it was submitted while the worker was idle */
	hg = submit_ok(q, "gate", &(procq_opts){ .priority = 100 }, "s", g.path);
	ck_assert(gate_enter(&g, 10));
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_RUNNING);
	for (i = 0; i < N_PRIO; i++)
		submit_ok(q, "ident", &(procq_opts){ .priority = prio_of[i] },
		    "i", i);
	gate_release(&g);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_int_eq(procq_handle_status(hg), PROCQ_SUCCEEDED);
	ck_assert_str_eq(procq_result_id(procq_summary_result(s, 0)),
	    procq_handle_id(hg));
	check_order(s, 1, prio_order, N_PRIO);
	procq_summary_free(s);
	procq_free(q);
	gate_destroy(&g);
}
END_TEST

#define N_FIFO 40

START_TEST(test_fifo_within_priority)
{
	procq_queue *q = new_queue(1, 0);
	procq_summary *s = NULL;
	int expect[N_FIFO], i;

	for (i = 0; i < N_FIFO; i++) {
		submit_ok(q, "ident", &(procq_opts){ .priority = 7 }, "i", i);
		expect[i] = i;
	}
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	check_order(s, 0, expect, N_FIFO);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

START_TEST(test_run_twice)
{
	procq_queue *q = new_queue(2, 0);
	procq_summary *s1 = NULL, *s2 = NULL, *s3 = NULL;
	procq_handle *a, *b, *c;

	a = submit_ok(q, "double", NULL, "d", 1.0);
	b = submit_ok(q, "double", NULL, "d", 2.0);
	ck_assert_int_eq(procq_run(q, NULL, &s1), 0);
	c = submit_ok(q, "fail", NULL, "i", 1);
	ck_assert_int_eq(procq_run(q, NULL, &s2), 0);
	ck_assert_int_eq(procq_run(q, NULL, &s3), 0);

	ck_assert_uint_eq(procq_summary_count(s1), 2);
	ck_assert_ptr_nonnull(procq_summary_by_id(s1, procq_handle_id(a)));
	ck_assert_ptr_nonnull(procq_summary_by_id(s1, procq_handle_id(b)));
	ck_assert_ptr_null(procq_summary_by_id(s1, procq_handle_id(c)));
	ck_assert(procq_summary_ok(s1));

	ck_assert_uint_eq(procq_summary_count(s2), 1);
	ck_assert_uint_eq(procq_summary_submitted(s2), 1);
	ck_assert_uint_eq(procq_summary_failed(s2), 1);
	ck_assert_ptr_nonnull(procq_summary_by_id(s2, procq_handle_id(c)));
	ck_assert(!procq_summary_ok(s2));

	ck_assert_uint_eq(procq_summary_count(s3), 0);
	ck_assert_uint_eq(procq_summary_submitted(s3), 0);
	ck_assert(procq_summary_ok(s3));
	procq_summary_free(s1);
	procq_summary_free(s2);
	procq_summary_free(s3);
	procq_free(q);
}
END_TEST

/* A timeout past 10^9 seconds is a wait without end in practice: the
 * deadline is capped rather than overflowing, and the join returns when
 * its task is done. */
START_TEST(test_join_huge_timeout)
{
	procq_queue *q = new_queue(1, 0);
	procq_handle *h = submit_ok(q, "double", NULL, "d", 2.0);

	ck_assert_int_eq(procq_join(q, 1e300), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	procq_free(q);
}
END_TEST

START_TEST(test_run_timeout)
{
	procq_queue *q = new_queue(1, 0);
	procq_summary *s = NULL;
	procq_handle *hs, *hq;
	double t0 = now();

	hs = submit_ok(q, "sleep", NULL, "d", 30.0);
	hq = submit_ok(q, "double", NULL, "d", 1.0);
	ck_assert_int_eq(procq_run(q, &(procq_run_opts){ .timeout = 0.3 },
	    &s), PROCQ_ETIMEDOUT);
	ck_assert_double_ge(now() - t0, 0.3 - TIMER_SLACK);
	ck_assert_double_lt(now() - t0, 10);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(procq_summary_cancelled(s), 2);
	ck_assert(!procq_summary_ok(s));
	ck_assert_int_eq(procq_handle_status(hs), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_status(hq), PROCQ_CANCELLED);
	ck_assert_int_eq(procq_handle_attempts(hq), 0);
	procq_summary_free(s);

	/* the queue keeps working */
	hq = submit_ok(q, "double", NULL, "d", 4.0);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_int_eq(procq_handle_status(hq), PROCQ_SUCCEEDED);
	ck_assert_uint_eq(procq_summary_count(s), 1);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

static Suite *
basic_suite(void)
{
	Suite *s = suite_create("basic");
	TCase *tc;

	tc = add_tcase(s, "values", 30);
	tcase_add_test(tc, test_submitf_values);
	tcase_add_test(tc, test_raw_submit_echo);
	tcase_add_test(tc, test_raw_submit_null_args);
	tcase_add_test(tc, test_return_not_one_value);
	tcase_add_test(tc, test_return_data_map);
	tcase_add_test(tc, test_call_packer);
	tcase_add_test(tc, test_string_result);
	tcase_add_test(tc, test_nil_return);
	tcase_add_test(tc, test_roundtrip_every_type);
	tcase_add_test(tc, test_call_identity);

	tc = add_tcase(s, "handles", 30);
	tcase_add_test(tc, test_handle_ids);
	tcase_add_test(tc, test_handle_before_done);
	tcase_add_test(tc, test_task_failure);

	tc = add_tcase(s, "errors", 30);
	tcase_add_test(tc, test_submit_errors);
	tcase_add_test(tc, test_register_errors);
	tcase_add_test(tc, test_register_after_submit);
	tcase_add_test(tc, test_create_errors);
	tcase_add_test(tc, test_submit_after_shutdown);

	tc = add_tcase(s, "priorities", 30);
	tcase_add_test(tc, test_priorities_before_start);
	tcase_add_test(tc, test_priorities_while_busy);
	tcase_add_test(tc, test_fifo_within_priority);

	tc = add_tcase(s, "run", 30);
	tcase_add_test(tc, test_run_twice);
	tcase_add_test(tc, test_run_timeout);
	tcase_add_test(tc, test_join_huge_timeout);
	return s;
}

int
main(void)
{
	return run_suite(basic_suite());
}
