# Invalid-input suite: every public function given each input its header or
# man page documents as invalid, and called in each wrong state.

check_PROGRAMS += tests/check_invalid
TESTS += tests/check_invalid

tests_check_invalid_SOURCES = tests/check_invalid.c $(PROCQ_TEST_COMMON)
tests_check_invalid_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_invalid_LDADD = $(PROCQ_TEST_LDADD)
