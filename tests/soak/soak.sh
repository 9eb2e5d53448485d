#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Reliability soak: fanguardd with every scanner (SHA-256 denylist, a real
# clamd over its local socket, YARA) on a local tmpfs and a fusetest mount,
# under load, with faults:
#   A. warm-up, then fanguardd's RSS, open fds and threads are sampled;
#   B. N opens (4 processes, no verdict cache: each open is an event) while
#      clamd is stopped (SIGSTOP) and resumed, and killed and restarted, in a
#      loop: every open returns, and allowed (default verdict on the faults);
#   C. EICAR on the FUSE mount is denied (clamd, streamed); FUSE faults:
#      slow reads (the FUSE deadline answers, the stuck workers are
#      replaced), OPENs that hang until the fault is lifted (the opener
#      returns once it is), then the daemon crashes (opens return);
#   D. bad input: a sparse file, a file larger than --max-scan-bytes, a file
#      rewritten and truncated in a loop while it is opened, EICAR and a YARA
#      hit (denied);
#   E. the sample again: open fds and RSS must not grow (bounds below), and
#      at stop every event read was answered (events_read == answered);
#   F. SIGKILL of fanguardd under load: every waiting open is released; a
#      restarted fanguardd denies EICAR again.
# usage: soak.sh [short|long]  (short: 40000 opens, for CI, < 60 s;
#        long: FG_SOAK_EVENTS, default 1000000). Figures go to stderr as "# ".
set -euo pipefail
mode=${1:-short}
case $mode in
short) events=${FG_SOAK_EVENTS:-40000} ;;
long)
	events=${FG_SOAK_EVENTS:-1000000}
	: "${FG_TEST_DEADLINE:=7200}"
	;;
*)
	echo "usage: $0 [short|long]" >&2
	exit 2
	;;
esac
export FG_TEST_DEADLINE=${FG_TEST_DEADLINE:-150}
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
. "$FG_SRC_ROOT/tests/lib/clamd.sh"
require_root
require_fuse
require_fanotify_perm
require_clamd
enter_private_mountns "$@"
require_fusectl

s=$(scratch_tmpfs 512m)
assert_own_tmpfs "$s"
stats=$FG_STATE/stats
# The FUSE mount's backing store is not watched: its files are scanned
# through the FUSE mount only (else the daemon's own opens of the backing
# files would be the ones denied).
b=$(scratch_tmpfs 64m)
m=$s/mnt
mkdir "$m" "$s/local" "$s/bad"
for f in slow1 slow2 slow3 slow4 hang1 ok1 ok2; do
	head -c 16384 /dev/urandom >"$b/$f"
done
printf '%s' "$EICAR" >"$b/eicar.com"
"$FGCHECK" load --procs 1 --iters 1 --dir "$s/local" --files 64 --create >/dev/null ||
	fail "cannot create the local files"
clamd_setup "$FG_STATE/clamd"
start_clamd
tag=$RANDOM$RANDOM
printf 'rule soak_rule { strings: $a = "fanguard-soak-yara-%s" condition: $a }\n' "$tag" \
	>"$FG_STATE/rules.yar"
printf '%064d\n' 0 >"$FG_STATE/deny"
start_fusetest passthrough "$b" "$m" -o entry_timeout=3600,attr_timeout=3600
ls "$m" >/dev/null

fuse_deadline=500
start_fanguardd_log "$FG_STATE/fanguardd.log" --watch "$s" --watch "$m" --no-cache \
	--clamd-socket "$CLAMD_SOCKET" --yara-rules "$FG_STATE/rules.yar" \
	--deny-hashes "$FG_STATE/deny" --default-verdict allow --local-deadline-ms 2000 \
	--fuse-deadline-ms $fuse_deadline --max-scan-bytes $((128 << 20)) --stats-file "$stats"
fg=$FANGUARDD_PID

