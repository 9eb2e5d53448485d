#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 13, finding 9: a user's private FUSE mount (no allow_other, the
# default for a user's own sshfs) refuses root unless the fuse module's
# allow_sys_admin_access is on.
#  - Switch off (as found here): fanguardd --watch-tree cannot mark it, and
#    reports it uncovered, naming the switch.
#  - fanguardd --fuse-allow-sys-admin-access turns the switch on at start:
#    a user's private mount made then is marked and read through, and the
#    user's own open and exec of its denylisted script are denied.
# There is no namespace-local stand-in for a module parameter: this flips
# the real one, machine-wide, for a few seconds, and restores the value it
# found on every path (an exit trap registered before the first write).
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
EVILFS=${EVILFS:-$FG_BUILD_ROOT/tests/lib/evilfs}
[ -x "$EVILFS" ] || notrun "evilfs not built"
sw=/sys/module/fuse/parameters/allow_sys_admin_access
[ -w "$sw" ] || notrun "no $sw (kernel older than 6.2?)"
enter_private_mountns "$@"
require_fusectl

orig=$(cat "$sw")
case $orig in Y | N) ;; *) fail "unexpected $sw value '$orig'" ;; esac
at_exit "echo '$orig' >'$sw'"
uid=61925
lim=3000
s=$(scratch_tmpfs 32m)
assert_own_tmpfs "$s"
c=$(scratch_tmpfs 1m) # not watched: what the daemon serves
assert_own_tmpfs "$c"
user_fuse_setup "$c" "$uid"
tag=$RANDOM$RANDOM
printf '#!/bin/sh\necho "fanguard test: denylisted script %s"\n' "$tag" >"$c/evil.sh"
sha256sum "$c/evil.sh" | cut -d' ' -f1 >"$FG_STATE/denylist"
mkdir "$s/m1" "$s/m2"
chown "$uid:$uid" "$s/m1" "$s/m2" "$c" "$c/evil.sh"

# start_private MNT: evilfs as the user, without allow_other.
start_private() {
	local m=$1 pidf="$c/evilfs.$RANDOM.pid"
	"${USER_RUN[@]}" touch "$pidf"
	start_bg "${USER_RUN[@]}" "$EVILFS" --pid-file "$pidf" "$c/evil.sh" "$m" -o "fsname=$m"
	EVILFS_PID=$LAST_PID
	wait_until 10 test -s "$pidf" || fail_with_log "evilfs on $m did not start"
	wait_mounted "$m" 5 || fail_with_log "evilfs on $m: not in the mount table"
	EVILFS_CONN=$(fuse_conn_from_mountinfo "$m")
	track_fuse_conn "$EVILFS_CONN"
	! mountinfo_of "$m" | grep -q allow_other || fail "$m has allow_other"
}
stop_private() {
	abort_fuse "$EVILFS_CONN"
	umount -l "$1" 2>/dev/null || true
	wait_pid_exited "$EVILFS_PID" 5 || fail_with_log "evilfs $EVILFS_PID did not exit"
	untrack_pid "$EVILFS_PID"
}

# 1. The switch off: the mount cannot be marked, and the log says so.
echo N >"$sw"
start_fanguardd_log "$FG_STATE/fanguardd.log" --watch-tree "$s" \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --stats-file "$FG_STATE/stats"
start_private "$s/m1"
wait_until 10 grep -qE "mount [0-9]+ '$s/m1' .*(uncovered|NOT covered).*allow_sys_admin_access" \
	"$FANGUARDD_LOG" || fail_with_log "a private mount root cannot enter was not reported"
log "switch off: $(grep -E "mount [0-9]+ '$s/m1' .*allow_sys_admin_access" "$FANGUARDD_LOG" | tail -1 | sed 's/^[^:]*: //')"
rc=0
"${USER_RUN[@]}" "$FGCHECK" exec "$s/m1/run.sh" ok $lim >/dev/null || rc=$?
log "switch off: the user's exec of its denylisted script $([ $rc = 0 ] && echo ran unscanned || echo failed): the mount is uncovered"
stop_private "$s/m1"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$FG_STATE/stats"

# 2. --fuse-allow-sys-admin-access: fanguardd turns the switch on at start.
start_fanguardd_log "$FG_STATE/fanguardd2.log" --watch-tree "$s" --fuse-allow-sys-admin-access \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --stats-file "$FG_STATE/stats"
[ "$(cat "$sw")" = Y ] || fail_with_log "fanguardd did not turn on $sw"
grep -q "Turned on $sw" "$FANGUARDD_LOG" || fail_with_log "fanguardd did not log the switch"
start_private "$s/m2"
wait_until 10 grep -qE "mount [0-9]+ '$s/m2' .*group fuse/[0-9]+ \(new\), marked in" \
	"$FANGUARDD_LOG" || fail_with_log "the private mount was not marked with the switch on"
while read -r op; do
	out=$("${USER_RUN[@]}" "$FGCHECK" "$op" "$s/m2/run.sh" EPERM $lim) ||
		fail_with_log "switch on: the user's $op of its denylisted script was not denied"
	echo "# user: $out" >&2
done <<<$'open\nexec'
log "switch on: the user's private mount is covered, open and exec denied"
stop_private "$s/m2"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$FG_STATE/stats"
echo "$orig" >"$sw"
log "restored $sw to $orig"
log "PASS"
