#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The documented call order, new -> watch -> deny_sha256_file -> start, with
# the denylist file on the watched mount (the example agent, in-tree). Marks
# go in only once the group's threads run (fanguard_start()), so the
# library's own read of the denylist is never left waiting for an answer
# nobody gives (issue 15: it deadlocked when marks went in at watch).
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"

AGENT=${AGENT:-$FG_BUILD_ROOT/examples/fanguard-agent}
s=$(scratch_tmpfs 16m)
assert_own_tmpfs "$s"
echo "denylisted $RANDOM$RANDOM" >"$s/hashed"
sha256sum "$s/hashed" | cut -d' ' -f1 >"$s/deny.txt"
out=$FG_STATE/agent.out
start_bg "$AGENT" --deny-hashes "$s/deny.txt" "$s" >"$out" 2>"$FG_STATE/agent.err"
AGENT_PID=$LAST_PID
if ! wait_until 10 grep -q '^ready' "$out"; then
	dump_stuck "$AGENT_PID" >&2 || true
	fail "the documented call order deadlocks: fanguard_deny_sha256_file() of a file on a mount watched before fanguard_start()"
fi
fgcheck_ok open "$s/hashed" EPERM 5000
kill -TERM "$AGENT_PID"
wait_pid_exited "$AGENT_PID" 10 || fail "agent did not stop"
untrack_pid "$AGENT_PID"
log "PASS"
