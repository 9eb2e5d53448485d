#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Loopback detection with the real programs: fanguardd --watch-tree on a
# scratch tmpfs, then (after it started) sshfs root@127.0.0.1:$s/backing on
# $s/mnt through a private sshd (opener -> sshfs -> ssh -> TCP 127.0.0.1 ->
# sshd session -> sftp-server -> tmpfs). The new mount must get its own group
# and be classified loopback-served with the chain as evidence: the source
# host, sshfs holding /dev/fuse for the mount's connection, its ssh, and ssh's
# TCP connection served on this host by the sshd session.
# Denylisted content is denied through sshfs (named --scan-at-backing: by
# the backing layer, the sftp-server's open is denied locally; the default,
# read-through, is the matrix's sshfs cell), clean content opens fast, nothing
# waits for a deadline, and the group is released after unmount.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
. "$FG_SRC_ROOT/tests/lib/sshd.sh"
require_root
require_fuse
require_fanotify_perm
require_cmd sshfs mountpoint
enter_private_mountns "$@"
require_fusectl

op_limit_ms=2000
s=$(scratch_tmpfs 128m)
assert_own_tmpfs "$s"
stats=$FG_STATE/stats
tag=$RANDOM$RANDOM
mkdir "$s/backing" "$s/mnt"
echo "clean content $tag" >"$s/backing/clean"
printf 'fanguard test: denylisted content %s (sshfs)\n' "$tag" >"$s/backing/evil"
sha256sum "$s/backing/evil" | cut -d' ' -f1 >"$FG_STATE/denylist"

start_sshd
start_fanguardd_log "$FG_STATE/fanguardd.log" --watch-tree "$s" --scan-at-backing "$s/mnt" \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --deadline-ms 4000 \
	--fuse-deadline-ms 3000 --stats-file "$stats"
log "fanguardd $FANGUARDD_PID ready, watching the tree under $s; sshd $SSHD_PID on port $SSHD_PORT"

t0=$(now_ms)
start_sshfs "$s/backing" "$s/mnt"
m=$s/mnt
wait_until 10 grep -qE "mount [0-9]+ '$m' .*group fuse/[0-9]+ \(new\), marked in" \
	"$FANGUARDD_LOG" || fail_with_log "sshfs mount not tracked within 10s"
line=$(grep -E "mount [0-9]+ '$m' .*group fuse/" "$FANGUARDD_LOG" | tail -1)
log "sshfs tracked ($(($(now_ms) - t0)) ms after starting sshfs); $(grep -oE 'marked in [0-9]+ us \([0-9]+ us after the table changed\)' <<<"$line")"
# Classified after it is marked, on the classifier's thread (up to ~2 s).
wait_until 10 grep -qE "mount [0-9]+ '$m' \(fuse.sshfs\) is (loopback-served|remote or unknown): " \
	"$FANGUARDD_LOG" || fail_with_log "sshfs mount not classified within 10s"
wait_until 5 grep -qE "mount [0-9]+ '$m' \(fuse/[0-9]+\): loopback-served.*scanned at the backing layer" \
	"$FANGUARDD_LOG" || true
ev=$(grep -E "mount [0-9]+ '$m' \(fuse.sshfs\) is (loopback-served|remote or unknown): " \
	"$FANGUARDD_LOG" | tail -1)
log "sshfs evidence: ${ev#*: }"
for want in "is loopback-served" \
	"sshfs source host '127.0.0.1' is loopback" \
	"pid $SSHFS_PID \(sshfs\) holds /dev/fuse for connection $SSHFS_CONN"; do
	grep -qE -- "$want" <<<"$ev" || fail_with_log "sshfs evidence lacks /$want/"
done
# sshfs runs ssh double-forked (not its child) and talks to it over a
# socketpair: ssh is found in sshfs's session by its argv, then followed over
# TCP to the sshd session. ssh and sshd may make themselves non-dumpable:
# without CAP_SYS_PTRACE their fds cannot be read, and the evidence says so.
grep -qE -- "pid [0-9]+ \(ssh\) in the session of pid $SSHFS_PID \(sshfs\) runs sftp on '127.0.0.1'" \
	<<<"$ev" || fail_with_log "sshfs evidence lacks its ssh"
if grep -qE "cannot read the fds of pid [0-9]+ \(ssh\)" <<<"$ev"; then
	log "note: fanguardd cannot read ssh's fds: the chain stops at ssh"
else
	grep -qE -- "\(ssh\) has TCP 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$SSHD_PORT, served on this host by pid [0-9]+ \(sshd\)" \
		<<<"$ev" || fail_with_log "sshfs evidence lacks the sshd at the other end of ssh's TCP connection"
fi
# sftp-server is started by the session when sshfs first talks sftp, which
# may be after the mount appeared (and was classified).
grep -qE -- "helper pid $SFTP_SERVER_PID \(sftp-server\)" <<<"$ev" ||
	log "note: sftp-server $SFTP_SERVER_PID was not running yet when the mount appeared"
grep -qE "mount [0-9]+ '$m' \(fuse/[0-9]+\): loopback-served.*scanned at the backing layer" \
	"$FANGUARDD_LOG" || fail_with_log "sshfs not scanned at the backing layer"
fanguardd_stats_now "$stats"
[ "$(stats_get "$stats" groups)" = 2 ] || fail_with_log "want 2 groups"

fgcheck_ok open "$m/clean" ok $op_limit_ms
run_within 10 cat "$m/clean" >/dev/null || fail_with_log "cat $m/clean"
[ "$RUN_MS" -le $op_limit_ms ] || fail_with_log "cat through sshfs took ${RUN_MS} ms"
if run_within 10 cat "$m/evil" >/dev/null 2>&1; then
	fail_with_log "cat read denylisted content through sshfs"
fi
log "cat of the denylisted file through sshfs failed in ${RUN_MS} ms"
[ "$RUN_MS" -le $op_limit_ms ] || fail_with_log "the denied open took ${RUN_MS} ms"
fgcheck_ok open "$s/backing/evil" EPERM $op_limit_ms
grep -qE "deny pid=$SFTP_SERVER_PID class=local.* path=$s/backing/evil\$" "$FANGUARDD_LOG" ||
	fail_with_log "sftp-server's open of the backing file was not denied in the local group"

kill -TERM "$SSHFS_PID"
wait_gone "$SSHFS_PID" 10 || fail_with_log "sshfs did not exit on SIGTERM"
untrack_pid "$SSHFS_PID"
umount -l "$m" 2>/dev/null || true
wait_until 10 grep -qE "fuse/[0-9]+: released \(group closed" "$FANGUARDD_LOG" ||
	fail_with_log "sshfs group not released"
log "$(grep -E 'fuse/[0-9]+: released' "$FANGUARDD_LOG" | tail -1 | sed 's/^[^:]*: //')"
fanguardd_stats_now "$stats"
[ "$(stats_get "$stats" groups)" = 1 ] || fail_with_log "want 1 group after unmount"

stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
for k in reason_deadline workers_abandoned; do
	v=$(stats_get "$stats" "$k")
	[ "$v" = 0 ] || fail_with_log "$k=$v: some event waited for its deadline"
done
log "PASS"
