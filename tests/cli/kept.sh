#!/bin/sh
# A command that is one builtin of the shell (echo, printf, true...) runs
# in a shell kept in the worker, one subshell per job, not a new shell per
# job: what it prints, its status and its variables are those of GNU
# parallel's `SHELL -c LINE`.  A kept shell that dies is replaced, and one
# that cannot run jobs leaves them to a shell of their own.
. "${srcdir:-.}/tests/cli/lib.sh"

require_parallel

# The shell is a wrapper named sh that logs its pid as it starts, and
# whether it is to be a kept shell, then becomes dash (or what
# $REAL_SHELL names), keeping that pid.
mkdir "$T/bin"
cat >"$T/bin/sh" <<EOF
#!/bin/dash
case "\$2" in
*__procq_job*)
	echo \$\$ kept >>"$T/shell.log"
	[ ! -e "$T/refuse" ] || exit 3;;
*)	echo \$\$ job >>"$T/shell.log";;
esac
exec \${REAL_SHELL:-/bin/dash} "\$@"
EOF
chmod +x "$T/bin/sh"

# kept_p NAME ARGS...: procq runs ARGS with the logging shell; $started
# tells how many shells it started, $T/procq.log which.
kept_p() {
	name=$1
	shift
	rm -f "$T/shell.log"
	PARALLEL_SHELL="$T/bin/sh" p "$name" "$@"
	touch "$T/shell.log"
	started=$(wc -l <"$T/shell.log")
	cp "$T/shell.log" "$T/procq.log"
}

# kept NAME ARGS...: the same, compared with parallel under that shell.
kept() {
	kept_p "$@"
	shift
	PARALLEL_SHELL="$T/bin/sh" g "$name" "$@"
	same "$name"
}

# One shell for all the jobs of a worker, where each would start its own.
kept one -j1 -k echo {} ::: a b c d
[ "$started" -eq 1 ] || fail "echo: $started shells for 4 jobs, one worker"
kept_p forced -j1 -k --shell true {} ::: 1 2 3
[ "$rc_p" -eq 0 ] && [ "$started" -eq 1 ] ||
    fail "--shell true: status $rc_p, $started shells for 3 jobs"
kept two -j2 -k printf %s. ::: 1 2 3 4 5 6
[ "$started" -le 2 ] || fail "printf: $started shells for 2 workers"

