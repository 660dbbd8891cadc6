#!/bin/sh
# --pipe's records (--recend, --recstart, --regexp, --rrs, -N, -L) and
# header, compared with GNU parallel's blocks of the same input.
. "${srcdir:-.}/tests/cli/lib.sh"
require_parallel

# GNU parallel runs its jobs with the shell that started it unless told.
PARALLEL_SHELL=/bin/sh
export PARALLEL_SHELL

# pipe_both NAME FILE ARGS...: procq and GNU parallel read FILE, print alike.
pipe_both() {
	name=$1
	file=$2
	shift 2
	rc_p=0
	timeout -k 5 "$LIMIT" "$PROCQ" -q "$@" <"$file" \
	    >"$T/$name.procq" 2>"$T/err" || rc_p=$?
	[ "$rc_p" -ne 124 ] || fail "procq $* ran past $LIMIT s"
	rc_g=0
	timeout -k 5 "$LIMIT" "$PARALLEL" "$@" <"$file" \
	    >"$T/$name.parallel" 2>"$T/err" || rc_g=$?
	[ "$rc_g" -ne 124 ] || fail "parallel $* ran past $LIMIT s"
	same "$name"
}

# Each job shows its block between brackets, bytes as od prints them.
SHOW='printf "[%s]\\n" "$(od -An -c | tr -s " " | tr -d "\\n")"'

echo /foo, bar/, /baz, qux/, >"$T/recs"
echo foo,bar,_baz,__qux, >"$T/recs2"
seq 1 30 >"$T/num30"
(echo %head1; echo %head2; seq 1 10) >"$T/header"
printf 'aXYbXYcXYdXYe' >"$T/xy"
printf 'one\ttwo\tthree\tfour\t' >"$T/tabs"

# String separators, one record per block.
pipe_both recend "$T/recs" -k -N1 --recend ', ' --pipe "$SHOW"
pipe_both recstart "$T/recs" -k -N1 --recstart / --pipe "$SHOW"
pipe_both both_seps "$T/recs" -k -N1 --recend ', ' --recstart / --pipe "$SHOW"
pipe_both escape "$T/tabs" -k -N1 --recend '\t' --pipe "$SHOW"
# Regular expressions.
pipe_both regexp "$T/recs2" -k -N1 --regexp --recend ',_+' --pipe "$SHOW"
pipe_both regexp_start "$T/recs" -k -N1 --regexp --recstart '/[bf]' --pipe \
    "$SHOW"
pipe_both regexp_alt "$T/recs2" -k -N1 --regexp --recend 'r,|z,' --pipe "$SHOW"
# Before the first recstart: a block of its own.
pipe_both garbage "$T/num30" -k -N2 --regexp --recstart '1' --pipe "$SHOW"
# --rrs: the separators go.
pipe_both rrs "$T/recs2" -k -N1 --rrs --regexp --recend ',_+' --pipe "$SHOW"
pipe_both rrs_str "$T/recs" -k -N2 --rrs --recend ', ' --recstart / --pipe \
    "$SHOW"
pipe_both rrs_lines "$T/num30" -k -N4 --rrs --pipe "$SHOW"
# -N: records per block, whatever --block; -n the same.
pipe_both n3 "$T/num30" -k -N3 --pipe "$SHOW"
pipe_both n_small_block "$T/num30" -k -N7 --block 5 --pipe "$SHOW"
pipe_both n_lower "$T/num30" -k -n4 --pipe "$SHOW"
# -L: records of so many lines; with -N, N of them.
pipe_both L4 "$T/num30" -k -L4 --block 10 --pipe "$SHOW"
pipe_both L2N3 "$T/num30" -k -L2 -N3 --pipe "$SHOW"
# A separator of two bytes split across reads of --block bytes.
for b in 1 2 3 4 5; do
	pipe_both split$b "$T/xy" -k --recend XY --block $b --pipe "$SHOW"
	pipe_both splitN$b "$T/xy" -k -N2 --recend XY --block $b --pipe "$SHOW"
done
# A regular expression cuts what was read as parallel's does, each read
# up to a multiple of --block.
perl -e 'srand(3); for (1..300) {
	print ((qw(a b ab ba XY YX X Y), "\n")[int rand 9]) }' >"$T/mix"
for b in 1 7 20; do
	pipe_both rounds$b "$T/mix" -k -N1 --regexp --recend 'X+' --block $b \
	    --pipe "$SHOW"
	pipe_both rounds_last$b "$T/mix" -k --regexp --recend 'X+' --block $b \
	    --pipe "$SHOW"
done
# --block's k is 1000, K 1024.
seq 1 3000 >"$T/num3000"
pipe_both block_k "$T/num3000" -k --block 1k --pipe wc -c
pipe_both block_K "$T/num3000" -k --block 1K --pipe wc -c
# A record longer than --block: the block grows.
pipe_both grow "$T/num30" -k --block 1 --pipe "$SHOW"
# --header, by a regular expression and by a count of lines.
pipe_both header_re "$T/header" -k --header '(%.*\n)*' --pipe -N3 "$SHOW"
pipe_both header_n "$T/header" -k --header 2 --pipe -N4 "$SHOW"
pipe_both header_block "$T/header" -k --header 1 --block 8 --pipe "$SHOW"
pipe_both header_rrs "$T/header" -k --header 1 --rrs --pipe -N5 "$SHOW"

# -r: the blank lines go, as what was read is cut.
printf ' \n\n \t\na b\n  c\n\n\n \n x\n \n' >"$T/blank"
pipe_both blank "$T/blank" -k -r --pipe "$SHOW"
pipe_both blank_block "$T/blank" -k -r --block 3 --pipe "$SHOW"
pipe_both blank_n "$T/blank" -k -r --block 2 -N1 --recend b --pipe "$SHOW"

# Bad values: a line on stderr, nothing run.
for args in "--regexp --recend (" "--regexp --recstart [" \
    "--header ( " "-X" "--block 1x" "--block 0k" "-0 --regexp"; do
	# shellcheck disable=SC2086
	run_stdin "$T/num30" --pipe $args echo run
	expect_rc 255
	lines err 1
	lines out 0
done
run_stdin "$T/num30" --pipe -X echo run
contains err "-X"
run_stdin "$T/num30" --pipe --regexp --recend '(' echo run
contains err "--recend"
exit 0
