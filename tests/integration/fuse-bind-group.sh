#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 13: one superblock, one group. A FUSE mount under a watched tree
# (fusetest passthrough) gets a group of its own; a bind of it, and a bind
# of a directory inside it, made later under the same tree, show the same
# FUSE superblock and must join that group: no new group (the stats'
# groups gauge stays at 2), the log and `fanguardctl mounts` name the mount
# whose group covers them, an open through a bind is read by that group
# exactly once (group_events_read and the listener's events_read grow by 1,
# not 2: a second group with a filesystem mark would see it again), and a
# denylisted file opened through a bind is denied.
# Marks only a tmpfs this test made and the FUSE mount it started, in a
# private mount namespace; daemons killed by PID, connections aborted at exit.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
FANGUARDCTL=${FANGUARDCTL:-$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl}
enter_private_mountns "$@"
require_fusectl

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
stats=$FG_STATE/stats
ctl=$FG_STATE/control
tag=$RANDOM$RANDOM
mkdir -p "$s/b/sub" "$s/m" "$s/bm" "$s/bs"
echo "clean content $tag" >"$s/b/clean"
echo "clean content $tag sub" >"$s/b/sub/clean2"
printf 'fanguard test: denylisted content %s\n' "$tag" >"$s/b/evil"
sha256sum "$s/b/evil" | cut -d' ' -f1 >"$FG_STATE/denylist"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch-tree "$s" \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --stats-file "$stats" \
	--control-socket "$ctl" --no-cache -l debug
groups_now() {
	fanguardd_stats_now "$stats"
	stats_get "$stats" groups
}
# mount_json MNT KEY: KEY of MNT's row in fanguardctl mounts --json.
mount_json() {
	"$FANGUARDCTL" --socket "$ctl" mounts --json | python3 -c '
import json, sys
ws = [w for w in json.load(sys.stdin) if w.get("mount_point") == sys.argv[1]]
print(ws[0][sys.argv[2]] if ws else "missing")' "$1" "$2"
}

start_fusetest passthrough "$s/b" "$s/m"
wait_until 10 grep -qE "mount [0-9]+ '$s/m' .*group fuse/[0-9]+ \(new\), marked in" \
	"$FANGUARDD_LOG" || fail_with_log "FUSE mount not marked with a group of its own"
mid=$(awk -v m="$s/m" '$5 == m { print $1 }' /proc/self/mountinfo)
[ "$(groups_now)" = 2 ] || fail_with_log "want 2 groups (local, the FUSE mount's), got $(stats_get "$stats" groups)"
group=$(mount_json "$s/m" group_name)
log "FUSE mount $mid on $s/m: group $group"

for b in "$s/m:$s/bm" "$s/m/sub:$s/bs"; do
	src=${b%%:*} dst=${b#*:}
	mount --bind "$src" "$dst" || fail_with_log "bind $src on $dst"
	at_exit "umount -l '$dst' 2>/dev/null"
	wait_until 10 grep -qE "mount [0-9]+ '$dst' .*: group $group \(the filesystem of mount $mid\), marked in" \
		"$FANGUARDD_LOG" || fail_with_log "bind on $dst did not join group $group of mount $mid"
	[ "$(groups_now)" = 2 ] || fail_with_log "bind on $dst: want 2 groups, got $(stats_get "$stats" groups)"
	[ "$(mount_json "$dst" same_fs_as_mount_id)" = "$mid" ] ||
		fail_with_log "mounts --json: $dst not shown as covered by mount $mid"
	log "bind $src on $dst: covered by group $group of mount $mid"
done
out=$("$FANGUARDCTL" --socket "$ctl" mounts) || fail_with_log "fanguardctl mounts"
grep -qE "covered +by group $group of mount $mid \(the same filesystem\)" <<<"$out" ||
	fail_with_log "fanguardctl mounts does not say the bind is covered by mount $mid: $out"

# One open through a bind: one event, read once (no cache marks: every open
# is an event).
fanguardd_stats_now "$stats"
r0=$(stats_get "$stats" events_read)
g0=$(mount_json "$s/m" group_events_read)
fgcheck_ok open "$s/bm/clean" ok 3000
fanguardd_stats_now "$stats"
r1=$(stats_get "$stats" events_read)
g1=$(mount_json "$s/m" group_events_read)
log "one open through the bind: group $group read $((g1 - g0)) event(s), the listener $((r1 - r0))"
[ $((g1 - g0)) = 1 ] || fail_with_log "group $group read $((g1 - g0)) events for one open"
# The daemon's opens of its backing file (for the opener, and for the
# kernel's open of the event's fd) are two events in the local group.
[ $((r1 - r0)) -le 3 ] || fail_with_log "the listener read $((r1 - r0)) events for one open"
sleep 0.2 # the verdict lines come from the log thread
n=$(grep -cE "class=fuse reason=[a-z]+ .*path=$s/bm/clean\$" "$FANGUARDD_LOG" || true)
[ "$n" = 1 ] || fail_with_log "one open through the bind got $n FUSE verdicts"
fgcheck_ok open "$s/bm/evil" EPERM 3000
fgcheck_ok open "$s/bs/clean2" ok 3000

# An event's fd is closed just after its answer (the worker notes the
# clean verdict first): the unmount may take a moment, never more than 1 s.
for m in bs bm; do
	wait_until 1 umount "$s/$m" || fail_with_log "umount of the bind $m: $(umount "$s/$m" 2>&1)"
done
umount "$s/m" || fail_with_log "umount $s/m"
wait_pid_exited "$FUSETEST_PID" 5 || fail_with_log "fusetest did not exit"
untrack_pid "$FUSETEST_PID"
wait_until 10 bash -c '[ "$(grep -c "fuse/[0-9]*: released" "$1")" -ge 1 ]' _ "$FANGUARDD_LOG" ||
	fail_with_log "the FUSE group was not released after its mounts went away"
[ "$(groups_now)" = 1 ] || fail_with_log "want 1 group after the unmounts, got $(stats_get "$stats" groups)"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
log "PASS"
