# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the repro tests: the fixed workload, its inputs, running it under
# a deadline without ever blocking this shell, and the hang report.
# Source after common.sh and fuse.sh.

NAIVE_LISTENER=${NAIVE_LISTENER:-$FG_BUILD_ROOT/tests/repro/naive-listener}
# How long the workload may take before it counts as hung. It takes well
# under a second when nothing hangs.
: "${FG_REPRO_DEADLINE:=10}"

# make_inputs DIR BACKING: DIR/src/tree (a small tree to cp -r) and
# BACKING/big (1 MiB, read through the FUSE mount by the workload).
make_inputs() {
	local dir=$1 backing=$2 i j k
	mkdir -p "$dir/src/tree"
	for i in 1 2 3 4 5; do
		mkdir -p "$dir/src/tree/d$i/sub"
		for j in 1 2 3 4 5 6; do
			for k in $(seq 20); do
				echo "file $i/$j line $k"
			done >"$dir/src/tree/d$i/f$j.txt"
		done
		head -c 20000 /dev/urandom >"$dir/src/tree/d$i/sub/blob"
	done
	ln -s d1/f1.txt "$dir/src/tree/link"
	head -c 1048576 /dev/urandom >"$backing/big"
	sha256sum <"$backing/big" | cut -d' ' -f1 >"$dir/src/big.sha256"
}

# The workload, in the current shell (run it in a background job): every
# step opens files on the FUSE mount W, so every step raises permission
# events there, and the FUSE daemon's accesses raise more on the backing fs.
workload() {
	local w=$1 src=$2 i
	set -e
	touch "$w/touched"
	echo "written through FUSE" >"$w/written"
	cat "$w/big" >/dev/null
	cp -r "$src/tree" "$w/tree"
	mkdir "$w/many"
	for ((i = 1; i <= 200; i++)); do
		: >"$w/many/f.$i"
	done
}

# check_workload_result BACKING SRC: what the workload wrote arrived.
check_workload_result() {
	local b=$1 src=$2 n
	[ -e "$b/touched" ] || fail "touched is missing"
	[ "$(cat "$b/written")" = "written through FUSE" ] || fail "written has the wrong content"
	[ "$(sha256sum <"$b/big" | cut -d' ' -f1)" = "$(cat "$src/big.sha256")" ] || fail "big changed"
	diff -r "$src/tree" "$b/tree" >&2 || fail "cp -r through FUSE gave a different tree"
	n=$(find "$b/many" -type f | wc -l)
	[ "$n" = 200 ] || fail "$n of 200 files created"
}

# start_workload MOUNT SRC: starts the workload as a tracked background job
# (killed by PID at exit); sets WORKLOAD_PID. The job is a plain bash child
# of ours whose own children are the touch, cat, cp... that may hang.
start_workload() {
	local w=$1 src=$2
	WORKLOAD_T0=$(date +%s%N)
	(
		trap - EXIT INT TERM
		workload "$w" "$src"
	) &
	WORKLOAD_PID=$!
	track_pid "$WORKLOAD_PID"
}

# wait_workload SECONDS: 0 when the workload ended within SECONDS (its exit
# status in WORKLOAD_RC, its duration in WORKLOAD_MS), 1 when it still runs.
# Polls; never waits on anything that can hang.
wait_workload() {
	local i
	for ((i = 0; i < $1 * 20; i++)); do
		if pid_gone "$WORKLOAD_PID"; then
			# Results for the caller.
			# shellcheck disable=SC2034
			WORKLOAD_RC=0
			# shellcheck disable=SC2034
			wait "$WORKLOAD_PID" || WORKLOAD_RC=$?
			# shellcheck disable=SC2034
			WORKLOAD_MS=$((($(date +%s%N) - WORKLOAD_T0) / 1000000))
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# report_hang NAME:PID...: where each process of the chain waits, every
# thread with its kernel stack, then every other D-state process.
report_hang() {
	local item name pid
	echo "=== hang report: processes of the chain"
	for item in "$@"; do
		name=${item%%:*}
		pid=${item#*:}
		echo "### $name (pid $pid)"
		dump_tasks "$pid"
	done
	echo "=== every process in D state on the machine"
	dump_stuck
}

# stack_has PID PATTERN: some thread of PID has PATTERN in its kernel stack.
# Returns 2 when stacks are unreadable (no CONFIG_STACKTRACE): callers then
# only note it.
stack_has() {
	local st
	st=$(stacks_of "$1")
	[ -n "$st" ] || return 2
	grep -Eq "$2" <<<"$st"
}

# expect_stack WHAT PID PATTERN: fails when the stacks are readable and PID
# has no thread waiting in PATTERN.
expect_stack() {
	local what=$1 pid=$2 pattern=$3 r=0
	stack_has "$pid" "$pattern" || r=$?
	case $r in
	0) log "ok: $what (pid $pid) waits in $pattern" ;;
	2) log "note: kernel stacks unreadable; not checking that $what waits in $pattern" ;;
	*) fail "$what (pid $pid) is not waiting in $pattern" ;;
	esac
}

# start_naive_listener MOUNT...: the naive listener, tracked, ready when its
# marks are in place. Sets LISTENER_PID.
start_naive_listener() {
	local ready="$FG_STATE/naive.$RANDOM.ready"
	start_bg "$NAIVE_LISTENER" --ready-file "$ready" "$@"
	LISTENER_PID=$LAST_PID
	wait_until 10 test -s "$ready" || fail "naive-listener did not become ready"
	log "naive-listener: pid $LISTENER_PID, marks on $*"
}

# recover_from_hang CONN PID...: the way out of docs/design.md §1. First SIGKILL
# the listener alone and show that this does not release anything (it stays
# in an uninterruptible FUSE wait); then abort the FUSE connection, and
# require every given process (and every child of the workload) to be gone
# within 10 s.
recover_from_hang() {
	local conn=$1 p state pids
	shift
	pids="$* $(descendants "$WORKLOAD_PID")"
	kill -KILL "$LISTENER_PID" 2>/dev/null || true
	# Not a synchronisation: the claim is that nothing happens within 1 s.
	sleep 1
	if pid_gone "$LISTENER_PID"; then
		log "note: the listener exited on SIGKILL alone (docs/design.md §1 measured otherwise)"
	else
		state=$(awk '/^State:/ { print $2 }' "/proc/$LISTENER_PID/status" 2>/dev/null)
		log "as in docs/design.md §1: 1 s after SIGKILL the listener is still there (state $state, wchan $(cat "/proc/$LISTENER_PID/wchan" 2>/dev/null)); its group stays open"
		pid_gone "$WORKLOAD_PID" && fail "the workload ended although nothing was released"
	fi
	log "aborting FUSE connection $conn"
	[ -e "/sys/fs/fuse/connections/$conn/abort" ] || fail "no /sys/fs/fuse/connections/$conn/abort"
	echo 1 >"/sys/fs/fuse/connections/$conn/abort"
	for p in $LISTENER_PID $pids; do
		wait_gone "$p" 10 || {
			dump_tasks "$p" >&2
			fail "pid $p ($(cat "/proc/$p/comm" 2>/dev/null)) did not exit after the abort"
		}
	done
	wait "$WORKLOAD_PID" 2>/dev/null || true
	log "recovered: listener, workload and the FUSE chain all exited"
}
