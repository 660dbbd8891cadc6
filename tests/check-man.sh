#!/bin/sh
# Every function declared in the installed headers (procq.h, and
# procq_mpi.h of libprocq-mpi) has a man page of its own name that
# documents it, every function a page documents exists, and the pages are
# clean under mandoc's lint.  procq_mpi.h is read whether or not
# libprocq-mpi is built: its pages are always installed.  Comments of the
# headers are left out: a page they cite is not a function.
top=${srcdir:-.}/..
[ -f "$top/include/procq.h" ] || top=${srcdir:-.}
man=$top/man
fail=0

headers() {
	awk '{
		out = ""
		while ($0 != "") {
			if (incomment) {
				if ((i = index($0, "*/")) == 0)
					break
				$0 = substr($0, i + 2)
				incomment = 0
			} else if ((i = index($0, "/*")) == 0) {
				out = out $0
				break
			} else {
				out = out substr($0, 1, i - 1)
				$0 = substr($0, i + 2)
				incomment = 1
			}
		}
		print out
	}' "$top/include/procq.h" "$top/include/procq_mpi.h"
}
functions=$(headers | grep -oE '\bprocq_[a-z0-9_]+[[:space:]]*\(' |
	tr -d ' (' | sort -u)
identifiers=$(headers | grep -oE '\bprocq_[a-z0-9_]+' | sort -u)

for fn in $functions; do
	page=$man/man3/$fn.3
	if [ ! -e "$page" ]; then
		echo "FAIL: $fn has no man page ($fn.3)"
		fail=1
	elif ! grep -qE "^\.(Fn|Fo) $fn( |\$)" "$page"; then
		echo "FAIL: $fn.3 does not document $fn"
		fail=1
	fi
done

for name in $(grep -hoE '^\.(Fn|Fo) procq_[a-z0-9_]+' "$man"/man3/*.3 \
    "$man"/man7/*.7 | awk '{print $2}' | sort -u); do
	if ! printf '%s\n' "$identifiers" | grep -qx "$name"; then
		echo "FAIL: a man page documents $name, which no header declares"
		fail=1
	fi
done

if command -v mandoc >/dev/null 2>&1; then
	lint=$(find "$man" -name '*.[137]' -exec mandoc -Tlint -W warning {} + \
	    2>&1)
	if [ -n "$lint" ]; then
		echo "FAIL: mandoc -Tlint:"
		echo "$lint"
		fail=1
	fi
else
	echo "mandoc not installed: lint skipped"
fi

n=$(printf '%s\n' "$functions" | wc -l)
if [ "$fail" = 0 ]; then
	echo "PASS: $n functions, each with its man page"
fi
exit $fail
