# Example programs: built by plain `make`, never installed.
noinst_PROGRAMS += examples/demo
examples_demo_SOURCES = examples/demo.c
examples_demo_CFLAGS = $(AM_CFLAGS)
examples_demo_LDADD = libprocq.la $(MSGPACK_LIBS)

# `make check` runs the demo: it exits non-zero when the run does not go
# the way its poisoned records predict.
TESTS += examples/demo-test.sh
EXTRA_DIST += examples/demo-test.sh
