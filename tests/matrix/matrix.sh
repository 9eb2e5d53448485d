#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The real-FUSE matrix: every cell of tests/matrix/fs.sh (or those named in
# FG_MATRIX_CELLS, or as arguments) runs tests/matrix/cell.sh in its own
# private mount namespace under its own hard deadline. Then, per cell: no
# process is left in its namespace, and every check's outcome is compared
# with tests/matrix/expect.txt:
#   pass        must pass; a failure fails the matrix
#   known-fail  fails today (reason given); if it passes, the matrix fails
#               too, loudly, so that whoever fixed it flips the line
#   any         not asserted (nondeterministic here; reason given)
# A (cell, check) missing from expect.txt must pass. Prints the table
# filesystem x (time ratio, denied n/3, unmount ok, class, policy, scans that
# ended in an error: reason=error) and the matrix's run time.
#
# FG_MATRIX_REUSE=1 runs nothing: it compares the results already in the
# output directory (after editing expect.txt; tests/matrix/selftest.sh).
# FG_MATRIX_EXPECT names another expectation file.
set -uo pipefail
: "${FG_SRC_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${FG_BUILD_ROOT:=$FG_SRC_ROOT/build}"
export FG_SRC_ROOT FG_BUILD_ROOT
expect=${FG_MATRIX_EXPECT:-$FG_SRC_ROOT/tests/matrix/expect.txt}
reuse=${FG_MATRIX_REUSE:-0}
out=${FG_MATRIX_OUT:-$FG_BUILD_ROOT/matrix-results}
: "${MATRIX_CELL_DEADLINE:=150}"
CHECKS=(baseline class workload time deny-txt deny-sh deny-bin unmount cleanup listener)

# The cells, in fs.sh's order.
# shellcheck disable=SC2016
mapfile -t all < <(bash -c '. "$1"; printf "%s\n" "${MATRIX_CELLS[@]}"' _ \
	"$FG_SRC_ROOT/tests/matrix/fs.sh")
