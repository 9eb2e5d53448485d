#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Denylist benchmark (issue 17): generates N random digests (default 10M,
# 650 MB of text in a temporary directory) and runs denylist-bench on them:
# initial load time and peak RSS, reload peak RSS with the old set live,
# lookup cost. Fails if 10M digests miss a goal (load <= 2 s, <= 400 MB;
# reload <= 2x the set + 64 MB). Unprivileged.
#   usage: denylist-bench.sh [--smoke] [--digests N]
# --smoke: 200k digests, reports only (the registered test).
set -euo pipefail
: "${FG_SRC_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${FG_BUILD_ROOT:=$FG_SRC_ROOT/build}"
BENCH=$FG_BUILD_ROOT/tests/bench/denylist-bench
n=10000000 extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) n=200000 extra=(--no-check) ;;
	--digests) n=$2 && shift ;;
	*) echo "usage: $0 [--smoke] [--digests N]" >&2 && exit 2 ;;
	esac
	shift
done
work=$(mktemp -d "${TMPDIR:-/var/tmp}/fg-denylist-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$BENCH" gen "$work/list" "$n"
sync "$work/list" # no writeback competing with the first run
echo "# $n digests, $(($(stat -c %s "$work/list") / 1048576)) MB of text" >&2
# Two runs (the machine is shared: timing is noisy); both are reported, and
# the goals must hold in at least one of them.
ok=0
for run in first second; do
	if "$BENCH" run "$work/list" "${extra[@]}" >"$work/out"; then
		ok=1
	else
		echo "# $run run: a goal was missed" >&2
	fi
	sed "s/^/$run: /" "$work/out"
done
[ $ok = 1 ]
