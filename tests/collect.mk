# Check suites of fan-out and collection (see tests/check_collect_*.c)

PROCQ_COLLECT_COMMON = $(PROCQ_TEST_COMMON) \
	tests/collect_tasks.c tests/collect_tasks.h

PROCQ_COLLECT_PROGS = \
	tests/check_collect_fanout \
	tests/check_collect_group \
	tests/check_collect_wait \
	tests/check_collect_progress \
	tests/check_collect_loop \
	tests/check_collect_summary \
	tests/check_group_policy

check_PROGRAMS += $(PROCQ_COLLECT_PROGS)
TESTS += $(PROCQ_COLLECT_PROGS)

tests_check_collect_fanout_SOURCES = tests/check_collect_fanout.c $(PROCQ_COLLECT_COMMON)
tests_check_collect_fanout_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_collect_fanout_LDADD = $(PROCQ_TEST_LDADD) -lpthread

tests_check_collect_group_SOURCES = tests/check_collect_group.c $(PROCQ_COLLECT_COMMON)
tests_check_collect_group_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_collect_group_LDADD = $(PROCQ_TEST_LDADD) -lpthread

tests_check_collect_wait_SOURCES = tests/check_collect_wait.c $(PROCQ_COLLECT_COMMON)
tests_check_collect_wait_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_collect_wait_LDADD = $(PROCQ_TEST_LDADD) -lpthread

tests_check_collect_progress_SOURCES = tests/check_collect_progress.c $(PROCQ_COLLECT_COMMON)
tests_check_collect_progress_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_collect_progress_LDADD = $(PROCQ_TEST_LDADD) -lpthread

# The event_base test drives a libevent loop of its own.
tests_check_collect_loop_SOURCES = tests/check_collect_loop.c $(PROCQ_COLLECT_COMMON)
tests_check_collect_loop_CFLAGS = $(PROCQ_TEST_CFLAGS) $(LIBEVENT_CFLAGS)
tests_check_collect_loop_LDADD = $(PROCQ_TEST_LDADD) $(LIBEVENT_LIBS) -lpthread

tests_check_collect_summary_SOURCES = tests/check_collect_summary.c $(PROCQ_COLLECT_COMMON)
tests_check_collect_summary_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_collect_summary_LDADD = $(PROCQ_TEST_LDADD) -lpthread

# Its own worker program under exec: test_serve_as_worker().
tests_check_group_policy_SOURCES = tests/check_group_policy.c $(PROCQ_TEST_COMMON)
tests_check_group_policy_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_group_policy_LDADD = $(PROCQ_TEST_LDADD) -lpthread
