/*
 * The checkpoint store (procq_config.checkpoint): a rerun resumes what
 * succeeded, reruns what did not, survives its caller's SIGKILL, shares
 * a file between processes and runs, and refuses files that are not its
 * own without touching them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/sha256.h"
#include "util.h"

/* mark(path, i, pad): appends "i\n" to path (the task's side effect, in
 * one write), waits a little, and returns [i * 2, pad]. */
static int
mark_task(procq_call *c)
{
	const char *path;
	size_t path_len, pad_len;
	const void *pad;
	char line[32], file[512];
	int64_t i;
	int fd, n;

	if (procq_call_unpack(c, "Sly", &path, &path_len, &i, &pad,
		&pad_len) != 0 ||
	    path_len >= sizeof file)
		return procq_call_fail(c, "ArgError", "bad arguments");
	memcpy(file, path, path_len);
	file[path_len] = '\0';
	n = snprintf(line, sizeof line, "%lld\n", (long long)i);
	if ((fd = open(file, O_WRONLY | O_APPEND)) < 0 ||
	    !write_all(fd, line, (size_t)n))
		return procq_call_fail(c, "IOError", "%s", strerror(errno));
	close(fd);
	nap(0.0001);
	return procq_call_return(c, "ly", i * 2, pad, pad_len);
}

static int
fail_task(procq_call *c)
{
	return procq_call_fail(c, "Nope", "it never works");
}

static const procq_worker_task tasks[] = { { "mark", mark_task },
	{ "fail", fail_task }, { NULL, NULL } };

struct dir {
	char path[128];
	char store[192];
	char effects[192];
};

static void
dir_make(struct dir *d)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(d->path, sizeof d->path, "%s/procq-ckpt-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(d->path));
	snprintf(d->store, sizeof d->store, "%s/store.db", d->path);
	snprintf(d->effects, sizeof d->effects, "%s/effects", d->path);
	ck_assert_int_ge(fd = open(d->effects, O_CREAT | O_WRONLY, 0600), 0);
	close(fd);
}

static void
dir_remove(struct dir *d)
{
	char cmd[256];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
	ck_assert_int_eq(system(cmd), 0);
}

static int starts;

static void
count_start(procq_handle *h, void *arg)
{
	(void)h;
	(void)arg;
	__atomic_add_fetch(&starts, 1, __ATOMIC_RELAXED);
}

static procq_queue *
store_queue(const char *store, const char *run, int workers, int *err)
{
	procq_config cfg = { .workers = workers,
		.checkpoint = store,
		.checkpoint_run = run,
		.on_start = count_start };

	return test_create_with(&cfg, tasks, false, err);
}

static procq_queue *
store_queue_ok(const char *store, const char *run, int workers)
{
	procq_queue *q;
	int err = 0;

	q = store_queue(store, run, workers, &err);
	ck_assert_msg(q != NULL, "%s", procq_strerror(err));
	return q;
}

static void
submit_marks(procq_queue *q, const char *effects, int from, int n, size_t pad,
    procq_handle **hs)
{
	static const char zeros[4096];

	ck_assert_uint_le(pad, sizeof zeros);
	for (int i = 0; i < n; i++) {
		int rc = procq_submitf(q, "mark", NULL,
		    hs != NULL ? &hs[i] : NULL, "sly", effects,
		    (int64_t)(from + i), zeros, pad);

		ck_assert_msg(rc == 0, "submit: %s (%s)", procq_strerror(rc),
		    procq_checkpoint_error(q) ? procq_checkpoint_error(q) :
						"-");
	}
}

/* How often each i in [0, n) appears in the effects file. */
static int *
effects_count(const char *effects, int n)
{
	int *count = calloc((size_t)n, sizeof *count);
	FILE *fp = fopen(effects, "r");
	long long i;

	ck_assert_ptr_nonnull(count);
	ck_assert_ptr_nonnull(fp);
	while (fscanf(fp, "%lld", &i) == 1) {
		ck_assert(i >= 0 && i < n);
		count[i]++;
	}
	fclose(fp);
	return count;
}

