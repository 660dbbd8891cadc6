/*
 * The result ring (ring.h): the worker's side, which publishes records,
 * and the supervisor's, which takes them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ring.h"

#define RING_ALIGN(n) (((n) + 7) & ~(uint64_t)7)
/* A record larger than this goes through the pipe: the ring is for the
 * many small frames that trivial tasks send. */
#define RING_MAX_RECORD (RING_SIZE / 4)
/* What ring_take() copies out at a time, beyond a single record. */
#define RING_TAKE_BYTES (16u << 10)

void
ring_writer_init(struct ring_writer *rw, void *board)
{
	memset(rw, 0, sizeof *rw);
	if (board == NULL)
		return;
	rw->ctl = RING_CONTROL(board);
	rw->data = RING_DATA(board);
	rw->tail = atomic_load_explicit(&rw->ctl->tail, memory_order_relaxed);
}

/* Room for a record of rec bytes, and the bytes skipped at the ring's end
 * to give it that room in one piece. */
static bool
ring_room(const struct ring_writer *rw, uint64_t rec, uint64_t *skip)
{
	uint64_t head = atomic_load_explicit(&rw->ctl->head,
	    memory_order_acquire);
	uint64_t pos = rw->tail % RING_SIZE, used = rw->tail - head;

	*skip = pos + rec > RING_SIZE ? RING_SIZE - pos : 0;
	return used <= RING_SIZE && used + *skip + rec <= RING_SIZE;
}

static bool
ring_empty(const struct ring_writer *rw)
{
	return atomic_load_explicit(&rw->ctl->head, memory_order_acquire) ==
	    rw->tail;
}

/*
 * Publishes len bytes of whole frames.  They go behind the records the
 * supervisor has not taken yet, if they fit; into an empty ring only while
 * the supervisor is awake, for the pipe costs the same as the WAKE frame
 * it would need.
 */
enum ring_put
ring_put(struct ring_writer *rw, const char *p, size_t len)
{
	uint64_t rec = RING_ALIGN(4 + (uint64_t)len), skip;
	uint32_t n = (uint32_t)len;
	bool empty;

	if (rw->ctl == NULL || len == 0)
		return RING_NOT_PUT;
	empty = ring_empty(rw);
	if (rec > RING_MAX_RECORD || !ring_room(rw, rec, &skip))
		return empty ? RING_NOT_PUT : RING_BUSY;
	if (empty &&
	    !atomic_load_explicit(&rw->ctl->awake, memory_order_acquire))
		return RING_NOT_PUT;
	if (skip > 0) {
		memset(rw->data + rw->tail % RING_SIZE, 0, 4);
		rw->tail += skip;
	}
	memcpy(rw->data + rw->tail % RING_SIZE, &n, 4);
	memcpy(rw->data + rw->tail % RING_SIZE + 4, p, len);
	rw->tail += rec;
	atomic_store_explicit(&rw->ctl->tail, rw->tail, memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	return atomic_load_explicit(&rw->ctl->awake, memory_order_relaxed) ?
	    RING_PUT :
	    RING_PUT_WAKE;
}

/*
 * Until the supervisor has taken every record: only then may the pipe
 * carry a frame.  It takes them soon: it was awake when they were put, or
 * woken by a WAKE frame.  The pause grows from 10 µs to 1 ms, so that a
 * busy supervisor is not raced for the core.
 */
void
ring_wait_empty(const struct ring_writer *rw)
{
	struct timespec pause = { 0, 10000 };

	while (rw->ctl != NULL && !ring_empty(rw)) {
		nanosleep(&pause, NULL);
		if (pause.tv_nsec < 1000000)
			pause.tv_nsec *= 2;
	}
}

void
ring_reader_init(struct ring_reader *rr, void *board)
{
	memset(rr, 0, sizeof *rr);
	if (board == NULL)
		return;
	rr->ctl = RING_CONTROL(board);
	rr->data = RING_DATA(board);
}

void
ring_reader_free(struct ring_reader *rr)
{
	free(rr->buf);
	memset(rr, 0, sizeof *rr);
}

/* Clearing it is followed by a full fence: ring_pending() after it sees
 * any record published before the worker could see it clear. */
void
ring_set_awake(struct ring_reader *rr, bool awake)
{
	if (rr->ctl == NULL)
		return;
	atomic_store_explicit(&rr->ctl->awake, awake ? 1 : 0,
	    memory_order_relaxed);
	if (!awake)
		atomic_thread_fence(memory_order_seq_cst);
}

bool
ring_pending(const struct ring_reader *rr)
{
	return rr->ctl != NULL &&
	    atomic_load_explicit(&rr->ctl->tail, memory_order_acquire) !=
	    rr->head;
}

static int
ring_keep(struct ring_reader *rr, size_t have, const char *p, size_t len)
{
	char *buf;

	if (have + len > rr->cap) {
		size_t cap = rr->cap ? rr->cap : 4096;

		while (cap < have + len)
			cap *= 2;
		if ((buf = realloc(rr->buf, cap)) == NULL)
			return -1;
		rr->buf = buf;
		rr->cap = cap;
	}
	memcpy(rr->buf + have, p, len);
	return 0;
}

/* What the worker has published: read before its pipe (ring.h). */
uint64_t
ring_tail(const struct ring_reader *rr)
{
	return rr->ctl != NULL ?
	    atomic_load_explicit(&rr->ctl->tail, memory_order_acquire) :
	    rr->head;
}

/*
 * Takes records published up to tail (ring_tail()), copied out in order,
 * until they hold limit bytes (one at least, so that the copy stays small
 * whatever the worker publishes): 1 with their frames in *p (good until
 * the next call), 0 when there are none, -1 when the records are not what
 * a worker may publish, -2 out of memory.
 */
static int
ring_take_some(struct ring_reader *rr, uint64_t tail, size_t limit,
    const char **p, size_t *len)
{
	uint64_t head = rr->head, pos;
	uint32_t n;
	size_t have = 0;

	if (rr->ctl == NULL || tail == head)
		return 0;
	if (tail - head > RING_SIZE || tail % 8 != 0)
		return -1;
	while (head < tail && have < limit) {
		pos = head % RING_SIZE;
		memcpy(&n, rr->data + pos, 4);
		if (n == 0) {
			head += RING_SIZE - pos;
			continue;
		}
		if (n > RING_SIZE - pos - 4 ||
		    RING_ALIGN(4 + (uint64_t)n) > tail - head)
			return -1;
		if (ring_keep(rr, have, rr->data + pos + 4, n) != 0)
			return -2;
		have += n;
		head += RING_ALIGN(4 + (uint64_t)n);
	}
	if (head > tail)
		return -1;
	rr->head = head;
	atomic_store_explicit(&rr->ctl->head, head, memory_order_release);
	*p = rr->buf;
	*len = have;
	return have > 0 ? 1 : 0;
}

/* Records up to tail, some 16 KiB of them: call again for the rest. */
int
ring_take(struct ring_reader *rr, uint64_t tail, const char **p, size_t *len)
{
	return ring_take_some(rr, tail, RING_TAKE_BYTES, p, len);
}

/* The first record before tail alone. */
int
ring_take_one(struct ring_reader *rr, uint64_t tail, const char **p,
    size_t *len)
{
	return ring_take_some(rr, tail, 1, p, len);
}
