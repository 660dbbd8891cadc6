/*
 * Submission (submit.c): checking and placing a new task.
 */
#ifndef PROCQ_SUBMIT_H
#define PROCQ_SUBMIT_H

#include <stdarg.h>
#include <stddef.h>

#include "procq.h"

struct group_gate;

int submit_post(procq_queue *q, const char *name, const void *args,
    size_t args_len, const procq_opts *opts, double timeout,
    struct group_gate *gate, procq_handle **handle);
int submit_post_batch(procq_queue *q, const char *name,
    const procq_args *args, size_t n, const procq_opts *opts,
    struct group_gate *gate, procq_handle **hs);
int submit_prepare(procq_queue *q, const void **args, size_t *args_len,
    const procq_opts **opts, double timeout);
/* An argument tuple being packed; see pack_tuple(). */
struct tuple_buf {
	char	*data;
	size_t	 size;
	size_t	 cap;
	char	 local[256];
};
int pack_tuple(struct tuple_buf *tb, const char *fmt, va_list ap);
void tuple_buf_release(struct tuple_buf *tb);

#endif
