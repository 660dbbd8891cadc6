#!/bin/sh
# GNU parallel's smaller options, compared with parallel itself: no
# command (the items are the command lines), --shellquote, --results with
# --header, --retry-failed, the ways of counting CPUs and the options
# that print a fact and exit; and their bad values.
. "${srcdir:-.}/tests/cli/lib.sh"
require_parallel

# refused ARGS...: a one-line usage error, exit status 255, nothing run.
refused() {
	run "$@"
	expect_rc 255
	lines err 1
	grep -q '^procq: ' "$T/err" || fail "$*: $(cat "$T/err")"
	[ ! -s "$T/out" ] || fail "$*: printed on stdout"
}

cd "$T" || exit 99
case $PROCQ in
/*) ;;
*) PROCQ=$OLDPWD/$PROCQ ;;
esac

# No command: each item is a command line, run by the shell unquoted.
both nocmd -k ::: 'echo a' 'echo "b  c" $((1 + 2))' 'exit 3' pwd
[ "$rc_p" -eq 1 ] || fail "nocmd: exit status $rc_p"
# ... several sources, joined by spaces.
both nocmd2 -k ::: echo printf ::: a 'b c'
# ... from a file, and from the standard input.
printf '%s\n' 'echo x; echo y' 'echo z >&2' 'printf "%s\n" "q r"' >cmds
both nocmd3 -k :::: cmds
run_stdin cmds -q -k
parallel -k <cmds >out.parallel 2>/dev/null
cmp -s out out.parallel || fail "no command, standard input: $(cat out)"
# ... -j, -k and --joblog still apply.
p joblog -k -j 1 --joblog j1.procq ::: 'echo 1' 'exit 2'
g joblog -k -j 1 --joblog j1.parallel ::: 'echo 1' 'exit 2'
same joblog
cut -f 1,7- j1.procq >cols.procq
cut -f 1,7- j1.parallel >cols.parallel
cmp -s cols.procq cols.parallel || fail "no command: $(cat cols.procq)"
# ... --no-shell makes each value one word of the command, as -q does in
# parallel: 'echo a' is no program.
p noshell -k --no-shell ::: echo ::: a 'b  c'
g noshell -k -q ::: echo ::: a 'b  c'
same noshell
p noshell2 --no-shell ::: 'echo a'
g noshell2 -q ::: 'echo a'
same noshell2
# --pipe needs a command.
refused --pipe
contains err "needs a command"

# --shellquote: each job prints its line quoted as parallel quotes it.
printf '%s\n' "perl -e 'print \"@ARGV\\n\"'" 'a b' '' 'x$y' 'back\slash' \
    "it's" "'" "''" plain 'a"b' 'tab	x' '~h' '*' 'a=b' '@x' '%p' ':c' \
    -x '!b' '#h' '{}' >lines
both quote -k --shellquote :::: lines
both quote2 -k --shellquote --shellquote :::: lines
both quote3 -k --shellquote echo ::: 'a b' "c'd"
both quote4 -k --shellquote -X echo ::: a 'b c'
both quote5 --shellquote --tag ::: 'a b'
p quote6 --shellquote --no-shell echo ::: 'a b'
g quote6 --shellquote -q echo ::: 'a b'
same quote6
# ... the joblog and --dry-run show the command itself.
both quote7 --shellquote --dry-run echo ::: 'a b'
p log2 --shellquote --joblog j2.procq echo ::: 'a b'
g log2 --shellquote --joblog j2.parallel echo ::: 'a b'
cut -f 7- j2.procq >cols.procq
cut -f 7- j2.parallel >cols.parallel
cmp -s cols.procq cols.parallel || fail "--shellquote: $(cat cols.procq)"

# --results: parallel's files, no more; with --header, levels named by
# the columns, in the order of their names (numbers first, by value).
# results DIR PROGRAM...: the runs of both, their files listed in
# DIR.tree.
results() {
	dir=$1
	shift
	for args in '--header : echo ::: f1 A B ::: f2 C/x' \
	    '--header : echo ::: z y ::: 10 D ::: 9 E' '-N2 echo ::: a b c' \
	    '--colsep , echo ::: 1,2,3,4,5,6,7,8,9,10,11'; do
		# shellcheck disable=SC2086
		timeout -k 5 "$LIMIT" "$@" --results "$dir" $args \
		    >/dev/null 2>&1 </dev/null || fail "$* $args"
	done
	(cd "$dir" && find . -type f | LC_ALL=C sort) >"$dir.tree"
}
results res.procq "$PROCQ" -q
results res.parallel "$PARALLEL"
cmp -s res.procq.tree res.parallel.tree || {
	diff res.parallel.tree res.procq.tree >&2
	fail "--results: not parallel's files"
}
[ "$(cat "res.procq/f1/A/f2/C\\_x/stdout")" = "A C/x" ] ||
    fail "--results --header: $(ls -R res.procq)"

# --retry-failed: the failed jobs of the joblog run again, with its
# commands, whatever the command line says.
for impl in procq parallel; do
	if [ $impl = procq ]; then
		prog="$PROCQ -q"
	else
		prog=$PARALLEL
	fi
	# shellcheck disable=SC2086
	timeout -k 5 "$LIMIT" $prog --joblog retry.$impl -k exit ::: 1 0 2 \
	    >/dev/null 2>&1 </dev/null
	rc=0
	# shellcheck disable=SC2086
	timeout -k 5 "$LIMIT" $prog --retry-failed --joblog retry.$impl \
	    -k echo ::: x y >out.$impl 2>/dev/null </dev/null || rc=$?
	[ "$rc" -eq 2 ] || fail "--retry-failed: $impl exits with $rc"
	cut -f 1,7- retry.$impl | LC_ALL=C sort >cols.$impl
done
cmp -s out.procq out.parallel || fail "--retry-failed: $(cat out.procq)"
cmp -s cols.procq cols.parallel || {
	diff cols.parallel cols.procq >&2
	fail "--retry-failed: not parallel's joblog"
}
# ... a command of several lines, as the joblog holds it.
run --joblog nl.log ::: "$(printf 'echo one\nexit 4')"
expect_rc 1
run --retry-failed --joblog nl.log -k
expect_rc 1
has out one
[ "$(grep -c one nl.log)" -eq 2 ] || fail "--retry-failed: $(cat nl.log)"
# ... no joblog yet: the command line runs, as in parallel.
p retry2 --retry-failed --joblog none.procq echo ::: a
g retry2 --retry-failed --joblog none.parallel echo ::: a
same retry2
refused --retry-failed echo ::: a
contains err "--joblog"
printf 'not a joblog\n' >bad.log
refused --retry-failed --joblog bad.log
contains err "bad.log"

# The CPUs: -X spreads the items over as many jobs as -j has slots, whose
# default and N% count threads, cores or sockets as told.
for how in '' --use-cpus-instead-of-cores --use-cores-instead-of-threads \
    --use-sockets-instead-of-threads; do
	# shellcheck disable=SC2086
	both "cpus$how" $how -k -X --dry-run echo ::: 1 2 3 4 5 6 7 8
	# shellcheck disable=SC2086
	both "cpus200$how" -j 200% $how -k -X --dry-run echo ::: 1 2 3 4 5 6 7 8
done
both cpus3 -k --use-cpus-instead-of-cores -N0 echo x ::: 1 2 3

# What parallel prints and exits.
for opt in --number-of-cpus --number-of-cores --number-of-threads \
    --number-of-sockets --max-line-length-allowed; do
	both "info$opt" "$opt"
	[ "$rc_p" -eq 0 ] || fail "$opt: exit status $rc_p"
done
both minversion --minversion 20130722
both minversion2 --minversion 20221122
both minversion3 --minversion 20991231
[ "$rc_p" -eq 255 ] || fail "--minversion: exit status $rc_p"
both minversion4 --minversion -1
# ... first, whatever else the command line says.
both info2 --number-of-cores echo ::: a
refused --minversion 2022.5
contains err "--minversion"
refused --minversion ''
refused --minversion 1x

# --shebang's words, given as one argument as the kernel gives them, must
# come first, as in parallel: after another option they are refused.
printf '#!/usr/bin/procq --shebang -r echo\na\n' >script
refused -k '--shebang -r echo' script
contains err "must come first"
exit 0
