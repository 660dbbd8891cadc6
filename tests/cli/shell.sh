#!/bin/sh
# Commands run through a shell by default, as in GNU parallel: the same
# command lines print the same in both.  The shell is left out only where
# it could change nothing, and --no-shell executes the words as they are.
. "${srcdir:-.}/tests/cli/lib.sh"

require_parallel
# Some runs are made from other directories.
PROCQ=$(cd "$(dirname "$PROCQ")" && pwd)/${PROCQ##*/}

# Shell syntax in the command line, and values that must stay one word.
both list -k 'echo {}; exit {}' ::: 0 1
[ "$rc_p" -eq 1 ] || fail "exit {}: status $rc_p"
both var -k echo \$HOME ::: x
both quoted -k echo {} ::: 'a  b' '$HOME' "it's" '*' '`date`' ''
both printf -k printf '%s\n' ::: a
both semicolon -k echo {} \; echo second ::: x
both pipe -k 'echo {} | tr a-z A-Z' ::: abc
both noreplace -k echo ::: 'a b' 'c;d'
(cd "$T" && both redirect -k 'echo {} > {}.out' ::: one two) ||
    exit 1
[ "$(cat "$T/one.out")" = one ] || fail "redirect: $(cat "$T/one.out")"

# under NAME SHELL SCRIPT ARGS...: procq and parallel, each run as "$0" by
# SHELL -c SCRIPT with ARGS, agree.
under() {
	name=$1 sh=$2 script=$3
	shift 3
	rc_p=0
	timeout -k 5 "$LIMIT" "$sh" -c "$script" "$PROCQ" -q "$@" \
	    >"$T/$name.procq" 2>"$T/err" </dev/null || rc_p=$?
	rc_g=0
	timeout -k 5 "$LIMIT" "$sh" -c "$script" "$PARALLEL" "$@" \
	    >"$T/$name.parallel" 2>"$T/err" </dev/null || rc_g=$?
	same "$name"
}

# An exported bash function.
under function bash 'greet() { echo "hello $1"; }; export -f greet;
    "$0" "$@"; exit $?' -k greet ::: a b
has function.procq "hello b"

# The shell chosen: the nearest ancestor shell, else PARALLEL_SHELL.
for sh in bash dash; do
	under "ancestor_$sh" $sh '"$0" "$@"; exit $?' 'echo $0' ::: x
	grep -q "/$sh x\$" "$T/ancestor_$sh.procq" ||
	    fail "under $sh: $(cat "$T/ancestor_$sh.procq")"
done
export PARALLEL_SHELL=/bin/bash
both chosen 'echo $0' ::: x
has chosen.procq "/bin/bash x"
export PARALLEL_SHELL=/no/such/shell
p missing echo ::: x
unset PARALLEL_SHELL
[ "$rc_p" -eq 255 ] || fail "a missing shell: status $rc_p"
grep -q "shell '/no/such/shell' not found" "$T/err" ||
    fail "a missing shell: $(cat "$T/err")"

# When the shell is left out.  The shell is a wrapper named sh that logs
# each start before it runs dash.
mkdir "$T/bin"
cat >"$T/bin/sh" <<EOF
#!/bin/dash
echo started >>"$T/shell.log"
exec /bin/dash "\$@"
EOF
chmod +x "$T/bin/sh"
printf 'echo script "$@"\n' >"$T/bin/noshebang"
chmod +x "$T/bin/noshebang"

# uses_shell NAME ARGS...: procq runs ARGS with the logging shell;
# $started tells how many jobs went through it.
uses_shell() {
	name=$1
	shift
	rm -f "$T/shell.log"
	export PARALLEL_SHELL="$T/bin/sh"
	p "$name" -k "$@"
	unset PARALLEL_SHELL
	[ "$rc_p" -eq 0 ] || fail "$name: status $rc_p"
	started=0
	[ ! -f "$T/shell.log" ] || started=$(wc -l <"$T/shell.log")
}

uses_shell plain printenv {} ::: HOME PATH
[ "$started" -eq 0 ] || fail "a plain command went through the shell"
[ "$(sed -n 1p "$T/plain.procq")" = "$HOME" ] || fail "printenv HOME"
uses_shell words printf '%s-%s\n' {} x{}.y ::: 'a b' '$c'
[ "$started" -eq 2 ] || fail "printf with a backslash ran without the shell"
uses_shell safe_words /bin/echo {}-{.}. ::: a.b 'c d'
[ "$started" -eq 0 ] || fail "plain words went through the shell"
has safe_words.procq "a.b-a."
has safe_words.procq "c d-c d."
uses_shell forced --shell printenv {} ::: HOME
[ "$started" -eq 1 ] || fail "--shell skipped the shell"
uses_shell none --no-shell printenv {} ::: HOME
[ "$started" -eq 0 ] || fail "--no-shell ran the shell"
uses_shell builtin echo {} ::: a b
[ "$started" -ge 1 ] || fail "the builtin echo ran without the shell"
uses_shell syntax printenv {} '>/dev/null' ::: HOME
[ "$started" -eq 1 ] || fail "a redirection ran without the shell"
uses_shell script "$T/bin/noshebang" {} ::: a
[ "$started" -eq 1 ] || fail "a script without #! ran without the shell"
has script.procq "script a"
# {} in a word with several values: the shell makes several words.
uses_shell joined /bin/echo x{} ::: a ::: b
[ "$started" -eq 1 ] || fail "x{} of two values ran without the shell"
has joined.procq "xa b"
uses_shell whole /bin/echo {} ::: a ::: b
[ "$started" -eq 0 ] || fail "{} of two values went through the shell"
has whole.procq "a b"
export ENV="$T/env"
uses_shell env_file printenv {} ::: HOME
unset ENV
[ "$started" -eq 1 ] || fail "with ENV set, the shell was left out"

# Left out or not, the shell changes nothing: the same jobs through it
# (--shell), by default and in parallel, whatever the options that make
# the words.  skipped_same NAME N ARGS: N jobs of ARGS use the shell by
# default (a word that takes several values is left to it).
skipped_same() {
	name=$1 n=$2
	shift 2
	p "$name" -k --shell "$@"
	mv "$T/$name.procq" "$T/$name.shell"
	uses_shell "$name" "$@"
	[ "$started" -eq "$n" ] ||
	    fail "$name: $started jobs through the shell, not $n"
	cmp -s "$T/$name.procq" "$T/$name.shell" ||
	    fail "$name: differs with --shell: $(cat "$T/$name.procq")"
	g "$name" -k "$@"
	same "$name"
}
skipped_same s1 0 /bin/echo {} ::: a 'b c' '$x' "it's"
skipped_same s2 1 -N2 /bin/echo x{}y ::: a b c
skipped_same s3 1 -X /bin/echo pre-{}-post ::: a b c
skipped_same s4 0 --plus /bin/echo {+/} {..} ::: d/f.tar.gz
skipped_same s5 0 -I ,, /bin/echo x,,y ::: a 'b c'
skipped_same s6 0 /bin/echo {1}-{2} ::: a b ::: 'c d'
skipped_same s7 0 -m /bin/echo {} ::: a b c d
skipped_same s8 0 --colsep , /bin/echo {2} {1} ::: 'a,b' 'c,d e'
skipped_same s9 0 -N0 /bin/echo foo ::: 1 2
skipped_same s10 0 /bin/echo {3} ::: a ::: b

# bash sets $_ to the program's path: so does procq when it leaves bash
# out.
export PARALLEL_SHELL=/bin/bash
both underscore printenv {} ::: _
unset PARALLEL_SHELL
has underscore.procq "$(command -v printenv)"

# --no-shell: the words as they are.
p direct -k --no-shell printf '%s\n' {} ::: 'a b' '$HOME'
has direct.procq 'a b'
has direct.procq '$HOME'
exit 0
