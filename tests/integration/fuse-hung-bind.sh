#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 13: a hung daemon moved out of a shared group takes the other mounts
# of its filesystem with it. Under --max-groups 4 every FUSE mount shares
# fuse/shared-1 (the local group uses the whole own-group budget). A FUSE
# mount (fusetest passthrough) and a bind of it (one superblock: the bind
# joins the mount's group, same_fs_as) sit in that group, beside a second
# FUSE mount. The first daemon hangs with an opener waiting: hung.c moves
# the mount out to a group of its own, and `fanguardctl mounts --json` must
# show the bind on that same group (not on the shared group, whose
# filesystem mark was removed, nor on a second group of its own). The other
# mount stays shared and answers. Once the daemon answers again, a
# denylisted file opened through the bind is denied, read by one group
# exactly once.
# Marks only tmpfs this test made and the FUSE mounts it started, in a
# private mount namespace; daemons killed by PID, connections aborted at exit.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
require_cmd python3
FANGUARDCTL=${FANGUARDCTL:-$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl}
enter_private_mountns "$@"
require_fusectl

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
stats=$FG_STATE/stats
ctl=$FG_STATE/control
tag=$RANDOM$RANDOM
# The backing stores are not watched: a deny through a FUSE mount comes
# from the group answering that mount, not from its daemon's backing open.
u=$(scratch_tmpfs 16m)
assert_own_tmpfs "$u"
mkdir -p "$u/b" "$u/b2" "$s/m" "$s/m2" "$s/bm"
echo "clean content $tag" >"$u/b/clean"
echo "clean content $tag 2" >"$u/b2/clean"
printf 'fanguard test: denylisted content %s\n' "$tag" >"$u/b/evil"
cp "$u/b/evil" "$u/b2/evil"
sha256sum "$u/b/evil" | cut -d' ' -f1 >"$FG_STATE/denylist"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch-tree "$s" --max-groups 4 \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --stats-file "$stats" \
	--control-socket "$ctl" --no-cache
# mounts_json: MOUNT_POINT group_name group_shared covered same_fs_as, one line
# per mount point given.
mounts_json() {
	"$FANGUARDCTL" --socket "$ctl" mounts --json | python3 -c '
import json, sys
ws = json.load(sys.stdin)
for mp in sys.argv[1:]:
    m = [w for w in ws if w.get("mount_point") == mp and w.get("class") != "uncovered"]
    if len(m) != 1:
        print(mp, "missing", len(m))
        continue
    w = m[0]
    print(mp, w["group_name"] or "-", int(w["group_shared"] is True), int(w.get("covered", True) is not False),
          w["same_fs_as_mount_id"])' "$@"
}

# Cached entries and attributes: with the daemon hung, the opener's lookup
# still succeeds, and its event reaches a reader (as in coverage.sh step 4).
start_fusetest passthrough "$u/b" "$s/m" -o entry_timeout=3600,attr_timeout=3600
conn1=$FUSETEST_CONN pid1=$FUSETEST_PID control1=$FUSETEST_CONTROL
start_fusetest passthrough "$u/b2" "$s/m2"
for m in "$s/m" "$s/m2"; do
	wait_until 10 grep -qE "mount [0-9]+ '$m' .*: group fuse/shared-1( \(new\))?, marked in" \
		"$FANGUARDD_LOG" || fail_with_log "$m not marked in the shared group"
done
mid=$(awk -v m="$s/m" '$5 == m { print $1 }' /proc/self/mountinfo)
mount --bind "$s/m" "$s/bm" || fail_with_log "bind $s/m on $s/bm"
at_exit "umount -l '$s/bm' 2>/dev/null"
wait_until 10 grep -qE "mount [0-9]+ '$s/bm' .*: group fuse/shared-1 \(the filesystem of mount $mid\), marked in" \
	"$FANGUARDD_LOG" || fail_with_log "the bind did not join the shared group of mount $mid"
log "before: $(mounts_json "$s/m" "$s/bm" "$s/m2" | tr '\n' ';')"
fgcheck_ok open "$s/bm/evil" EPERM 3000
fgcheck_ok open "$s/m2/evil" EPERM 3000
fgcheck_ok open "$s/m/clean" ok 3000

