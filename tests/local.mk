# Check test suites.  Each suite is its own program, so that one that
# crashes cannot hide the results of the others.

PROCQ_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
PROCQ_TEST_LDADD = libprocq.la $(CHECK_LIBS) $(MSGPACK_LIBS)
PROCQ_TEST_COMMON = \
	tests/util.c tests/util.h \
	tests/tasks.c tests/tasks.h

# Suites that run every worker to a clean end (no crash, signal or
# protocol error on purpose): these also run under valgrind.
PROCQ_TEST_CLEAN = \
	tests/check_pack \
	tests/check_basic \
	tests/check_summary \
	tests/check_lifecycle

PROCQ_TEST_PROGS = $(PROCQ_TEST_CLEAN) \
	tests/check_retry \
	tests/check_crash \
	tests/check_wire

check_PROGRAMS += $(PROCQ_TEST_PROGS)
TESTS += $(PROCQ_TEST_PROGS)

tests_check_pack_SOURCES = tests/check_pack.c $(PROCQ_TEST_COMMON)
tests_check_pack_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_pack_LDADD = $(PROCQ_TEST_LDADD)

tests_check_basic_SOURCES = tests/check_basic.c $(PROCQ_TEST_COMMON)
tests_check_basic_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_basic_LDADD = $(PROCQ_TEST_LDADD)

tests_check_summary_SOURCES = tests/check_summary.c $(PROCQ_TEST_COMMON)
tests_check_summary_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_summary_LDADD = $(PROCQ_TEST_LDADD)

tests_check_lifecycle_SOURCES = tests/check_lifecycle.c $(PROCQ_TEST_COMMON)
tests_check_lifecycle_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_lifecycle_LDADD = $(PROCQ_TEST_LDADD)

tests_check_retry_SOURCES = tests/check_retry.c $(PROCQ_TEST_COMMON)
tests_check_retry_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_retry_LDADD = $(PROCQ_TEST_LDADD)

tests_check_crash_SOURCES = tests/check_crash.c $(PROCQ_TEST_COMMON)
tests_check_crash_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_crash_LDADD = $(PROCQ_TEST_LDADD)

tests_check_wire_SOURCES = tests/check_wire.c $(PROCQ_TEST_COMMON)
tests_check_wire_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_wire_LDADD = $(PROCQ_TEST_LDADD)

# The protocol, compiled in on its own: each message's bytes, and what
# its decoder refuses.
check_PROGRAMS += tests/check_protocol
TESTS += tests/check_protocol
tests_check_protocol_SOURCES = tests/check_protocol.c \
	src/protocol.c src/protocol.h src/channel.c src/channel.h
tests_check_protocol_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_protocol_LDADD = $(CHECK_LIBS) $(MSGPACK_LIBS)

# The channel, compiled in on its own: both ends over a pair of pipes.
check_PROGRAMS += tests/check_channel
TESTS += tests/check_channel
tests_check_channel_SOURCES = tests/check_channel.c \
	src/channel.c src/channel_event.c src/channel.h \
	src/sigpipe.c src/sigpipe.h
tests_check_channel_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_channel_LDADD = $(CHECK_LIBS) $(LIBEVENT_LIBS) $(MSGPACK_LIBS)

# Run the clean suites in-process (CK_FORK=no) under valgrind.  Worker
# processes are forked without exec, so they run under valgrind too;
# their own reports are silenced and only the caller's process counts.
VALGRIND = valgrind
PROCQ_VALGRIND_FLAGS = --quiet --leak-check=full \
	--errors-for-leak-kinds=definite --error-exitcode=1 \
	--trace-children=no --child-silent-after-fork=yes

check-valgrind: $(PROCQ_TEST_CLEAN)
	@fail=0; \
	for t in $(PROCQ_TEST_CLEAN); do \
		echo "valgrind: $$t"; \
		CK_FORK=no $(LIBTOOL) --mode=execute $(VALGRIND) \
		    $(PROCQ_VALGRIND_FLAGS) ./$$t || fail=1; \
	done; \
	test $$fail = 0

.PHONY: check-valgrind
check-valgrind: check-valgrind-policy
