#!/bin/sh
# --checkpoint FILE: a rerun of the same command line skips the commands
# that succeeded before, after a clean end or a Ctrl-C; failed and
# cancelled jobs run again.  A file that is not a store is refused.
. "${srcdir:-.}/tests/cli/lib.sh"

# A job appends its item to effects (its side effect); items above 5 wait
# for the file "go" unless it exists, and item f always fails.
cat >"$T/job" <<'SCRIPT'
#!/bin/sh
echo "$2" >>"$1/effects"
echo "out $2"
[ "$2" != f ] || exit 3
[ "$2" -le 5 ] 2>/dev/null || [ -e "$1/go" ] || exec sleep 60
SCRIPT
chmod +x "$T/job"
store=$T/store.db

# count ITEM N: ITEM's command ran N times in all.
count() {
	n=$(grep -cx -- "$1" "$T/effects")
	[ "$n" -eq "$2" ] || fail "$1 ran $n times, expected $2"
}

# A first run: 1 to 5 succeed, f fails.
run -j 2 --checkpoint "$store" -- "$T/job" "$T" ::: 1 2 3 4 5 f
expect_rc 1
contains err "6 jobs: 5 succeeded, 1 failed, 0 cancelled"

# The same line again: only f runs; the others are done, and print
# nothing.
run -j 2 --checkpoint "$store" --joblog "$T/log" --json "$T/run.json" \
    -- "$T/job" "$T" ::: 1 2 3 4 5 f
expect_rc 1
contains err "6 jobs: 5 succeeded (5 done before), 1 failed, 0 cancelled"
has out "out f"
lacks out "out 1"
for i in 1 2 3 4 5; do count $i 1; done
count f 2
# No joblog line for a job that did not run, as with --resume.
lines log 2
contains run.json '"resumed":true'
contains run.json '"resumed":5,'

# Ctrl-C part-way: 6 and 7 hang until interrupted.
timeout -k 5 "$LIMIT" "$PROCQ" -j 2 --checkpoint "$store" \
    -- "$T/job" "$T" ::: 1 2 3 6 7 8 >"$T/out" 2>"$T/err" </dev/null &
pid=$!
wait_for 30 sh -c "grep -qx 6 '$T/effects' && grep -qx 7 '$T/effects'" ||
    { kill -KILL $pid; fail "the jobs did not start"; }
procq=$(ps -o pid= --ppid $pid | tr -d ' ')
[ -n "$procq" ] || fail "no procq process under timeout"
kill -INT "$procq"
rc=0
wait $pid || rc=$?
expect_rc 130
contains err "6 jobs: 3 succeeded (3 done before), 0 failed, 3 cancelled"

# The rerun after the interrupt: 6, 7 and 8 run (and now finish), the
# rest was done.
touch "$T/go"
run -j 2 --checkpoint "$store" -- "$T/job" "$T" ::: 1 2 3 6 7 8
expect_rc 0
contains err "6 jobs: 6 succeeded (3 done before), 0 failed, 0 cancelled"
count 1 1
count 6 2
count 8 1
run -j 2 --checkpoint "$store" -- "$T/job" "$T" ::: 1 2 3 6 7 8
contains err "6 jobs: 6 succeeded (6 done before)"
count 6 2

# What the store holds can be read with sqlite3.
n=$(sqlite3 "$store" "SELECT count(*) FROM task WHERE status = 'succeeded'")
[ "$n" -eq 8 ] || fail "the store has $n successes, expected 8"

# A file that is not a store: refused, untouched, exit status 255.
echo "not a database" >"$T/text"
cp "$T/text" "$T/text.orig"
run --checkpoint "$T/text" -- true ::: 1
expect_rc 255
contains err "--checkpoint $T/text: the file is not a procq checkpoint store"
cmp -s "$T/text" "$T/text.orig" || fail "the refused file was changed"
exit 0
