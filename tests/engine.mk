# Engine suite: the spare worker, the adaptive and fixed prefetch windows,
# the lazy ready and delayed heaps under mass cancellation, and what a
# handle keeps of its submission (see tests/check_engine.c).  Workers die
# on purpose here, so it is not one of the valgrind (clean) suites.

check_PROGRAMS += tests/check_engine
TESTS += tests/check_engine

tests_check_engine_SOURCES = tests/check_engine.c $(PROCQ_TEST_COMMON)
tests_check_engine_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_engine_LDADD = $(PROCQ_TEST_LDADD)
