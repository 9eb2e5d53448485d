#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# FIFOs, character devices and unix sockets on a watched tmpfs never block on
# the listener, with open and read checks (--access) on: non-blocking read
# opens, write opens, a blocking reader+writer pair, device reads and writes,
# socket connect and open (ENXIO). Every permission event the kernel raises
# for them is answered at receipt as not-regular (never read, never queued).
#
# Measured on Linux 6.18: the kernel raises no permission event at all for a
# FIFO, a device or a socket on tmpfs (only regular files get one), so the
# not-regular count is 0 there; the test asserts the relation, not a count.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"

s=$(scratch_tmpfs 16m)
assert_own_tmpfs "$s"
stats=$FG_STATE/stats
mkfifo "$s/fifo" "$s/fifo2"
mknod "$s/null" c 1 3
mknod "$s/zero" c 1 5
echo "a regular file" >"$s/reg"
printf '%064d\n' 0 >"$FG_STATE/denylist"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch "$s" --access \
	--deny-hashes "$FG_STATE/denylist" --default-verdict deny --deadline-ms 3000 \
	--stats-file "$stats"
log "fanguardd $FANGUARDD_PID ready, watching $s (open, exec and read checks)"

fanguardd_stats_now "$stats"
r0=$(stats_get "$stats" events_read)
n0=$(stats_get "$stats" reason_not_regular)

fgcheck_ok fifo "$s/fifo" 3000
fgcheck_ok open "$s/fifo" ok 3000 rdonly,nonblock
fgcheck_ok open "$s/fifo" ENXIO 3000 wronly,nonblock
fgcheck_ok open "$s/null" ok 3000 rdwr
fgcheck_ok open "$s/zero" ok 3000 rdonly
fgcheck_ok unix-socket "$s/sock" 3000
run_within 5 bash -c 'echo x >"$1/null" && cat "$1/null" && head -c 1M "$1/zero" >/dev/null' _ "$s" ||
	fail_with_log "device read/write failed"
log "device read/write: ${RUN_MS} ms"
# Shell pipeline through a FIFO, both ends blocking, 4 MiB of data.
run_within 10 bash -c 'sum=$(cksum <"$1") & head -c 4M /dev/zero >"$1"; wait' _ "$s/fifo2" ||
	fail_with_log "reader+writer pair through $s/fifo2 failed"
log "4 MiB through a FIFO: ${RUN_MS} ms"

fanguardd_stats_now "$stats"
r1=$(stats_get "$stats" events_read)
n1=$(stats_get "$stats" reason_not_regular)
log "RESULT permission events for FIFO/device/socket accesses: $((r1 - r0)), answered as not-regular: $((n1 - n0))"
[ $((r1 - r0)) = $((n1 - n0)) ] ||
	fail_with_log "$((r1 - r0)) events for non-regular files, only $((n1 - n0)) answered as not-regular"

# The listener is live: a regular file raises events and is answered.
fgcheck_ok open "$s/reg" ok 3000
fanguardd_stats_now "$stats"
r2=$(stats_get "$stats" events_read)
[ "$r2" -gt "$r1" ] || fail_with_log "no event for a regular file: is the mount watched?"

stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
log "fanguardd stopped in ${STOP_MS} ms"
assert_stats_balanced "$stats"
[ "$(stats_get "$stats" reason_deadline)" = 0 ] || fail_with_log "an event waited for its deadline"
[ "$(stats_get "$stats" denied)" = 0 ] || fail_with_log "something was denied"
log "PASS"
