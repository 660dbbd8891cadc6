#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tasks.h"
#include "util.h"

static int
task_double(procq_call *c)
{
	double x;

	if (procq_call_unpack(c, "d", &x) != 0)
		return procq_call_fail(c, "ArgError", "double wants (d)");
	return procq_call_return(c, "d", 2 * x);
}

static int
task_ident(procq_call *c)
{
	int n;

	if (procq_call_unpack(c, "i", &n) != 0)
		return procq_call_fail(c, "ArgError", "ident wants (i)");
	return procq_call_return(c, "i", n);
}

static int
task_echo(procq_call *c)
{
	const void *data;
	size_t len = 0;

	data = procq_call_args_data(c, &len);
	if (data == NULL)
		return procq_call_fail(c, "ArgError", "no argument bytes");
	return procq_call_return_data(c, data, len);
}

/* Two msgpack values where one is expected: 1, then 2. */
static int
task_two_values(procq_call *c)
{
	return procq_call_return_data(c, "\x01\x02", 2);
}

static int
task_echo_obj(procq_call *c)
{
	const msgpack_object *args = procq_call_args(c);
	msgpack_packer *pk;

	if (args == NULL || args->type != MSGPACK_OBJECT_ARRAY)
		return procq_call_fail(c, "ArgError", "arguments not an array");
	if ((pk = procq_call_packer(c)) == NULL)
		return procq_call_fail(c, "ArgError", "no packer");
	msgpack_pack_object(pk, *args);
	return 0;
}

static int
task_roundtrip(procq_call *c)
{
	int i, rc;
	int64_t l;
	uint64_t u;
	double d;
	bool b;
	char *s;
	const char *S;
	const void *y;
	size_t Slen, ylen;

	rc = procq_call_unpack(c, "iludbsSyn", &i, &l, &u, &d, &b, &s, &S,
	    &Slen, &y, &ylen);
	if (rc != 0)
		return procq_call_fail(c, "ArgError", "unpack: %d", rc);
	rc = procq_call_return(c, "iludbsSyn", i, l, u, d, (int)b, s, S, Slen,
	    y, ylen);
	free(s);
	return rc;
}

static int
task_whoami(procq_call *c)
{
	return procq_call_return(c, "ssi", procq_call_name(c),
	    procq_call_id(c), procq_call_attempt(c));
}

