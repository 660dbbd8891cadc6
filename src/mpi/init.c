/*
 * procq_mpi_init(), procq_mpi_transport() and procq_mpi_finalize(): one
 * program under mpirun, rank 0 the caller, every other rank a node agent
 * (agent.c) that runs workers for rank 0's queues (link.c).
 *
 * An agent's fork server is made before MPI_Init(), which starts threads
 * of MPI's own: the workers are forked from a process that has only ever
 * had one thread.  Which rank this process will be is read from the
 * environment mpirun sets; without it the server is made anyway and
 * closed again on rank 0.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "mpi.h"
#include "procq_mpi.h"

static struct {
	bool			 inited;
	bool we_init; /* MPI_Init() was ours to call */
	MPI_Comm		 comm;
} mpi = { .comm = MPI_COMM_NULL };

/* The rank mpirun gave this process, or -1 if it did not say. */
static int
mpi_rank_from_env(void)
{
	static const char *const names[] = { "OMPI_COMM_WORLD_RANK",
		"PMIX_RANK", "PMI_RANK" };
	const char *v;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if ((v = getenv(names[i])) != NULL && *v != '\0')
			return atoi(v);
	}
	return -1;
}

static void
mpi_die(const char *what, int rc)
{
	fprintf(stderr, "procq: MPI node agent: %s: %s\n", what,
	    procq_strerror(rc));
	MPI_Abort(MPI_COMM_WORLD, 70);
	exit(70);
}

/* Every rank's host name, on rank 0. */
static int
mpi_hosts(int rank, int size, char (**hosts)[PROCQ_MPI_HOST_MAX])
{
	char me[PROCQ_MPI_HOST_MAX] = { 0 };

	if (gethostname(me, sizeof me - 1) != 0)
		snprintf(me, sizeof me, "localhost");
	*hosts = NULL;
	if (rank == 0 &&
	    (*hosts = calloc((size_t)size, sizeof **hosts)) == NULL)
		return PROCQ_ENOMEM;
	MPI_Gather(me, PROCQ_MPI_HOST_MAX, MPI_CHAR, *hosts,
	    PROCQ_MPI_HOST_MAX, MPI_CHAR, 0, mpi.comm);
	return 0;
}

/* Rank 0 could not open its link: the agents are told to stop, as
 * procq_mpi_finalize() would, and MPI is left as it was found. */
static void
mpi_give_up(int size)
{
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	if (mpi_pack_record(&sb, REC_STOP, 0, NULL, 0, NULL, 0) == 0)
		for (int r = 1; r < size; r++)
			MPI_Send(sb.data, (int)sb.size, MPI_BYTE, r,
			    PROCQ_MPI_TAG, mpi.comm);
	msgpack_sbuffer_destroy(&sb);
	MPI_Comm_free(&mpi.comm);
	if (mpi.we_init)
		MPI_Finalize();
	mpi.inited = false;
}

static int
mpi_start(int *argc, char ***argv)
{
	int provided = MPI_THREAD_SINGLE, done = 0;

	MPI_Initialized(&done);
	if (!done) {
		if (MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE,
			&provided) != MPI_SUCCESS)
			return PROCQ_ESYS;
		mpi.we_init = true;
	} else
		MPI_Query_thread(&provided);
	/* Only procq's thread calls MPI on rank 0 while queues run; the
	 * program may too if MPI allows it (MPI_THREAD_MULTIPLE). */
	if (provided < MPI_THREAD_SERIALIZED)
		return PROCQ_ESYS;
	MPI_Comm_dup(MPI_COMM_WORLD, &mpi.comm);
	return 0;
}

int
procq_mpi_init(int *argc, char ***argv, const procq_worker_task *tasks)
{
	char(*hosts)[PROCQ_MPI_HOST_MAX] = NULL;
	struct procq__host *host = NULL;
	int rank, size, rc = 0;

	if (mpi.inited || tasks == NULL)
		return PROCQ_EINVAL;
	if (mpi_rank_from_env() != 0 &&
	    (host = procq__host_open(tasks, &rc)) == NULL &&
	    mpi_rank_from_env() > 0)
		return rc;
	if ((rc = mpi_start(argc, argv)) != 0) {
		procq__host_close(host);
		return rc;
	}
	mpi.inited = true;
	MPI_Comm_rank(mpi.comm, &rank);
	MPI_Comm_size(mpi.comm, &size);
	if ((rc = mpi_hosts(rank, size, &hosts)) != 0)
		mpi_die("host names", rc);
	if (rank == 0) {
		procq__host_close(host);
		rc = mpi_link_open(mpi.comm, size - 1,
		    (const char(*)[PROCQ_MPI_HOST_MAX])hosts);
		free(hosts);
		if (rc != 0)
			mpi_give_up(size);
		return rc;
	}
	if (host == NULL && (host = procq__host_open(tasks, &rc)) == NULL)
		mpi_die("starting its fork server", rc);
	if ((rc = mpi_agent_run(mpi.comm, host)) != 0)
		mpi_die("relaying", rc);
	procq__host_close(host);
	MPI_Comm_free(&mpi.comm);
	/* The program never gets control back here: MPI is ended for it,
	 * also if it had started MPI itself. */
	MPI_Finalize();
	exit(0);
}

const procq_transport *
procq_mpi_transport(void)
{
	return mpi_link_transport();
}

int
procq_mpi_finalize(void)
{
	if (!mpi.inited)
		return PROCQ_ESTATE;
	mpi_link_close();
	MPI_Comm_free(&mpi.comm);
	if (mpi.we_init)
		MPI_Finalize();
	mpi.inited = false;
	return 0;
}
