#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Live mount tracking: fanguardd --watch-tree on a scratch tmpfs, then FUSE
# mounts made AFTER it started (bindfs, fusetest relay, fuse-overlayfs), one
# after the other. Each must get its own new group without a restart, be
# classified loopback-served with evidence (the daemon holding /dev/fuse for
# its connection, its local sources), be scanned at the backing layer as
# the administrator named it (--scan-at-backing: denylisted content still
# denied, EPERM, through FUSE; clean content opens fast, nothing waits for
# a deadline), and its group must be released when it is unmounted. An overlay over bindfs mounted later gets its own group
# too (fuse-backed). A plain tmpfs mounted later joins the local group. Every
# event is answered exactly once. Without --scan-at-backing (the default)
# the same mount is read through its daemon. Prints mount-to-marked times.
# Mounts only in a private mount namespace; daemons killed by PID, FUSE
# connections aborted at exit (common.sh).
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_cmd bindfs fuse-overlayfs mountpoint
require_fanotify_perm
enter_private_mountns "$@"
if ! mountpoint -q /sys/fs/fuse/connections; then
	mount -t fusectl fusectl /sys/fs/fuse/connections || notrun "cannot mount fusectl"
fi

op_limit_ms=1500
s=$(scratch_tmpfs 256m)
assert_own_tmpfs "$s"
stats=$FG_STATE/stats
tag=$RANDOM$RANDOM
mkdir -p "$s/b1" "$s/b2" "$s/lower" "$s/upper" "$s/work" "$s/m1" "$s/m2" "$s/m3" "$s/t"
for d in b1 b2 lower; do
	echo "clean content $tag $d" >"$s/$d/clean"
	printf 'fanguard test: denylisted content %s\n' "$tag" >"$s/$d/evil"
done
sha256sum "$s/b1/evil" | cut -d' ' -f1 >"$FG_STATE/denylist"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch-tree "$s" \
	--scan-at-backing "$s/m1" --scan-at-backing "$s/m2" --scan-at-backing "$s/m3" \
	--scan-at-backing "$s/ov" --deny-hashes "$FG_STATE/denylist" --default-verdict allow --deadline-ms 4000 \
	--fuse-deadline-ms 3000 --stats-file "$stats" -l debug
log "fanguardd $FANGUARDD_PID ready, watching the tree under $s"

groups_now() {
	fanguardd_stats_now "$stats"
	stats_get "$stats" groups
}
[ "$(groups_now)" = 1 ] || fail_with_log "want 1 group at start, got $(stats_get "$stats" groups)"

# wait_log PATTERN [SECS]: until fanguardd's log has a line matching PATTERN.
wait_log() {
	wait_until "${2:-10}" grep -qE -- "$1" "$FANGUARDD_LOG"
}

# check_mount NAME MNT BACKING_DIR: the mount at MNT (just made) is tracked.
check_mount() {
	local name=$1 m=$2 b=$3 t0 line ms ev
	t0=$(now_ms)
	wait_log "mount [0-9]+ '$m' .*group fuse/[0-9]+ \(new\), marked in" 10 ||
		fail_with_log "$name on $m: no new group within 10s"
	ms=$(($(now_ms) - t0))
	line=$(grep -E "mount [0-9]+ '$m' .*group fuse/" "$FANGUARDD_LOG" | tail -1)
	log "$name: tracked ${ms} ms after mountpoint(1) saw it; $(grep -oE 'marked in [0-9]+ us \([0-9]+ us after the table changed\)' <<<"$line")"
	# Classified after it is marked, on the classifier's thread.
	wait_log "mount [0-9]+ '$m' \(fuse[^)]*\) is (loopback-served|remote or unknown): " 10 ||
		fail_with_log "$name on $m: not classified within 10s"
	wait_log "mount [0-9]+ '$m' \(fuse/[0-9]+\): loopback-served.*scanned at the backing layer" 5 ||
		true
	ev=$(grep -E "mount [0-9]+ '$m' \(fuse[^)]*\) is (loopback-served|remote or unknown): " \
		"$FANGUARDD_LOG" | tail -1)
	log "$name evidence: ${ev#*: }"
	grep -q "is loopback-served" <<<"$ev" || fail_with_log "$name not classified loopback-served"
	grep -qE "holds /dev/fuse for connection $(fuse_conn_from_mountinfo "$m")" <<<"$ev" ||
		fail_with_log "$name: no daemon evidence for connection $(fuse_conn_from_mountinfo "$m")"
	grep -qE "mount [0-9]+ '$m' \(fuse/[0-9]+\): loopback-served.*scanned at the backing layer" \
		"$FANGUARDD_LOG" ||
		fail_with_log "$name: not scanned at the backing layer"
	[ "$(groups_now)" = 2 ] || fail_with_log "$name: want 2 groups, got $(stats_get "$stats" groups)"

	fgcheck_ok open "$m/clean" ok $op_limit_ms
	fgcheck_ok open "$m/evil" EPERM $op_limit_ms
	fgcheck_ok open "$b/evil" EPERM $op_limit_ms
	run_within 5 cat "$m/clean" >/dev/null || fail_with_log "$name: cat $m/clean"
	[ "$RUN_MS" -le $op_limit_ms ] || fail_with_log "$name: cat took ${RUN_MS} ms"
}

