# System calls that fail (see tests/check_syscalls.c).  As in
# tests/alloc.mk, the library and the worker are compiled into the suite
# and procq's own calls of these functions are redirected by the linker
# (--wrap) to wrappers in the suite that fail on request.

check_PROGRAMS += tests/check_syscalls
TESTS += tests/check_syscalls
tests_check_syscalls_SOURCES = tests/check_syscalls.c $(PROCQ_TEST_COMMON) \
	$(libprocq_la_SOURCES)
tests_check_syscalls_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_syscalls_LDFLAGS = $(AM_LDFLAGS) \
	-Wl,--wrap=pipe2,--wrap=socketpair,--wrap=fork,--wrap=sendmsg \
	-Wl,--wrap=recv,--wrap=send,--wrap=recvmsg,--wrap=memfd_create,--wrap=ftruncate,--wrap=mmap \
	-Wl,--wrap=eventfd,--wrap=pthread_create,--wrap=posix_spawn \
	-Wl,--wrap=posix_spawn_file_actions_init,--wrap=posix_spawnattr_init \
	-Wl,--wrap=posix_spawn_file_actions_adddup2 \
	-Wl,--wrap=posix_spawnattr_setflags,--wrap=dup2,--wrap=fcntl,--wrap=syscall
tests_check_syscalls_LDADD = $(CHECK_LIBS) $(LIBEVENT_LIBS) $(MSGPACK_LIBS) \
	$(SQLITE_LIBS) -lpthread
