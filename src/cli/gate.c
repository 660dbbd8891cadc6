/*
 * --memfree and --load: a command starts only while the machine has that
 * much memory free and fewer processes running than that.  The worker
 * waits at this gate right before it starts the command, so that the
 * machine looked at is the one the command runs on (with --mpi too), and
 * jobs queued behind a closed gate wait in their workers.
 *
 * Both are measured as GNU parallel measures them on Linux: free memory
 * is MemFree + Buffers + Cached + SwapCached of /proc/meminfo (parallel
 * does not read MemAvailable), and the load is the count of processes
 * (threads) running or in uninterruptible sleep, not counting the one
 * that looks, which /proc/stat has as procs_running and procs_blocked.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* How often a closed gate is looked at again, in milliseconds. */
#define GATE_POLL_MS	250

/* The sum of the fields of a /proc file named in `names` (each followed
 * by a colon, or a space), times `unit`; -1 when it cannot be read. */
static double
gate_sum(const char *path, const char *const names[], double unit)
{
	char line[256], key[64];
	double v, sum = 0;
	bool found = false;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof line, fp) != NULL) {
		if (sscanf(line, "%63[^: ]%*[: ]%lf", key, &v) != 2)
			continue;
		for (size_t i = 0; names[i] != NULL; i++)
			if (strcmp(key, names[i]) == 0) {
				sum += v;
				found = true;
			}
	}
	fclose(fp);
	return found ? sum * unit : -1;
}

static double
gate_memfree(void)
{
	static const char *const names[] = { "MemFree", "Buffers", "Cached",
		"SwapCached", NULL };

	return gate_sum("/proc/meminfo", names, 1024);
}

static double
gate_load(void)
{
	static const char *const names[] = { "procs_running", "procs_blocked",
		NULL };
	double n = gate_sum("/proc/stat", names, 1);

	return n < 0 ? n : n - 1;
}

/* Whether a command may start now.  A measure that cannot be read does
 * not hold the job. */
static bool
gate_open(size_t memfree, double load)
{
	double v;

	if (memfree > 0 && (v = gate_memfree()) >= 0 && v < (double)memfree)
		return false;
	if (load > 0 && (v = gate_load()) >= 0 && v >= load)
		return false;
	return true;
}

void
gate_wait(size_t memfree, double load)
{
	struct timespec ts = { 0, GATE_POLL_MS * 1000000L };

	while (!gate_open(memfree, load))
		nanosleep(&ts, NULL);
}
