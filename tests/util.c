#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tasks.h"
#include "util.h"

double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
nap(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

bool
wait_until(bool (*cond)(void *), void *arg, double timeout)
{
	double deadline = now() + timeout, step = 0.001;

	for (;;) {
		if (cond(arg))
			return true;
		if (now() >= deadline)
			return cond(arg);
		nap(step);
		if (step < 0.02)
			step *= 2;
	}
}

struct status_arg {
	procq_handle *h;
	procq_status st;
};

static bool
status_is(void *p)
{
	struct status_arg *a = p;

	return procq_handle_status(a->h) == a->st;
}

bool
wait_status(procq_handle *h, procq_status st, double timeout)
{
	struct status_arg a = { h, st };

	return wait_until(status_is, &a, timeout);
}

size_t
heap_in_use(void)
{
	return mallinfo2().uordblks;
}

int
count_fds(void)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n - 1;		/* the directory's own descriptor */
}

/* Parse /proc/PID/stat: state and ppid.  The command name may contain
 * spaces and parentheses, so parse from the last ')'. */
static bool
read_stat(pid_t pid, char *state, pid_t *ppid)
{
	char path[64], buf[512], *p;
	FILE *fp;
	size_t n;
	int pp;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return false;
	if (sscanf(p + 1, " %c %d", state, &pp) != 2)
		return false;
	*ppid = pp;
	return true;
}

/* A process of procq's fork server: its command name says so. */
static bool
is_server(pid_t pid)
{
	char path[64], name[32] = "";
	FILE *fp;

	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	if (fgets(name, sizeof name, fp) == NULL)
		name[0] = '\0';
	fclose(fp);
	return strcmp(name, "procq-server\n") == 0;
}

/* Processes whose parent is in parents[0..nparents), up to max in pids;
 * returns how many there are.  Servers are counted in *servers, and
 * their pids are not listed. */
static size_t
scan_children(const pid_t *parents, size_t nparents, pid_t *pids,
    size_t max, pid_t *servers, size_t maxservers, size_t *nservers)
{
	DIR *d;
	struct dirent *de;
	size_t n = 0;
	pid_t ppid;
	char state;

	d = opendir("/proc");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		bool ours = false;

		if (*end != '\0' || pid <= 0)
			continue;
		if (!read_stat((pid_t)pid, &state, &ppid))
			continue;
		for (size_t i = 0; i < nparents; i++)
			ours = ours || ppid == parents[i];
		if (!ours)
			continue;
		if (is_server((pid_t)pid)) {
			if (*nservers < maxservers)
				servers[*nservers] = (pid_t)pid;
			(*nservers)++;
			continue;
		}
		if (n < max)
			pids[n] = (pid_t)pid;
		n++;
	}
	closedir(d);
	return n;
}

size_t
list_servers(pid_t parent, pid_t *pids, size_t max)
{
	pid_t none;
	size_t n = 0;

	scan_children(&parent, 1, &none, 0, pids, max, &n);
	return n;
}

/*
 * The workers: this process's children, and the children of its fork
 * servers.  A worker of the fork server is the server's child, not
 * ours, but it is what a test means by a child.
 */
size_t
list_children(pid_t *pids, size_t max)
{
	pid_t parents[9] = { getpid() }, none[8];
	size_t nservers = 0, again = 0;

	scan_children(parents, 1, none, 0, parents + 1, 8, &nservers);
	if (nservers > 8)
		nservers = 8;
	return scan_children(parents, 1 + nservers, pids, max, none, 0,
	    &again);
}

char
proc_state(pid_t pid)
{
	char state;
	pid_t ppid;

	if (!read_stat(pid, &state, &ppid))
		return 0;
	return state;
}

bool
pid_gone(pid_t pid)
{
	char state;
	pid_t ppid;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return true;
	if (!read_stat(pid, &state, &ppid))
		return true;
	return state == 'Z' || state == 'X';
}

