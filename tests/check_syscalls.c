/*
 * System calls that fail: each call procq makes to start a worker (its
 * pipes, its board, the fork, the fork server's socket and messages, the
 * pidfd, posix_spawn() and its attributes, the loop's eventfd and
 * thread) is made to fail, the first time it is made, then the second,
 * and so on, until a run makes it no more often than that.  A failure must come back as an error
 * of the call that made it (PROCQ_ESYS from procq_start()), or fail the
 * tasks that needed the worker (PROCQ_ERR_SPAWN, or a worker that died
 * before it could serve); every task ends in a final state, and after
 * procq_free() no descriptor is left open and no child left behind.
 *
 * The library and the worker are compiled into this program (see
 * tests/syscalls.mk) and linked with --wrap for these calls, so that only
 * procq's own calls go through the wrappers below.  The count of calls
 * before the failure lives in memory shared with the children, so that
 * it is counted across the supervisor, its fork server and its workers:
 * a failure armed for the children happens once, in whichever of them
 * makes the call first.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/host.h"
#include "tasks.h"
#include "util.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The failing calls
 */

enum call {
	CALL_PIPE2,
	CALL_SOCKETPAIR,
	CALL_FORK,
	CALL_SENDMSG,
	CALL_RECV,
	CALL_SEND,
	CALL_RECVMSG,
	CALL_MEMFD,
	CALL_FTRUNCATE,
	CALL_MMAP,
	CALL_EVENTFD,
	CALL_THREAD,
	CALL_SPAWN,
	CALL_SPAWN_ACTIONS,
	CALL_SPAWN_ATTR,
	CALL_SPAWN_DUP2,
	CALL_SPAWN_FLAGS,
	CALL_DUP2,
	CALL_DUPFD,
	CALL_PIDFD,
	NCALLS
};

static const char *const call_names[NCALLS] = {
	"pipe2", "socketpair", "fork", "sendmsg", "recv", "send", "recvmsg",
	"memfd_create",
	"ftruncate", "mmap", "eventfd", "pthread_create", "posix_spawn",
	"posix_spawn_file_actions_init", "posix_spawnattr_init",
	"posix_spawn_file_actions_adddup2", "posix_spawnattr_setflags",
	"dup2", "fcntl(F_DUPFD)", "pidfd_open"
};

/* Which processes a failure is armed in. */
enum scope {
	SCOPE_SELF,		/* this one, on any of its threads */
	SCOPE_CHILDREN		/* any other: fork server, workers */
};

/* Shared with every child forked from this process (MAP_SHARED). */
struct faults {
	_Atomic long	 left;	/* calls that succeed first; < 0: none */
	_Atomic int	 fired;
	enum call	 call;
	enum scope	 scope;
	pid_t		 pid;	/* the test's process */
	int		 error;
};

static struct faults *faults;

/* Call `call` after n more that succeed fails, once, with errno err. */
static void
arm(enum call call, enum scope scope, long n, int err)
{
	atomic_store(&faults->left, -1);
	faults->call = call;
	faults->scope = scope;
	faults->pid = getpid();
	faults->error = err;
	atomic_store(&faults->fired, 0);
	atomic_store(&faults->left, n);
}

/* Disarms; true when the call failed since arm(). */
static bool
disarm(void)
{
	atomic_store(&faults->left, -1);
	return atomic_load(&faults->fired) != 0;
}

/* Does this call fail?  Sets errno when it does. */
static bool
fault(enum call call)
{
	bool self;

	if (faults == NULL || atomic_load(&faults->left) < 0 ||
	    faults->call != call)
		return false;
	self = getpid() == faults->pid;
	if (self != (faults->scope == SCOPE_SELF))
		return false;
	if (atomic_fetch_sub(&faults->left, 1) != 0)
		return false;
	atomic_store(&faults->fired, 1);
	errno = faults->error;
	return true;
}

