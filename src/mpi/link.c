/*
 * Rank 0's side: the transport (remote.h) that puts a queue's workers on
 * the node agents.  For each remote worker the pool holds the near ends
 * of three pipes; the link holds the far ends and relays their bytes to
 * the worker's agent and back, on a thread of its own, the only thread
 * of this process that calls MPI once procq_mpi_init() has returned.
 *
 * A worker record is made by spawn() on the queue's loop thread and
 * freed by the link thread once the worker is dead and the pool has
 * reaped it.  lk.lock guards the records and the batches being
 * gathered for each agent.  The link thread never holds it while it
 * waits: poll() and the receiving of MPI messages happen without it.
 * Under it, it does only what cannot block: reads and writes of
 * non-blocking pipes, MPI_Isend() and MPI_Test().  So the loop thread,
 * which takes it in the ops, waits at most for one such round.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "mpi.h"
#include "remote.h"

struct link_worker {
	LIST_ENTRY(link_worker) link;
	long			 id;
	int			 agent;		/* index in lk.agents */
	int			 in_fd;		/* its tasks, from the pool */
	int			 out_fd;	/* its results, to the pool */
	int			 err_fd;	/* its stderr, or -1 */
	int			 death_fd;	/* eventfd, written at death */
	msgpack_sbuffer		 out_wait;	/* not yet taken by out_fd */
	msgpack_sbuffer		 err_wait;
	bool			 died;		/* DIED or FAILED came */
	bool			 dead;		/* and was passed on */
	bool			 reaped;	/* the pool is done with it */
	int			 status;
	struct rusage		 ru;
};

struct link_agent {
	int			 rank;
	char			 host[PROCQ_MPI_HOST_MAX];
	int			 workers;	/* live on it */
	msgpack_sbuffer		 batch;		/* on its way to it */
};

static struct {
	bool			 open;
	MPI_Comm		 comm;
	int			 nagents;
	struct link_agent	*agents;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 died;
	int			 wake[2];
	LIST_HEAD(, link_worker) workers;
	long			 next_id;
	bool			 stop;
	struct mpi_sends	 sends;
} lk = { .lock = PTHREAD_MUTEX_INITIALIZER,
	.died = PTHREAD_COND_INITIALIZER,
	.wake = { -1, -1 } };

static void
link_wake(void)
{
	char b = 0;

	while (write(lk.wake[1], &b, 1) < 0 && errno == EINTR)
		;
}

static struct link_worker *
link_find(long id)
{
	struct link_worker *lw;

	LIST_FOREACH(lw, &lk.workers, link) {
		if (lw->id == id)
			return lw;
	}
	return NULL;
}

static int
link_hosts(void)
{
	return lk.nagents;
}

/* The agent with the fewest workers of any queue; the lowest rank of
 * those. */
static int
link_pick_agent(void)
{
	int best = 0;

	for (int i = 1; i < lk.nagents; i++) {
		if (lk.agents[i].workers < lk.agents[best].workers)
			best = i;
	}
	return best;
}

static void
link_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void
link_free_worker(struct link_worker *lw)
{
	LIST_REMOVE(lw, link);
	link_close_fd(&lw->in_fd);
	link_close_fd(&lw->out_fd);
	link_close_fd(&lw->err_fd);
	link_close_fd(&lw->death_fd);
	msgpack_sbuffer_destroy(&lw->out_wait);
	msgpack_sbuffer_destroy(&lw->err_wait);
	free(lw);
}

static int
link_dup(int fd, bool nonblock)
{
	int d;

	if (fd < 0)
		return -1;
	if ((d = fcntl(fd, F_DUPFD_CLOEXEC, 3)) >= 0 && nonblock)
		fcntl(d, F_SETFL, fcntl(d, F_GETFL) | O_NONBLOCK);
	return d;
}

