/*
 * Commands to the engine (command.c): how a thread that is not the
 * engine's changes engine state.  The rule is stated at the top of
 * command.c.
 */
#ifndef PROCQ_COMMAND_H
#define PROCQ_COMMAND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "procq.h"
#include "task.h"

typedef int (*command_fn)(procq_queue *q, void *arg);

/* A command that its caller waits for: it lives on the caller's stack. */
struct command {
	struct command		*next;
	command_fn		 fn;
	void			*arg;
	int			 rc;
	bool			 done;
};

/* A command posted and not waited for: copied into the queue. */
typedef void (*post_fn)(procq_queue *q, void *a, void *b, size_t n);

struct post {
	post_fn			 fn;
	void			*a;
	void			*b;
	size_t			 n;
};

struct command_queue {
	pthread_mutex_t		 lock;
	pthread_cond_t		 ran;		/* a waited-for command ran */
	struct task_list	 submits;	/* new tasks, in order */
	struct post		*posts;		/* in order */
	size_t			 nposts;
	size_t			 posts_cap;
	struct command		*head;		/* commands waited for */
	struct command		**tail;
	bool			 owner;		/* a loop runs commands */
	bool			 woken;		/* the loop is told, and has
						 * not yet taken them */
	bool			 closed;	/* no more submissions */
	atomic_bool		 posted;	/* something waits: read
						 * without the lock by a
						 * lingering owner */
};

int command_init(struct command_queue *cq);
void command_destroy(struct command_queue *cq);
int command_call(procq_queue *q, command_fn fn, void *arg);
int command_submit(procq_queue *q, struct task_list *batch, size_t n,
    const char *name, bool counted);
void command_post(procq_queue *q, post_fn fn, void *a, void *b, size_t n);
void command_run(procq_queue *q);
void command_wake(procq_queue *q);
bool command_linger(procq_queue *q, double seconds);
bool command_posted(procq_queue *q);
void command_own(procq_queue *q, bool owner);
void command_close(procq_queue *q);

/* The two sides of a submit (submit.c): finding the function, on the
 * caller's side; placing the task, on the owner's. */
int submit_resolve(procq_queue *q, struct task_list *batch, const char *name);
void submit_place(procq_queue *q, procq_handle *t);

#endif