# check_released NAME MNT [GROUPS]: after umount, the group goes (GROUPS left, 1).
released_seen=0
check_released() {
	local name=$1 m=$2 t0 line
	t0=$(now_ms)
	wait_log "mount [0-9]+ '$m' \([^)]*\) is gone" 10 || fail_with_log "$name: unmount not seen"
	wait_until 10 bash -c '[ "$(grep -cE "fuse/[0-9]+: released \(group closed" "$1")" -gt "$2" ]' \
		_ "$FANGUARDD_LOG" "$released_seen" || fail_with_log "$name: group not released"
	released_seen=$((released_seen + 1))
	line=$(grep -E 'fuse/[0-9]+: released' "$FANGUARDD_LOG" | tail -1)
	log "$name: released $(($(now_ms) - t0)) ms after umount; ${line#*: }"
	# Its events were answered without reading through the daemon.
	[[ $line =~ after\ ([0-9]+)\ events,\ ([0-9]+)\ answered\ without ]] ||
		fail_with_log "$name: no event counts in '$line'"
	[ "${BASH_REMATCH[1]}" -ge 1 ] && [ "${BASH_REMATCH[2]}" = "${BASH_REMATCH[1]}" ] ||
		fail_with_log "$name: group read ${BASH_REMATCH[1]} events, ${BASH_REMATCH[2]} without content"
	[ "$(groups_now)" = "${3:-1}" ] || fail_with_log "$name: want ${3:-1} groups after umount, got $(stats_get "$stats" groups)"
}

# 1. bindfs, mounted after start.
start_bg bindfs -f "$s/b1" "$s/m1"
bindfs_pid=$LAST_PID
wait_until 10 mountpoint -q "$s/m1" || fail_with_log "bindfs did not mount"
track_fuse "$s/m1"
check_mount bindfs "$s/m1" "$s/b1"
# An overlay over that FUSE mount, mounted later: fuse-backed, own group,
# classified through the FUSE mount it depends on.
mkdir -p "$s/ov" "$s/ovu" "$s/ovw"
mount -t overlay fg-test-ovl -o "lowerdir=$s/m1,upperdir=$s/ovu,workdir=$s/ovw" "$s/ov" ||
	fail_with_log "mount overlay over bindfs"
at_exit "umount -l '$s/ov' 2>/dev/null"
wait_log "mount [0-9]+ '$s/ov' \(overlay\) under '$s' is fuse-backed .*group fuse/[0-9]+ \(new\)" 10 ||
	fail_with_log "overlay over FUSE not tracked"
# Classified after it is marked (classifier thread); read through until then.
wait_log "mount [0-9]+ '$s/ov' \(fuse/[0-9]+\): loopback-served.*scanned at the backing layer" 10 ||
	fail_with_log "overlay over FUSE: not scanned at the backing layer"
log "overlay over bindfs: $(grep -E "mount [0-9]+ '$s/ov' \(overlay\) is " "$FANGUARDD_LOG" | tail -1 | sed 's/^[^:]*: //')"
[ "$(groups_now)" = 3 ] || fail_with_log "overlay: want 3 groups, got $(stats_get "$stats" groups)"
fgcheck_ok open "$s/ov/clean" ok $op_limit_ms
fgcheck_ok open "$s/ov/evil" EPERM $op_limit_ms
umount "$s/ov" || fail_with_log "umount $s/ov"
check_released "overlay over bindfs" "$s/ov" 2
umount "$s/m1" || fail_with_log "umount $s/m1"
wait_pid_exited "$bindfs_pid" 5 || fail_with_log "bindfs did not exit"
untrack_pid "$bindfs_pid"
check_released bindfs "$s/m1"

