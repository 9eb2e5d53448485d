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
	# fusectl is mounted later, inside the test's private namespace.
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
	# Aborting a FUSE connection needs fusectl; mount it in our namespace
	# if the host has not.
	if ! mountpoint -q /sys/fs/fuse/connections 2>/dev/null; then
		mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null || true
	fi
}

# Commands run at exit, last registered first.
at_exit() {
	printf '%s\n' "$1" >>"$FG_STATE/cleanup"
}

# Processes we started (killed by PID at exit, never by name).
track_pid() {
	echo "$1" >>"$FG_STATE/pids"
}

# The FUSE connection (device minor) of the mount at mount point $1, read
# from the mount table: stat()ing the mount point would wait on a hung daemon.
fuse_conn_of() {
	local dev
	dev=$(awk -v m="$1" '$5 == m { d = $3 } END { print d }' /proc/self/mountinfo)
	[ -n "$dev" ] || return 1
	echo "${dev#*:}"
}

# FUSE connection of a mount point we mounted (aborted at exit).
track_fuse() {
	local c
	c=$(fuse_conn_of "$1") || return 0
	echo "$c" >>"$FG_STATE/fuse"
}

# Aborts FUSE connection $1, only while it still serves a mount in our
# mount table: connection numbers are reused machine-wide, and once our
# mount is gone the number may belong to another test's (or user's) mount.
abort_fuse() {
	local c=$1
	awk -v d="0:$c" '$3 == d && / - fuse/ { f = 1 } END { exit !f }' /proc/self/mountinfo ||
		return 0
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
		trap - EXIT INT
		# The sleep must not hold the test's output open (meson waits
		# for EOF), and must die with the watchdog.
		sleep "$FG_TEST_DEADLINE" </dev/null >/dev/null 2>&1 &
		sp=$!
		trap 'kill $sp 2>/dev/null; exit 0' TERM
		wait $sp
		echo "FAIL: hard deadline of ${FG_TEST_DEADLINE}s passed; dumping and cleaning up" >&2
		dump_stuck >&2 || true
		_fg_cleanup
		rm -rf "$FG_STATE"
		kill -KILL "$main" 2>/dev/null
	) &
	FG_WATCHDOG=$!
}

# Prints every process of this test's mount namespace in D state (or any of
# the given PIDs) with its kernel stack; other tests' processes are not ours.
dump_stuck() {
	local p s ns
	ns=$(readlink /proc/self/ns/mnt)
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] || [[ " $* " == *" ${p#/proc/} "* ]] || continue
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

