#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A FUSE daemon that stops answering must stall only its own mount. fanguardd
# watches a local tmpfs and a fusetest mount on it (short FUSE deadline):
#  1. reads that take 60 s (--slow-read-ms): opens on the FUSE mount get the
#     default verdict at the FUSE deadline, the stuck workers are abandoned
#     and replaced, local opens keep completing;
#  2. OPENs that never get a reply (--hang-path): fanguardd's readers are
#     stuck inside read() (the kernel opens the event's file through FUSE,
#     DESIGN.md §1): 4 hung OPENs hold 4 readers, and the domain adds a
#     reader each time all of its readers are stuck (readers_added >= 4), so
#     another file of the mount is still answered; the FUSE openers wait with the daemon (not asserted); 2000 local opens
#     still all complete, with their latency reported;
#  3. SIGTERM: fanguardd exits within seconds, or, when its readers are stuck
#     in a FUSE request the daemon already took (uninterruptible in the
#     kernel), exits right after the FUSE connection is aborted; the report
#     says which. Every event it read was answered exactly once.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
enter_private_mountns "$@"
require_fusectl

fuse_deadline_ms=500
s=$(scratch_tmpfs 128m)
assert_own_mount "$s"
b=$s/back
m=$s/mnt
stats=$FG_STATE/stats
mkdir "$b" "$m" "$s/local"
for f in slow1 slow2 slow3 hang1 hang2 hang3 hang4 ok1; do
	head -c 4096 /dev/urandom >"$b/$f"
done
printf '%064d\n' 0 >"$FG_STATE/denylist"
"$FGCHECK" load --procs 1 --iters 1 --dir "$s/local" --files 32 --create >/dev/null ||
	fail "cannot create the local files"

# Long entry/attr timeouts: once looked up, opening a file sends the daemon
# nothing before the permission event, so a hung OPEN is met by fanguardd's
# reader (inside read()), not by the opener's path walk. Threads enough that
# the hung operations never starve the others.
start_fusetest passthrough "$b" "$m" -o entry_timeout=3600,attr_timeout=3600 --threads 64
at_exit "umount -l '$m' 2>/dev/null"
assert_own_mount "$m"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch "$s" --watch "$m" \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --deadline-ms 5000 \
	--fuse-deadline-ms $fuse_deadline_ms --stats-file "$stats"
log "fanguardd $FANGUARDD_PID ready, watching $s and $m (FUSE deadline ${fuse_deadline_ms} ms)"

# Healthy first: look every file up (cached from now on).
for f in slow1 slow2 slow3 hang1 hang2 hang3 hang4 ok1; do
	fgcheck_ok open "$m/$f" ok 3000
done

# Local opens must not notice whatever FUSE does.
local_load() { # LABEL
	fgcheck_ok load --procs 2 --iters 1000 --dir "$s/local" --timeout-s 20
	local l
	l=$(printf '%s\n' "$FGCHECK_OUT" | grep latency_us)
	log "RESULT local opens $1: $(load_get "$(printf '%s\n' "$FGCHECK_OUT" | grep 'opens=')" opens_per_s) opens/s," \
		"p50 $(load_get "$l" p50) us, p99 $(load_get "$l" p99) us, max $(load_get "$l" max) us"
	# An open that waited on FUSE would take the FUSE deadline or forever.
	awk -v p="$(load_get "$l" p99)" 'BEGIN { exit !(p < 50000) }' ||
		fail_with_log "local opens $1: p99 $(load_get "$l" p99) us >= 50 ms"
}
local_load "(healthy daemon)"

# --- 1: every READ takes 60 s -------------------------------------------------
# fanguardd's worker reads the file through FUSE and gets stuck; the keeper
# answers at the FUSE deadline. The opener itself may still wait: its own
# open invalidates the page cache (fuse_finish_open() without
# FOPEN_KEEP_CACHE) and so waits for the folio the stuck READ holds locked.
# Reported, not asserted.
fusetest_control slow-read-ms=60000
log "fusetest: every READ now takes 60 s"
bg_pids=()
n=0
for f in slow1 slow2; do
	"$FGCHECK" open "$m/$f" ok 60000 >"$FG_STATE/$f.out" 2>&1 &
	bg_pids+=($!)
	track_pid $!
	n=$((n + 1))
	# Deadline answers are counted, and summarised in the log every 10 s
	# (never a line per event): watch the counter.
	t0=$(now_ms)
	until fanguardd_stats_now "$stats" && [ "$(stats_get "$stats" reason_deadline)" -ge $n ]; do
		[ $(($(now_ms) - t0)) -lt 5000 ] ||
			fail_with_log "no deadline answer for the FUSE open of $f"
		sleep 0.05
	done
	ms=$(($(now_ms) - t0))
	# Give the opener a second to return (it may not: see above).
	if wait_pid_exited "${bg_pids[-1]}" 1; then
		st="returned: $(cat "$FG_STATE/$f.out")"
	else
		st="is still blocked in open(2), wchan:"
		for c in $(descendants "${bg_pids[-1]}"); do
			st+=" $(cat "/proc/$c/wchan" 2>/dev/null)"
		done
	fi
	log "RESULT FUSE open of $f with a 60 s READ: fanguardd answered allow within $ms ms of the open" \
		"(FUSE deadline ${fuse_deadline_ms} ms); the opener $st"
