# A hostile task or host against the supervisor: privileges dropped,
# process groups left, forks that return, second results, stalled heads,
# no descriptors for a new worker, children reaped by someone else.
check_PROGRAMS += tests/check_hostile_worker
TESTS += tests/check_hostile_worker
tests_check_hostile_worker_SOURCES = tests/check_hostile_worker.c $(PROCQ_TEST_COMMON)
tests_check_hostile_worker_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_hostile_worker_LDADD = $(PROCQ_TEST_LDADD) -lpthread
