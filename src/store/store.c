/*
 * Opening a checkpoint store: the file is checked before anything is
 * written to it, so that a file that is not a procq store, one of a
 * newer procq, or a damaged one is refused untouched.  Then lookups:
 * has this key succeeded before?
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "procq.h"
#include "clock.h"
#include "store/store_private.h"

/* clang-format off */
/*
 * One row per task that became final, appended in the order they end: a
 * task that failed in two runs has two rows.  There is no index: a queue
 * keeps the rowid of each success of its batch in memory (keyset.c), and
 * reads a row by its rowid.  Appending touches only the last pages.
 * The status is checked by comparisons: SQLite would check an IN list of
 * three by building a temporary b-tree for every row inserted.
 */
static const char schema[] =
    "CREATE TABLE task ("
    " run TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " status TEXT NOT NULL"
    "  CHECK (status = 'succeeded' OR status = 'failed'"
    "   OR status = 'cancelled'),"
    " name TEXT NOT NULL,"
    " task TEXT NOT NULL,"
    " grp TEXT,"
    " attempts INTEGER NOT NULL,"
    " duration REAL NOT NULL,"
    " submitted REAL NOT NULL,"
    " started REAL,"
    " finished REAL NOT NULL,"
    " value BLOB,"
    " error_type TEXT,"
    " error_message TEXT"
    ");";
/* clang-format on */

/* What a SQLite error means to the caller. */
int
store_code(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_NOTADB:
		return PROCQ_ENOTSTORE;
	case SQLITE_CORRUPT:
		return PROCQ_ECORRUPT;
	case SQLITE_NOMEM:
		return PROCQ_ENOMEM;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_READONLY:
		return PROCQ_ESYS;
	default:
		return PROCQ_ESTORE;
	}
}

int
store_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt)
{
	int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    stmt, NULL);

	return rc == SQLITE_OK ? 0 : store_code(rc);
}

/* Runs a statement that returns one integer (a pragma). */
static int
store_int(sqlite3 *db, const char *sql, long long *value)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return store_code(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*value = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : store_code(rc);
}

static int
store_exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_code(rc);
}

/* A whole check of the b-trees: a damaged file is refused here rather
 * than failing a lookup in the middle of a run. */
static int
store_check(sqlite3 *db)
{
	sqlite3_stmt *st;
	const unsigned char *text;
	int rc, code = 0;

	if ((rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st,
		 NULL)) != SQLITE_OK)
		return store_code(rc);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		code = store_code(rc);
	else if ((text = sqlite3_column_text(st, 0)) == NULL ||
	    strcmp((const char *)text, "ok") != 0)
		code = PROCQ_ECORRUPT;
	sqlite3_finalize(st);
	return code;
}

/* An empty file becomes a store; two processes may race to make it, so
 * the check is repeated under the write lock. */
static int
store_create_schema(sqlite3 *db)
{
	long long id = 0;
	int rc;

	if ((rc = store_exec(db, "BEGIN IMMEDIATE")) != 0)
		return rc;
	if ((rc = store_int(db,
		 "SELECT (SELECT application_id FROM "
		 "pragma_application_id) + (SELECT count(*) FROM sqlite_schema)",
		 &id)) == 0 &&
	    id == 0) {
		if ((rc = store_exec(db, schema)) == 0)
			rc = store_exec(db,
			    "PRAGMA application_id = 1347572017;"
			    "PRAGMA user_version = 1");
	}
	if (rc == 0)
		rc = store_exec(db, "COMMIT");
	if (rc != 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Reads what the file says it is, writing nothing.  One statement, so
 * one snapshot: another process may be making the store meanwhile. */
static int
store_identify(sqlite3 *db, bool made)
{
	long long id = 0, version = 0, tables = 0;
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqlite3_prepare_v2(db,
		 "SELECT"
		 " (SELECT application_id FROM pragma_application_id),"
		 " (SELECT user_version FROM pragma_user_version),"
		 " (SELECT count(*) FROM sqlite_schema)",
		 -1, &st, NULL)) != SQLITE_OK)
		return store_code(rc);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		version = sqlite3_column_int64(st, 1);
		tables = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return store_code(rc);
	/* Made empty here (or by another process meanwhile), and looked at
	 * again: what is there now is checked like any other file. */
	if (id == 0 && version == 0 && tables == 0 && !made)
		return (rc = store_create_schema(db)) != 0 ?
		    rc :
		    store_identify(db, true);
	if (id != STORE_APPLICATION_ID)
		return PROCQ_ENOTSTORE;
	if (version > STORE_SCHEMA_VERSION)
		return PROCQ_ESTOREVERSION;
	if (version < 1)
		return PROCQ_ECORRUPT;
	return store_check(db);
}

/*
 * Turns the file to WAL mode, which takes the write lock from inside a
 * read transaction: there SQLite answers SQLITE_BUSY at once instead of
 * calling the busy handler, so a process opening the store while another
 * one makes it waits by itself, as long as a busy handler would.
 */
static int
store_use_wal(sqlite3 *db)
{
	double deadline = procq_clock_now() + STORE_BUSY_MS / 1000.0;
	int pause_ms = 1, rc;

	for (;;) {
		rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL,
		    NULL);
		if ((rc & 0xff) != SQLITE_BUSY || procq_clock_now() > deadline)
			break;
		sqlite3_sleep(pause_ms);
		if (pause_ms < 64)
			pause_ms *= 2;
	}
	return rc == SQLITE_OK ? 0 : store_code(rc);
}

