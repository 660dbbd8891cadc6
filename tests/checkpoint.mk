# The checkpoint store: resuming, its caller SIGKILLed, two processes on
# one file, files it refuses, a failing disk; SHA-256's test vectors.

check_PROGRAMS += tests/check_checkpoint
TESTS += tests/check_checkpoint
tests_check_checkpoint_SOURCES = tests/check_checkpoint.c \
	src/store/sha256.c src/store/sha256.h $(PROCQ_TEST_COMMON)
tests_check_checkpoint_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_checkpoint_LDADD = $(PROCQ_TEST_LDADD) $(SQLITE_LIBS)
