# Benchmarks.  `make bench` runs bench/report.py: procq and its peers on
# the same work, a table of the results in bench/RESULTS.md (scripts/bench
# installs the peers first).  `make check` builds the C programs and runs
# each scenario once on a small count, so that they keep working.
check_PROGRAMS += bench/procq-bench bench/pingpong
bench_procq_bench_SOURCES = bench/procq-bench.c
bench_procq_bench_LDADD = libprocq.la $(MSGPACK_LIBS)
bench_pingpong_SOURCES = bench/pingpong.c
TESTS += bench/smoke-test.sh
EXTRA_DIST += bench/smoke-test.sh bench/report.py bench/peers.py \
	bench/RESULTS.md

BENCH_PY = /usr/bin/python3
BENCH_FLAGS =

bench: bench/procq-bench bench/pingpong
	$(BENCH_PY) $(srcdir)/bench/report.py \
	    --procq bench/procq-bench --pingpong bench/pingpong \
	    --peers $(srcdir)/bench/peers.py --python $(BENCH_PY) \
	    --out bench/RESULTS.md $(BENCH_FLAGS)

.PHONY: bench
