/*
 * The CPUs, counted as GNU parallel counts them: threads (what the
 * kernel calls CPUs), physical cores and sockets, each at most the CPUs
 * the process may run on (taskset).  -j, --load and their N% count
 * threads, or cores with --use-cores-instead-of-threads, or sockets with
 * --use-sockets-instead-of-threads.  parallel finds the counts with
 * lscpu(1); the same counts are in sysfs, read here.
 */
#include "config.h"

#include <dirent.h>
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

/* A number in a file of sysfs, or -1. */
static long
cpus_read_long(const char *dir, const char *name)
{
	char path[512];
	FILE *fp;
	long v = -1;

	snprintf(path, sizeof path, "%s/%s/topology/%s", CPUS_SYSFS, dir,
	    name);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(fp, "%ld", &v) != 1)
		v = -1;
	fclose(fp);
	return v;
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

/* The topology of the CPUs that have one (those online); false when
 * sysfs has none. */
static bool
cpus_topology(struct cpu_counts *c)
{
	struct cpu_id *id = NULL, *more;
	size_t n = 0, cap = 0;
	struct dirent *e;
	bool ok = true;
	DIR *d;

	if ((d = opendir(CPUS_SYSFS)) == NULL)
		return false;
	while (ok && (e = readdir(d)) != NULL) {
		const char *num = e->d_name + 3;
		long pkg, core;

		if (strncmp(e->d_name, "cpu", 3) != 0 || *num == '\0' ||
		    strspn(num, "0123456789") != strlen(num))
			continue;
		pkg = cpus_read_long(e->d_name, "physical_package_id");
		core = cpus_read_long(e->d_name, "core_id");
		if (pkg < 0 || core < 0)
			continue;
		if (n == cap) {
			cap = cap > 0 ? 2 * cap : 64;
			if ((more = realloc(id, cap * sizeof *id)) == NULL)
				ok = false;
			else
				id = more;
		}
		if (ok)
			id[n++] = (struct cpu_id){ .pkg = pkg, .core = core };
	}
	closedir(d);
	memset(c, 0, sizeof *c);
	cpus_distinct(id, n, c);
	c->threads = (long)n;
	free(id);
	return ok && n > 0;
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
