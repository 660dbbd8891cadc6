#!/bin/sh
# Usage errors: a one-line "procq: ..." message, exit status 255, and no
# job started.  --help and --version.
. "${srcdir:-.}/tests/cli/lib.sh"

# usage_fails WORDS...: procq WORDS... -- CMD ::: 1 must refuse to run.
usage_fails() {
	rm -f "$T/started"
	run "$@"
	expect_rc 255
	lines err 1
	grep -q '^procq: ' "$T/err" || fail "message: $(cat "$T/err")"
	[ ! -s "$T/out" ] || fail "$*: printed on stdout"
	[ ! -e "$T/started" ] || fail "$*: a job started"
}


usage_fails --jobs x --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
contains err "--jobs"
usage_fails --jobs 5000 --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --jobs 10x% --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --halt later,fail=1 --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
contains err "--halt"
usage_fails --halt now,fail=x --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --timeout x% --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --colsep '(' --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
contains err "--colsep"
usage_fails --pipe --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --delay 1 --rate 2 --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --no-shell -- sh -c 'touch "$0/started"; echo {= s/a/b/ =}' "$T" ::: 1
contains err "perl expressions"
usage_fails --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1 ::::
usage_fails --timeout -1 --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
contains err "--timeout"
usage_fails --timeout abc --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --retries 1.5 --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
contains err "--retries"
usage_fails --retries -2 --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --retry-delay nan --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --backoff 0.5 --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --rate 0 --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --burst 0 --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --kill-grace -1 --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --priority 1e3 --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --max-mem 10X --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --max-mem -5 --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --max-cpu 0 --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --no-such-option --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
contains err "unknown option '--no-such-option'"
usage_fails -Z --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --timeout
contains err "needs an argument"
usage_fails --pipe -j 2
contains err "needs a command"
usage_fails -k --line-buffer --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails -a "$T/no-such-file" --no-shell -- sh -c 'touch "$0/started"' "$T"
contains err "no-such-file"
usage_fails -a "$T" --no-shell -- sh -c 'touch "$0/started"' "$T"
usage_fails -a "$T/x" --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --json "$T/no/such/dir" --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1
usage_fails --joblog "$T/no/such/dir" --no-shell -- sh -c 'touch "$0/started"' "$T" ::: 1

# Options after the command belong to the command.
run -- echo --jobs x ::: 1
expect_rc 0
has out "--jobs x 1"

run --help
expect_rc 0
contains out "usage: procq [options]"
contains out "--keep-order"
run -h
expect_rc 0
run --version
expect_rc 0
grep -qx 'procq [0-9]*\.[0-9]*\.[0-9]*' "$T/out" || fail "version: $(cat "$T/out")"
exit 0
