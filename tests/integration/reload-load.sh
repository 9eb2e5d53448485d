#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SIGHUP reloads under open load lose and double-answer nothing:
#  - 4 processes open files on the watched tmpfs while the daemon is sent
#    SIGHUP as fast as it reloads (each reload re-reads fanguard.conf and
#    swaps the denylist and exclusions under the library's config lock);
#    meanwhile a denylisted file is opened again and again and must be
#    denied every time (no reload may open a window with an empty list);
#  - afterwards events_read == events_answered, pending 0, no failed answer,
#    nothing answered by deadline, every load open succeeded;
#  - a broken fanguard.conf (unknown key) on reload is reported as
#    FILE:LINE, in the log and by fanguardctl reload, and the old
#    configuration stays in force;
#  - a denylist change takes effect on "fanguardctl reload", synchronously;
#  - a watch added to fanguard.conf is marked on reload;
#  - a restart-only change (QueueLen=) is named in the log, not applied.
# FG_RELOAD_SECONDS (5) sets the length of the loop.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"
CTL=$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl
secs=${FG_RELOAD_SECONDS:-5}

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
s2=$(scratch_tmpfs 16m)
assert_own_tmpfs "$s2"
mkdir "$s/load"
echo "bad content" >"$s/bad.txt"
echo "fine today" >"$s/later.txt"
echo "other" >"$s2/x.txt"
sha256sum "$s/bad.txt" | awk '{print $1 "  bad"}' >"$FG_STATE/deny.txt"
# A second list, so every reload reads two files.
printf '%064d  zero\n' 0 >"$FG_STATE/deny2.txt"
stats=$FG_STATE/stats
sock=$FG_STATE/control
conf=$FG_STATE/fanguard.conf
write_conf() {
	cat >"$conf.tmp" <<CONF
[Watch]
Mount = $s
$1
[Scan]
DenyHashes = $FG_STATE/deny.txt
DenyHashes = $FG_STATE/deny2.txt
DeadlineMs = 10000
$2
[Cache]
# Every open an event: the point is to answer many events across reloads.
Enabled = no
[Daemon]
ControlSocket = $sock
StatsFile = $stats
CONF
	mv "$conf.tmp" "$conf"
}
write_conf "" ""
start_fanguardd_log "$FG_STATE/fanguardd.log" --config "$conf"
ctl() { timeout 20 "$CTL" --socket "$sock" "$@"; }

# The load, in the background: batches of opens until told to stop; every
# batch must complete with every open allowed.
fgcheck_ok load --procs 1 --iters 64 --dir "$s/load" --files 64 --create --timeout-s 20
(
	while [ ! -e "$FG_STATE/stop-load" ]; do
		"$FGCHECK" load --procs 4 --iters 5000 --dir "$s/load" --files 64 --timeout-s 20 ||
			{ echo "BATCH FAILED"; exit 1; }
	done
) >"$FG_STATE/load.out" 2>&1 &
load_pid=$!
track_pid $load_pid
# The load is under way once the daemon reads its events.
read0=$(ctl stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["events_read"])')
wait_until 20 bash -c "[ \$(timeout 20 '$CTL' --socket '$sock' stats | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"events_read\"])') -gt $((read0 + 1000)) ]" ||
	fail_with_log "the load did not start"

# Reload as fast as the daemon takes SIGHUP, checking the denial throughout.
end=$(($(now_ms) + secs * 1000))
sent=0
denied_checks=0
while [ "$(now_ms)" -lt $end ]; do
	kill -HUP "$FANGUARDD_PID"
	sent=$((sent + 1))
	if ((sent % 10 == 0)); then
		if cat "$s/bad.txt" >/dev/null 2>&1; then
			fail_with_log "the denylisted file was allowed during a reload (after $sent SIGHUPs)"
		fi
		denied_checks=$((denied_checks + 1))
	fi
	sleep 0.001 # the pace of the SIGHUPs: the workload
