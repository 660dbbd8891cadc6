# A caller that makes the supervisor's life hard.  Not among the valgrind
# suites: its children exit without freeing what they were given.
check_PROGRAMS += tests/check_hostile_caller
TESTS += tests/check_hostile_caller
tests_check_hostile_caller_SOURCES = tests/check_hostile_caller.c $(PROCQ_TEST_COMMON)
tests_check_hostile_caller_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_hostile_caller_LDADD = $(PROCQ_TEST_LDADD)
