# SPDX-License-Identifier: LGPL-2.1-or-later
# FUSE helpers for privileged tests. Source after common.sh:
#   . "$FG_SRC_ROOT/tests/lib/common.sh"
#   . "$FG_SRC_ROOT/tests/lib/fuse.sh"
#   require_root; require_fuse
#   enter_private_mountns "$@"
#   require_fusectl
#   start_fusetest relay "$s/backing" "$s/mnt" [--delay-ms 5 ...]
#
# Nothing here stat()s or opens a FUSE mount point to learn about it: that
# blocks for ever on a hung daemon. Mount state comes from
# /proc/self/mountinfo, the FUSE connection from its major:minor field.

# /sys/fs/fuse/connections exists as a directory even when fusectl is not
# mounted (it is not, on these VMs), and then there is no abort file to
# write. common.sh mounts it in the test's namespace when it can; this makes
# "cannot" a skip instead of a recovery that silently does nothing.
require_fusectl() {
	[ -n "${FG_STATE:-}" ] || fail "require_fusectl outside enter_private_mountns"
	if ! awk '$5 == "/sys/fs/fuse/connections" { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null ||
			notrun "cannot mount fusectl on /sys/fs/fuse/connections"
		at_exit "umount -l /sys/fs/fuse/connections"
	fi
}

# Prints the mountinfo line of the mount whose mount point is $1 (the last
# one mounted there), or fails. Never touches the mount itself.
mountinfo_of() {
	awk -v m="$1" '$5 == m { line = $0 } END { if (line == "") exit 1; print line }' /proc/self/mountinfo
}

is_mounted() {
	mountinfo_of "$1" >/dev/null
}

# The FUSE connection number of the mount at $1 (minor of its st_dev).
fuse_conn_from_mountinfo() {
	local line
	line=$(mountinfo_of "$1") || return 1
	line=$(awk '{ print $3 }' <<<"$line")
	echo "${line#*:}"
}

# Like common.sh's track_fuse, without the stat() of mountpoint(1), which
# would block on a daemon that hangs from its first operation.
track_fuse_conn() {
	echo "$1" >>"$FG_STATE/fuse"
}

# Waits up to $2 seconds for the mount at $1 to appear in our mount table.
wait_mounted() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		is_mounted "$1" && return 0
		sleep 0.05
	done
	return 1
}

# start_fusetest MODE BACKING MOUNTPOINT [fusetest options...]
# Starts fusetest in the background (it is always foreground), tracked by
# PID, with its relay server (relay mode) tracked too; waits until the kernel
# has sent FUSE_INIT (its pid file), then records the connection so that
# cleanup aborts it. Sets FUSETEST_PID, FUSETEST_SERVER_PID (relay, else
# empty), FUSETEST_CONN and FUSETEST_CONTROL (for fusetest_control).
#
# FUSETEST_UID=N runs the daemon as that uid (and gid), unprivileged: libfuse
# then mounts through the setuid fusermount3. Its pid and control files go
# to FUSETEST_STATE_DIR, which that uid must be able to write.
start_fusetest() {
	local mode=$1 backing=$2 mnt=$3 id i dir=${FUSETEST_STATE_DIR:-$FG_STATE} run=()
	shift 3
	[ -x "$FUSETEST" ] || notrun "fusetest not built ($FUSETEST)"
	[ -z "${FUSETEST_UID:-}" ] ||
		run=(setpriv --reuid="$FUSETEST_UID" --regid="$FUSETEST_UID" --clear-groups --)
	id=$RANDOM$RANDOM
	FUSETEST_CONTROL="$dir/fusetest.$id.control"
	: >"$FUSETEST_CONTROL"
	local pidf="$dir/fusetest.$id.pid" spidf="$dir/fusetest.$id.server.pid"
	start_bg "${run[@]}" "$FUSETEST" --pid-file "$pidf" --server-pid-file "$spidf" \
		--control "$FUSETEST_CONTROL" "$@" "$mode" "$backing" "$mnt"
	FUSETEST_PID=$LAST_PID
	FUSETEST_SERVER_PID=
	for ((i = 0; i < 200; i++)); do
		[ -s "$pidf" ] && break
		kill -0 "$FUSETEST_PID" 2>/dev/null || fail "fusetest $mode '$backing' '$mnt' exited at start"
		sleep 0.05
	done
	[ -s "$pidf" ] || fail "fusetest did not become ready within 10s"
	if [ "$mode" = relay ]; then
		FUSETEST_SERVER_PID=$(cat "$spidf")
		[ -n "$FUSETEST_SERVER_PID" ] || fail "fusetest wrote no server pid"
		track_pid "$FUSETEST_SERVER_PID"
	fi
	wait_mounted "$mnt" 5 || fail "fusetest is ready but '$mnt' is not in our mount table"
	FUSETEST_CONN=$(fuse_conn_from_mountinfo "$mnt") || fail "no FUSE connection for '$mnt'"
	track_fuse_conn "$FUSETEST_CONN"
	log "fusetest $mode: daemon $FUSETEST_PID${FUSETEST_SERVER_PID:+, server $FUSETEST_SERVER_PID}, connection $FUSETEST_CONN, on '$mnt'"
}

# fusetest_control [KEY=VALUE...]: replaces the fault configuration of the
# last fusetest started (no arguments: every fault off), tells it, and waits
# until it is in force.
fusetest_control() {
	fusetest_control_of "$FUSETEST_CONTROL" "$FUSETEST_PID" "$@"
}

