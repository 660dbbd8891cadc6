/*
 * The machinery behind procq(1)'s output: spools that hold output until
 * it is printed, the writer thread that prints it, and what the writer
 * needs to draw the progress bar.
 */
#ifndef PROCQ_CLI_SPOOL_H
#define PROCQ_CLI_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cli.h"

/* At most this much output is held in memory by one spool, and by all of
 * them together; the rest goes to a temporary file. */
#define SPOOL_MEM_EACH		(1024 * 1024)
#define SPOOL_MEM_TOTAL		(32 * 1024 * 1024)

/* A stretch of the temporary file. */
struct extent {
	off_t	 off;
	size_t	 len;
};

/* Bytes in order: first those in memory, then those in the file. */
struct spool {
	struct buf	 mem;
	struct extent	*ext;
	size_t		 next;		/* extents used */
	size_t		 cap;
	size_t		 file_len;
};

/* spool.c: safe from any thread; a spool itself is its owner's. */
int spool_append(struct spool *sp, const void *p, size_t len);
bool spool_empty(const struct spool *sp);
int spool_write(const struct spool *sp, int fd, char *scratch, size_t size,
    char *last);
void spool_free(struct spool *sp);

/* What the progress bar shows, as the hooks last counted it. */
struct progress_counts {
	size_t	 done;
	size_t	 total;
	size_t	 failed;
	size_t	 running;
	double	 t0;
};

/* progress.c: the text of the bar in at most width - 1 columns. */
int progress_format(char *buf, size_t len, const struct progress_counts *pc,
    int width);

/* writer.c: none of these waits for a write. */
int writer_start(struct cli *c, bool bar);
void writer_stop(void);
int writer_queue(int fd, struct spool *sp);
int writer_append(int fd, const void *p, size_t len);
void writer_notice(const char *msg);
void writer_bar(const struct progress_counts *pc);
void writer_bar_hide(void);

#endif
