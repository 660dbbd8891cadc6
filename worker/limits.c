/*
 * Resource limits inside a worker.  Memory: the address space the worker
 * may add to what it inherited from the caller.  CPU: seconds per attempt,
 * re-armed before each task since a worker's CPU clock runs across tasks.
 *
 * A worker that runs out of address space usually dies of the NULL
 * pointer its allocator returned, so with a memory limit the fatal
 * signals pass through a handler that tells the supervisor before dying
 * when the limit is the likely cause: an allocation had just failed
 * (errno is ENOMEM), or the address space is (nearly) exhausted.  The
 * first is needed too: a task that asks for far more than its limit dies
 * with most of its address space still free.
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"
#include "../src/protocol.h"

/* Read by the signal handler; set once in the worker before any task. */
static size_t limits_probe;
struct limits_frame {
	char	data[32];
	size_t	len;
};
static struct limits_frame limits_frame_memory, limits_frame_alloc;

/* Ends an attempt that outlives its CPU limit by ignoring SIGXCPU. */
static timer_t limits_cpu_timer;
static bool limits_cpu_timer_set;

/* The attempt's CPU limit, the worker's CPU time when it began, and what
 * was left of it when the task last forked (limits_cpu_prepare()). */
static double limits_cpu_max;
static double limits_cpu_start;
static double limits_cpu_left;

static size_t
limits_vm_size(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	unsigned long pages = 0;

	if (fp == NULL)
		return 0;
	if (fscanf(fp, "%lu", &pages) != 1)
		pages = 0;
	fclose(fp);
	return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

static void
limits_report(const struct limits_frame *f)
{
	ssize_t n = write(WORKER_OUT_FD, f->data, f->len);

	(void)n;
}

/* Whether the address space is (nearly) used up: a small mapping fails. */
static bool
limits_exhausted(void)
{
	void *p = mmap(NULL, limits_probe, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return true;
	munmap(p, limits_probe);
	return false;
}

static void
limits_fatal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;	/* before any call here can change it */

	(void)si;
	(void)uc;
	if (saved == ENOMEM)
		limits_report(&limits_frame_alloc);
	else if (limits_exhausted())
		limits_report(&limits_frame_memory);
	/* The disposition is back to default (SA_RESETHAND): re-raise so
	 * the worker dies of the signal it was dying of. */
	raise(sig);
}

/* Built ahead: the handler may not allocate. */
static void
limits_build_frame(struct limits_frame *f, enum protocol_limit what)
{
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	if (protocol_encode_limit(&sb, UINT32_MAX, what) == 0 &&
	    sb.size <= sizeof f->data) {
		memcpy(f->data, sb.data, sb.size);
		f->len = sb.size;
	}
	msgpack_sbuffer_destroy(&sb);
}

/* Before the limit is set: under a small one, these allocations would
 * fail.  False when the handler cannot have its own stack. */
static bool
limits_prepare_memory(size_t max_memory)
{
	stack_t ss;

	limits_probe = max_memory / 16;
	if (limits_probe < 256 * 1024)
		limits_probe = 256 * 1024;
	if (limits_probe > 16 * 1024 * 1024)
		limits_probe = 16 * 1024 * 1024;
	limits_build_frame(&limits_frame_memory, PROTOCOL_LIMIT_MEMORY);
	limits_build_frame(&limits_frame_alloc, PROTOCOL_LIMIT_ALLOCATION);
	/* The handler must run even when the stack is what ran out. */
	ss.ss_size = 64 * 1024;
	ss.ss_flags = 0;
	return (ss.ss_sp = malloc(ss.ss_size)) != NULL &&
	    sigaltstack(&ss, NULL) == 0;
}

static void
limits_watch_memory(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT };
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = limits_fatal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
		sigaction(fatal[i], &sa, NULL);
}

static void
limits_set(int resource, long value)
{
	struct rlimit rl;

	if (value <= 0 || getrlimit(resource, &rl) != 0)
		return;
	rl.rlim_cur = (rlim_t)value;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
		rl.rlim_cur = rl.rlim_max;
	setrlimit(resource, &rl);
}

static double
limits_cpu_used(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* In the worker, as a task forks. */
static void
limits_cpu_prepare(void)
{
	if (limits_cpu_max > 0)
		limits_cpu_left = limits_cpu_max -
		    (limits_cpu_used() - limits_cpu_start);
}

/*
 * In a process the task forked.  Its CPU clock starts at zero, so the
 * soft limit it inherited, set on the worker's clock, would give it all
 * the CPU time the worker had used on top of the attempt's.  It gets what
 * the attempt had left instead (whole seconds, rounded up), and a hard
 * limit a second later: not being the worker, it may lower its hard limit
 * for good.  Processes it forks in turn inherit these as they are.
 */
static void
limits_cpu_child(void)
{
	struct rlimit rl;
	double left = ceil(limits_cpu_left);

	if (limits_cpu_max <= 0 || getrlimit(RLIMIT_CPU, &rl) != 0)
		return;
	limits_cpu_max = 0;
	rl.rlim_cur = left < 1 ? 1 : (rlim_t)left;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur >= rl.rlim_max)
		rl.rlim_cur = rl.rlim_max;
	else
		rl.rlim_max = rl.rlim_cur + 1;
	setrlimit(RLIMIT_CPU, &rl);
}

