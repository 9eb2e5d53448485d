#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Overload soak (issue 17): N permission events mixing
#   - a flood by one uid (61001: 100 openers) on a FUSE mount whose reads are
#     slow (fusetest slow-read-ms=20: a slow scanner), so its share of the
#     queue stays full and its surplus gets the queue-full verdict;
#   - the bulk of the events: uid 61002's 4 openers on the watched tmpfs
#     (no verdict cache: every open is an event), every open allowed;
#   - uid 61003 opening files on the slow mount one at a time: still
#     scanned (policy deny on deadline and full queue for that mount, so an
#     unscanned answer shows as EPERM): at most 5% EPERM;
#   - a reload every second (SIGHUP and `fanguardctl reload` in turn), the
#     denylisted file denied throughout;
#   - then SIGKILL of fanguardd under load (the flood and 8 openers of uid
#     61002 on the slow mount are waiting): every opener returns within
#     10 s and no process is left waiting in fanotify (the kernel releases
#     them when the group closes); the openers' remaining opens succeed.
# Before the kill: `status` shows the overload, the log summarises it in a
# few lines (never one per event), events_read == events_answered at a
# clean stats snapshot is not asserted (the kill comes instead): the flood's
# counts and the reloads are.
# usage: overload-soak.sh [short|long] (short: 200000 events, CI; long:
# FG_SOAK_EVENTS, default 1000000). Figures go to stderr as "# ".
set -euo pipefail
mode=${1:-short}
case $mode in
short) events=${FG_SOAK_EVENTS:-200000} ;;
long)
	events=${FG_SOAK_EVENTS:-1000000}
	: "${FG_TEST_DEADLINE:=3600}"
	;;
*)
	echo "usage: $0 [short|long]" >&2
	exit 2
	;;
esac
export FG_TEST_DEADLINE=${FG_TEST_DEADLINE:-170}
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
sock=$FG_STATE/control
conf=$FG_STATE/fanguard.conf
log=$FG_STATE/fanguardd.log
stats=$FG_STATE/stats
mkdir "$m" "$s/local" "$s/bad" "$b/a" "$b/b" "$b/c"
for d in "$s/local" "$b/a" "$b/b" "$b/c"; do
	"$FGCHECK" load --procs 1 --iters 1 --dir "$d" --files 32 --create >/dev/null ||
		fail "cannot create files in $d"
done
chmod -R a+rX "$s/local" "$b"
chmod a+rx "$s" "$b"
echo "overload soak: denylisted $RANDOM$RANDOM" >"$s/bad/evil"
chmod a+r "$s/bad/evil" "$s/bad"
sha256sum "$s/bad/evil" | cut -d' ' -f1 >"$FG_STATE/deny.txt"

start_fusetest passthrough "$b" "$m" --slow-read-ms 20 --threads 64 \
	-o allow_other,entry_timeout=3600,attr_timeout=3600
at_exit "umount -l '$m' 2>/dev/null"
assert_own_mount "$m"
cat >"$conf" <<CONF
[Watch]
Mount = $s
Mount = $m
[Scan]
DenyHashes = $FG_STATE/deny.txt
QueueLen = 256
[FUSE]
Workers = 2
DeadlineMs = 1500
DefaultVerdict = deny
[Cache]
Enabled = no
[Daemon]
ControlSocket = $sock
StatsFile = $stats
CONF
start_fanguardd_log "$log" --config "$conf"

as_uid() { # UID CMD...
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --clear-groups "$@"
}

t0=$(now_ms)
# The flood runs until the kill (its timeout is only a backstop).
as_uid 61001 "$FGCHECK" load --procs 100 --iters 20000 --dir "$m/a" --timeout-s 3000 \
	>"$FG_STATE/flood.out" 2>&1 &
flood=$!
track_pid $flood
per=$((events / 4))
as_uid 61002 "$FGCHECK" load --procs 4 --iters "$per" --dir "$s/local" --timeout-s 3000 \
	>"$FG_STATE/bulk.out" 2>&1 &
bulk=$!
track_pid $bulk

