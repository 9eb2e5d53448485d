#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Restart without a gap for a FUSE mount the mount watcher found after start
# (--watch-tree): its group ("fuse/<mount id>", the same name for the same
# mount in the next instance) is stored with the local one, and the next
# instance keeps it until the watcher's first pass over the mount table has
# claimed it. An open on that mount made while no instance runs waits and
# is then scanned by the successor: a denylisted file is denied, not let
# through by the kernel. (Shape of restart-fdstore.sh, same supervisor.)
# The same with --watch-all-fuse, for a FUSE mount in another mount
# namespace that the connections poller found after start: the successor
# keeps its group until its first poll. --watch-all-fuse marks every FUSE
# filesystem a process in view shows: the test runs in a PID namespace of
# its own (with its own /proc), so it finds only this test's mounts.
set -euo pipefail
if [ "${FG_IN_PIDNS:-}" != 1 ]; then
	exec env FG_IN_PIDNS=1 unshare --pid --fork --mount --propagation private --mount-proc -- \
		bash "$0" "$@"
fi
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fdstore.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
require_cmd python3 nsenter
enter_private_mountns "$@"
require_fusectl

s=$(scratch_tmpfs 16m)
assert_own_mount "$s" # (assert_own_tmpfs: PID 1 is ours here)
back=$(scratch_tmpfs 16m) # the FUSE daemon's backing: not watched
d=$FG_STATE/sup
deny=$FG_STATE/denylist
printf 'fanguard restart-fuse test: denylisted %s\n' "$RANDOM$RANDOM" >"$back/evil"
echo "an ordinary file" >"$back/clean"
sha256sum "$back/evil" | cut -d' ' -f1 >"$deny"

FDSTORE_DIR=$d

# tree_restart NAME_RE [fanguardd options...]: section 1 with those
# options, the FUSE mount's group named as NAME_RE (grep) matches.
tree_restart() {
	local group_re=$1 log_from
	shift
	rm -rf "$d"
	mkdir -p "$d" "$s/m"
	log_from=$(wc -l <"$sup_log")
	start_bg python3 "$FG_SRC_ROOT/tests/lib/fdstore-supervisor.py" "$d" -- \
		"$FANGUARDD" --watch-tree "$s" --deny-hashes "$deny" --deadline-ms 5000 \
		--fuse-deadline-ms 5000 --no-cache "$@" 2>>"$sup_log"
	SUP_PID=$LAST_PID
	FANGUARDD_LOG=$sup_log

	sup_ready 1
	# The FUSE mount comes after the start: the watcher gives it its group.
	start_fusetest passthrough "$back" "$s/m"
	mnt_id=$(awk -v m="$s/m" '$5 == m { id = $1 } END { print id }' /proc/self/mountinfo)
	wait_until 10 grep -q "mount [0-9]* '$s/m' .*group $group_re" "$sup_log" ||
		fail_with_log "the watcher did not give '$s/m' a group ($group_re)"
	group=$(grep -o "mount [0-9]* '$s/m' .*group $group_re" "$sup_log" | tail -n 1 | grep -o "$group_re\$")
	log "FUSE mount $mnt_id at $s/m: group $group"
	fgcheck_ok open "$s/m/evil" EPERM 5000
	fgcheck_ok open "$s/m/clean" ok 5000

	# A paused restart: both groups wait in the store; an open on the FUSE
	# mount made meanwhile waits, and the next instance denies it.
	sup_command restart-paused
	grep -qx "group/$group" <<<"$(sup_stored)" ||
		fail_with_log "store after a clean stop: '$(sup_stored)', want group/$group"
	"$FGCHECK" open "$s/m/evil" EPERM 20000 >"$FG_STATE/gap.out" 2>&1 &
	opener=$!
	track_pid $opener
	child=$(child_of $opener) || fail_with_log "fgcheck started no child"
	wait_until 10 blocked_in_fanotify "$child" ||
		fail_with_log "an open on the FUSE mount did not wait for the stored group: $(cat /proc/$child/stack 2>&1)"
	sup_command go
	sup_ready 2
	wait $opener || fail_with_log "the open on the FUSE mount during the restart: $(cat "$FG_STATE/gap.out")"
	log "open during the restart gap: $(cat "$FG_STATE/gap.out")"
	grep -q 'Adopted 2 of 2 fanotify groups' <<<"$(tail -n +$((log_from + 1)) "$sup_log")" ||
		fail_with_log "instance 2 did not adopt both groups"
	! grep -q "$group: adopted group not claimed" <<<"$(tail -n +$((log_from + 1)) "$sup_log")" ||
		fail_with_log "instance 2 closed the FUSE mount's group"
	fgcheck_ok open "$s/m/evil" EPERM 5000
	fgcheck_ok open "$s/m/clean" ok 5000

	# A group whose mount is gone by the restart is closed, never kept
	# unread: unmount during a paused restart, then the successor releases it.
	sup_command restart-paused
	fusermount3 -u "$s/m" 2>/dev/null || umount -l "$s/m"
	sup_command go
	sup_ready 3
	wait_until 10 grep -q "$group: adopted group not claimed by any watch; closed" "$sup_log" ||
		fail_with_log "instance 3 did not close the group of the mount that went away"
	sup_command stop
	sup_command close-store
	wait_pid_exited "$SUP_PID" 10 || fail_with_log "supervisor did not exit"
}

