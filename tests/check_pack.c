/*
 * Format-string packing and unpacking (procq_pack, procq_unpack and their
 * va_list forms), and the name/strerror tables.  No worker processes.
 */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A buffer, a packer writing into it and an unpacked object read back. */
struct buf {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked up;
	size_t off;
};

static void
buf_init(struct buf *b)
{
	msgpack_sbuffer_init(&b->sb);
	msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
	msgpack_unpacked_init(&b->up);
	b->off = 0;
}

static void
buf_free(struct buf *b)
{
	msgpack_unpacked_destroy(&b->up);
	msgpack_sbuffer_destroy(&b->sb);
}

/* The next object packed into b. */
static const msgpack_object *
buf_next(struct buf *b)
{
	msgpack_unpack_return ret;

	ret = msgpack_unpack_next(&b->up, b->sb.data, b->sb.size, &b->off);
	ck_assert_int_eq(ret, MSGPACK_UNPACK_SUCCESS);
	return &b->up.data;
}

static void
buf_end(struct buf *b)
{
	ck_assert_uint_eq(b->off, b->sb.size);
}

START_TEST(test_pack_each_conversion)
{
	struct buf b;
	const msgpack_object *o;

	buf_init(&b);
	ck_assert_int_eq(procq_pack(&b.pk, "i l u d b b s s S y n",
	    -7, (int64_t)INT64_MIN, (uint64_t)UINT64_MAX, 2.5, 1, 0, "hi",
	    (const char *)NULL, "a\0b", (size_t)3, "\x01\x02", (size_t)2), 0);

	o = buf_next(&b);
	ck_assert_int_eq(o->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
	ck_assert_int_eq(o->via.i64, -7);
	o = buf_next(&b);
	ck_assert_int_eq(o->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
	ck_assert(o->via.i64 == INT64_MIN);
	o = buf_next(&b);
	ck_assert_int_eq(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	ck_assert(o->via.u64 == UINT64_MAX);
	o = buf_next(&b);
	ck_assert(o->type == MSGPACK_OBJECT_FLOAT64 ||
	    o->type == MSGPACK_OBJECT_FLOAT);
	ck_assert_double_eq(o->via.f64, 2.5);
	o = buf_next(&b);
	ck_assert_int_eq(o->type, MSGPACK_OBJECT_BOOLEAN);
	ck_assert(o->via.boolean);
	o = buf_next(&b);
	ck_assert_int_eq(o->type, MSGPACK_OBJECT_BOOLEAN);
	ck_assert(!o->via.boolean);
	o = buf_next(&b);
	ck_assert_int_eq(o->type, MSGPACK_OBJECT_STR);
	ck_assert_uint_eq(o->via.str.size, 2);
	ck_assert_mem_eq(o->via.str.ptr, "hi", 2);
	o = buf_next(&b);
	ck_assert_int_eq(o->type, MSGPACK_OBJECT_NIL);	/* s NULL */
	o = buf_next(&b);
	ck_assert_int_eq(o->type, MSGPACK_OBJECT_STR);
	ck_assert_uint_eq(o->via.str.size, 3);
	ck_assert_mem_eq(o->via.str.ptr, "a\0b", 3);
	o = buf_next(&b);
	ck_assert_int_eq(o->type, MSGPACK_OBJECT_BIN);
	ck_assert_uint_eq(o->via.bin.size, 2);
	ck_assert_mem_eq(o->via.bin.ptr, "\x01\x02", 2);
	o = buf_next(&b);
	ck_assert_int_eq(o->type, MSGPACK_OBJECT_NIL);
	buf_end(&b);
	buf_free(&b);
}
END_TEST

START_TEST(test_pack_nil_takes_no_argument)
{
	struct buf b;
	const msgpack_object *o;

	buf_init(&b);
	ck_assert_int_eq(procq_pack(&b.pk, "nin", 5), 0);
	ck_assert_int_eq(buf_next(&b)->type, MSGPACK_OBJECT_NIL);
	o = buf_next(&b);
	ck_assert_int_eq(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	ck_assert_int_eq(o->via.u64, 5);
	ck_assert_int_eq(buf_next(&b)->type, MSGPACK_OBJECT_NIL);
	buf_end(&b);
	buf_free(&b);
}
END_TEST

START_TEST(test_pack_bool_nonzero)
{
	struct buf b;
	const msgpack_object *o;

	buf_init(&b);
	ck_assert_int_eq(procq_pack(&b.pk, "b", 7), 0);
	o = buf_next(&b);
	ck_assert_int_eq(o->type, MSGPACK_OBJECT_BOOLEAN);
	ck_assert(o->via.boolean);
	buf_free(&b);
}
END_TEST

START_TEST(test_pack_unknown_conversion)
{
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(procq_pack(&b.pk, "z", 1), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_pack(&b.pk, "i%", 1, 2), PROCQ_EFORMAT);
	buf_free(&b);
}
END_TEST

START_TEST(test_vpack_vunpack)
{
	struct buf b;
	const msgpack_object *o;
	int i = 0;
	char *s = NULL;

	buf_init(&b);
	msgpack_pack_array(&b.pk, 2);
	ck_assert_int_eq(vpack(&b.pk, "is", 41, "va"), 0);
	o = buf_next(&b);
	ck_assert_int_eq(vunpack(o, "is", &i, &s), 0);
	ck_assert_int_eq(i, 41);
	ck_assert_str_eq(s, "va");
	free(s);
	ck_assert_int_eq(vunpack(o, "ii", &i, &i), PROCQ_EFORMAT);
	buf_free(&b);
}
END_TEST

START_TEST(test_unpack_array_every_conversion)
{
	struct buf b;
	const msgpack_object *o, *any = NULL;
	int i = 0;
	int64_t l = 0;
	uint64_t u = 0;
	double d = 0, d2 = 0;
	bool t = false, f = true;
	char *s = NULL, *snil = (char *)"x";
	const char *S = NULL;
	const void *y = NULL, *ys = NULL;
	size_t Slen = 0, ylen = 0, yslen = 0;

	buf_init(&b);
	msgpack_pack_array(&b.pk, 14);
	ck_assert_int_eq(procq_pack(&b.pk, "ilu d i bb s s S y S n",
	    INT_MIN, (int64_t)INT64_MAX, (uint64_t)UINT64_MAX, -0.25, 9,
	    1, 0, "copy", (const char *)NULL, "zero\0copy", (size_t)9,
	    "\xff\x00", (size_t)2, "str-as-bin", (size_t)10), 0);
	msgpack_pack_map(&b.pk, 0);
	o = buf_next(&b);
	ck_assert_int_eq(o->type, MSGPACK_OBJECT_ARRAY);

	ck_assert_int_eq(procq_unpack(o, "i l u d d b b s s S y y n o",
	    &i, &l, &u, &d, &d2, &t, &f, &s, &snil, &S, &Slen, &y, &ylen,
	    &ys, &yslen, &any), 0);
	ck_assert_int_eq(i, INT_MIN);
	ck_assert(l == INT64_MAX);
	ck_assert(u == UINT64_MAX);
	ck_assert_double_eq(d, -0.25);
	ck_assert_double_eq(d2, 9.0);		/* d accepts an int */
	ck_assert(t);
	ck_assert(!f);
	/* s: a malloc'd, NUL-terminated copy */
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "copy");
	ck_assert_ptr_ne(s, o->via.array.ptr[7].via.str.ptr);
	s[0] = 'C';
	ck_assert_mem_eq(o->via.array.ptr[7].via.str.ptr, "copy", 4);
	free(s);
	ck_assert_ptr_null(snil);		/* s from nil */
	/* S: zero-copy, with length */
	ck_assert_uint_eq(Slen, 9);
	ck_assert_ptr_eq(S, o->via.array.ptr[9].via.str.ptr);
	ck_assert_mem_eq(S, "zero\0copy", 9);
	/* y: bin, and str accepted too */
	ck_assert_uint_eq(ylen, 2);
	ck_assert_mem_eq(y, "\xff\x00", 2);
	ck_assert_uint_eq(yslen, 10);
	ck_assert_mem_eq(ys, "str-as-bin", 10);
	ck_assert_ptr_eq(any, &o->via.array.ptr[13]);
	ck_assert_int_eq(any->type, MSGPACK_OBJECT_MAP);
	buf_free(&b);
}
END_TEST

START_TEST(test_unpack_single_value)
{
	struct buf b;
	const msgpack_object *o;
	int i = 0;
	char *s = NULL;
	const msgpack_object *any = NULL;

	buf_init(&b);
	procq_pack(&b.pk, "i s", 12, "one");
	o = buf_next(&b);
	ck_assert_int_eq(procq_unpack(o, "i", &i), 0);
	ck_assert_int_eq(i, 12);
	ck_assert_int_eq(procq_unpack(o, "o", &any), 0);
	ck_assert_ptr_eq(any, o);
	/* exactly one conversion for a value that is not an array */
	ck_assert_int_eq(procq_unpack(o, "ii", &i, &i), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_unpack(o, "", &i), PROCQ_EFORMAT);
	o = buf_next(&b);
	ck_assert_int_eq(procq_unpack(o, " s ", &s), 0);
	ck_assert_str_eq(s, "one");
	free(s);
	buf_free(&b);
}
END_TEST

START_TEST(test_unpack_count_mismatch)
{
	struct buf b;
	const msgpack_object *o;
	int x = 0, y = 0, z = 0;

	buf_init(&b);
	msgpack_pack_array(&b.pk, 2);
	procq_pack(&b.pk, "ii", 1, 2);
	msgpack_pack_array(&b.pk, 0);
	o = buf_next(&b);
	ck_assert_int_eq(procq_unpack(o, "i", &x), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_unpack(o, "iii", &x, &y, &z), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_unpack(o, "ii", &x, &y), 0);
	ck_assert_int_eq(x, 1);
	ck_assert_int_eq(y, 2);
	o = buf_next(&b);
	ck_assert_int_eq(procq_unpack(o, ""), 0);
	ck_assert_int_eq(procq_unpack(o, "i", &x), PROCQ_EFORMAT);
	buf_free(&b);
}
END_TEST

START_TEST(test_unpack_unknown_conversion)
{
	struct buf b;
	const msgpack_object *o;
	int x = 0;

	buf_init(&b);
	procq_pack(&b.pk, "i", 1);
	o = buf_next(&b);
	ck_assert_int_eq(procq_unpack(o, "z", &x), PROCQ_EFORMAT);
	buf_free(&b);
}
END_TEST

/* Every value kind against every conversion it must not satisfy. */
START_TEST(test_unpack_type_mismatch)
{
	static const struct {
		const char *value;	/* procq_pack format of the value */
		const char *bad;	/* conversions that must fail */
	} cases[] = {
		{ "i", "sSbny" },
		{ "d", "ilubsSyn" },
		{ "b", "iludsSyn" },
		{ "s", "iludbn" },
		{ "y", "iludbsSn" },
		{ "n", "iludb" },
	};
	size_t k;

	for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const char *c;

		for (c = cases[k].bad; *c != '\0'; c++) {
			struct buf b;
			const msgpack_object *o;
			union {
				int i;
				int64_t l;
				uint64_t u;
				double d;
				bool b;
				char *s;
				const void *p;
			} v1, v2;
			char fmt[2] = { *c, '\0' };
			int rc;

			buf_init(&b);
			switch (cases[k].value[0]) {
			case 'i': procq_pack(&b.pk, "i", 5); break;
			case 'd': procq_pack(&b.pk, "d", 1.5); break;
			case 'b': procq_pack(&b.pk, "b", 1); break;
			case 's': procq_pack(&b.pk, "s", "str"); break;
			case 'y': procq_pack(&b.pk, "y", "by", (size_t)2); break;
			case 'n': procq_pack(&b.pk, "n"); break;
			}
			o = buf_next(&b);
			memset(&v1, 0, sizeof v1);
			memset(&v2, 0, sizeof v2);
			if (*c == 'n')
				rc = procq_unpack(o, fmt);
			else
				rc = procq_unpack(o, fmt, &v1, &v2);
			ck_assert_msg(rc == PROCQ_EFORMAT,
			    "value '%s' unpacked with '%s': %d",
			    cases[k].value, fmt, rc);
			buf_free(&b);
		}
	}
}
END_TEST

START_TEST(test_unpack_double_accepts_float32)
{
	struct buf b;
	double d = 0;

	buf_init(&b);
	msgpack_pack_float(&b.pk, 0.5f);
	ck_assert_int_eq(procq_unpack(buf_next(&b), "d", &d), 0);
	ck_assert_double_eq(d, 0.5);
	buf_free(&b);
}
END_TEST

/* An integer of either sign reads as a double. */
START_TEST(test_unpack_double_accepts_integers)
{
	struct buf b;
	double d = 0;

	buf_init(&b);
	msgpack_pack_int(&b.pk, -3);
	msgpack_pack_int(&b.pk, 4);
	ck_assert_int_eq(procq_unpack(buf_next(&b), "d", &d), 0);
	ck_assert_double_eq(d, -3.0);
	ck_assert_int_eq(procq_unpack(buf_next(&b), "d", &d), 0);
	ck_assert_double_eq(d, 4.0);
	buf_free(&b);
}
END_TEST

/* A packer whose writer fails after so many writes. */
static int writes_left;

static int
failing_write(void *data, const char *buf, size_t len)
{
	(void)data;
	(void)buf;
	(void)len;
	return writes_left-- > 0 ? 0 : -1;
}

/* When the packer cannot write, procq_pack() fails with PROCQ_ENOMEM,
 * whichever write of a string or bytes (its header or its body) it is. */
START_TEST(test_pack_write_fails)
{
	msgpack_packer pk;
	int w, rc;

	msgpack_packer_init(&pk, NULL, failing_write);
	for (w = 0;; w++) {
		writes_left = w;
		rc = procq_pack(&pk, "sSy", "one", "two", (size_t)3, "bin",
		    (size_t)3);
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, PROCQ_ENOMEM);
	}
	/* a header and a body for each */
	ck_assert_int_eq(w, 6);
}
END_TEST

START_TEST(test_unpack_int_range)
{
	struct buf b;
	const msgpack_object *o;
	int i = 0;
	int64_t l = 0;
	uint64_t u = 0;

	buf_init(&b);
	msgpack_pack_int64(&b.pk, (int64_t)INT_MAX + 1);
	msgpack_pack_int64(&b.pk, (int64_t)INT_MIN - 1);
	msgpack_pack_int(&b.pk, INT_MAX);
	msgpack_pack_int(&b.pk, INT_MIN);
	msgpack_pack_int(&b.pk, -1);
	msgpack_pack_uint64(&b.pk, UINT64_MAX);
	msgpack_pack_uint64(&b.pk, (uint64_t)INT64_MAX);
	msgpack_pack_uint64(&b.pk, (uint64_t)INT64_MAX + 1);
	msgpack_pack_int64(&b.pk, INT64_MIN);

	o = buf_next(&b);		/* INT_MAX + 1 */
	ck_assert_int_eq(procq_unpack(o, "i", &i), PROCQ_EFORMAT);
	o = buf_next(&b);		/* INT_MIN - 1 */
	ck_assert_int_eq(procq_unpack(o, "i", &i), PROCQ_EFORMAT);
	o = buf_next(&b);		/* INT_MAX */
	ck_assert_int_eq(procq_unpack(o, "i", &i), 0);
	ck_assert_int_eq(i, INT_MAX);
	o = buf_next(&b);		/* INT_MIN */
	ck_assert_int_eq(procq_unpack(o, "i", &i), 0);
	ck_assert_int_eq(i, INT_MIN);
	o = buf_next(&b);		/* -1 */
	ck_assert_int_eq(procq_unpack(o, "u", &u), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_unpack(o, "l", &l), 0);
	ck_assert(l == -1);
	o = buf_next(&b);		/* UINT64_MAX */
	ck_assert_int_eq(procq_unpack(o, "l", &l), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_unpack(o, "i", &i), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_unpack(o, "u", &u), 0);
	ck_assert(u == UINT64_MAX);
	o = buf_next(&b);		/* INT64_MAX, packed unsigned */
	ck_assert_int_eq(procq_unpack(o, "l", &l), 0);
	ck_assert(l == INT64_MAX);
	o = buf_next(&b);		/* INT64_MAX + 1 */
	ck_assert_int_eq(procq_unpack(o, "l", &l), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_unpack(o, "u", &u), 0);
	ck_assert(u == (uint64_t)INT64_MAX + 1);
	o = buf_next(&b);		/* INT64_MIN */
	ck_assert_int_eq(procq_unpack(o, "l", &l), 0);
	ck_assert(l == INT64_MIN);
	ck_assert_int_eq(procq_unpack(o, "u", &u), PROCQ_EFORMAT);
	buf_end(&b);
	buf_free(&b);
}
END_TEST

START_TEST(test_unpack_nil)
{
	struct buf b;
	const msgpack_object *o;
	int i = 0;
	char *s = (char *)"unchanged";

	buf_init(&b);
	msgpack_pack_array(&b.pk, 2);
	procq_pack(&b.pk, "ni", 3);
	o = buf_next(&b);
	ck_assert_int_eq(procq_unpack(o, "ni", &i), 0);
	ck_assert_int_eq(i, 3);
	ck_assert_int_eq(procq_unpack(o, "in", &i), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_unpack(o, "si", &s, &i), 0);
	ck_assert_ptr_null(s);
	buf_free(&b);
}
END_TEST

/* A failed unpack must not leak the copies made before the mismatch (the
 * leak checkers of the sanitizer and valgrind runs see this one). */
START_TEST(test_unpack_failure_frees_copies)
{
	struct buf b;
	const msgpack_object *o;
	char *s1 = NULL, *s2 = NULL;
	int i = 0;

	buf_init(&b);
	msgpack_pack_array(&b.pk, 3);
	procq_pack(&b.pk, "sss", "first", "second", "third");
	o = buf_next(&b);
	ck_assert_int_eq(procq_unpack(o, "ssi", &s1, &s2, &i), PROCQ_EFORMAT);
	buf_free(&b);
}
END_TEST

START_TEST(test_names)
{
	static const int codes[] = {
		PROCQ_OK, PROCQ_EINVAL, PROCQ_ENOMEM, PROCQ_ENOTASK,
		PROCQ_ECLOSED, PROCQ_ESTATE, PROCQ_ETIMEDOUT, PROCQ_ENOTDONE,
		PROCQ_EEXIST, PROCQ_ESYS, PROCQ_EFORMAT, PROCQ_ETASK,
		PROCQ_EDONE, PROCQ_EFULL, PROCQ_EBUSY, PROCQ_EDEADLK,
		PROCQ_EFORKED
	};
	size_t i, j;
	int st;

	for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		const char *m = procq_strerror(codes[i]);

		ck_assert_ptr_nonnull(m);
		ck_assert_uint_gt(strlen(m), 0);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(m, procq_strerror(codes[j]));
	}
	ck_assert_ptr_nonnull(procq_strerror(-1000));
	ck_assert_ptr_nonnull(procq_strerror(42));
	for (st = PROCQ_PENDING; st <= PROCQ_CANCELLED; st++) {
		ck_assert_ptr_nonnull(procq_status_name(st));
		ck_assert_uint_gt(strlen(procq_status_name(st)), 0);
	}
	ck_assert_ptr_nonnull(procq_status_name((procq_status)99));
	for (st = PROCQ_ERR_NONE; st <= PROCQ_ERR_SPAWN; st++) {
		ck_assert_ptr_nonnull(procq_error_kind_name(st));
		ck_assert_uint_gt(strlen(procq_error_kind_name(st)), 0);
	}
	ck_assert_ptr_nonnull(procq_error_kind_name((procq_error_kind)99));
	ck_assert_str_ne(procq_status_name(PROCQ_SUCCEEDED),
	    procq_status_name(PROCQ_FAILED));
}
END_TEST

