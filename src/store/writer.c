/*
 * The checkpoint store's writer: a thread that commits finished tasks in
 * batches.  Whatever was put while the last commit was being synced
 * goes in the next one, so a store costs one sync per batch, not per
 * task, and the engine's thread never waits for the disk.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "procq.h"
#include "clock.h"
#include "store/store_private.h"

struct store_record {
	struct store_record *next;
	int64_t row; /* its rowid, once inserted */
	struct store_entry e;
	void (*release)(void *); /* lets go of e's strings and value */
	void *arg;
	/* the key follows */
};

/* A success stands even when the same key fails later (a second process
 * ran it too): lookups read the row of a success. */
static const char insert_sql[] =
    "INSERT INTO task (run, key, status, name, task, grp, attempts,"
    " duration, submitted, started, finished, value, error_type,"
    " error_message)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

/* One allocation per record, with the key: the rest the caller lends
 * until its release function runs, so the engine's thread copies no
 * value and no strings. */
static struct store_record *
record_new(const struct store_entry *e, void (*release)(void *), void *arg)
{
	size_t keylen = strlen(e->key) + 1;
	struct store_record *r;

	if ((r = malloc(sizeof *r + keylen)) == NULL)
		return NULL;
	r->next = NULL;
	r->row = 0;
	r->e = *e;
	memcpy(r + 1, e->key, keylen);
	r->e.key = (const char *)(r + 1);
	r->release = release;
	r->arg = arg;
	return r;
}

static void
record_free(struct store_record *r)
{
	if (r->release != NULL)
		r->release(r->arg);
	free(r);
}

