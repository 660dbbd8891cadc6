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
	contains err "3 jobs: 3 succeeded, 0 failed, 0 cancelled"
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

# The fork server is forked while procq has one thread: a lock another
# thread held at that moment would stay locked in every worker.  In
# procq's own process, the first clone must make a process, not a thread.
if strace -qq -o /dev/null true 2>/dev/null; then
	# Its status is not the point (LeakSanitizer refuses to run
	# under a tracer): the order of its clones is.
	strace -f -qq -e trace=execve,clone,clone3 -e signal=none \
	    -o "$T/trace" "$PROCQ" -j 2 -- true ::: 1 2 >/dev/null 2>&1 || :
	# The last exec of procq counts (./procq may be a wrapper script).
	first=$(awk '
		/execve\(.*procq", \[/ && / = 0$/ { pid = $1; first = ""; next }
		$1 == pid && first == "" && /clone3?\(/ { first = $0 }
		END { print first }
	    ' "$T/trace")
	case $first in
	"")	fail "no clone of procq in the trace" ;;
	*CLONE_THREAD*)	fail "a thread before the fork server: $first" ;;
	esac
else
	echo "strace cannot run here: the thread check is skipped" >&2
fi

# A job's failure and timeout are the same under exec.
run --start-method exec --no-shell -- sh -c 'exit 3' ::: 1
expect_rc 1
run --start-method exec --timeout 0.3 -- sleep 30 ::: 1
expect_rc 1
contains err "1 failed"

# Run by hand, the worker mark is refused.
run --procq-exec-worker
expect_rc 2
contains err "procq worker program"

run --start-method spawn -- true ::: 1
expect_rc 255
contains err "--start-method"
exit 0