# Reloads every second, the denylisted file checked after each; uid
# 61003's opens on the slow mount meanwhile.
reloads=0 b_opens=0 b_eperm=0
while ! pid_exited $bulk; do
	if [ $((reloads % 2)) = 0 ]; then
		kill -HUP "$FANGUARDD_PID"
	else
		timeout 60 "$CTL" --socket "$sock" reload >/dev/null ||
			fail_with_log "fanguardctl reload failed under load"
	fi
	reloads=$((reloads + 1))
	FGCHECK_OUT=$("$FGCHECK" open "$s/bad/evil" EPERM 10000) ||
		fail_with_log "the denylisted file was not denied after reload $reloads: $FGCHECK_OUT"
	out=$(as_uid 61003 "$FGCHECK" load --procs 1 --iters 20 --dir "$m/c" --timeout-s 30 2>&1 || true)
	line=$(grep '^load: opens=' <<<"$out") || fail_with_log "uid 61003: $out"
	b_opens=$((b_opens + $(load_get "$line" opens)))
	b_eperm=$((b_eperm + $(load_get "$line" failed)))
	sleep 1 # the reload cadence, not a synchronisation
done
wait $bulk || fail_with_log "the bulk load failed: $(cat "$FG_STATE/bulk.out")"
untrack_pid $bulk
bulk_ms=$(($(now_ms) - t0))
sed 's/^/# bulk (uid 61002): /' "$FG_STATE/bulk.out" >&2
timeout 10 "$CTL" --socket "$sock" status >"$FG_STATE/status.out" ||
	fail_with_log "status failed under the flood"
grep -q '^overload: YES' "$FG_STATE/status.out" ||
	fail_with_log "no overload shown: $(cat "$FG_STATE/status.out")"
fanguardd_stats_now "$stats"
read_before=$(stats_get "$stats" events_read)
qf=$(stats_get "$stats" reason_queue_full)
[ "$qf" -gt 0 ] || fail_with_log "the flood was never turned away"
echo "# $read_before events in $bulk_ms ms, $reloads reloads, flood turned away $qf times;" \
	"uid 61003: $b_eperm of $b_opens opens unscanned" >&2
[ "$b_opens" -gt 0 ] && [ $((b_eperm * 20)) -le "$b_opens" ] ||
	fail_with_log "uid 61003: $b_eperm of $b_opens opens got the default verdict"
n=$(grep -c 'unscanned in the last' "$log" || true)
[ "$n" -le $((bulk_ms / 10000 * 4 + 8)) ] || fail_with_log "$n summary lines in $bulk_ms ms"

# SIGKILL under load: 8 more openers on the slow mount, waiting with the flood.
as_uid 61002 "$FGCHECK" load --procs 8 --iters 300 --dir "$m/b" --timeout-s 120 \
	>"$FG_STATE/victim.out" 2>&1 &
victim=$!
track_pid $victim
wait_until 10 bash -c "timeout 5 '$CTL' --socket '$sock' status |
	awk '/^events:/ { if (\$6 + 0 >= 20) f = 1 } END { exit !f }'" ||
	fail_with_log "no opens pending before the kill"
kill -KILL "$FANGUARDD_PID"
kill_ms=$(now_ms)
wait_pid_exited "$FANGUARDD_PID" 10 || fail_with_log "fanguardd did not die on SIGKILL"
wait "$FANGUARDD_PID" 2>/dev/null || true
untrack_pid "$FANGUARDD_PID"
# Released: the victims finish their opens (nothing answers them now but
# the group's release), the flood's openers are no longer stuck either.
wait_pid_exited $victim 10 || fail "openers still blocked 10 s after fanguardd was killed"
rc=0
wait $victim || rc=$?
untrack_pid $victim
released_ms=$(($(now_ms) - kill_ms))
sed 's/^/# victims: /' "$FG_STATE/victim.out" >&2
[ $rc = 0 ] || fail "not every open returned ok after SIGKILL (exit $rc)"
stuck=0
for p in $(pgrep -P $flood || true); do
	[ "$(cat /proc/$p/wchan 2>/dev/null)" = fanotify_handle_event ] && stuck=$((stuck + 1))
done
kill $flood 2>/dev/null || true
wait $flood 2>/dev/null || true
untrack_pid $flood
[ "$stuck" = 0 ] || fail "$stuck flood openers still wait in fanotify after the kill"
echo "ok: overload soak $mode: $read_before events, $reloads reloads, openers released ${released_ms} ms after SIGKILL"
