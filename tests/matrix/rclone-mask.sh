#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the event mask costs on rclone mount --vfs-cache-mode off (issue 14,
# DESIGN.md §2), measured with an allow-all probe (mask-listener) that marks
# only the rclone mount, so no deadlock is possible:
#   - FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM: a create waits for rclone's own
#     timeout and fails: the kernel's open of the event fd (inside our read())
#     is a second open of a file rclone is still creating;
#   - FAN_ACCESS_PERM | FAN_OPEN_EXEC_PERM: cp -r runs at about the speed of
#     no listener, reads are still seen, but one event per read() (no
#     deduplication: the count is printed), and a script still raises an
#     exec event.
# Prints the numbers as "# rclone-mask:" lines.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
. "$FG_SRC_ROOT/tests/matrix/fs.sh"
MASK_LISTENER=${MASK_LISTENER:-$FG_BUILD_ROOT/tests/matrix/mask-listener}
require_root
require_fuse
require_fanotify_perm
require_cmd rclone
enter_private_mountns "$@"
require_fusectl

s=$(scratch_tmpfs 256m)
assert_own_tmpfs "$s"
m=$s/mnt
mkdir "$m" "$s/src"
for ((i = 1; i <= 50; i++)); do
	echo "file $i" >"$s/src/f$i"
done
head -c 1M /dev/urandom >"$s/big"
printf '#!/bin/sh\necho script-ok\n' >"$s/run.sh"
chmod 755 "$s/run.sh"
MATRIX_RUN=()
fs_rclone-off_prepare "$s"
fs_rclone-off_mount "$s" "$m"
cp "$s/big" "$s/run.sh" "$m/"

# listen MODE: starts mask-listener on $m.
listen() {
	rm -f "$FG_STATE/ready" "$FG_STATE/count"
	start_bg "$MASK_LISTENER" "$1" "$FG_STATE/ready" "$FG_STATE/count" "$m"
	LISTENER=$LAST_PID
	wait_until 10 test -e "$FG_STATE/ready" || fail "mask-listener $1 not ready"
}
# unlisten: stops it, sets EVENTS.
unlisten() {
	kill -TERM "$LISTENER"
	wait_pid_exited "$LISTENER" 10 || fail "mask-listener did not stop"
	wait "$LISTENER" || fail "mask-listener failed"
	untrack_pid "$LISTENER"
	EVENTS=$(awk '{ print $2 }' "$FG_STATE/count")
	OPEN_FAILURES=$(awk '{ print $4 }' "$FG_STATE/count")
}
say() {
	echo "# rclone-mask: $*" >&2
}

# 1. no listener
run_within 30 cp -r "$s/src" "$m/none" || fail "cp -r with no listener failed"
none_ms=$RUN_MS
say "no listener: cp -r of 50 files ${none_ms} ms"

# 2. access mask
listen access
run_within 30 cp -r "$s/src" "$m/access" || fail "cp -r under the access mask failed"
access_ms=$RUN_MS
run_within 10 cat "$m/big" >/dev/null || fail "cat big under the access mask failed"
run_within 10 cat "$m/big" >/dev/null || fail "cat big under the access mask failed"
[ "$("$m/run.sh")" = script-ok ] || fail "script under the access mask"
unlisten
say "access mask: cp -r of 50 files ${access_ms} ms (no listener ${none_ms} ms);" \
	"cp, two cats of 1 MiB and a script raised $EVENTS events (every read() one)"
# cp reads its sources from the tmpfs (unmarked) and only writes to rclone:
# no event. Each cat of 1 MiB is at least 8 reads of 128 KiB, each an event.
[ "$EVENTS" -ge 16 ] || fail "access mask: $EVENTS events, want >= 16 (reads must be seen)"
[ "$access_ms" -le $((none_ms * 3 + 2000)) ] ||
	fail "access mask: cp -r took ${access_ms} ms (no listener ${none_ms} ms)"

# 3. open mask: a single create (rclone answers our second open after its
# own 5 s timeout, with an error, and the kernel denies the create).
listen open
rc=0
run_within 30 bash -c ': >"$1"' _ "$m/created" 2>/dev/null || rc=$?
open_ms=$RUN_MS
unlisten
say "open mask: one create took ${open_ms} ms, exit $rc; $EVENTS events," \
	"$OPEN_FAILURES of them with no fd (the kernel denied them)"
[ $rc != 0 ] && [ "$open_ms" -ge 4000 ] ||
	fail "open mask: a create took ${open_ms} ms with exit $rc: has rclone changed? (update DESIGN.md §2 and expect.txt)"

fusermount3 -u "$m" || fail "fusermount3 -u"
wait_gone "$FS_PID" 10 || fail "rclone did not exit after unmount"
log "PASS"
