#!/bin/sh
# Jobs that succeed: items from :::, standard input, -0 and --arg-file;
# {} in the command or the item appended; --shell and its quoting; each
# job's output printed whole.
. "${srcdir:-.}/tests/cli/lib.sh"

# Items after :::, appended as the last argument.
run -j 2 -- echo item ::: a b c
expect_rc 0
has out "item a"
has out "item b"
has out "item c"
lines out 3
contains err "3 jobs: 3 succeeded, 0 failed, 0 cancelled"

# {} anywhere in the words, more than once.
run --no-shell -- printf '%s\n' 'x{}y' '{}{}' ::: 1
expect_rc 0
has out "x1y"
has out "11"
lines out 2

# Items from standard input, one per line; an item keeps its spaces.
printf 'one\ntwo words\nthree' >"$T/items"
run_stdin "$T/items" -k --no-shell -- printf '<%s>\n'
expect_rc 0
has out "<one>"
has out "<two words>"
has out "<three>"
lines out 3

# NUL-terminated items may hold newlines.
printf 'a\nb\000c\000' >"$T/items0"
run_stdin "$T/items0" -0 -k --no-shell -- printf '<%s>\n'
expect_rc 0
has out "<a"
has out "b>"
has out "<c>"

# --arg-file.
printf 'f1\nf2\n' >"$T/list"
run -a "$T/list" -k -- echo
expect_rc 0
has out "f1"
has out "f2"
lines out 2

# No items: nothing to do, and that is a success.
run_stdin /dev/null -- echo never
expect_rc 0
lines out 0
contains err "0 jobs:"

# --shell: a shell script; the item is quoted so that it stays one word.
run --shell -k -- 'set -- {}; echo "$#:$1"' ::: 'a b' "it's" '$HOME'
expect_rc 0
has out '1:a b'
has out "1:it's"
has out '1:$HOME'

# --shell without {}: the item is appended to the script.
run --shell -- 'echo got' ::: 'x y'
expect_rc 0
has out "got x y"

# The command sees PROCQ_SEQ and PROCQ_ATTEMPT; its stdin is empty.
run -k --shell -- 'echo "$PROCQ_SEQ/$PROCQ_ATTEMPT/$(cat | wc -c)/{}"' ::: p q
expect_rc 0
has out "1/1/0/p"
has out "2/1/0/q"

# Output is never interleaved: each job's lines stay together although
# the jobs run at once and write in several pieces.
run -j 4 --shell -- 'for i in 1 2 3 4 5; do echo "{} $i"; sleep 0.01; done' \
    ::: a b c d e f g h
expect_rc 0
lines out 40
awk '{ if (NR % 5 == 1) job = $1; else if ($1 != job) exit 1 }' "$T/out" ||
    fail "the output of jobs is interleaved"

# stdout and stderr go to their own streams.
run --no-shell -- sh -c 'echo to-out; echo to-err >&2' sh ::: 1
expect_rc 0
has out "to-out"
lacks out "to-err"
has err "to-err"

# --quiet: the output, but no summary.
run -q -- echo quiet ::: 1
expect_rc 0
has out "quiet 1"
[ ! -s "$T/err" ] || fail "--quiet printed on stderr"
exit 0
