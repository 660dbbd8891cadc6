#!/bin/sh
# --mpi: under mpirun, rank 0 reads the items and the other ranks run the
# jobs on their workers; the joblog names the host of each job, the JSON
# summary its rank and host; a crash and a timeout on a remote rank fail
# that job alone.
. "${srcdir:-.}/tests/cli/lib.sh"

. "${srcdir:-.}/tests/mpi-env.sh"
# Without MPI procq says so, and there is nothing to test.
run --mpi -- true ::: 1
if grep -q "built without MPI" "$T/err"; then
	echo "procq was built without MPI: skipped" >&2
	exit 77
fi
# Alone (no mpirun, one rank) there is no rank to run jobs on.
expect_rc 255
contains err "no other ranks"

mpirun() {
	rc=0
	timeout -k 5 "$LIMIT" "$MPIRUN" --allow-run-as-root --oversubscribe \
	    -np 3 "$PROCQ" "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
	[ "$rc" -ne 124 ] || fail "mpirun procq $* ran past $LIMIT s"
}

host=$(hostname)
mpirun --mpi -j 2 --joblog "$T/log" --json "$T/json" --no-shell -- \
    sh -c 'echo "item $1"' sh ::: a b c d e f
expect_rc 0
lines out 6
for i in a b c d e f; do
	has out "item $i"
done
contains err "6 jobs: 6 succeeded, 0 failed, 0 cancelled"
[ "$(wc -l <"$T/log")" -eq 7 ] || fail "joblog: $(cat "$T/log")"
# The Host column names the host, as GNU parallel's names a remote one.
sed 1d "$T/log" | grep -v "^[1-6]	$host	" &&
    fail "joblog lines without the host: $(cat "$T/log")"
grep -q "\"host\":\"$host\",\"rank\":[12]" "$T/json" ||
    fail "json: $(cat "$T/json")"

# A crash and a hang past its timeout on a remote rank fail alone.
mpirun --mpi -j 1 --timeout 2 --joblog "$T/log" --no-shell -- \
    sh -c 'case $1 in crash) kill -SEGV $$ ;; hang) exec sleep 30 ;;
	esac; echo "ok $1"' sh ::: crash hang fine
expect_rc 2
has out "ok fine"
contains err "3 jobs: 1 succeeded, 2 failed"
grep -q "^1	$host	[^	]*	[^	]*	0	0	0	11	sh -c " "$T/log" ||
    fail "joblog: $(cat "$T/log")"
grep -q "^2	$host	[^	]*	[^	]*	0	0	-1	0	sh -c " "$T/log" ||
    fail "joblog: $(cat "$T/log")"
exit 0