static int
link_spawn(const struct remote_spawn *rs, struct remote_worker *rw)
{
	struct link_worker *lw;
	struct link_agent *a;
	int rc = -1;

	if ((lw = calloc(1, sizeof *lw)) == NULL)
		return -1;
	msgpack_sbuffer_init(&lw->out_wait);
	msgpack_sbuffer_init(&lw->err_wait);
	lw->in_fd = link_dup(rs->in_fd, true);
	lw->out_fd = link_dup(rs->out_fd, true);
	lw->err_fd = link_dup(rs->err_fd, true);
	lw->death_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_lock(&lk.lock);
	LIST_INSERT_HEAD(&lk.workers, lw, link);
	if (lw->in_fd < 0 || lw->out_fd < 0 ||
	    (rs->err_fd >= 0 && lw->err_fd < 0) || lw->death_fd < 0 ||
	    (rw->death_fd = fcntl(lw->death_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		link_free_worker(lw);
		goto out;
	}
	lw->id = ++lk.next_id;
	lw->agent = link_pick_agent();
	a = &lk.agents[lw->agent];
	if (mpi_pack_record(&a->batch, REC_SPAWN, lw->id, rs->setup,
		strlen(rs->setup), NULL, 0) != 0) {
		close(rw->death_fd);
		link_free_worker(lw);
		errno = ENOMEM;
		goto out;
	}
	a->workers++;
	rw->id = lw->id;
	rw->rank = a->rank;
	rw->host = a->host;
	rc = 0;
out:
	pthread_mutex_unlock(&lk.lock);
	if (rc == 0)
		link_wake();
	return rc;
}

static void
link_signal(long id, int sig)
{
	struct link_worker *lw;
	int64_t num = sig;
	bool sent = false;

	pthread_mutex_lock(&lk.lock);
	if ((lw = link_find(id)) != NULL && !lw->died)
		sent = mpi_pack_record(&lk.agents[lw->agent].batch, REC_SIGNAL,
			   id, NULL, 0, &num, 1) == 0;
	pthread_mutex_unlock(&lk.lock);
	if (sent)
		link_wake();
}

/* A dead worker's status is there at once; a worker just sent SIGKILL
 * (a teardown) is waited for, up to 10 s. */
static int
link_reap(long id, int *status, struct rusage *ru)
{
	struct link_worker *lw;
	struct timespec until;
	int rc = -1;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&lk.lock);
	while ((lw = link_find(id)) != NULL && !lw->dead && !lk.stop)
		if (pthread_cond_timedwait(&lk.died, &lk.lock, &until) ==
		    ETIMEDOUT)
			break;
	if (lw != NULL && lw->dead) {
		*status = lw->status;
		*ru = lw->ru;
		rc = lw->status >= 0 ? 0 : -1;
	}
	if (lw != NULL)
		lw->reaped = true;
	pthread_mutex_unlock(&lk.lock);
	link_wake();
	return rc;
}

static const struct procq_transport link_ops = { .name = "mpi",
	.hosts = link_hosts,
	.spawn = link_spawn,
	.signal = link_signal,
	.reap = link_reap };

const procq_transport *
mpi_link_transport(void)
{
	return lk.open && lk.nagents > 0 ? &link_ops : NULL;
}

/* The thread blocks every signal; the SIGPIPE of a write to a pipe the
 * pool has closed stays pending on it until taken here. */
static void
link_clear_sigpipe(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t pipe;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	while (sigtimedwait(&pipe, NULL, &zero) > 0)
		;
}

/* Writes what waits for fd; false if fd is broken (the pool has closed
 * its end: what is left is dropped). */
static bool
link_write_wait(int *fd, msgpack_sbuffer *wait)
{
	ssize_t n;

	while (*fd >= 0 && wait->size > 0) {
		n = write(*fd, wait->data, wait->size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n < 0) {
			if (errno == EPIPE)
				link_clear_sigpipe();
			link_close_fd(fd);
			wait->size = 0;
			return false;
		}
		memmove(wait->data, wait->data + n, wait->size - (size_t)n);
		wait->size -= (size_t)n;
	}
	return true;
}

/* Once everything it wrote has reached the pool: its pipes close and the
 * pool is told of its death. */
static void
link_pass_death(struct link_worker *lw)
{
	uint64_t one = 1;

	if (!lw->died || lw->dead || lw->out_wait.size > 0 ||
	    lw->err_wait.size > 0)
		return;
	link_close_fd(&lw->out_fd);
	link_close_fd(&lw->err_fd);
	link_close_fd(&lw->in_fd);
	lw->dead = true;
	if (write(lw->death_fd, &one, sizeof one) < 0)
		link_close_fd(&lw->death_fd);
	pthread_cond_broadcast(&lk.died);
}

static void
link_append(struct link_worker *lw, int *fd, msgpack_sbuffer *wait,
    const char *data, size_t len)
{
	if (*fd < 0)
		return;
	if (msgpack_sbuffer_write(wait, data, len) != 0)
		link_close_fd(fd); /* out of memory: the pool sees EOF */
	link_write_wait(fd, wait);
	(void)lw;
}

/*
 * A worker its host could not start says why, as a worker that cannot
 * set itself up would, in place of its hello: the task that waited for
 * it fails with the host's reason, not with an exit status of 127.
 */
static void
link_say_failed(struct link_worker *lw, int64_t err)
{
	const struct link_agent *a = &lk.agents[lw->agent];
	const char *reason = "no reason given";
	msgpack_sbuffer sb;
	char why[PROCQ_MPI_HOST_MAX + 160];

	if (err > 0 && err < INT_MAX)
		reason = strerror((int)err);
	snprintf(why, sizeof why,
	    "its host (rank %d, %s) could not start it: %s", a->rank, a->host,
	    reason);
	msgpack_sbuffer_init(&sb);
	if (procq__setup_failed_frame(&sb, why) == 0)
		link_append(lw, &lw->out_fd, &lw->out_wait, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

static void
link_record(struct link_worker *lw, const struct mpi_record *rec)
{
	switch (rec->type) {
	case REC_OUT:
		link_append(lw, &lw->out_fd, &lw->out_wait, rec->data,
		    rec->len);
		break;
	case REC_ERR:
		link_append(lw, &lw->err_fd, &lw->err_wait, rec->data,
		    rec->len);
		break;
	case REC_DIED:
		lw->status = (int)rec->num[0];
		lw->ru.ru_utime.tv_sec = rec->num[1] / 1000000;
		lw->ru.ru_utime.tv_usec = rec->num[1] % 1000000;
		lw->ru.ru_stime.tv_sec = rec->num[2] / 1000000;
		lw->ru.ru_stime.tv_usec = rec->num[2] % 1000000;
		lw->ru.ru_maxrss = rec->num[3];
		lw->died = true;
		break;
	case REC_FAILED: /* never started: as if it exited at once */
		link_say_failed(lw, rec->num[0]);
		lw->status = W_EXITCODE(127, 0);
		lw->died = true;
		break;
	}
	if (lw->died && !lw->dead && lk.agents[lw->agent].workers > 0 &&
	    (rec->type == REC_DIED || rec->type == REC_FAILED))
		lk.agents[lw->agent].workers--;
	link_pass_death(lw);
}

static void
link_batch(const char *buf, int len)
{
	struct mpi_record rec;
	struct link_worker *lw;
	msgpack_unpacked u;
	size_t off = 0;

	msgpack_unpacked_init(&u);
	pthread_mutex_lock(&lk.lock);
	while (mpi_next_record(buf, (size_t)len, &off, &u, &rec) > 0) {
		if ((lw = link_find(rec.id)) != NULL && !lw->dead)
			link_record(lw, &rec);
	}
	pthread_mutex_unlock(&lk.lock);
	msgpack_unpacked_destroy(&u);
}

/* A worker's task pipe: its bytes to the agent, or EOF. */
static bool
link_read_tasks(struct link_worker *lw, char *chunk)
{
	msgpack_sbuffer *batch = &lk.agents[lw->agent].batch;
	ssize_t n;

	while ((n = read(lw->in_fd, chunk, PROCQ_MPI_CHUNK)) < 0 &&
	    errno == EINTR)
		;
	if (n < 0 && errno == EAGAIN)
		return false;
	if (n > 0) {
		mpi_pack_record(batch, REC_DATA, lw->id, chunk, (size_t)n,
		    NULL, 0);
		return true;
	}
	mpi_pack_record(batch, REC_EOF, lw->id, NULL, 0, NULL, 0);
	link_close_fd(&lw->in_fd);
	return true;
}

/* The descriptors to wait on: the wake pipe, the task pipes, and the
 * pipes to the pool that are full.  Under lk.lock. */
static size_t
link_poll_set(struct pollfd **pfd, size_t *cap, struct link_worker ***who)
{
	struct link_worker *lw;
	size_t n = 1, need = 1;

	LIST_FOREACH(lw, &lk.workers, link)
		need += 3;
	if (need > *cap) {
		struct pollfd *p = realloc(*pfd, need * sizeof *p);
		struct link_worker **w = realloc(*who, need * sizeof *w);

		if (p != NULL)
			*pfd = p;
		if (w != NULL)
			*who = w;
		if (p == NULL || w == NULL)
			return 0;
		*cap = need;
	}
	(*pfd)[0] = (struct pollfd){ .fd = lk.wake[0], .events = POLLIN };
	LIST_FOREACH(lw, &lk.workers, link) {
		if (lw->in_fd >= 0) {
			(*pfd)[n] = (struct pollfd){ lw->in_fd, POLLIN, 0 };
			(*who)[n++] = lw;
		}
		if (lw->out_fd >= 0 && lw->out_wait.size > 0) {
			(*pfd)[n] = (struct pollfd){ lw->out_fd, POLLOUT, 0 };
			(*who)[n++] = lw;
		}
		if (lw->err_fd >= 0 && lw->err_wait.size > 0) {
			(*pfd)[n] = (struct pollfd){ lw->err_fd, POLLOUT, 0 };
			(*who)[n++] = lw;
		}
	}
	return n;
}

/* What the pipes have, after a poll: under lk.lock.  True if anything
 * moved. */
static bool
link_pipes(struct pollfd *pfd, size_t n, struct link_worker **who, char *chunk)
{
	struct link_worker *lw, *next;
	bool busy = false;
	char drain[64];

	if (pfd[0].revents != 0)
		while (read(lk.wake[0], drain, sizeof drain) > 0)
			busy = true;
	for (size_t i = 1; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		lw = who[i];
		busy = true;
		if (pfd[i].fd == lw->in_fd)
			while (lw->in_fd >= 0 && link_read_tasks(lw, chunk))
				;
		else if (pfd[i].fd == lw->out_fd)
			link_write_wait(&lw->out_fd, &lw->out_wait);
		else if (pfd[i].fd == lw->err_fd)
			link_write_wait(&lw->err_fd, &lw->err_wait);
		link_pass_death(lw);
	}
	for (lw = LIST_FIRST(&lk.workers); lw != NULL; lw = next) {
		next = LIST_NEXT(lw, link);
		if (lw->dead && lw->reaped)
			link_free_worker(lw);
	}
	return busy;
}

/* Sends each agent what was gathered for it.  Under lk.lock. */
static void
link_flush(void)
{
	for (int i = 0; i < lk.nagents; i++)
		mpi_send(&lk.sends, lk.comm, lk.agents[i].rank,
		    &lk.agents[i].batch);
	mpi_sends_test(&lk.sends);
}

static void *
link_main(void *arg)
{
	struct link_worker **who = NULL;
	struct pollfd *pfd = NULL;
	size_t cap = 0, n;
	char *chunk = malloc(PROCQ_MPI_CHUNK), *buf;
	struct mpi_pace pace = { .us = 1000 };
	int len, from;
	bool busy, stop = false;
	struct timespec ts;

	(void)arg;
	/* Its short pauses are meant as written (the default slack of 50
	 * microseconds would more than double them). */
	prctl(PR_SET_TIMERSLACK, 1000UL);
	while (!stop && chunk != NULL) {
		pthread_mutex_lock(&lk.lock);
		n = link_poll_set(&pfd, &cap, &who);
		pthread_mutex_unlock(&lk.lock);
		if (n == 0)
			break; /* out of memory */
		ts.tv_sec = 0;
		ts.tv_nsec = (long)pace.us * 1000;
		if (ppoll(pfd, n, &ts, NULL) < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&lk.lock);
		busy = link_pipes(pfd, n, who, chunk);
		link_flush();
		stop = lk.stop;
		pthread_mutex_unlock(&lk.lock);
		while (mpi_receive(lk.comm, MPI_ANY_SOURCE, &buf, &len,
			   &from) > 0) {
			link_batch(buf, len);
			free(buf);
			busy = true;
		}
		mpi_pause(&pace, busy);
	}
	free(chunk);
	free(pfd);
	free(who);
	return NULL;
}

int
mpi_link_open(MPI_Comm comm, int nagents,
    const char (*hosts)[PROCQ_MPI_HOST_MAX])
{
	sigset_t all, old;
	int rc;

	lk.comm = comm;
	lk.nagents = nagents;
	LIST_INIT(&lk.workers);
	if ((lk.agents = calloc((size_t)nagents + 1, sizeof *lk.agents)) ==
	    NULL)
		return PROCQ_ENOMEM;
	for (int i = 0; i < nagents; i++) {
		lk.agents[i].rank = i + 1;
		memcpy(lk.agents[i].host, hosts[i + 1],
		    sizeof lk.agents[i].host);
		msgpack_sbuffer_init(&lk.agents[i].batch);
	}
	if (pipe2(lk.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(lk.agents);
		return PROCQ_ESYS;
	}
	/* Signals are the program's: the thread takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&lk.thread, NULL, link_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		close(lk.wake[0]);
		close(lk.wake[1]);
		free(lk.agents);
		errno = rc;
		return PROCQ_ESYS;
	}
	lk.open = true;
	return 0;
}

/* Every queue on the link is gone by now: the agents are told to stop,
 * and the last batches are sent before the thread ends. */
void
mpi_link_close(void)
{
	struct link_worker *lw, *next;

	if (!lk.open)
		return;
	pthread_mutex_lock(&lk.lock);
	for (int i = 0; i < lk.nagents; i++)
		mpi_pack_record(&lk.agents[i].batch, REC_STOP, 0, NULL, 0,
		    NULL, 0);
	lk.stop = true;
	pthread_cond_broadcast(&lk.died);
	pthread_mutex_unlock(&lk.lock);
	link_wake();
	pthread_join(lk.thread, NULL);
	link_flush();
	mpi_sends_wait(&lk.sends);
	for (lw = LIST_FIRST(&lk.workers); lw != NULL; lw = next) {
		next = LIST_NEXT(lw, link);
		link_free_worker(lw);
	}
	for (int i = 0; i < lk.nagents; i++)
		msgpack_sbuffer_destroy(&lk.agents[i].batch);
	free(lk.agents);
	close(lk.wake[0]);
	close(lk.wake[1]);
	lk.open = false;
}
