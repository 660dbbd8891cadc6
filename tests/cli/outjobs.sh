#!/bin/sh
# procq(1) and GNU parallel on the same command lines: the output options
# (-t, --verbose, -u, --files, --tmpdir, --line-buffer), -j and its
# relative forms, --delay and --timeout durations, --nice, --termseq,
# --memfree and --load; and the options of parallel procq refuses, each
# by name with what to use instead.
. "${srcdir:-.}/tests/cli/lib.sh"

require_parallel

# same_file A B: the files are the same.
same_file() {
	cmp -s "$1" "$2" || {
		echo "--- $1:" >&2
		cat "$1" >&2
		echo "--- $2:" >&2
		cat "$2" >&2
		fail "$1 and $2 differ"
	}
}

# same NAME: the same stdout, stderr and exit status (lib.sh's compares
# no stderr).
same() {
	same_file "$T/$1.procq" "$T/$1.parallel"
	same_file "$T/$1.procq.err" "$T/$1.parallel.err"
	[ "$rc_p" -eq "$rc_g" ] ||
	    fail "$1: procq exits with $rc_p, parallel with $rc_g"
}

# same_sorted NAME: the same lines of stdout, in any order.
same_sorted() {
	sort "$T/$1.procq" >"$T/$1.procq.sorted"
	sort "$T/$1.parallel" >"$T/$1.parallel.sorted"
	same_file "$T/$1.procq.sorted" "$T/$1.parallel.sorted"
}

# -t: each command on stderr as it starts, quoted as parallel quotes it,
# also under --shell; --verbose is the same.
p t -t -j 1 echo {} ::: a 'b c' "it's"
g t -t -j 1 echo {} ::: a 'b c' "it's"
same t
has t.procq.err "echo 'b c'"
p verbose --verbose -j 1 echo {} ::: a 'b c'
g verbose --verbose -j 1 echo {} ::: a 'b c'
same verbose
p tshell -t -j 1 --shell 'echo {} | tr a b' ::: 'a b' 'x;y'
g tshell -t -j 1 'echo {} | tr a b' ::: 'a b' 'x;y'
same tshell
has tshell.procq.err "echo 'x;y' | tr a b"

# ... before the job's output (one stream), with -k too, and again for
# each attempt.
for k in "" -k; do
	p torder$k -t -j 1 $k echo {} ::: a b
	g torder$k -t -j 1 $k echo {} ::: a b
	timeout -k 5 "$LIMIT" "$PROCQ" -q -t -j 1 $k echo {} ::: a b \
	    >"$T/one.procq" 2>&1 </dev/null || fail "procq -t $k failed"
	timeout -k 5 "$LIMIT" "$PARALLEL" --will-cite -t -j 1 $k echo {} \
	    ::: a b >"$T/one.parallel" 2>&1 </dev/null ||
	    fail "parallel -t $k failed"
	same_file "$T/one.procq" "$T/one.parallel"
done
p tretry -t --retries 2 --shell 'echo {}; exit 1' ::: a
g tretry -t --retries 2 'echo {}; exit 1' ::: a
same tretry
lines tretry.procq.err 2

# --line-buffer: the lines bare, unless --tag asks for a prefix.
p lb --line-buffer -j 2 echo {} ::: a b c
g lb --line-buffer -j 2 echo {} ::: a b c
same_sorted lb
p lbtag --line-buffer --tag -j 2 echo {} ::: a b c
g lbtag --line-buffer --tag -j 2 echo {} ::: a b c
same_sorted lbtag
has lbtag.procq "b	b"

# -u: the same output; and a line is printed while its job still runs.
p u -u -j 2 --shell 'echo {}; echo {}{}' ::: a b c
g u -u -j 2 'echo {}; echo {}{}' ::: a b c
same_sorted u
wait_go="until [ -e '$T/go' ]; do sleep 0.05; done"
timeout -k 5 "$LIMIT" "$PROCQ" -q -u --shell \
    "echo first; $wait_go; echo second; : {}" \
    ::: x >"$T/ungrouped" 2>&1 </dev/null &
pid=$!
wait_for 20 grep -qx first "$T/ungrouped" ||
    fail "-u held the first line back"
grep -qx second "$T/ungrouped" && fail "second printed too early"
touch "$T/go"
wait "$pid" || fail "procq -u failed"
grep -qx second "$T/ungrouped" || fail "-u lost the second line"

