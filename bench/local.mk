# Benchmarks: built and run by `make bench`, not by `make check`.
EXTRA_PROGRAMS += bench/throughput
CLEANFILES += bench/throughput
bench_throughput_SOURCES = bench/throughput.c
bench_throughput_LDADD = libprocq.la $(MSGPACK_LIBS)

bench: bench/throughput
	for p in 1 16 128; do ./bench/throughput 200000 2 $$p || exit 1; done

.PHONY: bench
