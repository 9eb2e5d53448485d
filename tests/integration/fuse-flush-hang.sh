#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A FUSE daemon that never answers FLUSH (fusetest --hang-op flush): every
# close(2) of a file on its mount waits uninterruptibly (DESIGN.md §2), also
# fanguardd's close of the event fd after answering. fanguardd watches a
# local tmpfs and a fusetest mount on it:
#  1. healthy: opens on both mounts allowed, a denylisted local file denied;
#  2. FLUSH hangs: opens on the FUSE mount are still answered (the opener's
#     open(2) returns; its own close then hangs, which is the daemon's doing),
#     nothing stays unanswered (events_read == events_answered, pending 0),
#     local opens keep completing and the local denylist is in force;
#  3. SIGTERM: fanguard_stop() returns within its timeout (the stats file,
#     written after it, appears within 5 s + margin; a -ETIMEDOUT naming the
#     stuck threads is logged and reported); the process exits at once or,
#     if threads sit in FLUSH, once the FUSE connection is aborted; exit
#     status 0 and every event read answered exactly once.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
enter_private_mountns "$@"
require_fusectl

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
b=$s/back
m=$s/mnt
stats=$FG_STATE/stats
mkdir "$b" "$m" "$s/local"
for f in f1 f2 f3 f4 f5; do
	head -c 4096 /dev/urandom >"$b/$f"
done
echo "local bad content" >"$s/bad.txt"
sha256sum "$s/bad.txt" | awk '{print $1}' >"$FG_STATE/denylist"
"$FGCHECK" load --procs 1 --iters 1 --dir "$s/local" --files 32 --create >/dev/null ||
	fail "cannot create the local files"

# Long entry/attr timeouts: the hung operation is FLUSH, not a lookup.
start_fusetest passthrough "$b" "$m" -o entry_timeout=3600,attr_timeout=3600 --threads 64
at_exit "umount -l '$m' 2>/dev/null"
assert_own_mount "$m"

# --no-cache: every open is an event, also the second open of a file.
start_fanguardd_log "$FG_STATE/fanguardd.log" --watch "$s" --watch "$m" \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --deadline-ms 5000 \
	--fuse-deadline-ms 1000 --no-cache --stats-file "$stats"

# --- 1: healthy ---------------------------------------------------------------
for f in f1 f2 f3 f4 f5; do
	fgcheck_ok open "$m/$f" ok 3000
done
fgcheck_ok open "$s/bad.txt" EPERM 3000

# Waits (bounded) until the stats say every event read has been answered.
wait_all_answered() { # SECS
	local end=$(($(now_ms) + $1 * 1000)) rd an pe
	while :; do
		fanguardd_stats_now "$stats"
		rd=$(stats_get "$stats" events_read)
		an=$(stats_get "$stats" events_answered)
		pe=$(stats_get "$stats" pending)
		[ "$rd" = "$an" ] && [ "$pe" = 0 ] && return 0
		[ "$(now_ms)" -lt $end ] || break
		sleep 0.05
	done
	fail_with_log "after ${1}s: events_read=$rd events_answered=$an pending=$pe"
}
wait_all_answered 5

# --- 2: every FLUSH hangs -------------------------------------------------------
fusetest_control hang-op=flush
log "fusetest: FLUSH now never gets a reply"
opener_pids=()
for f in f1 f2 f3; do
	"$FGCHECK" open "$m/$f" ok 30000 >"$FG_STATE/$f.out" 2>&1 &
	opener_pids+=($!)
	track_pid $!
done
# Each opener's open(2) is answered; fgcheck reports it even though the
# child then hangs in close(2) (the report goes out before the close).
for f in f1 f2 f3; do
	wait_until 10 grep -q "open $m/$f: ok" "$FG_STATE/$f.out" ||
		fail_with_log "open of $m/$f not answered with FLUSH hung: $(cat "$FG_STATE/$f.out")"
