#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Verdict latency per scanner: one fanguardd per configuration (no verdict
# cache, so every open is an event and a scan) on a scratch tmpfs of 64
# small files, opened by fgcheck load; prints p50/p99 and opens/s for:
# the SHA-256 denylist alone, clamd over its local socket (FILDES), clamd
# over TCP (INSTREAM), YARA, and all three. Not a test: figures only.
#   usage: sudo FG_BUILD_ROOT=$PWD/build bash tests/soak/scanner-latency.sh [ITERS] [PROCS]
set -euo pipefail
iters=${1:-4000}
procs=${2:-1}
export FG_TEST_DEADLINE=${FG_TEST_DEADLINE:-600}
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/clamd.sh"
require_root
require_fanotify_perm
require_clamd
enter_private_mountns "$@"

s=$(scratch_tmpfs 128m)
assert_own_tmpfs "$s"
"$FGCHECK" load --procs 1 --iters 1 --dir "$s" --files 64 --create >/dev/null
clamd_setup "$FG_STATE/clamd"
start_clamd
printf 'rule r { strings: $a = "never-present-%s" condition: $a }\n' $RANDOM >"$FG_STATE/rules.yar"
printf '%064d\n' 0 >"$FG_STATE/deny"
sec=()
grep -q -- --seccomp <<<"$("$FANGUARDD" --help)" && sec=(--seccomp off) # AF_INET for INSTREAM

run() { # NAME fanguardd-args...
	local name=$1 out
	shift
	start_fanguardd_log "$FG_STATE/$name.log" "${sec[@]}" --watch "$s" --no-cache "$@"
	"$FGCHECK" load --procs "$procs" --iters 200 --dir "$s" >/dev/null # warm-up
	out=$("$FGCHECK" load --procs "$procs" --iters "$iters" --dir "$s" --timeout-s 300)
	stop_fanguardd_within 10 || true
	printf '%-16s %s | %s\n' "$name" "$(printf '%s\n' "$out" | grep -o 'opens_per_s=[0-9]*')" \
		"$(printf '%s\n' "$out" | grep 'latency_us')"
}
"$FGCHECK" load --procs "$procs" --iters "$iters" --dir "$s" | grep -q FAILED && fail "baseline"
printf '%-16s %s\n' "no-listener" "$("$FGCHECK" load --procs "$procs" --iters "$iters" --dir "$s" | grep -E 'latency_us')"
run sha256 --deny-hashes "$FG_STATE/deny"
run clamd-fildes --clamd-socket "$CLAMD_SOCKET"
run clamd-instream --clamd-tcp "$CLAMD_TCP"
run yara --yara-rules "$FG_STATE/rules.yar"
run all --deny-hashes "$FG_STATE/deny" --clamd-socket "$CLAMD_SOCKET" --yara-rules "$FG_STATE/rules.yar"
stop_clamd
