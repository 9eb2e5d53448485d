#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The matrix's verdict logic on made-up results (FG_MATRIX_REUSE=1: no
# filesystem, no root): a pass that is expected passes; a known failure that
# fails passes; a known failure that passes (XPASS), a failure that should
# pass, a missing check, an unfinished cell and a bad expect.txt line each
# fail the matrix, saying why. Unprivileged.
set -euo pipefail
: "${FG_SRC_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
export FG_MATRIX_REUSE=1 FG_MATRIX_OUT=$d/out FG_MATRIX_EXPECT=$d/expect.txt
mkdir "$d/out"
checks=(baseline class workload time deny-txt deny-sh deny-bin unmount cleanup listener)

# results [CHECK=pass|fail...] [nodone]: the made-up results of cell bindfs.
results() {
	local k v a done=1
	: >"$d/out/bindfs"
	for k in "${checks[@]}"; do
		v=pass
		for a in "$@"; do
			[ "$a" = nodone ] && done=0
			[ "${a%%=*}" = "$k" ] && v=${a#*=}
		done
		[ "$v" = missing ] || echo "check $k $v made up" >>"$d/out/bindfs"
	done
	[ $done = 0 ] || echo done >>"$d/out/bindfs"
}

# want RC GREP: runs the matrix on cell bindfs, wants exit RC and GREP in its output.
n=0
want() {
	local rc=0 out
	out=$(bash "$FG_SRC_ROOT/tests/matrix/matrix.sh" bindfs 2>&1) || rc=$?
	n=$((n + 1))
	if [ "$rc" != "$1" ] || ! grep -qE -- "$2" <<<"$out"; then
		echo "FAIL: case $n: want exit $1 and /$2/, got exit $rc:" >&2
		printf '%s\n' "$out" | sed 's/^/    /' >&2
		exit 1
	fi
	echo "# case $n: exit $rc, /$2/"
}

: >"$d/expect.txt"
results
want 0 "matrix: 1 cells"
results deny-txt=fail
want 1 "FAIL: bindfs deny-txt: fail \(made up\), expected pass"
echo "bindfs deny-txt known-fail issue-0: made up" >"$d/expect.txt"
results deny-txt=fail
want 0 "matrix: 1 cells"
results
want 1 "XPASS: bindfs deny-txt now passes .* flip it"
echo "bindfs deny-txt any flaky here" >"$d/expect.txt"
want 0 "matrix: 1 cells"
results deny-txt=fail
want 0 "matrix: 1 cells"
: >"$d/expect.txt"
results unmount=missing
want 1 "FAIL: bindfs unmount: missing"
results nodone
want 1 "FAIL: cell bindfs did not complete"
echo "bindfs deny-txt known-fail" >"$d/expect.txt"
results
want 1 "bad lines in expect.txt"
echo "nosuchfs deny-txt pass" >"$d/expect.txt"
want 1 "bad lines in expect.txt"
echo "bindfs nosuchcheck pass" >"$d/expect.txt"
want 1 "bad lines in expect.txt"
echo "PASS: $n cases"
