#!/bin/sh
# procq(1) and GNU parallel on the same command lines: renamed
# replacement strings (-I, --er...), --plus's strings, --header, and the
# input options -d, -E, -r, --trim, --arg-sep, --arg-file-sep, -0,
# --shuf.  Every command is a plain echo of plain words, the same with
# or without a shell.
. "${srcdir:-.}/tests/cli/lib.sh"

require_parallel

# both NAME ARGS...: the same command line through both, in order.
both() {
	both_name=$1
	shift
	p "$both_name" -k -j 1 "$@"
	g "$both_name" -k -j 1 "$@"
	same "$both_name"
}

# Renamed strings: the old name means itself; a positional form exists
# only for a new name that starts with a brace ({1x} for -I {x}).
both I -I ,, echo ,, {} {.} {1} ::: a.b c.d
has I.procq "a.b {} a {1}"
both Ibrace -I {x} echo {x} {1} {1x} {2} ::: d/a.b ::: q
has Ibrace.procq "d/a.b q {1} d/a.b {2}"
both er --er XX echo XX {.} {1.} {1} ::: d/a.b
has er.procq "d/a {.} {1.} d/a.b"
both erbrace --er {e} echo {e} {1e} {1.} ::: d/a.b
both bnr --bnr XX echo XX {/} {1/} ::: d/a.b
has bnr.procq "a.b {/} {1/}"
both basenamereplace --basenamereplace XX echo XX ::: d/a.b
both dnr --dnr XX echo XX {//} {1//} ::: d/a.b
has dnr.procq "d {//} {1//}"
both dirnamereplace --dirnamereplace XX echo XX ::: d/a.b
both bner --bner XX echo XX {/.} {1/.} ::: d/a.b
has bner.procq "a {/.} {1/.}"
both basenameextensionreplace --basenameextensionreplace XX echo XX \
    ::: d/a.b
both extensionreplace --extensionreplace XX echo XX ::: d/a.b
both seqreplace --seqreplace XX echo XX {#} ::: a b
has seqreplace.procq "2 {#}"
both slotreplace --slotreplace XX echo XX {%} ::: a
has slotreplace.procq "1 {%}"
# --tag still tags with the values.
both Itag -I ,, --tag echo x ::: a b
has Itag.procq "$(printf 'a\tx a')"
# A word that is the renamed {} is one word per value, as {} is.
both Iword -I ,, echo ,, ::: a b

# Positions from the end, and white space after the position.
both negative echo {-1} {-2.} '{ 1}' '{1 }' '{2 .}' ::: a.x ::: b.c
has negative.procq "b.c a { 1} a.x b"

# --plus: each string on a path with two extensions.
v=dir/sub/file.tar.gz
for s in '{+/}' '{+.}' '{+..}' '{+...}' '{..}' '{...}' '{/..}' '{/...}' \
    '{:-none}' '{:4}' '{:4:3}' '{:99}' '{#dir/}' '{##.*/}' '{#d*/}' \
    '{%.gz}' '{%%.*}' '{%.*}' '{/sub/SUB}' '{//[a-z]/x}' '{/#dir/DIR}' \
    '{/%gz/GZ}' '{/sub/}' '{^d}' '{^^[aeiou]}' '{1,D}' '{1,,[A-Z]}' \
    '{2^^a}' '{1+.}' '{2:-empty}' '{1%%/*}' '{.}' '{/.}'; do
	both plus --plus echo "$s" ::: "$v" ::: ""
done
both plusall --plus echo '{+/}' '{+.}' '{+..}' '{+...}' '{..}' '{...}' \
    '{/..}' '{/...}' ::: "$v"
has plusall.procq \
    "dir/sub gz tar.gz  dir/sub/file dir/sub/file.tar.gz file file.tar.gz"
# The case changes on values of both cases; ":-" takes Perl's false "0".
both pluscase --plus echo '{^b}' '{^^a}' '{,B}' '{,,A}' '{,,[AN]}' \
    ::: banana BANANA Banana
both plusdefault --plus echo '{:-zero}' ::: 0 "" a
has plusdefault.procq zero
# {##} and {0#}: the number of jobs, the whole input read first.
both plustotal --plus echo '{##}' '{0#}' ::: a b c d e f g h i j k
has plustotal.procq "11 03"
# {0%}: the slot, as wide as the most slots (-j), put in by the worker.
both plusslot -j 12 --plus echo '{0%}' 'x{0%}y' '{%}' ::: a
has plusslot.procq "01 x01y 1"
# ... the jobs, not the items, with several items per job.
both plustotalN -N 2 --plus echo '{##}' '{0#}' ::: a b c d e
has plustotalN.procq "3 3"
# {choose_k} and {uniq} skip jobs, which keep their numbers.  parallel
# counts the skipped jobs as failed in its exit status; procq does not.
skipped() {
	skipped_name=$1
	shift
	p "$skipped_name" -k -j 1 "$@"
	g "$skipped_name" -k -j 1 "$@"
	[ "$rc_g" -gt 0 ] || fail "$skipped_name: parallel exits with 0"
	rc_g=0
	same "$skipped_name"
}
skipped choose --plus echo '{#}' '{choose_k}' ::: A B C ::: A B C
has choose.procq "6 B C"
lines choose.procq 3
skipped uniq --plus echo '{#}' '{uniq}' ::: A B ::: A B
has uniq.procq "3 B A"
# Without --plus its strings mean themselves.
both noplus echo '{+.}' ::: a.b

# --header with --colsep: the first line names the columns.
printf 'name\tsize\nfoo.txt\t10\nbar.c\t20\n' >"$T/table.tsv"
both headertsv --header : --colsep '\t' echo {size} {name.} {1} \
    :::: "$T/table.tsv"
has headertsv.procq "10 foo foo.txt"
lines headertsv.procq 2
# --header 0 is no header.
both header0 --header 0 --colsep '\t' echo {2} :::: "$T/table.tsv"
lines header0.procq 3
# ... from standard input, split at tabs without --colsep.
cp "$T/table.tsv" "$T/in"
both headerstdin --header : echo {name} {size}
rm -f "$T/in"
has headerstdin.procq "bar.c 20"
# With ::: sources, the first value of each names it.
both header2 --header : echo {a} {b} ::: a 1 2 ::: b x y
has header2.procq "2 y"
lines header2.procq 4
both headerlink --header : echo {a} {b} ::: a 1 2 :::+ b x y
lines headerlink.procq 2

# --trim, on ::: values and on columns.
for t in n l r lr rl; do
	both "trim$t" --trim "$t" --colsep , echo "x{1}y" "x{2}y" \
	    ::: ' a , b '
	both "trimv$t" --trim "$t" echo "x{}y" ::: ' a '
done
has trimlr.procq "xay xby"
# --colsep trims both sides unless --trim says.
both colseptrim --colsep , echo "x{1}y" "x{2}y" "x{}y" ::: ' a , b '
has colseptrim.procq "xay xby xa by"

# -d, with parallel's escapes; -0.
printf 'a,b,c\n' >"$T/in"
both dcomma -d , echo "x{}y"
has dcomma.procq xby
printf 'a\0b c\0' >"$T/in"
both dnul -d '\0' echo "x{}y"
has dnul.procq "xb cy"
both null -0 echo "x{}y"
has null.procq "xb cy"
printf 'a\tb\n' >"$T/in"
both dtab -d '\t' echo "x{}y"
printf 'aAb\n' >"$T/in"
both doctal -d '\101' echo "x{}y"
# Other backslashes mean themselves.
printf 'a\\b\\ec\n' >"$T/in"
both dbackslash -d '\\' echo "x{}y"
both descape -d '\e' echo "x{}y"
printf 'a<>b<>c' >"$T/in"
both dlong -d '<>' echo "x{}y"
has dlong.procq xcy

# -E: a source ends at the string, on standard input and after :::.
printf 'a\nstop\nb\n' >"$T/in"
both eofstdin -E stop echo {}
has eofstdin.procq a
lines eofstdin.procq 1
printf 'a\n stop\nb\n' >"$T/in"
both eofexact -E stop echo {}
lines eofexact.procq 3
both eofe -estop echo {}
both eoflong --eof=stop echo {}
has eoflong.procq " stop"
rm -f "$T/in"
both eofsources -E stop echo {} ::: a stop b ::: 1 2 stop 3
lines eofsources.procq 2

# -r: no job for an empty or blank item.
printf 'a\n\n  \nb\n\t\nc\n' >"$T/in"
both r -r echo "x{}y"
lines r.procq 3
both norunifempty --no-run-if-empty echo "x{}y"
rm -f "$T/in"
both rsources -r echo "x{}y" ::: a '' ' ' b
lines rsources.procq 2

# --arg-sep and --arg-file-sep.
both argsep --arg-sep ,,, echo ,,, a ::: b
has argsep.procq ":::"
lines argsep.procq 3
printf 'f1\nf2\n' >"$T/list"
both argfilesep --arg-file-sep QQ echo QQ "$T/list" ::: x
lines argfilesep.procq 2
both argseplink --arg-sep ,,, echo ,,, a b ,,,+ 1 2
has argseplink.procq "b 2"

# --shuf: every job, in some order.
p shuf --shuf echo ::: a b c ::: 1 2
g shuf --shuf echo ::: a b c ::: 1 2
sort "$T/shuf.procq" >"$T/s.procq"
sort "$T/shuf.parallel" >"$T/s.parallel"
cmp -s "$T/s.procq" "$T/s.parallel" || fail "--shuf runs other jobs"
lines shuf.procq 6

# Bad values: a one-line error naming the option, status 255.
bad() {
	run "$@"
	expect_rc 255
	lines err 1
}
bad --trim x echo ::: a
contains err "--trim"
bad -d '' echo ::: a
contains err "-d"
bad -I '' echo ::: a
contains err "-I"
bad --arg-sep '' echo ::: a
contains err "--arg-sep"
bad --plus echo '{host}' ::: a
contains err "{host}"
bad --plus echo '{#a[}' ::: a
contains err "a["
bad --header '(' --pipe cat
contains err "--header"
bad --header : --colsep '(' echo ::: a
contains err "--colsep"
exit 0
