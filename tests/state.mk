# A task's states: state.c and trace.c on their own, with the state checks
# compiled in whatever the build (every legal move taken, every illegal one
# aborts), and PROCQ_DEBUG on a real queue.

check_PROGRAMS += tests/check_state tests/check_trace
TESTS += tests/check_state tests/check_trace

tests_check_state_SOURCES = tests/check_state.c \
	src/state.c src/state.h src/trace.c src/trace.h src/clock.c src/clock.h
tests_check_state_CFLAGS = $(PROCQ_TEST_CFLAGS) -DPROCQ_CHECKS
tests_check_state_LDADD = $(CHECK_LIBS)

tests_check_trace_SOURCES = tests/check_trace.c $(PROCQ_TEST_COMMON)
tests_check_trace_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_trace_LDADD = $(PROCQ_TEST_LDADD)