int __real_pipe2(int[2], int);
int __real_socketpair(int, int, int, int[2]);
pid_t __real_fork(void);
ssize_t __real_sendmsg(int, const struct msghdr *, int);
ssize_t __real_recv(int, void *, size_t, int);
ssize_t __real_send(int, const void *, size_t, int);
ssize_t __real_recvmsg(int, struct msghdr *, int);
int __real_memfd_create(const char *, unsigned);
int __real_ftruncate(int, off_t);
void *__real_mmap(void *, size_t, int, int, int, off_t);
int __real_eventfd(unsigned, int);
int __real_pthread_create(pthread_t *, const pthread_attr_t *,
    void *(*)(void *), void *);
int __real_posix_spawn(pid_t *, const char *,
    const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
    char *const[], char *const[]);
int __real_posix_spawn_file_actions_init(posix_spawn_file_actions_t *);
int __real_posix_spawnattr_init(posix_spawnattr_t *);
int __real_posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *,
    int, int);
int __real_posix_spawnattr_setflags(posix_spawnattr_t *, short);
int __real_dup2(int, int);
int __real_fcntl(int, int, ...);
long __real_syscall(long, ...);

int __wrap_pipe2(int[2], int);
int __wrap_socketpair(int, int, int, int[2]);
pid_t __wrap_fork(void);
ssize_t __wrap_sendmsg(int, const struct msghdr *, int);
ssize_t __wrap_recv(int, void *, size_t, int);
ssize_t __wrap_send(int, const void *, size_t, int);
ssize_t __wrap_recvmsg(int, struct msghdr *, int);
int __wrap_memfd_create(const char *, unsigned);
int __wrap_ftruncate(int, off_t);
void *__wrap_mmap(void *, size_t, int, int, int, off_t);
int __wrap_eventfd(unsigned, int);
int __wrap_pthread_create(pthread_t *, const pthread_attr_t *,
    void *(*)(void *), void *);
int __wrap_posix_spawn(pid_t *, const char *,
    const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
    char *const[], char *const[]);
int __wrap_posix_spawn_file_actions_init(posix_spawn_file_actions_t *);
int __wrap_posix_spawnattr_init(posix_spawnattr_t *);
int __wrap_posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *,
    int, int);
int __wrap_posix_spawnattr_setflags(posix_spawnattr_t *, short);
int __wrap_dup2(int, int);
int __wrap_fcntl(int, int, ...);
long __wrap_syscall(long, ...);

int
__wrap_pipe2(int fds[2], int flags)
{
	return fault(CALL_PIPE2) ? -1 : __real_pipe2(fds, flags);
}

int
__wrap_socketpair(int domain, int type, int protocol, int sv[2])
{
	return fault(CALL_SOCKETPAIR) ? -1 :
	    __real_socketpair(domain, type, protocol, sv);
}

pid_t
__wrap_fork(void)
{
	return fault(CALL_FORK) ? -1 : __real_fork();
}

ssize_t
__wrap_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	return fault(CALL_SENDMSG) ? -1 : __real_sendmsg(fd, msg, flags);
}

ssize_t
__wrap_recv(int fd, void *buf, size_t len, int flags)
{
	return fault(CALL_RECV) ? -1 : __real_recv(fd, buf, len, flags);
}

ssize_t
__wrap_send(int fd, const void *buf, size_t len, int flags)
{
	return fault(CALL_SEND) ? -1 : __real_send(fd, buf, len, flags);
}

ssize_t
__wrap_recvmsg(int fd, struct msghdr *msg, int flags)
{
	return fault(CALL_RECVMSG) ? -1 : __real_recvmsg(fd, msg, flags);
}

int
__wrap_memfd_create(const char *name, unsigned flags)
{
	return fault(CALL_MEMFD) ? -1 : __real_memfd_create(name, flags);
}

int
__wrap_ftruncate(int fd, off_t len)
{
	return fault(CALL_FTRUNCATE) ? -1 : __real_ftruncate(fd, len);
}

/* Only mappings of a file (the board) fail: a coverage build's runtime,
 * linked in with the same wrappers, maps anonymous memory of its own. */
void *
__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return fd >= 0 && fault(CALL_MMAP) ? MAP_FAILED :
	    __real_mmap(addr, len, prot, flags, fd, off);
}

int
__wrap_eventfd(unsigned initval, int flags)
{
	return fault(CALL_EVENTFD) ? -1 : __real_eventfd(initval, flags);
}

