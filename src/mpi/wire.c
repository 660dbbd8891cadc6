/*
 * The records of libprocq-mpi (mpi.h): packing and reading them, sending
 * a batch without blocking, and receiving what has come.  MPI gives no
 * descriptor to wait on, so a side with nothing to do polls it at a pace
 * that slows while it stays idle (mpi_pause()).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi.h"

int
mpi_pack_record(msgpack_sbuffer *sb, int type, long id, const char *data,
    size_t len, const int64_t *num, int nnum)
{
	msgpack_packer pk;
	size_t n = 1 + (type != REC_STOP) + (data != NULL) + (size_t)nnum;
	int rc;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	rc = msgpack_pack_array(&pk, n) | msgpack_pack_int(&pk, type);
	if (type != REC_STOP)
		rc |= msgpack_pack_int64(&pk, id);
	if (data != NULL && type == REC_SPAWN)
		rc |= msgpack_pack_str_with_body(&pk, data, len);
	else if (data != NULL)
		rc |= msgpack_pack_bin_with_body(&pk, data, len);
	for (int i = 0; i < nnum; i++)
		rc |= msgpack_pack_int64(&pk, num[i]);
	return rc != 0 ? -1 : 0;
}

static bool
mpi_int(const msgpack_object *o, int64_t *v)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= INT64_MAX)
		*v = (int64_t)o->via.u64;
	else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*v = o->via.i64;
	else
		return false;
	return true;
}

/* The next record of a batch: 1, 0 at its end, -1 if it is malformed
 * (a peer of another version: the job is broken). */
int
mpi_next_record(const char *buf, size_t len, size_t *off, msgpack_unpacked *u,
    struct mpi_record *rec)
{
	const msgpack_object *a;
	uint32_t n, i = 0;
	int64_t v;

	if (*off >= len)
		return 0;
	if (msgpack_unpack_next(u, buf, len, off) != MSGPACK_UNPACK_SUCCESS ||
	    u->data.type != MSGPACK_OBJECT_ARRAY ||
	    (n = u->data.via.array.size) == 0)
		return -1;
	a = u->data.via.array.ptr;
	memset(rec, 0, sizeof *rec);
	if (!mpi_int(&a[i++], &v))
		return -1;
	rec->type = (int)v;
	if (rec->type != REC_STOP) {
		if (i >= n || !mpi_int(&a[i++], &v) || v <= 0)
			return -1;
		rec->id = (long)v;
	}
	if (i < n &&
	    (a[i].type == MSGPACK_OBJECT_BIN ||
		a[i].type == MSGPACK_OBJECT_STR)) {
		rec->data = a[i].via.bin.ptr;
		rec->len = a[i].via.bin.size;
		i++;
	}
	for (int k = 0; i < n && k < 4; i++, k++)
		if (!mpi_int(&a[i], &rec->num[k]))
			return -1;
	return 1;
}

/* Sends the batch in sb without waiting; sb starts afresh.  0, or -1. */
int
mpi_send(struct mpi_sends *s, MPI_Comm comm, int rank, msgpack_sbuffer *sb)
{
	if (sb->size == 0)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap > 0 ? s->cap * 2 : 16;
		MPI_Request *req = realloc(s->req, cap * sizeof *req);
		char **buf;

		if (req == NULL)
			return -1;
		s->req = req;
		if ((buf = realloc(s->buf, cap * sizeof *buf)) == NULL)
			return -1;
		s->buf = buf;
		s->cap = cap;
	}
	if (MPI_Isend(sb->data, (int)sb->size, MPI_BYTE, rank, PROCQ_MPI_TAG,
		comm, &s->req[s->n]) != MPI_SUCCESS)
		return -1;
	s->buf[s->n++] = msgpack_sbuffer_release(sb);
	return 0;
}

/* Frees what MPI has sent; how many are still on their way. */
int
mpi_sends_test(struct mpi_sends *s)
{
	size_t k = 0;
	int done;

	for (size_t i = 0; i < s->n; i++) {
		done = 0;
		MPI_Test(&s->req[i], &done, MPI_STATUS_IGNORE);
		if (done) {
			free(s->buf[i]);
			continue;
		}
		s->req[k] = s->req[i];
		s->buf[k++] = s->buf[i];
	}
	s->n = k;
	return (int)k;
}

void
mpi_sends_wait(struct mpi_sends *s)
{
	if (s->n > 0)
		MPI_Waitall((int)s->n, s->req, MPI_STATUSES_IGNORE);
	for (size_t i = 0; i < s->n; i++)
		free(s->buf[i]);
	free(s->req);
	free(s->buf);
	memset(s, 0, sizeof *s);
}

/* A batch that has come from source (or any), if one has: 1 with *buf
 * the caller's to free, 0 if none, -1 out of memory. */
int
mpi_receive(MPI_Comm comm, int source, char **buf, int *len, int *from)
{
	MPI_Status st;
	int flag = 0;

	MPI_Iprobe(source, PROCQ_MPI_TAG, comm, &flag, &st);
	if (!flag)
		return 0;
	MPI_Get_count(&st, MPI_BYTE, len);
	if ((*buf = malloc(*len > 0 ? (size_t)*len : 1)) == NULL)
		return -1;
	MPI_Recv(*buf, *len, MPI_BYTE, st.MPI_SOURCE, PROCQ_MPI_TAG, comm,
	    MPI_STATUS_IGNORE);
	*from = st.MPI_SOURCE;
	return 1;
}

static double
mpi_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * How long a side may wait in poll() before it looks at MPI again, in
 * microseconds: 20 while there is traffic and for PROCQ_MPI_LIVELY
 * seconds after it, since an answer is then likely on its way; after
 * that, doubling each idle round up to a millisecond.  A quiet job costs
 * little CPU, a busy one little latency.  Backing off between a task and
 * its result would make every round trip milliseconds long, and the
 * engine would then send tasks one at a time (its window covers a
 * millisecond of tasks).
 */
void
mpi_pause(struct mpi_pace *p, bool busy)
{
	double now = mpi_clock();

	if (busy)
		p->last_busy = now;
	if (now - p->last_busy < PROCQ_MPI_LIVELY)
		p->us = 20;
	else if (p->us < 1000)
		p->us = p->us * 2 > 1000 ? 1000 : p->us * 2;
}
