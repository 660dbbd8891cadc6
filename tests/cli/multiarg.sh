#!/bin/sh
# Several values per job: -n, -N, -L, -l, -m, -X, --xargs and -s give
# the same jobs as in GNU parallel, on the same command lines.  The
# output is kept in order (-k), or the jobs run one at a time (-j 1),
# wherever the order could vary.
. "${srcdir:-.}/tests/cli/lib.sh"

require_parallel

# -N: {} is the job's values, {1}.. each; the last job is short and its
# {3} is empty.
both n2 -k -N2 echo {} ::: a b c d e
has n2.procq "c d"
has n2.procq "e"
both n2pos -k -N2 echo {1}-{2}-{3}- ::: a b c d e
has n2pos.procq "e---"
# Without a shell a missing {3} is no argument at all, as it is none to
# the shell in parallel.
both n3printf -k -N3 printf %s: {1} {2} {3} ::: a b c d
has n3printf.procq "a:b:c:d:"
# -N 0: a job per value, with none of them.
both n0 -k -N0 echo foo ::: a b c
has n0.procq "foo"
lines n0.procq 3
# -N repeats a word with {} in it once per value (context replace).
both n2ctx -k -N2 echo pre-{}-post ::: a b c
has n2ctx.procq "pre-a-post pre-b-post"
# {#} counts jobs, not values; edits apply to each value.
both n2seq -k -N2 echo {#} {.} ::: a.x b.y c.z
has n2seq.procq "2 c"
# Several sources: {n} counts the values of all the job's records.
both n2src -k -N2 echo {1}/{2}/{3}/{4} ::: a b ::: x y
has n2src.procq "a/x/a/y"
both n2colsep -k -N2 --colsep , echo {1}/{2}/{3}/{4} ::: a,b c,d e,f
has n2colsep.procq "e/f//"

# -n: up to N values, the same words; {} inside a word once.
both n2args -k -n2 echo pre-{}-post ::: a b c d e
has n2args.procq "pre-a b-post"

# -X and -m: as many as fit, the last ones spread over every job slot.
both m6 -k -j2 -m echo ::: 1 2 3 4 5 6
has m6.procq "1 2 3"
has m6.procq "4 5 6"
both m7 -k -j3 -m echo ::: 1 2 3 4 5 6 7
has m7.procq "7"
both x1 -j1 -X echo pre-{}-post ::: a b c
has x1.procq "pre-a-post pre-b-post pre-c-post"
both x2 -k -j2 -X echo pre-{}-post ::: a b c
has x2.procq "pre-c-post"
both m1 -j1 -m echo pre-{}-post ::: a b c
has m1.procq "pre-a b c-post"

# --xargs and -s: a new line before the limit; with -m the rest is
# spread once the input has ended.
both xargs -k -j1 --xargs -s 20 echo ::: aa bb cc dd ee ff gg hh ii
has xargs.procq "aa bb cc dd ee"
lines xargs.procq 2
both ms20 -k -j2 -m -s 20 echo ::: aa bb cc dd ee ff gg hh ii
lines ms20.procq 3
both xs20 -k -j2 -X -s 20 echo x{}y ::: aa bb cc dd ee ff gg hh ii
lines xs20.procq 4
# Quoted values are measured quoted.
both xquote -k -j1 --xargs -s 20 --dry-run echo ::: 'a b' "c'd" ee ff gg
has xquote.procq "echo 'a b'"
# Values are quoted as parallel quotes them, and measured so.
both quotes -k -N2 --dry-run echo {} ::: "'" "a'" "'a" a=b
has quotes.procq "echo \"'\" 'a'\"'\""
both quotelen -k -j1 --xargs -s 24 --dry-run echo ::: "'" "a'" "'a" a=b x
# parallel's own limit when -s is not given: the same lines of many
# values.
seq 1 30000 >"$T/many"
both many -k -j1 --xargs -a "$T/many" echo
[ "$(wc -l <"$T/many.procq")" -gt 1 ] || fail "30000 values on one line"

# -L: N lines per job; a line ending in a blank goes on on the next.
printf 'a b\nc \nd\ne\nf\n' >"$T/lines"
both l2 -k -L2 -a "$T/lines" --dry-run echo
has l2.procq "echo 'a b' 'c d'"
has l2.procq "echo e f"
both l2ctx -k -L2 echo pre-{}-post ::: a b c
both lmax -k --max-lines 2 echo pre-{}-post ::: a b c
has lmax.procq "pre-a b-post"

# --tag, the joblog and --dry-run show every value of the job.
both tag -k -N2 --tag echo hi ::: a b c
has tag.procq "$(printf 'a b\thi a b')"
both dry -k -N2 --dry-run echo {} ::: 'a b' "c'd" e
has dry.procq "echo 'a b' 'c'\"'\"'d'"
p log -k -N2 --joblog "$T/log.procq.txt" echo ::: 'a b' c d
g log -k -N2 --joblog "$T/log.parallel.txt" echo ::: 'a b' c d
# (in the order the jobs ended)
cut -f 1,9 "$T/log.procq.txt" | sort >"$T/cmd.procq"
cut -f 1,9 "$T/log.parallel.txt" | sort >"$T/cmd.parallel"
same cmd
has cmd.procq "$(printf "1\techo 'a b' c")"

# --results: each record's values numbered from 1, one after the other.
p res -N2 --results "$T/res.p" echo ::: a b c ::: x
g res -N2 --results "$T/res.g" echo ::: a b c ::: x
(cd "$T/res.p" && find . -type d | sort) >"$T/dirs.procq"
(cd "$T/res.g" && find . -type d | sort) >"$T/dirs.parallel"
same dirs
has dirs.procq "./1/a/2/x/1/b/2/x"

# A value longer than the line alone: an error, as in parallel; the
# jobs before it run, and no later one.
both long -k -j1 -N2 -s 12 echo ::: a b c aaaaaaaaaaaaaa d
[ "$rc_p" -eq 255 ] || fail "a value past -s: exit status $rc_p"
contains err "command line too long"
has long.procq "c"
lacks long.procq "d"

# Bad values: a one-line error and 255 (parallel takes anything).
for bad in "-N -1" "-N x" "-n 1.5" "-L x" "-s 0" "--max-args=" \
    "-N 2x"; do
	# shellcheck disable=SC2086
	run $bad echo ::: a
	expect_rc 255
	lines err 1
	contains err "expected a whole number"
done
run -N0 -m echo ::: a
expect_rc 255
contains err "cannot be combined with -m"
run --pipe -X cat
expect_rc 255
contains err "--pipe"
exit 0
