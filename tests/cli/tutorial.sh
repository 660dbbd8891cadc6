#!/bin/sh
# The examples of parallel_tutorial(7) under GNU parallel and under
# procq(1): each line of tutorial.examples is run once with each, in the
# same fresh directory of the tutorial's files, and what they print (and
# the files they make, where the line says so) must be the same.  An
# example listed in tutorial.pending may differ (procq lacks something
# yet); one listed there that matches is reported as "now matches: ID".
#
# TUTORIAL_ONLY=PATTERN[,PATTERN...] runs the examples whose id matches
# one of the shell patterns (TUTORIAL_ONLY=plus.1, TUTORIAL_ONLY='plus.*',
# TUTORIAL_ONLY=rpl.1,rpl.2) and shows what differs in each.
#
# The command lines are run by bash, the tutorial's shell, and the jobs
# too: SHELL and PARALLEL_SHELL are /bin/bash for both programs.  GNU
# parallel runs its jobs with PARALLEL_SHELL, else the nearest shell among
# its ancestors, which would be dash for a line run from this script:
# set, the choice does not depend on who runs the test.
. "${srcdir:-.}/tests/cli/lib.sh"

require_parallel
command -v bash >/dev/null 2>&1 || fail "bash is needed"

EXAMPLES=${srcdir:-.}/tests/cli/tutorial.examples
PENDING=${srcdir:-.}/tests/cli/tutorial.pending
[ -r "$EXAMPLES" ] || fail "no $EXAMPLES"
[ -r "$PENDING" ] || fail "no $PENDING"
# The lines are run from another directory.
case $PROCQ in
/*) ;;
*/*) PROCQ=$(pwd)/$PROCQ ;;
esac
LIMIT=${PROCQ_TEST_LIMIT:-30}

# The tutorial's files, made as the tutorial makes them (num1000000 is
# left out), and the few that stand for its pipes and scripts.
mkdir "$T/setup" "$T/home" "$T/home/.parallel" || exit 99
(
	cd "$T/setup" || exit 1
	printf 'A\nB\nC\n' >abc-file
	printf 'D\nE\nF\n' >def-file
	perl -e 'printf "A\0B\0C\0"' >abc0-file
	perl -e 'printf "A_B_C_"' >abc_-file
	perl -e 'printf "f1\tf2\nA\tB\nC\tD\n"' >tsv-file.tsv
	perl -e 'for(1..8){print "$_\n"}' >num8
	perl -e 'for(1..128){print "$_\n"}' >num128
	perl -e 'for(1..30000){print "$_\n"}' >num30000
	(echo %head1; echo %head2; perl -e 'for(1..10){print "$_\n"}') \
	    >num_%header
	perl -e 'print "HHHHAAABBBCCC"' >fixedlen
	(echo 1; echo; echo 2) >empty-lines
	echo /foo, bar/, /baz, qux/, >recs
	echo foo,bar,_baz,__qux, >recs2
	printf '%s\n' "perl -e 'print \"@ARGV\\n\"'" >quote-line
	printf '#!/usr/bin/parallel --shebang -r echo\n\nfoo\nbar\nbaz\n' \
	    >shebang-file
	printf '#!/usr/bin/parallel --shebang-wrap /usr/bin/perl\n\n%s\n' \
	    'print "@ARGV\n"' >perl_echo
	chmod +x perl_echo
	mkdir tmpdir
) || fail "the tutorial's files"
printf '%s\n' '--nice 17' '--timeout 300%' >"$T/home/.parallel/nicetimeout"
echo '-vv --dry-run' >"$T/home/.parallel/dryverbose"
(cd "$T/setup" && find . | LC_ALL=C sort) >"$T/setup.list"

# What a line runs before its command: `parallel` is the program under
# test, and my_func the tutorial's exported function.
PRELUDE='parallel() {
	if [ "$TUTORIAL_IMPL" = procq ]; then
		case $1 in
		--shebang* | --hashbang*)
			# It must come first, as in parallel: -q goes among
			# the words the kernel gives as one.
			"$TUTORIAL_PROCQ" "${1%%[ 	]*} -q${1#"${1%%[ 	]*}"}" \
			    "${@:2}"
			;;
		*) "$TUTORIAL_PROCQ" -q "$@" ;;
		esac
	else
		command "$TUTORIAL_GNU" "$@"
	fi
}
my_func() {
	echo in my_func $1
}
export -f my_func
'
# Not PARALLEL: GNU parallel takes options from it.
TUTORIAL_PROCQ=$PROCQ
TUTORIAL_GNU=$PARALLEL
export TUTORIAL_PROCQ TUTORIAL_GNU

