/* The child side: what a worker process runs after fork(). */
#ifndef PROCQ_WORKER_H
#define PROCQ_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#include <msgpack.h>

#include "procq.h"
#include "../src/board.h"
#include "../src/pack.h"
#include "../src/registry.h"

/* Fixed descriptors of a worker: tasks arrive on 3, results leave on 4. */
#define WORKER_IN_FD	3
#define WORKER_OUT_FD	4

struct worker_ctx {
	const struct registry	*registry;
	uint64_t		 id_base;
	size_t			 max_frame;
	pid_t			 parent;
	int			 in_fd;
	int			 out_fd;
	procq_fn		 initializer;
	const void		*initargs;
	size_t			 initargs_len;
	size_t			 max_memory;
	double			 max_cpu;
	int			 err_fd;	/* becomes stderr; -1 = inherit */
	const procq_config	*config;	/* read-only copy after fork */
	board_cell		*board;		/* shared with the supervisor,
						 * mapped before fork; or NULL */
	int			 board_fd;	/* else mapped from this */
	const char *const	*names;		/* an exec'd worker's tasks,
						 * told in its hello */
	size_t			 nnames;
};

struct procq_call {
	const char		*name;
	uint64_t		 id_value;
	char			 id[17];	/* formatted when first asked */
	int			 attempt;
	const char		*args_data;
	size_t			 args_len;
	msgpack_object		 args;
	msgpack_sbuffer		*ret;		/* the return value, packed;
						 * the worker's buffer */
	msgpack_packer		 packer;
	char			*error_type;
	char			*error_message;
	uint64_t		 wire_id;
	size_t			 max_frame;
	bool			 can_report;	/* progress: tasks only */
};

/*
 * The only way out of a worker or the fork server.  A process writes its
 * coverage counters in an exit handler, which _exit() skips: in a
 * coverage build (configure --enable-coverage) they are written first.
 * Not from a signal handler: writing them is not async-signal-safe.
 */
#ifdef PROCQ_COVERAGE
void __gcov_dump(void);
#endif

static inline void worker_exit(int status) __attribute__((noreturn));

static inline void
worker_exit(int status)
{
#ifdef PROCQ_COVERAGE
	__gcov_dump();
#endif
	_exit(status);	/* GCOVR_EXCL_LINE: counted after the dump */
}

/* limits.c */
void limits_apply(const struct worker_ctx *ctx);
void limits_arm_cpu(const struct worker_ctx *ctx);
void limits_out_of_memory(void);
int limits_drop_privileges(const procq_config *cfg, char *why, size_t len);

/* exec.c: the environment variable that carries an exec'd worker's
 * setup, and its descriptors besides 3 and 4. */
#define WORKER_SETUP_ENV	"PROCQ_WORKER_SETUP"
#define WORKER_BOARD_FD		5

/* exec.c: a worker's setup, as the supervisor writes it (spawn_setup()):
 * what an exec'd worker and a remote one read, in place of a forked
 * copy of the queue's configuration. */
struct worker_setup {
	struct worker_ctx ctx;
	procq_config cfg;
	unsigned *groups;
};

bool worker_setup_parse(struct worker_setup *ws, const char *setup);
int worker_task_table(const procq_worker_task *tasks, struct registry *reg,
    const char ***names, struct worker_ctx *ctx);

/* worker.c */
void worker_write_all(const char *p, size_t len);

void worker_main(const struct worker_ctx *ctx) __attribute__((noreturn));
void worker_setup_failed(int fd, const char *what, int err)
    __attribute__((noreturn));
void worker_reset_signals(void);
void worker_release_heap(void);
void call_init(procq_call *c, msgpack_sbuffer *ret);
void call_reset(procq_call *c);

#endif
