# Handles with a lifetime: procq_handle_release() with every holder of a
# handle, procq_clear_results(), and a service that stays flat in memory.
# Every worker ends cleanly: the suite also runs under valgrind, with
# smaller rounds.

check_PROGRAMS += tests/check_lifetime
TESTS += tests/check_lifetime
tests_check_lifetime_SOURCES = tests/check_lifetime.c $(PROCQ_TEST_COMMON)
tests_check_lifetime_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_lifetime_LDADD = $(PROCQ_TEST_LDADD) -lpthread

check-valgrind-lifetime: tests/check_lifetime
	CK_FORK=no LIFETIME_TASKS=2000 $(LIBTOOL) --mode=execute \
	    $(VALGRIND) $(PROCQ_VALGRIND_FLAGS) ./tests/check_lifetime

.PHONY: check-valgrind-lifetime
check-valgrind: check-valgrind-lifetime
