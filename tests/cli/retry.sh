#!/bin/sh
# Retries: a job that fails the first time and then succeeds; a job that
# fails every time uses up its attempts.  Only the last attempt's output
# is printed.
. "${srcdir:-.}/tests/cli/lib.sh"

# A counter file per item: the first attempt fails, the second succeeds.
cat >"$T/flaky" <<'SCRIPT'
#!/bin/sh
f=$1
n=$(cat "$f" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >"$f"
echo "run $n of $f"
[ "$n" -ge 2 ]
SCRIPT
chmod +x "$T/flaky"

run --retries 2 --joblog "$T/log" -k -- "$T/flaky" ::: "$T/c1" "$T/c2"
expect_rc 0
has out "run 2 of $T/c1"
has out "run 2 of $T/c2"
lacks out "run 1 of"
lines out 2
contains err "2 jobs: 2 succeeded, 0 failed"
grep -q "^1	:	[^	]*	[^	]*	0	[0-9]*	0	0	$T/flaky $T/c1\$" "$T/log" ||
    fail "joblog: $(cat "$T/log")"
[ "$(cat "$T/c1")" = 2 ] || fail "c1 ran $(cat "$T/c1") times"

# Without retries the same job fails.
rm -f "$T/c1"
run -- "$T/flaky" ::: "$T/c1"
expect_rc 1
has out "run 1 of $T/c1"

# Retries run out: 3 attempts, then the job fails.
run --retries 3 --retry-delay 0.01 --backoff 2 --joblog "$T/log" \
    --shell -- 'echo "attempt $PROCQ_ATTEMPT"; exit 5' ::: z
expect_rc 1
has out "attempt 3"
lines out 1
contains err "(attempts 3): ExitStatus: exit status 5"
grep -q '^1	:	[^	]*	[^	]*	0	10	5	0	' "$T/log" ||
    fail "joblog: $(cat "$T/log")"

# A crash is retried too.
run --retries 2 --shell -- '[ "$PROCQ_ATTEMPT" -ge 2 ] || kill -KILL $$; echo ok {}' \
    ::: k
expect_rc 0
has out "ok k"
exit 0
