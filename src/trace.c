/*
 * The trace behind PROCQ_DEBUG.  Each line is formatted whole and written
 * with one write(2), so that lines of several queues and threads never
 * mix, and nothing goes through the caller's stdio buffers:
 *
 *   procq 4711 +0.001234 task 0000000000000003 square: ready -> sent (worker 4713)
 *   procq 4711 +0.004210 worker 4713: reaped: killed by signal 11 (SIGSEGV)
 *
 * The number after "procq" is the caller's process, the time is seconds
 * since the queue was created.  Called only with q->lock held or on the
 * loop thread, like the code it traces.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport.h"
#include "queue.h"
#include "clock.h"
#include "trace.h"

/* Set to anything but "" or "0". */
bool
trace_wanted(void)
{
	const char *v = getenv("PROCQ_DEBUG");

	return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

/* Ends the line, cut to the buffer if need be, and writes it at once. */
static void
trace_write(char *line, size_t size, int len)
{
	size_t n = len < 0 ? 0 : (size_t)len;

	if (n > size - 2)
		n = size - 2;
	line[n++] = '\n';
	while (write(STDERR_FILENO, line, n) < 0 && errno == EINTR)
		;
}

void
trace_task(const procq_handle *t, enum task_state to)
{
	char line[512], via[32] = "";

	if (t->slot != NULL)
		snprintf(via, sizeof via, " (worker %ld)", t->slot->id);
	trace_write(line, sizeof line, snprintf(line, sizeof line,
	    "procq %ld +%.6f task %s %s: %s -> %s%s", (long)t->q->pid,
	    procq_clock_now() - t->q->trace_epoch, t->id,
	    t->name != NULL ? t->name : "?", task_state_name(t->state),
	    task_state_name(to), via));
}

void
trace_worker(const struct slot *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	/* The prefix is short: it always fits. */
	n = snprintf(line, sizeof line, "procq %ld +%.6f worker %ld: ",
	    (long)s->q->pid, procq_clock_now() - s->q->trace_epoch, s->id);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	trace_write(line, sizeof line, n);
}
