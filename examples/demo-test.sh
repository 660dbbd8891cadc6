#!/bin/sh
# Run the demo and check that it succeeds and reports the expected totals:
# 300 tasks, 288 succeeded, 12 failed, 0 cancelled.
out=$(./examples/demo 2>&1)
status=$?
printf '%s\n' "$out"
if [ "$status" -ne 0 ]; then
	echo "FAIL: demo exited with status $status" >&2
	exit 1
fi
if ! printf '%s\n' "$out" | grep -Eq '^  all +300 +288 +12 +0$'; then
	echo "FAIL: demo did not print the expected totals line" >&2
	exit 1
fi
exit 0
