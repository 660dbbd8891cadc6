#!/bin/sh
# Per-job limits: --max-cpu ends a busy job with SIGXCPU; --max-mem
# limits the address space a job's command may take, and names itself
# when it is too small for anything to run.
. "${srcdir:-.}/tests/cli/lib.sh"

run --max-cpu 1 --joblog "$T/log" --no-shell -- sh -c 'while :; do :; done' sh ::: spin
expect_rc 1
contains err "Signal: killed by SIGXCPU"
grep -q '^1	:	[^	]*	[^	]*	0	0	0	24	' "$T/log" ||
    fail "joblog: $(cat "$T/log")"

# The command gets the limit, not the limit on top of the CPU time its
# worker had used: it counts its own from zero.  It records its CPU time
# as SIGXCPU comes.
run --max-cpu 1 --no-shell -- sh -c 'trap "times >\"\$0\"; exit 1" XCPU
    while :; do :; done' "$T/times" ::: spin
expect_rc 1
[ -s "$T/times" ] || fail "the command saw no SIGXCPU"
cpu=$(awk 'NR == 1 {
	for (i = 1; i <= 2; i++) {
		split($i, t, /[ms]/)
		s += t[1] * 60 + t[2]
	}
	print s
}' "$T/times")
awk -v s="$cpu" 'BEGIN { exit !(s >= 0.5 && s < 1.5) }' ||
    fail "a job under --max-cpu 1 used $cpu s of CPU time"

run -q --max-mem 64M --no-shell -- sh -c 'ulimit -v' sh ::: 1
expect_rc 0
kib=$(cat "$T/out")
[ "$kib" != unlimited ] && [ "$kib" -ge 65536 ] ||
    fail "address space limit of a job: $kib KiB"
# Under AddressSanitizer a worker starts with terabytes of address space
# reserved, so the limit is as good as none: test the effect only without.
if [ "$kib" -lt 1073741824 ]; then
	run -k --max-mem 64M -- dd if=/dev/zero of=/dev/null count=1 ::: \
	    bs=1M bs=300M
	expect_rc 1
	contains err "memory exhausted"
	grep -q "^  failed .* bs=300M (attempt 1): ExitStatus: exit status 1" \
	    "$T/err" || fail "bs=300M did not fail alone"

	# A limit too small for the worker to take its task: the failure
	# names it.
	run --max-mem 1K true ::: a
	expect_rc 1
	contains err "memory limit of 1024 bytes"
fi
exit 0