# The first daemon hangs; an opener of its file waits, with a reader of the
# shared group stuck in the kernel's open of the event's file.
fusetest_control_of "$control1" "$pid1" 'hang-path=*'
"$FGCHECK" open "$s/m/clean" ok 120000 >/dev/null 2>&1 &
opener=$!
track_pid $opener
hang_t0=$(now_ms)
wait_readers_in_fuse "$FANGUARDD_PID" 1 20 || fail_with_log "no reader waits on the hung daemon"
wait_until 10 grep -qE "mount [0-9]+ '$s/(b?m)': its daemon hangs .*(moved out to group fuse/|taken out of the shared group)" \
	"$FANGUARDD_LOG" || fail_with_log "the hung mount was not moved out of the shared group"
sleep 0.6 # two more checks of hung.c (every 250 ms): nothing moves twice
log "moved out within $(($(now_ms) - hang_t0)) ms: $(grep -E "its daemon hangs" "$FANGUARDD_LOG" | tail -1)"
rows=$(mounts_json "$s/m" "$s/bm" "$s/m2")
log "after: $(tr '\n' ';' <<<"$rows")"
read -r _ g1 sh1 cov1 _ <<<"$(sed -n 1p <<<"$rows")"
read -r _ g2 sh2 cov2 same2 <<<"$(sed -n 2p <<<"$rows")"
read -r _ g3 sh3 _ _ <<<"$(sed -n 3p <<<"$rows")"
if [ "$cov1" = 1 ]; then
	[[ $g1 == fuse/* && $sh1 = 0 ]] || fail_with_log "mount $s/m is on group $g1 (shared $sh1), not one of its own"
	[ "$g2" = "$g1" ] && [ "$sh2" = 0 ] && [ "$cov2" = 1 ] ||
		fail_with_log "the bind $s/bm is on group $g2 (shared $sh2, covered $cov2), not with its mount on $g1"
	[ "$same2" = "$mid" ] || fail_with_log "the bind's same_fs_as is $same2, not $mid"
	how="moved out to $g1"
else
	# No group of its own: both taken out, both reported uncovered.
	[ "$cov2" = 0 ] || fail_with_log "mount $s/m is uncovered, but its bind $s/bm is shown on $g2"
	how="reported uncovered"
fi
[ "$g3" = fuse/shared-1 ] && [ "$sh3" = 1 ] || fail_with_log "$s/m2 left the shared group ($g3)"
n=$(grep -cE "its daemon hangs .*(moved out|taken out)" "$FANGUARDD_LOG" || true)
[ "$n" = 1 ] || fail_with_log "$n moves out for one hung filesystem"
grep -qE "'$s/b?m': its daemon hangs .* with 1 other mount\(s\) of its filesystem" "$FANGUARDD_LOG" ||
	fail_with_log "the move does not say the bind went with it"
[ "$(readers_in_fuse "$FANGUARDD_PID")" -ge 1 ] || log "(the stuck reader already came back)"
fgcheck_ok open "$s/m2/evil" EPERM 3000
fgcheck_ok open "$s/m2/clean" ok 3000
log "the hung mount and its bind were $how; the shared group's other mount still answers"

# The daemon answers again: the opener completes, and the bind is scanned.
fusetest_control_of "$control1" "$pid1" 'hang-path='
wait_pid_exited "$opener" 10 || fail_with_log "the opener is still stuck after the daemon recovered"
wait "$opener" 2>/dev/null || true
untrack_pid "$opener"
if [ "$cov1" = 1 ]; then
	g_read() {
		"$FANGUARDCTL" --socket "$ctl" mounts --json | python3 -c '
import json, sys
print([w for w in json.load(sys.stdin) if w.get("mount_point") == sys.argv[1]][0]["group_events_read"])' "$1"
	}
	r0=$(g_read "$s/bm") s0=$(g_read "$s/m2")
	fgcheck_ok open "$s/bm/evil" EPERM 3000
	fgcheck_ok open "$s/bm/clean" ok 3000
	fgcheck_ok open "$s/m/evil" EPERM 3000
	r1=$(g_read "$s/bm") s1=$(g_read "$s/m2")
	log "group reads: $g1 $r0 -> $r1, shared-1 $s0 -> $s1"
	[ $((r1 - r0)) = 3 ] || fail_with_log "group $g1 read $((r1 - r0)) events for 3 opens on its filesystem"
	[ $((s1 - s0)) = 0 ] || fail_with_log "the shared group still reads $((s1 - s0)) events of the moved filesystem"
	log "after the recovery: the bind's denylisted file denied, one group read each open once"
else
	fgcheck_ok open "$s/bm/evil" ok 3000
	log "after the recovery: uncovered (not scanned), as reported"
fi

abort_fuse "$conn1"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
log "PASS"
