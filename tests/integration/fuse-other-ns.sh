#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 13, finding 8: a FUSE mount an unprivileged user makes inside their
# own `unshare -Urm` is in no mount table of ours. fanguardd --watch-all-fuse
# polls /sys/fs/fuse/connections (every 500 ms) and marks the new
# filesystem through /proc/PID/root of a process that shows it.
#  1. The fuse module's allow_sys_admin_access off: root cannot enter the
#     user's mount; it is reported uncovered, cause namespace, naming the
#     switch.
#  2. Switch on (the next poll tries again): the user's own open of its
#     denylisted file is denied within the stated delay (500 ms poll; the
#     test allows 5 s under load and prints what it measured).
#  3. A second FUSE mount in that namespace, now known: found at once by
#     the namespace's mount event (FAN_MARK_MNTNS), not by the poll; the
#     time from its daemon's start to the denied open is printed.
# Flips the real module parameter (no namespace-local stand-in), restored
# by an exit trap registered before the first write. /dev/fuse is 0600 on
# these VMs: a 0666 node is bound over it inside our private namespace.
# --watch-all-fuse marks every FUSE filesystem a process in view shows:
# the test runs in a PID namespace of its own (with its own /proc), so the
# listener finds only the test user's mount, never another test's.
set -euo pipefail
if [ "${FG_IN_PIDNS:-}" != 1 ]; then
	exec env FG_IN_PIDNS=1 unshare --pid --fork --mount --propagation private --mount-proc -- \
		bash "$0" "$@"
fi
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_cmd bindfs setpriv unshare nsenter
require_fanotify_perm
sw=/sys/module/fuse/parameters/allow_sys_admin_access
[ -w "$sw" ] || notrun "no $sw (kernel older than 6.2?)"
enter_private_mountns "$@"
require_fusectl

orig=$(cat "$sw")
case $orig in Y | N) ;; *) fail "unexpected $sw value '$orig'" ;; esac
at_exit "echo '$orig' >'$sw'"
uid=61926
delay_ms=5000
s=$(scratch_tmpfs 16m) # watched, empty: fanguardd needs one watch
assert_own_mount "$s"
c=$(scratch_tmpfs 16m) # not watched: the user's FUSE mount is made here
assert_own_mount "$c"
mknod "$FG_STATE/devfuse" c 10 229
chmod 0666 "$FG_STATE/devfuse"
mount --bind "$FG_STATE/devfuse" /dev/fuse
tag=$RANDOM$RANDOM
mkdir "$c/src" "$c/m"
printf 'fanguard test: denylisted content %s\n' "$tag" >"$c/src/evil"
echo "clean $tag" >"$c/src/clean"
sha256sum "$c/src/evil" | cut -d' ' -f1 >"$FG_STATE/denylist"
chown -R "$uid:$uid" "$c"

echo N >"$sw"
stats=$FG_STATE/stats
start_fanguardd_log "$FG_STATE/fanguardd.log" --watch-tree "$s" --watch-all-fuse \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --stats-file "$stats"
log "fanguardd $FANGUARDD_PID ready"
[ "$(ls -d /proc/[0-9]* | wc -l)" -lt 50 ] || fail "not in a PID namespace of our own"

# The user's namespace: bindfs in the foreground, its own process.
start_bg setpriv --reuid=$uid --regid=$uid --clear-groups -- \
	unshare -Urm bindfs -f "$c/src" "$c/m"
user_pid=$LAST_PID
t0=$(now_ms)
wait_until 10 grep -q " $c/m .* - fuse" "/proc/$user_pid/mountinfo" ||
	fail_with_log "the user's bindfs did not mount"
[ "$(readlink "/proc/$user_pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] ||
	fail "bindfs is in our mount namespace"
! grep -q " $c/m " /proc/self/mountinfo || fail "the user's mount is in our table"
conn=$(awk -v m="$c/m" '$5 == m { split($3, d, ":"); print d[2] }' "/proc/$user_pid/mountinfo")
log "user $uid: bindfs $user_pid in its own namespace, FUSE connection $conn"
# user_open FILE: the user's open, inside its namespace.
user_open() {
	nsenter -t "$user_pid" -U -m -- cat "$c/m/$1"
}
user_open clean >/dev/null || fail_with_log "the user cannot read its clean file"

