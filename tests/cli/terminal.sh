#!/bin/sh
# The progress bar on a terminal (a pseudo-terminal made by script(1)):
# it never overwrites a job's output, even a line without its newline,
# and in a narrow terminal it is redrawn in place instead of scrolling.
. "${srcdir:-.}/tests/cli/lib.sh"

if ! script -qec true /dev/null </dev/null >/dev/null 2>&1; then
	echo "script(1) cannot make a terminal here: skipped" >&2
	exit 77
fi

# tty COLUMNS COMMAND: runs the shell command on a terminal COLUMNS wide,
# what it wrote in $T/tty.
tty() {
	rc=0
	timeout -k 5 "$LIMIT" script -qec "stty cols $1; $2" /dev/null \
	    </dev/null >"$T/tty" 2>&1 || rc=$?
	[ "$rc" -ne 124 ] || fail "$2 ran past $LIMIT s"
}

# screen COLUMNS: the lines a terminal COLUMNS wide shows of $T/tty,
# those scrolled away included, in $T/screen: it obeys \r, \n and ESC [ K,
# and wraps a line that reaches its last column.
screen() {
	LC_ALL=C awk -v w="$1" '
	function put(ch) {
		if (col == w) {
			row++
			col = 0
		}
		line[row] = substr(line[row] sprintf("%" w "s", ""), 1, col) \
		    ch substr(line[row], col + 2)
		col++
	}
	BEGIN {
		row = 0
		col = 0
	}
	{
		n = length($0)
		for (i = 1; i <= n; i++) {
			ch = substr($0, i, 1)
			if (ch == "\r")
				col = 0
			else if (ch == "\033" && substr($0, i + 1, 2) == "[K") {
				line[row] = substr(line[row], 1, col)
				i += 2
			} else
				put(ch)
		}
		row++
		col = 0
	}
	END {
		for (r = 0; r < row; r++) {
			sub(/ +$/, "", line[r])
			print line[r]
		}
	}' "$T/tty" >"$T/screen"
}

# Output without a final newline stays on the terminal: the bar is drawn
# on the next line rather than over it.
tty 80 "$PROCQ -j 1 --no-shell -- sh -c 'printf \"result-%s \" \$1; sleep 0.3' sh \
    ::: A B C D"
expect_rc 0
screen 80
for x in A B C D; do
	grep -q "result-$x" "$T/screen" ||
	    fail "result-$x is not on the terminal: $(cat "$T/screen")"
done
grep -q "^4 jobs: 4 succeeded" "$T/screen" ||
    fail "the summary does not start a line: $(cat "$T/screen")"

# 30 columns, narrower than the bar: it is cut, never wraps, and leaves
# nothing behind once it is taken down.
tty 30 "$PROCQ -j 1 -- sleep 0.3 ::: 1 2 3 4"
expect_rc 0
grep -q running "$T/tty" || fail "no progress bar was drawn"
screen 30
! grep -q running "$T/screen" ||
    fail "the bar left lines behind: $(cat "$T/screen")"
grep -q "^4 jobs: 4 succeeded" "$T/screen" ||
    fail "no summary: $(cat "$T/screen")"
exit 0