static bool
gone_cond(void *p)
{
	return pid_gone(*(pid_t *)p);
}

bool
wait_pid_gone(pid_t pid, double timeout)
{
	return wait_until(gone_cond, &pid, timeout);
}

static const char *
tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	return t != NULL && *t != '\0' ? t : "/tmp";
}

void
make_tmpfile(char *path, size_t size)
{
	int fd;

	ck_assert_int_lt(snprintf(path, size, "%s/procq-test.XXXXXX",
	    tmpdir()), (int)size);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

pid_t
read_pid_file(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd;
	long v;

	if ((fd = open(path, O_RDONLY)) == -1)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0 || buf[n - 1] != '\n')	/* not completely written */
		return 0;
	buf[n] = '\0';
	v = strtol(buf, NULL, 10);
	return v > 0 ? (pid_t)v : 0;
}

static bool
pid_file_cond(void *p)
{
	return read_pid_file(p) != 0;
}

pid_t
wait_pid_file(const char *path, double timeout)
{
	if (!wait_until(pid_file_cond, (void *)path, timeout))
		return 0;
	return read_pid_file(path);
}

long
file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return -1;
	return (long)st.st_size;
}

bool
file_nonempty(void *path)
{
	return file_size(path) > 0;
}

void
gate_create(struct gate *g)
{
	ck_assert_int_lt(snprintf(g->dir, sizeof g->dir,
	    "%s/procq-gate.XXXXXX", tmpdir()), (int)sizeof g->dir);
	ck_assert_ptr_nonnull(mkdtemp(g->dir));
	snprintf(g->path, sizeof g->path, "%s/fifo", g->dir);
	ck_assert_int_eq(mkfifo(g->path, 0600), 0);
	g->wfd = -1;
}