# 2. fusetest relay (daemon + relay server process).
start_fusetest relay "$s/b2" "$s/m2"
check_mount "fusetest relay" "$s/m2" "$s/b2"
grep -qE "helper pid $FUSETEST_SERVER_PID " "$FANGUARDD_LOG" ||
	log "note: relay server $FUSETEST_SERVER_PID not named as a helper"
stop_fusetest "$s/m2"
check_released "fusetest relay" "$s/m2"

# 3. fuse-overlayfs.
start_bg fuse-overlayfs -f -o "lowerdir=$s/lower,upperdir=$s/upper,workdir=$s/work" "$s/m3"
fo_pid=$LAST_PID
wait_until 10 mountpoint -q "$s/m3" || fail_with_log "fuse-overlayfs did not mount"
track_fuse "$s/m3"
check_mount fuse-overlayfs "$s/m3" "$s/lower"
umount "$s/m3" || fail_with_log "umount $s/m3"
wait_pid_exited "$fo_pid" 5 || fail_with_log "fuse-overlayfs did not exit"
untrack_pid "$fo_pid"
check_released fuse-overlayfs "$s/m3"

# 4. A tmpfs mounted later joins the local group (no new group).
mount -t tmpfs fg-test-late "$s/t" || fail "mount tmpfs $s/t"
at_exit "umount -l '$s/t' 2>/dev/null"
printf 'fanguard test: denylisted content %s\n' "$tag" >"$s/t/evil"
wait_log "mount [0-9]+ '$s/t' .*group local, marked in" 10 || fail_with_log "late tmpfs not tracked"
fgcheck_ok open "$s/t/evil" EPERM $op_limit_ms
[ "$(groups_now)" = 1 ] || fail_with_log "late tmpfs made a group"
umount "$s/t"

# Subjects come with a pidfd (FAN_REPORT_PIDFD, 5.15+), each closed after
# its event: none may be left open once idle.
grep -qE "fuse/[0-9]+: new fanotify group, subjects by pidfd" "$FANGUARDD_LOG" ||
	fail_with_log "FUSE groups do not report pidfds"
n_pidfds=$(find "/proc/$FANGUARDD_PID/fd" -lname '*pidfd*' 2>/dev/null | wc -l)
[ "$n_pidfds" = 0 ] || fail_with_log "fanguardd holds $n_pidfds pidfds while idle"

stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
log "fanguardd stopped in ${STOP_MS} ms"
assert_stats_balanced "$stats"
for k in reason_deadline workers_abandoned; do
	v=$(stats_get "$stats" "$k")
	[ "$v" = 0 ] || fail_with_log "$k=$v: some event waited for its deadline"
done
[ "$(stats_get "$stats" kernel_open_errors)" -ge 3 ] ||
	fail_with_log "denied FUSE opens were not failed by the backing layer"

# By default (no --scan-at-backing) content is read through the daemon (the
# FUSE group scans: none of its events is answered without reading), and
# denylisted content is still denied.
start_fanguardd_log "$FG_STATE/fanguardd2.log" --watch-tree "$s" \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --deadline-ms 4000 \
	--fuse-deadline-ms 3000 --stats-file "$stats"
released_seen=0
start_bg bindfs -f "$s/b1" "$s/m1"
bindfs_pid=$LAST_PID
wait_until 10 mountpoint -q "$s/m1" || fail_with_log "bindfs did not mount"
track_fuse "$s/m1"
wait_log "mount [0-9]+ '$s/m1' .*group fuse/[0-9]+ \(new\), marked in" 10 ||
	fail_with_log "through: bindfs not tracked"
! grep -q "scanned at the backing layer" "$FANGUARDD_LOG" ||
	fail_with_log "the default still scans at the backing layer"
fgcheck_ok open "$s/m1/clean" ok $op_limit_ms
fgcheck_ok open "$s/m1/evil" EPERM $op_limit_ms
umount "$s/m1" || fail_with_log "umount $s/m1"
wait_pid_exited "$bindfs_pid" 5 || fail_with_log "bindfs did not exit"
untrack_pid "$bindfs_pid"
wait_until 10 grep -qE "fuse/[0-9]+: released \(group closed" "$FANGUARDD_LOG" ||
	fail_with_log "through: group not released"
line=$(grep -E 'fuse/[0-9]+: released' "$FANGUARDD_LOG" | tail -1)
log "through: ${line#*: }"
[[ $line =~ after\ ([0-9]+)\ events,\ 0\ answered\ without ]] && [ "${BASH_REMATCH[1]}" -ge 1 ] ||
	fail_with_log "through: the FUSE group did not scan its events"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
log "PASS"