static int
task_map(procq_call *c)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "a", 1);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_str_with_body(&pk, "b", 1);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_true(&pk);
	msgpack_pack_nil(&pk);
	rc = procq_call_return_data(c, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static int
task_packer(procq_call *c)
{
	msgpack_packer *pk = procq_call_packer(c);

	if (pk == NULL)
		return procq_call_fail(c, "ArgError", "no packer");
	msgpack_pack_array(pk, 3);
	msgpack_pack_int(pk, 1);
	msgpack_pack_str_with_body(pk, "two", 3);
	msgpack_pack_double(pk, 3.5);
	return 0;
}

int
task_nil(procq_call *c)
{
	return 0;
}

static int
task_fail(procq_call *c)
{
	int n = 0;

	procq_call_unpack(c, "i", &n);
	return procq_call_fail(c, "ValueError", "bad %d", n);
}

static int
task_retcode(procq_call *c)
{
	int n = 0;

	procq_call_unpack(c, "i", &n);
	return n;
}

static int
task_flaky(procq_call *c)
{
	int n = 0, a = procq_call_attempt(c);

	procq_call_unpack(c, "i", &n);
	if (a < n)
		return procq_call_fail(c, "Flaky", "attempt %d", a);
	return procq_call_return(c, "i", a);
}

static int
task_sleep(procq_call *c)
{
	double s = 0;

	procq_call_unpack(c, "d", &s);
	nap(s);
	return 0;
}

int
task_gate(procq_call *c)
{
	char *path = NULL;
	int rc;

	if (procq_call_unpack(c, "s", &path) != 0 || path == NULL)
		return procq_call_fail(c, "ArgError", "gate wants (s)");
	rc = gate_pass(path);
	free(path);
	if (rc == -1)
		return procq_call_fail(c, "OSError", "open: %s", strerror(errno));
	return 0;
}

static int
task_marker(procq_call *c)
{
	char *path = NULL;
	int fd;

	if (procq_call_unpack(c, "s", &path) != 0 || path == NULL)
		return procq_call_fail(c, "ArgError", "marker wants (s)");
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	free(path);
	if (fd == -1)
		return procq_call_fail(c, "OSError", "open: %s", strerror(errno));
	write_all(fd, "x", 1);
	close(fd);
	return 0;
}

static void
crash(const char *how)
{
	static volatile int *volatile nullp;

	if (strcmp(how, "segv-raise") == 0)
		raise(SIGSEGV);
	else if (strcmp(how, "null") == 0)
		*nullp = 1;
	else if (strcmp(how, "abort") == 0)
		abort();
	else if (strcmp(how, "exit3") == 0)
		exit(3);
	else if (strcmp(how, "exit0") == 0)
		exit(0);
	else if (strcmp(how, "_exit0") == 0)
		_exit(0);
	else if (strcmp(how, "_exit3") == 0)
		_exit(3);
	else if (strcmp(how, "sigkill") == 0)
		raise(SIGKILL);
	else if (strcmp(how, "signal40") == 0)
		raise(40);	/* real-time: no name, ends the process */
}

static int
task_crash(procq_call *c)
{
	char *how = NULL;

	if (procq_call_unpack(c, "s", &how) != 0 || how == NULL)
		return procq_call_fail(c, "ArgError", "crash wants (s)");
	crash(how);
	procq_call_fail(c, "NoCrash", "survived crash '%s'", how);
	free(how);
	return -1;
}

static int
task_crash_once(procq_call *c)
{
	char *how = NULL;

	if (procq_call_unpack(c, "s", &how) != 0 || how == NULL)
		return procq_call_fail(c, "ArgError", "crash_once wants (s)");
	if (procq_call_attempt(c) == 1)
		crash(how);
	free(how);
	return procq_call_return(c, "i", 42);
}

/* Closes the worker's result pipe and lives on: EOF without a death. */
static int
task_close_result_pipe(procq_call *c)
{
	(void)c;
	close(WORKER_WRITE_FD);
	sleep_forever();
}

static int
task_pidfile_sleep(procq_call *c)
{
	char *path = NULL;

	if (procq_call_unpack(c, "s", &path) != 0 || path == NULL)
		return procq_call_fail(c, "ArgError", "pidfile_sleep wants (s)");
	if (!write_pid(path, getpid()))
		return procq_call_fail(c, "OSError", "write %s", path);
	free(path);
	sleep_forever();
}

static int
task_grandchild(procq_call *c)
{
	char *path = NULL;
	pid_t pid;

	if (procq_call_unpack(c, "s", &path) != 0 || path == NULL)
		return procq_call_fail(c, "ArgError", "grandchild wants (s)");
	pid = fork();
	if (pid == -1)
		return procq_call_fail(c, "OSError", "fork: %s", strerror(errno));
	if (pid == 0)
		sleep_forever();
	if (!write_pid(path, pid))
		return procq_call_fail(c, "OSError", "write %s", path);
	free(path);
	sleep_forever();
}

static int
task_garbage(procq_call *c)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
	} frames[] = {
		/* length 3, then bytes that are never valid msgpack */
		{ "bytes", "\x00\x00\x00\x03\xc1\xc1\xc1", 7 },
		/* a well-formed msgpack value that is not an array */
		{ "int", "\x00\x00\x00\x01\x07", 5 },
		/* length 5: "garba" is a fixint and trailing bytes */
		{ "text", "\x00\x00\x00\x05garbage", 11 },
		/* length prefix of 1 GiB; no body follows */
		{ "huge", "\x40\x00\x00\x00", 4 },
		/* a frame of length 0 */
		{ "empty", "\x00\x00\x00\x00", 4 },
		/* [10]: a TASK, which only the supervisor sends */
		{ "type", "\x00\x00\x00\x02\x91\x0a", 6 },
		/* [3], [4], [6], [8]: a RESULT, CANCELLED, PROGRESS and
		 * SKIPPED without their fields */
		{ "result", "\x00\x00\x00\x02\x91\x03", 6 },
		{ "cancelled", "\x00\x00\x00\x02\x91\x04", 6 },
		{ "progress", "\x00\x00\x00\x02\x91\x06", 6 },
		{ "skipped", "\x00\x00\x00\x02\x91\x08", 6 },
		/* [4, 1000000]: a cancel acknowledgement for a task never
		 * sent */
		{ "stray_cancel",
		    "\x00\x00\x00\x07\x92\x04\xce\x00\x0f\x42\x40", 11 },
		/* [6, 1000000, bin nil]: progress for another task */
		{ "stray_progress", "\x00\x00\x00\x0a\x93\x06\xce\x00\x0f\x42\x40"
		    "\xc4\x01\xc0", 14 },
	};
	char *what = NULL;
	size_t i;

	if (procq_call_unpack(c, "s", &what) != 0 || what == NULL)
		return procq_call_fail(c, "ArgError", "garbage wants (s)");
	for (i = 0; i < sizeof frames / sizeof frames[0]; i++) {
		if (strcmp(frames[i].what, what) == 0)
			break;
	}
	if (i == sizeof frames / sizeof frames[0])
		return procq_call_fail(c, "ArgError", "unknown '%s'", what);
	free(what);
	if (!write_all(WORKER_WRITE_FD, frames[i].bytes, frames[i].len))
		return procq_call_fail(c, "OSError", "write: %s",
		    strerror(errno));
	sleep_forever();
}

