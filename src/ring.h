/*
 * The result ring: frames a worker leaves in memory it shares with the
 * supervisor, in the claim board's file (board.h), instead of writing them
 * to its pipe.  While the supervisor's loop is awake it looks at the ring
 * before it sleeps, so a worker that finds it awake saves the write(2) and
 * the wake-up behind it.  Frames in the ring outlive the worker: a crash
 * loses none that were published.
 *
 * One producer (the worker) and one consumer (the supervisor).  A record
 * is a 4-byte length in host order and that many bytes, frames exactly as
 * they would cross the pipe, padded to 8 bytes; a length of 0 says the
 * next record starts at the beginning of the ring.  head and tail count
 * bytes from the start, and never wrap.
 *
 * The order of frames is the worker's, by one rule on each side.  The
 * worker writes to its pipe only while the ring is empty: every frame on
 * the pipe comes before every record the supervisor has not taken.  The
 * supervisor reads tail first, then the pipe until it is empty, acts on
 * the pipe's frames, and then on the records up to the tail it read:
 * those were all published before the read, and so come after every
 * frame it could hold.  And no frame waits unseen: the supervisor clears
 * awake, then looks at tail once more before it sleeps; the worker
 * publishes tail, then looks at awake, and writes a WAKE frame to the
 * pipe if it is clear.  (Each side's store, a full fence, then its load:
 * one of the two sees the other's store.)  WAKE, and the LIMIT frame a
 * worker's signal handler writes as it dies, say nothing of tasks: their
 * place among the other frames does not matter.
 *
 * The worker may be hostile: the supervisor trusts no field it did not
 * write, keeps its own head, and copies records out before it reads them.
 */
#ifndef PROCQ_RING_H
#define PROCQ_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "board.h"

/* Where the ring lies in the board's file: after the claim cells, its
 * control words, each on a cache line of its own; then the records. */
#define RING_CONTROL_OFFSET	512
#define RING_DATA_OFFSET	4096
#define RING_SIZE		(256u << 10)
#define RING_FILE_SIZE		(RING_DATA_OFFSET + RING_SIZE)

_Static_assert(RING_FILE_SIZE <= BOARD_FILE_SIZE, "the board holds the ring");
_Static_assert(RING_CONTROL_OFFSET >= BOARD_SLOTS,
    "the ring follows the cells");

/* Where the ring's parts lie in a mapping of the board's file. */
#define RING_CONTROL(board) \
	((struct ring_control *)((char *)(board) + RING_CONTROL_OFFSET))
#define RING_DATA(board)	((char *)(board) + RING_DATA_OFFSET)

struct ring_control {
	/* The supervisor's: 1 while it will look at the ring before it
	 * sleeps. */
	_Alignas(64) _Atomic uint32_t	awake;
	/* The supervisor's: ring bytes it has taken. */
	_Alignas(64) _Atomic uint64_t	head;
	/* The worker's: ring bytes it has published. */
	_Alignas(64) _Atomic uint64_t	tail;
};

/* The worker's side. */
struct ring_writer {
	struct ring_control	*ctl;		/* NULL: no ring */
	char			*data;
	uint64_t		 tail;
};

/* What ring_put() did. */
enum ring_put {
	RING_NOT_PUT,		/* the ring is empty: the pipe takes them */
	RING_BUSY,		/* they do not fit: the pipe takes them once
				 * the ring is empty (ring_wait_empty()) */
	RING_PUT,		/* published; the supervisor will look */
	RING_PUT_WAKE		/* published; the supervisor must be woken */
};

void ring_writer_init(struct ring_writer *rw, void *board);
enum ring_put ring_put(struct ring_writer *rw, const char *p, size_t len);
void ring_wait_empty(const struct ring_writer *rw);

/* The supervisor's side. */
struct ring_reader {
	struct ring_control	*ctl;		/* NULL: no ring */
	const char		*data;
	uint64_t		 head;
	char			*buf;		/* records copied out */
	size_t			 cap;
};

void ring_reader_init(struct ring_reader *rr, void *board);
void ring_reader_free(struct ring_reader *rr);
void ring_set_awake(struct ring_reader *rr, bool awake);
bool ring_pending(const struct ring_reader *rr);
uint64_t ring_tail(const struct ring_reader *rr);
int ring_take(struct ring_reader *rr, uint64_t tail, const char **p,
    size_t *len);
int ring_take_one(struct ring_reader *rr, uint64_t tail, const char **p,
    size_t *len);

#endif
