#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Restart without a gap through the fd store (fanguard_handover(3)), with a
# stand-in for systemd's fd store (tests/lib/fdstore-supervisor.py: FDSTORE=,
# FDSTOREREMOVE=, BARRIER=, LISTEN_FDS as systemd 252; the real one is
# proved by tests/package/nspawn-boot.sh):
#   - a clean stop stores the group with its marks; the next instance adopts
#     it and takes it out of the store;
#   - an open made while no instance runs waits, and is then scanned by the
#     new instance (a denylisted file is denied, not allowed unscanned);
#   - opens during a plain restart wait at most the restart: measured;
#   - a group left in the store with nobody reading blocks opens, and
#     closing the store (systemd: the unit stopped for good) releases them;
#   - a crash (SIGKILL) leaves nothing in the store: its waiters are
#     released at once, and the next instance starts with fresh groups;
#   - an instance that fails to start releases the groups passed to it;
#   - with a watch that covers a file the restart opens, nothing is kept;
#   - an instance whose watches changed adopts nothing (no stale marks).
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fdstore.sh"
require_root
require_fanotify_perm
require_cmd python3
enter_private_mountns "$@"

s=$(scratch_tmpfs 16m)
assert_own_mount "$s"
d=$FG_STATE/sup
mkdir "$d"
deny=$FG_STATE/denylist
printf 'fanguard restart test: denylisted %s\n' "$RANDOM$RANDOM" >"$s/evil"
echo "an ordinary file" >"$s/clean"
mkdir "$s/load"
echo "opened in a loop during a restart" >"$s/load/f"
sha256sum "$s/evil" | cut -d' ' -f1 >"$deny"

sup_log=$FG_STATE/supervisor.log
# --no-cache: every open below raises an event, so the restart's wait is
# measured, not hidden by cached verdicts.
start_bg python3 "$FG_SRC_ROOT/tests/lib/fdstore-supervisor.py" "$d" -- \
	"$FANGUARDD" --watch "$s" --deny-hashes "$deny" --deadline-ms 5000 --no-cache 2>>"$sup_log"
SUP_PID=$LAST_PID
FANGUARDD_LOG=$sup_log # fail_with_log shows it: fanguardd's stderr goes there too

FDSTORE_DIR=$d

sup_ready 1
fgcheck_ok open "$s/evil" EPERM 5000
fgcheck_ok open "$s/clean" ok 5000

# 1. A paused restart: the group waits in the store with its marks; an
# open made meanwhile blocks, then the new instance scans and denies it.
sup_command restart-paused
grep -qx group/local <<<"$(sup_stored)" && grep -qx watches <<<"$(sup_stored)" ||
	fail_with_log "store after a clean stop: '$(sup_stored)', want group/local and watches"
"$FGCHECK" open "$s/evil" EPERM 20000 >"$FG_STATE/gap.out" 2>&1 &
opener=$!
track_pid $opener
child=$(child_of $opener) || fail_with_log "fgcheck started no child"
wait_until 10 blocked_in_fanotify "$child" ||
	fail_with_log "an open with the group in the store did not wait: $(cat /proc/$child/stack 2>&1)"
t0=$(now_ms)
sup_command go
sup_ready 2
wait $opener || fail_with_log "the open made during the restart: $(cat "$FG_STATE/gap.out")"
log "open during the restart gap: $(cat "$FG_STATE/gap.out") (released $(($(now_ms) - t0)) ms after the new start)"
grep -q 'Adopted 1 of 1 fanotify groups' "$sup_log" || fail_with_log "instance 2 did not adopt the group"
grep -q 'removed group/local: 1 fds' "$sup_log" || fail_with_log "instance 2 left the group in the store"
fgcheck_ok open "$s/evil" EPERM 5000

# 2. A plain restart, as systemctl restart does: how long opens wait.
"$FGCHECK" load --procs 2 --iters 20000 --dir "$s/load" --files 1 --timeout-s 30 --expect ok \
	>"$FG_STATE/load.out" 2>&1 &
loader=$!
track_pid $loader
t0=$(now_ms)
sup_command restart
sup_ready 3
restart_ms=$(($(now_ms) - t0))
fgcheck_ok open "$s/evil" EPERM 5000
wait $loader || fail_with_log "opens during a restart failed: $(cat "$FG_STATE/load.out")"
sed 's/^/# load: /' "$FG_STATE/load.out" >&2
log "RESULT restart took ${restart_ms} ms (SIGTERM to ready); opens meanwhile: $(grep -Eo 'max[^,]*' "$FG_STATE/load.out" | head -1)"

