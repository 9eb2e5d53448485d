#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The case of docs/design.md §1 with the real programs: sshfs to a private sshd
# on 127.0.0.1 (opener -> sshfs -> ssh -> sshd -> sftp-server -> tmpfs),
# with fanguardd watching both the backing tmpfs and the sshfs mount. The
# workload of repro-naive.sh must complete within $FG_REPRO_DEADLINE seconds
# and a denylisted file must be denied (EPERM) on both sides.
# repro-sshfs-naive.sh shows the same set-up deadlocking the naive listener.
#
# Run alone:  meson test -C build --suite repro repro-sshfs --print-errorlogs
set -euo pipefail
: "${FG_TEST_DEADLINE:=150}"
: "${FG_SRC_ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
. "$FG_SRC_ROOT/tests/lib/sshd.sh"
. "$FG_SRC_ROOT/tests/repro/repro-lib.sh"
require_root
require_fuse
require_fanotify_perm
require_cmd sshfs
[ -x "$FANGUARDD" ] || fail "fanguardd not built ($FANGUARDD)"
enter_private_mountns "$@"
require_fusectl

s=$(scratch_tmpfs 256m)
assert_own_tmpfs "$s"
mkdir "$s/backing" "$s/mnt"
make_inputs "$s" "$s/backing"
printf 'fanguard repro: this content is denylisted (sshfs)\n' >"$s/backing/evil.bin"
echo "harmless" >"$s/backing/good.txt"
deny="$FG_STATE/deny.txt"
{
	echo "# repro-sshfs: denied on purpose"
	sha256sum <"$s/backing/evil.bin" | cut -d' ' -f1
} >"$deny"

start_sshd
start_sshfs "$s/backing" "$s/mnt"
assert_own_tmpfs "$s"
assert_own_mount "$s/mnt"
start_fanguardd --watch "$s" --watch "$s/mnt" --deny-hashes "$deny" \
	--default-verdict allow --deadline-ms 2000

start_workload "$s/mnt" "$s/src"
if ! wait_workload "$FG_REPRO_DEADLINE"; then
	# shellcheck disable=SC2046
	report_hang "fanguardd:$FANGUARDD_PID" "sshfs:$SSHFS_PID" "sftp-server:$SFTP_SERVER_PID" \
		"workload:$WORKLOAD_PID" $(for p in $(descendants "$WORKLOAD_PID"); do
			echo "workload-child:$p"
		done) >&2
	fail "the workload hung over sshfs with fanguardd (not done after ${FG_REPRO_DEADLINE}s)"
fi
[ "$WORKLOAD_RC" = 0 ] || fail "the workload failed over sshfs (rc $WORKLOAD_RC)"
log "sshfs: the workload completed in ${WORKLOAD_MS} ms"
check_workload_result "$s/backing" "$s/src"

"$FGCHECK" open "$s/backing/good.txt" ok 5000 || fail "good.txt not allowed on the backing tmpfs"
"$FGCHECK" open "$s/mnt/good.txt" ok 5000 || fail "good.txt not allowed through sshfs"
"$FGCHECK" open "$s/backing/evil.bin" EPERM 5000 || fail "evil.bin not denied on the backing tmpfs"
"$FGCHECK" open "$s/mnt/evil.bin" EPERM 5000 || fail "evil.bin not denied through sshfs"
log "sshfs: evil.bin denied (EPERM) on the backing tmpfs and through sshfs"

stop_fanguardd 10
kill -TERM "$SSHFS_PID"
wait_gone "$SSHFS_PID" 10 || fail "sshfs did not exit on SIGTERM"
wait_gone "$SFTP_SERVER_PID" 10 || fail "sftp-server did not exit after sshfs"
log "PASS: fanguardd completes the workload over sshfs to localhost and still denies"
