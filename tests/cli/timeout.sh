#!/bin/sh
# Timeouts: an attempt that runs past --timeout is killed with its whole
# process group; the command gets SIGTERM and --kill-grace seconds to
# finish before SIGKILL; partial output is still printed.
. "${srcdir:-.}/tests/cli/lib.sh"

start=$(date +%s)
run -j 2 --timeout 0.5 --joblog "$T/log" --no-shell -- sh -c \
    'echo $$ >"$0/pid.$1"; echo started; exec sleep "$1"' "$T" ::: 30 0
end=$(date +%s)
expect_rc 1
[ $((end - start)) -lt 20 ] || fail "the timeout took $((end - start)) s"
contains err "2 jobs: 1 succeeded, 1 failed"
contains err "Timeout: attempt timed out after 0.5 s"
grep -q "^1	:	[^	]*	[^	]*	0	8	-1	0	sh -c " "$T/log" ||
    fail "joblog: $(cat "$T/log")"
has out "started"
# The hung command is gone.
wait_for 10 gone "$(cat "$T/pid.30")" || fail "the timed-out command lives"

# The command gets SIGTERM first and may take its time to clean up
# within the grace.
run --timeout 0.3 --kill-grace 10 --shell -- \
    'trap "sleep 0.5; echo cleaning {}; exit 7" TERM; sleep 30 & wait' ::: up
expect_rc 1
has out "cleaning up"
contains err "Timeout"

# One that ignores SIGTERM is killed when the grace is over.
start=$(date +%s)
run --timeout 0.3 --kill-grace 0.5 --shell -- \
    'trap "" TERM; echo $$ >{}; while :; do sleep 0.1; done' ::: "$T/stubborn"
end=$(date +%s)
expect_rc 1
[ $((end - start)) -lt 20 ] || fail "the kill took $((end - start)) s"
wait_for 10 gone "$(cat "$T/stubborn")" || fail "the stubborn command lives"

# A timeout is retried like any failure.
run --timeout 0.3 --retries 2 --shell -- \
    '[ "$PROCQ_ATTEMPT" -ge 2 ] || exec sleep 30; echo second {}' ::: try
expect_rc 0
has out "second try"
# A command that exits at once, leaving a process that holds its output
# open: the job runs until that closes, and the summary says what held it.
run --timeout 1 --no-shell -- sh -c 'sleep 300 & exit 0' ::: a
expect_rc 1
contains err "Timeout: attempt timed out after 1 s"
# (after 0.0 s, or more on a busy machine)
contains err "the command had exited with status 0 after "
contains err " s; a process it started kept its output open"
exit 0
