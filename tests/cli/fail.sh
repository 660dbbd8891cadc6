#!/bin/sh
# Jobs that fail: a non-zero exit, a signal, a command that cannot be
# run.  The exit status is the number of failed jobs, at most 100;
# --fail-fast cancels the rest after the first failure.
. "${srcdir:-.}/tests/cli/lib.sh"

# Exit 3 fails the job; its output is still printed.
run --joblog "$T/log" -- sh -c 'echo before; exit 3' ::: 1
expect_rc 1
has out "before"
contains err "1 job: 0 succeeded, 1 failed"
contains err "ExitStatus: exit status 3"
grep -q '^1	1	failed	1	3	-1	' "$T/log" || fail "joblog: $(cat "$T/log")"

# A crash: killed by SIGSEGV.
run --joblog "$T/log" --shell -- 'echo crashing {}; kill -SEGV $$' ::: c
expect_rc 1
has out "crashing c"
contains err "Signal: killed by SIGSEGV"
grep -q '^1	c	failed	1	-1	11	' "$T/log" || fail "joblog: $(cat "$T/log")"

# A command that does not exist: exit status 127 and a message.
run --joblog "$T/log" -- ./no-such-command-here ::: x
expect_rc 1
contains err "cannot run './no-such-command-here'"
grep -q '^1	x	failed	1	127	-1	.*ExecError' "$T/log" ||
    fail "joblog: $(cat "$T/log")"

# The exit status counts the failed jobs.
run -j 3 -- sh -c 'exit $(($1 % 2))' sh ::: 1 2 3 4 5 6 7
expect_rc 4
contains err "7 jobs: 3 succeeded, 4 failed, 0 cancelled"

# ... up to 100.
i=0
: >"$T/many"
while [ $i -lt 105 ]; do
	echo $i >>"$T/many"
	i=$((i + 1))
done
run_stdin "$T/many" -q -j 4 -- false
expect_rc 100

# Other jobs go on after a failure...
run -j 1 -k -- sh -c 'echo $1; exit $1' sh ::: 0 1 0
expect_rc 1
lines out 3

# ... but not with --fail-fast: the first failure cancels the rest.
run -j 1 --fail-fast -- sh -c 'echo $1; exit $1' sh ::: 0 1 0 0
expect_rc 1
has out "0"
has out "1"
lines out 2
contains err "4 jobs: 1 succeeded, 1 failed, 2 cancelled"
exit 0