/* pthread_create() and posix_spawn() return their error. */
int
__wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
    void *(*fn)(void *), void *arg)
{
	return fault(CALL_THREAD) ? errno :
	    __real_pthread_create(t, attr, fn, arg);
}

int
__wrap_posix_spawn(pid_t *pid, const char *path,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const envp[])
{
	return fault(CALL_SPAWN) ? errno :
	    __real_posix_spawn(pid, path, fa, attr, argv, envp);
}

int
__wrap_posix_spawn_file_actions_init(posix_spawn_file_actions_t *fa)
{
	return fault(CALL_SPAWN_ACTIONS) ? errno :
	    __real_posix_spawn_file_actions_init(fa);
}

int
__wrap_posix_spawnattr_init(posix_spawnattr_t *attr)
{
	return fault(CALL_SPAWN_ATTR) ? errno :
	    __real_posix_spawnattr_init(attr);
}

int
__wrap_posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa,
    int from, int to)
{
	return fault(CALL_SPAWN_DUP2) ? errno :
	    __real_posix_spawn_file_actions_adddup2(fa, from, to);
}

int
__wrap_posix_spawnattr_setflags(posix_spawnattr_t *attr, short flags)
{
	return fault(CALL_SPAWN_FLAGS) ? errno :
	    __real_posix_spawnattr_setflags(attr, flags);
}

int
__wrap_dup2(int from, int to)
{
	return fault(CALL_DUP2) ? -1 : __real_dup2(from, to);
}

/* Only copies of a descriptor fail; every other command passes its
 * argument, an int or a pointer. */
int
__wrap_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && fault(CALL_DUPFD))
		return -1;
	return __real_fcntl(fd, cmd, arg);
}

