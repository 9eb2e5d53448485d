#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 13, finding 6: a mount under a watched tree that lives 50 ms is
# either covered while it exists or reported, never silently missed.
# fanguardd --watch-tree on a scratch tmpfs; then
#  1. 50 tmpfs mounts below it, each living 50 ms, a denylisted file opened
#     over and over while it lives: each mount is denied, or marked (log), or
#     counted in mounts_gone_before_marked;
#  2. 50 tmpfs mounts unmounted at once (lazily: the listener may hold one
#     open to mark it): each is marked (log) or counted.
# A sentinel mount, marked last, shows the watcher has caught up.
# Mounts only in a private mount namespace (common.sh).
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"

n=50
s=$(scratch_tmpfs 64m)
assert_own_mount "$s"
stats=$FG_STATE/stats
tag=$RANDOM$RANDOM
printf 'fanguard test: denylisted content %s\n' "$tag" >"$FG_STATE/evil"
sha256sum "$FG_STATE/evil" | cut -d' ' -f1 >"$FG_STATE/denylist"
mkdir -p "$s/sentinel1" "$s/sentinel2"
for ((i = 0; i < n; i++)); do mkdir -p "$s/a$i" "$s/b$i"; done

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch-tree "$s" \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --deadline-ms 4000 \
	--stats-file "$stats" -l debug
log "fanguardd $FANGUARDD_PID ready, watching the tree under $s"

gone() {
	fanguardd_stats_now "$stats"
	stats_get "$stats" mounts_gone_before_marked
}
marked() { # MOUNTPOINT: the log says it was marked
	grep -qE "mount [0-9]+ '$1' \(tmpfs\) under .* marked in" "$FANGUARDD_LOG"
}
# sentinel NAME: mount a tmpfs, wait until it is marked (the watcher then
# handled every event before it), unmount it.
sentinel() {
	mount -t tmpfs -o size=1m fg-short "$s/$1" || fail "mount $s/$1"
	wait_until 20 marked "$s/$1" || fail_with_log "sentinel $s/$1 not marked within 20s"
	umount -l "$s/$1"
}
mounts_in_log() { # PREFIX: lines about mounts made at PREFIX<i>
	grep -cE "mount [0-9]+ '$s/$1[0-9]+' " "$FANGUARDD_LOG" || true
}

g0=$(gone)
denied=()
for ((i = 0; i < n; i++)); do
	m=$s/a$i
	mount -t tmpfs -o size=1m fg-short "$m" || fail "mount $m"
	cp "$FG_STATE/evil" "$m/evil"
	end=$(($(now_ms) + 50))
	denied[i]=0
	while [ "$(now_ms)" -lt "$end" ]; do
		if ! cat "$m/evil" >/dev/null 2>"$FG_STATE/cat.err"; then
			grep -q 'Operation not permitted' "$FG_STATE/cat.err" ||
				fail_with_log "cat $m/evil: $(cat "$FG_STATE/cat.err")"
			denied[i]=1
		fi
	done
	umount -l "$m" || fail "umount $m"
done
sentinel sentinel1
g1=$(gone)
nd=0 nm=0 unexplained=0
for ((i = 0; i < n; i++)); do
	if [ "${denied[i]}" = 1 ]; then
		nd=$((nd + 1))
	elif marked "$s/a$i"; then
		nm=$((nm + 1))
	else
		unexplained=$((unexplained + 1))
	fi
done
log "50 ms mounts: $nd of $n denied while they lived, $nm more marked after the last open," \
	"$unexplained neither; mounts_gone_before_marked +$((g1 - g0))"
[ "$unexplained" -le $((g1 - g0)) ] ||
	fail_with_log "$unexplained mounts neither covered nor reported (mounts_gone_before_marked +$((g1 - g0)))"

for ((i = 0; i < n; i++)); do
	mount -t tmpfs -o size=1m fg-short "$s/b$i" || fail "mount $s/b$i"
	# Lazily: the listener may hold the mount open for its mark (EBUSY).
	umount -l "$s/b$i" || fail "umount $s/b$i"
done
sentinel sentinel2
g2=$(gone)
nm=0
for ((i = 0; i < n; i++)); do
	marked "$s/b$i" && nm=$((nm + 1))
done
log "mounts unmounted at once: $nm of $n marked; mounts_gone_before_marked +$((g2 - g1))"
[ $((nm + g2 - g1)) -ge $n ] ||
	fail_with_log "$((n - nm - g2 + g1)) mounts neither marked nor reported"
grep -E "came and went|went away before" "$FANGUARDD_LOG" | head -3 | sed 's/^/# /' >&2 || true

stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
log "PASS"
