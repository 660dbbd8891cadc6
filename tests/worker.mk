# What a task finds in its worker process.
check_PROGRAMS += tests/check_worker_env
TESTS += tests/check_worker_env
tests_check_worker_env_SOURCES = tests/check_worker_env.c $(PROCQ_TEST_COMMON)
tests_check_worker_env_CFLAGS = $(PROCQ_TEST_CFLAGS) $(LIBEVENT_CFLAGS)
tests_check_worker_env_LDADD = $(PROCQ_TEST_LDADD) $(LIBEVENT_LIBS)