int
task_family(procq_call *c)
{
	char *path = NULL;
	FILE *fp;
	pid_t child;

	if (procq_call_unpack(c, "s", &path) != 0 || path == NULL)
		return procq_call_fail(c, "ArgumentError", "expected [path]");
	if ((child = fork()) == 0) {
		execl("/bin/sleep", "sleep", "1000", (char *)NULL);
		_exit(127);
	}
	if ((fp = fopen(path, "w")) != NULL) {
		fprintf(fp, "%d %d\n", (int)getpid(), (int)child);
		fclose(fp);
	}
	free(path);
	pause();
	return 0;
}

static int
task_getpid(procq_call *c)
{
	return procq_call_return(c, "i", (int)getpid());
}

static int
task_busy_loop(procq_call *c)
{
	volatile unsigned long n = 0;

	(void)c;
	for (;;)
		n++;
	return 0;
}

/* Ignores SIGTERM, writes its pid, then behaves like "gate". */
static int
task_stubborn_gate(procq_call *c)
{
	const char *gate, *pidfile;
	size_t glen, plen;
	char g[512], p[512];

	if (procq_call_unpack(c, "SS", &gate, &glen, &pidfile, &plen) != 0 ||
	    glen >= sizeof g || plen >= sizeof p)
		return procq_call_fail(c, "ArgError", "stubborn_gate wants (ss)");
	memcpy(g, gate, glen);
	g[glen] = '\0';
	memcpy(p, pidfile, plen);
	p[plen] = '\0';
	signal(SIGTERM, SIG_IGN);
	if (!write_pid(p, getpid()))
		return procq_call_fail(c, "OSError", "write %s", p);
	if (gate_pass(g) == -1)
		return procq_call_fail(c, "OSError", "open: %s", strerror(errno));
	return 0;
}

/* Describes the worker process: [open fds, own process group, bytes read
 * from stdin, empty signal mask, SIGUSR1 at its default action]. */
