/*
 * The options that print a fact and exit, as GNU parallel has them:
 * --number-of-cpus, --number-of-cores, --number-of-threads,
 * --number-of-sockets, --max-line-length-allowed and --minversion.
 * Given together, the first in that order is served, as there.
 */
#include "config.h"

#include <stdio.h>

#include "cli.h"

int
info_run(const struct cli_opts *o)
{
	struct cpu_counts c;

	cpus_read(&c);
	if (o->info & INFO_SOCKETS)
		printf("%ld\n", c.sockets);
	else if (o->info & (INFO_CPUS | INFO_CORES))
		/* parallel's --number-of-cpus is its --number-of-cores. */
		printf("%ld\n", c.cores);
	else if (o->info & INFO_THREADS)
		printf("%ld\n", c.threads);
	else if (o->info & INFO_LINE_MAX)
		printf("%zu\n", batch_line_max());
	else if (o->info & INFO_MINVERSION) {
		/* procq runs parallel 20221122's command lines: that is the
		 * version it is, to a script that asks. */
		printf("%lld\n", CLI_PARALLEL_VERSION);
		if (fflush(stdout) != 0 || ferror(stdout))
			return 2;
		return CLI_PARALLEL_VERSION >= o->minversion ? 1 : 2;
	}
	return fflush(stdout) != 0 || ferror(stdout) ? 2 : 1;
}
