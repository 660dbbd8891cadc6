#!/bin/sh
# --start-method: each method runs the jobs, and its workers are what it
# says: forked by the fork server, forked by procq, or procq run again as
# its own worker program.
. "${srcdir:-.}/tests/cli/lib.sh"

# Each job prints its item, the name of its worker's parent and whether
# the worker was started as procq's worker program.
cat >"$T/probe" <<'PROBE'
#!/bin/sh
w=$PPID
p=$(cut -d' ' -f4 "/proc/$w/stat")
mark=$(tr '\0' '\n' <"/proc/$w/cmdline" | grep -c -- --procq-exec-worker)
echo "$1 $(cat "/proc/$p/comm") $mark"
PROBE
chmod +x "$T/probe"

for m in forkserver fork exec; do
	run -j 2 --start-method "$m" -- "$T/probe" ::: a b c
	expect_rc 0
	lines out 3
	contains err "3 tasks: 3 succeeded, 0 failed, 0 cancelled"
	case $m in
	forkserver)
		has out "a procq-server 0" ;;
	fork)
		grep -q '^a [^ ]*procq 0$' "$T/out" || fail "fork: $(cat "$T/out")"
		lacks out "procq-server" ;;
	exec)
		grep -q '^a [^ ]*procq 1$' "$T/out" || fail "exec: $(cat "$T/out")"
		lacks out "procq-server" ;;
	esac
done

# A job's failure and timeout are the same under exec.
run --start-method exec -- sh -c 'exit 3' ::: 1
expect_rc 1
run --start-method exec --timeout 0.3 -- sleep 30 ::: 1
expect_rc 1
contains err "1 failed"

# Run by hand, the worker mark is refused.
run --procq-exec-worker
expect_rc 2
contains err "procq worker program"

run --start-method spawn -- true ::: 1
expect_rc 101
contains err "--start-method"
exit 0