done
touch "$FG_STATE/stop-load"
wait_pid_exited $load_pid 30 || fail_with_log "load did not finish"
rc=0
wait $load_pid 2>/dev/null || rc=$?
untrack_pid $load_pid
{ grep -E 'opens=' "$FG_STATE/load.out" || true; } | tail -2 | sed 's/^/# load: /' >&2
[ $rc = 0 ] && ! grep -q 'BATCH FAILED' "$FG_STATE/load.out" || {
	sed 's/^/# load: /' "$FG_STATE/load.out" >&2
	fail_with_log "a load batch failed"
}
batches=$(grep -c 'opens=' "$FG_STATE/load.out" || true)
opens=$(grep -o ' opens=[0-9]*' "$FG_STATE/load.out" | awk -F= '{ n += $2 } END { print n + 0 }')
[ "$batches" -ge 1 ] || fail_with_log "the load made no opens"

# The daemon may still be working through the last SIGHUPs: poll (bounded)
# until at least 10 reloads are done.
reloads() { ctl stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["reloads"])'; }
end=$(($(now_ms) + 10000))
until ok=$(reloads) && [ "$ok" -ge 10 ]; do
	[ "$(now_ms)" -lt $end ] || fail_with_log "only $ok reloads done for $sent SIGHUPs"
	sleep 0.05
done
log "RESULT reload loop: $sent SIGHUPs in ${secs}s, $ok reloads done ($(awk -v n="$ok" -v t="$secs" 'BEGIN { printf "%.0f", n / t }')/s)," \
	"denylisted file denied $denied_checks/$denied_checks times; $opens load opens in $batches batches"

# A broken configuration: FILE:LINE in the log, the old one stays.
write_conf "" "Bogus = 1"
line=$(grep -n '^Bogus' "$conf" | cut -d: -f1)
if ctl reload 2>"$FG_STATE/ctl.err"; then fail_with_log "a broken configuration was accepted"; fi
grep -q "$conf:$line: unknown key 'Bogus' in section \[Scan\]" "$FANGUARDD_LOG" ||
	fail_with_log "no FILE:LINE error for the unknown key"
grep -q 'keeping the previous configuration' "$FANGUARDD_LOG" || fail_with_log "no keep message"
grep -q "$conf:$line: unknown key 'Bogus' in section \[Scan\]" "$FG_STATE/ctl.err" ||
	fail_with_log "fanguardctl reload did not say why: $(cat "$FG_STATE/ctl.err")"
if cat "$s/bad.txt" >/dev/null 2>&1; then fail_with_log "old denylist lost after a failed reload"; fi
kill -0 "$FANGUARDD_PID" || fail_with_log "fanguardd died on a broken configuration"

# A denylist change, applied synchronously by fanguardctl reload; a new watch.
cat "$s/later.txt" >/dev/null || fail_with_log "later.txt denied before it was listed"
cat "$s2/x.txt" >/dev/null || fail_with_log "x.txt denied before it was watched"
sha256sum "$s/later.txt" "$s2/x.txt" | awk '{print $1 "  more"}' >>"$FG_STATE/deny.txt"
write_conf "Mount = $s2" ""
ctl reload >/dev/null || fail_with_log "reload failed"
if cat "$s/later.txt" >/dev/null 2>&1; then fail_with_log "new denylist entry not in force"; fi
if cat "$s2/x.txt" >/dev/null 2>&1; then fail_with_log "watch added on reload not in force"; fi
grep -q "^$s2 " <<<"$(ctl mounts)" || fail_with_log "new watch not listed"
# A setting that applies at the next start: accepted, named, not applied.
write_conf "Mount = $s2" "QueueLen = 100"
ctl reload >/dev/null || fail_with_log "reload with a restart-only change failed"
grep -q 'Changed, taking effect at the next start: --queue-len$' "$FANGUARDD_LOG" ||
	fail_with_log "the restart-only change was not named"

stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
for k in reason_deadline reason_queue_full workers_abandoned; do
	v=$(stats_get "$stats" "$k")
	[ "$v" = 0 ] || fail_with_log "$k=$v, expected 0"
done
log "RESULT events_read=$(stats_get "$stats" events_read) events_answered=$(stats_get "$stats" events_answered) denied=$(stats_get "$stats" denied)"
log "PASS"
