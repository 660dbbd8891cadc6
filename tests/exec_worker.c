/*
 * The worker program of the test suites' exec queues: the common tasks
 * (tests/tasks.h), and a few of its own.  Its first argument may ask it
 * to misbehave before it becomes a worker:
 *
 *   exit-early     exits with status 3 before procq_worker_main()
 *   hang           never calls procq_worker_main()
 *   table=common   only the common tasks
 *
 * Its own tasks:
 *   getenv (s name)    the variable's value, or nil
 *   argv ()            its argv, as an array of strings
 *   cloexec ()         [3 closes on exec, 4 closes on exec]: the pipes
 *                      reach no program a task runs
 *   gate_crash (s path)  check_engine's (tests/tasks.h)
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procq.h"
#include "tasks.h"

static int saved_argc;
static char **saved_argv;

static int
task_getenv(procq_call *c)
{
	const char *name;

	if (procq_call_unpack(c, "s", &name) != 0 || name == NULL)
		return procq_call_fail(c, "ArgError", "getenv wants (s)");
	return procq_call_return(c, "s", getenv(name));	/* nil if unset */
}

static int
task_argv(procq_call *c)
{
	msgpack_packer *pk = procq_call_packer(c);

	msgpack_pack_array(pk, (size_t)saved_argc);
	for (int i = 0; i < saved_argc; i++)
		msgpack_pack_str_with_body(pk, saved_argv[i],
		    strlen(saved_argv[i]));
	return 0;
}

static int
task_cloexec(procq_call *c)
{
	return procq_call_return(c, "bb",
	    (fcntl(3, F_GETFD) & FD_CLOEXEC) != 0,
	    (fcntl(4, F_GETFD) & FD_CLOEXEC) != 0);
}

int
main(int argc, char **argv)
{
	static procq_worker_task table[64];
	const procq_worker_task *common = common_worker_tasks();
	size_t n = 0;

	saved_argc = argc;
	saved_argv = argv;
	if (argc > 1 && strcmp(argv[1], "exit-early") == 0)
		return 3;
	if (argc > 1 && strcmp(argv[1], "hang") == 0) {
		for (;;)
			pause();
	}
	while (common[n].name != NULL) {
		table[n] = common[n];
		n++;
	}
	if (argc <= 1 || strcmp(argv[1], "table=common") != 0) {
		table[n++] = (procq_worker_task){ "getenv", task_getenv };
		table[n++] = (procq_worker_task){ "argv", task_argv };
		table[n++] = (procq_worker_task){ "cloexec", task_cloexec };
		table[n++] = (procq_worker_task){ "gate_crash",
		    task_gate_crash };
	}
	table[n] = (procq_worker_task){ NULL, NULL };
	return procq_worker_main(argc, argv, table);
}
