#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chaos_tasks.h"
#include "util.h"

static void __attribute__((noreturn))
sleep_forever(void)
{
	for (;;)
		pause();
}

static bool
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* One line "PID\n", appended (or written over the file) in one write. */
static bool
put_pid(const char *path, pid_t pid, int mode)
{
	char buf[32];
	int fd, n;
	bool ok;

	n = snprintf(buf, sizeof buf, "%d\n", (int)pid);
	if ((fd = open(path, O_WRONLY | mode | O_CLOEXEC)) == -1)
		return false;
	ok = write_all(fd, buf, (size_t)n);
	close(fd);
	return ok;
}

static int
task_spin(procq_call *c)
{
	volatile unsigned long n = 0;

	(void)c;
	while (n + 1 != 0)	/* 2^64 turns: for ever, in practice */
		n++;
	return 0;
}

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
		if (put_pid(path, getpid(), O_APPEND))
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
	if (!put_pid(path, getpid(), O_TRUNC))
		return procq_call_fail(c, "OSError", "write %s", path);
	free(path);
	sleep_forever();
}

void
register_chaos_tasks(procq_queue *q)
{
	ck_assert_int_eq(procq_register(q, "chaos_spin", task_spin), 0);
	ck_assert_int_eq(procq_register(q, "chaos_grand", task_grand), 0);
	ck_assert_int_eq(procq_register(q, "chaos_victim", task_victim), 0);
}
