#!/bin/sh
# --results DIR: each job's output in DIR/1/ITEM/stdout and stderr (its
# last attempt's), with its seq beside them, as GNU parallel lays them
# out; nothing of it is printed.
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
value "$T/res/1/b/seq" 2
# A / in an item is written \_, so that an item is one directory.
value "$T/res/1/c\\_d/stdout" "out c/d"
# No more files than parallel writes.
[ "$(ls "$T/res/1/b")" = "$(printf 'seq\nstderr\nstdout')" ] ||
    fail "$(ls "$T/res/1/b"): not parallel's files"

# --header: the levels are named by the columns, in the order of their
# names, as in parallel.
run --header : --results "$T/hdr" echo ::: z A ::: y B
expect_rc 0
value "$T/hdr/y/B/z/A/stdout" "A B"

# Retried: the files hold the last attempt's output, even when the last
# attempt said nothing on a stream; an item that never ran has none.
run --results "$T/retry" --retries 3 --shell -- ': {};
	echo "attempt $PROCQ_ATTEMPT"; [ "$PROCQ_ATTEMPT" -ge 2 ] ||
	echo "error $PROCQ_ATTEMPT" >&2; [ "$PROCQ_ATTEMPT" -ge 3 ]' ::: r
expect_rc 0
value "$T/retry/1/r/stdout" "attempt 3"
value "$T/retry/1/r/stderr" ""
run -j 1 --fail-fast --results "$T/ff" --no-shell -- sh -c 'exit 1' ::: x y
expect_rc 1
value "$T/ff/1/x/seq" 1
[ ! -e "$T/ff/1/y" ] || fail "a job that never ran has results"
exit 0
