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

# Comparisons with GNU parallel on the same command lines.
PARALLEL=${PARALLEL:-parallel}

# require_parallel: skips the test when GNU parallel is not installed.
require_parallel() {
	command -v "$PARALLEL" >/dev/null 2>&1 || {
		echo "GNU parallel is not installed: skipped"
		exit 77
	}
}

# The runs below read standard input from $T/in when a test made it,
# else from /dev/null.
compare_input() {
	if [ -e "$T/in" ]; then echo "$T/in"; else echo /dev/null; fi
}

# p NAME ARGS...: procq's stdout in $T/NAME.procq, its stderr in
# $T/NAME.procq.err (and $T/err), its status in $rc_p.
p() {
	name=$1
	shift
	rc_p=0
	timeout -k 5 "$LIMIT" "$PROCQ" -q "$@" >"$T/$name.procq" \
	    2>"$T/$name.procq.err" <"$(compare_input)" || rc_p=$?
	cp "$T/$name.procq.err" "$T/err"
	[ "$rc_p" -ne 124 ] || fail "procq $* ran past $LIMIT s"
}

# g NAME ARGS...: the same for GNU parallel, in $T/NAME.parallel,
# $T/NAME.parallel.err and $rc_g.
g() {
	name=$1
	shift
	rc_g=0
	timeout -k 5 "$LIMIT" "$PARALLEL" --will-cite "$@" \
	    >"$T/$name.parallel" 2>"$T/$name.parallel.err" \
	    <"$(compare_input)" || rc_g=$?
	[ "$rc_g" -ne 124 ] || fail "parallel $* ran past $LIMIT s"
}

# same NAME: both printed the same and ended with the same status.
same() {
	cmp -s "$T/$1.procq" "$T/$1.parallel" || {
		echo "--- procq:" >&2
		cat "$T/$1.procq" >&2
		echo "--- parallel:" >&2
		cat "$T/$1.parallel" >&2
		fail "$1: procq and parallel print differently"
	}
	[ "$rc_p" -eq "$rc_g" ] ||
	    fail "$1: procq exits with $rc_p, parallel with $rc_g"
}

# both NAME ARGS...: procq and parallel on the same command line agree.
both() {
	both_name=$1
	shift
	p "$both_name" "$@"
	g "$both_name" "$@"
	same "$both_name"
}
