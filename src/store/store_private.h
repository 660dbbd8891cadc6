/*
 * The checkpoint store's state, shared by store.c (opening, lookups) and
 * writer.c (the thread that commits).  Nothing else sees it.
 */
#ifndef PROCQ_STORE_PRIVATE_H
#define PROCQ_STORE_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/keyset.h"
#include "store/keyset.h"
#include "store/store.h"

/* PRAGMA application_id of a procq store: "PRQ1" */
#define STORE_APPLICATION_ID 0x50525131
/* PRAGMA user_version: the schema this procq reads and writes */
#define STORE_SCHEMA_VERSION 1
/* How long a statement waits for another process's lock, in ms. */
#define STORE_BUSY_MS 60000

/* clang-format off */
struct store_record;

struct store {
	char			*run;

	/* Lookups, from the threads that submit: one at a time, under
	 * read_lock, which also guards done and the read transaction. */
	pthread_mutex_t		 read_lock;
	sqlite3			*rdb;
	sqlite3_stmt		*lookup;
	struct keyset		 done;		/* rows of the batch's
						 * successes: at opening, and
						 * each one committed since */
	bool			 reading;	/* rdb is in a transaction */
	int			 reads;		/* lookups in it */

	/* The writer thread's own connection and statement. */
	sqlite3			*wdb;
	sqlite3_stmt		*insert;
	pthread_t		 thread;
	bool			 thread_started;

	/* What waits to be committed: under lock. */
	pthread_mutex_t		 lock;
	pthread_cond_t		 more;		/* records queued, or stop */
	pthread_cond_t		 committed_cond; /* a batch was written */
	struct store_record	*head;
	struct store_record	**tail;
	uint64_t		 queued;	/* records ever put */
	uint64_t		 written;	/* of them, done with */
	bool			 stop;
	bool			 idle;		/* the writer waits for more */
	int			 error;		/* first failed write */
	char			 message[256];
};
/* clang-format on */

int store_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt);
int store_code(int sqlite_rc);
void store_read_end(struct store *s);

#endif