# fusetest_control_of CONTROL PID [KEY=VALUE...]: the same for any fusetest.
# The text carries a fresh comment line, and fusetest writes what it applied
# to CONTROL.applied: equal texts mean this very configuration is in force.
FUSETEST_CONTROL_SEQ=0
fusetest_control_of() {
	local control=$1 pid=$2 text i kv
	shift 2
	FUSETEST_CONTROL_SEQ=$((FUSETEST_CONTROL_SEQ + 1))
	text="# $$.$FUSETEST_CONTROL_SEQ"
	for kv in "$@"; do
		text+=$'\n'"$kv"
	done
	printf '%s\n' "$text" >"$control"
	kill -USR1 "$pid"
	for ((i = 0; i < 200; i++)); do
		[ "$(cat "$control.applied" 2>/dev/null)" = "$text" ] && return 0
		sleep 0.025
	done
	fail "fusetest $pid did not apply '$control' within 5 s"
}

# stop_fusetest MOUNTPOINT [SECONDS]: SIGTERM, then fails unless the daemon,
# its server and the mount are gone within SECONDS (default 10).
stop_fusetest() {
	local mnt=$1 t=${2:-10} p
	kill -TERM "$FUSETEST_PID" 2>/dev/null || true
	for p in $FUSETEST_PID $FUSETEST_SERVER_PID; do
		wait_gone "$p" "$t" || fail "fusetest process $p still there ${t}s after SIGTERM"
	done
	wait "$FUSETEST_PID" 2>/dev/null || true
	! is_mounted "$mnt" || fail "'$mnt' still mounted after fusetest stopped"
}

# --- processes -----------------------------------------------------------------

# True when PID is gone or a zombie with no thread left: an exited leader
# whose other thread still sits in a FUSE request is not gone.
pid_gone() {
	local t s
	[ -d "/proc/$1" ] || return 0
	for t in /proc/"$1"/task/*; do
		s=$(awk '/^State:/ { print $2 }' "$t/status" 2>/dev/null) || continue
		case $s in
		Z | X | "") ;;
		*) return 1 ;;
		esac
	done
	return 0
}

# Waits up to $2 seconds (default 10) for PID $1 to be gone.
wait_gone() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		pid_gone "$1" && return 0
		sleep 0.05
	done
	return 1
}

# Prints the PIDs of every descendant of the given PIDs (not the PIDs).
descendants() {
	local -A kids=()
	local p c rest stat f
	for stat in /proc/[0-9]*/stat; do
		# comm may contain spaces and parentheses: cut after the last ')'.
		read -r rest 2>/dev/null <"$stat" || continue
		p=${stat#/proc/}
		p=${p%/stat}
		read -r -a f <<<"${rest##*) }"
		kids[${f[1]}]+="$p "
	done
	local queue=("$@") out=()
	while [ ${#queue[@]} -gt 0 ]; do
		p=${queue[0]}
		queue=("${queue[@]:1}")
		for c in ${kids[$p]:-}; do
			out+=("$c")
			queue+=("$c")
		done
	done
	echo "${out[@]:-}"
}

# dump_tasks PID...: every thread of every PID, with state, wchan and kernel
# stack (innermost frames first). For a hang report: where each process of
# the chain waits.
dump_tasks() {
	local p t s
	for p in "$@"; do
		[ -d "/proc/$p" ] || continue
		for t in /proc/"$p"/task/*; do
			s=$(awk '/^State:/ { print $2 }' "$t/status" 2>/dev/null) || continue
			echo "--- pid $p tid ${t##*/} ($(cat "$t/comm" 2>/dev/null)) state $s wchan $(cat "$t/wchan" 2>/dev/null)"
			sed -e 's/^\[<[0-9a-f]*>\] /    /' -e 's/+0x[0-9a-f/x]*$//' "$t/stack" 2>/dev/null | head -14
		done
	done
}

# The kernel stacks of every thread of PID, on one line (for grep).
stacks_of() {
	cat /proc/"$1"/task/*/stack 2>/dev/null | tr '\n' ' '
}

# user_fuse_setup DIR UID: what a stock Debian host gives users, only in this
# mount namespace: /etc/passwd and /etc/group naming UID (fusermount3 wants
# a name), a 0666 /dev/fuse (0600 on these VMs), /etc/fuse.conf with
# user_allow_other. Sets USER_RUN, a command prefix running as UID without
# capabilities.
user_fuse_setup() {
	local d=$1 u=$2
	[ -n "${FG_STATE:-}" ] || fail "user_fuse_setup outside enter_private_mountns"
	require_cmd setpriv fusermount3
	cp /etc/passwd "$d/passwd"
	echo "fguser$u:x:$u:$u:fanguard test user:/nonexistent:/usr/sbin/nologin" >>"$d/passwd"
	cp /etc/group "$d/group"
	echo "fguser$u:x:$u:" >>"$d/group"
	mknod -m 0666 "$d/fuse" c 10 229
	echo user_allow_other >"$d/fuse.conf"
	chmod 644 "$d/passwd" "$d/group" "$d/fuse.conf"
	mount --bind "$d/passwd" /etc/passwd
	mount --bind "$d/group" /etc/group
	mount --bind "$d/fuse" /dev/fuse
	mount --bind "$d/fuse.conf" /etc/fuse.conf
	at_exit "umount -l /etc/passwd /etc/group /dev/fuse /etc/fuse.conf 2>/dev/null"
	USER_RUN=(setpriv --reuid="$u" --regid="$u" --clear-groups --inh-caps=-all --)
}
