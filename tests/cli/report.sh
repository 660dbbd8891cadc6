#!/bin/sh
# Reports: the summary on stderr, --json with a record per job as it
# becomes final (item, args, command, start, status, attempts, exit
# status or signal, duration, host, rank, error) and the totals after
# them, --joblog with one tab-separated line per job, --name and --group.
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
tail -n 1 "$T/run.json" | grep -qx '\],"submitted":4,"succeeded":2,"failed":2,"cancelled":0,"ok":false,"interrupted":false,"duration":[0-9.]*}' ||
    fail "json totals: $(tail -n 1 "$T/run.json")"
lines run.json 6
grep -q '^{"seq":1,"item":"ok","args":\["ok"\],"command":"case ok in ok) echo fine ;;\\n\\tthree) exit 3 ;; segv) kill -SEGV \$\$ ;; esac","name":"job-ok","group":"gok","id":"[0-9a-f]\{16\}","status":"succeeded","attempts":1,"exit_status":0,"signal":null,"start":[0-9]*\.[0-9]\{6\},"duration":[0-9.]*,"host":"'"$(hostname)"'","rank":0,"error":null},\{0,1\}$' \
    "$T/run.json" || fail "json job 1: $(grep '"seq":1,' "$T/run.json")"
grep -q '^{"seq":2,"item":"three",.*"status":"failed","attempts":1,"exit_status":3,"signal":null,.*"error":{"kind":"task","type":"ExitStatus","message":"exit status 3"}},\{0,1\}$' \
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
run -j 2 --json "$T/order.json" -- sh -c '[ "$1" = fast ] && exit 0
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

# The joblog: a line per job; tabs inside a field are escaped.
lines log 4
# The last field is the host the job ran on.
host=$(hostname)
grep -q "^1	ok	succeeded	1	0	-1	[0-9.]*		$host\$" "$T/log" ||
    fail "joblog ok"
grep -q "^2	three	failed	1	3	-1	[0-9.]*	ExitStatus: exit status 3	$host\$" \
    "$T/log" || fail "joblog three"
grep -q '^3	segv	failed	1	-1	11	[0-9.]*	Signal: killed by SIGSEGV' \
    "$T/log" || fail "joblog segv"
grep -q '^4	tab\\t"q"	succeeded	' "$T/log" || fail "joblog tab"

# The joblog is written as jobs finish: the second job sees the first
# one's line while it runs.
run -j 1 --joblog "$T/log2" -- sh -c '
	[ "$1" = first ] && exit 0
	grep -q "^1	first	succeeded" "$0"' "$T/log2" ::: first second
expect_rc 0
lines log2 2

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
