/*
 * The claim board: a page shared by the supervisor and one worker, one
 * byte per task sent ahead to it.  Whoever moves a slot out of QUEUED
 * first owns the task: the worker, to run it (STARTED), or the
 * supervisor, to take it back (TAKEN) from a worker whose current task
 * runs long.  The worker need not read its pipe for that: a worker stuck
 * in a task cannot.
 */
#ifndef PROCQ_BOARD_H
#define PROCQ_BOARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BOARD_SLOTS	512
/* The file holds the result ring too (ring.h), after the cells. */
#define BOARD_FILE_SIZE	(260u << 10)

enum board_state {
	BOARD_FREE = 0,
	BOARD_QUEUED,		/* sent, not started */
	BOARD_STARTED,		/* the worker runs it (or ran it) */
	BOARD_TAKEN		/* the supervisor took it back */
};

typedef _Atomic unsigned char board_cell;

/* The supervisor's side. */
struct board {
	board_cell	*cells;		/* shared with the worker */
	uint16_t	*free;		/* slots not in use, a stack */
	int		 nfree;
	unsigned char	*taken;		/* taken back, not yet skipped */
	int		 fd;		/* the page's memory file, until
					 * the worker has it; or -1 */
	size_t		 size;		/* of the file: BOARD_FILE_SIZE, or
					 * BOARD_SLOTS when no ring fits */
};

int board_open(struct board *b);
void board_close(struct board *b);
void board_close_fd(struct board *b);
bool board_has_ring(const struct board *b);
int board_take_slot(struct board *b);
void board_release(struct board *b, int slot);
bool board_reclaim(struct board *b, int slot);
int board_skipped(struct board *b, int slot);

/* The worker's side: true if the task in the slot is the worker's to
 * run. */
bool board_claim(board_cell *cells, int slot);

#endif
