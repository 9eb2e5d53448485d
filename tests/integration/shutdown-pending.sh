#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SIGTERM while many openers wait mid-scan (large files, one worker, a long
# deadline): fanguardd answers every one of them, exits 0 within seconds, and
# its counters balance (events_read == events_answered, pending 0, some
# answered as shutdown). Then again with --default-verdict deny: the openers
# answered at shutdown get EPERM, the others their scan's verdict.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"

n_files=6
n_openers=12
s=$(scratch_tmpfs 512m)
assert_own_tmpfs "$s"
printf '%064d\n' 0 >"$FG_STATE/denylist"
for i in $(seq 1 $n_files); do
	# Distinct 48 MiB files: each scan takes a while (SHA-256 of all of it).
	# No verdict cache (--no-cache below): an opener that starts after its
	# file was scanned must still raise an event.
	{
		echo "big file $i"
		head -c 48M /dev/zero
	} >"$s/big$i"
done

run() {
	local verdict=$1 stats=$FG_STATE/stats-$1 i pids=() p rc ok=0 eperm=0 hung=0 t0 pending

	start_fanguardd_log "$FG_STATE/fanguardd-$verdict.log" --watch "$s" \
		--deny-hashes "$FG_STATE/denylist" --default-verdict "$verdict" --deadline-ms 60000 \
		--workers 1 --no-cache --stats-file "$stats"
	log "[$verdict] fanguardd $FANGUARDD_PID ready: 1 worker, deadline 60 s"

	for i in $(seq 1 $n_openers); do
		"$FGCHECK" open "$s/big$(((i - 1) % n_files + 1))" ok 20000 \
			>"$FG_STATE/open-$verdict-$i" 2>&1 &
		pids+=($!)
		track_pid $!
	done
	# Wait until every opener's event is in and they pile up behind the one
	# worker. (An opener that only opens after the group is gone raises no
	# event at all: under a slow build some started that late.)
	for i in $(seq 1 200); do
		fanguardd_stats_now "$stats"
		pending=$(stats_get "$stats" pending)
		[ "$(stats_get "$stats" events_read)" -ge $n_openers ] && [ "$pending" -ge 2 ] && break
		sleep 0.05
	done
	log "[$verdict] $pending events pending, $(stats_get "$stats" events_answered) answered: SIGTERM"
	[ "$pending" -ge 2 ] || fail_with_log "events did not pile up (pending=$pending)"

	t0=$(now_ms)
	stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
	log "[$verdict] fanguardd exited 0 in ${STOP_MS} ms"
	for i in "${!pids[@]}"; do
		p=${pids[$i]}
		wait_pid_exited "$p" 5 || {
			hung=$((hung + 1))
			continue
		}
		rc=0
		wait "$p" || rc=$?
		untrack_pid "$p"
		sed 's/^/# /' "$FG_STATE/open-$verdict-$((i + 1))" >&2
		case $rc in
		0) ok=$((ok + 1)) ;;
		1) grep -q ": EPERM " "$FG_STATE/open-$verdict-$((i + 1))" && eperm=$((eperm + 1)) ;;
		esac
	done
	log "[$verdict] RESULT openers returned in $(($(now_ms) - t0)) ms after SIGTERM:" \
		"$ok ok, $eperm EPERM, $hung hung"
	[ $hung = 0 ] || fail_with_log "$hung openers still blocked after fanguardd exited"
	assert_stats_balanced "$stats"
	[ "$(stats_get "$stats" reason_shutdown)" -ge 1 ] ||
		fail_with_log "no event answered at shutdown"
	[ "$(stats_get "$stats" events_read)" -ge $n_openers ] || fail_with_log "events missing"
	case $verdict in
	allow) [ $ok = $n_openers ] || fail_with_log "only $ok of $n_openers opens allowed" ;;
	deny)
		[ $((ok + eperm)) = $n_openers ] || fail_with_log "unexpected open results"
		[ "$eperm" = "$(stats_get "$stats" reason_shutdown)" ] ||
			fail_with_log "$eperm EPERM but $(stats_get "$stats" reason_shutdown) shutdown answers"
		;;
	esac
}

run allow
run deny
log "PASS"