/* Only pidfd_open fails; every other number passes its six arguments. */
long
__wrap_syscall(long number, ...)
{
	long a[6];
	va_list ap;

	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
#ifdef SYS_pidfd_open
	if (number == SYS_pidfd_open && fault(CALL_PIDFD))
		return -1;
#endif
	return __real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/*
 * The runs
 */

/* Calls beyond which a run stops counting: no start makes this many. */
#define MAX_CALLS 40

/* A task ended as a run with a failed system call may end it. */
static void
check_task(procq_handle *h, long n, enum call call)
{
	procq_error_kind kind;

	wait_done(h, 30);
	if (procq_handle_status(h) == PROCQ_SUCCEEDED) {
		ck_assert_int_eq(int_value(h), 5);
		return;
	}
	kind = procq_handle_error_kind(h);
	ck_assert_msg(procq_handle_status(h) == PROCQ_FAILED &&
	    (kind == PROCQ_ERR_SPAWN || kind == PROCQ_ERR_CRASH ||
		kind == PROCQ_ERR_PROTOCOL),
	    "%s failing at call %ld: a task ended %s: %s", call_names[call],
	    n, procq_status_name(procq_handle_status(h)), message_of(h));
}

static procq_queue *
queue_for(procq_start_method method)
{
	procq_config cfg = { .workers = 2, .start_method = method };
	procq_queue *q;
	int err = 0;

	if (method == PROCQ_START_EXEC)
		cfg.worker_path = TEST_EXEC_WORKER;
	q = procq_create(&cfg, &err);
	ck_assert_msg(q != NULL, "procq_create: %s", procq_strerror(err));
	if (method != PROCQ_START_EXEC)
		register_common_tasks(q);
	return q;
}

/*
 * One run: a queue started with the call armed to fail after n, and
 * four tasks through it.  True when the call failed.
 */
static bool
run_once(procq_start_method method, enum call call, enum scope scope,
    long n)
{
	procq_handle *h[4];
	procq_queue *q;
	pid_t kids[8];
	int fds = count_fds(), rc;
	bool fired;

	q = queue_for(method);
	arm(call, scope, n, call == CALL_THREAD ? EAGAIN : EMFILE);
	rc = procq_start(q);
	if (rc == 0) {
		for (size_t i = 0; i < NITEMS(h); i++)
			h[i] = submit_ok(q, "ident", NULL, "i", 5);
		for (size_t i = 0; i < NITEMS(h); i++)
			check_task(h[i], n, call);
	} else {
		ck_assert_msg(rc == PROCQ_ESYS, "%s failing at call %ld: "
		    "procq_start: %s", call_names[call], n,
		    procq_strerror(rc));
	}
	fired = disarm();
	ck_assert_msg(fired || rc == 0, "procq_start failed (%s) with no "
	    "failure", procq_strerror(rc));
	procq_free(q);
	ck_assert_msg(count_fds() == fds, "%s failing at call %ld: %d "
	    "descriptors open, %d before", call_names[call], n, count_fds(),
	    fds);
	ck_assert_msg(list_children(kids, NITEMS(kids)) == 0, "%s failing at "
	    "call %ld: a child left behind", call_names[call], n);
	return fired;
}

/* Every place of the call in a start and four tasks; how many. */
static long
run_each(procq_start_method method, enum call call, enum scope scope)
{
	long n;

	for (n = 0; n < MAX_CALLS; n++) {
		if (!run_once(method, call, scope, n))
			break;
	}
	ck_assert_msg(n < MAX_CALLS, "%s never stops failing",
	    call_names[call]);
	return n;
}

/* The calls the supervisor makes, with the methods that make them. */
static const struct {
	enum call		call;
	procq_start_method	method;
} supervisor_calls[] = {
	{ CALL_PIPE2, PROCQ_START_FORK },
	{ CALL_PIPE2, PROCQ_START_FORKSERVER },
	{ CALL_PIPE2, PROCQ_START_EXEC },
	{ CALL_MEMFD, PROCQ_START_FORK },
	{ CALL_FTRUNCATE, PROCQ_START_FORKSERVER },
	{ CALL_MMAP, PROCQ_START_EXEC },
	{ CALL_FORK, PROCQ_START_FORK },
	{ CALL_FORK, PROCQ_START_FORKSERVER },
	{ CALL_SOCKETPAIR, PROCQ_START_FORKSERVER },
	{ CALL_SENDMSG, PROCQ_START_FORKSERVER },
	{ CALL_RECV, PROCQ_START_FORKSERVER },
	{ CALL_PIDFD, PROCQ_START_FORK },
	{ CALL_PIDFD, PROCQ_START_FORKSERVER },
	{ CALL_SPAWN, PROCQ_START_EXEC },
	{ CALL_SPAWN_ACTIONS, PROCQ_START_EXEC },
	{ CALL_SPAWN_ATTR, PROCQ_START_EXEC },
	{ CALL_SPAWN_DUP2, PROCQ_START_EXEC },
	{ CALL_SPAWN_FLAGS, PROCQ_START_EXEC },
	{ CALL_DUPFD, PROCQ_START_EXEC },
	{ CALL_EVENTFD, PROCQ_START_FORK },
	{ CALL_THREAD, PROCQ_START_FORK },
};

START_TEST(test_supervisor_call_fails)
{
	enum call call = supervisor_calls[_i].call;

	ck_assert_int_gt(run_each(supervisor_calls[_i].method, call,
	    SCOPE_SELF), 0);
}
END_TEST

/*
 * The fork server killed from outside, and the first start of its
 * successor failing: the tasks that needed a worker meanwhile end (they
 * succeed once a later restart works, or fail as unstartable), and the
 * queue goes on with a new server.
 */
START_TEST(test_server_restart_fails)
{
	procq_queue *q = queue_for(PROCQ_START_FORKSERVER);
	procq_handle *h[3];
	pid_t server, kids[8];
	int fds = count_fds();

	ck_assert_int_eq(procq_start(q), 0);
	check_task(submit_ok(q, "ident", NULL, "i", 5), 0, CALL_SOCKETPAIR);
	ck_assert_uint_eq(list_servers(getpid(), &server, 1), 1);
	arm(CALL_SOCKETPAIR, SCOPE_SELF, 0, EMFILE);
	ck_assert_int_eq(kill(server, SIGKILL), 0);
	ck_assert(wait_pid_gone(server, 10));
	for (size_t i = 0; i < NITEMS(h); i++)
		h[i] = submit_ok(q, "ident", NULL, "i", 5);
	for (size_t i = 0; i < NITEMS(h); i++)
		check_task(h[i], 0, CALL_SOCKETPAIR);
	ck_assert_msg(disarm(), "no new fork server was started");
	h[0] = submit_ok(q, "ident", NULL, "i", 5);
	wait_done(h[0], 30);
	ck_assert_int_eq(procq_handle_status(h[0]), PROCQ_SUCCEEDED);
	procq_free(q);
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_uint_eq(list_children(kids, NITEMS(kids)), 0);
}
END_TEST

/* The calls a worker or the fork server makes after its fork. */
static const struct {
	enum call		call;
	procq_start_method	method;
} child_calls[] = {
	{ CALL_DUP2, PROCQ_START_FORK },
	{ CALL_DUP2, PROCQ_START_FORKSERVER },
	{ CALL_DUPFD, PROCQ_START_FORK },
	{ CALL_DUPFD, PROCQ_START_FORKSERVER },
	{ CALL_MMAP, PROCQ_START_FORKSERVER },
	{ CALL_FORK, PROCQ_START_FORKSERVER },
	{ CALL_SEND, PROCQ_START_FORKSERVER },
	{ CALL_RECVMSG, PROCQ_START_FORKSERVER },
};

START_TEST(test_child_call_fails)
{
	enum call call = child_calls[_i].call;

	ck_assert_int_gt(run_each(child_calls[_i].method, call,
	    SCOPE_CHILDREN), 0);
}
END_TEST

/*
 * A host of remote workers (host.h), as libprocq-mpi's node agent uses
 * it: a spawn whose system call fails returns -1 with the call's errno
 * and leaves no descriptor open; the host goes on spawning.
 */
START_TEST(test_host_spawn_fails)
{
	static const enum call calls[] = {
		CALL_PIPE2, CALL_MEMFD, CALL_FTRUNCATE, CALL_MMAP,
		CALL_SENDMSG, CALL_RECV, CALL_PIDFD
	};
	struct procq__host_worker hw;
	struct procq__host *host;
	struct rusage ru;
	int err = 0, fds, status, rc;
	long n;

	host = procq__host_open(common_worker_tasks(), &err);
	ck_assert_msg(host != NULL, "host: %s", procq_strerror(err));
	for (size_t i = 0; i < NITEMS(calls); i++) {
		for (n = 0; n < MAX_CALLS; n++) {
			fds = count_fds();
			arm(calls[i], SCOPE_SELF, n, EMFILE);
			errno = 0;
			rc = procq__host_spawn(host, NULL, &hw);
			if (!disarm())
				break;
			if (calls[i] == CALL_SENDMSG || calls[i] == CALL_RECV) {
				/* A server that does not answer is of no use:
				 * the host is lost, so start another. */
				ck_assert_int_eq(rc, -1);
				procq__host_close(host);
				host = procq__host_open(common_worker_tasks(),
				    &err);
				ck_assert_ptr_nonnull(host);
				continue;
			}
			ck_assert_msg(rc == -1 && errno == EMFILE,
			    "%s failing at call %ld: spawn gave %d (%s)",
			    call_names[calls[i]], n, rc, strerror(errno));
			ck_assert_int_eq(count_fds(), fds);
		}
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(rc, 0);
		procq__host_signal(host, hw.pid, SIGKILL);
		ck_assert_int_eq(procq__host_reap(host, hw.pid, &status, &ru),
		    0);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
			char out[4096];
			ssize_t k;

			fcntl(hw.err_fd, F_SETFL, O_NONBLOCK);
			k = read(hw.err_fd, out, sizeof out - 1);
			out[k > 0 ? k : 0] = '\0';
			ck_abort_msg("after %s failed: worker status %#x: %s",
			    call_names[calls[i]], status, out);
		}
		close(hw.in_fd);
		close(hw.out_fd);
		close(hw.err_fd);
		close(hw.pidfd);
	}
	procq__host_close(host);
}
END_TEST

