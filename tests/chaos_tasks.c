#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chaos_tasks.h"
#include "util.h"

static int
task_grand(procq_call *c)
{
	char *path = NULL, *how = NULL;
	int p[2];
	pid_t pid;
	char b;

	if (procq_call_unpack(c, "ss", &path, &how) != 0 || path == NULL ||
	    how == NULL)
		return procq_call_fail(c, "ArgError", "chaos_grand wants (ss)");
	if (pipe(p) == -1)
		return procq_call_fail(c, "OSError", "pipe: %s",
		    strerror(errno));
	pid = fork();
	if (pid == -1)
		return procq_call_fail(c, "OSError", "fork: %s",
		    strerror(errno));
	if (pid == 0) {
		close(p[0]);
		if (append_pid(path, getpid()))
			write_all(p[1], "x", 1);
		close(p[1]);
		sleep_forever();
	}
	close(p[1]);
	/* crash only once the grandchild is on record */
	while (read(p[0], &b, 1) == -1 && errno == EINTR)
		;
	if (strcmp(how, "abort") == 0)
		abort();
	raise(SIGSEGV);
	return procq_call_fail(c, "NoCrash", "survived '%s'", how);
}

static int
task_victim(procq_call *c)
{
	char *path = NULL;

	if (procq_call_attempt(c) > 1)
		return procq_call_return(c, "i", 7);
	if (procq_call_unpack(c, "s", &path) != 0 || path == NULL)
		return procq_call_fail(c, "ArgError", "chaos_victim wants (s)");
	if (!write_pid(path, getpid()))
		return procq_call_fail(c, "OSError", "write %s", path);
	free(path);
	sleep_forever();
}

void
register_chaos_tasks(procq_queue *q)
{
	ck_assert_int_eq(procq_register(q, "chaos_grand", task_grand), 0);
	ck_assert_int_eq(procq_register(q, "chaos_victim", task_victim), 0);
}