static bool
gate_open_cond(void *p)
{
	struct gate *g = p;

	/* Opening a FIFO's write end without blocking fails with ENXIO
	 * until a reader has it open. */
	g->wfd = open(g->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	return g->wfd != -1;
}

bool
gate_enter(struct gate *g, double timeout)
{
	if (g->wfd != -1)
		return true;
	return wait_until(gate_open_cond, g, timeout);
}

void
gate_release(struct gate *g)
{
	if (g->wfd != -1) {
		close(g->wfd);
		g->wfd = -1;
	}
}

void
gate_destroy(struct gate *g)
{
	gate_release(g);
	unlink(g->path);
	rmdir(g->dir);
}

bool
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool
put_pid(const char *path, pid_t pid, int mode)
{
	char buf[32];
	int fd, n;
	bool ok;

	n = snprintf(buf, sizeof buf, "%d\n", (int)pid);
	if ((fd = open(path, O_WRONLY | mode | O_CLOEXEC)) == -1)
		return false;
	ok = write_all(fd, buf, (size_t)n);
	close(fd);
	return ok;
}

bool
write_pid(const char *path, pid_t pid)
{
	return put_pid(path, pid, O_TRUNC);
}

bool
append_pid(const char *path, pid_t pid)
{
	return put_pid(path, pid, O_APPEND);
}

void
sleep_forever(void)
{
	for (;;)
		pause();
}

int
gate_pass(const char *path)
{
	char buf[64];
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (read(fd, buf, sizeof buf) != 0)
		;
	close(fd);
	return 0;
}

procq_start_method
test_start_method(void)
{
	const char *m = getenv("PROCQ_TEST_START_METHOD");

	if (m == NULL || *m == '\0')
		return PROCQ_START_DEFAULT;
	if (strcmp(m, "fork") == 0)
		return PROCQ_START_FORK;
	if (strcmp(m, "forkserver") == 0)
		return PROCQ_START_FORKSERVER;
	if (strcmp(m, "exec") == 0)
		return PROCQ_START_EXEC;
	ck_abort_msg("PROCQ_TEST_START_METHOD=%s: not a start method", m);
	return PROCQ_START_DEFAULT;
}

procq_start_method
test_effective_start_method(const procq_config *cfg)
{
	procq_start_method m = cfg != NULL && cfg->start_method != 0 ?
	    cfg->start_method : test_start_method();

	return m == PROCQ_START_DEFAULT ? PROCQ_START_FORKSERVER : m;
}

bool
test_exec(const procq_config *cfg)
{
	return test_effective_start_method(cfg) == PROCQ_START_EXEC;
}

procq_queue *
test_create(const procq_config *cfg, int *err)
{
	procq_config c = cfg != NULL ? *cfg : (procq_config){ 0 };

	if (c.start_method == PROCQ_START_DEFAULT)
		c.start_method = test_start_method();
	/* The worker program has the common tasks of its own. */
	if (c.start_method == PROCQ_START_EXEC && c.worker_path == NULL)
		c.worker_path = TEST_EXEC_WORKER;
	return procq_create(&c, err);
}

static char test_worker_arg[] = TEST_WORKER_ARG;
static char *test_worker_argv[] = { "procq-test-worker", test_worker_arg,
    NULL };

procq_queue *
test_create_with(const procq_config *cfg, const procq_worker_task *tasks,
    bool common, int *err)
{
	procq_config c = cfg != NULL ? *cfg : (procq_config){ 0 };
	procq_queue *q;

	if (test_exec(cfg)) {
		c.start_method = PROCQ_START_EXEC;
		c.worker_path = "/proc/self/exe";
		c.worker_argv = test_worker_argv;
		return procq_create(&c, err);
	}
	if ((q = test_create(&c, err)) == NULL)
		return NULL;
	if (common)
		register_common_tasks(q);
	for (size_t i = 0; tasks[i].name != NULL; i++)
		ck_assert_int_eq(procq_register(q, tasks[i].name, tasks[i].fn),
		    0);
	return q;
}

#ifdef PROCQ_COVERAGE
void __gcov_dump(void);
#endif

void
test_child_exit(int status)
{
#ifdef PROCQ_COVERAGE
	__gcov_dump();
#endif
	_exit(status);
}

pid_t
fork_child(void)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 ||
	    getppid() != parent))
		_exit(1);
	return pid;
}

int
test_serve_as_worker(int argc, char **argv, const procq_worker_task *tasks,
    bool common)
{
	static procq_worker_task table[128];
	const procq_worker_task *c = common_worker_tasks();
	size_t n = 0;

	if (argc <= 1 || strcmp(argv[1], TEST_WORKER_ARG) != 0)
		return -1;
	for (size_t i = 0; common && c[i].name != NULL && n < 64; i++)
		table[n++] = c[i];
	for (size_t i = 0; tasks[i].name != NULL && n < 127; i++)
		table[n++] = tasks[i];
	table[n] = (procq_worker_task){ NULL, NULL };
	return procq_worker_main(argc, argv, table);
}

procq_queue *
new_queue_config(const procq_config *cfg)
{
	procq_queue *q;
	int err = 12345;

	q = test_create(cfg, &err);
	ck_assert_msg(q != NULL, "procq_create: %s", procq_strerror(err));
	if (!test_exec(cfg))
		register_common_tasks(q);
	return q;
}

procq_queue *
new_queue(int workers, int prefetch)
{
	procq_config cfg = { .workers = workers, .prefetch = prefetch };

	return new_queue_config(&cfg);
}

int
vpack(msgpack_packer *pk, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = procq_vpack(pk, fmt, ap);
	va_end(ap);
	return rc;
}

int
vunpack(const msgpack_object *o, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = procq_vunpack(o, fmt, ap);
	va_end(ap);
	return rc;
}