cells=("$@")
[ ${#cells[@]} -gt 0 ] || read -r -a cells <<<"${FG_MATRIX_CELLS:-${all[*]}}"

if [ "$reuse" != 1 ] && [ "$(id -u)" != 0 ]; then
	[ "${FG_TESTS_MUST_RUN:-0}" = 1 ] && {
		echo "FAIL: the matrix needs root" >&2
		exit 1
	}
	echo "SKIP: the matrix needs root" >&2
	exit 77
fi
mkdir -p "$out"

# expectation CELL CHECK -> "pass", "known-fail REASON" or "any REASON"
expectation() {
	awk -v c="$1" -v k="$2" '$1 == c && $2 == k { $1 = $2 = ""; sub(/^ +/, ""); e = $0 }
		END { print (e == "" ? "pass" : e) }' "$expect"
}

# Every (cell, check) line of expect.txt names a known cell and check.
bad=$(awk -v cells=" ${all[*]} " -v checks=" ${CHECKS[*]} " '
	/^[ \t]*(#|$)/ || $1 == "budget" { next }
	index(cells, " " $1 " ") == 0 || index(checks, " " $2 " ") == 0 ||
	($3 != "pass" && $3 != "known-fail" && $3 != "any") ||
	($3 != "pass" && NF < 4) { print FILENAME ":" NR ": " $0 }' "$expect")
if [ -n "$bad" ]; then
	echo "FAIL: bad lines in expect.txt (cell check pass|known-fail REASON|any REASON):" >&2
	echo "$bad" >&2
	exit 1
fi

t_start=$(date +%s%N)
failed=0
xpass=0
skipped=()
for c in "${cells[@]}"; do
	res=$out/$c
	echo "=== cell $c" >&2
	rc=0
	if [ "$reuse" != 1 ]; then
		: >"$res"
		t0=$(date +%s%N)
		FG_TEST_DEADLINE=$MATRIX_CELL_DEADLINE \
			timeout -s KILL $((MATRIX_CELL_DEADLINE + 30)) \
			bash "$FG_SRC_ROOT/tests/matrix/cell.sh" "$c" "$res" 2>"$out/$c.log" || rc=$?
		secs=$((($(date +%s%N) - t0) / 1000000))
		echo "info cell_ms $secs" >>"$res"
		sed 's/^/    /' "$out/$c.log" | grep -E '^    (# .*check |FAIL|SKIP)' >&2 || true
	fi
	[ -e "$res" ] || : >"$res"
	if [ $rc = 77 ] && [ "${FG_TESTS_MUST_RUN:-0}" != 1 ]; then
		# A missing program (bootstrap installs them all): say so, go on.
		echo "SKIP: cell $c: $(grep -h '^SKIP' "$out/$c.log")" >&2
		skipped+=("$c")
		continue
	fi
	if [ $rc != 0 ] || ! grep -q '^done$' "$res"; then
		echo "FAIL: cell $c did not complete (exit $rc); its log:" >&2
		tail -n 60 "$out/$c.log" 2>/dev/null | sed 's/^/    /' >&2
		failed=1
	fi
	# Nothing of the cell may survive it: no process in its mount namespace
	# (and so no mount of it either).
	ns=$(awk '$1 == "info" && $2 == "ns" { print $3 }' "$res")
	if [ -n "$ns" ] && [ "$reuse" != 1 ]; then
		for i in $(seq 50); do
			left=$(for p in /proc/[0-9]*; do
				[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && echo "${p#/proc/}($(cat "$p/comm" 2>/dev/null))"
			done | tr '\n' ' ')
			[ -z "$left" ] && break
			sleep 0.1
		done
		if [ -n "$left" ]; then
			echo "FAIL: cell $c left processes in its namespace: $left" >&2
			failed=1
		fi
	fi
	for k in "${CHECKS[@]}"; do
		got=$(awk -v k="$k" '$1 == "check" && $2 == k { print $3 }' "$res")
		detail=$(awk -v k="$k" '$1 == "check" && $2 == k { $1 = $2 = $3 = ""; sub(/^ +/, ""); print }' "$res")
		want=$(expectation "$c" "$k")
		case "$want:${got:-missing}" in
		pass:pass | known-fail*:fail | any*:*) ;;
		known-fail*:pass)
			echo "XPASS: $c $k now passes ($detail) but expect.txt says '$want':" \
				"flip it to 'pass' in tests/matrix/expect.txt" >&2
			xpass=1
			;;
		*)
			echo "FAIL: $c $k: ${got:-missing} ($detail), expected $want" >&2
			failed=1
			;;
		esac
	done
done
total_ms=$((($(date +%s%N) - t_start) / 1000000))

# The table.
info() {
	awk -v k="$2" '$1 == "info" && $2 == k { $1 = $2 = ""; sub(/^ +/, ""); print }' "$out/$1"
}
ok() {
	awk -v k="$2" '$1 == "check" && $2 == k { print $3 }' "$out/$1"
}
{
	printf '\n%-22s %9s %9s %7s %7s %-9s %-9s %-8s %-9s %-7s %s\n' FILESYSTEM "BASE-MS" "FG-MS" \
		RATIO DENIED UNMOUNT WORKLOAD CLASS POLICY EVENTS SCAN-ERRS
	for c in "${cells[@]}"; do
		[ -s "$out/$c" ] || continue
		printf '%-22s %9s %9s %7s %7s %-9s %-9s %-8s %-9s %-7s %s\n' "$c" \
			"$(info "$c" base_ms)" "$(info "$c" fg_ms)" "$(info "$c" ratio)" \
			"$(info "$c" denied)" "$(ok "$c" unmount)($(info "$c" umount_ms))" \
			"$(ok "$c" workload)" "$(info "$c" class)" "$(info "$c" policy)" \
			"$(info "$c" emask)" "$(info "$c" reason_error)"
	done
	echo "matrix: ${#cells[@]} cells in $((total_ms / 1000)) s${skipped[*]:+, skipped (missing programs): ${skipped[*]}}"
} | tee "$out/table.txt" >&2
if [ $xpass = 1 ]; then
	echo "FAIL: some known-fail checks pass now (XPASS above): update tests/matrix/expect.txt" >&2
	failed=1
fi
exit $failed