int
store_put(struct store *s, const struct store_entry *e,
    void (*release)(void *), void *arg)
{
	struct store_record *r;

	if ((r = record_new(e, release, arg)) == NULL) {
		if (release != NULL)
			release(arg);
		pthread_mutex_lock(&s->lock);
		if (s->error == 0) {
			s->error = PROCQ_ENOMEM;
			snprintf(s->message, sizeof s->message,
			    "out of memory: a finished task was not recorded");
		}
		pthread_mutex_unlock(&s->lock);
		return PROCQ_ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	*s->tail = r;
	s->tail = &r->next;
	s->queued++;
	/* A writer that is committing takes this one with its next batch:
	 * only a waiting one needs waking. */
	if (s->idle)
		pthread_cond_signal(&s->more);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void
bind_time(sqlite3_stmt *st, int i, double t)
{
	if (t > 0)
		sqlite3_bind_double(st, i, t);
	else
		sqlite3_bind_null(st, i);
}

static int
writer_insert(struct store *s, const struct store_entry *e)
{
	sqlite3_stmt *st = s->insert;
	int rc;

	sqlite3_bind_text(st, 1, s->run, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, e->task, -1, SQLITE_STATIC);
	bind_text(st, 6, e->group);
	sqlite3_bind_int(st, 7, e->attempts);
	sqlite3_bind_double(st, 8, e->duration);
	sqlite3_bind_double(st, 9, e->submitted);
	bind_time(st, 10, e->started);
	sqlite3_bind_double(st, 11, e->finished);
	if (e->value != NULL)
		sqlite3_bind_blob(st, 12, e->value, (int)e->value_len,
		    SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 12);
	bind_text(st, 13, e->error_type);
	bind_text(st, 14, e->error_message);
	/* Every parameter is bound again for the next row. */
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* One transaction for the whole batch: all of it is durable, or none.
 * What failed is kept in why before the rollback, which would replace
 * SQLite's message with its own. */
static int
writer_commit(struct store *s, struct store_record *batch, char *why,
    size_t size)
{
	int rc;

	rc = sqlite3_exec(s->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	for (struct store_record *r = batch; r != NULL && rc == SQLITE_OK;
	     r = r->next)
		if ((rc = writer_insert(s, &r->e)) == SQLITE_OK)
			r->row = sqlite3_last_insert_rowid(s->wdb);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->wdb, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, size, "%s", sqlite3_errmsg(s->wdb));
		sqlite3_exec(s->wdb, "ROLLBACK", NULL, NULL, NULL);
	}
	return rc;
}

/* The first failure is kept for procq_checkpoint_error(); the tasks of a
 * batch that failed are not recorded, and run again on a rerun. */
static void
writer_failed(struct store *s, int rc, const char *why)
{
	if (s->error != 0)
		return;
	s->error = store_code(rc);
	snprintf(s->message, sizeof s->message, "%s", why);
}

/* What was just committed is known to lookups from now on: their set
 * has its keys, and their next read sees its rows. */
static void
writer_note_done(struct store *s, struct store_record *batch)
{
	pthread_mutex_lock(&s->read_lock);
	for (struct store_record *r = batch; r != NULL; r = r->next)
		if (strcmp(r->e.status, "succeeded") == 0)
			/* Out of memory, the key is left out: a task
			 * submitted again with it runs again. */
			(void)keyset_add(&s->done, keyset_hash(r->e.key),
			    r->row);
	store_read_end(s);
	pthread_mutex_unlock(&s->read_lock);
}

static void *
writer_main(void *arg)
{
	struct store *s = arg;
	struct store_record *batch, *r;
	char why[sizeof s->message];
	uint64_t n;
	int rc;

	pthread_setname_np(pthread_self(), "procq-store");

	pthread_mutex_lock(&s->lock);
	for (;;) {
		s->idle = true;
		while (s->head == NULL && !s->stop)
			pthread_cond_wait(&s->more, &s->lock);
		s->idle = false;
		if (s->head == NULL)
			break;
		batch = s->head;
		s->head = NULL;
		s->tail = &s->head;
		n = s->queued - s->written;
		pthread_mutex_unlock(&s->lock);
		rc = writer_commit(s, batch, why, sizeof why);
		if (rc == SQLITE_OK)
			writer_note_done(s, batch);
		while ((r = batch) != NULL) {
			batch = r->next;
			record_free(r);
		}
		pthread_mutex_lock(&s->lock);
		if (rc != SQLITE_OK)
			writer_failed(s, rc, why);
		s->written += n;
		pthread_cond_broadcast(&s->committed_cond);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* The writer's lock and conditions; on failure none is left made. */
static int
writer_init_sync(struct store *s)
{
	pthread_condattr_t attr;
	int made = 0;

	if (pthread_mutex_init(&s->lock, NULL) != 0)
		return PROCQ_ENOMEM;
	made++;
	if (pthread_cond_init(&s->more, NULL) != 0)
		goto fail;
	made++;
	if (pthread_condattr_init(&attr) != 0)
		goto fail;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&s->committed_cond, &attr) != 0) {
		pthread_condattr_destroy(&attr);
		goto fail;
	}
	pthread_condattr_destroy(&attr);
	return 0;
fail:
	if (made > 1)
		pthread_cond_destroy(&s->more);
	pthread_mutex_destroy(&s->lock);
	return PROCQ_ENOMEM;
}

int
store_writer_start(struct store *s, const char *path)
{
	int rc;

	if ((rc = writer_init_sync(s)) != 0)
		return rc;
	s->tail = &s->head;
	rc = sqlite3_open_v2(path, &s->wdb,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return store_code(rc);
	sqlite3_busy_timeout(s->wdb, STORE_BUSY_MS);
	sqlite3_extended_result_codes(s->wdb, 1);
	/* synchronous is a connection's setting, not the file's.  The log
	 * is copied back into the file every 32 MiB, not every 4. */
	if (sqlite3_exec(s->wdb,
		"PRAGMA synchronous = FULL; PRAGMA cache_size = -8192;"
		"PRAGMA wal_autocheckpoint = 8192",
		NULL, NULL, NULL) != SQLITE_OK)
		return store_code(sqlite3_errcode(s->wdb));
	if ((rc = store_prepare(s->wdb, insert_sql, &s->insert)) != 0)
		return rc;
	if (pthread_create(&s->thread, NULL, writer_main, s) != 0)
		return PROCQ_ESYS;
	s->thread_started = true;
	return 0;
}

/* Commits what is queued, then ends the thread. */
void
store_writer_stop(struct store *s)
{
	if (s->thread_started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_signal(&s->more);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
		s->thread_started = false;
	}
	sqlite3_finalize(s->insert);
	s->insert = NULL;
	sqlite3_close(s->wdb);
	s->wdb = NULL;
	if (s->tail != NULL) {
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->more);
		pthread_cond_destroy(&s->committed_cond);
		s->tail = NULL;
	}
}

/* Waits until everything put so far is committed (or failed): the
 * guarantee procq_run() and procq_checkpoint_sync() give. */
int
store_sync(struct store *s, double timeout)
{
	struct timespec deadline;
	uint64_t target;
	int rc = 0;

	if (timeout >= 0)
		deadline = procq_clock_deadline(timeout);
	pthread_mutex_lock(&s->lock);
	target = s->queued;
	while (s->written < target && rc == 0)
		rc = timeout >= 0 ?
		    pthread_cond_timedwait(&s->committed_cond, &s->lock,
			&deadline) :
		    pthread_cond_wait(&s->committed_cond, &s->lock);
	if (s->written < target)
		rc = PROCQ_ETIMEDOUT;
	else
		rc = s->error;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

const char *
store_error(struct store *s)
{
	const char *msg;

	pthread_mutex_lock(&s->lock);
	msg = s->error != 0 ? s->message : NULL;
	pthread_mutex_unlock(&s->lock);
	return msg;
}
