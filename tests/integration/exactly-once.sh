#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# 100k opens from several processes on a watched tmpfs: every open returns,
# and after SIGTERM the counters show every event answered exactly once
# (events_read == events_answered >= the opens made, pending 0, no failed
# answer, nothing left to the deadline). Measures the cost per open against
# the same load without a listener.
#
# FG_LOAD_PROCS (4) and FG_LOAD_OPENS (100000, in total) change the load.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"

procs=${FG_LOAD_PROCS:-4}
opens=${FG_LOAD_OPENS:-100000}
iters=$((opens / procs))
opens=$((iters * procs))
serial=10000

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
stats=$FG_STATE/stats
mkdir "$s/load"
# Something to scan for, so that every event goes through a worker (an
# empty denylist lets the readers answer at receipt).
printf '%064d\n' 0 >"$FG_STATE/denylist"

# Baseline: the same load, same tmpfs, no listener.
fgcheck_ok load --procs "$procs" --iters "$iters" --dir "$s/load" --files 64 --create \
	--timeout-s 60
base=$(printf '%s\n' "$FGCHECK_OUT" | grep 'opens=')
base_lat=$(printf '%s\n' "$FGCHECK_OUT" | grep 'latency_us')
# One opener at a time: the latency a listener adds to each open.
fgcheck_ok load --procs 1 --iters "$serial" --dir "$s/load" --timeout-s 60
base1_lat=$(printf '%s\n' "$FGCHECK_OUT" | grep 'latency_us')

# --no-cache: every open must be an event (cached clean files raise none).
start_fanguardd_log "$FG_STATE/fanguardd.log" --watch "$s" --deny-hashes "$FG_STATE/denylist" \
	--default-verdict allow --deadline-ms 10000 --stats-file "$stats" --no-cache
log "fanguardd $FANGUARDD_PID ready, watching $s"

fgcheck_ok load --procs "$procs" --iters "$iters" --dir "$s/load" --timeout-s 60
with=$(printf '%s\n' "$FGCHECK_OUT" | grep 'opens=')
with_lat=$(printf '%s\n' "$FGCHECK_OUT" | grep 'latency_us')
fgcheck_ok load --procs 1 --iters "$serial" --dir "$s/load" --timeout-s 60
with1_lat=$(printf '%s\n' "$FGCHECK_OUT" | grep 'latency_us')

# The counters while idle, then after SIGTERM.
fanguardd_stats_now "$stats"
[ "$(stats_get "$stats" pending)" = 0 ] || fail_with_log "events pending while idle"
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
log "fanguardd stopped in ${STOP_MS} ms"
assert_stats_balanced "$stats"
rd=$(stats_get "$stats" events_read)
[ "$rd" -ge $((opens + serial)) ] || fail_with_log "events_read=$rd < $((opens + serial)) opens made"
for k in denied reason_deadline reason_queue_full reason_shutdown workers_abandoned; do
	v=$(stats_get "$stats" "$k")
	[ "$v" = 0 ] || fail_with_log "$k=$v, expected 0"
done

b_rate=$(load_get "$base" opens_per_s)
w_rate=$(load_get "$with" opens_per_s)
b_us=$(load_get "$base" us_per_open)
w_us=$(load_get "$with" us_per_open)
b_p50=$(load_get "$base_lat" p50)
w_p50=$(load_get "$with_lat" p50)
b_p99=$(load_get "$base_lat" p99)
w_p99=$(load_get "$with_lat" p99)
log "RESULT opens=$((opens + serial)) ($opens from $procs procs, $serial from 1) cpus=$(nproc)" \
	"events_read=$rd (kernel extra: $((rd - opens - serial)))"
log "RESULT 1 opener: latency p50 $(load_get "$base1_lat" p50) us -> $(load_get "$with1_lat" p50) us," \
	"p99 $(load_get "$base1_lat" p99) us -> $(load_get "$with1_lat" p99) us;" \
	"added p50 $(awk -v a="$(load_get "$with1_lat" p50)" -v b="$(load_get "$base1_lat" p50)" 'BEGIN { printf "%.2f", a - b }') us"
log "RESULT without listener: ${b_rate} opens/s, ${b_us} us/open (wall), latency p50 ${b_p50} us p99 ${b_p99} us"
log "RESULT with fanguardd:   ${w_rate} opens/s, ${w_us} us/open (wall), latency p50 ${w_p50} us p99 ${w_p99} us"
log "RESULT cost ratio (us/open with / without): $(awk -v a="$w_us" -v b="$b_us" 'BEGIN { printf "%.1f", a / b }')x," \
	"added $(awk -v a="$w_us" -v b="$b_us" 'BEGIN { printf "%.2f", a - b }') us/open;" \
	"events/s answered $(awk -v n="$rd" -v r="$w_rate" -v o="$opens" 'BEGIN { printf "%.0f", r * n / o }')"
log "PASS"
