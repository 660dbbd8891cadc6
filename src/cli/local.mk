# procq(1), the command-line front end
bin_PROGRAMS += procq
procq_SOURCES = \
	src/cli/cli.h \
	src/cli/main.c \
	src/cli/args.c \
	src/cli/input.c \
	src/cli/batch.c \
	src/cli/records.c \
	src/cli/jobs.c \
	src/cli/halt.c \
	src/cli/summary.c \
	src/cli/template.c \
	src/cli/plus.c \
	src/cli/shell.c \
	src/cli/buf.c \
	src/cli/hooks.c \
	src/cli/output.c \
	src/cli/spool.c src/cli/spool.h \
	src/cli/writer.c \
	src/cli/progress.c \
	src/cli/joblog.c \
	src/cli/resume.c \
	src/cli/results.c \
	src/cli/cpus.c \
	src/cli/info.c \
	src/cli/json.c \
	src/jsonstr.c src/jsonstr.h \
	src/cli/watch.c \
	src/cli/runner.c \
	src/cli/kept.c \
	src/cli/gate.c \
	src/cli/shebang.c \
	src/cli/slots.c
procq_LDADD = libprocq.la $(MSGPACK_LIBS)
if HAVE_MPI
procq_LDADD += libprocq-mpi.la
endif
# Its own objects: src/jsonstr.c is built for the library (libtool) too.
procq_CFLAGS = $(AM_CFLAGS)

# End-to-end tests: each script drives the real binary (./procq in the
# build directory, or $PROCQ).
PROCQ_CLI_TESTS = \
	tests/cli/run.sh \
	tests/cli/fail.sh \
	tests/cli/retry.sh \
	tests/cli/parallel.sh \
	tests/cli/shell.sh \
	tests/cli/kept.sh \
	tests/cli/timeout.sh \
	tests/cli/output.sh \
	tests/cli/spool.sh \
	tests/cli/reader.sh \
	tests/cli/results.sh \
	tests/cli/terminal.sh \
	tests/cli/report.sh \
	tests/cli/resume.sh \
	tests/cli/checkpoint.sh \
	tests/cli/limits.sh \
	tests/cli/usage.sh \
	tests/cli/input.sh \
	tests/cli/replace.sh \
	tests/cli/multiarg.sh \
	tests/cli/piperec.sh \
	tests/cli/halt.sh \
	tests/cli/interrupt.sh \
	tests/cli/start_method.sh \
	tests/cli/runner.sh \
	tests/cli/mpi.sh \
	tests/cli/outjobs.sh \
	tests/cli/smallopts.sh \
	tests/cli/tutorial.sh
TESTS += $(PROCQ_CLI_TESTS)
dist_check_SCRIPTS += $(PROCQ_CLI_TESTS)
EXTRA_DIST += tests/cli/lib.sh
# The examples of parallel_tutorial(7) that tests/cli/tutorial.sh runs
# under procq(1) and GNU parallel, and those that do not match yet.
EXTRA_DIST += tests/cli/tutorial.examples tests/cli/tutorial.pending

# The task driven through a queue of its own, with the arguments and
# options procq(1) may send.
check_PROGRAMS += tests/check_cli_runner
TESTS += tests/check_cli_runner
tests_check_cli_runner_SOURCES = tests/check_cli_runner.c \
	src/cli/runner.c src/cli/kept.c src/cli/gate.c src/cli/slots.c src/cli/buf.c \
	src/cli/cli.h $(PROCQ_TEST_COMMON)
tests_check_cli_runner_CFLAGS = $(PROCQ_TEST_CFLAGS)
tests_check_cli_runner_LDADD = $(PROCQ_TEST_LDADD)
