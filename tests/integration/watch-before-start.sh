#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# new -> watch -> deny_sha256_file (on the watched mount) -> start: the
# denylist read must not wait on a mark nobody answers yet (marks go in at
# start), and the listener then denies the listed file.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"

s=$(scratch_tmpfs 16m)
assert_own_tmpfs "$s"
echo "clean content" >"$s/clean"
echo "fanguard watch-before-start denylisted $RANDOM$RANDOM" >"$s/evil"
sha256sum "$s/evil" | cut -d' ' -f1 >"$s/denylist"

timeout -k 5 30 "$FG_BUILD_ROOT/tests/lib/fg-order" "$s" "$s/denylist" "$s/clean" "$s/evil" ||
	fail "documented call order failed or hung (rc $?)"
log "new -> watch -> denylist on the watched mount -> start: no hang, evil denied"
