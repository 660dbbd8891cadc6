#!/bin/sh
# The worker's side of a job: PROCQ_SLOT, a job slot from 1 to -j that no
# two running jobs share, kept by a crashed worker's replacement, under
# every start method; how a command that exits before the processes it
# started is reported.
. "${srcdir:-.}/tests/cli/lib.sh"

# slots_in N: every line of out is a slot from 1 to N.
slots_in() {
	[ -s "$T/out" ] || fail "no slots printed"
	! grep -vqx "[1-$1]" "$T/out" || fail "a slot out of 1..$1"
}

# Each job holds its slot's marker while it runs: a second job with the
# same slot at the same time finds it taken.
cat >"$T/hold" <<'HOLD'
#!/bin/sh
mark="$1/slot.$PROCQ_SLOT"
mkdir "$mark" 2>/dev/null || echo "slot $PROCQ_SLOT taken twice" >&2
echo "$PROCQ_SLOT"
sleep 0.02
rmdir "$mark"
HOLD
chmod +x "$T/hold"

for m in forkserver fork exec; do
	run -q -j 3 --start-method "$m" -- "$T/hold" "$T" ::: $(seq 30)
	expect_rc 0
	lines out 30
	slots_in 3
	lacks err "taken twice"
	# All three slots were used: the jobs ran side by side.
	[ "$(sort -u "$T/out" | wc -l)" -eq 3 ] ||
	    fail "$m: slots used: $(sort -u "$T/out" | tr '\n' ' ')"

	# A command that kills its worker: the replacement takes the dead
	# worker's slot, the only one.
	run -j 1 --start-method "$m" --no-shell -- sh -c \
	    'if [ "$1" = crash ]; then kill -KILL $PPID; fi; echo $PROCQ_SLOT' \
	    sh ::: a crash b c
	expect_rc 1
	contains err "WorkerCrash"
	lines out 3
	slots_in 1

	run -q -j 3 --start-method "$m" --no-shell -- sh -c \
	    'case $1 in *3) kill -KILL $PPID; esac; echo $PROCQ_SLOT' \
	    sh ::: $(seq 20)
	expect_rc 2
	lines out 18
	slots_in 3
done

# The table of slots is procq's own business.
run --no-shell -- sh -c 'echo "${PROCQ_SLOT_FILE-none}"' ::: a
expect_rc 0
has out none

# The command's environment is the worker's with the job's variables, as
# setenv() leaves them: one in place of a variable of that name, the
# others after the rest.
rc=0
env -i PATH="$PATH" PROCQ_SEQ=stale FOO=1 timeout -k 5 "$LIMIT" "$PROCQ" -q \
    -j 1 -N0 --no-shell env ::: 1 >"$T/out" 2>"$T/err" || rc=$?
expect_rc 0
sed -n 's/=.*//p' "$T/out" >"$T/names"
names=$(grep -x 'PROCQ_SEQ\|FOO\|PARALLEL_SEQ\|PROCQ_ATTEMPT\|PROCQ_SLOT\|PARALLEL_JOBSLOT' \
    "$T/names" | tr '\n' ' ')
[ "$names" = \
    "PROCQ_SEQ FOO PARALLEL_SEQ PROCQ_ATTEMPT PROCQ_SLOT PARALLEL_JOBSLOT " ] &&
    [ "$(tail -n 4 "$T/names" | tr '\n' ' ')" = \
    "PARALLEL_SEQ PROCQ_ATTEMPT PROCQ_SLOT PARALLEL_JOBSLOT " ] ||
    fail "the command's environment: $(tr '\n' ' ' <"$T/names")"
has out PROCQ_SEQ=1

# The command exited at once; a process it started kept its output open
# until the timeout.  How the command itself ended is known.
run --timeout 1 --json "$T/j" --no-shell -- sh -c 'sleep 30 & exit 0' ::: a
expect_rc 1
contains err "Timeout"
contains j '"status":"failed","attempts":1,"exit_status":0,"signal":null'

# What that process writes after the command has exited is the job's.
run --json "$T/j" --no-shell -- sh -c \
    'echo first; (sleep 0.1; echo second) & exit 3' ::: a
expect_rc 1
has out first
has out second
contains j '"status":"failed","attempts":1,"exit_status":3,"signal":null'
exit 0
