# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared shell for privileged tests. Source it first:
#   . "$FG_SRC_ROOT/tests/lib/common.sh"
#   require_root; require_fanotify_perm
#   enter_private_mountns "$@"
#
# Exit codes: 0 pass, 77 skip (reason on stderr), anything else fail.
# FG_TESTS_MUST_RUN=1 (CI) turns every skip into a failure.
#
# Safety (see the developers' brief): a test marks only filesystems it has
# just mounted itself inside a private mount namespace, checks the mount id
# before marking, runs under a hard deadline, and on every path kills what it
# started by PID, aborts its FUSE connections and unmounts lazily. The
# watchdog does this itself, because bash runs traps only after a hung
# foreground command returns.
set -euo pipefail

: "${FG_SRC_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${FG_BUILD_ROOT:=$FG_SRC_ROOT/build}"
: "${FG_TEST_DEADLINE:=100}"
FGCHECK=${FGCHECK:-$FG_BUILD_ROOT/tests/lib/fgcheck}
FANGUARDD=${FANGUARDD:-$FG_BUILD_ROOT/listener/fanguardd/fanguardd}
FUSETEST=${FUSETEST:-$FG_BUILD_ROOT/fusetest/fusetest}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

notrun() {
	if [ "${FG_TESTS_MUST_RUN:-0}" = 1 ]; then
		fail "cannot run here but must (FG_TESTS_MUST_RUN=1): $*"
	fi
	echo "SKIP: $*" >&2
	exit 77
}

log() {
	echo "# $(date +%T.%3N) $*" >&2
}

require_root() {
	[ "$(id -u)" = 0 ] || notrun "needs root"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || notrun "needs $c"
	done
}

require_fuse() {
	[ -c /dev/fuse ] || modprobe fuse 2>/dev/null || true
	[ -c /dev/fuse ] || notrun "no /dev/fuse"
	[ -d /sys/fs/fuse/connections ] || mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null || true
	[ -d /sys/fs/fuse/connections ] || notrun "no /sys/fs/fuse/connections"
}

require_fanotify_perm() {
	local r=0
	"$FGCHECK" fanotify-probe || r=$?
	case $r in
	0) ;;
	77) notrun "kernel lacks fanotify permission events" ;;
	*) fail "fanotify probe failed ($r)" ;;
	esac
}

# Re-executes the test in a private mount namespace, once.
enter_private_mountns() {
	if [ "${FG_IN_PRIVATE_MOUNTNS:-}" != "$$" ]; then
		command -v unshare >/dev/null || notrun "needs unshare"
		exec env FG_IN_PRIVATE_MOUNTNS=SELF unshare --mount --propagation private -- \
			bash -c 'FG_IN_PRIVATE_MOUNTNS=$$ exec bash "$@"' bash "$0" "$@"
	fi
	_fg_setup_state
}

# --- cleanup and the watchdog ------------------------------------------------

_fg_setup_state() {
	FG_STATE=$(mktemp -d /run/fgtest.XXXXXX)
	: >"$FG_STATE/pids"
	: >"$FG_STATE/fuse"
	: >"$FG_STATE/cleanup"
	trap _fg_exit EXIT
	trap 'fail "interrupted"' INT TERM
	_fg_start_watchdog
}

# Commands run at exit, last registered first.
at_exit() {
	printf '%s\n' "$1" >>"$FG_STATE/cleanup"
}

# Processes we started (killed by PID at exit, never by name).
track_pid() {
	echo "$1" >>"$FG_STATE/pids"
}

# FUSE connection of a mount point we mounted (aborted at exit).
track_fuse() {
	local dev
	dev=$(mountpoint -d "$1" 2>/dev/null) || return 0
	echo "${dev#*:}" >>"$FG_STATE/fuse"
}

fuse_conn_of() {
	local dev
	dev=$(mountpoint -d "$1") || return 1
	echo "${dev#*:}"
}

abort_fuse() {
	local c=$1
	[ -e "/sys/fs/fuse/connections/$c/abort" ] && echo 1 >"/sys/fs/fuse/connections/$c/abort" 2>/dev/null || true
}

