/*
 * Format-string packing of msgpack values, shared by the supervisor and
 * the workers.  One character per value; see procq_pack(3).
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "task.h"

/* Number of conversions in fmt, or -1 if it holds an unknown character. */
int
procq_format_count(const char *fmt)
{
	int n = 0;

	for (; *fmt != '\0'; fmt++) {
		if (*fmt == ' ')
			continue;
		if (strchr("ilu dbsSyno", *fmt) == NULL)
			return -1;
		n++;
	}
	return n;
}

static int
pack_one(msgpack_packer *pk, char c, va_list *ap)
{
	const char *s;
	const void *p;
	size_t len;

	switch (c) {
	case 'i':
		return msgpack_pack_int(pk, va_arg(*ap, int));
	case 'l':
		return msgpack_pack_int64(pk, va_arg(*ap, int64_t));
	case 'u':
		return msgpack_pack_uint64(pk, va_arg(*ap, uint64_t));
	case 'd':
		return msgpack_pack_double(pk, va_arg(*ap, double));
	case 'b':
		return va_arg(*ap, int) ? msgpack_pack_true(pk) :
		    msgpack_pack_false(pk);
	case 'n':
		return msgpack_pack_nil(pk);
	case 's':
		if ((s = va_arg(*ap, const char *)) == NULL)
			return msgpack_pack_nil(pk);
		len = strlen(s);
		if (msgpack_pack_str(pk, len) != 0)
			return -1;
		return msgpack_pack_str_body(pk, s, len);
	case 'S':
		s = va_arg(*ap, const char *);
		len = va_arg(*ap, size_t);
		if (msgpack_pack_str(pk, len) != 0)
			return -1;
		return msgpack_pack_str_body(pk, s, len);
	case 'y':
		p = va_arg(*ap, const void *);
		len = va_arg(*ap, size_t);
		if (msgpack_pack_bin(pk, len) != 0)
			return -1;
		return msgpack_pack_bin_body(pk, p, len);
	}
	return -1;
}

int
procq_vpack(msgpack_packer *pk, const char *fmt, va_list ap)
{
	va_list aq;
	int rc = 0;

	if (pk == NULL || fmt == NULL || procq_format_count(fmt) < 0)
		return PROCQ_EFORMAT;
	if (strchr(fmt, 'o') != NULL)
		return PROCQ_EFORMAT;	/* 'o' only unpacks */
	va_copy(aq, ap);
	for (; *fmt != '\0' && rc == 0; fmt++) {
		if (*fmt != ' ' && pack_one(pk, *fmt, &aq) != 0)
			rc = PROCQ_ENOMEM;
	}
	va_end(aq);
	return rc;
}

int
procq_pack(msgpack_packer *pk, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = procq_vpack(pk, fmt, ap);
	va_end(ap);
	return rc;
}

static bool
unpack_int(const msgpack_object *o, int64_t lo, int64_t hi, int64_t *out)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (o->via.u64 > (uint64_t)hi)
			return false;
		*out = (int64_t)o->via.u64;
		return true;
	}
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		if (o->via.i64 < lo)
			return false;
		*out = o->via.i64;
		return true;
	}
	return false;
}

static bool
is_bytes(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN;
}

/* Checks o against conversion c; stores through ap only when store is set,
 * so that a mismatch leaves every output untouched. */
