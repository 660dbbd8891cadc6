#!/bin/sh
# Run eventloop (its own poll(2) loop) and eventbase (a libevent loop):
# each must exit 0, collect every job, and report the one that never ends
# as timed out.
fail() {
	echo "FAIL: $prog: $1" >&2
	exit 1
}
expect() {
	printf '%s\n' "$out" | grep -Eq "$1" || fail "no line matching '$1'"
}
for prog in eventloop eventbase; do
	out=$(./examples/$prog 2>&1)
	status=$?
	printf '%s\n' "$out"
	[ "$status" -eq 0 ] || fail "exited with status $status"
	expect '^collatz\(27\) = 111 steps$'
	expect '^collatz\(871\) = 178 steps$'
	expect '^collatz\(6171\) = 261 steps$'
	expect '^collatz\(0\) timeout: attempt timed out after 0.3 s$'
	case $prog in
	eventloop) expect '^8 jobs submitted, 7 succeeded, 1 failed$' ;;
	eventbase) expect '^6 jobs submitted, 5 succeeded, 1 failed$' ;;
	esac
done
exit 0
