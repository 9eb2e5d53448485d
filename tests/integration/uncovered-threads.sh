#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 13: the thread-budget cause of "uncovered", produced on purpose.
# fanguardd --max-threads 20 --workers 1 keeps the local group's reserve
# (its workers, readers, keeper and 16 replacements for threads stuck in
# FUSE) and leaves no thread for any other group: a FUSE mount made under
# the watched tree cannot get a group of its own, nor the shared one. It is
# reported uncovered, cause thread-budget, in the log (naming the mount),
# in `fanguardctl status` and `mounts --json`, and in the metric
# fanguard_uncovered{uncovered_cause="thread-budget"}; its files are not
# scanned (uncovered means the kernel does not ask). A tmpfs mounted there
# later is still covered (the local reserve). When the FUSE mount goes
# away, so does the report.
# Marks only a tmpfs this test made, in a private mount namespace; daemons
# killed by PID, FUSE connections aborted at exit.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
CTL=${FANGUARDCTL:-$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl}
enter_private_mountns "$@"
require_fusectl

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
o=$(scratch_tmpfs 16m) # not watched: the FUSE mount's backing, the tmpfs's file
assert_own_mount "$o"
ctl_sock=$FG_STATE/control
mkdir "$s/f" "$s/t" "$o/b"
printf 'fanguard test: denylisted content %s\n' "$RANDOM$RANDOM" >"$o/b/bad"
sha256sum "$o/b/bad" | cut -d' ' -f1 >"$FG_STATE/denylist"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch-tree "$s" --workers 1 --max-threads 20 \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --no-cache \
	--control-socket "$ctl_sock" --stats-file "$FG_STATE/stats"
ctl() { "$CTL" --socket "$ctl_sock" "$@"; }
metric() { # NAME LABELS: one sample of fanguardctl metrics
	ctl metrics | awk -v k="fanguard_$1$2" '$1 == k { print $2; f = 1 } END { if (!f) print "missing" }'
}
[ "$(metric uncovered '{uncovered_cause="thread-budget"}')" = 0 ] ||
	fail_with_log "thread-budget uncovered before any FUSE mount"

start_fusetest passthrough "$o/b" "$s/f"
wait_until 10 grep -q "mount [0-9]* '$s/f' is NOT covered (cause: thread-budget" \
	"$FANGUARDD_LOG" || fail_with_log "no error line names $s/f uncovered for the thread budget"
log "log: $(grep "'$s/f' is NOT covered" "$FANGUARDD_LOG" | tail -1 | sed 's/^[^:]*: //')"
wait_until 5 bash -c '[ "$("$1" --socket "$2" metrics | awk '\''$1 == "fanguard_uncovered{uncovered_cause=\"thread-budget\"}" { print $2 }'\'')" = 1 ]' \
	_ "$CTL" "$ctl_sock" || fail_with_log "metric: thread-budget uncovered is not 1"
st=$(ctl status)
grep -qE "NOT COVERED: mount [0-9]+ '$s/f': thread-budget" <<<"$st" ||
	fail_with_log "status does not name $s/f uncovered for the thread budget: $st"
grep -E "NOT COVERED: mount [0-9]+ '$s/f'" <<<"$st" | sed 's/^/# status: /' >&2
ctl mounts --json | python3 -c '
import json, sys
m = [e for e in json.load(sys.stdin) if e["mount_point"] == sys.argv[1]]
assert len(m) == 1 and m[0]["covered"] is False and m[0]["cause"] == "thread-budget", m
' "$s/f" || fail_with_log "fanguardctl mounts does not list $s/f uncovered (thread-budget)"
# Uncovered means unscanned: the kernel does not ask us.
fgcheck_ok open "$s/f/bad" ok 5000
# The local reserve still covers a tmpfs mounted under the tree.
mount -t tmpfs -o size=1m fg-test "$s/t"
at_exit "umount -l '$s/t' 2>/dev/null"
cp "$o/b/bad" "$s/t/bad"
wait_until 5 bash -c '! head -c1 "$1" >/dev/null 2>&1' _ "$s/t/bad" ||
	fail_with_log "a tmpfs under the tree is not covered within the thread budget"
# Gone, and so is its report.
stop_fusetest "$s/f"
untrack_pid "$FUSETEST_PID"
wait_until 10 bash -c '[ "$("$1" --socket "$2" metrics | awk '\''$1 == "fanguard_uncovered{uncovered_cause=\"thread-budget\"}" { print $2 }'\'')" = 0 ]' \
	_ "$CTL" "$ctl_sock" || fail_with_log "the thread-budget report stayed after the mount went away"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$FG_STATE/stats"
log "PASS"