# --files: a file per job holding its stdout, named on stdout; in
# --tmpdir when given.  Only the count and the contents can be compared.
mkdir "$T/tp" "$T/tg"
p files --files --tmpdir "$T/tp" --shell 'echo {}; echo {}{}' ::: a b c
g files --files --tmpdir "$T/tg" 'echo {}; echo {}{}' ::: a b c
lines files.procq 3
lines files.parallel 3
[ "$(ls "$T/tp" | wc -l)" -eq 3 ] || fail "--tmpdir holds $(ls "$T/tp")"
grep -qv "^$T/tp/" "$T/files.procq" && fail "--files outside --tmpdir"
xargs cat <"$T/files.procq" | sort >"$T/fc.procq"
xargs cat <"$T/files.parallel" | sort >"$T/fc.parallel"
same_file "$T/fc.procq" "$T/fc.parallel"
# ... the names alone with --line-buffer.
p flb --files --tmpdir "$T/tp" --line-buffer echo {} ::: a
g flb --files --tmpdir "$T/tg" --line-buffer echo {} ::: a
lines flb.procq 1
lines flb.parallel 1
# ... an empty file for a job that printed nothing, after the tag.
p fempty --files --tmpdir "$T/tp" --tag true ::: x
[ "$(cut -f1 "$T/fempty.procq")" = x ] || fail "--files --tag: no tag"
[ ! -s "$(cut -f2 "$T/fempty.procq")" ] || fail "--files: not empty"

# -j: N% of the CPUs rounded up, +N, -N, and 0 as many as there are jobs;
# the highest job slot is how many ran at once.
for j in 200% 150% +1 -1 0; do
	p "j$j" -j "$j" --shell 'sleep 0.5; echo $PARALLEL_JOBSLOT; : {}' \
	    ::: 1 2 3 4 5 6 7 8
	g "j$j" -j "$j" 'sleep 0.5; echo $PARALLEL_JOBSLOT; : {}' \
	    ::: 1 2 3 4 5 6 7 8
	sort -n "$T/j$j.procq" | tail -n 1 >"$T/jmax.procq"
	sort -n "$T/j$j.parallel" | tail -n 1 >"$T/jmax.parallel"
	same_file "$T/jmax.procq" "$T/jmax.parallel"
done
# ... and none at all is an error in both.
cpus=$(getconf _NPROCESSORS_ONLN)
p jnone -j "-$cpus" echo {} ::: a
g jnone -j "-$cpus" echo {} ::: a
[ "$rc_p" -eq 255 ] && [ "$rc_g" -eq 255 ] ||
    fail "-j -$cpus: procq $rc_p, parallel $rc_g"
contains jnone.procq.err "--jobs"

# --nice: the commands run at that niceness.
p nice --nice 10 --shell 'nice; : {}' ::: a
g nice --nice 10 'nice; : {}' ::: a
same nice
has nice.procq 10

# Durations with s, m, h, d.
p delay --delay 0.1s -k echo {} ::: a b
g delay --delay 0.1s -k echo {} ::: a b
same delay
p timeout --timeout 0.2s --shell 'sleep 10; echo {}' ::: a
g timeout --timeout 0.2s 'sleep 10; echo {}' ::: a
# (parallel warns of the timeout on stderr, procq in its summary)
same_file "$T/timeout.procq" "$T/timeout.parallel"
[ "$rc_p" -eq "$rc_g" ] || fail "--timeout 0.2s: $rc_p, parallel $rc_g"

# ... and 0 is none.
p zero --delay 0 --timeout 0 -k echo {} ::: a b
g zero --delay 0 --timeout 0 -k echo {} ::: a b
same zero

# --termseq: TERM then KILL after the waits, or KILL alone; a job that
# traps TERM says so.
for seq in TERM,200,TERM,100,TERM,50,KILL,25 KILL,25; do
	rm -f "$T/term"
	p termseq --timeout 0.3 --termseq "$seq" --shell \
	    "trap 'echo term >>$T/term; exit 1' TERM; sleep 10 & wait; : {}" \
	    ::: a
	[ "$rc_p" -eq 1 ] || fail "--termseq $seq: exit status $rc_p"
	case $seq in
	TERM*) [ -s "$T/term" ] || fail "--termseq $seq: no TERM" ;;
	*) [ ! -e "$T/term" ] || fail "--termseq $seq: TERM sent" ;;
	esac
