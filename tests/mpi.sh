#!/bin/sh
# The MPI suite (tests/mpi_suite.c) under mpirun: rank 0 runs it, ranks 1
# and 2 are node agents, all on this machine.  As root, Open MPI wants
# --allow-run-as-root; --oversubscribe lets three ranks share fewer cores.
# First the same program without mpirun, as MPI's one rank with no agents:
# alone, and in a program that started MPI itself, with threads, without
# (which procq refuses), and with no descriptor left for procq's link.
. "${srcdir:-.}/tests/mpi-env.sh"
command -v "$MPIRUN" >/dev/null 2>&1 || {
	echo "mpi.sh: $MPIRUN not found (Debian: openmpi-bin)" >&2
	exit 1
}
for how in --alone --alone-after-mpi --alone-after-mpi-single \
    --alone-without-descriptors; do
	OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
	    timeout -k 10 120 ./tests/mpi_suite "$how" || {
		echo "mpi.sh: mpi_suite $how (without mpirun) failed" >&2
		exit 1
	}
done
exec timeout -k 10 600 "$MPIRUN" --allow-run-as-root --oversubscribe \
    -np 3 ./tests/mpi_suite
