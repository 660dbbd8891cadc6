#!/bin/sh
# --resume and --resume-failed read the joblog of an earlier run (GNU
# parallel's format) and skip the jobs it has a line for, or only those
# that succeeded; the rest run from this run's input, and their lines are
# added to the log.  A file that is not a joblog is a usage error.
. "${srcdir:-.}/tests/cli/lib.sh"

# A job counts its runs in $item.runs, and fails unless $item.ok exists;
# job2 is another command doing the same.
for job in job job2; do
	cat >"$T/$job" <<SCRIPT
#!/bin/sh
echo run >>"\$1.runs"
echo "$job \$1"
[ -e "\$1.ok" ]
SCRIPT
	chmod +x "$T/$job"
done

# runs ITEM N: the job of ITEM ran N times.
runs() {
	n=$(cat "$T/$1.runs" 2>/dev/null | wc -l)
	[ "$n" -eq "$2" ] || fail "$1 ran $n times, expected $2"
}

# The items are files of $T, named relative to it.
case $PROCQ in
/*) ;;
*) PROCQ=$(pwd)/$PROCQ ;;
esac
cd "$T" || exit 99
touch a.ok c.ok e.ok

# A first run of four items: b and d fail.
run -j 2 --joblog "$T/log" -- "$T/job" ::: a b c d
expect_rc 2
lines log 5

# --resume with a fifth item: only that one runs, and its line is added
# under the old ones (-k waits for no skipped job).
run --resume -k --joblog "$T/log" -- "$T/job" ::: a b c d e
expect_rc 0
has out "job e"
lines out 1
contains err "1 job: 1 succeeded"
runs a 1; runs b 1; runs c 1; runs d 1; runs e 1
lines log 6
[ "$(grep -c '^Seq	' "$T/log")" -eq 1 ] || fail "a second header"
sed -n 6p "$T/log" | grep -q '^5	:	.*	0	0	.*/job e$' ||
    fail "joblog: $(cat "$T/log")"

# --resume-failed runs b and d again, with this run's command: the
# command of a seq comes from the input, not from the log.
touch b.ok
run --resume-failed -j 1 -k --joblog "$T/log" -- "$T/job2" ::: a b c d e
expect_rc 1
has out "job2 b"
has out "job2 d"
lines out 2
runs a 1; runs b 2; runs c 1; runs d 2; runs e 1
lines log 8
sed -n 7p "$T/log" | grep -q '^2	:	.*	0	0	.*/job2 b$' ||
    fail "joblog: $(cat "$T/log")"
sed -n 8p "$T/log" | grep -q '^4	:	.*	1	0	.*/job2 d$' ||
    fail "joblog: $(cat "$T/log")"

# A seq succeeded if any of its lines says so: only d runs again.
run --resume-failed --joblog "$T/log" -- "$T/job" ::: a b c d e
expect_rc 1
has out "job d"
lines out 1
runs b 2; runs d 3
lines log 9

# Without --resume the log starts afresh.
run --joblog "$T/log" -- "$T/job" ::: a
expect_rc 0
lines log 2

# A log that does not exist yet holds nothing: everything runs, under a
# header; so does an empty one.
for f in new empty; do
	[ $f = new ] || : >"$T/$f.log"
	run --resume --joblog "$T/$f.log" -- true ::: 1 2
	expect_rc 0
	lines $f.log 3
	head -n 1 "$T/$f.log" | grep -q '^Seq	Host	' || fail "$f.log header"
done

# Not a joblog: a usage error, and nothing runs or is written.
printf 'hello\n' >"$T/bad1"
printf '%s\n1\t:\t2\n' "$(head -n 1 "$T/new.log")" >"$T/bad2"
for f in bad1 bad2; do
	cp "$T/$f" "$T/$f.orig"
	run --resume-failed --joblog "$T/$f" -- touch "$T/started" ::: 1
	expect_rc 255
	contains err "is not a joblog"
	[ ! -e "$T/started" ] || fail "a job ran"
	cmp -s "$T/$f" "$T/$f.orig" || fail "$f was written"
done
contains err "line 2 is not a job's"

# --resume needs a joblog.
run --resume -- true ::: 1
expect_rc 255
contains err "--resume needs --joblog FILE"

# GNU parallel reads procq's joblog, and procq reads parallel's.
if parallel --version 2>/dev/null | grep -q '^GNU parallel'; then
	rm -f "$T"/*.runs "$T/log" b.ok
	run --joblog "$T/log" -- "$T/job" ::: a b c
	expect_rc 1
	HOME=$T parallel --will-cite --resume-failed --joblog "$T/log" \
	    "$T/job" ::: a b c >"$T/out" 2>/dev/null
	has out "job b"
	lines out 1
	runs a 1; runs b 2; runs c 1
	HOME=$T parallel --will-cite --joblog "$T/plog" "$T/job" ::: a b c \
	    >/dev/null 2>&1
	run --resume-failed --joblog "$T/plog" -- "$T/job" ::: a b c
	expect_rc 1
	has out "job b"
	lines out 1
	runs a 2; runs b 4; runs c 2
	lines plog 5
else
	echo "GNU parallel is not installed: no exchange of joblogs with it"
fi
exit 0
