#!/bin/sh
# Run fanout: it must exit 0, collect all six squares (in whatever order
# they finish, then in input order), stop the health checks at the failing
# one, and let the fastest healthy mirror win the race.
out=$(./examples/fanout 2>&1)
status=$?
printf '%s\n' "$out"
fail() {
	echo "FAIL: fanout: $1" >&2
	exit 1
}
[ "$status" -eq 0 ] || fail "exited with status $status"
expect() {
	printf '%s\n' "$out" | grep -Eq "$1" || fail "no line matching '$1'"
}
for sq in '1) = 1' '2) = 4' '3) = 9' '4) = 16' '5) = 25' '6) = 36'; do
	expect "^  \+[0-9.]+ s  square\($sq$"
done
expect '^in input order: 1 4 9 16 25 36$'
expect '^  web +succeeded$'
expect '^  db +failed$'
expect '^2 still running, cancelled 2$'
expect '^checks: 1 succeeded, 1 failed, 2 cancelled$'
expect '^  failed +[0-9a-f]{16} db \[checks\] .*ProbeFailed: db is down$'
expect '^race: mirror-asia won after [0-9.]+ s$'
exit 0
