#!/bin/sh
# SIGINT while jobs run: the running jobs are cancelled (their commands
# killed), the summary is still printed, and the exit status is 130.
. "${srcdir:-.}/tests/cli/lib.sh"

# A background command of a script starts with SIGINT ignored, and procq
# leaves an ignored signal alone; timeout(1), which catches SIGINT itself,
# gives procq the default disposition back.
timeout -k 5 "$LIMIT" "$PROCQ" -j 2 --json "$T/run.json" --joblog "$T/log" \
    --no-shell -- sh -c 'echo started $1; echo $$ >"$0/pid.$1"; exec sleep 60' "$T" \
    ::: 1 2 3 4 >"$T/out" 2>"$T/err" </dev/null &
pid=$!

# Wait until two jobs run, then interrupt.
wait_for 30 test -s "$T/pid.1" -a -s "$T/pid.2" ||
    { kill -KILL $pid; fail "the jobs did not start"; }
# timeout(1) runs procq as its child: signal procq itself.
procq=$(ps -o pid= --ppid $pid | tr -d ' ')
[ -n "$procq" ] || fail "no procq process under timeout"
kill -INT "$procq"
wait_for 30 gone "$procq" || { kill -KILL $pid; fail "procq did not stop"; }
rc=0
wait $pid || rc=$?
expect_rc 130

# The summary, on stderr: the two running jobs and the two queued ones
# were cancelled.
contains err "4 jobs: 0 succeeded, 0 failed, 4 cancelled"
contains err "Cancelled: cancelled"
has out "started 1"
has out "started 2"
lacks out "started 3"
contains run.json '"cancelled":4,"ok":false,"interrupted":true'
# Cancelled jobs have no line in the joblog: a --resume runs them.
lines log 1

# The commands are gone with their workers.
for p in "$(cat "$T/pid.1")" "$(cat "$T/pid.2")"; do
	wait_for 10 gone "$p" || fail "command $p survived the interrupt"
done
exit 0