# normalise NORM [FILE]: the standard output ($T/stdout), or FILE, as
# NORM wants it, from the work directory.
normalise() {
	case $1 in
	none) cat "${2:-$T/stdout}" ;;
	sort | joblog) LC_ALL=C sort "${2:-$T/stdout}" ;;
	slots)
		awk '$0 == "1" || $0 == "2" { $0 = "a slot of -j 2" } 1' \
		    "${2:-$T/stdout}" | LC_ALL=C sort
		;;
	jobs)
		awk '/^JOB[0-9]/ && NR > 1 { printf "\n" }
		    { printf "%s\001", $0 } END { printf "\n" }' "$T/stdout" |
		    LC_ALL=C sort | tr '\001' '\n'
		;;
	files)
		while IFS= read -r f; do
			if [ -f "$f" ]; then
				printf 'a file: %s\n' "$(cat "$f")"
				rm -f "$f"
			else
				printf '%s\n' "$f"
			fi
		done <"$T/stdout" | LC_ALL=C sort
		;;
	*) fail "unknown normalisation $1" ;;
	esac
}

# new_files NORM: the files the line made, with their contents.
new_files() {
	find . | LC_ALL=C sort | LC_ALL=C comm -13 "$T/setup.list" - |
	while IFS= read -r f; do
		[ -f "$f" ] || continue
		echo "== $f"
		if [ "$1" = joblog ] && [ "${f##*/}" = log ]; then
			awk -F '\t' 'BEGIN { OFS = "\t" }
			    NR > 1 { $3 = "T"; $4 = "T" } { print }' "$f" |
			    LC_ALL=C sort
		else
			cat "$f"
		fi
	done
}

# example IMPL NORM COMPARED LINE: the result of LINE under IMPL in
# $T/IMPL.result.
example() {
	rm -rf "$T/work"
	cp -R "$T/setup" "$T/work" || exit 99
	rc=0
	(
		cd "$T/work" &&
		    TUTORIAL_IMPL=$1 HOME=$T/home SHELL=/bin/bash \
		    PARALLEL_SHELL=/bin/bash timeout -k 5 "$LIMIT" \
		    bash -c "$PRELUDE$4"
	) >"$T/stdout" 2>"$T/stderr" </dev/null || rc=$?
	{
		if [ "$rc" -eq 124 ]; then
			echo "ran past $LIMIT s"
		else
			echo "exit status $rc"
		fi
		echo "--- stdout"
		(cd "$T/work" && normalise "$2")
		case +$3+ in
		*+err+*)
			echo "--- stderr"
			case $2 in
			files | jobs) cat "$T/stderr" ;;
			*) normalise "$2" "$T/stderr" ;;
			esac
			;;
		esac
		case +$3+ in
		*+files+*)
			echo "--- files"
			(cd "$T/work" && new_files "$2")
			;;
		esac
	} >"$T/$1.result"
	cp "$T/stderr" "$T/$1.stderr"
}

# selected ID: ID matches one of the patterns of TUTORIAL_ONLY.
selected() {
	for pattern in $(echo "$TUTORIAL_ONLY" | tr ',' ' '); do
		# shellcheck disable=SC2254
		case $1 in
		$pattern) return 0 ;;
		esac
	done
	return 1
}

is_pending() {
	grep -q "^${1}[[:space:]]" "$PENDING"
}

total=0
matched=0
pending=0
failed=
while read -r id norm compared line; do
	case $id in
	'' | '#'*) continue ;;
	esac
	if [ -n "${TUTORIAL_ONLY:-}" ]; then
		selected "$id" || continue
	fi
	case $line in
	parallel\ * | [A-Z]*=*\ parallel\ *) ;;
	*) fail "$id: the line does not begin with parallel" ;;
	esac
	total=$((total + 1))
	example parallel "$norm" "$compared" "$line"
	example procq "$norm" "$compared" "$line"
	if cmp -s "$T/parallel.result" "$T/procq.result"; then
		matched=$((matched + 1))
		if is_pending "$id"; then
			echo "now matches: $id"
		elif [ -n "${TUTORIAL_ONLY:-}" ]; then
			echo "matches: $id"
		fi
		continue
	fi
	if is_pending "$id"; then
		pending=$((pending + 1))
		[ -z "${TUTORIAL_ONLY:-}" ] && continue
		echo "pending: $id: $(grep "^${id}[[:space:]]" "$PENDING" |
		    sed 's/^[^[:space:]]*[[:space:]]*//')"
	else
		failed="$failed $id"
		printf 'FAIL: %s: %s\n' "$id" "$line"
	fi
	diff -u "$T/parallel.result" "$T/procq.result" | sed -n '3,40p'
	echo "--- procq's stderr:"
	head -n 5 "$T/procq.stderr"
done <"$EXAMPLES"

# A pending entry for an example that is not in the list is stale.
while read -r id _; do
	case $id in
	'' | '#'*) continue ;;
	esac
	grep -q "^${id}[[:space:]]" "$EXAMPLES" ||
	    fail "tutorial.pending lists $id, which is no example"
done <"$PENDING"

echo "tutorial: $total examples, $matched match, $pending pending"
[ -z "$failed" ] || fail "differ and are not pending:$failed"
exit 0