/*
 * SIGXCPU at the soft RLIMIT_CPU can be ignored or handled, and the hard
 * limit, which the kernel enforces with SIGKILL, cannot follow the soft
 * one from attempt to attempt: a process without privileges may lower its
 * hard limit but never raise it again, and the CPU clock runs across
 * attempts.  So a timer on the worker's CPU clock sends SIGKILL instead,
 * re-armed before each attempt a second past the soft limit.  Like the
 * soft limit, it counts the worker's own threads, not the processes a
 * task starts, and an exec in the worker ends it.
 */
static void
limits_watch_cpu(void)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGKILL;
	limits_cpu_timer_set = timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev,
	    &limits_cpu_timer) == 0;
	pthread_atfork(limits_cpu_prepare, NULL, limits_cpu_child);
}

void
limits_apply(const struct worker_ctx *ctx)
{
	struct rlimit rl;
	bool watch;

	if (ctx->max_cpu > 0)
		limits_watch_cpu();
	limits_set(RLIMIT_NOFILE, ctx->config->max_files);
	limits_set(RLIMIT_NPROC, ctx->config->max_procs);
	if (ctx->max_memory == 0)
		return;
	if (getrlimit(RLIMIT_AS, &rl) != 0)
		return;
	watch = limits_prepare_memory(ctx->max_memory);
	rl.rlim_cur = (rlim_t)(limits_vm_size() + ctx->max_memory);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
		rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_AS, &rl) == 0 && watch)
		limits_watch_memory();
}

/* procq's own code in the worker could not allocate: under a memory
 * limit the supervisor hears that the limit is the likely cause, and
 * names it, before the worker leaves. */
void
limits_out_of_memory(void)
{
	if (limits_frame_alloc.len > 0)
		limits_report(&limits_frame_alloc);
}

/* SIGKILL once the worker has used s more seconds of CPU time. */
static void
limits_arm_cpu_timer(double s)
{
	struct itimerspec its;

	if (!limits_cpu_timer_set)
		return;
	memset(&its, 0, sizeof its);
	its.it_value.tv_sec = (time_t)s;
	its.it_value.tv_nsec = (long)((s - (double)its.it_value.tv_sec) * 1e9);
	timer_settime(limits_cpu_timer, 0, &its, NULL);	/* relative */
}

/* Before each attempt: this much more CPU time, in whole seconds, and
 * SIGXCPU ends the worker; SIGKILL a second later if it did not. */
void
limits_arm_cpu(const struct worker_ctx *ctx)
{
	struct rlimit rl;
	double used;

	if (ctx->max_cpu <= 0 || getrlimit(RLIMIT_CPU, &rl) != 0)
		return;
	used = limits_cpu_used();
	limits_cpu_max = ctx->max_cpu;
	limits_cpu_start = used;
	rl.rlim_cur = (rlim_t)ceil(used + ctx->max_cpu);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
		rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_CPU, &rl);
	/* A second past the soft limit, which is rounded up to whole
	 * seconds: a second past max_cpu could come first, and the worker
	 * would die of SIGKILL, not of SIGXCPU. */
	limits_arm_cpu_timer((double)rl.rlim_cur - used + 1);
}

/*
 * Runs the worker as another user when asked (the caller being root):
 * groups first, then the group, then the user, and no way back through
 * exec.  Says why in why when it cannot.
 */
int
limits_drop_privileges(const procq_config *cfg, char *why, size_t len)
{
	gid_t *groups = NULL;
	int rc = 0;

	if (cfg->uid == 0 && cfg->gid == 0) {
		if (cfg->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			goto fail_nnp;
		return 0;
	}
	if (cfg->ngroups > 0 &&
	    (groups = calloc(cfg->ngroups, sizeof *groups)) != NULL)
		for (size_t i = 0; i < cfg->ngroups; i++)
			groups[i] = (gid_t)cfg->groups[i];
	if (cfg->ngroups > 0 && groups == NULL)
		rc = snprintf(why, len, "out of memory") > 0 ? -1 : -1;
	else if (setgroups(cfg->ngroups, groups) != 0)
		rc = snprintf(why, len, "cannot set the supplementary groups: "
		    "%s", strerror(errno)) > 0 ? -1 : -1;
	else if (cfg->gid != 0 && setgid((gid_t)cfg->gid) != 0)
		rc = snprintf(why, len, "cannot switch to group %u: %s",
		    cfg->gid, strerror(errno)) > 0 ? -1 : -1;
	else if (cfg->uid != 0 && setuid((uid_t)cfg->uid) != 0)
		rc = snprintf(why, len, "cannot switch to user %u: %s",
		    cfg->uid, strerror(errno)) > 0 ? -1 : -1;
	free(groups);
	if (rc != 0)
		return rc;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		goto fail_nnp;
	return 0;
fail_nnp:
	snprintf(why, len, "cannot set no_new_privs: %s", strerror(errno));
	return -1;
}
