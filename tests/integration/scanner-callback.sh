#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An embedder's own scanner (fanguard_add_scanner()), through the example
# agent built in-tree against the shared library, on a tmpfs of our own:
# its callback denies a file by content; unregistered at run time (SIGUSR1),
# the same file is allowed; registered again, denied again. Then a callback
# slower than the deadline: the opener gets the class's default verdict at
# the deadline, not when the callback returns, and the agent still stops.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"

AGENT=${AGENT:-$FG_BUILD_ROOT/examples/fanguard-agent}
[ -x "$AGENT" ] || fail "no $AGENT"
s=$(scratch_tmpfs 64m)
assert_own_mount "$s"
marker="fanguard-callback-test-marker-$RANDOM$RANDOM"
printf 'some text, then %s, then more\n' "$marker" >"$s/evil"
echo "nothing to see" >"$s/clean"
out=$FG_STATE/agent.out

# Starts the agent on $s with extra args; waits for its "ready" line.
start_agent() {
	: >"$out"
	: >"$FG_STATE/agent.err"
	start_bg "$AGENT" --marker "$marker" "$@" "$s" >"$out" 2>>"$FG_STATE/agent.err"
	AGENT_PID=$LAST_PID
	wait_until 20 grep -q '^ready' "$out" || {
		cat "$FG_STATE/agent.err" >&2
		fail "agent did not become ready"
	}
}

stop_agent() {
	kill -TERM "$AGENT_PID"
	wait_pid_exited "$AGENT_PID" "${1:-10}" || fail "agent did not stop within ${1:-10}s"
	wait "$AGENT_PID" || fail "agent exited with status $?"
	untrack_pid "$AGENT_PID"
	grep -q '^stopped' "$out" || fail "agent did not report stopped"
}

# Sends SIGUSR1 and waits for the agent to report the change.
toggle_scanner() {
	local n
	n=$(grep -c "^scanner $1" "$out" || true)
	kill -USR1 "$AGENT_PID"
	wait_until 5 bash -c "[ \$(grep -c '^scanner $1 (ok)' '$out') -gt $n ]" ||
		fail "agent did not report 'scanner $1'"
}

start_agent --deadline-ms 3000 --default allow
log "agent $AGENT_PID ready on $s"
fgcheck_ok open "$s/evil" EPERM 5000
fgcheck_ok open "$s/clean" ok 5000
wait_until 5 grep -q "^deny path=$s/evil .*reason=scanned scanner=example-marker detail=marker found" "$out" ||
	fail "no deny verdict from the callback: $(cat "$out")"
# Unregistered: the same file is allowed (nothing cached a deny).
toggle_scanner removed
fgcheck_ok open "$s/evil" ok 5000
# Registered again: denied again (registration flushed the cache, so the
# clean verdicts taken without it do not hold).
toggle_scanner added
fgcheck_ok open "$s/evil" EPERM 5000
fgcheck_ok open "$s/clean" ok 5000
stop_agent 10
grep -c '^deny ' "$out" | grep -qx 2 || fail "expected exactly 2 denies: $(cat "$out")"

# A callback that takes 4 s against a 400 ms deadline, default deny: the
# open fails at the deadline (well before the callback returns), and the
# verdict names the deadline.
start_agent --deadline-ms 400 --default deny --delay-ms 4000
t0=$(now_ms)
fgcheck_ok open "$s/clean" EPERM 3000
took=$(($(now_ms) - t0))
log "slow callback: open answered after ${took} ms"
[ "$took" -lt 3000 ] || fail "open took ${took} ms, deadline 400 ms"
# The keeper's answers are summarised in the log (once per 10 s and at
# stop, never a line per event; they do not reach the verdict callback).
stop_agent 15
grep -q "opens denied unscanned in the last [0-9]* s on local: deadline passed" \
	"$FG_STATE/agent.err" || fail "no deadline answer logged: $(cat "$FG_STATE/agent.err")"
# The default verdict is not the callback's: with default allow the marked
# file opens, at the deadline.
start_agent --deadline-ms 400 --default allow --delay-ms 4000
fgcheck_ok open "$s/evil" ok 3000
stop_agent 15
grep -q "opens allowed unscanned in the last [0-9]* s on local: deadline passed" \
	"$FG_STATE/agent.err" || fail "no deadline answer logged: $(cat "$FG_STATE/agent.err")"
log "PASS"