done

# --memfree and --load: a job starts when the machine allows; not while
# it does not (the run is cut short, the job never started).
p memfree --memfree 1k --load 100000 echo {} ::: a
has memfree.procq a
rc=0
timeout 2 "$PROCQ" -q --memfree 1000P --shell "touch '$T/ran'; : {}" \
    ::: a >/dev/null 2>&1 </dev/null || rc=$?
[ "$rc" -eq 124 ] || fail "--memfree 1000P: exit status $rc"
[ ! -e "$T/ran" ] || fail "--memfree 1000P: the job started"

# -r: items of blanks alone are no jobs, and {#} does not count them.
p r -r -k echo '[{}] {#}' ::: a '' ' ' b
g r -r -k echo '[{}] {#}' ::: a '' ' ' b
same r
has r.procq "[b] 2"
# ... left out before the items are put together, several per job.
printf 'a\n\n \nb\nc\n' >"$T/blanks"
rc_p=0
timeout -k 5 "$LIMIT" "$PROCQ" -q -r -k -N2 echo '{1}+{2}' <"$T/blanks" \
    >"$T/rn.procq" 2>"$T/rn.procq.err" || rc_p=$?
rc_g=0
timeout -k 5 "$LIMIT" "$PARALLEL" --will-cite -r -k -N2 echo '{1}+{2}' \
    <"$T/blanks" >"$T/rn.parallel" 2>"$T/rn.parallel.err" || rc_g=$?
same rn
has rn.procq "a+b"

# --shebang: procq as a script's interpreter, its lines past the first
# the items; the kernel gives the options as one word.
procq_path=$(cd "$(dirname "$PROCQ")" && pwd)/$(basename "$PROCQ")
parallel_path=$(command -v "$PARALLEL")
printf '#!%s --shebang -q -r -k echo\na\n\nb c\n' "$procq_path" \
    >"$T/script.procq"
printf '#!%s --shebang --will-cite -r -k echo\na\n\nb c\n' \
    "$parallel_path" >"$T/script.parallel"
chmod +x "$T/script.procq" "$T/script.parallel"
timeout -k 5 "$LIMIT" "$T/script.procq" >"$T/sb.procq" 2>&1 </dev/null ||
    fail "the procq script failed: $(cat "$T/sb.procq")"
timeout -k 5 "$LIMIT" "$T/script.parallel" >"$T/sb.parallel" 2>&1 \
    </dev/null || fail "the parallel script failed"
same_file "$T/sb.procq" "$T/sb.parallel"
has sb.procq "b c"
# ... a script given arguments, and --shebang not first, are refused.
rc=0
timeout -k 5 "$LIMIT" "$T/script.procq" x >/dev/null 2>"$T/err" ||
    rc=$?
expect_rc 255
contains err "--shebang"

# The refused options: 255, the option named, and what to use instead.
refused() {
	want=$1
	shift
	run "$@" echo {} ::: a
	expect_rc 255
	contains err "$want"
	lacks err "unknown option"
}
refused "--mpi" -S host
refused "--mpi" --sshlogin host
refused "--mpi" --sshlogin=host
refused "--mpi" --slf file
refused "flock" --semaphore
refused "command line" --profile name
refused "command line" -J name
refused "replacement strings" --rpl '{x} s/x/y/'
refused "shell's own expansions" --parens ,,
refused "must come first" -k --shebang
refused "SCRIPT ::: ARGS" --shebang-wrap

# Bad values and combinations: 255, the option named.
bad() {
	want=$1
	shift
	run "$@" echo {} ::: a
	expect_rc 255
	contains err "$want"
}
bad "--nice" --nice 20
bad "--nice" --nice x
bad "--jobs" -j 1.5
bad "--jobs" -j 5000
bad "--delay" --delay 1x
bad "--delay" --delay 1m3
bad "--timeout" --timeout 2w
bad "--termseq" --termseq INT,100,KILL
bad "--termseq" --termseq TERM,100
bad "--termseq" --termseq KILL,25,TERM
bad "--memfree" --memfree 1x
bad "--load" --load x
bad "--tmpdir" --tmpdir "$T/no/such/dir"
bad "--line-buffer" -u --line-buffer
bad "--keep-order" -u -k
bad "--files" -u --files
bad "--tag" -u --tag
exit 0