# What the jobs print, under dash and bash: values quoted as parallel
# quotes them, several values per job, the job's number.
for real in /bin/dash /bin/bash; do
	export REAL_SHELL=$real
	kept "quoted_${real##*/}" -k echo {} ::: 'a  b' '$HOME' "it's" '*' \
	    '`date`' '' 'x\ny'
	kept "several_${real##*/}" -k -N2 printf %s-%s. {1} {2} ::: a b c d
	kept "seq_${real##*/}" -k printf %s: {#} ::: a b
	# Their errors, on line 1 as under -c.
	kept "error_${real##*/}" -k printf %d. {} ::: 1 x 3
	cmp -s "$T/error_${real##*/}.procq.err" \
	    "$T/error_${real##*/}.parallel.err" ||
	    fail "printf's error under $real: $(cat "$T/error_${real##*/}.procq.err")"
	grep -q ': 1: printf\|line 1: printf' "$T/error_${real##*/}.procq.err" ||
	    fail "printf's error: $(cat "$T/error_${real##*/}.procq.err")"
	unset REAL_SHELL
done

# A value with a newline cannot be one line of the kept shell's input:
# that job has a shell of its own.
kept newline -j1 -k echo {} ::: a "$(printf 'b\nc')" d
[ "$started" -eq 2 ] || fail "a newline: $started shells, not 2"

# So does a line longer than the kept shell reads faster than a shell
# starts (2048 bytes): -X makes one of some 4,000 here.
kept long -j1 -X echo ::: $(seq 1000)
[ "$started" -eq 1 ] && grep -q job "$T/procq.log" ||
    fail "a long line: $(cat "$T/procq.log")"
kept short -j1 -X echo ::: $(seq 100)
[ "$started" -eq 1 ] && grep -q kept "$T/procq.log" ||
    fail "a short line: $(cat "$T/procq.log")"

# Exit statuses, as the joblog tells them.  exit itself is left to a
# shell per job: a kept shell reads a status over 128 as a signal's.
joblog_same() {
	for f in "$T/$1.jl.procq" "$T/$1.jl.parallel"; do
		tail -n +2 "$f" | cut -f1,7,8,9 | sort -n >"$f.cut"
	done
	cmp -s "$T/$1.jl.procq.cut" "$T/$1.jl.parallel.cut" ||
	    fail "$1: joblogs differ: $(cat "$T/$1.jl.procq.cut")"
}
for real in /bin/dash /bin/bash; do
	export REAL_SHELL=$real
	kept_p "test_${real##*/}" -j1 --joblog "$T/test.jl.procq" \
	    test {} -gt 1 ::: 0 2 x
	[ "$started" -eq 1 ] || fail "test: $started shells under $real"
	PARALLEL_SHELL="$T/bin/sh" g "test_${real##*/}" \
	    --joblog "$T/test.jl.parallel" test {} -gt 1 ::: 0 2 x
	same "test_${real##*/}"
	joblog_same test
	kept_p "exit_${real##*/}" -j1 --joblog "$T/exit.jl.procq" exit {} \
	    ::: 0 1 130 300
	[ "$started" -eq 4 ] || fail "exit: $started shells under $real"
	PARALLEL_SHELL="$T/bin/sh" g "exit_${real##*/}" \
	    --joblog "$T/exit.jl.parallel" exit {} ::: 0 1 130 300
	same "exit_${real##*/}"
	joblog_same exit
	unset REAL_SHELL
done

# The job has the descriptors it has under -c: its standard input is
# /dev/null, not the kept shell's jobs, and nothing more is open.
for f in /dev/stdin /dev/fd/3 /dev/fd/4; do
	kept_p "fd_${f##*/}" -j1 -N0 test -p "$f" ::: 1
	[ "$rc_p" -eq 1 ] && [ "$started" -eq 1 ] ||
	    fail "a kept shell's job has $f as a pipe"
done
kept_p devnull -j1 -N0 test -c /dev/stdin ::: 1
[ "$rc_p" -eq 0 ] || fail "a kept shell's job does not read /dev/null"

# The job's variables: PARALLEL_SEQ is the job's, not the worker's.
export REAL_SHELL=/bin/bash
kept seqvar -j1 -N0 test -v PARALLEL_SEQ ::: 1
[ "$rc_p" -eq 0 ] || fail "PARALLEL_SEQ is not set in a kept shell's job"
unset REAL_SHELL

# --nice applies to a job's own process: each job has its shell.
kept nice -j1 -k --nice 1 echo {} ::: a b
[ "$started" -eq 2 ] || fail "--nice: $started shells, not 2"

# A timeout ends a job of a kept shell as any other (printf pads with
# 2 GB of spaces: far more than 0.2 s of work), and the next job runs.
rc_p=0
timeout -k 5 "$LIMIT" "$PROCQ" -j1 -u --timeout 0.2 printf %{}s. \
    ::: 2000000000 3 >/dev/null 2>"$T/err" || rc_p=$?
[ "$rc_p" -eq 1 ] || fail "a timeout in a kept shell: status $rc_p"
contains err "2 jobs: 1 succeeded, 1 failed"
contains err "Timeout: attempt timed out after 0.2 s"

# A kept shell that dies between jobs is replaced, and the next job runs.
# The input comes through a FIFO, so that the second item is written only
# once the first job is in the joblog and its shell has been killed.
first_done() {
	[ -s "$T/shell.log" ] && [ "$(wc -l <"$T/fifo.jl")" -ge 2 ]
}
rm -f "$T/shell.log"
mkfifo "$T/fifo"
{
	echo first
	if wait_for 20 first_done; then
		pid=$(head -n 1 "$T/shell.log" | cut -d' ' -f1)
		kill -9 "$pid"
		wait_for 20 gone "$pid" || echo notgone
	else
		echo timeout
	fi
	echo second
} >"$T/fifo" &
rc_p=0
PARALLEL_SHELL="$T/bin/sh" timeout -k 5 "$LIMIT" "$PROCQ" -q -j1 \
    --joblog "$T/fifo.jl" -a "$T/fifo" echo {} >"$T/fifo.out" 2>"$T/err" ||
    rc_p=$?
wait
[ "$rc_p" -eq 0 ] || fail "a killed kept shell: status $rc_p"
printf 'first\nsecond\n' | cmp -s - "$T/fifo.out" ||
    fail "a killed kept shell: $(cat "$T/fifo.out")"
[ "$(cut -d' ' -f2 "$T/shell.log" | tr '\n' ' ')" = "kept kept " ] ||
    fail "a killed kept shell was not replaced: $(cat "$T/shell.log")"

# A kept shell that exits before it reads a job: each job then has a
# shell of its own, none is lost, and the worker starts no other kept
# shell.
touch "$T/refuse"
kept_p refused -j1 -k echo {} ::: a b c
rm "$T/refuse"
[ "$rc_p" -eq 0 ] || fail "a refusing kept shell: status $rc_p"
[ "$(grep -c job "$T/shell.log")" -eq 3 ] &&
    [ "$(grep -c kept "$T/shell.log")" -eq 1 ] ||
    fail "a refusing kept shell: $(cat "$T/shell.log")"
PARALLEL_SHELL="$T/bin/sh" g refused -j1 -k echo {} ::: a b c
same refused
exit 0
