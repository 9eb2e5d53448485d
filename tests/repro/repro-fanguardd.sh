#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The workload that deadlocks the naive listener (repro-naive.sh), with
# fanguardd in its place: it must complete within $FG_REPRO_DEADLINE seconds
# in both fusetest modes, write what it should, and a denylisted file must
# still be denied (EPERM), on the backing tmpfs and through the FUSE mount.
#
# Run alone:  meson test -C build --suite repro repro-fanguardd --print-errorlogs
set -euo pipefail
: "${FG_TEST_DEADLINE:=150}"
: "${FG_SRC_ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
. "$FG_SRC_ROOT/tests/repro/repro-lib.sh"
require_root
require_fuse
require_fanotify_perm
[ -x "$FUSETEST" ] || fail "fusetest not built ($FUSETEST)"
[ -x "$FANGUARDD" ] || fail "fanguardd not built ($FANGUARDD)"
enter_private_mountns "$@"
require_fusectl

# write_denylist FILE...: prints the path of a deny-hashes file listing them.
write_denylist() {
	local list="$FG_STATE/deny.$RANDOM" f
	echo "# repro-fanguardd: denied on purpose" >"$list"
	for f in "$@"; do
		sha256sum <"$f" | cut -d' ' -f1 >>"$list"
	done
	echo "$list"
}

repro_mode() {
	local mode=$1 s deny
	log "===== fusetest $mode + fanguardd"
	s=$(scratch_tmpfs 256m)
	assert_own_tmpfs "$s"
	mkdir "$s/backing" "$s/mnt"
	make_inputs "$s" "$s/backing"
	printf 'fanguard repro: this content is denylisted (%s)\n' "$mode" >"$s/backing/evil.bin"
	echo "harmless" >"$s/backing/good.txt"
	deny=$(write_denylist "$s/backing/evil.bin")

	start_fusetest "$mode" "$s/backing" "$s/mnt"
	assert_own_tmpfs "$s"
	assert_own_mount "$s/mnt"
	start_fanguardd --watch "$s" --watch "$s/mnt" --deny-hashes "$deny" \
		--default-verdict allow --deadline-ms 2000

	start_workload "$s/mnt" "$s/src"
	if ! wait_workload "$FG_REPRO_DEADLINE"; then
		# shellcheck disable=SC2046
		report_hang "fanguardd:$FANGUARDD_PID" "fusetest:$FUSETEST_PID" \
			${FUSETEST_SERVER_PID:+"fusetest-server:$FUSETEST_SERVER_PID"} \
			"workload:$WORKLOAD_PID" $(for p in $(descendants "$WORKLOAD_PID"); do
				echo "workload-child:$p"
			done) >&2
		fail "$mode: the workload hung with fanguardd (not done after ${FG_REPRO_DEADLINE}s)"
	fi
	[ "$WORKLOAD_RC" = 0 ] || fail "$mode: the workload failed (rc $WORKLOAD_RC)"
	log "$mode: the workload completed in ${WORKLOAD_MS} ms"
	check_workload_result "$s/backing" "$s/src"

	"$FGCHECK" open "$s/backing/good.txt" ok 5000 || fail "$mode: good.txt not allowed on the backing tmpfs"
	"$FGCHECK" open "$s/mnt/good.txt" ok 5000 || fail "$mode: good.txt not allowed through FUSE"
	"$FGCHECK" open "$s/backing/evil.bin" EPERM 5000 || fail "$mode: evil.bin not denied on the backing tmpfs"
	"$FGCHECK" open "$s/mnt/evil.bin" EPERM 5000 || fail "$mode: evil.bin not denied through FUSE"
	log "$mode: evil.bin denied (EPERM) on the backing tmpfs and through FUSE"

	stop_fanguardd 10
	stop_fusetest "$s/mnt"
}

repro_mode passthrough
repro_mode relay
log "PASS: fanguardd completes the workload and still denies, in both modes"
