#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bindfs over a watched tmpfs, fanguardd watching both the backing tmpfs and
# the bindfs mount (the shape of the sshfs deadlock, DESIGN.md §1): opens,
# creates, reads, writes, appends and cp -r through FUSE all complete, none by
# waiting for the deadline; concurrent opens through FUSE and on the backing
# tmpfs complete; denylisted content is denied through FUSE and on the
# backing directory. Every event is answered exactly once.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fuse
require_cmd bindfs mountpoint
require_fanotify_perm
enter_private_mountns "$@"

# Each operation must finish well before the deadlines: an event answered
# by the deadline would mean a reader or worker waited on the cycle.
deadline_ms=4000
fuse_deadline_ms=3000
op_limit_ms=1500

s=$(scratch_tmpfs 256m)
assert_own_tmpfs "$s"
b=$s/back
m=$s/mnt
stats=$FG_STATE/stats
mkdir "$b" "$m"

tag=$RANDOM$RANDOM
echo "clean content $tag" >"$b/clean"
printf 'fanguard test: denylisted content %s\n' "$tag" >"$b/evil"
mkdir -p "$b/tree/a/b/c" "$b/tree/d" "$b/load"
for i in $(seq 1 24); do
	echo "tree file $i $tag" >"$b/tree/a/f$i"
	echo "tree file $i" >"$b/tree/a/b/c/g$i"
done
head -c 2M /dev/urandom >"$b/tree/d/big"
ln -s ../a/f1 "$b/tree/d/link"
for i in $(seq 0 31); do
	echo "load file $i" >"$b/load/f$(printf %04d "$i")"
done
sha256sum "$b/evil" | cut -d' ' -f1 >"$FG_STATE/denylist"

# bindfs in the foreground, tracked by pid (killed at exit, then its
# connection is aborted and the mount lazily unmounted).
start_bg bindfs -f "$b" "$m"
bindfs_pid=$LAST_PID
at_exit "umount -l '$m' 2>/dev/null"
wait_until 10 mountpoint -q "$m" || fail "bindfs did not mount $m"
track_fuse "$m"
fstype=$(awk -v m="$m" '$5 == m { for (i = 7; $i != "-"; i++); t = $(i + 1) } END { print t }' \
	/proc/self/mountinfo)
[[ $fstype == fuse* ]] || fail "$m is '$fstype', not FUSE"
assert_own_mount "$m"
log "bindfs $bindfs_pid serves $m ($fstype, connection $(fuse_conn_of "$m")) from $b"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch "$s" --watch "$m" \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --deadline-ms "$deadline_ms" \
	--fuse-deadline-ms "$fuse_deadline_ms" --stats-file "$stats"
log "fanguardd $FANGUARDD_PID ready, watching $s and $m"

# op NAME CMD...: must succeed within op_limit_ms.
op() {
	local name=$1 rc=0
	shift
	run_within 10 "$@" >/dev/null || rc=$?
	log "op $name: ${RUN_MS} ms (exit $rc)"
	[ $rc = 0 ] || fail_with_log "$name failed (exit $rc): $*"
	[ "$RUN_MS" -le $op_limit_ms ] || fail_with_log "$name took ${RUN_MS} ms (limit ${op_limit_ms})"
}

fgcheck_ok open "$m/clean" ok $op_limit_ms
fgcheck_ok open "$m/clean" ok $op_limit_ms rdwr
op "touch (create through FUSE)" touch "$m/new-touch"
[ -e "$b/new-touch" ] || fail_with_log "touch did not create $b/new-touch"
op "cat through FUSE" bash -c '[ "$(cat "$1")" = "$2" ]' _ "$m/clean" "clean content $tag"
op "echo > (create+write)" bash -c 'echo "written $1" >"$2"' _ "$tag" "$m/new-echo"
op "echo >> (append)" bash -c 'echo "appended" >>"$1"' _ "$m/new-echo"
[ "$(cat "$b/new-echo")" = "written $tag
appended" ] || fail_with_log "unexpected content in $b/new-echo"
op "cat of a file written through FUSE" cat "$m/new-echo"
op "cp -r FUSE -> FUSE" cp -r "$m/tree" "$m/tree-copy"
op "cp -r local -> FUSE" cp -r "$b/tree" "$m/tree-copy2"
op "cp -r FUSE -> local" cp -r "$m/tree" "$b/tree-copy3"
for t in tree-copy tree-copy2 tree-copy3; do
	run_within 10 diff -r "$b/tree" "$b/$t" || fail_with_log "$t differs from tree"
done
op "rm -r through FUSE" rm -r "$m/tree-copy2"

# Concurrent opens through FUSE and on the backing tmpfs at once.
"$FGCHECK" load --procs 4 --iters 250 --dir "$m/load" --timeout-s 20 >"$FG_STATE/load-fuse" &
fuse_load=$!
track_pid $fuse_load
fgcheck_ok load --procs 2 --iters 2000 --dir "$b/load" --timeout-s 20
wait_pid_exited $fuse_load 25 || fail_with_log "fgcheck load through FUSE hung"
wait $fuse_load || {
	sed 's/^/# /' "$FG_STATE/load-fuse" >&2
	fail_with_log "concurrent opens through FUSE failed"
}
untrack_pid $fuse_load
sed 's/^/# /' "$FG_STATE/load-fuse" >&2

# Denylisted content: through FUSE and on the backing directory.
fgcheck_ok open "$m/evil" EPERM $op_limit_ms
fgcheck_ok open "$b/evil" EPERM $op_limit_ms
if run_within 5 cat "$m/evil" >/dev/null 2>&1; then
	fail_with_log "cat read a denylisted file through FUSE"
fi
# Clean files are still fine afterwards.
fgcheck_ok open "$m/clean" ok $op_limit_ms

stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
log "fanguardd stopped in ${STOP_MS} ms"
grep -E "deny pid=|deadline|stuck|abandon" "$FANGUARDD_LOG" | sed 's/^/# log: /' >&2 || true
assert_stats_balanced "$stats"
for k in reason_deadline workers_abandoned; do
	v=$(stats_get "$stats" "$k")
	[ "$v" = 0 ] || fail_with_log "$k=$v: some event waited for its deadline"
done
[ "$(stats_get "$stats" groups)" -ge 2 ] || fail_with_log "FUSE mount shares the local group"

# bindfs still serves, and nothing is stuck.
op "cat after fanguardd stopped" cat "$m/clean"
umount "$m" || fail "umount $m"
wait_pid_exited "$bindfs_pid" 5 || fail "bindfs did not exit after umount"
wait "$bindfs_pid" 2>/dev/null || true
untrack_pid "$bindfs_pid"
log "PASS"
