/*
 * The CPUs, counted as GNU parallel counts them: threads (what the
 * kernel calls CPUs), physical cores and sockets, each at most the CPUs
 * the process may run on (taskset).  -j, --load and their N% count
 * threads, or cores with --use-cores-instead-of-threads, or sockets with
 * --use-sockets-instead-of-threads.  parallel finds the counts with
 * lscpu(1); the same counts are in sysfs, read here.
 */
#include "config.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define CPUS_SYSFS	"/sys/devices/system/cpu"

static enum cpus_unit cpus_unit = CPUS_THREADS;

void
cpus_use(enum cpus_unit unit)
{
	cpus_unit = unit;
}

/*
 * The files are read into buffers on the stack: the heap stays as it
 * was, and with it what the workers, forked later, have free in theirs
 * (--max-mem counts from what a worker has).
 */

/* The text of a file of sysfs, or false. */
static bool
cpus_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0;
}

/* A number of the topology of CPU cpu, or -1. */
static long
cpus_topology_long(long cpu, const char *name)
{
	char path[128], text[32], *end;
	long v;

	snprintf(path, sizeof path, "%s/cpu%ld/topology/%s", CPUS_SYSFS, cpu,
	    name);
	if (!cpus_file(path, text, sizeof text))
		return -1;
	v = strtol(text, &end, 10);
	return end != text && v >= 0 ? v : -1;
}

/* Where a CPU is: its socket and its core there. */
struct cpu_id {
	long	 pkg;
	long	 core;
};

/* The sockets and the cores of the n CPUs at id. */
static void
cpus_distinct(const struct cpu_id *id, size_t n, struct cpu_counts *c)
{
	for (size_t i = 0; i < n; i++) {
		bool pkg_seen = false, core_seen = false;

		for (size_t k = 0; k < i; k++) {
			pkg_seen |= id[k].pkg == id[i].pkg;
			core_seen |= id[k].pkg == id[i].pkg &&
			    id[k].core == id[i].core;
		}
		c->sockets += !pkg_seen;
		c->cores += !core_seen;
	}
}

/* Notes CPU cpu in id[*n]; false when it has no topology. */
static bool
cpus_note(long cpu, struct cpu_id *id, size_t *n)
{
	long pkg = cpus_topology_long(cpu, "physical_package_id");
	long core = cpus_topology_long(cpu, "core_id");

	if (pkg < 0 || core < 0 || *n >= CPU_SETSIZE)
		return false;
	id[(*n)++] = (struct cpu_id){ .pkg = pkg, .core = core };
	return true;
}

/* The topology of the CPUs online ("0-3,6,8-9" in sysfs); false when
 * sysfs does not tell it. */
static bool
cpus_topology(struct cpu_counts *c)
{
	struct cpu_id id[CPU_SETSIZE];
	char text[4096], *p = text, *end;
	size_t n = 0;
	long lo, hi;

	if (!cpus_file(CPUS_SYSFS "/online", text, sizeof text))
		return false;
	while (*p >= '0' && *p <= '9') {
		lo = hi = strtol(p, &end, 10);
		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		for (long cpu = lo; cpu <= hi; cpu++)
			if (!cpus_note(cpu, id, &n))
				return false;
		p = *end == ',' ? end + 1 : end;
	}
	memset(c, 0, sizeof *c);
	cpus_distinct(id, n, c);
	c->threads = (long)n;
	return n > 0;
}

static long
cpus_min(long a, long b)
{
	return a < b ? a : b;
}

void
cpus_read(struct cpu_counts *c)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	long active;

	if (online < 1)
		online = 1;
	if (!cpus_topology(c))
		c->sockets = c->cores = c->threads = online;
	active = sched_getaffinity(0, sizeof set, &set) == 0 ?
	    CPU_COUNT(&set) :
	    c->threads;
	if (active < 1)
		active = 1;
	c->sockets = c->sockets > 0 ? cpus_min(c->sockets, active) : 1;
	c->cores = c->cores > 0 ? cpus_min(c->cores, active) : 1;
	c->threads = cpus_min(c->threads, active);
}

long
cpus_count(void)
{
	static struct cpu_counts c;

	if (c.threads == 0)
		cpus_read(&c);
	return cpus_unit == CPUS_SOCKETS ? c.sockets :
	    cpus_unit == CPUS_CORES	 ? c.cores :
					   c.threads;
}
