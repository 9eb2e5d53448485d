#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The verdict cache (listener/lib/cache.c) never hides a change: a clean file
# is answered by the kernel (ignore mark, no event) until it is modified, and
# every way of giving it denylisted content - rewrite, 1-byte write,
# truncate+write, rename over, write through a hard link, a write through a
# shared mapping, a write to an overlay's upper layer - makes its next open
# denied. A file another process holds
# open for writing is never cached. A denylist change flushes the
# cache (and only the inode marks: the mount mark stays); --no-cache adds no
# marks at all.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"
FGBENCH=${FGBENCH:-$FG_BUILD_ROOT/tests/bench/fgbench}

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
stats=$FG_STATE/stats
deny=$FG_STATE/denylist
tag=$RANDOM$RANDOM
evil="fanguard cache test: denylisted $tag"
# Same length as $evil, so a write through a mapping can turn one into the other.
good="${evil//denylisted/harmless!!}"
[ ${#good} = ${#evil} ] || fail "test bug: lengths differ"
printf '%s' "$evil" | sha256sum | cut -d' ' -f1 >"$deny"
for f in rewrite onebyte trunc renamed linked mapped clean; do
	printf '%s' "$good" >"$s/$f"
done
# One byte away from $evil.
printf '%s' "${evil%?}X" >"$s/onebyte"
# An overlay (local): its file is written underneath, in the upper layer.
mkdir "$s/lower" "$s/upper" "$s/work" "$s/ov"
printf '%s' "$good" >"$s/upper/under"
mount -t overlay fg-test-ov -o "lowerdir=$s/lower,upperdir=$s/upper,workdir=$s/work" "$s/ov" ||
	fail "cannot mount an overlay"
at_exit "umount -l '$s/ov' 2>/dev/null"
assert_own_mount "$s/ov"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch "$s" --watch "$s/ov" \
	--deny-hashes "$deny" --default-verdict allow --deadline-ms 5000 --stats-file "$stats"

read_count() {
	fanguardd_stats_now "$stats"
	stats_get "$stats" events_read
}

# Cold: scanned, allowed, cached.
for f in rewrite onebyte trunc renamed linked mapped clean; do
	fgcheck_ok open "$s/$f" ok 5000
done
# Every clean verdict ends in one cache attempt, counted as added, failed
# or revoked (listener/lib/cache.c): polled, bounded.
cache_count() { # KEY-REGEX
	fanguardd_stats_now "$stats"
	awk -v k="^cache_marks_($1)\$" '$1 ~ k { n += $2 } END { print n + 0 }' "$stats"
}
wait_cache_count() { # KEY-REGEX MIN
	local end=$(($(now_ms) + 5000))
	until [ "$(cache_count "$1")" -ge "$2" ]; do
		[ "$(now_ms)" -lt $end ] || return 1
		sleep 0.02
	done
}
wait_cache_count added 7 ||
	fail_with_log "clean verdicts were not cached: $(grep cache "$stats" || true)"
# Warm: the kernel answers, no event reaches the listener.
before=$(read_count)
for i in 1 2 3; do
	for f in rewrite onebyte trunc renamed linked mapped clean; do
		fgcheck_ok open "$s/$f" ok 5000
	done
done
after=$(read_count)
[ "$after" = "$before" ] || fail_with_log "cached files raised $((after - before)) events"
log "21 warm opens raised no event"

# While another process holds a file open for writing, the kernel silently
# does not add the ignore mark (DESIGN.md §2): every open stays an event.
printf '%s' "$good" >"$s/held"
sleep 60 >>"$s/held" &
holder=$!
track_pid $holder
# (The holder is the workload: "sleep 60" keeps the file open for writing.)
attempts=$(cache_count 'added|failed|revoked')
fgcheck_ok open "$s/held" ok 5000
wait_cache_count 'added|failed|revoked' $((attempts + 1)) ||
	fail_with_log "no cache attempt after the open of the held file"
before=$(read_count)
fgcheck_ok open "$s/held" ok 5000
wait_cache_count 'added|failed|revoked' $((attempts + 2)) ||
	fail_with_log "no cache attempt after the second open of the held file"
fgcheck_ok open "$s/held" ok 5000
after=$(read_count)
[ $((after - before)) = 2 ] || fail_with_log "a file open for writing was cached"
kill $holder
wait $holder 2>/dev/null || true
untrack_pid $holder
log "a file held open for writing was never cached"

# Every modification makes the next open scan (and deny) again.
printf '%s' "$evil" >"$s/rewrite"
fgcheck_ok open "$s/rewrite" EPERM 5000
printf '%s' "${evil: -1}" | dd of="$s/onebyte" bs=1 seek=$((${#evil} - 1)) conv=notrunc status=none
fgcheck_ok open "$s/onebyte" EPERM 5000
truncate -s 0 "$s/trunc"
printf '%s' "$evil" >>"$s/trunc"
fgcheck_ok open "$s/trunc" EPERM 5000
printf '%s' "$evil" >"$s/renamed.tmp"
mv "$s/renamed.tmp" "$s/renamed"
fgcheck_ok open "$s/renamed" EPERM 5000
ln "$s/linked" "$s/linked2"
printf '%s' "$evil" >"$s/linked2"
fgcheck_ok open "$s/linked" EPERM 5000
# A write through a shared mapping raises no FS_MODIFY; the mark must still
# not survive it (see cache.c).
python3 - "$s/mapped" "$evil" <<'PY'
import mmap, sys
with open(sys.argv[1], "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    m[:] = sys.argv[2].encode()
    m.flush()
    m.close()
PY
fgcheck_ok open "$s/mapped" EPERM 5000
# Overlay files are never cached (cache.c): a write to the upper layer
# raises no FS_MODIFY on the overlay's inode.
fgcheck_ok open "$s/ov/under" ok 5000
fgcheck_ok open "$s/ov/under" ok 5000
printf '%s' "$evil" >"$s/upper/under"
fgcheck_ok open "$s/ov/under" EPERM 5000
fgcheck_ok open "$s/clean" ok 5000
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
[ "$(stats_get "$stats" denied)" = 7 ] || fail_with_log "expected exactly 7 denials"

# A denylist change flushes the cache; the mount mark survives the flush.
printf '%s' "$good" >"$s/g1"
printf '%s' "$good" >"$s/g2"
printf '%s' "$evil" >"$s/never-opened"
coproc LIB { exec "$FGBENCH" lib "$s" 2>>"$FG_STATE/lib.log"; }
lib_pid=$LIB_PID # bash unsets LIB_PID once the coprocess exits
track_pid "$lib_pid"
read -r -t 20 line <&"${LIB[0]}" && [ "$line" = ready ] || fail "fgbench lib did not start"
lib() {
	echo "$1" >&"${LIB[1]}"
	read -r -t 10 LIB_OUT <&"${LIB[0]}" || fail "fgbench lib: no reply to $1"
}
lib "deny $(cat "$deny")" # not yet the hash of $good
fgcheck_ok open "$s/g1" ok 5000
fgcheck_ok open "$s/g2" ok 5000
fgcheck_ok open "$s/g1" ok 5000
lib stats
log "lib: $LIB_OUT"
[[ $LIB_OUT == *"events_read=2 "* ]] || fail "g1's second open was not answered by the kernel"
lib "deny $(printf '%s' "$good" | sha256sum | cut -d' ' -f1)"
[ "$LIB_OUT" = ok ] || fail "deny: $LIB_OUT"
fgcheck_ok open "$s/g1" EPERM 5000
fgcheck_ok open "$s/g2" EPERM 5000
fgcheck_ok open "$s/never-opened" EPERM 5000
lib stats
log "lib: $LIB_OUT"
[[ $LIB_OUT == *"events_read=5 "* && $LIB_OUT == *"denied=3 "* ]] || fail "after the flush: $LIB_OUT"
echo quit >&"${LIB[1]}"
wait_pid_exited "$lib_pid" 10 || fail "fgbench lib did not exit"
untrack_pid "$lib_pid"

# --no-cache: nothing cached, every open is an event.
start_fanguardd_log "$FG_STATE/fanguardd2.log" --watch "$s" --deny-hashes "$deny" \
	--no-cache --stats-file "$stats"
before=$(read_count)
fgcheck_ok open "$s/clean" ok 5000
fgcheck_ok open "$s/clean" ok 5000
after=$(read_count)
[ $((after - before)) = 2 ] || fail_with_log "--no-cache: $((after - before)) events for 2 opens"
[ "$(stats_get "$stats" cache_marks_added)" = 0 ] || fail_with_log "--no-cache added marks"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
log "PASS"
