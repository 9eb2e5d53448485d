#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 13, finding 1 and the hostile daemon: an unprivileged user's own FUSE
# daemon (tests/lib/evilfs.c) serves a denylisted script from memory; its
# bytes exist on no backing layer. fanguardd --watch-tree (the default
# policy: read through every FUSE mount) must deny its open and exec,
# whatever the user claims in the mount's options:
#   fsname=<a watched directory holding a clean run.sh>, fsname=/usr,
#   subtype=sshfs with fsname=127.0.0.1:<watched dir>.
# Such a mount is untrusted (user_id != 0): fanguardctl mounts says so. A
# hostile daemon that fails (EIO) or stalls only the listener's reads (it
# sees the requesting pid) cannot turn an exec into allow: a failed or late
# scan of an exec on an untrusted mount is denied, even with
# --default-verdict allow (an open then gets the class's default, allow:
# the documented choice). --fuse-user-exec deny denies every exec from
# user-owned FUSE, clean or not (reason=policy), and nothing else.
# Runs in a private mount namespace; /dev/fuse 0666, fuse.conf and passwd
# are bound only there; daemons killed by PID, connections aborted at exit.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
EVILFS=${EVILFS:-$FG_BUILD_ROOT/tests/lib/evilfs}
FANGUARDCTL=${FANGUARDCTL:-$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl}
[ -x "$EVILFS" ] || notrun "evilfs not built"
enter_private_mountns "$@"
require_fusectl

uid=61923
op_limit_ms=3000
s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
user_fuse_setup "$s" "$uid"
stats=$FG_STATE/stats
ctl=$FG_STATE/control
tag=$RANDOM$RANDOM
# What the daemons serve comes from an unwatched tmpfs of its own (on the
# watched one, the daemon's own read of the denylisted bytes is denied).
c=$(scratch_tmpfs 1m)
assert_own_mount "$c"
mkdir "$s/watched" "$s/m1" "$s/m2" "$s/m3" "$s/m4" "$s/m5" "$s/m6" "$s/m7"
printf '#!/bin/sh\necho "fanguard test: denylisted script %s"\n' "$tag" >"$c/evil.sh"
printf '#!/bin/sh\necho "fanguard test: clean script %s"\n' "$tag" >"$c/clean.sh"
# What a backing-layer scan would find at the claimed place: clean bytes.
cp "$c/clean.sh" "$s/watched/run.sh"
chmod 755 "$s/watched/run.sh"
sha256sum "$c/evil.sh" | cut -d' ' -f1 >"$FG_STATE/denylist"
chown "$uid:$uid" "$s"/m? "$c" "$c/evil.sh" "$c/clean.sh"

