#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 13: classification never delays marking. An unprivileged user's own
# FUSE daemon (tests/lib/evilfs.c) mounted with subtype=sshfs and an sshfs
# source naming 127.0.0.1 makes the loopback classifier look for an ssh chain
# that never comes (it looks again for up to ~2 s, walking /proc each time).
# That happens on the classifier's thread: a tmpfs holding a denylisted file,
# mounted under the watched tree right after the fake sshfs, must be denied
# within its normal mount-to-marked time, measured here without the fake
# sshfs first (baseline) and then right behind it. Prints both times and
# how long the fake sshfs's classification took.
# Runs in a private mount namespace; /dev/fuse 0666, fuse.conf and passwd
# bound only there; daemons killed by PID, connections aborted at exit.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
EVILFS=${EVILFS:-$FG_BUILD_ROOT/tests/lib/evilfs}
[ -x "$EVILFS" ] || notrun "evilfs not built"
enter_private_mountns "$@"
require_fusectl

uid=61924
# A mount-to-denied time above this means the watcher waited on something.
limit_ms=1500
s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
user_fuse_setup "$s" "$uid"
stats=$FG_STATE/stats
tag=$RANDOM$RANDOM
# The files the later mounts show, on tmpfs filesystems of their own.
c=$(scratch_tmpfs 1m)
assert_own_tmpfs "$c"
printf '#!/bin/sh\necho "fanguard test: denylisted script %s"\n' "$tag" >"$c/evil.sh"
sha256sum "$c/evil.sh" | cut -d' ' -f1 >"$FG_STATE/denylist"
chown "$uid:$uid" "$c" "$c/evil.sh"
mkdir "$s/watched" "$s/fake" "$s/t0" "$s/t1"
chown "$uid:$uid" "$s/fake"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch-tree "$s" \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --stats-file "$stats" -l debug
log "fanguardd $FANGUARDD_PID ready, watching the tree under $s"

# mount_evil_tmpfs DIR: a new tmpfs on DIR holding evil.sh; prints how many
# ms after the mount call an open of it was first denied.
mount_evil_tmpfs() {
	local d=$1 t0 t1
	t0=$(now_ms)
	mount -t tmpfs -o size=1m fg-test "$d" || fail_with_log "mount tmpfs on $d"
	at_exit "umount -l '$d' 2>/dev/null"
	# Written through the new mount: the write open may come before or
	# after its mark (clean: empty then), the reads after are checked.
	cp "$c/evil.sh" "$d/evil.sh"
	while head -c1 "$d/evil.sh" >/dev/null 2>&1; do
		[ $(($(now_ms) - t0)) -lt 20000 ] || fail_with_log "$d/evil.sh not denied within 20 s"
		sleep 0.005
	done
	t1=$(now_ms)
	echo $((t1 - t0))
}

# 1. Baseline: nothing else is being classified.
base=$(mount_evil_tmpfs "$s/t0")
log "baseline: tmpfs mount to denied in $base ms"

# 2. The fake sshfs, then at once the tmpfs.
pidf=$c/evilfs.pid
: >"$pidf"
chown "$uid:$uid" "$pidf"
start_bg "${USER_RUN[@]}" "$EVILFS" --pid-file "$pidf" "$c/evil.sh" "$s/fake" \
	-o "allow_other,subtype=sshfs,fsname=127.0.0.1:$s/watched"
EVILFS_PID=$LAST_PID
wait_until 10 test -s "$pidf" || fail_with_log "evilfs did not start"
wait_mounted "$s/fake" 5 || fail_with_log "evilfs on $s/fake: not in the mount table"
track_fuse_conn "$(fuse_conn_from_mountinfo "$s/fake")"
t_fake=$(now_ms)
behind=$(mount_evil_tmpfs "$s/t1")
log "behind a fake sshfs: tmpfs mount to denied in $behind ms (baseline $base ms)"
[ "$behind" -le "$limit_ms" ] ||
	fail_with_log "the tmpfs behind the fake sshfs took $behind ms to be denied (limit $limit_ms)"

# The fake sshfs itself: marked (read through, untrusted), denied, and
# classified later; whatever its claims, never scanned at the backing layer.
wait_until 10 grep -qE "mount [0-9]+ '$s/fake' .*group fuse/[0-9]+ \(new\), marked in" \
	"$FANGUARDD_LOG" || fail_with_log "fake sshfs not marked"
fgcheck_ok exec "$s/fake/run.sh" EPERM 3000
wait_until 15 grep -qE "mount [0-9]+ '$s/fake' \(fuse.sshfs\) is (loopback-served|remote or unknown): " \
	"$FANGUARDD_LOG" || fail_with_log "fake sshfs never classified"
log "fake sshfs classified $(($(now_ms) - t_fake)) ms or less after it was mounted"
! grep -qE "mount [0-9]+ '$s/fake' .*scanned at the backing layer" "$FANGUARDD_LOG" ||
	fail_with_log "fake sshfs scanned at the backing layer"
# The watcher marked t1 before the fake sshfs's classification ended.
ln_t1=$(grep -nE "mount [0-9]+ '$s/t1' .*marked in" "$FANGUARDD_LOG" | head -1 | cut -d: -f1)
ln_cls=$(grep -nE "mount [0-9]+ '$s/fake' \(fuse.sshfs\) is " "$FANGUARDD_LOG" | head -1 | cut -d: -f1)
log "log order: t1 marked at line $ln_t1, fake sshfs classified at line $ln_cls"

abort_fuse "$(fuse_conn_from_mountinfo "$s/fake")"
umount -l "$s/fake" 2>/dev/null || true
wait_pid_exited "$EVILFS_PID" 5 || fail_with_log "evilfs $EVILFS_PID did not exit"
untrack_pid "$EVILFS_PID"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
log "PASS"
