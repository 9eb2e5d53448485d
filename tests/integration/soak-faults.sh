#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Exactly-once under faults, for FG_SOAK_FAULTS_SECONDS (default 30):
#  - 8 processes open local files on the watched tmpfs in a loop (no verdict
#    cache: every open is an event), and every batch must complete with every
#    open allowed;
#  - a hung FUSE daemon: fusetest on a watched mount never answers OPEN of
#    /hang*; 4 openers (and the fanguardd readers that take their events)
#    stay stuck in it, and a FUSE file that does not hang is opened now and
#    then (reported);
#  - scanner errors on every scan: the clamd endpoint does not exist (the
#    event then gets the default verdict, allow, with reason "error"), while
#    the SHA-256 denylist still decides: the denylisted file must be denied
#    every time it is tried;
#  - the configuration is reloaded (SIGHUP) every 100 ms.
# At the end the hung FUSE connection is aborted first (threads stuck in
# FUSE would trip TSan at exit; fuse-hang and fuse-flush-hang cover a stop
# with them), then fanguardd stops: events_read == events_answered, pending
# 0, no failed answer, scanner errors were seen, reloads kept up.
set -euo pipefail
secs=${FG_SOAK_FAULTS_SECONDS:-30}
export FG_TEST_DEADLINE=${FG_TEST_DEADLINE:-$((secs + 80))}
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
enter_private_mountns "$@"
require_fusectl

s=$(scratch_tmpfs 128m)
assert_own_tmpfs "$s"
# The FUSE mount's backing store is not watched: its files are scanned
# through the FUSE mount only.
b=$(scratch_tmpfs 16m)
m=$s/mnt
stats=$FG_STATE/stats
conf=$FG_STATE/fanguard.conf
mkdir "$m" "$s/load"
for f in hang1 hang2 hang3 hang4 ok1; do
	head -c 4096 /dev/urandom >"$b/$f"
done
echo "denylisted content" >"$s/bad.txt"
sha256sum "$s/bad.txt" | awk '{print $1 "  bad"}' >"$FG_STATE/deny.txt"
printf '%064d  zero\n' 0 >"$FG_STATE/deny2.txt"
"$FGCHECK" load --procs 1 --iters 1 --dir "$s/load" --files 64 --create >/dev/null ||
	fail "cannot create the local files"

start_fusetest passthrough "$b" "$m" -o entry_timeout=3600,attr_timeout=3600 --threads 64
at_exit "umount -l '$m' 2>/dev/null"
assert_own_mount "$m"

cat >"$conf" <<CONF
[Watch]
Mount = $s
Mount = $m
[Scan]
DenyHashes = $FG_STATE/deny.txt
DenyHashes = $FG_STATE/deny2.txt
# Nobody listens here: every clamd scan fails.
ClamdSocket = $FG_STATE/no-clamd.sock
DefaultVerdict = allow
[Local]
DeadlineMs = 10000
[FUSE]
DeadlineMs = 1000
[Cache]
Enabled = no
[Daemon]
StatsFile = $stats
ControlSocket =
CONF
start_fanguardd_log "$FG_STATE/fanguardd.log" --config "$conf"
for f in hang1 hang2 hang3 hang4 ok1; do
	fgcheck_ok open "$m/$f" ok 5000 # looked up (cached) while healthy
done

# The hung FUSE daemon, with its victims.
fusetest_control 'hang-path=/hang*'
hang_pids=()
for i in 1 2 3 4; do
	"$FGCHECK" open "$m/hang$i" ok $(((secs + 60) * 1000)) >"$FG_STATE/hang$i.out" 2>&1 &
	hang_pids+=($!)
	track_pid $!
done

# The 8 openers, in batches until told to stop.
(
	while [ ! -e "$FG_STATE/stop-load" ]; do
		"$FGCHECK" load --procs 8 --iters 500 --dir "$s/load" --files 64 --timeout-s 30 ||
			{ echo "BATCH FAILED"; exit 1; }
	done
) >"$FG_STATE/load.out" 2>&1 &
load_pid=$!
track_pid $load_pid

