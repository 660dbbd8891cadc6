/*
 * The exec start method: the worker is a separate program
 * (procq_config.worker_path) that calls procq_worker_main().
 *
 * How the worker learns its setup.  Its pipes and claim board come at
 * fixed descriptors (tasks on 3, results on 4, the board on 5, its
 * standard error on 2 when a tail is kept); everything else (the id base,
 * the frame limit, the supervisor's pid, the resource limits and the
 * user to become) travels in one environment variable, WORKER_SETUP_ENV.
 * An environment variable rather than a setup frame on the task pipe: it
 * arrives with the exec itself, before the program runs a line, so that
 * procq_worker_main() can tell at once whether procq started it (a
 * program run by hand from a shell has no such variable, where a
 * descriptor 3 may be anything), and a worker that dies before reading a
 * frame leaves nothing half-sent behind.  procq_worker_main() removes it
 * from the environment before any task runs, so that tasks and the
 * programs they run never see it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "start_method.h"
#include "queue.h"
#include "../worker/worker.h"

extern char **environ;

/* Where the child's descriptors wait before they are put in place: above
 * every descriptor they go to. */
#define SPAWN_LOW_FD	10

const char *
spawn_method_name(procq_start_method m)
{
	switch (m) {
	case PROCQ_START_FORKSERVER:
		return "fork server";
	case PROCQ_START_FORK:
		return "fork";
	case PROCQ_START_EXEC:
		return "exec";
	default:
		return "default";
	}
}

/*
 * The setup variable, "NAME=key=value key=value ...", in the form
 * worker/exec.c parses.  max_cpu in C99's hexadecimal notation, so that
 * it arrives exactly as it left.  NULL out of memory.
 */
char *
spawn_setup(const procq_queue *q, const struct worker_ctx *ctx)
{
	const procq_config *c = &q->cfg;
	size_t len = 512 + c->ngroups * 12;
	char *s, *p;
	int n;

	if ((s = malloc(len)) == NULL)
		return NULL;
	n = snprintf(s, len, "%s=v=1 id_base=%" PRIu64 " max_frame=%zu "
	    "parent=%ld max_memory=%zu max_cpu=%a max_files=%ld "
	    "max_procs=%ld uid=%u gid=%u no_new_privs=%d groups=",
	    WORKER_SETUP_ENV, ctx->id_base, ctx->max_frame, (long)ctx->parent,
	    ctx->max_memory, ctx->max_cpu, c->max_files, c->max_procs, c->uid,
	    c->gid, c->no_new_privs ? 1 : 0);
	if (n < 0 || (size_t)n >= len) {
		free(s);
		return NULL;
	}
	p = s + n;
	for (size_t i = 0; i < c->ngroups; i++) {
		n = snprintf(p, len - (size_t)(p - s), "%s%u", i > 0 ? "," : "",
		    c->groups[i]);
		if (n < 0 || (size_t)n >= len - (size_t)(p - s)) {
			free(s);
			return NULL;
		}
		p += n;
	}
	return s;
}

/* The worker's environment: the caller's (now) or the queue's, without
 * a setup variable of the caller's own, and with this worker's. */
static char **
spawn_env(const procq_queue *q, char *setup)
{
	char *const *base = q->cfg.worker_envp != NULL ?
	    q->cfg.worker_envp : environ;
	size_t n = 0, k = 0, namelen = strlen(WORKER_SETUP_ENV);
	char **env;

	while (base != NULL && base[n] != NULL)
		n++;
	if ((env = calloc(n + 2, sizeof *env)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(base[i], WORKER_SETUP_ENV, namelen) == 0 &&
		    base[i][namelen] == '=')
			continue;
		env[k++] = base[i];
	}
	env[k++] = setup;
	env[k] = NULL;
	return env;
}

/*
 * The child's descriptors, each first copied above SPAWN_LOW_FD (close on
 * exec, so only the placed copy reaches the program): placed straight from
 * where they are, the result pipe might sit on 3 and be closed by putting
 * the task pipe there before its own turn came.
 */
static int
spawn_fds(const struct worker_ctx *ctx, posix_spawn_file_actions_t *fa,
    int *high, int *nhigh)
{
	const int from[] = { ctx->in_fd, ctx->out_fd, ctx->board_fd,
	    ctx->err_fd };
	const int to[] = { WORKER_IN_FD, WORKER_OUT_FD, WORKER_BOARD_FD,
	    STDERR_FILENO };
	int rc;

	*nhigh = 0;
	for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
		if (from[i] < 0)	/* no stderr pipe: the caller's */
			continue;
		if ((high[*nhigh] = fcntl(from[i], F_DUPFD_CLOEXEC,
		    SPAWN_LOW_FD)) < 0)
			return errno;
		rc = posix_spawn_file_actions_adddup2(fa, high[*nhigh], to[i]);
		(*nhigh)++;
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Signals as a new program expects them (default, none blocked), whatever
 * the supervisor's thread has; and a process group of its own, which
 * pool.c signals. */
static int
spawn_attr(posix_spawnattr_t *attr)
{
	sigset_t all, none;
	int rc;

	sigfillset(&all);
	sigemptyset(&none);
	if ((rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(attr, &all)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(attr, &none)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(attr, 0)) != 0)
		return rc;
	return 0;
}

/*
 * Starts the worker program as a direct child of this process, so that
 * its pidfd, its reaping and its process group are the supervisor's as
 * for a fork.  posix_spawn(), not fork() and exec: this process has
 * threads, and nothing between the two would be safe to call.  The
 * parent-death signal the worker sets follows this thread, the
 * supervisor's.  -1 with errno set, and q->spawn_why saying which
 * program could not be run.
 */
pid_t
spawn_exec(procq_queue *q, const struct worker_ctx *ctx)
{
	const char *path = q->cfg.worker_path;
	char *const default_argv[] = { (char *)path, NULL };
	char *const *argv = q->cfg.worker_argv != NULL ?
	    q->cfg.worker_argv : default_argv;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int high[4], nhigh = 0, rc;
	char *setup = NULL, **env = NULL;
	pid_t pid = -1;

	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		errno = rc;
		return -1;
	}
	if ((rc = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		errno = rc;
		return -1;
	}
	if ((setup = spawn_setup(q, ctx)) == NULL ||
	    (env = spawn_env(q, setup)) == NULL)
		rc = ENOMEM;
	else if ((rc = spawn_fds(ctx, &fa, high, &nhigh)) == 0 &&
	    (rc = spawn_attr(&attr)) == 0 &&
	    (rc = posix_spawn(&pid, path, &fa, &attr, argv, env)) != 0)
		snprintf(q->spawn_why, sizeof q->spawn_why,
		    "cannot execute %s: %s", path, strerror(rc));
	for (int i = 0; i < nhigh; i++)
		close(high[i]);
	free(env);
	free(setup);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return pid;
}
