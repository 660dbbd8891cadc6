#!/bin/sh
# Run exec-caller, once with the worker program's path and once finding it
# next to itself: the worker's tasks run, a name it lacks is refused at
# submit, and a crash fails only its own task.
fail() {
	echo "FAIL: exec-caller: $1" >&2
	exit 1
}
for how in given found; do
	if [ "$how" = given ]; then
		out=$(./examples/exec-caller ./examples/exec-worker 2>&1)
	else
		out=$(./examples/exec-caller 2>&1)
	fi
	status=$?
	printf '%s\n' "$out"
	[ "$status" -eq 0 ] || fail "$how: exited with status $status"
	expect() {
		printf '%s\n' "$out" | grep -Eq "$1" ||
		    fail "$how: no line matching '$1'"
	}
	expect '^spellcheck: the worker program has no such task$'
	expect '^wordcount\("the cat and the hat"\) = 5 words, 2 kept$'
	expect '^wordcount\("a tale of two cities"\) = 5 words, 3 kept$'
	expect '^wordcount\("procq runs tasks in worker processes"\) = 6 words, 6 kept$'
	expect '^crash: worker died: SIGSEGV'
done
# Run by hand, the worker program says what it is.
./examples/exec-worker 2>/dev/null
[ $? -eq 2 ] || fail "exec-worker run by hand did not exit with 2"
exit 0