static int
store_connect(const char *path, sqlite3 **db)
{
	int rc;

	rc = sqlite3_open_v2(path, db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		/* SQLite hands back a connection even when it fails. */
		int saved = sqlite3_system_errno(*db);

		sqlite3_close(*db);
		*db = NULL;
		errno = saved;
		return store_code(rc);
	}
	sqlite3_busy_timeout(*db, STORE_BUSY_MS);
	sqlite3_extended_result_codes(*db, 1);
	return 0;
}

/* The keys the batch has done and their rows, read once: a new task's
 * lookup then reads the file only when its key is one of them. */
static int
store_load_done(struct store *s)
{
	sqlite3_stmt *st;
	const unsigned char *key;
	int rc, code = 0;

	if ((rc = sqlite3_prepare_v2(s->rdb,
		 "SELECT rowid, key FROM task WHERE run = ?1 AND "
		 "status = 'succeeded'",
		 -1, &st, NULL)) != SQLITE_OK)
		return store_code(rc);
	sqlite3_bind_text(st, 1, s->run, -1, SQLITE_STATIC);
	while (code == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((key = sqlite3_column_text(st, 1)) != NULL &&
		    keyset_add(&s->done, keyset_hash((const char *)key),
			sqlite3_column_int64(st, 0)) != 0)
			code = PROCQ_ENOMEM;
	if (code == 0 && rc != SQLITE_DONE)
		code = store_code(rc);
	sqlite3_finalize(st);
	return code;
}

static int
store_init(struct store *s, const char *path)
{
	int rc;

	if ((rc = store_connect(path, &s->rdb)) != 0 ||
	    (rc = store_identify(s->rdb, false)) != 0)
		return rc;
	/* Only now that it is known to be a procq store: WAL lets lookups
	 * read while the writer commits, and FULL makes each commit
	 * durable (the WAL is synced) before it returns. */
	if ((rc = store_use_wal(s->rdb)) != 0 ||
	    (rc = store_exec(s->rdb, "PRAGMA synchronous = FULL")) != 0)
		return rc;
	if ((rc = store_prepare(s->rdb,
		 "SELECT value, attempts, duration FROM task WHERE rowid = ?3 "
		 "AND run = ?1 AND key = ?2 AND status = 'succeeded'",
		 &s->lookup)) != 0 ||
	    (rc = store_load_done(s)) != 0)
		return rc;
	return store_writer_start(s, path);
}

int
store_open(const char *path, const char *run, struct store **out)
{
	struct store *s;
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return PROCQ_ENOMEM;
	if ((s->run = strdup(run != NULL ? run : "default")) == NULL) {
		free(s);
		return PROCQ_ENOMEM;
	}
	if (pthread_mutex_init(&s->read_lock, NULL) != 0) {
		free(s->run);
		free(s);
		return PROCQ_ENOMEM;
	}
	if ((rc = store_init(s, path)) != 0) {
		store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

/* Commits what is queued, stops the writer and closes the file. */
void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	store_writer_stop(s);
	store_read_end(s);
	sqlite3_finalize(s->lookup);
	sqlite3_close(s->rdb);
	keyset_free(&s->done);
	pthread_mutex_destroy(&s->read_lock);
	free(s->run);
	free(s);
}

static int
store_hit_copy(sqlite3_stmt *st, struct store_hit *hit)
{
	const void *value = sqlite3_column_blob(st, 0);
	int len = sqlite3_column_bytes(st, 0);

	hit->value = NULL;
	hit->value_len = 0;
	if (value != NULL && len > 0) {
		if ((hit->value = malloc((size_t)len)) == NULL)
			return PROCQ_ENOMEM;
		memcpy(hit->value, value, (size_t)len);
		hit->value_len = (size_t)len;
	}
	hit->attempts = sqlite3_column_int(st, 1);
	hit->duration = sqlite3_column_double(st, 2);
	return 0;
}

/* Lookups that find rows share one read transaction, of at most this many,
 * instead of taking SQLite's locks (system calls) for each. */
#define STORE_READS_PER_TRANSACTION 1024

/* Ends the lookups' read transaction, so that the next one sees what was
 * committed since and the log can be checkpointed.  read_lock held. */
void
store_read_end(struct store *s)
{
	if (!s->reading)
		return;
	sqlite3_exec(s->rdb, "COMMIT", NULL, NULL, NULL);
	s->reading = false;
}

static int
store_read_row(struct store *s, const char *key, int64_t row,
    struct store_hit *hit)
{
	int rc, found = 0;

	if (!s->reading) {
		if ((rc = sqlite3_exec(s->rdb, "BEGIN", NULL, NULL, NULL)) !=
		    SQLITE_OK)
			return store_code(rc);
		s->reading = true;
		s->reads = 0;
	}
	sqlite3_bind_text(s->lookup, 1, s->run, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->lookup, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s->lookup, 3, (sqlite3_int64)row);
	rc = sqlite3_step(s->lookup);
	if (rc == SQLITE_ROW)
		found = store_hit_copy(s->lookup, hit) == 0 ? 1 : PROCQ_ENOMEM;
	else if (rc != SQLITE_DONE)
		found = store_code(rc);
	sqlite3_reset(s->lookup);
	sqlite3_clear_bindings(s->lookup);
	if (found < 0 || ++s->reads >= STORE_READS_PER_TRANSACTION)
		store_read_end(s);
	return found;
}

/* 1 and *hit filled when the key succeeded before in this run's batch,
 * 0 when not, or an error. */
int
store_lookup(struct store *s, const char *key, struct store_hit *hit)
{
	uint64_t h = keyset_hash(key);
	int64_t row;
	int found = 0;

	pthread_mutex_lock(&s->read_lock);
	/* A row of another key with the same hash does not match: the
	 * task runs. */
	if (keyset_find(&s->done, h, &row))
		found = store_read_row(s, key, row, hit);
	pthread_mutex_unlock(&s->read_lock);
	return found;
}
