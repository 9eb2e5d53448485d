#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# docs/design.md §1 as first seen: the naive listener marks a tmpfs and an sshfs
# mount of it served by a private sshd on 127.0.0.1, and the workload of
# repro-naive.sh deadlocks (touch -> sshfs -> sftp-server -> listener ->
# sshfs). The test PASSES WHEN THE WORKLOAD HANGS; it prints where each
# process waits, checks the cycle, then recovers by aborting the sshfs
# connection and requires everything to exit.
#
# Run alone:  meson test -C build --suite repro repro-sshfs-naive --print-errorlogs
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
[ -x "$NAIVE_LISTENER" ] || notrun "naive-listener not built ($NAIVE_LISTENER)"
enter_private_mountns "$@"
require_fusectl

s=$(scratch_tmpfs 256m)
assert_own_tmpfs "$s"
mkdir "$s/backing" "$s/mnt"
make_inputs "$s" "$s/backing"

start_sshd
start_sshfs "$s/backing" "$s/mnt"
assert_own_tmpfs "$s"
assert_own_mount "$s/mnt"
start_naive_listener "$s" "$s/mnt"

start_workload "$s/mnt" "$s/src"
if wait_workload "$FG_REPRO_DEADLINE"; then
	fail "the workload finished in ${WORKLOAD_MS} ms (rc $WORKLOAD_RC): no hang reproduced over sshfs"
fi
log "sshfs: the workload HUNG (still running after ${FG_REPRO_DEADLINE}s), as expected"

# shellcheck disable=SC2046
report_hang "naive-listener:$LISTENER_PID" "sshfs:$SSHFS_PID" "sftp-server:$SFTP_SERVER_PID" \
	"workload:$WORKLOAD_PID" $(for p in $(descendants "$WORKLOAD_PID"); do
		echo "workload-child:$p"
	done) >&2

expect_stack "the listener" "$LISTENER_PID" 'fanotify_read'
expect_stack "the listener" "$LISTENER_PID" 'request_wait_answer|fuse_simple_request'
expect_stack "sftp-server" "$SFTP_SERVER_PID" 'fanotify_handle_event|fanotify_get_response|fsnotify_open_perm'

# sshfs, its ssh and the sshd session survive the abort (sshfs exits when
# its session ends; sftp-server once its open is answered): require the
# listener, the workload and sftp-server to go; cleanup kills the rest.
recover_from_hang "$SSHFS_CONN" "$SFTP_SERVER_PID"
log "PASS: the naive listener deadlocks over sshfs to localhost; aborting the FUSE connection recovers"