done
wait_all_answered 10
read_before=$(stats_get "$stats" events_read)
# fanguardd's own close of the event fds: the threads that made it, in FLUSH.
stuck=$(grep -l fuse_flush /proc/"$FANGUARDD_PID"/task/*/stack 2>/dev/null | wc -l)
log "RESULT with FLUSH hung: 3 FUSE opens answered; fanguardd threads waiting in fuse_flush: $stuck"

# Local scanning carries on: the denylist holds, opens complete quickly.
fgcheck_ok open "$s/bad.txt" EPERM 3000
fgcheck_ok load --procs 2 --iters 500 --dir "$s/local" --timeout-s 20
l=$(printf '%s\n' "$FGCHECK_OUT" | grep latency_us)
log "RESULT local opens with FLUSH hung: p50 $(load_get "$l" p50) us, p99 $(load_get "$l" p99) us"
awk -v p="$(load_get "$l" p99)" 'BEGIN { exit !(p < 50000) }' ||
	fail_with_log "local opens: p99 $(load_get "$l" p99) us >= 50 ms with FLUSH hung"
# More FUSE opens, while threads sit in FLUSH: still answered.
"$FGCHECK" open "$m/f4" ok 30000 >"$FG_STATE/f4.out" 2>&1 &
opener_pids+=($!)
track_pid $!
wait_until 10 grep -q "open $m/f4: ok" "$FG_STATE/f4.out" ||
	fail_with_log "a later FUSE open was not answered: $(cat "$FG_STATE/f4.out")"
wait_all_answered 10
[ "$(stats_get "$stats" events_read)" -gt "$read_before" ] ||
	fail_with_log "the later FUSE open raised no event"

# --- 3: SIGTERM ---------------------------------------------------------------
ino=$(stat -c %i "$stats")
t0=$(now_ms)
kill -TERM "$FANGUARDD_PID"
stopped_ms=
# fanguardd stops the library with a 5 s timeout, then writes the stats.
while [ $(($(now_ms) - t0)) -lt 12000 ]; do
	[ -z "$stopped_ms" ] && [ "$(stat -c %i "$stats")" != "$ino" ] && stopped_ms=$(($(now_ms) - t0))
	pid_exited "$FANGUARDD_PID" && break
	sleep 0.01
done
[ -n "$stopped_ms" ] || [ "$(stat -c %i "$stats")" != "$ino" ] ||
	fail_with_log "fanguard_stop() did not return within 12 s of SIGTERM (no stats written)"
stopped_ms=${stopped_ms:-$(($(now_ms) - t0))}
[ "$stopped_ms" -lt 8000 ] || fail_with_log "stop took $stopped_ms ms (timeout 5000 ms)"
timedout=no
grep -q 'stuck in a FUSE request' "$FANGUARDD_LOG" && timedout=yes
if pid_exited "$FANGUARDD_PID"; then
	log "RESULT stop returned after $stopped_ms ms (-ETIMEDOUT: $timedout); exited $(($(now_ms) - t0)) ms after SIGTERM with FLUSH still hung"
else
	log "RESULT stop returned after $stopped_ms ms (-ETIMEDOUT: $timedout); still alive, threads:"
	dump_tasks "$FANGUARDD_PID" | sed 's/^/#   /' >&2
	abort_fuse "$FUSETEST_CONN"
	t1=$(now_ms)
	wait_pid_exited "$FANGUARDD_PID" 5 || fail_with_log "fanguardd did not exit within 5 s of the FUSE abort"
	log "RESULT fanguardd exited $(($(now_ms) - t1)) ms after the FUSE abort"
fi
rc=0
wait "$FANGUARDD_PID" || rc=$?
untrack_pid "$FANGUARDD_PID"
[ $rc = 0 ] || fail_with_log "fanguardd exited with status $rc"
grep -E "stuck|abandon" "$FANGUARDD_LOG" | sed 's/^/# log: /' >&2 || true
assert_stats_balanced "$stats"

# The openers hang in their own close until the connection goes away.
abort_fuse "$FUSETEST_CONN"
for p in "${opener_pids[@]}"; do
	wait_pid_exited "$p" 5 || {
		dump_tasks "$p" "$(descendants "$p")" >&2
		fail "opener $p still blocked 5 s after the FUSE abort"
	}
	wait "$p" || true
	untrack_pid "$p"
done
log "PASS"