sample() { # NAME: RSS (kB), open fds, threads of fanguardd
	local rss fds thr
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$fg/status")
	fds=$(find "/proc/$fg/fd" -mindepth 1 -maxdepth 1 | wc -l)
	thr=$(awk '/^Threads:/ { print $2 }' "/proc/$fg/status")
	printf -v "rss_$1" '%s' "$rss"
	printf -v "fds_$1" '%s' "$fds"
	printf -v "thr_$1" '%s' "$thr"
	log "sample $1: fanguardd rss=${rss} kB fds=$fds threads=$thr"
}

# --- A. warm-up ------------------------------------------------------------------
fgcheck_ok load --procs 4 --iters 500 --dir "$s/local" --timeout-s 60
sample before

# --- B. load with clamd stalled and killed ---------------------------------------------
log "B: $events opens while clamd is stopped, resumed, killed, restarted"
"$FGCHECK" load --procs 4 --iters $((events / 4)) --dir "$s/local" --timeout-s $((events / 100 + 120)) \
	>"$FG_STATE/load-b" 2>&1 &
load=$!
track_pid $load
faults=0
while ! pid_exited $load; do
	# Longer than the local deadline (2 s): some opens get the default
	# verdict from the clamd scanner giving up.
	# The sleeps here are the fault schedule (the workload), not waits.
	kill -STOP "$CLAMD_PID"
	sleep 2.5
	kill -CONT "$CLAMD_PID"
	sleep 1
	pid_exited $load && break
	stop_clamd
	sleep 0.5
	start_clamd
	faults=$((faults + 1))
	sleep 1
done
rc=0
wait $load || rc=$?
untrack_pid $load
sed 's/^/# B: /' "$FG_STATE/load-b" >&2
[ $rc = 0 ] || fail_with_log "B: not every open returned ok (exit $rc)"
log "B: $faults stop/kill/restart cycles of clamd"

# --- C. FUSE faults ----------------------------------------------------------------
# First, clamd on a FUSE file: streamed to it (never the fd: clamd may map it).
fgcheck_ok open "$m/eicar.com" EPERM 5000
wait_until 5 grep -q "deny pid=.* class=fuse .*scanner=clamd.* path=$m/eicar.com\$" "$FANGUARDD_LOG" ||
	fail_with_log "C: no clamd deny line for the FUSE file"
fusetest_control slow-read-ms=3000
for f in slow1 slow2 slow3 slow4; do
	fgcheck_ok open "$m/$f" ok $((fuse_deadline + 3000))
done
fusetest_control
fusetest_control hang-path=/hang1
"$FGCHECK" open "$m/hang1" ok 30000 >"$FG_STATE/hang" 2>&1 &
hang=$!
track_pid $hang
# The fault holds once the opener (in its lookup or open) or a fanguardd
# reader (opening the event's file) waits on the daemon.
hang_reached() {
	local p
	[ "$(readers_in_fuse "$FANGUARDD_PID")" -ge 1 ] && return 0
	for p in $(descendants "$hang"); do
		grep -q request_wait_answer "/proc/$p/stack" 2>/dev/null && return 0
	done
	return 1
}
end=$(($(now_ms) + 10000))
until hang_reached; do
	[ "$(now_ms)" -lt $end ] || fail_with_log "C: the OPEN of hang1 never reached the hung daemon"
	sleep 0.02
done
fusetest_control # lifted: the hung OPEN carries on
wait_pid_exited $hang 20 || fail_with_log "C: the open of hang1 did not return after the fault was lifted"
wait $hang || fail_with_log "C: hang1: $(cat "$FG_STATE/hang")"
untrack_pid $hang
sed 's/^/# C: /' "$FG_STATE/hang" >&2
fusetest_control crash-after=1
rc=0
run_within 10 "$FGCHECK" open "$m/ok1" ok 5000 >"$FG_STATE/crash" 2>&1 || rc=$?
sed 's/^/# C: after the crash: /' "$FG_STATE/crash" >&2
[ $rc != 2 ] || fail_with_log "C: an open hung after the FUSE daemon crashed"

