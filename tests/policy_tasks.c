#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy_tasks.h"
#include "tasks.h"
#include "util.h"

/* CLOCK_MONOTONIC is one clock for every process of the machine, so the
 * test can compare these with its own now(). */
static int
task_stamp(procq_call *c)
{
	return procq_call_return(c, "d", now());
}

static int
task_gate_fail(procq_call *c)
{
	char *path = NULL;
	int rc;

	if (procq_call_unpack(c, "s", &path) != 0 || path == NULL)
		return procq_call_fail(c, "ArgError", "gate_fail wants (s)");
	rc = gate_pass(path);
	free(path);
	if (rc == -1)
		return procq_call_fail(c, "OSError", "open: %s", strerror(errno));
	return procq_call_fail(c, "GateError", "released");
}

static int
task_hog(procq_call *c)
{
	static volatile char *volatile last;
	const size_t chunk = (size_t)1 << 20;
	size_t n;
	char *p;

	for (n = 0; n < 1u << 16; n++) {	/* 64 GiB: no limit at all */
		if ((p = malloc(chunk)) == NULL)
			break;
		memset(p, 1, chunk);
		last = p;
	}
	if (n == 1u << 16)
		return procq_call_fail(c, "NoLimit", "allocated %zu MiB", n);
	/* Like a program that does not check malloc(). */
	last = NULL;
	*last = 1;
	return procq_call_fail(c, "NoCrash", "wrote through NULL");
}

static int
task_burn(procq_call *c)
{
	double s = 0, start;
	volatile unsigned long n = 0;

	procq_call_unpack(c, "d", &s);
	start = cpu_now();
	do {
		for (int i = 0; i < 100000; i++)
			n++;
	} while (cpu_now() - start < s);
	return 0;
}

static int
task_alloc_mib(procq_call *c)
{
	int mib = 0;
	size_t len;
	char *p;

	procq_call_unpack(c, "i", &mib);
	len = (size_t)mib << 20;
	if ((p = malloc(len)) == NULL)
		return procq_call_fail(c, "MemoryError", "%d MiB", mib);
	memset(p, 1, len);
	free(p);
	return 0;
}

/* Set in each worker by init_keep(). */
static int kept_value = -1;
static int kept_runs;

int
init_keep(procq_call *c)
{
	int v;

	if (procq_call_unpack(c, "i", &v) != 0)
		return procq_call_fail(c, "ArgError", "init_keep wants (i)");
	kept_value = v;
	kept_runs++;
	return 0;
}

static int
task_init_value(procq_call *c)
{
	return procq_call_return(c, "ii", kept_value, kept_runs);
}

int
init_log(procq_call *c)
{
	char *path = NULL;
	struct stat st;
	int fd, n = 0;

	if (strcmp(procq_call_name(c), "initializer") != 0)
		return procq_call_fail(c, "BadName", "called '%s'",
		    procq_call_name(c));
	if (procq_call_unpack(c, "si", &path, &n) != 0 || path == NULL)
		return procq_call_fail(c, "ArgError", "init_log wants (s, i)");
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	free(path);
	if (fd == -1)
		return procq_call_fail(c, "OSError", "open: %s", strerror(errno));
	if (write(fd, "i", 1) != 1 || fstat(fd, &st) == -1) {
		close(fd);
		return procq_call_fail(c, "OSError", "write: %s",
		    strerror(errno));
	}
	close(fd);
	if (n < 0 || st.st_size <= n)
		return procq_call_fail(c, "SetupError", "call %ld",
		    (long)st.st_size);
	return 0;
}

int
init_ret(procq_call *c)
{
	(void)c;
	return 7;
}

int
init_ignore_term(procq_call *c)
{
	(void)c;
	signal(SIGTERM, SIG_IGN);
	return 0;
}

void
register_policy_tasks(procq_queue *q)
{
	static const struct task_entry tasks[] = {
		{ "stamp", task_stamp },
		{ "gate_fail", task_gate_fail },
		{ "hog", task_hog },
		{ "burn", task_burn },
		{ "alloc_mib", task_alloc_mib },
		{ "init_value", task_init_value },
	};

	register_tasks(q, tasks, sizeof tasks / sizeof tasks[0]);
}

procq_queue *
policy_queue(const procq_config *cfg)
{
	procq_queue *q = new_queue_config(cfg);

	register_policy_tasks(q);
	return q;
}
