#!/bin/sh
# Ending a run early: --halt now|soon,fail|success=N|N%, --timeout N% of
# the median runtime; and --delay between starts.
. "${srcdir:-.}/tests/cli/lib.sh"

# now,fail=1: the first failure cancels the rest, running ones included.
run -j 2 --halt now,fail=1 --no-shell -- sh -c '
	case $0 in
	slow) until [ -e "$1/failed" ]; do sleep 0.01; done; sleep 30 ;;
	fail) touch "$1/failed"; exit 1 ;;
	*) touch "$1/ran-$0" ;;
	esac' '{}' "$T" ::: slow fail c d e f g h
expect_rc 1
contains err "8 jobs: 0 succeeded, 1 failed, 7 cancelled"
grep -Eq "^  cancelled +[0-9a-f]+ slow " "$T/err" || fail "slow was not cancelled"

# soon,fail=1: the running job ends on its own; the others never start.
rm -f "$T"/ran-* "$T/failed"
run -j 2 --halt soon,fail=1 --no-shell -- sh -c '
	case $0 in
	slow) until [ -e "$1/failed" ]; do sleep 0.01; done ;;
	fail) touch "$1/failed"; exit 1 ;;
	*) touch "$1/ran-$0" ;;
	esac' '{}' "$T" ::: slow fail c d e f g h
expect_rc 1
# The job after the failure may have started on the freed worker before
# the failure was seen.
grep -Eq "8 jobs: (1 succeeded, 1 failed, 6|2 succeeded, 1 failed, 5) cancelled" \
    "$T/err" || fail "--halt soon: $(head -n 1 "$T/err")"
! grep -Eq "^  cancelled +[0-9a-f]+ slow " "$T/err" || fail "slow was cancelled"
n=$(ls "$T" | grep -c '^ran-')
[ "$n" -le 1 ] || fail "--halt soon: $n more jobs started after the failure"

# success=50%: half of the jobs succeeded is enough.
run -j 1 --halt now,success=50% --no-shell -- sh -c 'exit 0' ::: 1 2 3 4 5 6
expect_rc 0
contains err "3 succeeded, 0 failed, 3 cancelled"

# --timeout 300%: a job past three times the median runtime of the jobs
# that succeeded is stopped and fails.
run -j 1 --timeout 300% --no-shell -- sh -c '[ "$0" = hang ] && exec sleep 60; exit 0' \
    '{}' ::: a b c hang
expect_rc 1
contains err "4 jobs: 3 succeeded, 1 failed, 0 cancelled"
contains err "hang (attempt 1): Timeout: ran past --timeout"

# --delay: a start at most every 0.2 s: four starts span 0.6 s (less
# what starting a shell may delay the first one).
run -q -j 4 --delay 0.2 --no-shell -- sh -c 'date +%s.%N' ::: 1 2 3 4
expect_rc 0
sort -n "$T/out" | awk 'NR == 1 { first = $1 } END { exit $1 - first < 0.45 }' ||
    fail "--delay: starts too close: $(cat "$T/out")"
exit 0
