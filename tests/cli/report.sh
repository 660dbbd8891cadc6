#!/bin/sh
# Reports: the summary on stderr, --json with every job (item, status,
# attempts, exit status or signal, duration, host, rank, error), --joblog
# with one tab-separated line per job, --name and --group.
. "${srcdir:-.}/tests/cli/lib.sh"

run -j 2 --json "$T/run.json" --joblog "$T/log" --name 'job-{}' \
    --group 'g{}' --shell -- 'case {} in
	ok) echo fine ;;
	three) exit 3 ;;
	segv) kill -SEGV $$ ;;
	esac' ::: ok three segv 'tab	"q"'
expect_rc 2

# The summary: totals, then a line per failed job with its name.
contains err "4 jobs: 2 succeeded, 2 failed, 0 cancelled"
contains err "job-three [gthree] (attempt 1): ExitStatus: exit status 3"
contains err "job-segv [gsegv] (attempt 1): Signal: killed by SIGSEGV"

# JSON: totals, then one job per line, in input order.
contains run.json '{"submitted":4,"succeeded":2,"failed":2,"cancelled":0,"ok":false,"interrupted":false,'
grep -q '^{"seq":1,"item":"ok","name":"job-ok","group":"gok","id":"[0-9a-f]\{16\}","status":"succeeded","attempts":1,"exit_status":0,"signal":null,"duration":[0-9.]*,"host":"'"$(hostname)"'","rank":0,"error":null},$' \
    "$T/run.json" || fail "json job 1: $(sed -n 2p "$T/run.json")"
grep -q '^{"seq":2,"item":"three",.*"status":"failed","attempts":1,"exit_status":3,"signal":null,.*"error":{"kind":"task","type":"ExitStatus","message":"exit status 3"}},$' \
    "$T/run.json" || fail "json job 2: $(sed -n 3p "$T/run.json")"
grep -q '^{"seq":3,"item":"segv",.*"exit_status":null,"signal":11,.*"type":"Signal","message":"killed by SIGSEGV' \
    "$T/run.json" || fail "json job 3: $(sed -n 4p "$T/run.json")"
contains run.json '{"seq":4,"item":"tab\t\"q\"","name":"job-tab\t\"q\""'
tail -n 1 "$T/run.json" | grep -qx ']}' || fail "json does not end with ]}"
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
assert len(d["jobs"]) == 4 and d["jobs"][3]["item"] == "tab\t\"q\""' \
	    "$T/run.json" || fail "the JSON does not parse"
fi

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
