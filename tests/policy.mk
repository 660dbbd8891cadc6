# Check suites of the queue policies (see tests/check_policy*.c): task
# options, queue configuration, hooks, worker policies, the lifecycle
# calls, the must_complete matrix and many threads on one queue.

PROCQ_POLICY_COMMON = $(PROCQ_TEST_COMMON) \
	tests/policy_tasks.c tests/policy_tasks.h
PROCQ_POLICY_LDADD = $(PROCQ_TEST_LDADD) -lpthread

# Suites that run every worker to a clean end (no crash, signal or
# protocol error on purpose; a cancelled or timed out worker is killed,
# as in check_lifecycle): these also run under valgrind.
PROCQ_POLICY_CLEAN = \
	tests/check_policy_options \
	tests/check_policy_config \
	tests/check_policy_hooks \
	tests/check_policy_lifecycle \
	tests/check_policy_matrix \
	tests/check_policy_threads

# Workers die on purpose here: initializer failures, the kill grace
# period, memory and CPU limits, crashes seen by on_retry.
PROCQ_POLICY_PROGS = $(PROCQ_POLICY_CLEAN) \
	tests/check_policy_workers

check_PROGRAMS += $(PROCQ_POLICY_PROGS)
TESTS += $(PROCQ_POLICY_PROGS)

tests_check_policy_options_SOURCES = tests/check_policy_options.c $(PROCQ_POLICY_COMMON)
tests_check_policy_options_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_policy_options_LDADD = $(PROCQ_POLICY_LDADD)

tests_check_policy_config_SOURCES = tests/check_policy_config.c $(PROCQ_POLICY_COMMON)
tests_check_policy_config_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_policy_config_LDADD = $(PROCQ_POLICY_LDADD)

tests_check_policy_hooks_SOURCES = tests/check_policy_hooks.c $(PROCQ_POLICY_COMMON)
tests_check_policy_hooks_CFLAGS = $(PROCQ_TEST_CFLAGS) $(LIBEVENT_CFLAGS)
tests_check_policy_hooks_LDADD = $(PROCQ_POLICY_LDADD) $(LIBEVENT_LIBS)

tests_check_policy_lifecycle_SOURCES = tests/check_policy_lifecycle.c $(PROCQ_POLICY_COMMON)
tests_check_policy_lifecycle_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_policy_lifecycle_LDADD = $(PROCQ_POLICY_LDADD)

tests_check_policy_matrix_SOURCES = tests/check_policy_matrix.c $(PROCQ_POLICY_COMMON)
tests_check_policy_matrix_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_policy_matrix_LDADD = $(PROCQ_POLICY_LDADD)

tests_check_policy_threads_SOURCES = tests/check_policy_threads.c $(PROCQ_POLICY_COMMON)
tests_check_policy_threads_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_policy_threads_LDADD = $(PROCQ_POLICY_LDADD)

tests_check_policy_workers_SOURCES = tests/check_policy_workers.c $(PROCQ_POLICY_COMMON)
tests_check_policy_workers_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_policy_workers_LDADD = $(PROCQ_POLICY_LDADD)

# The clean policy suites under valgrind, as check-valgrind runs the
# others (same tool and flags).
check-valgrind-policy: $(PROCQ_POLICY_CLEAN)
	@fail=0; \
	for t in $(PROCQ_POLICY_CLEAN); do \
		echo "valgrind: $$t"; \
		CK_FORK=no $(LIBTOOL) --mode=execute $(VALGRIND) \
		    $(PROCQ_VALGRIND_FLAGS) ./$$t || fail=1; \
	done; \
	test $$fail = 0

.PHONY: check-valgrind-policy
