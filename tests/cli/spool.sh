#!/bin/sh
# Output past a few megabytes is spooled to an unlinked file in $TMPDIR,
# not held in memory, and comes out whole and in order: one big job, jobs
# whose spools take turns in the file, lines (--line-buffer) that wait
# for a reader, a line longer than what is kept in memory.
. "${srcdir:-.}/tests/cli/lib.sh"

mkdir "$T/tmp"

# spool_size PID: the size of PID's open, deleted file in $T/tmp.
spool_size() {
	for fd in /proc/"$1"/fd/*; do
		case $(readlink "$fd") in
		"$T/tmp/"*" (deleted)")
			stat -L -c %s "$fd"
			return 0 ;;
		esac
	done
	return 1
}

spooled() {
	n=$(spool_size "$1") && [ "$n" -ge "$2" ]
}

# 48 MiB from one job, which then waits: by then procq has it in its
# spool file, and its memory stayed well below the output's size (under
# AddressSanitizer too, once it keeps few freed blocks aside).
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4 \
TMPDIR=$T/tmp timeout -k 5 "$LIMIT" "$PROCQ" -q --no-shell -- sh -c '
	head -c 50331648 /dev/zero; i=0
	until [ -e "$0/go" ]; do
		i=$((i + 1)); [ $i -lt 1200 ] || exit 9; sleep 0.05
	done' "$T" ::: 1 >"$T/big" 2>"$T/err" &
bounded=$!
# give_up WHY: the job is let go before the test fails.
give_up() {
	touch "$T/go"
	wait "$bounded"
	fail "$1"
}
wait_for 10 sh -c '[ -n "$(ps -o pid= --ppid "$1")" ]' sh "$bounded" ||
    give_up "procq did not start"
pid=$(ps -o pid= --ppid "$bounded" | tr -d ' ')
wait_for "$LIMIT" spooled "$pid" 49283072 ||
    give_up "no spool file of 47 MiB in \$TMPDIR: $(ls -l /proc/$pid/fd/)"
hwm=$(awk '$1 == "VmHWM:" { print $2 }' /proc/"$pid"/status)
echo "procq's memory at most $hwm kB" >&2
touch "$T/go"
rc=0
wait "$bounded" || rc=$?
expect_rc 0
[ "$(wc -c <"$T/big")" -eq 50331648 ] || fail "the output is cut"
[ "$(tr -d '\0' <"$T/big" | wc -c)" -eq 0 ] || fail "the output is changed"
rm "$T/big"
[ "$hwm" -lt 32768 ] || fail "procq's memory went up to $hwm kB"

# No $TMPDIR to spool to: said, and the run ends.
TMPDIR=$T/none run -q -- head -c 4194304 /dev/zero ::: 1
expect_rc 255
contains err "procq: spooling output: No such file or directory"

# Two jobs at once, each past what a spool keeps in memory: their spools
# take turns in the file, and each comes out whole, in order (-k).
TMPDIR=$T/tmp run -q -j 2 -k -- seq ::: 1000000 1000001
expect_rc 0
{ seq 1000000; seq 1000001; } >"$T/want"
cmp -s "$T/out" "$T/want" || fail "the spooled output is not the jobs'"

# --line-buffer, a reader that waits until the job is over: the lines
# wait in a spool meanwhile, and a line of 3 MB waits in a spool too.
rc=0
TMPDIR=$T/tmp timeout -k 5 "$LIMIT" "$PROCQ" -q --line-buffer \
    --joblog "$T/log" --shell -- 'seq {}; head -c 3000000 /dev/zero |
	tr "\0" x; echo; printf end' ::: 500000 2>"$T/err" | {
	wait_for 50 grep -qs succeeded "$T/log" || :
	cat >"$T/out"
} || rc=$?
expect_rc 0
{ seq 500000; head -c 3000000 /dev/zero | tr '\0' x; echo; echo end; } \
    >"$T/want"
cmp -s "$T/out" "$T/want" || fail "--line-buffer output is not the job's"
exit 0
