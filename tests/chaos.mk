# Chaos suite: a long random mix of successes, failures, crashes, hangs,
# protocol garbage, huge results, retries and cancellations, then checks
# that nothing leaked (see tests/check_chaos.c).

PROCQ_CHAOS_PROGS = tests/check_chaos

check_PROGRAMS += $(PROCQ_CHAOS_PROGS)
TESTS += $(PROCQ_CHAOS_PROGS)

tests_check_chaos_SOURCES = tests/check_chaos.c \
	tests/chaos_tasks.c tests/chaos_tasks.h $(PROCQ_TEST_COMMON)
tests_check_chaos_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_chaos_LDADD = $(PROCQ_TEST_LDADD) -lpthread
