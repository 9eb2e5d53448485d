#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# fanguardd's per-mount event mask on rclone mount --vfs-cache-mode off
# (issue 14), against the real kernel and the real rclone:
#   1. auto, with no argv hint (rclone runs as "fg-rclone-nohint"): creates
#      wait rclone's 5 s (and their open fails) until the daemon has refused the kernel's open
#      twice; then the mount is switched to FAN_ACCESS_PERM |
#      FAN_OPEN_EXEC_PERM (logged, counted, shown by fanguardctl mounts) and
#      creates work at once;
#   2. denylisted files on it: the open succeeds (not checked), no byte is
#      read, the exec is denied: by fanguardd itself, since only the FUSE
#      mount is watched (its backing is not, so no backing-layer deny);
#   3. deduplication: events for cp -r of 50 files out of the mount and two
#      cats of 1 MiB, with the short-lived ignore marks and without them
#      (--no-cache), printed as "# rclone-emask:" lines.
# About 20 s, 10 of them the two creates that teach auto. Root only.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
. "$FG_SRC_ROOT/tests/matrix/fs.sh"
require_root
require_fuse
require_fanotify_perm
require_cmd rclone
enter_private_mountns "$@"
require_fusectl

s=$(scratch_tmpfs 256m)
assert_own_tmpfs "$s"
m=$s/mnt
mkdir "$m" "$s/back" "$s/evil"
touch "$s/rclone.conf"
MATRIX_RUN=()
FANGUARDCTL=${FANGUARDCTL:-$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl}
# argv[0] is not "rclone": no hint, auto must learn from the daemon itself.
# shellcheck disable=SC2016 # expanded by the inner bash
start_bg bash -c 'exec -a fg-rclone-nohint rclone mount --config "$1/rclone.conf" \
	--vfs-cache-mode off --cache-dir "$1/rclone-cache" --file-perms 0755 \
	--log-level ERROR --log-file "$1/rclone.log" "$1/back" "$2"' _ "$s" "$m"
fs_started "$m"

# Files written before fanguardd runs: a tree, a 1 MiB file, and the
# denylisted text, script and binary, unique to this run.
mkdir "$m/src"
for ((i = 1; i <= 50; i++)); do
	echo "file $i" >"$m/src/f$i"
