#!/bin/sh
# --results DIR: each job's output in DIR/1/ITEM/stdout and stderr (its
# last attempt's), with its seq, exit status and signal beside them, as
# GNU parallel lays them out; nothing of it is printed.
. "${srcdir:-.}/tests/cli/lib.sh"

# value FILE TEXT: FILE holds exactly TEXT.
value() {
	[ -f "$1" ] || fail "no file $1"
	[ "$(cat "$1")" = "$2" ] || fail "$1 holds '$(cat "$1")', not '$2'"
}

run -j 2 --results "$T/res" --shell -- 'echo "out {}"; echo "err {}" >&2;
	case {} in b) exit 3 ;; c/d) kill -TERM $$ ;; esac' ::: a b c/d
expect_rc 2
lines out 0
lacks err "out "
lacks err "err "
value "$T/res/1/a/stdout" "out a"
value "$T/res/1/a/stderr" "err a"
value "$T/res/1/a/seq" 1
value "$T/res/1/a/exitval" 0
value "$T/res/1/a/signal" -1
value "$T/res/1/b/seq" 2
value "$T/res/1/b/exitval" 3
# A / in an item is written \_, so that an item is one directory.
value "$T/res/1/c\\_d/stdout" "out c/d"
value "$T/res/1/c\\_d/exitval" -1
value "$T/res/1/c\\_d/signal" 15

# Retried: the files hold the last attempt's output, even when the last
# attempt said nothing on a stream; an item that never ran has none.
run --results "$T/retry" --retries 3 --shell -- ': {};
	echo "attempt $PROCQ_ATTEMPT"; [ "$PROCQ_ATTEMPT" -ge 2 ] ||
	echo "error $PROCQ_ATTEMPT" >&2; [ "$PROCQ_ATTEMPT" -ge 3 ]' ::: r
expect_rc 0
value "$T/retry/1/r/stdout" "attempt 3"
value "$T/retry/1/r/stderr" ""
value "$T/retry/1/r/exitval" 0
run -j 1 --fail-fast --results "$T/ff" --no-shell -- sh -c 'exit 1' ::: x y
expect_rc 1
value "$T/ff/1/x/exitval" 1
[ ! -e "$T/ff/1/y" ] || fail "a job that never ran has results"
exit 0
