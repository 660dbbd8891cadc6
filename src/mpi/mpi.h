/*
 * libprocq-mpi's own: the records that rank 0 and the node agents send
 * each other, and the two sides (link.c on rank 0, agent.c on the
 * others).
 *
 * One MPI message carries a batch: msgpack arrays one after another, each
 * a record.  Rank 0 to an agent: SPAWN [id, setup], DATA [id, bytes] for
 * a worker's task pipe, EOF [id] when the pool closed it, SIGNAL [id,
 * sig], STOP [].  An agent to rank 0: OUT [id, bytes] and ERR [id, bytes]
 * from a worker's result pipe and stderr, DIED [id, status, utime,
 * stime, maxrss] once it has been reaped, and FAILED [id, errno] for a
 * worker that could not be started.  Only one thread of each process
 * calls MPI.
 */
#ifndef PROCQ_MPI_PRIVATE_H
#define PROCQ_MPI_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mpi.h>
#include <msgpack.h>

#include "procq.h"

#define PROCQ_MPI_TAG	   17
#define PROCQ_MPI_CHUNK	   (256 * 1024) /* read from a pipe at once */
#define PROCQ_MPI_HOST_MAX 256

enum procq_mpi_record {
	REC_SPAWN = 1,
	REC_DATA,
	REC_EOF,
	REC_SIGNAL,
	REC_STOP,
	REC_OUT,
	REC_ERR,
	REC_DIED,
	REC_FAILED
};

struct procq__host;

/* A record as read: the fields a type has. */
struct mpi_record {
	int			 type;
	long			 id;
	const char		*data;		/* DATA, OUT, ERR, SPAWN */
	size_t			 len;
	int64_t			 num[4];	/* SIGNAL, DIED, FAILED */
};

/* Messages on their way out, freed once MPI is done with them. */
struct mpi_sends {
	MPI_Request		*req;
	char			**buf;
	size_t			 n, cap;
};

/* How often a side looks at MPI (mpi_pause()). */
/* Seconds of fast looks at MPI after traffic. */
#define PROCQ_MPI_LIVELY	0.05

struct mpi_pace {
	int			 us;		/* the next pause */
	double			 last_busy;	/* monotonic */
};

/* wire.c */
int mpi_pack_record(msgpack_sbuffer *sb, int type, long id, const char *data,
    size_t len, const int64_t *num, int nnum);
int mpi_next_record(const char *buf, size_t len, size_t *off,
    msgpack_unpacked *u, struct mpi_record *rec);
int mpi_send(struct mpi_sends *s, MPI_Comm comm, int rank,
    msgpack_sbuffer *sb);
int mpi_sends_test(struct mpi_sends *s);
void mpi_sends_wait(struct mpi_sends *s);
int mpi_receive(MPI_Comm comm, int source, char **buf, int *len, int *from);
void mpi_pause(struct mpi_pace *p, bool busy);

/* link.c: rank 0 */
int mpi_link_open(MPI_Comm comm, int nagents,
    const char (*hosts)[PROCQ_MPI_HOST_MAX]);
const procq_transport *mpi_link_transport(void);
void mpi_link_close(void);

/* agent.c: the other ranks */
int mpi_agent_run(MPI_Comm comm, struct procq__host *host);

#endif
