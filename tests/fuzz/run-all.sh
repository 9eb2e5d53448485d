#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every libFuzzer target in BUILDDIR/tests/fuzz for SECONDS each, from a
# seed corpus copied into a temporary directory (fixtures are never written).
#   usage: run-all.sh BUILDDIR SECONDS
# Seeds for fuzz-NAME come from tests/fixtures/NAME/. Exits non-zero if a
# target crashes, leaks, times out or finds nothing to run; a crashing input
# is kept in BUILDDIR/fuzz-artifacts/.
set -euo pipefail

if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
	echo "usage: $0 BUILDDIR SECONDS" >&2
	exit 2
fi
builddir=$(cd "$1" && pwd)
seconds=$2
src=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/fg-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
artifacts=$builddir/fuzz-artifacts
mkdir -p "$artifacts"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

n=0
failed=0
for exe in "$builddir"/tests/fuzz/fuzz-*; do
	[ -f "$exe" ] && [ -x "$exe" ] || continue
	name=$(basename "$exe")
	corpus=$work/$name
	mkdir -p "$corpus"
	seeds=$src/tests/fixtures/${name#fuzz-}
	if [ -d "$seeds" ]; then
		cp -- "$seeds"/* "$corpus"/ 2>/dev/null || true
	fi
	echo "=== $name: ${seconds}s, $(find "$corpus" -type f | wc -l) seeds" >&2
	n=$((n + 1))
	# -timeout: one input; -max_total_time: the run. A hard outer bound too,
	# in case the target hangs where libFuzzer cannot see it.
	if ! timeout -s KILL $((seconds + 60)) "$exe" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
		"$corpus" 2>"$work/$name.log"; then
		tail -n 60 "$work/$name.log" >&2
		echo "FAIL: $name (artifacts in $artifacts)" >&2
		failed=1
		continue
	fi
	grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' \
		"$work/$name.log" >&2 || true
done
if [ "$n" = 0 ]; then
	echo "FAIL: no fuzz targets in $builddir/tests/fuzz (configure with -Dfuzz=true)" >&2
	exit 1
fi
exit $failed