static Suite *
pack_suite(void)
{
	Suite *s = suite_create("pack");
	TCase *tc;

	tc = add_tcase(s, "pack", 10);
	tcase_add_test(tc, test_pack_each_conversion);
	tcase_add_test(tc, test_pack_nil_takes_no_argument);
	tcase_add_test(tc, test_pack_bool_nonzero);
	tcase_add_test(tc, test_pack_unknown_conversion);
	tcase_add_test(tc, test_vpack_vunpack);

	tc = add_tcase(s, "unpack", 10);
	tcase_add_test(tc, test_unpack_array_every_conversion);
	tcase_add_test(tc, test_unpack_single_value);
	tcase_add_test(tc, test_unpack_count_mismatch);
	tcase_add_test(tc, test_unpack_unknown_conversion);
	tcase_add_test(tc, test_unpack_type_mismatch);
	tcase_add_test(tc, test_unpack_double_accepts_float32);
	tcase_add_test(tc, test_unpack_double_accepts_integers);
	tcase_add_test(tc, test_pack_write_fails);
	tcase_add_test(tc, test_unpack_int_range);
	tcase_add_test(tc, test_unpack_nil);
	tcase_add_test(tc, test_unpack_failure_frees_copies);

	tc = add_tcase(s, "names", 10);
	tcase_add_test(tc, test_names);
	return s;
}

int
main(void)
{
	return run_suite(pack_suite());
}
