#!/bin/sh
# Run parse-batch: it must exit 0, report the four documents that break the
# parser (and how), and total the sixteen good ones.
# A timeout of 3 s rather than the example's 0.4 s: a crash must be seen
# as a crash on a loaded machine too, where a sanitizer's report of it can
# take longer than 0.4 s to write.
out=$(./examples/parse-batch 3 2>&1)
status=$?
printf '%s\n' "$out"
fail() {
	echo "FAIL: parse-batch: $1" >&2
	exit 1
}
[ "$status" -eq 0 ] || fail "exited with status $status"
expect() {
	printf '%s\n' "$out" | grep -Eq "$1" || fail "no line matching '$1'"
}
# The NULL dereference is a crash: SIGSEGV, or exit status 1 in a build
# with --enable-sanitizers, which catches it first.  So is the stack
# overflow, in whatever form.
expect '^  doc-04 +crash +2 attempts +WorkerCrash: '
expect '^  doc-09 +timeout +2 attempts +Timeout: attempt timed out after 3 s$'
expect '^  doc-13 +crash +2 attempts +WorkerCrash: '
expect '^  doc-16 +task +2 attempts +ParseError: line 3: expected key=value$'
expect '^4 documents broke the parser$'
expect '^16 documents parsed: 48 items, total amount 312.00$'
exit 0
