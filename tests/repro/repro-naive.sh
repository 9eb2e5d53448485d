#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Reproduces the deadlock of docs/design.md §1 with the seed's naive listener.
#
# For each fusetest mode (relay: opener -> fusetest -> fusetest-server ->
# tmpfs, the sshfs -> sftp-server shape; passthrough: opener -> fusetest ->
# tmpfs, the bindfs shape), on a scratch tmpfs of our own in a private mount
# namespace: fusetest serves tmpfs/backing on tmpfs/mnt, the naive listener
# marks both mounts, and the fixed workload runs on the FUSE mount. The test
# PASSES WHEN THE WORKLOAD HANGS: it must not finish within
# $FG_REPRO_DEADLINE seconds. It then prints where every process of the
# chain waits, checks the cycle (listener inside read() inside a FUSE
# request; the process doing the backing I/O waiting for a fanotify verdict),
# shows that SIGKILL of the listener alone releases nothing, aborts the FUSE
# connection and requires everything to exit.
#
# Run alone:  meson test -C build --suite repro repro-naive --print-errorlogs
#        or:  FG_BUILD_ROOT=$PWD/build bash tests/repro/repro-naive.sh
set -euo pipefail
: "${FG_TEST_DEADLINE:=150}"
: "${FG_SRC_ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
. "$FG_SRC_ROOT/tests/repro/repro-lib.sh"
require_root
require_fuse
require_fanotify_perm
[ -x "$FUSETEST" ] || notrun "fusetest not built ($FUSETEST)"
[ -x "$NAIVE_LISTENER" ] || notrun "naive-listener not built ($NAIVE_LISTENER)"
enter_private_mountns "$@"
require_fusectl

repro_mode() {
	local mode=$1 s backing_pid
	log "===== fusetest $mode + naive listener"
	s=$(scratch_tmpfs 256m)
	assert_own_tmpfs "$s"
	mkdir "$s/backing" "$s/mnt"
	make_inputs "$s" "$s/backing"

	start_fusetest "$mode" "$s/backing" "$s/mnt"
	assert_own_mount "$s/mnt"
	# The backing I/O is done by the server in relay mode, by the daemon
	# itself in passthrough mode.
	backing_pid=${FUSETEST_SERVER_PID:-$FUSETEST_PID}

	assert_own_tmpfs "$s"
	assert_own_mount "$s/mnt"
	start_naive_listener "$s" "$s/mnt"

	start_workload "$s/mnt" "$s/src"
	if wait_workload "$FG_REPRO_DEADLINE"; then
		fail "$mode: the workload finished in ${WORKLOAD_MS} ms (rc $WORKLOAD_RC): no hang reproduced"
	fi
	log "$mode: the workload HUNG (still running after ${FG_REPRO_DEADLINE}s), as expected"

	# shellcheck disable=SC2046
	report_hang "naive-listener:$LISTENER_PID" "fusetest:$FUSETEST_PID" \
		${FUSETEST_SERVER_PID:+"fusetest-server:$FUSETEST_SERVER_PID"} \
		"workload:$WORKLOAD_PID" $(for p in $(descendants "$WORKLOAD_PID"); do
			echo "workload-child:$p"
		done) >&2

	# The cycle of docs/design.md §1: the listener blocks inside read() on the
	# fanotify fd, in the FUSE open the kernel does to create the event fd;
	# the backing I/O of the FUSE chain waits for the listener's verdict.
	expect_stack "the listener" "$LISTENER_PID" 'fanotify_read'
	expect_stack "the listener" "$LISTENER_PID" 'request_wait_answer|fuse_simple_request'
	expect_stack "the backing I/O ($mode)" "$backing_pid" 'fanotify_handle_event|fanotify_get_response|fsnotify_open_perm'

	recover_from_hang "$FUSETEST_CONN" "$FUSETEST_PID" ${FUSETEST_SERVER_PID:+"$FUSETEST_SERVER_PID"}
	wait_until 10 bash -c "! awk -v m='$s/mnt' '\$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo" ||
		log "note: '$s/mnt' is still in the mount table (dead); cleanup detaches it"
}

repro_mode relay
repro_mode passthrough
log "PASS: the naive listener deadlocks in both modes; aborting the FUSE connection recovers"
