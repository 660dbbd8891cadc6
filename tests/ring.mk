# The result ring: its records on their own (src/ring.c compiled in), and
# through a queue: results through it, a crash, a worker scribbling on it.
check_PROGRAMS += tests/check_ring
TESTS += tests/check_ring
tests_check_ring_SOURCES = tests/check_ring.c src/ring.c src/ring.h \
	$(PROCQ_TEST_COMMON)
tests_check_ring_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_ring_LDADD = $(PROCQ_TEST_LDADD) -lpthread
