#!/bin/sh
# procq(1) and GNU parallel on the same command lines give the same
# output: parallel's variables in the commands' environment, --retries
# counted as parallel counts it, and parallel's exit statuses.
. "${srcdir:-.}/tests/cli/lib.sh"

require_parallel

# The sequence number and the job slot.
p seq -j 1 -k --shell -- 'echo $PARALLEL_SEQ $PARALLEL_JOBSLOT {}' ::: a b c
g seq -j 1 -k 'echo $PARALLEL_SEQ $PARALLEL_JOBSLOT {}' ::: a b c
same seq
has seq.procq "3 1 c"

# Two slots, never the same one twice at once: each job prints its slot,
# and with -j 2 the slots are 1 and 2.  The first two jobs wait (10 s at
# most) until both have started, so that both slots are taken however
# busy the machine.
both_started="echo {} >>'$T/started'; n=0;
    while [ \$(wc -l <'$T/started') -lt 2 ] && [ \$n -lt 200 ]; do
	sleep 0.05; n=\$((n + 1)); done; echo \$PARALLEL_JOBSLOT"
rm -f "$T/started"
p slots -j 2 "$both_started" ::: a b c d
rm -f "$T/started"
g slots -j 2 "$both_started" ::: a b c d
sort -u "$T/slots.procq" >"$T/s.procq"
sort -u "$T/slots.parallel" >"$T/s.parallel"
cmp -s "$T/s.procq" "$T/s.parallel" || fail "slots differ"

# PARALLEL_PID: the process id of procq itself.
timeout -k 5 "$LIMIT" sh -c 'echo $$; exec "$0" -q --shell -- \
    "echo \$PARALLEL_PID" ::: x' "$PROCQ" >"$T/pid2" </dev/null ||
    fail "procq under sh failed"
[ "$(sed -n 1p "$T/pid2") x" = "$(sed -n 2p "$T/pid2")" ] ||
    fail "PARALLEL_PID is not procq's pid: $(cat "$T/pid2")"

# --retries N is N attempts in all.
for n in 1 3; do
	rm -f "$T/count"
	p "retries$n" --retries "$n" --shell -- \
	    "echo x >>'$T/count'; exit 1" ::: job
	wc -l <"$T/count" >"$T/retries$n.procq"
	rm -f "$T/count"
	g "retries$n" --retries "$n" "echo x >>'$T/count'; exit 1" ::: job
	wc -l <"$T/count" >"$T/retries$n.parallel"
	same "retries$n"
done
has retries3.procq 3

# --retries 0 retries for as long as it takes: a job that succeeds at its
# fifth attempt.
five="n=\$(cat '$T/n' 2>/dev/null || echo 0); n=\$((n + 1));
    echo \$n >'$T/n'; [ \$n -ge 5 ] && echo done \$n {}"
rm -f "$T/n"
p forever --retries 0 --shell -- "$five" ::: job
rm -f "$T/n"
g forever --retries 0 "$five" ::: job
same forever
has forever.procq "done 5 job"

# The exit status: the number of failed jobs up to 100, then 101; 255
# for an error such as an unknown option.
seq 1 3 >"$T/three"
seq 1 105 >"$T/many"
for f in three many; do
	p "$f" -j 4 -a "$T/$f" -- false
	g "$f" -j 4 -a "$T/$f" -- false
	same "$f"
done
[ "$rc_p" -eq 101 ] || fail "105 failures: exit status $rc_p"
p unknown --no-such-option -- true ::: 1
g unknown --no-such-option -- true ::: 1
[ "$rc_p" -eq 255 ] && [ "$rc_g" -eq 255 ] ||
    fail "an unknown option: procq $rc_p, parallel $rc_g"
exit 0
