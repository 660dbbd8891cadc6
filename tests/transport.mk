# The scheduler against a fake transport (tests/check_transport.c): no
# process is forked.  It reaches the engine's internal functions, so the
# library's sources are compiled into it.

check_PROGRAMS += tests/check_transport
TESTS += tests/check_transport

tests_check_transport_SOURCES = tests/check_transport.c \
	$(libprocq_la_SOURCES)
tests_check_transport_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_transport_LDADD = $(CHECK_LIBS) $(LIBEVENT_LIBS) $(SQLITE_LIBS) \
	$(MSGPACK_LIBS)