done
local_load "(FUSE workers stuck in READ)"
fanguardd_stats_now "$stats"
for k in reason_deadline workers_abandoned workers_replaced; do
	v=$(stats_get "$stats" $k)
	log "stats during slow reads: $k $v"
	[ "$v" -ge 2 ] || fail_with_log "$k=$v after two reads stuck past the deadline"
done

# --- 2: OPENs of /hang* never get a reply --------------------------------------
# Reads are fast again (the two READs above still take their 60 s).
fusetest_control 'hang-path=/hang*'
log "fusetest: OPEN of /hang* now hangs for ever, other operations are served"
hang_pids=()
for i in 1 2 3 4; do
	"$FGCHECK" open "$m/hang$i" ok 60000 >"$FG_STATE/hang$i.out" 2>&1 &
	hang_pids+=($!)
	track_pid $!
done
# Each hung OPEN holds the fanguardd reader that took its event, inside
# read(); the domain must add a reader each time all of its readers are
# stuck, so that the mount's other events still flow. Wait (bounded) for
# 4 stuck readers and 4 added ones.
end=$(($(now_ms) + 15000))
while :; do
	fanguardd_stats_now "$stats"
	stuck=$(readers_in_fuse "$FANGUARDD_PID")
	added=$(stats_get "$stats" readers_added)
	[ "$stuck" -ge 4 ] && [ "$added" -ge 4 ] && break
	[ "$(now_ms)" -lt $end ] ||
		fail_with_log "after 15 s with 4 hung OPENs: $stuck readers stuck in FUSE, readers_added=$added (want 4 and 4)"
	sleep 0.05
done
[ "$(stats_get "$stats" pending)" -le 4 ] ||
	fail_with_log "pending $(stats_get "$stats" pending) with only 4 events in FUSE opens"
log "RESULT 4 hung OPENs: $stuck fanguardd readers stuck in read() on FUSE, readers_added $added," \
	"kernel_open_errors $(stats_get "$stats" kernel_open_errors), pending $(stats_get "$stats" pending)"
# Another file of the hung mount: the added reader takes its event.
r=0
"$FGCHECK" open "$m/slow3" ok 3000 >"$FG_STATE/slow3.out" 2>&1 || r=$?
log "RESULT FUSE open of another file while 4 OPENs hang: $(cat "$FG_STATE/slow3.out") (exit $r)"
[ $r = 0 ] || fail_with_log "another file of the mount was not answered while 4 OPENs hang"
local_load "(4 FUSE OPENs hung, readers stuck)"
fgcheck_ok open "$b/hang1" ok 3000 # the backing file, locally

# --- 3: SIGTERM --------------------------------------------------------------
# fanguardd writes its stats file after stopping, just before it exits.
fanguardd_stats_now "$stats"
ino=$(stat -c %i "$stats")
t0=$(now_ms)
kill -TERM "$FANGUARDD_PID"
stopped_ms=
while [ $(($(now_ms) - t0)) -lt 12000 ]; do
	pid_exited "$FANGUARDD_PID" && break
	[ -z "$stopped_ms" ] && [ "$(stat -c %i "$stats")" != "$ino" ] && stopped_ms=$(($(now_ms) - t0))
	sleep 0.01
done
aborted=0
if pid_exited "$FANGUARDD_PID"; then
	log "RESULT fanguardd exited $(($(now_ms) - t0)) ms after SIGTERM, FUSE still hung"
else
	log "RESULT fanguardd finished stopping (stats written) ${stopped_ms:-?} ms after SIGTERM," \
		"but is still alive after 12 s; its threads:"
	dump_tasks "$FANGUARDD_PID" | sed 's/^/#   /' >&2
	grep -E "stuck|abandon|Received" "$FANGUARDD_LOG" | sed 's/^/# log: /' >&2 || true
	log "aborting FUSE connection $FUSETEST_CONN"
	abort_fuse "$FUSETEST_CONN"
	aborted=1
	t1=$(now_ms)
	wait_pid_exited "$FANGUARDD_PID" 5 ||
		fail_with_log "fanguardd did not exit within 5 s of the FUSE abort"
	log "RESULT fanguardd exited $(($(now_ms) - t1)) ms after the FUSE abort"
fi
rc=0
wait "$FANGUARDD_PID" || rc=$?
untrack_pid "$FANGUARDD_PID"
[ $rc = 0 ] || fail_with_log "fanguardd exited with status $rc"
grep -E "stuck|abandon" "$FANGUARDD_LOG" | sed 's/^/# log: /' >&2 || true
assert_stats_balanced "$stats"

# The hung openers wait with the daemon until the connection goes away.
[ $aborted = 1 ] || abort_fuse "$FUSETEST_CONN"
names=(slow1 slow2 hang1 hang2 hang3 hang4)
pids=("${bg_pids[@]}" "${hang_pids[@]}")
for i in "${!pids[@]}"; do
	p=${pids[$i]}
	wait_pid_exited "$p" 5 || {
		# shellcheck disable=SC2046 # one PID per word
		dump_tasks "$p" $(descendants "$p") >&2
		fail "opener of $m/${names[$i]} still blocked 5 s after the FUSE abort"
	}
	wait "$p" || true
	untrack_pid "$p"
	log "opener of ${names[$i]}: $(tr '\n' ' ' <"$FG_STATE/${names[$i]}.out")"
done
log "PASS"