# 3. Stopped for good, store not yet closed: opens wait (nobody reads the
# group); closing the store releases them (allowed by the kernel).
sup_command stop
grep -qx group/local <<<"$(sup_stored)" || fail_with_log "store after stop: '$(sup_stored)'"
# (evil: a denied file is never in the verdict cache, so its open raises an
# event; closing the store allows it: no group, no scan.)
"$FGCHECK" open "$s/evil" ok 20000 >"$FG_STATE/stored.out" 2>&1 &
opener=$!
track_pid $opener
child=$(child_of $opener) || fail_with_log "fgcheck started no child"
wait_until 10 blocked_in_fanotify "$child" || fail_with_log "open did not wait on the stored group"
sup_command close-store
wait $opener || fail_with_log "closing the store did not release the waiter: $(cat "$FG_STATE/stored.out")"
log "closing the store released the waiter: $(cat "$FG_STATE/stored.out")"
fgcheck_ok open "$s/evil" ok 5000 # no group, no marks: nothing checks it
wait_pid_exited "$SUP_PID" 10 || fail_with_log "supervisor did not exit"

# 4. A crash: nothing stored, waiters released, fresh groups next time.
rm -rf "$d"
mkdir "$d"
start_bg python3 "$FG_SRC_ROOT/tests/lib/fdstore-supervisor.py" "$d" -- \
	"$FANGUARDD" --watch "$s" --deny-hashes "$deny" --deadline-ms 5000 2>>"$sup_log"
sup_ready 1
sup_command restart
sup_ready 2
sup_command kill
[ -z "$(sup_stored)" ] || fail_with_log "a killed instance left '$(sup_stored)' in the store"
sup_ready 3
grep -q 'instance 3: pid [0-9]*, passed 0 fds' "$sup_log" || fail_with_log "instance 3 was passed fds"
fgcheck_ok open "$s/evil" EPERM 5000

# 5. A restart whose new instance fails before it answers anything (here:
# its denylist is gone): it takes the groups out of the store and closes
# them, so the restarts that follow do not keep opens waiting.
mv "$deny" "$deny.away"
sup_command restart
wait_until 20 test -e "$d/exited.4" || fail_with_log "instance 4 did not fail"
[ "$(cat "$d/exited.4")" != 0 ] || fail_with_log "instance 4 started without its denylist"
[ -z "$(sup_stored)" ] || fail_with_log "a failed start left '$(sup_stored)' in the store"
grep -q 'Released 1 fanotify groups of the previous instance' "$sup_log" ||
	fail_with_log "instance 4 did not release the passed group"
fgcheck_ok open "$s/evil" ok 5000 # nothing watches it now, nothing waits
sup_command close-store
wait_pid_exited "$LAST_PID" 10 || true

# 6. A watch that covers a file the restart opens (here the denylist, on the
# watched tmpfs): the next instance's open of it would wait on the kept
# group for ever, so a restart closes the groups instead.
cp "$deny.away" "$s/deny.list"
rm -rf "$d"
mkdir "$d"
start_bg python3 "$FG_SRC_ROOT/tests/lib/fdstore-supervisor.py" "$d" -- \
	"$FANGUARDD" --watch "$s" --deny-hashes "$s/deny.list" --deadline-ms 5000 2>>"$sup_log"
sup_ready 1
grep -q "Restarts close the fanotify groups: the watch '$s' covers $s/deny.list" "$sup_log" ||
	fail_with_log "no notice that restarts cannot keep the groups"
sup_command restart
[ -z "$(sup_stored)" ] || fail_with_log "groups stored although the restart opens a watched file"
sup_ready 2
fgcheck_ok open "$s/evil" EPERM 5000
sup_command stop
sup_command close-store
wait_pid_exited "$LAST_PID" 10 || true

# 7. The watches changed between instances: a kept group keeps every mark,
# so the next instance adopts nothing and a removed watch is not marked.
s2=$(scratch_tmpfs 16m)
assert_own_mount "$s2"
cp "$s/evil" "$s2/evil"
conf=$FG_STATE/fanguard.conf
printf '[Watch]\nMount = %s\n[Scan]\nDenyHashes = %s\n[Daemon]\nControlSocket =\n' \
	"$s" "$deny.away" >"$conf"
rm -rf "$d"
mkdir "$d"
start_bg python3 "$FG_SRC_ROOT/tests/lib/fdstore-supervisor.py" "$d" -- \
	"$FANGUARDD" --config "$conf" 2>>"$sup_log"
sup_ready 1
sed -i "s|^Mount = .*|Mount = $s2|" "$conf"
sup_command restart
sup_ready 2
grep -q 'The watches changed since the previous instance' "$sup_log" ||
	fail_with_log "the new instance adopted groups marked for other watches"
fgcheck_ok open "$s/evil" ok 5000 # no longer watched, and no stale mark
fgcheck_ok open "$s2/evil" EPERM 5000
sup_command stop
sup_command close-store
log "PASS: groups kept across restarts, released at a final stop and after a crash"