/* A host without a table, or whose fork server cannot start. */
START_TEST(test_host_open_fails)
{
	static const enum call calls[] = { CALL_SOCKETPAIR, CALL_FORK };
	struct procq__host *host;
	int err = 0, fds = count_fds();

	ck_assert_ptr_null(procq__host_open(NULL, &err));
	ck_assert_int_eq(err, PROCQ_EINVAL);
	for (size_t i = 0; i < NITEMS(calls); i++) {
		arm(calls[i], SCOPE_SELF, 0, EMFILE);
		host = procq__host_open(common_worker_tasks(), &err);
		ck_assert(disarm());
		ck_assert_ptr_null(host);
		ck_assert_int_eq(err, PROCQ_ESYS);
		ck_assert_int_eq(count_fds(), fds);
	}
	/* Signalling no worker does nothing. */
	host = procq__host_open(common_worker_tasks(), &err);
	ck_assert_ptr_nonnull(host);
	procq__host_signal(host, 0, SIGKILL);
	procq__host_close(host);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/*
 * A worker started without a setup serves with the defaults: it says
 * hello down its pipe.  (It used to read the limits of a configuration
 * its template did not have, and died of SIGSEGV before its hello.)
 */
START_TEST(test_host_worker_without_setup)
{
	struct procq__host_worker hw;
	struct procq__host *host;
	struct rusage ru;
	char buf[256];
	int err = 0, status;

	host = procq__host_open(common_worker_tasks(), &err);
	ck_assert_ptr_nonnull(host);
	ck_assert_int_eq(procq__host_spawn(host, NULL, &hw), 0);
	ck_assert_int_eq(poll(&(struct pollfd){ .fd = hw.out_fd,
	    .events = POLLIN }, 1, 30000), 1);
	ck_assert_msg(read(hw.out_fd, buf, sizeof buf) > 0,
	    "the worker ended before its hello");
	procq__host_signal(host, hw.pid, SIGKILL);
	ck_assert_int_eq(procq__host_reap(host, hw.pid, &status, &ru), 0);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGKILL);
	close(hw.in_fd);
	close(hw.out_fd);
	close(hw.err_fd);
	close(hw.pidfd);
	procq__host_close(host);
}
END_TEST

