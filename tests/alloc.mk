# Allocation failures (see tests/check_alloc.c).  The library and the
# worker are compiled into the suite, and their calls of the functions
# that allocate are redirected by the linker (--wrap) to wrappers in the
# suite that fail on request; libprocq itself is not changed, and no
# other program sees the wrappers.

check_PROGRAMS += tests/check_alloc
TESTS += tests/check_alloc
tests_check_alloc_SOURCES = tests/check_alloc.c $(PROCQ_TEST_COMMON) \
	$(libprocq_la_SOURCES)
tests_check_alloc_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_alloc_LDFLAGS = $(AM_LDFLAGS) \
	-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc \
	-Wl,--wrap=strdup,--wrap=strndup,--wrap=vasprintf \
	-Wl,--wrap=open_memstream,--wrap=event_new,--wrap=evbuffer_new \
	-Wl,--wrap=msgpack_zone_new,--wrap=pthread_mutex_init \
	-Wl,--wrap=pthread_cond_init,--wrap=pthread_condattr_init
tests_check_alloc_LDADD = $(CHECK_LIBS) $(LIBEVENT_LIBS) $(MSGPACK_LIBS) $(SQLITE_LIBS) \
	-lpthread
