#!/bin/sh
# Jobs that fail: a non-zero exit, a signal, a command that cannot be
# run.  The exit status is the number of failed jobs, at most 100;
# --fail-fast cancels the rest after the first failure.
. "${srcdir:-.}/tests/cli/lib.sh"

# Exit 3 fails the job; its output is still printed.
run --joblog "$T/log" --no-shell -- sh -c 'echo before; exit 3' ::: 1
expect_rc 1
has out "before"
contains err "1 job: 0 succeeded, 1 failed"
contains err "ExitStatus: exit status 3"
grep -q "^1	:	[^	]*	[^	]*	0	7	3	0	sh -c 'echo before; exit 3' 1\$" \
    "$T/log" || fail "joblog: $(cat "$T/log")"

# A crash: killed by SIGSEGV.
run --joblog "$T/log" --shell -- 'echo crashing {}; kill -SEGV $$' ::: c
expect_rc 1
has out "crashing c"
contains err "Signal: killed by SIGSEGV"
grep -q '^1	:	[^	]*	[^	]*	0	11	0	11	echo crashing c; kill -SEGV \$\$$' \
    "$T/log" || fail "joblog: $(cat "$T/log")"

# A command that does not exist: exit status 127 and a message.
run --joblog "$T/log" --no-shell -- ./no-such-command-here ::: x
expect_rc 1
contains err "cannot run './no-such-command-here'"
grep -q '^1	:	[^	]*	[^	]*	0	0	127	0	./no-such-command-here x$' "$T/log" ||
    fail "joblog: $(cat "$T/log")"

# The exit status counts the failed jobs.
run -j 3 --no-shell -- sh -c 'exit $(($1 % 2))' sh ::: 1 2 3 4 5 6 7
expect_rc 4
contains err "7 jobs: 3 succeeded, 4 failed, 0 cancelled"

# ... up to 100, and 101 when more failed, as in GNU parallel; the
# summary lists the first 100 and counts the others.
i=0
: >"$T/many"
while [ $i -lt 105 ]; do
	echo $i >>"$T/many"
	i=$((i + 1))
done
run_stdin "$T/many" -j 4 -- false
expect_rc 101
contains err "105 jobs: 0 succeeded, 105 failed, 0 cancelled"
[ "$(grep -c '^  failed ' "$T/err")" -eq 100 ] || fail "not 100 failures listed"
has err "  ... and 5 more failed"

# Other jobs go on after a failure...
run -j 1 -k --no-shell -- sh -c 'echo $1; exit $1' sh ::: 0 1 0
expect_rc 1
lines out 3

# ... but not with --fail-fast: the first failure cancels the rest.
run -j 1 --fail-fast --no-shell -- sh -c 'echo $1; exit $1' sh ::: 0 1 0 0
expect_rc 1
has out "0"
has out "1"
lines out 2
contains err "4 jobs: 1 succeeded, 1 failed, 2 cancelled"

# Jobs submitted after the failure are cancelled too: with more jobs than
# the ring holds (64 here), most are submitted once the first has failed.
# Each but the first lasts a second, so that one submitted as the first
# failed is still running when it is cancelled; each of them that ran
# would take a second.
run -j 1 --fail-fast --no-shell -- sh -c '[ "$1" != 1 ] || exit 1; sleep 1' \
    sh ::: $(seq 300)
expect_rc 1
contains err "300 jobs: 0 succeeded, 1 failed, 299 cancelled"

# Past 20, cancelled jobs are counted, not listed.
run -j 1 --fail-fast --no-shell -- sh -c 'exit $1' sh ::: 1 2 3 4 5 6 7 8 9 10 11 12 \
    13 14 15 16 17 18 19 20 21 22 23 24 25
expect_rc 1
contains err "25 jobs: 0 succeeded, 1 failed, 24 cancelled"
[ "$(grep -c '^  cancelled ' "$T/err")" -eq 20 ] ||
    fail "not 20 cancelled jobs listed"
has err "  ... and 4 more cancelled"
exit 0
