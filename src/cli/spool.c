/*
 * Spools: output held until it is printed.  A spool keeps its first
 * bytes in memory, up to SPOOL_MEM_EACH and while every spool together
 * holds less than SPOOL_MEM_TOTAL; past that, everything it is given
 * goes to one temporary file shared by every spool, created unlinked in
 * $TMPDIR (or /tmp) when first needed.  So a job of any size costs a
 * bounded amount of memory, and many jobs cost one file descriptor.
 *
 * The file only grows while something in it waits to be printed: the
 * stretches printed are given back to the file system (a hole punched
 * where it can be), and once nothing is left in it the file is emptied.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

static struct {
	pthread_mutex_t	 lock;
	size_t		 mem;		/* bytes allocated by every spool */
	int		 fd;		/* the file, or -1 */
	off_t		 end;		/* where the next bytes go */
	size_t		 live;		/* bytes of the file not yet freed */
} store = { PTHREAD_MUTEX_INITIALIZER, 0, -1, 0, 0 };

/* O_TMPFILE where the file system has it, else a name unlinked at once. */
static int
spool_open(void)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) >= 0)
		return fd;
	if (asprintf(&path, "%s/procq.XXXXXX", dir) < 0)
		return -1;
	if ((fd = mkostemp(path, O_CLOEXEC)) >= 0)
		unlink(path);
	free(path);
	return fd;
}

/* The capacity a buf of cap bytes grows to for len more (buf_append()). */
static size_t
spool_grown(const struct buf *b, size_t len)
{
	size_t cap = b->cap ? b->cap : 256;

	while (cap - b->len < len && cap <= SIZE_MAX / 2)
		cap *= 2;
	return cap;
}

/* Memory, unless the spool has begun its file or the limits say no. */
static bool
spool_fits(const struct spool *sp, size_t len)
{
	size_t grown;

	if (sp->next > 0 || len > SPOOL_MEM_EACH - sp->mem.len)
		return false;
	grown = spool_grown(&sp->mem, len) - sp->mem.cap;
	return store.mem + grown <= SPOOL_MEM_TOTAL;
}

static int
spool_keep(struct spool *sp, const void *p, size_t len)
{
	size_t cap = sp->mem.cap;

	if (buf_append(&sp->mem, p, len) != 0)
		return -1;
	store.mem += sp->mem.cap - cap;
	return 0;
}

/* The stretch the bytes went to: the last one when they follow it. */
static int
spool_extend(struct spool *sp, off_t off, size_t len)
{
	struct extent *tail, *grown;
	size_t cap;

	if (sp->next > 0) {
		tail = &sp->ext[sp->next - 1];
		if (tail->off + (off_t)tail->len == off) {
			tail->len += len;
			return 0;
		}
	}
	if (sp->ext == NULL || sp->next == sp->cap) {
		cap = sp->cap ? sp->cap * 2 : 4;
		grown = reallocarray(sp->ext, cap, sizeof *grown);
		if (grown == NULL)
			return -1;
		sp->ext = grown;
		sp->cap = cap;
	}
	sp->ext[sp->next].off = off;
	sp->ext[sp->next].len = len;
	sp->next++;
	return 0;
}

static int
spool_save(struct spool *sp, const char *p, size_t len)
{
	off_t off = store.end;
	ssize_t n;

	if (store.fd < 0 && (store.fd = spool_open()) < 0)
		return -1;
	if (spool_extend(sp, off, len) != 0)
		return -1;
	store.end += (off_t)len;
	store.live += len;
	sp->file_len += len;
	while (len > 0) {
		if ((n = pwrite(store.fd, p, len, off)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

int
spool_append(struct spool *sp, const void *p, size_t len)
{
	int rc;

	if (len == 0)
		return 0;
	pthread_mutex_lock(&store.lock);
	if (spool_fits(sp, len))
		rc = spool_keep(sp, p, len);
	else
		rc = spool_save(sp, p, len);
	pthread_mutex_unlock(&store.lock);
	return rc;
}

bool
spool_empty(const struct spool *sp)
{
	return sp->mem.len == 0 && sp->file_len == 0;
}

static int
spool_write_file(const struct spool *sp, int fd, char *scratch, size_t size,
    char *last)
{
	for (size_t i = 0; i < sp->next; i++) {
		off_t off = sp->ext[i].off;
		size_t left = sp->ext[i].len;
		ssize_t n;

		while (left > 0) {
			n = pread(store.fd, scratch, left < size ? left : size,
			    off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				errno = n == 0 ? EIO : errno;
				return -1;
			}
			if (write_all(fd, scratch, (size_t)n) != 0)
				return -1;
			*last = scratch[n - 1];
			off += n;
			left -= (size_t)n;
		}
	}
	return 0;
}

/*
 * Writes the whole spool to fd, reading its file through scratch, and
 * leaves its last byte in *last (untouched when it is empty).  Only for
 * a spool nobody appends to any more.
 */
int
spool_write(const struct spool *sp, int fd, char *scratch, size_t size,
    char *last)
{
	if (sp->mem.len > 0) {
		if (write_all(fd, sp->mem.data, sp->mem.len) != 0)
			return -1;
		*last = sp->mem.data[sp->mem.len - 1];
	}
	return spool_write_file(sp, fd, scratch, size, last);
}

/* The file's stretches of a spool are free: store.lock held. */
static void
spool_release(struct spool *sp)
{
	store.live -= sp->file_len;
	if (store.live == 0) {
		/* Nothing left in the file: it starts again empty. */
		if (ftruncate(store.fd, 0) == 0)
			store.end = 0;
		return;
	}
	for (size_t i = 0; i < sp->next; i++)
		fallocate(store.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		    sp->ext[i].off, (off_t)sp->ext[i].len);
}

void
spool_free(struct spool *sp)
{
	pthread_mutex_lock(&store.lock);
	store.mem -= sp->mem.cap;
	if (sp->file_len > 0)
		spool_release(sp);
	pthread_mutex_unlock(&store.lock);
	buf_free(&sp->mem);
	free(sp->ext);
	memset(sp, 0, sizeof *sp);
}
