/*
 * A node agent: what every rank but 0 runs inside procq_mpi_init() until
 * rank 0 says STOP.  It starts workers from its host's fork server (made
 * before MPI started), relays their pipes to rank 0 and back, signals
 * them when told, and reports each death with its wait status once it
 * has reaped the worker.  It runs no task code: a task that crashes
 * takes its worker down, never the agent.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "mpi.h"

struct agent_worker {
	LIST_ENTRY(agent_worker) link;
	long			 id;
	struct procq__host_worker  hw;
	msgpack_sbuffer		 in_wait;	/* tasks not yet written */
	bool			 in_eof;	/* close in_fd once written */
	bool			 dead;		/* its pidfd said so */
};

struct agent {
	MPI_Comm		 comm;
	struct procq__host	*host;
	LIST_HEAD(, agent_worker) workers;
	msgpack_sbuffer		 batch;		/* to rank 0 */
	struct mpi_sends	 sends;
	char			*chunk;
	bool			 stop;
};

static void
agent_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static struct agent_worker *
agent_find(struct agent *a, long id)
{
	struct agent_worker *aw;

	LIST_FOREACH(aw, &a->workers, link) {
		if (aw->id == id)
			return aw;
	}
	return NULL;
}

static void
agent_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void
agent_spawn(struct agent *a, const struct mpi_record *rec)
{
	struct agent_worker *aw;
	char *setup;
	int64_t num;

	/* Not strndup(): the string has no NUL to stop at. */
	if ((aw = calloc(1, sizeof *aw)) == NULL ||
	    (setup = malloc(rec->len + 1)) == NULL) {
		free(aw);
		num = ENOMEM;
		mpi_pack_record(&a->batch, REC_FAILED, rec->id, NULL, 0, &num,
		    1);
		return;
	}
	if (rec->len > 0)
		memcpy(setup, rec->data, rec->len);
	setup[rec->len] = '\0';
	if (procq__host_spawn(a->host, setup, &aw->hw) != 0) {
		num = errno;
		free(setup);
		free(aw);
		mpi_pack_record(&a->batch, REC_FAILED, rec->id, NULL, 0, &num,
		    1);
		return;
	}
	free(setup);
	aw->id = rec->id;
	msgpack_sbuffer_init(&aw->in_wait);
	agent_nonblock(aw->hw.in_fd);
	agent_nonblock(aw->hw.out_fd);
	agent_nonblock(aw->hw.err_fd);
	LIST_INSERT_HEAD(&a->workers, aw, link);
}

/* Writes what waits for the worker's task pipe; a worker that closed it
 * is dying, and its death will be seen. */
static void
agent_write_tasks(struct agent_worker *aw)
{
	ssize_t n;

	while (aw->hw.in_fd >= 0 && aw->in_wait.size > 0) {
		n = write(aw->hw.in_fd, aw->in_wait.data, aw->in_wait.size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			aw->in_wait.size = 0;
			break;
		}
		memmove(aw->in_wait.data, aw->in_wait.data + n,
		    aw->in_wait.size - (size_t)n);
		aw->in_wait.size -= (size_t)n;
	}
	if (aw->in_eof && aw->in_wait.size == 0)
		agent_close_fd(&aw->hw.in_fd);
}

static void
agent_record(struct agent *a, const struct mpi_record *rec)
{
	struct agent_worker *aw;

	if (rec->type == REC_STOP) {
		a->stop = true;
		return;
	}
	if (rec->type == REC_SPAWN) {
		agent_spawn(a, rec);
		return;
	}
	if ((aw = agent_find(a, rec->id)) == NULL)
		return; /* it died meanwhile: rank 0 hears of it */
	switch (rec->type) {
	case REC_DATA:
		if (aw->hw.in_fd >= 0 &&
		    msgpack_sbuffer_write(&aw->in_wait, rec->data, rec->len) !=
			0)
			procq__host_signal(a->host, aw->hw.pid, SIGKILL);
		agent_write_tasks(aw);
		break;
	case REC_EOF:
		aw->in_eof = true;
		agent_write_tasks(aw);
		break;
	case REC_SIGNAL:
		procq__host_signal(a->host, aw->hw.pid, (int)rec->num[0]);
		break;
	}
}

static void
agent_batch(struct agent *a, const char *buf, int len)
{
	struct mpi_record rec;
	msgpack_unpacked u;
	size_t off = 0;
	int rc;

	msgpack_unpacked_init(&u);
	while ((rc = mpi_next_record(buf, (size_t)len, &off, &u, &rec)) > 0)
		agent_record(a, &rec);
	msgpack_unpacked_destroy(&u);
	if (rc < 0)
		MPI_Abort(MPI_COMM_WORLD, 70); /* rank 0 of another build */
}

/* Reads what a worker's pipe holds into a record; false at EOF. */
static bool
agent_read(struct agent *a, struct agent_worker *aw, int *fd, int type)
{
	ssize_t n;

	while (*fd >= 0) {
		n = read(*fd, a->chunk, PROCQ_MPI_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0) {
			agent_close_fd(fd);
			return false;
		}
		mpi_pack_record(&a->batch, type, aw->id, a->chunk, (size_t)n,
		    NULL, 0);
	}
	return false;
}