# --- D. bad input --------------------------------------------------------------------
truncate -s 64M "$s/bad/sparse"
truncate -s 200M "$s/bad/huge"
printf '%s' "$EICAR" >"$s/bad/eicar.com"
printf 'x fanguard-soak-yara-%s x' "$tag" >"$s/bad/yara-hit"
fgcheck_ok open "$s/bad/sparse" ok 5000
fgcheck_ok open "$s/bad/huge" ok 5000
fgcheck_ok open "$s/bad/eicar.com" EPERM 5000
fgcheck_ok open "$s/bad/yara-hit" EPERM 5000
echo start >"$s/bad/changing"
(
	i=0
	while :; do
		head -c $(((i % 7) * 100000)) /dev/zero >"$s/bad/changing.tmp"
		cat "$s/bad/changing.tmp" >"$s/bad/changing" # truncate, then write
		truncate -s $((i % 5 * 1000)) "$s/bad/changing"
		i=$((i + 1))
	done
) &
writer=$!
track_pid $writer
for i in $(seq 1 100); do
	rc=0
	"$FGCHECK" open "$s/bad/changing" ok 5000 >/dev/null || rc=$?
	[ $rc != 2 ] || fail_with_log "D: an open of a changing file hung"
done
kill $writer
wait $writer 2>/dev/null || true
untrack_pid $writer
log "D: 100 opens of a file rewritten and truncated meanwhile all returned"

# --- E. growth and balance ----------------------------------------------------------
fgcheck_ok load --procs 4 --iters 500 --dir "$s/local" --timeout-s 60
sample after
log "figures: rss ${rss_before} -> ${rss_after} kB, fds ${fds_before} -> ${fds_after}, threads ${thr_before} -> ${thr_after}"
# Bounds: pooled clamd sessions (at most 16) may differ; RSS may settle
# after the FUSE workers' replacements (thread stacks, malloc arenas).
[ "$fds_after" -le $((fds_before + 16)) ] || fail_with_log "open fds grew: $fds_before -> $fds_after"
[ "$rss_after" -le $((rss_before + 65536)) ] || fail_with_log "RSS grew: $rss_before -> $rss_after kB"
stop_fanguardd_within 15 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
rd=$(stats_get "$stats" events_read)
[ "$rd" -ge "$events" ] || fail_with_log "events_read=$rd < $events"
log "E: events_read=$rd answered=$(stats_get "$stats" events_answered) deadline=$(stats_get "$stats" reason_deadline) error=$(stats_get "$stats" reason_error) abandoned=$(stats_get "$stats" workers_abandoned)"

# --- F. SIGKILL under load ---------------------------------------------------------------
start_fanguardd_log "$FG_STATE/fanguardd-2.log" --watch "$s" --no-cache --clamd-socket "$CLAMD_SOCKET" \
	--default-verdict allow --local-deadline-ms 2000
"$FGCHECK" load --procs 4 --iters 2000 --dir "$s/local" --timeout-s 60 >"$FG_STATE/load-f" 2>&1 &
load=$!
track_pid $load
# Under load: the 4 openers run (and fanguardd has events).
wait_until 10 bash -c "[ \$(pgrep -c -P $load) -ge 4 ]" || fail_with_log "F: the load did not start"
kill -KILL "$FANGUARDD_PID"
wait "$FANGUARDD_PID" 2>/dev/null || true
untrack_pid "$FANGUARDD_PID"
rc=0
wait_pid_exited $load 60 || fail "F: opens still waiting after fanguardd was killed"
wait $load || rc=$?
untrack_pid $load
sed 's/^/# F: /' "$FG_STATE/load-f" >&2
[ $rc = 0 ] || fail "F: not every open returned ok after SIGKILL (exit $rc)"
start_fanguardd_log "$FG_STATE/fanguardd-3.log" --watch "$s" --clamd-socket "$CLAMD_SOCKET" \
	--default-verdict allow --stats-file "$stats"
fgcheck_ok open "$s/bad/eicar.com" EPERM 5000
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
stop_clamd
log "PASS: soak $mode: $events opens under clamd and FUSE faults, bad input, SIGKILL"
