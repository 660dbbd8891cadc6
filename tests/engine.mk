# Engine suite: the spare worker, the adaptive and fixed prefetch windows,
# the lazy ready and delayed heaps under mass cancellation, and what a
# handle keeps of its submission (see tests/check_engine.c).  Workers die
# on purpose here, so it is not one of the valgrind (clean) suites.

check_PROGRAMS += tests/check_engine
TESTS += tests/check_engine

tests_check_engine_SOURCES = tests/check_engine.c $(PROCQ_TEST_COMMON)
tests_check_engine_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_engine_LDADD = $(PROCQ_TEST_LDADD)

# The heap behind the ready and delayed queues, compiled in on its own:
# pushes, pops and filters checked against a plain model.
check_PROGRAMS += tests/check_heap
TESTS += tests/check_heap
tests_check_heap_SOURCES = tests/check_heap.c src/heap.c src/heap.h
tests_check_heap_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_heap_LDADD = $(CHECK_LIBS)
