#!/bin/sh
# Reports: the summary on stderr, --json with a record per job as it
# becomes final (item, args, command, start, status, attempts, exit
# status or signal, duration, host, rank, error) and the totals after
# them, --joblog in GNU parallel's format, --name and --group.
. "${srcdir:-.}/tests/cli/lib.sh"

before=$(date +%s)
run -j 2 --json "$T/run.json" --joblog "$T/log" --name 'job-{}' \
    --group 'g{}' --shell -- 'case {} in ok) echo fine ;;
	three) exit 3 ;; segv) kill -SEGV $$ ;; esac' ::: ok three segv \
    'tab	"q"'
expect_rc 2
after=$(($(date +%s) + 1))

# The summary: totals, then a line per failed job with its name.
contains err "4 jobs: 2 succeeded, 2 failed, 0 cancelled"
contains err "job-three [gthree] (attempt 1): ExitStatus: exit status 3"
contains err "job-segv [gsegv] (attempt 1): Signal: killed by SIGSEGV"

# JSON: the opening, one job per line, then the totals.
head -n 1 "$T/run.json" | grep -qx '{"jobs":\[' ||
    fail "json opening: $(head -n 1 "$T/run.json")"
tail -n 1 "$T/run.json" | grep -qx '\],"submitted":4,"succeeded":2,"failed":2,"cancelled":0,"ok":false,"interrupted":false,"resumed":0,"duration":[0-9.]*}' ||
    fail "json totals: $(tail -n 1 "$T/run.json")"
lines run.json 6
grep -q '^{"seq":1,"item":"ok","args":\["ok"\],"command":"case ok in ok) echo fine ;;\\n\\tthree) exit 3 ;; segv) kill -SEGV \$\$ ;; esac","name":"job-ok","group":"gok","id":"[0-9a-f]\{16\}","status":"succeeded","attempts":1,"exit_status":0,"signal":null,"start":[0-9]*\.[0-9]\{6\},"duration":[0-9.]*,"host":"'"$(hostname)"'","rank":0,"error":null,"resumed":false},\{0,1\}$' \
    "$T/run.json" || fail "json job 1: $(grep '"seq":1,' "$T/run.json")"
grep -q '^{"seq":2,"item":"three",.*"status":"failed","attempts":1,"exit_status":3,"signal":null,.*"error":{"kind":"task","type":"ExitStatus","message":"exit status 3"},"resumed":false},\{0,1\}$' \
    "$T/run.json" || fail "json job 2: $(grep '"seq":2,' "$T/run.json")"
grep -q '^{"seq":3,"item":"segv",.*"exit_status":null,"signal":11,.*"type":"Signal","message":"killed by SIGSEGV' \
    "$T/run.json" || fail "json job 3: $(grep '"seq":3,' "$T/run.json")"
contains run.json '{"seq":4,"item":"tab\t\"q\"","args":["tab\t\"q\""],"command":"case '\''tab\t\"q\"'\'' in'
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
jobs = {j["seq"]: j for j in d["jobs"]}
assert sorted(jobs) == [1, 2, 3, 4], jobs
assert jobs[4]["item"] == "tab\t\"q\"" and jobs[4]["args"] == [jobs[4]["item"]]
assert jobs[4]["command"].startswith("case '"'"'tab\t\"q\"'"'"' in ok)")
for j in d["jobs"]:
	assert int(sys.argv[2]) <= j["start"] <= int(sys.argv[3]), j
assert d["submitted"] == 4 and d["failed"] == 2 and not d["ok"]' \
	    "$T/run.json" "$before" "$after" || fail "the JSON: $(cat "$T/run.json")"
fi

# The JSON is written as jobs become final, in that order: the first job
# waits for the second one's record.
run -j 2 --json "$T/order.json" --no-shell -- sh -c '[ "$1" = fast ] && exit 0
	i=0
	until grep -q "^{\"seq\":2," "$0"; do
		i=$((i + 1))
		[ $i -lt 600 ] || exit 1
		sleep 0.05
	done' "$T/order.json" ::: slow fast
expect_rc 0
sed -n 2p "$T/order.json" | grep -q '^{"seq":2,"item":"fast",.*},$' ||
    fail "json order: $(cat "$T/order.json")"
sed -n 3p "$T/order.json" | grep -q '^{"seq":1,"item":"slow",.*}$' ||
    fail "json order: $(cat "$T/order.json")"

