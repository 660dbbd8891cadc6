/*
 * Job slots (GNU parallel's {%} and $PARALLEL_JOBSLOT): every command
 * finds in PROCQ_SLOT a number from 1 to J, the number of workers, that
 * no other command running at the same time has.
 *
 * A worker holds one slot for its whole life, from its first task on: a
 * write lock (fcntl(2), F_SETLK) on byte slot - 1 of a file of J bytes
 * that procq creates in memory before any worker starts.  The kernel
 * drops the record locks of a process as it exits, before it is a zombie,
 * so the slot of a worker that crashed is free for its replacement with
 * no table of pids to keep (where a dead or zombie holder would have to
 * be told from a live one, and a reused pid would fool the test).  Record
 * locks are not inherited across fork(): the fork server and the commands
 * hold none.
 *
 * Workers inherit the environment under every start method, but close
 * the descriptors they inherit: they open the file again by its name in
 * /proc, which SLOTS_ENV carries; procq keeps it open until it exits.
 *
 * For a moment there may be more workers with tasks than slots: the
 * spare that takes over from a worker being killed or dismissed may get a
 * task while the old one still runs its command (until the kill grace
 * ends at most).  The newcomer then waits for the slot to be released,
 * looking again every few milliseconds.
 *
 * With --mpi the workers run on other hosts, where the file does not
 * exist: slots_create() is not called, the variable is not set there,
 * and commands have no PROCQ_SLOT.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* The longest wait between two looks for a free slot, in nanoseconds. */
#define SLOTS_WAIT_MAX (16 * 1000 * 1000)

/* In a worker: the slot it holds (0 until its first task), and the
 * descriptor that holds it, open for the worker's life since closing it
 * would release the lock. */
static int slots_mine;
static int slots_fd = -1;

int
slots_create(int n)
{
	char path[64];
	int fd, saved;

	/* As many as procq_create() starts by default. */
	if (n <= 0 && (n = (int)sysconf(_SC_NPROCESSORS_ONLN)) <= 0)
		n = 1;
	if ((fd = memfd_create("procq-slots", MFD_CLOEXEC)) < 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%ld/fd/%d", (long)getpid(), fd);
	if (ftruncate(fd, n) != 0 || setenv(SLOTS_ENV, path, 1) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return 0;
}

/* 1 if this process now holds slot i (from 0), 0 if another does. */
static int
slots_lock(int fd, int i)
{
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = i;
	fl.l_len = 1;
	if (fcntl(fd, F_SETLK, &fl) == 0)
		return 1;
	return errno == EAGAIN || errno == EACCES ? 0 : -1;
}

/* The first free slot, waiting while there is none. */
static int
slots_take(int fd, int n)
{
	struct timespec wait = { 0, 1000 * 1000 };
	int rc;

	for (;;) {
		for (int i = 0; i < n; i++) {
			if ((rc = slots_lock(fd, i)) != 0)
				return rc > 0 ? i + 1 : -1;
		}
		nanosleep(&wait, NULL);
		if (wait.tv_nsec < SLOTS_WAIT_MAX)
			wait.tv_nsec *= 2;
	}
}

int
slots_claim(char *why, size_t len)
{
	const char *path;
	struct stat st;
	int fd, slot;

	if (slots_mine > 0 || (path = getenv(SLOTS_ENV)) == NULL)
		return slots_mine;
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		snprintf(why, len, "cannot open the table of job slots: %s",
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0)
		slot = -1;
	else if (st.st_size <= 0 || st.st_size > INT_MAX) {
		errno = EINVAL;
		slot = -1;
	} else
		slot = slots_take(fd, (int)st.st_size);
	if (slot < 0) {
		snprintf(why, len, "cannot take a job slot: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	slots_fd = fd;
	slots_mine = slot;
	return slot;
}