sup_log=$FG_STATE/supervisor.log
: >"$sup_log"
FANGUARDD_LOG=$sup_log
tree_restart 'fuse/[0-9]*'
# Beyond the group budget the mount shares a group ("fuse/shared-1"): kept
# by the successor as well (its name is known before the adoption).
tree_restart 'fuse/shared-[0-9]*' --max-groups 2

# 2. --watch-all-fuse: a root FUSE mount in another mount namespace, made
# after start, found by the connections poller.
[ "$(ls -d /proc/[0-9]* | wc -l)" -lt 50 ] || fail "not in a PID namespace of our own"
rm -rf "$d"
mkdir "$d"
c=$(scratch_tmpfs 16m) # not watched: the other namespace mounts here
mkdir "$c/m"
start_bg python3 "$FG_SRC_ROOT/tests/lib/fdstore-supervisor.py" "$d" -- \
	"$FANGUARDD" --watch-tree "$s" --watch-all-fuse --deny-hashes "$deny" --deadline-ms 5000 \
	--fuse-deadline-ms 5000 --no-cache 2>>"$sup_log"
SUP_PID=$LAST_PID
sup_ready 1
start_bg unshare --mount --propagation private -- "$FUSETEST" --pid-file "$FG_STATE/other.pid" \
	passthrough "$back" "$c/m"
other=$LAST_PID
wait_until 10 test -s "$FG_STATE/other.pid" || fail_with_log "fusetest in another namespace did not start"
wait_until 5 grep -q " $c/m " "/proc/$other/mountinfo" || fail_with_log "no mount in the other namespace"
conn=$(awk -v m="$c/m" '$5 == m { split($3, a, ":"); print a[2] }' "/proc/$other/mountinfo")
mid=$(awk -v m="$c/m" '$5 == m { print $1 }' "/proc/$other/mountinfo")
track_fuse_conn "$conn"
! grep -q " $c/m " /proc/self/mountinfo || fail "the other namespace's mount is in our table"
wait_until 10 grep -q "FUSE connection $conn in the mount namespace of pid" "$sup_log" ||
	fail_with_log "the poller did not mark FUSE connection $conn"
other_open() { nsenter -t "$other" -m -- "$FGCHECK" open "$c/m/$1" "$2" "$3"; }
other_open evil EPERM 5000 >/dev/null || fail_with_log "not denied in the other namespace"
sup_command restart-paused
grep -qx "group/fuse/$mid" <<<"$(sup_stored)" ||
	fail_with_log "store after a clean stop: '$(sup_stored)', want group/fuse/$mid"
nsenter -t "$other" -m -- "$FGCHECK" open "$c/m/evil" EPERM 20000 >"$FG_STATE/gap2.out" 2>&1 &
opener=$!
track_pid $opener
child=$(child_of $opener) || fail_with_log "fgcheck started no child"
wait_until 10 blocked_in_fanotify "$child" ||
	fail_with_log "an open in the other namespace did not wait for the stored group"
sup_command go
sup_ready 2
wait $opener || fail_with_log "the open in the other namespace during the restart: $(cat "$FG_STATE/gap2.out")"
log "open during the restart gap (other namespace): $(cat "$FG_STATE/gap2.out")"
grep -q "adopted groups wait for the mount watchers' first pass" "$sup_log" ||
	fail_with_log "instance 2 did not keep the FUSE group for the watchers"
! grep -q "fuse/$mid: adopted group not claimed" "$sup_log" ||
	fail_with_log "instance 2 closed the other namespace's FUSE group"
other_open evil EPERM 5000 >/dev/null || fail_with_log "not denied after the restart"
sup_command stop
sup_command close-store
log "PASS: FUSE groups made after start survive a restart (tree and other namespaces); a gone mount's group is closed"
