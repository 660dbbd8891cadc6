/*
 * Complete summaries: values, the subsets (successes, errors,
 * cancellations, timed out), by_group with the ungrouped, check, display
 * and the JSON export (parsed by a strict reader below).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect_tasks.h"
#include "util.h"

/* The string a task returns: a quote, a newline, a tab, a control
 * character and a backslash. */
static const char tricky[] = "a\"b\nc\t\x01\\";

/*
 * Eight tasks on one worker (so they finish in submission order, the
 * cancelled one first):
 *   0 ident 1            group ga   succeeds
 *   1 fail 2             group ga   fails (ValueError: bad 2)
 *   2 sleep 30, timeout  ungrouped  times out
 *   3 echo [tricky, bin "hi!", 1.5, true, nil, -3, {1: "x"}]
 *                        ungrouped  succeeds
 *   4 ident 5            group gb   cancelled before the run
 *   5 crash sigkill      group gb   crashes
 *   6 double 1.5         ungrouped  succeeds (3.0)
 *   7 crash _exit3       ungrouped  the worker exits with status 3
 */
struct fixture {
	procq_queue *q;
	procq_summary *s;
	procq_handle *h[8];
};

static void
fixture_run(struct fixture *f)
{
	const procq_opts ga = { .group = "ga" }, gb = { .group = "gb" };
	msgpack_sbuffer sb;
	msgpack_packer pk;

	memset(f, 0, sizeof *f);
	f->q = collect_queue(1);
	f->h[0] = submit_ok(f->q, "ident", &ga, "i", 1);
	f->h[1] = submit_ok(f->q, "fail", &ga, "i", 2);
	f->h[2] = submit_ok(f->q, "sleep", &(procq_opts){ .timeout = 0.2 },
	    "d", 30.0);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 7);
	msgpack_pack_str_with_body(&pk, tricky, strlen(tricky));
	msgpack_pack_bin_with_body(&pk, "hi!", 3);
	msgpack_pack_double(&pk, 1.5);
	msgpack_pack_true(&pk);
	msgpack_pack_nil(&pk);
	msgpack_pack_int(&pk, -3);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_str_with_body(&pk, "x", 1);
	ck_assert_int_eq(procq_submit(f->q, "echo", sb.data, sb.size, NULL,
	    &f->h[3]), 0);
	msgpack_sbuffer_destroy(&sb);
	f->h[4] = submit_ok(f->q, "ident", &gb, "i", 5);
	f->h[5] = submit_ok(f->q, "crash", &gb, "s", "sigkill");
	f->h[6] = submit_ok(f->q, "double", NULL, "d", 1.5);
	f->h[7] = submit_ok(f->q, "crash", NULL, "s", "_exit3");
	ck_assert_int_eq(procq_handle_cancel(f->h[4]), 0);
	ck_assert_int_eq(procq_run(f->q, NULL, &f->s), 0);
	ck_assert_ptr_nonnull(f->s);
	ck_assert_uint_eq(procq_summary_count(f->s), 8);
	ck_assert_int_eq(procq_handle_error_kind(f->h[2]), PROCQ_ERR_TIMEOUT);
	ck_assert_int_eq(procq_handle_error_kind(f->h[5]), PROCQ_ERR_CRASH);
	ck_assert_int_eq(procq_handle_error_kind(f->h[7]), PROCQ_ERR_CRASH);
}

static void
fixture_free(struct fixture *f)
{
	procq_summary_free(f->s);
	procq_free(f->q);
}

static bool
has_id(const procq_summary *s, procq_handle *h)
{
	return procq_summary_by_id(s, procq_handle_id(h)) != NULL;
}

