# Benchmarks.  `make bench` runs bench/report.py: procq and its peers on
# the same work, procq(1) beside GNU parallel and xargs -P (bench/cli.py),
# a table of the results in bench/RESULTS.md (scripts/bench installs the
# peers first).  `make check` builds the C programs and runs each
# scenario once on a small count, so that they keep working.
check_PROGRAMS += bench/procq-bench bench/pingpong
bench_procq_bench_SOURCES = bench/procq-bench.c
bench_procq_bench_LDADD = libprocq.la $(MSGPACK_LIBS)
bench_pingpong_SOURCES = bench/pingpong.c
TESTS += bench/smoke-test.sh
EXTRA_DIST += bench/smoke-test.sh bench/report.py bench/peers.py \
	bench/cli.py bench/RESULTS.md

# The same program with its workers on other MPI ranks, run under mpirun
# (the report's MPI section); without MPI that section says it was skipped.
BENCH_MPI_DEPS =
BENCH_MPI_FLAGS =
if HAVE_MPI
check_PROGRAMS += bench/procq-bench-mpi
bench_procq_bench_mpi_SOURCES = bench/procq-bench.c
bench_procq_bench_mpi_CPPFLAGS = $(AM_CPPFLAGS) -DBENCH_MPI $(MPI_CFLAGS)
bench_procq_bench_mpi_LDADD = libprocq-mpi.la libprocq.la $(MSGPACK_LIBS) \
	$(MPI_LIBS)
BENCH_MPI_DEPS += bench/procq-bench-mpi
BENCH_MPI_FLAGS += --procq-mpi bench/procq-bench-mpi --mpirun '$(MPIRUN)'
endif

BENCH_PY = /usr/bin/python3
BENCH_FLAGS =

# procq(1) is timed as it runs installed, without libtool's wrapper script
# in front of it (a shell, which would count in its time to the first
# job): the program itself, given the directory of the uninstalled
# library.
bench: procq$(EXEEXT) bench/procq-bench bench/pingpong $(BENCH_MPI_DEPS)
	procq_cli=`$(LIBTOOL) --mode=execute echo procq$(EXEEXT)` && \
	procq_libs=`$(LIBTOOL) --mode=execute \
	    sh -c 'echo "$$LD_LIBRARY_PATH"' procq$(EXEEXT)` && \
	$(BENCH_PY) $(srcdir)/bench/report.py \
	    --procq bench/procq-bench --pingpong bench/pingpong \
	    --peers $(srcdir)/bench/peers.py --python $(BENCH_PY) \
	    --cli $(srcdir)/bench/cli.py --procq-cli "$$procq_cli" \
	    --procq-cli-libs "$$procq_libs" \
	    $(BENCH_MPI_FLAGS) --out bench/RESULTS.md $(BENCH_FLAGS)

.PHONY: bench
