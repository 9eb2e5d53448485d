#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# fanguardd with a real clamd (clamav-daemon) and a signature database this
# test writes. Local socket (FILDES: clamd gets the event fd, and logs the
# path it resolves from it): the EICAR file
# and a file carrying the test marker are denied (EPERM, scanner=clamd, the
# signature named), clean files allowed; clamd's process is excluded (seen
# by SO_PEERCRED): its reload of its database, kept on the watched mount, is
# answered at once. clamd stopped (SIGSTOP): opens get the default verdict at
# the deadline, no earlier and not much later. clamd killed: the default
# verdict at once (connection refused); restarted: denials again. Remote
# clamd (INSTREAM over TCP, with a dead endpoint listed first): same
# verdicts; a file past clamd's stream limit gets clamd's error (default
# verdict). Every event read is answered, exactly once.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/clamd.sh"
require_root
require_fanotify_perm
require_clamd
enter_private_mountns "$@"

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
stats=$FG_STATE/stats
# The signatures live on the watched tmpfs: clamd's own opens of them (at a
# RELOAD) raise events, which must be answered at once (clamd is excluded),
# never sent back to clamd.
clamd_setup "$FG_STATE/clamd" "$s/db"
# More threads than the local pool's workers (one per CPU): section 1b.
maxt=$(($(nproc) + 4))
echo "MaxThreads $maxt" >>"$FG_STATE/clamd/clamd.conf"
start_clamd
log "clamd $CLAMD_PID on $CLAMD_SOCKET and $CLAMD_TCP"

n=0
mkfiles() { # SUFFIX: a fresh set (clean verdicts are cached per inode)
	printf '%s' "$EICAR" >"$s/eicar$1.com"
	printf 'some text\n%s\nmore text\n' "$CLAMD_MARKER" >"$s/marked$1.txt"
	echo "clean file $1" >"$s/clean$1.txt"
}
deadline=1500
: >"$s/empty2" # made before the start: its first open is fgcheck's (section 2)

start_fanguardd_log "$FG_STATE/fanguardd.log" -v --watch "$s" --clamd-socket "$CLAMD_SOCKET" \
	--default-verdict allow --deadline-ms $deadline --stats-file "$stats"

# 1. Verdicts from clamd, scanning the passed fd.
mkfiles 1
fgcheck_ok open "$s/eicar1.com" EPERM 5000
fgcheck_ok open "$s/marked1.txt" EPERM 5000
fgcheck_ok open "$s/clean1.txt" ok 5000
wait_until 5 grep -q "deny pid=.* scanner=clamd detail=Fanguard.Test.EICAR.UNOFFICIAL.* path=$s/eicar1.com\$" \
	"$FANGUARDD_LOG" || fail_with_log "no clamd deny line for eicar1.com"
wait_until 5 grep -q "deny pid=.* scanner=clamd detail=Fanguard.Test.Marker.* path=$s/marked1.txt\$" \
	"$FANGUARDD_LOG" || fail_with_log "no clamd deny line for marked1.txt"
wait_until 5 grep -q "excluding its process $CLAMD_PID" "$FANGUARDD_LOG" ||
	fail_with_log "clamd's pid $CLAMD_PID was not excluded"
# 1b. As many scans in flight as clamd runs at once (its STATS reply, asked
# once a second: MaxThreads above): 16 opens at once wait behind the
# workers, and the local pool grows to clamd's threads, no further.
burst() { # 16 fresh files (clean verdicts are cached per inode), opened at once
	local r=$RANDOM$RANDOM i pids=()
	for i in $(seq 16); do echo "parallel clean file $r.$i" >"$s/par$r.$i"; done
	for i in $(seq 16); do
		cat "$s/par$r.$i" >/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
}
grown() { burst && grep -q "local: $maxt workers, as many scans in flight" "$FANGUARDD_LOG"; }
wait_until 20 grown || fail_with_log "the local pool did not grow to clamd's $maxt threads"
burst && burst
fanguardd_stats_now "$stats"
base=$(($(nproc) < 2 ? 2 : $(nproc)))
[ "$(stats_get "$stats" workers_grown)" = $((maxt - base)) ] ||
	fail_with_log "workers_grown=$(stats_get "$stats" workers_grown), want $((maxt - base))"
log "local pool: grew from $base to clamd's $maxt threads, no further"

# Loop-back: clamd re-reads its database on the watched mount.
[ "$(clamd_cmd_tcp zRELOAD)" = RELOADING ] || fail_with_log "clamd did not take RELOAD"
wait_until 10 grep -q "allow pid=$CLAMD_PID .*reason=excluded.* path=$s/db/fanguard-test.ndb\$" \
	"$FANGUARDD_LOG" || fail_with_log "clamd's reload of its database was not answered as excluded"
wait_until 10 grep -q "Database correctly reloaded" "$CLAMD_DIR/clamd.log" ||
	fail_with_log "clamd did not finish its reload"
fgcheck_ok open "$s/marked1.txt" EPERM 5000

# clamd logs the path it resolved from the fd it got (/proc/self/fd).
grep -q "$s/eicar1.com: Fanguard.Test.EICAR.UNOFFICIAL FOUND" "$CLAMD_DIR/clamd.log" ||
	fail_with_log "clamd did not log the detection"

