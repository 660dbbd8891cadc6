# A hostile task or environment against the supervisor's limits.  Not a
# clean suite: its workers crash and are killed on purpose.
check_PROGRAMS += tests/check_hostile_limits
TESTS += tests/check_hostile_limits
tests_check_hostile_limits_SOURCES = tests/check_hostile_limits.c $(PROCQ_TEST_COMMON)
tests_check_hostile_limits_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_hostile_limits_LDADD = $(PROCQ_TEST_LDADD)