# Before a filesystem mark: PATH is the root of a mount we made (as
# assert_own_mount), that mount is a tmpfs, its superblock is the one stat()
# sees at PATH, and no mount of that superblock exists in PID 1's mount
# namespace: a filesystem mark on it can hold up nothing outside the test.
assert_own_tmpfs() {
	local path=$1 line dev fstype sdev
	assert_own_mount "$path"
	line=$(awk -v m="$path" '$5 == m { l = $0 } END { print l }' /proc/self/mountinfo)
	dev=$(awk '{ print $3 }' <<<"$line")
	fstype=$(sed 's/.* - //' <<<"$line" | awk '{ print $1 }')
	[ "$fstype" = tmpfs ] || fail "$path is a $fstype, not a tmpfs we made"
	sdev=$(stat -c '%Hd:%Ld' "$path") || fail "stat $path"
	[ "$sdev" = "$dev" ] || fail "$path: superblock $sdev is not its mount's ($dev)"
	! awk -v d="$dev" '$3 == d { f = 1 } END { exit !f }' /proc/1/mountinfo ||
		fail "$path: superblock $dev is mounted in PID 1's namespace too"
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
# "Stopped" means every thread exited: a zombie leader whose other threads
# sit in a FUSE request is not stopped, and waiting for it would block.
stop_fanguardd() {
	local t=${1:-10} rc=0
	kill -TERM "$FANGUARDD_PID" 2>/dev/null || return 0
	wait_pid_exited "$FANGUARDD_PID" "$t" || fail "fanguardd did not stop within ${t}s after SIGTERM"
	wait "$FANGUARDD_PID" 2>/dev/null || rc=$?
	untrack_pid "$FANGUARDD_PID"
	return $rc
}

# --- listener integration tests: bounded commands, fanguardd logs and stats ---

# Milliseconds since the epoch, without a fork.
now_ms() {
	local t=${EPOCHREALTIME//[.,]/}
	echo $((t / 1000))
}

# True once PID has exited: gone, or a zombie whose every thread has exited
# (a thread stuck in a FUSE request keeps a process with a zombie leader
# alive; waiting for it would block). Forks nothing: cheap to poll.
pid_exited() {
	local t line s
	[ -d "/proc/$1" ] || return 0
	for t in /proc/"$1"/task/*/stat; do
		read -r line 2>/dev/null <"$t" || continue
		s=${line##*) }
		s=${s%% *}
		case $s in
		Z | X | "") ;;
		*) return 1 ;;
		esac
	done
	return 0
}

# Waits up to SECS (whole seconds) for PID to exit; polls every 10 ms.
wait_pid_exited() {
	local pid=$1 end t
	t=${EPOCHREALTIME//[.,]/}
	end=$((t + $2 * 1000000))
	while ! pid_exited "$pid"; do
		t=${EPOCHREALTIME//[.,]/}
		[ "$t" -lt "$end" ] || return 1
		sleep 0.01
	done
	return 0
}

# Forgets a PID we reaped, so that cleanup never kills a process that got
# the number later (pid_max may be 32768).
untrack_pid() {
	sed -i "/^$1\$/d" "$FG_STATE/pids"
}

# Runs CMD in the background and waits up to SECS for it, never blocking on a
# hung command (it stays tracked: killed at exit, after which its FUSE
# connection is aborted). Returns CMD's status and sets RUN_MS; fails with
# the stuck stacks if it did not finish.
run_within() {
	local t=$1 pid rc=0 t0
	shift
	t0=$(now_ms)
	"$@" &
	pid=$!
	track_pid "$pid"
	if ! wait_pid_exited "$pid" "$t"; then
		dump_stuck "$pid" >&2 || true
		fail "did not finish within ${t}s: $*"
	fi
	wait "$pid" || rc=$?
	untrack_pid "$pid"
	RUN_MS=$(($(now_ms) - t0))
	return $rc
}

# Fails after printing the end of fanguardd's log (FANGUARDD_LOG) and the
# stacks of fanguardd and of every process in D state.
fail_with_log() {
	if [ -n "${FANGUARDD_LOG:-}" ] && [ -e "$FANGUARDD_LOG" ]; then
		echo "# --- last lines of $FANGUARDD_LOG:" >&2
		tail -n 40 "$FANGUARDD_LOG" | sed 's/^/#   /' >&2
	fi
	if [ -n "${FANGUARDD_PID:-}" ] && [ -d "/proc/$FANGUARDD_PID" ]; then
		local t
		for t in /proc/"$FANGUARDD_PID"/task/*; do
			echo "# --- fanguardd thread ${t##*/} ($(cat "$t/comm" 2>/dev/null))" \
				"state $(sed 's/.*) //' "$t/stat" 2>/dev/null | cut -d' ' -f1)" >&2
			head -8 "$t/stack" 2>/dev/null | sed 's/^/#   /' >&2 || true
		done
	fi
	dump_stuck >&2 || true
	fail "$@"
}

# Like start_fanguardd, with its stderr appended to LOG (kept as
# FANGUARDD_LOG), and without waiting for a daemon that already exited.
start_fanguardd_log() {
	local log=$1 pidfile="$FG_STATE/fanguardd.$RANDOM.pid" end
	shift
	FANGUARDD_LOG=$log
	start_bg "$FANGUARDD" --pid-file "$pidfile" "$@" 2>>"$log"
	FANGUARDD_PID=$LAST_PID
	end=$(($(now_ms) + 20000))
	while [ "$(now_ms)" -lt $end ]; do
		test -s "$pidfile" && return 0
		pid_exited "$FANGUARDD_PID" && break
		sleep 0.01
	done
	fail_with_log "fanguardd did not become ready: $FANGUARDD $*"
}

# Stops fanguardd (SIGTERM) and requires it gone within SECS (default 10);
# returns its exit status and sets STOP_MS. Never blocks on a fanguardd that
# cannot exit (a thread stuck in a FUSE request): fails with its stacks.
stop_fanguardd_within() {
	local t=${1:-10} rc=0 t0
	t0=$(now_ms)
	kill -TERM "$FANGUARDD_PID" 2>/dev/null || return 0
	wait_pid_exited "$FANGUARDD_PID" "$t" ||
		fail_with_log "fanguardd (pid $FANGUARDD_PID) did not exit within ${t}s of SIGTERM"
	wait "$FANGUARDD_PID" 2>/dev/null || rc=$?
	untrack_pid "$FANGUARDD_PID"
	STOP_MS=$(($(now_ms) - t0))
	return $rc
}

# Prints how many threads of PID wait on a FUSE reply inside a fanotify
# read(): readers whose event's file the kernel opens through a hung daemon.
readers_in_fuse() {
	local t n=0
	for t in /proc/"$1"/task/*; do
		grep -q fanotify_read "$t/stack" 2>/dev/null &&
			grep -q request_wait_answer "$t/stack" 2>/dev/null && n=$((n + 1))
	done
	echo $n
}

# Waits up to SECS for at least N readers of PID in a FUSE open (above).
wait_readers_in_fuse() { # PID N SECS
	local end=$(($(now_ms) + $3 * 1000))
	until [ "$(readers_in_fuse "$1")" -ge "$2" ]; do
		[ "$(now_ms)" -lt $end ] || return 1
		sleep 0.02
	done
}

# Prints the value of KEY in a fanguardd stats file ("key value" lines).
stats_get() {
	awk -v k="$2" '$1 == k { v = $2; f = 1 } END { if (!f) exit 1; print v }' "$1" ||
		fail "no '$2' in stats file $1"
}

# Makes the running fanguardd write its stats file (SIGUSR1) and waits for it.
fanguardd_stats_now() {
	local f=$1 before=none
	[ -e "$f" ] && before=$(stat -c %i "$f")
	kill -USR1 "$FANGUARDD_PID" 2>/dev/null || fail_with_log "fanguardd is gone"
	wait_until 5 bash -c "[ -e '$f' ] && [ \"\$(stat -c %i '$f')\" != '$before' ]" ||
		fail_with_log "fanguardd did not write $f within 5s of SIGUSR1"
}

# The invariant of a stopped listener: every event read was answered once,
# none pending, no answer failed. Logs the counters as "# stats:" lines.
assert_stats_balanced() {
	local f=$1 rd an pe er
	sed 's/^/# stats: /' "$f" >&2
	rd=$(stats_get "$f" events_read)
	an=$(stats_get "$f" events_answered)
	pe=$(stats_get "$f" pending)
	er=$(stats_get "$f" response_errors)
	[ "$rd" = "$an" ] && [ "$pe" = 0 ] && [ "$er" = 0 ] ||
		fail_with_log "stats $f: events_read=$rd events_answered=$an pending=$pe response_errors=$er"
}

# Runs fgcheck ARGS..., logs its output as "# " lines and keeps it in
# FGCHECK_OUT; fails (with fanguardd's log) unless fgcheck exits 0.
fgcheck_ok() {
	local rc=0
	FGCHECK_OUT=$("$FGCHECK" "$@") || rc=$?
	printf '%s\n' "$FGCHECK_OUT" | sed 's/^/# /' >&2
	[ $rc = 0 ] || fail_with_log "fgcheck $* (exit $rc)"
}

# Prints the value of KEY from fgcheck load's output (key=value words).
load_get() {
	printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2; exit }'
}
