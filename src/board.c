/*
 * The claim board (board.h).  Made before each worker is forked, so the
 * worker inherits the mapping; a new one for each worker, so nothing a
 * dead worker's children could still write reaches its successor.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "board.h"
#include "ring.h"

/*
 * The file holds the result ring when the file size limit lets it: growing
 * a file past the limit fails, and raises SIGXFSZ, which kills the caller
 * unless it is blocked or handled.  Without the ring, results all come
 * down the pipe.
 */
static size_t
board_file_size(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < BOARD_FILE_SIZE)
		return BOARD_SLOTS;
	return BOARD_FILE_SIZE;
}

/*
 * The page is a memory file, so that a worker not forked from this
 * process (from the fork server, or exec'd) can map it too: b->fd until
 * the worker has it.
 */
int
board_open(struct board *b)
{
	void *p;

	memset(b, 0, sizeof *b);
	b->size = board_file_size();
	if ((b->fd = memfd_create("procq-board", MFD_CLOEXEC)) < 0)
		return -1;
	if (ftruncate(b->fd, (off_t)b->size) != 0) {
		board_close(b);
		return -1;
	}
	p = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	if (p == MAP_FAILED) {
		board_close(b);
		return -1;
	}
	b->cells = p;
	b->free = malloc(BOARD_SLOTS * sizeof *b->free);
	b->taken = calloc(BOARD_SLOTS, 1);
	if (b->free == NULL || b->taken == NULL) {
		board_close(b);
		return -1;
	}
	for (int i = 0; i < BOARD_SLOTS; i++)
		b->free[i] = (uint16_t)(BOARD_SLOTS - 1 - i);
	b->nfree = BOARD_SLOTS;
	return 0;
}

void
board_close(struct board *b)
{
	if (b->cells != NULL)
		munmap((void *)b->cells, b->size);
	board_close_fd(b);
	free(b->free);
	free(b->taken);
	memset(b, 0, sizeof *b);
	b->fd = -1;
}

/* The worker has its mapping, or its own copy of the descriptor. */
void
board_close_fd(struct board *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

bool
board_has_ring(const struct board *b)
{
	return b->cells != NULL && b->size >= BOARD_FILE_SIZE;
}

/* A slot for a task about to be sent, or -1 when none is free. */
int
board_take_slot(struct board *b)
{
	int slot;

	if (b->cells == NULL || b->nfree == 0)
		return -1;
	slot = b->free[--b->nfree];
	atomic_store_explicit(&b->cells[slot], BOARD_QUEUED,
	    memory_order_release);
	return slot;
}

/* The slot's task left the worker (it ran, or the worker died). */
void
board_release(struct board *b, int slot)
{
	if (b->cells == NULL || slot < 0 || slot >= BOARD_SLOTS ||
	    b->taken[slot])
		return;
	atomic_store_explicit(&b->cells[slot], BOARD_FREE,
	    memory_order_relaxed);
	b->free[b->nfree++] = (uint16_t)slot;
}

/* Takes the slot's task back if the worker has not started it.  The slot
 * stays in use until the worker says it skipped it. */
bool
board_reclaim(struct board *b, int slot)
{
	unsigned char expected = BOARD_QUEUED;

	if (b->cells == NULL || slot < 0 || slot >= BOARD_SLOTS)
		return false;
	if (!atomic_compare_exchange_strong(&b->cells[slot], &expected,
	    BOARD_TAKEN))
		return false;
	b->taken[slot] = 1;
	return true;
}

/* The worker skipped a slot: 0, or -1 when the supervisor never took it
 * back (a lying or broken worker). */
int
board_skipped(struct board *b, int slot)
{
	if (b->cells == NULL || slot < 0 || slot >= BOARD_SLOTS ||
	    !b->taken[slot])
		return -1;
	b->taken[slot] = 0;
	board_release(b, slot);
	return 0;
}

bool
board_claim(board_cell *cells, int slot)
{
	unsigned char expected = BOARD_QUEUED;

	return atomic_compare_exchange_strong(&cells[slot], &expected,
	    BOARD_STARTED);
}