/* One integer from the store, read with SQLite directly. */
static long long
store_query(const char *store, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;

	ck_assert_int_eq(sqlite3_open_v2(store, &db, SQLITE_OPEN_READONLY,
			     NULL),
	    SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* SQLite's primary result code for sql run on the store. */
static int
store_exec_rc(const char *store, const char *sql)
{
	sqlite3 *db;
	int rc;

	ck_assert_int_eq(sqlite3_open(store, &db), SQLITE_OK);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc & 0xff;
}

static void
store_exec(const char *store, const char *sql)
{
	ck_assert_int_eq(store_exec_rc(store, sql), SQLITE_OK);
}

START_TEST(test_sha256_vectors)
{
	static const struct {
		const char *in;
		const char *hex;
	} v[] = {
		{ "",
		    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc",
		    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	unsigned char d[32];
	char hex[65], a[1000];
	struct sha256 c;

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		sha256_init(&c);
		/* Fed a byte at a time and whole: the same digest. */
		for (const char *p = v[i].in; *p != '\0'; p++)
			sha256_update(&c, p, 1);
		sha256_final(&c, d);
		for (int j = 0; j < 32; j++)
			snprintf(hex + 2 * j, 3, "%02x", d[j]);
		ck_assert_str_eq(hex, v[i].hex);
	}
	/* A million 'a's: blocks and padding across many updates. */
	memset(a, 'a', sizeof a);
	sha256_init(&c);
	for (int i = 0; i < 1000; i++)
		sha256_update(&c, a, sizeof a);
	sha256_final(&c, d);
	for (int j = 0; j < 32; j++)
		snprintf(hex + 2 * j, 3, "%02x", d[j]);
	ck_assert_str_eq(hex,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

#define N_SMALL 40

/* A rerun runs nothing that succeeded: every task is final at once with
 * its stored value, marked resumed, with no attempt in this run. */
START_TEST(test_rerun_resumes)
{
	procq_handle *h[N_SMALL];
	procq_summary *s = NULL;
	procq_queue *q;
	struct dir d;
	int *count;

	dir_make(&d);
	q = store_queue_ok(d.store, NULL, 2);
	submit_marks(q, d.effects, 0, N_SMALL, 3, NULL);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_succeeded(s), N_SMALL);
	ck_assert_uint_eq(procq_summary_resumed(s), 0);
	/* procq_run() returns once what it reports is committed: another
	 * connection sees every row, before the queue is freed. */
	ck_assert_int_eq(store_query(d.store,
			     "SELECT count(*) FROM task "
			     "WHERE status = 'succeeded' AND run = 'default'"),
	    N_SMALL);
	procq_summary_free(s);
	procq_free(q);

	starts = 0;
	q = store_queue_ok(d.store, NULL, 2);
	submit_marks(q, d.effects, 0, N_SMALL, 3, h);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_succeeded(s), N_SMALL);
	ck_assert_uint_eq(procq_summary_resumed(s), N_SMALL);
	ck_assert_int_eq(starts, 0);
	for (int i = 0; i < N_SMALL; i++) {
		const procq_result *r = procq_handle_result(h[i]);
		int64_t v = -1;
		const void *pad;
		size_t pad_len;

		ck_assert(procq_result_resumed(r));
		ck_assert_int_eq(procq_result_attempts(r), 0);
		ck_assert_int_eq(procq_result_status(r), PROCQ_SUCCEEDED);
		ck_assert_int_eq(procq_result_unpack(r, "ly", &v, &pad,
				     &pad_len),
		    0);
		ck_assert_int_eq(v, 2 * i);
		ck_assert_uint_eq(pad_len, 3);
	}
	procq_summary_free(s);
	procq_free(q);
	count = effects_count(d.effects, N_SMALL);
	for (int i = 0; i < N_SMALL; i++)
		ck_assert_int_eq(count[i], 1);
	free(count);
	dir_remove(&d);
}
END_TEST

/* A queue knows what it committed itself: the same call submitted again
 * after its run is resumed, without running. */
START_TEST(test_own_success_known)
{
	procq_handle *h = NULL;
	procq_queue *q;
	struct dir d;

	dir_make(&d);
	q = store_queue_ok(d.store, NULL, 1);
	submit_marks(q, d.effects, 0, 1, 0, NULL);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	starts = 0;
	submit_marks(q, d.effects, 0, 1, 0, &h);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert(procq_result_resumed(procq_handle_result(h)));
	ck_assert_int_eq(starts, 0);
	procq_free(q);
	ck_assert_int_eq(file_size(d.effects), 2);
	dir_remove(&d);
}
END_TEST

/* Failed tasks are recorded for inspection and run again; a new task
 * in the same batch runs; resumed and new mix in one run. */
/*
 * While another connection holds the file's write lock, the writer's
 * commit waits (up to 60 s): procq_checkpoint_sync() gives up at its own
 * timeout, with no error recorded, and returns 0 once the lock is let go
 * and the task is in the file.
 */
START_TEST(test_sync_waits_for_lock)
{
	procq_handle *h = NULL;
	procq_queue *q;
	sqlite3 *db;
	struct dir d;

	dir_make(&d);
	q = store_queue_ok(d.store, NULL, 1);
	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_int_eq(procq_checkpoint_sync(q, 0), 0);
	ck_assert_int_eq(sqlite3_open(d.store, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	submit_marks(q, d.effects, 0, 1, 0, &h);
	ck_assert_int_eq(procq_handle_wait(h, 30), 0);
	ck_assert_int_eq(procq_handle_status(h), PROCQ_SUCCEEDED);
	ck_assert_int_eq(procq_checkpoint_sync(q, 0.2), PROCQ_ETIMEDOUT);
	ck_assert_ptr_null(procq_checkpoint_error(q));
	ck_assert_int_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(procq_checkpoint_sync(q, 30), 0);
	ck_assert_int_eq(store_query(d.store,
			     "SELECT count(*) FROM task "
			     "WHERE status = 'succeeded'"),
	    1);
	procq_free(q);
	dir_remove(&d);
}
END_TEST

static void *
release_after_nap(void *db)
{
	nap(0.3);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		abort();
	return NULL;
}

/*
 * Opening a store turns it to WAL mode, which needs the write lock.
 * SQLite answers "database is locked" at once there instead of waiting,
 * so a process that opened the store while another one was making it
 * failed.  The open waits for the other writer.
 */
START_TEST(test_open_waits_for_writer)
{
	pthread_t thread;
	procq_queue *q;
	sqlite3 *db;
	struct dir d;

	dir_make(&d);
	procq_free(store_queue_ok(d.store, NULL, 1));
	ck_assert_int_eq(sqlite3_open(d.store, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
			     "PRAGMA journal_mode = DELETE;"
			     "BEGIN IMMEDIATE",
			     NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(pthread_create(&thread, NULL, release_after_nap, db),
	    0);
	q = store_queue_ok(d.store, NULL, 1);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	sqlite3_close(db);
	ck_assert_int_eq(store_query(d.store,
			     "SELECT journal_mode = 'wal' FROM "
			     "pragma_journal_mode"),
	    1);
	procq_free(q);
	dir_remove(&d);
}
END_TEST

#define STATUS_ROW(status) \
	"INSERT INTO task (run, key, status, name, task, attempts," \
	" duration, submitted, finished)" \
	" VALUES ('r', 'k', '" status "', 'n', 't', 0, 0, 0, 0)"

START_TEST(test_failures_rerun)
{
	procq_opts retry = { .retries = 1 };
	procq_summary *s = NULL;
	procq_handle *h = NULL;
	procq_queue *q;
	struct dir d;

	dir_make(&d);
	q = store_queue_ok(d.store, NULL, 1);
	ck_assert_int_eq(procq_submitf(q, "fail", &retry, NULL, "i", 1), 0);
	submit_marks(q, d.effects, 0, 1, 0, NULL);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_failed(s), 1);
	procq_summary_free(s);
	procq_free(q);
	ck_assert_int_eq(
	    store_query(d.store,
		"SELECT attempts FROM task "
		"WHERE status = 'failed' AND error_type = 'Nope' AND "
		"error_message = 'it never works' AND task = 'fail'"),
	    2);

	starts = 0;
	q = store_queue_ok(d.store, NULL, 1);
	ck_assert_int_eq(procq_submitf(q, "fail", &retry, &h, "i", 1), 0);
	submit_marks(q, d.effects, 0, 2, 0, NULL);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_failed(s), 1);
	ck_assert_uint_eq(procq_summary_succeeded(s), 2);
	ck_assert_uint_eq(procq_summary_resumed(s), 1);
	ck_assert(!procq_result_resumed(procq_handle_result(h)));
	ck_assert_int_eq(procq_handle_attempts(h), 2);
	/* fail twice, and the new mark once: the old one was resumed */
	ck_assert_int_eq(starts, 3);
	procq_summary_free(s);
	procq_free(q);
	/* The file itself takes the three statuses and no other. */
	ck_assert_int_eq(store_exec_rc(d.store, STATUS_ROW("cancelled")),
	    SQLITE_OK);
	ck_assert_int_eq(store_exec_rc(d.store, STATUS_ROW("lost")),
	    SQLITE_CONSTRAINT);
	dir_remove(&d);
}
END_TEST

/* A caller's key names the task whatever its arguments; batches with
 * different names share one file without seeing each other's tasks. */
START_TEST(test_keys_and_runs)
{
	procq_opts keyed = { .key = "the-one" };
	procq_summary *s = NULL;
	procq_handle *h = NULL;
	procq_queue *q;
	struct dir d;
	int64_t v = -1;

	dir_make(&d);
	q = store_queue_ok(d.store, "a", 1);
	ck_assert_int_eq(procq_submitf(q, "mark", &keyed, NULL, "sly",
			     d.effects, (int64_t)7, "", (size_t)0),
	    0);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	procq_free(q);

	/* Other arguments, same key: resumed with the first value. */
	q = store_queue_ok(d.store, "a", 1);
	ck_assert_int_eq(procq_submitf(q, "mark", &keyed, &h, "sly", d.effects,
			     (int64_t)9, "", (size_t)0),
	    0);
	ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
	ck_assert(procq_result_resumed(procq_handle_result(h)));
	ck_assert_int_eq(procq_handle_value(h, "l", &v), PROCQ_EFORMAT);
	ck_assert_int_eq(procq_result_unpack(procq_handle_result(h), "ly", &v,
			     &(const void *){ NULL }, &(size_t){ 0 }),
	    0);
	ck_assert_int_eq(v, 14);
	procq_free(q);

	/* Another batch: it runs. */
	q = store_queue_ok(d.store, "b", 1);
	ck_assert_int_eq(procq_submitf(q, "mark", &keyed, &h, "sly", d.effects,
			     (int64_t)9, "", (size_t)0),
	    0);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_resumed(s), 0);
	ck_assert(!procq_result_resumed(procq_handle_result(h)));
	procq_summary_free(s);
	procq_free(q);
	ck_assert_int_eq(store_query(d.store,
			     "SELECT count(DISTINCT run) FROM task"),
	    2);
	dir_remove(&d);
}
END_TEST

static char *
file_bytes(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_ptr_nonnull(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	ck_assert_ptr_nonnull(buf = malloc((size_t)n + 1));
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* Opening path must fail with want and leave the file as it was. */
static void
refused(const char *path, int want)
{
	size_t before_len, after_len;
	char *before = file_bytes(path, &before_len), *after;
	char wal[256];
	int err = 0;

	ck_assert_ptr_null(store_queue(path, NULL, 1, &err));
	ck_assert_msg(err == want, "got %s, want %s", procq_strerror(err),
	    procq_strerror(want));
	after = file_bytes(path, &after_len);
	ck_assert_uint_eq(before_len, after_len);
	ck_assert(memcmp(before, after, before_len) == 0);
	snprintf(wal, sizeof wal, "%s-wal", path);
	ck_assert_int_ne(access(wal, F_OK), 0);
	free(before);
	free(after);
}

START_TEST(test_refuses_what_is_not_a_store)
{
	struct dir d;
	FILE *fp;
	int fd;

	dir_make(&d);
	/* Another program's SQLite database */
	store_exec(d.store,
	    "CREATE TABLE accounts (id INTEGER, name TEXT);"
	    "INSERT INTO accounts VALUES (1, 'x')");
	refused(d.store, PROCQ_ENOTSTORE);
	unlink(d.store);

	/* Not SQLite at all */
	ck_assert_ptr_nonnull(fp = fopen(d.store, "w"));
	for (int i = 0; i < 200; i++)
		fputs("this is a text file, not a database\n", fp);
	fclose(fp);
	refused(d.store, PROCQ_ENOTSTORE);
	unlink(d.store);

	/* A store of a newer procq */
	procq_free(store_queue_ok(d.store, NULL, 1));
	store_exec(d.store, "PRAGMA user_version = 2");
	refused(d.store, PROCQ_ESTOREVERSION);
	unlink(d.store);

	/* A damaged store: its rows' pages overwritten */
	{
		procq_queue *q = store_queue_ok(d.store, NULL, 2);
		char junk[4096];

		submit_marks(q, d.effects, 0, 300, 1000, NULL);
		ck_assert_int_eq(procq_run(q, NULL, NULL), 0);
		procq_free(q);
		memset(junk, 0x5a, sizeof junk);
		ck_assert_int_ge(fd = open(d.store, O_WRONLY), 0);
		ck_assert_int_eq(pwrite(fd, junk, sizeof junk, 3 * 4096),
		    (ssize_t)sizeof junk);
		close(fd);
		refused(d.store, PROCQ_ECORRUPT);
	}

	/* A directory: the system's error */
	{
		int err = 0;

		ck_assert_ptr_null(store_queue(d.path, NULL, 1, &err));
		ck_assert_int_eq(err, PROCQ_ESYS);
	}
	dir_remove(&d);
}
END_TEST

START_TEST(test_config_checked)
{
	procq_config cfg = { .workers = 1, .checkpoint = "" };
	int err = 0;

	ck_assert_ptr_null(procq_create(&cfg, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	cfg.checkpoint = NULL;
	cfg.checkpoint_run = "x";
	ck_assert_ptr_null(procq_create(&cfg, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	cfg.checkpoint_run = NULL;
	{
		procq_queue *q = procq_create(&cfg, &err);

		ck_assert_ptr_nonnull(q);
		ck_assert_int_eq(procq_checkpoint_sync(q, 0), PROCQ_ESTATE);
		ck_assert_ptr_null(procq_checkpoint_error(q));
		procq_free(q);
	}
	ck_assert_int_eq(procq_checkpoint_sync(NULL, 0), PROCQ_EINVAL);
}
END_TEST

#define N_SHARED 300

static void
run_marks_in_child(const char *store, const char *effects, int n)
{
	procq_summary *s = NULL;
	procq_queue *q;
	int err = 0, rc = 0;

	if ((q = store_queue(store, NULL, 1, &err)) == NULL) {
		fprintf(stderr, "child: %s\n", procq_strerror(err));
		test_child_exit(20);
	}
	for (int i = 0; i < n && rc == 0; i++)
		rc = procq_submitf(q, "mark", NULL, NULL, "sly", effects,
		    (int64_t)i, "", (size_t)0);
	if (rc != 0) {
		fprintf(stderr, "child: submit: %s: %s\n", procq_strerror(rc),
		    procq_checkpoint_error(q));
		test_child_exit(21);
	}
	rc = procq_run(q, NULL, &s);
	if (rc != 0 || procq_summary_succeeded(s) != (size_t)n) {
		fprintf(stderr, "child: run: %s, %zu succeeded\n",
		    procq_strerror(rc), procq_summary_succeeded(s));
		test_child_exit(22);
	}
	procq_summary_free(s);
	procq_free(q);
	test_child_exit(0);
}

/* Two processes on one store at once: both finish, the file stays whole,
 * and a third run finds every task done. */
START_TEST(test_two_processes)
{
	procq_summary *s = NULL;
	procq_queue *q;
	pid_t pid[2];
	struct dir d;
	int status, *count;

	dir_make(&d);
	for (int i = 0; i < 2; i++)
		if ((pid[i] = fork_child()) == 0)
			run_marks_in_child(d.store, d.effects, N_SHARED);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child %d: status %#x", i, status);
	}
	ck_assert_int_eq(
	    store_query(d.store,
		"SELECT count(*) FROM "
		"pragma_integrity_check WHERE integrity_check = 'ok'"),
	    1);
	ck_assert_int_eq(store_query(d.store,
			     "SELECT count(DISTINCT key) FROM task "
			     "WHERE status = 'succeeded'"),
	    N_SHARED);
	starts = 0;
	q = store_queue_ok(d.store, NULL, 1);
	submit_marks(q, d.effects, 0, N_SHARED, 0, NULL);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_resumed(s), N_SHARED);
	ck_assert_int_eq(starts, 0);
	procq_summary_free(s);
	procq_free(q);
	/* Each ran once or twice: the two did not wait for each other. */
	count = effects_count(d.effects, N_SHARED);
	for (int i = 0; i < N_SHARED; i++)
		ck_assert(count[i] == 1 || count[i] == 2);
	free(count);
	dir_remove(&d);
}
END_TEST

#define N_KILLED 10000

static bool
effects_past(void *arg)
{
	/* about 3,000 lines of 5 bytes */
	return file_size(arg) >= 3000 * 5;
}

/*
 * The caller is SIGKILLed part-way through 10,000 tasks; the rerun
 * completes the batch.  Every task succeeded in one run or the other;
 * what the first run committed is resumed and ran exactly once; only
 * tasks that were running or not yet committed at the kill ran twice.
 */
START_TEST(test_caller_killed)
{
	procq_handle **h = calloc(N_KILLED, sizeof *h);
	procq_summary *s = NULL;
	procq_queue *q;
	long long committed;
	size_t resumed, twice = 0;
	struct dir d;
	pid_t pid;
	int status, *count;

	ck_assert_ptr_nonnull(h);
	dir_make(&d);
	if ((pid = fork_child()) == 0)
		run_marks_in_child(d.store, d.effects, N_KILLED);
	ck_assert(wait_until(effects_past, d.effects, 60));
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	committed = store_query(d.store,
	    "SELECT count(DISTINCT key) FROM task "
	    "WHERE status = 'succeeded'");
	ck_assert_int_gt(committed, 0);
	ck_assert_int_lt(committed, N_KILLED);

	q = store_queue_ok(d.store, NULL, 2);
	submit_marks(q, d.effects, 0, N_KILLED, 0, h);
	ck_assert_int_eq(procq_run(q, NULL, &s), 0);
	ck_assert_uint_eq(procq_summary_succeeded(s), N_KILLED);
	resumed = procq_summary_resumed(s);
	ck_assert_uint_eq(resumed, (size_t)committed);
	count = effects_count(d.effects, N_KILLED);
	for (int i = 0; i < N_KILLED; i++) {
		bool was_resumed = procq_result_resumed(
		    procq_handle_result(h[i]));

		ck_assert_int_ge(count[i], 1);
		if (was_resumed)
			ck_assert_int_eq(count[i], 1);
		else
			twice += count[i] > 1;
	}
	/* Those run twice were in flight or waiting for a commit at the
	 * kill: a few windows' worth, never the batch. */
	ck_assert_uint_lt(twice, N_KILLED - resumed);
	if (getenv("CKPT_VERBOSE"))
		fprintf(stderr, "committed %lld twice %zu\n", committed,
		    twice);
	free(count);
	procq_summary_free(s);
	procq_free(q);
	free(h);
	dir_remove(&d);
}
END_TEST

/* A store that cannot be written (the file size limit): the run ends,
 * and says that what it finished was not all recorded. */
START_TEST(test_write_failure_reported)
{
	struct dir d;
	pid_t pid;
	int status;

	dir_make(&d);
	if ((pid = fork_child()) == 0) {
		struct rlimit rl;
		procq_summary *s = NULL;
		procq_queue *q;
		int err = 0, rc;
		const char *msg;

		signal(SIGXFSZ, SIG_IGN);
		if ((q = store_queue(d.store, NULL, 1, &err)) == NULL)
			test_child_exit(10);
		rl.rlim_cur = rl.rlim_max = 256 * 1024;
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			test_child_exit(11);
		submit_marks(q, d.effects, 0, 500, 4000, NULL);
		rc = procq_run(q, NULL, &s);
		msg = procq_checkpoint_error(q);
		if (rc != PROCQ_ESTORE || s == NULL ||
		    procq_summary_succeeded(s) != 500 || msg == NULL)
			test_child_exit(12);
		if (procq_checkpoint_sync(q, 5) != PROCQ_ESTORE)
			test_child_exit(13);
		/* SQLite's word for the write that failed, not for the
		 * rollback after it. */
		if (strcmp(msg, "not an error") == 0 ||
		    strstr(msg, "rollback") != NULL)
			test_child_exit(14);
		procq_summary_free(s);
		procq_free(q);
		test_child_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child: status %#x", status);
	dir_remove(&d);
}
END_TEST

static Suite *
checkpoint_suite(void)
{
	Suite *s = suite_create("checkpoint");
	TCase *tc = add_tcase(s, "store", 120);
	TCase *tp = add_tcase(s, "processes", 120);

	tcase_add_test(tc, test_sha256_vectors);
	tcase_add_test(tc, test_rerun_resumes);
	tcase_add_test(tc, test_own_success_known);
	tcase_add_test(tc, test_sync_waits_for_lock);
	tcase_add_test(tc, test_open_waits_for_writer);
	tcase_add_test(tc, test_failures_rerun);
	tcase_add_test(tc, test_keys_and_runs);
	tcase_add_test(tc, test_refuses_what_is_not_a_store);
	tcase_add_test(tc, test_config_checked);
	/* Callers in processes of their own, killed or limited. */
	tcase_add_test(tp, test_two_processes);
	tcase_add_test(tp, test_caller_killed);
	tcase_add_test(tp, test_write_failure_reported);
	return s;
}

int
main(int argc, char **argv)
{
	int rc;

	if ((rc = test_serve_as_worker(argc, argv, tasks, false)) >= 0)
		return rc;
	return run_suite(checkpoint_suite());
}