void
args_vpack(procq_args *a, const char *fmt, va_list ap)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	const char *f;
	size_t n = 0;
	int rc;

	/* the argument tuple, as procq_submitf() packs it */
	for (f = fmt; *f != '\0'; f++)
		if (*f != ' ')
			n++;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, n);
	rc = procq_vpack(&pk, fmt, ap);
	ck_assert_msg(rc == 0, "pack '%s': %s", fmt, procq_strerror(rc));
	a->data = sb.data;	/* msgpack_sbuffer_destroy() is free() */
	a->len = sb.size;
}

void
args_pack(procq_args *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	args_vpack(a, fmt, ap);
	va_end(ap);
}

void
args_free(procq_args *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free((void *)a[i].data);
		a[i].data = NULL;
		a[i].len = 0;
	}
}

/* A submission of name to q, or to g when g is not NULL, asserting
 * success. */
static procq_handle *
submit_vok(procq_queue *q, procq_group *g, const char *name,
    const procq_opts *opts, const char *fmt, va_list ap)
{
	procq_handle *h = NULL;
	procq_args a;
	int rc;

	args_vpack(&a, fmt, ap);
	rc = g != NULL ? procq_group_submit(g, name, a.data, a.len, opts, &h) :
	    procq_submit(q, name, a.data, a.len, opts, &h);
	args_free(&a, 1);
	ck_assert_msg(rc == 0, "submit %s: %s", name, procq_strerror(rc));
	ck_assert_ptr_nonnull(h);
	return h;
}

procq_handle *
submit_ok(procq_queue *q, const char *name, const procq_opts *opts,
    const char *fmt, ...)
{
	procq_handle *h;
	va_list ap;

	va_start(ap, fmt);
	h = submit_vok(q, NULL, name, opts, fmt, ap);
	va_end(ap);
	return h;
}

procq_handle *
group_submit_ok(procq_group *g, const char *name, const procq_opts *opts,
    const char *fmt, ...)
{
	procq_handle *h;
	va_list ap;

	va_start(ap, fmt);
	h = submit_vok(NULL, g, name, opts, fmt, ap);
	va_end(ap);
	return h;
}

void
wait_done(procq_handle *h, double timeout)
{
	int rc = procq_handle_wait(h, timeout);

	ck_assert_msg(rc == 0, "wait for %s (%s): %s, status %s",
	    procq_handle_id(h), procq_handle_name(h), procq_strerror(rc),
	    procq_status_name(procq_handle_status(h)));
	ck_assert(procq_handle_done(h));
}

int
int_value(procq_handle *h)
{
	int v = -1;
	int rc = procq_handle_value(h, "i", &v);

	ck_assert_msg(rc == 0, "value of %s (%s): %s, status %s: %s",
	    procq_handle_id(h), procq_handle_name(h), procq_strerror(rc),
	    procq_status_name(procq_handle_status(h)), message_of(h));
	return v;
}

double
double_value(procq_handle *h)
{
	double v = -1;
	int rc = procq_handle_value(h, "d", &v);

	ck_assert_msg(rc == 0, "value of %s (%s): %s, status %s: %s",
	    procq_handle_id(h), procq_handle_name(h), procq_strerror(rc),
	    procq_status_name(procq_handle_status(h)), message_of(h));
	return v;
}

const char *
message_of(procq_handle *h)
{
	const char *m = procq_handle_error_message(h);

	return m != NULL ? m : "";
}

procq_stats
stats_of(procq_queue *q)
{
	procq_stats st;

	memset(&st, 0xa5, sizeof st);
	ck_assert_int_eq(procq_stats_get(q, &st), 0);
	return st;
}

struct workers_arg {
	procq_queue *q;
	int n;
};

static bool
workers_cond(void *p)
{
	struct workers_arg *a = p;

	return stats_of(a->q).workers == a->n;
}

bool
wait_workers(procq_queue *q, int n, double timeout)
{
	struct workers_arg a = { q, n };

	return wait_until(workers_cond, &a, timeout);
}

struct scheduled_arg {
	procq_queue *q;
	size_t n;
};

