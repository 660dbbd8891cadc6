#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect_tasks.h"
#include "tasks.h"
#include "util.h"

/* gate_pass() for a path unpacked with "S" (not NUL-terminated). */
static int
hold_gate(const char *path, size_t len)
{
	char p[512];

	if (len >= sizeof p)
		return -1;
	memcpy(p, path, len);
	p[len] = '\0';
	return gate_pass(p);
}

static int
task_sleep_ret(procq_call *c)
{
	double s;
	int v;

	if (procq_call_unpack(c, "di", &s, &v) != 0)
		return procq_call_fail(c, "ArgError", "sleep_ret wants (d i)");
	nap(s);
	return procq_call_return(c, "i", v);
}

static int
task_span(procq_call *c)
{
	double s, t0;

	if (procq_call_unpack(c, "d", &s) != 0)
		return procq_call_fail(c, "ArgError", "span wants (d)");
	t0 = now();
	nap(s);
	return procq_call_return(c, "dd", t0, now());
}

static int
task_gate_ret(procq_call *c)
{
	const char *path;
	size_t len;
	int v;

	if (procq_call_unpack(c, "Si", &path, &len, &v) != 0)
		return procq_call_fail(c, "ArgError", "gate_ret wants (s i)");
	if (hold_gate(path, len) != 0)
		return procq_call_fail(c, "OSError", "gate: %s",
		    strerror(errno));
	return procq_call_return(c, "i", v);
}

static int
task_progress_steps(procq_call *c)
{
	const char *g1, *g2;
	size_t l1, l2;

	if (procq_call_unpack(c, "SS", &g1, &l1, &g2, &l2) != 0)
		return procq_call_fail(c, "ArgError",
		    "progress_steps wants (s s)");
	if (procq_call_progress(c, "s", "started") != 0)
		return procq_call_fail(c, "ProgressError", "report 1");
	if (hold_gate(g1, l1) != 0)
		return procq_call_fail(c, "OSError", "gate1: %s",
		    strerror(errno));
	if (procq_call_progress(c, "i", 50) != 0)
		return procq_call_fail(c, "ProgressError", "report 2");
	if (hold_gate(g2, l2) != 0)
		return procq_call_fail(c, "OSError", "gate2: %s",
		    strerror(errno));
	if (procq_call_progress(c, "si", "almost", 99) != 0)
		return procq_call_fail(c, "ProgressError", "report 3");
	return procq_call_return(c, "i", 7);
}

int
collect_square(procq_call *c)
{
	double s;
	int n;

	if (procq_call_unpack(c, "id", &n, &s) != 0)
		return procq_call_fail(c, "ArgError", "square wants (i d)");
	nap(s);
	if (n < 0)
		return procq_call_fail(c, "ValueError", "negative %d", n);
	return procq_call_return(c, "i", n * n);
}

static const struct task_entry collect_tasks[] = {
	{ "sleep_ret", task_sleep_ret },
	{ "span", task_span },
	{ "gate_ret", task_gate_ret },
	{ "progress_steps", task_progress_steps },
	{ "square", collect_square },
};

void
register_collect_tasks(procq_queue *q)
{
	register_tasks(q, collect_tasks,
	    sizeof collect_tasks / sizeof collect_tasks[0]);
}

procq_queue *
collect_queue_config(const procq_config *cfg)
{
	procq_queue *q = new_queue_config(cfg);

	register_collect_tasks(q);
	return q;
}

procq_queue *
collect_queue(int workers)
{
	procq_config cfg = { .workers = workers };

	return collect_queue_config(&cfg);
}
