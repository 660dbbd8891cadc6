#!/bin/sh
# procq's standard output read slowly, or not at all: the jobs' times and
# timeouts do not depend on it, and a reader that goes away ends the run
# without a word, while another failure to write is reported.
. "${srcdir:-.}/tests/cli/lib.sh"

# Job "big" prints more than a pipe holds at once; the reader reads
# nothing until "ok" (0.3 s) and "slow" (past its timeout of 2 s) are in
# the job log, or 5 s have passed.  Meanwhile procq cannot write "big",
# which must hold up nothing else.
rc=0
timeout -k 5 "$LIMIT" "$PROCQ" -q -j 3 --timeout 2 --joblog "$T/log" \
    --shell -- 'case {} in
	big) head -c 524288 /dev/zero ;;
	ok) sleep 0.3; echo ok ;;
	slow) sleep 30 ;;
	esac' ::: big ok slow 2>"$T/err" | {
	wait_for 5 sh -c 'grep -aqs "	case ok in" "$1" &&
	    grep -aqs "	case slow in" "$1"' \
	    sh "$T/log" || :
	wc -c >"$T/count"
} || rc=$?
[ "$rc" -eq 0 ] || fail "the reader failed ($rc)"
[ "$(cat "$T/count")" -eq 524291 ] || fail "$(cat "$T/count") bytes read"
# Seq, Host, Starttime, JobRuntime, Send, Receive, Exitval, Signal, Command
awk -F '\t' '
	$9 ~ /^case ok in/ && $7 == 0 && $4 < 1.5 { ok = 1 }
	$9 ~ /^case slow in/ && $7 != 0 && $4 < 3.5 { slow = 1 }
	END { exit !(ok && slow) }' "$T/log" ||
    fail "job times depend on the reader: $(cat "$T/log")"

# The reader goes after one byte: procq stops the jobs at once, says
# nothing, and exits with 255.
start=$(date +%s)
{
	rc=0
	timeout -k 5 "$LIMIT" "$PROCQ" -j 3 --shell -- 'case {} in
	big) head -c 1048576 /dev/zero ;;
	*) sleep 30 ;;
	esac' ::: big s1 s2 2>"$T/err" || rc=$?
	echo "$rc" >"$T/rc"
} | head -c 1 >/dev/null
[ "$(cat "$T/rc")" -eq 255 ] || fail "exit status $(cat "$T/rc"), expected 255"
[ $(($(date +%s) - start)) -lt 20 ] || fail "the jobs were not stopped"
lacks err "procq:"
contains err "cancelled"

# Another failure to write is said, and ends the run too.
if [ -w /dev/full ]; then
	rc=0
	timeout -k 5 "$LIMIT" "$PROCQ" -- echo hi ::: 1 >/dev/full \
	    2>"$T/err" </dev/null || rc=$?
	expect_rc 255
	contains err "procq: standard output: No space left on device"
fi
exit 0