done
head -c 1M /dev/urandom >"$m/big"
tag=$$.$RANDOM
printf 'fanguard rclone-emask: denylisted %s\n' "$tag" >"$s/evil/evil.txt"
printf '#!/bin/sh\n# %s\necho evil-ran\n' "$tag" >"$s/evil/evil.sh"
{ cat /bin/true; printf '%s' "$tag"; } >"$s/evil/evil.bin"
sha256sum "$s/evil"/* | cut -d' ' -f1 >"$FG_STATE/denylist"
mkdir "$m/deny"
cp "$s/evil"/* "$m/deny/"
chmod 755 "$m/deny/evil.sh" "$m/deny/evil.bin"

say() {
	echo "# rclone-emask: $*" >&2
}
stats=$FG_STATE/stats
ctl() {
	"$FANGUARDCTL" --socket "$FG_STATE/control" "$@"
}

# --- 1. auto learns --------------------------------------------------------------
# Only the FUSE mount is watched: its backing is not, so every deny below is
# fanguardd's own verdict on the bytes read through rclone.
start_fanguardd_log "$FG_STATE/fanguardd.log" --watch "$m" --deny-hashes "$FG_STATE/denylist" \
	--stats-file "$stats" --control-socket "$FG_STATE/control"
events=$(ctl mounts | awk '$1 == "events" { print $2; exit }')
[ "$events" = open ] || fail_with_log "auto without a hint starts with '$events', want open"
# touch may exit 0 even so (it falls back to utimensat() on the file its
# denied open created): what counts is the wait on rclone.
slow=0
for ((i = 1; i <= 4; i++)); do
	rc=0
	run_within 30 touch "$m/new$i" 2>/dev/null || rc=$?
	say "auto: create $i took ${RUN_MS} ms, exit $rc"
	[ $rc = 0 ] && [ "$RUN_MS" -lt 2000 ] && break
	slow=$((slow + 1))
done
[ $rc = 0 ] && [ "$RUN_MS" -lt 2000 ] ||
	fail_with_log "creates still wait on rclone after $slow slow ones: no switch"
[ $slow -le 2 ] || fail_with_log "$slow creates waited on rclone before the switch, want <= 2"
mounts=$(ctl mounts)
printf '%s\n' "$mounts" | sed 's/^/# mounts: /' >&2
grep -qE "^ +events +access .*auto: the daemon refused the kernel's open" <<<"$mounts" ||
	fail_with_log "fanguardctl mounts does not show the switch to access"
grep -q "event mask now FAN_ACCESS_PERM" "$FANGUARDD_LOG" || fail_with_log "switch not logged"
run_within 30 cp -r "$s/evil" "$m/copied" || fail_with_log "cp -r after the switch failed"
say "auto: after the switch, cp -r of 3 files ${RUN_MS} ms"

# --- 2. denied on first read and exec ------------------------------------------
for f in evil.txt evil.sh evil.bin; do
	p=$m/deny/$f
	o=$("$FGCHECK" open "$p" ok 10000 2>&1 | tail -1) || true
	o=${o##*: }
	o=${o%% *}
	rd=ok
	run_within 10 head -c 64 "$p" >/dev/null 2>&1 || rd=denied
	x=n/a
	if [ $f != evil.txt ]; then
		x=$("$FGCHECK" exec "$p" ok 10000 2>&1 | tail -1) || true
		x=${x##*: }
		x=${x%% *}
	fi
	say "$f: open=$o read=$rd exec=$x"
	[ "$o" = ok ] || fail_with_log "$f: open '$o': an access-mask mount does not check opens"
	[ "$rd" != ok ] && [ "$x" != ok ] || fail_with_log "$f: read=$rd exec=$x, want both denied"
done
[ "$(cat "$m/src/f7")" = "file 7" ] || fail_with_log "a clean file cannot be read"
fanguardd_stats_now "$stats"
[ "$(stats_get "$stats" event_mask_switches)" = 1 ] || fail_with_log "event_mask_switches"
[ "$(stats_get "$stats" open_refusals)" -ge 2 ] || fail_with_log "open_refusals < 2"
[ "$(stats_get "$stats" mounts_access_mask)" = 1 ] || fail_with_log "mounts_access_mask"
[ "$(stats_get "$stats" denied)" -ge 5 ] || fail_with_log "fewer than 5 denies by fanguardd"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with $?"
assert_stats_balanced "$stats"

# --- 3. events per workload, with and without the ignore marks -----------------
# workload: cp -r of 50 files out of the mount, and two cats of 1 MiB (each
# at least 8 read()s): prints the events fanguardd read for it.
workload() {
	local before
	fanguardd_stats_now "$stats"
	before=$(stats_get "$stats" events_read)
	rm -rf "$s/out"
	run_within 30 cp -r "$m/src" "$s/out" || fail_with_log "cp -r out of the mount"
	run_within 10 cat "$m/big" >/dev/null || fail_with_log "cat big"
	run_within 10 cat "$m/big" >/dev/null || fail_with_log "cat big"
	fanguardd_stats_now "$stats"
	echo $(($(stats_get "$stats" events_read) - before))
}
start_fanguardd_log "$FG_STATE/fanguardd.log" --watch "$m" --deny-hashes "$FG_STATE/denylist" \
	--stats-file "$stats" --control-socket "$FG_STATE/control" --fuse-event-mask-access "$m"
with=$(workload)
marks=$(stats_get "$stats" dedup_marks)
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with $?"
assert_stats_balanced "$stats"
start_fanguardd_log "$FG_STATE/fanguardd.log" --watch "$m" --deny-hashes "$FG_STATE/denylist" \
	--stats-file "$stats" --control-socket "$FG_STATE/control" --fuse-event-mask-access "$m" \
	--no-cache
without=$(workload)
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with $?"
assert_stats_balanced "$stats"
say "events for cp -r of 50 files and two cats of 1 MiB: $with with the ignore marks" \
	"($marks added), $without without (--no-cache)"
# Every file is read at least once, and each read of a file after its first
# scan finds the mark: fewer events, never none.
[ "$with" -ge 51 ] || fail "only $with events: reads went unseen"
[ "$without" -ge 66 ] || fail "only $without events without marks: want every read() seen"
[ "$with" -lt "$without" ] || fail "the ignore marks saved nothing ($with vs $without)"

fusermount3 -u "$m" || fail "fusermount3 -u"
wait_gone "$FS_PID" 10 || fail "rclone did not exit after unmount"
log "PASS"