# Everything that may be stuck goes first: listeners and openers by SIGKILL,
# then FUSE connections are aborted (which releases threads stuck in FUSE
# requests, so the killed processes can actually exit), then the registered
# cleanups (unmounts) run.
_fg_cleanup() {
	local p c
	[ -n "${FG_STATE:-}" ] && [ -d "$FG_STATE" ] || return 0
	tac "$FG_STATE/pids" 2>/dev/null | while read -r p; do
		[ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true
	done
	while read -r c; do
		[ -n "$c" ] && abort_fuse "$c"
	done <"$FG_STATE/fuse"
	tac "$FG_STATE/cleanup" 2>/dev/null | while read -r c; do
		[ -n "$c" ] && timeout -s KILL 10 bash -c "$c" >/dev/null 2>&1 || true
	done
	tac "$FG_STATE/pids" 2>/dev/null | while read -r p; do
		[ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true
	done
}

_fg_exit() {
	local rc=$?
	set +e
	[ -n "${FG_WATCHDOG:-}" ] && kill "$FG_WATCHDOG" 2>/dev/null
	_fg_cleanup
	rm -rf "$FG_STATE"
	exit $rc
}

_fg_start_watchdog() {
	local main=$$
	(
		trap - EXIT INT TERM
		sleep "$FG_TEST_DEADLINE" &
		wait $!
		echo "FAIL: hard deadline of ${FG_TEST_DEADLINE}s passed; dumping and cleaning up" >&2
		dump_stuck >&2 || true
		_fg_cleanup
		kill -KILL "$main" 2>/dev/null
	) &
	FG_WATCHDOG=$!
}

# Prints every process in D state (or any of the given PIDs) with its kernel stack.
dump_stuck() {
	local p s
	for p in /proc/[0-9]*; do
		s=$(awk '/^State:/ {print $2}' "$p/status" 2>/dev/null) || continue
		if [ "$s" = D ] || [[ " $* " == *" ${p#/proc/} "* ]]; then
			echo "--- pid ${p#/proc/} ($(cat "$p/comm" 2>/dev/null)) state $s wchan $(cat "$p/wchan" 2>/dev/null)"
			cat "$p/stack" 2>/dev/null | head -12
		fi
	done
}

# --- mounts ------------------------------------------------------------------

# Mounts a fresh tmpfs on a new directory and prints the directory.
# Refuses unless we are in the private namespace set up above.
scratch_tmpfs() {
	[ -n "${FG_STATE:-}" ] || fail "scratch_tmpfs outside enter_private_mountns"
	local d
	d=$(mktemp -d /tmp/fgtest.XXXXXX)
	mount -t tmpfs -o "size=${1:-512m},mode=0755" fg-test "$d" || fail "mount tmpfs on $d"
	at_exit "umount -l '$d' 2>/dev/null; rmdir '$d'"
	echo "$d"
}

# The mount id the kernel reports for PATH must be the id of the mount whose
# mount point is PATH in our table: never mark a directory whose mount is
# gone (the mark would land on the mount that contains it).
assert_own_mount() {
	local path=$1 want got
	want=$(awk -v m="$path" '$5 == m { id = $1 } END { print id }' /proc/self/mountinfo)
	got=$("$FGCHECK" mount-id "$path") || fail "mount-id $path"
	[ -n "$want" ] && [ "$want" = "$got" ] || fail "$path is not the root of a mount we made (want '$want', got '$got')"
}

# Starts a background process, tracked for kill at exit; sets $LAST_PID.
start_bg() {
	"$@" &
	LAST_PID=$!
	track_pid "$LAST_PID"
}

# Waits up to $1 seconds for a command to succeed.
wait_until() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 20; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# Starts fanguardd in the background; waits until its pid file exists
# (written only once every mark is in place). Extra args go to fanguardd.
start_fanguardd() {
	local pidfile="$FG_STATE/fanguardd.$RANDOM.pid"
	start_bg "$FANGUARDD" --pid-file "$pidfile" "$@"
	FANGUARDD_PID=$LAST_PID
	wait_until 20 test -s "$pidfile" || fail "fanguardd did not become ready"
}

# Stops fanguardd with SIGTERM within $1 seconds (default 10) or fails.
stop_fanguardd() {
	local t=${1:-10} rc=0
	kill -TERM "$FANGUARDD_PID" 2>/dev/null || return 0
	if ! wait_until "$t" bash -c "! kill -0 $FANGUARDD_PID 2>/dev/null || grep -q '^State:.*Z' /proc/$FANGUARDD_PID/status"; then
		fail "fanguardd did not stop within ${t}s after SIGTERM"
	fi
	wait "$FANGUARDD_PID" 2>/dev/null || rc=$?
	return $rc
}
