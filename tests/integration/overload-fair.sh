#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Overload is visible and bounded, and fair per subject uid (issue 17):
#  - a slow scanner: fusetest answers every read 20 ms late (slow-read-ms),
#    the verdict cache is off, the FUSE group has 2 workers and a 1500 ms
#    deadline, so it scans about 100 files/s;
#  - the group's queue holds 256 events (so a uid's share is 64);
#  - uid A (61001) floods with 100 openers on that mount (each waits for its
#    answer, so openers, not opens, make a backlog); uid B (61002) opens its
#    own files one at a time meanwhile;
#  - policy --default-verdict deny (on-deadline and on-queue-full follow it),
#    so an open that got the default verdict fails with EPERM where the
#    opener can count it.
# Asserts: A's flood was turned away (queue full counted), B's opens were
# still scanned (at most 2% EPERM, p99 under the deadline), `fanguardctl
# status` shows the overload, `mounts` counts it for the FUSE mount, and the
# log summarises (one "unscanned" line per group and reason per 10 s, at
# most a handful) instead of a line per event. Every event answered once.
# FG_FAIR_REPORT=1 prints B's numbers only (for a run against an older
# fanguardd, FANGUARDD=..., to compare); FG_FAIR_FLOOD_PROCS [100] and
# FG_FAIR_B_ITERS [150] size the flood and B's measurement.
set -euo pipefail
export FG_TEST_DEADLINE=${FG_TEST_DEADLINE:-100}
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
require_cmd setpriv
enter_private_mountns "$@"
require_fusectl

CTL=$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl
s=$(scratch_tmpfs 64m)
assert_own_mount "$s"
b=$(scratch_tmpfs 64m)
m=$s/mnt
stats=$FG_STATE/stats
sock=$FG_STATE/control
log=$FG_STATE/fanguardd.log
mkdir "$m" "$b/a" "$b/b"
chmod 0755 "$b" "$b/a" "$b/b"
"$FGCHECK" load --procs 1 --iters 1 --dir "$b/a" --files 64 --create >/dev/null ||
	fail "cannot create A's files"
"$FGCHECK" load --procs 1 --iters 1 --dir "$b/b" --files 16 --create >/dev/null ||
	fail "cannot create B's files"
chmod -R a+rX "$b"
# The denylist makes a scanner run; nothing matches.
printf '%064d\n' 0 >"$FG_STATE/deny.txt"

start_fusetest passthrough "$b" "$m" --slow-read-ms 20 --threads 64 \
	-o allow_other,entry_timeout=3600,attr_timeout=3600
at_exit "umount -l '$m' 2>/dev/null"
assert_own_mount "$m"

start_fanguardd_log "$log" --watch "$m" --deny-hashes "$FG_STATE/deny.txt" --no-cache \
	--fuse-workers 2 --fuse-deadline-ms 1500 --queue-len 256 --default-verdict deny \
	--stats-file "$stats" --control-socket "$sock"

as_uid() { # UID CMD...
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --clear-groups "$@"
}

# A floods for 15 s (its opens fail fast once turned away).
as_uid 61001 "$FGCHECK" load --procs "${FG_FAIR_FLOOD_PROCS:-100}" --iters 20000 --dir "$m/a" --timeout-s 15 \
	>"$FG_STATE/flood.out" 2>&1 &
flood=$!
track_pid $flood
# Until A's flood has a backlog (an older fanguardd has no overload line).
wait_until 10 bash -c "timeout 5 '$CTL' --socket '$sock' status |
	awk '/^events:/ { if (\$6 + 0 >= 40) f = 1 } END { exit !f }'" ||
	fail_with_log "no overload while uid 61001 floods: $(cat "$FG_STATE/flood.out"; timeout 5 "$CTL" --socket "$sock" status 2>&1)"
t0=$(now_ms)
b_iters=${FG_FAIR_B_ITERS:-150}
as_uid 61002 "$FGCHECK" load --procs 1 --iters "$b_iters" --dir "$m/b" --timeout-s 30 \
	>"$FG_STATE/b.out" 2>&1 || true
b_ms=$(($(now_ms) - t0))
timeout 5 "$CTL" --socket "$sock" status >"$FG_STATE/status.out" ||
	fail_with_log "fanguardctl status failed under the flood"
timeout 5 "$CTL" --socket "$sock" mounts --json >"$FG_STATE/mounts.json" ||
	fail_with_log "fanguardctl mounts failed under the flood"
wait $flood 2>/dev/null || true
untrack_pid $flood
cat "$FG_STATE/b.out" >&2
{ grep '^load: \(opens\|errno\)' "$FG_STATE/flood.out" || head -5 "$FG_STATE/flood.out"; } |
	sed 's/^/# flood (uid 61001): /' >&2

line=$(grep '^load: opens=' "$FG_STATE/b.out") || fail_with_log "B's load gave no result"
opens=$(load_get "$line" opens)
failed=$(load_get "$line" failed)
p99=$(grep '^load: latency_us' "$FG_STATE/b.out" | tr ' ' '\n' | awk -F= '$1 == "p99" { print $2 }')
echo "# uid 61002 under uid 61001's flood: $opens opens in $b_ms ms, $failed got the default verdict (EPERM), p99 ${p99} us" >&2
if [ "${FG_FAIR_REPORT:-0}" = 1 ]; then
	stop_fanguardd_within 20 || true
	exit 0
fi

stop_fanguardd_within 20 || fail_with_log "fanguardd failed at stop"
assert_stats_balanced "$stats"
qf=$(stats_get "$stats" reason_queue_full)
[ "$qf" -gt 0 ] || fail_with_log "the flood was never turned away (queue full 0)"
[ "$opens" = "$b_iters" ] || fail_with_log "uid 61002 did only $opens of $b_iters opens"
# Fair: B waits for about one scan of A's per turn, never for A's backlog.
[ "$failed" -le 3 ] || fail_with_log "uid 61002: $failed of 150 opens got the default verdict"
awk -v p="$p99" 'BEGIN { exit !(p < 1500000) }' ||
	fail_with_log "uid 61002: p99 $p99 us, past the 1500 ms deadline"

grep -q '^overload: YES' "$FG_STATE/status.out" || fail_with_log "status: $(cat "$FG_STATE/status.out")"
python3 - "$FG_STATE/mounts.json" "$m" <<'PY' || fail_with_log "mounts does not count the overload"
import json, sys
w = [x for x in json.load(open(sys.argv[1])) if x["path"] == sys.argv[2]]
assert w and w[0]["unscanned_queue_full"] > 0 and w[0]["overload"], w
PY
# One summary line per group, reason and verdict per window, not per event.
grep -E 'opens denied unscanned in the last [0-9]+ s on fuse/[0-9]+: queue full' "$log" >&2 ||
	fail_with_log "no queue-full summary in the log"
n=$(grep -c 'unscanned in the last' "$log" || true)
[ "$n" -le 8 ] || fail_with_log "$n summary lines for a 15 s flood"
if grep -q 'deadline passed for pid' "$log"; then
	fail_with_log "a log line per event at the deadline"
fi
echo "ok: uid 61002 scanned under uid 61001's flood ($failed/150 default verdicts, p99 $p99 us); $qf queue-full answers summarised in $n lines"