static bool
unpack_one(const msgpack_object *o, char c, va_list *ap, bool store)
{
	int64_t i;
	char *copy;

	switch (c) {
	case 'i':
		if (!unpack_int(o, INT_MIN, INT_MAX, &i))
			return false;
		if (store)
			*va_arg(*ap, int *) = (int)i;
		return true;
	case 'l':
		if (!unpack_int(o, INT64_MIN, INT64_MAX, &i))
			return false;
		if (store)
			*va_arg(*ap, int64_t *) = i;
		return true;
	case 'u':
		if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return false;
		if (store)
			*va_arg(*ap, uint64_t *) = o->via.u64;
		return true;
	case 'd':
		if (o->type == MSGPACK_OBJECT_FLOAT32 ||
		    o->type == MSGPACK_OBJECT_FLOAT64) {
			if (store)
				*va_arg(*ap, double *) = o->via.f64;
			return true;
		}
		if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
			if (store)
				*va_arg(*ap, double *) = (double)o->via.u64;
			return true;
		}
		if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
			if (store)
				*va_arg(*ap, double *) = (double)o->via.i64;
			return true;
		}
		return false;
	case 'b':
		if (o->type != MSGPACK_OBJECT_BOOLEAN)
			return false;
		if (store)
			*va_arg(*ap, bool *) = o->via.boolean;
		return true;
	case 'n':
		return o->type == MSGPACK_OBJECT_NIL;
	case 's':
		if (o->type == MSGPACK_OBJECT_NIL) {
			if (store)
				*va_arg(*ap, char **) = NULL;
			return true;
		}
		if (o->type != MSGPACK_OBJECT_STR)
			return false;
		if (store) {
			/* msgpack strings have no terminating NUL */
			copy = malloc(o->via.str.size + 1);
			if (copy != NULL) {
				if (o->via.str.size > 0)
					memcpy(copy, o->via.str.ptr,
					    o->via.str.size);
				copy[o->via.str.size] = '\0';
			}
			*va_arg(*ap, char **) = copy;
			return copy != NULL;
		}
		return true;
	case 'S':
		if (o->type != MSGPACK_OBJECT_STR)
			return false;
		if (store) {
			*va_arg(*ap, const char **) = o->via.str.ptr;
			*va_arg(*ap, size_t *) = o->via.str.size;
		}
		return true;
	case 'y':
		if (!is_bytes(o))
			return false;
		if (store) {
			/* str and bin share one layout in msgpack_object */
			*va_arg(*ap, const void **) = o->via.bin.ptr;
			*va_arg(*ap, size_t *) = o->via.bin.size;
		}
		return true;
	case 'o':
		if (store)
			*va_arg(*ap, const msgpack_object **) = o;
		return true;
	}
	return false;
}

static bool
unpack_all(const msgpack_object *obj, const char *fmt, va_list *ap,
    bool store, uint32_t *done)
{
	uint32_t k = 0;
	int n = procq_format_count(fmt);
	const msgpack_object *items = obj;

	if (obj->type == MSGPACK_OBJECT_ARRAY) {
		if (obj->via.array.size != (uint32_t)n)
			return false;
		items = obj->via.array.ptr;
	} else if (n != 1)
		return false;
	for (; *fmt != '\0'; fmt++) {
		if (*fmt == ' ')
			continue;
		if (!unpack_one(&items[k], *fmt, ap, store))
			return false;
		*done = ++k;
	}
	return true;
}

/* Frees the strings stored by the first n conversions' 's' outputs. */
static void
unpack_free_strings(const char *fmt, va_list *ap, uint32_t n)
{
	char **sp;

	for (; *fmt != '\0' && n > 0; fmt++) {
		if (*fmt == ' ')
			continue;
		n--;
		switch (*fmt) {
		case 's':
			sp = va_arg(*ap, char **);
			free(*sp);
			*sp = NULL;
			break;
		case 'S': case 'y':
			(void)va_arg(*ap, void *);
			(void)va_arg(*ap, void *);
			break;
		case 'n':
			break;
		default:
			(void)va_arg(*ap, void *);
			break;
		}
	}
}

int
procq_vunpack(const msgpack_object *obj, const char *fmt, va_list ap)
{
	va_list aq;
	uint32_t done = 0;
	bool ok;

	if (obj == NULL || fmt == NULL || procq_format_count(fmt) < 0)
		return PROCQ_EFORMAT;
	va_copy(aq, ap);
	ok = unpack_all(obj, fmt, &aq, false, &done);
	va_end(aq);
	if (!ok)
		return PROCQ_EFORMAT;
	done = 0;
	va_copy(aq, ap);
	ok = unpack_all(obj, fmt, &aq, true, &done);
	va_end(aq);
	if (!ok) {
		/* Only a string copy can fail here: undo the ones made. */
		va_copy(aq, ap);
		unpack_free_strings(fmt, &aq, done);
		va_end(aq);
		return PROCQ_ENOMEM;
	}
	return 0;
}

int
procq_unpack(const msgpack_object *obj, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = procq_vunpack(obj, fmt, ap);
	va_end(ap);
	return rc;
}