# Reload every 100 ms (the pace is the workload, not a synchronisation);
# check the denylist every 5th round and open the healthy FUSE file every
# 20th.
end=$(($(now_ms) + secs * 1000))
sent=0
denied=0
fuse_ok=0
fuse_tries=0
while [ "$(now_ms)" -lt $end ]; do
	kill -HUP "$FANGUARDD_PID" || fail_with_log "fanguardd is gone"
	sent=$((sent + 1))
	if ((sent % 5 == 0)); then
		if timeout 20 cat "$s/bad.txt" >/dev/null 2>&1; then
			fail_with_log "the denylisted file was allowed (round $sent)"
		fi
		denied=$((denied + 1))
	fi
	if ((sent % 20 == 0)); then
		fuse_tries=$((fuse_tries + 1))
		"$FGCHECK" open "$m/ok1" ok 5000 >/dev/null 2>&1 && fuse_ok=$((fuse_ok + 1))
	fi
	pid_exited "$load_pid" && break
	sleep 0.1
done
touch "$FG_STATE/stop-load"
wait_pid_exited $load_pid 60 || fail_with_log "the load did not finish"
rc=0
wait $load_pid 2>/dev/null || rc=$?
untrack_pid $load_pid
[ $rc = 0 ] && ! grep -q 'BATCH FAILED' "$FG_STATE/load.out" || {
	sed 's/^/# load: /' "$FG_STATE/load.out" >&2
	fail_with_log "a load batch failed"
}
batches=$(grep -c 'opens=' "$FG_STATE/load.out" || true)
opens=$(grep -o ' opens=[0-9]*' "$FG_STATE/load.out" | awk -F= '{ n += $2 } END { print n + 0 }')
[ "$batches" -ge 1 ] || fail_with_log "the load made no opens"
for p in "${hang_pids[@]}"; do
	pid_exited "$p" && fail_with_log "an opener of a hung FUSE file returned: the fault did not hold"
done
stuck=$(grep -l request_wait_answer /proc/"$FANGUARDD_PID"/task/*/stack 2>/dev/null | wc -l)
threads=$(ls /proc/"$FANGUARDD_PID"/task | wc -l)

# Abort the hung connection, then stop.
abort_fuse "$FUSETEST_CONN"
for p in "${hang_pids[@]}"; do
	wait_pid_exited "$p" 10 || fail_with_log "opener $p still stuck 10 s after the FUSE abort"
	wait "$p" 2>/dev/null || true
	untrack_pid "$p"
done
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
reloads=$(grep -c 'Reloaded:' "$FANGUARDD_LOG" || true)
failed=$(grep -c 'Reload failed' "$FANGUARDD_LOG" || true)
errors=$(stats_get "$stats" reason_error)
log "RESULT ${secs}s: $opens local opens in $batches batches by 8 processes; $sent SIGHUPs," \
	"$reloads reloads ($failed failed); denylisted file denied $denied/$denied times;" \
	"healthy FUSE file opened $fuse_ok/$fuse_tries times; 4 FUSE opens hung with" \
	"$stuck fanguardd threads waiting on FUSE, $threads threads in all; events_read" \
	"$(stats_get "$stats" events_read), reason_error $errors," \
	"reason_deadline $(stats_get "$stats" reason_deadline)," \
	"readers_added $(stats_get "$stats" readers_added)"
[ "$failed" = 0 ] || fail_with_log "$failed reloads failed"
# Signals coalesce while a reload runs: ask for a quarter of them.
[ $((reloads * 4)) -ge "$sent" ] || fail_with_log "only $reloads reloads for $sent SIGHUPs"
[ "$errors" -ge "$opens" ] || fail_with_log "reason_error=$errors: the failing clamd was not tried on every scan"
[ "$(stats_get "$stats" denied)" -ge "$denied" ] || fail_with_log "fewer denials than denied opens"
log "PASS"
