# The checkpoint store: resuming, its caller SIGKILLed, two processes on
# one file, files it refuses, a failing disk; SHA-256's test vectors.

check_PROGRAMS += tests/check_checkpoint
TESTS += tests/check_checkpoint
tests_check_checkpoint_SOURCES = tests/check_checkpoint.c \
	src/store/sha256.c src/store/sha256.h $(PROCQ_TEST_COMMON)
tests_check_checkpoint_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_checkpoint_LDADD = $(PROCQ_TEST_LDADD) $(SQLITE_LIBS)

# The store's own tests under valgrind (its callers in other processes,
# killed or limited, are left out: CK_FORK=no runs every test in one).
check-valgrind-checkpoint: tests/check_checkpoint
	CK_FORK=no CK_RUN_CASE=store $(LIBTOOL) --mode=execute \
	    $(VALGRIND) $(PROCQ_VALGRIND_FLAGS) ./tests/check_checkpoint
.PHONY: check-valgrind-checkpoint
check-valgrind: check-valgrind-checkpoint