# The joblog: GNU parallel's header, then a line per job as it ends: Seq,
# Host (: for this one), Starttime, JobRuntime padded to 10, Send (0),
# Receive (bytes of stdout), Exitval (0 when a signal killed the
# command), Signal, Command.
lines log 5
head -n 1 "$T/log" | grep -qx 'Seq	Host	Starttime	JobRuntime	Send	Receive	Exitval	Signal	Command' ||
    fail "joblog header: $(head -n 1 "$T/log")"
times='[0-9]\{10\}\.[0-9]\{3\}	[ 0-9]\{5\}[0-9]\.[0-9]\{3\}'
tr '\000' '@' <"$T/log" >"$T/log.txt"
cmd='in ok) echo fine ;;@	three) exit 3 ;; segv) kill -SEGV \$\$ ;; esac'
grep -q "^1	:	$times	0	5	0	0	case ok $cmd\$" "$T/log.txt" ||
    fail "joblog ok: $(cat "$T/log.txt")"
grep -q "^2	:	$times	0	0	3	0	case three $cmd\$" "$T/log.txt" ||
    fail "joblog three: $(cat "$T/log.txt")"
grep -q "^3	:	$times	0	0	0	11	case segv $cmd\$" "$T/log.txt" ||
    fail "joblog segv: $(cat "$T/log.txt")"
grep -q "^4	:	$times	0	0	0	0	case 'tab	\"q\"' $cmd\$" \
    "$T/log.txt" || fail "joblog tab: $(cat "$T/log.txt")"
awk -F '\t' -v from="$before" -v to="$after" \
    'NR > 1 && ($3 < from || $3 > to) { exit 1 }' "$T/log" ||
    fail "joblog start times out of [$before, $after]: $(cat "$T/log.txt")"

# Receive counts the last attempt's stdout alone.
run --retries 2 --joblog "$T/rlog" --shell -- 'echo to-stderr >&2
	[ "$PROCQ_ATTEMPT" -ge 2 ] || { echo first-attempt; exit 1; }
	echo {}' ::: 1
expect_rc 0
sed -n 2p "$T/rlog" | cut -f 5-8 | grep -qx '0	2	0	0' ||
    fail "joblog receive: $(cat "$T/rlog")"

# The joblog is written as jobs finish: the second job sees the first
# one's line while it runs.
run -j 1 --joblog "$T/log2" --no-shell -- sh -c '[ "$2" = first ] || grep -q "$1" "$0"' \
    "$T/log2" '^1	:	.* first$' ::: first second
expect_rc 0
lines log2 3

# The same jobs as GNU parallel runs them give the same joblog, but for
# the times.  (Not a command killed by a signal: parallel's shell around
# it shows 128 + the signal as its exit status.)
if parallel --version 2>/dev/null | grep -q '^GNU parallel'; then
	set -- 'echo x' 'echo "a b" >&2' 'exit 3' 'printf %s abc' \
	    ./no-such-command-here
	HOME=$T parallel --will-cite -j 1 --joblog "$T/plog" sh -c {} ::: \
	    "$@" >/dev/null 2>&1
	run -j 1 -k --joblog "$T/qlog" --no-shell -- sh -c {} ::: "$@"
	expect_rc 2
	for f in plog qlog; do
		awk -F '\t' -v OFS='\t' 'NR > 1 {
			gsub(/[0-9]/, "9", $3); gsub(/[0-9]/, "9", $4)
		} { print }' "$T/$f" >"$T/$f.shape"
	done
	cmp -s "$T/plog.shape" "$T/qlog.shape" ||
	    fail "joblog unlike GNU parallel's:
$(cat "$T/plog")
$(cat "$T/qlog")"
else
	echo "GNU parallel is not installed: no comparison with its joblog"
fi

# --quiet keeps the files but not the summary.
run -q --json "$T/q.json" -- true ::: 1
expect_rc 0
[ ! -s "$T/err" ] || fail "--quiet printed on stderr"
contains q.json '"submitted":1,"succeeded":1'

# The summary says jobs, one job in the singular.
run -- true ::: 1
contains err "1 job: 1 succeeded, 0 failed, 0 cancelled"
run -- true ::: 1 2 3
contains err "3 jobs: 3 succeeded, 0 failed, 0 cancelled"
exit 0
