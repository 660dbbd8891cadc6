# Workers on other ranks: the suite runs under mpirun (tests/mpi.sh), rank
# 0 the caller and two node agents, on this one machine.
EXTRA_DIST += tests/mpi.sh tests/mpi_suite.c tests/lsan-mpi.supp tests/tsan-mpi.supp \
	tests/mpi-env.sh
if HAVE_MPI
check_PROGRAMS += tests/mpi_suite
TESTS += tests/mpi.sh
tests_mpi_suite_SOURCES = tests/mpi_suite.c $(PROCQ_TEST_COMMON)
tests_mpi_suite_CFLAGS = $(PROCQ_TEST_CFLAGS) $(MPI_CFLAGS)
tests_mpi_suite_LDADD = libprocq-mpi.la $(PROCQ_TEST_LDADD) $(MPI_LIBS)
tests_mpi_suite_LDFLAGS = -no-install
endif
