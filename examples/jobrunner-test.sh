#!/bin/sh
# Feed jobrunner a few commands on standard input, with a 3 s limit: it
# must exit 0, capture the output of the ones that work, and report the
# failures (an exit status, a signal, a timeout) in its summary and in the
# JSON file.  The limit is generous so that on a loaded machine (and under
# a sanitizer) only the command that sleeps reaches it.
json=jobrunner-test.json
trap 'rm -f "$json"' EXIT
fail() {
	echo "FAIL: jobrunner: $1" >&2
	exit 1
}
expect() {
	printf '%s\n' "$2" | grep -Eq "$1" || fail "no match for '$1'"
}
out=$(./examples/jobrunner -j 4 -t 3 -o "$json" 2>&1 <<'END'
# a comment, then a blank line

true
false
echo hello
sh -c 'kill -SEGV $$'
kill -SEGV $$
sleep 30
END
)
status=$?
printf '%s\n' "$out"
[ "$status" -eq 0 ] || fail "exited with status $status"
expect '^6 tasks: 2 succeeded, 4 failed, 0 cancelled in [0-9.]+ s \(not ok\)$' \
    "$out"
f='^  failed +[0-9a-f]{16}'
d='\$\$'	# the $$ of the commands, as a regular expression
expect "$f false \(attempt 1\): CommandFailed: exited with status 1$" "$out"
expect "$f kill -SEGV $d \(attempt 1\): CommandKilled: killed by signal 11 " \
    "$out"
# The inner shell dies of SIGSEGV; the outer one may exec it, or report it.
expect "$f sh -c 'kill -SEGV $d' \(attempt 1\): (CommandKilled: killed by \
signal 11 |CommandFailed: exited with status 139$)" "$out"
expect "$f sleep 30 \(attempt 1\): Timeout: attempt timed out after 3 s$" \
    "$out"

[ -s "$json" ] || fail "no JSON summary"
j=$(cat "$json")
expect '^\{"submitted":6,"succeeded":2,"failed":4,"cancelled":0,"ok":false,' \
    "$j"
expect '"name":"echo hello",[^}]*"status":"succeeded",[^}]*"value":"hello"\}' \
    "$j"
expect '"name":"sleep 30",[^}]*"error":\{"kind":"timeout","type":"Timeout",' \
    "$j"

# With -c, a failed command makes the exit status 1.
./examples/jobrunner -c true false >/dev/null 2>&1
status=$?
[ "$status" -eq 1 ] || fail "-c with a failing command: status $status, not 1"
./examples/jobrunner -c true 'echo ok' >/dev/null 2>&1 ||
	fail "-c with commands that work: status $?, not 0"
exit 0
