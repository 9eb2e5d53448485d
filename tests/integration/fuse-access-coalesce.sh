#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 14: on an access-mask FUSE mount every read() raises
# FAN_ACCESS_PERM; reads of a file whose scan is running wait for that scan
# (flight.c) instead of a scan each. A fusetest passthrough mount, marked
# with the access mask (--fuse-event-mask-access), whose daemon takes 300 ms
# more per read (so each scan through it lasts that long); no ignore marks
# (--no-cache), so that every read is an event. N readers of one clean file
# at once: all read it, and at least one of their events is coalesced
# (counted); N readers of one denylisted file at once: every read fails
# with EPERM. Reports the wall time of each burst and the counters.
# Marks only tmpfs this test made and the FUSE mount it started, in a
# private mount namespace; daemons killed by PID, connections aborted at exit.
set -euo pipefail
n_readers=${FG_COALESCE_READERS:-6}
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
enter_private_mountns "$@"
require_fusectl

s=$(scratch_tmpfs 16m)
assert_own_tmpfs "$s"
# The backing store is not watched: a deny comes from the FUSE group.
u=$(scratch_tmpfs 16m)
assert_own_tmpfs "$u"
stats=$FG_STATE/stats
mkdir "$u/b" "$s/m"
head -c 49152 /dev/urandom | base64 >"$u/b/clean"
printf 'fanguard test: denylisted content %s\n' "$RANDOM$RANDOM" >"$u/b/evil"
sha256sum "$u/b/evil" | cut -d' ' -f1 >"$FG_STATE/denylist"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch-tree "$s" \
	--fuse-event-mask-access "$s/m" --deny-hashes "$FG_STATE/denylist" \
	--default-verdict allow --stats-file "$stats" --no-cache
start_fusetest passthrough "$u/b" "$s/m" --slow-read-ms 300
wait_until 10 grep -qE "mount [0-9]+ '$s/m' .*marked in" "$FANGUARDD_LOG" ||
	fail_with_log "the FUSE mount was not marked"

# burst FILE: N readers of FILE at once; prints how many read it whole.
burst() {
	local name=$1 i ok=0 pids=()
	for ((i = 0; i < n_readers; i++)); do
		(timeout 30 cat "$s/m/$name" >"$FG_STATE/out.$i" 2>"$FG_STATE/err.$i") &
		pids+=($!)
		track_pid $!
	done
	for ((i = 0; i < n_readers; i++)); do
		if wait "${pids[$i]}"; then
			cmp -s "$FG_STATE/out.$i" "$u/b/$name" && ok=$((ok + 1))
		else
			grep -q "Operation not permitted" "$FG_STATE/err.$i" ||
				fail_with_log "reader $i of $name: $(cat "$FG_STATE/err.$i")"
		fi
		untrack_pid "${pids[$i]}"
	done
	echo $ok
}

for f in clean evil; do
	fanguardd_stats_now "$stats"
	c0=$(stats_get "$stats" coalesced)
	r0=$(stats_get "$stats" events_read)
	t0=$(now_ms)
	ok=$(burst $f)
	ms=$(($(now_ms) - t0))
	fanguardd_stats_now "$stats"
	c=$(($(stats_get "$stats" coalesced) - c0))
	r=$(($(stats_get "$stats" events_read) - r0))
	log "RESULT $n_readers readers of $f at once: $ok read it whole in $ms ms; $r events, $c coalesced"
	if [ $f = clean ]; then
		[ "$ok" = "$n_readers" ] || fail_with_log "$ok of $n_readers readers read the clean file"
	else
		[ "$ok" = 0 ] || fail_with_log "$ok readers read the denylisted file"
	fi
	[ "$c" -ge 1 ] || fail_with_log "no read of $f waited for the scan in flight ($r events)"
done

abort_fuse "$FUSETEST_CONN"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
log "PASS"
