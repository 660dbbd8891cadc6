# The exec start method: a worker program of the suites' own
# (tests/exec_worker.c) and the suite that drives it.  Every suite knows
# the program's path, so that PROCQ_TEST_START_METHOD=exec runs it
# (tests/util.c).
PROCQ_TEST_CFLAGS += -DTEST_EXEC_WORKER='"$(abs_top_builddir)/tests/exec_worker"'

check_PROGRAMS += tests/exec_worker
tests_exec_worker_SOURCES = tests/exec_worker.c $(PROCQ_TEST_COMMON)
tests_exec_worker_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_exec_worker_LDADD = $(PROCQ_TEST_LDADD)
# A program, not a libtool wrapper script: run as it is, with its argv.
tests_exec_worker_LDFLAGS = -no-install

check_PROGRAMS += tests/check_exec
TESTS += tests/check_exec
tests_check_exec_SOURCES = tests/check_exec.c $(PROCQ_TEST_COMMON)
tests_check_exec_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_exec_LDADD = $(PROCQ_TEST_LDADD)
