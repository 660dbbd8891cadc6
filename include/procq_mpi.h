/*
 * procq on many hosts through MPI: libprocq-mpi.  procq_mpi_init(3) and
 * procq(7), "Running on several hosts".
 */
#ifndef PROCQ_MPI_H
#define PROCQ_MPI_H

#include <procq.h>

#ifdef __cplusplus
extern "C" {
#endif

int procq_mpi_init(int *argc, char ***argv, const procq_worker_task *tasks);
const procq_transport *procq_mpi_transport(void);
int procq_mpi_finalize(void);

#ifdef __cplusplus
}
#endif

#endif