/* A remote worker whose setup cannot be read says so on its pipe and
 * exits: the host reaps it like any other. */
START_TEST(test_host_bad_setup)
{
	struct procq__host_worker hw;
	struct procq__host *host;
	struct rusage ru;
	char buf[256];
	int err = 0, status;
	ssize_t n;

	host = procq__host_open(common_worker_tasks(), &err);
	ck_assert_ptr_nonnull(host);
	ck_assert_int_eq(procq__host_spawn(host, "not a setup", &hw), 0);
	n = read(hw.out_fd, buf, sizeof buf);
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(memmem(buf, (size_t)n, "setup", 5));
	/* Reaping kills first: the worker must have left by itself. */
	ck_assert_int_eq(poll(&(struct pollfd){ .fd = hw.pidfd,
	    .events = POLLIN }, 1, 30000), 1);
	ck_assert_int_eq(procq__host_reap(host, hw.pid, &status, &ru), 0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_ne(WEXITSTATUS(status), 0);
	close(hw.in_fd);
	close(hw.out_fd);
	close(hw.err_fd);
	close(hw.pidfd);
	procq__host_close(host);
}
END_TEST

static Suite *
syscalls_suite(void)
{
	Suite *s = suite_create("syscalls");
	TCase *tc;

	tc = add_tcase(s, "supervisor", 120);
	tcase_add_loop_test(tc, test_supervisor_call_fails, 0,
	    NITEMS(supervisor_calls));
	tcase_add_test(tc, test_server_restart_fails);
	tc = add_tcase(s, "children", 120);
	tcase_add_loop_test(tc, test_child_call_fails, 0, NITEMS(child_calls));
	tc = add_tcase(s, "host", 60);
	tcase_add_test(tc, test_host_spawn_fails);
	tcase_add_test(tc, test_host_open_fails);
	tcase_add_test(tc, test_host_bad_setup);
	tcase_add_test(tc, test_host_worker_without_setup);
	return s;
}

int
main(void)
{
	faults = __real_mmap(NULL, sizeof *faults, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (faults == MAP_FAILED) {
		perror("mmap");
		return EXIT_FAILURE;
	}
	atomic_init(&faults->left, -1);
	return run_suite(syscalls_suite());
}
