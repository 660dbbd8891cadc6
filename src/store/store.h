/*
 * The checkpoint store: a SQLite file of finished tasks, so that a rerun
 * of a batch skips what already succeeded (procq_config.checkpoint).
 *
 * store.c opens and checks the file and looks keys up for the threads
 * that submit; writer.c commits finished tasks on a thread of its own,
 * in batches.  Neither knows the engine: checkpoint.c joins them to it.
 */
#ifndef PROCQ_STORE_H
#define PROCQ_STORE_H

#include <stdbool.h>
#include <stddef.h>

struct store;

/* A finished task, as the writer commits it.  Times are wall-clock
 * seconds since the epoch; started is 0 for a task that never ran. */
struct store_entry {
	const char *key;
	const char *status; /* "succeeded", "failed", "cancelled" */
	const char *name;
	const char *task;
	const char *group; /* or NULL */
	int attempts;
	double duration;
	double submitted;
	double started;
	double finished;
	const void *value; /* msgpack, or NULL */
	size_t value_len;
	const char *error_type;	   /* or NULL */
	const char *error_message; /* or NULL */
};

/* What a lookup found of a key that succeeded before. */
struct store_hit {
	void *value; /* malloc'd msgpack, or NULL */
	size_t value_len;
	int attempts;
	double duration;
};

int store_open(const char *path, const char *run, struct store **out);
void store_close(struct store *s);
int store_lookup(struct store *s, const char *key, struct store_hit *hit);
/* e's key is copied; its other strings and its value stay the caller's
 * until release(arg) runs, on the writer's thread after the commit (or at
 * once, when the put fails). */
int store_put(struct store *s, const struct store_entry *e,
    void (*release)(void *), void *arg);
int store_sync(struct store *s, double timeout);
const char *store_error(struct store *s);

/* writer.c, for store.c */
int store_writer_start(struct store *s, const char *path);
void store_writer_stop(struct store *s);

#endif
