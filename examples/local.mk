# Example programs: built by plain `make`, never installed.
noinst_PROGRAMS += examples/demo
examples_demo_SOURCES = examples/demo.c
examples_demo_CFLAGS = $(AM_CFLAGS)
examples_demo_LDADD = libprocq.la $(MSGPACK_LIBS)

# `make check` runs the demo: it exits non-zero when the run does not go
# the way its poisoned records predict.
TESTS += examples/demo-test.sh
EXTRA_DIST += examples/demo-test.sh

# Small programs to copy from.  `make check` builds them and runs each
# through a test script that checks its exit status and the key lines of
# its output (eventloop-test.sh runs eventbase too).
check_PROGRAMS += examples/parse-batch examples/fanout examples/eventloop \
	examples/eventbase examples/jobrunner
examples_parse_batch_SOURCES = examples/parse-batch.c
examples_parse_batch_LDADD = libprocq.la $(MSGPACK_LIBS)
examples_fanout_SOURCES = examples/fanout.c
examples_fanout_LDADD = libprocq.la $(MSGPACK_LIBS)
examples_eventloop_SOURCES = examples/eventloop.c
examples_eventloop_LDADD = libprocq.la $(MSGPACK_LIBS)
# eventbase runs procq on a libevent loop of its own, so it links libevent.
examples_eventbase_SOURCES = examples/eventbase.c
examples_eventbase_LDADD = libprocq.la $(LIBEVENT_LIBS) $(MSGPACK_LIBS)
examples_jobrunner_SOURCES = examples/jobrunner.c
examples_jobrunner_LDADD = libprocq.la $(MSGPACK_LIBS)

EXAMPLE_TESTS = examples/parse-batch-test.sh examples/fanout-test.sh \
	examples/eventloop-test.sh examples/jobrunner-test.sh
TESTS += $(EXAMPLE_TESTS)
EXTRA_DIST += $(EXAMPLE_TESTS)

# A caller and its worker program (the exec start method).  Programs, not
# libtool wrapper scripts, so that the caller finds the worker next to
# its own file.
check_PROGRAMS += examples/exec-caller examples/exec-worker
examples_exec_caller_SOURCES = examples/exec-caller.c
examples_exec_caller_LDADD = libprocq.la $(MSGPACK_LIBS)
examples_exec_caller_LDFLAGS = -no-install
examples_exec_worker_SOURCES = examples/exec-worker.c
examples_exec_worker_LDADD = libprocq.la $(MSGPACK_LIBS)
examples_exec_worker_LDFLAGS = -no-install
TESTS += examples/exec-test.sh
EXTRA_DIST += examples/exec-test.sh