# 1. Switch off: reported uncovered, cause namespace, naming the switch.
wait_until 10 grep -qE "/proc/$user_pid/root$c/m.*namespace.*allow_sys_admin_access" \
	"$FANGUARDD_LOG" ||
	fail_with_log "the user's mount was not reported uncovered ($sw is $(cat "$sw") now:" \
		"another test on this host may have flipped it)"
log "switch off: $(grep -E "/proc/$user_pid/root$c/m" "$FANGUARDD_LOG" | tail -1 | sed 's/^[^:]*: //')"
fanguardd_stats_now "$stats"
n=$(stats_get "$stats" uncovered_cause_namespace)
[ "$n" -ge 1 ] || fail_with_log "stats: uncovered_cause_namespace $n"
log "switch off: stats uncovered_cause_namespace $n"

# 2. Switch on: the next poll marks it; the user's open is denied.
echo Y >"$sw"
t1=$(now_ms)
denied=0
while [ $(($(now_ms) - t1)) -lt $delay_ms ]; do
	if ! user_open evil >/dev/null 2>"$FG_STATE/err"; then
		grep -q 'Operation not permitted' "$FG_STATE/err" ||
			fail_with_log "the user's open failed otherwise: $(cat "$FG_STATE/err")"
		denied=1
		break
	fi
	sleep 0.05
done
[ $denied = 1 ] || fail_with_log "switch on: the user's open was not denied within $delay_ms ms"
log "switch on: the user's open of its denylisted file denied $(($(now_ms) - t1)) ms after the switch"
grep -E "FUSE connection $conn in the mount namespace" "$FANGUARDD_LOG" | tail -1 | sed 's/^/# /' >&2
user_open clean >/dev/null || fail_with_log "the user's clean file is not readable"
# Denied by a scan, not by a file the listener could not open.
! grep -q "could not open an event's file" "$FANGUARDD_LOG" ||
	fail_with_log "the listener could not open the user's files"

# 3. A second FUSE mount in the same (by now known) namespace: the mount
# event of that namespace (FAN_MARK_MNTNS) wakes the poller at once, no
# waiting for the next poll. The user's open of its denylisted file there
# is denied; the log says how the mount was found.
mkdir "$c/m2"
chown "$uid:$uid" "$c/m2"
t3=$(now_ms)
start_bg nsenter -t "$user_pid" -U -m -- bindfs -f "$c/src" "$c/m2"
user2_pid=$LAST_PID
denied=0
while [ $(($(now_ms) - t3)) -lt $delay_ms ]; do
	if nsenter -t "$user_pid" -U -m -- grep -q " $c/m2 .* - fuse" /proc/self/mountinfo &&
		! user_open ../m2/evil >/dev/null 2>&1; then
		denied=1
		break
	fi
	sleep 0.01
done
[ $denied = 1 ] || fail_with_log "second mount: the user's open was not denied within $delay_ms ms"
log "second mount in a known namespace: the user's open denied $(($(now_ms) - t3)) ms after bindfs started (poll interval 500 ms)"
grep -E "in the mount namespace of pid [0-9]+ \('$c/m2'" "$FANGUARDD_LOG" | tail -1 | sed 's/^/# /' >&2
grep -qE "in the mount namespace of pid [0-9]+ \('$c/m2'.*\(found after a mount event in its namespace\)" \
	"$FANGUARDD_LOG" || fail_with_log "the second mount was not found by its namespace's mount event"
kill "$user2_pid" 2>/dev/null || true
wait_pid_exited "$user2_pid" 5 || fail_with_log "the second bindfs did not exit"
untrack_pid "$user2_pid"
kill "$user_pid"
wait_pid_exited "$user_pid" 5 || fail_with_log "bindfs did not exit"
untrack_pid "$user_pid"
# The connection stays listed until its superblock goes, after the user's
# namespace is torn down (asynchronously): up to 20 s under load.
t2=$(now_ms)
wait_until 20 grep -q "FUSE connection $conn .* is gone" "$FANGUARDD_LOG" ||
	fail_with_log "the connection's group was not released ($(ls /sys/fs/fuse/connections | tr '\n' ' '))"
log "the connection's group released $(($(now_ms) - t2)) ms after bindfs exited"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
echo "$orig" >"$sw"
log "PASS"