static int
task_env(procq_call *c)
{
	msgpack_packer *pk = procq_call_packer(c);
	struct rlimit rl;
	struct sigaction sa;
	sigset_t mask;
	DIR *d;
	struct dirent *de;
	int fds[256], nfds = 0, i, empty = 1;
	char ch;
	ssize_t n;

	if (pk == NULL)
		return procq_call_fail(c, "ArgError", "no packer");
	/* Descriptors above the soft limit belong to a tool running the
	 * tests (valgrind), not to the worker. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		rl.rlim_cur = 1024;
	if ((d = opendir("/proc/self/fd")) == NULL)
		return procq_call_fail(c, "OSError", "opendir: %s",
		    strerror(errno));
	while ((de = readdir(d)) != NULL && nfds < 256) {
		long fd;

		if (de->d_name[0] == '.')
			continue;
		fd = strtol(de->d_name, NULL, 10);
		if (fd == dirfd(d) || (rlim_t)fd >= rl.rlim_cur)
			continue;
		fds[nfds++] = (int)fd;
	}
	closedir(d);
	n = read(0, &ch, 1);
	sigprocmask(SIG_SETMASK, NULL, &mask);
	for (i = 1; i < NSIG; i++) {
		if (i == SIGKILL || i == SIGSTOP)
			continue;
		if (sigismember(&mask, i) == 1)
			empty = 0;
	}
	sigaction(SIGUSR1, NULL, &sa);

	msgpack_pack_array(pk, 5);
	msgpack_pack_array(pk, (size_t)nfds);
	for (i = 0; i < nfds; i++)
		msgpack_pack_int(pk, fds[i]);
	if (getpgrp() == getpid())
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	msgpack_pack_int64(pk, (int64_t)n);
	if (empty)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	if (sa.sa_handler == SIG_DFL)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	return 0;
}

static int
task_bigstr(procq_call *c)
{
	int n = 0, rc;
	char *s;

	procq_call_unpack(c, "i", &n);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return procq_call_fail(c, "ArgError", "bad size %d", n);
	memset(s, 'x', (size_t)n);
	s[n] = '\0';
	rc = procq_call_return(c, "S", s, (size_t)n);
	free(s);
	return rc;
}

static const struct task_entry common_tasks[] = {
	{ "double", task_double },
	{ "ident", task_ident },
	{ "echo", task_echo },
	{ "echo_obj", task_echo_obj },
	{ "two_values", task_two_values },
	{ "roundtrip", task_roundtrip },
	{ "whoami", task_whoami },
	{ "map", task_map },
	{ "packer", task_packer },
	{ "nil", task_nil },
	{ "fail", task_fail },
	{ "retcode", task_retcode },
	{ "flaky", task_flaky },
	{ "sleep", task_sleep },
	{ "gate", task_gate },
	{ "marker", task_marker },
	{ "crash", task_crash },
	{ "crash_once", task_crash_once },
	{ "pidfile_sleep", task_pidfile_sleep },
	{ "grandchild", task_grandchild },
	{ "garbage", task_garbage },
	{ "close_result_pipe", task_close_result_pipe },
	{ "bigstr", task_bigstr },
	{ "stubborn_gate", task_stubborn_gate },
	{ "env", task_env },
	{ "family", task_family },
	{ "getpid", task_getpid },
	{ "busy_loop", task_busy_loop },
};

void
register_tasks(procq_queue *q, const struct task_entry *tasks, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		rc = procq_register(q, tasks[i].name, tasks[i].fn);
		ck_assert_msg(rc == 0, "register %s: %s", tasks[i].name,
		    procq_strerror(rc));
	}
}

/* gate_crash (s path): like "gate", then dies of SIGSEGV, so that the
 * test decides when the crash happens and can look at the queue first.
 * Not a common task: check_engine registers it, and the exec'd test
 * worker program has it in its table. */
int
task_gate_crash(procq_call *c)
{
	char *path = NULL;
	int rc;

	if (procq_call_unpack(c, "s", &path) != 0 || path == NULL)
		return procq_call_fail(c, "ArgError", "gate_crash wants (s)");
	rc = gate_pass(path);
	free(path);
	if (rc == -1)
		return procq_call_fail(c, "OSError", "cannot open the gate");
	raise(SIGSEGV);
	return procq_call_fail(c, "NoCrash", "survived SIGSEGV");
}

/* The same tasks as a worker program's table (tests/exec_worker.c). */
const procq_worker_task *
common_worker_tasks(void)
{
	enum { N = sizeof common_tasks / sizeof common_tasks[0] };
	static procq_worker_task table[N + 1];

	for (size_t i = 0; i < N; i++) {
		table[i].name = common_tasks[i].name;
		table[i].fn = common_tasks[i].fn;
	}
	return table;
}

void
register_common_tasks(procq_queue *q)
{
	register_tasks(q, common_tasks,
	    sizeof common_tasks / sizeof common_tasks[0]);
}