START_TEST(test_summary_values)
{
	struct fixture f;
	const msgpack_object *v[8];
	size_t i;

	fixture_run(&f);
	for (i = 0; i < 8; i++)
		v[i] = NULL;
	ck_assert_uint_eq(procq_summary_values(f.s, v, 8), 3);
	/* result order: 0, 3, 6 */
	ck_assert_int_eq(obj_int(v[0]), 1);
	ck_assert_int_eq(v[1]->type, MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(v[1]->via.array.size, 7);
	ck_assert(v[2]->type == MSGPACK_OBJECT_FLOAT64 ||
	    v[2]->type == MSGPACK_OBJECT_FLOAT32);
	ck_assert_double_eq(v[2]->via.f64, 3.0);
	ck_assert_ptr_null(v[3]);
	ck_assert_ptr_eq(v[0], procq_result_value(procq_handle_result(f.h[0])));
	/* at most max stored, the count of successes returned */
	for (i = 0; i < 8; i++)
		v[i] = NULL;
	ck_assert_uint_eq(procq_summary_values(f.s, v, 1), 3);
	ck_assert_ptr_nonnull(v[0]);
	ck_assert_ptr_null(v[1]);
	ck_assert_uint_eq(procq_summary_values(f.s, NULL, 0), 3);
	fixture_free(&f);
}
END_TEST

START_TEST(test_summary_subsets)
{
	struct fixture f;
	procq_summary *ok, *err, *can, *to;
	size_t i;

	fixture_run(&f);
	ok = procq_summary_successes(f.s);
	err = procq_summary_errors(f.s);
	can = procq_summary_cancellations(f.s);
	to = procq_summary_timed_out(f.s);
	ck_assert_ptr_nonnull(ok);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(can);
	ck_assert_ptr_nonnull(to);

	ck_assert_uint_eq(procq_summary_count(ok), 3);
	ck_assert_uint_eq(procq_summary_succeeded(ok), 3);
	ck_assert(procq_summary_ok(ok));
	ck_assert(has_id(ok, f.h[0]) && has_id(ok, f.h[3]) &&
	    has_id(ok, f.h[6]));

	ck_assert_uint_eq(procq_summary_count(err), 4);
	ck_assert_uint_eq(procq_summary_failed(err), 4);
	ck_assert(has_id(err, f.h[1]) && has_id(err, f.h[2]) &&
	    has_id(err, f.h[5]) && has_id(err, f.h[7]));
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(procq_result_status(
		    procq_summary_result(err, i)), PROCQ_FAILED);

	ck_assert_uint_eq(procq_summary_count(can), 1);
	ck_assert_uint_eq(procq_summary_cancelled(can), 1);
	ck_assert(has_id(can, f.h[4]));

	ck_assert_uint_eq(procq_summary_count(to), 1);
	ck_assert(has_id(to, f.h[2]));
	ck_assert_int_eq(procq_result_error_kind(procq_summary_result(to, 0)),
	    PROCQ_ERR_TIMEOUT);

	procq_summary_free(ok);
	procq_summary_free(err);
	procq_summary_free(can);
	procq_summary_free(to);
	/* the subsets outlived nothing they need: the parent is intact */
	ck_assert_uint_eq(procq_summary_count(f.s), 8);
	fixture_free(&f);
}
END_TEST

START_TEST(test_summary_by_group)
{
	struct fixture f;
	procq_summary *none, *ga, *gb;

	fixture_run(&f);
	none = procq_summary_by_group(f.s, NULL);
	ga = procq_summary_by_group(f.s, "ga");
	gb = procq_summary_by_group(f.s, "gb");
	ck_assert_uint_eq(procq_summary_count(none), 4);
	ck_assert(has_id(none, f.h[2]) && has_id(none, f.h[3]) &&
	    has_id(none, f.h[6]) && has_id(none, f.h[7]));
	ck_assert_uint_eq(procq_summary_failed(none), 2);
	ck_assert_uint_eq(procq_summary_count(ga), 2);
	ck_assert(has_id(ga, f.h[0]) && has_id(ga, f.h[1]));
	ck_assert_uint_eq(procq_summary_count(gb), 2);
	ck_assert_uint_eq(procq_summary_cancelled(gb), 1);
	ck_assert_uint_eq(procq_summary_failed(gb), 1);
	procq_summary_free(none);
	procq_summary_free(ga);
	procq_summary_free(gb);
	fixture_free(&f);
}
END_TEST

/* Everything written to a FILE by fn, as a malloc'd string. */
static char *
capture(void (*fn)(const procq_summary *, int, FILE *, int *),
    const procq_summary *s, int flags, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(fp);
	fn(s, flags, fp, rc);
	ck_assert_int_eq(fclose(fp), 0);
	return buf;
}

static void
do_check(const procq_summary *s, int flags, FILE *fp, int *rc)
{
	*rc = procq_summary_check(s, flags, fp);
}

static void
do_display(const procq_summary *s, int flags, FILE *fp, int *rc)
{
	(void)flags;
	procq_summary_display(s, fp);
	*rc = 0;
}

static void
do_json(const procq_summary *s, int flags, FILE *fp, int *rc)
{
	(void)flags;
	*rc = procq_summary_json(s, fp);
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

START_TEST(test_summary_check)
{
	struct fixture f;
	procq_summary *ok, *can;
	char *out, *disp, *body, *line;
	int rc = 12345;

	fixture_run(&f);
	ok = procq_summary_successes(f.s);
	can = procq_summary_cancellations(f.s);

	/* no failure: 0, nothing written */
	out = capture(do_check, ok, PROCQ_CHECK_CANCELLED, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, "");
	free(out);

	/* a cancellation counts only with PROCQ_CHECK_CANCELLED */
	out = capture(do_check, can, 0, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, "");
	free(out);
	out = capture(do_check, can, PROCQ_CHECK_CANCELLED, &rc);
	ck_assert_int_eq(rc, PROCQ_ETASK);
	ck_assert_uint_eq(count_lines(out), 1);
	ck_assert_ptr_nonnull(strstr(out, procq_handle_id(f.h[4])));
	free(out);
	ck_assert_int_eq(procq_summary_check(can, PROCQ_CHECK_CANCELLED,
	    NULL), PROCQ_ETASK);

	/* failures: one line each, as display writes them */
	disp = capture(do_display, f.s, 0, &rc);
	body = strchr(disp, '\n');
	ck_assert_ptr_nonnull(body);
	body++;
	ck_assert_uint_eq(count_lines(body), 5);
	out = capture(do_check, f.s, PROCQ_CHECK_CANCELLED, &rc);
	ck_assert_int_eq(rc, PROCQ_ETASK);
	ck_assert_str_eq(out, body);
	free(out);
	out = capture(do_check, f.s, 0, &rc);
	ck_assert_int_eq(rc, PROCQ_ETASK);
	ck_assert_uint_eq(count_lines(out), 4);
	ck_assert_ptr_null(strstr(out, procq_handle_id(f.h[4])));
	ck_assert_ptr_nonnull(strstr(out, procq_handle_id(f.h[1])));
	ck_assert_ptr_nonnull(strstr(out, procq_handle_id(f.h[2])));
	ck_assert_ptr_nonnull(strstr(out, procq_handle_id(f.h[5])));
	ck_assert_ptr_nonnull(strstr(out, "ValueError: bad 2"));
	/* every line of check is one of display's */
	for (line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n"))
		ck_assert_msg(strstr(body, line) != NULL, "line: %s", line);
	free(out);
	ck_assert_int_eq(procq_summary_check(f.s, 0, NULL), PROCQ_ETASK);
	free(disp);
	procq_summary_free(ok);
	procq_summary_free(can);
	fixture_free(&f);
}
END_TEST

START_TEST(test_summary_display)
{
	static const char head[] = "8 tasks: 3 succeeded, 4 failed, "
	    "1 cancelled in ";
	struct fixture f;
	char *out;
	int rc;

	fixture_run(&f);
	out = capture(do_display, f.s, 0, &rc);
	ck_assert_msg(strncmp(out, head, sizeof head - 1) == 0, "header: %s",
	    out);
	ck_assert_uint_eq(count_lines(out), 6);
	ck_assert_ptr_nonnull(strstr(out, procq_handle_id(f.h[5])));
	ck_assert_ptr_nonnull(strstr(out, "worker exited with status 3"));
	ck_assert_ptr_nonnull(strstr(out, "[gb]"));
	ck_assert_ptr_null(strstr(out, procq_handle_id(f.h[3])));
	free(out);
	fixture_free(&f);
}
END_TEST

/*
 * A strict JSON reader (RFC 8259): a value tree, or failure.
 */
enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype	 type;
	bool		 b;
	double		 num;
	char		*str;		/* decoded, NUL-terminated */
	size_t		 len;		/* of str */
	size_t		 n;		/* items / members */
	struct jv	*items;
	char		**keys;		/* J_OBJ: n keys */
};

static void
jv_free(struct jv *v)
{
	size_t i;

	free(v->str);
	for (i = 0; i < v->n; i++) {
		jv_free(&v->items[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	memset(v, 0, sizeof *v);
}

static void
skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

static void
put_utf8(char **o, unsigned cp)
{
	char *d = *o;

	if (cp < 0x80) {
		*d++ = (char)cp;
	} else if (cp < 0x800) {
		*d++ = (char)(0xc0 | cp >> 6);
		*d++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*d++ = (char)(0xe0 | cp >> 12);
		*d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*d++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*d++ = (char)(0xf0 | cp >> 18);
		*d++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*d++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = d;
}

static bool
hex4(const char *p, unsigned *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return false;
	}
	return true;
}

static bool
parse_str(const char **p, char **out, size_t *outlen)
{
	const char *s = *p;
	char *buf, *o;

	if (*s != '"')
		return false;
	s++;
	buf = o = malloc(strlen(s) + 1);
	ck_assert_ptr_nonnull(buf);
	for (;;) {
		unsigned char c = (unsigned char)*s;

		if (c == '\0' || c < 0x20)
			goto bad;	/* raw control characters are invalid */
		if (c == '"')
			break;
		if (c != '\\') {
			*o++ = (char)c;
			s++;
			continue;
		}
		s++;
		switch (*s) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			unsigned cp, lo;

			if (!hex4(s + 1, &cp))
				goto bad;
			s += 4;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (s[1] != '\\' || s[2] != 'u' ||
				    !hex4(s + 3, &lo) || lo < 0xdc00 ||
				    lo > 0xdfff)
					goto bad;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				s += 6;
			} else if (cp >= 0xdc00 && cp < 0xe000)
				goto bad;
			put_utf8(&o, cp);
			break;
		}
		default:
			goto bad;
		}
		s++;
	}
	*o = '\0';
	*outlen = (size_t)(o - buf);
	*out = buf;
	*p = s + 1;
	return true;
bad:
	free(buf);
	return false;
}

static bool
parse_num(const char **p, double *v)
{
	const char *s = *p, *start = s;
	char *end;

	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	*v = strtod(start, &end);
	if (end != s)
		return false;
	*p = s;
	return true;
}

static bool parse_value(const char **p, struct jv *v, int depth);

static bool
parse_container(const char **p, struct jv *v, int depth, bool obj)
{
	const char *s = *p + 1;
	char close = obj ? '}' : ']';
	size_t cap = 0;

	v->type = obj ? J_OBJ : J_ARR;
	skip_ws(&s);
	if (*s == close) {
		*p = s + 1;
		return true;
	}
	for (;;) {
		char *key = NULL;
		size_t klen;

		if (v->n == cap) {
			cap = cap ? cap * 2 : 8;
			v->items = realloc(v->items, cap * sizeof *v->items);
			ck_assert_ptr_nonnull(v->items);
			if (obj) {
				v->keys = realloc(v->keys,
				    cap * sizeof *v->keys);
				ck_assert_ptr_nonnull(v->keys);
			}
		}
		if (obj) {
			skip_ws(&s);
			if (!parse_str(&s, &key, &klen))
				return false;
			skip_ws(&s);
			if (*s++ != ':') {
				free(key);
				return false;
			}
			v->keys[v->n] = key;
		}
		memset(&v->items[v->n], 0, sizeof v->items[v->n]);
		v->n++;
		if (!parse_value(&s, &v->items[v->n - 1], depth + 1))
			return false;
		skip_ws(&s);
		if (*s == ',') {
			s++;
			continue;
		}
		if (*s != close)
			return false;
		*p = s + 1;
		return true;
	}
}

static bool
parse_value(const char **p, struct jv *v, int depth)
{
	memset(v, 0, sizeof *v);
	if (depth > 64)
		return false;
	skip_ws(p);
	switch (**p) {
	case '{':
		return parse_container(p, v, depth, true);
	case '[':
		return parse_container(p, v, depth, false);
	case '"':
		v->type = J_STR;
		return parse_str(p, &v->str, &v->len);
	case 't':
		if (strncmp(*p, "true", 4) != 0)
			return false;
		v->type = J_BOOL;
		v->b = true;
		*p += 4;
		return true;
	case 'f':
		if (strncmp(*p, "false", 5) != 0)
			return false;
		v->type = J_BOOL;
		*p += 5;
		return true;
	case 'n':
		if (strncmp(*p, "null", 4) != 0)
			return false;
		v->type = J_NULL;
		*p += 4;
		return true;
	default:
		v->type = J_NUM;
		return parse_num(p, &v->num);
	}
}

/* The whole text: one value, then only whitespace. */
static bool
json_parse(const char *text, struct jv *v)
{
	const char *p = text;

	if (!parse_value(&p, v, 0)) {
		jv_free(v);
		return false;
	}
	skip_ws(&p);
	if (*p != '\0') {
		jv_free(v);
		return false;
	}
	return true;
}

static const struct jv *
jget(const struct jv *o, const char *key)
{
	size_t i;

	ck_assert_int_eq(o->type, J_OBJ);
	for (i = 0; i < o->n; i++)
		if (strcmp(o->keys[i], key) == 0)
			return &o->items[i];
	ck_assert_msg(0, "no key \"%s\"", key);
	return NULL;
}

static double
jnum(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	ck_assert_msg(v->type == J_NUM, "\"%s\" is not a number", key);
	return v->num;
}

static const char *
jstr(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	ck_assert_msg(v->type == J_STR, "\"%s\" is not a string", key);
	return v->str;
}

static bool
jbool(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	ck_assert_msg(v->type == J_BOOL, "\"%s\" is not a bool", key);
	return v->b;
}

static bool
jnull(const struct jv *o, const char *key)
{
	return jget(o, key)->type == J_NULL;
}

/* The reader itself rejects what it must. */
START_TEST(test_json_reader)
{
	static const char *bad[] = {
		"{\"a\":1", "{\"a\" 1}", "[1,]", "{\"a\":\"x\ny\"}",
		"{\"a\":\"x\"y\"}", "[01]", "[nan]", "{} {}", "[\"\\x\"]",
		"{\"a\":1,}",
	};
	struct jv v;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!json_parse(bad[i], &v), "accepted %s", bad[i]);
	ck_assert(json_parse(" {\"a\": [1, -2.5e1, true, null, "
	    "\"q\\\"\\n\\u0001\\ud83d\\ude00\"]}\n", &v));
	ck_assert_double_eq(jget(&v, "a")->items[1].num, -25);
	ck_assert_str_eq(jget(&v, "a")->items[4].str,
	    "q\"\n\x01\xf0\x9f\x98\x80");
	jv_free(&v);
}
END_TEST

static const struct jv *
result_by_id(const struct jv *results, const char *id)
{
	size_t i;

	for (i = 0; i < results->n; i++)
		if (strcmp(jstr(&results->items[i], "id"), id) == 0)
			return &results->items[i];
	ck_assert_msg(0, "no result %s", id);
	return NULL;
}

START_TEST(test_summary_json)
{
	struct fixture f;
	struct jv root;
	const struct jv *results, *r, *e, *val;
	char *out;
	size_t i, len;
	int rc = 12345;

	fixture_run(&f);
	out = capture(do_json, f.s, 0, &rc);
	ck_assert_int_eq(rc, 0);
	len = strlen(out);
	ck_assert_uint_gt(len, 2);
	ck_assert_msg(out[len - 1] == '\n' && out[len - 2] == '}',
	    "not one object and a newline: ...%s",
	    out + (len > 20 ? len - 20 : 0));
	ck_assert_uint_eq(count_lines(out), 1);
	ck_assert_msg(json_parse(out, &root), "invalid JSON: %s", out);
	/* the key fields as written */
	ck_assert_ptr_nonnull(strstr(out, "\"submitted\""));
	ck_assert_ptr_nonnull(strstr(out, "\"results\""));
	ck_assert_ptr_nonnull(strstr(out, "\"status\""));

	ck_assert_double_eq(jnum(&root, "submitted"), 8);
	ck_assert_double_eq(jnum(&root, "succeeded"), 3);
	ck_assert_double_eq(jnum(&root, "failed"), 4);
	ck_assert_double_eq(jnum(&root, "cancelled"), 1);
	ck_assert(!jbool(&root, "ok"));
	/* an attempt timed out, not the run */
	ck_assert(!jbool(&root, "run_timed_out"));
	ck_assert_double_ge(jnum(&root, "duration"), 0);
	results = jget(&root, "results");
	ck_assert_int_eq(results->type, J_ARR);
	ck_assert_uint_eq(results->n, 8);
	/* in the summary's order */
	for (i = 0; i < 8; i++)
		ck_assert_str_eq(jstr(&results->items[i], "id"),
		    procq_result_id(procq_summary_result(f.s, i)));

	/* a success: value rendered, error null */
	r = result_by_id(results, procq_handle_id(f.h[0]));
	ck_assert_str_eq(jstr(r, "name"), "ident");
	ck_assert_str_eq(jstr(r, "task"), "ident");
	ck_assert_str_eq(jstr(r, "group"), "ga");
	ck_assert_str_eq(jstr(r, "status"), "succeeded");
	ck_assert_double_eq(jnum(r, "attempts"), 1);
	ck_assert_double_ge(jnum(r, "duration"), 0);
	ck_assert(jnull(r, "error"));
	ck_assert_double_eq(jnum(r, "value"), 1);

	/* every msgpack type, the string escaped */
	r = result_by_id(results, procq_handle_id(f.h[3]));
	ck_assert(jnull(r, "group"));
	val = jget(r, "value");
	ck_assert_int_eq(val->type, J_ARR);
	ck_assert_uint_eq(val->n, 7);
	ck_assert_int_eq(val->items[0].type, J_STR);
	ck_assert_uint_eq(val->items[0].len, strlen(tricky));
	ck_assert_str_eq(val->items[0].str, tricky);
	ck_assert_int_eq(val->items[1].type, J_STR);
	ck_assert_str_eq(val->items[1].str, "aGkh");	/* base64 of "hi!" */
	ck_assert_int_eq(val->items[2].type, J_NUM);
	ck_assert_double_eq(val->items[2].num, 1.5);
	ck_assert_int_eq(val->items[3].type, J_BOOL);
	ck_assert(val->items[3].b);
	ck_assert_int_eq(val->items[4].type, J_NULL);
	ck_assert_int_eq(val->items[5].type, J_NUM);
	ck_assert_double_eq(val->items[5].num, -3);
	ck_assert_int_eq(val->items[6].type, J_OBJ);
	ck_assert_uint_eq(val->items[6].n, 1);
	ck_assert_str_eq(val->items[6].keys[0], "1");
	ck_assert_str_eq(jstr(&val->items[6], "1"), "x");

	/* a task failure */
	r = result_by_id(results, procq_handle_id(f.h[1]));
	ck_assert_str_eq(jstr(r, "status"), "failed");
	e = jget(r, "error");
	ck_assert_str_eq(jstr(e, "kind"), "task");
	ck_assert_str_eq(jstr(e, "type"), "ValueError");
	ck_assert_str_eq(jstr(e, "message"), "bad 2");
	ck_assert(jnull(e, "exit_status"));
	ck_assert(jnull(e, "signal"));

	/* a timeout */
	r = result_by_id(results, procq_handle_id(f.h[2]));
	ck_assert_str_eq(jstr(r, "status"), "failed");
	e = jget(r, "error");
	ck_assert_str_eq(jstr(e, "kind"), "timeout");
	ck_assert_str_eq(jstr(e, "type"), "Timeout");
	ck_assert_str_eq(jstr(e, "message"),
	    procq_handle_error_message(f.h[2]));

	/* cancelled */
	r = result_by_id(results, procq_handle_id(f.h[4]));
	ck_assert_str_eq(jstr(r, "status"), "cancelled");
	ck_assert_str_eq(jstr(r, "group"), "gb");
	ck_assert_double_eq(jnum(r, "attempts"), 0);
	e = jget(r, "error");
	ck_assert_str_eq(jstr(e, "kind"), "cancelled");
	ck_assert_str_eq(jstr(e, "type"), "Cancelled");

	/* a crash: the signal, no exit status */
	r = result_by_id(results, procq_handle_id(f.h[5]));
	e = jget(r, "error");
	ck_assert_str_eq(jstr(e, "kind"), "crash");
	ck_assert_str_eq(jstr(e, "type"), "WorkerCrash");
	ck_assert_str_eq(jstr(e, "message"),
	    procq_handle_error_message(f.h[5]));
	ck_assert_double_eq(jnum(e, "signal"), 9);
	ck_assert(jnull(e, "exit_status"));

	/* an exit: the status, no signal */
	r = result_by_id(results, procq_handle_id(f.h[7]));
	ck_assert(jnull(r, "group"));
	ck_assert(jnull(r, "value"));
	e = jget(r, "error");
	ck_assert_str_eq(jstr(e, "kind"), "crash");
	ck_assert_str_eq(jstr(e, "message"), "worker exited with status 3");
	ck_assert_double_eq(jnum(e, "exit_status"), 3);
	ck_assert(jnull(e, "signal"));

	/* a double */
	r = result_by_id(results, procq_handle_id(f.h[6]));
	ck_assert_double_eq(jnum(r, "value"), 3.0);

	jv_free(&root);
	free(out);
	fixture_free(&f);
}
END_TEST

/* An empty summary, and a nil value and a name distinct from the task. */
START_TEST(test_summary_json_small)
{
	procq_queue *q = collect_queue(1);
	procq_summary *s = NULL;
	procq_handle *h;
	struct jv root;
	const struct jv *r;
	char *out;
	int rc;

	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	out = capture(do_json, s, 0, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(json_parse(out, &root), "invalid JSON: %s", out);
	ck_assert_double_eq(jnum(&root, "submitted"), 0);
	ck_assert(jbool(&root, "ok"));
	ck_assert_int_eq(jget(&root, "results")->type, J_ARR);
	ck_assert_uint_eq(jget(&root, "results")->n, 0);
	jv_free(&root);
	free(out);
	procq_summary_free(s);

	h = submit_ok(q, "nil", &(procq_opts){ .name = "named \"n\"" }, "");
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	out = capture(do_json, s, 0, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(json_parse(out, &root), "invalid JSON: %s", out);
	ck_assert(jbool(&root, "ok"));
	r = &jget(&root, "results")->items[0];
	ck_assert_str_eq(jstr(r, "id"), procq_handle_id(h));
	ck_assert_str_eq(jstr(r, "name"), "named \"n\"");
	ck_assert_str_eq(jstr(r, "task"), "nil");
	ck_assert(jnull(r, "value"));
	ck_assert(jnull(r, "group"));
	jv_free(&root);
	free(out);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

START_TEST(test_summary_json_write_error)
{
	procq_queue *q = collect_queue(1);
	procq_summary *s = NULL;
	FILE *fp;

	submit_ok(q, "bigstr", NULL, "i", 70000);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	/* more than a stdio buffer: the writes fail during the call */
	fp = fopen("/dev/full", "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(procq_summary_json(s, fp), PROCQ_ESYS);
	fclose(fp);
	procq_summary_free(s);
	/* unbuffered: the first write fails */
	submit_ok(q, "ident", NULL, "i", 1);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	fp = fopen("/dev/full", "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(setvbuf(fp, NULL, _IONBF, 0), 0);
	ck_assert_int_eq(procq_summary_json(s, fp), PROCQ_ESYS);
	fclose(fp);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

/* a and b hold the same results in the same order, with the same totals,
 * duration and run timeout. */
static void
assert_same_summary(const procq_summary *a, const procq_summary *b)
{
	size_t i;

	ck_assert_uint_eq(procq_summary_count(a), procq_summary_count(b));
	for (i = 0; i < procq_summary_count(a); i++)
		ck_assert_ptr_eq(procq_summary_result(a, i),
		    procq_summary_result(b, i));
	ck_assert_uint_eq(procq_summary_succeeded(a),
	    procq_summary_succeeded(b));
	ck_assert_uint_eq(procq_summary_failed(a), procq_summary_failed(b));
	ck_assert_uint_eq(procq_summary_cancelled(a),
	    procq_summary_cancelled(b));
	ck_assert_double_eq(procq_summary_duration(a),
	    procq_summary_duration(b));
	ck_assert(procq_summary_run_timed_out(a) ==
	    procq_summary_run_timed_out(b));
}

/* The distinct groups of s in order of first appearance, found the slow
 * way; returns how many (at most max stored). */
static size_t
groups_slowly(const procq_summary *s, const char **ids, size_t max)
{
	size_t i, k, n = 0;

	for (i = 0; i < procq_summary_count(s); i++) {
		const char *g = procq_result_group(procq_summary_result(s, i));

		if (g == NULL)
			continue;
		for (k = 0; k < n && strcmp(ids[k], g) != 0; k++)
			;
		if (k == n) {
			ck_assert_uint_lt(n, max);
			ids[n++] = g;
		}
	}
	return n;
}

/* Every group of a summary at once, in order of first appearance, each
 * with the summary procq_summary_by_group() gives of it; the ungrouped
 * are not a group. */
START_TEST(test_summary_groups)
{
	static const char *const sentinel = "untouched";
	struct fixture f;
	const char *ids[4], *want[4];
	procq_summary *subs[4], *by;
	size_t n, i;

	fixture_run(&f);
	ck_assert_uint_eq(groups_slowly(f.s, want, 4), 2);
	/* the cancelled one finished first */
	ck_assert_str_eq(want[0], "gb");
	ck_assert_str_eq(want[1], "ga");

	n = 99;
	ck_assert_int_eq(procq_summary_groups(f.s, NULL, NULL, 0, &n), 0);
	ck_assert_uint_eq(n, 2);

	for (i = 0; i < 4; i++) {
		ids[i] = sentinel;
		subs[i] = (procq_summary *)&sentinel;
	}
	ck_assert_int_eq(procq_summary_groups(f.s, ids, subs, 4, &n), 0);
	ck_assert_uint_eq(n, 2);
	for (i = 0; i < 2; i++) {
		ck_assert_str_eq(ids[i], want[i]);
		by = procq_summary_by_group(f.s, ids[i]);
		assert_same_summary(subs[i], by);
		procq_summary_free(by);
	}
	ck_assert_uint_eq(procq_summary_count(subs[0]), 2);
	ck_assert_uint_eq(procq_summary_cancelled(subs[0]), 1);
	ck_assert_ptr_eq(ids[2], sentinel);
	ck_assert_ptr_eq(subs[2], (procq_summary *)&sentinel);
	procq_summary_free(subs[0]);
	procq_summary_free(subs[1]);

	/* fewer than there are: the first ones, and the count of all */
	ids[0] = ids[1] = sentinel;
	ck_assert_int_eq(procq_summary_groups(f.s, ids, NULL, 1, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(ids[0], "gb");
	ck_assert_ptr_eq(ids[1], sentinel);
	subs[1] = (procq_summary *)&sentinel;
	ck_assert_int_eq(procq_summary_groups(f.s, NULL, subs, 1, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(procq_summary_count(subs[0]), 2);
	ck_assert_ptr_eq(subs[1], (procq_summary *)&sentinel);

	ck_assert_int_eq(procq_summary_groups(NULL, ids, subs, 4, &n),
	    PROCQ_EINVAL);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(procq_summary_groups(f.s, ids, subs, 4, NULL),
	    PROCQ_EINVAL);

	/* an id lives with the results: with the summary of its group too */
	ck_assert_int_eq(procq_summary_groups(f.s, ids, NULL, 4, &n), 0);
	fixture_free(&f);
	ck_assert_str_eq(ids[0], "gb");
	ck_assert_str_eq(procq_result_group(procq_summary_result(subs[0], 0)),
	    "gb");
	procq_summary_free(subs[0]);
}
END_TEST

#define MANY_TASKS	400
#define MANY_GROUPS	37

/* Many results over many groups, and the ungrouped among them. */
START_TEST(test_summary_groups_many)
{
	procq_queue *q = collect_queue(2);
	const char *ids[MANY_GROUPS + 1], *want[MANY_GROUPS];
	procq_summary *s = NULL, *subs[MANY_GROUPS + 1], *by, *none;
	char name[16];
	size_t n, i, grouped = 0;

	for (i = 0; i < MANY_TASKS; i++) {
		snprintf(name, sizeof name, "g%zu", i * 7 % MANY_GROUPS);
		submit_ok(q, "ident", &(procq_opts){ .group = i % 5 == 0 ?
		    NULL : name }, "i", (int)i);
	}
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(groups_slowly(s, want, MANY_GROUPS), MANY_GROUPS);
	ck_assert_int_eq(procq_summary_groups(s, ids, subs, MANY_GROUPS + 1,
	    &n), 0);
	ck_assert_uint_eq(n, MANY_GROUPS);
	for (i = 0; i < n; i++) {
		ck_assert_str_eq(ids[i], want[i]);
		by = procq_summary_by_group(s, ids[i]);
		assert_same_summary(subs[i], by);
		grouped += procq_summary_count(subs[i]);
		procq_summary_free(by);
		procq_summary_free(subs[i]);
	}
	none = procq_summary_by_group(s, NULL);
	ck_assert_uint_eq(procq_summary_count(none), MANY_TASKS / 5);
	ck_assert_uint_eq(grouped + procq_summary_count(none), MANY_TASKS);
	procq_summary_free(none);

	/* and a summary without a group has none */
	none = procq_summary_by_group(s, NULL);
	n = 99;
	ck_assert_int_eq(procq_summary_groups(none, ids, subs, 4, &n), 0);
	ck_assert_uint_eq(n, 0);
	procq_summary_free(none);
	procq_summary_free(s);
	procq_free(q);
}
END_TEST

/* A run whose timeout cancelled tasks says so, in its JSON too, and so do
 * the summaries made from it; a run that ended in time does not.  That is
 * not procq_summary_timed_out(): no attempt ran past its own timeout. */
START_TEST(test_summary_run_timed_out)
{
	procq_queue *q = collect_queue(1);
	procq_summary *s = NULL, *part;
	const char *id;
	struct jv root;
	char *out;
	size_t n;
	int rc;

	submit_ok(q, "ident", &(procq_opts){ .group = "g" }, "i", 1);
	submit_ok(q, "sleep", &(procq_opts){ .group = "g" }, "d", 30.0);
	submit_ok(q, "ident", NULL, "i", 2);
	ck_assert_int_eq(procq_run(q, &(procq_run_opts){ .timeout = 0.3 },
	    &s), PROCQ_ETIMEDOUT);
	ck_assert(procq_summary_run_timed_out(s));
	ck_assert_uint_eq(procq_summary_succeeded(s), 1);
	ck_assert_uint_eq(procq_summary_cancelled(s), 2);
	part = procq_summary_timed_out(s);
	ck_assert_uint_eq(procq_summary_count(part), 0);
	ck_assert(procq_summary_run_timed_out(part));
	procq_summary_free(part);
	part = procq_summary_cancellations(s);
	ck_assert_uint_eq(procq_summary_count(part), 2);
	ck_assert(procq_summary_run_timed_out(part));
	procq_summary_free(part);
	part = procq_summary_by_group(s, "g");
	ck_assert(procq_summary_run_timed_out(part));
	procq_summary_free(part);
	ck_assert_int_eq(procq_summary_groups(s, &id, &part, 1, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(procq_summary_run_timed_out(part));
	procq_summary_free(part);

	out = capture(do_json, s, 0, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(json_parse(out, &root), "invalid JSON: %s", out);
	ck_assert(jbool(&root, "run_timed_out"));
	ck_assert_double_eq(jnum(&root, "cancelled"), 2);
	jv_free(&root);
	free(out);
	out = capture(do_display, s, 0, &rc);
	ck_assert_msg(strstr(out, "the run timed out") != NULL,
	    "display: %s", out);
	free(out);
	procq_summary_free(s);

	/* the next run ends in time */
	submit_ok(q, "ident", NULL, "i", 3);
	ck_assert_int_eq(procq_run(q, &(procq_run_opts){ .timeout = 30 }, &s),
	    0);
	ck_assert(!procq_summary_run_timed_out(s));
	out = capture(do_json, s, 0, &rc);
	ck_assert_msg(json_parse(out, &root), "invalid JSON: %s", out);
	ck_assert(!jbool(&root, "run_timed_out"));
	jv_free(&root);
	free(out);
	out = capture(do_display, s, 0, &rc);
	ck_assert_ptr_null(strstr(out, "timed out"));
	free(out);
	procq_summary_free(s);
	s = procq_results(q);
	ck_assert(!procq_summary_run_timed_out(s));
	procq_summary_free(s);
	ck_assert(!procq_summary_run_timed_out(NULL));
	procq_free(q);
}
END_TEST

static Suite *
summary_suite(void)
{
	Suite *s = suite_create("collect_summary");
	TCase *tc;

	tc = add_tcase(s, "subsets", 30);
	tcase_add_test(tc, test_summary_values);
	tcase_add_test(tc, test_summary_subsets);
	tcase_add_test(tc, test_summary_by_group);
	tcase_add_test(tc, test_summary_groups);
	tcase_add_test(tc, test_summary_groups_many);

	tc = add_tcase(s, "report", 30);
	tcase_add_test(tc, test_summary_check);
	tcase_add_test(tc, test_summary_display);

	tc = add_tcase(s, "json", 30);
	tcase_add_test(tc, test_json_reader);
	tcase_add_test(tc, test_summary_json);
	tcase_add_test(tc, test_summary_json_small);
	tcase_add_test(tc, test_summary_json_write_error);
	tcase_add_test(tc, test_summary_run_timed_out);
	return s;
}

int
main(void)
{
	return run_suite(summary_suite());
}