static bool
scheduled_cond(void *p)
{
	struct scheduled_arg *a = p;

	return stats_of(a->q).scheduled == a->n;
}

bool
wait_scheduled(procq_queue *q, size_t n, double timeout)
{
	struct scheduled_arg a = { q, n };

	return wait_until(scheduled_cond, &a, timeout);
}

static bool
workers_alive(void *p)
{
	struct workers_arg *a = p;
	procq_stats st;

	return procq_stats_get(a->q, &st) == 0 && st.workers >= a->n;
}

void
start_warm(procq_queue *q, int n)
{
	struct workers_arg a = { q, n };

	ck_assert_int_eq(procq_start(q), 0);
	ck_assert_msg(wait_until(workers_alive, &a, 10), "%d workers", n);
}

long long
obj_int(const msgpack_object *o)
{
	ck_assert_ptr_nonnull(o);
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return (long long)o->via.u64;
	ck_assert_msg(o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER,
	    "msgpack type %d is not an integer", (int)o->type);
	return (long long)o->via.i64;
}

int
index_of(procq_handle *const *hs, size_t n, const procq_handle *h)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (hs[i] == h)
			return (int)i;
	return -1;
}

bool
flag_is_set(void *flag)
{
	return atomic_load((atomic_int *)flag) != 0;
}

static void *
setter_main(void *arg)
{
	struct setter *s = arg;

	if (s->trigger != NULL)
		wait_until(flag_is_set, s->trigger, 10);
	if (s->is_error)
		s->rc = procq_future_set_error(s->f, "FutErr", "boom");
	else
		s->rc = procq_future_set_valuef(s->f, "i", s->value);
	return NULL;
}

void
setter_start(struct setter *s, procq_handle *f, int value, bool is_error,
    atomic_int *trigger)
{
	s->f = f;
	s->value = value;
	s->is_error = is_error;
	s->trigger = trigger;
	s->rc = 12345;
	ck_assert_int_eq(pthread_create(&s->thread, NULL, setter_main, s), 0);
}

int
setter_join(struct setter *s)
{
	ck_assert_int_eq(join_within(s->thread, 10), 0);
	return s->rc;
}

static void *
run_thread_main(void *arg)
{
	struct run_thread *rt = arg;
	double t0 = now();

	rt->rc = procq_run(rt->q, &rt->opts, &rt->summary);
	rt->elapsed = now() - t0;
	atomic_store(&rt->done, 1);
	return NULL;
}

void
run_thread_start(struct run_thread *rt, procq_queue *q,
    const procq_run_opts *opts)
{
	memset(rt, 0, sizeof *rt);
	rt->q = q;
	if (opts != NULL)
		rt->opts = *opts;
	atomic_init(&rt->done, 0);
	ck_assert_int_eq(pthread_create(&rt->thread, NULL, run_thread_main,
	    rt), 0);
}

bool
run_thread_returned(void *rt)
{
	return atomic_load(&((struct run_thread *)rt)->done) != 0;
}

int
run_thread_join(struct run_thread *rt, double timeout)
{
	ck_assert_msg(wait_until(run_thread_returned, rt, timeout),
	    "procq_run did not return within %.1f s", timeout);
	ck_assert_int_eq(pthread_join(rt->thread, NULL), 0);
	return rt->rc;
}

void
done_noop(procq_handle *h, void *arg)
{
	(void)h;
	(void)arg;
}

int
join_within(pthread_t t, double timeout)
{
	struct timespec ts;
	double d;

	clock_gettime(CLOCK_REALTIME, &ts);
	d = ts.tv_sec + ts.tv_nsec / 1e9 + timeout;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - ts.tv_sec) * 1e9);
	return pthread_timedjoin_np(t, NULL, &ts);
}

int
run_suite(Suite *s)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

TCase *
add_tcase(Suite *s, const char *name, double timeout)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}
