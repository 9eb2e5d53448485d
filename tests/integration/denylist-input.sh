#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Denylist files as hostile input (issue 17): each is refused by fanguardd
# at start within seconds, with a message naming the file (and the line),
# never a hang and never a silent "Loaded 0 digests":
#   a FIFO without a writer, /dev/zero, a directory, a symbolic link, a file
#   with a NUL byte on line 3, a comment-only file, a 10 GB sparse file (NUL
#   bytes from the first one), a 10 GB sparse file with digests at its start.
# Then a running daemon is reloaded onto a FIFO: the reload fails at once,
# the daemon keeps running, and the old list stays in force.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"
CTL=$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl

s=$(scratch_tmpfs 16m)
assert_own_mount "$s"
d=$(scratch_tmpfs 1m) # the lists: not watched
assert_own_mount "$d"
echo "bad content" >"$s/bad.txt"
digest=$(sha256sum "$s/bad.txt" | awk '{print $1}')
echo "$digest  bad" >"$d/good"

mkfifo "$d/fifo"
mkdir "$d/dir"
ln -s "$d/good" "$d/link"
printf '%s\n# note\n%s  x\0y\n' "$digest" "$digest" >"$d/nul"
printf '# nothing here\n\n' >"$d/comments"
truncate -s 10G "$d/sparse"
{ printf '%s\n' "$digest" "$digest"; } >"$d/sparse-head"
truncate -s 10G "$d/sparse-head"

# expect_refused FILE REGEX: fanguardd exits non-zero within 15 s and says REGEX.
expect_refused() {
	local f=$1 want=$2 log=$FG_STATE/refused.log rc=0
	: >"$log"
	run_within 15 "$FANGUARDD" --watch "$s" --deny-hashes "$f" 2>"$log" || rc=$?
	[ "$rc" != 0 ] || fail "fanguardd accepted denylist $f: $(cat "$log")"
	grep -qE -- "$want" "$log" || fail "no '$want' for $f; got: $(cat "$log")"
	! grep -q "Loaded 0 digests" "$log" || fail "silent empty load for $f"
	log "refused $(basename "$f") in ${RUN_MS} ms: $(grep -E -- "$want" "$log" | head -1)"
}
expect_refused "$d/fifo" "Denylist '$d/fifo' is not a regular file"
expect_refused /dev/zero "Denylist '/dev/zero' is not a regular file"
expect_refused "$d/dir" "Denylist '$d/dir' is a directory"
expect_refused "$d/link" "Denylist '$d/link' is a symbolic link"
expect_refused "$d/nul" "$d/nul:3: NUL byte in a denylist"
# A file without digests (comments only: the shipped /etc/fanguard/deny.sha256)
# is not an error for the service, but never a silent "0 loaded": a warning
# names it, and the service runs.
: >"$FG_STATE/comments.log"
start_fanguardd_log "$FG_STATE/comments.log" --watch "$s" --deny-hashes "$d/comments"
grep -q "Denylist '$d/comments' holds no digest yet" "$FG_STATE/comments.log" ||
	fail_with_log "no warning for a denylist without digests"
! grep -q "Loaded 0 digests" "$FG_STATE/comments.log" || fail_with_log "silent empty load"
timeout 5 cat "$s/bad.txt" >/dev/null 2>&1 || fail_with_log "an empty denylist denied a file"
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
log "comments-only denylist: warned, started, nothing denied by hash"
expect_refused "$d/sparse" "$d/sparse:1: NUL byte in a denylist"
expect_refused "$d/sparse-head" "$d/sparse-head:3: NUL byte in a denylist"

# Reload onto a FIFO: refused at once, the old list stays.
sock=$FG_STATE/control
conf=$FG_STATE/fanguard.conf
printf '[Watch]\nMount = %s\n[Scan]\nDenyHashes = %s\n' "$s" "$d/good" >"$conf"
start_fanguardd_log "$FG_STATE/daemon.log" --config "$conf" --control-socket "$sock"
if timeout 5 cat "$s/bad.txt" >/dev/null 2>&1; then fail_with_log "denylisted file allowed"; fi
printf '[Watch]\nMount = %s\n[Scan]\nDenyHashes = %s\n' "$s" "$d/fifo" >"$conf"
if run_within 15 timeout 20 "$CTL" --socket "$sock" reload 2>"$FG_STATE/ctl.err"; then
	fail_with_log "reload onto a FIFO accepted"
fi
wait_until 5 grep -q "Denylist '$d/fifo' is not a regular file" "$FANGUARDD_LOG" ||
	fail_with_log "no error for the FIFO on reload"
pid_exited "$FANGUARDD_PID" && fail_with_log "fanguardd exited after a failed reload"
if timeout 5 cat "$s/bad.txt" >/dev/null 2>&1; then
	fail_with_log "old denylist lost after a failed reload"
fi
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
log "PASS"