/* The worker is dead: what it wrote goes first, then how it ended. */
static void
agent_reap(struct agent *a, struct agent_worker *aw)
{
	struct rusage ru = { 0 };
	int status = 0;
	int64_t num[4];

	agent_read(a, aw, &aw->hw.out_fd, REC_OUT);
	agent_read(a, aw, &aw->hw.err_fd, REC_ERR);
	if (procq__host_reap(a->host, aw->hw.pid, &status, &ru) != 0)
		status = W_EXITCODE(127, 0);
	num[0] = status;
	num[1] = (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
	num[2] = (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
	num[3] = ru.ru_maxrss;
	mpi_pack_record(&a->batch, REC_DIED, aw->id, NULL, 0, num, 4);
	LIST_REMOVE(aw, link);
	agent_close_fd(&aw->hw.in_fd);
	agent_close_fd(&aw->hw.out_fd);
	agent_close_fd(&aw->hw.err_fd);
	agent_close_fd(&aw->hw.pidfd);
	msgpack_sbuffer_destroy(&aw->in_wait);
	free(aw);
}

struct agent_poll {
	struct pollfd		*pfd;
	struct agent_worker	**who;
	size_t			 n, cap;
};

static bool
agent_poll_add(struct agent_poll *p, int fd, short events,
    struct agent_worker *aw)
{
	if (fd < 0)
		return true;
	if (p->n == p->cap) {
		size_t cap = p->cap > 0 ? p->cap * 2 : 32;
		struct pollfd *pfd = realloc(p->pfd, cap * sizeof *pfd);
		struct agent_worker **who;

		if (pfd == NULL)
			return false;
		p->pfd = pfd;
		if ((who = realloc(p->who, cap * sizeof *who)) == NULL)
			return false;
		p->who = who;
		p->cap = cap;
	}
	p->pfd[p->n] = (struct pollfd){ .fd = fd, .events = events };
	p->who[p->n++] = aw;
	return true;
}

static bool
agent_poll_set(struct agent *a, struct agent_poll *p)
{
	struct agent_worker *aw;
	bool ok = true;

	p->n = 0;
	LIST_FOREACH(aw, &a->workers, link) {
		ok = ok && agent_poll_add(p, aw->hw.out_fd, POLLIN, aw) &&
		    agent_poll_add(p, aw->hw.err_fd, POLLIN, aw);
		if (aw->in_wait.size > 0)
			ok = ok &&
			    agent_poll_add(p, aw->hw.in_fd, POLLOUT, aw);
		ok = ok && agent_poll_add(p, aw->hw.pidfd, POLLIN, aw);
	}
	return ok;
}

/* What the workers did; true if anything.  The dead are reaped last,
 * once nothing of this round's poll refers to them. */
static bool
agent_workers(struct agent *a, struct agent_poll *p)
{
	struct agent_worker *aw, *next;
	bool busy = false;

	for (size_t i = 0; i < p->n; i++) {
		int fd = p->pfd[i].fd;

		aw = p->who[i];
		if (p->pfd[i].revents == 0)
			continue;
		busy = true;
		if (fd == aw->hw.out_fd)
			agent_read(a, aw, &aw->hw.out_fd, REC_OUT);
		else if (fd == aw->hw.err_fd)
			agent_read(a, aw, &aw->hw.err_fd, REC_ERR);
		else if (fd == aw->hw.in_fd)
			agent_write_tasks(aw);
		else if (fd == aw->hw.pidfd)
			aw->dead = true;
	}
	for (aw = LIST_FIRST(&a->workers); aw != NULL; aw = next) {
		next = LIST_NEXT(aw, link);
		if (aw->dead)
			agent_reap(a, aw);
	}
	return busy;
}

static void
agent_stop(struct agent *a)
{
	struct agent_worker *aw, *next;

	LIST_FOREACH(aw, &a->workers, link)
		procq__host_signal(a->host, aw->hw.pid, SIGKILL);
	for (aw = LIST_FIRST(&a->workers); aw != NULL; aw = next) {
		next = LIST_NEXT(aw, link);
		agent_reap(a, aw);
	}
	a->batch.size = 0; /* rank 0 listens no more */
}

int
mpi_agent_run(MPI_Comm comm, struct procq__host *host)
{
	struct agent a = { .comm = comm, .host = host };
	struct agent_poll p = { 0 };
	struct timespec ts;
	struct mpi_pace pace = { .us = 1000 };
	int len, from, got;
	char *buf;
	bool busy;

	/* A worker that died leaves a pipe that says EPIPE, no more.  The
	 * pauses between looks at MPI are meant as written (link.c). */
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_TIMERSLACK, 1000UL);
	LIST_INIT(&a.workers);
	msgpack_sbuffer_init(&a.batch);
	if ((a.chunk = malloc(PROCQ_MPI_CHUNK)) == NULL)
		return PROCQ_ENOMEM;
	while (!a.stop) {
		if (!agent_poll_set(&a, &p))
			MPI_Abort(MPI_COMM_WORLD, 71); /* out of memory */
		ts.tv_sec = 0;
		ts.tv_nsec = (long)pace.us * 1000;
		if (ppoll(p.pfd, p.n, &ts, NULL) < 0 && errno != EINTR)
			break;
		busy = agent_workers(&a, &p);
		while ((got = mpi_receive(comm, 0, &buf, &len, &from)) > 0) {
			agent_batch(&a, buf, len);
			free(buf);
			busy = true;
		}
		if (got < 0)
			MPI_Abort(MPI_COMM_WORLD, 71);
		mpi_send(&a.sends, comm, 0, &a.batch);
		mpi_sends_test(&a.sends);
		mpi_pause(&pace, busy);
	}
	agent_stop(&a);
	mpi_sends_wait(&a.sends);
	msgpack_sbuffer_destroy(&a.batch);
	free(a.chunk);
	free(p.pfd);
	free(p.who);
	return 0;
}
