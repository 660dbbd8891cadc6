# Helpers of the procq(1) end-to-end tests, sourced by each script.
#
# PROCQ names the binary (default ./procq, run from the build directory).
# Every run of it is bounded by `timeout`; waits poll a condition until a
# deadline, never sleep blindly.

PROCQ=${PROCQ:-./procq}
LIMIT=${PROCQ_TEST_LIMIT:-60}	# seconds any one run may take

T=$(mktemp -d "${TMPDIR:-/tmp}/procq-test.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT

fail() {
	echo "FAIL: $*" >&2
	for f in out err; do
		if [ -s "$T/$f" ]; then
			echo "--- $f:" >&2
			head -n 40 "$T/$f" >&2
		fi
	done
	exit 1
}

# run ARGS...: procq's stdout in $T/out, stderr in $T/err, status in $rc.
run() {
	rc=0
	timeout -k 5 "$LIMIT" "$PROCQ" "$@" >"$T/out" 2>"$T/err" </dev/null ||
	    rc=$?
	[ "$rc" -ne 124 ] || fail "procq $* ran past $LIMIT s"
}

# run_stdin FILE ARGS...: the same with standard input from FILE.
run_stdin() {
	input=$1
	shift
	rc=0
	timeout -k 5 "$LIMIT" "$PROCQ" "$@" >"$T/out" 2>"$T/err" <"$input" ||
	    rc=$?
	[ "$rc" -ne 124 ] || fail "procq $* ran past $LIMIT s"
}

expect_rc() {
	[ "$rc" -eq "$1" ] || fail "exit status $rc, expected $1"
}

# has FILE TEXT: FILE has a line that is exactly TEXT.
has() {
	grep -Fqx -- "$2" "$T/$1" || fail "$1 lacks the line '$2'"
}

# lacks FILE TEXT: no line of FILE contains TEXT.
lacks() {
	! grep -Fq -- "$2" "$T/$1" || fail "$1 has '$2'"
}

# contains FILE TEXT: some line of FILE contains TEXT.
contains() {
	grep -Fq -- "$2" "$T/$1" || fail "$1 lacks '$2'"
}

# lines FILE N: FILE has N lines.
lines() {
	n=$(wc -l <"$T/$1")
	[ "$n" -eq "$2" ] || fail "$1 has $n lines, expected $2"
}

# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
	deadline=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# gone PID: the process no longer exists (or is a zombie being reaped).
gone() {
	! kill -0 "$1" 2>/dev/null ||
	    [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ]
}
