#!/bin/sh
# The input as GNU parallel reads it: several sources crossed or linked,
# :::: files and -a, --colsep, the replacement strings, streaming (the
# first job starts before the input ends), --shuf, --dry-run, and a pool
# no larger than the input.
. "${srcdir:-.}/tests/cli/lib.sh"

# Two sources: every combination, the first varying slowest.
run -q -k echo ::: a b ::: 1 2
expect_rc 0
printf 'a 1\na 2\nb 1\nb 2\n' | cmp -s - "$T/out" || fail "::: ::: crossed"

# The replacement strings, as GNU parallel expands them.
run -q -k --no-shell echo '<{}>' '<{.}>' '<{/}>' '<{//}>' '<{/.}>' '<{#}>' '<{1}>' \
    '<{2/}>' '<{3}>' ::: a.txt dir.x/file /a/b.c.d ::: 'x/y z'
expect_rc 0
has out "<a.txt x/y z> <a x/y z> <a.txt y z> <. x> <a y z> <1> <a.txt> <y z> <>"
has out "<dir.x/file x/y z> <dir.x/file x/y z> <file y z> <dir.x x> <file y z> <2> <dir.x/file> <y z> <>"
has out "</a/b.c.d x/y z> </a/b.c x/y z> <b.c.d y z> </a x> <b.c y z> <3> </a/b.c.d> <y z> <>"
run -q -k echo '{.}' '{//}' ::: .bashrc a/.b x. /a
expect_rc 0
printf ' .\na/ a\nx .\n/a /\n' | cmp -s - "$T/out" || fail "{.} {//}: $(cat "$T/out")"
# Braces that are no replacement string mean themselves.
run -q echo '{x}' '{}' '{1x}' ::: v
has out "{x} v {1x}"

# :::+ pairs as far as the shortest goes; --link wraps around.
run -q -k echo ::: a b c :::+ 1 2
printf 'a 1\nb 2\n' | cmp -s - "$T/out" || fail ":::+ $(cat "$T/out")"
run -q -k --link echo ::: a b c ::: 1 2
printf 'a 1\nb 2\nc 1\n' | cmp -s - "$T/out" || fail "--link $(cat "$T/out")"
run -q -k echo {2}-{1} ::: a b :::+ 1 2 ::: X
printf '1-a\n2-b\n' | cmp -s - "$T/out" || fail ":::+ with {N}"

# Files: ::::, ::::+, -a (twice), and - for standard input.
printf 'f1\nf2\n' >"$T/f"
printf 'g1\ng2\n' >"$T/g"
run -q -k echo :::: "$T/f" "$T/g"
printf 'f1 g1\nf1 g2\nf2 g1\nf2 g2\n' | cmp -s - "$T/out" || fail "::::"
run -q -k echo :::: "$T/f" ::::+ "$T/g"
printf 'f1 g1\nf2 g2\n' | cmp -s - "$T/out" || fail "::::+"
run -q -k -a "$T/f" -a "$T/g" echo
printf 'f1 g1\nf1 g2\nf2 g1\nf2 g2\n' | cmp -s - "$T/out" || fail "-a -a"
run_stdin "$T/g" -q -k -a - echo ::: x
printf 'g1 x\ng2 x\n' | cmp -s - "$T/out" || fail "-a -"
run_stdin "$T/g" -q -k echo :::: - ::: y
printf 'g1 y\ng2 y\n' | cmp -s - "$T/out" || fail ":::: -"

# --colsep: columns become {1} {2}...
printf 'a,b\nc,,d\n' >"$T/csv"
run -q -k --colsep ',+' -a "$T/csv" echo '{2}-{1}'
printf 'b-a\nd-c\n' | cmp -s - "$T/out" || fail "--colsep $(cat "$T/out")"

# The input streams: the first job runs before the input has ended (the
# writer waits for it), and procq does not hold it all.
mkfifo "$T/fifo"
{
	echo first
	wait_for 20 test -e "$T/started" || echo timeout
	echo second
} >"$T/fifo" &
run -q -k -j 1 -a "$T/fifo" --no-shell sh -c 'touch "$1/started"; echo "$0"' '{}' "$T"
wait
expect_rc 0
printf 'first\nsecond\n' | cmp -s - "$T/out" || fail "streaming: $(cat "$T/out")"

# --shuf runs every job once, in another order.
seq 200 >"$T/seq"
run -q -j 1 --shuf -a "$T/seq" echo
expect_rc 0
sort -n "$T/out" | cmp -s - "$T/seq" || fail "--shuf lost or doubled jobs"
cmp -s "$T/out" "$T/seq" && fail "--shuf kept the order"

# --dry-run prints the commands and runs none.
run --dry-run --shell 'touch {}; echo {}' ::: "$T/a b" "$T/c'd"
expect_rc 0
has out "touch '$T/a b'; echo '$T/a b'"
has out "touch '$T/c'\"'\"'d'; echo '$T/c'\"'\"'d'"
[ ! -e "$T/a b" ] || fail "--dry-run ran a job"

# No more workers than jobs: -j 50 for one item starts one worker (and
# perhaps its spare), not fifty.
run -q --start-method exec -j 50 --no-shell sh -c \
    'pgrep -c -P $(ps -o ppid= -p $PPID) -f -- --procq-exec-worker' ::: a
expect_rc 0
n=$(cat "$T/out")
[ "$n" -le 2 ] || fail "-j 50 for one item started $n workers"

# -j relative to the CPUs.
run -q -j 50% echo ::: a
expect_rc 0
run -q -j +1 echo ::: a
expect_rc 0
# {%}: the job's slot, from 1 to -j, as PROCQ_SLOT has it.
run -q -j 2 --no-shell -- sh -c 'echo "$0 $PROCQ_SLOT"' '{%}' ::: a b c d e f
expect_rc 0
lines out 6
awk '$1 != $2 || $1 < 1 || $1 > 2 { bad = 1 } END { exit bad }' "$T/out" ||
    fail "{%}: $(cat "$T/out")"

# --pipe: standard input in blocks that end at a line, one per job.
seq 1000 >"$T/lines"
run_stdin "$T/lines" -q -k -j 2 --pipe --block 1K --no-shell -- sh -c \
    'n=$(wc -l); echo "{#} $n"; cat >/dev/null'
expect_rc 0
run_stdin "$T/lines" -q -k -j 2 --pipe --block 1K -- cat
cmp -s "$T/out" "$T/lines" || fail "--pipe lost or reordered lines"
run_stdin "$T/lines" -q -j 2 --pipe --block 1K --no-shell -- sh -c \
    'head -c 1024 | tail -c 1 | od -An -c'
expect_rc 0
! grep -qv '\\n' "$T/out" || fail "--pipe: a block ends inside a line"
exit 0
