/*
 * A worker program's side of the exec start method (src/spawn_exec.c):
 * procq_worker_main() reads the setup the supervisor put in the
 * environment, makes a registry of the program's task table, and runs the
 * same worker loop as a forked worker.  The descriptors are already where
 * the loop wants them: tasks on 3, results on 4, the claim board on 5.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker.h"

/* Everything the loop reads for the rest of the process's life. */
struct exec_setup {
	struct worker_setup ws;
	struct registry		 registry;
	const char **names;
};

static bool
exec_uint(const char *v, uint64_t max, uint64_t *out)
{
	char *end;

	if (*v < '0' || *v > '9')
		return false;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return errno == 0 && *end == '\0' && *out <= max;
}

static bool
exec_long(const char *v, long *out)
{
	uint64_t u;

	if (!exec_uint(v, LONG_MAX, &u))
		return false;
	*out = (long)u;
	return true;
}

static bool
exec_groups(struct worker_setup *es, const char *v)
{
	size_t n = *v != '\0';
	char *copy, *tok, *save;
	uint64_t g;

	for (const char *p = v; *p != '\0'; p++)
		n += *p == ',';
	if (n == 0)
		return true;
	if ((es->groups = calloc(n, sizeof *es->groups)) == NULL ||
	    (copy = strdup(v)) == NULL)
		return false;
	n = 0;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (!exec_uint(tok, UINT_MAX, &g)) {
			free(copy);
			return false;
		}
		es->groups[n++] = (unsigned)g;
	}
	free(copy);
	es->cfg.groups = es->groups;
	es->cfg.ngroups = n;
	return true;
}

static bool
exec_field(struct worker_setup *es, const char *key, const char *v)
{
	struct worker_ctx *ctx = &es->ctx;
	procq_config *cfg = &es->cfg;
	uint64_t u;
	char *end;

	if (strcmp(key, "v") == 0)
		return strcmp(v, "1") == 0;
	if (strcmp(key, "id_base") == 0)
		return exec_uint(v, UINT64_MAX, &ctx->id_base);
	if (strcmp(key, "max_frame") == 0 && exec_uint(v, SIZE_MAX, &u)) {
		ctx->max_frame = (size_t)u;
		return u > 0;
	}
	if (strcmp(key, "parent") == 0 && exec_uint(v, INT_MAX, &u)) {
		ctx->parent = (pid_t)u;
		return u > 0;
	}
	if (strcmp(key, "max_memory") == 0 && exec_uint(v, SIZE_MAX, &u)) {
		ctx->max_memory = (size_t)u;
		return true;
	}
	if (strcmp(key, "max_cpu") == 0) {
		ctx->max_cpu = strtod(v, &end);
		return end != v && *end == '\0' && ctx->max_cpu >= 0;
	}
	if (strcmp(key, "max_files") == 0)
		return exec_long(v, &cfg->max_files);
	if (strcmp(key, "max_procs") == 0)
		return exec_long(v, &cfg->max_procs);
	if (strcmp(key, "uid") == 0 && exec_uint(v, UINT_MAX, &u)) {
		cfg->uid = (unsigned)u;
		return true;
	}
	if (strcmp(key, "gid") == 0 && exec_uint(v, UINT_MAX, &u)) {
		cfg->gid = (unsigned)u;
		return true;
	}
	if (strcmp(key, "no_new_privs") == 0 && exec_uint(v, 1, &u)) {
		cfg->no_new_privs = u != 0;
		return true;
	}
	if (strcmp(key, "groups") == 0)
		return exec_groups(es, v);
	return false;
}

/* "key=value key=value ...", every key once; false if anything is amiss
 * (a program started by hand with a variable of that name).  Also read by
 * the fork server of a host of remote workers (server.c). */
bool
worker_setup_parse(struct worker_setup *es, const char *setup)
{
	char *copy, *tok, *save, *eq;
	bool ok = true;
	int seen = 0;

	if ((copy = strdup(setup)) == NULL)
		return false;
	for (tok = strtok_r(copy, " ", &save); tok != NULL && ok;
	    tok = strtok_r(NULL, " ", &save)) {
		if ((eq = strchr(tok, '=')) == NULL) {
			ok = false;
			break;
		}
		*eq = '\0';
		ok = exec_field(es, tok, eq + 1);
		seen++;
	}
	free(copy);
	return ok && seen == 12;
}

/*
 * A program's table of tasks: its registry, and the names a worker tells
 * in its hello (ctx->names).  What an exec'd worker program runs, and a
 * host of remote workers (src/host.c).  0, or a PROCQ_ error code.
 */
int
worker_task_table(const procq_worker_task *tasks, struct registry *reg,
    const char ***names, struct worker_ctx *ctx)
{
	size_t n = 0;
	int rc;

	while (tasks[n].name != NULL)
		n++;
	if ((*names = calloc(n + 1, sizeof **names)) == NULL)
		return PROCQ_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (*tasks[i].name == '\0' || tasks[i].fn == NULL)
			return PROCQ_EINVAL;
		if ((rc = registry_add(reg, tasks[i].name, tasks[i].fn)) != 0)
			return rc;
		(*names)[i] = tasks[i].name;
	}
	ctx->names = *names;
	ctx->nnames = n;
	return 0;
}

/* The registry the loop looks tasks up in, and the names told in the
 * hello.  0, or an errno value. */
static int
exec_table(struct exec_setup *es, const procq_worker_task *tasks)
{
	int rc;

	registry_init(&es->registry);
	rc = worker_task_table(tasks, &es->registry, &es->names, &es->ws.ctx);
	if (rc == 0)
		return 0;
	if (rc == PROCQ_EINVAL)
		return EINVAL;
	return rc == PROCQ_EEXIST ? EEXIST : ENOMEM;
}

int
procq_worker_main(int argc, char **argv, const procq_worker_task *tasks)
{
	static struct exec_setup es;
	const char *setup = getenv(WORKER_SETUP_ENV);
	const char *me = argc > 0 && argv[0] != NULL ? argv[0] : "worker";
	int rc;

	if (setup == NULL) {
		fprintf(stderr, "%s: this is a procq worker program: a queue "
		    "whose start method is exec runs it (procq_worker_main(3))"
		    "\n", me);
		return 2;
	}
	memset(&es, 0, sizeof es);
	if (!worker_setup_parse(&es.ws, setup)) {
		fprintf(stderr, "%s: %s is not a procq worker's setup\n", me,
		    WORKER_SETUP_ENV);
		return 2;
	}
	/* Tasks, and the programs they run, never see it. */
	unsetenv(WORKER_SETUP_ENV);
	es.ws.cfg.start_method = PROCQ_START_EXEC;
	es.ws.ctx.config = &es.ws.cfg;
	es.ws.ctx.registry = &es.registry;
	es.ws.ctx.in_fd = WORKER_IN_FD;
	es.ws.ctx.out_fd = WORKER_OUT_FD;
	es.ws.ctx.err_fd = -1; /* put on 2 by the supervisor, or its own */
	es.ws.ctx.board = NULL;
	es.ws.ctx.board_fd = WORKER_BOARD_FD;
	if (tasks == NULL)
		worker_setup_failed(WORKER_OUT_FD,
		    "the worker program has no task table", EINVAL);
	if ((rc = exec_table(&es, tasks)) != 0)
		worker_setup_failed(WORKER_OUT_FD,
		    "the worker program's task table", rc);
	/* What the program printed in its own setup is its own: the loop
	 * discards buffered output a forked worker inherited. */
	fflush(stdout);
	fflush(stderr);
	worker_main(&es.ws.ctx);
}
