#!/bin/sh
# Output: --keep-order prints in input order although jobs finish in
# reverse; --line-buffer streams lines while the job runs; --tag and
# --tagstring prefix every line; only the last attempt of a retried job
# is printed, but for the lines --line-buffer printed meanwhile; large
# binary output on both streams arrives whole and exact.
. "${srcdir:-.}/tests/cli/lib.sh"

# Job N waits for job N+1 to finish, so they finish 3, 2, 1.
cat >"$T/chain" <<'SCRIPT'
#!/bin/sh
dir=$1 n=$2 i=0
if [ "$n" -lt 3 ]; then
	while [ ! -e "$dir/done.$((n + 1))" ]; do
		i=$((i + 1))
		[ $i -lt 600 ] || exit 9
		sleep 0.05
	done
fi
echo "job $n"
echo "job $n end"
touch "$dir/done.$n"
SCRIPT
chmod +x "$T/chain"

run -j 3 -k --joblog "$T/log" -- "$T/chain" "$T" ::: 1 2 3
expect_rc 0
printf 'job 1\njob 1 end\njob 2\njob 2 end\njob 3\njob 3 end\n' >"$T/want"
cmp -s "$T/out" "$T/want" || fail "--keep-order printed: $(cat "$T/out")"
lines log 4

# --line-buffer: the first line is printed while the job still runs
# (the job waits until it sees it in procq's output); a last line without
# a newline gets one; stderr lines go to stderr; no prefix without --tag.
cat >"$T/lines" <<'SCRIPT'
#!/bin/sh
echo "first $1"; echo "oops $1" >&2; i=0
until grep -q "$2" "$3"; do
	i=$((i + 1)); [ $i -lt 600 ] || exit 9; sleep 0.05
done
printf "second $1"
SCRIPT
chmod +x "$T/lines"
run -j 2 --line-buffer --no-shell -- "$T/lines" {} '^first {}$' "$T/out" ::: a b
expect_rc 0
has out "first a"
has out "second a"
has out "first b"
has out "second b"
lines out 4
has err "oops a"
has err "oops b"

# The same with --tag: the item and a tab before every line.
tab=$(printf '\t')
run -j 2 --line-buffer --tag --no-shell -- "$T/lines" {} "^{}${tab}first {}\$" \
    "$T/out" ::: a b
expect_rc 0
has out "a${tab}first a"
has out "a${tab}second a"
has out "b${tab}first b"
has out "b${tab}second b"
lines out 4
has err "a${tab}oops a"
has err "b${tab}oops b"

# --tag without --line-buffer: every line of each stream, a last one
# without its newline given one; --tagstring makes the tag of a template.
run -k --tag --shell -- 'printf "x\ny\n\nz"; printf "e" >&2' ::: a "b c"
expect_rc 0
printf 'a\tx\na\ty\na\t\na\tz\nb c\tx\nb c\ty\nb c\t\nb c\tz\n' >"$T/want"
cmp -s "$T/out" "$T/want" || fail "--tag printed: $(cat "$T/out")"
has err "a${tab}e"
has err "b c${tab}e"
run -k --tagstring 'job<{}>' -- echo ::: 1 2
expect_rc 0
printf 'job<1>\t1\njob<2>\t2\n' >"$T/want"
cmp -s "$T/out" "$T/want" || fail "--tagstring printed: $(cat "$T/out")"

# Retries: the last attempt's output only, even when it printed nothing
# (the first attempt's output is not printed instead).
run --retries 2 --shell -- \
    '[ "$PROCQ_ATTEMPT" -ge 2 ] || { echo "attempt 1 {}"; exit 1; }' ::: r
expect_rc 0
lines out 0
# ... but --line-buffer prints lines as they come: an attempt's lines are
# out before it fails, and stay; its unfinished last line is ended.
run --retries 3 --line-buffer --shell -- \
    ': {}; echo "line $PROCQ_ATTEMPT"; printf "part $PROCQ_ATTEMPT";
     [ "$PROCQ_ATTEMPT" -ge 3 ]' ::: r
expect_rc 0
printf 'line 1\npart 1\nline 2\npart 2\nline 3\npart 3\n' >"$T/want"
cmp -s "$T/out" "$T/want" || fail "--line-buffer retried: $(cat "$T/out")"

# Megabytes on stdout and stderr at once: no deadlock, every byte there.
head -c 3000000 /dev/urandom >"$T/blob"
run -q -j 2 --no-shell -- sh -c 'cat "$1" & cat "$1" >&2; wait' sh "$T/blob" ::: 1
expect_rc 0
cmp -s "$T/out" "$T/blob" || fail "stdout differs from what the job wrote"
cmp -s "$T/err" "$T/blob" || fail "stderr differs from what the job wrote"
exit 0