# 2. A stalled clamd: the default verdict (allow) at the deadline.
mkfiles 2
kill -STOP "$CLAMD_PID"
fgcheck_ok open "$s/eicar2.com" ok 5000
ms=$(printf '%s\n' "$FGCHECK_OUT" | grep -o '[0-9.]* ms' | head -1 | cut -d' ' -f1 || true)
fgcheck_ok open "$s/clean2.txt" ok 5000
# The scanner gives up just before the deadline, so the worker answers
# (naming clamd), not the keeper (which would abandon the worker).
wait_until 5 grep -q "allow\( (not scanned)\)\? pid=.* reason=deadline scanner=clamd.* path=$s/eicar2.com\$" "$FANGUARDD_LOG" ||
	fail_with_log "eicar2.com was not answered by the clamd scanner at its deadline"
lat=$(grep ".*reason=deadline.* path=$s/eicar2.com\$" "$FANGUARDD_LOG" | grep -o 'latency_us=[0-9]*' | cut -d= -f2)
log "stalled clamd: answered after $((lat / 1000)) ms (deadline $deadline ms) ${ms:+, open took $ms ms}"
[ "$lat" -ge $(((deadline - 50) * 1000)) ] && [ "$lat" -lt $(((deadline + 700) * 1000)) ] ||
	fail_with_log "stalled clamd: latency ${lat} us, expected about ${deadline} ms"
# An empty local file needs no round trip: answered at once, scanned, while
# clamd is still stopped. Once it has content, it is clamd's again.
fgcheck_ok open "$s/empty2" ok 5000
wait_until 5 grep -q "allow pid=.* reason=scanned scanner=clamd.* path=$s/empty2\$" "$FANGUARDD_LOG" ||
	fail_with_log "the empty file was not answered as scanned"
lat=$(grep ".*reason=scanned.* path=$s/empty2\$" "$FANGUARDD_LOG" | grep -o 'latency_us=[0-9]*' | cut -d= -f2)
[ "$lat" -lt $((deadline * 1000 / 2)) ] || fail_with_log "empty file: waited ${lat} us for a stopped clamd"
kill -CONT "$CLAMD_PID"
printf '%s\n' "$CLAMD_MARKER" >>"$s/empty2"
fgcheck_ok open "$s/empty2" EPERM 5000

# 3. clamd killed: the default verdict at once; back when it restarts.
stop_clamd
mkfiles 3
fgcheck_ok open "$s/eicar3.com" ok 5000
wait_until 5 grep -q "allow\( (not scanned)\)\? pid=.* reason=error scanner=clamd.* path=$s/eicar3.com\$" "$FANGUARDD_LOG" ||
	fail_with_log "eicar3.com: no error verdict from a dead clamd"
lat=$(grep ".*reason=error.* path=$s/eicar3.com\$" "$FANGUARDD_LOG" | tail -1 | grep -o 'latency_us=[0-9]*' | cut -d= -f2)
log "dead clamd: answered after $((lat / 1000)) ms"
[ "$lat" -lt $((deadline * 1000 / 2)) ] || fail_with_log "dead clamd: waited ${lat} us"
start_clamd
log "clamd restarted as $CLAMD_PID"
mkfiles 4
fgcheck_ok open "$s/eicar4.com" EPERM 5000
fgcheck_ok open "$s/clean4.txt" ok 5000
wait_until 5 grep -q "excluding its process $CLAMD_PID" "$FANGUARDD_LOG" ||
	fail_with_log "the restarted clamd ($CLAMD_PID) was not excluded"

stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
[ "$(stats_get "$stats" workers_abandoned)" = 0 ] || fail_with_log "a stalled clamd made workers look stuck"
[ "$(stats_get "$stats" denied)" = 5 ] || fail_with_log "denied=$(stats_get "$stats" denied), expected 5 (eicar1, marked1 twice, empty2 once marked, eicar4)"

# 4. Remote clamd (INSTREAM); the first endpoint is dead, the second answers.
rm -f "$stats"
# Under the whole sandbox: seccomp allows AF_INET with --clamd-tcp, and
# Landlock allows TCP connects to the two configured ports only.
start_fanguardd_log "$FG_STATE/fanguardd-tcp.log" -v --landlock --watch "$s" --clamd-tcp 127.0.0.1:1 \
	--clamd-tcp "$CLAMD_TCP" --default-verdict allow --deadline-ms $deadline --stats-file "$stats"
mkfiles 5
fgcheck_ok open "$s/eicar5.com" EPERM 5000
fgcheck_ok open "$s/marked5.txt" EPERM 5000
fgcheck_ok open "$s/clean5.txt" ok 5000
wait_until 5 grep -q "deny pid=.* scanner=clamd detail=Fanguard.Test.EICAR.* path=$s/eicar5.com\$" \
	"$FANGUARDD_LOG" || fail_with_log "no INSTREAM deny line for eicar5.com"
# Past clamd's StreamMaxLength (2 MiB here): clamd's error, the default
# verdict, at once; the session is dropped and the next scan works.
head -c 3M /dev/urandom >"$s/big5"
fgcheck_ok open "$s/big5" ok 5000
wait_until 5 grep -q "allow\( (not scanned)\)\? pid=.* reason=error scanner=clamd detail=clamd: INSTREAM size limit exceeded.* path=$s/big5\$" \
	"$FANGUARDD_LOG" || fail_with_log "no size-limit error line for big5"
printf '%s' "$EICAR" >"$s/eicar6.com"
fgcheck_ok open "$s/eicar6.com" EPERM 5000
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
[ "$(stats_get "$stats" denied)" = 3 ] || fail_with_log "INSTREAM: denied=$(stats_get "$stats" denied), expected 3"
stop_clamd
log "PASS: clamd FILDES and INSTREAM verdicts, stalled, killed and restarted clamd"