# start_evilfs MNT CONTENT [evilfs options...] -- [-o OPTS]: as the user.
start_evilfs() {
	local m=$1 content=$2 pidf="$c/evilfs.$RANDOM.pid" pre=() as_root=0
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		if [ "$1" = --as-root ]; then as_root=1; else pre+=("$1"); fi
		shift
	done
	[ $# -gt 0 ] && shift
	: >"$pidf"
	chown "$uid:$uid" "$pidf"
	if [ $as_root = 1 ]; then
		start_bg "$EVILFS" "${pre[@]}" --pid-file "$pidf" "$content" "$m" "$@"
	else
		start_bg "${USER_RUN[@]}" "$EVILFS" "${pre[@]}" --pid-file "$pidf" "$content" "$m" "$@"
	fi
	EVILFS_PID=$LAST_PID
	wait_until 10 test -s "$pidf" || fail_with_log "evilfs on $m did not start"
	wait_mounted "$m" 5 || fail_with_log "evilfs on $m: not in the mount table"
	EVILFS_CONN=$(fuse_conn_from_mountinfo "$m")
	track_fuse_conn "$EVILFS_CONN"
	wait_until 10 grep -qE "mount [0-9]+ '$m' .*group fuse/[0-9]+ \(new\), marked in" \
		"$FANGUARDD_LOG" || fail_with_log "evilfs on $m: not marked within 10s"
	log "evilfs $EVILFS_PID on $m ($*): $(grep -E "mount [0-9]+ '$m' \(fuse" "$FANGUARDD_LOG" | grep -oE 'is (loopback-served|remote or unknown)' | tail -1)"
}

stop_evilfs() {
	abort_fuse "$EVILFS_CONN"
	umount -l "$1" 2>/dev/null || true
	wait_pid_exited "$EVILFS_PID" 5 || fail_with_log "evilfs $EVILFS_PID did not exit"
	untrack_pid "$EVILFS_PID"
}

# verdict_logged PATH VERDICT REASON: fanguardd logged that verdict for PATH.
verdict_logged() {
	wait_until 5 grep -qE "$2( \([^)]*\))? pid=[0-9]+ class=fuse reason=$3 .*path=$1\$" \
		"$FANGUARDD_LOG"
}

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch-tree "$s" \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --fuse-deadline-ms 1500 \
	--stats-file "$stats" --control-socket "$ctl" -l debug
log "fanguardd $FANGUARDD_PID ready, watching the tree under $s"

# 1. Claims in the mount options move nothing out of scanning.
n=1
for o in "fsname=$s/watched" "fsname=/usr" "subtype=sshfs,fsname=127.0.0.1:$s/watched"; do
	m=$s/m$n
	start_evilfs "$m" "$c/evil.sh" -- -o "allow_other,$o"
	grep -qE " - fuse[^ ]* .*[ ,]user_id=$uid(,|$)" <<<"$(mountinfo_of "$m")" ||
		fail_with_log "$m: not a mount of uid $uid"
	fgcheck_ok open "$m/run.sh" EPERM $op_limit_ms
	fgcheck_ok exec "$m/run.sh" EPERM $op_limit_ms
	verdict_logged "$m/run.sh" deny scanned || fail_with_log "$o: no scanned deny for $m/run.sh"
	! grep -qE "mount [0-9]+ '$m' .*scanned at the backing layer" "$FANGUARDD_LOG" ||
		fail_with_log "$o: scanned at the backing layer"
	if [ $n = 1 ]; then
		out=$("$FANGUARDCTL" --socket "$ctl" mounts) || fail_with_log "fanguardctl mounts"
		printf '%s\n' "$out" | sed 's/^/# mounts: /' >&2
		grep -qE "trust +untrusted: a user's daemon \(user_id=$uid\)" <<<"$out" ||
			fail_with_log "fanguardctl mounts does not show $m as untrusted"
		json=$("$FANGUARDCTL" --socket "$ctl" mounts --json)
		python3 -c '
import json, sys
ws = [w for w in json.loads(sys.argv[3]) if w["mount_point"] == sys.argv[1]]
assert ws and ws[0]["untrusted"] and ws[0]["owner_uid"] == int(sys.argv[2]), ws
' "$m" "$uid" "$json" || fail_with_log "mounts --json: $m not untrusted"
	fi
	log "$o: open and exec of the user's denylisted script denied"
	stop_evilfs "$m"
	n=$((n + 1))
done

# 2. A hostile daemon: only the listener's reads fail (EIO). The exec is
# denied although the scan failed and the default verdict is allow; the
# open gets the default (allow), as documented.
m=$s/m4
start_evilfs "$m" "$c/evil.sh" --hostile-pid "$FANGUARDD_PID" --hostile fail -- \
	-o "allow_other,fsname=$s/watched"
fgcheck_ok exec "$m/run.sh" EPERM $op_limit_ms
verdict_logged "$m/run.sh" deny error || fail_with_log "hostile fail: exec not denied for error"
fgcheck_ok open "$m/run.sh" ok $op_limit_ms
verdict_logged "$m/run.sh" allow error || fail_with_log "hostile fail: open not allowed for error"
log "hostile daemon failing our reads: exec denied, open allowed (default verdict)"
stop_evilfs "$m"

# 3. A hostile daemon that stalls the listener's reads: the exec is denied
# at the deadline (1.5 s), not allowed.
m=$s/m5
start_evilfs "$m" "$c/evil.sh" --hostile-pid "$FANGUARDD_PID" --hostile stall -- \
	-o "allow_other,fsname=/usr/bin"
fgcheck_ok exec "$m/run.sh" EPERM 6000
verdict_logged "$m/run.sh" deny deadline || fail_with_log "hostile stall: exec not denied at the deadline"
log "hostile daemon stalling our reads: exec denied at the deadline"
# The worker stuck in that read is released by aborting the connection.
stop_evilfs "$m"

stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"

# 4. --fuse-user-exec deny: every exec from a user's FUSE mount is denied,
# clean or not (reason=policy); its opens are scanned as before; a root-owned
# FUSE mount's clean script still runs.
start_fanguardd_log "$FG_STATE/fanguardd2.log" --watch-tree "$s" \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --fuse-user-exec deny \
	--stats-file "$stats" -l debug
m=$s/m6
start_evilfs "$m" "$c/clean.sh" -- -o "allow_other,fsname=$s/watched"
fgcheck_ok open "$m/run.sh" ok $op_limit_ms
fgcheck_ok exec "$m/run.sh" EPERM $op_limit_ms
verdict_logged "$m/run.sh" deny policy || fail_with_log "fuse-user-exec=deny: no policy deny"
stop_evilfs "$m"
m=$s/m7
start_evilfs "$m" "$c/clean.sh" --as-root -- -o "allow_other,fsname=$s/watched"
fgcheck_ok exec "$m/run.sh" ok $op_limit_ms
log "fuse-user-exec=deny: the user's clean script denied (policy), root's runs"
stop_evilfs "$m"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
[ "$(stats_get "$stats" reason_policy)" -ge 1 ] || fail_with_log "no reason_policy in the stats"
log "PASS"
